//! slaclaim: turns a CSP partner's support mailbox into ready-to-submit SLA credit claims.
//!
//! Data flows one way: message -> classify/extract -> (store -> claim -> draft -> outbox).

#![forbid(unsafe_code)]

/// A lazily compiled built-in pattern: `static X: LazyLock<Regex> = re!(r"...");`.
macro_rules! re {
    ($pattern:expr $(,)?) => {
        std::sync::LazyLock::new(|| $crate::regex($pattern))
    };
}

pub mod claim;
pub mod classify;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod eval;
pub mod extract;
pub mod html;
pub mod ingest;
pub mod message;
pub mod quote;
pub mod report;
pub mod source;
pub mod store;

use regex::Regex;

/// Compiles a pattern that is part of the source code.
///
/// Every caller passes a literal that the unit tests compile, so a failure here is a
/// programming error caught by `cargo test`, never a reaction to input.
#[allow(clippy::expect_used)]
pub(crate) fn regex(pattern: &str) -> Regex {
    Regex::new(&ascii_boundaries(pattern)).expect("built-in pattern compiles")
}

/// Makes `\b` an ASCII word boundary. A Unicode `\b` stops regex's lazy DFA at the first
/// non-ASCII byte and falls back to the slow NFA for the whole text (5x slower on
/// European mail); every boundary we need sits next to ASCII digits or keywords.
pub fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}
