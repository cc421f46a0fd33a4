//! Language of the new text: English, Dutch or German, by function-word counts.
//!
//! Three languages with distinct function words do not need a statistical detector;
//! counting words that occur in only one of them is exact enough and costs nothing.

use std::sync::LazyLock;

/// Words that occur in one language only: English, Dutch, German (lower case).
const WORDS: [&[&str]; 3] = [
    &[
        "the", "and", "to", "of", "we", "our", "was", "for", "you", "please", "with", "could",
        "would", "not", "have", "this", "that", "from", "were", "users", "thanks", "hi", "hello",
        "regards", "us", "it", "my", "your", "been", "has", "had",
    ],
    &[
        "de",
        "het",
        "een",
        "en",
        "van",
        "wij",
        "onze",
        "niet",
        "voor",
        "met",
        "graag",
        "konden",
        "zijn",
        "bij",
        "jullie",
        "ons",
        "geen",
        "ook",
        "uur",
        "hebben",
        "heb",
        "dat",
        "deze",
        "naar",
        "goedemiddag",
        "goedemorgen",
        "groet",
        "tot",
        "om",
        "ik",
        "u",
        "uw",
    ],
    &[
        "der", "das", "und", "wir", "nicht", "unsere", "unser", "mit", "für", "bitte", "sie",
        "ist", "ein", "eine", "zu", "dem", "den", "bei", "auf", "auch", "wurden", "haben", "uhr",
        "grüßen", "ihr", "ihnen", "ich", "sehr", "geehrte", "wie", "vom", "zum", "waren",
        "unseren", "unserem", "wurde", "konnten", "keine", "nur", "aber", "oder", "über", "nach",
        "heute", "gestern", "ihre", "wegen",
    ],
];

/// A word of up to 8 bytes as one integer (no word has a zero byte, so the packing is
/// exact), case-folded on the way, so looking it up is one integer compare.
fn pack(word: &[u8]) -> Option<u64> {
    (word.len() <= 8).then(|| {
        word.iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(fold_case(b)))
    })
}

/// Folds case by setting bit 5 of a word byte: ASCII capitals become lower case, and so
/// do Latin-1 capitals in UTF-8 (C3 80-9E become C3 A0-BE: "Ü" is "ü"). It also folds
/// some other letters together ("ß" with "ÿ"), which no function word is confused by.
fn fold_case(b: u8) -> u8 {
    b | 0x20
}

/// Slots of the open-addressing table of packed function words (a power of two, about
/// twice the word count, so probes are short). Keys and languages are kept apart and
/// small (2 KiB + 256 B): the table is read for every word and stays in cache (16 KiB of
/// `(u128, u8)` slots missed it once per word after the regex scans).
const SLOTS: usize = 256;

/// Packed function words by slot (0: empty), and their language + 1.
struct Table {
    keys: [u64; SLOTS],
    langs: [u8; SLOTS],
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut table = Table {
        keys: [0; SLOTS],
        langs: [0; SLOTS],
    };
    for (lang, words) in (1u8..).zip(WORDS) {
        for p in words.iter().filter_map(|w| pack(w.as_bytes())) {
            let mut i = slot(p);
            while table.keys[i] != 0 && table.keys[i] != p {
                i = (i + 1) % SLOTS;
            }
            table.keys[i] = p;
            table.langs[i] = lang;
        }
    }
    table
});

fn slot(packed: u64) -> usize {
    (packed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % SLOTS
}

/// Which language a packed word belongs to only (0 en, 1 nl, 2 de).
fn language_of(p: u64) -> Option<usize> {
    let table = &*TABLE;
    let mut i = slot(p);
    loop {
        match table.keys[i] {
            0 => return None,
            key if key == p => return Some(usize::from(table.langs[i] - 1)),
            _ => i = (i + 1) % SLOTS,
        }
    }
}

/// Function words longer than 8 bytes ("goedemiddag"), with their language.
static LONG_WORDS: LazyLock<Vec<(&[u8], usize)>> = LazyLock::new(|| {
    WORDS
        .iter()
        .enumerate()
        .flat_map(|(lang, words)| words.iter().map(move |w| (w.as_bytes(), lang)))
        .filter(|(w, _)| w.len() > 8)
        .collect()
});

/// Which language a word of more than 8 bytes belongs to only.
fn long_word_language(word: &[u8]) -> Option<usize> {
    LONG_WORDS.iter().find_map(|&(w, lang)| {
        (w.len() == word.len()
            && w.iter()
                .zip(word)
                .all(|(a, b)| fold_case(*a) == fold_case(*b)))
        .then_some(lang)
    })
}

/// Bytes that belong to a word: ASCII letters and every byte of a multi-byte character
/// (one table load per byte where two comparisons were).
const WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphabetic() || b >= 0x80;
        b += 1;
    }
    table
};

/// "en", "nl" or "de"; `hint` is a Content-Language header, used to break ties.
pub fn detect(text: &str, hint: Option<&str>) -> &'static str {
    let mut scores = [0usize; 3];
    // The first 120 words decide. Bytes of multi-byte letters ("für") stay inside the
    // word, so only ASCII punctuation and spaces split. A byte loop: it runs over the
    // start of every message.
    let bytes = text.as_bytes();
    let in_word = |b: u8| WORD_BYTE[usize::from(b)];
    let mut at = 0;
    for _ in 0..120 {
        while at < bytes.len() && !in_word(bytes[at]) {
            at += 1;
        }
        let start = at;
        while at < bytes.len() && in_word(bytes[at]) {
            at += 1;
        }
        let word = &bytes[start..at];
        if word.is_empty() {
            break;
        }
        // Function words are 2 to 11 bytes long; anything else cannot score.
        if word.len() < 2 || word.len() > 11 {
            continue;
        }
        let lang = match pack(word) {
            Some(packed) => language_of(packed),
            None => long_word_language(word),
        };
        if let Some(i) = lang {
            scores[i] += 1;
        }
    }
    let hinted = match hint.map(|h| h.trim().to_ascii_lowercase()) {
        Some(h) if h.starts_with("nl") => Some(1),
        Some(h) if h.starts_with("de") => Some(2),
        Some(h) if h.starts_with("en") => Some(0),
        _ => None,
    };
    let best = scores.iter().copied().max().unwrap_or(0);
    let index = match hinted {
        Some(h) if scores[h] == best => h,
        _ => scores.iter().position(|s| *s == best).unwrap_or(0),
    };
    ["en", "nl", "de"][index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_word_is_found_in_its_language_only() {
        for (lang, words) in WORDS.iter().enumerate() {
            for w in words.iter() {
                let found = match pack(w.as_bytes()) {
                    Some(p) => language_of(p),
                    None => long_word_language(w.as_bytes()),
                };
                assert_eq!(found, Some(lang), "{w}");
            }
        }
        assert_eq!(language_of(pack(b"outage").unwrap_or_default()), None);
        assert_eq!(long_word_language(b"goedemiddagen"), None);
        assert_eq!(detect("GOEDEMIDDAG, Goedemorgen", None), "nl");
    }

    #[test]
    fn three_languages() {
        assert_eq!(
            detect(
                "Onze medewerkers konden van 10.00 tot 12.30 uur niet werken.",
                None
            ),
            "nl"
        );
        assert_eq!(
            detect(
                "Betroffen waren ca. 80 Mitarbeiter an unseren Standorten, bitte.",
                None
            ),
            "de"
        );
        assert_eq!(
            detect("Our users could not send mail for two hours.", None),
            "en"
        );
        assert_eq!(detect("", Some("de-DE")), "de");
        assert_eq!(
            detect("Über die Störung wurden wir nicht informiert.", None),
            "de"
        );
        assert_eq!(detect("ÜBER DIE STÖRUNG, FÜR UNS", None), "de");
        assert_eq!(detect("GRÜßEN", None), "de");
        assert_eq!(
            detect("Сотрудники не могли работать, the users", None),
            "en"
        );
    }
}
