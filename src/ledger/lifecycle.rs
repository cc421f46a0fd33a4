//! How a claim's status moves, in one place: by its checklist (collecting and ready),
//! by a staff mark (submitted, ineligible, withdrawn) and by its deadline (expired).
//! The store keeps the status; nothing else decides it, and mail alone never settles
//! a claim.

use crate::ledger::claim::Item;
use crate::store::{ClaimRow, Status};

/// The status a claim's checklist moves it to, and why; None keeps the current one.
/// Drafted stays drafted while the checklist stays complete.
pub fn next_status(current: Status, items: &[Item]) -> Option<(Status, String)> {
    if current.is_final() {
        return None;
    }
    let missing: Vec<&str> = items
        .iter()
        .filter(|i| !i.present)
        .map(|i| i.field)
        .collect();
    match (current, missing.is_empty()) {
        (Status::Collecting, true) => Some((Status::Ready, "checklist complete".into())),
        (Status::Ready | Status::Drafted, false) => Some((
            Status::Collecting,
            format!("information missing again: {}", missing.join(", ")),
        )),
        _ => None,
    }
}

/// Whether a claim in `status` still takes a staff mark: a submitted, ineligible or
/// withdrawn claim is settled; an expired one may still be reported submitted late.
pub fn takes_mark(status: Status) -> bool {
    !matches!(
        status,
        Status::Submitted | Status::Ineligible | Status::Withdrawn
    )
}

/// Whether a claim expires on `today` (YYYY-MM-DD): open, its deadline passed, and not
/// waiting for staff (a flagged claim's deadline was moved by mail, and mail alone
/// never closes a claim).
pub fn expires(c: &ClaimRow, today: &str) -> bool {
    !c.status.is_final() && c.review.is_none() && c.deadline.as_deref().is_some_and(|d| d < today)
}

/// Why an expired claim expired, as its history says.
pub const EXPIRED: &str = "deadline passed before the claim was submitted";

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(status: Status, deadline: &str, review: Option<&str>) -> ClaimRow {
        ClaimRow {
            id: 1,
            ticket_id: 1,
            ticket: "SLA-1".into(),
            tenant_id: String::new(),
            incident_id: String::new(),
            status,
            incident_start: None,
            start_assumed: false,
            deadline: Some(deadline.into()),
            submit_by: None,
            case_number: None,
            review: review.map(str::to_string),
        }
    }

    #[test]
    fn marks_settle_open_claims_and_deadlines_expire_unflagged_ones() {
        assert!(takes_mark(Status::Drafted) && takes_mark(Status::Expired));
        assert!(!takes_mark(Status::Submitted) && !takes_mark(Status::Withdrawn));
        assert!(expires(
            &claim(Status::Ready, "2026-03-31", None),
            "2026-04-01"
        ));
        assert!(!expires(
            &claim(Status::Ready, "2026-03-31", None),
            "2026-03-31"
        ));
        assert!(!expires(
            &claim(Status::Ready, "2026-03-31", Some("advisory?")),
            "2026-04-01"
        ));
        assert!(!expires(
            &claim(Status::Submitted, "2026-03-31", None),
            "2026-04-01"
        ));
    }
}
