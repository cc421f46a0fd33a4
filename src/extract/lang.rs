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

/// A word of up to 16 bytes as one integer, so looking it up is a few integer compares.
fn pack(word: &[u8]) -> Option<u128> {
    (word.len() <= 16).then(|| {
        word.iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
    })
}

/// Slots of the open-addressing table of packed function words (a power of two, well
/// above the word count, so probes are short).
const SLOTS: usize = 512;

/// Packed function word -> language + 1 (0: empty slot), hashed by multiply-shift.
static TABLE: LazyLock<Vec<(u128, u8)>> = LazyLock::new(|| {
    let mut table = vec![(0u128, 0u8); SLOTS];
    for (lang, words) in (1u8..).zip(WORDS) {
        for p in words.iter().filter_map(|w| pack(w.as_bytes())) {
            let mut i = slot(p);
            while table[i].1 != 0 && table[i].0 != p {
                i = (i + 1) % SLOTS;
            }
            table[i] = (p, lang);
        }
    }
    table
});

fn slot(packed: u128) -> usize {
    let folded = (packed as u64) ^ ((packed >> 64) as u64);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 55) as usize % SLOTS
}

/// Which language a packed lower-case word belongs to only (0 en, 1 nl, 2 de).
fn language_of(p: u128) -> Option<usize> {
    let table = &*TABLE;
    let mut i = slot(p);
    loop {
        let (key, lang) = table[i];
        if lang == 0 {
            return None;
        }
        if key == p {
            return Some(usize::from(lang - 1));
        }
        i = (i + 1) % SLOTS;
    }
}

/// "en", "nl" or "de"; `hint` is a Content-Language header, used to break ties.
pub fn detect(text: &str, hint: Option<&str>) -> &'static str {
    let mut scores = [0usize; 3];
    // The first 120 words decide. Bytes of multi-byte letters ("für") stay inside the
    // word, so only ASCII punctuation and spaces split. A byte loop: it runs over the
    // start of every message.
    let bytes = text.as_bytes();
    let in_word = |b: u8| b.is_ascii_alphabetic() || b >= 0x80;
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
        // Lower-cased and packed in one go, as bytes: ASCII capitals and Latin-1 ones
        // (C3 80-9E, "Ü") are the only capitals a function word can have.
        let mut after_c3 = false;
        let packed = word.iter().fold(0u128, |acc, &b| {
            let lower = match b {
                0x80..=0x9E if after_c3 && b != 0x97 => b + 0x20,
                _ => b.to_ascii_lowercase(),
            };
            after_c3 = b == 0xC3;
            (acc << 8) | u128::from(lower)
        });
        let lang = language_of(packed);
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
        assert_eq!(
            detect("Сотрудники не могли работать, the users", None),
            "en"
        );
    }
}
