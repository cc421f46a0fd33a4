//! Language of the new text: English, Dutch or German, by function-word counts.
//!
//! Three languages with distinct function words do not need a statistical detector;
//! counting words that occur in only one of them is exact enough and costs nothing.

/// Which language a lower-case word belongs to only (0 en, 1 nl, 2 de).
fn language_of(w: &str) -> Option<usize> {
    Some(match w {
        "the" | "and" | "to" | "of" | "we" | "our" | "was" | "for" | "you" | "please" | "with"
        | "could" | "would" | "not" | "have" | "this" | "that" | "from" | "were" | "users"
        | "thanks" | "hi" | "hello" | "regards" | "us" | "it" | "my" | "your" | "been" | "has"
        | "had" => 0,
        "de" | "het" | "een" | "en" | "van" | "wij" | "onze" | "niet" | "voor" | "met"
        | "graag" | "konden" | "zijn" | "bij" | "jullie" | "ons" | "geen" | "ook" | "uur"
        | "hebben" | "heb" | "dat" | "deze" | "naar" | "goedemiddag" | "goedemorgen" | "groet"
        | "tot" | "om" | "ik" | "u" | "uw" => 1,
        "der" | "das" | "und" | "wir" | "nicht" | "unsere" | "unser" | "mit" | "für" | "bitte"
        | "sie" | "ist" | "ein" | "eine" | "zu" | "dem" | "den" | "bei" | "auf" | "auch"
        | "wurden" | "haben" | "uhr" | "grüßen" | "ihr" | "ihnen" | "ich" | "sehr" | "geehrte"
        | "wie" | "vom" | "zum" | "waren" | "unseren" | "unserem" | "wurde" | "konnten"
        | "keine" | "nur" | "aber" | "oder" | "über" | "nach" | "heute" | "gestern" | "ihre"
        | "wegen" => 2,
        _ => return None,
    })
}

/// "en", "nl" or "de"; `hint` is a Content-Language header, used to break ties.
pub fn detect(text: &str, hint: Option<&str>) -> &'static str {
    let mut scores = [0usize; 3];
    let mut word = [0u8; 12];
    let mut len = 0usize;
    let mut seen = 0usize;
    // A few hundred words decide. Bytes of multi-byte letters ("für") stay inside the
    // word, so only ASCII punctuation and spaces split; ASCII letters are lower-cased.
    for &b in text.as_bytes().iter().chain(std::iter::once(&b' ')) {
        if b.is_ascii_alphabetic() || b >= 0x80 {
            if len < word.len() {
                word[len] = b.to_ascii_lowercase();
            }
            len += 1;
            continue;
        }
        if len > 0 && len <= word.len() {
            if let Ok(w) = std::str::from_utf8(&word[..len]) {
                let lang = if w.is_ascii() {
                    language_of(w)
                } else {
                    language_of(&w.to_lowercase())
                };
                if let Some(i) = lang {
                    scores[i] += 1;
                }
            }
            seen += 1;
            if seen >= 250 {
                break;
            }
        }
        len = 0;
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
    }
}
