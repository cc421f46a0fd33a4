//! A claim's evidence, typed. The store keeps one JSON value per field (what
//! `claim::evidence_from` writes and `claim::merge` merges); [`Evidence::from_rows`]
//! reads them back once, and the checklist, the review reason, the draft and the
//! planner read its fields instead of looking values up by key.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::extract::{Contact, Window};
use crate::store::{Store, StoreError};

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
    /// The stored values, for what shows them as they are (`slaclaim claim`).
    stored: Vec<(String, Value)>,
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

    /// The evidence of claim `claim`, as the store holds it.
    pub fn of_claim(s: &Store, claim: i64) -> Result<Evidence, StoreError> {
        Ok(Evidence::from_rows(s.evidence_values(claim)?))
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
