//! The `slaclaim extract` command's contract: output shape and exit codes.

use crate::util::{shared, slaclaim, temp_dir};
use serde_json::Value;

const REQUIRED: [&str; 11] = [
    "kind",
    "incident_ids",
    "tenant_ids",
    "ticket_refs",
    "downtime",
    "affected_users",
    "locations",
    "purchased_via_csp",
    "credit_requested",
    "advisory",
    "language",
];

#[test]
fn one_file_prints_one_object_with_every_key() {
    let file = shared().join("corpus/msg_0020.eml");
    let out = slaclaim(["extract".as_ref(), file.as_os_str()]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    for key in REQUIRED.iter().chain(&[
        "message_id",
        "from",
        "date",
        "subject",
        "sender_domain",
        "incidents",
        "resolution_attempts",
        "contact",
        "evidence",
    ]) {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["incidents"][0]["service"], "Exchange Online");
    assert_eq!(v["contact"]["phone"], "+31 10 555 0142");
    assert!(
        v["evidence"]["tenant_ids"]["source"]
            .as_str()
            .is_some_and(|s| s.contains("Tenant ID"))
    );
}

#[test]
fn several_files_print_one_line_each_with_file_key() {
    let dir = shared().join("corpus");
    let a = dir.join("msg_0001.eml");
    let b = dir.join("msg_0003.eml");
    let out = slaclaim(["extract".as_ref(), a.as_os_str(), b.as_os_str()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for (line, file) in lines.iter().zip([&a, &b]) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {e}"));
        assert_eq!(v["file"], file.display().to_string());
    }
}

#[test]
fn unreadable_file_is_a_one_line_error_and_non_zero() {
    let out = slaclaim(["extract", "/nonexistent/mail.eml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot read /nonexistent/mail.eml"), "{err}");
}

#[test]
fn garbage_bytes_exit_zero_with_json() {
    let dir = temp_dir("cli-garbage");
    let file = dir.join("garbage.eml");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&file, bytes).unwrap_or_else(|e| panic!("{e}"));
    let out = slaclaim(["extract".as_ref(), file.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    assert!(v["kind"].is_string());
}

#[test]
fn bad_config_names_the_key_and_line() {
    let dir = temp_dir("cli-config");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "[extract]\n\npartner-namez = [\"x\"]\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let mail = shared().join("corpus/msg_0001.eml");
    let out = slaclaim([
        "--config".as_ref(),
        cfg.as_os_str(),
        "extract".as_ref(),
        mail.as_os_str(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("partner-namez") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn configured_prefix_is_found_and_named() {
    let dir = temp_dir("cli-prefix");
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        "[extract]\nextra-incident-prefixes = { CP = \"Microsoft Copilot\" }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mail = dir.join("m.eml");
    std::fs::write(&mail, "From: a@contoso.example\nSubject: credit request\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\nPlease claim an SLA credit for CP1234567, tenant 11111111-2222-4333-8444-555555555555.\n").unwrap_or_else(|e| panic!("{e}"));
    let out = slaclaim([
        "--config".as_ref(),
        cfg.as_os_str(),
        "extract".as_ref(),
        mail.as_os_str(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON: {e}"));
    assert_eq!(v["incident_ids"][0], "CP1234567");
    assert_eq!(v["incidents"][0]["service"], "Microsoft Copilot");
}

#[test]
fn example_config_is_valid() {
    let path = crate::util::repo().join("config/slaclaim.example.toml");
    let config = slaclaim::config::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.extract.prefixes().contains_key("CP"));
    assert_eq!(config.extract.partner_names, ["Cloudwise"]);
}
