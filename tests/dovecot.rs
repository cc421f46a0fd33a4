//! Test harness: a real Dovecot on a free loopback port, from tests/servers/dovecot.conf.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running Dovecot with one user, alice / secret; stopped on drop.
pub struct Dovecot {
    /// Its temporary directory (config, mail, certificate).
    pub dir: PathBuf,
    /// Plain IMAP port (STARTTLS offered).
    pub port: u16,
    /// Implicit-TLS port.
    pub tls_port: u16,
    conf: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Dovecot {
    /// Starts Dovecot in a fresh directory named after the test.
    pub fn start(name: &str) -> Dovecot {
        // Nothing listens on port 9 (discard): XOAUTH2 logins fail unless a test says where.
        Dovecot::start_oauth2(name, "http://127.0.0.1:9/introspect")
    }

    /// Starts Dovecot whose XOAUTH2 logins are checked at `introspection_url` (RFC 7662
    /// POST token=...; the answer must say active=true and username=alice).
    pub fn start_oauth2(name: &str, introspection_url: &str) -> Dovecot {
        Dovecot::start_with(name, introspection_url, "")
    }

    /// Starts Dovecot with `extra` settings appended to its config (e.g. a keep-alive
    /// interval).
    pub fn start_with(name: &str, introspection_url: &str, extra: &str) -> Dovecot {
        assert!(
            Path::new("/usr/sbin/dovecot").exists(),
            "Dovecot is not installed: run `apt-get install -y dovecot-core dovecot-imapd` (scripts/test does this)"
        );
        // Under /tmp, not the target dir: the harness is shared with benches/, and every
        // directory above the mail must be traversable by the unprivileged imap process.
        let dir =
            std::env::temp_dir().join(format!("slaclaim-dovecot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["mail", "run", "state"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("passwd"), "alice:{PLAIN}secret::::::\n").unwrap();
        std::fs::write(
            dir.join("oauth2.conf"),
            format!(
                "introspection_mode = post\nintrospection_url = {introspection_url}\nforce_introspection = yes\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n"
            ),
        )
        .unwrap();
        make_cert(&dir);
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/dovecot.conf"),
        )
        .unwrap();
        // Dovecot refuses mail owned by root and runs its login process as nobody.
        run(Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(dir.join("mail")));
        run(Command::new("chmod").args(["644"]).arg(dir.join("key.pem")));
        let conf = dir.join("dovecot.conf");
        // A free port can be taken by a parallel test before Dovecot binds it: then
        // again with others.
        for attempt in 1.. {
            let (port, tls_port) = (free_port(), free_port());
            let text = template
                .replace("@DIR@", &dir.display().to_string())
                .replace("@PORT@", &port.to_string())
                .replace("@SSL_PORT@", &tls_port.to_string())
                .replace("@SSL@", "yes")
                + extra;
            std::fs::write(&conf, text).unwrap();
            let d = Dovecot {
                dir: dir.clone(),
                port,
                tls_port,
                conf: conf.clone(),
            };
            match d.try_launch() {
                Ok(()) => return d,
                Err(why) if attempt < 3 => {
                    eprintln!("dovecot did not start ({why}); again on other ports");
                    std::mem::forget(d);
                }
                Err(why) => panic!("{why}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn launch(&self) {
        if let Err(why) = self.try_launch() {
            panic!("{why}");
        }
    }

    fn try_launch(&self) -> Result<(), String> {
        // Dovecot daemonizes and keeps inherited pipes open: give it none, wait for the fork.
        let status = Command::new("/usr/sbin/dovecot")
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot start dovecot: {e}"))?;
        if !status.success() {
            let log = std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(format!("dovecot failed to start: {}", tail.join(" | ")));
        }
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "Dovecot did not listen on {}; see {}/dovecot.log",
                self.port,
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Stops the server: SIGTERM to the master, SIGKILL if it lingers. (`doveadm stop`
    /// can wait forever on a login process that is sitting out an auth-failure delay.)
    fn stop(&self) {
        let pid = std::fs::read_to_string(self.dir.join("run/master.pid")).unwrap_or_default();
        let pid = pid.trim();
        if pid.is_empty() {
            return;
        }
        // Dovecot's per-connection processes outlive its master; a real server crash
        // takes them down too, so this instance's children are killed first.
        let mut doomed = children(pid);
        doomed.push(pid.to_string());
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&doomed)
            .stderr(Stdio::null())
            .status();
        let started = Instant::now();
        while Path::new(&format!("/proc/{pid}")).exists()
            && started.elapsed() < Duration::from_secs(3)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (every connection drops) and starts it again on the same ports.
    pub fn restart(&self) {
        self.stop();
        let stopped = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                stopped.elapsed() < Duration::from_secs(10),
                "Dovecot did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.launch();
    }

    /// Delivers messages straight into a user's Maildir, as a local delivery agent would.
    pub fn deliver(&self, user: &str, messages: impl Iterator<Item = Vec<u8>>) {
        let maildir = self.dir.join("mail").join(user).join("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        // Unique names across calls, in delivery order.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        for m in messages {
            let i = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("{}.M{i:07}P1.test", 1_700_000_000 + i);
            let tmp = maildir.join("tmp").join(&name);
            std::fs::write(&tmp, m).unwrap();
            std::fs::rename(&tmp, maildir.join("new").join(&name)).unwrap();
        }
        run(Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(self.dir.join("mail")));
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// The CA file that signed the server certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
}

/// Process ids whose parent is `parent`, from /proc.
fn children(parent: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().to_string();
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // The fields after the ")" that ends the command name: state, ppid, ...
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .to_string();
            (ppid == parent).then_some(pid)
        })
        .collect()
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A certificate for localhost and 127.0.0.1 in `dir` (cert.pem, key.pem), made with
/// openssl. rustls rejects a bare self-signed CA as a server certificate, so it is an
/// end entity; tests trust cert.pem as their only root.
pub fn make_cert(dir: &Path) {
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
