//! IMAP source: fetch new messages by UID with BODY.PEEK[], resume from the stored
//! UIDVALIDITY/UID per folder, and wait for more with IDLE.
//!
//! \Seen is never used (other clients change it): progress is the last processed UID,
//! kept in the store. Ingest is idempotent by source key, so a crash between storing a
//! message and recording the UID re-fetches it once and stores nothing twice.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use chrono::Utc;
use futures_util::TryStreamExt;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::net::credentials::{OAuth2Config, SecretSource, TokenSource};

use crate::ledger::ingest::{IngestError, Ingester, Origin, Outcome, Reading};
use crate::store::Store;

pub use crate::net::tls::TlsMode;

/// One IMAP mailbox to watch.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ImapConfig {
    /// A name for this mailbox in logs and the store.
    pub name: String,
    /// Server host name.
    pub host: String,
    /// Port; 993 for implicit TLS, 143 otherwise.
    pub port: Option<u16>,
    /// Connection protection.
    #[serde(default)]
    pub tls: TlsMode,
    /// PEM file of the CA that signed the server's certificate (private servers).
    pub ca_file: Option<PathBuf>,
    /// Login name.
    pub user: String,
    /// File holding the password (systemd LoadCredential, a secrets mount).
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// A command (program and arguments, no shell) that prints the password, e.g.
    /// `["pass", "show", "mail/support"]`.
    pub password_command: Option<Vec<String>>,
    /// Folders to read.
    #[serde(default = "default_folders")]
    pub folders: Vec<String>,
    /// Messages stored per transaction as a fetch streams in.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Seconds before connecting gives up.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Use IDLE when the server offers it; false polls every `poll-interval-secs`.
    #[serde(default = "default_true")]
    pub idle: bool,
    /// Seconds between polls when IDLE is off or unsupported.
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// Seconds one IDLE lasts before it is re-issued (RFC 2177: below 29 minutes).
    /// A dead (half-open) connection is noticed at the latest then, by the NOOP after it.
    #[serde(default = "default_idle_secs")]
    pub idle_timeout_secs: u64,
    /// First reconnect delay in milliseconds; it doubles, with jitter, up to the maximum.
    #[serde(default = "default_backoff_min")]
    pub reconnect_min_ms: u64,
    /// Longest reconnect delay in milliseconds.
    #[serde(default = "default_backoff_max")]
    pub reconnect_max_ms: u64,
    /// After a message is stored, set this keyword on it (e.g. "$Slaclaim"). Default: none.
    pub processed_flag: Option<String>,
    /// After a message is stored, move it to this folder. Default: leave it where it is.
    pub processed_folder: Option<String>,
    /// Move quarantined messages to this folder. Default: leave them where they are.
    pub quarantine_folder: Option<String>,
    /// Log in with SASL XOAUTH2 instead of a password (Microsoft 365 app-only access).
    pub oauth2: Option<OAuth2Config>,
    /// With `tls = "plain"`, log in to a host that is not loopback (the password or
    /// token crosses the network in clear). Refused unless this is true.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
}

impl fmt::Debug for ImapConfig {
    // Never prints the password sources' contents; only where they come from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("oauth2", &self.oauth2)
            .field("folders", &self.folders)
            .finish_non_exhaustive()
    }
}

fn default_folders() -> Vec<String> {
    vec!["INBOX".into()]
}
fn default_batch() -> usize {
    100
}
fn default_connect_timeout() -> u64 {
    30
}
fn default_true() -> bool {
    true
}
fn default_poll() -> u64 {
    60
}
fn default_idle_secs() -> u64 {
    25 * 60
}
fn default_backoff_min() -> u64 {
    1_000
}
fn default_backoff_max() -> u64 {
    300_000
}

/// Errors of the IMAP source.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The password could not be read.
    #[error("mailbox {mailbox}: cannot read the password: {why}")]
    Secret {
        /// Mailbox name.
        mailbox: String,
        /// What went wrong (never the secret).
        why: String,
    },
    /// TCP or TLS could not be established.
    #[error("mailbox {mailbox}: cannot connect to {addr}: {why}")]
    Connect {
        /// Mailbox name.
        mailbox: String,
        /// host:port.
        addr: String,
        /// What went wrong.
        why: String,
    },
    /// The server refused the login: wrong password, disabled account, expired token.
    #[error("mailbox {mailbox}: login as {user} refused: {why}")]
    Auth {
        /// Mailbox name.
        mailbox: String,
        /// Login name.
        user: String,
        /// The server's answer.
        why: String,
    },
    /// A command failed or the connection dropped.
    #[error("mailbox {mailbox}: IMAP error: {source}")]
    Protocol {
        /// Mailbox name.
        mailbox: String,
        /// The error.
        #[source]
        source: async_imap::error::Error,
    },
    /// The server refused to select a configured folder: it does not exist (or this
    /// login may not read it). A configuration problem, not a connection one.
    #[error("mailbox {mailbox}: folder {folder:?} cannot be selected: {why}")]
    MissingFolder {
        /// Mailbox name.
        mailbox: String,
        /// The folder as configured.
        folder: String,
        /// The server's answer.
        why: String,
    },
    /// Storing failed.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl ImapError {
    /// Authentication failures are loud and retried slowly; everything else is a
    /// connection problem.
    pub fn is_auth(&self) -> bool {
        matches!(self, ImapError::Auth { .. } | ImapError::Secret { .. })
    }
}

/// A plain or TLS connection, so one session type serves every mode.
#[derive(Debug)]
pub enum Conn {
    /// Unencrypted TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A logged-in IMAP session.
pub type Session = async_imap::Session<Conn>;

impl ImapConfig {
    fn port(&self) -> u16 {
        self.port.unwrap_or(if self.tls == TlsMode::Implicit {
            993
        } else {
            143
        })
    }

    fn tls_connector(&self) -> Result<TlsConnector, String> {
        crate::net::tls::client_config(self.ca_file.as_deref()).map(TlsConnector::from)
    }

    /// The password's source, from the flat `password-*` keys.
    pub fn password_source(&self) -> SecretSource {
        SecretSource {
            file: self.password_file.clone(),
            env: self.password_env.clone(),
            command: self.password_command.clone(),
        }
    }

    /// How this mailbox logs in: XOAUTH2 when `[imap.oauth2]` is set, else a password.
    pub fn login_method(&self) -> Login {
        match &self.oauth2 {
            Some(o) => Login::OAuth2(TokenSource::new(o.clone())),
            None => Login::Password(self.password_source()),
        }
    }

    /// Wraps a protocol error with this mailbox's name.
    fn protocol(&self) -> impl Fn(async_imap::error::Error) -> ImapError + Copy + '_ {
        |source| ImapError::Protocol {
            mailbox: self.name.clone(),
            source,
        }
    }

    /// The store key of a message: unique per mailbox, folder, UIDVALIDITY and UID.
    fn source_key(&self, folder: &str, validity: u32, uid: u32) -> String {
        format!("imap:{}/{}/{}/{}", self.name, folder, validity, uid)
    }

    /// Whether this mailbox flags or moves messages by their processing outcome.
    pub fn acts_on_outcome(&self) -> bool {
        self.processed_flag.is_some()
            || self.processed_folder.is_some()
            || self.quarantine_folder.is_some()
    }

    /// Checks the login settings without contacting anyone.
    pub fn validate(&self) -> Result<(), String> {
        let name = format!("imap {:?}", self.name);
        match (&self.oauth2, self.password_source().is_set()) {
            (Some(_), true) => Err(format!(
                "{name}: set either oauth2 or a password-* key, not both"
            )),
            (Some(o), false) => o.validate(&name),
            (None, false) => Err(format!(
                "{name}: set password-file, password-env or password-command, or an [imap.oauth2] table (passwords are never written in the config)"
            )),
            (None, true) => Ok(()),
        }
    }
}

/// How a mailbox authenticates; built once per watch so a token outlives reconnects.
#[derive(Debug, Clone)]
pub enum Login {
    /// LOGIN with a password read at every connect (a rotated secret is picked up).
    Password(SecretSource),
    /// SASL XOAUTH2 with a bearer token.
    OAuth2(TokenSource),
}

/// SASL XOAUTH2: the payload answers the first challenge; a later challenge carries the
/// server's JSON error, answered with an empty line so the server ends with NO.
struct XOAuth2(Option<String>);

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        self.0.take().unwrap_or_default()
    }
}

/// Connects, protects the connection as configured, and logs in.
pub async fn connect(cfg: &ImapConfig) -> Result<Session, ImapError> {
    connect_with(cfg, &cfg.login_method()).await
}

/// Like [`connect`] with a login method that outlives the connection (a token cache).
pub async fn connect_with(cfg: &ImapConfig, method: &Login) -> Result<Session, ImapError> {
    let addr = format!("{}:{}", cfg.host, cfg.port());
    let connect_err = |why: String| ImapError::Connect {
        mailbox: cfg.name.clone(),
        addr: addr.clone(),
        why,
    };
    if cfg.tls == TlsMode::Plain && !cfg.allow_plaintext_auth {
        // Decided before a byte is sent: the name is loopback by itself (the rule the
        // outbox keeps too), and every address it stands for is.
        let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host(&addr)
            .await
            .map_err(|e| connect_err(e.to_string()))?
            .collect();
        if !crate::net::is_loopback_name(&cfg.host)
            || resolved.is_empty()
            || resolved.iter().any(|a| !a.ip().is_loopback())
        {
            return Err(connect_err(
                "tls = \"plain\" to a host that is not loopback would send the password in clear; use TLS, or set allow-plaintext-auth = true".into(),
            ));
        }
    }
    let tcp = tokio::time::timeout(
        Duration::from_secs(cfg.connect_timeout_secs),
        TcpStream::connect(&addr),
    )
    .await
    .map_err(|_| connect_err("timed out".into()))?
    .map_err(|e| connect_err(e.to_string()))?;
    // IMAP is request/response with small writes: Nagle plus delayed ACKs would add up
    // to 40 ms to every command.
    let _ = tcp.set_nodelay(true);
    let server_name = rustls_pki_types::ServerName::try_from(cfg.host.clone())
        .map_err(|e| connect_err(e.to_string()))?;
    let handshake = |tcp: TcpStream| async {
        let tls = cfg
            .tls_connector()
            .map_err(connect_err)?
            .connect(server_name, tcp)
            .await
            .map_err(|e| connect_err(format!("TLS: {e}")))?;
        Ok::<Conn, ImapError>(Conn::Tls(Box::new(tls)))
    };
    let conn = match cfg.tls {
        TlsMode::Implicit => handshake(tcp).await?,
        TlsMode::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            client
                .read_response()
                .await
                .map_err(|e| connect_err(format!("no greeting: {e}")))?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| connect_err(format!("STARTTLS refused: {e}")))?;
            let conn = handshake(client.into_inner()).await?;
            // The greeting was read before STARTTLS; the client after it starts clean.
            return login(cfg, async_imap::Client::new(conn), method, false).await;
        }
        TlsMode::Plain => {
            let loopback = tcp.peer_addr().is_ok_and(|a| a.ip().is_loopback());
            if !loopback {
                tracing::warn!(mailbox = %cfg.name, host = %cfg.host, "IMAP without TLS to a non-loopback host: the password crosses the network in clear (allow-plaintext-auth)");
            }
            Conn::Plain(tcp)
        }
    };
    login(cfg, async_imap::Client::new(conn), method, true).await
}

async fn login(
    cfg: &ImapConfig,
    mut client: async_imap::Client<Conn>,
    method: &Login,
    greeting: bool,
) -> Result<Session, ImapError> {
    if greeting {
        client
            .read_response()
            .await
            .map_err(|e| ImapError::Connect {
                mailbox: cfg.name.clone(),
                addr: cfg.host.clone(),
                why: format!("no greeting: {e}"),
            })?;
    }
    let refused = |why: String| {
        tracing::error!(mailbox = %cfg.name, user = %cfg.user, "IMAP login refused");
        ImapError::Auth {
            mailbox: cfg.name.clone(),
            user: cfg.user.clone(),
            why,
        }
    };
    let secret_err = |why: String| ImapError::Secret {
        mailbox: cfg.name.clone(),
        why,
    };
    match method {
        Login::Password(source) => {
            let password = source.read_async("password").await.map_err(secret_err)?;
            client
                .login(&cfg.user, &password)
                .await
                .map_err(|(e, _)| refused(e.to_string()))
        }
        Login::OAuth2(tokens) => {
            let token = tokens.token().await.map_err(secret_err)?;
            let payload = crate::net::credentials::xoauth2_payload(&cfg.user, &token);
            let client = match client.authenticate("XOAUTH2", XOAuth2(Some(payload))).await {
                Ok(session) => return Ok(session),
                Err((e, client)) => {
                    // An expired or revoked token (Exchange: AccessTokenExpired): one more
                    // try at once with a fresh token before it counts as a refusal.
                    tracing::info!(mailbox = %cfg.name, error = %e, "XOAUTH2 token refused; fetching a new one");
                    client
                }
            };
            tokens.invalidate();
            let token = tokens.token().await.map_err(secret_err)?;
            let payload = crate::net::credentials::xoauth2_payload(&cfg.user, &token);
            client
                .authenticate("XOAUTH2", XOAuth2(Some(payload)))
                .await
                .map_err(|(e, _)| {
                    tokens.invalidate();
                    refused(format!("XOAUTH2: {e}"))
                })
        }
    }
}

/// What one folder sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// Messages fetched from the server.
    pub fetched: usize,
    /// UIDVALIDITY changed since the last sync: the folder was read again from the start.
    pub resynced: bool,
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
}

/// What a sync does with the messages it has taken into custody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Processes each batch right after storing it: claims exist when the sync returns.
    Inline,
    /// Leaves them in the store's inbox for the processing stage
    /// ([`Ingester::process_pending`]): the mailbox is drained at fetch speed. A mailbox
    /// that flags or moves messages by outcome is always handled inline.
    Deferred,
}

/// Selects `folder`, then fetches every message above its last processed UID into the
/// store's custody, and processes it as `handling` says.
pub async fn sync_folder(
    session: &mut Session,
    cfg: &ImapConfig,
    folder: &str,
    store: &mut Store,
    ingester: &Ingester<'_>,
    handling: Handling,
) -> Result<SyncReport, ImapError> {
    let mailbox = select(session, cfg, folder).await?;
    let at = Folder {
        cfg,
        name: folder,
        validity: mailbox.uid_validity.unwrap_or(0),
    };
    sync_selected(session, at, store, ingester, handling).await
}

/// Selects `folder`; a refusal (NO) is [`ImapError::MissingFolder`].
pub async fn select(
    session: &mut Session,
    cfg: &ImapConfig,
    folder: &str,
) -> Result<async_imap::types::Mailbox, ImapError> {
    match session.select(mailbox_name(folder)).await {
        Err(async_imap::error::Error::No(why)) => Err(ImapError::MissingFolder {
            mailbox: cfg.name.clone(),
            folder: folder.to_string(),
            why,
        }),
        r => r.map_err(cfg.protocol()),
    }
}

/// Like [`sync_folder`] for the folder already selected with UIDVALIDITY `validity`
/// (after IDLE): one round trip less per wake-up.
async fn sync_selected(
    session: &mut Session,
    at: Folder<'_>,
    store: &mut Store,
    ingester: &Ingester<'_>,
    handling: Handling,
) -> Result<SyncReport, ImapError> {
    let Folder {
        cfg,
        name: folder,
        validity,
    } = at;
    // Flags and moves depend on each message's outcome, so they need it at once.
    let inline = handling == Handling::Inline || cfg.acts_on_outcome();
    let proto = cfg.protocol();
    let mut report = SyncReport {
        uidvalidity: validity,
        ..SyncReport::default()
    };
    let mut last = match store
        .mailbox_state(&cfg.name, folder)
        .map_err(IngestError::from)?
    {
        Some((v, uid)) if v == validity => uid,
        Some(_) => {
            tracing::warn!(mailbox = %cfg.name, folder, "UIDVALIDITY changed: reading the folder again; stored messages are recognised as duplicates");
            report.resynced = true;
            0
        }
        None => 0,
    };
    // The new UIDs, and those over the size limit, named by the server in two short
    // answers (asking every message's size cost a fifth of a backlog's time). Messages
    // over the limit are not fetched, only their headers, kept quarantined; the rest is
    // fetched in batches, each streaming in while it is stored.
    let new = search_above(session, cfg, last, "").await?;
    let over = if new.is_empty() {
        Vec::new()
    } else {
        search_above(
            session,
            cfg,
            last,
            &format!(" LARGER {}", ingester.max_bytes),
        )
        .await?
    };
    for segment in segments(&new, &over, FETCH_BATCH) {
        let (stored, quarantined) = match segment {
            Segment::Batch(uids) => {
                let taken =
                    fetch_batch(session, at, store, ingester, Wanted::Uids(uids), inline).await?;
                report.fetched += taken.stored.len() + taken.quarantined.len();
                last = last.max(taken.high);
                (taken.stored, taken.quarantined)
            }
            Segment::OverLimit(uid) => {
                // Only the header: the message stays on the server, quarantined here.
                let fetched: Vec<_> = session
                    .uid_fetch(uid.to_string(), "(UID RFC822.SIZE BODY.PEEK[HEADER])")
                    .await
                    .map_err(proto)?
                    .try_collect()
                    .await
                    .map_err(proto)?;
                let found = fetched.iter().find(|f| f.uid == Some(uid));
                let over = OverLimit {
                    uid,
                    size: found.and_then(|f| f.size).unwrap_or(0),
                    header: found.and_then(|f| f.header()),
                };
                report.fetched +=
                    quarantine_over_limit(store, cfg, folder, validity, ingester, &over, true)?;
                last = last.max(uid);
                (Vec::new(), vec![uid])
            }
        };
        // Only after the commits: the mailbox is told what the store already knows. A
        // failure here leaves the messages in place, already recorded as read.
        after_processing(session, cfg, &stored, &quarantined)
            .await
            .map_err(proto)?;
    }
    if report.fetched == 0 {
        store
            .set_mailbox_state(&cfg.name, folder, validity, last)
            .map_err(IngestError::from)?;
    }
    Ok(report)
}

/// A wake-up's sync of `folder`, still selected with UIDVALIDITY `validity`: every
/// message above the last one stored, with its size, in one UID FETCH (no NOOP, no
/// SEARCH: an IDLE wake-up costs one round trip). When the store knows the folder under
/// another UIDVALIDITY it is a full [`sync_selected`].
async fn sync_new(
    session: &mut Session,
    at: Folder<'_>,
    store: &mut Store,
    ingester: &Ingester<'_>,
    handling: Handling,
) -> Result<SyncReport, ImapError> {
    let Folder {
        cfg,
        name: folder,
        validity,
    } = at;
    let last = match store
        .mailbox_state(&cfg.name, folder)
        .map_err(IngestError::from)?
    {
        Some((v, uid)) if v == validity => uid,
        _ => {
            return sync_selected(session, at, store, ingester, handling).await;
        }
    };
    let inline = handling == Handling::Inline || cfg.acts_on_outcome();
    let taken = fetch_batch(session, at, store, ingester, Wanted::Above(last), inline).await?;
    after_processing(session, cfg, &taken.stored, &taken.quarantined)
        .await
        .map_err(cfg.protocol())?;
    Ok(SyncReport {
        fetched: taken.stored.len() + taken.quarantined.len(),
        resynced: false,
        uidvalidity: validity,
    })
}

/// A message over the size limit: its UID, size and header.
struct OverLimit<'a> {
    uid: u32,
    size: u32,
    header: Option<&'a [u8]>,
}

/// Quarantines a message over the size limit from its header; it stays on the server.
/// With `advance`, the folder's high-water UID moves to it in the same transaction.
/// Returns how many messages were taken (0 when the server sent no header).
fn quarantine_over_limit(
    store: &mut Store,
    cfg: &ImapConfig,
    folder: &str,
    validity: u32,
    ingester: &Ingester<'_>,
    over: &OverLimit<'_>,
    advance: bool,
) -> Result<usize, IngestError> {
    let (uid, size) = (over.uid, over.size);
    let key = cfg.source_key(folder, validity, uid);
    let reason = format!(
        "message is {size} bytes, over the {} byte limit; headers kept, the message stays on the server (UID {uid})",
        ingester.max_bytes
    );
    tracing::warn!(mailbox = %cfg.name, folder, uid, size, "message over the size limit quarantined");
    store.transaction(|s| -> Result<usize, IngestError> {
        let mut taken = 0;
        if let Some(raw) = over.header {
            let origin = Origin {
                source: "imap",
                key: Some(&key),
            };
            ingester.quarantine_in(s, raw, origin, &reason, Utc::now())?;
            taken = 1;
        }
        if advance {
            s.set_mailbox_state(&cfg.name, folder, validity, uid)?;
        }
        Ok(taken)
    })
}

/// The header of a message's first bytes: up to and with the first empty line.
fn header_of(raw: &[u8]) -> &[u8] {
    let end = memchr::memmem::find(raw, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    &raw[..end]
}

/// The UIDs above `last` matching `criteria` (empty: all), sorted.
async fn search_above(
    session: &mut Session,
    cfg: &ImapConfig,
    last: u32,
    criteria: &str,
) -> Result<Vec<u32>, ImapError> {
    let mut uids: Vec<u32> = session
        .uid_search(format!("UID {}:*{criteria}", last.saturating_add(1)))
        .await
        .map_err(cfg.protocol())?
        .into_iter()
        // "n:*" always names the highest UID even when it is below n.
        .filter(|u| *u > last)
        .collect();
    uids.sort_unstable();
    Ok(uids)
}

/// Flags or moves messages as configured once they are stored.
async fn after_processing(
    session: &mut Session,
    cfg: &ImapConfig,
    stored: &[u32],
    quarantined: &[u32],
) -> Result<(), async_imap::error::Error> {
    if !stored.is_empty() {
        if let Some(flag) = &cfg.processed_flag {
            let _: Vec<_> = session
                .uid_store(uid_set(stored), format!("+FLAGS.SILENT ({flag})"))
                .await?
                .try_collect()
                .await?;
        }
        if let Some(folder) = &cfg.processed_folder {
            session
                .uid_mv(uid_set(stored), mailbox_name(folder))
                .await?;
        }
    }
    if let (false, Some(folder)) = (quarantined.is_empty(), &cfg.quarantine_folder) {
        session
            .uid_mv(uid_set(quarantined), mailbox_name(folder))
            .await?;
    }
    Ok(())
}

/// Mail held in memory before it is written to the store, at most (a larger message is
/// held alone).
const BATCH_BYTES: usize = 8 * 1024 * 1024;

/// From this size on a message is held alone: never a batch of large ones.
const LARGE: usize = 1 << 20;

/// UIDs per FETCH command: long enough that the server streams while we store, short
/// enough that no command runs for minutes against a large mailbox.
const FETCH_BATCH: usize = 2500;

/// A stretch of a folder's new messages, in UID order.
#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    /// UIDs fetched with one streaming UID FETCH.
    Batch(&'a [u32]),
    /// A message over the size limit: only its header is fetched.
    OverLimit(u32),
}

/// The sorted new UIDs in batches of at most `batch`, split at each UID over the limit.
fn segments<'a>(new: &'a [u32], over: &[u32], batch: usize) -> Vec<Segment<'a>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, uid) in new.iter().enumerate() {
        if over.binary_search(uid).is_ok() {
            out.extend(new[start..i].chunks(batch.max(1)).map(Segment::Batch));
            out.push(Segment::OverLimit(*uid));
            start = i + 1;
        }
    }
    out.extend(new[start..].chunks(batch.max(1)).map(Segment::Batch));
    out
}

/// Which messages a [`fetch_batch`] asks for.
#[derive(Debug, Clone, Copy)]
enum Wanted<'a> {
    /// These UIDs, sorted, named by a search and each under the size limit.
    Uids(&'a [u32]),
    /// Every message above this UID that the server has now, each with its size and
    /// cut at one byte over the limit (a message over it is quarantined from its
    /// header): the one command of a wake-up.
    Above(u32),
}

/// What one batch put in the store.
#[derive(Debug, Default)]
struct Taken {
    stored: Vec<u32>,
    quarantined: Vec<u32>,
    /// The folder's high-water UID after the batch.
    high: u32,
}

/// Where fetched messages come from: a mailbox's folder in one UIDVALIDITY.
#[derive(Clone, Copy)]
struct Folder<'a> {
    cfg: &'a ImapConfig,
    name: &'a str,
    validity: u32,
}

/// Fetches a batch of messages with one UID FETCH and stores them as they stream in, in
/// chunks of at most `batch-size` messages and BATCH_BYTES, a large message alone: the
/// server goes on sending while a chunk is written, where waiting for a whole batch
/// left one side idle while the other worked. Each chunk commits with the folder's
/// high-water UID: the highest below which every message of the batch is stored (at the
/// end, every message the server still has has arrived).
async fn fetch_batch(
    session: &mut Session,
    at: Folder<'_>,
    store: &mut Store,
    ingester: &Ingester<'_>,
    wanted: Wanted<'_>,
    inline: bool,
) -> Result<Taken, ImapError> {
    let Folder {
        cfg,
        name: folder,
        validity,
    } = at;
    let proto = cfg.protocol();
    let mut taken = Taken::default();
    let uids: &[u32] = match wanted {
        Wanted::Uids(uids) => uids,
        Wanted::Above(_) => &[],
    };
    let mut done = vec![false; uids.len()];
    // Index of the first message of the batch not yet stored.
    let mut prefix = 0;
    // Above(_): the highest UID taken, and those seen (a server may repeat one).
    let mut highest = 0;
    let mut seen = std::collections::HashSet::new();
    let mut chunk: Vec<async_imap::types::Fetch> = Vec::new();
    let mut chunk_bytes = 0;
    let (set, query) = match wanted {
        Wanted::Uids(uids) => (uid_set(uids), "(UID BODY.PEEK[])".to_string()),
        Wanted::Above(last) => (
            format!("{}:*", last.saturating_add(1)),
            format!(
                "(UID RFC822.SIZE BODY.PEEK[]<0.{}>)",
                ingester.max_bytes.saturating_add(1)
            ),
        ),
    };
    let mut stream = session.uid_fetch(set, query).await.map_err(proto)?;
    loop {
        let item = stream.try_next().await.map_err(proto)?;
        let finished = item.is_none();
        let mut large = false;
        let known = item.as_ref().and_then(|f| {
            let uid = f.uid?;
            let size = f.body()?.len();
            match wanted {
                Wanted::Uids(uids) => {
                    let i = uids.binary_search(&uid).ok()?;
                    (!done[i]).then_some((Some(i), uid, size))
                }
                // "n:*" names the highest message even when it is below n.
                Wanted::Above(last) => {
                    (uid > last && seen.insert(uid)).then_some((None, uid, size))
                }
            }
        });
        if let Some((i, uid, size)) = known {
            let limit = ingester.max_bytes;
            let whole = item
                .as_ref()
                .and_then(|f| f.size)
                .map_or(size, |n| n as usize);
            if i.is_none() && (whole > limit || size > limit) {
                if let Some(f) = &item {
                    let over = OverLimit {
                        uid,
                        size: u32::try_from(whole).unwrap_or(u32::MAX),
                        header: f.body().map(header_of),
                    };
                    quarantine_over_limit(store, cfg, folder, validity, ingester, &over, false)?;
                }
                highest = highest.max(uid);
                taken.quarantined.push(uid);
                continue;
            }
            if let Some(i) = i {
                done[i] = true;
            }
            highest = highest.max(uid);
            chunk_bytes += size;
            large = size >= LARGE;
            chunk.extend(item);
        }
        let full = !chunk.is_empty()
            && (large || chunk.len() >= cfg.batch_size.max(1) || chunk_bytes >= BATCH_BYTES);
        if !finished && !full {
            continue;
        }
        while prefix < uids.len() && done[prefix] {
            prefix += 1;
        }
        let high = match wanted {
            Wanted::Uids(uids) if finished => uids.last().copied(),
            Wanted::Uids(uids) => prefix.checked_sub(1).map(|i| uids[i]),
            // Order of arrival is not promised: the mark moves once all have come.
            Wanted::Above(_) => (finished && highest > 0).then_some(highest),
        };
        // A large message (the last of its chunk) is read first, off the runtime and
        // within its budget, then stored with the chunk.
        let mut large_read = None;
        if large {
            if let Some(body) = chunk.pop().map(|f| Arc::new(Body(f))) {
                let key = cfg.source_key(folder, validity, body.0.uid.unwrap_or(0));
                let reading = ingester
                    .read_guarded(store, &key, &body, Utc::now())
                    .await?;
                large_read = Some((body, reading));
            }
        }
        let large_read = large_read.as_ref().map(|(b, r)| (&b.0, r));
        let stored = store_chunk(store, at, &chunk, large_read, high, ingester)?;
        taken.high = taken.high.max(high.unwrap_or(0));
        chunk.clear();
        chunk_bytes = 0;
        let mut outcomes = Vec::new();
        if inline {
            // Each read off the runtime too, one transaction each.
            for (_, key, _) in stored.iter().filter(|(_, _, o)| o.is_none()) {
                if let Some(p) = store.pending_by_key(key).map_err(IngestError::from)? {
                    outcomes.push(ingester.process_guarded(store, p).await?);
                }
            }
        }
        for (uid, key, outcome) in &stored {
            let outcome = outcome
                .as_ref()
                .or_else(|| outcomes.iter().find(|(k, _)| k == key).map(|(_, o)| o));
            let bad = matches!(outcome, Some(Outcome::Quarantined { .. }));
            if bad {
                &mut taken.quarantined
            } else {
                &mut taken.stored
            }
            .push(*uid);
        }
        if finished {
            return Ok(taken);
        }
    }
}

/// A fetched message's bytes, shared with the thread that reads it.
struct Body(async_imap::types::Fetch);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        self.0.body().unwrap_or_default()
    }
}

/// Takes a chunk of fetched messages into custody with the folder's high-water UID, in
/// one transaction; returns each message's UID and source key. A large message, read
/// already (`large`), is stored and linked at once instead, from the fetched bytes:
/// read back from custody it would be in memory twice (fetched and re-read), and its
/// outcome is returned with it.
fn store_chunk(
    store: &mut Store,
    at: Folder<'_>,
    chunk: &[async_imap::types::Fetch],
    large: Option<(&async_imap::types::Fetch, &Reading)>,
    high: Option<u32>,
    ingester: &Ingester<'_>,
) -> Result<Vec<(u32, String, Option<Outcome>)>, IngestError> {
    let Folder {
        cfg,
        name: folder,
        validity,
    } = at;
    let now = Utc::now();
    let stamp = crate::stamp(now);
    let chunk_in = |s: &Store| {
        let mut stored = Vec::with_capacity(chunk.len() + 1);
        for f in chunk {
            let (Some(uid), Some(raw)) = (f.uid, f.body()) else {
                continue;
            };
            let key = cfg.source_key(folder, validity, uid);
            // Already stored under this key (a resync): nothing to take.
            s.accept_quietly("imap", &key, raw, &stamp)?;
            stored.push((uid, key, None));
        }
        if let Some((f, reading)) = large {
            if let (Some(uid), Some(raw)) = (f.uid, f.body()) {
                let key = cfg.source_key(folder, validity, uid);
                let origin = Origin {
                    source: "imap",
                    key: Some(&key),
                };
                let outcome = ingester.store_in(s, raw, origin, reading.clone(), now)?;
                s.end_reading(&key)?;
                stored.push((uid, key, Some(outcome)));
            }
        }
        if let Some(high) = high {
            s.set_mailbox_state(&cfg.name, folder, validity, high)?;
        }
        Ok(stored)
    };
    match large {
        // Stored and linked, the large message needs the ledger's write lock.
        Some(_) => store.transaction(chunk_in),
        // Custody and the mailbox's state are this instance's own while its lease holds.
        None => store.transaction_on_own_rows(chunk_in),
    }
}

/// A UID set in IMAP syntax, consecutive UIDs as ranges ("1:500,502"): a backlog of
/// thousands is one short command.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let mut j = i;
        while j + 1 < uids.len() && uids[j + 1] == uids[j].wrapping_add(1) {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j > i {
            out.push_str(&format!("{}:{}", uids[i], uids[j]));
        } else {
            out.push_str(&uids[i].to_string());
        }
        i = j + 1;
    }
    out
}

/// Waits in IDLE until the server reports a change or `timeout` passes (re-issue IDLE
/// before 29 minutes, RFC 2177). Returns the session and whether something changed.
pub async fn idle(
    session: Session,
    cfg: &ImapConfig,
    timeout: Duration,
) -> Result<(Session, bool), ImapError> {
    let proto = cfg.protocol();
    let mut handle = session.idle();
    handle.init().await.map_err(proto)?;
    let (wait, _stop) = handle.wait_with_timeout(timeout);
    let changed = matches!(wait.await.map_err(proto)?, IdleResponse::NewData(_));
    let session = handle.done().await.map_err(proto)?;
    Ok((session, changed))
}

/// A folder name as IMAP wants it on the wire: modified UTF-7 (RFC 3501 §5.1.3).
/// Printable ASCII stands for itself ("&" as "&-"); every other run of characters is
/// UTF-16 in base64 with "," for "/", between "&" and "-". Sent as raw UTF-8, a name
/// such as "Aanvragen-ë" is a folder that does not exist.
pub fn mailbox_name(name: &str) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            // 1 byte gives 2 digits, 2 give 3, 3 give 4; no padding.
            for i in 0..=chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out.push('-');
        run.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            run.extend(c.encode_utf16(&mut [0; 2]).iter());
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The IDLE renewal interval in seconds: `idle_timeout` (what the config asks), but at
/// most a third of the health silence, so that renewals, which count as contact, keep a
/// quiet mailbox healthy even when one is late.
pub fn renewal_within(idle_timeout: u64, max_silence: u64) -> u64 {
    idle_timeout.min(max_silence / 3).max(1)
}

/// Counters of a watch, for logs, metrics and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WatchStats {
    /// Successful logins.
    pub connects: u32,
    /// Refused logins.
    pub auth_failures: u32,
    /// Connection or protocol failures that led to a reconnect.
    pub disconnects: u32,
    /// Messages fetched and handed to ingest.
    pub fetched: usize,
}

/// A session that lasted this long was healthy: the reconnect delay after it starts
/// again from the minimum (blips weeks apart must not each cost the maximum).
pub const HEALTHY_SESSION: Duration = Duration::from_secs(60);

/// Reconnect delays: doubling from the minimum to the maximum over failures in a row,
/// and back to the minimum after a healthy session.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    delay: u64,
    min: u64,
    max: u64,
}

impl Backoff {
    /// Starts at `min_ms`, never above `max_ms`.
    pub fn new(min_ms: u64, max_ms: u64) -> Backoff {
        Backoff {
            delay: min_ms,
            min: min_ms,
            max: max_ms.max(min_ms),
        }
    }

    /// The delay in milliseconds before the next try, after a failure that ended a
    /// session of this length (None: no session was established).
    pub fn failed(&mut self, session: Option<Duration>) -> u64 {
        if session.is_some_and(|s| s >= HEALTHY_SESSION) {
            self.delay = self.min;
        }
        let now = self.delay;
        self.delay = self.delay.saturating_mul(2).min(self.max);
        now
    }
}

/// Watches every folder of one mailbox until `shutdown` is cancelled: sync, then IDLE
/// (or poll) on the first folder, sync again on news; on any failure reconnect with
/// capped exponential backoff and jitter. Authentication failures are logged as errors
/// every time and retried on the same backoff, never in a tight loop.
pub async fn watch(
    cfg: &ImapConfig,
    store: &mut Store,
    ingester: &Ingester<'_>,
    shutdown: tokio_util::sync::CancellationToken,
) -> WatchStats {
    let changed = tokio::sync::Notify::new();
    watch_notifying(
        cfg,
        store,
        ingester,
        shutdown,
        &changed,
        None,
        &WatchCounters::default(),
    )
    .await
}

/// Live counters of a watch, shared with the daemon's metrics.
#[derive(Debug, Default)]
pub struct WatchCounters {
    /// Refused logins.
    pub auth_failures: std::sync::atomic::AtomicU64,
    /// Reconnects after a failure.
    pub reconnects: std::sync::atomic::AtomicU64,
    /// Unix time of the last successful exchange with the server.
    pub last_contact: std::sync::atomic::AtomicI64,
    /// Failures in a row, for health.
    pub health: super::SourceHealth,
}

/// Like [`watch`], and wakes `changed` after each sync that stored something; counts
/// into `counters` as it goes. With a `handoff`, messages are only taken into custody
/// ([`Handling::Deferred`]) and `handoff` is woken too, for the processing stage
/// (`changed` still is: a large message, or a mailbox acting on outcomes, is processed
/// at once).
pub async fn watch_notifying(
    cfg: &ImapConfig,
    store: &mut Store,
    ingester: &Ingester<'_>,
    shutdown: tokio_util::sync::CancellationToken,
    changed: &tokio::sync::Notify,
    handoff: Option<&tokio::sync::Notify>,
    counters: &WatchCounters,
) -> WatchStats {
    use std::sync::atomic::Ordering::Relaxed;
    let mut stats = WatchStats::default();
    let mut backoff = Backoff::new(cfg.reconnect_min_ms, cfg.reconnect_max_ms);
    // Built once: an OAuth2 token is reused across reconnects while it is valid.
    let method = cfg.login_method();
    while !shutdown.is_cancelled() {
        let began = std::time::Instant::now();
        let connects = stats.connects;
        let handling = if handoff.is_some() {
            Handling::Deferred
        } else {
            Handling::Inline
        };
        let w = Watch {
            cfg,
            method: &method,
            ingester,
            shutdown: &shutdown,
            changed,
            handoff,
            counters,
        };
        match watch_once(&w, store, handling, &mut stats).await {
            Ok(()) => break,
            Err(e) => {
                let session = (stats.connects > connects).then(|| began.elapsed());
                let delay = backoff.failed(session);
                counters.reconnects.fetch_add(1, Relaxed);
                counters.health.failed(&e.to_string());
                if e.is_auth() {
                    counters.auth_failures.fetch_add(1, Relaxed);
                    stats.auth_failures += 1;
                    tracing::error!(mailbox = %cfg.name, error = %e, retry_ms = delay, "IMAP authentication failed");
                } else {
                    stats.disconnects += 1;
                    tracing::warn!(mailbox = %cfg.name, error = %e, retry_ms = delay, "IMAP connection lost; reconnecting");
                }
                let wait = Duration::from_millis(jitter(delay));
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    stats
}

/// What a mailbox's watch keeps across connections: its settings and login, where
/// messages go, and whom to tell.
#[derive(Clone, Copy)]
struct Watch<'a> {
    cfg: &'a ImapConfig,
    method: &'a Login,
    ingester: &'a Ingester<'a>,
    shutdown: &'a tokio_util::sync::CancellationToken,
    changed: &'a tokio::sync::Notify,
    handoff: Option<&'a tokio::sync::Notify>,
    counters: &'a WatchCounters,
}

/// One connection's life: returns Ok on shutdown, Err when the connection failed.
async fn watch_once(
    w: &Watch<'_>,
    store: &mut Store,
    handling: Handling,
    stats: &mut WatchStats,
) -> Result<(), ImapError> {
    let Watch {
        cfg,
        method,
        shutdown,
        counters,
        ..
    } = *w;
    let contact = || {
        counters
            .last_contact
            .store(Utc::now().timestamp(), std::sync::atomic::Ordering::Relaxed);
        counters.health.succeeded();
    };
    let proto = cfg.protocol();
    // A server may sit on a failed login for seconds: shutdown does not wait for it.
    let mut session = tokio::select! {
        s = connect_with(cfg, method) => s?,
        _ = shutdown.cancelled() => return Ok(()),
    };
    stats.connects += 1;
    if stats.connects > 1 {
        tracing::info!(mailbox = %cfg.name, after_failures = stats.disconnects + stats.auth_failures, "IMAP connection restored");
    }
    contact();
    let can_idle = cfg.idle && session.capabilities().await.map_err(proto)?.has_str("IDLE");
    let first = cfg
        .folders
        .first()
        .cloned()
        .unwrap_or_else(|| "INBOX".into());
    let mut pass = Pass {
        store,
        handling,
        stats,
        selected: None,
        now_missing: Vec::new(),
    };
    // Folders that could not be selected, as last reported (logged once each way).
    let mut missing: Vec<String> = Vec::new();
    loop {
        pass.now_missing.clear();
        pass.others(&mut session, w, &first).await?;
        let first_ok = pass.first(&mut session, w, &first).await?;
        contact();
        report_missing(
            cfg,
            counters,
            &mut missing,
            std::mem::take(&mut pass.now_missing),
        );
        let mut heard = Heard::default();
        if can_idle && first_ok {
            let renewal;
            (session, heard, renewal) = idle_once(session, w, !missing.is_empty()).await?;
            if renewal {
                // A renewal: select again, which checks UIDVALIDITY and that the folder
                // still exists.
                pass.selected = None;
            }
        } else {
            // Polling, or waiting for a missing folder to appear: each pass selects again.
            let mut wait = Duration::from_secs(cfg.poll_interval_secs.max(1));
            if !first_ok {
                wait = wait.min(MISSING_RECHECK);
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            pass.selected = None;
        }
        if shutdown.is_cancelled() {
            // A clean goodbye: IDLE already ended with DONE above.
            let _ = session.logout().await;
            return Ok(());
        }
        if heard.reselect() {
            tracing::info!(mailbox = %cfg.name, folder = %first, "the server reports the folder emptied or refused: selecting it again");
            pass.selected = None;
        }
        if pass.selected.is_none() || !can_idle {
            // A half-open connection shows here: NOOP must answer within the connect
            // timeout (a wake-up with news has just had DONE answered).
            tokio::time::timeout(
                Duration::from_secs(cfg.connect_timeout_secs),
                session.noop(),
            )
            .await
            .map_err(|_| ImapError::Connect {
                mailbox: cfg.name.clone(),
                addr: cfg.host.clone(),
                why: "NOOP timed out".into(),
            })?
            .map_err(proto)?;
        }
    }
}

/// What a connection keeps from one pass over its folders to the next.
struct Pass<'s> {
    store: &'s mut Store,
    handling: Handling,
    stats: &'s mut WatchStats,
    /// The IDLE folder stays selected, with this UIDVALIDITY, from one wake-up to the
    /// next: a wake-up with news costs one UID FETCH. It is selected again (and its
    /// UIDVALIDITY and existence checked) at every IDLE renewal and whenever the server
    /// hints that it changed: everything expunged, or a NO or BYE.
    selected: Option<u32>,
    /// Folders found missing in this pass, as messages.
    now_missing: Vec<String>,
}

impl Pass<'_> {
    /// Syncs every folder but the IDLE one.
    async fn others(
        &mut self,
        session: &mut Session,
        w: &Watch<'_>,
        first: &str,
    ) -> Result<(), ImapError> {
        let cfg = w.cfg;
        for folder in cfg.folders.iter().filter(|f| **f != first) {
            match sync_folder(session, cfg, folder, self.store, w.ingester, self.handling).await {
                Ok(r) => {
                    self.stats.fetched += r.fetched;
                    if r.fetched > 0 {
                        wake(w.changed, w.handoff);
                    }
                }
                Err(ImapError::MissingFolder { folder, why, .. }) => {
                    self.now_missing
                        .push(format!("folder {folder:?} cannot be selected: {why}"));
                }
                Err(e) => return Err(e),
            }
            self.selected = None;
        }
        Ok(())
    }

    /// Syncs the IDLE folder, and again for news heard meanwhile (a message that came
    /// while syncing would not be announced again in IDLE), at most three times.
    /// False when the folder cannot be selected.
    async fn first(
        &mut self,
        session: &mut Session,
        w: &Watch<'_>,
        first: &str,
    ) -> Result<bool, ImapError> {
        let (cfg, ingester, handling) = (w.cfg, w.ingester, self.handling);
        for _ in 0..3 {
            let synced = match self.selected {
                Some(validity) => {
                    let at = Folder {
                        cfg,
                        name: first,
                        validity,
                    };
                    sync_new(session, at, self.store, ingester, handling).await
                }
                None => sync_folder(session, cfg, first, self.store, ingester, handling).await,
            };
            let report = match synced {
                Ok(r) => r,
                Err(ImapError::MissingFolder { folder, why, .. }) => {
                    self.now_missing
                        .push(format!("folder {folder:?} cannot be selected: {why}"));
                    self.selected = None;
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            self.stats.fetched += report.fetched;
            self.selected = Some(report.uidvalidity);
            if report.fetched > 0 {
                wake(w.changed, w.handoff);
            }
            let heard = Heard::drain(session, None);
            if heard.reselect() {
                self.selected = None;
            } else if !heard.exists {
                break;
            }
        }
        Ok(true)
    }
}

/// One IDLE: until news, the renewal time (soon when a folder is missing) or shutdown,
/// then DONE. Returns the session, what the server said, and whether it was a renewal.
async fn idle_once(
    session: Session,
    w: &Watch<'_>,
    recheck_soon: bool,
) -> Result<(Session, Heard, bool), ImapError> {
    let cfg = w.cfg;
    let proto = cfg.protocol();
    let mut handle = session.idle();
    handle.init().await.map_err(proto)?;
    let mut renewal = Duration::from_secs(cfg.idle_timeout_secs.max(1));
    if recheck_soon {
        // Another folder is missing: look for it again soon.
        renewal = renewal.min(MISSING_RECHECK);
    }
    let response = {
        let (wait, stop) = handle.wait_with_timeout(renewal);
        tokio::pin!(wait);
        // Dropping the stop source interrupts the wait; DONE follows. Our own deadline,
        // because the library's timer restarts on every keep-alive ("* OK Still here"):
        // a server chatting more often than the timeout would otherwise never see IDLE
        // renewed, and health never see contact.
        tokio::select! {
            r = &mut wait => r,
            _ = tokio::time::sleep(renewal) => {
                drop(stop);
                wait.await
            }
            _ = w.shutdown.cancelled() => {
                drop(stop);
                wait.await
            }
        }
    };
    let news = match response.map_err(proto)? {
        IdleResponse::NewData(data) => Some(data),
        _ => None,
    };
    // DONE's answer, within the connect timeout, shows the connection is alive (a
    // half-open one would hang here): no NOOP after it.
    let mut session =
        tokio::time::timeout(Duration::from_secs(cfg.connect_timeout_secs), handle.done())
            .await
            .map_err(|_| ImapError::Connect {
                mailbox: cfg.name.clone(),
                addr: cfg.host.clone(),
                why: "no answer to DONE".into(),
            })?
            .map_err(proto)?;
    let heard = Heard::drain(&mut session, news.as_ref().map(|d| d.parsed()));
    Ok((session, heard, news.is_none()))
}

/// How often a configured folder that cannot be selected is looked for again: it is
/// read within this long of being created.
const MISSING_RECHECK: Duration = Duration::from_secs(3);

/// What the server said about the selected folder between commands: new messages,
/// expunges, or trouble (NO, BYE).
#[derive(Debug, Default)]
struct Heard {
    /// An EXISTS: messages came.
    exists: bool,
    /// The message count after the last EXISTS and EXPUNGEs heard, when an EXISTS was.
    count: Option<u32>,
    /// EXPUNGEs heard.
    expunged: u32,
    /// An untagged NO or BYE.
    trouble: bool,
}

impl Heard {
    /// Reads what IDLE ended with (`first`), then everything queued since.
    fn drain(session: &mut Session, first: Option<&async_imap::imap_proto::Response<'_>>) -> Heard {
        use async_imap::imap_proto::{MailboxDatum, Response, Status};
        use async_imap::types::UnsolicitedResponse as U;
        let mut heard = Heard::default();
        let note = |r: &Response<'_>, heard: &mut Heard| match r {
            Response::MailboxData(MailboxDatum::Exists(n)) => heard.exists_now(*n),
            Response::Expunge(_) => heard.expunge(),
            Response::Data {
                status: Status::No | Status::Bye,
                ..
            } => heard.trouble = true,
            _ => {}
        };
        if let Some(r) = first {
            note(r, &mut heard);
        }
        // Unsolicited responses queue up in a bounded channel that drops when full.
        while let Ok(u) = session.unsolicited_responses.try_recv() {
            match u {
                U::Exists(n) => heard.exists_now(n),
                U::Expunge(_) => heard.expunge(),
                U::Other(r) => note(r.parsed(), &mut heard),
                _ => {}
            }
        }
        heard
    }

    fn exists_now(&mut self, n: u32) {
        self.exists = true;
        self.count = Some(n);
    }

    fn expunge(&mut self) {
        self.expunged += 1;
        self.count = self.count.map(|c| c.saturating_sub(1));
    }

    /// Whether the folder must be selected again: the server refused something, or
    /// expunged messages down to none (a folder deleted or emptied under us; Cyrus
    /// announces a deleted folder that way).
    fn reselect(&self) -> bool {
        self.trouble || (self.expunged > 0 && self.count.is_none_or(|c| c == 0))
    }
}

/// Logs and shows in health the folders that cannot be selected; each newly missing
/// one at error, each found again at info.
fn report_missing(
    cfg: &ImapConfig,
    counters: &WatchCounters,
    missing: &mut Vec<String>,
    now: Vec<String>,
) {
    for problem in now.iter().filter(|p| !missing.contains(p)) {
        tracing::error!(mailbox = %cfg.name, problem = %problem, "a configured folder cannot be read: create it or fix [[imap]] folders; checking again while running");
    }
    for problem in missing.iter().filter(|p| !now.contains(p)) {
        tracing::info!(mailbox = %cfg.name, was = %problem, "the folder can be read again");
    }
    counters
        .health
        .set_problem((!now.is_empty()).then(|| now.join("; ")));
    *missing = now;
}

/// After a sync that stored something: the scheduler, and the processing stage if any.
fn wake(changed: &tokio::sync::Notify, handoff: Option<&tokio::sync::Notify>) {
    changed.notify_one();
    if let Some(h) = handoff {
        h.notify_one();
    }
}

/// `ms` plus or minus up to 20%, so many clients do not reconnect in step.
fn jitter(ms: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let spread = ms / 5;
    if spread == 0 {
        ms
    } else {
        ms - spread + nanos % (2 * spread + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_login_in_clear_to_a_host_that_is_not_loopback() {
        let base = "name = \"m\"\nuser = \"u\"\npassword-env = \"SLACLAIM_TEST_UNSET\"\ntls = \"plain\"\nport = 1430\nconnect-timeout-secs = 1\n";
        let parse =
            |extra: &str| -> ImapConfig { toml::from_str(&format!("{base}{extra}")).unwrap() };
        // TEST-NET-1: refused before a packet is sent.
        let refused = connect(&parse("host = \"192.0.2.1\"\n")).await.err();
        let why = refused.map(|e| e.to_string()).unwrap_or_default();
        assert!(why.contains("allow-plaintext-auth"), "{why}");
        // Loopback is allowed: this fails only because nothing listens there.
        let loopback = connect(&parse("host = \"127.0.0.1\"\n")).await.err();
        let why = loopback.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            !why.contains("allow-plaintext-auth") && why.contains("cannot connect"),
            "{why}"
        );
    }

    #[test]
    fn folder_names_go_out_in_modified_utf7() {
        // RFC 3501 §5.1.3's example, and names of our own.
        assert_eq!(
            mailbox_name("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(mailbox_name("INBOX"), "INBOX");
        assert_eq!(mailbox_name("Sales & Support"), "Sales &- Support");
        assert_eq!(
            mailbox_name("Ondersteuning/Aanvragen-ë"),
            "Ondersteuning/Aanvragen-&AOs-"
        );
        assert_eq!(mailbox_name("Grüße"), "Gr&APwA3w-e");
        // A character outside the BMP is a surrogate pair.
        assert_eq!(mailbox_name("📧"), "&2D3c5w-");
    }

    #[test]
    fn idle_is_renewed_within_a_third_of_the_health_silence() {
        // The defaults: 1500 s asked, 900 s of silence allowed: renewed every 300 s.
        assert_eq!(renewal_within(1500, 900), 300);
        assert_eq!(renewal_within(90, 900), 90);
        assert_eq!(renewal_within(600, 0), 1);
    }

    #[test]
    fn backoff_doubles_over_failures_and_restarts_after_a_healthy_session() {
        let mut b = Backoff::new(1_000, 8_000);
        let short = Some(Duration::from_secs(5));
        let delays: Vec<u64> = (0..6)
            .map(|k| b.failed(if k % 2 == 0 { None } else { short }))
            .collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
        // A session that stayed up a minute: the next outage starts from the minimum.
        assert_eq!(b.failed(Some(HEALTHY_SESSION)), 1_000);
        assert_eq!(b.failed(None), 2_000);
        assert_eq!(
            b.failed(Some(HEALTHY_SESSION - Duration::from_millis(1))),
            4_000
        );
    }

    #[test]
    fn a_mailbox_logs_in_with_a_password_or_oauth2_not_both_not_neither() {
        let base = "name = \"m\"\nhost = \"h\"\nuser = \"u\"\n";
        let parse =
            |extra: &str| -> ImapConfig { toml::from_str(&format!("{base}{extra}")).unwrap() };
        assert!(parse("password-env = \"P\"").validate().is_ok());
        let neither = parse("").validate().err().unwrap_or_default();
        assert!(neither.contains("password-file"), "{neither}");
        let oauth = "[oauth2]\ntoken-command = [\"t\"]\n";
        assert!(parse(oauth).validate().is_ok());
        assert!(matches!(parse(oauth).login_method(), Login::OAuth2(_)));
        let both = parse(&format!("password-env = \"P\"\n{oauth}"));
        assert!(both.validate().is_err());
    }

    #[test]
    fn batches_split_at_messages_over_the_limit_and_uid_sets_use_ranges() {
        let new = [1, 2, 3, 4, 5, 6, 7, 9];
        assert_eq!(
            segments(&new, &[3, 5, 6], 2),
            vec![
                Segment::Batch(&[1, 2]),
                Segment::OverLimit(3),
                Segment::Batch(&[4]),
                Segment::OverLimit(5),
                Segment::OverLimit(6),
                Segment::Batch(&[7, 9]),
            ]
        );
        assert_eq!(
            segments(&new, &[], 3),
            vec![
                Segment::Batch(&[1, 2, 3]),
                Segment::Batch(&[4, 5, 6]),
                Segment::Batch(&[7, 9]),
            ]
        );
        assert!(segments(&[], &[], 3).is_empty());
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[9]), "9");
    }
}
