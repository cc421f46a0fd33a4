//! The loopback HTTP endpoint: `/metrics` (Prometheus text) and `/healthz`.
//!
//! Hand-written HTTP/1.1 for two GET paths (a web framework would be most of the
//! binary for this), but defensive as a server must be: every connection is its own
//! task, with a deadline for the request head and one for the whole exchange, a cap on
//! the head's size and on open connections, GET and HEAD only, and a Host that must
//! name this listener (a DNS-rebinding page cannot read it).

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::inbound::SourceHealth;
use crate::inbound::imap::WatchCounters;
use crate::store::Store;

/// Largest request head read; a larger one is answered 431.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
pub const HEAD_TIME: Duration = Duration::from_secs(2);
/// Time one whole exchange may take.
pub const EXCHANGE_TIME: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed unanswered.
pub const MAX_CONNECTIONS: usize = 64;

/// Shared live state: counters the metrics endpoint reports and the troubles health
/// reports.
#[derive(Debug, Default)]
pub struct Live {
    /// Per IMAP mailbox: its name and counters.
    pub mailboxes: Vec<(String, Arc<WatchCounters>)>,
    /// Per Maildir: its path and health.
    pub maildirs: Vec<(String, Arc<SourceHealth>)>,
    /// Mail sent since start.
    pub sent: std::sync::atomic::AtomicU64,
    /// Send failures (transient and permanent) since start.
    pub send_failures: std::sync::atomic::AtomicU64,
    /// Unix time the daemon started.
    pub started: i64,
    /// Per writer ("processing", "scheduler"): its last store write's error, until one
    /// of its writes succeeds again. Kept apart, so one writer's success does not hide
    /// the other's failure.
    store_errors: std::sync::Mutex<std::collections::BTreeMap<&'static str, String>>,
    /// Store write failures since start.
    pub store_failures: std::sync::atomic::AtomicU64,
    /// Why the outbox cannot send (our settings: greeting name, certificate, sender),
    /// until a message goes through again.
    outbox_problem: std::sync::Mutex<Option<String>>,
    /// Each source's lease ("imap:<name>", "maildir:<path>") and whether this instance
    /// holds it; a source another instance reads is not this one's trouble.
    leases: std::sync::Mutex<std::collections::BTreeMap<String, bool>>,
    /// Leases this instance took over from another (whose ran out) since start.
    pub lease_takeovers: std::sync::atomic::AtomicU64,
    /// Leases this instance lost (not renewed in time) since start.
    pub lease_losses: std::sync::atomic::AtomicU64,
    /// Where the ledger is, for /healthz.
    pub ledger: String,
}

impl Live {
    /// Live state of a daemon started at Unix time `started`.
    pub fn new(started: i64) -> Live {
        Live {
            started,
            ..Live::default()
        }
    }

    /// A store write of `writer` failed.
    pub fn store_failed(&self, writer: &'static str, error: &str) {
        self.store_failures.fetch_add(1, Relaxed);
        if let Ok(mut e) = self.store_errors.lock() {
            e.insert(writer, error.to_string());
        }
    }

    /// A store write of `writer` succeeded.
    pub fn store_ok(&self, writer: &'static str) {
        if let Ok(mut e) = self.store_errors.lock() {
            e.remove(writer);
        }
    }

    /// The outbox's settings are wrong (`Some(why)`), or a send went through (`None`).
    pub fn set_outbox_problem(&self, why: Option<&str>) {
        if let Ok(mut p) = self.outbox_problem.lock() {
            *p = why.map(str::to_string);
        }
    }

    /// Why the outbox cannot send, while that lasts.
    pub fn outbox_problem(&self) -> Option<String> {
        self.outbox_problem.lock().ok().and_then(|p| p.clone())
    }

    /// Whether this instance holds the lease `name` now.
    pub fn set_lease(&self, name: &str, held: bool) {
        if let Ok(mut l) = self.leases.lock() {
            l.insert(name.to_string(), held);
        }
    }

    /// Whether this instance reads the source with lease `name` (true before any
    /// lease was asked for: a daemon starting is expected to).
    pub fn holds(&self, name: &str) -> bool {
        self.leases
            .lock()
            .map(|l| l.get(name).copied().unwrap_or(true))
            .unwrap_or(true)
    }

    /// Every source lease and whether this instance holds it.
    pub fn leases(&self) -> Vec<(String, bool)> {
        self.leases
            .lock()
            .map(|l| l.iter().map(|(n, h)| (n.clone(), *h)).collect())
            .unwrap_or_default()
    }

    /// Each writer whose last store write failed, with the error.
    pub fn store_errors(&self) -> Vec<(&'static str, String)> {
        self.store_errors
            .lock()
            .map(|e| e.iter().map(|(w, e)| (*w, e.clone())).collect())
            .unwrap_or_default()
    }
}

/// When /healthz fails (the `[daemon]` keys of the same names, `health-` prefixed).
#[derive(Debug, Clone, Copy)]
pub struct HealthLimits {
    /// A mailbox not reached for this many seconds.
    pub max_silence_secs: u64,
    /// A source that failed this many times in a row.
    pub max_source_failures: u32,
    /// A message in custody for this many seconds.
    pub max_pending_secs: u64,
}

/// Serves until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: HealthLimits,
    state: crate::store::Location,
    shutdown: CancellationToken,
    live: Arc<Live>,
) {
    let store = match state.open() {
        Ok(s) => Arc::new(Mutex::new(s)),
        Err(e) => {
            tracing::error!(error = %e, "metrics endpoint cannot open the store");
            return;
        }
    };
    let Ok(local) = listener.local_addr() else {
        return;
    };
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((mut stream, _)) = accepted else {
            // Out of descriptors and the like: do not spin on it.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (store, live) = (store.clone(), live.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let exchange = async {
                let head = read_head(&mut stream).await;
                let response = match head {
                    Head::Complete(head) => answer(&head, local, &config, &store, &live),
                    Head::TooLarge => plain(431, "request head too large\n", false),
                    Head::Incomplete => return,
                };
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            };
            let _ = tokio::time::timeout(EXCHANGE_TIME, exchange).await;
        });
    }
}

/// What came of reading a request head.
enum Head {
    Complete(Vec<u8>),
    TooLarge,
    /// Closed or too slow: nothing to answer.
    Incomplete,
}

async fn read_head(stream: &mut tokio::net::TcpStream) -> Head {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 1024];
        loop {
            match memchr::memmem::find(&buf, b"\r\n\r\n") {
                Some(end) if end + 4 <= MAX_HEAD => {
                    buf.truncate(end + 4);
                    return Head::Complete(std::mem::take(&mut buf));
                }
                Some(_) => return Head::TooLarge,
                None if buf.len() >= MAX_HEAD => return Head::TooLarge,
                None => {}
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return Head::Incomplete,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(HEAD_TIME, read)
        .await
        .unwrap_or(Head::Incomplete)
}

/// The response to one request head.
fn answer(
    head: &[u8],
    local: SocketAddr,
    config: &HealthLimits,
    store: &Mutex<Store>,
    live: &Live,
) -> Vec<u8> {
    let request = match parse(head, local) {
        Ok(r) => r,
        Err((status, why)) => return plain(status, why, false),
    };
    let Ok(store) = store.lock() else {
        return plain(500, "store unavailable\n", request.head_only);
    };
    let troubles = troubles(config, live, &store, Utc::now());
    match request.path {
        "/metrics" => plain(
            200,
            &metrics_text(&store, live, &troubles),
            request.head_only,
        ),
        "/healthz" if troubles.is_empty() => plain(200, &healthy(live), request.head_only),
        "/healthz" => plain(503, &(troubles.join("\n") + "\n"), request.head_only),
        _ => plain(404, "not found\n", request.head_only),
    }
}

/// The healthy answer: "ok", then where the ledger is and which sources this instance
/// reads (with several instances, the others' are listed as standing by).
fn healthy(live: &Live) -> String {
    let mut out = format!("ok\nledger: {} (connected)\n", live.ledger);
    let (held, standby): (Vec<_>, Vec<_>) = live.leases().into_iter().partition(|(_, h)| *h);
    let names =
        |l: Vec<(String, bool)>| l.into_iter().map(|(n, _)| n).collect::<Vec<_>>().join(", ");
    if !held.is_empty() {
        out.push_str(&format!("reading: {}\n", names(held)));
    }
    if !standby.is_empty() {
        out.push_str(&format!("standing by for: {}\n", names(standby)));
    }
    out
}

/// A request that may be answered.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The path, without a query.
    pub path: &'a str,
    /// HEAD: headers only.
    pub head_only: bool,
}

/// Checks a request head: the method (GET or HEAD, else 405), the Host (this
/// listener's address or localhost, else 421; none: 400), and the shape.
pub fn parse(head: &[u8], local: SocketAddr) -> Result<Request<'_>, (u16, &'static str)> {
    let text = std::str::from_utf8(head).map_err(|_| (400, "bad request\n"))?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target, version) = (first.next(), first.next(), first.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return Err((400, "bad request\n"));
    };
    if first.next().is_some() || !version.starts_with("HTTP/1.") {
        return Err((400, "bad request\n"));
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err((405, "only GET and HEAD\n")),
    };
    let mut host = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("host") {
                if host.is_some() {
                    return Err((400, "more than one Host\n"));
                }
                host = Some(value.trim());
            }
        }
    }
    let host = host.ok_or((400, "no Host\n"))?;
    if !host_allowed(host, local) {
        return Err((
            421,
            "this server answers only to its own address or localhost\n",
        ));
    }
    let path = target.split('?').next().unwrap_or_default();
    Ok(Request { path, head_only })
}

/// Whether a Host header names this listener: its IP or "localhost", with its port or
/// none.
fn host_allowed(host: &str, local: SocketAddr) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        // "[::1]:9187" and "127.0.0.1:9187"; a bare IPv6 literal has no port.
        Some((name, port)) if !name.is_empty() && (!name.contains(':') || name.ends_with(']')) => {
            (name, Some(port))
        }
        _ => (host, None),
    };
    if port.is_some_and(|p| p.parse::<u16>().ok() != Some(local.port())) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().ok() == Some(local.ip())
}

/// A whole response; HEAD gets the headers only.
fn plain(status: u16, body: &str, head_only: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let allow = if status == 405 {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// Why the daemon is not healthy; empty when it is. Each is one line:
/// - a mailbox not reached for `health-max-silence-secs` (after start-up);
/// - a source that failed `health-max-source-failures` times in a row;
/// - a message waiting in custody longer than `health-max-pending-secs`;
/// - a store write that failed, until one succeeds.
pub fn troubles(
    config: &HealthLimits,
    live: &Live,
    store: &Store,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    let limit = config.max_silence_secs as i64;
    // A source another instance reads is not this one's to reach.
    let mine = |lease: String| live.holds(&lease);
    for (name, c) in &live.mailboxes {
        let last = c.last_contact.load(Relaxed).max(live.started);
        if mine(format!("imap:{name}")) && now.timestamp() - last > limit {
            out.push(format!(
                "mailbox {name} unreachable for more than {limit} s"
            ));
        }
    }
    let sources = live
        .mailboxes
        .iter()
        .filter(|(name, _)| mine(format!("imap:{name}")))
        .map(|(name, c)| (format!("mailbox {name}"), c.health.failing()))
        .chain(
            live.maildirs
                .iter()
                .filter(|(name, _)| mine(format!("maildir:{name}")))
                .map(|(name, h)| (format!("Maildir {name}"), h.failing())),
        );
    for (name, (failures, last)) in sources {
        if failures >= config.max_source_failures.max(1) {
            out.push(format!("{name} failed {failures} times in a row: {last}"));
        }
    }
    for (name, c) in &live.mailboxes {
        if let Some(problem) = c.health.problem() {
            out.push(format!("mailbox {name}: {problem}"));
        }
    }
    if let Some(why) = live.outbox_problem() {
        out.push(format!("outbox cannot send: {why}"));
    }
    out.extend(pipeline_troubles(config, live, store, now));
    out
}

/// The troubles of the pipeline itself (a message stuck in custody, store writes
/// failing), which the watchdog follows.
pub fn pipeline_troubles(
    config: &HealthLimits,
    live: &Live,
    store: &Store,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    match store.oldest_pending() {
        Ok(Some(oldest)) => {
            let waited = DateTime::parse_from_rfc3339(&oldest)
                .map(|t| (now - t.with_timezone(&Utc)).num_seconds())
                .unwrap_or(0);
            if waited > config.max_pending_secs as i64 {
                out.push(format!("a message has waited {waited} s to be processed"));
            }
        }
        Ok(None) => {}
        Err(e) => out.push(format!("store unreadable: {e}")),
    }
    for (writer, e) in live.store_errors() {
        out.push(format!("store write failing ({writer}): {e}"));
    }
    out
}

/// Prometheus text exposition: store counts (true across restarts) and live counters.
pub fn metrics_text(store: &Store, live: &Live, troubles: &[String]) -> String {
    let mut out = String::new();
    store_metrics(&mut out, store);
    live_metrics(&mut out, live, troubles);
    out
}

/// A metric family's HELP and TYPE lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
}

/// Counts kept in the store, true across restarts.
fn store_metrics(out: &mut String, store: &Store) {
    family(
        out,
        "slaclaim_messages",
        "gauge",
        "Stored messages by kind and status.",
    );
    let rows = store.message_counts().unwrap_or_default();
    for (kind, status, n) in &rows {
        out.push_str(&format!(
            "slaclaim_messages{{kind=\"{kind}\",status=\"{status}\"}} {n}\n"
        ));
    }
    family(
        out,
        "slaclaim_inbox_pending",
        "gauge",
        "Messages in custody, not yet processed.",
    );
    out.push_str(&format!(
        "slaclaim_inbox_pending {}\n",
        store.pending_count().unwrap_or(0)
    ));
    gauge_by(
        out,
        ("slaclaim_claims", "status"),
        "Claims by status.",
        store.claim_counts().unwrap_or_default(),
    );
    family(
        out,
        "slaclaim_mail",
        "gauge",
        "Outgoing mail by purpose and status.",
    );
    for (purpose, status, n) in store.mail_counts().unwrap_or_default() {
        out.push_str(&format!(
            "slaclaim_mail{{purpose=\"{purpose}\",status=\"{status}\"}} {n}\n"
        ));
    }
    gauge_by(
        out,
        ("slaclaim_mail_recipients", "status"),
        "Recipients of outgoing mail by outcome: accepted, refused (for good), unconfirmed (no answer to the end of the message).",
        store.delivery_counts().unwrap_or_default(),
    );
    gauge_by(
        out,
        ("slaclaim_graph_checks", "outcome"),
        "Claims by the newest outcome of asking Microsoft Graph for their incident: found, not_found, denied (consent or permission missing), throttled, timeout, bad_json, error.",
        store.graph_outcomes().unwrap_or_default(),
    );
}

/// A gauge family with one label: (name, label), then one line per (value, count).
fn gauge_by(out: &mut String, (name, label): (&str, &str), help: &str, rows: Vec<(String, i64)>) {
    family(out, name, "gauge", help);
    for (value, n) in rows {
        out.push_str(&format!("{name}{{{label}=\"{value}\"}} {n}\n"));
    }
}

/// Counters and states of this run.
fn live_metrics(out: &mut String, live: &Live, troubles: &[String]) {
    family(
        out,
        "slaclaim_oauth_token_failures_total",
        "counter",
        "OAuth2 token failures since start by reason: the endpoint's error code (invalid_client, ...), unreachable, server_error, unreadable, command_failed, or refused_by_server (the mail server refused a token).",
    );
    for (reason, n) in crate::net::credentials::token_failures() {
        out.push_str(&format!(
            "slaclaim_oauth_token_failures_total{{reason=\"{reason}\"}} {n}\n"
        ));
    }
    // Per mailbox: (name, type, help, counter).
    type Read = fn(&WatchCounters) -> i64;
    let per_mailbox: [(&str, &str, &str, Read); 4] = [
        (
            "slaclaim_imap_misconfigured",
            "gauge",
            "1 while a configured folder of the mailbox cannot be selected (it does not exist).",
            |c| i64::from(c.health.problem().is_some()),
        ),
        (
            "slaclaim_imap_auth_failures_total",
            "counter",
            "Refused IMAP logins since start.",
            |c| i64::try_from(c.auth_failures.load(Relaxed)).unwrap_or(i64::MAX),
        ),
        (
            "slaclaim_imap_reconnects_total",
            "counter",
            "IMAP reconnects since start.",
            |c| i64::try_from(c.reconnects.load(Relaxed)).unwrap_or(i64::MAX),
        ),
        (
            "slaclaim_imap_last_contact_seconds",
            "gauge",
            "Unix time of the last successful exchange with the mailbox.",
            |c| c.last_contact.load(Relaxed),
        ),
    ];
    for (metric, kind, help, read) in per_mailbox {
        family(out, metric, kind, help);
        for (name, c) in &live.mailboxes {
            out.push_str(&format!("{metric}{{mailbox=\"{name}\"}} {}\n", read(c)));
        }
    }
    let metric = "slaclaim_source_failures";
    family(
        out,
        metric,
        "gauge",
        "Failures in a row of a mail source (0 when its last try worked).",
    );
    let sources = live
        .mailboxes
        .iter()
        .map(|(name, c)| ("imap", name, c.health.failing().0))
        .chain(
            live.maildirs
                .iter()
                .map(|(name, h)| ("maildir", name, h.failing().0)),
        );
    for (source, name, n) in sources {
        out.push_str(&format!(
            "{metric}{{source=\"{source}\",name=\"{name}\"}} {n}\n"
        ));
    }
    let metric = "slaclaim_lease_held";
    family(
        out,
        metric,
        "gauge",
        "1 while this instance reads the source (holds its lease), 0 while another instance does.",
    );
    for (name, held) in live.leases() {
        out.push_str(&format!(
            "{metric}{{lease=\"{name}\"}} {}\n",
            u8::from(held)
        ));
    }
    let scalars: [(&str, &str, &str, u64); 8] = [
        (
            "slaclaim_store_connections",
            "gauge",
            "Connections this process holds to the PostgreSQL ledger, in use or idle in its pool (0 on SQLite).",
            crate::store::postgres::open_connections(),
        ),
        (
            "slaclaim_store_connections_in_use",
            "gauge",
            "Of those, the ones lent to a statement or transaction now.",
            crate::store::postgres::pool::connections_in_use(),
        ),
        (
            "slaclaim_lease_takeovers_total",
            "counter",
            "Source leases this instance took over from another whose lease ran out, since start.",
            live.lease_takeovers.load(Relaxed),
        ),
        (
            "slaclaim_lease_losses_total",
            "counter",
            "Source leases this instance lost (not renewed in time), since start.",
            live.lease_losses.load(Relaxed),
        ),
        (
            "slaclaim_outbox_misconfigured",
            "gauge",
            "1 while the outbox cannot send because of its settings (greeting name, certificate, sender).",
            u64::from(live.outbox_problem().is_some()),
        ),
        (
            "slaclaim_send_failures_total",
            "counter",
            "Failed send attempts since start.",
            live.send_failures.load(Relaxed),
        ),
        (
            "slaclaim_store_failures_total",
            "counter",
            "Failed store writes since start.",
            live.store_failures.load(Relaxed),
        ),
        (
            "slaclaim_healthy",
            "gauge",
            "1 when /healthz answers 200, else 0.",
            u64::from(troubles.is_empty()),
        ),
    ];
    for (metric, kind, help, value) in scalars {
        family(out, metric, kind, help);
        out.push_str(&format!("{metric} {value}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9187))
    }

    fn status(head: &str) -> Result<(&str, bool), u16> {
        parse(head.as_bytes(), local())
            .map(|r| (r.path, r.head_only))
            .map_err(|(s, _)| s)
    }

    #[test]
    fn only_get_and_head_to_this_listener_are_answered() {
        let req =
            |method: &str, host: &str| format!("{method} /healthz HTTP/1.1\r\n{host}\r\n\r\n");
        for (method, host, head_only) in [
            ("GET", "Host: 127.0.0.1:9187", false),
            ("HEAD", "host: localhost", true),
            ("GET", "Host: LOCALHOST:9187", false),
            ("GET", "Host: 127.0.0.1", false),
        ] {
            assert_eq!(
                status(&req(method, host)),
                Ok(("/healthz", head_only)),
                "{host}"
            );
        }
        for method in ["POST", "PUT", "DELETE", "OPTIONS", "get", "CONNECT"] {
            assert_eq!(
                status(&req(method, "Host: localhost")),
                Err(405),
                "{method}"
            );
        }
        for host in [
            "Host: evil.example",
            "Host: localhost:80",
            "Host: 127.0.0.2:9187",
            "Host: 127.0.0.1:9187.evil",
            "Host: [::1]:9187",
            "Host: localhost.evil.example",
        ] {
            assert_eq!(status(&req("GET", host)), Err(421), "{host}");
        }
        assert_eq!(status(&req("GET", "X-Other: 1")), Err(400));
        assert_eq!(
            status(&req("GET", "Host: localhost\r\nHost: localhost")),
            Err(400)
        );
        assert_eq!(status("GET /healthz\r\n\r\n"), Err(400));
        assert_eq!(
            status("GET /metrics?x=1 HTTP/1.0\r\nHost: localhost\r\n\r\n"),
            Ok(("/metrics", false))
        );
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost: \xff\r\n\r\n", local()),
            Err((400, _))
        ));
        // An IPv6 listener answers to its own literal.
        let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 9187));
        assert!(parse(b"GET / HTTP/1.1\r\nHost: [::1]:9187\r\n\r\n", v6).is_ok());
        assert!(parse(b"GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", v6).is_ok());
    }

    #[test]
    fn head_answers_carry_no_body_and_405_says_what_is_allowed() {
        let head = String::from_utf8(plain(200, "ok\n", true)).unwrap_or_default();
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"),
            "{head}"
        );
        assert!(head.contains("Content-Length: 3\r\n"));
        let refused = String::from_utf8(plain(405, "no\n", false)).unwrap_or_default();
        assert!(refused.contains("Allow: GET, HEAD\r\n") && refused.ends_with("no\n"));
    }

    #[test]
    fn health_names_each_trouble() {
        let dir = std::env::temp_dir().join(format!("slaclaim-health-{}", std::process::id()));
        let store = Store::open(&dir).unwrap();
        let limits = HealthLimits {
            max_silence_secs: 60,
            max_source_failures: 3,
            max_pending_secs: 30,
        };
        let now = Utc::now();
        let mut live = Live::new(now.timestamp());
        let maildir = Arc::new(SourceHealth::default());
        live.maildirs.push(("/srv/mail".into(), maildir.clone()));
        let live = live;
        assert!(troubles(&limits, &live, &store, now).is_empty());
        // A source failing again and again, until it works once.
        for _ in 0..3 {
            maildir.failed("No space left on device");
        }
        let t = troubles(&limits, &live, &store, now);
        assert!(
            t.len() == 1 && t[0].contains("Maildir /srv/mail failed 3 times in a row: No space"),
            "{t:?}"
        );
        maildir.succeeded();
        assert!(troubles(&limits, &live, &store, now).is_empty());
        // A store write failing, until one succeeds.
        live.store_failed("processing", "disk I/O error");
        live.store_ok("scheduler");
        let t = troubles(&limits, &live, &store, now);
        assert!(t.len() == 1 && t[0].contains("disk I/O error"), "{t:?}");
        assert!(metrics_text(&store, &live, &t).contains("slaclaim_healthy 0\n"));
        live.store_ok("processing");
        assert!(troubles(&limits, &live, &store, now).is_empty());
        // The outbox's settings wrong (a refused greeting name), until a send goes out.
        live.set_outbox_problem(Some("the SMTP server refuses our greeting name"));
        let t = troubles(&limits, &live, &store, now);
        assert!(
            t.len() == 1 && t[0].contains("outbox cannot send: the SMTP server refuses"),
            "{t:?}"
        );
        assert!(metrics_text(&store, &live, &t).contains("slaclaim_outbox_misconfigured 1\n"));
        live.set_outbox_problem(None);
        assert!(troubles(&limits, &live, &store, now).is_empty());
        // A message waiting in custody past the limit (and not before).
        let taken = crate::stamp(now - chrono::Duration::seconds(31));
        assert_eq!(
            store
                .accept("imap", "imap:m/INBOX/1/1", b"Subject: x\r\n\r\n", &taken)
                .ok(),
            Some(true)
        );
        let t = troubles(&limits, &live, &store, now);
        assert!(t.len() == 1 && t[0].contains("waited"), "{t:?}");
        assert!(troubles(&limits, &live, &store, now - chrono::Duration::seconds(5)).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
