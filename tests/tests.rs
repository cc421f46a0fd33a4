//! Integration tests: the real `slaclaim` binary on real mail. One test binary, many modules.

mod cli;
mod corpus;
mod cyrus;
mod dovecot;
mod e2e;
mod imap;
mod ledger;
mod maildir;
mod mailout;
mod oauth2;
mod poison;
mod postfix;
mod robustness;
mod smtp;
mod transport;
mod util;
mod worst;
