//! Mail transport against a real Postfix (tests/postfix.rs): each recipient's own
//! outcome, the greeting name, QUIT, the attached original's encoding, threading, a slow
//! answer to the final ".", and recovery after the server was down.

use crate::mailout::ingest;
use crate::postfix::{Postfix, SlowPolicy};
use crate::util::temp_dir;
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use slaclaim::app::config::Config;
use slaclaim::outbound::draft::Templates;
use slaclaim::outbound::outbox::{self, SendReport, Transport};
use slaclaim::store::Store;
use std::time::Duration;

const HELPDESK: &str = "helpdesk@cloudwise-partners.example";
const REFUSED: &str = "refused@cloudwise-partners.example";

/// The config text: SMTP to the Postfix on `port`, drafts to `helpdesk`, and `outbox`
/// lines added to [outbox].
fn config_text(port: u16, helpdesk: &[&str], outbox: &str) -> String {
    let helpdesk: Vec<String> = helpdesk.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        r#"
[deadline]
time-zone = "Europe/Amsterdam"

[outbox]
from = "slaclaim@cloudwise-partners.example"
transport = "smtp"
host = "127.0.0.1"
port = {port}
tls = "plain"
timeout-secs = 5
{outbox}

[drafts]
helpdesk = [{}]

[reminders]
managers = ["manager@cloudwise-partners.example"]
digest = ""
"#,
        helpdesk.join(", ")
    )
}

fn config(text: &str) -> Config {
    Config::parse(text, "test").unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// A customer's credit request for incident `incident` in Latin-1, with a log line far
/// longer than 76 octets: the kind of mail that used to be attached as base64.
fn request(incident: &str, tenant: &str, extra: &str) -> Vec<u8> {
    let mut m = format!(
        "From: Jan de Vries <jan@harbourfinch.example>\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request {incident}\r\nDate: Mon, 02 Mar 2026 14:00:00 +0100\r\nMessage-ID: <{incident}@harbourfinch.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHello,\r\n\r\nPlease file an SLA credit claim for incident {incident}. Tenant ID: {tenant}.\r\nToday from 09:00 to 11:30 CET 40 users in Utrecht could not send mail.\r\nWe restarted Outlook, which did not help. Bought through you (CSP): yes.\r\n{extra}\r\nLog: "
    )
    .into_bytes();
    m.extend(std::iter::repeat_n(b'x', 300));
    m.extend_from_slice(b"\r\n\r\nGr\xfc\xdfe,\r\nJan de Vries\r\n");
    m
}

/// Plans and sends once at `now` through `transport`.
async fn cycle(
    store: &mut Store,
    config: &Config,
    transport: &Transport,
    now: DateTime<Utc>,
) -> SendReport {
    let templates = Templates::load(None).unwrap();
    let planner = config.planner(&templates).unwrap();
    planner.plan(store, now).unwrap();
    outbox::send_due(store, transport, now).await.unwrap()
}

/// Postfix's lines about SMTP sessions ending (not the harness's bare port probes).
fn disconnects(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("disconnect from") && l.contains(" ehlo="))
        .collect()
}

fn header(raw: &[u8], name: &str) -> String {
    MessageParser::default()
        .parse(raw)
        .and_then(|m| m.header_raw(name).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_refused_recipient_is_recorded_alone_and_the_other_gets_the_draft_once() {
    let postfix = Postfix::start("refused", "");
    let dir = temp_dir("transport-refused");
    let text = config_text(postfix.port, &[HELPDESK, REFUSED], "");
    std::fs::write(dir.join("slaclaim.toml"), &text).unwrap();
    let config = config(&text);
    let transport = Transport::new(&config.outbox);
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    let original = request("EX1234567", "5f1c2d3e-0a1b-4c2d-8e3f-405162738495", "");
    ingest(&mut store, &config, &original, now);

    let report = cycle(&mut store, &config, &transport, now).await;
    assert_eq!((report.sent, report.refused), (1, 1), "{report:?}");
    let got = postfix.delivered("helpdesk", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1);
    let draft = &got[0];
    let message_id = header(draft, "Message-ID");
    let deliveries = store
        .deliveries(message_id.trim_matches(['<', '>']))
        .unwrap_or_default();
    let outcome: Vec<(&str, &str)> = deliveries
        .iter()
        .map(|d| (d.recipient.as_str(), d.status.as_str()))
        .collect();
    assert_eq!(outcome, [(HELPDESK, "accepted"), (REFUSED, "refused")]);
    let reply = deliveries[1].reply.clone().unwrap_or_default();
    assert!(reply.contains("550") && reply.contains("5.1.1"), "{reply}");

    // The original rides along as 8bit message/rfc822 (RFC 2046 §5.2.1), not base64,
    // and reads back as the customer's bytes.
    let text = String::from_utf8_lossy(draft);
    let part = text
        .split("Content-Type: message/rfc822")
        .nth(1)
        .unwrap_or_default();
    assert!(
        part.lines()
            .take(4)
            .any(|l| l == "Content-Transfer-Encoding: 8bit"),
        "{part:.300}"
    );
    let parsed = MessageParser::default()
        .parse(draft.as_slice())
        .unwrap_or_else(|| panic!("unparseable draft"));
    let attached: Vec<Vec<u8>> = parsed
        .attachments()
        .filter(|a| a.content_type().is_some_and(|c| c.ctype() == "message"))
        .map(|a| a.contents().to_vec())
        .collect();
    // Postfix stores mail with LF line ends; the bytes are the customer's otherwise.
    let lf = |m: &[u8]| -> Vec<u8> { m.iter().copied().filter(|&b| b != b'\r').collect() };
    assert_eq!(
        attached.iter().map(|a| lf(a)).collect::<Vec<_>>(),
        [lf(&original)]
    );

    // Nothing goes again: not to the one who has it, not to the one who refused it.
    let later = cycle(
        &mut store,
        &config,
        &transport,
        now + chrono::Duration::hours(3),
    )
    .await;
    assert_eq!((later.sent, later.deferred, later.refused), (0, 0, 0));
    assert_eq!(
        postfix
            .delivered("helpdesk", 2, Duration::from_millis(500))
            .len(),
        1
    );
    // A second version of the draft threads under the first.
    let follow_up = request(
        "EX1234567",
        "5f1c2d3e-0a1b-4c2d-8e3f-405162738495",
        "Contact: Jan de Vries, +31 30 555 0101",
    );
    let follow_up = String::from_utf8_lossy(&follow_up)
        .replace(
            "Subject: SLA credit request EX1234567",
            "Subject: RE: [SLA-1] SLA credit request EX1234567",
        )
        .replace("Message-ID: <EX1234567@", "Message-ID: <follow-up@")
        .into_bytes();
    ingest(
        &mut store,
        &config,
        &follow_up,
        now + chrono::Duration::hours(4),
    );
    let again = cycle(
        &mut store,
        &config,
        &transport,
        now + chrono::Duration::hours(4),
    )
    .await;
    assert_eq!(again.sent, 1, "{again:?}");
    let got = postfix.delivered("helpdesk", 2, Duration::from_secs(20));
    assert_eq!(got.len(), 2);
    assert_eq!(header(&got[1], "In-Reply-To"), message_id);
    assert_eq!(header(&got[1], "References"), message_id);

    // Every session ended with QUIT, the one after the refusal-only retry too.
    transport.quit_idle(Duration::ZERO).await;
    std::thread::sleep(Duration::from_millis(500));
    let log = postfix.log();
    let ends = disconnects(&log);
    assert!(!ends.is_empty(), "{log}");
    assert!(ends.iter().all(|l| l.contains("quit=1")), "{log}");

    // `claim SLA-1` says who refused it and why (last: it judges the claim by today's
    // date, long after this test's March).
    let shown = crate::util::slaclaim([
        "--config",
        &dir.join("slaclaim.toml").display().to_string(),
        "--state-dir",
        &dir.join("state").display().to_string(),
        "claim",
        "SLA-1",
    ]);
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.contains(REFUSED) && shown.contains("refused: permanent error (550): 5.1.1"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_greeting_name_the_server_refuses_keeps_mail_queued_until_it_is_fixed() {
    let postfix = Postfix::start(
        "helo",
        "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n",
    );
    let dir = temp_dir("transport-helo");
    let bare = config(&config_text(
        postfix.port,
        &[HELPDESK],
        "helo-name = \"vm\"",
    ));
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    ingest(
        &mut store,
        &bare,
        &request("EX2345678", "6f1c2d3e-0a1b-4c2d-8e3f-405162738495", ""),
        now,
    );
    let report = cycle(&mut store, &bare, &Transport::new(&bare.outbox), now).await;
    let why = report.misconfigured.clone().unwrap_or_default();
    assert!(
        why.contains("helo-name") && why.contains("Helo command rejected"),
        "{report:?}"
    );
    assert_eq!((report.sent, report.failed), (0, 0));
    // Still queued, however long it takes to fix.
    assert_eq!(
        store
            .due_mail("9999-12-31T00:00:00.000Z", 10)
            .unwrap_or_default()
            .len(),
        1
    );

    // The default name is fully qualified (the host's, or the domain of `from`).
    let fixed = config(&config_text(postfix.port, &[HELPDESK], ""));
    let transport = Transport::new(&fixed.outbox);
    assert!(
        transport.helo_name().contains('.'),
        "{}",
        transport.helo_name()
    );
    let later = now + chrono::Duration::hours(2);
    let report = cycle(&mut store, &fixed, &transport, later).await;
    assert_eq!(
        (report.sent, report.misconfigured.clone()),
        (1, None),
        "{report:?}"
    );
    assert_eq!(
        postfix
            .delivered("helpdesk", 1, Duration::from_secs(20))
            .len(),
        1
    );
}

#[tokio::test]
async fn a_slow_answer_to_the_final_dot_is_waited_for_or_left_unconfirmed_never_sent_twice() {
    let slow = SlowPolicy::start(Duration::from_secs(20));
    let postfix = Postfix::start("slow", &slow.main_cf());
    let dir = temp_dir("transport-slow");
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");

    // A short wait: the answer does not come in time; the mail counts as sent,
    // unconfirmed, and is not sent again by any later pass.
    let impatient = config(&config_text(
        postfix.port,
        &[HELPDESK],
        "final-reply-secs = 3",
    ));
    ingest(
        &mut store,
        &impatient,
        &request("EX3456789", "7f1c2d3e-0a1b-4c2d-8e3f-405162738495", ""),
        now,
    );
    let transport = Transport::new(&impatient.outbox);
    let started = std::time::Instant::now();
    let report = cycle(&mut store, &impatient, &transport, now).await;
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(report.sent, 1, "{report:?}");
    for hours in [1, 3, 24] {
        let later = now + chrono::Duration::hours(hours);
        let report = cycle(&mut store, &impatient, &transport, later).await;
        assert_eq!(report.sent + report.deferred, 0, "{report:?}");
    }
    let counts = store.delivery_counts().unwrap_or_default();
    assert_eq!(counts, [("unconfirmed".to_string(), 1)]);

    // The default wait is ten minutes: a 20 s content filter is simply waited for.
    let patient = config(&config_text(postfix.port, &[HELPDESK], ""));
    ingest(
        &mut store,
        &patient,
        &request("EX4567890", "8f1c2d3e-0a1b-4c2d-8e3f-405162738495", ""),
        now,
    );
    let report = cycle(&mut store, &patient, &Transport::new(&patient.outbox), now).await;
    assert_eq!(report.sent, 1, "{report:?}");
    let counts = store.delivery_counts().unwrap_or_default();
    assert_eq!(
        counts,
        [("accepted".to_string(), 1), ("unconfirmed".to_string(), 1)]
    );
    // Postfix kept both, once each: a third never comes.
    let got = postfix.delivered("helpdesk", 3, Duration::from_secs(10));
    let subjects: Vec<String> = got.iter().map(|m| header(m, "Subject")).collect();
    assert_eq!(got.len(), 2, "{subjects:?}");
}

#[tokio::test]
async fn mail_deferred_while_the_server_was_down_goes_as_soon_as_it_answers() {
    let postfix = Postfix::start("outage", "");
    let dir = temp_dir("transport-outage");
    let text = config_text(postfix.port, &[HELPDESK], "retry-min-secs = 3600");
    let config = config(&text);
    let transport = Transport::new(&config.outbox);
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    postfix.stop();
    ingest(
        &mut store,
        &config,
        &request("EX5678901", "9f1c2d3e-0a1b-4c2d-8e3f-405162738495", ""),
        now,
    );
    let report = cycle(&mut store, &config, &transport, now).await;
    assert_eq!((report.sent, report.deferred), (0, 1), "{report:?}");

    // Back: the next mail that goes makes the deferred one due at once, not in an hour.
    postfix.restart();
    let soon = now + chrono::Duration::seconds(5);
    ingest(
        &mut store,
        &config,
        &request("EX6789012", "af1c2d3e-0a1b-4c2d-8e3f-405162738495", ""),
        soon,
    );
    assert_eq!(cycle(&mut store, &config, &transport, soon).await.sent, 1);
    let next = soon + chrono::Duration::milliseconds(100);
    assert_eq!(cycle(&mut store, &config, &transport, next).await.sent, 1);
    assert_eq!(
        postfix
            .delivered("helpdesk", 2, Duration::from_secs(20))
            .len(),
        2
    );
    assert!(store.next_mail_due().unwrap_or_default().is_none());
}

/// The outbox keeps retry times to the millisecond.
#[test]
fn outbox_times_are_kept_to_the_millisecond() {
    let t = at("2026-03-16T09:00:00.250Z");
    assert_eq!(outbox::stamp(t), "2026-03-16T09:00:00.250Z");
}

/// A self-signed certificate made the usual way (`openssl req -x509`, so CA:TRUE) for
/// Postfix in `dir`; returns the main.cf lines offering STARTTLS with it and its SHA-256
/// fingerprint as openssl prints it.
fn self_signed(dir: &std::path::Path) -> (String, String) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl: {e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    let printed = run(&[
        "x509",
        "-noout",
        "-fingerprint",
        "-sha256",
        "-in",
        "cert.pem",
    ]);
    let fingerprint = printed
        .trim()
        .split_once('=')
        .map(|(_, f)| f.to_string())
        .unwrap_or_default();
    let cf = format!(
        "smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\nsmtpd_tls_cert_file = {0}/cert.pem\nsmtpd_tls_key_file = {0}/key.pem\n",
        dir.display()
    );
    (cf, fingerprint)
}

#[tokio::test]
async fn a_self_signed_certificate_is_trusted_by_its_pin_and_a_bad_one_is_a_setting_to_fix() {
    let certs = temp_dir("transport-pin-certs");
    let (cf, fingerprint) = self_signed(&certs);
    assert_eq!(fingerprint.len(), 95, "{fingerprint}");
    let postfix = Postfix::start("pin", &cf);
    let dir = temp_dir("transport-pin");
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    let with = |lines: String| {
        let text = config_text(postfix.port, &[HELPDESK], &lines)
            .replace("tls = \"plain\"", "tls = \"starttls\"");
        config(&text)
    };
    let as_ca = with(format!("ca-file = \"{}/cert.pem\"", certs.display()));
    ingest(
        &mut store,
        &as_ca,
        &request("EX7890123", "bf1c2d3e-0a1b-4c2d-8e3f-405162738495", ""),
        now,
    );
    // Given as a CA, a CA:TRUE certificate cannot vouch for itself: a setting to fix,
    // reported as one, not days of retries.
    let report = cycle(&mut store, &as_ca, &Transport::new(&as_ca.outbox), now).await;
    assert!(
        report
            .misconfigured
            .as_deref()
            .unwrap_or_default()
            .contains("TLS"),
        "{report:?}"
    );
    // A pin that is not this certificate's: refused before anything is sent.
    let wrong = with("tls-pin-sha256 = \"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\"".into());
    let later = now + chrono::Duration::hours(1);
    let report = cycle(&mut store, &wrong, &Transport::new(&wrong.outbox), later).await;
    assert!(
        report
            .misconfigured
            .as_deref()
            .unwrap_or_default()
            .contains("is not the pinned"),
        "{report:?}"
    );
    // Its own pin: trusted, and the draft goes.
    let pinned = with(format!("tls-pin-sha256 = \"{fingerprint}\""));
    let later = now + chrono::Duration::hours(3);
    let report = cycle(&mut store, &pinned, &Transport::new(&pinned.outbox), later).await;
    assert_eq!(
        (report.sent, report.misconfigured.clone()),
        (1, None),
        "{report:?}"
    );
    assert_eq!(
        postfix
            .delivered("helpdesk", 1, Duration::from_secs(20))
            .len(),
        1
    );
    assert!(
        postfix.log().contains("TLS connection established"),
        "{}",
        postfix.log()
    );
}
