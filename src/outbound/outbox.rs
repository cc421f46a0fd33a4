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

use crate::net::credentials::{OAuth2Config, SecretSource, TokenSource};
use crate::net::tls::TlsMode;
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
    /// Trust exactly this server certificate, by its SHA-256 fingerprint (hex, colons
    /// allowed): for a self-signed certificate no CA vouches for.
    pub tls_pin_sha256: Option<String>,
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
    /// Seconds each SMTP step may take (connecting, each command's answer).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Seconds to wait for the answer to the final "." of a message (RFC 5321
    /// §4.5.3.2.6: 10 minutes; a content filter can be slow). When it does not come, the
    /// mail counts as sent but unconfirmed, and is not sent again by itself.
    #[serde(default = "default_final_reply")]
    pub final_reply_secs: u64,
    /// The name we greet the SMTP server with (EHLO). Default: the host's name when it is
    /// fully qualified, else the domain of `from`.
    pub helo_name: Option<String>,
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
            tls_pin_sha256: None,
            user: None,
            allow_plaintext_auth: false,
            password_file: None,
            password_env: None,
            password_command: None,
            oauth2: None,
            timeout_secs: default_timeout(),
            final_reply_secs: default_final_reply(),
            helo_name: None,
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
fn default_final_reply() -> u64 {
    600
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
        if let Some(pin) = &self.tls_pin_sha256 {
            crate::net::tls::parse_pin(pin).map_err(|e| format!("outbox: {e}"))?;
        }
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
    /// The server answered for each recipient tried (the file transport: accepted).
    Delivered(Delivery),
    /// Nothing changed for anyone (no connection, a 4xx before or after the message):
    /// try every owed recipient again later.
    Transient(String),
    /// The message itself can never go (an address that does not parse, a 5xx to the
    /// message): never try again.
    Permanent(String),
    /// Our own settings are wrong (the greeting name, a certificate, the sender): the
    /// message stays queued, health fails, and sending goes on once it is fixed.
    Misconfigured(String),
}

/// Each tried recipient's outcome in one attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The server took the message for these (250 after the final ".").
    pub accepted: Vec<String>,
    /// Refused for good (5xx at RCPT, or to the message), with the server's words.
    pub refused: Vec<(String, String)>,
    /// Refused for now (4xx at RCPT), with the server's words: tried again alone.
    pub deferred: Vec<(String, String)>,
    /// The last byte went out for these and no answer came within the final-reply
    /// wait (or the connection dropped): the server may have it. Never resent by itself.
    pub unconfirmed: Vec<String>,
}

/// A configured transport.
pub struct Transport {
    config: OutboxConfig,
    tokens: Option<TokenSource>,
    /// One SMTP session kept between messages (checked with NOOP before reuse), so a send
    /// costs no connect, TLS or AUTH. Ended with QUIT after a failure, after
    /// [`SESSION_IDLE`] unused, and on shutdown.
    smtp: tokio::sync::Mutex<Option<Session>>,
    /// The last attempt could not reach the server: the next connection that succeeds
    /// makes all deferred mail due at once.
    unreachable: std::sync::atomic::AtomicBool,
    /// Said once: the server offers STARTTLS and we are set to plain.
    plain_warned: std::sync::atomic::AtomicBool,
    /// The token was dropped after a refusal and not yet used for a successful send.
    token_renewed: std::sync::atomic::AtomicBool,
}

/// An SMTP session and when it was last used.
struct Session {
    conn: AsyncSmtpConnection,
    used: std::time::Instant,
}

/// How long a session may sit unused before we end it with QUIT (servers drop idle
/// clients after 5 minutes: Postfix's smtpd_timeout, RFC 5321 §4.5.3.2.7).
pub const SESSION_IDLE: Duration = Duration::from_secs(60);
/// How long QUIT may take before the connection is simply dropped.
const QUIT_TIME: Duration = Duration::from_secs(5);

/// Why an SMTP attempt did not get its answers.
enum Failure {
    /// Before talking to the server: an unreadable secret or a token endpoint.
    Setup(String),
    /// Our settings, as the server or TLS judged them.
    Config(String),
    /// The server could not be reached, or went away.
    Unreachable(String),
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

/// The greeting name when `helo-name` is not set: the host's name when it is fully
/// qualified, else the domain of `from`. Never a bare host name, which servers with
/// `reject_non_fqdn_helo_hostname` refuse.
fn default_helo_name(host: Option<&str>, from: &str) -> String {
    match host {
        Some(h) if h.contains('.') && !h.ends_with('.') => h.to_string(),
        _ => from
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d)
            .to_string(),
    }
}

/// Whether a refusal is about our greeting (Postfix rejects a bad HELO at RCPT by
/// default: "504 5.5.2 <vm>: Helo command rejected").
fn refuses_greeting(reply: &str) -> bool {
    let lower = reply.to_ascii_lowercase();
    lower.contains("helo command rejected")
        || lower.contains("ehlo command rejected")
        || lower.contains("helo/ehlo")
}

impl Transport {
    /// A transport for `config`.
    pub fn new(config: &OutboxConfig) -> Transport {
        Transport {
            config: config.clone(),
            tokens: config.oauth2.clone().map(TokenSource::new),
            smtp: tokio::sync::Mutex::new(None),
            unreachable: std::sync::atomic::AtomicBool::new(false),
            plain_warned: std::sync::atomic::AtomicBool::new(false),
            token_renewed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The name we greet SMTP servers with.
    pub fn helo_name(&self) -> String {
        self.config.helo_name.clone().unwrap_or_else(|| {
            let host = match ClientId::default() {
                ClientId::Domain(h) => Some(h),
                _ => None,
            };
            default_helo_name(host.as_deref(), &self.config.from)
        })
    }

    /// Delivers one message to `mail.recipients` (those still owed it). `last_byte` is
    /// called once with the recipients the server accepted, just before the byte that
    /// completes the message at the server is written (SMTP only).
    pub async fn send(&self, mail: &QueuedMail, last_byte: impl FnMut(&[String])) -> Attempt {
        match self.config.transport {
            // Writing the same file again changes nothing: no mark needed.
            TransportKind::File => match write_file(&self.config.dir, mail) {
                Ok(()) => Attempt::Delivered(Delivery {
                    accepted: mail.recipients.clone(),
                    ..Delivery::default()
                }),
                Err(e) => Attempt::Transient(e),
            },
            TransportKind::Smtp => self.send_smtp(mail, last_byte).await,
        }
    }

    /// Whether the last attempt found the server unreachable (and clears it): the
    /// caller makes deferred mail due when a send then succeeds.
    fn back_after_outage(&self) -> bool {
        self.unreachable
            .swap(false, std::sync::atomic::Ordering::Relaxed)
    }

    async fn send_smtp(&self, mail: &QueuedMail, last_byte: impl FnMut(&[String])) -> Attempt {
        let from = match self.config.from_address() {
            Ok(a) => a,
            Err(e) => return Attempt::Misconfigured(e),
        };
        let mut delivery = Delivery::default();
        let mut to = Vec::new();
        for r in &mail.recipients {
            match r.parse::<Address>() {
                Ok(a) => to.push((r.clone(), a)),
                Err(e) => delivery
                    .refused
                    .push((r.clone(), format!("not an address: {e}"))),
            }
        }
        if to.is_empty() {
            return if delivery.refused.is_empty() {
                Attempt::Permanent("no recipients".into())
            } else {
                Attempt::Delivered(delivery)
            };
        }
        let mut cached = self.smtp.lock().await;
        let mut conn = match self.session(cached.take()).await {
            Ok(c) => c,
            Err(f) => return self.failed(f),
        };
        let step = Duration::from_secs(self.config.timeout_secs.max(1));
        let final_wait = Duration::from_secs(self.config.final_reply_secs.max(1));
        let outcome = transact(
            &mut conn,
            Envelope::new(Some(from), to.iter().map(|(_, a)| a.clone()).collect()),
            &to,
            &mail.raw,
            (step, final_wait),
            last_byte,
        )
        .await;
        match outcome {
            Ok(mut tried) => {
                self.token_renewed
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                tried.refused.append(&mut delivery.refused);
                // Only a transaction that ended in a 250 leaves the session clean to reuse.
                if !tried.accepted.is_empty() {
                    *cached = Some(Session {
                        conn,
                        used: std::time::Instant::now(),
                    });
                } else {
                    quit(conn).await;
                }
                Attempt::Delivered(tried)
            }
            Err(f) => {
                quit(conn).await;
                self.failed(f)
            }
        }
    }

    /// A session to send on: the cached one when it is fresh and answers NOOP, else a
    /// new one (the stale one ended with QUIT).
    async fn session(&self, cached: Option<Session>) -> Result<AsyncSmtpConnection, Failure> {
        if let Some(mut s) = cached {
            let fresh = s.used.elapsed() < SESSION_IDLE && !s.conn.has_broken();
            if fresh
                && tokio::time::timeout(QUIT_TIME, s.conn.test_connected())
                    .await
                    .unwrap_or(false)
            {
                return Ok(s.conn);
            }
            quit(s.conn).await;
        }
        let limit = Duration::from_secs(self.config.timeout_secs.max(1) * 3);
        match tokio::time::timeout(limit, self.connect()).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Unreachable(format!(
                "no greeting, TLS or login from the SMTP server within {limit:?}"
            ))),
        }
    }

    /// Ends the kept session with QUIT if it has been unused for `idle`; `Duration::ZERO`
    /// ends it whatever its age (shutdown).
    pub async fn quit_idle(&self, idle: Duration) {
        let mut cached = self.smtp.lock().await;
        if cached.as_ref().is_some_and(|s| s.used.elapsed() >= idle) {
            if let Some(s) = cached.take() {
                quit(s.conn).await;
            }
        }
    }

    /// The server refused our login. A token is dropped and renewed once, so an expired
    /// or revoked one costs one retry; a fresh token refused too, or a password, is a
    /// setting to fix (health fails until a send goes through).
    fn login_refused(&self, text: &str) -> Attempt {
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        match &self.tokens {
            Some(tokens) if !self.token_renewed.swap(true, relaxed) => {
                tokens.invalidate();
                Attempt::Transient(format!("SMTP refused the token: {text}"))
            }
            Some(_) => Attempt::Misconfigured(format!(
                "the SMTP server refuses a freshly fetched token too: {text}"
            )),
            None => Attempt::Misconfigured(format!(
                "the SMTP server refuses our login (user, password): {text}"
            )),
        }
    }

    /// What a failure before or during the transaction means for the message.
    fn failed(&self, f: Failure) -> Attempt {
        match f {
            // A secret that cannot be read now may be readable later (a mount, a rotation).
            Failure::Setup(e) => Attempt::Transient(e),
            Failure::Config(e) => Attempt::Misconfigured(e),
            Failure::Unreachable(e) => {
                self.unreachable
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Attempt::Transient(e)
            }
            Failure::Smtp(e) if e.is_permanent() => {
                let text = e.to_string();
                if code_of(&e).is_some_and(|c| (530..=538).contains(&c)) {
                    return self.login_refused(&text);
                }
                if refuses_greeting(&text) {
                    return Attempt::Misconfigured(format!(
                        "the SMTP server refuses our greeting name {:?} (set [outbox] helo-name): {text}",
                        self.helo_name()
                    ));
                }
                Attempt::Permanent(text)
            }
            // A token refused the RFC 7628 way (334 with a JSON error, as Microsoft and
            // Google do) reaches lettre as a challenge XOAUTH2 does not expect: the
            // cached token is dead just the same, and is renewed before the next try.
            Failure::Smtp(e)
                if self.tokens.is_some()
                    && e.is_client()
                    && e.to_string().contains("challenge") =>
            {
                self.login_refused(&format!("with an error challenge: {e}"))
            }
            Failure::Smtp(e) if e.is_tls() => {
                Attempt::Misconfigured(format!("TLS with the SMTP server failed: {e}"))
            }
            Failure::Smtp(e) => Attempt::Transient(e.to_string()),
        }
    }

    /// A new SMTP session: connected, TLS as configured, authenticated.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let c = &self.config;
        let host = c.host.clone().unwrap_or_default();
        let pin = c
            .tls_pin_sha256
            .as_deref()
            .map(crate::net::tls::parse_pin)
            .transpose()
            .map_err(Failure::Config)?;
        let tls = |host: &str| -> Result<TlsParameters, Failure> {
            let mut b = TlsParameters::builder(host.to_string());
            if pin.is_some() {
                // The certificate is checked against the pin right after the handshake
                // (lettre takes no verifier of ours), before anything else is said.
                b = b
                    .dangerous_accept_invalid_certs(true)
                    .dangerous_accept_invalid_hostnames(true);
            } else if let Some(path) = &c.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| Failure::Config(format!("ca-file {}: {e}", path.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| Failure::Config(format!("ca-file {}: {e}", path.display())))?;
                b = b
                    .certificate_store(CertificateStore::None)
                    .add_root_certificate(cert);
            }
            b.build_rustls()
                .map_err(|e| Failure::Config(format!("TLS settings: {e}")))
        };
        let (implicit, starttls, port) = match c.tls {
            TlsMode::Implicit => (true, None, c.port.unwrap_or(465)),
            TlsMode::Starttls => (false, Some(tls(&host)?), c.port.unwrap_or(587)),
            TlsMode::Plain => {
                if !crate::net::is_loopback_name(&host) && c.user.is_some() {
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
        let hello = ClientId::Domain(self.helo_name());
        // Our own socket, so that TCP_NODELAY is set: lettre writes the message and the
        // final ".\r\n" separately, and with Nagle the second waited for the server's
        // delayed ACK of the first (40 ms on every draft).
        let timeout = Duration::from_secs(c.timeout_secs.max(1));
        let tcp = tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| Failure::Unreachable(format!("cannot connect to {host}:{port}: timed out")))?
        .map_err(|e| Failure::Unreachable(format!("cannot connect to {host}:{port}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn AsyncTokioStream> = if implicit {
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|e| Failure::Config(format!("SMTP host {host}: {e}")))?;
            let config = match pin {
                Some(pin) => crate::net::tls::pinned_client_config(pin),
                None => crate::net::tls::client_config(c.ca_file.as_deref()),
            };
            let connector = config
                .map(tokio_rustls::TlsConnector::from)
                .map_err(Failure::Config)?;
            let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
                .await
                .map_err(|_| Failure::Unreachable(format!("TLS with {host}:{port}: timed out")))?
                .map_err(|e| tls_failure(&host, port, e))?;
            Box::new(TlsTcp(tls))
        } else {
            Box::new(tcp)
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &hello)
            .await
            .map_err(|e| greeting_failure(e, &hello))?;
        if let Some(params) = starttls {
            conn.starttls(params, &hello)
                .await
                .map_err(|e| greeting_failure(e, &hello))?;
            if let Some(pin) = pin {
                let seen = conn
                    .peer_certificate()
                    .map(|der| crate::net::tls::fingerprint(&der))
                    .map_err(|e| Failure::Config(format!("TLS with {host}:{port}: {e}")))?;
                if seen != pin {
                    quit(conn).await;
                    return Err(Failure::Config(format!(
                        "TLS with {host}:{port}: server certificate SHA-256 {} is not the pinned {}",
                        crate::net::tls::show_fingerprint(&seen),
                        crate::net::tls::show_fingerprint(&pin)
                    )));
                }
            }
        } else if c.tls == TlsMode::Plain
            && conn.server_info().supports_feature(Extension::StartTls)
            && !self
                .plain_warned
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(host = %host, "the SMTP server offers STARTTLS but [outbox] tls = \"plain\": mail goes in clear; set tls = \"starttls\"");
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

/// A TLS handshake that failed: a certificate the server shows and we do not trust is a
/// setting to fix, not a reason to retry for days.
fn tls_failure(host: &str, port: u16, e: std::io::Error) -> Failure {
    let text = format!("TLS with {host}:{port}: {e}");
    if rustls_refused(&e) {
        Failure::Config(text)
    } else {
        Failure::Unreachable(text)
    }
}

/// Whether a TLS error (anywhere in `e`'s chain of causes) came from rustls judging the
/// handshake: a certificate we do not trust, a protocol we will not speak. Network
/// trouble during the handshake comes as plain I/O errors instead.
fn rustls_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        let io_inner = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| inner.is::<tokio_rustls::rustls::Error>());
        if io_inner || c.is::<tokio_rustls::rustls::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A failure while greeting (EHLO, STARTTLS): a 5xx to EHLO or a certificate we do not
/// trust is our configuration; the rest is the network.
fn greeting_failure(e: SmtpError, hello: &ClientId) -> Failure {
    if e.is_permanent() {
        Failure::Config(format!(
            "the SMTP server refuses our greeting {hello} (set [outbox] helo-name): {e}"
        ))
    } else if e.is_tls() || rustls_refused(&e) {
        Failure::Config(format!("TLS with the SMTP server failed: {e}"))
    } else if e.is_transient() {
        Failure::Smtp(e)
    } else {
        Failure::Unreachable(format!("SMTP greeting failed: {e}"))
    }
}

/// Ends a session politely (RFC 5321 §4.1.1.10), within [`QUIT_TIME`].
async fn quit(mut conn: AsyncSmtpConnection) {
    if !conn.has_broken() {
        let _ = tokio::time::timeout(QUIT_TIME, conn.quit()).await;
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

/// One mail transaction: MAIL, RCPT for each recipient (each answered on its own),
/// DATA, the message. Each command waits `step` for its answer; the answer to the final
/// "." is waited for `final_wait` (RFC 5321 §4.5.3.2.6 asks 10 minutes), and when it does
/// not come the accepted recipients are unconfirmed, never retried by themselves.
async fn transact(
    conn: &mut AsyncSmtpConnection,
    envelope: Result<Envelope, lettre::error::Error>,
    to: &[(String, Address)],
    raw: &[u8],
    (step, final_wait): (Duration, Duration),
    mut last_byte: impl FnMut(&[String]),
) -> Result<Delivery, Failure> {
    let envelope = envelope.map_err(|e| Failure::Config(format!("envelope: {e}")))?;
    let within = |what: &'static str| {
        move |r: Result<Result<lettre::transport::smtp::response::Response, SmtpError>, _>| match r
        {
            Ok(r) => r.map_err(Failure::Smtp),
            Err(_) => Err(Failure::Unreachable(format!(
                "no answer to {what} within {step:?}"
            ))),
        }
    };
    let mut options = Vec::new();
    // Drafts quote customers' 8-bit text; a server without 8BITMIME refuses at MAIL.
    if !raw.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mail = tokio::time::timeout(
        step,
        conn.command(Mail::new(envelope.from().cloned(), options)),
    )
    .await;
    match within("MAIL FROM")(mail) {
        Ok(_) => {}
        // The server will not take mail from our address: a setting to fix.
        Err(Failure::Smtp(e)) if e.is_permanent() && !refuses_greeting(&e.to_string()) => {
            return Err(Failure::Config(format!(
                "the SMTP server refuses our sender address: {e}"
            )));
        }
        Err(f) => return Err(f),
    }
    let mut delivery = Delivery::default();
    let mut accepted = Vec::new();
    for (name, address) in to {
        let rcpt =
            tokio::time::timeout(step, conn.command(Rcpt::new(address.clone(), vec![]))).await;
        match within("RCPT TO")(rcpt) {
            Ok(_) => accepted.push(name.clone()),
            Err(Failure::Smtp(e)) if e.is_permanent() => {
                if refuses_greeting(&e.to_string()) {
                    return Err(Failure::Smtp(e));
                }
                delivery.refused.push((name.clone(), e.to_string()));
            }
            Err(Failure::Smtp(e)) if e.is_transient() => {
                delivery.deferred.push((name.clone(), e.to_string()));
            }
            Err(f) => return Err(f),
        }
    }
    if accepted.is_empty() {
        // Nobody to send to: the transaction is abandoned (the caller ends the session).
        return Ok(delivery);
    }
    within("DATA")(tokio::time::timeout(step, conn.command(Data)).await)?;
    let marked = std::sync::OnceLock::new();
    let answer = {
        let sending = conn.message_iter(ThenMark {
            body: Some(raw),
            mark: Some(|| {
                last_byte(&accepted);
                let _ = marked.set(std::time::Instant::now());
            }),
        });
        tokio::pin!(sending);
        let started = std::time::Instant::now();
        loop {
            tokio::select! {
                answer = &mut sending => break Some(answer),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    let waited_out = match marked.get() {
                        Some(at) => at.elapsed() >= final_wait,
                        // Writing the message: a step for each MB, at least one.
                        None => started.elapsed() >= step * (1 + (raw.len() >> 20) as u32),
                    };
                    if waited_out {
                        break None;
                    }
                }
            }
        }
    };
    let last_byte_out = marked.get().is_some();
    match answer {
        Some(Ok(_)) => {
            delivery.accepted = accepted;
            Ok(delivery)
        }
        Some(Err(e)) if e.is_permanent() => {
            let why = e.to_string();
            delivery
                .refused
                .extend(accepted.into_iter().map(|r| (r, why.clone())));
            Ok(delivery)
        }
        // After the last byte, no answer or a broken connection: the server may have it.
        Some(Err(e)) if last_byte_out && !e.is_transient() => {
            tracing::warn!(error = %e, "the SMTP server did not answer the end of the message; the mail counts as sent, unconfirmed");
            delivery.unconfirmed = accepted;
            Ok(delivery)
        }
        None if last_byte_out => {
            tracing::warn!(wait = ?final_wait, "no answer to the end of the message; the mail counts as sent, unconfirmed, and is not sent again by itself");
            delivery.unconfirmed = accepted;
            Ok(delivery)
        }
        Some(Err(e)) => Err(Failure::Smtp(e)),
        None => Err(Failure::Unreachable(format!(
            "writing the message took longer than {step:?} a megabyte"
        ))),
    }
}

/// The SMTP reply code of an error, e.g. 550.
fn code_of(e: &lettre::transport::smtp::Error) -> Option<u16> {
    e.status().map(|c| {
        let text = c.to_string();
        text.parse().unwrap_or(0)
    })
}

/// Writes `<dir>/<message-id>.eml` atomically; writing it again changes nothing.
fn write_file(dir: &Path, mail: &QueuedMail) -> Result<(), String> {
    crate::store::private::create_dir(dir)
        .map_err(|e| format!("outbox dir {}: {e}", dir.display()))?;
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
    crate::store::private::write(&tmp, &mail.raw).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let path = dir.join(format!("{name}.eml"));
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Times in the outbox are compared as text: always this one form, to the millisecond
/// ("...T09:00:00.250Z"), so a retry is never due early by a truncated second.
pub fn stamp(t: DateTime<Utc>) -> String {
    crate::stamp_ms(t)
}

/// What a pass over the due messages did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    /// Messages that reached every recipient they were owed to, or all they could.
    pub sent: usize,
    /// Failed for now, to be retried (for some or all recipients).
    pub deferred: usize,
    /// Given up: permanent failures and expired retries.
    pub failed: usize,
    /// Recipients refused for good in this pass.
    pub refused: usize,
    /// Our settings are wrong (the greeting name, a certificate, the sender): the
    /// reason, while it lasts. Mail stays queued.
    pub misconfigured: Option<String>,
}

/// The next attempt after `attempts` failed ones: the retry delay doubling from
/// `retry-min-secs`, at most an hour. Returns the time and the delay in seconds.
fn retry_at(cfg: &OutboxConfig, now: DateTime<Utc>, attempts: i64) -> (DateTime<Utc>, u64) {
    let shift = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    let delay = cfg
        .retry_min_secs
        .max(1)
        .saturating_mul(1u64 << shift)
        .min(3600);
    (now + chrono::Duration::seconds(delay as i64), delay)
}

/// Sends every due message once; records each outcome, per recipient.
pub async fn send_due(
    store: &mut Store,
    transport: &Transport,
    now: DateTime<Utc>,
) -> Result<SendReport, OutboxError> {
    let mut report = SendReport::default();
    // No send is in flight between passes: a message marked complete but without an
    // outcome was cut off by a crash after its last byte, and the server may have it.
    let me = crate::store::instance_id();
    for message_id in store.settle_interrupted_mail(me, &stamp(now))? {
        tracing::warn!(message_id = %message_id, "the previous run stopped after this message's last byte, before the server's answer: unconfirmed, not sent again (slaclaim outbox resend sends it on purpose)");
    }
    let cfg = &transport.config;
    for mail in store.due_mail(&stamp(now), 100)? {
        if mail.recipients.is_empty() {
            store.mail_settled(mail.id, None, &stamp(now), &stamp(Utc::now()))?;
            continue;
        }
        // Taken and recorded before the attempt: another instance leaves it be, and a
        // crash now leaves a trace of a possible send.
        let Some(owed) = store.take_mail(mail.id, me, &stamp(now))? else {
            continue;
        };
        // Another instance may have reached some recipients since the list was read.
        let mut mail = mail;
        mail.recipients = owed;
        if mail.recipients.is_empty() {
            store.mail_settled(mail.id, None, &stamp(now), &stamp(Utc::now()))?;
            continue;
        }
        let (marked, id, message_id): (&mut Store, _, _) = (store, mail.id, &mail.message_id);
        let last_byte = move |accepted: &[String]| {
            if let Err(e) = marked.mail_last_byte(id, accepted, &stamp(Utc::now())) {
                // Without the mark a crash now would send it again: a repeat, not a loss.
                tracing::error!(message_id = %message_id, error = %e, "cannot record the end of a message");
            }
        };
        let outcome = transport.send(&mail, last_byte).await;
        let queued = DateTime::parse_from_rfc3339(&mail.created_at)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now);
        let give_up = queued + chrono::Duration::hours(cfg.retry_for_hours as i64);
        let (next, delay) = retry_at(cfg, now, mail.attempts);
        match outcome {
            Attempt::Delivered(d) => {
                if transport.back_after_outage() {
                    let n = store.mail_due_now(&stamp(now))?;
                    tracing::info!(
                        deferred = n,
                        "the SMTP server answers again; deferred mail is due now"
                    );
                }
                record_delivery(store, &mail, &d, (next, delay), next > give_up, &mut report)?;
            }
            Attempt::Permanent(why) => {
                tracing::error!(message_id = %mail.message_id, error = %why, "mail refused permanently; not retried");
                store.mail_failed(mail.id, &why)?;
                report.failed += 1;
            }
            Attempt::Misconfigured(why) => {
                // Our settings, not the message: it waits, however long, until they are
                // fixed; the delay still doubles, so a broken setup is not hammered.
                tracing::error!(message_id = %mail.message_id, error = %why, retry_in_secs = delay, "mail not sent: fix the [outbox] settings; it stays queued");
                store.mail_retry(mail.id, &why, &stamp(next))?;
                report.deferred += 1;
                report.misconfigured = Some(why);
            }
            Attempt::Transient(why) if next > give_up => {
                let why = format!("gave up after {} attempts: {why}", mail.attempts + 1);
                tracing::error!(message_id = %mail.message_id, error = %why, "mail not delivered");
                store.mail_failed(mail.id, &why)?;
                report.failed += 1;
            }
            Attempt::Transient(why) => {
                tracing::warn!(message_id = %mail.message_id, error = %why, retry_in_secs = delay, "mail deferred");
                store.mail_retry(mail.id, &why, &stamp(next))?;
                report.deferred += 1;
            }
        }
    }
    Ok(report)
}

/// Records one attempt's per-recipient outcomes in one transaction: accepted and
/// refused recipients are done with; deferred ones wait for `next`, or are given up as
/// refused once the retry window is `over`.
fn record_delivery(
    store: &mut Store,
    mail: &QueuedMail,
    d: &Delivery,
    (next, delay): (DateTime<Utc>, u64),
    over: bool,
    report: &mut SendReport,
) -> Result<(), StoreError> {
    let done = stamp(Utc::now());
    for (r, why) in &d.refused {
        tracing::error!(message_id = %mail.message_id, recipient = %r, error = %why, "recipient refused the mail permanently; not retried for it");
    }
    for r in &d.unconfirmed {
        tracing::warn!(message_id = %mail.message_id, recipient = %r, "no answer to the end of the message for this recipient: unconfirmed, not sent again by itself");
    }
    let with_reply = |list: &[(String, String)], prefix: &str| -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(r, why)| (r.clone(), Some(format!("{prefix}{why}"))))
            .collect()
    };
    let accepted: Vec<(String, Option<String>)> =
        d.accepted.iter().map(|r| (r.clone(), None)).collect();
    let deferred_why = (!d.deferred.is_empty() && !over).then(|| {
        d.deferred
            .iter()
            .map(|(r, why)| format!("{r}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    });
    // What the row says: who is still waiting and why, or who refused it.
    let refusals = (!d.refused.is_empty()).then(|| {
        d.refused
            .iter()
            .map(|(r, why)| format!("{r} refused: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    });
    let note = deferred_why.clone().or(refusals);
    // The row is this instance's while it holds its lease.
    store.transaction_on_own_rows(|s| {
        s.mail_outcomes(mail.id, "accepted", &accepted, &done)?;
        s.mail_outcomes(mail.id, "refused", &with_reply(&d.refused, ""), &done)?;
        if over {
            let gave_up = with_reply(&d.deferred, "gave up retrying: ");
            s.mail_outcomes(mail.id, "refused", &gave_up, &done)?;
        }
        s.mail_settled(mail.id, note.as_deref(), &stamp(next), &done)
    })?;
    report.refused += d.refused.len() + if over { d.deferred.len() } else { 0 };
    if let Some(why) = deferred_why {
        tracing::warn!(message_id = %mail.message_id, error = %why, retry_in_secs = delay, "mail deferred for some recipients");
        report.deferred += 1;
    } else if d.accepted.is_empty() && d.unconfirmed.is_empty() {
        report.failed += 1;
    } else {
        tracing::info!(message_id = %mail.message_id, recipients = d.accepted.len() + d.unconfirmed.len(), "mail sent");
        report.sent += 1;
    }
    Ok(())
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
        let attempt = Transport::new(&config).send(&mail, |_: &[String]| {}).await;
        assert!(
            matches!(&attempt, Attempt::Transient(why) if why.contains("allow-plaintext-auth")),
            "{attempt:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
