//! Secrets and tokens: passwords from a file, an environment variable or a command, and
//! OAuth2 access tokens for SASL XOAUTH2 (IMAP now, SMTP in the outbox).
//!
//! Nothing here logs or formats a secret: errors say where a secret was looked for and
//! why it could not be had, never what it is.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Where a secret is read from. Exactly one of the three is used; the file wins, then
/// the variable, then the command.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretSource {
    /// A file holding the secret (systemd LoadCredential, a secrets mount).
    pub file: Option<PathBuf>,
    /// An environment variable holding the secret.
    pub env: Option<String>,
    /// A program and its arguments (no shell) that prints the secret.
    pub command: Option<Vec<String>>,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Where from, never what: the variable's name is fine, its value is not read here.
        f.debug_struct("SecretSource")
            .field("file", &self.file)
            .field("env", &self.env)
            .field("command", &self.command.as_ref().and_then(|c| c.first()))
            .finish()
    }
}

impl SecretSource {
    /// Whether any source is configured.
    pub fn is_set(&self) -> bool {
        self.file.is_some() || self.env.is_some() || self.command.is_some()
    }

    /// Reads the secret, without its trailing newline. `what` is the config keys' prefix
    /// ("password", "client-secret"), so errors name the key to fix.
    pub fn read(&self, what: &str) -> Result<String, String> {
        if let Some(path) = &self.file {
            let s = std::fs::read_to_string(path)
                .map_err(|e| format!("{what}-file {}: {e}", path.display()))?;
            return Ok(s.trim_end_matches(['\r', '\n']).to_string());
        }
        if let Some(var) = &self.env {
            return std::env::var(var)
                .map_err(|_| format!("{what}-env: environment variable {var} is not set"));
        }
        if let Some(argv) = &self.command {
            return run_secret_command(argv, what);
        }
        Err(format!(
            "no {what} source is set (a file, an environment variable or a command)"
        ))
    }
    /// [`SecretSource::read`] on a blocking thread: a command (killed after
    /// [`COMMAND_TIMEOUT`]) or a slow file system must not stall the async runtime.
    pub async fn read_async(&self, what: &str) -> Result<String, String> {
        let (source, what) = (self.clone(), what.to_string());
        tokio::task::spawn_blocking(move || source.read(&what))
            .await
            .map_err(|e| format!("reading the secret did not finish: {e}"))?
    }
}

/// How long a secret or token command may run before it is killed: a helper that
/// hangs (a locked password store waiting for a PIN) must not hold up a login forever.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a helper that prints a secret, killed after [`COMMAND_TIMEOUT`]; only its exit
/// status is ever reported. Blocking: async callers use [`SecretSource::read_async`].
pub(crate) fn run_secret_command(argv: &[String], what: &str) -> Result<String, String> {
    run_command_within(argv, what, COMMAND_TIMEOUT)
}

fn run_command_within(argv: &[String], what: &str, limit: Duration) -> Result<String, String> {
    use std::io::Read;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| format!("{what}-command is empty"))?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        // Not ours to print (it went nowhere before the time limit too).
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{what}-command {program}: {e}"))?;
    // A secret fits the pipe's buffer, so the helper can exit before we read; one that
    // fills it and blocks is past any sane secret and runs into the limit.
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what}-command {program} did not finish within {} s and was stopped",
                    limit.as_secs()
                ));
            }
            Err(e) => return Err(format!("{what}-command {program}: {e}")),
        }
    };
    if !status.success() {
        // Only the status: a failing helper's output is not ours to print.
        return Err(format!("{what}-command {program} exited with {status}"));
    }
    let mut out = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_end(&mut out)
            .map_err(|e| format!("{what}-command {program}: {e}"))?;
    }
    let text = String::from_utf8(out)
        .map_err(|_| format!("{what}-command {program} printed non-UTF-8"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// OAuth2 for SASL XOAUTH2: either a command that prints an access token, or the
/// client-credentials flow that Microsoft 365 requires for app-only IMAP and SMTP.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OAuth2Config {
    /// A program and arguments (no shell) that prints a current access token. When set,
    /// the client-credentials keys below are not used.
    pub token_command: Option<Vec<String>>,
    /// Directory (tenant) ID or domain of the app registration, e.g. "contoso.onmicrosoft.com".
    pub tenant: Option<String>,
    /// Application (client) ID of the app registration.
    pub client_id: Option<String>,
    /// File holding the client secret.
    pub client_secret_file: Option<PathBuf>,
    /// Environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Token endpoint; `{tenant}` is replaced by `tenant`. Plain http is accepted only
    /// for loopback hosts (tests).
    #[serde(default = "default_token_url")]
    pub token_url: String,
    /// Scope asked for: Exchange Online's IMAP/SMTP resource by default.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// PEM file of a private CA for the token endpoint.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for OAuth2Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Config")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn default_token_url() -> String {
    "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token".into()
}

fn default_scope() -> String {
    "https://outlook.office365.com/.default".into()
}

impl OAuth2Config {
    /// The client secret's source.
    pub fn client_secret_source(&self) -> SecretSource {
        self.client_secret()
    }

    fn client_secret(&self) -> SecretSource {
        SecretSource {
            file: self.client_secret_file.clone(),
            env: self.client_secret_env.clone(),
            command: None,
        }
    }

    /// The token endpoint with the tenant filled in.
    fn endpoint(&self) -> String {
        self.token_url
            .replace("{tenant}", self.tenant.as_deref().unwrap_or_default())
    }

    /// Checks the configuration without contacting anyone; `name` prefixes errors.
    pub fn validate(&self, name: &str) -> Result<(), String> {
        if self.token_command.is_some() {
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.client_id.is_none() {
            missing.push("client-id");
        }
        if !self.client_secret().is_set() {
            missing.push("client-secret-file or client-secret-env");
        }
        if self.token_url.contains("{tenant}") && self.tenant.is_none() {
            missing.push("tenant");
        }
        if !missing.is_empty() {
            return Err(format!(
                "{name}: oauth2 needs token-command, or {}",
                missing.join(", ")
            ));
        }
        let url = self.endpoint();
        if !url.starts_with("https://") && !is_loopback_http(&url) {
            return Err(format!(
                "{name}: oauth2 token-url must be https (plain http only on loopback): {url}"
            ));
        }
        Ok(())
    }
}

/// Whether `url` is plain http to 127.0.0.0/8, ::1 or localhost.
pub(crate) fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    super::is_loopback_name(host)
}

/// A token and until when it may be used.
#[derive(Clone)]
struct Cached {
    token: String,
    until: Instant,
}

/// Hands out OAuth2 access tokens, fetching a new one when the cached one is (nearly)
/// expired or has been rejected. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct TokenSource {
    config: Arc<OAuth2Config>,
    cache: Arc<Mutex<Option<Cached>>>,
    /// Token requests made, for tests and metrics.
    fetches: Arc<std::sync::atomic::AtomicU64>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A token is renewed this long before the endpoint says it expires, so a session is
/// never opened with a token about to lapse (Exchange then ends it with AccessTokenExpired).
const EXPIRY_MARGIN: Duration = Duration::from_secs(300);

/// How long a token with `lifetime` is used: until [`EXPIRY_MARGIN`] before it expires,
/// and at least 80% of its life, so a short-lived token (5 minutes or less, where the
/// margin would leave nothing) is still reused instead of fetched at every login.
fn cache_for(lifetime: Duration) -> Duration {
    lifetime
        .saturating_sub(EXPIRY_MARGIN)
        .max(lifetime.mul_f64(0.8))
}

impl TokenSource {
    /// A token source for `config`.
    pub fn new(config: OAuth2Config) -> TokenSource {
        TokenSource {
            config: Arc::new(config),
            cache: Arc::new(Mutex::new(None)),
            fetches: Arc::default(),
        }
    }

    /// How many tokens were requested from the command or the endpoint.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets the cached token after the mail server refused it (counted as a token
    /// failure, reason `refused_by_server`).
    pub fn invalidate(&self) {
        count_failure("refused_by_server");
        if let Ok(mut cache) = self.cache.lock() {
            *cache = None;
        }
    }

    /// A current access token: the cached one while it is valid, otherwise a new one.
    pub async fn token(&self) -> Result<String, String> {
        if let Ok(cache) = self.cache.lock() {
            if let Some(c) = cache.as_ref().filter(|c| c.until > Instant::now()) {
                return Ok(c.token.clone());
            }
        }
        let source = self.clone();
        let fetched = tokio::task::spawn_blocking(move || source.fetch())
            .await
            .map_err(|e| format!("token request did not finish: {e}"))??;
        Ok(fetched)
    }

    /// Asks the command or the endpoint for a token (blocking) and caches it.
    fn fetch(&self) -> Result<String, String> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let config = &self.config;
        let fetched = match &config.token_command {
            // A command's token has no known lifetime: it is asked again at every login,
            // and such helpers keep their own cache.
            Some(argv) => run_secret_command(argv, "token")
                .map(|t| (t, None))
                .map_err(|e| ("command_failed".to_string(), e)),
            None => client_credentials(config),
        };
        let (token, lifetime) = match fetched {
            Ok(t) => t,
            Err((reason, why)) => {
                count_failure(&reason);
                let endpoint = match &config.token_command {
                    Some(_) => "token-command".to_string(),
                    None => config.endpoint(),
                };
                tracing::error!(%endpoint, %reason, error = %why, "OAuth2 token request failed");
                return Err(why);
            }
        };
        if let (Some(lifetime), Ok(mut cache)) = (lifetime, self.cache.lock()) {
            *cache = Some(Cached {
                token: token.clone(),
                until: Instant::now() + cache_for(lifetime),
            });
        }
        Ok(token)
    }
}

/// The token endpoint's answer (RFC 6749 section 5).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Token failures since start by reason, for metrics: an OAuth error code the endpoint
/// gave (`invalid_client`, ...), `unreachable`, `server_error`, `unreadable`,
/// `command_failed`, or `refused_by_server` (the mail server refused a token).
static FAILURES: Mutex<std::collections::BTreeMap<String, u64>> =
    Mutex::new(std::collections::BTreeMap::new());

fn count_failure(reason: &str) {
    if let Ok(mut f) = FAILURES.lock() {
        *f.entry(reason.to_string()).or_default() += 1;
    }
}

/// Token failures since start: (reason, count), by reason.
pub fn token_failures() -> Vec<(String, u64)> {
    FAILURES
        .lock()
        .map(|f| f.iter().map(|(r, n)| (r.clone(), *n)).collect())
        .unwrap_or_default()
}

/// An OAuth error code as a metric label: RFC 6749 codes are lower-case letters and
/// underscores; anything else (or nothing) is `other`.
fn reason_label(code: Option<&str>, fallback: &str) -> String {
    match code {
        Some(c)
            if !c.is_empty()
                && c.len() <= 40
                && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
        {
            c.to_string()
        }
        _ => fallback.to_string(),
    }
}

/// The OAuth2 client-credentials grant: POST id, secret and scope; get a bearer token.
/// An error is (reason, message): the reason for metrics, the message for the log.
fn client_credentials(
    config: &OAuth2Config,
) -> Result<(String, Option<Duration>), (String, String)> {
    let url = config.endpoint();
    let secret = config
        .client_secret()
        .read("client-secret")
        .map_err(|e| ("secret_unreadable".to_string(), e))?;
    let client_id = config.client_id.clone().unwrap_or_default();
    let tls = crate::net::tls::client_config(config.ca_file.as_deref())
        .map_err(|e| ("tls_config".to_string(), e))?;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .tls_config(tls)
        .build();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", config.scope.as_str()),
    ];
    let response = match agent.post(&url).send_form(&form) {
        Ok(r) => r,
        // An error status still carries the endpoint's explanation (AADSTS codes).
        Err(ureq::Error::Status(code, r)) => {
            let answer = r
                .into_string()
                .ok()
                .and_then(|body| serde_json::from_str::<TokenResponse>(&body).ok());
            let fallback = if code >= 500 {
                "server_error"
            } else {
                "refused"
            };
            let reason = reason_label(answer.as_ref().and_then(|t| t.error.as_deref()), fallback);
            let why = answer
                .map(|t| {
                    format!(
                        "{}: {}",
                        t.error.unwrap_or_default(),
                        t.error_description.unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            return Err((
                reason,
                format!("token endpoint {url} answered {code} {why}"),
            ));
        }
        Err(e) => {
            return Err((
                "unreachable".to_string(),
                format!("token endpoint {url}: {e}"),
            ));
        }
    };
    let unreadable = |why: String| ("unreadable".to_string(), why);
    let body: TokenResponse = response
        .into_string()
        .map_err(|e| e.to_string())
        .and_then(|body| serde_json::from_str(&body).map_err(|e| e.to_string()))
        .map_err(|e| unreadable(format!("token endpoint {url}: unreadable answer: {e}")))?;
    let token = body.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        unreadable(format!(
            "token endpoint {url}: no access_token in the answer"
        ))
    })?;
    Ok((
        token,
        Some(Duration::from_secs(body.expires_in.unwrap_or(3600))),
    ))
}

/// The SASL XOAUTH2 initial response: `user=U ^A auth=Bearer T ^A ^A`.
pub fn xoauth2_payload(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_reused_for_most_of_their_life_even_short_ones() {
        let secs = |s: u64| Duration::from_secs(s);
        assert_eq!(cache_for(secs(3600)), secs(3300));
        assert_eq!(cache_for(secs(600)), secs(480));
        assert_eq!(cache_for(secs(300)), secs(240));
        assert_eq!(cache_for(secs(60)), secs(48));
    }

    fn config(text: &str) -> OAuth2Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_hanging_secret_command_is_stopped_with_a_clear_error() {
        let started = Instant::now();
        let argv = ["sleep".to_string(), "30".to_string()];
        let err = run_command_within(&argv, "password", Duration::from_millis(200))
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("did not finish within") && err.contains("sleep"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        // Fast ones are read as before, with their newline cut.
        let argv = ["printf".to_string(), "s3cret\\n".to_string()];
        assert_eq!(
            run_command_within(&argv, "password", Duration::from_secs(5)).as_deref(),
            Ok("s3cret")
        );
    }

    #[tokio::test]
    async fn reading_a_secret_does_not_hold_up_the_runtime() {
        // A single-threaded runtime: a timer must fire while the command runs.
        let source = SecretSource {
            command: Some(vec!["sh".into(), "-c".into(), "sleep 0.5; echo tok".into()]),
            ..SecretSource::default()
        };
        let ticks = async {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Instant::now()
        };
        let read = async {
            let secret = source.read_async("password").await;
            (secret, Instant::now())
        };
        let ((secret, read_at), ticked_at) = tokio::join!(read, ticks);
        assert_eq!(secret.as_deref(), Ok("tok"));
        // Blocking the thread, the timers could only fire after the command ended.
        assert!(ticked_at < read_at);
    }

    #[test]
    fn client_credentials_need_id_secret_and_tenant() {
        let err = config("client-id = \"abc\"")
            .validate("imap \"support\"")
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("client-secret-file or client-secret-env"),
            "{err}"
        );
        assert!(err.contains("tenant"), "{err}");
        let ok = config(
            "tenant = \"contoso.onmicrosoft.com\"\nclient-id = \"abc\"\nclient-secret-env = \"S\"",
        );
        assert_eq!(ok.validate("x"), Ok(()));
        assert_eq!(
            ok.endpoint(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(
            config("token-command = [\"get-token\"]")
                .validate("x")
                .is_ok()
        );
    }

    #[test]
    fn plain_http_token_url_only_on_loopback() {
        let with = |url: &str| {
            config(&format!(
                "client-id = \"a\"\nclient-secret-env = \"S\"\ntoken-url = \"{url}\""
            ))
            .validate("x")
        };
        assert!(with("http://127.0.0.1:8080/token").is_ok());
        assert!(with("http://[::1]:8080/token").is_ok());
        assert!(with("http://localhost/token").is_ok());
        assert!(with("http://login.example.com/token").is_err());
        assert!(with("http://127.0.0.1.example.com/token").is_err());
    }

    #[test]
    fn secrets_from_file_env_and_command_without_newline() {
        let dir = std::env::temp_dir().join(format!("slaclaim-secret-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("s");
        let _ = std::fs::write(&file, "hunter2\n");
        let from_file = SecretSource {
            file: Some(file),
            ..SecretSource::default()
        };
        assert_eq!(from_file.read("password").as_deref(), Ok("hunter2"));
        let from_command = SecretSource {
            command: Some(vec!["printf".into(), "tok\\n".into()]),
            ..SecretSource::default()
        };
        assert_eq!(from_command.read("password").as_deref(), Ok("tok"));
        let failing = SecretSource {
            command: Some(vec!["false".into()]),
            ..SecretSource::default()
        };
        assert!(failing.read("password").is_err());
        let unset = SecretSource {
            env: Some("SLACLAIM_TEST_SURELY_UNSET".into()),
            ..SecretSource::default()
        };
        let err = unset.read("password").err().unwrap_or_default();
        assert!(err.contains("SLACLAIM_TEST_SURELY_UNSET"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn xoauth2_payload_has_the_sasl_shape() {
        assert_eq!(
            xoauth2_payload("a@b.c", "T"),
            "user=a@b.c\u{1}auth=Bearer T\u{1}\u{1}"
        );
    }
}
