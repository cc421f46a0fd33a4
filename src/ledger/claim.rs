//! Claim rules: which evidence a message adds, how it merges with what is known, the
//! required-information checklist and what staff should review. Pure: the store keeps
//! the values, this decides (the status moves in `lifecycle`).

use serde::Serialize;
use serde_json::{Value, json};

use crate::extract::Extraction;
use crate::extract::classify::Kind;
use crate::ledger::evidence::Evidence;

/// The checklist, in Microsoft's order, with a customer-domain check added.
pub const CHECKLIST: [(&str, &str); 9] = [
    ("tenant_id", "customer tenant GUID"),
    ("incident_id", "outage incident ID"),
    ("downtime", "time and duration of the downtime"),
    ("affected_users", "number and location(s) of affected users"),
    ("resolution_attempts", "description of attempts to resolve"),
    (
        "customer_request",
        "the customer's email requesting support and credit",
    ),
    (
        "contact",
        "support ticket number and customer contact details",
    ),
    ("purchased_via_csp", "purchased through CSP (yes/no)"),
    (
        "customer_domain",
        "request sent from a domain of the customer (not a personal mailbox)",
    ),
];

/// The evidence fields one message contributes, as (field, JSON value).
pub fn evidence_from(e: &Extraction) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if !e.downtime.is_empty() {
        out.push(("downtime", json!(e.downtime)));
    }
    if let Some(n) = e.affected_users {
        out.push((
            "affected_users",
            json!({ "count": n, "locations": e.locations }),
        ));
    } else if !e.locations.is_empty() {
        out.push(("locations", json!(e.locations)));
    }
    if let Some(r) = &e.resolution_attempts {
        out.push(("resolution_attempts", json!(r)));
    }
    if let Some(csp) = e.purchased_via_csp {
        out.push(("purchased_via_csp", json!(csp)));
    }
    if e.kind == Kind::CreditRequest && e.credit_requested {
        out.push(("customer_request", json!({ "message_id": e.message_id, "from": e.from, "date": e.date, "subject": e.subject })));
        out.push((
            "customer_domain",
            json!({ "domain": e.sender_domain, "personal_mailbox": e.personal_mailbox }),
        ));
    }
    let has_contact = e.contact.phone.is_some() || e.contact.email.is_some();
    if !e.ticket_refs.is_empty() || has_contact {
        out.push((
            "contact",
            json!({ "ticket_refs": e.ticket_refs, "contact": e.contact }),
        ));
    }
    if e.advisory {
        out.push(("advisory", json!(true)));
    }
    // What staff should check: each value this message gives with a confidence below
    // CHECK_BELOW, with the words it was read from. Always written when the message
    // gives such a value, so a later, surer reading clears the list.
    let checked: Vec<&str> = CHECKED
        .iter()
        .copied()
        .filter(|f| out.iter().any(|(k, _)| k == f))
        .collect();
    if !checked.is_empty() {
        let list: Vec<Value> = checked
            .iter()
            .filter_map(|f| {
                let source_field = if *f == "affected_users" && e.affected_users.is_none() {
                    "locations"
                } else {
                    f
                };
                let ev = e.evidence.get(source_field)?;
                (ev.confidence < CHECK_BELOW).then(
                    || json!({ "field": f, "confidence": ev.confidence, "source": ev.source }),
                )
            })
            .collect();
        out.push(("check", json!(list)));
    }
    out
}

/// The message's evidence, tiered against what is stored: a value read with less
/// certainty (on the message's "check" list) does not replace one the customer's words
/// gave with confidence; any other value does (a later message corrects earlier ones).
/// The "check" list is rewritten to match: entries for the values this message sets,
/// and the stored ones for the values it leaves.
pub fn tiered(
    new: &[(&'static str, Value)],
    stored: &[(String, Value)],
) -> Vec<(&'static str, Value)> {
    let list = |v: Option<&Value>| -> Vec<Value> {
        v.and_then(Value::as_array).cloned().unwrap_or_default()
    };
    let named = |entries: &[Value], field: &str| entries.iter().any(|c| c["field"] == field);
    let new_check = list(new.iter().find(|(f, _)| *f == "check").map(|(_, v)| v));
    let old_check = list(stored.iter().find(|(f, _)| f == "check").map(|(_, v)| v));
    let has = |field: &str| stored.iter().any(|(f, _)| f == field);
    let applied: Vec<(&'static str, Value)> = new
        .iter()
        .filter(|(f, _)| *f != "check")
        .filter(|(f, _)| !(named(&new_check, f) && has(f) && !named(&old_check, f)))
        .cloned()
        .collect();
    let mut out = applied.clone();
    if new.iter().any(|(f, _)| *f == "check") {
        let sets = |field: &Value| applied.iter().any(|(f, _)| *field == **f);
        let mut check: Vec<Value> = old_check
            .into_iter()
            .filter(|c| !sets(&c["field"]))
            .collect();
        check.extend(new_check.into_iter().filter(|c| sets(&c["field"])));
        out.push(("check", Value::Array(check)));
    }
    out
}

/// Fields read from the customer's words whose reading staff may be asked to check.
const CHECKED: [&str; 5] = [
    "downtime",
    "affected_users",
    "locations",
    "resolution_attempts",
    "purchased_via_csp",
];

/// Below this confidence a value is marked "check" in the draft, with its source.
pub const CHECK_BELOW: f64 = 0.7;

/// Merges a field's new value into the stored one. None: the new message adds nothing,
/// so the stored value and its source stay. A later message corrects earlier values,
/// but never blanks out what it does not mention (a follow-up without a phone number
/// keeps the phone number of the request).
pub fn merge(field: &str, old: Option<&Value>, new: &Value) -> Option<Value> {
    let Some(old) = old else {
        return Some(new.clone());
    };
    let merged = match field {
        // The first request is the evidence and dates the incident when no outage time is known.
        "customer_request" => return None,
        // A request from the customer's own domain beats one from a personal mailbox.
        "customer_domain"
            if old["personal_mailbox"] == json!(true)
                && new["personal_mailbox"] == json!(false) =>
        {
            new.clone()
        }
        "customer_domain" => return None,
        "contact" => {
            let mut refs: Vec<Value> = old["ticket_refs"].as_array().cloned().unwrap_or_default();
            for r in new["ticket_refs"].as_array().into_iter().flatten() {
                if !refs.contains(r) {
                    refs.push(r.clone());
                }
            }
            let mut contact = old["contact"].clone();
            if let (Some(c), Some(n)) = (contact.as_object_mut(), new["contact"].as_object()) {
                for (k, v) in n {
                    if !v.is_null() {
                        c.insert(k.clone(), v.clone());
                    }
                }
            }
            json!({ "ticket_refs": refs, "contact": contact })
        }
        "affected_users" if new["locations"].as_array().is_some_and(|l| l.is_empty()) => {
            json!({ "count": new["count"], "locations": old["locations"] })
        }
        _ => new.clone(),
    };
    (merged != *old).then_some(merged)
}

/// One checklist line: present with its value, or missing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Field name.
    pub field: &'static str,
    /// What Microsoft asks for.
    pub label: &'static str,
    /// Whether the item is satisfied.
    pub present: bool,
    /// The value, when there is one.
    pub value: Option<Value>,
    /// Why a value does not satisfy the item, when it does not.
    pub problem: Option<String>,
}

/// The checklist of a claim from its key and evidence.
pub fn checklist(tenant: &str, incident: &str, evidence: &Evidence) -> Vec<Item> {
    CHECKLIST
        .iter()
        .map(|&(field, label)| {
            let value = match field {
                "tenant_id" => (!tenant.is_empty()).then(|| json!(tenant)),
                "incident_id" => (!incident.is_empty()).then(|| json!(incident)),
                other => evidence.stored(other).cloned(),
            };
            let problem = match field {
                "affected_users" => evidence
                    .affected_users
                    .as_ref()
                    .filter(|u| u.locations.is_empty())
                    .map(|_| "the number is known, the location(s) are not"),
                // Without a helpdesk ticket number, the claim's own SLA-n reference is
                // the partner's ticket (the draft says so); the phone is what is missing.
                "contact" => evidence
                    .contact
                    .as_ref()
                    .filter(|c| c.contact.phone.is_none())
                    .map(|_| "no telephone number for the contact"),
                "customer_domain" => evidence
                    .customer_domain
                    .as_ref()
                    .filter(|d| d.personal_mailbox)
                    .map(|_| "sent from a personal mailbox; ask for the request from the customer's own domain"),
                _ => None,
            }
            .map(str::to_string);
            Item { field, label, present: value.is_some() && problem.is_none(), value, problem }
        })
        .collect()
}

/// How every review reason drawn from customer mail begins, so that a later
/// correction can clear it.
pub const CUSTOMER_SAYS: &str = "customer mail says";

/// Why staff must look at a claim, from what customer mail says: an advisory, or
/// subscriptions not bought through CSP. Mail never makes a claim ineligible by itself;
/// staff decide (`ineligible: <reason>`).
pub fn review_reason(evidence: &Evidence) -> Option<String> {
    let mut reasons = Vec::new();
    if evidence.advisory {
        reasons.push("the incident was an advisory");
    }
    // Staff who set the answer themselves know it: only the customer's word is flagged.
    if evidence.purchased_via_csp == Some(false)
        && evidence.staff_value("purchased_via_csp").is_none()
    {
        reasons.push("the subscriptions were not bought through CSP");
    }
    (!reasons.is_empty()).then(|| {
        format!(
            "{CUSTOMER_SAYS} {}: if so, reply \"ineligible: <reason>\"",
            reasons.join(" and ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::lifecycle::next_status;
    use crate::store::Status;

    #[test]
    fn an_uncertain_reading_does_not_replace_a_confident_one_but_a_confident_one_does() {
        let stored = vec![
            (
                "affected_users".to_string(),
                json!({"count": 140, "locations": ["Gent"]}),
            ),
            ("check".to_string(), json!([])),
        ];
        // A later message read "about 40" with little confidence: the 140 stands.
        let unsure = vec![
            ("affected_users", json!({"count": 40, "locations": []})),
            ("purchased_via_csp", json!(true)),
            (
                "check",
                json!([{"field": "affected_users", "confidence": 0.5, "source": "about 40 of us"}]),
            ),
        ];
        let out = tiered(&unsure, &stored);
        assert!(out.iter().all(|(f, _)| *f != "affected_users"), "{out:?}");
        assert!(out.iter().any(|(f, _)| *f == "purchased_via_csp"));
        assert_eq!(
            out.iter()
                .find(|(f, _)| *f == "check")
                .map(|(_, v)| v.clone()),
            Some(json!([]))
        );
        // Stored uncertain, now said surely: replaced, and the check entry goes.
        let stored = vec![
            (
                "affected_users".to_string(),
                json!({"count": 40, "locations": []}),
            ),
            (
                "check".to_string(),
                json!([{"field": "affected_users", "confidence": 0.5, "source": "about 40"}]),
            ),
        ];
        let sure = vec![
            (
                "affected_users",
                json!({"count": 95, "locations": ["Gent"]}),
            ),
            ("check", json!([])),
        ];
        let out = tiered(&sure, &stored);
        assert_eq!(
            out[0],
            (
                "affected_users",
                json!({"count": 95, "locations": ["Gent"]})
            )
        );
        assert_eq!(out[1], ("check", json!([])));
        // Stored uncertain, now uncertain again: the newer reading stands, still to check.
        let again = vec![
            ("affected_users", json!({"count": 45, "locations": []})),
            (
                "check",
                json!([{"field": "affected_users", "confidence": 0.5, "source": "45 or so"}]),
            ),
        ];
        let out = tiered(&again, &stored);
        assert_eq!(out[0].1["count"], json!(45));
        assert_eq!(out[1].1[0]["source"], json!("45 or so"));
    }

    fn list(tenant: &str, incident: &str, rows: &[(String, Value)]) -> Vec<Item> {
        checklist(tenant, incident, &Evidence::from_rows(rows.to_vec()))
    }

    fn review(rows: &[(String, Value)]) -> Option<String> {
        review_reason(&Evidence::from_rows(rows.to_vec()))
    }

    fn ev(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn complete() -> Vec<(String, Value)> {
        ev(&[
            (
                "downtime",
                json!([{"start": "2026-03-02T08:00:00Z", "end": "2026-03-02T10:30:00Z", "minutes": 150}]),
            ),
            (
                "affected_users",
                json!({"count": 45, "locations": ["Haarlem"]}),
            ),
            ("resolution_attempts", json!("restarted Outlook")),
            ("customer_request", json!({"message_id": "a@b"})),
            (
                "contact",
                json!({"ticket_refs": ["60001"], "contact": {"name": "Eva", "email": "e@x", "phone": "+31 20 555 0101"}}),
            ),
            ("purchased_via_csp", json!(true)),
            (
                "customer_domain",
                json!({"domain": "x.example", "personal_mailbox": false}),
            ),
        ])
    }

    #[test]
    fn complete_checklist_is_ready_and_each_gap_is_named() {
        let e = complete();
        let items = list("t", "EX1234567", &e);
        assert!(items.iter().all(|i| i.present), "{items:?}");
        assert_eq!(
            next_status(Status::Collecting, &items).map(|s| s.0),
            Some(Status::Ready)
        );
        let items = list("", "EX1234567", &e);
        assert_eq!(
            items
                .iter()
                .filter(|i| !i.present)
                .map(|i| i.field)
                .collect::<Vec<_>>(),
            ["tenant_id"]
        );
        let mut personal = complete();
        personal[6].1 = json!({"domain": "gmail.com", "personal_mailbox": true});
        let items = list("t", "EX1234567", &personal);
        assert!(
            items
                .iter()
                .any(|i| i.field == "customer_domain" && !i.present && i.problem.is_some())
        );
        let mut no_place = complete();
        no_place[1].1 = json!({"count": 45, "locations": []});
        assert!(
            list("t", "EX1234567", &no_place)
                .iter()
                .any(|i| i.field == "affected_users" && !i.present)
        );
    }

    #[test]
    fn advisory_or_no_csp_flags_for_staff_and_final_states_stay() {
        let mut e = complete();
        e.push(("advisory".into(), json!(true)));
        // What the customer says flags the claim for staff; it never closes it.
        let items = list("t", "i", &e);
        assert_ne!(
            next_status(Status::Collecting, &items).map(|s| s.0),
            Some(Status::Ineligible)
        );
        let why = review(&e).unwrap_or_default();
        assert!(
            why.starts_with(CUSTOMER_SAYS) && why.contains("advisory"),
            "{why}"
        );
        let mut e = complete();
        e[5].1 = json!(false);
        assert_eq!(next_status(Status::Ready, &list("t", "i", &e)), None);
        assert!(
            review(&e)
                .unwrap_or_default()
                .contains("not bought through CSP")
        );
        assert_eq!(review(&complete()), None);
        assert_eq!(next_status(Status::Submitted, &list("t", "i", &e)), None);
    }

    #[test]
    fn merge_keeps_what_a_follow_up_does_not_mention() {
        let old = json!({"ticket_refs": ["60001"], "contact": {"name": "Eva", "email": "e@x", "phone": "+31 20 555 0101"}});
        let new =
            json!({"ticket_refs": [], "contact": {"name": "Eva", "email": "e@x", "phone": null}});
        assert_eq!(
            merge("contact", Some(&old), &new),
            None,
            "nothing new: keep the old value and source"
        );
        let new = json!({"ticket_refs": ["2603050010004417"], "contact": {"name": "Eva", "email": "e@x", "phone": null}});
        let merged = merge("contact", Some(&old), &new).unwrap_or_default();
        assert_eq!(merged["ticket_refs"], json!(["60001", "2603050010004417"]));
        assert_eq!(merged["contact"]["phone"], "+31 20 555 0101");
        let users = merge(
            "affected_users",
            Some(&json!({"count": 40, "locations": ["Leeds"]})),
            &json!({"count": 45, "locations": []}),
        );
        assert_eq!(users, Some(json!({"count": 45, "locations": ["Leeds"]})));
        assert_eq!(
            merge("purchased_via_csp", Some(&json!(true)), &json!(true)),
            None
        );
        assert_eq!(
            merge(
                "customer_request",
                Some(&json!({"message_id": "first"})),
                &json!({"message_id": "second"})
            ),
            None
        );
        let personal = json!({"domain": "gmail.com", "personal_mailbox": true});
        let company = json!({"domain": "contoso.example", "personal_mailbox": false});
        assert_eq!(
            merge("customer_domain", Some(&personal), &company),
            Some(company.clone())
        );
        assert_eq!(merge("customer_domain", Some(&company), &personal), None);
    }
}
