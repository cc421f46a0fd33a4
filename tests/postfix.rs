//! Test harness: a private Postfix on a free loopback port, from the templates in
//! tests/servers/postfix/, delivering the test domain into Maildirs the tests read.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running Postfix; stopped on drop.
pub struct Postfix {
    /// Its temporary directory (config, queue, mail, log).
    pub dir: PathBuf,
    /// The SMTP port on 127.0.0.1.
    pub port: u16,
}

/// Mailboxes of the test domain, cloudwise-partners.example.
const MAILBOXES: [&str; 3] = ["helpdesk", "helpdesk2", "manager"];

impl Postfix {
    /// Starts Postfix in a fresh directory named after the test, with `extra` lines
    /// added to main.cf (restrictions, TLS, a policy service). Mail to
    /// refused@cloudwise-partners.example is refused at RCPT with 550 5.1.1.
    pub fn start(name: &str, extra: &str) -> Postfix {
        assert!(
            Path::new("/usr/sbin/postfix").exists(),
            "Postfix is not installed: scripts/test installs it (package postfix, no configuration)"
        );
        let dir =
            std::env::temp_dir().join(format!("slaclaim-postfix-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["etc", "queue", "data", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let port = crate::dovecot::free_port();
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/postfix");
        let fill = |file: &str| {
            let text = std::fs::read_to_string(templates.join(file))
                .unwrap_or_else(|e| panic!("{file}: {e}"))
                .replace("@DIR@", &dir.display().to_string())
                .replace("@PORT@", &port.to_string())
                .replace("@EXTRA@", extra);
            std::fs::write(dir.join("etc").join(file), text).unwrap();
        };
        fill("main.cf");
        fill("master.cf");
        let mailboxes: String = MAILBOXES
            .iter()
            .map(|m| format!("{m}@cloudwise-partners.example {m}/\n"))
            .collect();
        std::fs::write(dir.join("mailboxes"), mailboxes).unwrap();
        std::fs::write(
            dir.join("refused"),
            "refused@cloudwise-partners.example 550 5.1.1 no such user here\n",
        )
        .unwrap();
        // Postfix's own processes write the data directory; mail is delivered as nobody.
        chown("postfix", &dir.join("data"));
        chown("nobody:nogroup", &dir.join("mail"));
        let p = Postfix { dir, port };
        p.launch();
        p
    }

    fn postfix(&self, verb: &str) -> std::process::ExitStatus {
        Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.join("etc"))
            .arg(verb)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run postfix: {e}"))
    }

    fn launch(&self) {
        let status = self.postfix("start");
        assert!(
            status.success(),
            "postfix failed to start; see {}/maillog",
            self.dir.display()
        );
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "Postfix did not listen on {}; see {}/maillog",
                self.port,
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server and waits until its port is closed.
    pub fn stop(&self) {
        let _ = self.postfix("stop");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && started.elapsed() < Duration::from_secs(15)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the stopped server again on the same port.
    pub fn restart(&self) {
        self.launch();
    }

    /// The messages delivered to `mailbox` so far ("helpdesk", "manager", ...), waiting up
    /// to `wait` for at least `at_least` of them (delivery follows acceptance).
    pub fn delivered(&self, mailbox: &str, at_least: usize, wait: Duration) -> Vec<Vec<u8>> {
        let started = Instant::now();
        loop {
            let new = self.dir.join("mail").join(mailbox).join("new");
            let found: Vec<PathBuf> = std::fs::read_dir(&new)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            if found.len() >= at_least || started.elapsed() > wait {
                let mut found: Vec<(std::time::SystemTime, Vec<u8>)> = found
                    .iter()
                    .filter_map(|p| {
                        let modified = p.metadata().and_then(|m| m.modified()).ok()?;
                        Some((modified, std::fs::read(p).ok()?))
                    })
                    .collect();
                found.sort();
                return found.into_iter().map(|(_, m)| m).collect();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Postfix's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }
}

/// A policy service that holds back Postfix's answer to each message's final "." (see
/// tests/servers/slow_policy.py); killed on drop.
pub struct SlowPolicy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: std::process::Child,
}

impl SlowPolicy {
    /// Starts one that delays every end of message by `delay`.
    pub fn start(delay: Duration) -> SlowPolicy {
        let port = crate::dovecot::free_port();
        let child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/slow_policy.py"))
            .arg(port.to_string())
            .arg(delay.as_secs_f64().to_string())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the policy service: {e}"));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the policy service did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        SlowPolicy { port, child }
    }

    /// The main.cf line that makes Postfix ask it at the end of each message.
    pub fn main_cf(&self) -> String {
        format!(
            "smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:{}\nsmtpd_policy_service_timeout = 300s\n",
            self.port
        )
    }
}

impl Drop for SlowPolicy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = self.postfix("stop");
    }
}

fn chown(owner: &str, path: &Path) {
    let status = Command::new("chown")
        .args(["-R", owner])
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("cannot run chown: {e}"));
    assert!(status.success(), "chown {owner} {}", path.display());
}
