//! Postfix's smtp-sink(1) on a free loopback port: an SMTP server written in C for
//! benchmarking mail senders. It answers every command as a server would and discards
//! the mail, so a run measures the sender, not the server's delivery: aiosmtpd, which
//! the tests use, parsed and stored each draft in Python and took more of this
//! two-core machine's CPU than the daemon under test.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running smtp-sink; stopped on drop.
pub struct SmtpSink {
    /// Its port.
    pub port: u16,
    child: Child,
}

impl SmtpSink {
    /// Starts it, and waits until it accepts connections.
    pub fn start() -> SmtpSink {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let child = Command::new("/usr/sbin/smtp-sink")
            // As root it would switch to the postfix user; nobody needs no setup.
            .args(["-u", "nobody", &format!("127.0.0.1:{port}"), "256"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start /usr/sbin/smtp-sink (Debian package postfix; scripts/test installs it): {e}")
            });
        let sink = SmtpSink { port, child };
        for _ in 0..250 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sink;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("smtp-sink did not listen on port {port}");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
