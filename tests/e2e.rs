//! End to end: the real `slaclaim run` binary against a real Dovecot and a real SMTP
//! server, all on loopback; killed with SIGKILL, stopped with SIGTERM, fed bad mail.

use crate::dovecot::Dovecot;
use crate::smtp::SmtpSink;
use crate::util::temp_dir;
use chrono::{Duration as Days, Utc};
use mail_parser::MessageParser;
use slaclaim::store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A config for the daemon: Dovecot's INBOX in, the SMTP sink out.
pub(crate) fn write_config(dir: &Path, d: &Dovecot, sink: &SmtpSink, extra: &str) -> PathBuf {
    let password = dir.join("imap-password");
    std::fs::write(&password, "secret\n").unwrap();
    let text = format!(
        r#"
[store]
max-message-bytes = 28000000

[deadline]
time-zone = "Europe/Amsterdam"

[[imap]]
name = "support"
host = "127.0.0.1"
port = {imap}
tls = "plain"
user = "alice"
password-file = "{password}"
reconnect-min-ms = 100
reconnect-max-ms = 500
connect-timeout-secs = 5

[outbox]
from = "slaclaim@cloudwise-partners.example"
transport = "smtp"
host = "127.0.0.1"
port = {smtp}
tls = "plain"
timeout-secs = 5
retry-min-secs = 1

[drafts]
helpdesk = ["helpdesk@cloudwise-partners.example"]

[reminders]
managers = ["manager@cloudwise-partners.example"]
digest = ""

[staff]
addresses = ["sanne.bakker@cloudwise-partners.example"]

[trust]
authserv-ids = ["mx.cloudwise-partners.example"]

[daemon]
tick-secs = 1
shutdown-grace-secs = 5
{extra}
"#,
        imap = d.port,
        smtp = sink.port,
        password = password.display(),
    );
    let path = dir.join("slaclaim.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running daemon, killed when dropped: a test that fails half-way must not leave it
/// running (it would go on reading the next run's Maildir of the same name).
pub(crate) struct Daemon(pub(crate) Child);

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `slaclaim run`, its log appended to dir/daemon.log.
pub(crate) fn start(config: &Path, dir: &Path) -> Daemon {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("daemon.log"))
        .unwrap();
    crate::util::command(&dir.join("state"))
        .arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(Daemon)
        .unwrap()
}

pub(crate) fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status();
}

/// Waits until `done` holds, or panics after `limit` with the daemon's log.
pub(crate) fn wait_for(dir: &Path, limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "timed out waiting for {what}; daemon log (newest first):\n{}",
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Message-IDs and subjects of what the sink received.
pub(crate) fn received(sink: &SmtpSink) -> Vec<(String, String, String)> {
    sink.messages()
        .iter()
        .filter_map(|raw| {
            let m = MessageParser::default().parse(raw)?;
            Some((
                m.message_id().unwrap_or_default().to_string(),
                m.subject().unwrap_or_default().to_string(),
                m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
            ))
        })
        .collect()
}

/// APPENDs a message over IMAP, as a mail server delivering it would: Dovecot wakes IDLE
/// clients for it at once (a file dropped into the Maildir is only seen at its next
/// periodic check).
pub(crate) fn append(d: &Dovecot, raw: Vec<u8>) {
    let cfg: slaclaim::inbound::imap::ImapConfig = toml::from_str(&format!(
        "name = \"append\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"alice\"\npassword-env = \"SLACLAIM_E2E_PASSWORD\"\n",
        d.port
    ))
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut s = slaclaim::inbound::imap::connect_with(
            &cfg,
            &slaclaim::inbound::imap::Login::Password(slaclaim::net::credentials::SecretSource {
                command: Some(vec!["echo".into(), "secret".into()]),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
        s.append("INBOX", None, None, raw).await.unwrap();
        let _ = s.logout().await;
    });
}

/// The whole HTTP response to a GET on loopback.
pub(crate) fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

pub(crate) fn rfc2822(t: chrono::DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// A credit request from customer `n`, about an outage yesterday (also used by cli.rs).
pub(crate) fn request(n: usize, phone: bool) -> Vec<u8> {
    let now = Utc::now();
    let day = (now - Days::days(1)).format("%-d %B %Y");
    let tenant = format!("{n:08x}-1111-4222-8333-444455556666");
    format!(
        "From: Customer {n} <it{n}@customer{n}.example>\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request Exchange outage\r\nDate: {date}\r\nMessage-ID: <request-{n}@customer{n}.example>\r\n\r\nHello,\r\n\r\nPlease file an SLA credit claim for incident EX{id}. Our tenant ID is {tenant}.\r\nOn {day} from 09:00 to 11:30 CET about 40 users in Utrecht could not send or receive mail.\r\nWe restarted Outlook and cleared the cache, which did not help.\r\nThe subscriptions were bought through you (CSP).\r\nOur ticket number is INC{n:07}.\r\n\r\nRegards,\r\nCustomer {n}\r\n{phone}\r\n",
        date = rfc2822(now - Days::hours(2)),
        id = 1_200_000 + n,
        phone = if phone { "Tel. +31 30 555 0100" } else { "" },
    )
    .into_bytes()
}

fn claims(dir: &Path) -> Vec<slaclaim::store::ClaimRow> {
    crate::util::open_store(&dir.join("state"))
        .and_then(|s| s.all_claims())
        .unwrap_or_default()
}

#[test]
fn happy_path_request_follow_up_and_staff_submission() {
    let d = Dovecot::start("e2e-happy");
    let sink = SmtpSink::start("e2e-happy");
    let dir = temp_dir("e2e-happy");
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let config = write_config(
        &dir,
        &d,
        &sink,
        &format!("metrics-listen = \"127.0.0.1:{metrics_port}\""),
    );
    let mut daemon = start(&config, &dir);

    // The request lacks a telephone number: draft 1 says so.
    append(&d, request(1, false));
    wait_for(&dir, Duration::from_secs(20), "draft 1", || {
        !received(&sink).is_empty()
    });
    let first = received(&sink);
    let (draft_id, subject, body) = &first[0];
    assert!(
        subject.starts_with(
            "[SLA-1] Draft SLA credit claim EX1200001 – customer1.example – submit by"
        ),
        "{subject}"
    );
    assert!(body.contains("no telephone number"), "{body}");

    // The customer's follow-up adds it: draft 2, now complete.
    let follow_up = format!(
        "From: Customer 1 <it1@customer1.example>\r\nTo: support@cloudwise-partners.example\r\nSubject: Re: SLA credit request Exchange outage\r\nDate: {}\r\nMessage-ID: <follow-up-1@customer1.example>\r\nIn-Reply-To: <request-1@customer1.example>\r\n\r\nYou can reach me on +31 30 555 0100.\r\n",
        rfc2822(Utc::now())
    );
    append(&d, follow_up.into_bytes());
    wait_for(&dir, Duration::from_secs(20), "draft 2", || {
        received(&sink).len() >= 2
    });
    let second = received(&sink);
    assert_ne!(second[1].0, *draft_id);
    assert!(
        second[1].2.contains("This claim is complete"),
        "{}",
        second[1].2
    );

    // Staff report the submission in reply to the draft.
    let reply = format!(
        "Authentication-Results: mx.cloudwise-partners.example; dkim=pass header.d=cloudwise-partners.example\r\nFrom: Sanne Bakker <sanne.bakker@cloudwise-partners.example>\r\nTo: slaclaim@cloudwise-partners.example\r\nSubject: Re: {subject}\r\nDate: {}\r\nMessage-ID: <staff-1@cloudwise-partners.example>\r\nIn-Reply-To: <{}>\r\n\r\nsubmitted 2611240040001234\r\n",
        rfc2822(Utc::now()),
        second[1].0
    );
    append(&d, reply.into_bytes());
    wait_for(&dir, Duration::from_secs(20), "the claim submitted", || {
        claims(&dir)
            .first()
            .is_some_and(|c| c.status == slaclaim::store::Status::Submitted)
    });
    assert_eq!(
        claims(&dir)[0].case_number.as_deref(),
        Some("2611240040001234")
    );
    // Several scheduler ticks later nothing else went out.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(received(&sink).len(), 2);

    // Metrics and health, on loopback.
    let metrics = http_get(metrics_port, "/metrics");
    for expected in [
        "slaclaim_claims{status=\"submitted\"} 1",
        "slaclaim_mail{purpose=\"draft\",status=\"sent\"} 2",
        "slaclaim_messages{kind=\"credit_request\",status=\"processed\"} 1",
        "slaclaim_imap_auth_failures_total{mailbox=\"support\"} 0",
        "slaclaim_inbox_pending 0",
    ] {
        assert!(metrics.contains(expected), "{expected} not in:\n{metrics}");
    }
    let health = http_get(metrics_port, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    signal(&daemon, "-TERM");
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn messages_left_in_custody_are_processed_when_the_daemon_starts() {
    let d = Dovecot::start("e2e-custody");
    let sink = SmtpSink::start("e2e-custody");
    let dir = temp_dir("e2e-custody");
    let config = write_config(&dir, &d, &sink, "");
    // As a crash right after a fetch leaves them: in custody, the UID recorded, not
    // processed (the mailbox itself is empty, so nothing comes in again).
    {
        let store = crate::util::open_store(&dir.join("state")).unwrap();
        for n in 1..=3 {
            let key = format!("imap:support/INBOX/1/{n}");
            let taken = store.accept("imap", &key, &request(n, true), "2026-01-01T00:00:00Z");
            assert_eq!(taken.ok(), Some(true));
        }
    }
    let mut daemon = start(&config, &dir);
    let store = || crate::util::open_store(&dir.join("state")).unwrap();
    wait_for(&dir, Duration::from_secs(30), "three drafts", || {
        received(&sink)
            .iter()
            .filter(|(_, subject, _)| subject.contains("Draft SLA credit claim"))
            .count()
            >= 3
    });
    signal(&daemon, "-TERM");
    let _ = daemon.wait();
    let s = store();
    assert_eq!(s.pending_count().ok(), Some(0));
    assert_eq!(s.message_count("processed").ok(), Some(3));
    assert_eq!(claims(&dir).len(), 3);
}

#[test]
fn killed_twenty_times_everything_once() {
    let dir = temp_dir("e2e-crash");
    let state = dir.join("state");
    killed_twenty_times("e2e-crash", None, &|| crate::util::open_store(&state));
}

/// A thousand messages, the daemon killed twenty times while it works, then run to the
/// end: every message, claim and draft once. `url` puts the ledger in PostgreSQL
/// (`[store] url`), and `ledger` opens it for the test's own look.
pub(crate) fn killed_twenty_times(
    name: &str,
    url: Option<&str>,
    ledger: &dyn Fn() -> Result<Store, slaclaim::store::StoreError>,
) {
    let d = Dovecot::start(name);
    let sink = SmtpSink::start(name);
    let dir = temp_dir(name);
    // These kills are not any message's fault: two that fall during the same message's
    // reading must not quarantine it (the poison rule is tested in poison.rs).
    let config = write_config(&dir, &d, &sink, "max-read-attempts = 1000");
    if let Some(url) = url {
        let text = std::fs::read_to_string(&config).unwrap();
        let text = text.replacen("[store]\n", &format!("[store]\nurl = \"{url}\"\n"), 1);
        std::fs::write(&config, text).unwrap();
    }
    // 1,000 messages: 150 credit requests, each its own claim, and 850 newsletters.
    let requests = 150;
    let total = 1000;
    let newsletter = |i: usize| {
        format!(
            "From: news@vendor.example\r\nTo: support@cloudwise-partners.example\r\nSubject: Newsletter {i}\r\nDate: {}\r\nMessage-ID: <news-{i}@vendor.example>\r\nList-Unsubscribe: <mailto:unsubscribe@vendor.example>\r\nPrecedence: bulk\r\n\r\nThis month's news, part {i}.\r\n",
            rfc2822(Utc::now())
        )
        .into_bytes()
    };
    d.deliver(
        "alice",
        (0..total).map(|i| {
            if i % 7 == 0 && i / 7 < requests {
                request(i / 7 + 1, true)
            } else {
                newsletter(i)
            }
        }),
    );
    let requests = (0..total)
        .filter(|i| i % 7 == 0 && i / 7 < requests)
        .count();

    // Kill -9 at pseudo-random moments while it fetches, ingests and sends.
    let mut seed: u64 = 0x5eed_1234;
    let mut kills = 0;
    let mut in_custody = 0;
    for _ in 0..20 {
        let mut daemon = start(&config, &dir);
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(150 + (seed >> 33) % 500));
        signal(&daemon, "-KILL");
        let _ = daemon.wait();
        kills += 1;
        // Killed between custody and processing: messages wait in the inbox.
        let pending = ledger().and_then(|s| s.pending_count()).unwrap_or(0);
        in_custody += usize::from(pending > 0);
    }

    // A graceful stop in the middle of work: within the grace period, nothing lost.
    let mut daemon = start(&config, &dir);
    std::thread::sleep(Duration::from_millis(400));
    let asked = Instant::now();
    signal(&daemon, "-TERM");
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(6),
        "stop took {:?}",
        asked.elapsed()
    );

    // Then it runs to the end.
    let mut daemon = start(&config, &dir);
    let store = || ledger().unwrap();
    wait_for(
        &dir,
        Duration::from_secs(120),
        "all messages and drafts",
        || read_and_drafted(&store(), total, requests),
    );
    signal(&daemon, "-TERM");
    let _ = daemon.wait();

    let s = store();
    assert_eq!(
        s.message_count("processed").unwrap_or(0),
        total as i64,
        "every message once"
    );
    assert_eq!(s.message_count("quarantined").unwrap_or(0), 0);
    assert_eq!(
        s.pending_count().unwrap_or(-1),
        0,
        "nothing left in custody"
    );
    let all = s.all_claims().unwrap_or_default();
    assert_eq!(all.len(), requests, "every claim once");
    let mut keys: Vec<(String, String)> = all
        .iter()
        .map(|c| (c.tenant_id.clone(), c.incident_id.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), requests);
    // At the sink: every draft arrived, and none twice. A kill before a message's last
    // byte leaves an incomplete DATA the server drops, and the draft is sent again; one
    // after it leaves it recorded as sent. Between recording the last byte and the
    // server reading it is a window of microseconds where a kill loses the message on
    // the wire: by design (at most once after the last byte) such a draft is never sent
    // again by itself, and it must then be recorded as unconfirmed for its recipient,
    // which `claim SLA-n` shows and `outbox resend` repairs.
    let (delivered, lost) = every_draft_once(&s, &sink, requests);
    println!(
        "{kills} kills ({in_custody} left messages in custody): {delivered} drafts delivered once each, {lost} unconfirmed"
    );
}

/// Whether the ledger holds `messages` processed messages and `drafts` sent drafts.
pub(crate) fn read_and_drafted(s: &Store, messages: usize, drafts: usize) -> bool {
    s.message_count("processed").unwrap_or(0) >= messages as i64
        && s.mail_counts()
            .unwrap_or_default()
            .iter()
            .any(|(p, st, n)| p == "draft" && st == "sent" && *n >= drafts as i64)
}

/// Every one of `requests` claims has one sent draft, and the sink has each draft once.
/// A draft not at the sink was cut off after its last byte by a kill (a window of
/// microseconds): by design it is never sent again by itself, and it must be recorded as
/// unconfirmed for its recipient, which `claim SLA-n` shows and `outbox resend`
/// repairs; at most two. Returns (delivered once, unconfirmed).
pub(crate) fn every_draft_once(s: &Store, sink: &SmtpSink, requests: usize) -> (usize, usize) {
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for (id, subject, _) in received(sink) {
        if subject.contains("Draft SLA credit claim") {
            *by_id.entry(id).or_default() += 1;
        }
    }
    let drafts: Vec<String> = s
        .mail_with_status("sent", "")
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.purpose == "draft")
        .map(|m| m.message_id)
        .collect();
    assert_eq!(drafts.len(), requests, "every draft sent");
    let lost: Vec<&String> = drafts
        .iter()
        .filter(|id| !by_id.contains_key(id.trim_matches(|c| c == '<' || c == '>')))
        .collect();
    for id in &lost {
        let outcomes = s.deliveries(id).unwrap_or_default();
        assert!(
            !outcomes.is_empty() && outcomes.iter().all(|d| d.status == "unconfirmed"),
            "{id} is not at the server and not recorded as unconfirmed: {outcomes:?}"
        );
    }
    assert!(lost.len() <= 2, "{} drafts lost on the wire", lost.len());
    assert_eq!(by_id.len() + lost.len(), requests, "every draft delivered");
    let repeated: Vec<_> = by_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "drafts delivered more than once: {repeated:?}"
    );
    (by_id.len(), lost.len())
}

#[test]
fn bad_input_among_normal_mail_flows() {
    let d = Dovecot::start("e2e-bad");
    let sink = SmtpSink::start("e2e-bad");
    let dir = temp_dir("e2e-bad");
    let config = write_config(&dir, &d, &sink, "");
    let malformed = b"From: broken@customer9.example\r\nSubject: =?utf-8?B?!!!?=\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain; charset=\"no-such-charset\"\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@not base64@@@\r\n--x".to_vec();
    let big = |size: usize, n: usize| {
        let mut m = format!(
            "From: big{n}@customer{n}.example\r\nTo: support@cloudwise-partners.example\r\nSubject: logs\r\nMessage-ID: <big-{n}@customer{n}.example>\r\nContent-Type: text/plain\r\n\r\n"
        )
        .into_bytes();
        while m.len() < size {
            m.extend_from_slice(b"log line of an attachment that is far too long to read\r\n");
        }
        m
    };
    d.deliver(
        "alice",
        vec![
            request(1, true),
            malformed,
            big(25 << 20, 2),
            request(3, true),
            big(30 << 20, 4),
            request(5, true),
        ]
        .into_iter(),
    );
    let mut daemon = start(&config, &dir);
    let store = || crate::util::open_store(&dir.join("state")).unwrap();
    wait_for(
        &dir,
        Duration::from_secs(60),
        "six messages and three drafts",
        || {
            let s = store();
            s.message_count("processed").unwrap_or(0) + s.message_count("quarantined").unwrap_or(0)
                >= 6
                && received(&sink).len() >= 3
        },
    );
    signal(&daemon, "-TERM");
    let _ = daemon.wait();
    let s = store();
    // The malformed and the 25 MB message are processed; the one over the limit is kept,
    // quarantined; the requests around them each got their draft.
    assert_eq!(s.message_count("processed").unwrap_or(0), 5);
    assert_eq!(s.message_count("quarantined").unwrap_or(0), 1);
    assert_eq!(claims(&dir).len(), 3);
    assert_eq!(received(&sink).len(), 3);
}

#[test]
fn secrets_and_tokens_never_reach_the_log_even_at_trace_level() {
    let issuer = crate::oauth2::Issuer::start("client-secret-right-7f3a");
    let d = Dovecot::start_oauth2("e2e-secrets", &issuer.introspection_url());
    let dir = temp_dir("e2e-secrets");
    let secret_file = dir.join("client-secret");
    // First a revoked secret (refused by the endpoint), then the right one.
    std::fs::write(&secret_file, "client-secret-revoked-9c1d\n").unwrap();
    let config = dir.join("slaclaim.toml");
    std::fs::write(
        &config,
        format!(
            "[[imap]]\nname = \"support\"\nhost = \"localhost\"\nport = {}\ntls = \"implicit\"\nca-file = \"{}\"\nuser = \"alice\"\nreconnect-min-ms = 100\nreconnect-max-ms = 300\n[imap.oauth2]\n{}[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ndir = \"{}\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\ndigest = \"\"\n",
            d.tls_port,
            d.ca().display(),
            issuer.config_keys(&secret_file),
            dir.join("outbox").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    let mut daemon = Daemon(
        crate::util::command(&dir.join("state"))
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("run")
            .env("RUST_LOG", "trace")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let read = || std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
    wait_for(
        &dir,
        Duration::from_secs(20),
        "a refused token request",
        || read().contains("invalid_client"),
    );
    std::fs::write(&secret_file, "client-secret-right-7f3a\n").unwrap();
    append(&d, request(1, true));
    let store = || crate::util::open_store(&dir.join("state"));
    wait_for(
        &dir,
        Duration::from_secs(30),
        "the request processed",
        || store().is_ok_and(|s| s.message_count("processed").unwrap_or_default() >= 1),
    );
    signal(&daemon, "-TERM");
    let _ = daemon.wait();
    let text = read();
    // The refusal is logged with the endpoint's words; dependencies log through the
    // `log` crate, which is not forwarded, so nothing of theirs reaches this log.
    assert!(text.contains("AADSTS7000215"), "{text}");
    let tokens = issuer.lock().issued.clone();
    assert!(!tokens.is_empty(), "no token was issued");
    for secret in ["client-secret-revoked-9c1d", "client-secret-right-7f3a"]
        .into_iter()
        .map(String::from)
        .chain(tokens)
    {
        assert!(
            !text.contains(&secret),
            "{secret} is in the log ({} bytes)",
            text.len()
        );
    }
}
