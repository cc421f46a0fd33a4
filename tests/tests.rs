//! Integration tests: the real `slaclaim` binary on real mail. One test binary, many modules.

// Test code: an unwrap is an assertion (clippy.toml allows it in test functions; this
// covers their helpers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod classes;
mod cli;
mod corpus;
mod corrections;
mod cyrus;
mod dovecot;
mod e2e;
mod graph;
mod imap;
mod layout;
mod ledger;
mod maildir;
mod mailout;
mod oauth2;
mod pg_server;
mod poison;
mod postfix;
mod postgres;
mod robustness;
mod smtp;
mod store;
mod transport;
mod trust;
mod util;
mod worst;
