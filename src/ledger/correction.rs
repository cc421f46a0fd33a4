//! Staff corrections: `users: 140`, `downtime: 2026-10-14 09:15-11:40 CEST`, ... in a
//! reply to a draft or from `slaclaim set`. One parser for both; a value staff set
//! stands over what mail says (see [`Evidence::of_claim`]) and is recorded with who set
//! it, where, and what it replaced.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::extract::Window;
use crate::ledger::evidence::Evidence;
use crate::store::{ClaimRow, NewCorrection, Store, StoreError};

/// How a value slaclaim derived itself (a tenant from the customer's domain) is signed
/// in the corrections it records: shown apart from staff's values, as one to check.
pub const DERIVED: &str = "slaclaim, derived from";

/// A field staff can set, by the word they write for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Affected users: a count, optionally per place.
    Users,
    /// Their places.
    Locations,
    /// The outage window(s).
    Downtime,
    /// The claim's incident ID.
    Incident,
    /// The claim's tenant GUID.
    Tenant,
    /// Bought through CSP.
    Csp,
    /// The helpdesk ticket number.
    Ticket,
    /// The customer's contact.
    Contact,
    /// What was tried.
    Attempts,
}

/// Every field, in the order a draft lists them.
pub const FIELDS: [Field; 9] = [
    Field::Tenant,
    Field::Incident,
    Field::Downtime,
    Field::Users,
    Field::Locations,
    Field::Attempts,
    Field::Ticket,
    Field::Contact,
    Field::Csp,
];

impl Field {
    /// The word staff write.
    pub fn name(self) -> &'static str {
        match self {
            Field::Users => "users",
            Field::Locations => "locations",
            Field::Downtime => "downtime",
            Field::Incident => "incident",
            Field::Tenant => "tenant",
            Field::Csp => "csp",
            Field::Ticket => "ticket",
            Field::Contact => "contact",
            Field::Attempts => "attempts",
        }
    }

    /// The field for a word staff wrote (or its checklist name), if it names one.
    pub fn parse(word: &str) -> Option<Field> {
        let word = word.trim().to_ascii_lowercase();
        Some(match word.as_str() {
            "users" | "affected users" => Field::Users,
            "locations" | "location" => Field::Locations,
            "downtime" => Field::Downtime,
            "incident" | "incident id" => Field::Incident,
            "tenant" | "tenant id" => Field::Tenant,
            "csp" => Field::Csp,
            "ticket" | "ticket number" => Field::Ticket,
            "contact" => Field::Contact,
            "attempts" | "resolution attempts" => Field::Attempts,
            _ => return None,
        })
    }

    /// The checklist field (see `claim::CHECKLIST`) it sets.
    pub fn checklist_field(self) -> &'static str {
        match self {
            Field::Users | Field::Locations => "affected_users",
            Field::Downtime => "downtime",
            Field::Incident => "incident_id",
            Field::Tenant => "tenant_id",
            Field::Csp => "purchased_via_csp",
            Field::Ticket | Field::Contact => "contact",
            Field::Attempts => "resolution_attempts",
        }
    }

    /// The form a value must have, for the answer to a line that could not be read.
    pub fn expected(self) -> &'static str {
        match self {
            Field::Users => "users: 140  or  users: 120 Amsterdam, 20 Utrecht",
            Field::Locations => "locations: Amsterdam, Utrecht",
            Field::Downtime => {
                "downtime: 2026-10-14 09:15-11:40 CEST  (or downtime: add …, or downtime: 90 minutes)"
            }
            Field::Incident => "incident: EX1234567  or  remove incident EX1234567",
            Field::Tenant => "tenant: 0b6f6a58-2c1d-4f2e-9a77-3c5d0e1f2a3b",
            Field::Csp => "csp: yes  or  csp: no",
            Field::Ticket => "ticket: 48213",
            Field::Contact => "contact: Name <address>  (optionally , +31 20 123 4567)",
            Field::Attempts => "attempts: what the customer tried",
        }
    }
}

/// What one line asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Set the field to this value (JSON, in the checklist's shape for the field).
    Set(Value),
    /// Add one outage window to those known.
    AddWindow(Value),
    /// Take this incident ID off the claim.
    RemoveIncident(String),
    /// End the staff value: what mail says counts again.
    Unset,
}

/// One line read.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The field it sets.
    pub field: Field,
    /// What it asks.
    pub change: Change,
    /// As written.
    pub text: String,
}

/// A line that names a field but whose value cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    /// The field it names.
    pub field: Field,
    /// As written.
    pub text: String,
    /// Why, with the expected form.
    pub why: String,
}

/// The correction lines of the unquoted top of a reply: every line that starts with a
/// field's word and a colon (or `remove incident`). Lines of prose and the template's
/// own example lines (with `<…>` placeholders) are not corrections.
pub fn parse_lines(top: &str, zone: chrono_tz::Tz) -> (Vec<Line>, Vec<Unreadable>) {
    let (mut read, mut unreadable) = (Vec::new(), Vec::new());
    for text in top.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if is_template_line(text) {
            continue;
        }
        let parsed = parse_line(text, zone);
        // A reply corrects a claim's few fields; thousands of lines are a loop or a
        // paste gone wrong, and each line costs a write.
        if parsed.is_some() && read.len() + unreadable.len() >= MAX_LINES {
            unreadable.push(Unreadable {
                field: Field::Users,
                text: text.chars().take(80).collect(),
                why: format!(
                    "more than {MAX_LINES} correction lines in one reply: this line and the rest were not read"
                ),
            });
            break;
        }
        match parsed {
            Some(Ok(line)) => read.push(line),
            Some(Err(u)) => unreadable.push(u),
            None => {}
        }
    }
    (read, unreadable)
}

/// Correction lines read from one reply, at most.
pub const MAX_LINES: usize = 50;

/// A line with a `<…>` placeholder (the draft's own examples): angle brackets around
/// anything but an address.
fn is_template_line(text: &str) -> bool {
    text.split('<').skip(1).any(|after| {
        after
            .split('>')
            .next()
            .is_some_and(|inside| !inside.contains('@'))
    })
}

/// One line: None when it is no correction at all.
pub fn parse_line(text: &str, zone: chrono_tz::Tz) -> Option<Result<Line, Unreadable>> {
    let text = text.trim().trim_start_matches(['-', '*', '•']).trim();
    let lower = text.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("remove incident") {
        let id = text[text.len() - rest.len()..]
            .trim()
            .trim_start_matches(':');
        return Some(
            incident_id(id)
                .map(|id| Line {
                    field: Field::Incident,
                    change: Change::RemoveIncident(id),
                    text: text.to_string(),
                })
                .ok_or_else(|| unreadable(Field::Incident, text, "no incident ID")),
        );
    }
    let (word, value) = text.split_once(':')?;
    let field = Field::parse(word)?;
    Some(
        parse_value(field, value.trim(), zone)
            .map(|change| Line {
                field,
                change,
                text: text.to_string(),
            })
            .map_err(|why| unreadable(field, text, &why)),
    )
}

fn unreadable(field: Field, text: &str, why: &str) -> Unreadable {
    Unreadable {
        field,
        text: text.to_string(),
        why: format!("{why}; write it as: {}", field.expected()),
    }
}

/// The value of `field` as staff wrote it (after the colon), for a reply or `set`.
pub fn parse_value(field: Field, value: &str, zone: chrono_tz::Tz) -> Result<Change, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("no value".into());
    }
    Ok(Change::Set(match field {
        Field::Users => users(value)?,
        Field::Locations => {
            let places = places(value);
            if places.is_empty() {
                return Err("no place".into());
            }
            json!(places)
        }
        Field::Downtime => {
            if let Some(rest) = strip_word(value, "add") {
                return Ok(Change::AddWindow(json!(window(rest, zone)?)));
            }
            let windows = value
                .split(';')
                .map(|w| window(w, zone))
                .collect::<Result<Vec<_>, _>>()?;
            json!(windows)
        }
        Field::Incident => json!(incident_id(value).ok_or("not an incident ID")?),
        Field::Tenant => json!(tenant_id(value).ok_or("not a tenant GUID")?),
        Field::Csp => json!(yes_no(value).ok_or("neither yes nor no")?),
        Field::Ticket => {
            let refs: Vec<&str> = value
                .split([',', ' '])
                .map(|r| r.trim().trim_start_matches('#'))
                .filter(|r| !r.is_empty())
                .collect();
            let ok = |r: &&str| {
                r.len() <= 64
                    && r.chars().any(|c| c.is_ascii_digit())
                    && r.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            };
            if refs.is_empty() || !refs.iter().all(ok) {
                return Err("not a ticket number".into());
            }
            json!({ "ticket_refs": refs })
        }
        Field::Contact => contact(value)?,
        Field::Attempts => {
            if value.chars().count() > 2000 {
                return Err("longer than 2000 characters".into());
            }
            json!(value)
        }
    }))
}

/// `140`, `120 Amsterdam, 20 Utrecht`, `140 in Amsterdam and Utrecht`.
fn users(value: &str) -> Result<Value, String> {
    let count = |s: &str| s.replace(['.', ',', '\u{a0}'], "").parse::<u64>().ok();
    let value = value.trim_end_matches('.');
    if let Some(n) = count(value) {
        return Ok(json!({ "count": n, "locations": [] }));
    }
    // A count per place: each part a number and a place.
    let parts = split_list(value);
    let per_place: Option<Vec<(u64, String)>> = parts
        .iter()
        .map(|p| {
            let (n, place) = p.split_once(' ')?;
            let place = place.trim().trim_start_matches("in ").trim();
            Some((count(n)?, place.to_string())).filter(|(_, p)| !p.is_empty())
        })
        .collect();
    if let Some(per_place) = per_place.filter(|p| !p.is_empty()) {
        let total: u64 = per_place.iter().map(|(n, _)| n).sum();
        let places: Vec<&String> = per_place.iter().map(|(_, p)| p).collect();
        return Ok(json!({ "count": total, "locations": places }));
    }
    // One count for several places: "140 in Amsterdam and Utrecht".
    if let Some((n, rest)) = value.split_once(' ') {
        if let (Some(n), Some(rest)) = (count(n), strip_word(rest.trim(), "in")) {
            return Ok(json!({ "count": n, "locations": places(rest) }));
        }
    }
    Err("no number of users".into())
}

fn split_list(value: &str) -> Vec<&str> {
    value
        .split([',', ';'])
        .flat_map(|p| p.split(" and "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn places(value: &str) -> Vec<String> {
    split_list(value.trim_end_matches('.'))
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// `rest` after `word` and a space, case-insensitive.
fn strip_word<'a>(value: &'a str, word: &str) -> Option<&'a str> {
    let head = value.get(..word.len())?;
    let rest = value.get(word.len()..)?;
    (head.eq_ignore_ascii_case(word) && rest.starts_with(' ')).then(|| rest.trim())
}

fn incident_id(value: &str) -> Option<String> {
    let id = value.trim().trim_end_matches('.').to_ascii_uppercase();
    let (letters, digits) = id.split_at_checked(2)?;
    (letters.chars().all(|c| c.is_ascii_uppercase())
        && (3..=10).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit()))
    .then_some(id)
}

/// A tenant GUID as staff (or Microsoft's discovery) write it: 8-4-4-4-12 hex digits,
/// lower-cased.
pub(crate) fn tenant_id(value: &str) -> Option<String> {
    let id = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let groups: Vec<&str> = id.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    (lengths == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit())))
    .then_some(id)
}

fn yes_no(value: &str) -> Option<bool> {
    match value
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .as_str()
    {
        "yes" | "y" | "ja" | "true" => Some(true),
        "no" | "n" | "nee" | "nein" | "false" => Some(false),
        _ => None,
    }
}

/// `Name <address>`, `address`, either with `, phone` after it.
fn contact(value: &str) -> Result<Value, String> {
    let (person, phone) = match value.rsplit_once(',') {
        Some((p, tel))
            if tel.chars().filter(char::is_ascii_digit).count() >= 6
                && tel
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-()./".contains(c)) =>
        {
            (p.trim(), Some(tel.trim()))
        }
        _ => (value, None),
    };
    let (name, email) = match person.split_once('<') {
        Some((name, rest)) => (
            Some(name.trim().trim_matches('"')).filter(|n| !n.is_empty()),
            rest.trim_end().strip_suffix('>').ok_or("no closing '>'")?,
        ),
        None => (None, person),
    };
    let email = email.trim();
    if email.parse::<lettre::Address>().is_err() {
        return Err(format!("{email:?} is not an email address"));
    }
    let mut c = json!({ "name": name, "email": email });
    if let Some(phone) = phone {
        c["phone"] = json!(phone);
    }
    Ok(json!({ "contact": c }))
}

/// A zone as staff write it: an abbreviation, an offset or an IANA name.
fn zone_offset(word: &str, date: NaiveDate, time: NaiveTime) -> Option<FixedOffset> {
    let upper = word.to_ascii_uppercase();
    // The abbreviations mail is read with, and two more a person writes on one line.
    let hours = match upper.as_str() {
        "Z" => Some(0),
        "IST" => Some(1),
        _ => crate::extract::when::zone_hours(&upper),
    };
    if let Some(h) = hours {
        return FixedOffset::east_opt(h * 3600);
    }
    if let Some(sign) = word.strip_prefix(['+', '-']) {
        let digits: String = sign.chars().filter(char::is_ascii_digit).collect();
        let (h, m) = match digits.len() {
            2 => (digits.parse::<i32>().ok()?, 0),
            4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
            _ => return None,
        };
        let secs = (h * 60 + m) * 60;
        return FixedOffset::east_opt(if word.starts_with('-') { -secs } else { secs });
    }
    let tz: chrono_tz::Tz = word.parse().ok()?;
    tz.offset_from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|o| chrono::Offset::fix(&o))
}

/// `2026-10-14 09:15-11:40 CEST`, `2026-10-14 23:10 - 2026-10-15 01:30`,
/// `14-10-2026 09:15-11:40`, or a duration alone: `90 minutes`, `2 hours`.
fn window(text: &str, zone: chrono_tz::Tz) -> Result<Value, String> {
    let text = text.trim().trim_end_matches('.');
    if let Some(minutes) = duration(text) {
        return Ok(json!({ "start": null, "end": null, "minutes": minutes }));
    }
    let words: Vec<&str> = text
        .split_whitespace()
        .flat_map(|w| split_range(w))
        .collect();
    let date = |w: &str| {
        NaiveDate::parse_from_str(w, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(w, "%d-%m-%Y"))
            .ok()
    };
    let time = |w: &str| NaiveTime::parse_from_str(&w.replace('.', ":"), "%H:%M").ok();
    // date time - [date] time [zone]
    let mut it = words.iter().copied().filter(|w| *w != "-" && *w != "to");
    let d1 = it
        .next()
        .and_then(date)
        .ok_or("no date (YYYY-MM-DD) first")?;
    let t1 = it
        .next()
        .and_then(time)
        .ok_or("no start time (HH:MM) after the date")?;
    let mut next = it.next().ok_or("no end time")?;
    let d2 = match date(next) {
        Some(d) => {
            next = it.next().ok_or("no end time")?;
            d
        }
        None => d1,
    };
    let t2 = time(next).ok_or("no end time (HH:MM)")?;
    let rest: Vec<&str> = it.collect();
    let start_local = d1.and_time(t1);
    let mut end_local = d2.and_time(t2);
    if end_local < start_local && d2 == d1 {
        // "23:10-01:30": over midnight.
        end_local += chrono::Duration::days(1);
    }
    let to_utc = |local: NaiveDateTime| -> Result<DateTime<Utc>, String> {
        match rest.as_slice() {
            [] => zone
                .from_local_datetime(&local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("{local} does not exist in {zone}")),
            [z] => zone_offset(z, local.date(), local.time())
                .and_then(|o| o.from_local_datetime(&local).single())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("unknown time zone {z:?}")),
            _ => Err(format!(
                "unexpected words after the times: {}",
                rest.join(" ")
            )),
        }
    };
    let (start, end) = (to_utc(start_local)?, to_utc(end_local)?);
    let minutes = (end - start).num_minutes();
    if minutes <= 0 || minutes > 31 * 24 * 60 {
        return Err("the end is not after the start (or is over a month later)".into());
    }
    Ok(json!(Window {
        start: Some(start),
        end: Some(end),
        minutes,
        source: String::new(),
        assumptions: Vec::new(),
    }))
}

/// "09:15-11:40" into "09:15", "11:40"; other words as they are.
fn split_range(word: &str) -> Vec<&str> {
    let is_time = |w: &str| {
        w.len() >= 4
            && w.contains([':', '.'])
            && w.chars()
                .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
    };
    match word.split_once('-') {
        Some((a, b)) if is_time(a) && is_time(b) => vec![a, b],
        _ => vec![word],
    }
}

/// "90 minutes", "90 min", "2 hours", "1.5 h".
fn duration(text: &str) -> Option<i64> {
    let (n, unit) = text.split_once(' ')?;
    let n: f64 = n.replace(',', ".").parse().ok()?;
    let per = match unit.trim().to_ascii_lowercase().as_str() {
        "minutes" | "minute" | "min" | "mins" | "minuten" => 1.0,
        "hours" | "hour" | "h" | "hrs" | "uur" | "stunden" => 60.0,
        _ => return None,
    };
    let minutes = (n * per).round();
    (minutes > 0.0 && minutes <= 31.0 * 24.0 * 60.0).then_some(minutes as i64)
}

/// What applying some lines to one claim did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    /// The lines taken, each as "field: value".
    pub accepted: Vec<String>,
    /// (line, why) of the lines refused.
    pub refused: Vec<(String, String)>,
}

/// Who set a value and where: a reply (its row) or the command line.
#[derive(Debug, Clone, Copy)]
pub struct By<'a> {
    /// The staff member.
    pub who: &'a str,
    /// The reply's row id; None from the command line.
    pub message: Option<i64>,
}

/// Applies read lines to claim `c` (refreshed by the caller) and records each, with
/// what it replaced. A line that cannot apply (an incident another claim of the ticket
/// has) is recorded as refused.
pub fn apply(
    s: &Store,
    c: &ClaimRow,
    lines: &[Line],
    by: By<'_>,
    now: &str,
) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    let mut claim = c.clone();
    for line in lines {
        let evidence = Evidence::of_claim(s, claim.id)?;
        let field = line.field;
        let before = current(&claim, &evidence, field);
        let value = match resolve(s, &claim, &evidence, line) {
            Ok(v) => v,
            Err(why) => {
                let refused = Recorded {
                    error: Some(&why),
                    ..Recorded::default()
                };
                record(s, &claim, line, refused, by, now)?;
                applied.refused.push((line.text.clone(), why));
                continue;
            }
        };
        if let Some(key) = key_value(field, &value) {
            let (tenant, incident) = match field {
                Field::Tenant => (key.to_string(), claim.incident_id.clone()),
                _ => (claim.tenant_id.clone(), key.to_string()),
            };
            s.set_claim_key(claim.id, &tenant, &incident, now)?;
            claim.tenant_id = tenant;
            claim.incident_id = incident;
        }
        let before = (!before.is_null()).then(|| before.to_string());
        let stored = value.as_ref().map(Value::to_string);
        let done = Recorded {
            value: stored.as_deref(),
            overrides: before.as_deref(),
            error: None,
        };
        record(s, &claim, line, done, by, now)?;
        applied.accepted.push(line.text.clone());
    }
    Ok(applied)
}

/// The claim key a tenant or incident line sets ("" to remove it).
fn key_value(field: Field, value: &Option<Value>) -> Option<String> {
    match field {
        Field::Tenant | Field::Incident => Some(
            value
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        _ => None,
    }
}

/// The value `field` has now, as shown (JSON null when none).
pub fn current(c: &ClaimRow, e: &Evidence, field: Field) -> Value {
    let key = |k: &str| if k.is_empty() { Value::Null } else { json!(k) };
    match field {
        Field::Tenant => key(&c.tenant_id),
        Field::Incident => key(&c.incident_id),
        Field::Users | Field::Locations => e
            .stored("affected_users")
            .or_else(|| e.stored("locations"))
            .cloned()
            .unwrap_or(Value::Null),
        other => e
            .stored(other.checklist_field())
            .cloned()
            .unwrap_or(Value::Null),
    }
}

/// The value a line leaves `field` with (None: unset), or why it cannot apply.
fn resolve(s: &Store, c: &ClaimRow, e: &Evidence, line: &Line) -> Result<Option<Value>, String> {
    let field = line.field;
    match &line.change {
        Change::Unset => {
            // A key goes back to what it was before staff set it.
            if matches!(field, Field::Tenant | Field::Incident) {
                let before = s
                    .corrections(c.id)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(|r| r.field == field.name() && r.error.is_none())
                    .find_map(|r| r.overrides)
                    .and_then(|o| serde_json::from_str::<Value>(&o).ok());
                return Ok(Some(before.unwrap_or(json!(""))));
            }
            Ok(None)
        }
        Change::RemoveIncident(id) => {
            if c.incident_id.eq_ignore_ascii_case(id) {
                Ok(Some(json!("")))
            } else {
                Err(format!(
                    "this claim's incident is {}, not {id}",
                    if c.incident_id.is_empty() {
                        "not known"
                    } else {
                        &c.incident_id
                    }
                ))
            }
        }
        Change::AddWindow(w) => {
            let mut windows: Vec<Value> = e
                .stored("downtime")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            windows.push(w.clone());
            Ok(Some(Value::Array(windows)))
        }
        Change::Set(v) => match field {
            Field::Incident | Field::Tenant => {
                let key = v.as_str().unwrap_or_default();
                let (tenant, incident) = match field {
                    Field::Tenant => (key, c.incident_id.as_str()),
                    _ => (c.tenant_id.as_str(), key),
                };
                let ticket = s
                    .ticket_by_reference(&c.ticket)
                    .map_err(|e| e.to_string())?;
                let others = match ticket {
                    Some(t) => s.claims_of_ticket(t).map_err(|e| e.to_string())?,
                    None => Vec::new(),
                };
                if others
                    .iter()
                    .any(|o| o.id != c.id && o.tenant_id == tenant && o.incident_id == incident)
                {
                    return Err(format!(
                        "{} already has another claim for {incident}",
                        c.ticket
                    ));
                }
                Ok(Some(v.clone()))
            }
            // "users: 140" keeps the places known; "locations:" keeps the count.
            Field::Users if v["locations"].as_array().is_some_and(Vec::is_empty) => {
                let places = e
                    .affected_users
                    .as_ref()
                    .map(|u| u.locations.clone())
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| e.locations.clone());
                Ok(Some(json!({ "count": v["count"], "locations": places })))
            }
            Field::Locations => Ok(Some(match &e.affected_users {
                Some(u) => json!({ "count": u.count, "locations": v }),
                None => v.clone(),
            })),
            _ => Ok(Some(v.clone())),
        },
    }
}

/// What became of one line: the value set and what it replaced, or why it was refused.
#[derive(Default)]
struct Recorded<'a> {
    value: Option<&'a str>,
    overrides: Option<&'a str>,
    error: Option<&'a str>,
}

fn record(
    s: &Store,
    c: &ClaimRow,
    line: &Line,
    what: Recorded<'_>,
    by: By<'_>,
    now: &str,
) -> Result<(), StoreError> {
    s.add_correction(
        &NewCorrection {
            claim_id: c.id,
            field: line.field.name(),
            value: what.value,
            line: &line.text,
            set_by: by.who,
            message: by.message,
            overrides: what.overrides,
            error: what.error,
            unreadable: false,
        },
        now,
    )?;
    Ok(())
}

/// Records lines that could not be read (staff get one answer naming them), or a
/// reply's lines that may not change the claim (`why`: not answered).
pub fn record_unread(
    s: &Store,
    claim: i64,
    lines: &[Unreadable],
    by: By<'_>,
    now: &str,
) -> Result<(), StoreError> {
    for u in lines {
        s.add_correction(
            &NewCorrection {
                claim_id: claim,
                field: u.field.name(),
                value: None,
                line: &u.text,
                set_by: by.who,
                message: by.message,
                overrides: None,
                error: Some(&u.why),
                unreadable: true,
            },
            now,
        )?;
    }
    Ok(())
}

/// Records a reply's lines that were not obeyed (a sender not authenticated as staff):
/// kept for the record, answered to nobody.
pub fn record_refused(
    s: &Store,
    claim: i64,
    lines: &[Line],
    why: &str,
    by: By<'_>,
    now: &str,
) -> Result<(), StoreError> {
    for line in lines {
        let value = match &line.change {
            Change::Set(v) | Change::AddWindow(v) => Some(v.to_string()),
            _ => None,
        };
        s.add_correction(
            &NewCorrection {
                claim_id: claim,
                field: line.field.name(),
                value: value.as_deref(),
                line: &line.text,
                set_by: by.who,
                message: by.message,
                overrides: None,
                error: Some(why),
                unreadable: false,
            },
            now,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AMS: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;

    fn set(text: &str) -> Value {
        match parse_line(text, AMS) {
            Some(Ok(Line {
                change: Change::Set(v),
                ..
            })) => v,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn every_form_of_the_issue_reads() {
        assert_eq!(set("users: 140"), json!({"count": 140, "locations": []}));
        assert_eq!(
            set("Users: 120 Amsterdam, 20 Utrecht"),
            json!({"count": 140, "locations": ["Amsterdam", "Utrecht"]})
        );
        assert_eq!(
            set("users: 1.250 in Gent and Brugge"),
            json!({"count": 1250, "locations": ["Gent", "Brugge"]})
        );
        assert_eq!(
            set("locations: Amsterdam, Utrecht"),
            json!(["Amsterdam", "Utrecht"])
        );
        assert_eq!(
            set("downtime: 2026-10-14 09:15-11:40 CEST"),
            json!([{"start": "2026-10-14T07:15:00Z", "end": "2026-10-14T09:40:00Z", "minutes": 145}])
        );
        assert_eq!(set("incident: ex1234567"), json!("EX1234567"));
        assert_eq!(
            set("tenant: 0B6F6A58-2C1D-4F2E-9A77-3C5D0E1F2A3B"),
            json!("0b6f6a58-2c1d-4f2e-9a77-3c5d0e1f2a3b")
        );
        assert_eq!(set("csp: yes"), json!(true));
        assert_eq!(set("CSP: nee"), json!(false));
        assert_eq!(set("ticket: #48213"), json!({"ticket_refs": ["48213"]}));
        assert_eq!(
            set("contact: Els Peeters <els@brewery.example>, +32 9 555 12 34"),
            json!({"contact": {"name": "Els Peeters", "email": "els@brewery.example", "phone": "+32 9 555 12 34"}})
        );
        assert_eq!(
            set("attempts: restarted Outlook, cleared the cache"),
            json!("restarted Outlook, cleared the cache")
        );
        assert!(matches!(
            parse_line("remove incident EX1234568", AMS),
            Some(Ok(Line { change: Change::RemoveIncident(id), .. })) if id == "EX1234568"
        ));
        assert!(matches!(
            parse_line("downtime: add 2026-10-15 08:00-08:30", AMS),
            Some(Ok(Line {
                change: Change::AddWindow(_),
                ..
            }))
        ));
    }

    #[test]
    fn windows_take_the_zone_given_or_the_policy_zone_and_cross_midnight() {
        // No zone: the policy's (Amsterdam, summer time in October's first half).
        assert_eq!(
            set("downtime: 2026-10-14 23:10-01:30"),
            json!([{"start": "2026-10-14T21:10:00Z", "end": "2026-10-14T23:30:00Z", "minutes": 140}])
        );
        assert_eq!(
            set("downtime: 14-10-2026 09.15 - 14-10-2026 10.00 +01:00"),
            json!([{"start": "2026-10-14T08:15:00Z", "end": "2026-10-14T09:00:00Z", "minutes": 45}])
        );
        assert_eq!(
            set("downtime: 2026-03-02 08:00-09:00 America/New_York"),
            json!([{"start": "2026-03-02T13:00:00Z", "end": "2026-03-02T14:00:00Z", "minutes": 60}])
        );
        assert_eq!(
            set("downtime: 90 minutes"),
            json!([{"start": null, "end": null, "minutes": 90}])
        );
    }

    #[test]
    fn a_line_naming_a_field_with_a_bad_value_says_what_was_expected() {
        for bad in [
            "users: lots",
            "downtime: yesterday morning",
            "downtime: 2026-10-14 11:00-11:00",
            "incident: the Exchange one",
            "tenant: contoso.example",
            "csp: maybe",
            "ticket: n/a",
            "contact: Els at the brewery",
            "remove incident",
        ] {
            let Some(Err(u)) = parse_line(bad, AMS) else {
                panic!("{bad} should be unreadable");
            };
            assert!(u.why.contains("write it as:"), "{bad}: {}", u.why);
        }
    }

    #[test]
    fn a_reply_is_read_for_at_most_the_cap_of_lines() {
        let top = "users: 5\n".repeat(10_000);
        let (read, bad) = parse_lines(&top, AMS);
        assert_eq!(read.len(), MAX_LINES);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].why.contains("were not read"));
    }

    #[test]
    fn prose_and_template_lines_are_no_corrections() {
        let (read, bad) = parse_lines(
            "Thanks, see below.\nThe users were unhappy: very.\n  users: <count>\nsubmitted <number>\nusers: 95\n",
            AMS,
        );
        assert_eq!(read.len(), 1);
        assert_eq!(
            read[0].change,
            Change::Set(json!({"count": 95, "locations": []}))
        );
        assert!(bad.is_empty(), "{bad:?}");
    }
}
