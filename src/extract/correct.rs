//! Corrections the sender makes to a number or clock time they wrote: "95 users, not
//! 59", "the end was not 14:50 but 15:20", "nicht 14:50, sondern 15:20 Uhr", "om 10:30
//! in plaats van 10:00". The text is rewritten so that every later stage reads only the
//! corrected value: the correction phrase keeps its right value, and the wrong value is
//! replaced wherever else it stands as a whole number or time.

use super::fold::{Folded, FoldedRegex, re_folded};
use crate::mail::pattern::Pattern;
use regex::{Captures, Regex};

/// A number or a clock time.
const VALUE: &str = r"\d{1,2}[:.]\d{2}|\d{1,6}";

/// "not A but B": A is wrong. A unit word or two may stand after A ("nicht 14:50 Uhr,
/// sondern …", "not 59 users but …"). The negation may be a contraction or a
/// determiner ("it wasn't 120 users, it was 210", "geen 120 maar 210", "keine 40,
/// sondern 60"), and the right value may follow a new clause instead of "but".
static NOT_BUT: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"(?i)(?:\b(?:not|nicht|niet|geen|keine?n?)|n['’]t)\s+(?:at\s+|om\s+|um\s+)?({VALUE})((?:\s+[[:alpha:]]+){{0,2}})\s*[,;–-]?\s*(?:but|rather|sondern|maar|doch|(?:it|that|there|they)\s+(?:was|were|is|are)|het\s+(?:was|waren)|es\s+(?:war|waren))\s+(?:it was\s+|at\s+|om\s+|um\s+|eher\s+|er\s+)?({VALUE})\b"
    ))
});

/// "B, not A", "B (not A)", "B instead of A": A is wrong; B and its unit words stay.
static B_NOT_A: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"(?i)\b(({VALUE})(?:\s+[[:alpha:]]+){{0,2}}?)\s*(?:,\s*|\(\s*|\s+)(?:not|nicht|niet|instead of|in plaats van|statt|anstatt|anstelle von)\s+({VALUE})\b\)?"
    ))
});

/// Corrections read from one mail, at most.
const MAX_FIXES: usize = 16;

/// One correction: the wrong value, the right one, and the phrase that said so.
#[derive(Debug, PartialEq)]
struct Fix {
    wrong: String,
    right: String,
    start: usize,
    end: usize,
    /// The phrase as it should read: the right value in place, the wrong one gone.
    with: String,
    /// The word after the right count ("users" in "84 users, not 48"), lower case.
    unit: Option<String>,
}

/// Units that make a number no count of people: a count corrected elsewhere is not
/// replaced before them ("within 48 hours" stays when "84 users, not 48" is written).
const NOT_A_COUNT: &[&str] = &[
    "hours", "hour", "minutes", "min", "mins", "uur", "minuten", "stunden", "stunde", "%", "days",
    "dagen", "tage", "eur", "euro", "gb", "mb",
];

/// The word right after `text[at..]`'s leading value, lower case.
fn next_word(text: &str) -> Option<String> {
    let rest = text.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':' || c == '.');
    let rest = rest.trim_start();
    if rest.starts_with('%') {
        return Some("%".into());
    }
    let word: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
    (!word.is_empty()).then(|| word.to_lowercase())
}

/// Every correction says one of these; most mail has none, and is read no further.
static SAYS_SO: Pattern<FoldedRegex> = re_folded!(
    r"\b(?:not|nicht|niet|geen|keine?n?|instead|plaats|statt|anstatt|anstelle)\b|n['’]t\b"
);

/// Whether `text` (folded) may hold a correction.
pub fn may_correct(text: &Folded) -> bool {
    SAYS_SO.get().is_match(text)
}

fn fixes(text: &str) -> Vec<Fix> {
    let mut out: Vec<Fix> = Vec::new();
    let take = |out: &Vec<Fix>, c: &Captures<'_>, wrong: usize, right: usize, keep: usize| {
        let (all, w, r) = (c.get(0)?, c.get(wrong)?, c.get(right)?);
        // Two times or two numbers; a time corrected by a count is no correction.
        if w.as_str().contains([':', '.']) != r.as_str().contains([':', '.']) {
            return None;
        }
        if w.as_str() == r.as_str()
            || out
                .iter()
                .any(|f| f.start < all.end() && all.start() < f.end)
        {
            return None;
        }
        Some(Fix {
            wrong: w.as_str().to_string(),
            right: r.as_str().to_string(),
            start: all.start(),
            end: all.end(),
            unit: next_word(&text[r.start()..]),
            with: c.get(keep)?.as_str().to_string(),
        })
    };
    // A real mail corrects a few values; past MAX_FIXES the rest is not read (each
    // position of the text is compared with every correction).
    for c in NOT_BUT.get().captures_iter(text).take(MAX_FIXES) {
        let Some(mut fix) = take(&out, &c, 1, 3, 3) else {
            continue;
        };
        // "it wasn't 120 users, it was 210", "not 59 users but 95 were hit": the right
        // value takes the words said with the wrong one, unless it repeats them.
        let unit = c.get(2).map_or("", |u| u.as_str().trim());
        let first = unit.split_whitespace().next().map(str::to_lowercase);
        if !unit.is_empty() && fix.unit != first {
            fix.with = format!("{} {unit}", fix.with);
            fix.unit = next_word(&fix.with);
        }
        // A contraction's "n't" is cut from its verb: "It was" + " 210 users". Every
        // negation the pattern takes starts with one ASCII letter; only "n't" has an
        // apostrophe after it.
        if c.get(0)
            .and_then(|m| m.as_str().get(1..))
            .is_some_and(|rest| rest.starts_with(['\'', '’']))
        {
            fix.with.insert(0, ' ');
        }
        out.push(fix);
    }
    for c in B_NOT_A.get().captures_iter(text).take(MAX_FIXES) {
        if let Some(fix) = take(&out, &c, 3, 2, 1) {
            out.push(fix);
        }
    }
    out.truncate(MAX_FIXES);
    out.sort_by_key(|f| f.start);
    out
}

/// Whether `text[at..at + len]` is a whole value: no digit, ':' or '.'+digit joined on.
fn whole(text: &str, at: usize, len: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at + len..].chars().next();
    let after2 = text[at + len..].chars().nth(1);
    let joined_before = before.is_some_and(|c| c.is_ascii_digit() || c == ':' || c == '.');
    let joined_after = after.is_some_and(|c| c.is_ascii_digit() || c == ':')
        || after == Some('.') && after2.is_some_and(|c| c.is_ascii_digit());
    !(joined_before || joined_after)
}

/// Whether the value at the start of `here` is what `f` corrects: any time for a time;
/// otherwise one with the same word after it, or one not of a duration or amount.
fn same_kind(f: &Fix, here: &str) -> bool {
    if f.wrong.contains([':', '.']) {
        return true;
    }
    let after = next_word(here);
    match (&f.unit, &after) {
        (Some(unit), Some(word)) if word == unit => true,
        (_, Some(word)) => !NOT_A_COUNT.contains(&word.as_str()),
        (_, None) => true,
    }
}

/// `text` with the sender's corrections applied; None when it makes none. Linear: a
/// correction is at most a few values, and each is looked for in one pass. Callers
/// ask [`may_correct`] first.
pub fn apply(text: &str) -> Option<String> {
    let fixes = fixes(text);
    if fixes.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        if let Some(f) = fixes.iter().find(|f| f.start == at) {
            out.push_str(&f.with);
            at = f.end;
            continue;
        }
        let Some(c) = text[at..].chars().next() else {
            break;
        };
        if c.is_ascii_digit() {
            if let Some(f) = fixes.iter().find(|f| {
                text[at..].starts_with(&f.wrong)
                    && whole(text, at, f.wrong.len())
                    && !fixes.iter().any(|g| g.start < at && at < g.end)
                    && same_kind(f, &text[at..])
            }) {
                out.push_str(&f.right);
                at += f.wrong.len();
                continue;
            }
            // The rest of this number is copied whole: "159" holds no "59".
            let len = text[at..]
                .find(|c: char| !c.is_ascii_digit() && c != ':' && c != '.')
                .unwrap_or(text.len() - at);
            out.push_str(&text[at..at + len]);
            at += len;
            continue;
        }
        out.push(c);
        at += c.len_utf8();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_said_again_replaces_the_wrong_one_everywhere() {
        let text = "We had 48 staff without mail. Sorry: 84 people, not 48.";
        assert_eq!(
            apply(text).as_deref(),
            Some("We had 84 staff without mail. Sorry: 84 people.")
        );
    }

    #[test]
    fn a_contracted_or_determiner_negation_then_a_new_clause() {
        // Phrasings of my own.
        for (text, wrong, right) in [
            (
                "Mind you, it wasn't 35 seats, it was 53 in the end.",
                "35",
                "53",
            ),
            (
                "Er waren geen 18 maar 81 collega's zonder Teams.",
                "18",
                "81",
            ),
            ("Es waren keine 40 Nutzer, sondern 64.", "40", "64"),
            ("Correction: there weren't 70 – there were 17.", "70", "17"),
        ] {
            let fixed = apply(text).unwrap_or_default();
            assert!(
                fixed.contains(right) && !fixed.contains(wrong),
                "{text} -> {fixed}"
            );
        }
        assert_eq!(
            apply("Not 59 users but 95 were hit.").as_deref(),
            Some("95 users were hit.")
        );
        assert_eq!(
            apply("It wasn't 120 users, it was 210.").as_deref(),
            Some("It was 210 users.")
        );
        // A negated verb before a count is no correction.
        assert_eq!(
            apply("We don't have 120 users, but 35 were affected."),
            None
        );
    }

    #[test]
    fn a_time_corrected_in_three_languages() {
        assert_eq!(
            apply("From 9:10 to 10:40. The end was not 10:40 but 11:05.").as_deref(),
            Some("From 9:10 to 11:05. The end was 11:05.")
        );
        assert_eq!(
            apply("von 8:00 bis 9:30 Uhr; Ende nicht 9:30 Uhr, sondern 9:55.").as_deref(),
            Some("von 8:00 bis 9:55 Uhr; Ende 9:55 Uhr.")
        );
        assert_eq!(
            apply("van 7.15 tot 8.45; begin om 7.40 in plaats van 7.15").as_deref(),
            Some("van 7.40 tot 8.45; begin om 7.40")
        );
    }

    #[test]
    fn a_corrected_count_leaves_durations_and_amounts_of_the_same_number() {
        assert_eq!(
            apply("48 staff had no mail within 48 hours; 48% of sites. Sorry: 84 staff, not 48.")
                .as_deref(),
            Some("84 staff had no mail within 48 hours; 48% of sites. Sorry: 84 staff.")
        );
        assert_eq!(
            apply("Down for 2 hours. Correction: 3 hours, not 2.").as_deref(),
            Some("Down for 3 hours. Correction: 3 hours.")
        );
    }

    #[test]
    fn a_mail_of_nothing_but_corrections_applies_only_the_first_few() {
        let text: String = (0..1000)
            .map(|i| format!("{} users, not {}. ", 1000 + i, 5000 + i))
            .collect();
        let out = apply(&text).unwrap();
        assert_eq!(out.matches(", not ").count(), 1000 - MAX_FIXES);
    }

    #[test]
    fn parts_of_other_numbers_and_unrelated_negations_stay() {
        assert_eq!(
            apply("159 users, ticket 5900, 59 users, not 95.").as_deref(),
            Some("159 users, ticket 5900, 59 users.")
        );
        assert_eq!(apply("We are not 100% sure, but 3 sites were down."), None);
        assert_eq!(apply("It was not 9:30 but 40 people."), None);
        assert_eq!(apply("No correction here: 12 users."), None);
    }
}
