//! Mail sources: where messages come from before they are ingested.

pub mod graph;
pub mod imap;
pub mod maildir;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

/// How a source is doing, shared with the daemon's health check and metrics: failures
/// in a row and the last one's error.
#[derive(Debug, Default)]
pub struct SourceHealth {
    failures: AtomicU32,
    passes: AtomicU64,
    last_error: Mutex<String>,
    problem: Mutex<Option<String>>,
}

impl SourceHealth {
    /// A failure: counts one more in a row.
    pub fn failed(&self, error: &str) {
        self.failures.fetch_add(1, Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            error.clone_into(&mut last);
        }
    }

    /// A success: the run of failures is over.
    pub fn succeeded(&self) {
        self.failures.store(0, Relaxed);
        self.passes.fetch_add(1, Relaxed);
    }

    /// Successes since start (for a Maildir: scans).
    pub fn passes(&self) -> u64 {
        self.passes.load(Relaxed)
    }

    /// A configuration problem that fails health at once while it lasts (a folder that
    /// does not exist), or None when it is solved.
    pub fn set_problem(&self, problem: Option<String>) {
        if let Ok(mut p) = self.problem.lock() {
            *p = problem;
        }
    }

    /// The configuration problem, if any.
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().ok().and_then(|p| p.clone())
    }

    /// Failures in a row and the last error.
    pub fn failing(&self) -> (u32, String) {
        let last = self
            .last_error
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        (self.failures.load(Relaxed), last)
    }
}
