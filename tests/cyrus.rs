//! Test harness: Cyrus IMAP 3.6 as a second IMAP server, started on loopback from the
//! Debian packages that scripts/test unpacks into target/cyrus (the installed package
//! would conflict with Dovecot's). Users alice and cyrus (the admin), password "secret",
//! in a private sasldb; alice's mailbox is made by the admin at start.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Cyrus master; stopped and removed on drop.
pub struct Cyrus {
    /// Its IMAP port.
    pub port: u16,
    dir: PathBuf,
    master: Child,
}

/// Where scripts/test unpacked the packages.
fn root() -> PathBuf {
    let root = std::env::var_os("SLACLAIM_CYRUS_ROOT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/cyrus/root"),
        PathBuf::from,
    );
    assert!(
        root.join("usr/lib/cyrus/bin/master").exists(),
        "Cyrus is not unpacked at {}: run scripts/test once (it downloads and unpacks cyrus-imapd)",
        root.display()
    );
    root
}

impl Cyrus {
    /// Starts Cyrus with its own config and spool under a temp dir.
    pub fn start(name: &str) -> Cyrus {
        let root = root();
        let bin = root.join("usr/lib/cyrus/bin");
        let dir =
            std::env::temp_dir().join(format!("slaclaim-cyrus-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // lib/socket holds each IDLE session's socket, through which idled wakes it.
        for sub in ["lib/socket", "spool", "sock"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let port = crate::dovecot::free_port();
        let conf = dir.join("imapd.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {d}/lib\npartition-default: {d}/spool\nservername: localhost\nadmins: cyrus\ncyrus_user: nobody\nsasl_pwcheck_method: auxprop\nsasl_auxprop_plugin: sasldb\nsasl_sasldb_path: {d}/sasldb2\nsasl_mech_list: PLAIN LOGIN\nallowplaintext: yes\nunixhierarchysep: yes\nidlesocket: {d}/sock/idle\nnotifysocket: {d}/sock/notify\nlmtpsocket: {d}/sock/lmtp\nsyslog_prefix: slaclaim-test-cyrus\n"
            ),
        )
        .unwrap();
        let cmd = |program: &str, args: &str| {
            format!(
                "\"{} -C {} {args}\"",
                bin.join(program).display(),
                conf.display()
            )
        };
        std::fs::write(
            dir.join("cyrus.conf"),
            format!(
                "START {{\n  recover cmd={}\n}}\nSERVICES {{\n  imap cmd={} listen=\"127.0.0.1:{port}\" prefork=0\n}}\nEVENTS {{\n}}\nDAEMON {{\n  idled cmd={}\n}}\n",
                cmd("ctl_cyrusdb", "-r"),
                cmd("imapd", ""),
                cmd("idled", "")
            ),
        )
        .unwrap();
        for user in ["alice", "cyrus"] {
            let mut p = Command::new("saslpasswd2")
                .args(["-p", "-c", "-u", "localhost", "-f"])
                .arg(dir.join("sasldb2"))
                .arg(user)
                .stdin(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("saslpasswd2 (sasl2-bin): {e}"));
            if let Some(stdin) = p.stdin.as_mut() {
                let _ = stdin.write_all(b"secret\n");
            }
            let _ = p.wait();
        }
        // Cyrus runs as nobody and refuses files it cannot own.
        let _ = Command::new("chown")
            .args(["-R", "nobody:nogroup"])
            .arg(&dir)
            .status();
        let master = Command::new(bin.join("master"))
            .arg("-C")
            .arg(&conf)
            .arg("-M")
            .arg(dir.join("cyrus.conf"))
            .arg("-D")
            .arg("-p")
            .arg(dir.join("master.pid"))
            .env("LD_LIBRARY_PATH", root.join("usr/lib/x86_64-linux-gnu"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Cyrus: {e}"));
        let cyrus = Cyrus { port, dir, master };
        cyrus.admin(&["CREATE user/alice"]);
        cyrus
    }

    /// Runs IMAP commands as the admin over a plain connection, each of which must
    /// succeed.
    pub fn admin(&self, commands: &[&str]) {
        let started = Instant::now();
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", self.port)) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(
                        started.elapsed() < Duration::from_secs(10),
                        "Cyrus did not start on {}: {e}",
                        self.port
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let all = std::iter::once("LOGIN cyrus secret")
            .chain(commands.iter().copied())
            .chain(std::iter::once("LOGOUT"));
        for (i, command) in all.enumerate() {
            let tag = format!("a{i}");
            writer
                .write_all(format!("{tag} {command}\r\n").as_bytes())
                .unwrap();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    panic!("Cyrus closed the connection during {command:?}");
                }
                if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                    assert!(rest.starts_with("OK"), "{command:?}: {line}");
                    break;
                }
            }
        }
    }
}

impl Drop for Cyrus {
    fn drop(&mut self) {
        let _ = self.master.kill();
        let _ = self.master.wait();
        // Its children (imapd, idled) go when the master does; give them a moment.
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(self.dir.join("imapd.conf"))
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
