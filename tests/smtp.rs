//! Test harness: a real SMTP server, Debian's `python3-aiosmtpd`, on a free loopback
//! port, delivering into a Maildir that tests read (handler: tests/servers/smtp_sink.py).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A running SMTP sink; stopped on drop.
pub struct SmtpSink {
    /// Its port.
    pub port: u16,
    /// The Maildir it delivers into.
    pub maildir: PathBuf,
    /// With STARTTLS: the certificate the server presents (trust it as the CA).
    pub cert: Option<PathBuf>,
    /// With XOAUTH2: the only "user token" accepted.
    xoauth2: Option<String>,
    /// TLS from the first byte (SMTPS) instead of STARTTLS.
    implicit: bool,
    /// Refuse a wrong XOAUTH2 token with an error challenge (334 + JSON) before the 535.
    pub challenge: bool,
    child: Mutex<Option<Child>>,
}

impl SmtpSink {
    /// Starts the sink in a fresh directory named after the test.
    pub fn start(name: &str) -> SmtpSink {
        SmtpSink::start_with(name, false, None)
    }

    /// Starts a sink that offers STARTTLS and requires it before MAIL.
    pub fn start_tls(name: &str) -> SmtpSink {
        SmtpSink::start_with(name, true, None)
    }

    /// Starts a sink that speaks TLS from the first byte (SMTPS, port 465's way).
    pub fn start_smtps(name: &str) -> SmtpSink {
        let mut sink = SmtpSink::start_with(name, true, None);
        sink.down();
        sink.implicit = true;
        sink.up();
        sink
    }

    /// Starts a STARTTLS sink that requires SASL XOAUTH2 as `user` with `token`.
    pub fn start_xoauth2(name: &str, user: &str, token: &str) -> SmtpSink {
        SmtpSink::start_with(name, true, Some(format!("{user} {token}")))
    }

    fn start_with(name: &str, tls: bool, xoauth2: Option<String>) -> SmtpSink {
        assert!(
            Path::new("/usr/lib/python3/dist-packages/aiosmtpd").exists(),
            "aiosmtpd is not installed: run `apt-get install -y python3-aiosmtpd` (scripts/test does this)"
        );
        let dir = std::env::temp_dir().join(format!("slaclaim-smtp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let maildir = dir.join("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let cert = tls.then(|| {
            crate::dovecot::make_cert(&dir);
            dir.join("cert.pem")
        });
        let sink = SmtpSink {
            port,
            maildir,
            cert,
            xoauth2,
            implicit: false,
            challenge: false,
            child: Mutex::new(None),
        };
        sink.up();
        sink
    }

    /// Starts the server process (again) on the same port and Maildir; nothing when it
    /// runs already (a second process would be left behind, never stopped).
    pub fn up(&self) {
        if self
            .child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return;
        }
        let servers = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers");
        // Debian's python, not another one first on PATH without the package.
        let mut command = Command::new("/usr/bin/python3");
        command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port));
        if let (Some(cert), true) = (&self.cert, self.implicit) {
            command
                .arg("--smtpscert")
                .arg(cert)
                .arg("--smtpskey")
                .arg(cert.with_file_name("key.pem"));
        } else if let Some(cert) = &self.cert {
            command
                .arg("--tlscert")
                .arg(cert)
                .arg("--tlskey")
                .arg(cert.with_file_name("key.pem"));
        }
        if let Some(expected) = &self.xoauth2 {
            command.env("SINK_XOAUTH2", expected);
        }
        if self.challenge {
            command.env("SINK_XOAUTH2_CHALLENGE", "1");
        }
        let child = command
            .args(["-c", "smtp_sink.Sink"])
            .arg(&self.maildir)
            .env("PYTHONPATH", servers)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd: {e}"));
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "aiosmtpd did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server: connections are refused until `up`.
    pub fn down(&self) {
        if let Some(mut child) = self.child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every delivered message, in delivery order.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .flat_map(|sub| {
                std::fs::read_dir(self.maildir.join(sub))
                    .into_iter()
                    .flatten()
            })
            .filter_map(|e| e.ok())
            .map(|e| {
                let t = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (t, e.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, p)| std::fs::read(p).ok())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.down();
        if let Some(dir) = self.maildir.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
