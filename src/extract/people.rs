//! Affected users and their locations.

use crate::mail::pattern::Pattern;
use regex::{Regex, RegexSet};

use super::fold::{Folded, FoldedRegex, re_folded};
use super::text::{Statement, Statements, parse_count};

const USER_NOUNS: &str = r"[a-zäöü]*kräfte|[a-z]*krachten|nurses|drivers|engineers|consultants|attorneys|lawyers|solicitors|paralegals|accountants|advis[eo]rs|technicians|developers|designers|architects|analysts|carers|caregivers|pharmacists|dentists|physicians|cashiers|volunteers|interns|advocaten|adviseurs|monteurs|technici|ontwikkelaars|verkopers|anwälte|anwältinnen|berater(?:innen)?|techniker(?:innen)?|entwickler(?:innen)?|ingenieure|pupils|operators|clerks|chauffeurs|verpleegkundigen|artsen|fahrer(?:innen)?|lehrer(?:innen)?|ärzte|ärztinnen|users?|staff|employees?|people|persons|colleagues|members of staff|staff members|team members|mailboxes|seats|accounts|agents|workers|students|teachers|nurses|doctors|clinicians|end[- ]users|gebruikers|[a-zäöü]*medewerkers|werknemers|collega's|collega’s|collegas|personen|mensen|mailboxen|leerlingen|docenten|\bman\b|[a-zäöüß]*mitarbeiter(?:innen|n)?|verkäufer(?:innen)?|kassierer(?:innen)?|sachbearbeiter(?:innen)?|monteure|azubis|auszubildende[n]?|mitarbeitende[n]?|benutzer(?:innen|n)?|nutzer(?:innen|n)?|anwender(?:innen|n)?|kollegen|kolleginnen|beschäftigte[n]?|angestellte[n]?|postfächer[n]?|leute[n]?|personen";

/// A count followed by (a few words and) a noun for people.
fn count_noun_pattern() -> String {
    format!(
        r"(?i)\b(\d{{1,3}}(?:[.,\u{{a0}}\u{{202f}} ]\d{{3}})+|\d{{1,6}})\+?\s+(?:(?:of\s+)?(?:our|the|onze|unsere|unserer|de|die|der|all|alle|total|affected|impacted|betroffene|betroffenen|getroffen|interne|local|licensed|office|internal|night[- ]shift|night|remote|field|warehouse|nacht|externe)\s+){{0,3}}(?:{USER_NOUNS}|of us|van ons|von uns)\b"
    )
}
static COUNT_NOUN: Pattern<Regex> = Pattern::new(|| crate::regex(&count_noun_pattern()));
/// A count beside a place: "35 in Rotterdam".
/// An adverb of place may stand between ("another 6 over in Salem", "12 more at the
/// depot", "4 daar in Gent").
const COUNT_IN_PLACE_PATTERN: &str = r"\b(\d{1,3}(?:[.,]\d{3})+|\d{1,6})\s+(?:(?:over|out|up|down|back|more|daar|dort|drüben|mehr)\s+)?(?:in|at|op|bij|te|an|am|en|und|and)\s+(?:(?:our|onze|unserem|unserer|the|de|het)\s+)?[A-ZÀ-ÖØ-ÞĀ-ž]";
static COUNT_IN_PLACE: Pattern<Regex> = re!(COUNT_IN_PLACE_PATTERN);
/// A count, a few words and a place, beside a count in a place ("27 attorneys and
/// clerks in Chicago and 9 in Milwaukee") or in a statement about people hit ("11
/// Lageristen in Wels konnten nicht …"): people, whatever the noun. Group 2 holds the
/// words, for [`NOT_PEOPLE`].
const COUNT_WORDS_IN_PLACE_PATTERN: &str = r"\b(\d{1,3}(?:[.,]\d{3})+|\d{1,6})\s+((?:[A-Za-zäöüßÄÖÜ'’-]+\s+){1,3})(?:in|at|op|bij|te|an|am)\s+(?:(?:our|onze|unserem|unserer|the|de|het)\s+)?[A-ZÀ-ÖØ-ÞĀ-ž]";
static COUNT_WORDS_IN_PLACE: Pattern<Regex> = re!(COUNT_WORDS_IN_PLACE_PATTERN);
/// A place with its count in a parenthesis after it: "die Kolleginnen in Steyr (7)".
const PLACE_COUNT_AFTER_PATTERN: &str =
    r"\b(?:in|at|bij|te|op|an|am)\s+[A-ZÀ-ÖØ-ÞĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’-]*\s*\((\d{1,6})\)";
static PLACE_COUNT_AFTER: Pattern<Regex> = re!(PLACE_COUNT_AFTER_PATTERN);
/// The same without a preposition, in a statement about people hit: "Dublin (55) and
/// Cork (23) were hit". Group 1 holds the name, which must be a place; group 2 the
/// count.
const PLACE_PAREN_COUNT_PATTERN: &str =
    r"\b([A-ZÀ-ÖØ-ÞĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’-]*)\s*\((\d{1,6})\)";
static PLACE_PAREN_COUNT: Pattern<Regex> = re!(PLACE_PAREN_COUNT_PATTERN);
/// Words that count something other than people: time, mail, places, machines (and
/// months, asked of the temporal grammar's table: see [`counts_people`]).
static NOT_PEOPLE: Pattern<Regex> = re!(
    r"(?i)\b(?:minutes?|mins?|hours?|hrs?|days?|weeks?|uur|minuten|stunden|tage[n]?|dagen|e?-?mails?|messages?|berichten|nachrichten|tickets?|calls?|anrufe|sites?|offices?|locations?|vestigingen|standorte[n]?|kantoren|percent|procent|prozent|devices?|laptops?|pcs|computers?|printers?|servers?|meetings?|invoices?|orders?|uhr|am|pm|a\.m|p\.m|utc|gmt|cet|cest|mez|mesz|bst|est|edt)\b"
);
static FIRST_COUNT: Pattern<Regex> = re!(r"\b(\d{1,3}(?:[.,]\d{3})+|\d{1,6})\b");
static AFFECTED: Pattern<FoldedRegex> = re_folded!(
    r"\b(affected|impacted|getroffen|betroffen|could not|couldn't|unable|konden|konnten|hit|stopped|lost|no access|geen toegang|kein zugriff|who)\b",
);
/// What happened to a site, for places said apart from the count ("mail to our Hartford
/// office was delayed").
static IMPACT: Pattern<FoldedRegex> = re_folded!(
    r"\b(delayed|down|outage|no mail|vertraagd|storing|geen mail|plat|verzögert|ausfall|störung|ausgefallen|kein)\b"
);
static SUBSET: Pattern<Regex> = re!(
    r"(?i)\b(of them|of which|of whom|daarvan|waarvan|davon|darunter|including|inclusief|among them|the rest|the remainder|the remaining|the others|de rest|de overige|de anderen|der rest|den rest|die übrigen|die restlichen|die anderen)\b"
);
static USER_LABEL: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"(?i)affected|impacted|getroffen|betroffen|aantal|anzahl|^who$|^wie$|number of|{USER_NOUNS}"
    ))
});

/// The count in capture group 1 and where it starts.
fn count_at(c: &regex::Captures<'_>) -> Option<(usize, u64)> {
    let g = c.get(1)?;
    parse_count(g.as_str()).map(|n| (g.start(), n))
}

/// Whether the digits at `at` follow a digit and a time or date separator.
fn after_separator(text: &str, at: usize) -> bool {
    let before = &text.as_bytes()[..at];
    matches!(before, [.., d, b':' | b'.' | b'/' | b'-'] if d.is_ascii_digit())
}

/// Whether the words between a count and its place may name people: none of them a
/// unit, a clock word or a month ("27 March in Leeds").
fn counts_people(not_people: &Regex, words: &str) -> bool {
    !not_people.is_match(words)
        && words
            .split_whitespace()
            .all(|w| super::when::month_number(w).is_none())
}

fn follows_month(before: &str) -> bool {
    let word = before
        .trim_end()
        .trim_end_matches([',', '.'])
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    super::when::month_number(&word).is_some()
}

/// Whether a text opens with a number, perhaps after a word for "about".
fn starts_with_count(text: &str) -> bool {
    let t = text.trim_start_matches(|c: char| !c.is_alphanumeric());
    let first = t.split_whitespace().next().unwrap_or_default();
    let t = if [
        "about",
        "approx",
        "approx.",
        "approximately",
        "around",
        "ca",
        "ca.",
        "circa",
        "ongeveer",
        "zo'n",
        "etwa",
        "ungefähr",
        "rund",
    ]
    .iter()
    .any(|w| first.eq_ignore_ascii_case(w))
    {
        t[first.len()..].trim_start()
    } else {
        t
    };
    t.starts_with(|c: char| c.is_ascii_digit())
}

/// A total said without its noun: "75 in total", "insgesamt 75", "in totaal 75",
/// "zusammen also 75", "75 altogether". A count of people only where the statement
/// names them ("Users in A, B and C were affected, 75 in total").
const TOTAL_PATTERN: &str = r"(?i)\b(?:(\d{1,3}(?:[.,]\d{3})+|\d{1,6})\s+(?:in\s+total|total|in\s+all|all\s+told|altogether|combined|in\s+totaal|totaal|insgesamt|zusammen)|(?:in\s+total|in\s+all|all\s+told|altogether|combined|in\s+totaal|totaal|samen|bij\s+elkaar|insgesamt|zusammen|gesamt)(?:\s+(?:also|so|thus|dus|that's|that\s+is|that\s+makes|dat\s+zijn|das\s+sind|sind\s+das|zijn\s+dat))?\s+(\d{1,3}(?:[.,]\d{3})+|\d{1,6}))\b";
static TOTAL: Pattern<Regex> = re!(TOTAL_PATTERN);

/// "Een man of vijftig": Dutch for about fifty people.
const ABOUT_PATTERN: &str = r"(?i)\been\s+man\s+of\s+(\d{1,6})\b";
static ABOUT: Pattern<Regex> = re!(ABOUT_PATTERN);
/// A part of a whole: "85 of our 120".
const OUT_OF_PATTERN: &str = r"(?i)\b(\d{1,3}(?:[.,]\d{3})+|\d{1,6})\s+(?:out\s+of|of|van|von|uit)\s+(?:(?:our|the|onze|de|unseren|den|unserer)\s+)?(?:\d{1,3}(?:[.,]\d{3})+|\d{1,6})\b";
static OUT_OF: Pattern<Regex> = re!(OUT_OF_PATTERN);
/// The three count patterns at once: one pass over a statement says which occur, and
/// only those are run for their captures (each starts with digits: nothing to skip to).
#[allow(clippy::expect_used)]
static COUNTS: Pattern<RegexSet> = Pattern::new(|| {
    RegexSet::new(
        [
            count_noun_pattern().as_str(),
            COUNT_IN_PLACE_PATTERN,
            OUT_OF_PATTERN,
            ABOUT_PATTERN,
            TOTAL_PATTERN,
            COUNT_WORDS_IN_PLACE_PATTERN,
            PLACE_COUNT_AFTER_PATTERN,
            PLACE_PAREN_COUNT_PATTERN,
        ]
        .map(crate::ascii_pattern),
    )
    // Built-in patterns, compiled by every unit test: failure is a programming error.
    .expect("built-in patterns compile")
});

/// Total affected users and the statement it came from.
pub fn affected_users(statements: &[Statement]) -> Option<(u64, String, usize)> {
    let mut best: Option<(u64, String, usize, u8)> = None;
    let (counts_set, user_label) = (COUNTS.get(), USER_LABEL.get());
    let (count_noun, count_in_place, out_of, about) = (
        COUNT_NOUN.get(),
        COUNT_IN_PLACE.get(),
        OUT_OF.get(),
        ABOUT.get(),
    );
    let (words_in_place, not_people, count_after, affected) = (
        COUNT_WORDS_IN_PLACE.get(),
        NOT_PEOPLE.get(),
        PLACE_COUNT_AFTER.get(),
        AFFECTED.get(),
    );
    let paren_count = PLACE_PAREN_COUNT.get();
    for (i, s) in statements.iter().enumerate() {
        // Every count has a digit; most statements have none.
        if !s.value().bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        // A question about people is the label of the bare count answered under it
        // ("How many users were affected?" then "25, all in Leuven").
        let asked = i > 0 && s.label.is_none() && {
            let q = &statements[i - 1];
            q.text.ends_with('?') && user_label.is_match(&q.text) && starts_with_count(s.value())
        };
        let labelled = asked || s.label.as_deref().is_some_and(|l| user_label.is_match(l));
        let found = counts_set.matches(s.value());
        if !found.matched_any() && !labelled {
            continue;
        }
        // Only the patterns that occur are run (a capture iterator allocates even over
        // nothing).
        let caps = |k: usize| {
            let re: &Regex = [&*count_noun, &*count_in_place, &*out_of, &*about][k];
            found
                .matched(k)
                .then(|| re.captures_iter(s.value()))
                .into_iter()
                .flatten()
        };
        let counts: Vec<(usize, u64)> = caps(0)
            .chain(caps(3))
            .filter_map(|c| count_at(&c))
            // "11 March 2026 our users": a year after a month is not a head count.
            .filter(|(at, n)| !((1900..=2100).contains(n) && follows_month(&s.value()[..*at])))
            .chain(
                // "35 in Rotterdam": a count beside a place, but never a year ("2026 in London").
                caps(1)
                    .filter_map(|c| count_at(&c))
                    .filter(|(_, n)| !(1900..=2100).contains(n)),
            )
            .chain(
                (found.matched(5) && (found.matched(1) || affected.is_match(s.folded())))
                    .then(|| words_in_place.captures_iter(s.value()))
                    .into_iter()
                    .flatten()
                    .filter(|c| {
                        c.get(2)
                            .is_some_and(|w| counts_people(&not_people, w.as_str()))
                    })
                    .filter_map(|c| count_at(&c))
                    .filter(|(_, n)| !(1900..=2100).contains(n)),
            )
            .chain(
                found
                    .matched(6)
                    .then(|| count_after.captures_iter(s.value()))
                    .into_iter()
                    .flatten()
                    .filter_map(|c| count_at(&c)),
            )
            .chain(
                (found.matched(7) && affected.is_match(s.folded()))
                    .then(|| paren_count.captures_iter(s.value()))
                    .into_iter()
                    .flatten()
                    .filter(|c| {
                        c.get(1)
                            .is_some_and(|n| !clean_name(n.as_str(), &[]).is_empty())
                    })
                    .filter_map(|c| {
                        let g = c.get(2)?;
                        parse_count(g.as_str()).map(|n| (g.start(), n))
                    }),
            )
            .collect();
        let mut counts = counts;
        // "Waterford had 18 people off, Wexford 11, Kilkenny 6": the places after a count
        // of people, each with its own count and the noun left out.
        // Asked only where a list separator and more digits follow the first count.
        if found.matched(0) {
            if let Some(&(first, _)) = counts.iter().min().filter(|c| more_listed(s.value(), c.0)) {
                counts.extend(
                    listed_after(s.value(), first)
                        .into_iter()
                        .map(|i| (i.1, i.2)),
                );
            }
        }
        // "9:30 am Pacific", "11/6 in Leeds": the digits after a clock time's or a date's
        // separator are no count ("am" is German for "at the").
        counts.retain(|&(at, _)| !after_separator(s.value(), at));
        counts.sort_unstable();
        counts.dedup_by_key(|c| c.0);
        // "85 of our 120 users", "85 van de 120", "85 von 120": the first is the affected part.
        if let Some(part) = caps(2)
            .next()
            .and_then(|c| c.get(1))
            .and_then(|g| parse_count(g.as_str()))
        {
            counts = vec![(0, part)];
        }
        // "Users in A, B and C were affected, 75 in total": the total, where the statement
        // (or its label) names the people; said beside a breakdown ("140 users in Bern
        // and 35 in Thun, 175 in total") it is the total unless a count exceeds it.
        if found.matched(4) && (labelled || user_label.is_match(s.value())) {
            if let Some(n) = TOTAL
                .get()
                .captures(s.value())
                .and_then(|c| c.get(1).or_else(|| c.get(2)))
                .and_then(|g| parse_count(g.as_str()))
                .filter(|&n| counts.iter().all(|c| c.1 <= n))
            {
                counts = vec![(0, n)];
            }
        }
        // A field that lists every site with its count says more than the counts the
        // patterns found in it ("Den Haag 40 en Delft 12" has one "40 en D…").
        let listed = labelled.then(|| listed_sites(s.value())).flatten();
        let counted: u64 = counts.iter().map(|c| c.1).sum();
        if let Some(n) = listed.filter(|&n| n > counted && !counts.is_empty()) {
            counts = vec![(0, n)];
        }
        let total = if counts.is_empty() {
            if !labelled {
                continue;
            }
            // "Affected users: 140 (Bern) and 35 (Thun)", "… Bern 140, Thun 35": the sites'
            // sum; "Affected users: approx. 95 (Dublin & Cork)": the first number.
            match listed.or_else(|| {
                FIRST_COUNT
                    .get()
                    .captures(s.value())
                    .and_then(|c| c.get(1))
                    .and_then(|g| parse_count(g.as_str()))
            }) {
                Some(n) => n,
                None => continue,
            }
        } else if let Some(total) = stated_total(s, &counts) {
            total
        } else if SUBSET.get().is_match(s.value()) {
            counts[0].1
        } else {
            counts.iter().map(|c| c.1).sum()
        };
        if total == 0 {
            continue;
        }
        let rank = if labelled {
            3
        } else if AFFECTED.get().is_match(s.folded()) {
            2
        } else {
            1
        };
        if best.as_ref().is_none_or(|b| rank > b.3) {
            best = Some((total, s.text.clone(), i, rank));
        }
    }
    best.map(|(n, src, i, _)| (n, src, i))
}

/// A place and a bare count after a list's separator: ", Wexford 11", "and in Kilkenny
/// 6", "und Linz 9". Group 1 holds the name, group 2 the count.
static PLACE_COUNT_ITEM: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"(?:[,;]|\b(?:and|en|und)\b)\s+(?:(?:in|at|op|bij|te|an|am|im)\s+)?({NAME})\s+(\d{{1,6}})\b"
    ))
});

/// Whether a list separator (",", ";", "and", "en", "und") and then a digit follow the
/// count at `from`: the cheap test before [`listed_after`]'s pattern.
fn more_listed(value: &str, from: usize) -> bool {
    let rest = value.as_bytes().get(from..).unwrap_or_default();
    let past_count = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let rest = &rest[past_count..];
    let separator = (0..rest.len()).find(|&k| match rest[k] {
        b',' | b';' => true,
        b' ' => [&b"and "[..], b"en ", b"und "]
            .iter()
            .any(|w| rest[k + 1..].starts_with(w)),
        _ => false,
    });
    separator.is_some_and(|at| rest[at..].iter().any(u8::is_ascii_digit))
}

/// A place named before its count of people: "Waterford had 18 people off", "Graz mit
/// 40 Mitarbeitern" (the verb before the count is asked first: `locations`).
static PLACE_HAD_COUNT: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"({NAME})\s+(?:had|has|with|hadden|met|hatte|hatten|hat|mit)\s+(?:ca\.?\s+|about\s+|around\s+)?\d{{1,6}}\s+(?i:{USER_NOUNS})\b"
    ))
});

/// The places listed after `from` with the noun left out ("18 people off, Wexford 11,
/// Kilkenny 6"): each name's bytes, and where its count starts and the count. An item
/// ends the sentence or the list ("Tuesday 11 March" is no item), and its name must be
/// a place.
fn listed_after(value: &str, from: usize) -> Vec<(std::ops::Range<usize>, usize, u64)> {
    let Some(rest) = value.get(from..) else {
        return Vec::new();
    };
    PLACE_COUNT_ITEM
        .get()
        .captures_iter(rest)
        // A list in parentheses is a breakdown, read by [`stated_total`]'s rules.
        .filter(|c| {
            let before = c.get(0).map_or("", |m| &rest[..m.start()]);
            before.matches('(').count() <= before.matches(')').count()
        })
        .filter(|c| {
            let after = c.get(0).map_or("", |m| &rest[m.end()..]).trim_start();
            after.is_empty()
                || after.starts_with([',', ';', '.', ')'])
                || ["and ", "en ", "und "].iter().any(|w| after.starts_with(w))
        })
        .filter(|c| {
            c.get(1)
                .is_some_and(|n| !clean_name(n.as_str(), &[]).is_empty())
        })
        .filter_map(|c| {
            let (name, g) = (c.get(1)?, c.get(2)?);
            let n = parse_count(g.as_str())?;
            Some((from + name.start()..from + name.end(), from + g.start(), n))
        })
        .collect()
}

/// Where a field's value lists sites with their counts.
static SITE_LIST_SPLIT: Pattern<Regex> = re!(r"\s*(?:[,;]|\band\b|\ben\b|\bund\b|&|\+)\s*");

/// A field's value that lists sites, each with its count, either way round: "140 (Bern)
/// and 35 (Thun)", "Bern 140, Thun 35", "Bern: 140; Thun: 35": their sum. None unless
/// every piece holds one count and a name.
fn listed_sites(value: &str) -> Option<u64> {
    let (split, count) = (SITE_LIST_SPLIT.get(), FIRST_COUNT.get());
    let mut pieces = 0;
    let mut sum: u64 = 0;
    for piece in split.split(value).filter(|p| !p.trim().is_empty()) {
        let mut counts = count.captures_iter(piece);
        let n = counts
            .next()?
            .get(1)
            .and_then(|g| parse_count(g.as_str()))?;
        if counts.next().is_some() || !piece.chars().any(char::is_uppercase) {
            return None;
        }
        sum = sum.saturating_add(n);
        pieces += 1;
    }
    (pieces >= 2).then_some(sum)
}

/// A total stated before its breakdown: "212 staff: 150 in Zwolle and 62 in Deventer",
/// "212 staff (150 in Zwolle, 62 in Deventer)", or a label that holds the total ("Dit
/// trof 212 medewerkers: …"). The first count is the total when the rest add up to it,
/// or when a colon or parenthesis opens the rest and they add up to no more than it (a
/// site the breakdown names without a count is in the total, not missing from it).
fn stated_total(s: &Statement, counts: &[(usize, u64)]) -> Option<u64> {
    let value = s.value();
    // A total in the label: the value is its breakdown.
    if let Some(label_total) = s
        .label
        .as_deref()
        .and_then(|l| COUNT_NOUN.get().captures(l))
        .as_ref()
        .and_then(count_at)
        .map(|(_, n)| n)
    {
        let rest: u64 = counts.iter().map(|c| c.1).sum();
        return (rest <= label_total).then_some(label_total);
    }
    let (&(first_at, first), rest) = counts.split_first()?;
    let (second_at, parts) = (rest.first()?.0, rest.len());
    let rest: u64 = rest.iter().map(|c| c.1).sum();
    // The first count names its people ("212 staff"); the breakdown counts by place.
    let head = COUNT_NOUN
        .get()
        .captures(value)
        .filter(|c| count_at(c).is_some_and(|(at, _)| at == first_at))?
        .get(0)
        .filter(|m| m.end() <= second_at)?;
    let between = value.get(head.end()..second_at)?;
    // Two or more parts that add up to it: "all 37 staff: 30 in Perth, 4 at Fremantle
    // and 3 in Albany" is 37, but "20 users in Leeds, 10 in York and 10 in Hull" is 40
    // (the first count is a place's own).
    let own = value.get(first_at..second_at).is_some_and(|t| {
        COUNT_WORDS_IN_PLACE
            .get()
            .find(t)
            .is_some_and(|m| m.start() == 0)
    });
    if parts >= 2 && rest == first && !own {
        return Some(first);
    }
    // Only a colon or an opening parenthesis between the total and its breakdown.
    // "… in Steyr (5)": a parenthesis that holds only a count opens no breakdown.
    let bare_count = value.get(second_at..).is_some_and(|r| {
        r.trim_start_matches(|c: char| c.is_ascii_digit())
            .starts_with(')')
    });
    let opens = between.contains([':', '(']) && !between.contains([')', '.', ';']) && !bare_count;
    (opens && rest <= first).then_some(first)
}

const SITE_NOUNS: &str = r"kanzlei|klinik|clinics?|schulen?|schools?|offices?|sites?|branch(?:es)?|clinics?|practices?|warehouses?|yards?|plants?|stores?|shops?|depots?|locations?|campus(?:es)?|headquarters|HQ|kantoor|kantoren|vestigingen|vestiging|locaties|locatie|filialen|filiaal|magazijn|standorten|standort|standorte|niederlassungen|niederlassung|filiale|büros?|werk|lager|zentrale|praxis";
/// A place name: capitalised words in Latin script (Basic Latin, Latin-1, Latin
/// Extended-A: every English, Dutch, German and neighbouring place name). Not `\p{Lu}`
/// and `\p{L}`: their thousands of ranges blow up the lazy DFA's states, and a search
/// that runs out of DFA cache falls back to an engine some thirty times slower.
const NAME: &str = r"(?:'s-)?[A-ZÀ-ÖØ-ÞĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’-]*(?:\s+(?:(?:am|an der|aan den|aan de|aan|op|upon|on|sur|ob|im|in der)\s+)?[A-ZÀ-ÖØ-ÞĀ-ž][A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’-]*){0,2}";

static PLACE_AFTER_PREP: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"(?i:\b(?:in|im|beim|at|bij|te|op|an|aus|from|vanuit|across|(?:verdeeld|verspreid)\s+over|verteilt\s+auf|spread\s+(?:across|over)|split\s+(?:between|across))\s+(?:(?:our|onze|ons|unseren|unserem|unserer|unsere|de|het|the|den|dem|der|die|both|beide|beiden)\s+)?(?:(?:{SITE_NOUNS})\s+(?:in\s+)?)?)({NAME}(?:\s*(?:,|and|en|und|&|/|\+)\s*(?:the\s+|de\s+|our\s+)?{NAME})*)"
    ))
});
static PLACE_BEFORE_SITE: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"({NAME}(?:\s*(?:,|and|en|und|&|/|\+)\s*(?:the\s+|de\s+|our\s+)?{NAME})*)\s+(?i:(?:head\s+|main\s+)?(?:{SITE_NOUNS}))\b"
    ))
});
static PLACE_IN_PARENS: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"\(\s*({NAME}(?:\s*(?:,|and|en|und|&|/|\+)\s*{NAME})*)\s*\)"
    ))
});
static PLACE_AFTER_SITE: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"\b(?i:kantoor|vestiging|locatie|standort|filiale|niederlassung|site|office|branch|lager|werk|warehouse|depot|store|praxis|kanzlei|klinik|clinic|campus|school|schule)\s+({NAME})"
    ))
});
static PLACE_BEFORE_COUNT: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"({NAME})\s*\(\s*(?:ca\.?\s*|about\s*|ongeveer\s*)?\d[\d.,]*\s+(?i:{USER_NOUNS})\b"
    ))
});
/// "verteilt auf Innsbruck (41) und Kufstein (12)": a place with a bare count in a
/// parenthesis after it, read only where people are counted (the users' statement or a
/// location field), where a parenthesised number beside a name is a head count.
static PLACE_BARE_COUNT: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"({NAME})\s*\(\s*(?:ca\.?\s*|about\s*|approx\.?\s*|ongeveer\s*|rund\s*)?\d{{1,6}}\s*\)"
    ))
});
/// "(32 users, Bangor)", "(12 Mitarbeiter – Jena)": the count first, then its place.
static COUNT_THEN_PLACE: Pattern<Regex> = Pattern::new(|| {
    crate::regex(&format!(
        r"\(\s*\d[\d.,]*\s+(?i:{USER_NOUNS})\s*(?:,|;|:|-|–|/)\s*({NAME}(?:\s*(?:,|and|en|und|&|/|\+)\s*{NAME})*)\s*\)"
    ))
});
/// "(Bristol 41, Bath 23)", "Venlo 92, Roermond 38": each place before its count, in
/// a parenthesis or a list.
static PLACE_THEN_COUNT: Pattern<Regex> =
    Pattern::new(|| crate::regex(&format!(r"(?:\(|,|;|:)\s*({NAME})\s+\d{{1,6}}\b")));
/// One piece of a listed field, a site and then its count: "Bern 140", "Thun: 35".
static PLACE_COUNT_PIECE: Pattern<Regex> =
    Pattern::new(|| crate::regex(&format!(r"^\s*({NAME})\s*:?\s*\d{{1,6}}\b")));
/// Any site noun, in folded text: what [`PLACE_BEFORE_SITE`] and [`PLACE_AFTER_SITE`] need.
static SITE_WORD: Pattern<FoldedRegex> =
    Pattern::new(|| FoldedRegex::new(&format!("(?:{})", SITE_NOUNS.to_lowercase())));
/// A clause that says nobody at a place was hit: "no users in Leeds", "niemand in
/// Gent", "keine Mitarbeiter in Graz" (before the place), "Leeds was not affected",
/// "Gent niet getroffen" (after it).
static NOBODY_BEFORE: Pattern<FoldedRegex> = Pattern::new(|| {
    FoldedRegex::new(&format!(
        r"\b(?:no(?:\s+\w+)?\s+(?:{USER_NOUNS}|one)|nobody|no-one|none(?:\s+of)?|geen(?:\s+\w+)?\s+(?:{USER_NOUNS})|niemand|keine?r?(?:\s+\w+)?\s+(?:{USER_NOUNS}))\b"
    ))
});
/// What stops a "nobody" clause from negating its place: "nobody in Leeds could log
/// in" is the impact itself.
static COULD: Pattern<FoldedRegex> = re_folded!(
    r"\b(?:could|couldn't|can't|cannot|able|unable|had|got|received|konden|kon|kunnen|kregen|hadden|konnten|konnte|können|hatten|hatte|bekamen)\b"
);
static NOBODY_AFTER: Pattern<FoldedRegex> = re_folded!(
    r"\b(?:(?:was|were|is|are)\s+(?:not|un)\s*affected|(?:was|were)n't\s+affected|unaffected|(?:niet|nicht)\s+(?:getroffen|geraakt|betroffen))\b"
);
static LIST_SPLIT: Pattern<Regex> = re!(r"\s*(?:,|\band\b|\ben\b|\bund\b|&|/|\+)\s*");
static LOCATION_LABEL: Pattern<Regex> = re!(
    r"(?i)^(?:affected\s+|getroffen\s+|betroffene\s+)?(locations?|locaties?|locatie\(s\)|standorte?|standort\(e\)|sites?|offices?|vestiging(en)?|kantoren|where|waar|wo)(?:\s+affected|\s+getroffen|\s+betroffen)?$"
);

/// Endings of German (and Dutch) common nouns that no place name has.
const COMMON_NOUN_ENDINGS: &[&str] = &[
    "ung",
    "heit",
    "keit",
    "schaft",
    "betrieb",
    "dienst",
    "ität",
    "ismus",
    "wesen",
    "office",
    "schicht",
    "abteilung",
    "zentrale",
    "afdeling",
];

const NOT_PLACES: &[&str] = &[
    "excel",
    "word",
    "powerpoint",
    "onenote",
    "planner",
    "forms",
    "intune",
    "defender",
    "entra",
    "dynamics",
    "viva",
    "yammer",
    "skype",
    "edge",
    "chrome",
    "safari",
    "firefox",
    "ios",
    "android",
    "mac",
    "macos",
    "iphone",
    "ipad",
    "owa",
    "portal",
    "sso",
    "kanzlei",
    "praxis",
    "lager",
    "kantoor",
    "büro",
    "filiale",
    "standort",
    "mfa",
    "copilot",
    "loop",
    "bookings",
    "stream",
    "sway",
    "microsoft",
    "office",
    "outlook",
    "owa",
    "teams",
    "exchange",
    "sharepoint",
    "onedrive",
    "online",
    "windows",
    "azure",
    "power",
    "bi",
    "csp",
    // Departments, never sites: "12 in Finance and 5 in Sales".
    "finance",
    "sales",
    "accounting",
    "accounts",
    "marketing",
    "hr",
    "legal",
    "reception",
    "logistics",
    "operations",
    "engineering",
    "production",
    "management",
    "buchhaltung",
    "vertrieb",
    "verwaltung",
    "einkauf",
    "empfang",
    "boekhouding",
    "verkoop",
    "administratie",
    "inkoop",
    "productie",
    "receptie",
    "it",
    "ict",
    "mfa",
    "vpn",
    "our",
    "the",
    "all",
    "het",
    "de",
    "die",
    "der",
    "das",
    "we",
    "i",
    "ich",
    "wir",
    "unsere",
    "onze",
    // Prepositions that open a sentence: "Am Standort Hamburg", "Op de locatie Assen".
    "am",
    "im",
    "in",
    "at",
    "op",
    "bij",
    "beim",
    "vom",
    "zum",
    "hq",
    "headquarters",
    "service",
    "health",
    "ticket",
    "tenant",
    "incident",
    "dashboard",
    "admin",
    "center",
    "centre",
    "phone",
    "web",
    "pstn",
    "gsm",
    "business",
    "premium",
    "standard",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "maart",
    "mei",
    "märz",
    "montag",
    "freitag",
    "maandag",
    "vrijdag",
    "total",
    "totaal",
    "insgesamt",
    "mitarbeiter",
    "benutzer",
    "nutzer",
    "standorten",
    "standort",
    "zentrale",
    "büro",
    "filiale",
    "hauptsitz",
    "gmt",
    "utc",
    "cet",
    "cest",
    "mez",
    "est",
    "edt",
    "pst",
    "bst",
    "no",
    "nee",
    "ja",
    "yes",
    "sla",
];

/// Places written in the users statement, location fields, or beside site nouns.
pub fn locations(
    statements: &Statements,
    users_statement: Option<usize>,
    partner_names: &[String],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let scan = |s: &Statement, out: &mut Vec<(String, String)>, labelled: bool| {
        let mut lists: Vec<String> = Vec::new();
        if labelled {
            lists.push(s.value().to_string());
        }
        // Two cheap tests spare the place patterns (long classes, nothing to skip to)
        // that need a site noun or a parenthesis which the statement does not have.
        let sited = SITE_WORD.get().is_match(s.folded());
        let parens = s.value().contains('(');
        for (re, needed) in [
            (&*PLACE_AFTER_PREP.get(), true),
            (&*PLACE_BEFORE_SITE.get(), sited),
            (&*PLACE_IN_PARENS.get(), parens),
            (&*PLACE_AFTER_SITE.get(), sited),
            (&*PLACE_BEFORE_COUNT.get(), parens),
            (&*PLACE_BARE_COUNT.get(), parens),
            (&*PLACE_THEN_COUNT.get(), parens),
            (&*COUNT_THEN_PLACE.get(), parens),
        ] {
            if !needed {
                continue;
            }
            for c in re.captures_iter(s.value()) {
                if let Some(g) = c.get(1) {
                    if !nobody_at(s.value(), g.start(), g.end()) {
                        lists.push(g.as_str().to_string());
                    }
                }
            }
        }
        // "Waterford had 18 people off, Wexford 11, Kilkenny 6": the place before a count
        // of people, and the places listed after it as its count reads them.
        if let Some(m) = (!labelled)
            .then(|| COUNT_NOUN.get().find(s.value()))
            .flatten()
        {
            let value = s.value();
            // The verb right before the count, asked before the pattern is run.
            let said_with = value[..m.start()]
                .trim_end()
                .rsplit(' ')
                .next()
                .is_some_and(|w| {
                    [
                        "had", "has", "with", "hadden", "met", "hatte", "hatten", "hat", "mit",
                    ]
                    .contains(&w)
                });
            if let Some(g) = said_with
                .then(|| PLACE_HAD_COUNT.get().captures(&value[..m.end()]))
                .flatten()
                .and_then(|c| c.get(1))
            {
                lists.push(g.as_str().to_string());
            }
            if more_listed(value, m.start()) {
                for (name, ..) in listed_after(value, m.start()) {
                    lists.push(value[name].to_string());
                }
            }
        }
        // "Affected users: Bern 140, Thun 35": a field that lists each site before its
        // count, read as its count is (see [`listed_sites`]).
        let user_field = s
            .label
            .as_deref()
            .is_some_and(|l| USER_LABEL.get().is_match(l));
        if user_field && listed_sites(s.value()).is_some() {
            let piece = PLACE_COUNT_PIECE.get();
            for p in SITE_LIST_SPLIT.get().split(s.value()) {
                if let Some(g) = piece.captures(p).and_then(|c| c.get(1)) {
                    lists.push(g.as_str().to_string());
                }
            }
        }
        for list in lists {
            for name in LIST_SPLIT.get().split(&list) {
                let name = clean_name(name, partner_names);
                if name.is_empty() || out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    continue;
                }
                out.push((name, s.text.clone()));
            }
        }
    };
    if let Some(i) = users_statement {
        scan(&statements[i], &mut out, false);
    }
    for s in statements {
        if s.label
            .as_deref()
            .is_some_and(|l| LOCATION_LABEL.get().is_match(l))
        {
            scan(s, &mut out, true);
        }
    }
    if out.is_empty() {
        // No place beside the count: a site noun elsewhere ("our Leeds office") still says where.
        // Only statements with a site noun: most have none.
        let site_word = SITE_WORD.get();
        for (_, s) in statements.matching(&site_word) {
            if (AFFECTED.get().is_match(s.folded()) || IMPACT.get().is_match(s.folded()))
                && PLACE_BEFORE_SITE.get().is_match(s.value())
            {
                scan(s, &mut out, false);
            }
        }
    }
    out
}

/// Whether the clause around a place at `start..end` of `text` says nobody there was
/// affected.
fn nobody_at(text: &str, start: usize, end: usize) -> bool {
    // A clause is read at most this far each way, so that a long sentence with many
    // places costs each of them the same (linear, not quadratic).
    const REACH: usize = 160;
    let from = crate::floor_char_boundary(text, start.saturating_sub(REACH));
    let to = crate::floor_char_boundary(text, end + REACH);
    let (before, after) = (&text[from..start], &text[end..to]);
    // The clause: back to a comma, semicolon or parenthesis, on to a comma or semicolon.
    let before = before
        .rfind([',', ';', '('])
        .map_or(before, |i| &before[i + 1..]);
    let after = after.find([',', ';']).map_or(after, |i| &after[..i]);
    // The patterns are folded: most clauses have no negation and cost one search each.
    let after = Folded::new(after);
    (NOBODY_BEFORE.get().is_match(&Folded::new(before)) && !COULD.get().is_match(&after))
        || NOBODY_AFTER.get().is_match(&after)
}

/// Drops leading determiners and words that are never places; "" when nothing is left.
fn clean_name(raw: &str, partner_names: &[String]) -> String {
    let words: Vec<&str> = raw
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
        .split_whitespace()
        .collect();
    let Some(first) = words.iter().position(|w| {
        let lw = w.to_lowercase();
        !NOT_PLACES.contains(&lw.as_str())
            && !partner_names.iter().any(|p| p.eq_ignore_ascii_case(w))
    }) else {
        return String::new();
    };
    let name = words[first..].join(" ");
    if !name.starts_with(|c: char| c.is_uppercase() || c == '\'') || name.chars().count() < 2 {
        return String::new();
    }
    // German writes every noun with a capital: one word with a common noun's ending
    // ("im Schichtbetrieb", "im Homeoffice", "in der Buchhaltung") is no place.
    if words.len() == first + 1 {
        let lw = name.to_lowercase();
        if COMMON_NOUN_ENDINGS.iter().any(|e| lw.ends_with(e)) {
            return String::new();
        }
    }
    // A name that is only a known non-place in its last word ("Leeds Office") keeps the
    // place, as does one that ends on a joining word ("Edinburgh on" Friday).
    let mut kept: Vec<&str> = name.split_whitespace().collect();
    while kept.len() > 1
        && kept.last().is_some_and(|w| {
            let lw = w.to_lowercase();
            NOT_PLACES.contains(&lw.as_str())
                || ["on", "upon", "op", "am", "an", "aan", "im", "sur", "ob"].contains(&lw.as_str())
        })
    {
        kept.pop();
    }
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::text::statements;
    use super::*;

    fn run(text: &str) -> (Option<u64>, Vec<String>) {
        let st = statements(text);
        let users = affected_users(&st);
        let locs = locations(&st, users.as_ref().map(|u| u.2), &["Cloudwise".to_string()]);
        (users.map(|u| u.0), locs.into_iter().map(|l| l.0).collect())
    }

    #[test]
    fn a_question_about_people_labels_the_bare_count_under_it() {
        assert_eq!(
            run("Hoeveel medewerkers konden niet werken?\nOngeveer 70 in Zwolle.").0,
            Some(70)
        );
        assert_eq!(run("Wie viele Nutzer waren betroffen?\n12").0, Some(12));
        // Not after a question about something else, nor a number that is no answer.
        assert_eq!(run("When did it start?\n9 o'clock, give or take").0, None);
        assert_eq!(
            run("How many users?\nNone of them, it was the printers.").0,
            None
        );
    }

    #[test]
    fn place_names_with_latin_letters_beyond_ascii() {
        let (n, places) =
            run("40 users in Düsseldorf, Łódź and 's-Hertogenbosch could not log in.");
        assert_eq!(n, Some(40));
        assert_eq!(places, vec!["Düsseldorf", "Łódź", "'s-Hertogenbosch"]);
        let (_, places) = run("Our Zürich office and the Årdal site were down for 25 staff.");
        assert!(places.contains(&"Zürich".to_string()), "{places:?}");
    }

    #[test]
    fn a_field_that_lists_sites_with_counts_is_their_sum() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            run("Impacted staff: 61 (Arnhem) and 9 (Ede)"),
            (Some(70), names(&["Arnhem", "Ede"]))
        );
        assert_eq!(
            run("Users affected: Kassel 18, Fulda 4"),
            (Some(22), names(&["Kassel", "Fulda"]))
        );
        assert_eq!(run("Aantal gebruikers: Breda: 30; Tilburg: 8").0, Some(38));
        // Not a list of sites: the first number stands.
        assert_eq!(run("Affected users: about 95 (Dublin & Cork)").0, Some(95));
        assert_eq!(run("Affected users: 35, mostly in Ghent").0, Some(35));
    }

    #[test]
    fn counts_with_an_adverb_bare_counts_after_places_and_totals_anywhere() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Phrasings of my own.
        assert_eq!(
            run("14 drivers at the Tulsa depot lost their tablets, plus 5 more in Norman.").0,
            Some(19)
        );
        assert_eq!(
            run("Wir hatten 9 Leute im Büro, 3 drüben in Lienz, alle ohne Mail.").0,
            Some(12)
        );
        assert_eq!(
            run(
                "In totaal 30 collega's, verdeeld over Zwolle (22) en Kampen (8), konden niet werken."
            ),
            (Some(30), names(&["Zwolle", "Kampen"]))
        );
        // Places with their counts in parentheses, in a statement about people hit;
        // products in parentheses count nobody.
        assert_eq!(
            run("Leiden (31) en Gouda (6) werden getroffen."),
            (Some(37), names(&["Leiden", "Gouda"]))
        );
        assert_eq!(run("Teams (2) and Outlook (3) were affected.").0, None);
        // The total first, its parts after, the parts found by different patterns; a
        // first count that is a place's own is one of the parts.
        assert_eq!(
            run("All 37 staff were hit: 30 in Perth, 4 at Fremantle and 3 in Albany.").0,
            Some(37)
        );
        assert_eq!(
            run("20 users in Leeds, 10 in York and 10 in Hull were affected.").0,
            Some(40)
        );
    }

    #[test]
    fn places_listed_after_a_count_of_people_with_the_noun_left_out() {
        assert_eq!(
            run("Truro had 14 staff without mail, Bodmin 6 and Falmouth 3."),
            (
                Some(23),
                vec!["Truro".into(), "Bodmin".into(), "Falmouth".into()]
            )
        );
        assert_eq!(
            run("In Gouda zaten 30 medewerkers zonder mail, in Woerden 8, in Bodegraven 2."),
            (
                Some(40),
                vec!["Gouda".into(), "Woerden".into(), "Bodegraven".into()]
            )
        );
        // A stated total before the list stays the total, in parentheses too.
        assert_eq!(run("Affected: 50 staff (Truro 35, Bodmin 15).").0, Some(50));
        assert_eq!(
            run("45 users lost access, Truro 30, Bodmin 15.").0,
            Some(45)
        );
        // A date after the count is no listed place.
        assert_eq!(
            run("9 users could not send mail on Friday 13 March.").0,
            Some(9)
        );
    }

    #[test]
    fn a_total_said_beside_its_breakdown_is_the_total() {
        assert_eq!(
            run("We had 61 users in Arnhem and 9 in Ede affected, 75 in total with home workers.")
                .0,
            Some(75)
        );
        assert_eq!(
            run("Betroffene Nutzer: 61 (Kassel) und 9 (Fulda), insgesamt 70").0,
            Some(70)
        );
        // A "total" smaller than a count is no total of these.
        assert_eq!(
            run("61 users in Arnhem were affected, 9 in total in the annex.").0,
            Some(61)
        );
    }

    #[test]
    fn clock_minutes_departments_and_common_nouns_are_neither_counts_nor_places() {
        // Phrasings of my own.
        assert_eq!(
            run("8 engineers in Tacoma were affected until 10:15 am Seattle time.").0,
            Some(8)
        );
        let (n, places) = run("Betroffen: 9 Kollegen im Homeoffice und 14 in Passau.");
        assert_eq!((n, places), (Some(23), vec!["Passau".to_string()]));
        let (n, places) = run("11 users in Finance and 4 in Sales could not log in.");
        assert_eq!((n, places), (Some(15), vec![]));
    }

    #[test]
    fn a_total_after_a_filler_word_and_counts_of_any_noun_in_a_breakdown() {
        // Phrasings of my own.
        assert_eq!(
            run("Betroffen waren 18 Kolleginnen in Passau und 7 in Deggendorf, zusammen also 25 Leute.").0,
            Some(25)
        );
        assert_eq!(
            run("Affected: 40 staff in Hull and 12 in Goole, 52 altogether.").0,
            Some(52)
        );
        assert_eq!(
            run("Getroffen: 9 medewerkers in Venlo en 4 in Weert, samen dus 13.").0,
            Some(13)
        );
        // Whatever the noun, a count in a breakdown beside "9 in X" is people.
        assert_eq!(
            run(
                "We had 14 bookkeepers and interns in Reading and 6 in Slough who could not log in."
            )
            .0,
            Some(20)
        );
        assert_eq!(
            run("12 paralegals could not reach their files.").0,
            Some(12)
        );
        // Any noun in a statement about people hit; not a date or an hour.
        assert_eq!(
            run("11 Lageristen in Wels konnten nicht arbeiten.").0,
            Some(11)
        );
        assert_eq!(run("On 27 March in Leeds nobody could log in.").0, None);
        // Words that only begin like a month are no dates.
        assert_eq!(
            run("12 junior clerks in Leeds and 3 in York were hit.").0,
            Some(15)
        );
        // A place's count in a parenthesis after it.
        assert_eq!(
            run("12 Monteure in Enns und die Azubis in Steyr (5) waren betroffen.").0,
            Some(17)
        );
        // Minutes in a place are no people.
        assert_eq!(
            run("The 40 users in Derby lost mail for 25 minutes at Derby and 10 in Leek.").0,
            Some(50)
        );
    }

    #[test]
    fn sums_sites_and_reads_separators() {
        assert_eq!(
            run("120 users in Amsterdam and 35 in Rotterdam were affected."),
            (Some(155), vec!["Amsterdam".into(), "Rotterdam".into()])
        );
        assert_eq!(
            run("All 1,200 staff in London and Manchester could not work.").0,
            Some(1200)
        );
        assert_eq!(
            run(
                "Betroffen waren rund 1.200 Mitarbeiter an unseren Standorten München und Augsburg."
            ),
            (Some(1200), vec!["München".into(), "Augsburg".into()])
        );
    }

    #[test]
    fn places_beside_counts_prepositions_and_site_words() {
        // A preposition that opens the sentence is no place; "HQ" after one is no part
        // of it (phrasings of my own).
        assert_eq!(
            run("Am Standort Hamburg konnten 25 Mitarbeiter nicht arbeiten.").1,
            ["Hamburg"]
        );
        assert_eq!(
            run("All 120 of our users were affected, at our Dublin HQ.").1,
            ["Dublin"]
        );
        assert_eq!(
            run("Affected: 52 users (Hull 40, Goole 12).").1,
            ["Hull", "Goole"]
        );
        assert_eq!(
            run("30 medewerkers, verspreid over Ede en Wageningen.").1,
            ["Ede", "Wageningen"]
        );
        assert_eq!(
            run("Betroffen waren 9 Leute im Lager Kassel.").1,
            ["Kassel"]
        );
        assert_eq!(
            run("12 Mitarbeiter in unserer Kanzlei in Jena.").1,
            ["Jena"]
        );
        assert_eq!(
            run("40 staff in Perth on Monday could not log in.").1,
            ["Perth"]
        );
        // Phrasings of my own: the count first in the parenthesis, then its place.
        assert_eq!(run("Nobody could log in (32 users, Bangor).").1, ["Bangor"]);
        assert_eq!(
            run("Outlook hing bei allen (12 Mitarbeiter – Jena und Gera).").1,
            ["Jena", "Gera"]
        );
    }

    #[test]
    fn dutch_counts_people_by_the_man() {
        // Phrasings of my own; "Mandant" and "German" hold no count noun.
        assert_eq!(run("Geen mail voor 55 man in Breda.").0, Some(55));
        assert_eq!(run("Mandant: 1a2b3c4d-1111-4222-8333-444455556666").0, None);
    }

    #[test]
    fn a_place_where_nobody_was_hit_is_no_location() {
        // Phrasings of my own, before and after the place, in three languages.
        for (text, places) in [
            (
                "No users in Leeds were affected, only the 30 in York.",
                vec!["York"],
            ),
            (
                "40 users in Hull could not log in; nobody in Goole was affected.",
                vec!["Hull"],
            ),
            (
                "Our Leeds office was not affected, but 25 staff in York were.",
                vec!["York"],
            ),
            (
                "25 gebruikers in Gent konden niet inloggen, niemand in Brugge.",
                vec!["Gent"],
            ),
            (
                "25 Mitarbeiter in Graz waren betroffen, keine Nutzer in Linz.",
                vec!["Graz"],
            ),
            // "could not" is the impact, not a negation of the place; so is "nobody
            // there could".
            ("30 users could not work in Leeds.", vec!["Leeds"]),
            ("Nobody in Leeds could log in (30 users).", vec!["Leeds"]),
            (
                "None of our 30 users in Leeds could send mail.",
                vec!["Leeds"],
            ),
            ("Niemand in Gent kon mailen, 12 gebruikers.", vec!["Gent"]),
        ] {
            assert_eq!(run(text).1, places, "{text}");
        }
    }

    #[test]
    fn a_word_for_the_shift_or_team_may_stand_between_count_and_noun() {
        // Phrasings of my own.
        for (text, n) in [
            ("Outlook failed for our 7 night nurses in Leiden.", 7),
            ("12 remote workers and 30 warehouse staff lost mail.", 42),
            ("Es waren 9 externe Mitarbeiter betroffen.", 9),
        ] {
            assert_eq!(run(text).0, Some(n), "{text}");
        }
        // "all 23 of us" counts the writer's people.
        assert_eq!(
            run("Everyone at our Tilburg office (all 23 of us) was affected.").0,
            Some(23)
        );
        // A duration before a noun for people is no count of them.
        assert_eq!(run("40 minutes later users could log in again.").0, None);
    }

    #[test]
    fn roles_and_rough_counts_are_people() {
        assert_eq!(run("Our 14 Lehrkräfte in Ulm had no mail.").0, Some(14));
        assert_eq!(run("De 9 leerkrachten konden niet inloggen.").0, Some(9));
        assert_eq!(run("All 6 drivers in Hull were affected.").0, Some(6));
        assert_eq!(run("Het ging om een man of 25 op het kantoor.").0, Some(25));
        // A man is no count elsewhere.
        assert_eq!(run("Een man of vrouw belde om 9 uur.").0, None);
    }

    #[test]
    fn a_total_without_its_noun_counts_where_the_people_are_named() {
        for text in [
            "Users in Manchester, Liverpool and Leeds were affected, 75 in total.",
            "Betroffen waren Mitarbeiter in Graz und Linz, insgesamt 75.",
            "Medewerkers in Zwolle en Kampen konden niet mailen, in totaal 75.",
        ] {
            assert_eq!(run(text).0, Some(75), "{text}");
        }
        // Without people named, a total is of something else.
        assert_eq!(run("We restarted 75 in total, without effect.").0, None);
    }

    #[test]
    fn subsets_are_not_added() {
        assert_eq!(
            run("250 users were affected, 100 of them in Leeds.").0,
            Some(250)
        );
        // A part and "the rest": the first count is the whole (phrasings of my own).
        for text in [
            "Around 70 staff were affected (50 at the Derby site, the rest in Leicester).",
            "Es waren 70 Mitarbeiter betroffen, 50 in Graz, die übrigen in Linz.",
            "In totaal waren 70 medewerkers getroffen, 50 in Zwolle en de rest in Deventer.",
        ] {
            assert_eq!(run(text).0, Some(70), "{text}");
        }
    }

    #[test]
    fn a_total_stated_before_its_breakdown_is_the_total() {
        for text in [
            "It hit 212 staff: 150 at our head office in Zwolle and 62 in Deventer.",
            "212 employees were affected (150 in Zwolle, 62 in Deventer).",
            "Dit trof 212 medewerkers: 150 op ons hoofdkantoor in Zwolle en 62 in Deventer.",
            "Betroffen waren 212 Mitarbeiter: 150 in Zwolle und 40 in Deventer.",
            "212 users - 150 in Zwolle and 62 in Deventer - lost mail.",
        ] {
            assert_eq!(run(text).0, Some(212), "{text}");
        }
        // Equal parts are parts, not a total and its one part; a first site whose
        // count happens to equal the others' sum is a site.
        assert_eq!(run("20 users in Leeds and 20 in York.").0, Some(40));
        assert_eq!(
            run("Affected: 30 in Hull, 18 in Selby and 12 in Goole.").0,
            Some(60)
        );
        assert_eq!(
            run("120 users in Amsterdam and 35 users in Utrecht could not work.").0,
            Some(155)
        );
    }

    #[test]
    fn labelled_and_multiword_places() {
        assert_eq!(
            run("Users affected: 135 (our New York and Boston offices)"),
            (Some(135), vec!["New York".into(), "Boston".into()])
        );
        assert_eq!(
            run("Getroffen: ongeveer 65 medewerkers in Eindhoven en Den Bosch"),
            (Some(65), vec!["Eindhoven".into(), "Den Bosch".into()])
        );
        assert_eq!(
            run("Roughly 60 people were affected at our Zwolle head office and the Deventer yard.")
                .1,
            vec!["Zwolle".to_string(), "Deventer".into()]
        );
    }

    #[test]
    fn licences_are_not_users() {
        assert_eq!(
            run("Please add 6 more licences for our Cork office.").0,
            None
        );
    }
}

#[cfg(test)]
mod more_tests {
    use super::super::text::statements;
    use super::*;

    fn run(text: &str) -> (Option<u64>, Vec<String>) {
        let st = statements(text);
        let users = affected_users(&st);
        let locs = locations(&st, users.as_ref().map(|u| u.2), &[]);
        (users.map(|u| u.0), locs.into_iter().map(|l| l.0).collect())
    }

    #[test]
    fn counts_per_site_in_parentheses_are_summed() {
        assert_eq!(
            run(
                "12 gebruikers (kantoor Zwolle) en 8 gebruikers (kantoor Kampen) konden niet inloggen."
            ),
            (Some(20), vec!["Zwolle".to_string(), "Kampen".into()])
        );
    }

    #[test]
    fn places_before_their_counts() {
        assert_eq!(
            run("Email was down for our 2 locations: Seattle (45 users) and Portland (30 users)."),
            (Some(75), vec!["Seattle".to_string(), "Portland".into()])
        );
    }

    #[test]
    fn products_are_not_places() {
        assert_eq!(
            run("45 users could not open files in Excel and Word.").1,
            Vec::<String>::new()
        );
        assert_eq!(
            run("45 users in Microsoft Teams at our Delft office.").1,
            vec!["Delft".to_string()]
        );
    }

    #[test]
    fn part_of_a_whole() {
        assert_eq!(run("85 of our 120 users were affected.").0, Some(85));
        assert_eq!(run("Betroffen waren 30 von 200 Mitarbeitern.").0, Some(30));
        assert_eq!(run("40+ users could not log in.").0, Some(40));
    }

    #[test]
    fn places_in_parentheses_and_location_fields() {
        assert_eq!(
            run("45 users were affected (Berlin).").1,
            vec!["Berlin".to_string()]
        );
        assert_eq!(
            run("Users affected: 12\nOffices affected: Utrecht, Zwolle\n").1,
            vec!["Utrecht".to_string(), "Zwolle".into()]
        );
    }
}
