//! Mail sources: where messages come from before they are ingested.

pub mod imap;
pub mod maildir;
