//! Temporal tokens in one statement: dates, clock times, zones, durations (EN, NL, DE).

use crate::pattern::Pattern;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::{Captures, Regex, RegexSet};
use std::borrow::Cow;

use super::fold::{self, Folded};

/// A time zone as written: a fixed offset or a named region with daylight saving.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// Seconds east of UTC.
    Fixed(i32),
    /// An IANA zone, for "Dutch time", "UK time" and the like.
    Named(chrono_tz::Tz),
}

/// What a token means.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A calendar date; `year_given` is false when the year came from the reference date.
    Date {
        /// The day.
        date: NaiveDate,
        /// False when the year came from the reference date.
        year_given: bool,
    },
    /// A clock time; `pm` is Some when am/pm was written.
    Time {
        /// 0-24 (24 is midnight at the end of a day).
        hour: u32,
        /// 0-59.
        minute: u32,
        /// Some(true) for pm, Some(false) for am, None for a 24-hour clock.
        pm: Option<bool>,
    },
    /// A time zone.
    Zone(Zone),
    /// A length of time, in minutes.
    Duration(i64),
    /// "the next morning", "volgende ochtend", "am nächsten Morgen".
    NextDay,
}

/// A temporal token and its byte span in the statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Meaning.
    pub kind: Kind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
}

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|januari|februari|maart|mei|juni|juli|augustus|oktober|januar|jänner|februar|märz|maerz|mai|dezember|jan|feb|mar|mrt|apr|jun|jul|aug|sept|sep|oct|okt|nov|dec|dez";

/// The month number of an English, Dutch or German month name or abbreviation.
pub fn month_number(name: &str) -> Option<u32> {
    let n = lower(name);
    let n = n.trim_end_matches('.');
    Some(match n {
        "january" | "januari" | "januar" | "jänner" | "jan" => 1,
        "february" | "februari" | "februar" | "feb" => 2,
        "march" | "maart" | "märz" | "maerz" | "mar" | "mrt" => 3,
        "april" | "apr" => 4,
        "may" | "mei" | "mai" => 5,
        "june" | "juni" | "jun" => 6,
        "july" | "juli" | "jul" => 7,
        "august" | "augustus" | "aug" => 8,
        "september" | "sept" | "sep" => 9,
        "october" | "oktober" | "oct" | "okt" => 10,
        "november" | "nov" => 11,
        "december" | "dezember" | "dec" | "dez" => 12,
        _ => return None,
    })
}

/// Indexes into [`PATTERNS`].
const ISO: usize = 0;
const NUMERIC_DATE: usize = 1;
const DAY_MONTH: usize = 2;
const MONTH_DAY: usize = 3;
const RELATIVE: usize = 4;
const WEEKDAY: usize = 5;
const TIME: usize = 6;
const HOUR_MERIDIEM: usize = 7;
const HOUR_UHR: usize = 8;
const NOON: usize = 9;
const ZONE_OFFSET: usize = 10;
const ZONE_ABBR: usize = 11;
const ZONE_NAMED: usize = 12;
const DURATION_HM: usize = 13;
const DURATION: usize = 14;
const DURATION_MIN: usize = 15;
const HOUR_AND_HALF: usize = 16;
const DURATION_WORDS: usize = 17;
const NEXT_DAY: usize = 18;

/// Every temporal pattern, and a set of all of them: one pass over a statement says
/// which patterns occur, and only those are run for their captures (20 passes cost a
/// quarter of all extraction before).
struct Patterns {
    set: RegexSet,
    each: Vec<Regex>,
}

#[allow(clippy::expect_used)]
static PATTERNS: Pattern<Patterns> = Pattern::new(|| {
    let sources: Vec<String> = vec![
        r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2})?(Z|[+-]\d{2}:?\d{2})?)?".to_string(),
        // The year may be left out: "11/03" (slash only: "12.30" is a time) or "21.10."
        // (a day-first date with its closing dot).
        r"\b(\d{1,2})([./-])(\d{1,2})(?:([./-])(\d{4}|\d{2})\b|(\.)|\b)".to_string(),
        format!(r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th|e|ste|de)?\.?\s*(?:of\s+)?({MONTHS})\b\.?(?:,?\s+(\d{{4}})\b)?"),
        format!(r"(?i)\b({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"),
        r"(?i)\b(the day before yesterday|day before yesterday|eergisteren|vorgestern|yesterday|gisteren|gestern|last night|gisteravond|gisternacht|today|this morning|this afternoon|tonight|vandaag|vanochtend|vanmorgen|vanmiddag|vanavond|heute|heute morgen|heute früh)\b".to_string(),
        r"(?i)\b(?:(last|previous|past|afgelopen|vorige|letzten|letzte|vergangenen|vergangene)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag)\b".to_string(),
        r"(?i)\b([01]?\d|2[0-4])(?:[:.]|h|u)([0-5]\d)(?::[0-5]\d)?(?:\s*(am\b|pm\b|a\.m\.|p\.m\.)|\b|Z\b)(?:\s*(?:uur|uhr|u|h|hrs|o'clock)\b)?".to_string(),
        r"(?i)\b(1[0-2]|0?[1-9])\s*(a\.?m\b\.?|p\.?m\b\.?)".to_string(),
        r"(?i)\b([01]?\d|2[0-4])\s*(uhr|uur|o'clock)\b".to_string(),
        r"(?i)\b(noon|midday|mittag|midnight|middernacht|mitternacht)\b".to_string(),
        r"(?i)\b(?:UTC|GMT)\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?\b".to_string(),
        r"\b(CEST|CET|MESZ|MEZ|UTC|GMT|BST|WEST|WET|EEST|EET|EST|EDT|CST|CDT|MST|MDT|PST|PDT|Z)\b".to_string(),
        // "Eastern" and "Pacific" alone name a zone too ("to 3:40 PM Eastern").
        r"(?i)\b(?:(dutch|netherlands|amsterdam|nederlandse|belgian|brussels|belgische|german|berlin|duitse|deutscher|deutsche|uk|british|london|irish|dublin|eastern|central european|pacific|new york)\s+(?:time|tijd|zeit)|(eastern|pacific))\b".to_string(),
        r"(?i)\b(\d{1,3})\s*h\s*(\d{1,2})\s*m(?:in|ins)?\b".to_string(),
        r"(?i)\b(\d{1,3}(?:[.,]\d{1,2})?)\s*(hours?|hrs?|h|uur|uren|u|stunden?|std\.?)\b(?:\s*(?:and|en|und|,)?\s*(\d{1,2})\s*(?:minutes?|mins?|minuten|min|m)\b)?".to_string(),
        r"(?i)\b(\d{1,4})\s*(?:minutes?|mins?|minuten|min\.?)(?:\b|$)".to_string(),
        r"(?i)\b(?:an|one)\s+hour\s+and\s+a\s+half\b".to_string(),
        r"(?i)\b(one and a half|half an|half a|anderhalf|eineinhalb|anderthalb|a couple of|an?|one|een|ein|eine|two|twee|zwei|three|drie|drei|four|vier|five|vijf|fünf|six|zes|sechs|eight|acht)\s+(hours?|uur|stunden?|minutes?)\b".to_string(),
        r"(?i)\b(?:the\s+)?(?:next|following)\s+(?:morning|day)\b|\bthe morning after\b|\bvolgende (?:ochtend|dag|morgen)\b|\bde (?:ochtend|dag) (?:erna|daarna)\b|\bnächsten (?:morgen|tag)\b|\bfolgenden (?:morgen|tag)\b".to_string(),
    ]
    .into_iter()
    .map(|p| crate::ascii_pattern(&p))
    .collect();
    // The set lower-cases whole patterns, which would turn `\D` or `\S` into their
    // opposites; none has one, and a new one is refused by every unit test.
    assert!(
        !sources.iter().any(|p| p
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'\\' && w[1].is_ascii_uppercase())),
        "a temporal pattern has an upper-case escape"
    );
    Patterns {
        // Built-in patterns, compiled by every unit test: failure is a programming error.
        // The set only says which patterns to run, over the folded text: lower case and
        // case-sensitive, its automaton is smaller than one of case-insensitive patterns.
        // It may say yes where a pattern then finds nothing ("cet" for CET), and says no
        // where one finds something only for letters that Unicode case folding alone
        // relates to the patterns' ASCII (the Kelvin sign to "k").
        set: RegexSet::new(
            sources
                .iter()
                .map(|p| p.strip_prefix("(?i)").unwrap_or(p).to_lowercase()),
        )
        .expect("built-in patterns compile"),
        each: sources
            .iter()
            .enumerate()
            .map(|(k, p)| match p.strip_prefix("(?i)") {
                Some(lower) if FOLDED.contains(&k) => fold::folded_regex(lower),
                _ => Regex::new(p).expect("built-in pattern compiles"),
            })
            .collect(),
    }
});

/// Word-list patterns searched in folded text: case-insensitive, their words leave the
/// regex engine nothing to skip to (600 MB/s); lower-case over a folded copy they are
/// prefiltered (2.5-5 GB/s). Their readers lower-case what they capture anyway.
const FOLDED: [usize; 6] = [
    DAY_MONTH, MONTH_DAY, RELATIVE, WEEKDAY, ZONE_NAMED, NEXT_DAY,
];

/// Finds every temporal token in `text`; `reference` is the day the mail was written.
pub fn tokens(text: &str, reference: NaiveDate, month_first: bool) -> Vec<Token> {
    tokens_in(text, None, reference, month_first)
}

/// [`tokens`], given `text` folded when the caller has it already.
fn tokens_in(
    text: &str,
    given: Option<&Folded>,
    reference: NaiveDate,
    month_first: bool,
) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let patterns = &*PATTERNS.get();
    let made;
    let folded = match given {
        Some(f) => f,
        None => {
            made = Folded::new(text);
            &made
        }
    };
    let hits = patterns.set.matches(folded.as_str());
    if !hits.matched_any() {
        return out;
    }
    let scan = |k: usize| {
        if FOLDED.contains(&k) {
            folded.as_str()
        } else {
            text
        }
    };
    // Only patterns that occur are run: a capture iterator costs an allocation even
    // over nothing.
    let caps = |k: usize| {
        hits.matched(k)
            .then(|| patterns.each[k].captures_iter(scan(k)))
            .into_iter()
            .flatten()
    };
    let finds = |k: usize| {
        hits.matched(k)
            .then(|| patterns.each[k].find_iter(scan(k)))
            .into_iter()
            .flatten()
    };
    let add = |out: &mut Vec<Token>, kind: Kind, start: usize, end: usize| {
        if !out.iter().any(|t| start < t.end && t.start < end) {
            out.push(Token { kind, start, end });
        }
    };
    for c in caps(ISO) {
        let (Some(y), Some(m), Some(d)) = (num(&c, 1), num(&c, 2), num(&c, 3)) else {
            continue;
        };
        let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) else {
            continue;
        };
        let whole = span(&c, 0);
        let date_end = c.get(3).map_or(whole.1, |g| g.end());
        add(
            &mut out,
            Kind::Date {
                date,
                year_given: true,
            },
            whole.0,
            date_end,
        );
        if let (Some(h), Some(mi)) = (num(&c, 4), num(&c, 5)) {
            let time_end = c.get(5).map_or(whole.1, |g| g.end());
            add(
                &mut out,
                Kind::Time {
                    hour: h,
                    minute: mi,
                    pm: None,
                },
                date_end,
                time_end,
            );
            if let Some(z) = c.get(6) {
                if let Some(zone) = offset_zone(z.as_str()) {
                    add(&mut out, Kind::Zone(zone), z.start(), z.end());
                }
            }
        }
    }
    for c in caps(NUMERIC_DATE) {
        let (Some(a), Some(b)) = (num(&c, 1), num(&c, 3)) else {
            continue;
        };
        let sep = c.get(2).map_or("", |g| g.as_str());
        let year = num(&c, 5);
        // "12.30" style times never have a third part, so two separators mean a date.
        if year.is_some() && Some(sep) != c.get(4).map(|g| g.as_str()) {
            continue;
        }
        // Without a year: "11/03", or "21.10." with its closing dot; not "24/7", not a
        // time, not the start of a longer number.
        let after = text[c.get(0).map_or(0, |g| g.end())..].chars().next();
        if year.is_none()
            && (!(sep == "/" || (sep == "." && c.get(6).is_some()))
                || (a, b) == (24, 7)
                || after.is_some_and(|n| n.is_ascii_digit() || n == '/'))
        {
            continue;
        }
        let (m, d) = if (month_first && a <= 12) || b > 12 {
            (a, b)
        } else {
            (b, a)
        };
        let date = match year {
            Some(y) => {
                NaiveDate::from_ymd_opt(if y < 100 { 2000 + y as i32 } else { y as i32 }, m, d)
            }
            None => infer_year(reference, m, d),
        };
        if let Some(date) = date {
            let (s, e) = span(&c, 0);
            add(
                &mut out,
                Kind::Date {
                    date,
                    year_given: year.is_some(),
                },
                s,
                e,
            );
        }
    }
    for (regex, day_group, month_group) in [(DAY_MONTH, 1, 2), (MONTH_DAY, 2, 1)] {
        for c in caps(regex) {
            let (Some(d), Some(m)) = (
                num(&c, day_group),
                c.get(month_group).and_then(|g| month_number(g.as_str())),
            ) else {
                continue;
            };
            let given = num(&c, 3);
            let date = match given {
                Some(y) => NaiveDate::from_ymd_opt(y as i32, m, d),
                None => infer_year(reference, m, d),
            };
            if let Some(date) = date {
                let (s, e) = span(&c, 0);
                add(
                    &mut out,
                    Kind::Date {
                        date,
                        year_given: given.is_some(),
                    },
                    s,
                    e,
                );
            }
        }
    }
    for c in caps(RELATIVE) {
        let word = lower(c.get(1).map_or("", |g| g.as_str()));
        let back = if word.contains("before") || word == "eergisteren" || word == "vorgestern" {
            2
        } else if [
            "yesterday",
            "gisteren",
            "gestern",
            "last night",
            "gisteravond",
            "gisternacht",
        ]
        .contains(&&*word)
        {
            1
        } else {
            0
        };
        let (s, e) = span(&c, 0);
        add(
            &mut out,
            Kind::Date {
                date: reference - Duration::days(back),
                year_given: false,
            },
            s,
            e,
        );
    }
    for c in caps(WEEKDAY) {
        let Some(wd) = c.get(2).and_then(|g| weekday(g.as_str())) else {
            continue;
        };
        let (s, e) = span(&c, 0);
        // "Friday 6 March": the explicit date that follows wins.
        let followed = out
            .iter()
            .any(|t| matches!(t.kind, Kind::Date { .. }) && t.start >= e && t.start <= e + 3);
        if followed {
            continue;
        }
        let strictly_before = c.get(1).is_some();
        let mut date = reference;
        if strictly_before {
            date -= Duration::days(1);
        }
        while date.weekday() != wd {
            date -= Duration::days(1);
        }
        add(
            &mut out,
            Kind::Date {
                date,
                year_given: false,
            },
            s,
            e,
        );
    }
    // Offsets first: "UTC-05:00" must not become a clock time.
    for c in caps(ZONE_OFFSET) {
        let sign = if c.get(1).is_some_and(|g| g.as_str() == "+") {
            1
        } else {
            -1
        };
        let (Some(h), m) = (num(&c, 2), num(&c, 3).unwrap_or(0)) else {
            continue;
        };
        if h > 14 || m > 59 {
            continue;
        }
        let (s, e) = span(&c, 0);
        add(
            &mut out,
            Kind::Zone(Zone::Fixed(sign * (h as i32 * 3600 + m as i32 * 60))),
            s,
            e,
        );
    }
    for c in caps(TIME) {
        let (Some(hour), Some(minute)) = (num(&c, 1), num(&c, 2)) else {
            continue;
        };
        let (s, mut e) = span(&c, 0);
        // "13:05Z": the Z is the zone.
        let zulu = text[s..e].ends_with(['Z', 'z']);
        if zulu {
            e -= 1;
        }
        // "2.50 hours" is a duration and "1.200" a number, not clock times.
        // Only the next few characters are compared: lower-casing the rest of the text
        // for every time cost more than the whole scan.
        let after: String = text[e..].trim_start().chars().take(6).collect();
        let after = after.to_lowercase();
        if ["hour", "uur ", "minut", "stund"]
            .iter()
            .any(|w| after.starts_with(w))
            || text[..s].ends_with([',', '.'])
            || text[e..].starts_with(['.', ','])
                && text[e..]
                    .chars()
                    .nth(1)
                    .is_some_and(|ch| ch.is_ascii_digit())
        {
            continue;
        }
        let pm = c.get(3).map(|g| g.as_str().starts_with(['p', 'P']));
        if hour == 24 && minute > 0 {
            continue;
        }
        add(&mut out, Kind::Time { hour, minute, pm }, s, e);
        if zulu {
            add(&mut out, Kind::Zone(Zone::Fixed(0)), e, e + 1);
        }
    }
    for c in caps(HOUR_MERIDIEM) {
        let Some(hour) = num(&c, 1) else { continue };
        let pm = c.get(2).map(|g| g.as_str().starts_with(['p', 'P']));
        let (s, e) = span(&c, 0);
        add(
            &mut out,
            Kind::Time {
                hour,
                minute: 0,
                pm,
            },
            s,
            e,
        );
    }
    for c in caps(HOUR_UHR) {
        let Some(hour) = num(&c, 1) else { continue };
        let unit = lower(c.get(2).map_or("", |g| g.as_str()));
        let (s, e) = span(&c, 0);
        // Dutch "3 uur" is a duration unless a time-of-day word leads it ("om 3 uur").
        if unit == "uur"
            && !leading_word(text, s).is_some_and(|w| {
                [
                    "om",
                    "tot",
                    "van",
                    "vanaf",
                    "tussen",
                    "en",
                    "rond",
                    "omstreeks",
                    "tegen",
                    "sinds",
                ]
                .contains(&w.as_str())
            })
        {
            continue;
        }
        add(
            &mut out,
            Kind::Time {
                hour,
                minute: 0,
                pm: None,
            },
            s,
            e,
        );
    }
    for c in caps(NOON) {
        let word = lower(c.get(1).map_or("", |g| g.as_str()));
        // Midnight is kept as hour 24 so that "until midnight" ends the same day.
        let hour = if matches!(&*word, "noon" | "midday" | "mittag") {
            12
        } else {
            24
        };
        let (s, e) = span(&c, 0);
        add(
            &mut out,
            Kind::Time {
                hour,
                minute: 0,
                pm: None,
            },
            s,
            e,
        );
    }
    for c in caps(ZONE_ABBR) {
        let abbr = c.get(1).map_or("", |g| g.as_str());
        let (s, e) = span(&c, 0);
        // A bare "Z" counts only glued to a time ("13:05Z").
        if abbr == "Z" && !text[..s].ends_with(|ch: char| ch.is_ascii_digit()) {
            continue;
        }
        let hours = match abbr {
            "CET" | "MEZ" | "BST" | "WEST" => 1,
            "CEST" | "MESZ" | "EET" => 2,
            "EEST" => 3,
            "UTC" | "GMT" | "WET" | "Z" => 0,
            "EST" | "CDT" => -5,
            "EDT" => -4,
            "CST" | "MDT" => -6,
            "MST" | "PDT" => -7,
            "PST" => -8,
            _ => continue,
        };
        add(&mut out, Kind::Zone(Zone::Fixed(hours * 3600)), s, e);
    }
    for c in caps(ZONE_NAMED) {
        let place = lower(c.get(1).or_else(|| c.get(2)).map_or("", |g| g.as_str()));
        let tz = match &*place {
            "uk" | "british" | "london" => chrono_tz::Europe::London,
            "irish" | "dublin" => chrono_tz::Europe::Dublin,
            "eastern" | "new york" => chrono_tz::America::New_York,
            "pacific" => chrono_tz::America::Los_Angeles,
            _ => chrono_tz::Europe::Amsterdam,
        };
        let (s, e) = span(&c, 0);
        add(&mut out, Kind::Zone(Zone::Named(tz)), s, e);
    }
    for c in caps(DURATION_HM) {
        let (Some(h), Some(m)) = (num(&c, 1), num(&c, 2)) else {
            continue;
        };
        let (s, e) = span(&c, 0);
        add(
            &mut out,
            Kind::Duration(i64::from(h) * 60 + i64::from(m)),
            s,
            e,
        );
    }
    for c in caps(DURATION) {
        let Some(hours) = c
            .get(1)
            .and_then(|g| g.as_str().replace(',', ".").parse::<f64>().ok())
        else {
            continue;
        };
        let unit = lower(c.get(2).map_or("", |g| g.as_str()));
        let (s, e) = span(&c, 0);
        // "300 h" is no outage length anyone writes; a one-letter unit is only trusted small.
        if (unit == "u" || unit == "h") && hours > 48.0 {
            continue;
        }
        let minutes = (hours * 60.0).round() as i64 + i64::from(num(&c, 3).unwrap_or(0));
        add(&mut out, Kind::Duration(minutes), s, e);
    }
    for c in caps(DURATION_MIN) {
        let Some(m) = num(&c, 1) else { continue };
        let (s, e) = span(&c, 0);
        add(&mut out, Kind::Duration(i64::from(m)), s, e);
    }
    for m in finds(HOUR_AND_HALF) {
        add(&mut out, Kind::Duration(90), m.start(), m.end());
    }
    for c in caps(DURATION_WORDS) {
        let qty = lower(c.get(1).map_or("", |g| g.as_str()));
        let unit = lower(c.get(2).map_or("", |g| g.as_str()));
        let count = match &*qty {
            "half an" | "half a" => 0.5,
            "one and a half" | "anderhalf" | "eineinhalb" | "anderthalb" => 1.5,
            "a couple of" | "two" | "twee" | "zwei" => 2.0,
            "three" | "drie" | "drei" => 3.0,
            "four" | "vier" => 4.0,
            "five" | "vijf" | "fünf" => 5.0,
            "six" | "zes" | "sechs" => 6.0,
            "eight" | "acht" => 8.0,
            _ => 1.0,
        };
        let minutes: f64 = if unit.starts_with("min") {
            count
        } else {
            count * 60.0
        };
        let (s, e) = span(&c, 0);
        add(&mut out, Kind::Duration(minutes.round() as i64), s, e);
    }
    for m in finds(NEXT_DAY) {
        add(&mut out, Kind::NextDay, m.start(), m.end());
    }
    out.sort_by_key(|t| t.start);
    out
}

/// Tokens of each statement (its text, the text folded and the day it was written on),
/// offsets relative to it. One set pass per statement says
/// which patterns occur in it, and only those are run over it (a scan per pattern over
/// all temporal statements joined read every statement for every pattern found in any).
pub fn tokens_per_text<'a>(
    texts: impl IntoIterator<Item = (&'a str, &'a Folded, NaiveDate)>,
    month_first: bool,
) -> Vec<Vec<Token>> {
    let (mut found, mut searched) = (0, 0);
    texts
        .into_iter()
        .map(|(text, folded, reference)| {
            debug_assert_eq!(text.len(), folded.as_str().len(), "folded is not this text");
            if found >= MAX_TOKENS || searched >= MAX_SEARCHED_BYTES {
                return Vec::new();
            }
            searched += text.len();
            let tokens = tokens_in(text, Some(folded), reference, month_first);
            found += tokens.len();
            tokens
        })
        .collect()
}

/// Temporal tokens read from one mail; the statements after them are not searched. A
/// real mail has a few dozen; a mail of nothing but times would otherwise have its every
/// time read, though at most [`super::downtime::MAX_WINDOWS`] windows are kept.
pub const MAX_TOKENS: usize = 2_000;

/// Bytes of statements searched for temporal tokens. An outage is told near the top of
/// a mail; text made of time-like pieces that overlap and are dropped (so that the token
/// budget is never reached) costs a capture search per piece, the dearest regex work.
pub const MAX_SEARCHED_BYTES: usize = 64 * 1024;

/// The year for a date written without one: the reference year, or the year before
/// when that would put the date more than a week after the mail was written.
pub fn infer_year(reference: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let date = NaiveDate::from_ymd_opt(reference.year(), month, day)?;
    if date > reference + Duration::days(7) {
        NaiveDate::from_ymd_opt(reference.year() - 1, month, day)
    } else {
        Some(date)
    }
}

fn offset_zone(s: &str) -> Option<Zone> {
    if s == "Z" {
        return Some(Zone::Fixed(0));
    }
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let h: i32 = digits.get(..2)?.parse().ok()?;
    let m: i32 = digits.get(2..4)?.parse().ok()?;
    Some(Zone::Fixed(sign * (h * 3600 + m * 60)))
}

fn weekday(name: &str) -> Option<Weekday> {
    let n = lower(name);
    if n == "sonnabend" {
        return Some(Weekday::Sat);
    }
    Some(match n.get(..3).unwrap_or_default() {
        "mon" | "maa" => Weekday::Mon,
        "tue" | "din" | "die" => Weekday::Tue,
        "wed" | "woe" | "mit" => Weekday::Wed,
        "thu" | "don" => Weekday::Thu,
        "fri" | "vri" | "fre" => Weekday::Fri,
        "sat" | "zat" | "sam" => Weekday::Sat,
        "sun" | "zon" | "son" => Weekday::Sun,
        _ => return None,
    })
}

/// The lower-cased word just before byte offset `at`.
pub fn leading_word(text: &str, at: usize) -> Option<String> {
    text[..at]
        .trim_end()
        .rsplit(|c: char| !c.is_alphanumeric() && c != '\'')
        .next()
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// `s` in lower case, borrowed when it already is (most words the patterns capture are:
/// the folded patterns search lower-cased text).
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn num(c: &Captures<'_>, i: usize) -> Option<u32> {
    c.get(i)?.as_str().parse().ok()
}

fn span(c: &Captures<'_>, i: usize) -> (usize, usize) {
    c.get(i).map_or((0, 0), |g| (g.start(), g.end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        let reference = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap_or_default();
        tokens(text, reference, false)
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn statements_past_the_token_budget_are_not_searched() {
        let reference = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap_or_default();
        let texts: Vec<(String, Folded)> = (0..1000)
            .map(|i| {
                let t = format!(
                    "From 9:{:02} to 10:{:02} on {} March.",
                    i % 60,
                    i % 60,
                    i % 28 + 1
                );
                let f = Folded::new(&t);
                (t, f)
            })
            .collect();
        let per = tokens_per_text(texts.iter().map(|(t, f)| (t.as_str(), f, reference)), false);
        assert_eq!(per.len(), 1000);
        let total: usize = per.iter().map(Vec::len).sum();
        // Each statement has three tokens: the token budget is reached, then nothing more.
        assert!((MAX_TOKENS..MAX_TOKENS + 3).contains(&total), "{total}");
        assert!(!per[0].is_empty() && per[999].is_empty());
    }

    #[test]
    fn statements_past_the_byte_budget_are_not_searched() {
        let reference = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap_or_default();
        // Long statements with one time each: the byte budget ends the search first.
        let texts: Vec<(String, Folded)> = (0..100)
            .map(|_| {
                let t = format!("{} at 9:15.", "word ".repeat(400));
                let f = Folded::new(&t);
                (t, f)
            })
            .collect();
        let per = tokens_per_text(texts.iter().map(|(t, f)| (t.as_str(), f, reference)), false);
        let searched = MAX_SEARCHED_BYTES.div_ceil(texts[0].0.len());
        assert!(per[..searched].iter().all(|t| t.len() == 1));
        assert!(per[searched..].iter().all(Vec::is_empty));
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap_or_default()
    }

    #[test]
    fn dates_in_three_languages() {
        assert_eq!(
            kinds("am 5. März 2026"),
            vec![Kind::Date {
                date: d(3, 5),
                year_given: true
            }]
        );
        assert_eq!(
            kinds("op 12 maart"),
            vec![Kind::Date {
                date: d(3, 12),
                year_given: false
            }]
        );
        assert_eq!(
            kinds("March 4, 2026"),
            vec![Kind::Date {
                date: d(3, 4),
                year_given: true
            }]
        );
        assert_eq!(
            kinds("on 03.03.2026"),
            vec![Kind::Date {
                date: d(3, 3),
                year_given: true
            }]
        );
        assert_eq!(
            kinds("yesterday"),
            vec![Kind::Date {
                date: d(3, 9),
                year_given: false
            }]
        );
        assert_eq!(
            kinds("last Friday"),
            vec![Kind::Date {
                date: d(3, 6),
                year_given: false
            }]
        );
        // 10 March 2026 is a Tuesday; "Tuesday" alone means today.
        assert_eq!(
            kinds("on Tuesday"),
            vec![Kind::Date {
                date: d(3, 10),
                year_given: false
            }]
        );
    }

    #[test]
    fn december_mentioned_in_january_is_last_year() {
        let jan = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap_or_default();
        assert_eq!(
            infer_year(jan, 12, 30),
            NaiveDate::from_ymd_opt(2026, 12, 30)
        );
        assert_eq!(infer_year(jan, 1, 3), NaiveDate::from_ymd_opt(2027, 1, 3));
    }

    #[test]
    fn times_and_not_numbers() {
        assert_eq!(
            kinds("10.00 tot 12.30 uur"),
            vec![
                Kind::Time {
                    hour: 10,
                    minute: 0,
                    pm: None
                },
                Kind::Time {
                    hour: 12,
                    minute: 30,
                    pm: None
                },
            ]
        );
        assert_eq!(
            kinds("9:20am"),
            vec![Kind::Time {
                hour: 9,
                minute: 20,
                pm: Some(false)
            }]
        );
        assert_eq!(
            kinds("at 1:18 PM UTC")[0],
            Kind::Time {
                hour: 1,
                minute: 18,
                pm: Some(true)
            }
        );
        assert!(kinds("1.200 users").is_empty());
        assert_eq!(
            kinds("om 3 uur"),
            vec![Kind::Time {
                hour: 3,
                minute: 0,
                pm: None
            }]
        );
        assert_eq!(
            kinds("13 Uhr"),
            vec![Kind::Time {
                hour: 13,
                minute: 0,
                pm: None
            }]
        );
    }

    #[test]
    fn durations() {
        assert_eq!(kinds("2h30m"), vec![Kind::Duration(150)]);
        assert_eq!(kinds("150 minutes"), vec![Kind::Duration(150)]);
        assert_eq!(kinds("3 uur"), vec![Kind::Duration(180)]);
        assert_eq!(kinds("2 Stunden"), vec![Kind::Duration(120)]);
        assert_eq!(kinds("3 hours 20 minutes"), vec![Kind::Duration(200)]);
        assert_eq!(kinds("2,5 uur"), vec![Kind::Duration(150)]);
        assert_eq!(kinds("anderhalf uur"), vec![Kind::Duration(90)]);
        assert_eq!(kinds("90 Minuten"), vec![Kind::Duration(90)]);
    }

    #[test]
    fn numeric_dates_without_a_year() {
        let date = |m, day| Kind::Date {
            date: d(m, day),
            year_given: false,
        };
        // Month first where the sender's zone says so (the caller decides).
        let r = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap_or_default();
        assert_eq!(tokens("on 3/02 from", r, true)[0].kind, date(3, 2));
        assert_eq!(tokens("on 3/02 from", r, false)[0].kind, date(2, 3));
        // A day-first date with its closing dot, and a time that is no date.
        assert_eq!(kinds("am 4.3. von 9:00")[0], date(3, 4));
        assert!(matches!(kinds("um 12.30 Uhr")[0], Kind::Time { .. }));
        // Not dates: round-the-clock, fractions of longer numbers.
        assert!(kinds("support 24/7").is_empty());
        assert!(
            !kinds("ref 3/02/")
                .iter()
                .any(|k| matches!(k, Kind::Date { .. }))
        );
    }

    #[test]
    fn zones() {
        assert_eq!(kinds("CEST"), vec![Kind::Zone(Zone::Fixed(7200))]);
        assert_eq!(kinds("(UTC+1)"), vec![Kind::Zone(Zone::Fixed(3600))]);
        assert_eq!(kinds("UTC-05:00"), vec![Kind::Zone(Zone::Fixed(-18000))]);
        assert_eq!(
            kinds("Dutch time"),
            vec![Kind::Zone(Zone::Named(chrono_tz::Europe::Amsterdam))]
        );
        assert_eq!(kinds("15:50Z")[1], Kind::Zone(Zone::Fixed(0)));
        // A US zone by its region alone, resolved with daylight saving on the day.
        assert_eq!(
            kinds("until 4 PM Pacific")[1],
            Kind::Zone(Zone::Named(chrono_tz::America::Los_Angeles))
        );
    }

    #[test]
    fn capitals_anywhere_are_found_and_lower_case_codes_are_not_zones() {
        // The set pass reads folded text; the patterns still decide.
        assert_eq!(
            kinds("ON MONDAY 9 MÄRZ FROM 09:15 TO 11:40 CET, 2 HOURS"),
            vec![
                Kind::Date {
                    date: d(3, 9),
                    year_given: false
                },
                Kind::Time {
                    hour: 9,
                    minute: 15,
                    pm: None
                },
                Kind::Time {
                    hour: 11,
                    minute: 40,
                    pm: None
                },
                Kind::Zone(Zone::Fixed(3600)),
                Kind::Duration(120),
            ]
        );
        assert_eq!(kinds("the cet and est of it"), vec![]);
    }
}
