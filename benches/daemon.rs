//! The daemon's figures, with the real binary against a real Dovecot and aiosmtpd:
//! - latency from APPEND to the draft accepted by the SMTP server, p50 and p99, and
//!   slaclaim's share of it: the time beyond a bare IDLE client's wake-up (Dovecot itself
//!   batches IDLE wake-ups, about 0.5 s) and a bare SMTP send, both measured in the
//!   same run.
//!
//! Memory is `benches/memory.rs`.
//!
//! `cargo bench --bench daemon` (needs dovecot-imapd and python3-aiosmtpd).

// Shared with the integration tests, which use all of it.
// Test harness code: its unwraps are assertions, as in the tests.
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/dovecot.rs"]
mod dovecot;
// Test harness code: its unwraps are assertions, as in the tests.
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/smtp.rs"]
mod smtp;

#[path = "common/daemon.rs"]
mod daemon;

use daemon::Daemon;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use slaclaim::inbound::imap::{self, ImapConfig};

fn imap_config(d: &dovecot::Dovecot, secret: &Path) -> ImapConfig {
    toml::from_str(&format!(
        "name = \"bench\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\n",
        d.port,
        secret.display()
    ))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn request(n: usize) -> Vec<u8> {
    let now = Utc::now();
    format!(
        "From: it{n}@customer{n}.example\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request\r\nDate: {}\r\nMessage-ID: <bench-{n}@customer{n}.example>\r\n\r\nPlease file an SLA credit claim for incident EX{}, tenant {n:08x}-1111-4222-8333-444455556666.\r\nYesterday from 09:00 to 11:30 CET 40 users in Utrecht could not work. Bought through CSP.\r\n",
        now.format("%a, %d %b %Y %H:%M:%S +0000"),
        1_300_000 + n
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let d = dovecot::Dovecot::start("bench-daemon");
    let sink = smtp::SmtpSink::start("bench-daemon");
    let dir = d.dir.join("daemon");
    let _ = std::fs::create_dir_all(&dir);
    let secret = dir.join("password");
    let _ = std::fs::write(&secret, "secret\n");
    let config = dir.join("slaclaim.toml");
    let _ = std::fs::write(
        &config,
        format!(
            "[store]\nmax-message-bytes = 40000000\n[[imap]]\nname = \"support\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\n[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\ndigest = \"\"\n[daemon]\nlog-level = \"warn\"\n",
            d.port,
            secret.display(),
            sink.port
        ),
    );
    let daemon = Daemon::start(&config, &dir.join("state"), Vec::new());
    std::thread::sleep(Duration::from_secs(2));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let cfg = imap_config(&d, &secret);
    let rounds = 100;
    let (ours, bare, smtp_bare) = runtime.block_on(async {
        let mut appender = imap::connect(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
        let mut ours = Vec::with_capacity(rounds);
        for i in 0..rounds {
            let before = sink.messages().len();
            appender
                .append("INBOX", None, None, request(i))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let sent = Instant::now();
            while sink.messages().len() == before && sent.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            ours.push(sent.elapsed());
        }
        // A bare IDLE client on the same server, the same way.
        let mut idler = imap::connect(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
        idler
            .select("INBOX")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut bare = Vec::with_capacity(20);
        for i in 0..20 {
            let wait = imap::idle(idler, &cfg, Duration::from_secs(10));
            let poke = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                appender
                    .append(
                        "INBOX",
                        None,
                        None,
                        b"Subject: poke\r\n\r\npoke\r\n".to_vec(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let _ = i;
                Instant::now()
            };
            let (woke, sent) = tokio::join!(wait, poke);
            bare.push(sent.elapsed());
            idler = woke.unwrap_or_else(|e| panic!("{e}")).0;
        }
        // A bare SMTP client on the same server: one kept connection, like slaclaim's,
        // sending a draft-sized message and timing until the server's 250.
        // TCP_NODELAY as a well-behaved client sets it (lettre's own connect does not,
        // and then waits for a delayed ACK before the final dot: 40 ms a message).
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", sink.port))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = tcp.set_nodelay(true);
        let mut smtp =
            lettre::transport::smtp::client::AsyncSmtpConnection::connect_with_transport(
                Box::new(tcp),
                &lettre::transport::smtp::extension::ClientId::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let envelope = lettre::address::Envelope::new(
            Some(
                "bench@cloudwise-partners.example"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e:?}")),
            ),
            vec![
                "helpdesk@cloudwise-partners.example"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e:?}")),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let draft = request(0).repeat(4);
        let mut smtp_bare = Vec::with_capacity(50);
        for _ in 0..50 {
            let sent = Instant::now();
            smtp.send(&envelope, &draft)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            smtp_bare.push(sent.elapsed());
        }
        (ours, bare, smtp_bare)
    });
    let (mut ours, mut bare, mut smtp_bare) = (ours, bare, smtp_bare);
    ours.sort();
    bare.sort();
    smtp_bare.sort();
    let (p50, p99, b50, s50) = (
        percentile(&ours, 0.5),
        percentile(&ours, 0.99),
        percentile(&bare, 0.5),
        percentile(&smtp_bare, 0.5),
    );
    let floor = b50 + s50;
    println!(
        "APPEND to draft accepted by SMTP over {rounds}: p50 {p50:.1?}, p99 {p99:.1?}; bare IDLE wake-up p50 {b50:.1?}; bare SMTP send p50 {s50:.1?} (lettre; Python's aiosmtpd writes the Maildir file before its 250)"
    );
    println!(
        "slaclaim's share (beyond both bare clients): p50 {:.1?} (target <= 15 ms), p99 {:.1?} (target <= 60 ms)",
        p50.saturating_sub(floor),
        p99.saturating_sub(floor)
    );

    daemon.stop();
}
