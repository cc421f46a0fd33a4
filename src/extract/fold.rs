//! Case-folded search: a lower-cased copy of a text with the same byte offsets, and
//! patterns written in lower case that search it.
//!
//! A case-insensitive pattern of many words (`(?i)credit|refund|...`) leaves the regex
//! engine no literal to skip to (each letter has two forms, and the word sets outgrow
//! its limits), so its automaton walks every byte, about 600 MB/s here. The same words,
//! case-sensitive, over a folded copy are found by a vectorised prefilter at several
//! GB/s, and the copy costs one pass.

use regex::{CaptureMatches, Matches, Regex};

/// A text with ASCII and Latin-1 capitals lower-cased, byte for byte: a match found in
/// it is a match at the same offsets in the original text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Folded(String);

impl Folded {
    /// Folds `text`: A-Z and À-Þ (except ×) become a-z and à-þ. Both forms have the
    /// same length in UTF-8, so offsets and character boundaries do not move.
    pub fn new(text: &str) -> Folded {
        let mut folded = text.to_ascii_lowercase();
        // U+00C0-U+00DE are C3 80-9E in UTF-8, their lower case C3 A0-BE: one byte moves.
        for at in memchr::memchr_iter(0xC3, text.as_bytes()) {
            let Some(c) = text.get(at..at + 2).and_then(|s| s.chars().next()) else {
                continue;
            };
            if ('À'..='Þ').contains(&c) && c != '×' {
                let lower = char::from_u32(u32::from(c) + 0x20).unwrap_or(c);
                folded.replace_range(at..at + 2, lower.encode_utf8(&mut [0; 4]));
            }
        }
        Folded(folded)
    }

    /// The folded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Folded texts joined, each followed by a line break.
    pub fn joined<'a>(parts: impl Iterator<Item = &'a Folded> + Clone) -> Folded {
        let len = parts.clone().map(|p| p.0.len() + 1).sum();
        let mut joined = String::with_capacity(len);
        for p in parts {
            joined.push_str(&p.0);
            joined.push('\n');
        }
        Folded(joined)
    }
}

/// A pattern that searches folded text; written in lower case, compiled case-sensitive.
#[derive(Debug, Clone)]
pub struct FoldedRegex {
    re: Regex,
    /// Whether the pattern has an anchor (`^`, `$`, `\A`, `\z`), which depends on
    /// where the text ends.
    anchored: bool,
}

impl FoldedRegex {
    /// Compiles a built-in pattern (as [`crate::regex`] does). A capital letter outside
    /// an escape could never match folded text: that is a programming error, caught by
    /// every unit test that compiles the pattern.
    pub fn new(pattern: &str) -> FoldedRegex {
        FoldedRegex {
            re: folded_regex(pattern),
            anchored: has_anchor(pattern),
        }
    }

    /// Whether the pattern occurs in the text.
    pub fn is_match(&self, text: &Folded) -> bool {
        self.re.is_match(text.as_str())
    }

    /// The first match at or after byte `start`; the text before it is context (`\b`).
    pub fn find_at<'h>(&self, text: &'h Folded, start: usize) -> Option<regex::Match<'h>> {
        self.re.find_at(text.as_str(), start)
    }

    /// Whether the pattern has an anchor (`^`, `$`, `\A`, `\z`), which depends on where
    /// the text ends.
    pub fn anchored(&self) -> bool {
        self.anchored
    }

    /// Every match; spans are valid in the original text too.
    pub fn find_iter<'r, 'h>(&'r self, text: &'h Folded) -> Matches<'r, 'h> {
        self.re.find_iter(text.as_str())
    }

    /// Every match with its groups; spans are valid in the original text too.
    pub fn captures_iter<'r, 'h>(&'r self, text: &'h Folded) -> CaptureMatches<'r, 'h> {
        self.re.captures_iter(text.as_str())
    }
}

/// Compiles a built-in lower-case pattern for folded text, where a caller keeps it
/// among plain patterns (its haystack must then be a [`Folded`] text's `as_str`).
#[allow(clippy::panic)]
pub(crate) fn folded_regex(pattern: &str) -> Regex {
    if let Some(c) = capital_outside_escapes(pattern) {
        panic!("folded pattern has the capital {c:?}: {pattern}");
    }
    crate::regex(pattern)
}

/// Builds a [`FoldedRegex`] on first use, like `re!`.
macro_rules! re_folded {
    ($pattern:expr $(,)?) => {
        $crate::mail::pattern::Pattern::new(|| $crate::extract::fold::FoldedRegex::new($pattern))
    };
}
pub(crate) use re_folded;

/// Whether a pattern has `^` or `$` outside a class, or `\A` or `\z`.
fn has_anchor(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    let mut class_depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.next(), Some('A' | 'z')) && class_depth == 0 => return true,
            '\\' => {}
            '[' => {
                class_depth += 1;
                // "[^" negates, "[]" or "[^]" starts with a literal bracket.
                if chars.clone().next() == Some('^') {
                    chars.next();
                }
                if chars.clone().next() == Some(']') {
                    chars.next();
                }
            }
            ']' if class_depth > 0 => class_depth -= 1,
            '^' | '$' if class_depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// The first capital letter that is not part of an escape (`\b`, `\D`, `\p{Lu}`, ...).
fn capital_outside_escapes(pattern: &str) -> Option<char> {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if matches!(chars.next(), Some('p' | 'P')) && chars.clone().next() == Some('{') {
                chars.by_ref().find(|&c| c == '}');
            }
        } else if c.is_uppercase() {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_offsets_and_lowers_latin_1() {
        let text = "ÜBER Sie: SLA-Gutschrift, 5 × ÄÖÜ ß Ā €";
        let folded = Folded::new(text);
        assert_eq!(folded.as_str(), "über sie: sla-gutschrift, 5 × äöü ß Ā €");
        assert_eq!(folded.as_str().len(), text.len());
        for (a, b) in text.char_indices().zip(folded.as_str().char_indices()) {
            assert_eq!(a.0, b.0);
        }
    }

    #[test]
    fn folded_pattern_finds_any_case_at_the_original_offsets() {
        let re = FoldedRegex::new(r"(über|\bcredit\b)");
        let text = "Ein Antrag ÜBER die Gutschrift, a Credit.";
        let folded = Folded::new(text);
        let found: Vec<&str> = re
            .captures_iter(&folded)
            .filter_map(|c| c.get(1))
            .map(|g| &text[g.range()])
            .collect();
        assert_eq!(found, ["ÜBER", "Credit"]);
    }

    #[test]
    fn anchors_are_told_from_negated_classes() {
        assert!(!has_anchor(r"\bcredit\b[^.]{0,20}\b(?:yes|ja)\b"));
        assert!(!has_anchor(r"[]^$]|a\$b|\^"));
        assert!(has_anchor(r"(?:foo|bar)$"));
        assert!(has_anchor(r"(?m)^total"));
        assert!(has_anchor(r"\Aok"));
    }

    #[test]
    fn capitals_are_refused_outside_escapes() {
        assert_eq!(capital_outside_escapes(r"\bcredit\D\p{Lu}\W"), None);
        assert_eq!(capital_outside_escapes(r"(?i)credit"), None);
        assert_eq!(capital_outside_escapes(r"[A-Z]\d"), Some('A'));
        assert_eq!(capital_outside_escapes(r"über|Ärger"), Some('Ä'));
    }
}
