//! Test harness: a private PostgreSQL server from Debian's package, started on loopback
//! from a data directory the harness makes (initdb as the `postgres` user, trust
//! authentication for the `slaclaim` role, fsync off), stopped when dropped. Used by
//! tests/postgres.rs, by the suite's PostgreSQL pass (tests/util.rs, one server for the
//! test process) and by the shared-ledger benchmark.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dovecot::free_port;

/// A running PostgreSQL server.
pub struct Postgres {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

/// The newest installed server's bin directory (/usr/lib/postgresql/N/bin).
fn server_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!("no PostgreSQL server in /usr/lib/postgresql: scripts/test installs the postgresql package")
    })
}

/// Runs `program args` as the `postgres` user (the server refuses to run as root).
fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Postgres {
    /// Makes a data directory under the test's temp dir and starts a server on it.
    pub fn start(name: &str) -> Postgres {
        Postgres::start_with(name, false)
    }

    /// As [`Postgres::start`], with TLS on (a certificate for localhost and 127.0.0.1,
    /// `cert.pem` in [`Postgres::dir`]), listening on 127.0.0.1 and 127.0.0.2, so that
    /// a name the certificate does not hold can be tried.
    pub fn start_with_tls(name: &str) -> Postgres {
        Postgres::start_with(name, true)
    }

    fn start_with(name: &str, tls: bool) -> Postgres {
        // As tests' temp dirs (benches include this file too, without their helpers).
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if tls {
            crate::dovecot::make_cert(&dir);
        }
        let bin = server_bin();
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(chown.success());
        // The postgres user must reach the directory through the target tree.
        let mut up = dir.parent();
        while let Some(p) = up {
            let _ = Command::new("chmod").arg("o+x").arg(p).status();
            up = p.parent();
        }
        let data = dir.join("data");
        let data_arg = data.to_str().unwrap();
        as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data_arg,
                "-A",
                "trust",
                "-U",
                "slaclaim",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let port = free_port();
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} -c fsync=off -c full_page_writes=off -c max_connections=300",
            dir.display()
        );
        // For counting round trips: every statement in the server's log (dir/log).
        if std::env::var_os("SLACLAIM_PG_LOG_STATEMENTS").is_some() {
            options.push_str(" -c log_statement=all");
        }
        // For finding where the server's time goes: per-statement times (planning too).
        if std::env::var_os("SLACLAIM_PG_STATS").is_some() {
            options.push_str(" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on");
        }
        if tls {
            // The server wants its key private to it.
            let key = dir.join("key.pem");
            let chmod = Command::new("chmod").arg("600").arg(&key).status().unwrap();
            assert!(chmod.success());
            options = options.replace("=127.0.0.1 ", "=127.0.0.1,127.0.0.2 ");
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                dir.join("cert.pem").display(),
                key.display()
            ));
        }
        as_postgres(
            &bin.join("pg_ctl"),
            &[
                "-D",
                data_arg,
                "-o",
                &options,
                "-l",
                dir.join("log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Postgres { port, dir, bin }
    }

    /// A server for a whole test process (the suite's PostgreSQL pass), which is never
    /// dropped: a watchdog stops it once the process that started it is gone.
    pub fn start_for_suite() -> Postgres {
        let pg = Postgres::start(&format!("pg-suite-{}", std::process::id()));
        let data = pg.dir.join("data");
        let watchdog = format!(
            "while [ -d /proc/{pid} ]; do sleep 1; done; runuser -u postgres -- {ctl} -D {data} -m immediate stop; rm -rf {dir}",
            pid = std::process::id(),
            ctl = pg.bin.join("pg_ctl").display(),
            data = data.display(),
            dir = pg.dir.display(),
        );
        // Detached from the test's output, or cargo would wait for the pipes to close;
        // it outlives this process, so nobody waits for it.
        #[allow(clippy::zombie_processes)]
        Command::new("sh")
            .args(["-c", &watchdog])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the PostgreSQL watchdog: {e}"));
        pg
    }

    /// Restarts the server (fast shutdown: every connection is dropped).
    pub fn restart(&self) {
        let data = self.dir.join("data");
        as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                // Its log to the file: a server holding pg_ctl's output pipe open would
                // keep this call waiting for the pipe's end forever.
                "-l",
                self.dir.join("log").to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "restart",
            ],
        );
    }

    /// The data directory's parent (the certificate is there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A `[store] url` for this server's `postgres` database.
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://slaclaim@127.0.0.1:{}/postgres{query}",
            self.port
        )
    }

    /// Runs SQL with psql against database `postgres`; returns what it printed (tuples
    /// only, unaligned, `|` between fields). Fails the test on any error.
    pub fn sql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "slaclaim",
                "-d",
                "postgres",
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}
