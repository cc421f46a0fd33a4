//! Clock times and durations said in words, rewritten in digits before temporal tokens
//! are read: "kwart over negen" is 9:15, "halb elf" 10:30, "two and a half hours" 150
//! min, "knapp drei Stunden" "knapp 3 Stunden".
//!
//! Table-driven: a language is a row of [`GRAMMARS`] (its clock phrases, its "and a
//! half" forms and its units); the numbers themselves are [`super::numbers`]'s words.
//! Adding a language is adding a row. Only phrases whose meaning is fixed are rewritten:
//! a bare "ten to eleven" is as likely a range as 10:50, so English minute phrases need
//! "past", and a number before "uur"/"Uhr" keeps its unit (clock or duration is decided
//! later, by the words around it).

use std::borrow::Cow;

use super::fold::{Folded, FoldedRegex};
use super::numbers;
use crate::mail::pattern::Pattern;

/// A clock phrase: `words` then an hour H gives H:00 plus `minutes` (negative: before H).
struct Clock {
    words: &'static [&'static str],
    minutes: i32,
}

const fn clock(words: &'static [&'static str], minutes: i32) -> Clock {
    Clock { words, minutes }
}

/// One language's spoken time.
struct Grammar {
    lang: &'static str,
    /// Longest phrases first: the first that fits is taken.
    clocks: &'static [Clock],
    /// Words after a clock time that make it afternoon or evening.
    pm_after: &'static [&'static [&'static str]],
    /// Words after a bare hour that make it morning ("8 in the morning").
    am_after: &'static [&'static [&'static str]],
    /// A part of the day said before a bare hour, and whether it is after noon: "'s
    /// middags 2 uur", "nachmittags um 2".
    daypart_before: &'static [(&'static [&'static str], bool)],
    /// Words that may stand between such a part of the day and its hour ("om", "um").
    hour_leads: &'static [&'static str],
    /// Clock phrases that are also said of ranges and counts ("from ten to eleven"),
    /// read as a clock time only after one of `clock_leads` ("at ten to three").
    led_clocks: &'static [Clock],
    clock_leads: &'static [&'static str],
    /// A fraction of an hour written after a number as separate words, and its
    /// minutes: "two and a half hours", "two and a quarter hours".
    and_a_fraction: &'static [(&'static [&'static str], u64)],
    /// A fraction of an hour written onto a number, and its minutes: "tweeënhalf",
    /// "zweieinhalb", "eineinviertel", "eindreiviertel".
    fraction_suffixes: &'static [(&'static str, u64)],
    /// Minutes added by words after "N hours": "and a quarter", "en een kwartier".
    after_hours: &'static [(&'static [&'static str], u64)],
    /// Phrases that are a length of time by themselves, and their minutes, longest
    /// first: "half an hour", "een half uur", "eine Dreiviertelstunde".
    fixed: &'static [(&'static [&'static str], u64)],
    /// Units of a quarter of an hour after a number: "drie kwartier", "zwei
    /// Viertelstunden".
    quarter_units: &'static [&'static str],
    /// Weekdays, and the parts of the day written onto them ("vrijdagmiddag",
    /// "Freitagnachmittag") with the words they are split into: the weekday then names
    /// the day and the part its hours.
    weekdays: &'static [&'static str],
    day_parts: &'static [(&'static str, &'static str)],
    /// Words that are an hour of the clock by themselves ("om vijven", "na elven"),
    /// read after one of `hour_form_leads` or in a clock phrase ("kwart over elven").
    hour_forms: &'static [(&'static str, u64)],
    hour_form_leads: &'static [&'static str],
}

/// Units that make a number a duration, in any language.
const HOUR_UNITS: &[&str] = &[
    "hour", "hours", "hrs", "uur", "uren", "stunde", "stunden", "std",
];
const MINUTE_UNITS: &[&str] = &["minute", "minutes", "mins", "min", "minuten", "minuut"];
/// The first words of parts of the day that name the day too ("this morning",
/// "gisteravond"): kept in the text after their hour is rewritten ([`names_day`]).
const DAY_NAMING: &[&str] = &[
    "this",
    "yesterday",
    "vanochtend",
    "vanmorgen",
    "vanmiddag",
    "vanavond",
    "gisterochtend",
    "gistermorgen",
    "gistermiddag",
    "gisteravond",
];

/// Whether a part of the day after an hour names the day too, and so stays in the text.
fn names_day(part: &[&str]) -> bool {
    part.first().is_some_and(|w| DAY_NAMING.contains(w))
}

/// Words that make a number an hour of the clock.
const CLOCK_UNITS: &[&[&str]] = &[&["uhr"], &["o", "clock"]];

const GRAMMARS: &[Grammar] = &[
    Grammar {
        lang: "en",
        clocks: &[
            clock(&["quarter", "past"], 15),
            clock(&["quarter", "after"], 15),
            clock(&["a", "quarter", "past"], 15),
            clock(&["a", "quarter", "after"], 15),
            clock(&["half", "past"], 30),
            clock(&["quarter", "to"], -15),
            clock(&["a", "quarter", "to"], -15),
            clock(&["twenty", "five", "past"], 25),
            clock(&["twenty-five", "past"], 25),
            clock(&["twenty", "past"], 20),
            clock(&["ten", "past"], 10),
            clock(&["five", "past"], 5),
            // "twenty to eleven" is 10:40: no count or range is said so ("ten to eleven"
            // and "five to ten" are: see `led_clocks`).
            clock(&["twenty", "five", "to"], -25),
            clock(&["twenty-five", "to"], -25),
            clock(&["twenty", "to"], -20),
            // British: "half nine" is 9:30.
            clock(&["half"], 30),
        ],
        pm_after: &[
            &["in", "the", "afternoon"],
            &["in", "the", "evening"],
            &["at", "night"],
            &["this", "afternoon"],
            &["this", "evening"],
            &["yesterday", "afternoon"],
            &["yesterday", "evening"],
            &["pm"],
        ],
        am_after: &[
            &["in", "the", "morning"],
            &["this", "morning"],
            &["yesterday", "morning"],
        ],
        daypart_before: &[],
        hour_leads: &[],
        led_clocks: &[clock(&["ten", "to"], -10), clock(&["five", "to"], -5)],
        clock_leads: &[
            "at",
            "about",
            "around",
            "approximately",
            "roughly",
            "circa",
            "by",
            "until",
            "till",
            "til",
            "since",
            "before",
        ],
        and_a_fraction: &[
            (&["and", "a", "half"], 30),
            (&["and", "a", "quarter"], 15),
            (&["and", "three", "quarters"], 45),
            (&["and", "three", "quarter"], 45),
        ],
        fraction_suffixes: &[],
        after_hours: &[
            (&["and", "a", "half"], 30),
            (&["and", "a", "quarter"], 15),
            (&["and", "three", "quarters"], 45),
        ],
        fixed: &[
            (&["an", "hour", "and", "three", "quarters"], 105),
            (&["an", "hour", "and", "a", "quarter"], 75),
            (&["an", "hour", "and", "a", "half"], 90),
            (&["three", "quarters", "of", "an", "hour"], 45),
            (&["a", "quarter", "of", "an", "hour"], 15),
            (&["quarter", "of", "an", "hour"], 15),
            (&["half", "an", "hour"], 30),
            (&["a", "half", "hour"], 30),
        ],
        quarter_units: &[],
        // English writes "Friday afternoon" apart.
        weekdays: &[],
        day_parts: &[],
        hour_forms: &[],
        hour_form_leads: &[],
    },
    Grammar {
        lang: "nl",
        clocks: &[
            clock(&["kwart", "over"], 15),
            clock(&["kwart", "voor"], -15),
            clock(&["tien", "over", "half"], -20),
            clock(&["vijf", "over", "half"], -25),
            clock(&["tien", "voor", "half"], -40),
            clock(&["vijf", "voor", "half"], -35),
            clock(&["tien", "over"], 10),
            clock(&["vijf", "over"], 5),
            clock(&["tien", "voor"], -10),
            clock(&["vijf", "voor"], -5),
            // "half tien" is 9:30: half an hour before ten.
            clock(&["half"], -30),
        ],
        pm_after: &[
            &["s", "middags"],
            &["s", "avonds"],
            &["in", "de", "middag"],
            &["in", "de", "avond"],
            &["vanmiddag"],
            &["vanavond"],
            &["gistermiddag"],
            &["gisteravond"],
            &["pm"],
        ],
        am_after: &[
            &["s", "ochtends"],
            &["s", "morgens"],
            &["in", "de", "ochtend"],
            &["vanochtend"],
            &["vanmorgen"],
            &["gisterochtend"],
            &["gistermorgen"],
        ],
        daypart_before: &[
            (&["s", "ochtends"], false),
            (&["s", "morgens"], false),
            (&["s", "middags"], true),
            (&["s", "avonds"], true),
        ],
        hour_leads: &["om", "rond", "tegen", "vanaf"],
        led_clocks: &[],
        clock_leads: &[],
        and_a_fraction: &[
            (&["en", "een", "half"], 30),
            (&["en", "half"], 30),
            (&["en", "een", "kwart"], 15),
            (&["en", "driekwart"], 45),
        ],
        fraction_suffixes: &[("ënhalf", 30), ("enhalf", 30)],
        after_hours: &[
            (&["en", "een", "kwartier"], 15),
            (&["en", "drie", "kwartier"], 45),
            (&["en", "een", "half"], 30),
        ],
        fixed: &[
            (&["een", "half", "uur"], 30),
            (&["half", "uur"], 30),
            (&["driekwartier"], 45),
        ],
        quarter_units: &["kwartier"],
        weekdays: &[
            "maandag",
            "dinsdag",
            "woensdag",
            "donderdag",
            "vrijdag",
            "zaterdag",
            "zondag",
        ],
        day_parts: &[
            ("ochtend", "'s ochtends"),
            ("morgen", "'s morgens"),
            ("middag", "'s middags"),
            ("avond", "'s avonds"),
        ],
        hour_forms: &[
            ("tweeën", 2),
            ("drieën", 3),
            ("vieren", 4),
            ("vijven", 5),
            ("zessen", 6),
            ("zevenen", 7),
            ("achten", 8),
            ("negenen", 9),
            ("tienen", 10),
            ("elven", 11),
            ("twaalven", 12),
        ],
        hour_form_leads: &[
            "om",
            "na",
            "voor",
            "tegen",
            "tot",
            "van",
            "vanaf",
            "tussen",
            "en",
            "rond",
            "omstreeks",
            "sinds",
            "over",
        ],
    },
    Grammar {
        lang: "de",
        clocks: &[
            clock(&["viertel", "nach"], 15),
            clock(&["viertel", "vor"], -15),
            clock(&["drei", "viertel"], -15),
            clock(&["dreiviertel"], -15),
            clock(&["zehn", "nach", "halb"], -20),
            clock(&["fünf", "nach", "halb"], -25),
            clock(&["zehn", "vor", "halb"], -40),
            clock(&["fünf", "vor", "halb"], -35),
            clock(&["zwanzig", "nach"], 20),
            clock(&["zwanzig", "vor"], -20),
            clock(&["zehn", "nach"], 10),
            clock(&["fünf", "nach"], 5),
            clock(&["zehn", "vor"], -10),
            clock(&["fünf", "vor"], -5),
            // "halb elf" is 10:30; south German "viertel elf" is 10:15.
            clock(&["halb"], -30),
            clock(&["viertel"], -45),
        ],
        pm_after: &[
            &["nachmittags"],
            &["abends"],
            &["am", "nachmittag"],
            &["am", "abend"],
            &["pm"],
        ],
        am_after: &[&["morgens"], &["früh"], &["vormittags"]],
        daypart_before: &[
            (&["morgens"], false),
            (&["früh"], false),
            (&["vormittags"], false),
            (&["nachmittags"], true),
            (&["abends"], true),
        ],
        hour_leads: &["um", "gegen", "ab"],
        led_clocks: &[],
        clock_leads: &[],
        and_a_fraction: &[
            (&["und", "eine", "halbe"], 30),
            (&["und", "einhalb"], 30),
            (&["und", "ein", "viertel"], 15),
            (&["und", "dreiviertel"], 45),
        ],
        fraction_suffixes: &[("einhalb", 30), ("dreiviertel", 45), ("einviertel", 15)],
        after_hours: &[
            (&["und", "eine", "viertelstunde"], 15),
            (&["und", "eine", "dreiviertelstunde"], 45),
            (&["und", "eine", "halbe"], 30),
        ],
        fixed: &[
            (&["eine", "dreiviertelstunde"], 45),
            (&["dreiviertelstunde"], 45),
            (&["eine", "halbe", "stunde"], 30),
            (&["halbe", "stunde"], 30),
        ],
        quarter_units: &["viertelstunde", "viertelstunden"],
        weekdays: &[
            "montag",
            "dienstag",
            "mittwoch",
            "donnerstag",
            "freitag",
            "samstag",
            "sonnabend",
            "sonntag",
        ],
        day_parts: &[
            ("morgen", "morgens"),
            ("vormittag", "vormittags"),
            ("nachmittag", "nachmittags"),
            ("abend", "abends"),
        ],
        hour_forms: &[],
        hour_form_leads: &[],
    },
];

/// A word of the text: where it is and its lower-case form.
struct Word<'a> {
    start: usize,
    end: usize,
    lower: Cow<'a, str>,
}

/// Words: runs of letters and digits; an apostrophe or hyphen splits ("'s middags",
/// "twenty-five").
fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            let w = &text[s..i];
            let lower = if w.chars().any(char::is_uppercase) {
                Cow::Owned(w.to_lowercase())
            } else {
                Cow::Borrowed(w)
            };
            out.push(Word {
                start: s,
                end: i,
                lower,
            });
        }
    }
    out
}

/// The number that words[at..] begin with, and how many words it takes: digits, one
/// number word, or tens and units apart ("twenty five").
fn number_at(words: &[Word<'_>], at: usize) -> Option<(u64, usize)> {
    let w = &words.get(at)?.lower;
    if w.bytes().all(|b| b.is_ascii_digit()) {
        return w.parse().ok().map(|n| (n, 1));
    }
    let n = numbers::word_value(w)?;
    if n >= 20 && n % 10 == 0 && n < 100 {
        if let Some(unit) = words
            .get(at + 1)
            .and_then(|u| numbers::word_value(&u.lower))
        {
            if unit < 10 && unit > 0 {
                return Some((n + unit, 2));
            }
        }
    }
    Some((n, 1))
}

fn phrase_at(words: &[Word<'_>], at: usize, phrase: &[&str]) -> bool {
    phrase
        .iter()
        .enumerate()
        .all(|(k, p)| words.get(at + k).is_some_and(|w| w.lower == *p))
}

/// One rewrite: the bytes it covers and what goes there.
struct Edit {
    start: usize,
    end: usize,
    with: String,
}

/// A clock phrase read: minutes past midnight, whether the afternoon is named after it,
/// and the words it took.
struct ClockRead {
    minutes: i32,
    pm: bool,
    taken: usize,
}

/// The clock phrase at words[at..], if one starts there.
fn clock_phrase(g: &Grammar, words: &[Word<'_>], at: usize) -> Option<ClockRead> {
    // Led clocks are asked after the rest, and their lead only when one fits.
    let led = || {
        at.checked_sub(1)
            .and_then(|k| words.get(k))
            .is_some_and(|w| g.clock_leads.contains(&w.lower.as_ref()))
    };
    let fits = |c: &&Clock| phrase_at(words, at, c.words);
    let mut led_clocks = g.led_clocks.iter().filter(fits).filter(|_| led());
    for c in g.clocks.iter().filter(fits).chain(&mut led_clocks) {
        let h_at = at + c.words.len();
        // The hour is a word or 1-12 in digits; "half 2026" or "half the staff" is none.
        let Some((hour, taken)) = number_at(words, h_at).or_else(|| hour_form(g, words, h_at))
        else {
            continue;
        };
        if !(1..=12).contains(&hour) {
            continue;
        }
        let mut minutes = (i32::try_from(hour).ok()? * 60 + c.minutes).rem_euclid(24 * 60);
        let mut next = h_at + taken;
        // Spoken time is a 12-hour clock: "half een" is 12:30 unless the night is named
        // near it. Written so, a range's reader takes it as 0:30 where that makes the
        // shorter window ("van elf uur 's avonds tot half een").
        if minutes < 60 && !night_near(words, at, next) {
            minutes += 12 * 60;
        }
        let pm = g.pm_after.iter().find(|p| phrase_at(words, next, p));
        // "yesterday afternoon" names the day too, and stays to be read.
        if let Some(p) = pm.filter(|p| !names_day(p)) {
            next += p.len();
        }
        return Some(ClockRead {
            minutes,
            pm: pm.is_some(),
            taken: next - at,
        });
    }
    None
}

/// A clock phrase at words[at..]: the edit and how many words it took.
fn clock_at(g: &Grammar, words: &[Word<'_>], at: usize) -> Option<(Edit, usize)> {
    let clock = clock_phrase(g, words, at)?;
    let mut with = format!("{}:{:02}", clock.minutes / 60, clock.minutes % 60);
    // Written "pm", so that a range's other end ("half acht 's avonds tot kwart over
    // negen") is read in the afternoon too.
    if clock.pm {
        with.push_str(" pm");
    }
    Some((
        Edit {
            start: words[at].start,
            end: words[at + clock.taken - 1].end,
            with,
        },
        clock.taken,
    ))
}

/// The minutes written after an hour in digits, words[at] being them: "6:40", "9.30"
/// (two digits after the separator, the separator right after the hour).
fn written_minutes(text: &str, words: &[Word<'_>], at: usize) -> Option<u32> {
    let (hour, minutes) = (words.get(at.checked_sub(1)?)?, words.get(at)?);
    let between = text.get(hour.end..minutes.start)?;
    let digits = minutes.lower.as_ref();
    if !matches!(between, ":" | ".")
        || digits.len() != 2
        || !hour.lower.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok().filter(|m| *m < 60)
}

/// Where a word starting at `start` starts with the apostrophe before it, if any: the
/// apostrophe of "'s middags" goes with its words.
fn with_apostrophe(text: &str, start: usize) -> usize {
    match text[..start].chars().next_back() {
        Some(c @ ('\'' | '’')) => start - c.len_utf8(),
        _ => start,
    }
}

/// The hour a word of `g.hour_forms` at words[at] names ("elven": 11), taking one word.
fn hour_form(g: &Grammar, words: &[Word<'_>], at: usize) -> Option<(u64, usize)> {
    let w = &words.get(at)?.lower;
    g.hour_forms
        .iter()
        .find(|(form, _)| form == w)
        .map(|&(_, hour)| (hour, 1))
}

/// An hour word standing alone after its lead ("na elven", "tegen vijven"): H:00.
fn hour_form_at(g: &Grammar, words: &[Word<'_>], at: usize) -> Option<(Edit, usize)> {
    let lead = &words.get(at.checked_sub(1)?)?.lower;
    if !g.hour_form_leads.contains(&lead.as_ref()) {
        return None;
    }
    let (hour, _) = hour_form(g, words, at)?;
    Some((
        Edit {
            start: words[at].start,
            end: words[at].end,
            with: format!("{hour}:00"),
        },
        1,
    ))
}

/// Words that name the night.
const NIGHT_WORDS: &[&str] = &[
    "night",
    "midnight",
    "overnight",
    "nacht",
    "nachts",
    "vannacht",
    "gisternacht",
    "middernacht",
    "mitternacht",
];

/// Whether a night word stands within a few words of words[from..to].
fn night_near(words: &[Word<'_>], from: usize, to: usize) -> bool {
    words[from.saturating_sub(6)..(to + 4).min(words.len())]
        .iter()
        .any(|w| NIGHT_WORDS.contains(&w.lower.as_ref()))
}

/// A bare hour said with its part of the day at words[at..]: "8 in the morning", "2 in
/// the afternoon", "'s middags 2 uur", "nachmittags um 2". Written as a clock time, so
/// that a range of two of them is read as one ("van 's ochtends 8 uur tot 's middags 2
/// uur" was two durations).
fn daypart_at(g: &Grammar, text: &str, words: &[Word<'_>], at: usize) -> Option<(Edit, usize)> {
    // A clock word after the hour, if any: "8 uur 's avonds", "nine o'clock at night".
    let clock_word = |k: usize| {
        CLOCK_UNITS
            .iter()
            .chain([&["uur"][..]].iter())
            .find(|u| phrase_at(words, k, u))
            .map_or(0, |u| u.len())
    };
    let (hour, minute, next, pm, before) = match g
        .daypart_before
        .iter()
        .find(|(p, _)| phrase_at(words, at, p))
    {
        // The part of the day first, perhaps a lead word, then the hour.
        Some((p, pm)) => {
            let mut h_at = at + p.len();
            if words
                .get(h_at)
                .is_some_and(|w| g.hour_leads.contains(&w.lower.as_ref()))
            {
                h_at += 1;
            }
            // "'s ochtends tien over acht": a clock phrase after the part of the day is
            // read whole, in that half of the day, not as its first number.
            if let Some(clock) = clock_phrase(g, words, h_at) {
                let (h, m) = (clock.minutes / 60, clock.minutes % 60);
                // Written "pm" as a bare afternoon hour is, for a range's other end.
                let with = match (*pm, h % 12) {
                    (true, 0) => format!("12:{m:02}"),
                    (true, h12) => format!("{h12}:{m:02} pm"),
                    (false, 0) => format!("0:{m:02}"),
                    (false, h12) => format!("{h12}:{m:02} am"),
                };
                let next = h_at + clock.taken;
                return Some((
                    Edit {
                        start: with_apostrophe(text, words[at].start),
                        end: words[next - 1].end,
                        with,
                    },
                    next - at,
                ));
            }
            let (hour, taken) = number_at(words, h_at)?;
            let mut next = h_at + taken;
            // "früh um 6:40 Uhr", "abends um 9.30": the hour's minutes come along.
            let minute = written_minutes(text, words, next);
            if minute.is_some() {
                next += 1;
            }
            (
                hour,
                minute.unwrap_or(0),
                next + clock_word(next),
                *pm,
                true,
            )
        }
        // The hour first (one word), then the part of the day: looked for before the
        // hour is read, as most words are followed by none.
        None => {
            let k = at + 1;
            let k = k + clock_word(k);
            // "pm" itself after digits is the temporal grammar's to read.
            let said = |p: &&&[&str]| **p != ["pm"] && phrase_at(words, k, p);
            let (part, pm) = match g.pm_after.iter().find(said) {
                Some(p) => (p, true),
                None => (g.am_after.iter().find(said)?, false),
            };
            let (hour, 1) = number_at(words, at)? else {
                return None;
            };
            // "11 this morning", "4 gisteravond": the words name the day as well, and
            // stay for the temporal grammar to read.
            let next = if names_day(part) { k } else { k + part.len() };
            (hour, 0, next, pm, false)
        }
    };
    let limit = if before { 23 } else { 12 };
    if !(1..=limit).contains(&hour) {
        return None;
    }
    // An afternoon hour is written with "pm", so that a range's bare first hour is read
    // in the afternoon too ("between 2 and 4 in the afternoon").
    // A morning or night named before the hour is written "am": the part of the day is
    // gone from the text, and a word for the evening elsewhere in the sentence ("gestern
    // Abend ab zehn, erst heute früh um 6:40") must not move it.
    let with = match (pm, hour) {
        (true, ..12) => format!("{hour}:{minute:02} pm"),
        (false, ..12) if before => format!("{hour}:{minute:02} am"),
        _ => format!("{hour}:{minute:02}"),
    };
    let start = match before {
        true => with_apostrophe(text, words[at].start),
        false => words[at].start,
    };
    Some((
        Edit {
            start,
            end: words[next - 1].end,
            with,
        },
        next - at,
    ))
}

/// A length of time said by a fixed phrase at words[at..]: "half an hour".
fn fixed_at(g: &Grammar, words: &[Word<'_>], at: usize) -> Option<(Edit, usize)> {
    let (phrase, minutes) = g.fixed.iter().find(|(p, _)| phrase_at(words, at, p))?;
    Some((
        Edit {
            start: words[at].start,
            end: words[at + phrase.len() - 1].end,
            with: format!("{minutes} min"),
        },
        phrase.len(),
    ))
}

/// A fraction of an hour written with digits or a fraction sign: its numerator and
/// denominator ("½", "1/2", "¾", "3/4").
fn fraction_of(word: &str) -> Option<(u64, u64)> {
    match word {
        "½" => Some((1, 2)),
        "¼" => Some((1, 4)),
        "¾" => Some((3, 4)),
        _ => None,
    }
}

/// A length of time with a written fraction at words[at..] (in `piece`): "2½ hours",
/// "2 1/2 hrs", "1 3/4 Stunden", "3/4 of an hour", "½ uur", and "90+ minutes": read as
/// minutes. A fraction counts only with an hour unit after it ("3/4" alone is a date).
fn written_fraction_at(piece: &str, words: &[Word<'_>], at: usize) -> Option<(Edit, usize)> {
    let first = &words.get(at)?.lower;
    let digits = first.bytes().take_while(u8::is_ascii_digit).count();
    let whole: u64 = first[..digits].parse().unwrap_or(0);
    let between = |k: usize| piece.get(words.get(k)?.end..words.get(k + 1)?.start);
    let unit_at = |k: usize| -> Option<usize> {
        // "3/4 of an hour", "¾ of an hour": the unit after "of an".
        let k = if phrase_at(words, k, &["of", "an"]) {
            k + 2
        } else {
            k
        };
        HOUR_UNITS
            .contains(&words.get(k)?.lower.as_ref())
            .then_some(k)
    };
    // "90+ minutes": the plus says "at least"; the number is what was written.
    let plus = between(at).is_some_and(|b| b.trim() == "+");
    if digits > 0 && digits == first.len() && plus {
        let unit = &words.get(at + 1)?.lower;
        if HOUR_UNITS.contains(&unit.as_ref()) || MINUTE_UNITS.contains(&unit.as_ref()) {
            let end = words[at].end + 1;
            let with = first.to_string();
            return Some((
                Edit {
                    start: words[at].start,
                    end,
                    with,
                },
                1,
            ));
        }
    }
    let (fraction, last) = if let Some(f) = fraction_of(&first[digits..]) {
        // "2½", "½".
        (f, at)
    } else if digits == first.len() && between(at) == Some("/") {
        // "3/4 of an hour": no whole hours.
        let q = words.get(at + 1)?.lower.parse().ok()?;
        return fraction_minutes(0, (whole, q), words, at, at + 1, unit_at(at + 2)?);
    } else if digits == first.len()
        && between(at).is_some_and(|b| b.trim().is_empty())
        && between(at + 1) == Some("/")
    {
        // "2 1/2 hours".
        let p = words.get(at + 1)?.lower.parse().ok()?;
        let q = words.get(at + 2)?.lower.parse().ok()?;
        ((p, q), at + 2)
    } else {
        return None;
    };
    fraction_minutes(whole, fraction, words, at, last, unit_at(last + 1)?)
}

/// `whole` hours and `fraction` of one, written from words[at] to the unit at words[unit]:
/// the edit that writes them as minutes.
fn fraction_minutes(
    whole: u64,
    (p, q): (u64, u64),
    words: &[Word<'_>],
    at: usize,
    last: usize,
    unit: usize,
) -> Option<(Edit, usize)> {
    if !matches!((p, q), (1, 2) | (1, 4) | (3, 4)) || whole > 48 || unit <= last {
        return None;
    }
    let minutes = whole * 60 + 60 * p / q;
    Some((
        Edit {
            start: words[at].start,
            end: words[unit].end,
            with: format!("{minutes} min"),
        },
        unit + 1 - at,
    ))
}

/// A duration in words at words[at..]: "two and a half hours", "tweeënhalf uur",
/// "forty-five minutes", "drei Stunden".
fn duration_at(g: &Grammar, words: &[Word<'_>], at: usize) -> Option<(Edit, usize)> {
    let first = &words.get(at)?.lower;
    // Digits with a unit are read as they are; only words are rewritten.
    if first.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    // Minutes of a fraction of an hour with the number: "tweeënhalf", "and a half".
    let (n, mut next, fraction) = match g.fraction_suffixes.iter().find_map(|(s, m)| {
        first
            .strip_suffix(s)
            .filter(|p| !p.is_empty())
            .map(|p| (p, *m))
    }) {
        Some((prefix, minutes)) => (numbers::word_value(prefix)?, at + 1, minutes),
        None => {
            let (n, taken) = number_at(words, at)?;
            let mut next = at + taken;
            let fraction = match g
                .and_a_fraction
                .iter()
                .find(|(p, _)| phrase_at(words, next, p))
            {
                Some((p, minutes)) => {
                    next += p.len();
                    *minutes
                }
                None => 0,
            };
            (n, next, fraction)
        }
    };
    let half = fraction > 0;
    let unit = &words.get(next)?.lower;
    // "drie kwartier", "zwei Viertelstunden": quarters of an hour.
    if !half && (1..=24).contains(&n) && g.quarter_units.contains(&unit.as_ref()) {
        return Some((
            Edit {
                start: words[at].start,
                end: words[next].end,
                with: format!("{} min", n * 15),
            },
            next + 1 - at,
        ));
    }
    let hours = HOUR_UNITS.contains(&unit.as_ref());
    let clock = CLOCK_UNITS.iter().any(|p| phrase_at(words, next, p));
    if !hours && !clock && !MINUTE_UNITS.contains(&unit.as_ref()) {
        return None;
    }
    // "two hours and a quarter", "twee uur en een kwartier".
    let extra = if hours {
        g.after_hours
            .iter()
            .find(|(p, _)| phrase_at(words, next + 1, p))
    } else {
        None
    };
    // "one hour" stays as it is: it reads fine already, and "een uur" may be one o'clock.
    if n < 1 || n < 2 && !half && extra.is_none() || clock && (half || n > 24) {
        return None;
    }
    let edit = if half || extra.is_some() {
        if !hours {
            return None;
        }
        next += 1;
        let mut minutes = n * 60 + fraction;
        if let Some((p, more)) = extra {
            minutes += more;
            next += p.len();
        }
        Edit {
            start: words[at].start,
            end: words[next - 1].end,
            with: format!("{minutes} min"),
        }
    } else {
        // The number alone: its unit says hours, minutes or o'clock, as written.
        Edit {
            start: words[at].start,
            end: words[next - 1].end,
            with: n.to_string(),
        }
    };
    Some((edit, next - at))
}

/// Units, clock words and the words of minutes past or to the hour ("past", "twenty
/// to"): every rewrite of a length of time or a clock phrase holds one, or an hour word
/// of a grammar's table (see [`unit_words`]).
const UNIT_WORDS: &str = r"hours?|hrs|uur|uren|stunden?|std|minutes?|mins?|minuten|minuut|uhr|o'?clock|quarter|half|kwart|kwartier|driekwartier|viertel|halb|dreiviertel|viertelstunden?|dreiviertelstunde|past|twenty\s+to|twenty[- ]five\s+to";
/// The parts of the day, plain words apart by `|`: common in mail ("this morning",
/// "last night"), so the words around one are walked only when digits stand close by
/// ("8 in the morning", "'s middags om 2"); walking around each cost a claim mail
/// 10,000 instructions.
const DAYPART_WORDS: &str = "morning|afternoon|evening|night|ochtends|morgens|middags|avonds|vanochtend|vanmorgen|vanmiddag|vanavond|gisterochtend|gistermorgen|gistermiddag|gisteravond|vormittags|nachmittags|abends";
/// How near a part of the day its hour's digits must be: "8 uur 's ochtends" before
/// it, "nachmittags gegen 2" after it.
const DAYPART_DIGITS_REACH: usize = 16;

/// [`UNIT_WORDS`], every grammar's hour words ("elven") and led clock phrases ("ten
/// to"), taken from the tables so that a language's row is all it needs.
fn unit_words() -> String {
    // A led clock phrase without its lead words ("ten to"): the gate lets a few ranges
    // through to be walked, and a pattern that starts with "at" or "by" would find
    // candidates everywhere.
    let led = GRAMMARS
        .iter()
        .flat_map(|g| g.led_clocks.iter().map(|c| c.words.join(r"\s+")));
    GRAMMARS
        .iter()
        .flat_map(|g| g.hour_forms.iter().map(|(form, _)| (*form).to_string()))
        .chain(led)
        .chain([UNIT_WORDS.to_string()])
        .collect::<Vec<_>>()
        .join("|")
}

/// Every rewrite holds a unit or a clock word, or a part of the day: mail with none is
/// not walked word by word (searched folded, it is a prefiltered scan).
static TIME_WORD: Pattern<FoldedRegex> =
    Pattern::new(|| FoldedRegex::new(&format!(r"\b(?:{}|{DAYPART_WORDS})\b", unit_words())));
/// [`TIME_WORD`] without the parts of the day: the gate most mail stops at.
static UNIT_WORD: Pattern<FoldedRegex> =
    Pattern::new(|| FoldedRegex::new(&format!(r"\b(?:{})\b", unit_words())));
/// The parts of the day alone, for the gate.
static DAYPART_WORD: Pattern<FoldedRegex> =
    Pattern::new(|| FoldedRegex::new(&format!(r"\b(?:{DAYPART_WORDS})\b")));

/// A weekday with a part of the day written onto it, in any language's table.
static DAY_COMPOUND: Pattern<FoldedRegex> = Pattern::new(|| {
    let words = |f: fn(&Grammar) -> Vec<&'static str>| {
        GRAMMARS.iter().flat_map(f).collect::<Vec<_>>().join("|")
    };
    let days = words(|g| g.weekdays.to_vec());
    let parts = words(|g| g.day_parts.iter().map(|(p, _)| *p).collect());
    FoldedRegex::new(&format!(r"\b(?:{days})(?:{parts})\b"))
});

/// `text` with each weekday that has a part of the day written onto it split into the
/// two ("Vrijdagmiddag" is "Vrijdag 's middags"); None when there is none.
fn split_day_compounds(g: &Grammar, text: &str) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for w in words(text) {
        let Some((day, part)) = g.weekdays.iter().find_map(|d| {
            let part = w.lower.strip_prefix(d)?;
            g.day_parts
                .iter()
                .find(|(p, _)| *p == part)
                .map(|(_, said)| (d.len(), *said))
        }) else {
            continue;
        };
        // The weekday as written (its capital), then the part's own words.
        let day_end = crate::floor_char_boundary(text, w.start + day);
        out.push_str(&text[copied..day_end]);
        out.push(' ');
        out.push_str(part);
        copied = w.end;
    }
    (copied > 0).then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Bytes walked before and after a unit or clock word: the longest phrase ("twenty five
/// and a half hours", "fünf vor halb zwölf 'nachmittags'") fits.
const REACH_BEFORE: usize = 48;
const REACH_AFTER: usize = 40;

/// Whether `text` (folded) may hold a clock time or duration in words: a unit or clock
/// word, or a part of the day with digits close by.
pub fn may_say_time(text: &Folded) -> bool {
    UNIT_WORD.get().is_match(text)
        || DAY_COMPOUND.get().is_match(text)
        || DAYPART_WORD
            .get()
            .find_iter(text)
            .any(|m| digits_near(text.as_str(), m.start(), m.end()))
}

/// Whether digits stand within [`DAYPART_DIGITS_REACH`] bytes of `start..end`.
fn digits_near(text: &str, start: usize, end: usize) -> bool {
    let near = crate::floor_char_boundary(text, start.saturating_sub(DAYPART_DIGITS_REACH))
        ..crate::floor_char_boundary(text, end + DAYPART_DIGITS_REACH);
    text[near].bytes().any(|b| b.is_ascii_digit())
}

/// `text` with spoken clock times and durations in digits, for `lang` ("en", "nl",
/// "de"); None when nothing was rewritten.
pub fn in_digits(text: &str, lang: &str) -> Option<String> {
    let g = GRAMMARS.iter().find(|g| g.lang == lang)?;
    let folded = Folded::new(text);
    let split = DAY_COMPOUND
        .get()
        .is_match(&folded)
        .then(|| split_day_compounds(g, text))
        .flatten();
    let (text, folded) = match &split {
        Some(t) => (t.as_str(), Folded::new(t)),
        None => (text, folded),
    };
    // Only the words around each unit or clock word are walked: a phrase reaches at most
    // a few words before its unit and one after its clock word.
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    for m in TIME_WORD.get().find_iter(&folded) {
        let daypart = DAYPART_WORDS.split('|').any(|w| w == m.as_str());
        if daypart && !digits_near(text, m.start(), m.end()) {
            continue;
        }
        let mut start = crate::floor_char_boundary(text, m.start().saturating_sub(REACH_BEFORE));
        // From a word's start: "nineteen" cut to "een" would read as one.
        let mid_word = text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| !c.is_whitespace());
        if mid_word {
            if let Some(space) = text[start..m.start()].find(char::is_whitespace) {
                start += space;
            }
        }
        let end = crate::floor_char_boundary(text, m.end() + REACH_AFTER);
        let end = text[end..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| end + i);
        match spans.last_mut() {
            Some(last) if start <= last.end => last.end = last.end.max(end),
            _ => spans.push(start..end),
        }
    }
    let mut edits = Vec::new();
    for span in spans {
        let piece = &text[span.clone()];
        let words = words(piece);
        let mut at = 0;
        while at < words.len() {
            let found = fixed_at(g, &words, at)
                .or_else(|| written_fraction_at(piece, &words, at))
                .or_else(|| daypart_at(g, piece, &words, at))
                .or_else(|| clock_at(g, &words, at))
                .or_else(|| hour_form_at(g, &words, at))
                .or_else(|| duration_at(g, &words, at));
            match found {
                Some((mut edit, taken)) => {
                    edit.start += span.start;
                    edit.end += span.start;
                    edits.push(edit);
                    at += taken;
                }
                None => at += 1,
            }
        }
    }
    if edits.is_empty() {
        return split;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for e in edits {
        out.push_str(&text[copied..e.start]);
        out.push_str(&e.with);
        copied = e.end;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str, lang: &str) -> String {
        in_digits(text, lang).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn dutch_hours_in_their_own_form() {
        // Phrasings of my own.
        assert_eq!(
            said("van kwart over negen tot even na elven", "nl"),
            "van 9:15 tot even na 11:00"
        );
        assert_eq!(
            said("het lag eruit tussen achten en tienen", "nl"),
            "het lag eruit tussen 8:00 en 10:00"
        );
        // Without a lead the word is a verb: "we vieren".
        assert_eq!(said("we vieren het niet", "nl"), "we vieren het niet");
    }

    #[test]
    fn clock_times_in_words() {
        for (lang, text, want) in [
            (
                "nl",
                "vanaf kwart voor acht tot tien over half elf",
                "vanaf 7:45 tot 10:40",
            ),
            (
                "nl",
                "tussen half drie 's middags en vijf over vier",
                "tussen 2:30 pm en 4:05",
            ),
            (
                "de",
                "von viertel nach sieben bis halb zehn",
                "von 7:15 bis 9:30",
            ),
            (
                "de",
                "ab dreiviertel neun, um fünf vor halb zwölf",
                "ab 8:45, um 11:25",
            ),
            ("de", "halb drei nachmittags", "2:30 pm"),
            (
                "en",
                "from a quarter past seven until half past ten",
                "from 7:15 until 10:30",
            ),
            ("en", "quarter to three in the afternoon", "2:45 pm"),
            ("en", "since half nine", "since 9:30"),
            // A 12-hour clock: "half één" is half past twelve, at night half past zero.
            (
                "nl",
                "van kwart voor elf tot half één",
                "van 10:45 tot 12:30",
            ),
            ("de", "bis viertel eins", "bis 12:15"),
            ("nl", "vannacht om half een", "vannacht om 0:30"),
            // Phrasings of my own: minutes past and to the hour alone, with no unit.
            (
                "en",
                "between ten past nine and twenty to eleven",
                "between 9:10 and 10:40",
            ),
            ("en", "from twenty-five past eight", "from 8:25"),
            ("en", "until twenty five to four", "until 3:35"),
            // A range of hours or counts is left alone.
            ("en", "ten to eleven users", "ten to eleven users"),
            ("en", "in the past five days", "in the past five days"),
        ] {
            assert_eq!(said(text, lang), want, "{lang}: {text}");
        }
    }

    #[test]
    fn durations_in_words() {
        for (lang, text, want) in [
            ("en", "down for three and a half hours", "down for 210 min"),
            ("en", "roughly forty five minutes", "roughly 45 minutes"),
            ("en", "about twenty-five minutes", "about 25 minutes"),
            ("nl", "bijna tweeënhalf uur plat", "bijna 150 min plat"),
            ("nl", "drie en een half uur", "210 min"),
            (
                "en",
                "some two and a quarter hours later",
                "some 135 min later",
            ),
            ("en", "four and three quarters hours", "285 min"),
            ("nl", "twee en een kwart uur", "135 min"),
            ("de", "drei und ein Viertel Stunden", "195 min"),
            ("de", "gut zweieinhalb Stunden lang", "gut 150 min lang"),
            ("de", "knapp vier Stunden", "knapp 4 Stunden"),
            ("de", "gegen acht Uhr", "gegen 8 Uhr"),
            ("nl", "drie uur en een kwartier", "195 min"),
            ("en", "two hours and three quarters", "165 min"),
            ("de", "eine Stunde und eine Viertelstunde", "75 min"),
            ("en", "at nine o'clock", "at 9 o'clock"),
            // Fractions written with digits or a fraction sign, and "at least" (mine).
            ("en", "down for 2½ hours", "down for 150 min"),
            ("en", "down for 2 1/2 hrs", "down for 150 min"),
            ("de", "1 3/4 Stunden lang", "105 min lang"),
            ("en", "for 3/4 of an hour", "for 45 min"),
            ("nl", "½ uur geen mail", "30 min geen mail"),
            ("en", "for 90+ minutes", "for 90 minutes"),
            ("en", "on 3/4 for an hour", "on 3/4 for an hour"),
            // Bare hours with their part of the day (phrasings of my own).
            (
                "en",
                "from 8 in the morning until 2 in the afternoon",
                "from 8:00 until 2:00 pm",
            ),
            ("en", "at 9 at night", "at 9:00 pm"),
            (
                "nl",
                "van 's ochtends 8 uur tot 's middags 2 uur",
                "van 8:00 am tot 2:00 pm",
            ),
            ("nl", "tot 9 uur 's avonds", "tot 9:00 pm"),
            // A clock phrase after the part of the day is read whole.
            (
                "nl",
                "van 's ochtends tien over acht tot kwart voor twaalf",
                "van 8:10 am tot 11:45",
            ),
            ("nl", "'s avonds kwart over negen", "9:15 pm"),
            ("de", "abends um halb zehn", "9:30 pm"),
            (
                "de",
                "von morgens 8 bis nachmittags um 2",
                "von 8:00 am bis 2:00 pm",
            ),
            ("de", "abends gegen 9 Uhr", "9:00 pm"),
            // "ten to" and "five to" after a word that leads a clock time; a range stays.
            (
                "en",
                "it went at about ten to three",
                "it went at about 2:50",
            ),
            ("en", "back by five to nine", "back by 8:55"),
            ("en", "from ten to eleven", "from ten to eleven"),
            // Minutes written after the hour come along.
            (
                "de",
                "erst morgens um 7:05 Uhr ging es",
                "erst 7:05 am ging es",
            ),
            ("nl", "'s avonds om 8.45 uur", "8:45 pm"),
            // A part of the day that names the day stays for the grammar to read.
            (
                "en",
                "from 9 to 11 this morning",
                "from 9 to 11:00 this morning",
            ),
            (
                "en",
                "from 2 to 4 yesterday afternoon",
                "from 2 to 4:00 pm yesterday afternoon",
            ),
            (
                "nl",
                "van 9 tot 11 vanochtend",
                "van 9 tot 11:00 vanochtend",
            ),
            ("nl", "om 4 gisteravond", "om 4:00 pm gisteravond"),
            (
                "en",
                "quarter past two yesterday afternoon",
                "2:15 pm yesterday afternoon",
            ),
            // A count before such words is no hour: it needs the part right after it.
            (
                "en",
                "we logged 3 tickets this morning",
                "we logged 3 tickets this morning",
            ),
            // Fixed phrases and quarters of an hour (phrasings of my own).
            ("en", "for three quarters of an hour", "for 45 min"),
            ("en", "a quarter of an hour later", "15 min later"),
            ("en", "about an hour and a quarter", "about 75 min"),
            ("en", "roughly half an hour", "roughly 30 min"),
            ("nl", "een half uur en half werk", "30 min en half werk"),
            ("nl", "ruim drie kwartier", "ruim 45 min"),
            ("nl", "vijf kwartier lang", "75 min lang"),
            ("de", "eine Dreiviertelstunde", "45 min"),
            ("de", "eine halbe Stunde lang", "30 min lang"),
            ("de", "zwei Viertelstunden", "30 min"),
            ("de", "eineinviertel Stunden", "75 min"),
            ("de", "eindreiviertel Stunden", "105 min"),
        ] {
            assert_eq!(said(text, lang), want, "{lang}: {text}");
        }
    }

    #[test]
    fn weekdays_with_a_part_of_the_day_written_on_are_split() {
        // The part of the day then makes the bare hour an evening one.
        assert_eq!(said("Zaterdagavond om 8 uur", "nl"), "Zaterdag 8:00 pm");
        assert_eq!(
            said("dinsdagochtend tussen 7.05 en 8.20", "nl"),
            "dinsdag 's ochtends tussen 7.05 en 8.20"
        );
        assert_eq!(said("Sonntagabend ab 19 Uhr", "de"), "Sonntag 19:00");
        // Only a part of the day of the table: a weekday alone, or with another word
        // onto it, stays.
        assert_eq!(in_digits("Vrijdagborrel om 16.00", "nl"), None);
        assert_eq!(in_digits("Dienstagssitzung um 9", "de"), None);
    }

    #[test]
    fn words_that_only_look_like_times_stay() {
        for (lang, text) in [
            ("en", "half the staff and half of 2026"),
            ("en", "from ten to eleven"),
            ("en", "a quarter of our users"),
            ("nl", "half werk en een halve dag"),
            ("nl", "om een uur"),
            ("de", "ein Viertel der Mitarbeiter, halb so schlimm"),
            ("de", "in einer Stunde"),
        ] {
            assert_eq!(said(text, lang), text, "{lang}: {text}");
        }
    }

    #[test]
    fn a_language_without_a_row_is_left_alone() {
        assert_eq!(in_digits("kwart over negen", "fr"), None);
    }
}
