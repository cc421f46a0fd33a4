//! Microsoft's own record of an incident, from Graph service health: for each claim with
//! a tenant and an incident, `GET {graph-url}/v1.0/admin/serviceAnnouncement/issues/{id}`
//! in the customer's tenant, with a token from that tenant (an app consented there, or a
//! command for GDAP). The answer is kept as a snapshot (Microsoft's history is short) and
//! fetched again while the incident is open; `ledger::record` judges it against the claim.
//! Failures (consent, 404, throttling, timeouts, bad JSON) are recorded and retried with
//! backoff; they never hold up a draft.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::ledger::record::Record;
use crate::net::credentials::SecretSource;
use crate::store::{ClaimRow, NewGraphCheck, Store, StoreError};

/// How slaclaim gets a token for a customer's tenant.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum GraphMode {
    /// A multi-tenant app consented in each customer tenant: client credentials per tenant.
    #[default]
    ClientCredentials,
    /// A command that prints an access token for the tenant given as its argument (GDAP).
    TokenCommand,
}

/// The `[graph]` table; without it nothing is verified.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GraphConfig {
    /// client-credentials (default) or token-command.
    #[serde(default)]
    pub mode: GraphMode,
    /// The app's (client) ID, for client-credentials.
    pub client_id: Option<String>,
    /// A file holding the client secret (e.g. /run/credentials/slaclaim.service/graph-secret).
    pub client_secret_file: Option<PathBuf>,
    /// An environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Instead of a secret: the app's certificate (PEM), whose SHA-1 thumbprint names
    /// the key to Entra ID ...
    pub client_certificate_file: Option<PathBuf>,
    /// ... and its RSA private key (PEM, PKCS#8), which signs a client assertion.
    pub client_key_file: Option<PathBuf>,
    /// For token-command: the program and arguments; `{tenant}` in an argument is
    /// replaced by the tenant's GUID. It prints the access token.
    pub token_command: Option<Vec<String>>,
    /// The login origin (national clouds, tests).
    #[serde(default = "default_login")]
    pub login_url: String,
    /// The Graph origin (national clouds, tests).
    #[serde(default = "default_graph")]
    pub graph_url: String,
    /// The scope asked for.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Extra trusted roots (PEM), for a proxy or a test.
    pub ca_file: Option<PathBuf>,
    /// Hours between fetches while an incident is open.
    #[serde(default = "default_recheck")]
    pub recheck_hours: u64,
    /// Seconds before a request gives up.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

impl std::fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphConfig")
            .field("mode", &self.mode)
            .field("client_id", &self.client_id)
            .field("login_url", &self.login_url)
            .field("graph_url", &self.graph_url)
            .finish_non_exhaustive()
    }
}

fn default_login() -> String {
    "https://login.microsoftonline.com".into()
}
fn default_graph() -> String {
    "https://graph.microsoft.com".into()
}
fn default_scope() -> String {
    "https://graph.microsoft.com/.default".into()
}
fn default_recheck() -> u64 {
    6
}
fn default_timeout() -> u64 {
    30
}

impl GraphConfig {
    /// The client secret's source.
    pub fn secret_source(&self) -> SecretSource {
        SecretSource {
            file: self.client_secret_file.clone(),
            env: self.client_secret_env.clone(),
            command: None,
        }
    }

    /// Checks the settings without contacting anyone.
    pub fn validate(&self) -> Result<(), String> {
        for (key, url) in [
            ("login-url", &self.login_url),
            ("graph-url", &self.graph_url),
        ] {
            let origin = url.trim_end_matches('/');
            if !origin.starts_with("https://") && !crate::net::credentials::is_loopback_http(origin)
            {
                return Err(format!(
                    "graph: {key} must be https (plain http only on loopback): {url}"
                ));
            }
            if origin
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .contains('/')
            {
                return Err(format!("graph: {key} is an origin, without a path: {url}"));
            }
        }
        match self.mode {
            GraphMode::ClientCredentials => {
                let mut missing = Vec::new();
                if self.client_id.as_deref().is_none_or(str::is_empty) {
                    missing.push("client-id");
                }
                let certificate =
                    self.client_certificate_file.is_some() || self.client_key_file.is_some();
                if certificate
                    && (self.client_certificate_file.is_none() || self.client_key_file.is_none())
                {
                    missing.push("both client-certificate-file and client-key-file");
                } else if !certificate && !self.secret_source().is_set() {
                    missing.push("client-secret-file or client-secret-env (or a certificate)");
                }
                if !missing.is_empty() {
                    return Err(format!(
                        "graph: mode = \"client-credentials\" needs {}",
                        missing.join(" and ")
                    ));
                }
            }
            GraphMode::TokenCommand => {
                if self.token_command.as_ref().is_none_or(Vec::is_empty) {
                    return Err("graph: mode = \"token-command\" needs token-command".into());
                }
            }
        }
        Ok(())
    }
}

/// What one request for an issue came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The serviceHealthIssue, as JSON text.
    Found(String),
    /// 404: no such issue in this tenant.
    NotFound,
    /// A failure: its outcome name, what went wrong, and Retry-After when throttled.
    Failed {
        /// denied | throttled | timeout | bad_json | error.
        outcome: &'static str,
        /// What to tell staff.
        error: String,
        /// The server's Retry-After, for throttling.
        retry_after: Option<Duration>,
    },
}

/// A Graph client: tokens cached per tenant, one agent.
pub struct Graph {
    config: GraphConfig,
    agent: ureq::Agent,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Graph {
    /// A client for `config` (validated).
    pub fn new(config: GraphConfig) -> Result<Graph, String> {
        config.validate()?;
        let tls = crate::net::tls::client_config(config.ca_file.as_deref())?;
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .tls_config(tls)
            .build();
        Ok(Graph {
            config,
            agent,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// An access token for `tenant`, cached until shortly before it expires.
    pub fn token(&self, tenant: &str) -> Result<String, (&'static str, String)> {
        if let Some((token, until)) = self.tokens.lock().ok().and_then(|t| t.get(tenant).cloned()) {
            if until > Instant::now() {
                return Ok(token);
            }
        }
        let (token, lifetime) = match self.config.mode {
            GraphMode::TokenCommand => {
                let argv: Vec<String> = self
                    .config
                    .token_command
                    .iter()
                    .flatten()
                    .map(|a| a.replace("{tenant}", tenant))
                    .collect();
                let token = crate::net::credentials::run_secret_command(&argv, "token-command")
                    .map_err(|e| ("denied", e))?;
                (token, Duration::from_secs(300))
            }
            GraphMode::ClientCredentials => self.client_credentials(tenant)?,
        };
        if let Ok(mut t) = self.tokens.lock() {
            let until = Instant::now()
                + lifetime
                    .saturating_sub(Duration::from_secs(120))
                    .max(Duration::from_secs(30));
            t.insert(tenant.to_string(), (token.clone(), until));
        }
        Ok(token)
    }

    fn client_credentials(
        &self,
        tenant: &str,
    ) -> Result<(String, Duration), (&'static str, String)> {
        #[derive(Deserialize)]
        struct Answer {
            access_token: Option<String>,
            expires_in: Option<u64>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let url = format!(
            "{}/{tenant}/oauth2/v2.0/token",
            self.config.login_url.trim_end_matches('/')
        );
        let client_id = self.config.client_id.clone().unwrap_or_default();
        let mut form = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", client_id.clone()),
            ("scope", self.config.scope.clone()),
        ];
        match (
            &self.config.client_certificate_file,
            &self.config.client_key_file,
        ) {
            (Some(cert), Some(key)) => {
                let assertion =
                    client_assertion(cert, key, &client_id, &url).map_err(|e| ("denied", e))?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", assertion));
            }
            _ => {
                let secret = self
                    .config
                    .secret_source()
                    .read("client-secret")
                    .map_err(|e| ("denied", e))?;
                form.push(("client_secret", secret));
            }
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let read = |r: ureq::Response| {
            r.into_string()
                .ok()
                .and_then(|b| serde_json::from_str::<Answer>(&b).ok())
        };
        match self.agent.post(&url).send_form(&form) {
            Ok(r) => {
                let answer =
                    read(r).ok_or(("bad_json", format!("login {url}: unreadable answer")))?;
                let token = answer
                    .access_token
                    .filter(|t| !t.is_empty())
                    .ok_or(("bad_json", format!("login {url}: no access_token")))?;
                Ok((
                    token,
                    Duration::from_secs(answer.expires_in.unwrap_or(3600)),
                ))
            }
            Err(ureq::Error::Status(code, r)) => {
                let answer = read(r);
                let said = answer
                    .map(|a| {
                        format!(
                            "{}: {}",
                            a.error.unwrap_or_default(),
                            a.error_description.unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                // AADSTS700016 (app not found in the tenant) and AADSTS65001 (no consent)
                // both mean the customer has not consented to the app.
                Err((
                    if code == 429 { "throttled" } else { "denied" },
                    format!(
                        "login for tenant {tenant} refused ({code}) {said}; is the app consented in that tenant?"
                    ),
                ))
            }
            Err(e) => Err((failure_kind(&e), format!("login {url}: {e}"))),
        }
    }

    /// `GET …/issues/{id}` in `tenant`, once.
    pub fn issue(&self, tenant: &str, id: &str) -> Fetched {
        let token = match self.token(tenant) {
            Ok(t) => t,
            Err((outcome, error)) => {
                return Fetched::Failed {
                    outcome,
                    error,
                    retry_after: None,
                };
            }
        };
        let url = format!(
            "{}/v1.0/admin/serviceAnnouncement/issues/{id}",
            self.config.graph_url.trim_end_matches('/')
        );
        match self
            .agent
            .get(&url)
            .set("Authorization", &format!("Bearer {token}"))
            .call()
        {
            Ok(r) => match r.into_string() {
                Ok(body)
                    if serde_json::from_str::<serde_json::Value>(&body)
                        .is_ok_and(|v| v.is_object()) =>
                {
                    Fetched::Found(body)
                }
                Ok(_) => Fetched::Failed {
                    outcome: "bad_json",
                    error: format!("Graph answered {id} with something that is not a JSON object"),
                    retry_after: None,
                },
                Err(e) => Fetched::Failed {
                    outcome: "error",
                    error: format!("reading Graph's answer for {id}: {e}"),
                    retry_after: None,
                },
            },
            Err(ureq::Error::Status(404, _)) => Fetched::NotFound,
            Err(ureq::Error::Status(code @ (401 | 403), _)) => {
                if code == 401 {
                    if let Ok(mut t) = self.tokens.lock() {
                        t.remove(tenant);
                    }
                }
                Fetched::Failed {
                    outcome: "denied",
                    error: format!(
                        "Graph refused ({code}): the app needs the application permission ServiceHealth.Read.All with admin consent in tenant {tenant}"
                    ),
                    retry_after: None,
                }
            }
            Err(ureq::Error::Status(429, r)) => {
                let retry_after = r
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                Fetched::Failed {
                    outcome: "throttled",
                    error: format!(
                        "Graph is throttling (429, retry after {} s)",
                        retry_after.map_or("?".into(), |d| d.as_secs().to_string())
                    ),
                    retry_after,
                }
            }
            Err(ureq::Error::Status(code, _)) => Fetched::Failed {
                outcome: "error",
                error: format!("Graph answered {code} for {id}"),
                retry_after: None,
            },
            Err(e) => Fetched::Failed {
                outcome: failure_kind(&e),
                error: format!("Graph {url}: {e}"),
                retry_after: None,
            },
        }
    }

    /// Asks for `id`, waiting out throttling within this call (up to 3 retries or 60 s).
    pub fn issue_patiently(&self, tenant: &str, id: &str) -> Fetched {
        let started = Instant::now();
        let mut retries = 0;
        loop {
            let fetched = self.issue(tenant, id);
            let wait = match &fetched {
                Fetched::Failed {
                    outcome: "throttled",
                    retry_after,
                    ..
                } => retry_after.unwrap_or(Duration::from_secs(5)),
                _ => return fetched,
            };
            if retries >= 3 || started.elapsed() + wait > Duration::from_secs(60) {
                return fetched;
            }
            retries += 1;
            std::thread::sleep(wait);
        }
    }

    /// Checks one claim now, waiting out throttling ([`Graph::issue_patiently`]), and
    /// records the outcome; returns what Microsoft's record says. For `verify`.
    pub fn verify(
        &self,
        s: &Store,
        c: &ClaimRow,
        now: DateTime<Utc>,
    ) -> Result<Record, StoreError> {
        let fetched = self.issue_patiently(&c.tenant_id, &c.incident_id);
        self.record(s, c, fetched, now)
    }

    /// Records what one fetch came to (a throttled one is due again after Retry-After)
    /// and flags the claim when the record makes it likely ineligible.
    fn record(
        &self,
        s: &Store,
        c: &ClaimRow,
        fetched: Fetched,
        now: DateTime<Utc>,
    ) -> Result<Record, StoreError> {
        let previous = s.graph_check(c.id)?.map_or(0, |g| g.attempts);
        let recheck =
            chrono::Duration::hours(i64::try_from(self.config.recheck_hours.max(1)).unwrap_or(6));
        let (outcome, error, snapshot, next) = match &fetched {
            Fetched::Found(json) => {
                let resolved = serde_json::from_str::<serde_json::Value>(json)
                    .ok()
                    .is_some_and(|v| {
                        v.get("isResolved").or_else(|| v.get("IsResolved"))
                            == Some(&serde_json::Value::Bool(true))
                    });
                // Settled once resolved; an open incident is fetched again.
                (
                    "found",
                    None,
                    Some(json.as_str()),
                    (!resolved).then(|| now + recheck),
                )
            }
            Fetched::NotFound => (
                "not_found",
                None,
                None,
                Some(now + chrono::Duration::hours(24)),
            ),
            Fetched::Failed {
                outcome,
                error,
                retry_after,
            } => {
                // 5 minutes, doubling with each failure in a row, at most a day; never
                // sooner than the server asked.
                let backoff = chrono::Duration::minutes(5 * (1_i64 << previous.clamp(0, 8)))
                    .min(chrono::Duration::hours(24));
                let asked = retry_after
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .unwrap_or_default();
                (
                    *outcome,
                    Some(error.as_str()),
                    None,
                    Some(now + backoff.max(asked)),
                )
            }
        };
        let next = next.map(crate::stamp);
        s.record_graph_check(
            &NewGraphCheck {
                claim_id: c.id,
                incident_id: &c.incident_id,
                tenant_id: &c.tenant_id,
                outcome,
                error,
                snapshot,
                next_at: next.as_deref(),
            },
            &crate::stamp(now),
        )?;
        if let Some(error) = error {
            tracing::warn!(claim = c.id, ticket = %c.ticket, outcome, error, "Microsoft's record could not be read; retried later");
        }
        let evidence = crate::ledger::evidence::Evidence::of_claim(s, c.id)?;
        let check = s.graph_check(c.id)?;
        let record = check
            .map(|g| Record::read(&g, &evidence.downtime))
            .unwrap_or_default();
        // An advisory, another service or a window that misses Microsoft's flags the
        // claim for staff (it never closes it); a later check that clears it unflags it.
        let ours = c
            .review
            .as_deref()
            .is_none_or(|r| r.starts_with(crate::ledger::record::REVIEW));
        if ours {
            let flag = record.likely_ineligible().map(|why| {
                format!(
                    "{}: likely ineligible: {why}; if so, reply \"ineligible: <reason>\"",
                    crate::ledger::record::REVIEW
                )
            });
            s.set_review(c.id, flag.as_deref(), &crate::stamp(now))?;
        }
        Ok(record)
    }

    /// A domain's tenant GUID from Microsoft's OpenID discovery (no sign-in): the path
    /// segment of `issuer`. Ok(None) when Microsoft's login does not know the domain.
    pub fn discover_tenant(&self, domain: &str) -> Result<Option<String>, String> {
        let domain = domain.trim().to_ascii_lowercase();
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Ok(None);
        }
        let url = format!(
            "{}/{domain}/v2.0/.well-known/openid-configuration",
            self.config.login_url.trim_end_matches('/')
        );
        let body = match self.agent.get(&url).call() {
            Ok(r) => r
                .into_string()
                .map_err(|e| format!("discovery {url}: {e}"))?,
            // AADSTS90002: no tenant for that domain.
            Err(ureq::Error::Status(400 | 404, _)) => return Ok(None),
            Err(e) => return Err(format!("discovery {url}: {e}")),
        };
        let issuer = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("issuer").and_then(|i| i.as_str()).map(str::to_string))
            .ok_or_else(|| format!("discovery {url}: no issuer in the answer"))?;
        Ok(issuer
            .split('/')
            .find_map(crate::ledger::correction::tenant_id))
    }

    /// Gives claims that name a customer domain but no tenant the domain's tenant, as
    /// discovered (cached for 30 days), recorded as derived so staff can check it.
    pub fn derive_tenants(&self, s: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let stamp = crate::stamp(now);
        let mut n = 0;
        for (claim, domain) in s.claims_without_tenant()? {
            let cached = s.tenant_of_domain(&domain)?.filter(|(_, at)| {
                DateTime::parse_from_rfc3339(at)
                    .is_ok_and(|t| now - t.with_timezone(&Utc) < chrono::Duration::days(30))
            });
            let tenant = match cached {
                Some((tenant, _)) => tenant,
                None => match self.discover_tenant(&domain) {
                    Ok(tenant) => {
                        s.set_tenant_of_domain(&domain, tenant.as_deref(), &stamp)?;
                        tenant
                    }
                    Err(e) => {
                        tracing::warn!(claim, domain, error = %e, "a tenant could not be discovered; tried again later");
                        continue;
                    }
                },
            };
            let (Some(tenant), Some(c)) = (tenant, s.claim(claim)?) else {
                continue;
            };
            let line = crate::ledger::correction::Line {
                field: crate::ledger::correction::Field::Tenant,
                change: crate::ledger::correction::Change::Set(serde_json::json!(tenant)),
                text: format!("tenant: {tenant} (derived from {domain})"),
            };
            let who = format!(
                "{} {domain}'s OpenID issuer",
                crate::ledger::correction::DERIVED
            );
            let by = crate::ledger::correction::By {
                who: &who,
                message: None,
            };
            let applied =
                crate::ledger::correction::apply(s, &c, std::slice::from_ref(&line), by, &stamp)?;
            n += applied.accepted.len();
        }
        Ok(n)
    }

    /// Checks every claim due at `now` (at most `limit`); returns how many were checked.
    pub fn verify_due(
        &self,
        s: &Store,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.derive_tenants(s, now)?;
        let due = s.claims_due_graph_check(&crate::stamp(now))?;
        let mut n = 0;
        for id in due.into_iter().take(limit) {
            if let Some(c) = s.claim(id)? {
                // One try each: the daemon does not sleep through Retry-After (it would
                // hold up its shutdown); the claim is simply due again after it.
                let fetched = self.issue(&c.tenant_id, &c.incident_id);
                self.record(s, &c, fetched, now)?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// A client assertion (RFC 7523) for Entra ID: a JWT naming the app as issuer and
/// subject and the token endpoint as audience, valid ten minutes, with the certificate's
/// SHA-1 thumbprint (`x5t`) and signed RS256 with its key.
pub fn client_assertion(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_id: &str,
    audience: &str,
) -> Result<String, String> {
    use base64::Engine as _;
    use rustls_pki_types::pem::PemObject;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let der = rustls_pki_types::CertificateDer::from_pem_file(cert)
        .map_err(|e| format!("client-certificate-file {}: {e}", cert.display()))?;
    let key_der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_file(key)
        .map_err(|e| format!("client-key-file {}: {e} (a PKCS#8 PEM key)", key.display()))?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(key_der.secret_pkcs8_der())
        .map_err(|e| format!("client-key-file {}: not an RSA key ({e})", key.display()))?;
    let thumbprint = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der.as_ref());
    let now = Utc::now().timestamp();
    let mut nonce = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
        .map_err(|_| "no randomness for the assertion's id".to_string())?;
    let header =
        serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": b64.encode(thumbprint.as_ref())});
    let claims = serde_json::json!({
        "aud": audience, "iss": client_id, "sub": client_id,
        "jti": b64.encode(nonce), "nbf": now, "iat": now, "exp": now + 600,
    });
    let signing_input = format!(
        "{}.{}",
        b64.encode(header.to_string()),
        b64.encode(claims.to_string())
    );
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "signing the client assertion failed".to_string())?;
    Ok(format!("{signing_input}.{}", b64.encode(signature)))
}

/// A transport error's outcome name.
fn failure_kind(e: &ureq::Error) -> &'static str {
    let text = e.to_string().to_ascii_lowercase();
    if text.contains("timed out") || text.contains("timeout") {
        "timeout"
    } else {
        "error"
    }
}
