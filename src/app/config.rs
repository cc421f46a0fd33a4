//! Configuration: TOML, kebab-case, unknown keys rejected.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::outbound::outbox::OutboxConfig;

/// The packaged unit's state directory (StateDirectory=slaclaim).
pub const UNIT_STATE_DIR: &str = "/var/lib/slaclaim";

/// What the packaged unit may write: its state directory, under either name
/// (DynamicUser= keeps it in /var/lib/private).
const UNIT_WRITABLE: [&str; 2] = [UNIT_STATE_DIR, "/var/lib/private/slaclaim"];

/// The credential name of a path under `/run/credentials/<unit>/`.
fn credential_name(path: &Path) -> Option<&std::ffi::OsStr> {
    let rest = path.strip_prefix("/run/credentials").ok()?;
    let mut parts = rest.components();
    parts.next()?;
    let name = parts.next()?;
    parts.next().is_none().then_some(name.as_os_str())
}

/// Errors reading or validating configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys. Only the place and toml's message
    /// without the value (see [`ConfigError::parse`]): never the line itself.
    #[error("cannot parse config {path}: line {line}, column {column}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What toml says, values left out.
        message: String,
    },
    /// A value is present but unusable.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// How messages are read and classified.
    #[serde(default)]
    pub extract: crate::extract::ExtractConfig,
    /// Where the ledger lives.
    #[serde(default)]
    pub store: StoreConfig,
    /// How deadlines are reckoned.
    #[serde(default)]
    pub deadline: DeadlineConfig,
    /// IMAP mailboxes to watch.
    #[serde(default)]
    pub imap: Vec<crate::inbound::imap::ImapConfig>,
    /// Local Maildirs to watch.
    #[serde(default)]
    pub maildir: Vec<crate::inbound::maildir::MaildirConfig>,
    /// How the daemon runs.
    #[serde(default)]
    pub daemon: crate::app::daemon::DaemonConfig,
    /// Where outgoing mail goes.
    #[serde(default)]
    pub outbox: crate::outbound::outbox::OutboxConfig,
    /// Drafts for the helpdesk.
    #[serde(default)]
    pub drafts: crate::outbound::draft::DraftConfig,
    /// Reminders and digests for managers.
    #[serde(default)]
    pub reminders: crate::outbound::planner::ReminderConfig,
    /// Whose replies may change claims.
    #[serde(default)]
    pub staff: crate::ledger::staff::StaffConfig,
    /// Which receiving servers' authentication verdicts are believed, and which
    /// domains speak for a customer.
    #[serde(default)]
    pub trust: crate::ledger::trust::TrustConfig,
    /// Customers by tenant: names and licensed users.
    #[serde(default)]
    pub customer: Vec<crate::outbound::draft::Customer>,
    /// Microsoft's own record of each claim's incident (Graph service health); off
    /// without this table.
    #[serde(default)]
    pub graph: Option<crate::inbound::graph::GraphConfig>,
}

impl Config {
    /// Everything planning needs, from the sections it reads, with its templates.
    pub fn planner<'a>(
        &'a self,
        templates: &'a crate::outbound::draft::Templates,
    ) -> Result<crate::outbound::planner::Planner<'a>, String> {
        let policy = self.deadline.policy().map_err(|e| e.to_string())?;
        Ok(crate::outbound::planner::Planner {
            drafts: &self.drafts,
            reminders: &self.reminders,
            customers: &self.customer,
            services: self.extract.prefixes(),
            templates,
            zone: policy.zone,
            from: self.outbox.from.clone(),
            domain: self.outbox.message_id_domain(),
            digest: self.reminders.schedule()?,
            verify_first: self.graph.is_some(),
        })
    }

    /// The ingester this config describes, reading with `extractor`.
    pub fn ingester<'a>(
        &self,
        extractor: &'a crate::extract::Extractor,
    ) -> Result<crate::ledger::ingest::Ingester<'a>, ConfigError> {
        Ok(crate::ledger::ingest::Ingester {
            extractor,
            policy: self.deadline.policy()?,
            max_bytes: self.store.max_message_bytes,
            rules: self.mail_rules(),
            limits: self.daemon.read_limits(),
        })
    }

    /// What ingest needs to know about our own and staff mail.
    pub fn mail_rules(&self) -> crate::ledger::ingest::MailRules {
        crate::ledger::ingest::MailRules {
            own_address: Some(self.outbox.from.clone()),
            message_id_domain: Some(self.outbox.message_id_domain()),
            staff: self.staff.clone(),
            trust: self.trust.clone(),
            max_claims_per_message: self.extract.max_claims_per_message,
        }
    }
}

/// Settings of the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StoreConfig {
    /// Directory of the SQLite file; `--state-dir` and `SLACLAIM_STATE_DIR` override it.
    pub state_dir: Option<std::path::PathBuf>,
    /// Messages larger than this are kept but quarantined.
    #[serde(default = "default_max_bytes")]
    pub max_message_bytes: usize,
    /// A shared ledger on PostgreSQL: `postgres://user@host:port/database?sslmode=…`,
    /// without a password (that comes from `password-file`, `password-env` or
    /// `password-command`). So far `slaclaim store migrate` copies a ledger there.
    pub url: Option<String>,
    /// File holding the database password.
    pub password_file: Option<std::path::PathBuf>,
    /// Environment variable holding the database password.
    pub password_env: Option<String>,
    /// A command (no shell) printing the database password.
    pub password_command: Option<Vec<String>>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            state_dir: None,
            max_message_bytes: default_max_bytes(),
            url: None,
            password_file: None,
            password_env: None,
            password_command: None,
        }
    }
}

impl StoreConfig {
    /// Where the ledger is: `[store] url` when set (its password read now), else the
    /// SQLite file in `state_dir`.
    pub fn location(&self, state_dir: &Path) -> Result<crate::store::Location, String> {
        let Some(url) = &self.url else {
            return Ok(crate::store::Location::Sqlite(state_dir.to_path_buf()));
        };
        let target =
            crate::store::postgres::Target::parse(url).map_err(|e| format!("[store] {e}"))?;
        let source = self.password_source();
        let password = match source.is_set() {
            true => Some(
                source
                    .read("password")
                    .map_err(|e| format!("[store] {e}"))?
                    .into(),
            ),
            false => None,
        };
        Ok(crate::store::Location::postgres(target, password))
    }

    /// The database password's source; none set means trust or peer authentication.
    pub fn password_source(&self) -> crate::net::credentials::SecretSource {
        crate::net::credentials::SecretSource {
            file: self.password_file.clone(),
            env: self.password_env.clone(),
            command: self.password_command.clone(),
        }
    }
}

fn default_max_bytes() -> usize {
    crate::ledger::ingest::DEFAULT_MAX_BYTES
}

/// Settings of the deadline computation.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DeadlineConfig {
    /// IANA zone in which months end, e.g. "Europe/Amsterdam".
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// Days before Microsoft's deadline by which the helpdesk should submit.
    #[serde(default = "default_margin")]
    pub safety_margin_days: u32,
}

impl Default for DeadlineConfig {
    fn default() -> Self {
        DeadlineConfig {
            time_zone: default_zone(),
            safety_margin_days: default_margin(),
        }
    }
}

fn default_zone() -> String {
    "UTC".into()
}

fn default_margin() -> u32 {
    3
}

impl DeadlineConfig {
    /// The validated policy.
    pub fn policy(&self) -> Result<crate::ledger::deadline::Policy, ConfigError> {
        let zone = self.time_zone.parse::<chrono_tz::Tz>().map_err(|_| {
            ConfigError::Invalid(format!(
                "deadline.time-zone: {:?} is not an IANA time zone (e.g. \"Europe/Amsterdam\")",
                self.time_zone
            ))
        })?;
        Ok(crate::ledger::deadline::Policy {
            zone,
            margin_days: self.safety_margin_days,
        })
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Every problem with the values, not only the first; empty when the config is usable.
    /// Secrets are not read here (see [`Config::unreadable_secrets`]).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |r: Result<(), String>| {
            if let Err(e) = r {
                out.push(e);
            }
        };
        check(self.extract.validate().map_err(|e| e.to_string()));
        check(
            self.deadline
                .policy()
                .map(|_| ())
                .map_err(|e| e.to_string()),
        );
        for m in &self.imap {
            check(m.validate());
        }
        check(self.outbox.validate());
        if let Some(g) = &self.graph {
            check(g.validate());
        }
        if let Some(url) = &self.store.url {
            check(
                crate::store::postgres::Target::parse(url)
                    .map(|_| ())
                    .map_err(|e| format!("[store] {e}")),
            );
        }
        check(self.daemon.metrics_addr().map(|_| ()));
        check(self.reminders.schedule().map(|_| ()));
        check(
            crate::outbound::draft::Templates::load(self.drafts.template_dir.as_deref())
                .map(|_| ()),
        );
        for a in self
            .drafts
            .helpdesk
            .iter()
            .chain(&self.reminders.managers)
            .chain(&self.staff.addresses)
        {
            check(
                a.parse::<lettre::Address>()
                    .map(|_| ())
                    .map_err(|e| format!("address {a:?}: {e}")),
            );
        }
        for m in &self.maildir {
            if m.path.as_os_str().is_empty() {
                check(Err("maildir.path is empty".into()));
            }
        }
        out
    }

    /// Settings that work but will not do what they are likely meant to; the daemon logs
    /// them at start, check-config prints them.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.trust.configured() {
            if !self.staff.addresses.is_empty() && self.staff.require_authenticated_senders {
                out.push("[staff] addresses are set and require-authenticated-senders is on, but no [trust] authserv-ids (or exchange-online) is: no staff command can be authenticated, so none will be obeyed".into());
            }
            if self.drafts.send_to_customers {
                out.push("[drafts] send-to-customers is on, but no [trust] is set: drafts go to a requester only when DMARC passed for them, which nothing can show".into());
            }
        }
        out
    }

    /// What a fresh config still lacks to do its job: a mailbox, the helpdesk, managers,
    /// staff and our own From address. Never a load error (the daemon starts and warns);
    /// `check-config` lists them and does not say ok.
    pub fn unfinished(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.imap.is_empty() && self.maildir.is_empty() {
            out.push("no mailbox to watch: add an [[imap]] section (or a [[maildir]])".into());
        }
        if self.outbox.from == OutboxConfig::default().from {
            out.push(format!(
                "[outbox] from is the placeholder {}: set the address slaclaim's mail is sent from",
                self.outbox.from
            ));
        }
        if self.drafts.helpdesk.is_empty() {
            out.push(
                "no helpdesk address: set [drafts] helpdesk, or no draft reaches anyone".into(),
            );
        }
        if self.reminders.managers.is_empty() {
            out.push(
                "no manager address: set [reminders] managers, or no reminder or digest is sent"
                    .into(),
            );
        }
        if self.staff.addresses.is_empty() {
            out.push(
                "no staff address: set [staff] addresses, or no reply can mark or correct a claim"
                    .into(),
            );
        }
        out
    }

    /// Reads secret files named under `/run/credentials/<unit>/` (where systemd's
    /// LoadCredential= puts them while the service runs) from `dir` instead: how an
    /// admin checks the service's config from a shell (`check-config --credentials-dir`).
    pub fn read_credentials_from(&mut self, dir: &Path) {
        let moved = |file: &mut Option<PathBuf>| {
            if let Some(name) = file.as_deref().and_then(credential_name) {
                *file = Some(dir.join(name));
            }
        };
        for m in &mut self.imap {
            moved(&mut m.password_file);
            if let Some(o) = &mut m.oauth2 {
                moved(&mut o.client_secret_file);
            }
        }
        moved(&mut self.outbox.password_file);
        moved(&mut self.store.password_file);
        if let Some(g) = &mut self.graph {
            moved(&mut g.client_secret_file);
            moved(&mut g.client_key_file);
        }
        if let Some(o) = &mut self.outbox.oauth2 {
            moved(&mut o.client_secret_file);
        }
    }

    /// What the packaged, hardened unit would refuse or hide, as (problems, warnings):
    /// a relative path (the unit's working directory is `/`) is a problem; a Maildir or
    /// file outbox outside the state directory (read-only under ProtectSystem=strict)
    /// and a password command (ProtectHome=yes hides /home and /root) are warnings that
    /// name the drop-in to add.
    pub fn unit_findings(&self) -> (Vec<String>, Vec<String>) {
        let (mut problems, mut warnings) = (Vec::new(), Vec::new());
        let mut paths: Vec<(String, &Path, bool)> = Vec::new();
        for m in &self.maildir {
            paths.push(("[[maildir]] path".into(), &m.path, true));
        }
        if self.outbox.transport == crate::outbound::outbox::TransportKind::File {
            paths.push(("[outbox] dir".into(), &self.outbox.dir, true));
        }
        if let Some(d) = &self.drafts.template_dir {
            paths.push(("[drafts] template-dir".into(), d, false));
        }
        if let Some(d) = &self.store.state_dir {
            paths.push(("[store] state-dir".into(), d, false));
        }
        for m in &self.imap {
            if let Some(f) = &m.ca_file {
                paths.push((format!("[[imap]] {:?} ca-file", m.name), f, false));
            }
        }
        for (what, path, written) in paths {
            if path.is_relative() {
                problems.push(format!(
                    "{what} {} is relative: the service's working directory is /, so give it in full (e.g. under {})",
                    path.display(),
                    UNIT_STATE_DIR
                ));
            } else if written && !UNIT_WRITABLE.iter().any(|w| path.starts_with(w)) {
                warnings.push(format!(
                    "{what} {} is outside {UNIT_STATE_DIR}, which is all the unit may write (ProtectSystem=strict): add a drop-in with `systemctl edit slaclaim`: [Service] ReadWritePaths={}",
                    path.display(),
                    path.display()
                ));
            }
        }
        let commands = self
            .imap
            .iter()
            .map(|m| (format!("[[imap]] {:?}", m.name), &m.password_command))
            .chain([("[outbox]".to_string(), &self.outbox.password_command)]);
        for (what, command) in commands {
            if command.is_some() {
                warnings.push(format!(
                    "{what} password-command runs under the unit's ProtectHome=yes: /home and /root (a password store, a GnuPG keyring) are hidden from it; prefer password-file with LoadCredential="
                ));
            }
        }
        (problems, warnings)
    }

    /// Secrets that cannot be read now (files missing, variables unset), by where they
    /// were looked for. Commands are not run here.
    pub fn unreadable_secrets(&self) -> Vec<String> {
        let mut sources: Vec<(String, crate::net::credentials::SecretSource)> = Vec::new();
        for m in &self.imap {
            if m.oauth2.is_none() {
                sources.push((format!("imap {:?} password", m.name), m.password_source()));
            }
            if let Some(o) = &m.oauth2 {
                sources.push((
                    format!("imap {:?} client secret", m.name),
                    o.client_secret_source(),
                ));
            }
        }
        if self.outbox.transport == crate::outbound::outbox::TransportKind::Smtp
            && self.outbox.user.is_some()
        {
            match &self.outbox.oauth2 {
                Some(o) => sources.push(("outbox client secret".into(), o.client_secret_source())),
                None => sources.push(("outbox password".into(), self.outbox.password_source())),
            }
        }
        if self.store.url.is_some() {
            sources.push(("store password".into(), self.store.password_source()));
        }
        if let Some(g) = self
            .graph
            .as_ref()
            .filter(|g| g.mode == crate::inbound::graph::GraphMode::ClientCredentials)
        {
            sources.push(("graph client secret".into(), g.secret_source()));
        }
        sources
            .into_iter()
            .filter(|(_, s)| s.command.is_none() && s.is_set())
            .filter_map(|(what, s)| s.read("secret").err().map(|e| format!("{what}: {e}")))
            .collect()
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::parse(origin, text, &e))?;
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems.join("; ")));
        }
        Ok(config)
    }
}

impl ConfigError {
    /// A parse error that shows where and what, but neither the offending line (toml's
    /// own message quotes it) nor a value serde names ("invalid type: string \"...\""):
    /// a secret typed into the wrong key, or a broken line beside one, must not end up
    /// in a terminal, a log or a ticket.
    pub fn parse(path: &str, text: &str, e: &toml::de::Error) -> ConfigError {
        let at = e.span().map_or(0, |s| s.start).min(text.len());
        let before = &text.as_bytes()[..at];
        let line = memchr::memchr_iter(b'\n', before).count() + 1;
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        ConfigError::Parse {
            path: path.to_string(),
            line,
            column,
            message: without_values(e.message()),
        }
    }
}

/// serde's messages about a value ("invalid type: string \"x\", expected u16",
/// "unknown variant `x`, expected one of ...") with the value replaced; others as they are.
fn without_values(message: &str) -> String {
    let names_value = [
        "invalid type",
        "invalid value",
        "unknown variant",
        "invalid length",
    ]
    .iter()
    .any(|p| message.starts_with(p));
    let quoted = message.find(['"', '`']).and_then(|open| {
        let quote = message[open..].chars().next()?;
        let close = message[open + 1..].find(quote)? + open + 1;
        Some((open, close))
    });
    match quoted {
        Some((open, close)) if names_value => {
            format!(
                "{}(value not shown){}",
                &message[..open],
                &message[close + 1..]
            )
        }
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_skeleton_loads_and_names_what_is_left_to_fill_in() {
        let skeleton =
            Config::parse(include_str!("../../deploy/slaclaim.toml"), "skeleton").unwrap();
        let missing = skeleton.unfinished().join("\n");
        for what in [
            "no mailbox",
            "[outbox] from",
            "helpdesk",
            "manager",
            "staff",
        ] {
            assert!(missing.contains(what), "{what}: {missing}");
        }
        let (problems, warnings) = skeleton.unit_findings();
        assert!(
            problems.is_empty() && warnings.is_empty(),
            "{problems:?} {warnings:?}"
        );
        let finished = Config::parse(
            "[[maildir]]\npath = \"/var/lib/slaclaim/mail\"\n[outbox]\nfrom = \"claims@partner.example\"\n[drafts]\nhelpdesk = [\"h@partner.example\"]\n[reminders]\nmanagers = [\"m@partner.example\"]\n[staff]\naddresses = [\"s@partner.example\"]\n",
            "t",
        )
        .unwrap();
        assert!(
            finished.unfinished().is_empty(),
            "{:?}",
            finished.unfinished()
        );
    }

    #[test]
    fn the_unit_refuses_relative_paths_and_names_the_drop_in_for_paths_it_cannot_write() {
        let c = Config::parse(
            "[[maildir]]\npath = \"/var/mail/support\"\n[[maildir]]\npath = \"/var/lib/slaclaim/mail\"\n[outbox]\ndir = \"outbox\"\n[[imap]]\nname = \"s\"\nhost = \"imap.partner.example\"\nuser = \"u\"\npassword-command = [\"pass\", \"show\", \"mail\"]\n",
            "t",
        )
        .unwrap();
        let (problems, warnings) = c.unit_findings();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("[outbox] dir outbox is relative"),
            "{problems:?}"
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("/var/mail/support")
                && warnings[0].contains("ReadWritePaths=/var/mail/support"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("ProtectHome"), "{warnings:?}");
    }

    #[test]
    fn credentials_are_read_from_the_directory_given_instead_of_run() {
        let mut c = Config::parse(
            "[[imap]]\nname = \"s\"\nhost = \"imap.partner.example\"\nuser = \"u\"\npassword-file = \"/run/credentials/slaclaim.service/imap-password\"\n[outbox]\ntransport = \"smtp\"\nhost = \"smtp.partner.example\"\nuser = \"u\"\npassword-file = \"/etc/other/smtp\"\n",
            "t",
        )
        .unwrap();
        c.read_credentials_from(Path::new("/etc/slaclaim/secrets"));
        assert_eq!(
            c.imap[0].password_file.as_deref(),
            Some(Path::new("/etc/slaclaim/secrets/imap-password"))
        );
        // Only paths under /run/credentials move.
        assert_eq!(
            c.outbox.password_file.as_deref(),
            Some(Path::new("/etc/other/smtp"))
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("[extract]\npartner-name = [\"x\"]\n", "t.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("partner-name"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn prefixes_validated_and_extended() {
        assert!(
            Config::parse("[extract]\nextra-incident-prefixes = { ex = \"x\" }\n", "t").is_err()
        );
        let c = Config::parse(
            "[extract]\nextra-incident-prefixes = { CP = \"Copilot\" }\n",
            "t",
        )
        .ok();
        let prefixes = c.map(|c| c.extract.prefixes()).unwrap_or_default();
        assert!(prefixes.contains_key("CP") && prefixes.contains_key("EX"));
    }
}
