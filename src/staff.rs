//! Replies from helpdesk staff: `submitted <request number>` or `ineligible: <reason>`
//! in reply to a draft changes the claim's status, and reminders stop.
//!
//! Only configured staff addresses are heard, and by default only when the receiving
//! server's Authentication-Results show DKIM or DMARC passing for the sender's domain:
//! a forged From must not close a claim. Everything else is recorded and ignored.

use serde::Deserialize;

use crate::message::Email;

/// The `[staff]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StaffConfig {
    /// Addresses whose replies may change a claim.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Require DKIM or DMARC pass for the sender's domain in Authentication-Results.
    #[serde(default = "default_true")]
    pub require_authenticated_senders: bool,
}

impl Default for StaffConfig {
    fn default() -> Self {
        StaffConfig {
            addresses: Vec::new(),
            require_authenticated_senders: true,
        }
    }
}

fn default_true() -> bool {
    true
}

/// What staff asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Submitted in Partner Center under this request number.
    Submitted(String),
    /// Not claimable, for this reason.
    Ineligible(String),
}

impl StaffConfig {
    /// Whether `from` is a staff address.
    pub fn is_staff(&self, from: Option<&str>) -> bool {
        from.is_some_and(|f| {
            let f = f.trim().trim_matches(['<', '>']);
            self.addresses.iter().any(|a| a.eq_ignore_ascii_case(f))
        })
    }

    /// Why a staff message may not be obeyed, or None when it may.
    pub fn refusal(&self, email: &Email) -> Option<String> {
        if !self.require_authenticated_senders {
            return None;
        }
        let Some(domain) = email.sender_domain() else {
            return Some("no sender domain".into());
        };
        let results: Vec<&str> = email
            .headers
            .iter()
            .filter(|(n, _)| n == "authentication-results")
            .map(|(_, v)| v.as_str())
            .collect();
        if results.iter().any(|r| passes(r, &domain)) {
            None
        } else {
            Some(format!(
                "no DKIM or DMARC pass for {domain} in Authentication-Results (require-authenticated-senders is on)"
            ))
        }
    }
}

/// Whether one Authentication-Results value has dkim=pass with header.d (or header.i) of
/// `domain`, or dmarc=pass with header.from of `domain`.
fn passes(value: &str, domain: &str) -> bool {
    value.split(';').skip(1).any(|clause| {
        let clause = clause.trim().to_ascii_lowercase();
        let mut words = clause.split_whitespace();
        let Some(method) = words.next() else {
            return false;
        };
        let props: Vec<&str> = words.collect();
        let is = |key: &str| {
            props.iter().any(|p| {
                p.strip_prefix(key).is_some_and(|v| {
                    let v = v.trim_start_matches('@').trim_end_matches(';');
                    v == domain
                })
            })
        };
        match method {
            "dkim=pass" => is("header.d=") || is("header.i="),
            "dmarc=pass" => is("header.from="),
            _ => false,
        }
    })
}

/// The first command line of the new text, if any.
pub fn command(new_text: &str) -> Option<Command> {
    for line in new_text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("submitted") {
            let number: String = line[line.len() - rest.len()..]
                .trim_start_matches([':', ' ', '#'])
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            if number.chars().filter(char::is_ascii_digit).count() >= 6 {
                return Some(Command::Submitted(number));
            }
        }
        if lower.starts_with("ineligible") {
            let reason = line["ineligible".len()..]
                .trim_start_matches([':', ' '])
                .trim();
            return Some(Command::Ineligible(if reason.is_empty() {
                "marked ineligible by staff".into()
            } else {
                reason.to_string()
            }));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(
            command("Submitted 2603030040001234\n\nThanks"),
            Some(Command::Submitted("2603030040001234".into()))
        );
        assert_eq!(
            command("Hi,\nsubmitted: #2603030040001234"),
            Some(Command::Submitted("2603030040001234".into()))
        );
        assert_eq!(
            command("ineligible: advisory"),
            Some(Command::Ineligible("advisory".into()))
        );
        assert_eq!(command("submitted it yesterday"), None);
        assert_eq!(command("thanks, will do"), None);
    }

    #[test]
    fn authentication_results() {
        let ok = "mx.example; dkim=pass header.d=cloudwise.example header.s=sel; spf=pass";
        assert!(passes(ok, "cloudwise.example"));
        assert!(!passes(ok, "evil.example"));
        let dmarc = "mx.example; spf=fail; dmarc=pass header.from=cloudwise.example";
        assert!(passes(dmarc, "cloudwise.example"));
        let fail = "mx.example; dkim=fail header.d=cloudwise.example; dmarc=fail header.from=cloudwise.example";
        assert!(!passes(fail, "cloudwise.example"));
        // The authserv-id is not a clause: "dkim=pass" there proves nothing.
        assert!(!passes(
            "dkim=pass header.d=cloudwise.example",
            "cloudwise.example"
        ));
    }
}
