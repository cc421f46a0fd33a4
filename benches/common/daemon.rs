//! The real `slaclaim run` for the benchmarks that measure it from outside.

#![allow(dead_code)]

/// A running daemon, quiet: its log goes nowhere, or with SLACLAIM_BENCH_LOG=DIR to a
/// file of its own in DIR (RUST_LOG sets what it says), to see where a run's time goes.
pub struct Daemon(std::process::Child);

impl Daemon {
    /// Starts `slaclaim --config CONFIG --state-dir STATE run` with `envs` added.
    pub fn start(
        config: &std::path::Path,
        state: &std::path::Path,
        envs: Vec<(String, String)>,
    ) -> Daemon {
        let log = std::env::var_os("SLACLAIM_BENCH_LOG").and_then(|dir| {
            // Numbered in the order the daemons start.
            static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::path::Path::new(&dir).join(format!("daemon-{n}.log"));
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        let stderr = match log {
            Some(f) => std::process::Stdio::from(f),
            None => std::process::Stdio::null(),
        };
        std::process::Command::new(env!("CARGO_BIN_EXE_slaclaim"))
            .arg("--config")
            .arg(config)
            .arg("--state-dir")
            .arg(state)
            .arg("run")
            .envs(envs)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .spawn()
            .map(Daemon)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Stops it as systemd would (SIGTERM) and waits for it.
    pub fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}
