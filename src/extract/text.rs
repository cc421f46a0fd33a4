//! Cutting new text into statements (sentences and "Label: value" fields) and reading numbers.

use crate::mail::pattern::Pattern;
use regex::Regex;
use std::borrow::Cow;

use super::fold::{Folded, FoldedRegex};

/// One unit of meaning: a sentence of running text or one labelled field.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The whole statement, whitespace folded: "Label: value" for a field.
    pub text: String,
    /// The field label, lower-cased, when the statement is "Label: value".
    pub label: Option<String>,
    /// Where the value starts in `text`.
    value_at: usize,
    /// `text` folded, for the case-insensitive word lists that every statement is asked.
    folded: Folded,
}

impl Statement {
    /// A sentence of running text.
    pub fn plain(text: String) -> Statement {
        Statement {
            folded: Folded::new(&text),
            text,
            label: None,
            value_at: 0,
        }
    }

    /// A labelled field, written "Label: value".
    pub fn field(label: &str, value: &str) -> Statement {
        let mut text = String::with_capacity(label.len() + 2 + value.len());
        text.push_str(label);
        text.push_str(": ");
        text.push_str(value);
        Statement {
            folded: Folded::new(&text),
            text,
            label: Some(label.to_lowercase()),
            value_at: label.len() + 2,
        }
    }

    /// `text`, case-folded.
    pub fn folded(&self) -> &Folded {
        &self.folded
    }

    /// The value part of a field, or the whole text.
    pub fn value(&self) -> &str {
        self.text.get(self.value_at..).unwrap_or_default()
    }
}

static BULLET: Pattern<Regex> = re!(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+\S");

/// A text's statements, with their folded texts joined by line breaks: a word list is
/// asked once over the whole rather than once per statement (each search has a fixed
/// cost that, over a dozen short statements, outweighed the scanning itself).
#[derive(Debug, Clone, Default)]
pub struct Statements {
    list: Vec<Statement>,
    /// Every statement's folded text, each followed by a line break.
    joined: Folded,
    /// Where each statement starts in `joined`.
    starts: Vec<usize>,
}

impl From<Vec<Statement>> for Statements {
    fn from(list: Vec<Statement>) -> Statements {
        let starts = list
            .iter()
            .scan(0, |at, s| {
                let start = *at;
                *at += s.folded.as_str().len() + 1;
                Some(start)
            })
            .collect();
        let joined = Folded::joined(list.iter().map(Statement::folded));
        Statements {
            list,
            joined,
            starts,
        }
    }
}

impl std::ops::Deref for Statements {
    type Target = [Statement];
    fn deref(&self) -> &[Statement] {
        &self.list
    }
}

impl<'s> IntoIterator for &'s Statements {
    type Item = &'s Statement;
    type IntoIter = std::slice::Iter<'s, Statement>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl Statements {
    /// The first statement from index `from` on whose folded text `re` matches: the
    /// answer asking each in turn gives, found with one search over the joined text and
    /// one over the statement it lands in.
    ///
    /// Exact because a match inside a statement is a match at the same place in the
    /// joined text (to `\b` a line break is a text's edge), and a search finds the
    /// leftmost: no statement before the one it lands in has a match. A match that runs
    /// past its statement's end is checked on that statement alone. Anchored patterns
    /// (`^`, `$`) see the joined text differently, so they are asked statement by statement.
    pub fn first_match(&self, re: &FoldedRegex, from: usize) -> Option<usize> {
        if re.anchored() {
            return (from..self.list.len()).find(|&i| re.is_match(&self.list[i].folded));
        }
        let mut from = from;
        while from < self.list.len() {
            let m = re.find_at(&self.joined, self.starts[from])?;
            // The statement the match starts in. One that runs past its end is checked
            // on that statement alone. One that starts on the separator is checked on
            // the statement before it (which may match empty at its end) and then on
            // the next.
            let i = self
                .starts
                .partition_point(|&s| s <= m.start())
                .saturating_sub(1);
            let end = self.starts[i] + self.list[i].folded.as_str().len();
            let inside = m.start() < end && m.end() <= end;
            let on_separator = m.start() >= end;
            if on_separator && re.is_match(&self.list[i].folded) {
                return Some(i);
            }
            let i = if on_separator { i + 1 } else { i };
            if i >= self.list.len() {
                return None;
            }
            if inside || re.is_match(&self.list[i].folded) {
                return Some(i);
            }
            from = i + 1;
        }
        None
    }

    /// Whether `re` matches in any statement.
    pub fn any_match(&self, re: &FoldedRegex) -> bool {
        self.first_match(re, 0).is_some()
    }

    /// The statements `re` matches in, in order.
    pub fn matching<'s>(
        &'s self,
        re: &'s FoldedRegex,
    ) -> impl Iterator<Item = (usize, &'s Statement)> + 's {
        let mut next = 0;
        std::iter::from_fn(move || {
            let i = self.first_match(re, next)?;
            next = i + 1;
            Some((i, &self.list[i]))
        })
    }
}

/// Splits text into statements; wrapped lines of one paragraph or field are joined.
pub fn statements(text: &str) -> Statements {
    statement_list(text).into()
}

fn statement_list(text: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut para = String::new();
    // (label, value); an empty label is an unlabelled bullet item.
    let mut field: Option<(String, String)> = None;
    // A sentence of running text may be a field too: "… tenant X. Users impacted: 140
    // (Sheffield). …" labels its count as the same field on a line of its own would.
    let flush_para = |para: &mut String, out: &mut Vec<Statement>| {
        out.extend(sentences(para).into_iter().map(|s| match field_parts(&s) {
            Some((label, value)) => Statement::field(label, value),
            None => Statement::plain(s),
        }));
        para.clear();
    };
    let flush_field = |field: &mut Option<(String, String)>, out: &mut Vec<Statement>| {
        let Some((label, value)) = field.take() else {
            return;
        };
        // The label belongs to the first sentence; later ones stand on their own.
        let mut sentences = sentences(&value).into_iter();
        let first = sentences.next().unwrap_or_default();
        if label.is_empty() {
            out.push(Statement::plain(first));
        } else {
            out.push(Statement::field(&label, &first));
        }
        out.extend(sentences.map(Statement::plain));
    };
    for line in crate::mail::quote::lines_of(text) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush_field(&mut field, &mut out);
            flush_para(&mut para, &mut out);
            continue;
        }
        let labelled = field_parts(line);
        let bullet = is_bullet(line);
        if let Some((_, value)) = field.as_mut() {
            // An indented line continues the value; so does any line after a value cut
            // off mid-phrase ("… purchased through⏎your CSP programme") or after running
            // text the mail program wrapped.
            if (line.starts_with([' ', '\t']) || ends_mid_phrase(value) || wrapped(value))
                && !bullet
                && labelled.is_none()
            {
                value.push(' ');
                value.push_str(trimmed);
                continue;
            }
        }
        if labelled.is_some() || bullet {
            flush_field(&mut field, &mut out);
            flush_para(&mut para, &mut out);
            field = Some(match labelled {
                Some((label, value)) => (label.to_string(), value.to_string()),
                None => (
                    String::new(),
                    trimmed
                        .trim_start_matches(['-', '*', '•', '·'])
                        .trim()
                        .to_string(),
                ),
            });
            continue;
        }
        flush_field(&mut field, &mut out);
        if !para.is_empty() {
            para.push(' ');
        }
        para.push_str(trimmed);
    }
    flush_field(&mut field, &mut out);
    flush_para(&mut para, &mut out);
    out
}

/// Words no sentence ends with: prepositions, articles, conjunctions and possessives (en,
/// nl, de). A line that ends with one was wrapped.
const MID_PHRASE: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "at", "by", "with", "for", "from", "via", "through",
    "our", "your", "their", "its", "de", "het", "een", "en", "van", "bij", "voor", "met", "door",
    "naar", "onze", "jullie", "uw", "der", "die", "das", "den", "dem", "ein", "eine", "und",
    "oder", "von", "mit", "für", "über", "zu", "bei", "unsere", "ihre", "auf", "aan", "tussen",
    "zwischen", "between", "across", "into",
];

/// Whether a field's value so far is running text cut off by the mail program's line
/// wrap: long (wrapping starts around 72 characters), several words, and no sentence's
/// end ("zur Ergänzung: betroffen waren gestern 53 Benutzer, verteilt auf⏎Innsbruck …").
fn wrapped(value: &str) -> bool {
    const WRAP: usize = 56;
    value.len() >= WRAP
        && !value.trim_end().ends_with(['.', '!', '?', ':', ';', ')'])
        && value.bytes().filter(|&b| b == b' ').count() >= 6
}

fn ends_mid_phrase(value: &str) -> bool {
    value
        .rsplit(' ')
        .next()
        .is_some_and(|w| MID_PHRASE.iter().any(|m| w.eq_ignore_ascii_case(m)))
}

fn is_bullet(line: &str) -> bool {
    let first = line.trim_start().chars().next();
    first.is_some_and(|c| matches!(c, '-' | '*' | '•' | '·') || c.is_ascii_digit())
        && BULLET.get().is_match(line)
}

/// The label and value of a "Label: value" (or "Label<TAB>value") line whose label is
/// a few words of letters, not a sentence with a colon in it. Hand-written: it runs on
/// every line, and a regex with Unicode classes here cost a fifth of all extraction.
fn field_parts(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start();
    let body = body
        .strip_prefix(['-', '*', '•', '·'])
        .map_or(body, str::trim_start);
    // The loop below stops after the first character past byte 56, which starts at
    // byte 60 at the latest: without a ':' or tab in the first 61 bytes (most lines of
    // running text) it cannot find a label.
    let head = &body.as_bytes()[..body.len().min(61)];
    if !body.starts_with(char::is_alphabetic) || memchr::memchr2(b':', b'\t', head).is_none() {
        return None;
    }
    let mut separator = None;
    for (i, c) in body.char_indices() {
        match c {
            '\t' => separator = Some(i),
            // "10:30" and "https://" are not labels.
            ':' if body[i + 1..].chars().next().is_none_or(char::is_whitespace) => {
                separator = Some(i)
            }
            c if c.is_alphanumeric()
                || matches!(
                    c,
                    ' ' | '(' | ')' | '/' | '\'' | '’' | '?' | '.' | '&' | '-'
                ) => {}
            _ => return None,
        }
        if separator.is_some() || i > 56 {
            break;
        }
    }
    let at = separator?;
    let label = body[..at].trim();
    let value = body[at + 1..].trim();
    let plausible = label.chars().count() <= 52
        && label.split_whitespace().count() <= 7
        && !label.contains(". ")
        && !label.ends_with(|c: char| c.is_ascii_digit())
        && !label.contains("http")
        // "… gestört (Microsoft: EX1430055)": a colon inside parentheses that opened in
        // the label is a wrapped sentence's aside, not a label's end.
        && label.matches('(').count() <= label.matches(')').count();
    plausible.then_some((label, value))
}

/// `s` with every run of whitespace as one space and none at the ends. Most paragraphs
/// are already so (their lines were trimmed and joined with one space) and are borrowed.
fn fold(s: &str) -> Cow<'_, str> {
    // ASCII only (other whitespace is Unicode's to judge), no control whitespace, no
    // space first, last or after another space.
    let mut after_space = true;
    let clean = s.bytes().all(|b| {
        let ok = b < 0x80 && !matches!(b, b'\t'..=b'\r') && !(b == b' ' && after_space);
        after_space = b == b' ';
        ok
    }) && !s.ends_with(' ');
    if clean {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

const ABBREVIATIONS: &[&str] = &[
    "ca", "approx", "appr", "etc", "e.g", "i.e", "eg", "ie", "nr", "no", "tel", "mr", "mrs", "ms",
    "dr", "st", "vs", "z.b", "bzw", "ggf", "inkl", "incl", "evt", "o.a", "m.b.t", "resp", "mw",
    "dhr", "mevr", "hr", "fr", "u.a", "d.h", "ong",
];

/// Splits a paragraph into sentences, not at "ca. 80", "5. März" or "Mr. X".
pub fn sentences(para: &str) -> Vec<String> {
    let para = fold(para);
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = para.as_bytes();
    // Sentence ends are ASCII, so a byte search finds them without decoding characters.
    for i in memchr::memchr3_iter(b'.', b'?', b'!', bytes) {
        let c = bytes[i];
        if bytes.get(i + 1) != Some(&b' ') || i < start {
            continue;
        }
        let next = para[i + 2..].chars().next();
        if !next.is_some_and(|n| n.is_uppercase() || n.is_ascii_digit() || n == '"' || n == '(') {
            continue;
        }
        if c == b'.' {
            let word = para[start..i].rsplit(' ').next().unwrap_or_default();
            // The abbreviations are ASCII: compared without a lower-cased copy.
            if word.is_empty()
                || word.bytes().all(|w| w.is_ascii_digit())
                || ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word))
                || word.chars().nth(1).is_none()
            {
                continue;
            }
        }
        out.push(para[start..=i].trim().to_string());
        start = i + 2;
    }
    if start < para.len() && !para[start..].trim().is_empty() {
        out.push(para[start..].trim().to_string());
    }
    if out.iter().any(|s| s.len() > MAX_STATEMENT_BYTES) {
        out = out.into_iter().flat_map(pieces).collect();
    }
    out
}

/// Longest statement the readers see. Real sentences are a few hundred bytes; the
/// readers compare the tokens of one statement with each other, so an endless sentence
/// ("from 9:15 to from 9:15 to ...") would cost its length squared. Cut into pieces of
/// this size, it costs its length times this.
pub const MAX_STATEMENT_BYTES: usize = 2048;

/// `sentence` cut at spaces into pieces of at most [`MAX_STATEMENT_BYTES`].
fn pieces(sentence: String) -> Vec<String> {
    if sentence.len() <= MAX_STATEMENT_BYTES {
        return vec![sentence];
    }
    let mut out = Vec::with_capacity(sentence.len() / MAX_STATEMENT_BYTES + 1);
    let mut rest = sentence.as_str();
    while rest.len() > MAX_STATEMENT_BYTES {
        let limit = crate::floor_char_boundary(rest, MAX_STATEMENT_BYTES);
        // At the last space in the second half, else mid-word at the limit.
        let cut = match memchr::memrchr(b' ', &rest.as_bytes()[..limit]) {
            Some(space) if space >= limit / 2 => space,
            _ => limit.max(rest.chars().next().map_or(1, char::len_utf8)),
        };
        let piece = rest[..cut].trim();
        if !piece.is_empty() {
            out.push(piece.to_string());
        }
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// The first `n` characters of `s`, borrowed (`s` itself when it is no longer: a text of
/// at most `n` bytes is not counted).
pub fn first_chars(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

static INTEGER: Pattern<Regex> = re!(r"^\d{1,3}(?:[.,\u{a0}\u{202f} ]\d{3})+$|^\d+$");

/// Reads an integer written with optional thousands separators: "1,200", "1.200", "1 200".
pub fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim();
    if !INTEGER.get().is_match(s) {
        return None;
    }
    s.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `first_match` must answer: each statement asked in turn.
    fn one_by_one(st: &Statements, re: &FoldedRegex, from: usize) -> Option<usize> {
        (from..st.len()).find(|&i| re.is_match(st[i].folded()))
    }

    #[test]
    fn one_search_over_the_joined_statements_answers_as_each_would() {
        let text = "Hello team.\nWe want a Credit, please. The outage hit us hard\n\n\
                    Ticket: 4711\nno more credit? No.\nGo ahead, thanks.";
        let st = statements(text);
        assert!(st.len() >= 5, "{st:?}");
        for pattern in [
            r"\bcredit\b",
            // Runs over a statement's end into the next: checked on the statement alone.
            r"please\W+the",
            r"hard\s+ticket",
            // Starts on the separator.
            r"\sticket",
            r"\W+no more",
            // Anchored: asked statement by statement.
            r"^no more",
            r"thanks\.$",
            r"nothing like this",
            // Empty matches, one only at a statement's end.
            r"x*",
            r"\b",
            r"(?:\.)?\B",
        ] {
            let re = FoldedRegex::new(pattern);
            for from in 0..=st.len() {
                assert_eq!(
                    st.first_match(&re, from),
                    one_by_one(&st, &re, from),
                    "{pattern} from {from}"
                );
            }
            let all: Vec<usize> = st.matching(&re).map(|(i, _)| i).collect();
            let want: Vec<usize> = (0..st.len())
                .filter(|&i| re.is_match(st[i].folded()))
                .collect();
            assert_eq!(all, want, "{pattern}");
        }
        assert!(
            Statements::default()
                .first_match(&FoldedRegex::new("x*"), 0)
                .is_none()
        );
        // A match only at a statement's very end starts on the separator after it.
        let st = Statements::from(vec![
            Statement::plain("a.".into()),
            Statement::plain("ok".into()),
        ]);
        let re = FoldedRegex::new(r"\B");
        assert_eq!(st.first_match(&re, 0), one_by_one(&st, &re, 0));
        assert_eq!(st.first_match(&re, 0), Some(0));
    }

    #[test]
    fn a_separator_after_a_wide_character_near_the_limit_still_counts() {
        // The label loop reads up to the first character past byte 56; a colon right
        // after a wide letter there is found (the gate must look that far).
        let label = "ü".repeat(29);
        let line = format!("{label}: value");
        assert_eq!(line.find(':'), Some(58));
        assert_eq!(field_parts(&line), Some((label.as_str(), "value")));
        let label = format!("{}ü\u{20000}", "中".repeat(18));
        let line = format!("{label}: value");
        assert_eq!(line.find(':'), Some(60));
        assert_eq!(field_parts(&line), Some((label.as_str(), "value")));
    }

    #[test]
    fn endless_sentences_are_cut_into_bounded_pieces_at_spaces() {
        // Words of mixed widths with no sentence end: every piece within the limit, cut
        // between words, and nothing lost or doubled.
        let words = ["downtime", "ß", "läuft", "9:15", "中文字", "a"];
        let text: Vec<&str> = (0..5000).map(|i| words[i % words.len()]).collect();
        let text = text.join(" ");
        let got = sentences(&text);
        assert!(got.len() > 1);
        assert!(
            got.iter()
                .all(|p| p.len() <= MAX_STATEMENT_BYTES && !p.is_empty())
        );
        assert_eq!(got.join(" "), text);
        // One word longer than the limit is cut inside the word, on a char boundary.
        let word = "é".repeat(MAX_STATEMENT_BYTES);
        let got = sentences(&word);
        assert!(got.iter().all(|p| p.len() <= MAX_STATEMENT_BYTES));
        assert_eq!(got.concat(), word);
        // Ordinary sentences are left whole.
        assert_eq!(sentences("One. Two"), vec!["One.", "Two"]);
    }

    #[test]
    fn first_characters_are_cut_on_a_character_boundary() {
        assert_eq!(first_chars("abc", 5), "abc");
        assert_eq!(first_chars("abcdef", 3), "abc");
        assert_eq!(first_chars("äöüß", 3), "äöü");
        assert_eq!(first_chars("äö", 3), "äö");
        assert_eq!(first_chars("", 0), "");
    }

    #[test]
    fn whitespace_folds_to_single_spaces() {
        for (raw, folded) in [
            ("a b. C d", "a b. C d"),
            ("", ""),
            (" a  b\t\tc \r\n", "a b c"),
            ("a\u{a0}\u{a0}b", "a b"),
            ("a\u{2003}b c", "a b c"),
            ("x\u{b}y", "x y"),
        ] {
            assert_eq!(fold(raw), folded, "{raw:?}");
        }
        assert!(matches!(fold("plain text. Here"), Cow::Borrowed(_)));
    }

    #[test]
    fn fields_bullets_and_wrapped_values() {
        let st = statements(
            "Hello there.\n\nTenant ID:        abc\nWhat we tried:    restarted Outlook,\n                  cleared caches\n* Affected: all staff\n  in London\nNext sentence. Another one.\n",
        );
        let texts: Vec<_> = st
            .iter()
            .map(|s| (s.label.clone(), s.value().to_string()))
            .collect();
        assert_eq!(texts[0], (None, "Hello there.".into()));
        assert_eq!(texts[1], (Some("tenant id".into()), "abc".into()));
        assert_eq!(
            texts[2],
            (
                Some("what we tried".into()),
                "restarted Outlook, cleared caches".into()
            )
        );
        assert_eq!(
            texts[3],
            (Some("affected".into()), "all staff in London".into())
        );
        assert_eq!(texts[4], (None, "Next sentence.".into()));
        assert_eq!(texts[5], (None, "Another one.".into()));
    }

    #[test]
    fn a_value_cut_off_mid_phrase_goes_on_and_a_parenthesised_colon_is_no_label() {
        // Phrasings of my own.
        let st = statements(
            "Tenant: 1234 -- our seats came through the\nreseller programme.\nUsers: 12\n",
        );
        assert_eq!(
            st[0].value(),
            "1234 -- our seats came through the reseller programme."
        );
        assert_eq!(st[1].label.as_deref(), Some("users"));
        // A finished value does not swallow the line after it.
        let st = statements("Tenant: 1234\nwe restarted everything.\n");
        assert_eq!(st[1].value(), "we restarted everything.");
        let st = statements(
            "Mail was down from nine until\nhalf past ten (ref: EX123456). Nobody could send.\n",
        );
        assert!(st.iter().all(|s| s.label.is_none()), "{st:?}");
        assert_eq!(st.len(), 2);
    }

    #[test]
    fn a_field_of_running_text_wrapped_by_the_mail_program_goes_on() {
        // Phrasing of my own.
        let st = statements(
            "Kurz gesagt: am Montag konnten bei uns sechzehn Leute im Lager nicht arbeiten, und zwar\nin Linz und Enns, fast den ganzen Vormittag lang.\nMandant: 1234\n",
        );
        assert!(
            st[0].value().ends_with("fast den ganzen Vormittag lang."),
            "{st:?}"
        );
        assert_eq!(st[1].label.as_deref(), Some("mandant"));
        // A short value, or one that ends its sentence, does not take the next line.
        let st = statements("Impact: all users in Leeds\nWe restarted the VPN.\n");
        assert_eq!(st[1].value(), "We restarted the VPN.");
        let st = statements(
            "Summary: twelve people in the Utrecht office could not reach SharePoint at all today.\nThanks for looking.\n",
        );
        assert_eq!(st[1].value(), "Thanks for looking.");
    }

    #[test]
    fn tab_separated_cells_are_fields() {
        let st = statements("Tenant ID\t6b0d549b\t\nStart\t08:10 GMT\t\n");
        assert_eq!(st[0].label.as_deref(), Some("tenant id"));
        assert_eq!(st[1].value(), "08:10 GMT");
    }

    #[test]
    fn a_sentence_of_running_text_may_be_a_field() {
        // Phrasing of my own: a label written inside a paragraph.
        let st = statements("Mail stopped at noon. Users impacted: 140 (Sheffield). Thanks.");
        let labels: Vec<Option<&str>> = st.iter().map(|s| s.label.as_deref()).collect();
        assert_eq!(labels, [None, Some("users impacted"), None]);
        assert_eq!(st[1].value(), "140 (Sheffield).");
        // A sentence with a clock time or a link in it is no field.
        let st = statements("It failed at 10:30 today. See https://status.example now.");
        assert!(st.iter().all(|s| s.label.is_none()));
    }

    #[test]
    fn sentences_end_before_a_number() {
        let s = sentences("Het was op 9 maart. 12 gebruikers waren getroffen. Ca. 80 Mitarbeiter.");
        assert_eq!(
            s,
            vec![
                "Het was op 9 maart.",
                "12 gebruikers waren getroffen.",
                "Ca. 80 Mitarbeiter."
            ]
        );
    }

    #[test]
    fn sentences_keep_abbreviations_and_dates() {
        let s = sentences(
            "Betroffen waren ca. 80 Mitarbeiter am 5. März. Danach ging es. Mr. Smith said so.",
        );
        assert_eq!(
            s,
            vec![
                "Betroffen waren ca. 80 Mitarbeiter am 5. März.",
                "Danach ging es.",
                "Mr. Smith said so."
            ]
        );
    }

    #[test]
    fn counts_with_separators() {
        assert_eq!(parse_count("1,200"), Some(1200));
        assert_eq!(parse_count("1.200"), Some(1200));
        assert_eq!(parse_count("12"), Some(12));
        assert_eq!(parse_count("1.20"), None);
    }
}
