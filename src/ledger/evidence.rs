//! A claim's evidence, typed. The store keeps one JSON value per field (what
//! `claim::evidence_from` writes and `claim::merge` merges); [`Evidence::from_rows`]
//! reads them back once, and the checklist, the review reason, the draft and the
//! planner read its fields instead of looking values up by key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::{Contact, Window};
use crate::store::{CorrectionRow, EvidenceRow, Store, StoreError};

/// How many were affected, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Users {
    /// Affected users in all.
    pub count: u64,
    /// Their places, as written.
    #[serde(default)]
    pub locations: Vec<String>,
}

/// The customer's mail asking for support and credit: the evidence Microsoft wants.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Its Message-ID.
    #[serde(default)]
    pub message_id: Option<String>,
    /// Its From address.
    #[serde(default)]
    pub from: Option<String>,
    /// Its Date header, RFC 3339.
    #[serde(default)]
    pub date: Option<String>,
    /// Its subject.
    #[serde(default)]
    pub subject: String,
}

/// Where the request was sent from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// The sender's domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// A personal mailbox (gmail.com, ...), which Partner Center does not accept.
    #[serde(default)]
    pub personal_mailbox: bool,
}

/// The support ticket numbers and the person to contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reach {
    /// Ticket and case references, ours and the customer's.
    #[serde(default)]
    pub ticket_refs: Vec<String>,
    /// Name, address and phone.
    #[serde(default)]
    pub contact: Contact,
}

/// A value read with little confidence, for staff to check against its words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The checklist field.
    pub field: String,
    /// How sure the reading was (0..1).
    #[serde(default)]
    pub confidence: f64,
    /// The words it was read from.
    #[serde(default)]
    pub source: String,
}

/// Everything known for one claim, by checklist field. A stored value that does not
/// read as its type is left out (and so counts as missing): it could only come from
/// an older or damaged ledger, and staff then see the item asked for again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Outage windows, chronological.
    pub downtime: Vec<Window>,
    /// Affected users and their places.
    pub affected_users: Option<Users>,
    /// Places said without a count.
    pub locations: Vec<String>,
    /// What the customer tried.
    pub resolution_attempts: Option<String>,
    /// Whether the subscriptions were bought through CSP.
    pub purchased_via_csp: Option<bool>,
    /// The customer's request.
    pub customer_request: Option<Request>,
    /// The request's sending domain.
    pub customer_domain: Option<Domain>,
    /// Ticket numbers and contact.
    pub contact: Option<Reach>,
    /// The customer says the incident was an advisory.
    pub advisory: bool,
    /// Values to check before submitting.
    pub check: Vec<Check>,
    /// The values staff set, which stand over what mail says.
    pub staff: Vec<StaffValue>,
    /// Customer mail that said otherwise after staff set a value.
    pub conflicts: Vec<Conflict>,
    /// The stored values, for what shows them as they are (`slaclaim claim`).
    stored: Vec<(String, Value)>,
}

/// A value staff set, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffValue {
    /// The checklist field it sets.
    pub field: &'static str,
    /// The staff field word (users, ticket, ...).
    pub word: String,
    /// The line as written.
    pub line: String,
    /// Who set it.
    pub set_by: String,
    /// The reply's Message-ID; None from the command line.
    pub message_id: Option<String>,
    /// When.
    pub at: String,
    /// What it replaced.
    pub overrides: Option<Value>,
}

/// Customer mail that, after staff set a field, says something else: staff's value
/// stands, and staff settle it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The checklist field.
    pub field: &'static str,
    /// What staff set.
    pub staff: Value,
    /// What the later mail says.
    pub mail: Value,
    /// That mail's Message-ID.
    pub message_id: Option<String>,
    /// When it changed.
    pub at: String,
}

impl Evidence {
    /// Reads the stored (field, JSON value) rows of one claim.
    pub fn from_rows(rows: Vec<(String, Value)>) -> Evidence {
        fn read<'v, T: Deserialize<'v>>(v: &'v Value) -> Option<T> {
            T::deserialize(v).ok()
        }
        let mut e = Evidence::default();
        for (field, v) in &rows {
            match field.as_str() {
                "downtime" => e.downtime = read(v).unwrap_or_default(),
                "affected_users" => e.affected_users = read(v),
                "locations" => e.locations = read(v).unwrap_or_default(),
                "resolution_attempts" => e.resolution_attempts = read(v),
                "purchased_via_csp" => e.purchased_via_csp = read(v),
                "customer_request" => e.customer_request = read(v),
                "customer_domain" => e.customer_domain = read(v),
                "contact" => e.contact = read(v),
                "advisory" => e.advisory = v == &Value::Bool(true),
                "check" => e.check = read(v).unwrap_or_default(),
                _ => {}
            }
        }
        e.stored = rows;
        e
    }

    /// The evidence of claim `claim`: what mail says, with the values staff set over it.
    pub fn of_claim(s: &Store, claim: i64) -> Result<Evidence, StoreError> {
        Ok(Evidence::of_rows(
            &s.evidence(claim)?,
            &s.corrections(claim)?,
        ))
    }

    /// The same from rows already read (a caller that needs the rows too reads once).
    pub fn of_rows(rows: &[EvidenceRow], corrections: &[CorrectionRow]) -> Evidence {
        let mut e = Evidence::from_rows(rows.iter().map(|r| (r.field.clone(), r.json())).collect());
        e.overlay(rows, corrections);
        e
    }

    /// Sets the values staff set (the newest applied correction of each field; one
    /// without a value ends it), and notes later mail that says otherwise.
    pub fn overlay(&mut self, rows: &[EvidenceRow], corrections: &[CorrectionRow]) {
        let mut standing: Vec<&CorrectionRow> = Vec::new();
        for c in corrections.iter().filter(|c| c.error.is_none()) {
            standing.retain(|s| s.field != c.field);
            standing.push(c);
        }
        standing.sort_by_key(|c| c.id);
        for c in standing {
            let Some(value) = c
                .value
                .as_deref()
                .and_then(|v| serde_json::from_str::<Value>(v).ok())
            else {
                continue;
            };
            let Some(field) = self.set_staff(&c.field, &value) else {
                continue;
            };
            self.check.retain(|k| k.field != field);
            let mail = rows.iter().find(|r| r.field == field);
            if let Some(mail) = mail.filter(|m| m.updated_at > c.at) {
                let said = mail.json();
                if Some(&said) != self.stored(field) {
                    self.conflicts.push(Conflict {
                        field,
                        staff: self.stored(field).cloned().unwrap_or(Value::Null),
                        mail: said,
                        message_id: mail.message_id.clone(),
                        at: mail.updated_at.clone(),
                    });
                }
            }
            self.staff.retain(|s| s.word != c.field);
            self.staff.push(StaffValue {
                field,
                word: c.field.clone(),
                line: c.line.clone(),
                set_by: c.set_by.clone(),
                message_id: c.message_id.clone(),
                at: c.at.clone(),
                overrides: c
                    .overrides
                    .as_deref()
                    .and_then(|o| serde_json::from_str(o).ok()),
            });
        }
    }

    /// Sets one staff value; returns the checklist field it set (None for the claim's
    /// key, kept on the claim itself, or a value that does not read).
    fn set_staff(&mut self, word: &str, value: &Value) -> Option<&'static str> {
        fn read<T: for<'v> Deserialize<'v>>(v: &Value) -> Option<T> {
            T::deserialize(v).ok()
        }
        let field = match word {
            "users" | "locations" if value.is_object() => {
                self.affected_users = Some(read(value)?);
                "affected_users"
            }
            "locations" => {
                self.locations = read(value)?;
                "locations"
            }
            "downtime" => {
                self.downtime = read(value)?;
                "downtime"
            }
            "csp" => {
                self.purchased_via_csp = Some(read(value)?);
                "purchased_via_csp"
            }
            "attempts" => {
                self.resolution_attempts = Some(read(value)?);
                "resolution_attempts"
            }
            // The claim's key is on the claim itself; only who set it is kept here.
            "incident" => return Some("incident_id"),
            "tenant" => return Some("tenant_id"),
            "ticket" | "contact" => {
                let mut reach = self.contact.clone().unwrap_or_default();
                if let Some(refs) = value.get("ticket_refs") {
                    reach.ticket_refs = read(refs)?;
                }
                if let Some(person) = value.get("contact").and_then(Value::as_object) {
                    let keep = |new: Option<&Value>, old: &Option<String>| {
                        new.and_then(Value::as_str)
                            .map(str::to_string)
                            .or(old.clone())
                    };
                    reach.contact = Contact {
                        name: keep(person.get("name"), &reach.contact.name),
                        email: keep(person.get("email"), &reach.contact.email),
                        phone: keep(person.get("phone"), &reach.contact.phone),
                    };
                }
                let stored = serde_json::to_value(&reach).ok()?;
                self.contact = Some(reach);
                self.put("contact", stored);
                return Some("contact");
            }
            _ => return None,
        };
        self.put(field, value.clone());
        Some(field)
    }

    fn put(&mut self, field: &str, value: Value) {
        match self.stored.iter_mut().find(|(k, _)| k == field) {
            Some((_, v)) => *v = value,
            None => self.stored.push((field.to_string(), value)),
        }
    }

    /// The staff value of a checklist field, if staff set it.
    pub fn staff_value(&self, field: &str) -> Option<&StaffValue> {
        self.staff.iter().rev().find(|s| s.field == field)
    }

    /// The stored value of `field`, as stored.
    pub fn stored(&self, field: &str) -> Option<&Value> {
        self.stored.iter().find(|(k, _)| k == field).map(|(_, v)| v)
    }

    /// The earliest outage start said.
    pub fn outage_start(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.downtime.iter().filter_map(|w| w.start).min()
    }

    /// Minutes of downtime in all, when any window is known.
    pub fn downtime_minutes(&self) -> Option<u64> {
        (!self.downtime.is_empty()).then(|| {
            self.downtime
                .iter()
                .filter_map(|w| u64::try_from(w.minutes).ok())
                .sum()
        })
    }

    /// Who asked for the credit.
    pub fn requester(&self) -> Option<&str> {
        self.customer_request.as_ref()?.from.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_values_read_back_typed_and_a_damaged_one_counts_as_missing() {
        let rows = vec![
            (
                "downtime".to_string(),
                json!([{"start": "2026-03-10T08:00:00Z", "end": "2026-03-10T09:30:00Z", "minutes": 90}]),
            ),
            (
                "affected_users".to_string(),
                json!({"count": 31, "locations": ["Liège"]}),
            ),
            (
                "customer_request".to_string(),
                json!({"from": "it@customer.example", "subject": "SLA"}),
            ),
            (
                "contact".to_string(),
                json!({"ticket_refs": ["4471"], "contact": {"phone": "+32 4 555"}}),
            ),
            ("purchased_via_csp".to_string(), json!("maybe")),
            ("advisory".to_string(), json!(true)),
        ];
        let e = Evidence::from_rows(rows.clone());
        assert_eq!(e.downtime_minutes(), Some(90));
        assert_eq!(
            e.outage_start().map(|t| t.to_rfc3339()),
            Some("2026-03-10T08:00:00+00:00".into())
        );
        assert_eq!(e.affected_users.as_ref().map(|u| u.count), Some(31));
        assert_eq!(e.requester(), Some("it@customer.example"));
        assert_eq!(
            e.contact.map(|c| c.contact.phone),
            Some(Some("+32 4 555".into()))
        );
        assert!(e.advisory);
        // "maybe" is no yes or no: the item stays missing.
        assert_eq!(e.purchased_via_csp, None);
        assert_eq!(
            Evidence::from_rows(rows).stored("advisory"),
            Some(&json!(true))
        );
    }
}
