//! Microsoft's record of a claim's incident (Graph's serviceHealthIssue), read against
//! the claim: found or not in the tenant, advisory or incident, the service, whether the
//! customer's window overlaps Microsoft's, the impact Microsoft describes and its report.
//! Pure: `inbound::graph` fetches, the store keeps, this judges.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::extract::Window;
use crate::store::GraphCheck;

/// What Microsoft's record says of a claim, as `verify --json` prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Record {
    /// The incident ID asked for.
    pub incident_id: String,
    /// In this tenant.
    pub tenant_id: String,
    /// Found in the tenant; None when it could not be asked.
    pub found: Option<bool>,
    /// incident or advisory, lower-case, as Microsoft classifies it now.
    pub classification: Option<String>,
    /// Microsoft's status (serviceRestored, investigating, ...), as written.
    pub status: Option<String>,
    /// The service Microsoft names.
    pub service: Option<String>,
    /// The feature within it.
    pub feature: Option<String>,
    /// Whether the service is the one the ID's prefix stands for; None when unknown.
    pub service_matches: Option<bool>,
    /// Microsoft's start, RFC 3339 UTC.
    pub start: Option<String>,
    /// Microsoft's end, RFC 3339 UTC; None while open.
    pub end: Option<String>,
    /// Whether Microsoft marks it resolved.
    pub resolved: Option<bool>,
    /// The customer's window: its earliest start.
    pub customer_start: Option<String>,
    /// The customer's window: its latest end.
    pub customer_end: Option<String>,
    /// Whether some customer window overlaps Microsoft's; None when either is unknown.
    pub window_overlaps: Option<bool>,
    /// Microsoft's impact description.
    pub impact: Option<String>,
    /// The post-incident report, once Microsoft published one.
    pub report: Option<String>,
    /// When Microsoft's record was fetched.
    pub fetched_at: Option<String>,
    /// found | not_found | denied | throttled | timeout | bad_json | error.
    pub outcome: String,
    /// Why the newest try failed; None when it did not.
    pub error: Option<String>,
}

/// A serviceHealthIssue's string field, by its camelCase name (Graph's) or PascalCase.
fn field<'a>(issue: &'a Value, name: &str) -> Option<&'a str> {
    let pascal: String = name[..1].to_ascii_uppercase() + &name[1..];
    issue
        .get(name)
        .or_else(|| issue.get(&pascal))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn time(issue: &Value, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(field(issue, name)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The words a service name is recognised by, for each incident-ID prefix.
fn prefix_words(prefix: &str) -> &'static [&'static str] {
    match prefix {
        "EX" | "FO" => &["exchange"],
        "SP" => &["sharepoint"],
        "OD" => &["onedrive"],
        "TM" => &["teams"],
        "SB" => &["skype"],
        "PB" => &["power bi"],
        "YA" => &["yammer", "viva engage"],
        "MO" => &["microsoft 365", "office 365", "portal"],
        "OS" => &["office", "apps"],
        "IT" => &["intune"],
        "DZ" => &["defender"],
        _ => &[],
    }
}

/// How a review flag from Microsoft's record begins, so that a later check can clear it.
pub const REVIEW: &str = "Microsoft's record";

impl Record {
    /// Reads a stored check against the claim's incident and the customer's windows.
    pub fn read(check: &GraphCheck, windows: &[Window]) -> Record {
        let mut r = Record {
            incident_id: check.incident_id.clone(),
            tenant_id: check.tenant_id.clone(),
            outcome: check.outcome.clone(),
            error: check.error.clone(),
            fetched_at: check.fetched_at.clone(),
            found: match check.outcome.as_str() {
                "not_found" => Some(false),
                _ if check.snapshot.is_some() => Some(true),
                _ => None,
            },
            ..Record::default()
        };
        let customer_start = windows.iter().filter_map(|w| w.start).min();
        let customer_end = windows.iter().filter_map(|w| w.end).max();
        r.customer_start = customer_start.map(crate::stamp);
        r.customer_end = customer_end.map(crate::stamp);
        let Some(issue) = check
            .snapshot
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
        else {
            return r;
        };
        r.classification = field(&issue, "classification").map(str::to_ascii_lowercase);
        r.status = field(&issue, "status").map(str::to_string);
        r.service = field(&issue, "service").map(str::to_string);
        r.feature = field(&issue, "feature").map(str::to_string);
        r.impact = field(&issue, "impactDescription").map(str::to_string);
        r.resolved = issue
            .get("isResolved")
            .or_else(|| issue.get("IsResolved"))
            .and_then(Value::as_bool);
        let (start, end) = (time(&issue, "startDateTime"), time(&issue, "endDateTime"));
        r.start = start.map(crate::stamp);
        r.end = end.map(crate::stamp);
        let words = prefix_words(check.incident_id.get(..2).unwrap_or_default());
        r.service_matches = r.service.as_deref().filter(|_| !words.is_empty()).map(|s| {
            let s = s.to_ascii_lowercase();
            words.iter().any(|w| s.contains(w))
        });
        // Overlap: some customer window with both ends meets Microsoft's span (an open
        // incident runs until now).
        r.window_overlaps = start.map(|ms_start| {
            let ms_end = end.unwrap_or_else(Utc::now);
            windows.iter().any(|w| match (w.start, w.end) {
                (Some(s), Some(e)) => s < ms_end && e > ms_start,
                _ => false,
            })
        });
        if windows.iter().all(|w| w.start.is_none() || w.end.is_none()) {
            r.window_overlaps = None;
        }
        r.report = issue
            .get("posts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| {
                field(p, "postType").is_some_and(|t| t.eq_ignore_ascii_case("incidentReport"))
            })
            .map(|_| {
                format!(
                    "https://graph.microsoft.com/v1.0/admin/serviceAnnouncement/issues/{}/incidentReport",
                    r.incident_id
                )
            });
        r
    }

    /// Whether staff should think twice: an advisory, another service, or a window that
    /// misses Microsoft's.
    pub fn likely_ineligible(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.classification.as_deref() == Some("advisory") {
            why.push("Microsoft classifies it as an advisory".to_string());
        }
        if self.found == Some(false) {
            why.push("Microsoft has no such incident in this tenant".to_string());
        }
        if self.service_matches == Some(false) {
            why.push(format!(
                "Microsoft's service is {}, not what {} stands for",
                self.service.as_deref().unwrap_or("?"),
                self.incident_id.get(..2).unwrap_or_default()
            ));
        }
        if self.window_overlaps == Some(false) {
            why.push("the customer's window does not overlap Microsoft's".to_string());
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The lines a draft shows under "Microsoft's record".
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (self.found, self.outcome.as_str()) {
            (Some(false), _) => out.push(format!(
                "{} was not found in tenant {}",
                self.incident_id, self.tenant_id
            )),
            // Said the same way until the outcome changes: a draft changes (and goes out
            // again) when Microsoft's record does, not when one more try fails.
            (None, "denied") => out.push(format!(
                "not known yet: {}",
                self.error.as_deref().unwrap_or("access denied")
            )),
            (None, outcome) => out.push(format!(
                "not known yet: Microsoft could not be asked ({}); slaclaim keeps trying",
                outcome.replace('_', " ")
            )),
            (Some(true), _) => {
                // The last snapshot stands while a newer try fails (the check row and
                // `verify` say why); the draft does not change for a failed retry.
                out.push(format!(
                    "{}: {} in {}{}, status {}",
                    self.incident_id,
                    self.classification.as_deref().unwrap_or("unclassified"),
                    self.service.as_deref().unwrap_or("?"),
                    self.feature
                        .as_deref()
                        .map(|f| format!(" ({f})"))
                        .unwrap_or_default(),
                    self.status.as_deref().unwrap_or("?"),
                ));
                out.push(format!(
                    "Microsoft's window: {} to {}; the customer's: {} to {}{}",
                    self.start.as_deref().unwrap_or("?"),
                    self.end.as_deref().unwrap_or("still open"),
                    self.customer_start.as_deref().unwrap_or("?"),
                    self.customer_end.as_deref().unwrap_or("?"),
                    match self.window_overlaps {
                        Some(true) => " (they overlap)",
                        Some(false) => " (they DO NOT overlap)",
                        None => "",
                    }
                ));
                if let Some(impact) = &self.impact {
                    out.push(format!("Microsoft says: \"{impact}\""));
                }
                if let Some(report) = &self.report {
                    out.push(format!("post-incident report published: {report}"));
                }
            }
        }
        if let Some(why) = self.likely_ineligible() {
            out.push(format!("LIKELY INELIGIBLE: {why}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(outcome: &str, snapshot: Option<&str>) -> GraphCheck {
        GraphCheck {
            incident_id: "EX1234567".into(),
            tenant_id: "t".into(),
            outcome: outcome.into(),
            error: None,
            snapshot: snapshot.map(str::to_string),
            fetched_at: Some("2026-11-06T08:00:00Z".into()),
            checked_at: "2026-11-06T08:00:00Z".into(),
            attempts: 0,
            next_at: None,
        }
    }

    fn window(start: &str, end: &str) -> Window {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        Window {
            start: t(start),
            end: t(end),
            minutes: 0,
            source: String::new(),
            assumptions: Vec::new(),
        }
    }

    #[test]
    fn pascal_and_camel_case_read_alike_and_the_window_is_compared() {
        let camel = r#"{"id":"EX1234567","classification":"incident","status":"serviceRestored","service":"Exchange Online","startDateTime":"2026-11-05T12:00:00Z","endDateTime":"2026-11-05T15:00:00Z","isResolved":true,"impactDescription":"Users could not send mail.","posts":[{"postType":"incidentReport"}]}"#;
        let pascal = r#"{"Id":"EX1234567","Classification":"Incident","Status":"ServiceRestored","Service":"Exchange Online","StartDateTime":"2026-11-05T12:00:00Z","EndDateTime":"2026-11-05T15:00:00Z","IsResolved":true,"ImpactDescription":"Users could not send mail.","posts":[{"PostType":"IncidentReport"}]}"#;
        let inside = [window("2026-11-05T13:00:00Z", "2026-11-05T14:00:00Z")];
        let a = Record::read(&check("found", Some(camel)), &inside);
        let b = Record::read(&check("found", Some(pascal)), &inside);
        assert_eq!(a.classification.as_deref(), Some("incident"));
        assert_eq!(
            (a.found, a.window_overlaps, a.service_matches),
            (Some(true), Some(true), Some(true))
        );
        assert!(a.report.is_some() && a.likely_ineligible().is_none());
        assert_eq!(
            (
                a.classification,
                a.window_overlaps,
                a.service_matches,
                a.resolved
            ),
            (
                b.classification,
                b.window_overlaps,
                b.service_matches,
                b.resolved
            )
        );
        let before = [window("2026-11-04T08:00:00Z", "2026-11-04T09:00:00Z")];
        let r = Record::read(&check("found", Some(camel)), &before);
        assert_eq!(r.window_overlaps, Some(false));
        assert!(r.likely_ineligible().unwrap().contains("does not overlap"));
    }

    #[test]
    fn an_advisory_another_service_and_not_found_are_flagged_for_staff() {
        let advisory = r#"{"classification":"advisory","service":"SharePoint Online","startDateTime":"2026-11-05T12:00:00Z"}"#;
        let r = Record::read(&check("found", Some(advisory)), &[]);
        let why = r.likely_ineligible().unwrap();
        assert!(
            why.contains("advisory") && why.contains("SharePoint Online"),
            "{why}"
        );
        assert_eq!(r.window_overlaps, None, "no customer window to compare");
        let r = Record::read(&check("not_found", None), &[]);
        assert_eq!(r.found, Some(false));
        assert!(r.lines()[0].contains("was not found"));
        let mut failed = check("denied", None);
        failed.error = Some("403: consent missing".into());
        let r = Record::read(&failed, &[]);
        assert_eq!(r.found, None);
        assert!(r.lines()[0].contains("consent missing"));
    }
}
