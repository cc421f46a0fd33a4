//! Customer contact details and the description of what was tried.

use crate::mail::pattern::Pattern;
use regex::Regex;
use serde::Serialize;

use super::fold::{FoldedRegex, re_folded};
use super::text::{Statement, Statements};

/// Who to call about the claim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Contact {
    /// Person's name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Telephone number as written.
    pub phone: Option<String>,
}

static EMAIL: Pattern<Regex> = re!(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b");
static PHONE: Pattern<Regex> =
    re!(r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]\d{2,4}){1,4}");
/// Words that say a number in running text is a telephone number.
static PHONE_CUE: Pattern<Regex> = re!(
    r"(?i)\b(phone|telephone|tel|call|reach (?:me|us)|mobile|cell|telefoon|tel\.?nr|bel (?:me|ons)|bereikbaar|mobiel|telefon|anrufen|erreichbar|handy|mobil)\b",
);
static CONTACT_LABEL: Pattern<Regex> = re!(
    r"(?i)^(contact|contactpersoon|contact person|contact for this claim|contact details|contactgegevens|ansprechpartner|kontakt|point of contact)",
);
/// Lower-case particles that may stand before a last name, alone ("Jan van Dijk") or
/// joined to it ("Jan vanDijk").
const PARTICLES: [&str; 9] = ["van", "de", "der", "den", "von", "ter", "te", "la", "le"];
/// The most names after the first that make a person ("Anna Maria de Vries Jansen").
const MAX_MORE_NAMES: usize = 3;

/// Whether a value reads as a person's name: two to four capitalised names, each
/// perhaps after one particle. Read word by word rather than by a pattern: the pattern's
/// Unicode letter classes were an automaton of 240 KB that the daemon held for life.
fn is_person(value: &str) -> bool {
    // A capitalised name: an upper-case letter, then letters, apostrophes or hyphens.
    let name = |w: &str| {
        let mut chars = w.chars();
        chars.next().is_some_and(char::is_uppercase)
            && !chars.as_str().is_empty()
            && chars.all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-'))
    };
    let particle = |w: &str| PARTICLES.contains(&w);
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return false;
    }
    let mut words = value.split_whitespace();
    if !words.next().is_some_and(name) {
        return false;
    }
    let mut more = 0;
    while let Some(w) = words.next() {
        let is_name = if particle(w) {
            words.next().is_some_and(name)
        } else {
            name(w)
                || PARTICLES
                    .iter()
                    .any(|p| w.strip_prefix(p).is_some_and(name))
        };
        if !is_name {
            return false;
        }
        more += 1;
    }
    (1..=MAX_MORE_NAMES).contains(&more)
}

/// Contact details: a "Contact:" field first, then the sender and the signature.
pub fn contact(
    statements: &[Statement],
    signature: &str,
    from_name: Option<&str>,
    from_addr: Option<&str>,
) -> (Contact, Option<String>) {
    let mut c = Contact::default();
    let mut source = None;
    for s in statements {
        if !s
            .label
            .as_deref()
            .is_some_and(|l| CONTACT_LABEL.get().is_match(l))
        {
            continue;
        }
        source = Some(s.text.clone());
        c.name = s
            .value()
            .split(',')
            .next()
            .map(str::trim)
            .filter(|n| is_person(n))
            .map(str::to_string);
        c.email = EMAIL.get().find(s.value()).map(|m| m.as_str().to_string());
        c.phone = phone(s.value());
        break;
    }
    if c.name.is_none() {
        c.name = from_name
            .map(|n| n.split('(').next().unwrap_or(n).trim().to_string())
            .filter(|n| !n.is_empty());
    }
    if c.email.is_none() {
        c.email = from_addr.map(str::to_string);
    }
    if c.phone.is_none() {
        c.phone = signature.lines().find_map(phone);
        if c.phone.is_some() && source.is_none() {
            source = Some("signature".into());
        }
    }
    if c.phone.is_none() {
        // "You can reach me on +31 30 555 0100", "bel me op 06 1234 5678".
        if let Some((s, p)) = statements
            .iter()
            // A telephone number has at least nine digits: count before any regex runs.
            .filter(|s| s.text.bytes().filter(u8::is_ascii_digit).count() >= 9)
            .filter(|s| PHONE_CUE.get().is_match(&s.text))
            .find_map(|s| phone(&s.text).map(|p| (s, p)))
        {
            c.phone = Some(p);
            source.get_or_insert_with(|| s.text.clone());
        }
    }
    (c, source)
}

fn phone(text: &str) -> Option<String> {
    // A telephone number has at least nine digits: most signature lines have fewer.
    if text.bytes().filter(u8::is_ascii_digit).count() < 9 {
        return None;
    }
    PHONE
        .get()
        .find_iter(text)
        .map(|m| m.as_str().trim().to_string())
        .find(|p| {
            let digits = p.chars().filter(char::is_ascii_digit).count();
            (9..=15).contains(&digits)
        })
}

static ATTEMPT_LABEL: Pattern<Regex> = re!(
    r"(?i)(tried|steps|attempts?|troubleshooting|what we did|actions?|resolution|ondernomen|acties|geprobeerd|stappen|maßnahmen|massnahmen|schritte|versucht|lösungsversuche)",
);
static ATTEMPT_VERB: Pattern<FoldedRegex> = re_folded!(
    r"\b(we tried|tried|we restarted|restarted|cleared|re-?entered|re-?linked|checked|reset|rebooted|reinstalled|switched to|tested|geprobeerd|herstart|opnieuw opgestart|gewist|gecontroleerd|neu gestartet|geprüft|versucht|zurückgesetzt|durchgeführt|kontrolliert)\b",
);

/// A short excerpt of what the customer tried, at most 300 characters.
pub fn resolution_attempts(statements: &Statements) -> Option<String> {
    let labelled = statements
        .iter()
        .find(|s| {
            s.label
                .as_deref()
                .is_some_and(|l| ATTEMPT_LABEL.get().is_match(l))
        })
        .map(|s| s.value().to_string());
    let text = labelled.or_else(|| {
        let verb = ATTEMPT_VERB.get();
        let found: Vec<&str> = statements
            .matching(&verb)
            .map(|(_, s)| s.text.as_str())
            .take(2)
            .collect();
        (!found.is_empty()).then(|| found.join(" "))
    })?;
    let head = super::text::first_chars(&text, 300);
    let mut excerpt = head.to_string();
    if head.len() < text.len() {
        excerpt.push('…');
    }
    Some(excerpt)
}

#[cfg(test)]
mod tests {
    use super::super::text::statements;
    use super::*;

    #[test]
    fn a_person_is_two_to_four_names_with_particles() {
        assert!(is_person("Ruud van Berg"));
        assert!(is_person("Émile Zoë de Fontaine Dupré"));
        assert!(is_person("Kees vanDijk"));
        assert!(!is_person("Ana Bea Cleo Dina Eva"));
        assert!(!is_person("Practice Manager Desk Team Lead"));
        assert!(!is_person("Anna"));
        assert!(!is_person("anna de vries"));
        assert!(is_person("Anne-Marie O’Brien"));
        assert!(!is_person("Jan van"));
        assert!(!is_person("Ruud van der Berg"));
        assert!(!is_person("Jo B"));
        assert!(!is_person(" Anna Smit"));
        assert!(!is_person("Anna Smit3"));
    }

    #[test]
    fn contact_field_wins() {
        let st = statements("Contact: Sophie Laurent, Practice Manager, +353 1 555 0164\n");
        let (c, _) = contact(&st, "", Some("S L"), Some("s@x.example"));
        assert_eq!(c.name.as_deref(), Some("Sophie Laurent"));
        assert_eq!(c.phone.as_deref(), Some("+353 1 555 0164"));
        assert_eq!(c.email.as_deref(), Some("s@x.example"));
    }

    #[test]
    fn signature_phone() {
        let (c, _) = contact(
            &[],
            "Kind regards,\nRachel Kim\n(212) 555-0187\n",
            Some("Rachel Kim"),
            None,
        );
        assert_eq!(c.phone.as_deref(), Some("(212) 555-0187"));
    }

    #[test]
    fn attempts() {
        let st = statements("Hello.\n\nWhat we tried:    restarted Outlook clients, tested OWA\n");
        assert_eq!(
            resolution_attempts(&st).as_deref(),
            Some("restarted Outlook clients, tested OWA")
        );
    }
}
