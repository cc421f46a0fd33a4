//! Microsoft's service-health entries inside a customer's mail: a notification forwarded
//! or attached as evidence. Each entry is an incident ID heading followed by Microsoft's
//! own fields ("Issue type: Advisory", "Start time: …"). They are context, not what the
//! customer says: the customer's own times come first, an entry's window speaks only for
//! its own incident, and its classification makes nothing an advisory (only the
//! sender's own words do).

use regex::Regex;

/// One entry: the incident it is about and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The incident ID of the heading.
    pub id: String,
    /// The entry's lines, heading included.
    pub text: String,
}

/// Field labels of Microsoft's entries (en, nl, de), lower case: a block of lines under
/// an ID heading is an entry only with one of these.
const FIELDS: &[&str] = &[
    "issue type",
    "classification",
    "status",
    "start time",
    "end time",
    "user impact",
    "probleemtype",
    "classificatie",
    "begintijd",
    "eindtijd",
    "problemtyp",
    "klassifizierung",
    "startzeit",
    "endzeit",
];

/// Whether a line is one of Microsoft's fields; fields may share a line ("Issue type:
/// Advisory | Status: Service restored").
fn is_field(line: &str) -> bool {
    let line = line.trim_start().to_lowercase();
    FIELDS.iter().any(|f| {
        line.strip_prefix(f)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

/// The incident ID a heading line begins with ("EX1331208 - Exchange Online").
fn heading_id<'a>(line: &'a str, pattern: &Regex) -> Option<&'a str> {
    let trimmed = line.trim_start();
    // Two capitals and a digit, or no ID starts the line: asked before any search.
    let b = trimmed.as_bytes();
    if !(b.len() > 2
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2].is_ascii_digit())
    {
        return None;
    }
    let head = &trimmed[..crate::floor_char_boundary(trimmed, 16)];
    let m = pattern.find(head).filter(|m| m.start() == 0)?;
    let rest = trimmed[m.end()..].trim_start();
    (rest.is_empty() || rest.starts_with(['-', '–', '—', ':', '|', '('])).then(|| m.as_str())
}

/// Whether a From field or address is Microsoft's own ("365 Service Alert
/// <o365mc@microsoft.com>").
pub fn from_microsoft(from: &str) -> bool {
    let from = from.trim().trim_end_matches('>').to_ascii_lowercase();
    from.rsplit_once('@').is_some_and(|(_, domain)| {
        ["microsoft.com", "microsoftonline.com", "microsoft365.com"]
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
    })
}

/// `text` without Microsoft's entries, and the entries. `sections` are byte ranges of
/// `text` that Microsoft wrote (a notification forwarded inline): wholly context, one
/// entry per incident when they have no entry blocks. Ranges must be sorted and apart.
pub fn split(
    text: &str,
    sections: &[std::ops::Range<usize>],
    pattern: &Regex,
) -> (String, Vec<Entry>) {
    if sections.is_empty() {
        return split_entries(text, pattern);
    }
    let mut rest = String::with_capacity(text.len());
    let mut entries = Vec::new();
    let mut copied = 0;
    for r in sections {
        let (Some(before), Some(section)) = (text.get(copied..r.start), text.get(r.clone())) else {
            continue;
        };
        rest.push_str(before);
        rest.push('\n');
        copied = r.end;
        let (_, mut found) = split_entries(section, pattern);
        if found.is_empty() {
            let mut ids: Vec<&str> = pattern.find_iter(section).map(|m| m.as_str()).collect();
            ids.dedup();
            for id in ids.iter().take(super::MAX_LIST_VALUES) {
                if !found.iter().any(|e: &Entry| e.id == *id) {
                    found.push(Entry {
                        id: id.to_string(),
                        text: section.to_string(),
                    });
                }
            }
        }
        entries.extend(found);
    }
    rest.push_str(text.get(copied..).unwrap_or_default());
    let (own, more) = split_entries(&rest, pattern);
    entries.extend(more);
    (own, entries)
}

/// `text` without Microsoft's entry blocks, and the entries. Linear: every line is looked
/// at once, as a heading or as part of the block under one.
fn split_entries(text: &str, pattern: &Regex) -> (String, Vec<Entry>) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut own = String::with_capacity(text.len());
    let mut entries = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(id) = heading_id(lines[i], pattern) else {
            own.push_str(lines[i]);
            i += 1;
            continue;
        };
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim().is_empty() || heading_id(lines[j], pattern).is_some())
            .unwrap_or(lines.len());
        if lines[i + 1..end].iter().any(|l| is_field(l)) {
            entries.push(Entry {
                id: id.to_string(),
                text: lines[i..end].concat(),
            });
            own.push('\n');
        } else {
            for l in &lines[i..end] {
                own.push_str(l);
            }
        }
        i = end;
    }
    (own, entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> Regex {
        Regex::new(r"\b(?:EX|TM|SP|MO)\d{3,8}\b").unwrap()
    }

    #[test]
    fn entries_are_taken_out_with_their_fields() {
        let text = "Please claim the Teams one.\n\nTM2001 – Microsoft Teams\nCalls drop\n\
                    Classification: Incident\nStart time: 3 March 2026 09:00 UTC\n\n\
                    EX2002 - Exchange Online\nDelays\nIssue type: Advisory | Status: Restored\n\n\
                    Thanks, Kim\n";
        let (own, entries) = split(text, &[], &pattern());
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[0].id, "TM2001");
        assert!(entries[0].text.contains("Start time"));
        assert_eq!(entries[1].id, "EX2002");
        assert!(own.contains("Please claim the Teams one."), "{own}");
        assert!(own.contains("Thanks, Kim"), "{own}");
        assert!(!own.contains("Advisory") && !own.contains("09:00"), "{own}");
    }

    #[test]
    fn a_customer_line_that_begins_with_an_id_stays() {
        let text = "EX3003 - that one hit us from 9 to 11.\nTenant: abc\n\nSP3004: also slow\n";
        let (own, entries) = split(text, &[], &pattern());
        assert!(entries.is_empty());
        assert_eq!(own, text);
    }

    #[test]
    fn dutch_and_german_fields_count() {
        let text = "MO4004 - Microsoft 365\nProbleemtype: Advies\nBegintijd: 4 maart\n\n\
                    EX4005 - Exchange\nProblemtyp: Vorfall\n";
        let (_, entries) = split(text, &[], &pattern());
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn what_microsoft_wrote_is_context_whole() {
        let text = "We were down 9-11 for EX5005.\n\nSome users cannot send mail\nID: EX5005\n\
                    Issue type: Advisory\n";
        let at = text.find("Some").unwrap();
        let sections = vec![std::ops::Range {
            start: at,
            end: text.len(),
        }];
        let (own, entries) = split(text, &sections, &pattern());
        assert_eq!(own.trim(), "We were down 9-11 for EX5005.");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "EX5005");
        assert!(entries[0].text.contains("Advisory"));
    }

    #[test]
    fn microsoft_senders() {
        assert!(from_microsoft("365 Service Alert <o365mc@microsoft.com>"));
        assert!(from_microsoft("noreply@email2.microsoft.com"));
        assert!(!from_microsoft("it@microsoft.com.attacker.example"));
        assert!(!from_microsoft("Kim <kim@notmicrosoft.com>"));
    }
}
