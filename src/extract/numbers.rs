//! Numbers written in words, in English, Dutch and German: "three hundred and twenty",
//! "a dozen", "vijfentwintig", "zweihundertfünfzig". Table-driven: a language is its
//! list of number words; compounds (Dutch and German write them as one word) are taken
//! apart by the same table.

/// What a number word does to the number being read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Part {
    /// Adds its value: units, teens and tens.
    Add(u64),
    /// Multiplies what came before (at least one): hundred, dozen.
    Times(u64),
    /// Closes a group of thousands.
    Thousand,
    /// "and", "en", "und" between number words.
    Joiner,
}

/// Every number word of the three languages. Longer words come first where one begins
/// another ("fünfzig" before "fünf"), which the longest-match search below relies on
/// only for speed, not for correctness.
const WORDS: &[(&str, Part)] = &[
    // English
    ("one", Part::Add(1)),
    ("two", Part::Add(2)),
    ("three", Part::Add(3)),
    ("four", Part::Add(4)),
    ("five", Part::Add(5)),
    ("six", Part::Add(6)),
    ("seven", Part::Add(7)),
    ("eight", Part::Add(8)),
    ("nine", Part::Add(9)),
    ("ten", Part::Add(10)),
    ("eleven", Part::Add(11)),
    ("twelve", Part::Add(12)),
    ("thirteen", Part::Add(13)),
    ("fourteen", Part::Add(14)),
    ("fifteen", Part::Add(15)),
    ("sixteen", Part::Add(16)),
    ("seventeen", Part::Add(17)),
    ("eighteen", Part::Add(18)),
    ("nineteen", Part::Add(19)),
    ("twenty", Part::Add(20)),
    ("thirty", Part::Add(30)),
    ("forty", Part::Add(40)),
    ("fifty", Part::Add(50)),
    ("sixty", Part::Add(60)),
    ("seventy", Part::Add(70)),
    ("eighty", Part::Add(80)),
    ("ninety", Part::Add(90)),
    ("hundred", Part::Times(100)),
    ("dozen", Part::Times(12)),
    ("thousand", Part::Thousand),
    ("and", Part::Joiner),
    // Dutch
    ("een", Part::Add(1)),
    // Stressed "one", as clock times are written: "half één".
    ("één", Part::Add(1)),
    ("twee", Part::Add(2)),
    ("drie", Part::Add(3)),
    ("vier", Part::Add(4)),
    ("vijf", Part::Add(5)),
    ("zes", Part::Add(6)),
    ("zeven", Part::Add(7)),
    ("acht", Part::Add(8)),
    ("negen", Part::Add(9)),
    ("tien", Part::Add(10)),
    ("elf", Part::Add(11)),
    ("twaalf", Part::Add(12)),
    ("dertien", Part::Add(13)),
    ("veertien", Part::Add(14)),
    ("vijftien", Part::Add(15)),
    ("zestien", Part::Add(16)),
    ("zeventien", Part::Add(17)),
    ("achttien", Part::Add(18)),
    ("negentien", Part::Add(19)),
    ("twintig", Part::Add(20)),
    ("dertig", Part::Add(30)),
    ("veertig", Part::Add(40)),
    ("vijftig", Part::Add(50)),
    ("zestig", Part::Add(60)),
    ("zeventig", Part::Add(70)),
    ("tachtig", Part::Add(80)),
    ("negentig", Part::Add(90)),
    ("honderd", Part::Times(100)),
    ("dozijn", Part::Times(12)),
    // "Een tiental": about ten.
    ("tiental", Part::Add(10)),
    ("twintigtal", Part::Add(20)),
    ("dertigtal", Part::Add(30)),
    ("veertigtal", Part::Add(40)),
    ("vijftigtal", Part::Add(50)),
    ("honderdtal", Part::Add(100)),
    ("duizend", Part::Thousand),
    ("en", Part::Joiner),
    // German
    ("eins", Part::Add(1)),
    ("ein", Part::Add(1)),
    ("eine", Part::Add(1)),
    ("zwei", Part::Add(2)),
    ("drei", Part::Add(3)),
    ("vier", Part::Add(4)),
    ("fünf", Part::Add(5)),
    ("sechs", Part::Add(6)),
    ("sieben", Part::Add(7)),
    ("acht", Part::Add(8)),
    ("neun", Part::Add(9)),
    ("zehn", Part::Add(10)),
    ("elf", Part::Add(11)),
    ("zwölf", Part::Add(12)),
    ("dreizehn", Part::Add(13)),
    ("vierzehn", Part::Add(14)),
    ("fünfzehn", Part::Add(15)),
    ("sechzehn", Part::Add(16)),
    ("siebzehn", Part::Add(17)),
    ("achtzehn", Part::Add(18)),
    ("neunzehn", Part::Add(19)),
    ("zwanzig", Part::Add(20)),
    ("dreißig", Part::Add(30)),
    ("dreissig", Part::Add(30)),
    ("vierzig", Part::Add(40)),
    ("fünfzig", Part::Add(50)),
    ("sechzig", Part::Add(60)),
    ("siebzig", Part::Add(70)),
    ("achtzig", Part::Add(80)),
    ("neunzig", Part::Add(90)),
    ("hundert", Part::Times(100)),
    ("dutzend", Part::Times(12)),
    ("tausend", Part::Thousand),
    ("und", Part::Joiner),
];

/// A word that begins a number of two or more ("a"/"een"/"ein" alone are one): a mail
/// without one is not walked word by word. Searched folded, as one prefiltered scan.
static STARTS_NUMBER: crate::mail::pattern::Pattern<super::fold::FoldedRegex> =
    crate::mail::pattern::Pattern::new(|| {
        let mut words: Vec<&str> = WORDS
            .iter()
            .filter(|(_, p)| {
                matches!(p, Part::Add(n) if *n >= 2) || matches!(p, Part::Times(_) | Part::Thousand)
            })
            .map(|(w, _)| *w)
            .chain(["eenen", "einund"])
            .collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        super::fold::FoldedRegex::new(&format!(r"\b(?:{})", words.join("|")))
    });

/// Whether `text` (folded) may hold a number in words worth two or more.
pub fn may_have_number_words(text: &super::fold::Folded) -> bool {
    STARTS_NUMBER.get().is_match(text)
}

/// [`WORDS`] by first byte: a word is compared with the dozen that begin as it does,
/// and most words of a mail with none.
static BY_FIRST: std::sync::LazyLock<Vec<Vec<(&'static str, Part)>>> =
    std::sync::LazyLock::new(|| {
        let mut by = vec![Vec::new(); 256];
        for &(w, p) in WORDS {
            by[usize::from(w.as_bytes()[0])].push((w, p));
        }
        by
    });

/// Whether some number word (or "a") begins with this byte, in either case.
fn may_start(b: u8) -> bool {
    let b = b.to_ascii_lowercase();
    b == b'a' || !BY_FIRST[usize::from(b)].is_empty()
}

/// A word taken apart into number words, longest first at each step; None when some
/// part of it is no number word. Words are short, so this is quick.
/// Letters compare without case for ASCII ("Twelve", "Fünf"), without a lower-cased copy.
fn parts(word: &str) -> Option<Vec<Part>> {
    let mut out = Vec::new();
    let mut rest = word.as_bytes();
    while !rest.is_empty() {
        let (len, part) = BY_FIRST[usize::from(rest[0].to_ascii_lowercase())]
            .iter()
            .filter(|(w, _)| {
                rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes())
            })
            .map(|(w, p)| (w.len(), *p))
            .max_by_key(|(len, _)| *len)?;
        out.push(part);
        rest = &rest[len..];
    }
    Some(out)
}

/// The value of a run of number parts: "three hundred and twenty" is 3, x100, +20.
fn value(parts: &[Part]) -> u64 {
    let (mut total, mut current) = (0u64, 0u64);
    for p in parts {
        match *p {
            Part::Add(n) => current += n,
            Part::Times(n) => current = current.max(1) * n,
            Part::Thousand => {
                total += current.max(1) * 1000;
                current = 0;
            }
            Part::Joiner => {}
        }
    }
    total + current
}

/// Whether a run of number words goes on with the parts of the next word.
fn continues(run: &[Part], next: &[Part]) -> bool {
    match (run.last(), next.first()) {
        (Some(Part::Add(tens)), Some(Part::Add(unit))) => {
            *tens >= 20 && tens % 10 == 0 && *unit < 10
        }
        _ => true,
    }
}

/// The value of one number word ("twelve", "vijfentwintig", "zwölf"); None for any
/// other word, for joiners alone and for a multiplier alone. `word` is lower case.
pub fn word_value(word: &str) -> Option<u64> {
    let first = *word.as_bytes().first()?;
    if BY_FIRST[usize::from(first)].is_empty() {
        return None;
    }
    let parts = parts(word)?;
    // A multiplier alone ("dozen", "dozijn", "hundert") is no number to read a time by:
    // "half dozijn" is no half past eleven.
    if parts.iter().all(|p| *p == Part::Joiner)
        || matches!(parts[..], [Part::Times(_) | Part::Thousand])
    {
        return None;
    }
    Some(value(&parts))
}

/// The words of `text` (runs of letters) with where each starts.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// A run of number words: where it starts and ends, and its parts.
type Run = (usize, usize, Vec<Part>);

/// `text` with every run of number words of value two or more written in digits; None
/// when there is none. A run is words apart only by spaces or hyphens. "A"/"an" count as
/// one only before a multiplier ("a dozen"), and a separate "and"/"en"/"und" only after
/// one ("three hundred and twenty"): elsewhere they join other things ("ten and twelve").
pub fn in_digits(text: &str) -> Option<String> {
    // Only the stretches of words and spaces that hold a word starting a number are
    // walked word by word: a run never crosses anything else.
    let folded = super::fold::Folded::new(text);
    let joins = |c: char| c.is_alphabetic() || c == ' ' || c == '-';
    let mut runs: Vec<Run> = Vec::new();
    let mut done = 0;
    for hit in STARTS_NUMBER.get().find_iter(&folded) {
        let at = hit.start();
        if at < done {
            continue;
        }
        // A word that merely begins like a number ("tenant", "achtergrond") starts no
        // run; the stretch is walked for the number words in it, which are hits too.
        let word_end = text[at..]
            .find(|c: char| !c.is_alphabetic())
            .map_or(text.len(), |i| at + i);
        if word_end - at > 40 || parts(&text[at..word_end]).is_none() {
            continue;
        }
        let from = text[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !joins(*c))
            .map_or(0, |(i, c)| i + c.len_utf8())
            .max(done);
        let to = text[at..]
            .find(|c: char| !joins(c))
            .map_or(text.len(), |i| at + i);
        runs_in(text, from, to, &mut runs);
        done = to;
    }
    written_in_digits(text, runs)
}

/// Adds the runs of number words in `text[from..to]`, a stretch of words, spaces and
/// hyphens.
fn runs_in(text: &str, from: usize, to: usize, runs: &mut Vec<Run>) {
    let mut open: Option<Run> = None;
    let close = |open: &mut Option<Run>, runs: &mut Vec<Run>| {
        if let Some(run) = open.take() {
            runs.push(run);
        }
    };
    for (start, word) in words(&text[from..to]) {
        let start = from + start;
        let end = start + word.len();
        let adjacent = open
            .as_ref()
            .is_some_and(|(_, e, _)| text[*e..start].chars().all(|c| c == ' ' || c == '-'));
        if !adjacent {
            close(&mut open, runs);
        }
        // Most words begin as no number word does; none is longer than 40 bytes.
        let candidate = may_start(word.as_bytes()[0]) && word.len() <= 40;
        let article = word.eq_ignore_ascii_case("a") || word.eq_ignore_ascii_case("an");
        let Some(found) = (if article {
            Some(vec![Part::Add(1)])
        } else if candidate {
            parts(word)
        } else {
            None
        }) else {
            close(&mut open, runs);
            continue;
        };
        let joiner = found == [Part::Joiner];
        match open.as_mut() {
            Some((_, e, run)) if joiner => {
                if matches!(run.last(), Some(Part::Times(_) | Part::Thousand)) {
                    run.push(Part::Joiner);
                    *e = end;
                } else {
                    close(&mut open, runs);
                }
            }
            // Word after word, a number goes on only from tens to units ("twenty
            // five"), after a multiplier, or into one: "elf zwölf" is two numbers.
            Some((_, e, run)) if !article && continues(run, &found) => {
                run.extend(found);
                *e = end;
            }
            _ if joiner => {}
            _ => {
                close(&mut open, runs);
                open = Some((start, end, found));
            }
        }
    }
    close(&mut open, runs);
}

/// `text` with each run of value two or more replaced by its digits.
fn written_in_digits(text: &str, runs: Vec<Run>) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (mut start, mut end, mut parts) in runs {
        // A trailing joiner is not part of the number; an article alone is no number.
        if parts.last() == Some(&Part::Joiner) {
            parts.pop();
            end = text[..end]
                .trim_end_matches(char::is_alphabetic)
                .trim_end()
                .len();
        }
        // A run that opens with one (or "a") goes on with a multiplier ("a dozen", "one
        // hundred"): "a three-hour outage" is no 4.
        let one_then_more = parts.first() == Some(&Part::Add(1))
            && parts.len() > 1
            && !matches!(parts[1], Part::Times(_) | Part::Thousand);
        let mut n = value(&parts);
        // "half a dozen", "een half dozijn", "ein halbes Dutzend": half of a multiple.
        if matches!(parts.first(), Some(Part::Add(1) | Part::Times(_))) {
            if let Some(half) = halved_from(text, start).filter(|h| *h >= copied) {
                (n, start) = (n / 2, half);
            }
        }
        if n < 2 || one_then_more {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(&n.to_string());
        copied = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Where a word for half stands right before byte `at` ("half a dozen", "een half
/// dozijn", "ein halbes Dutzend"), if one does.
fn halved_from(text: &str, at: usize) -> Option<usize> {
    let before = text[..at].trim_end_matches([' ', '-']);
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[word_start..];
    ["half", "halve", "halbes", "halben"]
        .iter()
        .any(|h| word.eq_ignore_ascii_case(h))
        .then_some(word_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_words_in_three_languages() {
        for (text, want) in [
            ("three hundred and twenty users", "320 users"),
            ("a dozen people in Leeds", "12 people in Leeds"),
            // Half of a multiple (phrasings of my own).
            ("half a dozen in Oss", "6 in Oss"),
            ("een half dozijn collega's", "een 6 collega's"),
            ("ein halbes Dutzend Kollegen", "ein 6 Kollegen"),
            ("twenty-five staff", "25 staff"),
            ("vijfentwintig medewerkers", "25 medewerkers"),
            ("driehonderd gebruikers", "300 gebruikers"),
            ("zweihundertfünfzig Mitarbeiter", "250 Mitarbeiter"),
            ("two thousand four hundred accounts", "2400 accounts"),
            ("zwölf Benutzer", "12 Benutzer"),
            ("een twintigtal gebruikers", "een 20 gebruikers"),
        ] {
            assert_eq!(in_digits(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn articles_and_conjunctions_stay_words() {
        assert_eq!(in_digits("one user and a colleague"), None);
        assert_eq!(in_digits("een collega en ik"), None);
        assert_eq!(
            in_digits("between ten and twelve users").as_deref(),
            Some("between 10 and 12 users")
        );
        assert_eq!(in_digits("no numbers here"), None);
        // Two numbers side by side stay two ("halb elf zwölf Leute" is 10:30, 12 people).
        assert_eq!(
            in_digits("om elf twaalf mensen").as_deref(),
            Some("om 11 12 mensen")
        );
        assert_eq!(in_digits("forty two").as_deref(), Some("42"));
        // Words that only begin like numbers are no numbers, and do not hide one.
        assert_eq!(in_digits("the tenant's achterkant, sixteenth"), None);
        assert_eq!(
            in_digits("Tenant admins at eleven sites").as_deref(),
            Some("Tenant admins at 11 sites")
        );
    }

    #[test]
    fn each_clause_is_read_on_its_own() {
        // Punctuation ends a run; the words before a number word in its clause count.
        assert_eq!(
            in_digits("Mail bounced for a dozen staff; twenty-two more, and one, waited.")
                .as_deref(),
            Some("Mail bounced for 12 staff; 22 more, and one, waited.")
        );
        assert_eq!(
            in_digits("Für zweihundert Nutzer. Dann drei.").as_deref(),
            Some("Für 200 Nutzer. Dann 3.")
        );
    }
}
