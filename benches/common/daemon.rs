//! The real `slaclaim run` for the benchmarks that measure it from outside.

#![allow(dead_code)]

/// A running daemon, quiet (its log goes nowhere).
pub struct Daemon(std::process::Child);

impl Daemon {
    /// Starts `slaclaim --config CONFIG --state-dir STATE run` with `envs` added.
    pub fn start(
        config: &std::path::Path,
        state: &std::path::Path,
        envs: Vec<(String, String)>,
    ) -> Daemon {
        std::process::Command::new(env!("CARGO_BIN_EXE_slaclaim"))
            .arg("--config")
            .arg(config)
            .arg("--state-dir")
            .arg(state)
            .arg("run")
            .envs(envs)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
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
