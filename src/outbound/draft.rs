//! Drafts for the helpdesk, reminders and digests for managers: what the message says.
//!
//! The wording lives in templates (minijinja): defaults are compiled in from `templates/`,
//! and a file of the same name in `template-dir` replaces one. A text template's first line
//! is `Subject: ...`. This module fills them from a claim and composes the MIME message;
//! queueing and sending are the outbox's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use minijinja::Environment;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ledger::claim;
use crate::ledger::evidence::Evidence;
use crate::store::ClaimRow;

/// Template names and their compiled-in defaults.
const DEFAULTS: [(&str, &str); 11] = [
    ("draft.en.txt", include_str!("../../templates/draft.en.txt")),
    ("draft.nl.txt", include_str!("../../templates/draft.nl.txt")),
    ("draft.html", include_str!("../../templates/draft.html")),
    (
        "corrections.en.txt",
        include_str!("../../templates/corrections.en.txt"),
    ),
    (
        "corrections.nl.txt",
        include_str!("../../templates/corrections.nl.txt"),
    ),
    (
        "reminder.en.txt",
        include_str!("../../templates/reminder.en.txt"),
    ),
    (
        "reminder.nl.txt",
        include_str!("../../templates/reminder.nl.txt"),
    ),
    (
        "expired.en.txt",
        include_str!("../../templates/expired.en.txt"),
    ),
    (
        "expired.nl.txt",
        include_str!("../../templates/expired.nl.txt"),
    ),
    (
        "digest.en.txt",
        include_str!("../../templates/digest.en.txt"),
    ),
    (
        "digest.nl.txt",
        include_str!("../../templates/digest.nl.txt"),
    ),
];

/// Language of drafts and reminders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Dutch (nl-NL).
    Nl,
}

impl Language {
    /// "en" or "nl".
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Nl => "nl",
        }
    }
}

/// One customer the partner serves, by tenant.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Customer {
    /// Tenant GUID.
    pub tenant: String,
    /// Name shown in subjects ("Contoso").
    pub name: String,
    /// Licensed users of the affected services, for the credit estimate.
    pub licensed_users: Option<u64>,
}

/// The `[drafts]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DraftConfig {
    /// Helpdesk addresses that receive drafts.
    #[serde(default)]
    pub helpdesk: Vec<String>,
    /// Also send each draft to the customer's requester. Off: drafts are internal.
    #[serde(default)]
    pub send_to_customers: bool,
    /// Language of drafts, reminders and digests.
    #[serde(default)]
    pub language: Language,
    /// Directory whose template files replace the compiled-in ones of the same name.
    pub template_dir: Option<PathBuf>,
    /// Customer emails attached as evidence, in total at most this many bytes.
    #[serde(default = "default_attach")]
    pub max_attachment_bytes: usize,
}

impl Default for DraftConfig {
    fn default() -> Self {
        DraftConfig {
            helpdesk: Vec::new(),
            send_to_customers: false,
            language: Language::En,
            template_dir: None,
            max_attachment_bytes: default_attach(),
        }
    }
}

fn default_attach() -> usize {
    20 << 20
}

/// The loaded templates.
pub struct Templates {
    env: Environment<'static>,
    /// A digest of every template's source: what the planner records a claim was
    /// planned with.
    fingerprint: String,
}

impl Templates {
    /// Loads the defaults, replaced by files of the same name in `dir`.
    pub fn load(dir: Option<&Path>) -> Result<Templates, String> {
        let mut env = Environment::new();
        let mut sources = Vec::new();
        // Block tags sit inside lines; only the newline after a tag that ends a line
        // goes ("trim blocks"), and templates mark the exceptions with "+%}".
        env.set_trim_blocks(true);
        env.set_keep_trailing_newline(true);
        for (name, default) in DEFAULTS {
            let source = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|e| format!("template {}: {e}", path.display()))?,
                None => default.to_string(),
            };
            for part in [name.as_bytes(), &[0], source.as_bytes(), &[0]] {
                sources.extend_from_slice(part);
            }
            env.add_template_owned(name, source)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        let fingerprint = crate::store::sha256_hex(&sources);
        let templates = Templates { env, fingerprint };
        templates.check()?;
        Ok(templates)
    }

    /// A digest of the templates' sources: equal for equal wording.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Renders every template with a sample, so a broken override fails at config load.
    fn check(&self) -> Result<(), String> {
        let sample = sample_context();
        for (name, _) in DEFAULTS {
            let ctx = if name.starts_with("digest") {
                json!({"claims": [sample.clone()], "expired": [sample.clone()], "failed": [], "today": "2026-03-01", "ticket": "SLA-1", "language": "en"})
            } else {
                sample.clone()
            };
            let ctx = if name.starts_with("corrections") {
                json!({"subject": "s", "ticket": "SLA-1", "lines": [{"line": "users: many", "why": "no number"}], "language": "en"})
            } else {
                ctx
            };
            let ctx = if name.ends_with(".html") {
                json!({"subject": "s", "text": "t", "language": "en"})
            } else {
                ctx
            };
            self.render(name, &ctx)?;
        }
        Ok(())
    }

    /// Renders `name`; a text template gives (subject, body).
    pub fn render(&self, name: &str, ctx: &Value) -> Result<(String, String), String> {
        let out = self
            .env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| format!("template {name}: {e:#}"))?;
        if name.ends_with(".html") {
            return Ok((String::new(), out));
        }
        let (first, rest) = out.split_once('\n').unwrap_or((out.as_str(), ""));
        let subject = first
            .strip_prefix("Subject:")
            .ok_or_else(|| format!("template {name}: the first line must be \"Subject: ...\""))?
            .trim()
            .to_string();
        // Marked as ours, whatever the template says: an echo of it (a ticket tool's
        // acknowledgement, a quote, a forward) is never read as anyone's words.
        let rest = rest.trim_end_matches('\n');
        let body = format!(
            "{}\n{rest}\n{}\n",
            crate::mail::quote::OWN_BEGIN,
            crate::mail::quote::OWN_END
        );
        Ok((subject, body))
    }
}

/// What the checklist lacks: label, problem, and whom to ask.
#[derive(Debug, Clone, Serialize)]
struct Missing {
    field: &'static str,
    label: String,
    problem: Option<String>,
    ask: &'static str,
    hint: Option<&'static str>,
}

/// Who can supply a field, and a hint how.
fn who_knows(field: &str, lang: Language) -> (&'static str, Option<&'static str>) {
    let nl = lang == Language::Nl;
    match field {
        "tenant_id" => (
            "staff",
            Some(if nl {
                "Partner Center -> Klanten -> de klant -> Account -> Microsoft ID"
            } else {
                "Partner Center -> Customers -> the customer -> Account -> Microsoft ID"
            }),
        ),
        "incident_id" => (
            "staff",
            Some(if nl {
                "Microsoft 365-beheercentrum -> Servicestatus -> Geschiedenis, of vraag de klant"
            } else {
                "Microsoft 365 admin center -> Service health -> History, or ask the customer"
            }),
        ),
        "purchased_via_csp" => (
            "staff",
            Some(if nl {
                "Partner Center -> Klanten -> de klant -> Abonnementen"
            } else {
                "Partner Center -> Customers -> the customer -> Subscriptions"
            }),
        ),
        "customer_request" | "customer_domain" => (
            "customer",
            Some(if nl {
                "een e-mail vanaf het eigen domein van de klant waarin om support en om creditering wordt gevraagd"
            } else {
                "an email from the customer's own domain asking for support and for the credit"
            }),
        ),
        _ => ("customer", None),
    }
}

/// Dutch labels for the checklist (the English ones are claim::CHECKLIST's).
fn label(field: &str, english: &str, lang: Language) -> String {
    if lang == Language::En {
        return english.to_string();
    }
    match field {
        "tenant_id" => "tenant-ID (GUID) van de klant",
        "incident_id" => "incident-ID van de storing",
        "downtime" => "tijdstip en duur van de storing",
        "affected_users" => "aantal en locatie(s) van de getroffen gebruikers",
        "resolution_attempts" => "wat er is geprobeerd om het op te lossen",
        "customer_request" => "de e-mail van de klant met het verzoek om support en creditering",
        "contact" => "supportticketnummer en contactgegevens van de klant",
        "purchased_via_csp" => "via CSP afgenomen (ja/nee)",
        "customer_domain" => "verzoek vanaf een domein van de klant (geen persoonlijke mailbox)",
        _ => english,
    }
    .to_string()
}

/// The claim's evidence as the values the templates print.
fn describe(
    evidence: &Evidence,
    ticket: &str,
    zone: chrono_tz::Tz,
) -> BTreeMap<&'static str, Value> {
    let mut out = BTreeMap::new();
    if !evidence.downtime.is_empty() {
        let text: Vec<String> = evidence
            .downtime
            .iter()
            .filter_map(|w| {
                // A duration alone is worth saying: how long is known, when is not.
                let (Some(s), Some(e)) = (w.start, w.end) else {
                    return (w.minutes > 0).then(|| {
                        format!(
                            "{} minutes; start time not stated: ask the customer",
                            w.minutes
                        )
                    });
                };
                let (s, e) = (s.with_timezone(&zone), e.with_timezone(&zone));
                let same_day = s.date_naive() == e.date_naive();
                Some(format!(
                    "{} – {} {} ({} minutes)",
                    s.format("%Y-%m-%d %H:%M"),
                    if same_day {
                        e.format("%H:%M").to_string()
                    } else {
                        e.format("%Y-%m-%d %H:%M").to_string()
                    },
                    s.format("%Z"),
                    w.minutes
                ))
            })
            .collect();
        out.insert("downtime", json!(text.join("; ")));
    }
    if let Some(u) = &evidence.affected_users {
        out.insert(
            "users",
            json!(if u.locations.is_empty() {
                format!("{} users", u.count)
            } else {
                format!("{} users in {}", u.count, u.locations.join(", "))
            }),
        );
    }
    if let Some(r) = &evidence.resolution_attempts {
        out.insert("resolution", json!(r));
    }
    if let Some(r) = &evidence.customer_request {
        out.insert(
            "request",
            json!(format!(
                "email from {} of {} \"{}\" (attached)",
                r.from.as_deref().unwrap_or("?"),
                r.date.as_deref().unwrap_or("?"),
                r.subject
            )),
        );
    }
    if let Some(c) = &evidence.contact {
        let person: Vec<&str> = [&c.contact.name, &c.contact.email, &c.contact.phone]
            .into_iter()
            .filter_map(|v| v.as_deref())
            .collect();
        // Without a helpdesk ticket, ours is the one Microsoft can quote back.
        let refs = if c.ticket_refs.is_empty() {
            ticket.to_string()
        } else {
            c.ticket_refs.join(", ")
        };
        out.insert(
            "contact",
            json!(format!("ticket {refs}; {}", person.join(", "))),
        );
    }
    if let Some(csp) = evidence.purchased_via_csp {
        out.insert("csp", json!(csp));
    }
    out
}

/// The Microsoft Online Services SLA estimate from user-minutes.
pub fn credit_estimate(
    affected_users: Option<u64>,
    downtime_minutes: Option<u64>,
    licensed_users: Option<u64>,
    incident_day: Option<NaiveDate>,
) -> Value {
    let (Some(affected), Some(minutes)) = (affected_users, downtime_minutes) else {
        return json!({"known": false, "why": "the number of affected users or the downtime is not known yet"});
    };
    let Some(licensed) = licensed_users.filter(|n| *n > 0) else {
        return json!({"known": false, "why": "the customer's number of licensed users is not configured ([[customer]] licensed-users)"});
    };
    let Some(day) = incident_day else {
        return json!({"known": false, "why": "the incident date is not known"});
    };
    let days_in_month = crate::ledger::deadline::last_day_of_next_month(
        day.with_day(1).unwrap_or(day) - chrono::Duration::days(1),
    )
    .day();
    let month_minutes = u64::from(days_in_month) * 1440;
    let lost = affected.min(licensed) * minutes;
    let uptime = 100.0 * (1.0 - lost as f64 / (licensed * month_minutes) as f64);
    let percent = if uptime < 95.0 {
        100
    } else if uptime < 99.0 {
        50
    } else if uptime < 99.9 {
        25
    } else {
        0
    };
    json!({
        "known": true,
        "affected_users": affected.min(licensed),
        "downtime_minutes": minutes,
        "lost_user_minutes": lost,
        "licensed_users": licensed,
        "month_minutes": month_minutes,
        "month": day.format("%Y-%m").to_string(),
        "uptime": format!("{uptime:.3}"),
        "percent": percent,
    })
}

/// Everything a draft or reminder template gets for one claim.
pub fn claim_context(
    c: &ClaimRow,
    evidence: &Evidence,
    customers: &[Customer],
    services: &BTreeMap<String, String>,
    lang: Language,
    zone: chrono_tz::Tz,
    today: NaiveDate,
) -> Value {
    let items = claim::checklist(&c.tenant_id, &c.incident_id, evidence);
    let missing: Vec<Missing> = items
        .iter()
        .filter(|i| !i.present)
        .map(|i| {
            let (ask, hint) = who_knows(i.field, lang);
            Missing {
                field: i.field,
                label: label(i.field, i.label, lang),
                problem: i.problem.clone(),
                ask,
                hint,
            }
        })
        .collect();
    let customer = customers.iter().find(|k| k.tenant == c.tenant_id);
    let domain = evidence
        .customer_domain
        .as_ref()
        .and_then(|d| d.domain.clone());
    let name = one_line(
        &customer
            .map(|k| k.name.clone())
            .or(domain)
            .unwrap_or_else(|| "unknown customer".into()),
        MAX_VALUE_CHARS,
    );
    let described = describe(evidence, &c.ticket, zone);
    let checks: Vec<String> = evidence
        .check
        .iter()
        .filter_map(|c| {
            let item = items.iter().find(|i| i.field == c.field)?;
            Some(format!(
                "{}: \"{}\"",
                label(item.field, item.label, lang),
                one_line(&c.source, MAX_VALUE_CHARS)
            ))
        })
        .collect();
    let users = evidence.affected_users.as_ref().map(|u| u.count);
    let minutes = evidence.downtime_minutes();
    let incident_day = c
        .incident_start
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&zone).date_naive());
    let deadline = c
        .deadline
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let mut ctx = json!({
        "ticket": c.ticket,
        "claim_id": c.id,
        "incident_id": c.incident_id,
        "service": services.get(c.incident_id.get(..2).unwrap_or_default()),
        "tenant_id": c.tenant_id,
        "customer": name,
        "status": c.status,
        "deadline": c.deadline,
        "submit_by": c.submit_by,
        "days_left": deadline.map(|d| (d - today).num_days()),
        "complete": missing.is_empty(),
        "missing": missing,
        "credit": credit_estimate(users, minutes, customer.and_then(|k| k.licensed_users), incident_day),
        "checks": checks,
        "staff": staff_lines(evidence, &items, lang),
        "derived": derived_lines(evidence, &items, lang),
        "conflicts": conflict_lines(evidence, &items, lang),
        "version": 1,
        "changes": [],
        "language": lang.code(),
        "today": today.to_string(),
    });
    if let Value::Object(map) = &mut ctx {
        for (k, v) in described {
            let v = match v {
                Value::String(text) => Value::String(one_line(&text, MAX_VALUE_CHARS)),
                other => other,
            };
            map.insert(k.to_string(), v);
        }
    }
    ctx
}

/// A checklist field's label in the draft's language.
fn label_of(items: &[claim::Item], field: &str, lang: Language) -> String {
    items
        .iter()
        .find(|i| i.field == field)
        .map_or_else(|| field.to_string(), |i| label(i.field, i.label, lang))
}

/// The values staff set, one line each: which, who, and what it replaced.
fn staff_lines(evidence: &Evidence, items: &[claim::Item], lang: Language) -> Vec<String> {
    evidence
        .staff
        .iter()
        .filter(|v| !v.set_by.starts_with(crate::ledger::correction::DERIVED))
        .map(|v| {
            let label = label_of(items, v.field, lang);
            let was = v
                .overrides
                .as_ref()
                .map(|o| format!("; was {}", one_line(&plain(o), 120)))
                .unwrap_or_default();
            one_line(
                &format!(
                    "{label}: \"{}\" (set by {}, {}{was})",
                    v.line, v.set_by, v.at
                ),
                MAX_VALUE_CHARS,
            )
        })
        .collect()
}

/// The values slaclaim derived itself (a tenant from the customer's domain), to check.
fn derived_lines(evidence: &Evidence, items: &[claim::Item], lang: Language) -> Vec<String> {
    evidence
        .staff
        .iter()
        .filter(|v| v.set_by.starts_with(crate::ledger::correction::DERIVED))
        .map(|v| {
            one_line(
                &format!(
                    "{}: {} ({}, {})",
                    label_of(items, v.field, lang),
                    v.line,
                    v.set_by,
                    v.at
                ),
                MAX_VALUE_CHARS,
            )
        })
        .collect()
}

/// Customer mail that says otherwise than staff did, for staff to settle.
fn conflict_lines(evidence: &Evidence, items: &[claim::Item], lang: Language) -> Vec<String> {
    evidence
        .conflicts
        .iter()
        .map(|c| {
            let label = label_of(items, c.field, lang);
            one_line(
                &format!(
                    "{label}: staff set {}, but later customer mail <{}> of {} says {}; staff's value stands: reply with the right value to settle it",
                    plain(&c.staff),
                    c.message_id.as_deref().unwrap_or("?"),
                    c.at,
                    plain(&c.mail)
                ),
                MAX_VALUE_CHARS,
            )
        })
        .collect()
}

/// A JSON value as plain words.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "nothing".into(),
        other => other.to_string(),
    }
}

/// The Partner Center lines of a draft's context, each as printed, and which checklist
/// field each comes from.
const SUMMARY: [(&str, &str, &str); 8] = [
    ("tenant_id", "tenant_id", "Customer tenant ID"),
    ("incident_id", "incident_id", "Incident ID"),
    ("downtime", "downtime", "Time and duration of the downtime"),
    (
        "users",
        "affected_users",
        "Number and location(s) of affected users",
    ),
    ("resolution", "resolution_attempts", "Attempts to resolve"),
    (
        "request",
        "customer_request",
        "Customer's email requesting support and credit",
    ),
    (
        "contact",
        "contact",
        "Support ticket number and customer contact",
    ),
    (
        "csp",
        "purchased_via_csp",
        "Subscriptions purchased through CSP",
    ),
];

/// What a draft says line by line, kept with it for the next version.
pub fn summary(ctx: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, _, _) in SUMMARY {
        out.insert(
            key.to_string(),
            ctx.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

/// What changed since the draft before (`before`: its summary), line by line, naming
/// staff who set a value.
pub fn changes(before: Option<&Value>, now: &Value, evidence: &Evidence) -> Vec<String> {
    let Some(before) = before else {
        return Vec::new();
    };
    let shown = |v: &Value| match v {
        Value::Null => "missing".to_string(),
        Value::String(s) if s.is_empty() => "missing".to_string(),
        Value::Bool(true) => "Yes".to_string(),
        Value::Bool(false) => "No".to_string(),
        other => one_line(&plain(other), 200),
    };
    SUMMARY
        .iter()
        .filter(|(key, _, _)| before.get(key) != now.get(key))
        .map(|(key, field, label)| {
            let by = evidence
                .staff_value(field)
                .map(|v| format!(" (set by {}: \"{}\")", v.set_by, one_line(&v.line, 200)))
                .unwrap_or_default();
            format!(
                "{label}: {} -> {}{by}",
                shown(before.get(key).unwrap_or(&Value::Null)),
                shown(now.get(key).unwrap_or(&Value::Null))
            )
        })
        .collect()
}

/// The longest value from mail printed in a draft; the whole of it is in the attached
/// original.
pub const MAX_VALUE_CHARS: usize = 400;

/// `text` as one line for the Partner Center text: control characters and line breaks
/// (Unicode's too) become spaces, runs of spaces one, and it is cut at `max` characters
/// with "…". A value from mail can then never add lines of its own to the claim text.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    for c in text.chars() {
        let c = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        if count == max {
            out.truncate(out.trim_end().len());
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out.truncate(out.trim_end().len());
    out
}

/// A complete claim, for checking templates at load time.
fn sample_context() -> Value {
    let c = ClaimRow {
        id: 1,
        ticket_id: 1,
        ticket: "SLA-1".into(),
        tenant_id: "11111111-2222-4333-8444-555555555555".into(),
        incident_id: "EX1234567".into(),
        status: crate::store::Status::Ready,
        incident_start: Some("2026-03-02T08:00:00Z".into()),
        start_assumed: false,
        deadline: Some("2026-04-30".into()),
        submit_by: Some("2026-04-27".into()),
        case_number: None,
        review: None,
    };
    claim_context(
        &c,
        &Evidence::default(),
        &[],
        &BTreeMap::new(),
        Language::En,
        chrono_tz::UTC,
        NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default(),
    )
}

/// A message to compose: headers, bodies, attachments.
pub struct Outgoing<'a> {
    /// Our address.
    pub from: &'a str,
    /// Recipients.
    pub to: &'a [String],
    /// Subject as plain text; the builder encodes it (RFC 2047) where it is not ASCII.
    pub subject: &'a str,
    /// Message-ID without brackets.
    pub message_id: &'a str,
    /// The Message-ID (without brackets) this one follows up: In-Reply-To and
    /// References, so clients thread a claim's mail together.
    pub in_reply_to: Option<&'a str>,
    /// Plain text.
    pub text: &'a str,
    /// HTML alternative, if any.
    pub html: Option<&'a str>,
    /// message/rfc822 attachments (raw mails).
    pub attachments: &'a [Vec<u8>],
    /// Date header.
    pub date: DateTime<Utc>,
}

/// Builds the RFC 5322 bytes, with the loop-prevention headers every message carries.
pub fn compose(m: &Outgoing<'_>) -> Result<Vec<u8>, String> {
    let from: Mailbox = m
        .from
        .parse()
        .map_err(|e| format!("from {:?}: {e}", m.from))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(m.subject)
        .message_id(Some(format!("<{}>", m.message_id)))
        .date(m.date.into())
        // RFC 3834: our mail is automatic; Exchange: send no auto-replies to it.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".into(),
        ));
    if let Some(first) = m.in_reply_to {
        builder = builder
            .in_reply_to(format!("<{first}>"))
            .references(format!("<{first}>"));
    }
    for to in m.to {
        let mailbox: Mailbox = to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?;
        builder = builder.to(mailbox);
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(m.text.to_string());
    let body = match m.html {
        Some(html) => MultiPart::alternative().singlepart(text).singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html.to_string()),
        ),
        None => MultiPart::alternative().singlepart(text),
    };
    let message = if m.attachments.is_empty() {
        builder.multipart(body)
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for raw in m.attachments {
            mixed = mixed.singlepart(rfc822(raw));
        }
        builder.multipart(mixed)
    }
    .map_err(|e| e.to_string())?;
    Ok(message.formatted())
}

/// The longest line SMTP carries (RFC 5321 §4.5.3.1.6), without its CRLF.
const MAX_LINE_OCTETS: usize = 998;

/// An attached message. RFC 2046 §5.2.1 allows message/rfc822 only in 7bit, 8bit or
/// binary, so a mail whose lines fit goes as 7bit (ASCII) or 8bit, with its line ends made
/// CRLF; one that cannot (a line over 998 octets, a NUL) goes as application/octet-stream
/// "original.eml" in base64. Either way a reader gets the customer's bytes back.
fn rfc822(raw: &[u8]) -> SinglePart {
    let disposition = lettre::message::header::ContentDisposition::attachment("original.eml");
    match crlf_lines(raw) {
        Some(lines) => {
            let encoding = if lines.is_ascii() {
                ContentTransferEncoding::SevenBit
            } else {
                ContentTransferEncoding::EightBit
            };
            let kind = ContentType::parse("message/rfc822").unwrap_or(ContentType::TEXT_PLAIN);
            SinglePart::builder()
                .header(kind)
                .header(disposition)
                .body(Body::dangerous_pre_encoded(lines, encoding))
        }
        None => {
            let kind =
                ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN);
            let body = Body::new_with_encoding(raw.to_vec(), ContentTransferEncoding::Base64)
                .unwrap_or_else(Body::new);
            SinglePart::builder()
                .header(kind)
                .header(disposition)
                .body(body)
        }
    }
}

/// `raw` with every line ending made CRLF, if it can travel as 7bit or 8bit: no NUL and
/// no line over [`MAX_LINE_OCTETS`]. One pass.
fn crlf_lines(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32 + 2);
    let mut line = 0usize;
    let mut bytes = raw.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            0 => return None,
            b'\r' | b'\n' => {
                // CRLF, a bare CR and a bare LF all end one line.
                if b == b'\r' && bytes.peek() == Some(&b'\n') {
                    bytes.next();
                }
                out.extend_from_slice(b"\r\n");
                line = 0;
            }
            _ => {
                line += 1;
                if line > MAX_LINE_OCTETS {
                    return None;
                }
                out.push(b);
            }
        }
    }
    if line > 0 {
        out.extend_from_slice(b"\r\n");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_mail_are_one_line_and_capped() {
        assert_eq!(
            one_line("Re: outage\r\n6. Customer's email: forged", 400),
            "Re: outage 6. Customer's email: forged"
        );
        assert_eq!(one_line("a\u{2028}b\u{85}c\td", 400), "a b c d");
        assert_eq!(
            one_line(&"x".repeat(500), 10),
            format!("{}…", "x".repeat(10))
        );
        assert_eq!(one_line("  spaced   out  ", 400), "spaced out");
    }

    #[test]
    fn an_original_that_fits_goes_as_7bit_or_8bit_with_crlf_lines() {
        let latin1 = b"Subject: storing\nContent-Type: text/plain; charset=iso-8859-1\n\nGr\xfc\xdfe, the mail was down.\r\nA bare CR\rends a line too";
        let lines = crlf_lines(latin1).unwrap_or_default();
        assert_eq!(
            lines,
            b"Subject: storing\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xfc\xdfe, the mail was down.\r\nA bare CR\r\nends a line too\r\n".to_vec()
        );
        let long_but_legal = [b"X: ".as_slice(), &[b'y'; MAX_LINE_OCTETS - 3]].concat();
        assert!(crlf_lines(&long_but_legal).is_some());
        let too_long = [long_but_legal.as_slice(), b"y"].concat();
        assert_eq!(crlf_lines(&too_long), None);
        assert_eq!(crlf_lines(b"Subject: a\r\n\r\nnul \0 byte"), None);

        let part = |raw: &[u8]| String::from_utf8_lossy(&rfc822(raw).formatted()).into_owned();
        let eight = part(latin1);
        assert!(eight.contains("Content-Type: message/rfc822"), "{eight}");
        assert!(eight.contains("Content-Transfer-Encoding: 8bit"), "{eight}");
        let seven = part(b"Subject: plain\n\nASCII only, with a line longer than seventy-six octets, which is fine in 7bit.\n");
        assert!(seven.contains("Content-Transfer-Encoding: 7bit"), "{seven}");
        let binary = part(&too_long);
        assert!(
            binary.contains("Content-Type: application/octet-stream"),
            "{binary}"
        );
        assert!(
            binary.contains("Content-Transfer-Encoding: base64"),
            "{binary}"
        );
        assert!(binary.contains("original.eml"), "{binary}");
    }

    #[test]
    fn credit_tiers_from_user_minutes() {
        let day = NaiveDate::from_ymd_opt(2026, 2, 10);
        // February 2026: 28 days, 40,320 minutes; 100 users.
        let e = credit_estimate(Some(100), Some(60), Some(100), day);
        assert_eq!(e["month_minutes"], 40_320);
        assert_eq!(e["percent"], 25, "{e}"); // 99.851%
        let e = credit_estimate(Some(100), Some(600), Some(100), day);
        assert_eq!(e["percent"], 50, "{e}"); // 98.51%
        let e = credit_estimate(Some(100), Some(2100), Some(100), day);
        assert_eq!(e["percent"], 100, "{e}"); // 94.79%
        let e = credit_estimate(Some(10), Some(30), Some(1000), day);
        assert_eq!(e["percent"], 0, "{e}");
        let e = credit_estimate(Some(10), Some(30), None, day);
        assert_eq!(e["known"], false);
        assert!(
            e["why"]
                .as_str()
                .unwrap_or_default()
                .contains("licensed users")
        );
    }

    #[test]
    fn default_templates_render_and_start_with_a_subject() {
        let t = Templates::load(None).unwrap();
        let (subject, body) = t.render("draft.en.txt", &sample_context()).unwrap();
        assert!(
            subject.starts_with("[SLA-1] Draft SLA credit claim EX1234567"),
            "{subject}"
        );
        assert!(body.contains("Customer services credit requests"), "{body}");
    }

    #[test]
    fn uncertain_values_are_named_for_staff_with_their_words() {
        let c = ClaimRow {
            id: 2,
            ticket_id: 2,
            ticket: "SLA-2".into(),
            tenant_id: "11111111-2222-4333-8444-555555555555".into(),
            incident_id: "EX1234567".into(),
            status: crate::store::Status::Ready,
            incident_start: None,
            start_assumed: false,
            deadline: None,
            submit_by: None,
            case_number: None,
            review: None,
        };
        let mut mail = crate::extract::Extractor::new(&Default::default())
            .unwrap()
            .extract(b"From: k@cust.example\nSubject: SLA credit EX1234567\nDate: Tue, 10 Mar 2026 15:00:00 +0100\n\nPlease claim an SLA credit. Mail was down for about 90 minutes. 12 users in Leeds.\n");
        // As the store gives it back: field name and value.
        mail.kind = crate::extract::classify::Kind::CreditRequest;
        let evidence: Vec<(String, Value)> = crate::ledger::claim::evidence_from(&mail)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert!(evidence.iter().any(|(k, _)| k == "check"), "{evidence:?}");
        let ctx = claim_context(
            &c,
            &Evidence::from_rows(evidence),
            &[],
            &BTreeMap::new(),
            Language::En,
            chrono_tz::UTC,
            NaiveDate::from_ymd_opt(2026, 3, 11).unwrap(),
        );
        let t = Templates::load(None).unwrap();
        let (_, body) = t.render("draft.en.txt", &ctx).unwrap();
        assert!(body.contains("Check before you submit"), "{body}");
        assert!(
            body.contains("\"Mail was down for about 90 minutes.\""),
            "{body}"
        );
    }

    #[test]
    fn a_broken_override_fails_at_load() {
        let dir = std::env::temp_dir().join(format!("slaclaim-tpl-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("draft.en.txt"), "Subject: {{ oops\n");
        let err = Templates::load(Some(&dir)).err().unwrap_or_default();
        assert!(err.contains("draft.en.txt"), "{err}");
        let _ = std::fs::write(dir.join("draft.en.txt"), "no subject line\n");
        let err = Templates::load(Some(&dir)).err().unwrap_or_default();
        assert!(err.contains("Subject:"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
