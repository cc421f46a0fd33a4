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

pub mod classify;
pub mod cli;
pub mod config;
pub mod eval;
pub mod extract;
pub mod html;
pub mod message;
pub mod quote;

use regex::Regex;

/// Compiles a pattern that is part of the source code.
///
/// Every caller passes a literal that the unit tests compile, so a failure here is a
/// programming error caught by `cargo test`, never a reaction to input.
#[allow(clippy::expect_used)]
pub(crate) fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}
