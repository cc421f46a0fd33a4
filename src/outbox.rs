//! Mail out: sends what the store's outbox holds, exactly once as far as SMTP allows.
//!
//! A message is queued in the store (with its deterministic Message-ID) before anything is
//! sent; each attempt is recorded before it is made, the moment before its last byte (the
//! "." that ends DATA) goes out, and the outcome after. SMTP cannot tell a client that lost
//! the server's answer whether the server kept the message, so the record decides: a
//! crash before the last byte leaves an incomplete DATA that the server discards, and the
//! message is sent again; a crash after it means the server has (or will have) the whole
//! message, and it is taken as delivered, with a warning. Transient failures (4xx, refused
//! connections, timeouts) are retried with doubling delays for `retry-for-hours`;
//! permanent ones (5xx) are recorded and reported, never retried.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use serde::Deserialize;

use crate::credentials::{OAuth2Config, SecretSource, TokenSource};
use crate::source::imap::TlsMode;
use crate::store::{QueuedMail, Store, StoreError};

/// Where outgoing mail goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// .eml files in `dir`: the embedded demo and dry runs.
    #[default]
    File,
    /// An SMTP submission server.
    Smtp,
}

/// The `[outbox]` table.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OutboxConfig {
    /// Our address: From of every message, and mail from it is never read as a request.
    #[serde(default = "default_from")]
    pub from: String,
    /// file (default) or smtp.
    #[serde(default)]
    pub transport: TransportKind,
    /// Directory for the file transport.
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
    /// SMTP server host.
    pub host: Option<String>,
    /// SMTP port; 465 for implicit TLS, 587 otherwise, when left out.
    pub port: Option<u16>,
    /// Connection protection, as for IMAP: implicit (default), starttls, plain.
    #[serde(default)]
    pub tls: TlsMode,
    /// PEM file of a private CA for the SMTP server.
    pub ca_file: Option<PathBuf>,
    /// SMTP login name; no AUTH when left out.
    pub user: Option<String>,
    /// With `tls = "plain"`, authenticate to a host that is not loopback (the password
    /// crosses the network in clear). Refused unless this is true.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
    /// File holding the SMTP password.
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// A command (no shell) printing the SMTP password.
    pub password_command: Option<Vec<String>>,
    /// SASL XOAUTH2 instead of a password (Microsoft 365 SMTP AUTH for apps).
    pub oauth2: Option<OAuth2Config>,
    /// Seconds one SMTP attempt may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// First retry delay in seconds after a transient failure; it doubles, up to an hour.
    #[serde(default = "default_retry_min")]
    pub retry_min_secs: u64,
    /// Transient failures are retried this long after a message was queued, then it is
    /// given up as failed (and reported).
    #[serde(default = "default_retry_hours")]
    pub retry_for_hours: u64,
}

impl fmt::Debug for OutboxConfig {
    // Where secrets come from is fine to show; the config never holds them itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxConfig")
            .field("from", &self.from)
            .field("transport", &self.transport)
            .field("dir", &self.dir)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            from: default_from(),
            transport: TransportKind::File,
            dir: default_dir(),
            host: None,
            port: None,
            tls: TlsMode::Implicit,
            ca_file: None,
            user: None,
            allow_plaintext_auth: false,
            password_file: None,
            password_env: None,
            password_command: None,
            oauth2: None,
            timeout_secs: default_timeout(),
            retry_min_secs: default_retry_min(),
            retry_for_hours: default_retry_hours(),
        }
    }
}

fn default_from() -> String {
    "slaclaim@localhost".into()
}
fn default_dir() -> PathBuf {
    PathBuf::from("outbox")
}
fn default_timeout() -> u64 {
    60
}
fn default_retry_min() -> u64 {
    30
}
fn default_retry_hours() -> u64 {
    48
}

impl OutboxConfig {
    /// Our From address, parsed.
    pub fn from_address(&self) -> Result<Address, String> {
        self.from
            .parse()
            .map_err(|e| format!("outbox.from {:?}: {e}", self.from))
    }

    /// The domain our Message-IDs end in: the From address's.
    pub fn message_id_domain(&self) -> String {
        self.from
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d)
            .to_ascii_lowercase()
    }

    /// Checks the settings without contacting anyone.
    pub fn validate(&self) -> Result<(), String> {
        self.from_address()?;
        if self.transport == TransportKind::Smtp {
            if self.host.is_none() {
                return Err("outbox: transport = \"smtp\" needs host".into());
            }
            let password = self.password_source().is_set();
            match (&self.oauth2, password, &self.user) {
                (Some(_), true, _) => {
                    return Err("outbox: set either oauth2 or a password-* key, not both".into());
                }
                (None, true, None) | (Some(_), false, None) => {
                    return Err("outbox: authentication needs user".into());
                }
                (Some(o), false, Some(_)) => o.validate("outbox")?,
                _ => {}
            }
        }
        Ok(())
    }

    /// The SMTP password's source.
    pub fn password_source(&self) -> SecretSource {
        SecretSource {
            file: self.password_file.clone(),
            env: self.password_env.clone(),
            command: self.password_command.clone(),
        }
    }
}

/// Errors of sending.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The transport could not be set up (bad CA file, unreadable secret).
    #[error("outbox: {0}")]
    Setup(String),
}

/// What one send attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Accepted by the server (or written to the directory).
    Sent,
    /// Try again later.
    Transient(String),
    /// Never try again.
    Permanent(String),
}

/// A configured transport.
pub struct Transport {
    config: OutboxConfig,
    tokens: Option<TokenSource>,
    /// One SMTP session kept between messages (checked with NOOP before reuse), so a send
    /// costs no connect, TLS or AUTH. Dropped after a failure, so the next attempt
    /// connects (and authenticates) afresh.
    smtp: tokio::sync::Mutex<Option<AsyncSmtpConnection>>,
}

/// Why an SMTP attempt did not get a 250.
enum Failure {
    /// Before talking to the server: an unreadable secret or CA file, a token endpoint.
    Setup(String),
    /// The server or the network.
    Smtp(SmtpError),
}

impl From<SmtpError> for Failure {
    fn from(e: SmtpError) -> Failure {
        Failure::Smtp(e)
    }
}

/// The message body for lettre's DATA writer, which asks for the next piece before it
/// writes the final "." and then waits for the answer: the moment to record that the
/// message is complete at the server once that byte is out.
struct ThenMark<'a, F: FnMut()> {
    body: Option<&'a [u8]>,
    mark: Option<F>,
}

impl<'a, F: FnMut()> Iterator for ThenMark<'a, F> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if let Some(body) = self.body.take() {
            return Some(body);
        }
        if let Some(mut mark) = self.mark.take() {
            mark();
        }
        None
    }
}

impl Transport {
    /// A transport for `config`.
    pub fn new(config: &OutboxConfig) -> Transport {
        Transport {
            config: config.clone(),
            tokens: config.oauth2.clone().map(TokenSource::new),
            smtp: tokio::sync::Mutex::new(None),
        }
    }

    /// Delivers one message. `last_byte` is called once, just before the byte that
    /// completes the message at the server is written (SMTP only).
    pub async fn send(&self, mail: &QueuedMail, last_byte: impl FnMut()) -> Attempt {
        match self.config.transport {
            // Writing the same file again changes nothing: no mark needed.
            TransportKind::File => match write_file(&self.config.dir, mail) {
                Ok(()) => Attempt::Sent,
                Err(e) => Attempt::Transient(e),
            },
            TransportKind::Smtp => self.send_smtp(mail, last_byte).await,
        }
    }

    async fn send_smtp(&self, mail: &QueuedMail, last_byte: impl FnMut()) -> Attempt {
        let envelope = match envelope(&self.config, &mail.recipients) {
            Ok(e) => e,
            Err(e) => return Attempt::Permanent(e),
        };
        let mut cached = self.smtp.lock().await;
        let reused = cached.take();
        // lettre's timeout bounds connecting and each write; a server that goes silent
        // mid-conversation must not stall the outbox, so the whole attempt is bounded too.
        let limit = Duration::from_secs(self.config.timeout_secs.max(1) * 3);
        let attempt = async {
            let alive = match reused {
                Some(mut c) if !c.has_broken() => c.test_connected().await.then_some(c),
                _ => None,
            };
            let mut conn = match alive {
                Some(c) => c,
                None => self.connect().await?,
            };
            transact(&mut conn, &envelope, &mail.raw, last_byte).await?;
            Ok::<_, Failure>(conn)
        };
        let Ok(result) = tokio::time::timeout(limit, attempt).await else {
            return Attempt::Transient(format!("no answer from the SMTP server within {limit:?}"));
        };
        match result {
            Ok(conn) => {
                *cached = Some(conn);
                Attempt::Sent
            }
            // A secret that cannot be read now may be readable later (a mount, a rotation).
            Err(Failure::Setup(e)) => Attempt::Transient(e),
            Err(Failure::Smtp(e)) if e.is_permanent() => {
                // A refused token is renewed, not given up on.
                if let (Some(tokens), Some(535)) = (&self.tokens, code_of(&e)) {
                    tokens.invalidate();
                    return Attempt::Transient(format!("SMTP refused the token: {e}"));
                }
                Attempt::Permanent(e.to_string())
            }
            Err(Failure::Smtp(e)) => Attempt::Transient(e.to_string()),
        }
    }

    /// A new SMTP session: connected, TLS as configured, authenticated.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let c = &self.config;
        let host = c.host.clone().unwrap_or_default();
        let tls = |host: &str| -> Result<TlsParameters, Failure> {
            let mut b = TlsParameters::builder(host.to_string());
            if let Some(path) = &c.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| Failure::Setup(format!("ca-file {}: {e}", path.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| Failure::Setup(format!("ca-file {}: {e}", path.display())))?;
                b = b
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert);
            }
            Ok(b.build_rustls()?)
        };
        let (implicit, starttls, port) = match c.tls {
            TlsMode::Implicit => (true, None, c.port.unwrap_or(465)),
            TlsMode::Starttls => (false, Some(tls(&host)?), c.port.unwrap_or(587)),
            TlsMode::Plain => {
                let loopback = host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if !loopback && c.user.is_some() {
                    if !c.allow_plaintext_auth {
                        return Err(Failure::Setup(format!(
                            "outbox tls = \"plain\" to {host}, which is not loopback, would send the password in clear; use TLS, or set allow-plaintext-auth = true"
                        )));
                    }
                    tracing::warn!(host = %host, "SMTP without TLS to a non-loopback host: the password crosses the network in clear (allow-plaintext-auth)");
                }
                (false, None, c.port.unwrap_or(25))
            }
        };
        let hello = ClientId::default();
        // Our own socket, so that TCP_NODELAY is set: lettre writes the message and the
        // final ".\r\n" separately, and with Nagle the second waited for the server's
        // delayed ACK of the first (40 ms on every draft).
        let timeout = Duration::from_secs(c.timeout_secs.max(1));
        let tcp = tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| Failure::Setup(format!("cannot connect to {host}:{port}: timed out")))?
        .map_err(|e| Failure::Setup(format!("cannot connect to {host}:{port}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn AsyncTokioStream> = if implicit {
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|e| Failure::Setup(format!("SMTP host {host}: {e}")))?;
            let connector = crate::tls::client_config(c.ca_file.as_deref())
                .map(tokio_rustls::TlsConnector::from)
                .map_err(Failure::Setup)?;
            let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| Failure::Setup(format!("TLS with {host}:{port}: timed out")))?
                .map_err(|e| Failure::Setup(format!("TLS with {host}:{port}: {e}")))?;
            Box::new(TlsTcp(tls))
        } else {
            Box::new(tcp)
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &hello).await?;
        if let Some(params) = starttls {
            conn.starttls(params, &hello).await?;
        }
        if let Some(user) = &c.user {
            let (secret, mechanisms) = match &self.tokens {
                Some(tokens) => (
                    tokens.token().await.map_err(Failure::Setup)?,
                    &[Mechanism::Xoauth2][..],
                ),
                None => (
                    c.password_source()
                        .read_async("password")
                        .await
                        .map_err(Failure::Setup)?,
                    &[Mechanism::Plain, Mechanism::Login][..],
                ),
            };
            conn.auth(mechanisms, &Credentials::new(user.clone(), secret))
                .await?;
        }
        Ok(conn)
    }
}

/// An implicit-TLS connection made here (with TCP_NODELAY) and handed to lettre.
struct TlsTcp(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl std::fmt::Debug for TlsTcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsTcp")
    }
}

impl tokio::io::AsyncRead for TlsTcp {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// One mail transaction: MAIL, RCPT for each recipient, DATA, the message.
async fn transact(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    raw: &[u8],
    last_byte: impl FnMut(),
) -> Result<(), SmtpError> {
    let mut options = Vec::new();
    // Drafts quote customers' 8-bit text; a server without 8BITMIME refuses at MAIL.
    if !raw.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![])).await?;
    }
    conn.command(Data).await?;
    conn.message_iter(ThenMark {
        body: Some(raw),
        mark: Some(last_byte),
    })
    .await?;
    Ok(())
}

/// The SMTP reply code of an error, e.g. 550.
fn code_of(e: &lettre::transport::smtp::Error) -> Option<u16> {
    e.status().map(|c| {
        let text = c.to_string();
        text.parse().unwrap_or(0)
    })
}

fn envelope(config: &OutboxConfig, recipients: &[String]) -> Result<Envelope, String> {
    let to: Vec<Address> = recipients
        .iter()
        .map(|r| r.parse().map_err(|e| format!("recipient {r:?}: {e}")))
        .collect::<Result<_, String>>()?;
    Envelope::new(Some(config.from_address()?), to).map_err(|e| e.to_string())
}

/// Writes `<dir>/<message-id>.eml` atomically; writing it again changes nothing.
fn write_file(dir: &Path, mail: &QueuedMail) -> Result<(), String> {
    crate::private::create_dir(dir).map_err(|e| format!("outbox dir {}: {e}", dir.display()))?;
    let name: String = mail
        .message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let tmp = dir.join(format!(".{name}.tmp"));
    crate::private::write(&tmp, &mail.raw).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let path = dir.join(format!("{name}.eml"));
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Times in the outbox are compared as text: always this one form ("...T09:00:00Z").
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// What a pass over the due messages did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    /// Accepted.
    pub sent: usize,
    /// Failed for now, to be retried.
    pub deferred: usize,
    /// Given up: permanent failures and expired retries.
    pub failed: usize,
}

/// Sends every due message once; records each outcome.
pub async fn send_due(
    store: &mut Store,
    transport: &Transport,
    now: DateTime<Utc>,
) -> Result<SendReport, OutboxError> {
    let mut report = SendReport::default();
    // No send is in flight between passes: a message marked complete but without an
    // outcome was cut off by a crash after its last byte, and the server has it.
    for message_id in store.settle_interrupted_mail()? {
        tracing::warn!(message_id = %message_id, "the previous run stopped after this message's last byte, before the server's answer: taken as delivered, not sent again");
    }
    let due = store.due_mail(&stamp(now), 100)?;
    for mail in due {
        // Recorded before the attempt: a crash now leaves a trace of a possible send.
        store.mail_attempt(mail.id)?;
        let (marked, id, message_id): (&mut Store, _, _) = (store, mail.id, &mail.message_id);
        let last_byte = move || {
            if let Err(e) = marked.mail_last_byte(id, &stamp(Utc::now())) {
                // Without the mark a crash now would send it again: a repeat, not a loss.
                tracing::error!(message_id = %message_id, error = %e, "cannot record the end of a message");
            }
        };
        let outcome = transport.send(&mail, last_byte).await;
        let cfg = &transport.config;
        match outcome {
            Attempt::Sent => {
                store.mail_sent(mail.id, &stamp(Utc::now()))?;
                tracing::info!(message_id = %mail.message_id, "mail sent");
                report.sent += 1;
            }
            Attempt::Permanent(why) => {
                tracing::error!(message_id = %mail.message_id, error = %why, "mail refused permanently; not retried");
                store.mail_failed(mail.id, &why)?;
                report.failed += 1;
            }
            Attempt::Transient(why) => {
                let queued = DateTime::parse_from_rfc3339(&mail.created_at)
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or(now);
                let give_up = queued + chrono::Duration::hours(cfg.retry_for_hours as i64);
                let shift = u32::try_from(mail.attempts.clamp(0, 16)).unwrap_or(16);
                let delay = cfg
                    .retry_min_secs
                    .max(1)
                    .saturating_mul(1u64 << shift)
                    .min(3600);
                let next = now + chrono::Duration::seconds(delay as i64);
                if next > give_up {
                    let why = format!("gave up after {} attempts: {why}", mail.attempts + 1);
                    tracing::error!(message_id = %mail.message_id, error = %why, "mail not delivered");
                    store.mail_failed(mail.id, &why)?;
                    report.failed += 1;
                } else {
                    tracing::warn!(message_id = %mail.message_id, error = %why, retry_in_secs = delay, "mail deferred");
                    store.mail_retry(mail.id, &why, &stamp(next))?;
                    report.deferred += 1;
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_password_in_clear_to_a_host_that_is_not_loopback() {
        // 192.0.2.1 is TEST-NET-1: the refusal comes before any connection is made.
        let config = OutboxConfig {
            transport: TransportKind::Smtp,
            host: Some("192.0.2.1".into()),
            port: Some(2525),
            tls: TlsMode::Plain,
            user: Some("slaclaim".into()),
            password_env: Some("SLACLAIM_TEST_UNSET_PASSWORD".into()),
            ..OutboxConfig::default()
        };
        let mail = QueuedMail {
            id: 1,
            message_id: "slaclaim.1@partner.example".into(),
            recipients: vec!["helpdesk@partner.example".into()],
            raw: b"Subject: x\r\n\r\nx\r\n".to_vec(),
            attempts: 0,
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let started = std::time::Instant::now();
        let attempt = Transport::new(&config).send(&mail, || {}).await;
        assert!(
            matches!(&attempt, Attempt::Transient(why) if why.contains("allow-plaintext-auth")),
            "{attempt:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
