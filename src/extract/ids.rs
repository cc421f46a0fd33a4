//! Identifiers: incident IDs, tenant GUIDs and ticket references.

use regex::Regex;
use std::sync::LazyLock;

static GUID: LazyLock<Regex> = re!(
    r"(?i)\b([0-9a-f]{8})-\s?([0-9a-f]{4})-\s?([0-9a-f]{4})-\s?([0-9a-f]{4})-\s?([0-9a-f]{12})\b",
);
static NOT_TENANT: LazyLock<Regex> = re!(
    r"(?i)(subscription|abonnement|abonnements|correlation|request|anfrage|object|session|activity|trace|client|app(?:lication)?|message|order|bestelling|device|gerät|apparaat|user|gebruiker|benutzer|policy|resource|transaction|error)[\s_-]*(?:id|guid|nummer|nr|number)?\W*$",
);
static TENANT_LABEL: LazyLock<Regex> =
    re!(r"(?i)(tenant|directory|mandant|organi[sz]ation|organisatie|huurder)");

/// GUIDs in the text with their byte offset. A GUID starts with no literal for regex to
/// skip to, so its automaton would walk every byte of every message, a byte at a time;
/// instead each hyphen is a candidate (memchr), and only one after eight hex digits at
/// a word start is handed to the pattern, on a short window. Same matches.
fn guids(text: &str) -> impl Iterator<Item = (usize, regex::Captures<'_>)> {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    text.match_indices('-').filter_map(move |(hyphen, _)| {
        let start = hyphen.checked_sub(8)?;
        let at_word_start = start == 0 || !is_word(bytes[start - 1]);
        if !at_word_start || !bytes[start..hyphen].iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        // The longest form is 8-4-4-4-12 with a space after each hyphen: 40 bytes, and
        // one more for the closing word boundary.
        let mut end = (start + 48).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let c = GUID.captures(&text[start..end])?;
        (c.get(0)?.start() == 0).then_some((start, c))
    })
}

/// Whether the text holds any GUID: a yes/no search, before the full scan.
pub(crate) fn mentions_guid(text: &str) -> bool {
    guids(text).next().is_some()
}

/// Tenant GUIDs, lower-cased, skipping GUIDs labelled as something else.
pub fn tenant_ids(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (offset, c) in guids(text) {
        let Some(whole) = c.get(0) else { continue };
        let whole = (offset + whole.start())..(offset + whole.end());
        let line_start = text[..whole.start].rfind('\n').map_or(0, |i| i + 1);
        let mut ctx_start = whole.start.saturating_sub(48).max(line_start);
        while !text.is_char_boundary(ctx_start) {
            ctx_start += 1;
        }
        let before = &text[ctx_start..whole.start];
        let labelled_tenant = TENANT_LABEL.is_match(before);
        if !labelled_tenant
            && (NOT_TENANT.is_match(before)
                || before.ends_with(['/', '=', '{', '<']) && before.contains("http"))
        {
            continue;
        }
        let guid: String = (1..=5)
            .filter_map(|i| c.get(i).map(|g| g.as_str().to_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join("-");
        if !out.iter().any(|(g, _)| *g == guid) {
            out.push((guid, line_around(text, whole.start)));
        }
    }
    out
}

/// Incident IDs for the configured prefixes, with the line each was found in.
pub fn incident_ids(text: &str, pattern: &Regex) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for m in pattern.find_iter(text) {
        let id = m.as_str().to_string();
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, line_around(text, m.start())));
        }
    }
    out
}

/// Every ticket form in one pattern, so the text is scanned once, left to right:
/// our subject tags, prefixed partner tickets, labelled numbers, Microsoft case numbers.
static TICKET: LazyLock<Regex> = re!(concat!(
    r"\[#?\s*(?<tag>[A-Za-z]{2,6}-\d(?:[\d-]{0,18}\d)?|\d{4,10})\s*\]",
    r"|(?i:\b(?<prefixed>(?:SLA|PSR|INC|REQ|RITM|CHG|TKT|CASE|SR|CS|TICKET)-\d{1,10}(?:-\d{2,8})?|[A-Z]{2,5}-\d{4}-\d{3,6}|(?:INC|REQ|RITM|CS)\d{6,12})\b)",
    r"|(?i:\b(?:ticket|tickets|case|ref|reference|referentie|referenz|melding|meldingsnummer|ticketnummer|ticketnr|vorgang|vorgangsnummer|supportanfrage|support request|service request|servicerequest|aanvraag|anfrage|storingsnummer)\b(?:\s+(?:no|nr|number|nummer|id|is|was|ist|lautet|hat die nummer|with you|bij jullie|bei ihnen|bei uns))*\.?\s*[:#]?\s*#?\s*(?<labelled>[A-Z]{0,5}-?\d[\d-]{2,22}\d)\b)",
    r"|\b(?<case>(?<yy>\d{2})(?<mm>\d{2})(?<dd>\d{2})\d{10})\b",
));

/// Ticket references as written: our own tags, partner tickets and Microsoft case numbers.
pub fn ticket_refs(text: &str, incident: &Regex) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for c in TICKET.captures_iter(text) {
        let (value, at) = if let Some(g) = c.name("tag").or_else(|| c.name("prefixed")) {
            (g.as_str(), g.start())
        } else if let Some(g) = c.name("labelled") {
            // A phone number or a date is not a ticket, however it is labelled.
            let v = g.as_str();
            if v.matches('-').count() >= 2 && !v.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue;
            }
            (v, g.start())
        } else if let Some(g) = c.name("case") {
            let field = |name| {
                c.name(name)
                    .and_then(|g| g.as_str().parse::<u32>().ok())
                    .unwrap_or(0)
            };
            let (yy, mm, dd) = (field("yy"), field("mm"), field("dd"));
            if !((15..=60).contains(&yy) && (1..=12).contains(&mm) && (1..=31).contains(&dd)) {
                continue;
            }
            (g.as_str(), g.start())
        } else {
            continue;
        };
        let value = value.trim_matches('-');
        let digits = value.chars().filter(char::is_ascii_digit).count();
        // A bare number must be long enough to be a ticket; a prefixed tag ("SLA-7") need not.
        let prefixed = value.starts_with(|c: char| c.is_ascii_alphabetic()) && value.contains('-');
        if digits < if prefixed { 1 } else { 3 }
            || incident.is_match(value)
            || out.iter().any(|(v, _)| v.eq_ignore_ascii_case(value))
        {
            continue;
        }
        out.push((value.to_string(), line_around(text, at)));
    }
    out
}

/// The line containing byte offset `at`, trimmed, at most 200 characters.
pub fn line_around(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    text[start..end].trim().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> Regex {
        crate::regex(r"\b(?:EX|SP|TM)\d{5,8}\b")
    }

    #[test]
    fn guids_lowercased_and_rejoined_across_wrap() {
        let t = tenant_ids("Tenant: 8D116ECE-1738-\n47d9-bd9c-172411e20b8f.");
        assert_eq!(t[0].0, "8d116ece-1738-47d9-bd9c-172411e20b8f");
    }

    #[test]
    fn guid_candidates_keep_the_pattern_s_boundaries() {
        let ids = |t: &str| -> Vec<String> { tenant_ids(t).into_iter().map(|(g, _)| g).collect() };
        let g = "8d116ece-1738-47d9-bd9c-172411e20b8f";
        assert_eq!(ids(g), [g], "at the very start");
        assert_eq!(ids(&format!("Tenant: {g}")), [g]);
        assert_eq!(ids(&format!("tenant ({})", g.to_uppercase())), [g]);
        assert_eq!(
            ids(&format!("tenant é{g}ü")),
            [g],
            "next to non-ASCII letters"
        );
        assert!(ids(&format!("tenant x{g}")).is_empty(), "inside a word");
        assert!(ids(&format!("tenant {g}a")).is_empty(), "hex after the end");
        assert!(
            ids("tenant 8d116ece-1738-47d9-bd9c").is_empty(),
            "cut short"
        );
        assert_eq!(
            ids("tenant 8d116ece- 1738- 47d9- bd9c- 172411e20b8f and ----- 12345678-"),
            [g]
        );
    }

    #[test]
    fn other_guids_are_not_tenants() {
        assert!(tenant_ids("Correlation ID: 8d116ece-1738-47d9-bd9c-172411e20b8f").is_empty());
        assert!(tenant_ids("Subscription ID 8d116ece-1738-47d9-bd9c-172411e20b8f").is_empty());
        assert_eq!(
            tenant_ids("Tenant (not subscription) ID 8d116ece-1738-47d9-bd9c-172411e20b8f").len(),
            1
        );
    }

    #[test]
    fn ticket_forms() {
        let refs: Vec<String> = ticket_refs(
            "[SLA-123] Ticket #48257, PSR-2026-00417, Case 2603040010003391, Nummer 2603050010004417. Call 030 555 0187. EX1234567",
            &incident(),
        )
        .into_iter()
        .map(|(r, _)| r)
        .collect();
        assert_eq!(
            refs,
            vec![
                "SLA-123",
                "48257",
                "PSR-2026-00417",
                "2603040010003391",
                "2603050010004417"
            ]
        );
    }

    #[test]
    fn not_tickets() {
        assert!(
            ticket_refs(
                "SLA-claim storing, SLA-creditering, phone 0113 496 0388, EX1024871",
                &incident()
            )
            .is_empty()
        );
    }
}
