//! Temporal tokens in one statement: dates, clock times, zones and durations.
//!
//! One pass cuts the statement into numbers and known words ([`lexicon`] holds the
//! words, one table per language); then each rule of the grammar below reads them, in
//! order of precedence, and a token is kept only where no earlier one lies. The rules
//! know no words of their own: a language is added as a table.

pub mod lexicon;

use chrono::{Datelike, Duration, NaiveDate};
use std::sync::LazyLock;

use super::fold::Folded;
use lexicon::Meaning;

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

/// Zone abbreviations, written in capitals only ("est" is a word), and their offsets.
const ZONES: [(&str, i32); 19] = [
    ("CET", 1),
    ("MEZ", 1),
    ("BST", 1),
    ("WEST", 1),
    ("CEST", 2),
    ("MESZ", 2),
    ("EET", 2),
    ("EEST", 3),
    ("UTC", 0),
    ("GMT", 0),
    ("WET", 0),
    ("EST", -5),
    ("CDT", -5),
    ("EDT", -4),
    ("CST", -6),
    ("MDT", -6),
    ("MST", -7),
    ("PDT", -7),
    ("PST", -8),
];

/// The offset in hours of a zone abbreviation (in capitals, as [`ZONES`] has them), for
/// readers of a stricter form than mail's (staff corrections).
pub fn zone_hours(abbreviation: &str) -> Option<i32> {
    ZONES
        .iter()
        .find(|(z, _)| *z == abbreviation)
        .map(|(_, hours)| *hours)
}

/// One entry of the lexicon: the words after its first, and its meaning.
struct Entry {
    rest: Vec<&'static str>,
    meaning: Meaning,
}

/// Every language's words, found by their first word: an open-addressing table keyed
/// by the word's bytes packed into one integer. Every word of every statement is looked
/// up once, and most are no lexicon word: one multiply and one compare answer that,
/// where a list of same-length words cost a byte comparison each.
struct Words {
    /// Packed first words by slot (0: empty).
    keys: Vec<u128>,
    /// Each slot's index into `entries`.
    lists: Vec<u32>,
    entries: Vec<Vec<Entry>>,
}

const LONGEST: usize = 16;

impl Words {
    /// A word of 1 to 16 bytes as one integer; no word has a zero byte, so the packing
    /// is exact.
    fn pack(word: &[u8]) -> Option<u128> {
        (!word.is_empty() && word.len() <= LONGEST).then(|| {
            word.iter()
                .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
        })
    }

    fn slot(&self, key: u128) -> usize {
        let mixed = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (self.keys.len() - 1)
    }

    fn get(&self, word: &str) -> &[Entry] {
        let Some(key) = Words::pack(word.as_bytes()) else {
            return &[];
        };
        let mut i = self.slot(key);
        loop {
            match self.keys[i] {
                0 => return &[],
                k if k == key => {
                    return self
                        .entries
                        .get(self.lists[i] as usize)
                        .map_or(&[], Vec::as_slice);
                }
                _ => i = (i + 1) & (self.keys.len() - 1),
            }
        }
    }
}

static WORDS: LazyLock<Words> = LazyLock::new(|| {
    let mut by_first: Vec<(&'static str, Vec<Entry>)> = Vec::new();
    for lexicon in lexicon::LANGUAGES {
        for &(phrase, meaning) in lexicon.words {
            let mut words = phrase.split(' ');
            let first = words.next().unwrap_or_default();
            let entry = Entry {
                rest: words.collect(),
                meaning,
            };
            match by_first.iter_mut().find(|(w, _)| *w == first) {
                Some((_, entries)) => entries.push(entry),
                None => by_first.push((first, vec![entry])),
            }
        }
    }
    // A quarter full at most, so probes stay short.
    let size = (by_first.len() * 4).next_power_of_two();
    let mut words = Words {
        keys: vec![0; size],
        lists: vec![0; size],
        entries: Vec::with_capacity(by_first.len()),
    };
    for (first, entries) in by_first {
        // The tables are ours: a word that cannot be packed is caught by every test.
        let Some(key) = Words::pack(first.as_bytes()) else {
            debug_assert!(
                false,
                "lexicon word {first:?} is longer than {LONGEST} bytes"
            );
            continue;
        };
        let mut i = words.slot(key);
        while words.keys[i] != 0 {
            i = (i + 1) & (size - 1);
        }
        words.keys[i] = key;
        words.lists[i] = words.entries.len() as u32;
        words.entries.push(entries);
    }
    words
});

/// The month number of a month name or abbreviation in any language of the lexicon.
pub fn month_number(name: &str) -> Option<u32> {
    let name = Folded::new(name.trim_end_matches('.'));
    WORDS
        .get(name.as_str())
        .iter()
        .find_map(|e| match e.meaning {
            Meaning::Month(m) if e.rest.is_empty() => Some(m),
            _ => None,
        })
}

/// Finds every temporal token in `text`; `reference` is the day the mail was written.
pub fn tokens(text: &str, reference: NaiveDate, month_first: bool) -> Vec<Token> {
    tokens_in(text, &Folded::new(text), reference, month_first)
}

/// Tokens of each statement (its text, the text folded and the day it was written on),
/// offsets relative to it.
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
            let tokens = tokens_in(text, folded, reference, month_first);
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
/// a mail; a longer mail's every statement would otherwise be read.
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

/// The lower-cased word just before byte offset `at`.
pub fn leading_word(text: &str, at: usize) -> Option<String> {
    text[..at]
        .trim_end()
        .rsplit(|c: char| !c.is_alphanumeric() && c != '\'')
        .next()
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// A run of digits or a word of the lexicon, by byte span.
struct Lexeme {
    start: usize,
    end: usize,
    /// Empty for digits.
    entries: &'static [Entry],
}

/// One statement being read: its lexemes, and the tokens found so far.
struct Scan<'t> {
    text: &'t [u8],
    /// The text folded: same offsets, lower case.
    low: &'t [u8],
    /// The same, as text.
    folded: &'t str,
    /// Runs of digits that start a word.
    numbers: Vec<(usize, usize)>,
    words: Vec<Lexeme>,
    /// [`Meaning::bit`] of every meaning the words have.
    present: u32,
    reference: NaiveDate,
    month_first: bool,
    out: Vec<Token>,
}

/// An ASCII word character, as regular expressions' `\b` sees them.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `at` is the end of a word: no word character follows.
fn ends(t: &[u8], at: usize) -> bool {
    !t.get(at).copied().is_some_and(is_word)
}

/// Whether a word or number at `at` starts a word: no word character precedes it.
fn starts(t: &[u8], at: usize) -> bool {
    at == 0 || !t.get(at - 1).copied().is_some_and(is_word)
}

/// The end of the digits from `at`.
fn digits_end(t: &[u8], at: usize) -> usize {
    at + t
        .get(at..)
        .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count())
}

/// The value of the digits in `t[from..to]`, saturating.
fn value(t: &[u8], from: usize, to: usize) -> u32 {
    t.get(from..to)
        .unwrap_or_default()
        .iter()
        .fold(0u32, |v, b| {
            v.saturating_mul(10).saturating_add(u32::from(b - b'0'))
        })
}

/// Whether `t[at]` and `t[at + 1]` are digits.
fn two_digits(t: &[u8], at: usize) -> bool {
    t.get(at..at + 2)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}

/// The offset after whitespace from `at` (Unicode whitespace, as `\s`).
fn spaces(t: &[u8], mut at: usize) -> usize {
    while let Some(&b) = t.get(at) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C => at += 1,
            // No-break space, and the other Unicode spaces of two or three bytes.
            0xC2 if t.get(at + 1) == Some(&0xA0) => at += 2,
            0xE2 if t.get(at + 1) == Some(&0x80)
                && t.get(at + 2)
                    .is_some_and(|c| (0x80..=0x8A).contains(c) || *c == 0xAF) =>
            {
                at += 3
            }
            _ => break,
        }
    }
    at
}

/// The end of the letters from `at`: ASCII letters and other alphabetic characters.
fn letters_end(s: &str, at: usize) -> usize {
    let rest = s.get(at..).unwrap_or_default();
    at + rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphabetic())))
        .map_or(rest.len(), |(i, _)| i)
}

fn tokens_in(text: &str, folded: &Folded, reference: NaiveDate, month_first: bool) -> Vec<Token> {
    let low = folded.as_str();
    let words = &*WORDS;
    let (mut numbers, mut known, mut zones) = (Vec::new(), Vec::new(), Vec::new());
    let mut present = 0;
    let bytes = low.as_bytes();
    let original = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b.is_ascii_digit() {
            let end = digits_end(bytes, at);
            if starts(bytes, at) {
                numbers.push((at, end));
            }
            at = end;
        } else if b.is_ascii_alphabetic() || b >= 0xC0 {
            // ASCII letters byte by byte; other characters only where there are some.
            let ascii_end = at
                + bytes[at..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphabetic())
                    .count();
            let mut end = if bytes.get(ascii_end).is_some_and(|b| *b >= 0x80) {
                letters_end(low, at).max(at + 1)
            } else {
                ascii_end.max(at + 1)
            };
            let mut entries = words.get(low.get(at..end).unwrap_or_default());
            // A word with an apostrophe is one only when the lexicon knows it whole
            // ("o'clock"); otherwise the apostrophe ends it ("yesterday's").
            if bytes.get(end) == Some(&b'\'') {
                let whole = letters_end(low, end + 1);
                let joined = words.get(low.get(at..whole).unwrap_or_default());
                if whole > end + 1 && !joined.is_empty() {
                    (end, entries) = (whole, joined);
                }
            }
            if !entries.is_empty() {
                present |= entries.iter().fold(0, |bits, e| bits | e.meaning.bit());
                known.push(Lexeme {
                    start: at,
                    end,
                    entries,
                });
            }
            // Zone abbreviations are capitals, a word of their own ("CET", not "cet").
            if original[at].is_ascii_uppercase()
                && end - at <= 4
                && starts(bytes, at)
                && ends(bytes, end)
            {
                if let Some((_, hours)) = ZONES
                    .iter()
                    .find(|(z, _)| z.as_bytes() == &original[at..end])
                {
                    zones.push((at, end, *hours));
                }
            }
            at = end;
            // Past the rest of a character that is no letter.
            while at < bytes.len() && !low.is_char_boundary(at) {
                at += 1;
            }
        } else {
            at += 1;
        }
    }
    if numbers.is_empty() && known.is_empty() && zones.is_empty() {
        return Vec::new();
    }
    let mut scan = Scan {
        text: original,
        low: bytes,
        folded: low,
        numbers,
        words: known,
        present,
        reference,
        month_first,
        out: Vec::new(),
    };
    scan.read(&zones);
    scan.out.sort_by_key(|t| t.start);
    scan.out
}

impl<'t> Scan<'t> {
    /// Runs every rule, in order of precedence; a rule that needs a kind of word the
    /// statement lacks is not tried.
    fn read(&mut self, zones: &[(usize, usize, i32)]) {
        use Meaning as M;
        let has = |m: &[Meaning]| m.iter().any(|m| self.present & m.bit() != 0);
        let clock_word = has(&[M::Clock, M::ClockOrHours, M::HourMark]);
        let hours = has(&[M::Hours, M::ClockOrHours, M::HourMark]);
        let (month, days, weekday) = (
            has(&[M::Month(0)]),
            has(&[M::DaysBack(0)]),
            has(&[M::Weekday(chrono::Weekday::Mon)]),
        );
        let (utc, named, zone) = (
            has(&[M::Utc]),
            has(&[M::Named(0)]),
            has(&[M::ZonePlace(chrono_tz::UTC), M::Zone(chrono_tz::UTC)]),
        );
        let (hour_mark, minutes) = (has(&[M::HourMark]), has(&[M::Minutes]));
        let (phrase, quantity, next) = (
            has(&[M::Duration(0)]),
            has(&[M::Quantity(0.0)]),
            has(&[M::NextDay]),
        );
        self.each_number(Scan::iso_date);
        self.each_number(Scan::numeric_date);
        if month {
            self.each_number(Scan::day_month);
            self.each_word(Scan::month_day);
        }
        if days {
            self.each_word(Scan::relative_day);
        }
        if weekday {
            self.each_word(Scan::weekday);
        }
        // Offsets before clock times: "UTC-05:00" is no time.
        if utc {
            self.each_word(Scan::zone_offset);
        }
        self.each_number(Scan::clock_time);
        self.each_number(Scan::four_digit_time);
        self.each_number(Scan::hour_meridiem);
        if clock_word {
            self.each_number(Scan::hour_word);
        }
        if named {
            self.each_word(Scan::named_time);
        }
        for &(start, end, hours) in zones {
            self.add(Kind::Zone(Zone::Fixed(hours * 3600)), start, end);
        }
        if zone {
            self.each_word(Scan::named_zone);
        }
        if hour_mark {
            self.each_number(Scan::hours_and_minutes);
        }
        if hours {
            self.each_number(Scan::duration);
        }
        if minutes {
            self.each_number(Scan::minutes);
        }
        if phrase {
            self.each_word(Scan::phrase_duration);
        }
        if quantity {
            self.each_word(Scan::worded_duration);
        }
        if next {
            self.each_word(Scan::next_day);
        }
    }

    /// Tries `rule` at each run of digits that starts a word; a rule returns where what
    /// it read ends, and the next try starts there.
    fn each_number(&mut self, rule: fn(&mut Scan<'t>, usize, usize) -> Option<usize>) {
        let mut from = 0;
        for k in 0..self.numbers.len() {
            let (start, end) = self.numbers[k];
            if start >= from {
                if let Some(to) = rule(self, start, end) {
                    from = to;
                }
            }
        }
    }

    /// As [`Scan::each_number`], at each known word that starts a word.
    fn each_word(&mut self, rule: fn(&mut Scan<'t>, usize) -> Option<usize>) {
        let mut from = 0;
        for k in 0..self.words.len() {
            let start = self.words[k].start;
            if start >= from && starts(self.low, start) {
                if let Some(to) = rule(self, k) {
                    from = to;
                }
            }
        }
    }

    fn add(&mut self, kind: Kind, start: usize, end: usize) {
        if !self.out.iter().any(|t| start < t.end && t.start < end) {
            self.out.push(Token { kind, start, end });
        }
    }

    /// The known word starting at `at`.
    fn word_at(&self, at: usize) -> Option<usize> {
        self.words.binary_search_by_key(&at, |w| w.start).ok()
    }

    /// The longest entry of the word at index `k` whose meaning `want` accepts, with the
    /// end of its last word; the phrase must end a word.
    fn phrase<T>(&self, k: usize, want: impl Fn(Meaning) -> Option<T>) -> Option<(T, usize)> {
        let word = self.words.get(k)?;
        let mut best: Option<(T, usize)> = None;
        for entry in word.entries {
            let Some(got) = want(entry.meaning) else {
                continue;
            };
            let mut end = word.end;
            let whole = entry.rest.iter().all(|next| {
                let at = spaces(self.low, end);
                let fits = at > end
                    && self
                        .low
                        .get(at..)
                        .is_some_and(|r| r.starts_with(next.as_bytes()));
                end = at + next.len();
                fits
            });
            if whole && ends(self.low, end) && best.as_ref().is_none_or(|(_, e)| end > *e) {
                best = Some((got, end));
            }
        }
        best
    }

    /// [`Scan::phrase`] at byte offset `at`.
    fn phrase_at<T>(&self, at: usize, want: impl Fn(Meaning) -> Option<T>) -> Option<(T, usize)> {
        self.phrase(self.word_at(at)?, want)
    }

    /// "2026-03-05", "2026-03-05T09:15:00+01:00".
    fn iso_date(&mut self, s: usize, e: usize) -> Option<usize> {
        let t = self.text;
        if e - s != 4 || t.get(e) != Some(&b'-') {
            return None;
        }
        let month_end = digits_end(t, e + 1);
        if month_end != e + 3 || t.get(month_end) != Some(&b'-') {
            return None;
        }
        let day = month_end + 1;
        if !two_digits(t, day) {
            return None;
        }
        let date_end = day + 2;
        let mut end = date_end;
        let mut time = None;
        let mut zone = None;
        if matches!(t.get(date_end), Some(b'T' | b' '))
            && two_digits(t, date_end + 1)
            && t.get(date_end + 3) == Some(&b':')
            && two_digits(t, date_end + 4)
        {
            let (h, m) = (
                value(t, date_end + 1, date_end + 3),
                value(t, date_end + 4, date_end + 6),
            );
            end = date_end + 6;
            time = Some((h, m, end));
            if t.get(end) == Some(&b':') && two_digits(t, end + 1) {
                end += 3;
            }
            if t.get(end) == Some(&b'Z') {
                zone = Some((Zone::Fixed(0), end, end + 1));
                end += 1;
            } else if let Some(&sign @ (b'+' | b'-')) = t.get(end) {
                let minutes_at = if t.get(end + 3) == Some(&b':') {
                    end + 4
                } else {
                    end + 3
                };
                if two_digits(t, end + 1) && two_digits(t, minutes_at) {
                    let sign = if sign == b'-' { -1 } else { 1 };
                    let seconds = value(t, end + 1, end + 3) as i32 * 3600
                        + value(t, minutes_at, minutes_at + 2) as i32 * 60;
                    zone = Some((Zone::Fixed(sign * seconds), end, minutes_at + 2));
                    end = minutes_at + 2;
                }
            }
        }
        let date = NaiveDate::from_ymd_opt(
            value(t, s, e) as i32,
            value(t, e + 1, month_end),
            value(t, day, date_end),
        );
        if let Some(date) = date {
            let year_given = true;
            self.add(Kind::Date { date, year_given }, s, date_end);
            if let Some((hour, minute, time_end)) = time {
                self.add(
                    Kind::Time {
                        hour,
                        minute,
                        pm: None,
                    },
                    date_end,
                    time_end,
                );
                if let Some((z, from, to)) = zone {
                    self.add(Kind::Zone(z), from, to);
                }
            }
        }
        Some(end)
    }

    /// "3.10.2026", "11/03" (slash only: "12.30" is a time), "21.10." (day first, with
    /// its closing dot). Month first when the sender's zone says so, or the second
    /// number cannot be a month.
    fn numeric_date(&mut self, s: usize, e: usize) -> Option<usize> {
        let t = self.text;
        let sep = *t.get(e).filter(|b| matches!(b, b'.' | b'/' | b'-'))?;
        if e - s > 2 {
            return None;
        }
        let second_end = digits_end(t, e + 1);
        if second_end == e + 1 || second_end - (e + 1) > 2 {
            return None;
        }
        let (a, b) = (value(t, s, e), value(t, e + 1, second_end));
        let mut year = None;
        let mut closing_dot = false;
        let end;
        let third = t.get(second_end).copied();
        let year_end = digits_end(t, second_end + 1);
        let year_len = year_end - (second_end + 1);
        if matches!(third, Some(b'.' | b'/' | b'-'))
            && (year_len == 4 || year_len == 2)
            && ends(t, year_end)
        {
            year = Some((value(t, second_end + 1, year_end), third));
            end = year_end;
        } else if third == Some(b'.') {
            closing_dot = true;
            end = second_end + 1;
        } else if ends(t, second_end) {
            end = second_end;
        } else {
            return None;
        }
        // "12.30" style times never have a third part, so two separators mean a date.
        if year.is_some_and(|(_, third)| third != Some(sep)) {
            return Some(end);
        }
        // Without a year: "11/03", or "21.10." with its closing dot; not "24/7", not a
        // time, not the start of a longer number.
        let after = t.get(end).copied();
        if year.is_none()
            && (!(sep == b'/' || (sep == b'.' && closing_dot))
                || (a, b) == (24, 7)
                || after.is_some_and(|n| n.is_ascii_digit() || n == b'/'))
        {
            return Some(end);
        }
        let (m, d) = if (self.month_first && a <= 12) || b > 12 {
            (a, b)
        } else {
            (b, a)
        };
        let on = |m: u32, d: u32| match year {
            Some((y, _)) => {
                NaiveDate::from_ymd_opt(if y < 100 { 2000 + y as i32 } else { y as i32 }, m, d)
            }
            None => infer_year(self.reference, m, d),
        };
        let mut date = on(m, d);
        // Either order could be meant ("03/09/2026"): an outage is reported after it.
        // When the order the zone suggests gives a date after the mail and the other
        // order does not, the other is meant (a US sender with a UTC Date header).
        let past = |date: &NaiveDate| *date <= self.reference + Duration::days(1);
        if a <= 12 && b <= 12 && a != b && !date.as_ref().is_some_and(past) {
            if let Some(other) = on(d, m).filter(past) {
                date = Some(other);
            }
        }
        if let Some(date) = date {
            let year_given = year.is_some();
            self.add(Kind::Date { date, year_given }, s, end);
        }
        Some(end)
    }

    /// A year after a month or day: ", 2026" or " 2026", four digits; where it ends.
    fn year_after(&self, at: usize) -> Option<(u32, usize)> {
        let comma = usize::from(self.low.get(at) == Some(&b','));
        let from = spaces(self.low, at + comma);
        let to = digits_end(self.low, from);
        let year = value(self.low, from, to);
        // "10 March, 1400-1630 UTC": four digits that cannot be a year, or that start a
        // range, are times.
        let range =
            self.low.get(to) == Some(&b'-') && self.low.get(to + 1).is_some_and(u8::is_ascii_digit);
        (from > at + comma
            && to - from == 4
            && ends(self.low, to)
            && (1970..=2100).contains(&year)
            && !range)
            .then_some((year, to))
    }

    /// Adds a date of day, month and perhaps year.
    fn day_and_month(&mut self, day: u32, month: u32, year: Option<u32>, s: usize, e: usize) {
        let date = match year {
            Some(y) => NaiveDate::from_ymd_opt(y as i32, month, day),
            None => infer_year(self.reference, month, day),
        };
        if let Some(date) = date {
            let year_given = year.is_some();
            self.add(Kind::Date { date, year_given }, s, e);
        }
    }

    /// "5. März 2026", "12 maart", "3rd of March", "5 Dec., 2026".
    fn day_month(&mut self, s: usize, e: usize) -> Option<usize> {
        if e - s > 2 {
            return None;
        }
        let l = self.low;
        let ordinal = self
            .phrase_at(e, |m| (m == Meaning::Ordinal).then_some(()))
            .map(|(_, end)| end);
        for after_day in ordinal.into_iter().chain([e]) {
            let mut at = after_day + usize::from(l.get(after_day) == Some(&b'.'));
            at = spaces(l, at);
            let of = self.phrase_at(at, |m| (m == Meaning::Of).then_some(()));
            let month_at = match of {
                Some((_, end)) if spaces(l, end) > end => [Some(spaces(l, end)), Some(at)],
                _ => [Some(at), None],
            };
            for month_at in month_at.into_iter().flatten() {
                let Some((month, mut end)) = self.phrase_at(month_at, month_of) else {
                    continue;
                };
                end += usize::from(l.get(end) == Some(&b'.'));
                let year = self.year_after(end);
                let end = year.map_or(end, |(_, to)| to);
                self.day_and_month(value(l, s, e), month, year.map(|(y, _)| y), s, end);
                return Some(end);
            }
        }
        None
    }

    /// "March 4, 2026", "Dec. 5th".
    fn month_day(&mut self, k: usize) -> Option<usize> {
        let s = self.words[k].start;
        let l = self.low;
        let (month, end) = self.phrase(k, month_of)?;
        let at = end + usize::from(l.get(end) == Some(&b'.'));
        let day_at = spaces(l, at);
        let day_end = digits_end(l, day_at);
        if day_at == at || day_end == day_at || day_end - day_at > 2 {
            return None;
        }
        let end = match self.phrase_at(day_end, |m| (m == Meaning::Ordinal).then_some(())) {
            Some((_, end)) => end,
            None if ends(l, day_end) => day_end,
            None => return None,
        };
        let year = self.year_after(end);
        let end = year.map_or(end, |(_, to)| to);
        self.day_and_month(
            value(l, day_at, day_end),
            month,
            year.map(|(y, _)| y),
            s,
            end,
        );
        Some(end)
    }

    /// "yesterday", "gisteren", "vorgestern", counted from the day of writing.
    fn relative_day(&mut self, k: usize) -> Option<usize> {
        let (back, end) = self.phrase(k, |m| match m {
            Meaning::DaysBack(n) => Some(n),
            _ => None,
        })?;
        let s = self.words[k].start;
        let date = self.reference - Duration::days(back);
        self.add(
            Kind::Date {
                date,
                year_given: false,
            },
            s,
            end,
        );
        Some(end)
    }

    /// "Friday", "last Friday": the latest such day up to today (before it with "last").
    fn weekday(&mut self, k: usize) -> Option<usize> {
        let s = self.words[k].start;
        let weekday = |m| match m {
            Meaning::Weekday(w) => Some(w),
            _ => None,
        };
        let before = self
            .phrase(k, |m| (m == Meaning::Before).then_some(()))
            .and_then(|(_, end)| {
                let at = spaces(self.low, end);
                (at > end).then(|| self.phrase_at(at, weekday)).flatten()
            });
        let (strictly_before, (wd, e)) = match before {
            Some(found) => (true, found),
            None => (false, self.phrase(k, weekday)?),
        };
        // "Friday 6 March": the explicit date that follows wins.
        let followed = self
            .out
            .iter()
            .any(|t| matches!(t.kind, Kind::Date { .. }) && t.start >= e && t.start <= e + 3);
        if !followed {
            let mut date = self.reference;
            if strictly_before {
                date -= Duration::days(1);
            }
            while date.weekday() != wd {
                date -= Duration::days(1);
            }
            self.add(
                Kind::Date {
                    date,
                    year_given: false,
                },
                s,
                e,
            );
        }
        Some(e)
    }

    /// "UTC+1", "GMT -05:00", "UTC+0530".
    fn zone_offset(&mut self, k: usize) -> Option<usize> {
        let s = self.words[k].start;
        let ((), name_end) = self.phrase(k, |m| (m == Meaning::Utc).then_some(()))?;
        let l = self.low;
        let at = spaces(l, name_end);
        let (sign, sign_len) = match l.get(at..) {
            Some([b'+', ..]) => (1, 1),
            Some([b'-', ..]) => (-1, 1),
            Some([0xE2, 0x88, 0x92, ..]) => (-1, 3),
            _ => return None,
        };
        let h_at = spaces(l, at + sign_len);
        let run = digits_end(l, h_at) - h_at;
        // The hours take two digits or one; the minutes follow, with or without a colon,
        // or the number ends there.
        for h_len in [2, 1].into_iter().filter(|&n| n <= run) {
            let h_end = h_at + h_len;
            for m_at in [h_end + 1, h_end] {
                if (m_at == h_end || l.get(h_end) == Some(&b':'))
                    && two_digits(l, m_at)
                    && ends(l, m_at + 2)
                {
                    return Some(self.offset(
                        sign,
                        value(l, h_at, h_end),
                        value(l, m_at, m_at + 2),
                        s,
                        m_at + 2,
                    ));
                }
            }
            if ends(l, h_end) {
                return Some(self.offset(sign, value(l, h_at, h_end), 0, s, h_end));
            }
        }
        None
    }

    fn offset(&mut self, sign: i32, h: u32, m: u32, s: usize, e: usize) -> usize {
        if h <= 14 && m <= 59 {
            let seconds = sign * (h as i32 * 3600 + m as i32 * 60);
            self.add(Kind::Zone(Zone::Fixed(seconds)), s, e);
        }
        e
    }

    /// An hour of a clock, as written before a separator or a clock word: one digit, or
    /// two up to 24.
    fn hour(&self, s: usize, e: usize) -> Option<u32> {
        let hour = value(self.text, s, e);
        (e - s == 1 || (e - s == 2 && hour <= 24)).then_some(hour)
    }

    /// "9:15", "9.15", "9h15", "9u15", "9:20am", "9:20 p.m.", "12.30 uur", "15:50Z".
    fn clock_time(&mut self, s: usize, e: usize) -> Option<usize> {
        let (t, l) = (self.text, self.low);
        let hour = self.hour(s, e)?;
        if !matches!(l.get(e), Some(b':' | b'.' | b'h' | b'u')) {
            return None;
        }
        let m_at = e + 1;
        if !(l.get(m_at).is_some_and(|b| (b'0'..=b'5').contains(b)) && two_digits(l, m_at)) {
            return None;
        }
        let minute = value(l, m_at, m_at + 2);
        let with_seconds = l.get(m_at + 2) == Some(&b':')
            && l.get(m_at + 3).is_some_and(|b| (b'0'..=b'5').contains(b))
            && two_digits(l, m_at + 3);
        let ends_at = [with_seconds.then_some(m_at + 5), Some(m_at + 2)];
        let (mut end, pm) = ends_at.into_iter().flatten().find_map(|at| {
            let k = spaces(l, at);
            let rest = l.get(k..).unwrap_or_default();
            let meridiem = [
                (&b"am"[..], true),
                (b"pm", true),
                (b"a.m.", false),
                (b"p.m.", false),
            ]
            .into_iter()
            .find(|(m, boundary)| rest.starts_with(m) && (!boundary || ends(l, k + m.len())));
            if let Some((m, _)) = meridiem {
                Some((k + m.len(), Some(m[0] == b'p')))
            } else if ends(l, at) {
                Some((at, None))
            } else if l.get(at) == Some(&b'z') && ends(l, at + 1) {
                Some((at + 1, None))
            } else {
                None
            }
        })?;
        // Its clock word, if any ("12.30 uur", "14:00 Uhr", "1430 hrs").
        let k = spaces(l, end);
        if let Some((_, to)) = self.phrase_at(k, |m| {
            matches!(
                m,
                Meaning::Clock | Meaning::ClockOrHours | Meaning::HourMark
            )
            .then_some(())
        }) {
            end = to;
        }
        let mut e = end;
        // "13:05Z": the Z is the zone.
        let zulu = matches!(t.get(e - 1), Some(b'Z' | b'z'));
        if zulu {
            e -= 1;
        }
        // "2.50 hours" is a duration and "1.200" a number, not clock times.
        let next = spaces(l, e);
        let unit_follows = self.word_at(next).is_some_and(|w| {
            let w = &self.words[w];
            w.end - w.start > 3
                && w.entries.iter().any(|e| {
                    matches!(
                        e.meaning,
                        Meaning::Hours | Meaning::Minutes | Meaning::ClockOrHours
                    )
                })
        });
        if unit_follows
            || (s > 0 && matches!(t.get(s - 1), Some(b',' | b'.')))
            || (matches!(t.get(e), Some(b'.' | b','))
                && t.get(e + 1).is_some_and(u8::is_ascii_digit))
            || (hour == 24 && minute > 0)
        {
            return Some(end);
        }
        self.add(Kind::Time { hour, minute, pm }, s, e);
        if zulu {
            self.add(Kind::Zone(Zone::Fixed(0)), e, e + 1);
        }
        Some(end)
    }

    /// "0830 GMT", "1430 hrs", "between 0830 and 1045": four digits as a 24-hour time.
    /// Four digits are more often a year, a count or a reference, so they are a time
    /// only with a zone or clock word after them, or as both ends of a range that a
    /// word opens ("from", "between") and of which one is written with its leading
    /// zero.
    fn four_digit_time(&mut self, s: usize, e: usize) -> Option<usize> {
        let l = self.low;
        let time = |at: usize, to: usize| {
            if to - at != 4 {
                return None;
            }
            let (hour, minute) = (value(l, at, at + 2), value(l, at + 2, at + 4));
            (hour < 24 && minute < 60).then_some(Kind::Time {
                hour,
                minute,
                pm: None,
            })
        };
        let first = time(s, e)?;
        // Part of a larger number ("1.2345", "12:3456") or of a reference ("SR-0830").
        if s > 0 && matches!(l.get(s - 1), Some(b'.' | b',' | b':' | b'-' | b'/' | b'#')) {
            return None;
        }
        if let Some((s2, e2)) = self.range_end(e) {
            if let Some(second) = time(s2, e2) {
                // Unmarked, "from 0915 to 1120" is a range of times, "ticket
                // 0830-1045" none.
                let opens = leading_word(self.folded, s).is_some_and(|w| {
                    [
                        "from", "between", "van", "vanaf", "tussen", "von", "zwischen", "ab",
                    ]
                    .contains(&w.as_str())
                });
                let mark = self.time_mark(e2);
                if (opens && (l[s] == b'0' || l[s2] == b'0')) || mark.is_some() {
                    let end = mark.unwrap_or(e2);
                    self.add_time(first, s, e);
                    self.add_time(second, s2, e2);
                    return Some(end);
                }
            }
            return Some(e2);
        }
        let mark = self.time_mark(e)?;
        self.add_time(first, s, e);
        Some(mark)
    }

    /// Adds a time, and the zone of a "Z" written straight after it ("0745Z").
    fn add_time(&mut self, time: Kind, s: usize, e: usize) {
        self.add(time, s, e);
        if self.low.get(e) == Some(&b'z') && ends(self.low, e + 1) {
            self.add(Kind::Zone(Zone::Fixed(0)), e, e + 1);
        }
    }

    /// After a time ending at `at`, the range's other end: a dash or a word for "to",
    /// then a number, as (start, end).
    fn range_end(&self, at: usize) -> Option<(usize, usize)> {
        let l = self.low;
        let k = spaces(l, at);
        let after = match l.get(k..)? {
            [b'-', ..] => k + 1,
            // En and em dash.
            [0xE2, 0x80, 0x93 | 0x94, ..] => k + 3,
            rest => {
                let word = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
                let to = [
                    &b"to"[..],
                    b"and",
                    b"until",
                    b"till",
                    b"til",
                    b"through",
                    b"tot",
                    b"en",
                    b"bis",
                    b"und",
                ];
                if !to.contains(&&rest[..word]) {
                    return None;
                }
                k + word
            }
        };
        let s2 = spaces(l, after);
        let e2 = digits_end(l, s2);
        (e2 > s2).then_some((s2, e2))
    }

    /// Where a zone or a clock word right after `at` ends: "GMT", "Z", "hrs", "uur".
    fn time_mark(&self, at: usize) -> Option<usize> {
        let (t, l) = (self.text, self.low);
        if l.get(at) == Some(&b'z') && ends(l, at + 1) {
            return Some(at + 1);
        }
        let k = spaces(l, at);
        let zone = ZONES
            .iter()
            .find(|(z, _)| t.get(k..k + z.len()) == Some(z.as_bytes()) && ends(t, k + z.len()));
        if let Some((z, _)) = zone {
            return Some(k + z.len());
        }
        if l.get(k..).is_some_and(|r| r.starts_with(b"hrs")) && ends(l, k + 3) {
            return Some(k + 3);
        }
        self.phrase_at(k, |m| {
            matches!(
                m,
                Meaning::Clock | Meaning::ClockOrHours | Meaning::HourMark | Meaning::Utc
            )
            .then_some(())
        })
        .map(|((), end)| end)
    }

    /// "3pm", "11 a.m.".
    fn hour_meridiem(&mut self, s: usize, e: usize) -> Option<usize> {
        let l = self.low;
        let hour = value(l, s, e);
        let ok = match e - s {
            1 => hour >= 1,
            2 => (1..=12).contains(&hour),
            _ => false,
        };
        if !ok {
            return None;
        }
        let k = spaces(l, e);
        let pm = match l.get(k) {
            Some(b'a') => false,
            Some(b'p') => true,
            _ => return None,
        };
        let mut at = k + 1;
        at += usize::from(l.get(at) == Some(&b'.'));
        if l.get(at) != Some(&b'm') || !ends(l, at + 1) {
            return None;
        }
        at += 1;
        at += usize::from(l.get(at) == Some(&b'.'));
        self.add(
            Kind::Time {
                hour,
                minute: 0,
                pm: Some(pm),
            },
            s,
            at,
        );
        Some(at)
    }

    /// "13 Uhr", "3 o'clock", "om 3 uur" (without a leading word "3 uur" is hours).
    fn hour_word(&mut self, s: usize, e: usize) -> Option<usize> {
        let hour = self.hour(s, e)?;
        let k = spaces(self.low, e);
        let (needs_lead, end) = self.phrase_at(k, |m| match m {
            Meaning::Clock => Some(false),
            Meaning::ClockOrHours | Meaning::HourMark => Some(true),
            _ => None,
        })?;
        if needs_lead {
            let mut lead = leading_word(self.folded, s).unwrap_or_default();
            // "up to 3h", "bis zu 3h": a longest duration, not a time.
            let before = self.folded[..s].trim_end();
            let up_to = before
                .strip_suffix("to")
                .and_then(|b| leading_word(b, b.len()))
                .is_some_and(|w| w == "up");
            if lead == "to" && up_to {
                return Some(end);
            }
            // "tot ongeveer 10 uur": a word that rounds the hour may stand between.
            if ["ongeveer", "circa", "ca", "zo'n", "pakweg", "ruwweg"].contains(&lead.as_str()) {
                let before = self.folded[..s].trim_end();
                // The rounding word's start, on a character boundary.
                let at = before
                    .char_indices()
                    .rev()
                    .find(|(_, c)| !c.is_alphanumeric() && *c != '\'')
                    .map_or(0, |(i, c)| i + c.len_utf8());
                lead = leading_word(self.folded, at).unwrap_or_default();
            }
            let leads = WORDS
                .get(&lead)
                .iter()
                .any(|e| e.meaning == Meaning::ClockLead && e.rest.is_empty());
            if !leads {
                return Some(end);
            }
        }
        self.add(
            Kind::Time {
                hour,
                minute: 0,
                pm: None,
            },
            s,
            end,
        );
        Some(end)
    }

    /// "noon", "midnight", "Mitternacht".
    fn named_time(&mut self, k: usize) -> Option<usize> {
        let (hour, end) = self.phrase(k, |m| match m {
            Meaning::Named(h) => Some(h),
            _ => None,
        })?;
        let s = self.words[k].start;
        self.add(
            Kind::Time {
                hour,
                minute: 0,
                pm: None,
            },
            s,
            end,
        );
        Some(end)
    }

    /// "Dutch time", "UK time", "Pacific".
    fn named_zone(&mut self, k: usize) -> Option<usize> {
        let s = self.words[k].start;
        let place = self
            .phrase(k, |m| match m {
                Meaning::ZonePlace(tz) => Some(tz),
                _ => None,
            })
            .and_then(|(tz, end)| {
                let at = spaces(self.low, end);
                let time = self.phrase_at(at, |m| (m == Meaning::ZoneTime).then_some(()));
                (at > end).then_some(time).flatten().map(|(_, to)| (tz, to))
            });
        let (tz, end) = match place {
            Some(found) => found,
            None => self.phrase(k, |m| match m {
                Meaning::Zone(tz) => Some(tz),
                _ => None,
            })?,
        };
        self.add(Kind::Zone(Zone::Named(tz)), s, end);
        Some(end)
    }

    /// A unit of minutes at `at` (after spaces), with the end of the word.
    fn minute_unit(&self, at: usize, short_too: bool) -> Option<usize> {
        self.phrase_at(spaces(self.low, at), |m| {
            (m == Meaning::Minutes || (short_too && m == Meaning::MinuteMark)).then_some(())
        })
        .map(|(_, end)| end)
    }

    /// "2h30m", "2 h 30 min".
    fn hours_and_minutes(&mut self, s: usize, e: usize) -> Option<usize> {
        let l = self.low;
        if e - s > 3 {
            return None;
        }
        let h_at = spaces(l, e);
        if !self.word_at(h_at).is_some_and(|w| {
            let w = &self.words[w];
            w.end == h_at + 1 && w.entries.iter().any(|e| e.meaning == Meaning::HourMark)
        }) {
            return None;
        }
        let m_at = spaces(l, h_at + 1);
        let m_end = digits_end(l, m_at);
        if m_end == m_at || m_end - m_at > 2 {
            return None;
        }
        let end = self.minute_unit(m_end, true)?;
        let minutes = i64::from(value(l, s, e)) * 60 + i64::from(value(l, m_at, m_end));
        self.add(Kind::Duration(minutes), s, end);
        Some(end)
    }

    /// "2 hours", "2,5 uur", "3 Stunden", "3 hours and 20 minutes".
    fn duration(&mut self, s: usize, e: usize) -> Option<usize> {
        let l = self.low;
        if e - s > 3 {
            return None;
        }
        let mut number_end = e;
        if matches!(l.get(e), Some(b'.' | b',')) {
            let frac_end = digits_end(l, e + 1);
            if (1..=2).contains(&(frac_end - (e + 1))) {
                number_end = frac_end;
            }
        }
        let (short, unit_end) = self.phrase_at(spaces(l, number_end), |m| match m {
            Meaning::Hours | Meaning::ClockOrHours => Some(false),
            Meaning::HourMark => Some(true),
            _ => None,
        })?;
        let hours: f64 = std::str::from_utf8(&l[s..number_end])
            .unwrap_or_default()
            .replace(',', ".")
            .parse()
            .unwrap_or(0.0);
        let unit_len = unit_end - spaces(l, number_end);
        let dot = unit_len <= 3 && l.get(unit_end) == Some(&b'.');
        let (minutes, end) = self.and_minutes(unit_end, dot);
        // "300 h" is no outage length anyone writes; a one-letter unit is only trusted small.
        if !(short && hours > 48.0) {
            self.add(
                Kind::Duration((hours * 60.0).round() as i64 + minutes),
                s,
                end,
            );
        }
        Some(end)
    }

    /// The minutes after hours that end at `unit_end` ("and 20 minutes", ", 20 min",
    /// after an abbreviation's `dot` too) and where they end; none: (0, `unit_end`).
    fn and_minutes(&self, unit_end: usize, dot: bool) -> (i64, usize) {
        let l = self.low;
        let at = spaces(l, unit_end + usize::from(dot));
        let joined = if l.get(at) == Some(&b',') {
            Some(at + 1)
        } else {
            self.phrase_at(at, |m| (m == Meaning::And).then_some(()))
                .map(|(_, to)| to)
        };
        for from in joined.into_iter().chain([at]) {
            let m_at = spaces(l, from);
            let m_end = digits_end(l, m_at);
            if m_end == m_at || m_end - m_at > 2 {
                continue;
            }
            if let Some(to) = self.minute_unit(m_end, true) {
                return (i64::from(value(l, m_at, m_end)), to);
            }
        }
        (0, unit_end)
    }

    /// "150 minutes", "90 Minuten", "20 min.".
    fn minutes(&mut self, s: usize, e: usize) -> Option<usize> {
        let l = self.low;
        if e - s > 4 {
            return None;
        }
        let mut end = self.minute_unit(e, false)?;
        // "20 min." at the end: the dot is the abbreviation's.
        let short = self
            .word_at(spaces(l, e))
            .is_some_and(|w| self.words[w].end - self.words[w].start <= 3);
        if short
            && l.get(end) == Some(&b'.')
            && (end + 1 == l.len() || l.get(end + 1).copied().is_some_and(is_word))
        {
            end += 1;
        }
        self.add(Kind::Duration(i64::from(value(l, s, e))), s, end);
        Some(end)
    }

    /// "an hour and a half".
    fn phrase_duration(&mut self, k: usize) -> Option<usize> {
        let (minutes, end) = self.phrase(k, |m| match m {
            Meaning::Duration(n) => Some(n),
            _ => None,
        })?;
        let s = self.words[k].start;
        self.add(Kind::Duration(minutes), s, end);
        Some(end)
    }

    /// "two hours", "half an hour", "anderhalf uur", "zwei Stunden".
    fn worded_duration(&mut self, k: usize) -> Option<usize> {
        let (count, q_end) = self.phrase(k, |m| match m {
            Meaning::Quantity(q) => Some(q),
            _ => None,
        })?;
        let at = spaces(self.low, q_end);
        if at == q_end {
            return None;
        }
        let (per, end) = self.phrase_at(at, |m| match m {
            Meaning::Hours | Meaning::ClockOrHours => Some(60.0),
            Meaning::Minutes => Some(1.0),
            _ => None,
        })?;
        // Units in full: "a min" or "a std" is how people talk, not an outage's length
        // ("uur" is the full Dutch word).
        let unit = self.word_at(at).map(|w| &self.words[w]);
        if unit.is_some_and(|w| {
            w.end - w.start <= 3 && !w.entries.iter().any(|e| e.meaning == Meaning::ClockOrHours)
        }) {
            return None;
        }
        // "an hour and 40 minutes", "eine Stunde und 20 Minuten".
        let (minutes, end) = match per == 60.0 {
            true => self.and_minutes(end, false),
            false => (0, end),
        };
        let s = self.words[k].start;
        if minutes > 0 {
            // The minutes were read alone before (their rule runs first): now they are
            // part of this length.
            self.out.retain(|t| !(s <= t.start && t.end <= end));
        }
        self.add(
            Kind::Duration((count * per).round() as i64 + minutes),
            s,
            end,
        );
        Some(end)
    }

    /// "the next morning", "de dag erna", "am nächsten Tag".
    fn next_day(&mut self, k: usize) -> Option<usize> {
        let ((), end) = self.phrase(k, |m| (m == Meaning::NextDay).then_some(()))?;
        let s = self.words[k].start;
        self.add(Kind::NextDay, s, end);
        Some(end)
    }
}

fn month_of(m: Meaning) -> Option<u32> {
    match m {
        Meaning::Month(n) => Some(n),
        _ => None,
    }
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
    fn four_digits_are_a_time_only_when_marked_or_a_range_says_so() {
        let times = |text: &str| -> Vec<(u32, u32)> {
            kinds(text)
                .into_iter()
                .filter_map(|k| match k {
                    Kind::Time { hour, minute, .. } => Some((hour, minute)),
                    _ => None,
                })
                .collect()
        };
        // Phrasings of my own.
        assert_eq!(times("down between 0830 and 1045"), [(8, 30), (10, 45)]);
        assert_eq!(times("from 0915 to 1120"), [(9, 15), (11, 20)]);
        assert_eq!(times("1400-1630 GMT"), [(14, 0), (16, 30)]);
        assert_eq!(times("1430 hrs until 1615 hrs"), [(14, 30), (16, 15)]);
        assert_eq!(times("began 0745Z"), [(7, 45)]);
        assert_eq!(times("van 0900 tot 1130 uur"), [(9, 0), (11, 30)]);
        // After a date, four digits that start a range or cannot be a year are times.
        assert_eq!(times("on 10 March, 1400-1630 UTC"), [(14, 0), (16, 30)]);
        assert_eq!(times("am 10. März 1400 bis 1630 Uhr"), [(14, 0), (16, 30)]);
        // Years, counts and references are no times.
        assert!(times("between 2025 and 2026").is_empty());
        assert!(times("from 1200 to 1500 users").is_empty());
        assert!(times("ticket 0830-1045 is open").is_empty());
        assert!(times("between 0860 and 0990").is_empty());
        assert!(times("order 1.2345 GMT").is_empty());
    }

    #[test]
    fn minutes_after_an_hour_in_words_are_part_of_it() {
        // Phrasings of my own.
        assert_eq!(kinds("an hour and 40 minutes"), vec![Kind::Duration(100)]);
        assert_eq!(
            kinds("eine Stunde und 20 Minuten"),
            vec![Kind::Duration(80)]
        );
        assert_eq!(kinds("een uur en 5 minuten"), vec![Kind::Duration(65)]);
        assert_eq!(kinds("two hours, 15 min"), vec![Kind::Duration(135)]);
    }

    #[test]
    fn a_rounding_word_may_stand_between_lead_and_hour() {
        let hours = |text: &str| -> Vec<u32> {
            kinds(text)
                .into_iter()
                .filter_map(|k| match k {
                    Kind::Time { hour, .. } => Some(hour),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(hours("tot ongeveer 10 uur"), [10]);
        assert_eq!(hours("vanaf circa 8 uur"), [8]);
        // Without the lead, a number before "uur" stays a length.
        assert!(hours("ongeveer 10 uur").is_empty());
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
    fn an_hour_with_its_mark_is_a_time_after_a_word_that_leads_a_time() {
        let at = |hour| Kind::Time {
            hour,
            minute: 0,
            pm: None,
        };
        assert_eq!(kinds("since 7h"), vec![at(7)]);
        assert_eq!(kinds("tussen 6u en 8u"), vec![at(6), at(8)]);
        assert_eq!(kinds("ab 6h bis 8h"), vec![at(6), at(8)]);
        assert_eq!(kinds("lasted 7h"), vec![Kind::Duration(420)]);
        assert_eq!(kinds("for up to 4h"), vec![Kind::Duration(240)]);
        assert_eq!(kinds("bis zu 4h"), vec![Kind::Duration(240)]);
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
        // The other North American regions, alone and with "time".
        assert_eq!(
            kinds("by 10 a.m. Mountain")[1],
            Kind::Zone(Zone::Named(chrono_tz::America::Denver))
        );
        assert_eq!(
            kinds("Atlantic time"),
            vec![Kind::Zone(Zone::Named(chrono_tz::America::Halifax))]
        );
        assert_eq!(
            kinds("Central European time"),
            vec![Kind::Zone(Zone::Named(chrono_tz::Europe::Amsterdam))]
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

    #[test]
    fn every_month_and_weekday_of_every_table_is_read() {
        for lexicon in lexicon::LANGUAGES {
            for &(word, meaning) in lexicon.words {
                let expected = match meaning {
                    Meaning::Month(m) => {
                        let date = infer_year(d(3, 10), m, 5).unwrap_or_default();
                        assert_eq!(month_number(word), Some(m), "{word}");
                        vec![Kind::Date {
                            date,
                            year_given: false,
                        }]
                    }
                    Meaning::DaysBack(n) => vec![Kind::Date {
                        date: d(3, 10) - Duration::days(n),
                        year_given: false,
                    }],
                    _ => continue,
                };
                let text = match meaning {
                    Meaning::Month(_) => format!("on 5 {word}, then"),
                    _ => format!("{word}, then"),
                };
                assert_eq!(kinds(&text), expected, "{} {text:?}", lexicon.language);
                // Written with capitals, as at the start of a sentence.
                let capital = text[..1].to_uppercase() + &text[1..];
                assert_eq!(kinds(&capital), expected, "{capital:?}");
            }
        }
    }

    #[test]
    fn a_word_ends_at_an_apostrophe_unless_the_table_has_it_whole() {
        // "yesterday's" is yesterday; "o'clock" is one word of the table.
        assert_eq!(
            kinds("since yesterday's update"),
            vec![Kind::Date {
                date: d(3, 9),
                year_given: false
            }]
        );
        assert_eq!(
            kinds("from 4 o'clock"),
            vec![Kind::Time {
                hour: 4,
                minute: 0,
                pm: None
            }]
        );
    }

    #[test]
    fn ordinals_of_any_language_after_a_month() {
        assert_eq!(
            kinds("sinds maart 3e"),
            vec![Kind::Date {
                date: d(3, 3),
                year_given: false
            }]
        );
        assert_eq!(
            kinds("Feb. 2nd, 2026"),
            vec![Kind::Date {
                date: d(2, 2),
                year_given: true
            }]
        );
    }

    #[test]
    fn the_word_that_makes_uur_a_clock_time_is_read_past_wide_characters() {
        // 24 bytes before the hour falls inside a dash: the leading word still counts.
        let text = format!("{} om 3 uur", "—".repeat(9));
        let time = Kind::Time {
            hour: 3,
            minute: 0,
            pm: None,
        };
        assert_eq!(kinds(&text), vec![time]);
        assert_eq!(
            kinds(&format!("{} 3 uur", "—".repeat(9))),
            vec![Kind::Duration(180)]
        );
    }

    #[test]
    fn hours_and_minutes_in_every_spelling() {
        assert_eq!(kinds("down 1h 5 minutes"), vec![Kind::Duration(65)]);
        assert_eq!(kinds("1 u 45 min"), vec![Kind::Duration(105)]);
        assert_eq!(kinds("2 Std. und 10 Min."), vec![Kind::Duration(130)]);
        // A short unit is trusted only for a small number.
        assert_eq!(kinds("after 300 h"), vec![]);
        assert_eq!(kinds("a min or two"), vec![]);
    }
}
