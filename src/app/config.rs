//! Configuration: TOML, kebab-case, unknown keys rejected.

use serde::Deserialize;
use std::path::Path;

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
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            state_dir: None,
            max_message_bytes: default_max_bytes(),
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
