//! Network plumbing shared by mail in and mail out: TLS and credentials.

pub mod credentials;
pub mod tls;

/// Whether `host` names the local machine by itself: "localhost" or a loopback address
/// (IPv6 with or without brackets). A name that a resolver maps to loopback is not: a
/// password is only sent in clear where the configuration alone says it stays local.
pub fn is_loopback_name(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_name;

    #[test]
    fn loopback_by_name_alone() {
        for host in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_name(host), "{host}");
        }
        for host in [
            "mail.example",
            "10.0.0.1",
            "localhost.example",
            "::ffff:8.8.8.8",
            "",
        ] {
            assert!(!is_loopback_name(host), "{host}");
        }
    }
}
