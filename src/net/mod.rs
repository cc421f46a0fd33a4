//! Network plumbing shared by mail in and mail out: TLS and credentials.

pub mod credentials;
pub mod tls;
