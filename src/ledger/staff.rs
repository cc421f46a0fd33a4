//! Replies from helpdesk staff: `submitted <request number>` or `ineligible: <reason>`
//! in reply to a draft changes the claim's status, and reminders stop.
//!
//! Only configured staff addresses are heard, and by default only when the receiving
//! server's Authentication-Results show DKIM or DMARC passing for the sender's domain:
//! a forged From must not close a claim. Everything else is recorded and ignored.

use serde::Deserialize;

use crate::ledger::lifecycle;
use crate::store::{ClaimRow, Status, Store, StoreError};

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
    /// The customer no longer wants it, for this reason.
    Withdrawn(String),
}

impl Command {
    /// The status this mark moves a claim to, and the reason recorded, naming who
    /// marked it. An empty number or reason was not given.
    pub fn outcome(&self, who: &str) -> (Status, String) {
        let said = |what: &str, detail: &str, sep: &str| {
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!("{sep}{detail}")
            };
            format!("{what}{detail} (marked by {who})")
        };
        match self {
            Command::Submitted(n) => (
                Status::Submitted,
                said("submitted in Partner Center", n, " as "),
            ),
            Command::Ineligible(r) => (Status::Ineligible, said("ineligible", r, ": ")),
            Command::Withdrawn(r) => (Status::Withdrawn, said("withdrawn", r, ": ")),
        }
    }
}

/// Applies a staff mark (from a reply or the command line) to those of `claims` that
/// take it: their status, and the Microsoft case number of a submission. Returns the
/// claims marked, the status and the reason recorded.
pub fn apply(
    s: &Store,
    claims: &[ClaimRow],
    command: &Command,
    who: &str,
    now: &str,
) -> Result<(Vec<i64>, Status, String), StoreError> {
    let (to, why) = command.outcome(who);
    let mut marked = Vec::new();
    for c in claims.iter().filter(|c| lifecycle::takes_mark(c.status)) {
        if c.status == Status::Expired {
            tracing::warn!(ticket = %c.ticket, claim = c.id, "staff report a claim submitted after its deadline");
        }
        if let Command::Submitted(number) = command {
            if !number.is_empty() {
                s.set_case_number(c.id, number)?;
            }
        }
        s.set_status(c.id, to, &why, now)?;
        marked.push(c.id);
    }
    Ok((marked, to, why))
}

impl StaffConfig {
    /// Whether `from` is a staff address.
    pub fn is_staff(&self, from: Option<&str>) -> bool {
        from.is_some_and(|f| {
            let f = f.trim().trim_matches(['<', '>']);
            self.addresses.iter().any(|a| a.eq_ignore_ascii_case(f))
        })
    }

    /// Why a staff message from `domain` may not be obeyed, or None when it may: our
    /// receiving servers must say DMARC passed for that domain, or an aligned DKIM
    /// signature verified (or Exchange Online that the sender is internal).
    pub fn refusal(
        &self,
        domain: Option<&str>,
        verdict: Option<&crate::ledger::trust::Verdict>,
    ) -> Option<String> {
        if !self.require_authenticated_senders {
            return None;
        }
        let Some(domain) = domain.filter(|d| !d.is_empty()) else {
            return Some("no sender domain".into());
        };
        match verdict {
            None => Some(
                "no trusted Authentication-Results: set [trust] authserv-ids (or exchange-online) so staff mail can be authenticated (require-authenticated-senders is on)".into(),
            ),
            Some(v) if v.authenticated_for(domain) => None,
            Some(v) => Some(format!(
                "not authenticated as {domain} (require-authenticated-senders is on): {}",
                v.summary()
            )),
        }
    }
}

/// The command in the unquoted top of a reply ([`crate::mail::quote::top`]), if any: a line
/// that is exactly `submitted <number>` (six digits or more), `ineligible: <reason>` or
/// `withdrawn[: <reason>]`. The template's own example lines, with their `<…>`
/// placeholders, are refused, and so is anything with more words after the number.
pub fn command(top: &str) -> Option<Command> {
    for line in top.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.contains(['<', '>']) {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("submitted") {
            let number = rest
                .trim_start_matches([':', ' ', '#'])
                .trim_end_matches(['.', ' ']);
            if !number.is_empty()
                && number
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && number.chars().filter(char::is_ascii_digit).count() >= 6
            {
                return Some(Command::Submitted(number.to_ascii_uppercase()));
            }
        }
        let reason = |rest: &str| line[line.len() - rest.len()..].trim().to_string();
        if let Some(rest) = lower.strip_prefix("ineligible:") {
            if !rest.trim().is_empty() {
                return Some(Command::Ineligible(reason(rest)));
            }
        }
        if lower.trim_end_matches('.') == "withdrawn" {
            return Some(Command::Withdrawn("withdrawn by the customer".into()));
        }
        if let Some(rest) = lower.strip_prefix("withdrawn:") {
            return Some(Command::Withdrawn(if rest.trim().is_empty() {
                "withdrawn by the customer".into()
            } else {
                reason(rest)
            }));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_says_what_who_and_why_and_settles_only_open_claims() {
        let (to, why) =
            Command::Submitted("2612050010001234".into()).outcome("kim@partner.example");
        assert_eq!(to, Status::Submitted);
        assert_eq!(
            why,
            "submitted in Partner Center as 2612050010001234 (marked by kim@partner.example)"
        );
        let (to, why) = Command::Withdrawn(String::new()).outcome("staff at the command line");
        assert_eq!(
            (to, why.as_str()),
            (
                Status::Withdrawn,
                "withdrawn (marked by staff at the command line)"
            )
        );
    }

    #[test]
    fn commands() {
        assert_eq!(
            command("Submitted 2603030040001234\n\nThanks"),
            Some(Command::Submitted("2603030040001234".into()))
        );
        assert_eq!(
            command("Hi,\nsubmitted: #2603030040001234."),
            Some(Command::Submitted("2603030040001234".into()))
        );
        assert_eq!(
            command("ineligible: advisory"),
            Some(Command::Ineligible("advisory".into()))
        );
        assert_eq!(
            command("withdrawn: customer found the cause on their side"),
            Some(Command::Withdrawn(
                "customer found the cause on their side".into()
            ))
        );
        assert_eq!(command("submitted it yesterday"), None);
        assert_eq!(
            command("submitted 2603030040001234 and 2603030040001235"),
            None
        );
        assert_eq!(command("thanks, will do"), None);
        // The template's own lines are no commands.
        assert_eq!(command("  submitted <Partner Center request number>"), None);
        assert_eq!(command("  ineligible: <reason>"), None);
        // Nor a bare "ineligible" somewhere in prose.
        assert_eq!(command("ineligible claims are a pity"), None);
        assert_eq!(command("the claim was withdrawn last year, I think"), None);
    }
}
