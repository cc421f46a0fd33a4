//! Identifiers: incident IDs, tenant GUIDs and ticket references.

use super::MAX_LIST_VALUES;
use crate::mail::pattern::Pattern;
use regex::Regex;
use std::ops::Range;

use super::fold::{Folded, FoldedRegex};

static GUID: Pattern<Regex> = re!(
    r"(?i)\b([0-9a-f]{8})-\s?([0-9a-f]{4})-\s?([0-9a-f]{4})-\s?([0-9a-f]{4})-\s?([0-9a-f]{12})\b",
);
/// Labels of GUIDs that are not tenants (en, nl, de). Such a label anywhere before a GUID
/// on its line, nearer than any tenant label, makes it no tenant: "Azure subscription
/// ID, in case you need it: …", "Korrelations-ID: …".
static NOT_TENANT: Pattern<Regex> = re!(
    r"(?i)(subscription|abonnement|abonnements|correlation|correlatie|korrelation|request|anfrage|anforderung|aanvraag|object|objekt|session|sitzung|activity|aktivität|trace|client|app(?:lication)?|anwendung|message|nachricht|order|bestelling|bestellung|device|gerät|apparaat|user|gebruiker|benutzer|policy|resource|transaction|error|fehler)s?[\s_-]*(?:id|guid|nummer|nr|number)\b|(subscription|abonnement|correlation|korrelation|object|session|activity|trace|device|policy|resource|transaction)\W*$",
);
/// After a GUID, in its sentence: it is something other than the tenant.
static SAID_OTHER: Pattern<Regex> = re!(
    r"(?i)^[^.\n]{0,80}?\b(?:is|ist|was|war|zijn|sind)\s+(?:actually\s+|eigentlich\s+|eigenlijk\s+|in fact\s+|just\s+|only\s+|nur\s+|alleen\s+)?(?:our|unsere?|onze|ons|the|de|het|die|das|een|an?|eine?)\s+(?:[a-z]+\s+){0,2}?[a-z-]*(?:subscription|abonnement|correlation|correlatie|korrelation|object|objekt|application|client|device|gerät|apparaat|resource|request|anfrage)"
);
/// In the sentence after a GUID, pointing back at it: "… 1111-…. Sorry, that GUID is
/// actually our subscription ID", "Die ID ist unsere Abonnement-ID".
static SAID_OTHER_NEXT: Pattern<Regex> = re!(
    r"(?i)^[^.\n]{0,80}?[.;!]\s+(?:[a-z]+[,:]?\s+){0,2}?(?:that|this|the above|die|diese|dat|deze)\s+(?:guid|id|tenant[- ]?id|nummer|number|one)\b[^.\n]{0,40}?\b(?:is|ist|was|war)\s+(?:actually\s+|eigentlich\s+|eigenlijk\s+|in fact\s+)?(?:our|unsere?|onze|the|de|het|die|das|een|an?|eine?)\s+(?:[a-z]+\s+){0,2}?[a-z-]*(?:subscription|abonnement|correlation|correlatie|korrelation|object|objekt|application|client|device|gerät|apparaat|resource|request|anfrage)"
);
/// Anywhere after a GUID, pointing back at the last one before it: "Sorry - that ID
/// above is our subscription ID", "die GUID von vorhin ist unsere Abonnement-ID".
static SAID_OTHER_LATER: Pattern<Regex> = re!(
    r"(?i)\b(?:that|this|the)\s+(?:guid|id|tenant[- ]?id|number|one)\s+(?:above|earlier|i (?:gave|sent|wrote)|from before|hierboven|van eerder|oben|von vorhin)\b[^.\n]{0,30}?\b(?:is|was)\s+(?:actually\s+|in fact\s+|just\s+)?(?:our|the|an?)\s+(?:[a-z]+\s+){0,2}?[a-z-]*(?:subscription|correlation|object|application|client|device|resource|request)|\b(?:die|diese|dat|deze)\s+(?:guid|id|nummer)\s+(?:hierboven|van eerder|oben|von vorhin)\b[^.\n]{0,30}?\b(?:is|ist|was|war)\s+(?:eigentlich\s+|eigenlijk\s+)?(?:unsere?|onze|de|het|die|das|een|eine?)\s+(?:[a-z]+\s+){0,2}?[a-zä-]*(?:abonnement|correlatie|korrelation|objekt|gerät|apparaat|anfrage)"
);
/// Right before a GUID: the sender says it is the wrong one, corrected beside it
/// ("the tenant is …, not …", "… statt der alten …", "in plaats van …").
static NEGATED: Pattern<Regex> = re!(
    r"(?i)\b(?:not|niet|nicht|instead of|in plaats van|statt|anstatt|rather than)\W+(?:(?:the|our|de|het|onze|die|der|unsere?)\s+)?(?:(?:old|wrong|earlier|oude|verkeerde|eerdere|alte|falsche|frühere)\s+)?(?:(?:tenant|mandant)[\s-]*(?:id)?\W*)?$"
);
static TENANT_LABEL: Pattern<Regex> =
    re!(r"(?i)(tenant|directory|mandant|organi[sz]ation|organisatie|huurder)");

/// GUIDs in the text with their byte offset. A GUID starts with no literal for regex to
/// skip to, so its automaton would walk every byte of every message, a byte at a time;
/// instead each hyphen is a candidate (memchr), and only one after eight hex digits at
/// a word start is handed to the pattern, on a short window. Same matches.
fn guids(text: &str) -> impl Iterator<Item = (usize, regex::Captures<'_>)> {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memchr_iter(b'-', bytes).filter_map(move |hyphen| {
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
        let c = GUID.get().captures(&text[start..end])?;
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
    // The GUIDs a later sentence calls something else: the last one before each such
    // sentence (a few at most), searched after the first GUID only.
    let first = guids(text).next().map_or(text.len(), |(o, _)| o);
    let said_later: Vec<usize> = SAID_OTHER_LATER
        .get()
        .find_iter(&text[first..])
        .take(4)
        .filter_map(|m| {
            let at = first + m.start();
            guids(text)
                .take_while(|(o, _)| *o < at)
                .last()
                .map(|(o, _)| o)
        })
        .collect();
    for (offset, c) in guids(text) {
        if said_later.contains(&offset) {
            continue;
        }
        let Some(whole) = c.get(0) else { continue };
        let whole = (offset + whole.start())..(offset + whole.end());
        // The 48 bytes before it, within its line (searched back that far only: a
        // search to the line's start per GUID was quadratic on an endless line).
        let mut ctx_start = whole.start.saturating_sub(48);
        while !text.is_char_boundary(ctx_start) {
            ctx_start += 1;
        }
        if let Some(nl) = memchr::memrchr(b'\n', &text.as_bytes()[ctx_start..whole.start]) {
            ctx_start += nl + 1;
        }
        let before = &text[ctx_start..whole.start];
        // The nearer label decides: "tenant" after "subscription ID" is a tenant.
        let last = |re: &Regex| re.find_iter(before).last().map(|m| m.end());
        let (tenant_at, other_at) = (last(&TENANT_LABEL.get()), last(&NOT_TENANT.get()));
        let labelled_other = other_at.is_some_and(|o| tenant_at.is_none_or(|t| o > t));
        // "…, die ich als Tenant-ID angegeben hatte, ist unsere Azure-Abonnement-ID": the
        // sender says after it what it is.
        let after = &text[whole.end..crate::floor_char_boundary(text, whole.end + 160)];
        if labelled_other
            || NEGATED.get().is_match(before)
            || SAID_OTHER.get().is_match(after)
            || SAID_OTHER_NEXT.get().is_match(after)
            || tenant_at.is_none()
                && before.ends_with(['/', '=', '{', '<'])
                && before.contains("http")
        {
            continue;
        }
        let guid: String = (1..=5)
            .filter_map(|i| c.get(i).map(|g| g.as_str().to_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join("-");
        if !out.iter().any(|(g, _)| *g == guid) {
            out.push((guid, line_around(text, whole.start)));
            if out.len() == MAX_LIST_VALUES {
                break;
            }
        }
    }
    out
}

/// "only", in en/nl/de: the one incident that hit the sender among several named.
static ONLY: Pattern<Regex> =
    re!(r"(?i)\b(only|solely|just|alleen|enkel|slechts|nur|lediglich|ausschließlich)\b");
/// "only" right after an ID.
static ONLY_AFTER: Pattern<Regex> =
    re!(r"(?i)^\W{0,3}(?:only|solely|alleen|nur|allein|ausschließlich)\b");
/// "not", "but" between two IDs in a correction ("TM1433086, not EX1433068").
static NOT_WORD: Pattern<Regex> =
    re!(r"(?i)^\W{0,3}(not|niet|nicht|instead of|in plaats van|statt)\W+$");
static BUT_WORD: Pattern<Regex> = re!(r"(?i)^\W{0,3}(but|maar|sondern|rather)\W+$");

/// How far back a URL is looked for before an ID: an endless line must not be walked
/// once per ID.
const MAX_URL_BYTES: usize = 2048;

/// Whether byte `at` of `text` lies inside a URL (a word with "://" or "www.").
fn in_url(text: &str, at: usize) -> bool {
    let mut from = at.saturating_sub(MAX_URL_BYTES);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let start = text[from..at]
        .rfind(char::is_whitespace)
        .map_or(from, |i| from + i + 1);
    let word = &text[start..at];
    word.contains("://") || word.starts_with("www.")
}

/// What a sender writes right after an ID that is no incident: "is just our internal
/// project code", "has nothing to do with Teams", "is ons projectnummer", "ist nur
/// unsere interne Auftragsnummer".
static NOT_AN_INCIDENT: Pattern<Regex> = re!(
    r"(?i)^\W{0,3}(?:(?:is|was|=|ist|war)\s+(?:just\s+|only\s+|merely\s+|simply\s+|gewoon\s+|alleen\s+|maar\s+|nur\s+|bloß\s+|lediglich\s+)?(?:our|my|an?|the|ons|onze|mijn|een|het|unsere?|eine?|die|das)\s+(?:own\s+|eigen\s+|eigene\s+)?(?:internal\s+|interne?\s+)?(?:project|order|invoice|asset|job|po|purchase|cost|projekt|auftrags|bestel|factuur|kosten|rechnungs)[\w-]*\s*(?:code|number|nr|ref|reference|id|nummer|nummern|kennung)?\b|(?:has|had|is)\s+nothing\s+to\s+do\s+with|heeft\s+niets\s+te\s+maken|hat\s+nichts\s+(?:mit|zu tun)|is\s+not\s+an?\s+(?:microsoft\s+)?incident|is\s+geen\s+(?:microsoft[- ])?incident|ist\s+kein(?:e)?\s+(?:microsoft[- ])?(?:incident|vorfall|störung))"
);

/// Incident IDs written in lower case ("od1326677", copied from notes), for the
/// configured prefixes: asked only when no upper-case ID was found. A hand scan, not a
/// case-insensitive regex: two-letter prefixes begin countless ordinary words.
pub fn lower_case_ids(
    text: &str,
    prefixes: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let bytes = text.as_bytes();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 2;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i - 2;
        let end = bytes[i..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |k| i + k);
        let digits = end - i;
        let prefix = &bytes[start..i];
        let bounded = (start == 0 || !bytes[start - 1].is_ascii_alphanumeric())
            && bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
        if bounded
            && (5..=8).contains(&digits)
            && prefix.iter().all(u8::is_ascii_lowercase)
            && !in_url(text, start)
        {
            let id = format!("{}{}", text[start..i].to_ascii_uppercase(), &text[i..end]);
            if prefixes.contains_key(&id[..2])
                && !NOT_AN_INCIDENT
                    .get()
                    .is_match(&text[end..crate::floor_char_boundary(text, end + 80)])
                && !out.iter().any(|(o, _)| *o == id)
            {
                out.push((id, line_around(text, start)));
                if out.len() == MAX_LIST_VALUES {
                    break;
                }
            }
        }
        i = end.max(i + 1);
    }
    out
}

/// Whether `text` ends with the word "not" (any case), spaces after it aside.
fn ends_with_not(text: &str) -> bool {
    let t = text.trim_end().as_bytes();
    t.len() >= 3
        && t[t.len() - 3..].eq_ignore_ascii_case(b"not")
        && t.len()
            .checked_sub(4)
            .is_none_or(|i| !t[i].is_ascii_alphanumeric())
}

/// Incident IDs for the configured prefixes, with the line each was found in. An ID in
/// a URL is a path, not an incident; one the sender corrects ("TM1433086, not
/// EX1433068") goes; and when one sentence singles out one ID among several ("only the
/// Teams one, TM1331462, hurt us"), that one stays alone.
pub fn incident_ids(text: &str, pattern: &Regex) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // (id, start, end) of each mention, for the rules below.
    let mut mentions: Vec<(String, usize, usize)> = Vec::new();
    for m in pattern.find_iter(text) {
        if in_url(text, m.start()) {
            continue;
        }
        let id = m.as_str().to_string();
        // "TM2026044 is just our internal project code": the sender says it is none.
        if NOT_AN_INCIDENT
            .get()
            .is_match(&text[m.end()..crate::floor_char_boundary(text, m.end() + 80)])
        {
            continue;
        }
        if mentions.len() < 4 * MAX_LIST_VALUES {
            mentions.push((id.clone(), m.start(), m.end()));
        }
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, line_around(text, m.start())));
            if out.len() == MAX_LIST_VALUES {
                break;
            }
        }
    }
    if out.len() < 2 {
        return out;
    }
    // Corrections: "A, not B" and "not B but A" drop B.
    let (not_word, but_word) = (NOT_WORD.get(), BUT_WORD.get());
    let mut wrong: Vec<String> = Vec::new();
    for pair in mentions.windows(2) {
        let ((a, a_start, a_end), (b, b_start, _)) = (&pair[0], &pair[1]);
        let between = &text[*a_end..*b_start];
        if a != b && not_word.is_match(between) {
            wrong.push(b.clone());
        }
        if a != b && but_word.is_match(between) && ends_with_not(&text[..*a_start]) {
            wrong.push(a.clone());
        }
    }
    if wrong.len() < out.len() {
        out.retain(|(id, _)| !wrong.contains(id));
    }
    // "Claim EX1234567 only": the word right after one ID singles it out.
    let only_after = ONLY_AFTER.get();
    if let Some((one, _, _)) = mentions.iter().find(|(_, _, end)| {
        only_after.is_match(&text[*end..crate::floor_char_boundary(text, end + 24)])
    }) {
        if out.iter().any(|(id, _)| id == one) {
            let one = one.clone();
            out.retain(|(id, _)| *id == one);
            return out;
        }
    }
    // "Only": a sentence where one ID alone follows the word.
    let only = ONLY.get();
    for sentence in text.split(['.', '!', '?', '\n']) {
        let Some(word) = only.find(sentence) else {
            continue;
        };
        // To the end of the clause that holds the first ID after the word.
        let after = &sentence[word.end()..];
        let Some(first) = pattern.find(after) else {
            continue;
        };
        let clause_end = after[first.end()..]
            .find([',', ';', '(', ':'])
            .map_or(after.len(), |i| first.end() + i);
        let mut named: Vec<String> = pattern
            .find_iter(&after[..clause_end])
            .map(|m| m.as_str().to_string())
            .collect();
        named.dedup();
        if let [one] = named.as_slice() {
            if out.iter().any(|(id, _)| id == one) {
                out.retain(|(id, _)| id == one);
                break;
            }
        }
    }
    out
}

/// A form of ticket reference; where two start at the same place, the earlier form wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Form {
    /// Our subject tag: "[SLA-123]", "[#48257]".
    Tag,
    /// A partner's prefixed ticket: "PSR-2026-00417", "INC-4471".
    Prefixed,
    /// 2-5 letters, a year, a serial: "ABC-2026-0417".
    Coded,
    /// A prefix and a long serial: "INC0012345".
    Serial,
    /// A number after a label: "Ticket #48257", "Vorgangsnummer: 99812".
    Labelled,
    /// Microsoft's case number: 16 digits, the first six a date (yymmdd).
    Case,
}

/// The forms that start with a bracket or a word, each with its value in group 1, in
/// lower case for folded text. Separate patterns because each then has literals to
/// skip to (one pattern of all of them walked every byte); the coded and case forms,
/// which start with no word, are found by [`bare_tickets`].
static WORDED: Pattern<[(Form, FoldedRegex); 4]> = Pattern::new(|| {
    [
        (
            Form::Tag,
            FoldedRegex::new(r"\[#?\s*([a-z]{2,6}-\d(?:[\d-]{0,18}\d)?|\d{4,10})\s*\]"),
        ),
        (
            Form::Prefixed,
            FoldedRegex::new(
                r"\b((?:sla|psr|inc|req|ritm|chg|tkt|case|sr|cs|ticket)-\d{1,10}(?:-\d{2,8})?)\b",
            ),
        ),
        (
            Form::Serial,
            FoldedRegex::new(r"\b((?:inc|req|ritm|cs)\d{6,12})\b"),
        ),
        (
            Form::Labelled,
            FoldedRegex::new(concat!(
                r"\b(?:ticket|tickets|case|ref|reference|referentie|referenz|melding|meldingsnummer|ticketnummer|ticketnr|vorgang|vorgangsnummer|supportanfrage|support request|service request|servicerequest|aanvraag|anfrage|storingsnummer)\b",
                r"(?:\s+(?:no|nr|number|nummer|id|is|was|ist|lautet|hat die nummer|with you|bij jullie|bei ihnen|bei uns))*",
                r"\.?\s*[:#]?\s*#?\s*([a-z]{0,5}-?\d[\d-]{2,22}\d)\b",
            )),
        ),
    ]
});

/// A ticket-shaped span, before the checks that tell tickets from dates and phones.
#[derive(Debug)]
struct Candidate {
    form: Form,
    /// The whole match.
    span: Range<usize>,
    /// The reference in it.
    value: Range<usize>,
}

/// The coded and case-number forms, which start with no word for a pattern to skip to
/// (as patterns they walked every byte): case numbers from the digit runs, coded ones
/// from their first hyphen. `\b` is ASCII: a word byte is a letter, digit or underscore.
fn bare_tickets(text: &str, out: &mut Vec<Candidate>) {
    let bytes = text.as_bytes();
    let word = |i: usize| {
        bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    let digits_from = |i: usize| {
        bytes.get(i..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    };
    // Sixteen digits in a row: probe every 16th byte, and only where the probe is a digit
    // look back for where its run starts. Runs are whole words, so the run starts at
    // the window's start or the window moves to where it does.
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let mut at = 0;
    while at + 16 <= bytes.len() {
        let probe = at + 15;
        if !digit(probe) {
            at = probe + 1;
            continue;
        }
        let start = (at..probe).rev().find(|&i| !digit(i)).map_or(at, |i| i + 1);
        if start > at {
            at = start;
            continue;
        }
        let end = start + digits_from(start);
        if end - start == 16 && !(start > 0 && word(start - 1)) && !word(end) {
            out.push(Candidate {
                form: Form::Case,
                span: start..end,
                value: start..end,
            });
        }
        at = end;
    }
    for hyphen in memchr::memchr_iter(b'-', bytes) {
        let letters = bytes[..hyphen]
            .iter()
            .rev()
            .take(6)
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let start = hyphen - letters;
        let serial = hyphen + 6;
        let serial_end = serial + digits_from(serial);
        // Not the tail of a longer code: "INV-DE-2026-448812" holds no "DE-2026-448812".
        let glued = start > 1 && bytes[start - 1] == b'-' && word(start - 2);
        if (2..=5).contains(&letters)
            && !(start > 0 && word(start - 1))
            && !glued
            && digits_from(hyphen + 1) == 4
            && bytes.get(hyphen + 5) == Some(&b'-')
            && (3..=6).contains(&(serial_end - serial))
            && !word(serial_end)
        {
            out.push(Candidate {
                form: Form::Coded,
                span: start..serial_end,
                value: start..serial_end,
            });
        }
    }
}

/// Ticket references as written: our own tags, partner tickets and Microsoft case numbers.
/// `folded` is `text` folded (callers fold once for several searches).
pub fn ticket_refs(text: &str, folded: &Folded, incident: &Regex) -> Vec<(String, String)> {
    debug_assert_eq!(folded.as_str().len(), text.len(), "folded is not this text");
    let mut candidates = Vec::new();
    for (form, pattern) in WORDED.get().iter() {
        for c in pattern.captures_iter(folded) {
            if let (Some(whole), Some(value)) = (c.get(0), c.get(1)) {
                candidates.push(Candidate {
                    form: *form,
                    span: whole.range(),
                    value: value.range(),
                });
            }
        }
    }
    bare_tickets(text, &mut candidates);
    // Left to right and never overlapping, as one pattern of all forms would find them.
    candidates.sort_by_key(|c| (c.span.start, c.form));
    let mut taken_to = 0;
    let mut out: Vec<(String, String)> = Vec::new();
    for c in &candidates {
        if c.span.start < taken_to {
            continue;
        }
        taken_to = c.span.end;
        let value = &text[c.value.clone()];
        match c.form {
            // A phone number or a date is not a ticket, however it is labelled.
            Form::Labelled
                if value.matches('-').count() >= 2
                    && !value.starts_with(|c: char| c.is_ascii_alphabetic()) =>
            {
                continue;
            }
            Form::Case => {
                let field = |at: usize| value.get(at..at + 2).and_then(|d| d.parse::<u32>().ok());
                let (yy, mm, dd) = (field(0), field(2), field(4));
                let dated = yy.is_some_and(|y| (15..=60).contains(&y))
                    && mm.is_some_and(|m| (1..=12).contains(&m))
                    && dd.is_some_and(|d| (1..=31).contains(&d));
                if !dated {
                    continue;
                }
            }
            _ => {}
        }
        let value = value.trim_matches('-');
        // Security advisories, knowledge-base articles and message-center posts have
        // ticket-like numbers but are no tickets.
        let public = ["CVE-", "KB", "MC", "MS", "ADV", "RFC"].iter().any(|p| {
            value.len() > p.len()
                && value[..p.len()].eq_ignore_ascii_case(p)
                && value[p.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '-')
        });
        // Orders, invoices, quotes and customer numbers are no tickets either.
        let commercial = [
            "PO-", "INV-", "ORD-", "ORDER-", "QUO-", "QT-", "CUST-", "KD-",
        ]
        .iter()
        .any(|p| value.len() > p.len() && value[..p.len()].eq_ignore_ascii_case(p));
        if public || commercial {
            continue;
        }
        let digits = value.chars().filter(char::is_ascii_digit).count();
        // A bare number must be long enough to be a ticket; a prefixed tag ("SLA-7") need not.
        let prefixed = value.starts_with(|c: char| c.is_ascii_alphabetic()) && value.contains('-');
        if digits < if prefixed { 1 } else { 3 }
            || incident.is_match(value)
            || out.iter().any(|(v, _)| v.eq_ignore_ascii_case(value))
        {
            continue;
        }
        out.push((value.to_string(), line_around(text, c.value.start)));
        if out.len() == MAX_LIST_VALUES {
            break;
        }
    }
    out
}

/// The line containing byte offset `at`, trimmed, at most 200 characters. Looks at
/// most [`LINE_REACH`] bytes either side: a search to the line's ends for every match
/// on one endless line would be quadratic.
pub fn line_around(text: &str, at: usize) -> String {
    use crate::floor_char_boundary;
    let lo = floor_char_boundary(text, at.saturating_sub(LINE_REACH));
    let hi = floor_char_boundary(text, at.saturating_add(LINE_REACH));
    let start = memchr::memrchr(b'\n', &text.as_bytes()[lo..at]).map_or(lo, |i| lo + i + 1);
    let end = memchr::memchr(b'\n', &text.as_bytes()[at..hi]).map_or(hi, |i| at + i);
    super::text::first_chars(text[start..end].trim(), 200).to_string()
}

/// How far [`line_around`] looks for a line's ends.
const LINE_REACH: usize = 1024;

/// (tenant, incident) pairs that the text's structure gives for the `tenants` and
/// `incidents` it names: a line (a table row) that names one tenant pairs it with the
/// incidents on it, one incident with the tenants on it, and as many of each pair in
/// order; failing that, the same by paragraph. Empty when some tenant or incident is
/// left without a partner: the mail does not say, and staff must.
pub fn pairs(
    text: &str,
    tenants: &[String],
    incidents: &[String],
    pattern: &Regex,
) -> Vec<(String, String)> {
    let known = |found: Vec<(String, String)>, list: &[String]| -> Vec<String> {
        found
            .into_iter()
            .map(|(v, _)| v)
            .filter(|v| list.iter().any(|k| k.eq_ignore_ascii_case(v)))
            .collect()
    };
    let lines: Vec<&str> = text.lines().collect();
    let paragraphs: Vec<&str> = text.split("\n\n").collect();
    for chunks in [lines, paragraphs] {
        let mut out: Vec<(String, String)> = Vec::new();
        for chunk in chunks {
            let (ts, is) = (
                known(tenant_ids(chunk), tenants),
                known(incident_ids(chunk, pattern), incidents),
            );
            let found: Vec<(String, String)> = match (ts.len(), is.len()) {
                (0, _) | (_, 0) => continue,
                (1, _) => is.iter().map(|i| (ts[0].clone(), i.clone())).collect(),
                (_, 1) => ts.iter().map(|t| (t.clone(), is[0].clone())).collect(),
                (a, b) if a == b => ts.into_iter().zip(is).collect(),
                _ => continue,
            };
            for p in found {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        let covered = tenants
            .iter()
            .all(|t| out.iter().any(|(pt, _)| pt.eq_ignore_ascii_case(t)))
            && incidents
                .iter()
                .all(|i| out.iter().any(|(_, pi)| pi.eq_ignore_ascii_case(i)));
        if covered {
            return out;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_the_sender_corrects_singles_out_or_links_to_are_dropped() {
        let p = crate::regex(r"\b(?:EX|TM|SP|MO)\d{5,8}\b");
        let ids = |t: &str| {
            incident_ids(t, &p)
                .into_iter()
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids("It was EX2200111. Correction: TM2200999, not EX2200111."),
            ["TM2200999"]
        );
        assert_eq!(
            ids("Not SP3300111 but SP3300112 - my mistake."),
            ["SP3300112"]
        );
        assert_eq!(
            ids(
                "The digest lists EX4400001, SP4400002 and MO4400003.\nWe were hit only by SP4400002."
            ),
            ["SP4400002"]
        );
        assert_eq!(
            ids("Wir hatten nur die Störung MO5500003, nicht die anderen (EX5500001)."),
            ["MO5500003"]
        );
        assert_eq!(
            ids("See https://contoso.sharepoint.com/sites/EX6600001-Plans and EX6600002"),
            ["EX6600002"]
        );
        // Two incidents that both hit stay two.
        assert_eq!(
            ids("Both EX7700001 and TM7700002 affected us."),
            ["EX7700001", "TM7700002"]
        );
    }

    #[test]
    fn advisories_and_articles_are_no_tickets() {
        let text = "See CVE-2026-21533 and KB5034441; message center MC1160431. Our ticket: INC-2026-0042.";
        let refs: Vec<String> =
            ticket_refs(text, &Folded::new(text), &crate::regex(r"\bEX\d{5,8}\b"))
                .into_iter()
                .map(|(r, _)| r)
                .collect();
        assert_eq!(refs, ["INC-2026-0042"]);
    }

    #[test]
    fn a_label_anywhere_before_on_the_line_says_what_a_guid_is() {
        let ids = |t: &str| {
            tenant_ids(t)
                .into_iter()
                .map(|(g, _)| g)
                .collect::<Vec<_>>()
        };
        let g = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
        assert!(
            ids(&format!(
                "The Azure subscription ID, should you want it: {g}"
            ))
            .is_empty()
        );
        assert!(ids(&format!("Korrelations-ID (laut Fehlerseite): {g}")).is_empty());
        assert!(ids(&format!("Aanvraag-ID uit de foutmelding: {g}")).is_empty());
        // The nearer label decides.
        assert_eq!(
            ids(&format!("Not the subscription ID but our tenant: {g}")),
            [g]
        );
        assert_eq!(ids(&format!("Tenant {g}")), [g]);
    }

    #[test]
    fn tenants_and_incidents_pair_by_row_then_by_paragraph() {
        let pattern = crate::regex(r"\b(EX|TM|SP)\d{5,8}\b");
        let (a, b) = (
            "aaaaaaaa-1111-4222-8333-444444444444".to_string(),
            "bbbbbbbb-1111-4222-8333-444444444444".to_string(),
        );
        let (x, y, z) = (
            "EX111111".to_string(),
            "TM222222".to_string(),
            "SP333333".to_string(),
        );
        // A table: one row per tenant, its incidents beside it.
        let table = format!("Tenant | Incidents\n{a} | {x}, {y}\n{b} | {z}\n");
        assert_eq!(
            pairs(
                &table,
                &[a.clone(), b.clone()],
                &[x.clone(), y.clone(), z.clone()],
                &pattern
            ),
            vec![
                (a.clone(), x.clone()),
                (a.clone(), y.clone()),
                (b.clone(), z.clone())
            ]
        );
        // Paragraphs, each about one tenant over several lines.
        let prose = format!(
            "For the head office ({a}):\nincident {x}.\n\nThe branch, tenant\n{b}, had {z} and {y}.\n"
        );
        assert_eq!(
            pairs(
                &prose,
                &[a.clone(), b.clone()],
                &[x.clone(), y.clone(), z.clone()],
                &pattern
            ),
            vec![
                (a.clone(), x.clone()),
                (b.clone(), z.clone()),
                (b.clone(), y.clone())
            ]
        );
        // One sentence with two of each and a third incident: it does not say.
        let vague = format!("Tenants {a} and {b} were hit by {x}, {y} and {z}.");
        assert!(pairs(&vague, &[a.clone(), b.clone()], &[x, y, z], &pattern).is_empty());
    }

    fn incident() -> Regex {
        crate::regex(r"\b(?:EX|SP|TM)\d{5,8}\b")
    }

    /// The incident IDs of `t`, for [`incident`]'s prefixes.
    fn ids(t: &str) -> Vec<String> {
        incident_ids(t, &incident())
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn a_guid_said_afterwards_to_be_something_else_is_no_tenant() {
        let text = "Tenant: 11111111-2222-4333-8444-555555555555 is actually our subscription ID. \
                    The real tenant is aaaaaaaa-2222-4333-8444-555555555555.\n\
                    De GUID bbbbbbbb-2222-4333-8444-555555555555 die ik noemde is onze abonnements-ID.\n\
                    Tenant cccccccc-2222-4333-8444-555555555555 is our tenant ID, not the subscription.";
        let got: Vec<String> = tenant_ids(text).into_iter().map(|(g, _)| g).collect();
        assert_eq!(
            got,
            [
                "aaaaaaaa-2222-4333-8444-555555555555",
                "cccccccc-2222-4333-8444-555555555555"
            ]
        );
        // Said in the next sentence, pointing back at it (phrasings of my own).
        for text in [
            "Tenant: 11111111-2222-4333-8444-555555555555. Sorry, that GUID is actually our \
             subscription ID; the tenant ID is 66666666-7777-4888-9999-aaaaaaaaaaaa.",
            "Mandant 11111111-2222-4333-8444-555555555555. Korrektur: diese ID ist unsere \
             Abonnement-ID, der Mandant ist 66666666-7777-4888-9999-aaaaaaaaaaaa.",
        ] {
            let got: Vec<String> = tenant_ids(text).into_iter().map(|(g, _)| g).collect();
            assert_eq!(got, ["66666666-7777-4888-9999-aaaaaaaaaaaa"], "{text}");
        }
        // Said sentences later, pointing back at the last GUID above (phrasings of my own).
        for text in [
            "Tenant 11111111-2222-4333-8444-555555555555.\nMail was down for two hours. We \
             rebooted.\n\nOops - the ID I gave is actually an Azure subscription ID. Tenant: \
             66666666-7777-4888-9999-aaaaaaaaaaaa",
            "Tenant-ID 11111111-2222-4333-8444-555555555555. Teams lag eruit. Excuus, dat id \
             hierboven is onze abonnements-ID; de tenant is 66666666-7777-4888-9999-aaaaaaaaaaaa.",
        ] {
            let got: Vec<String> = tenant_ids(text).into_iter().map(|(g, _)| g).collect();
            assert_eq!(got, ["66666666-7777-4888-9999-aaaaaaaaaaaa"], "{text}");
        }
    }

    #[test]
    fn only_after_an_id_singles_it_out() {
        assert_eq!(
            ids("Claim TM1112223 only. Also listed: EX4445556."),
            ["TM1112223"]
        );
        assert_eq!(
            ids("Bitte für EX7778889 allein, nicht SP1212121."),
            ["EX7778889"]
        );
        assert_eq!(
            ids("EX1231231 and SP3213213 both hit us."),
            ["EX1231231", "SP3213213"]
        );
    }

    #[test]
    fn an_id_the_sender_says_is_something_else_is_no_incident() {
        assert_eq!(
            ids("EX1234567 hit us. SP7654321 is only our own project number."),
            ["EX1234567"]
        );
        assert_eq!(
            ids("TM5550001 heeft niets te maken met Teams."),
            Vec::<String>::new()
        );
        assert_eq!(
            ids("EX2223334 ist unsere interne Auftragsnummer."),
            Vec::<String>::new()
        );
        assert_eq!(ids("EX2223334 is the incident we mean."), ["EX2223334"]);
    }

    #[test]
    fn incidents_in_lower_case_are_read_with_their_prefix_checked() {
        let prefixes: std::collections::BTreeMap<String, String> = [("EX", ""), ("OD", "")]
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let ids = |t: &str| {
            lower_case_ids(t, &prefixes)
                .into_iter()
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids("the incident was od1234567, see ex7654321."),
            ["OD1234567", "EX7654321"]
        );
        // Unknown prefixes, other lengths, glued letters and links are not.
        assert_eq!(
            ids("kb5068861 ex123 box1234567 https://x.example/ex1234567 Ex1234567"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn line_around_reads_a_bounded_reach_of_an_endless_line() {
        assert_eq!(line_around("a\n  x EX1 y \nb", 6), "x EX1 y");
        let long = format!("{}EX12345{}", "ä".repeat(3000), "b".repeat(3000));
        let at = long.find("EX").unwrap_or_default();
        let line = line_around(&long, at);
        // The line is cut to the reach before the match: 200 characters of it remain.
        assert_eq!(line.chars().count(), 200);
        assert!(line.chars().all(|c| c == 'ä'));
        assert_eq!(line_around(&long, 0).chars().count(), 200);
        assert!(line_around(&long, long.len()).chars().all(|c| c == 'b'));
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
    fn a_guid_said_to_be_the_wrong_one_is_no_tenant() {
        // Phrasings of my own, in each language.
        let (right, wrong) = (
            "0f0e0d0c-1111-4222-8333-444455556666",
            "9a9b9c9d-1111-4222-8333-444455556666",
        );
        for text in [
            format!("Sorry, our tenant is {right}, not {wrong}."),
            format!("Please use {right} instead of the old tenant ID {wrong}."),
            format!("De juiste tenant is {right} in plaats van {wrong}."),
            format!("Bitte {right} verwenden, nicht die falsche {wrong}."),
        ] {
            let got: Vec<String> = tenant_ids(&text).into_iter().map(|(g, _)| g).collect();
            assert_eq!(got, [right], "{text}");
        }
        // "not" further back says nothing of the GUID.
        let text = format!("We could not log in to tenant {right} at all.");
        assert_eq!(tenant_ids(&text).len(), 1);
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
        let text = "[SLA-123] Ticket #48257, PSR-2026-00417, Case 2603040010003391, Nummer 2603050010004417. Call 030 555 0187. EX1234567";
        let refs: Vec<String> = ticket_refs(text, &Folded::new(text), &incident())
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
    fn the_tail_of_a_longer_code_is_no_ticket() {
        let text = "Invoice INV-NL-2026-004411 and order PO-2026-0388.";
        let got: Vec<String> = ticket_refs(text, &Folded::new(text), &incident())
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn coded_and_case_number_forms_need_their_exact_shape() {
        let refs = |text: &str| -> Vec<String> {
            ticket_refs(text, &Folded::new(text), &incident())
                .into_iter()
                .map(|(r, _)| r)
                .collect()
        };
        assert_eq!(
            refs("see abc-2026-0417 and XY-2025-123456"),
            ["abc-2026-0417", "XY-2025-123456"]
        );
        assert!(
            refs("ABCDEF-2026-0417 AB-202-0417 AB-2026-12 AB-2026-1234567 A-2026-0417").is_empty()
        );
        assert!(refs("1AB-2026-0417 AB-2026-0417x AB--2026-0417").is_empty());
        // A case number starts with its date (yymmdd); 16 digits inside a longer run are none.
        assert_eq!(refs("2603040010003391"), ["2603040010003391"]);
        assert_eq!(
            refs("on 12 03 our 2603040010003391, not 26030400100033912 or 9-2603050010004417"),
            ["2603040010003391", "2603050010004417"]
        );
        assert!(
            refs("2613040010003391 9903040010003391 12603040010003391 x2603040010003391")
                .is_empty()
        );
        // Where a labelled number and a coded one start together, the coded one is taken whole.
        assert_eq!(refs("Ref-2026-0042"), ["Ref-2026-0042"]);
        // Overlapping forms are read once, from the leftmost.
        assert_eq!(refs("Ticket: ABC-2026-0417"), ["ABC-2026-0417"]);
    }

    #[test]
    fn not_tickets() {
        let text = "SLA-claim storing, SLA-creditering, phone 0113 496 0388, EX1024871";
        assert!(ticket_refs(text, &Folded::new(text), &incident()).is_empty());
    }
}
