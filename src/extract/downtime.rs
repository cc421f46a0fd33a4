//! Assembling outage windows from the temporal tokens of each statement.
//!
//! Rules, in order (documented in README "Downtime rules"):
//! 1. A range "T1 <to|until|-|tot|bis> T2", or "between T1 and T2", is one window.
//!    T1 takes a date written between it and the connector, else the nearest date
//!    before it in the statement, else one after T2 in the statement, else the last
//!    date mentioned earlier in the mail, else a later one, else the Date header's day.
//!    T2 takes its own date, or T1's (plus one day for "the next morning" or when T2
//!    is not after T1: the range crossed midnight).
//! 2. A start time ("starting at", "from", a "Start:" field) plus a duration in the
//!    same statement or in a "Duration:" field is one window.
//! 3. With no window found, each stated duration is a window without clock times.
//!
//! The zone is the one written in the statement, else the Date header's offset; a
//! missing year is the Date header's (the year before, when that would put the date
//! more than a week after the mail). Single times ("we called at 9:20") are not outages.

use crate::mail::pattern::Pattern;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use regex::Regex;
use serde::Serialize;

use super::fold::{FoldedRegex, re_folded};
use super::text::Statement;
use super::when::{self, Kind, Token, Zone};

/// One outage window; start and end are absent when only a duration was given.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Window {
    /// Start, UTC.
    #[serde(serialize_with = "ser_time")]
    pub start: Option<DateTime<Utc>>,
    /// End, UTC.
    #[serde(serialize_with = "ser_time")]
    pub end: Option<DateTime<Utc>>,
    /// Length in minutes.
    pub minutes: i64,
    /// The statement the window was read from.
    #[serde(skip)]
    pub source: String,
    /// What was assumed rather than written ("zone from Date header", ...).
    #[serde(skip)]
    pub assumptions: Vec<&'static str>,
}

fn ser_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::stamp(*t)),
        None => s.serialize_none(),
    }
}

/// When and in which zone the mail was written: the frame for incomplete dates.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// The Date header (or receipt time) of the mail.
    pub when: DateTime<FixedOffset>,
    /// The sender's Content-Language is US English ("en-US").
    pub us_english: bool,
}

impl Reference {
    /// A reference from the Date header alone.
    pub fn at(when: DateTime<FixedOffset>) -> Reference {
        Reference {
            when,
            us_english: false,
        }
    }

    /// Whether the sender writes numeric dates month first ("11/03" is 3 November): a
    /// zone in the Americas says so; a UTC Date header says nothing of where the sender
    /// is, and then a US English locale decides. Elsewhere day first: a European with a
    /// US English mail program still writes the day first.
    pub fn month_first(&self) -> bool {
        let offset = self.when.offset().local_minus_utc();
        offset < -3 * 3600 || (offset == 0 && self.us_english)
    }
}

const FILLERS: &[&str] = &[
    "on",
    "op",
    "am",
    "the",
    "de",
    "der",
    "uur",
    "uhr",
    "h",
    "hrs",
    "o'clock",
    "roughly",
    "about",
    "approximately",
    "approx",
    "around",
    "ca",
    "circa",
    "ongeveer",
    "rond",
    "etwa",
    "gegen",
    "ungefähr",
    "local",
    "time",
    "lokale",
    "tijd",
    "ortszeit",
    "zeit",
    "at",
    "om",
    "um",
    "ruim",
    "sometime",
    "only",
    // "until shortly after 11:00", "bis kurz nach 11 Uhr", "tot kort na 11 uur": the
    // time as written (the connector itself must still be there).
    "shortly",
    "just",
    "a",
    "little",
    "after",
    "before",
    "kurz",
    "knapp",
    "nach",
    "vor",
    "kort",
    "iets",
    "even",
    "na",
    "voor",
    "net",
    // "until just after lunch, around 1:15", "tot net na de middag, rond 12.15": the
    // part of the day a time is then given for.
    "noon",
    "midday",
    "lunch",
    "lunchtime",
    "middag",
    "mittag",
    "mittagszeit",
];
const CONNECTORS: &[&str] = &[
    "-",
    "–",
    "—",
    "to",
    "until",
    "till",
    "til",
    "through",
    "thru",
    "tot",
    "bis",
    "and",
    "en",
    "und",
    "tot en met",
    "up to",
];
const BETWEEN: &[&str] = &["between", "tussen", "zwischen"];
const START_WORDS: &[&str] = &[
    "starting",
    "started",
    "start",
    "began",
    "begun",
    "beginning",
    "from",
    "since",
    "vanaf",
    "begon",
    "sinds",
    "ab",
    "seit",
    "begann",
    "beginnend",
    "beginn",
    "begin",
];
const START_AFTER: &[&str] = &[
    "begon",
    "begonnen",
    "began",
    "started",
    "begann",
    "startete",
    "begin",
    // "at 14:30 Exchange went down", "om 14.30 viel Teams weg", "um 14:30 fiel es aus".
    "failed",
    "stopped",
    "crashed",
    "down",
    "viel",
    "fiel",
    "uitgevallen",
    "ausgefallen",
];
const END_WORDS: &[&str] = &[
    "resolved",
    "restored",
    "fixed",
    "ended",
    "back",
    "until",
    "till",
    "recovered",
    "hersteld",
    "opgelost",
    "verholpen",
    "behoben",
    "endete",
    // "Start: 10/03 08:00, End: 10/03 09:30" on one line.
    "end",
    "einde",
    "ende",
    "bis",
    "tot",
    "again",
    "weer",
    "wieder",
];
const END_AFTER: &[&str] = &[
    // "at 16:15 it was back".
    "back",
    "resolved",
    "restored",
    "fixed",
    "opgelost",
    "hersteld",
    "verholpen",
    "behoben",
    "wieder",
    "weer",
    "again",
];
const START_LABELS: &[&str] = &[
    "start",
    "start time",
    "started",
    "began",
    "begin",
    "begintijd",
    "starttijd",
    "aanvang",
    "beginn",
    "startzeit",
    "from",
    "van",
    "von",
    "outage start",
];
const END_LABELS: &[&str] = &[
    "end",
    "end time",
    "ended",
    "until",
    "restored",
    "resolved",
    "eind",
    "eindtijd",
    "einde",
    "hersteld",
    "ende",
    "endzeit",
    "behoben",
    "to",
    "tot",
    "bis",
    "outage end",
];
/// Words that make a label of a few words a start label ("Begin storing", "Beginn der
/// Störung", "Outage began") or, the second list, an end label ("Einde storing",
/// "Ende der Störung", "Service restored"); compounds by their ending
/// ("Störungsbeginn", "storingseinde").
const START_IN_LABEL: &[&str] = &[
    "start", "started", "began", "begin", "beginn", "begonnen", "aanvang", "onset",
];
const END_IN_LABEL: &[&str] = &[
    "end", "ended", "einde", "eind", "ende", "restored", "resolved", "hersteld", "opgelost",
    "behoben",
];
const START_ENDINGS: &[&str] = &["sbeginn", "sbegin", "sstart", "saanvang"];
const END_ENDINGS: &[&str] = &["sende", "seinde", "seind"];

/// Whether a field label names the outage's start.
fn is_start_label(label: &str) -> bool {
    START_LABELS.contains(&label)
        || names_in_label(
            label,
            START_IN_LABEL,
            START_ENDINGS,
            END_IN_LABEL,
            END_ENDINGS,
        )
}

/// Whether a field label names the outage's end.
fn is_end_label(label: &str) -> bool {
    END_LABELS.contains(&label)
        || names_in_label(
            label,
            END_IN_LABEL,
            END_ENDINGS,
            START_IN_LABEL,
            START_ENDINGS,
        )
}

/// Whether a label of at most four words has one of `words` (or a compound with one of
/// `endings`) and none of the other side's.
fn names_in_label(
    label: &str,
    words: &[&str],
    endings: &[&str],
    other: &[&str],
    other_endings: &[&str],
) -> bool {
    let has = |words: &[&str], endings: &[&str]| {
        label.split(|c: char| !c.is_alphanumeric()).any(|w| {
            words.contains(&w)
                || endings
                    .iter()
                    .any(|e| w.len() > e.len() + 2 && w.ends_with(e))
        })
    };
    label.split_whitespace().count() <= 4 && has(words, endings) && !has(other, other_endings)
}

const DURATION_LABELS: &[&str] = &[
    "duration",
    "duur",
    "dauer",
    "length",
    "how long",
    "total downtime",
    "downtime duration",
    "ausfallzeit",
    "storingsduur",
];
const NOT_OUTAGE_DURATION: &[&str] = &[
    "within",
    "binnen",
    "innerhalb",
    "in",
    "after",
    "na",
    "nach",
    "every",
    "elke",
    "jede",
    "jeden",
    "alle",
    "per",
    "next",
    "ago",
    "geleden",
];

/// Ranges that are opening hours or maintenance, not the outage (searched folded: a
/// case-insensitive word list gives the regex engine nothing to skip to).
static NOT_OUTAGE_RANGE: Pattern<FoldedRegex> = re_folded!(
    r"office hours|opening hours|business hours|reachable|bereikbaar|openingstijden|kantooruren|erreichbar|bürozeiten|öffnungszeiten|maintenance window|onderhoudsvenster|wartungsfenster",
);
/// "Not reachable" is the outage itself, not the hours someone can be reached in.
static UNREACHABLE: Pattern<FoldedRegex> = re_folded!(
    r"not reachable|unreachable|not be reached|niet bereikbaar|onbereikbaar|niet te bereiken|nicht erreichbar|nicht mehr erreichbar|unerreichbar|nicht zu erreichen"
);
static BARE_HOUR_BEFORE: Pattern<Regex> =
    re!(r"(?i)\b(\d{1,2})(?:[:.](\d{2}))?\s*(?:-|–|to|until|tot|bis|and|en|und)\s*$",);
/// The text after a clock time that ends its range at a bare hour: "until 11", "bis
/// kurz nach 11" (a number word is a numeral by now). An approximating word keeps the
/// hour as written, as it does for a clock time.
static BARE_HOUR_AFTER: Pattern<Regex> = re!(
    r"(?i)^\s*(?:uhr|uur|h|hrs|o'clock)?\s*(-|–|—|to|until|till|til|through|thru|tot|bis|and|en|und|up to|tot en met)\s*(?:(?:about|around|approximately|approx\.?|roughly|circa|ca\.?|ongeveer|rond|omstreeks|etwa|gegen|ungefähr|knapp|shortly after|just after|a little after|just before|shortly before|kurz nach|kurz vor|kort na|kort voor|iets na|iets voor|even na)\s+)?(\d{1,2})\b",
);
/// Words a bare number counts, so that "from 9:00 to 11 users" is no range.
const COUNTED: &[&str] = &[
    "user",
    "people",
    "person",
    "staff",
    "employee",
    "colleague",
    "member",
    "seat",
    "licen",
    "mailbox",
    "account",
    "device",
    "site",
    "office",
    "gebruiker",
    "medewerker",
    "collega",
    "mensen",
    "werknemer",
    "vestiging",
    "mitarbeiter",
    "benutzer",
    "nutzer",
    "kolleg",
    "angestellte",
    "standort",
    "filiale",
    "%",
    "percent",
    "procent",
    "prozent",
];

/// Most windows read from one mail: a real one states a few; past this the rest of the
/// mail is not searched for more (and the duplicate check stays small).
pub const MAX_WINDOWS: usize = 32;

/// How many later times are asked whether they end a window that a start time opens.
const END_REACH: usize = 8;

/// Extracts outage windows from statements; `subject` gives date context first.
pub fn windows(subject: &str, statements: &[Statement], reference: Reference) -> Vec<Window> {
    let told = Told::new(subject, statements, reference);
    let mut found = Found {
        windows: Vec::new(),
        used_durations: Default::default(),
        ends: told.tokens.iter().map(|t| vec![None; t.len()]).collect(),
        context: None,
        start_field: None,
    };
    for i in 0..statements.len() {
        if found.windows.len() >= MAX_WINDOWS {
            break;
        }
        told.statement(i, &mut found);
    }
    if found.windows.is_empty() {
        told.durations_alone(&mut found);
    }
    let mut out: Vec<Window> = Vec::new();
    for w in found.windows {
        if !out
            .iter()
            .any(|o| o.start == w.start && o.end == w.end && o.minutes == w.minutes)
        {
            out.push(w);
        }
    }
    out.sort_by_key(|w| (w.start.is_none(), w.start));
    out
}

/// What the statements say, read once: their temporal tokens and the dates in them.
struct Told<'a> {
    statements: &'a [Statement],
    /// The temporal tokens of each statement.
    tokens: Vec<Vec<Token>>,
    /// Every date said, by statement.
    all_dates: Vec<(usize, NaiveDate)>,
    subject_date: Option<NaiveDate>,
    /// The day the mail was written, and its zone.
    ref_date: NaiveDate,
    header_zone: Zone,
    /// The duration a "Duration:" field gives, and where.
    labelled: Option<((usize, usize), Option<i64>)>,
}

/// The windows found so far, and what the statements before have settled.
struct Found {
    windows: Vec<Window>,
    /// Durations already part of a window, by statement and token.
    used_durations: std::collections::HashSet<(usize, usize)>,
    /// Per statement and token: whether the token is a time said to end the outage,
    /// once known.
    ends: Vec<Vec<Option<bool>>>,
    /// The last date said, for statements that say none.
    context: Option<NaiveDate>,
    /// A "Start:" field's time still waiting for its "End:" field.
    start_field: Option<(usize, usize)>,
}

/// The times of one statement, and which are already part of a window.
struct Times<'t> {
    i: usize,
    text: &'t str,
    toks: &'t [Token],
    times: Vec<usize>,
    zone: Option<Zone>,
    consumed: Vec<usize>,
}

impl<'a> Told<'a> {
    fn new(subject: &str, statements: &'a [Statement], reference: Reference) -> Told<'a> {
        let ref_date = reference.when.date_naive();
        let month_first = reference.month_first();
        let written_on = written_on(statements, ref_date, month_first);
        let mut tokens = when::tokens_per_text(
            statements
                .iter()
                .zip(&written_on)
                .map(|(s, day)| (s.text.as_str(), s.folded(), *day)),
            month_first,
        );
        for (s, toks) in statements.iter().zip(tokens.iter_mut()) {
            in_the_afternoon(s, toks);
        }
        afternoon_said_before(statements, &mut tokens);
        if month_first && !writes_24_hour(statements, &tokens) {
            for (s, toks) in statements.iter().zip(tokens.iter_mut()) {
                in_working_hours(s, toks);
            }
        }
        let all_dates = tokens
            .iter()
            .enumerate()
            .flat_map(|(i, toks)| toks.iter().filter_map(move |t| date_of(t).map(|d| (i, d))))
            .collect();
        let labelled = labelled_duration(statements, &tokens);
        Told {
            statements,
            subject_date: when::tokens(subject, ref_date, month_first)
                .iter()
                .find_map(date_of),
            tokens,
            all_dates,
            ref_date,
            header_zone: Zone::Fixed(reference.when.offset().local_minus_utc()),
            labelled,
        }
    }

    /// The day for statement `i` when it says none: the last one said, the next one
    /// said, the subject's, or the day of writing.
    fn fallback(&self, found: &Found, i: usize, assume: &mut Vec<&'static str>) -> NaiveDate {
        found
            .context
            .or_else(|| self.all_dates.iter().find(|(j, _)| *j > i).map(|(_, d)| *d))
            .or(self.subject_date)
            .unwrap_or_else(|| {
                assume.push("date from Date header");
                self.ref_date
            })
    }

    /// The day of a time token `k` whose range has no date of its own: the nearest
    /// date before it in the statement, else after it, else [`Told::fallback`].
    fn day_around(
        &self,
        toks: &[Token],
        k: usize,
        found: &Found,
        i: usize,
        assume: &mut Vec<&'static str>,
    ) -> NaiveDate {
        toks[..k]
            .iter()
            .rev()
            .find_map(date_of)
            .or_else(|| toks[k + 1..].iter().find_map(date_of))
            .unwrap_or_else(|| self.fallback(found, i, assume))
    }

    /// `zone`, or the Date header's (and it says so).
    fn zone_or_header(&self, zone: Option<Zone>, assume: &mut Vec<&'static str>) -> Zone {
        zone.unwrap_or_else(|| {
            assume.push("zone from Date header");
            self.header_zone
        })
    }

    /// Every window statement `i` tells, by each way of telling one.
    fn statement(&self, i: usize, found: &mut Found) {
        let statement = &self.statements[i];
        let toks = &self.tokens[i];
        let mut t = Times {
            i,
            text: statement.text.as_str(),
            toks,
            times: toks
                .iter()
                .enumerate()
                .filter(|(_, t)| matches!(t.kind, Kind::Time { .. }))
                .map(|(k, _)| k)
                .collect(),
            zone: toks.iter().find_map(zone_of),
            consumed: Vec::new(),
        };
        // Both rules walk the times: without any, the patterns need not be asked.
        let hours_not_outage = || {
            NOT_OUTAGE_RANGE.get().is_match(statement.folded())
                && !UNREACHABLE.get().is_match(statement.folded())
        };
        if !t.times.is_empty() && !hours_not_outage() {
            self.time_pairs(&mut t, found);
            self.bare_hours(&mut t, found);
            self.bare_end_hours(&mut t, found);
        }
        let label = statement.label.as_deref().unwrap_or_default();
        self.start_times(&mut t, label, found);
        // "Start: 08:10" and "End: 10:40" given as separate fields.
        if is_end_label(label) {
            self.end_field(&t, found);
        }
        if let Some(d) = toks.iter().rev().find_map(date_of) {
            found.context = Some(d);
        }
    }

    /// "from 9:15 to 11:40", "9:15-11:40 CET", "14.00 bis 15.30 am 3. März".
    fn time_pairs(&self, t: &mut Times<'_>, found: &mut Found) {
        let toks = t.toks;
        for pair in t.times.windows(2) {
            let (ka, kb) = (pair[0], pair[1]);
            if t.consumed.contains(&ka) {
                continue;
            }
            let Some(split) = connector_at(t.text, toks, ka, kb) else {
                continue;
            };
            let mut assume = Vec::new();
            let day = toks[ka + 1..kb]
                .iter()
                .filter(|t| t.start < split)
                .find_map(date_of)
                .or_else(|| {
                    toks[..ka]
                        .iter()
                        .rev()
                        .take_while(|t| !matches!(t.kind, Kind::Time { .. }))
                        .find_map(date_of)
                })
                .or_else(|| {
                    toks[kb + 1..]
                        .iter()
                        .take_while(|t| !matches!(t.kind, Kind::Time { .. }))
                        .find_map(date_of)
                })
                .or_else(|| toks[..ka].iter().rev().find_map(date_of))
                .unwrap_or_else(|| self.fallback(found, t.i, &mut assume));
            let end_day = toks[ka + 1..kb]
                .iter()
                .filter(|t| t.start > split)
                .find_map(date_of);
            let next_day = toks[ka + 1..]
                .iter()
                .take_while(|t| !matches!(t.kind, Kind::Time { .. }) || t.start <= toks[kb].start)
                .any(|t| t.kind == Kind::NextDay)
                || toks.get(kb + 1).is_some_and(|t| t.kind == Kind::NextDay);
            let zone = toks[kb + 1..]
                .iter()
                .take_while(|t| !matches!(t.kind, Kind::Time { .. }))
                .find_map(zone_of)
                .or_else(|| toks[ka + 1..kb].iter().find_map(zone_of))
                .or(t.zone);
            let zone = self.zone_or_header(zone, &mut assume);
            let (start, end) = meridiem_pair(&toks[ka].kind, &toks[kb].kind);
            let span = Span {
                day,
                start,
                end_day,
                end,
                next_day,
                zone,
            };
            if let Some(w) = build(span, t.text, assume) {
                found.windows.push(w);
                t.consumed.extend([ka, kb]);
            }
        }
    }

    /// "van 10 tot 12 uur", "between 9 and 11am": the first hour has no minutes.
    fn bare_hours(&self, t: &mut Times<'_>, found: &mut Found) {
        let (toks, text) = (t.toks, t.text);
        for &kb in &t.times {
            if t.consumed.contains(&kb) {
                continue;
            }
            let from = toks[..kb]
                .iter()
                .rev()
                .find(|t| matches!(t.kind, Kind::Time { .. } | Kind::Duration(_)))
                .map_or(0, |t| t.end);
            let Some(c) = BARE_HOUR_BEFORE.get().captures(&text[from..toks[kb].start]) else {
                continue;
            };
            let Some(hour) = c
                .get(1)
                .and_then(|g| g.as_str().parse::<u32>().ok())
                .filter(|h| *h <= 24)
            else {
                continue;
            };
            let minute = c
                .get(2)
                .and_then(|g| g.as_str().parse::<u32>().ok())
                .unwrap_or(0);
            let is_and = c
                .get(0)
                .is_some_and(|g| g.as_str().trim_end().ends_with(['d', 'n']));
            let bare_start = from + c.get(0).map_or(0, |g| g.start());
            if is_and && !preceded_by(text, bare_start, BETWEEN) {
                continue;
            }
            let mut assume = Vec::new();
            let day = self.day_around(toks, kb, found, t.i, &mut assume);
            let zone = self.zone_or_header(t.zone, &mut assume);
            let a = Kind::Time {
                hour,
                minute,
                pm: None,
            };
            let (start, end) = meridiem_pair(&a, &toks[kb].kind);
            let span = Span::within(day, (start, end), zone);
            if let Some(w) = build(span, text, assume) {
                found.windows.push(w);
                t.consumed.push(kb);
            }
        }
    }

    /// "from 8:30 until 11", "von halb neun bis kurz nach elf": the range ends at an hour
    /// without minutes or a clock word. The number counts nothing ("to 11 users") and is
    /// no date or duration; without am/pm, an end hour that reads as the afternoon
    /// ("9:30 to 5") is one.
    fn bare_end_hours(&self, t: &mut Times<'_>, found: &mut Found) {
        let (toks, text) = (t.toks, t.text);
        for (n, &ka) in t.times.iter().enumerate() {
            if t.consumed.contains(&ka) {
                continue;
            }
            let until = t.times.get(n + 1).map_or(text.len(), |&kb| toks[kb].start);
            let after = toks[ka].end;
            let Some(rest) = text.get(after..until) else {
                continue;
            };
            // Most times are followed by a zone, a comma or a word no connector starts
            // with: one look at a character before any search.
            let opens = rest.trim_start().chars().next().is_some_and(|c| {
                matches!(
                    c.to_ascii_lowercase(),
                    '-' | '–' | '—' | 't' | 'u' | 'b' | 'a' | 'e' | 'h' | 'o'
                )
            });
            let Some(c) = opens
                .then(|| BARE_HOUR_AFTER.get().captures(rest))
                .flatten()
            else {
                continue;
            };
            let Some(number) = c.get(2) else { continue };
            let (from, to) = (after + number.start(), after + number.end());
            let Some(hour) = number.as_str().parse::<u32>().ok().filter(|h| *h <= 24) else {
                continue;
            };
            let is_and = c.get(1).is_some_and(|g| {
                ["and", "en", "und"]
                    .iter()
                    .any(|w| g.as_str().eq_ignore_ascii_case(w))
            });
            if is_and && !preceded_by(text, toks[ka].start, BETWEEN) {
                continue;
            }
            // A clock time ("11.15") or any other token starting there is not this.
            let rest = &text[to..];
            let clock_follows = rest.len() > 1
                && rest.starts_with([':', '.', 'h', 'u'])
                && rest.as_bytes()[1].is_ascii_digit();
            if clock_follows || toks.iter().any(|k| k.start < to && k.end > from) {
                continue;
            }
            let next_word = rest
                .trim_start()
                .split(|c: char| !(c.is_alphanumeric() || c == '%'))
                .next()
                .unwrap_or_default()
                .to_lowercase();
            if COUNTED.iter().any(|w| next_word.starts_with(w)) {
                continue;
            }
            let afternoon = matches!(
                toks[ka].kind,
                Kind::Time { hour: ha, pm: None, .. } if hour < 12 && hour < ha && hour + 12 > ha
            );
            let end = Kind::Time {
                hour: if afternoon { hour + 12 } else { hour },
                minute: 0,
                pm: None,
            };
            let mut assume = Vec::new();
            let day = self.day_around(toks, ka, found, t.i, &mut assume);
            let zone = toks[ka + 1..]
                .iter()
                .take_while(|k| !matches!(k.kind, Kind::Time { .. }))
                .find_map(zone_of)
                .or(t.zone);
            let zone = self.zone_or_header(zone, &mut assume);
            let (start, end) = meridiem_pair(&toks[ka].kind, &end);
            let span = Span::within(day, (start, end), zone);
            if let Some(w) = build(span, text, assume) {
                found.windows.push(w);
                t.consumed.push(ka);
            }
        }
    }

    /// A start time ("down since 9:10", "Start: 08:10") closed by an end time said in
    /// words nearby, or else by a duration.
    fn start_times(&self, t: &mut Times<'_>, label: &str, found: &mut Found) {
        let (toks, text) = (t.toks, t.text);
        let start_field = is_start_label(label);
        for k in t.times.clone() {
            if t.consumed.contains(&k) {
                continue;
            }
            let starts = start_field
                || preceded_by(text, toks[k].start, START_WORDS)
                || followed_by(text, toks[k].end, START_AFTER)
                || said_to_fail(text, toks[k].start);
            if !starts {
                continue;
            }
            if self.start_to_end(t, k, found) {
                continue;
            }
            let own = toks
                .iter()
                .enumerate()
                .find(|(_, t)| matches!(t.kind, Kind::Duration(_)));
            let minutes = match own {
                Some((d, tk)) => {
                    found.used_durations.insert((t.i, d));
                    duration_of(tk)
                }
                None => {
                    if start_field {
                        found.start_field = Some((t.i, k));
                    }
                    self.labelled.and_then(|(at, minutes)| {
                        found.used_durations.insert(at);
                        minutes
                    })
                }
            };
            let Some(minutes) = minutes else { continue };
            let mut assume = Vec::new();
            let date = toks
                .iter()
                .find_map(date_of)
                .unwrap_or_else(|| self.fallback(found, t.i, &mut assume));
            let zone = self.zone_or_header(t.zone, &mut assume);
            let (h, m) = hm(&toks[k].kind);
            if let Some(start) = local_to_utc(date, h, m, zone) {
                found.windows.push(Window {
                    start: Some(start),
                    end: Some(start + Duration::minutes(minutes)),
                    minutes,
                    source: text.to_string(),
                    assumptions: assume,
                });
                t.consumed.push(k);
                found.start_field = None;
            }
        }
    }

    /// A window from start time `k` to an end time said in words ("resolved at 12:35",
    /// "om 10:15 was het opgelost") in this statement or the next two; whether one was.
    fn start_to_end(&self, t: &mut Times<'_>, k: usize, found: &mut Found) -> bool {
        let (i, toks) = (t.i, t.toks);
        let statements = self.statements;
        let end = t
            .times
            .iter()
            .filter(|&&k2| k2 > k && !t.consumed.contains(&k2))
            .map(|&k2| (i, k2))
            .chain((i + 1..statements.len().min(i + 3)).flat_map(|j| {
                self.tokens[j]
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| matches!(t.kind, Kind::Time { .. }))
                    .map(move |(k2, _)| (j, k2))
            }))
            // The end follows within a few times; asking every later time made a
            // statement of many start times quadratic.
            .take(END_REACH)
            .find(|&(j, k2)| {
                // Asked of the same time by up to END_REACH start times: once each.
                let known = &mut found.ends[j][k2];
                *known.get_or_insert_with(|| {
                    let (text, tk) = (&statements[j].text, &self.tokens[j][k2]);
                    preceded_by(text, tk.start, END_WORDS) || followed_by(text, tk.end, END_AFTER)
                })
            });
        let Some((j, k2)) = end else { return false };
        let mut assume = Vec::new();
        let day = toks
            .iter()
            .find_map(date_of)
            .unwrap_or_else(|| self.fallback(found, i, &mut assume));
        let zone = t.zone.or_else(|| self.tokens[j].iter().find_map(zone_of));
        let zone = self.zone_or_header(zone, &mut assume);
        let (start, end) = meridiem_pair(&toks[k].kind, &self.tokens[j][k2].kind);
        let span = Span::within(day, (start, end), zone);
        let Some(w) = build(span, t.text, assume) else {
            return false;
        };
        found.windows.push(w);
        t.consumed.push(k);
        if j == i {
            t.consumed.push(k2);
        }
        true
    }

    /// An "End:" field that closes the "Start:" field before it.
    fn end_field(&self, t: &Times<'_>, found: &mut Found) {
        let (Some((si, sk)), Some(&k)) = (found.start_field.take(), t.times.first()) else {
            return;
        };
        let st = &self.tokens[si];
        let mut assume = Vec::new();
        let day = st
            .iter()
            .find_map(date_of)
            .or_else(|| t.toks.iter().find_map(date_of))
            .unwrap_or_else(|| self.fallback(found, t.i, &mut assume));
        let zone = st
            .iter()
            .find_map(zone_of)
            .or(t.zone)
            .unwrap_or(self.header_zone);
        let (start, end) = meridiem_pair(&st[sk].kind, &t.toks[k].kind);
        let span = Span::within(day, (start, end), zone);
        if let Some(w) = build(span, t.text, assume) {
            found.windows.push(w);
        }
    }

    /// Without any window: the durations said (at most three distinct), each alone.
    fn durations_alone(&self, found: &mut Found) {
        let mut seen = Vec::new();
        for (i, (statement, toks)) in self.statements.iter().zip(&self.tokens).enumerate() {
            for (k, t) in toks.iter().enumerate() {
                let Kind::Duration(m) = t.kind else { continue };
                if found.used_durations.contains(&(i, k))
                    || seen.contains(&m)
                    || m <= 0
                    || seen.len() >= 3
                {
                    continue;
                }
                if when::leading_word(&statement.text, t.start)
                    .is_some_and(|w| NOT_OUTAGE_DURATION.contains(&w.as_str()))
                {
                    continue;
                }
                seen.push(m);
                found.windows.push(Window {
                    start: None,
                    end: None,
                    minutes: m,
                    source: statement.text.clone(),
                    assumptions: vec![],
                });
            }
        }
    }
}

/// Where the connector between time tokens `ka` and `kb` sits, if the gap is one.
fn connector_at(text: &str, toks: &[Token], ka: usize, kb: usize) -> Option<usize> {
    let (a, b) = (&toks[ka], &toks[kb]);
    if toks[ka + 1..kb]
        .iter()
        .any(|t| matches!(t.kind, Kind::Duration(_)))
    {
        return None;
    }
    // Blank out dates, zones and "next morning" between the two times.
    let mut offset = a.end;
    let mut blanked = String::new();
    for t in &toks[ka + 1..kb] {
        blanked.push_str(&text[offset..t.start]);
        blanked.push_str(&" ".repeat(text[t.start..t.end].chars().count()));
        offset = t.end;
    }
    blanked.push_str(&text[offset..b.start]);
    let lowered = blanked
        .to_lowercase()
        .replace(['(', ')', ',', ';', '.'], " ");
    let words: Vec<&str> = lowered
        .split_whitespace()
        .filter(|w| !FILLERS.contains(w))
        .collect();
    let joined = words.join(" ");
    let connector = joined.as_str();
    if !CONNECTORS.contains(&connector) {
        return None;
    }
    if matches!(connector, "and" | "en" | "und") && !preceded_by(text, a.start, BETWEEN) {
        return None;
    }
    let rel = lowered.find(connector).unwrap_or(0);
    Some(a.end + rel)
}

/// True when one of `words` stands within the three words before byte offset `at`.
/// Words saying the service failed: a time a few words after one is when it began
/// ("mail stopped flowing for us at about 1:40pm", "Teams viel bei uns um 9 aus").
const FAILED: &[&str] = &[
    // "went down at 14:30", "ging offline", "fiel um 14:30 aus", "viel om 14.30 weg".
    "down",
    "offline",
    "unavailable",
    "unreachable",
    "fiel",
    "viel",
    "stopped",
    "failed",
    "died",
    "crashed",
    "dropped",
    "outage",
    "uitgevallen",
    "uitval",
    "storing",
    "ausgefallen",
    "ausfall",
    "störung",
];

fn said_to_fail(text: &str, at: usize) -> bool {
    within_before(text, at, FAILED, 6)
}

fn preceded_by(text: &str, at: usize, words: &[&str]) -> bool {
    within_before(text, at, words, 3)
}

/// Whether one of `words` stands within the `reach` words before byte offset `at`.
/// Words are lower-cased one at a time: only the nearest are read.
fn within_before(text: &str, at: usize, words: &[&str], reach: usize) -> bool {
    text[..at]
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !is_number(w))
        .rev()
        .take(reach)
        .any(|w| is_one_of(w, words))
}

/// Digits only: a date's parts ("started 10/03/2026 08:00"), never a word that is asked
/// for, so not counted in a reach of words.
fn is_number(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_digit())
}

/// Whether one of `words` stands within the `reach` words after byte offset `at`.
fn within_after(text: &str, at: usize, words: &[&str], reach: usize) -> bool {
    text[at..]
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !is_number(w))
        .take(reach)
        .any(|w| is_one_of(w, words))
}

/// Whether `word` is one of the lower-case `words`, in any case (lower-cased into a new
/// string only when it is not ASCII: this is asked for every word near every time).
fn is_one_of(word: &str, words: &[&str]) -> bool {
    if word.is_ascii() {
        words.iter().any(|w| w.eq_ignore_ascii_case(word))
    } else {
        words.contains(&word.to_lowercase().as_str())
    }
}

/// True when one of `words` stands within the four words after byte offset `at`.
fn followed_by(text: &str, at: usize, words: &[&str]) -> bool {
    within_after(text, at, words, 4)
}

/// Labels of the header block of a mail forwarded or quoted inline ("Date:", "Sent:").
const WRITTEN_LABELS: &[&str] = &[
    "date",
    "sent",
    "datum",
    "verzonden",
    "gesendet",
    "verstuurd",
];

/// The day each statement was written on: the Date header's, until the header block of
/// a forwarded mail gives its own ("Date: Mon, 26 Oct 2026"); its "today" and
/// "yesterday" are counted from that day.
fn written_on(statements: &[Statement], reference: NaiveDate, month_first: bool) -> Vec<NaiveDate> {
    let mut day = reference;
    statements
        .iter()
        .map(|s| {
            let this = day;
            if s.label
                .as_deref()
                .is_some_and(|l| WRITTEN_LABELS.contains(&l))
            {
                let dated = when::tokens(s.value(), reference, month_first)
                    .iter()
                    .find_map(|t| match t.kind {
                        Kind::Date {
                            date,
                            year_given: true,
                        } => Some(date),
                        _ => None,
                    });
                if let Some(d) = dated.filter(|d| *d <= reference) {
                    day = d;
                }
            }
            this
        })
        .collect()
}

/// "This afternoon", "'s avonds", "abends": in such a statement a clock time without
/// am/pm is read in the afternoon when it could only be then (1-6 after "afternoon",
/// 5-11 after "evening"). A morning hour next to "afternoon" stays as written.
static AFTERNOON: Pattern<FoldedRegex> =
    re_folded!(r"afternoon|vanmiddag|gistermiddag|middags|\bmiddag\b|nachmittag|\bmittags\b");
static EVENING: Pattern<FoldedRegex> =
    re_folded!(r"evening|tonight|last night|avond|avonds|abend|abends");
/// A statement that names the morning too may hold times of both halves of the day.
static MORNING: Pattern<FoldedRegex> =
    re_folded!(r"morning|ochtend|morgens|vanmorgen|gistermorgen|vormittag|\bfrüh\b|a\.m\.");

/// Words right after a time that put it after noon ("1:15 this afternoon").
const AFTER_NOON: &[&str] = &[
    "afternoon",
    "evening",
    "tonight",
    "middags",
    "avonds",
    "nachmittags",
    "nachmittag",
    "abends",
    "abend",
];

fn in_the_afternoon(statement: &Statement, toks: &mut [Token]) {
    if !toks
        .iter()
        .any(|t| matches!(t.kind, Kind::Time { pm: None, hour, .. } if (1..12).contains(&hour)))
    {
        return;
    }
    let text = &statement.text;
    for t in toks.iter_mut() {
        if let Kind::Time { hour, pm, .. } = &mut t.kind {
            if pm.is_none() && (1..12).contains(hour) && within_after(text, t.end, AFTER_NOON, 3) {
                *pm = Some(true);
            }
        }
    }
    if MORNING.get().is_match(statement.folded()) {
        return;
    }
    if AFTERNOON.get().is_match(statement.folded()) {
        set_pm(toks, 1..=6);
    } else if EVENING.get().is_match(statement.folded()) {
        set_pm(toks, 5..=11);
    }
}

/// Puts the times of `toks` whose hour is in `hours`, said without am or pm, after noon.
fn set_pm(toks: &mut [Token], hours: std::ops::RangeInclusive<u32>) {
    for t in toks {
        if let Kind::Time { hour, pm, .. } = &mut t.kind {
            if pm.is_none() && hours.contains(hour) {
                *pm = Some(true);
            }
        }
    }
}

/// "We lost email this afternoon. It dropped at ten to three and came back at twenty
/// past four.": a statement that names the afternoon and gives no time sets the half of
/// the day for the bare hours 1-6 of the next one, when that names no part of the day
/// itself.
fn afternoon_said_before(statements: &[Statement], tokens: &mut [Vec<Token>]) {
    let is_time = |t: &Token| matches!(t.kind, Kind::Time { .. });
    let names_part = |s: &Statement| {
        [&MORNING, &AFTERNOON, &EVENING, &NIGHT]
            .iter()
            .any(|p| p.get().is_match(s.folded()))
    };
    for i in 1..statements.len().min(tokens.len()) {
        let (before, now) = (&statements[i - 1], &statements[i]);
        if tokens[i - 1].iter().any(is_time)
            || !tokens[i].iter().any(is_time)
            || !AFTERNOON.get().is_match(before.folded())
            || MORNING.get().is_match(before.folded())
            || names_part(now)
        {
            continue;
        }
        set_pm(&mut tokens[i], 1..=6);
    }
}

/// Night words: a statement with them keeps its small hours as written. Searched as
/// parts of words: "night" finds "midnight" and "overnight", "nacht" finds "nachts" and
/// "Mitternacht" (the words a spoken clock phrase looks for, `spoken::NIGHT_WORDS`).
static NIGHT: Pattern<FoldedRegex> =
    re_folded!(r"night|nacht|early hours|small hours|\bdawn\b|früh|vroeg");

/// Whether the writer uses the 24-hour clock somewhere: an hour past 12 without am/pm
/// ("13:40"), or an hour written with a leading zero ("02:15").
fn writes_24_hour(statements: &[Statement], tokens: &[Vec<Token>]) -> bool {
    statements.iter().zip(tokens).any(|(s, toks)| {
        toks.iter().any(|t| match t.kind {
            Kind::Time { hour, pm: None, .. } => {
                hour > 12 || {
                    let b = s.text.as_bytes();
                    b.get(t.start) == Some(&b'0')
                        && b.get(t.start + 1).is_some_and(u8::is_ascii_digit)
                }
            }
            _ => false,
        })
    })
}

/// A writer in the Americas uses the 12-hour clock: "from 1:45 until 4:10", without
/// am/pm and without a word for the morning or the night, is the afternoon of a working
/// day, the hours such a mail reports people hit. Only hours 1-6: "9:30 to 11" stays in
/// the morning, and a mail that writes a 24-hour time anywhere keeps its hours
/// ([`writes_24_hour`]).
fn in_working_hours(statement: &Statement, toks: &mut [Token]) {
    let small =
        |t: &Token| matches!(t.kind, Kind::Time { pm: None, hour, .. } if (1..=6).contains(&hour));
    if !toks.iter().any(small)
        || MORNING.get().is_match(statement.folded())
        || NIGHT.get().is_match(statement.folded())
    {
        return;
    }
    set_pm(toks, 1..=6);
}

/// The first duration in a "Duration:" field: where it is and its minutes. Found once
/// per mail (asked per start time, a search per ask was quadratic in fields).
fn labelled_duration(
    statements: &[Statement],
    toks: &[Vec<Token>],
) -> Option<((usize, usize), Option<i64>)> {
    for (i, s) in statements.iter().enumerate() {
        if !s
            .label
            .as_deref()
            .is_some_and(|l| DURATION_LABELS.contains(&l))
        {
            continue;
        }
        if let Some((k, t)) = toks[i]
            .iter()
            .enumerate()
            .find(|(_, t)| matches!(t.kind, Kind::Duration(_)))
        {
            return Some(((i, k), duration_of(t)));
        }
    }
    None
}

/// A window as told: its start day and clock, its end's day when said and its clock,
/// whether it ends the next day, and its zone.
struct Span {
    day: NaiveDate,
    start: (u32, u32),
    end_day: Option<NaiveDate>,
    end: (u32, u32),
    next_day: bool,
    zone: Zone,
}

impl Span {
    /// From `times.0` to `times.1` on `day` (past midnight when the end comes first).
    fn within(day: NaiveDate, times: ((u32, u32), (u32, u32)), zone: Zone) -> Span {
        let (start, end) = times;
        Span {
            day,
            start,
            end_day: None,
            end,
            next_day: false,
            zone,
        }
    }
}

fn build(span: Span, source: &str, assumptions: Vec<&'static str>) -> Option<Window> {
    let start = local_to_utc(span.day, span.start.0, span.start.1, span.zone)?;
    let day_b = span.end_day.unwrap_or(if span.next_day {
        span.day + Duration::days(1)
    } else {
        span.day
    });
    let mut end = local_to_utc(day_b, span.end.0, span.end.1, span.zone)?;
    if end <= start && span.end_day.is_none() {
        end += Duration::days(1);
    }
    let minutes = (end - start).num_minutes();
    (minutes > 0 && minutes <= 14 * 24 * 60).then(|| Window {
        start: Some(start),
        end: Some(end),
        minutes,
        source: source.to_string(),
        assumptions,
    })
}

fn local_to_utc(date: NaiveDate, hour: u32, minute: u32, zone: Zone) -> Option<DateTime<Utc>> {
    let (date, hour) = if hour == 24 {
        (date + Duration::days(1), 0)
    } else {
        (date, hour)
    };
    let local = NaiveDateTime::new(date, NaiveTime::from_hms_opt(hour, minute, 0)?);
    match zone {
        Zone::Fixed(secs) => FixedOffset::east_opt(secs)?
            .from_local_datetime(&local)
            .single()
            .map(|t| t.with_timezone(&Utc)),
        Zone::Named(tz) => tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

fn hm(k: &Kind) -> (u32, u32) {
    match *k {
        Kind::Time { hour, minute, pm } => (to_24(hour, pm), minute),
        _ => (0, 0),
    }
}

fn to_24(hour: u32, pm: Option<bool>) -> u32 {
    match pm {
        Some(true) if hour < 12 => hour + 12,
        Some(false) if hour == 12 => 0,
        _ => hour,
    }
}

/// Applies a written am/pm to the other end of a range that has none ("9 to 11am").
fn meridiem_pair(a: &Kind, b: &Kind) -> ((u32, u32), (u32, u32)) {
    let (
        Kind::Time {
            hour: ha,
            minute: ma,
            pm: pa,
        },
        Kind::Time {
            hour: hb,
            minute: mb,
            pm: pb,
        },
    ) = (a, b)
    else {
        return (hm(a), hm(b));
    };
    let mut a24 = to_24(*ha, *pa);
    let mut b24 = to_24(*hb, *pb);
    if pa.is_none() && *pb == Some(true) && *ha < 12 && ha + 12 <= b24 {
        a24 = ha + 12;
    }
    if pb.is_none() && pa.is_some() && *hb < 12 && b24 < a24 && hb + 12 > a24 {
        b24 = hb + 12;
    }
    // An end written on a 12-hour clock (no am/pm, hour 1-12, the start no later than
    // 12 or with am/pm) is read twelve hours on when that makes the shorter window:
    // "9:45 to 1:30" ends at 13:30, not the next night; a writer on a 24-hour clock
    // ("18:00 to 6:30") is left alone.
    if pb.is_none() && (1..=12).contains(hb) && (pa.is_some() || *ha <= 12) {
        let (start, end) = (a24 * 60 + ma, b24 * 60 + mb);
        let other = (end + 12 * 60) % (24 * 60);
        let length = |e: u32| (e + 24 * 60 - start - 1) % (24 * 60);
        if length(other) < length(end) {
            b24 = other / 60;
        }
    }
    ((a24, *ma), (b24, *mb))
}

fn date_of(t: &Token) -> Option<NaiveDate> {
    match t.kind {
        Kind::Date { date, .. } => Some(date),
        _ => None,
    }
}

fn zone_of(t: &Token) -> Option<Zone> {
    match t.kind {
        Kind::Zone(z) => Some(z),
        _ => None,
    }
}

fn duration_of(t: &Token) -> Option<i64> {
    match t.kind {
        Kind::Duration(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::statements;
    use super::*;

    #[test]
    fn date_order_by_zone_and_by_locale_only_where_the_zone_says_nothing() {
        let at = |date: &str, locale: Option<&str>| Reference {
            when: DateTime::parse_from_rfc2822(date).unwrap_or_default(),
            us_english: locale.is_some_and(|l| l == "en-US"),
        };
        assert!(at("Tue, 10 Nov 2026 09:00:00 -0600", None).month_first());
        assert!(at("Tue, 10 Nov 2026 15:00:00 +0000", Some("en-US")).month_first());
        assert!(!at("Tue, 10 Nov 2026 15:00:00 +0000", Some("en-GB")).month_first());
        // A European with a US English mail program writes the day first.
        assert!(!at("Tue, 10 Nov 2026 16:00:00 +0100", Some("en-US")).month_first());
        let body = "Down on 11/03 from 14:00 to 15:00 UTC.";
        let when =
            DateTime::parse_from_rfc2822("Tue, 10 Nov 2026 15:00:00 +0000").unwrap_or_default();
        let read = |locale: &str| {
            let r = Reference {
                when,
                us_english: locale == "en-US",
            };
            windows("x", &statements(body), r)
                .first()
                .and_then(|w| w.start)
                .map(|t| t.format("%m-%d").to_string())
        };
        assert_eq!(read("en-US").as_deref(), Some("11-03"));
        assert_eq!(read("en-GB").as_deref(), Some("03-11"));
        // An order that puts the outage after the mail is the other order: a US sender
        // whose Date header is in UTC, or a European mail program on a US zone.
        let r = Reference {
            when,
            us_english: false,
        };
        let day = |body: &str| {
            windows("x", &statements(body), r)
                .first()
                .and_then(|w| w.start)
                .map(|t| t.format("%Y-%m-%d").to_string())
        };
        assert_eq!(
            day("On 10/12/2026 from 2:00 PM to 4:15 PM EST Outlook was down.").as_deref(),
            Some("2026-10-12")
        );
        // Both orders before the mail: the zone's order stands.
        assert_eq!(
            day("On 10/09/2026 from 2:00 PM to 4:15 PM Outlook was down.").as_deref(),
            Some("2026-09-10")
        );
    }

    /// Windows as "start/end/minutes" strings, for a mail dated `date` (RFC 2822).
    fn run(subject: &str, body: &str, date: &str) -> Vec<String> {
        let when = DateTime::parse_from_rfc2822(date).unwrap_or_default();
        windows(subject, &statements(body), Reference::at(when))
            .into_iter()
            .map(|w| {
                let f = |t: Option<DateTime<Utc>>| {
                    t.map_or("null".into(), |t| t.format("%m-%dT%H:%M").to_string())
                };
                format!("{}/{}/{}", f(w.start), f(w.end), w.minutes)
            })
            .collect()
    }

    const TUE_CET: &str = "Tue, 10 Mar 2026 15:00:00 +0100";

    #[test]
    fn many_windows_stop_at_the_cap_and_fields_are_read_once() {
        // A hundred distinct ranges: the first MAX_WINDOWS are kept, in order.
        let body: String = (0..100)
            .map(|d| {
                format!(
                    "On {} March we had no mail from 09:15 to 11:45.\n\n",
                    d % 28 + 1
                )
            })
            .collect();
        let got = run("", &body, TUE_CET);
        assert_eq!(got.len(), MAX_WINDOWS.min(28), "{got:?}");
        // Many start fields share the one duration field, as one did before.
        let mut body = String::from("Duration: 2 hours\n");
        for h in 0..200 {
            body.push_str(&format!("Start: {:02}:{:02}\n", 8 + h % 10, h % 60));
        }
        let got = run("", &body, TUE_CET);
        assert!(!got.is_empty() && got.len() <= MAX_WINDOWS, "{got:?}");
        assert!(got.iter().all(|w| w.ends_with("/120")), "{got:?}");
    }

    #[test]
    fn start_and_end_fields_named_in_a_few_words() {
        // Phrasings of my own: the labels name the outage as well, or are compounds.
        for body in [
            "Begin storing: 4 maart 2026 om 14:10\nEinde storing: 4 maart 2026 om 16:40",
            "Beginn der Störung: 04.03.2026 14:10 Uhr\nEnde der Störung: 04.03.2026 16:40 Uhr",
            "Störungsbeginn: 04.03.2026 14:10\nStörungsende: 04.03.2026 16:40",
            "Outage began: 4 March 14:10\nService restored: 4 March 16:40",
        ] {
            assert_eq!(
                run("", body, TUE_CET),
                ["03-04T13:10/03-04T15:40/150"],
                "{body}"
            );
        }
        assert!(is_start_label("begin storing") && !is_end_label("begin storing"));
        // A label that names both, or neither, is no start or end field.
        assert!(!is_start_label("start and end") && !is_end_label("start and end"));
        assert!(!is_end_label("weekend contact"));
    }

    #[test]
    fn ranges_in_three_languages() {
        assert_eq!(
            run(
                "",
                "On 3 March we had no mail from 09:15 to 11:45.",
                TUE_CET
            ),
            ["03-03T08:15/03-03T10:45/150"]
        );
        assert_eq!(
            run("", "Op 4 maart van 10.00 tot 12.30 uur geen mail.", TUE_CET),
            ["03-04T09:00/03-04T11:30/150"]
        );
        assert_eq!(
            run("", "Am 5. März 2026 von 13:30 bis 15:00 Uhr MEZ.", TUE_CET),
            ["03-05T12:30/03-05T14:00/90"]
        );
        assert_eq!(
            run("", "Outage window: 2026-03-04T13:05Z - 15:50Z", TUE_CET),
            ["03-04T13:05/03-04T15:50/165"]
        );
        assert_eq!(
            run(
                "",
                "Yesterday, between 2 and 4:30pm EST, Teams was down.",
                TUE_CET
            ),
            ["03-09T19:00/03-09T21:30/150"]
        );
    }

    #[test]
    fn a_range_may_end_at_a_bare_hour() {
        // Phrasings of my own: the end hour without minutes, with and without a word
        // that approximates it, after a connector in each language.
        for (body, want) in [
            (
                "Mail was gone on 4 March from 8:30 until 11.",
                "03-04T07:30/03-04T10:00/150",
            ),
            (
                "On 4 March from 8:30 until shortly after 11 nobody could log in.",
                "03-04T07:30/03-04T10:00/150",
            ),
            (
                "Op 4 maart lag alles plat van 9.15 tot kort na 12.",
                "03-04T08:15/03-04T11:00/165",
            ),
            (
                "Am 4. März von 8:45 bis gegen 10 ging nichts.",
                "03-04T07:45/03-04T09:00/75",
            ),
            // The end a clock time after such a word.
            (
                "Am 4. März von 8:45 bis kurz nach 10 Uhr ging nichts.",
                "03-04T07:45/03-04T09:00/75",
            ),
            (
                "On 4 March from 8:45 until just before 10:30 nothing worked.",
                "03-04T07:45/03-04T09:30/105",
            ),
            (
                "On 4 March, between 13:20 and 15, Teams failed.",
                "03-04T12:20/03-04T14:00/100",
            ),
            // The part of the day the end is then given for (phrasings of my own).
            (
                "Op 4 maart lag alles plat van 8:10 tot net na de middag, rond 12:15.",
                "03-04T07:10/03-04T11:15/245",
            ),
            (
                "On 4 March mail failed from 9:40 until just after lunch, around 1:05.",
                "03-04T08:40/03-04T12:05/205",
            ),
            // Written on a 12-hour clock: "9:30 to 5" is the afternoon.
            (
                "On 4 March it was down from 9:30 to 5.",
                "03-04T08:30/03-04T16:00/450",
            ),
            // Across midnight.
            (
                "On 4 March from 22:40 until 1 the VPN was gone.",
                "03-04T21:40/03-05T00:00/140",
            ),
        ] {
            assert_eq!(run("", body, TUE_CET), [want], "{body}");
        }
        // A count, a date or a duration after the connector is no end hour.
        for body in [
            "On 4 March from 8:30 up to 11 users could not log in.",
            "From 8:30 on 4 March until 11 March we were patching.",
            "From 8:30 on 4 March, 40 users for 2 hours.",
        ] {
            assert!(
                run("", body, TUE_CET).iter().all(|w| !w.ends_with("/150")),
                "{body}: {:?}",
                run("", body, TUE_CET)
            );
        }
    }

    #[test]
    fn a_forwarded_mail_counts_its_days_from_its_own_date() {
        // The forward is written on the 10th; the original, "today", on the 6th.
        let body = "Please claim for the customer below.\n\n\
                    Date: Fri, 6 Mar 2026 16:02:11 +0100\n\n\
                    Today from 10:05 until 11:50 nobody could log in.";
        assert_eq!(run("", body, TUE_CET), ["03-06T09:05/03-06T10:50/105"]);
        // A date field that is no date, or later than the mail, changes nothing.
        let body = "Date: whenever\n\nToday from 10:05 until 11:50 nobody could log in.";
        assert_eq!(run("", body, TUE_CET), ["03-10T09:05/03-10T10:50/105"]);
    }

    #[test]
    fn afternoon_and_evening_words_put_bare_hours_after_noon() {
        assert_eq!(
            run(
                "",
                "This afternoon mail was gone from 2:10 until 3:25.",
                TUE_CET
            ),
            ["03-10T13:10/03-10T14:25/75"]
        );
        assert_eq!(
            run("", "Gisteravond van 8 tot 10 uur lag Teams eruit.", TUE_CET),
            ["03-09T19:00/03-09T21:00/120"]
        );
        // With the morning named as well, the hours are as written.
        assert_eq!(
            run(
                "",
                "Down from 9:30 this morning until 1:15 this afternoon.",
                TUE_CET
            ),
            ["03-10T08:30/03-10T12:15/225"]
        );
    }

    #[test]
    fn a_writer_in_the_americas_means_small_bare_hours_in_the_afternoon() {
        const THU_EST: &str = "Thu, 12 Nov 2026 17:00:00 -0500";
        let body = "Yesterday the phones were dead from 2:20 until 4:05 Eastern.";
        assert_eq!(run("", body, THU_EST), ["11-11T19:20/11-11T21:05/105"]);
        // "Quarter past one to three" reaches the clock as digits, and is read the same.
        let body = "Our reps had no dial tone yesterday from 1:15 to 3.";
        assert_eq!(run("", body, THU_EST), ["11-11T18:15/11-11T20:00/105"]);
        // The night named, an hour with a leading zero, or a 24-hour time elsewhere in
        // the mail: as written.
        for body in [
            "Yesterday from 2:20 until 4:05 overnight the phones were dead.",
            "Yesterday from 02:20 until 4:05 the phones were dead.",
            "Yesterday from 2:20 until 4:05 the phones were dead.\n\nThe vendor paged us at 17:45.",
        ] {
            assert_eq!(
                run("", body, THU_EST)[0],
                "11-11T07:20/11-11T09:05/105",
                "{body}"
            );
        }
        // A writer in Europe keeps the 24-hour clock.
        let body = "Yesterday the phones were dead from 2:20 until 4:05.";
        assert_eq!(run("", body, TUE_CET), ["03-09T01:20/03-09T03:05/105"]);
    }

    #[test]
    fn an_afternoon_named_in_the_sentence_before_sets_the_next_ones_bare_hours() {
        let body =
            "The calls died on us yesterday afternoon. They dropped at 1:40 and were back at 3:10.";
        assert_eq!(run("", body, TUE_CET), ["03-09T12:40/03-09T14:10/90"]);
        let body = "Gistermiddag ging het mis. Tussen 2.10 en 4.00 uur kon niemand inloggen.";
        assert_eq!(run("", body, TUE_CET), ["03-09T13:10/03-09T15:00/110"]);
        // Not when the next sentence names its own part of the day, nor when the first
        // gives times itself.
        let body = "It started yesterday afternoon. Overnight, from 1:40 to 3:10, nothing worked.";
        assert_eq!(run("", body, TUE_CET), ["03-09T00:40/03-09T02:10/90"]);
        let body = "Yesterday afternoon at 14:00 we noticed it. The night before, 1:40 to 3:10, it was down too.";
        assert!(
            run("", body, TUE_CET).contains(&"03-09T00:40/03-09T02:10/90".to_string()),
            "{body}"
        );
    }

    #[test]
    fn a_failure_at_a_time_and_a_duration_make_a_window() {
        assert_eq!(
            run(
                "",
                "On 4 March Outlook crashed for everyone at around 10:20 and it took 50 minutes to recover.",
                TUE_CET
            ),
            ["03-04T09:20/03-04T10:10/50"]
        );
    }

    #[test]
    fn bare_hour_ranges() {
        assert_eq!(
            run("", "Gisteren van 9 tot 11 uur lag alles plat.", TUE_CET),
            ["03-09T08:00/03-09T10:00/120"]
        );
        assert_eq!(
            run("", "On 2 March from 9 to 11am GMT mail was down.", TUE_CET),
            ["03-02T09:00/03-02T11:00/120"]
        );
    }

    #[test]
    fn midnight_crossing_and_next_morning() {
        assert_eq!(
            run(
                "",
                "From 23:10 on 14 March until 01:40 the next morning (CET).",
                TUE_CET
            ),
            ["03-14T22:10/03-15T00:40/150"]
        );
        assert_eq!(
            run(
                "",
                "Op 8 maart tussen 22:30 en 01:15 geen telefonie.",
                TUE_CET
            ),
            ["03-08T21:30/03-09T00:15/165"]
        );
    }

    #[test]
    fn an_end_on_a_twelve_hour_clock_makes_the_shorter_window() {
        // No am/pm: "1:30" after "9:45" is the afternoon, not the next night.
        assert_eq!(
            run(
                "",
                "On 3 March mail was down from 9:45 to 1:30 CET.",
                TUE_CET
            ),
            ["03-03T08:45/03-03T12:30/225"]
        );
        assert_eq!(
            run(
                "",
                "Op 3 maart van 11.00 tot 12.20 uur geen Teams.",
                TUE_CET
            ),
            ["03-03T10:00/03-03T11:20/80"]
        );
        // Past midnight from an evening start, and a 24-hour writer's overnight window.
        assert_eq!(
            run(
                "",
                "On 3 March from 11 pm to 12:40 nothing worked (CET).",
                TUE_CET
            ),
            ["03-03T22:00/03-03T23:40/100"]
        );
        assert_eq!(
            run(
                "",
                "Am 3. März von 18:00 bis 6:30 Uhr kein Exchange.",
                TUE_CET
            ),
            ["03-03T17:00/03-04T05:30/750"]
        );
    }

    #[test]
    fn start_plus_duration() {
        assert_eq!(
            run(
                "",
                "Yesterday (March 9) mail was down for about 3 hours 20 minutes starting at 9am EST.",
                TUE_CET
            ),
            ["03-09T14:00/03-09T17:20/200"]
        );
        assert_eq!(
            run(
                "",
                "Date: Friday 6 March 2026\nStart: 08:10 GMT\nDuration: 150 minutes\n",
                TUE_CET
            ),
            ["03-06T08:10/03-06T10:40/150"]
        );
        assert_eq!(
            run("", "Start: 08:10\nEnd: 10:40\n", TUE_CET),
            ["03-10T07:10/03-10T09:40/150"]
        );
    }

    #[test]
    fn not_reachable_is_the_outage_and_reachable_the_opening_hours() {
        assert_eq!(
            run(
                "",
                "Am 3. März waren unsere Postfächer von 9:05 bis 10:20 Uhr nicht erreichbar.",
                TUE_CET
            ),
            ["03-03T08:05/03-03T09:20/75"]
        );
        assert_eq!(
            run("", "Wij zijn bereikbaar van 9:00 tot 17:00 uur.", TUE_CET),
            Vec::<String>::new()
        );
    }

    #[test]
    fn duration_only_has_no_clock_times() {
        assert_eq!(
            run("", "On 17 March email was unavailable for 2h30m.", TUE_CET),
            ["null/null/150"]
        );
        assert_eq!(
            run("", "Teams lag er ruim 3 uur uit.", TUE_CET),
            ["null/null/180"]
        );
        assert_eq!(
            run("", "Der Dienst war 2 Stunden nicht erreichbar.", TUE_CET),
            ["null/null/120"]
        );
        assert_eq!(
            run("", "Please reply within 24 hours.", TUE_CET),
            Vec::<String>::new()
        );
    }

    #[test]
    fn single_times_are_not_outages() {
        assert!(
            run(
                "",
                "We called your help desk at 9:20am and logged it at 10.20 uur.",
                TUE_CET
            )
            .is_empty()
        );
        assert!(run("", "Our office hours are 09:00 to 17:00.", TUE_CET).is_empty());
    }

    #[test]
    fn zones_written_or_from_the_header() {
        // No zone written: the Date header's -0500.
        assert_eq!(
            run(
                "",
                "On March 4 we were down from 9:00 to 10:00.",
                "Thu, 05 Mar 2026 08:55:31 -0500"
            ),
            ["03-04T14:00/03-04T15:00/60"]
        );
        assert_eq!(
            run("", "On 1 July 2026 from 10:00 to 11:00 CEST.", TUE_CET),
            ["07-01T08:00/07-01T09:00/60"]
        );
        assert_eq!(
            run(
                "",
                "On 1 July 2026 from 10:00 to 11:00 Dutch time.",
                TUE_CET
            ),
            ["07-01T08:00/07-01T09:00/60"]
        );
        assert_eq!(
            run("", "On 3 March from 14:00 to 16:30 (UTC+1).", TUE_CET),
            ["03-03T13:00/03-03T15:30/150"]
        );
        assert_eq!(
            run("", "On 3 March from 9:00 to 10:00 PST.", TUE_CET),
            ["03-03T17:00/03-03T18:00/60"]
        );
    }

    #[test]
    fn date_context_and_missing_year() {
        // The date from an earlier sentence, or the subject, carries over.
        assert_eq!(
            run(
                "",
                "It happened on 6 March. From 08:00 to 09:00 nothing worked.",
                TUE_CET
            ),
            ["03-06T07:00/03-06T08:00/60"]
        );
        assert_eq!(
            run(
                "Outage 2 March",
                "From 08:00 to 09:00 nothing worked.",
                TUE_CET
            ),
            ["03-02T07:00/03-02T08:00/60"]
        );
        // A January mail about 30 December means last year.
        assert_eq!(
            run(
                "",
                "On 30 December from 10:00 to 12:00 no mail.",
                "Mon, 04 Jan 2027 09:00:00 +0000"
            ),
            ["12-30T10:00/12-30T12:00/120"]
        );
        // US numeric dates from a US sender are month-first.
        assert_eq!(
            run(
                "",
                "On 3/4/2026 from 9:00 to 10:00 EST.",
                "Thu, 05 Mar 2026 08:55:31 -0500"
            ),
            ["03-04T14:00/03-04T15:00/60"]
        );
    }

    #[test]
    fn start_and_end_with_their_dates_in_one_statement() {
        for body in [
            "It started 03/03/2026 10:05 GMT and ended 03/03/2026 12:35 GMT.",
            "Start: 03/03/2026 10:05 GMT, End: 03/03/2026 12:35 GMT.",
            "Beginn 03.03.2026 10:05 GMT, Ende 03.03.2026 12:35 GMT.",
        ] {
            assert_eq!(
                run("", body, TUE_CET),
                ["03-03T10:05/03-03T12:35/150"],
                "{body}"
            );
        }
    }

    #[test]
    fn start_and_end_in_words() {
        assert_eq!(
            run(
                "",
                "On 3 March the outage started at 10:05 and was resolved at 12:35 (GMT).",
                TUE_CET
            ),
            ["03-03T10:05/03-03T12:35/150"]
        );
        assert_eq!(
            run(
                "",
                "Sinds vanochtend 07:45 werkt Outlook niet. Om 10:15 was het weer opgelost.",
                TUE_CET
            ),
            ["03-10T06:45/03-10T09:15/150"]
        );
        assert_eq!(
            run(
                "",
                "Am 9. März um 9 Uhr begann der Ausfall. Um 11 Uhr lief alles wieder.",
                TUE_CET
            ),
            ["03-09T08:00/03-09T10:00/120"]
        );
    }

    #[test]
    fn two_windows_in_one_mail() {
        assert_eq!(
            run(
                "",
                "On 3 March from 9:00 to 10:00 and on 4 March from 14:00 to 15:30 mail was down.",
                TUE_CET
            ),
            ["03-03T08:00/03-03T09:00/60", "03-04T13:00/03-04T14:30/90"]
        );
    }
}
