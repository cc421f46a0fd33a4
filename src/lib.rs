//! slaclaim: turns a CSP partner's support mailbox into ready-to-submit SLA credit claims.
//!
//! Mail flows one way, and each module imports only the ones below it
//! (`tests/layout.rs` checks it):
//!
//! ```text
//! cli       the command line
//! app       config file (sections owned by their modules), daemon wiring, metrics,
//!           the first-run demo
//! inbound   IMAP (IDLE, custody) and Maildir: raw messages in; Graph: Microsoft's
//!           record of an incident
//! outbound  planner (what is due), drafts and reminders, the outbox (sent once)
//! ledger    ingest (a message into claims, once), claims, their evidence and status
//!           moves (lifecycle), deadlines, staff commands and corrections, trust,
//!           reports
//! extract   pure reading: the kind of message and every field, with confidence
//! mail      bytes to text: MIME, HTML, quotes, Authentication-Results, patterns
//! store     SQLite: the ledger's tables, custody inbox, outbox rows (at the side)
//! net       TLS and credentials (at the side)
//! ```
//!
//! One message: inbound takes it into custody → ledger::ingest has it parsed (mail) and
//! read (extract) → its claims change in the store → outbound::planner sees what is
//! due → the outbox sends it → inbound lets the message go.

#![deny(unsafe_code)]

/// A built-in pattern compiled on first use: `static X: Pattern<Regex> = re!(r"...");`.
macro_rules! re {
    ($pattern:expr $(,)?) => {
        $crate::mail::pattern::Pattern::new(|| $crate::regex($pattern))
    };
}

pub mod app;
pub mod cli;
pub mod extract;
pub mod inbound;
pub mod ledger;
pub mod mail;
pub mod net;
pub mod outbound;
pub mod store;

use regex::Regex;

/// A moment as the ledger and the JSON output write it: RFC 3339 in UTC to the second
/// ("2026-03-01T10:00:00Z"), so that stamps sort as text in time order.
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// [`stamp`] to the millisecond, for a column whose rows share seconds and must keep
/// their order (outbox attempts, schedule marks). Never mixed with [`stamp`] in one
/// column: "…00Z" sorts after "…00.123Z".
pub fn stamp_ms(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The largest char boundary of `s` at or below byte `at`: where to cut a text to at
/// most `at` bytes.
pub fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    // A UTF-8 character is at most 4 bytes: the search steps back at most 3 times.
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// Compiles a pattern that is part of the source code.
///
/// Every caller passes a literal that the unit tests compile, so a failure here is a
/// programming error caught by `cargo test`, never a reaction to input.
#[allow(clippy::expect_used)]
pub(crate) fn regex(pattern: &str) -> Regex {
    Regex::new(&ascii_pattern(pattern)).expect("built-in pattern compiles")
}

/// Rewrites a pattern for speed on European mail: ASCII `\b` and ASCII `\d`.
pub fn ascii_pattern(pattern: &str) -> String {
    ascii_digits(&ascii_boundaries(pattern))
}

/// Makes `\b` an ASCII word boundary. A Unicode `\b` stops regex's lazy DFA at the first
/// non-ASCII byte and falls back to the slow NFA for the whole text (5x slower on
/// European mail); every boundary we need sits next to ASCII digits or keywords.
fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// Makes `\d` mean the ASCII digits 0-9, inside and outside classes.
///
/// A Unicode `\d` has hundreds of code points; under a counted repetition such as
/// `[\d-]{2,22}` it multiplies the lazy DFA's states until its cache thrashes. No caller
/// can use another script's digits anyway: `str::parse` accepts only ASCII ones.
fn ascii_digits(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ascii_pattern;

    #[test]
    fn digits_and_boundaries_become_ascii() {
        assert_eq!(
            ascii_pattern(r"\b\d{2}[\d.-]\b"),
            r"(?-u:\b)[0-9]{2}[0-9.-](?-u:\b)"
        );
        // Other escapes, escaped brackets and a literal backslash-d stay as written.
        assert_eq!(ascii_pattern(r"\s\w[\]\d]\\d"), r"\s\w[\]0-9]\\d");
    }
}
