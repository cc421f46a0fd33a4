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
    std::fs::write(&file, bytes).unwrap();
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
    std::fs::write(&cfg, "[extract]\n\npartner-namez = [\"x\"]\n").unwrap();
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
    .unwrap();
    let mail = dir.join("m.eml");
    std::fs::write(&mail, "From: a@contoso.example\nSubject: credit request\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\nPlease claim an SLA credit for CP1234567, tenant 11111111-2222-4333-8444-555555555555.\n").unwrap();
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
    let config = slaclaim::app::config::Config::load(&path).unwrap();
    assert!(config.extract.prefixes().contains_key("CP"));
    assert_eq!(config.extract.partner_names, ["Cloudwise"]);
}

/// config/demo.toml as shipped, with its relative paths pointed at `dir` and the repo,
/// then `edit`ed; written to dir/demo.toml, whose path is returned.
fn demo_config(dir: &std::path::Path, edit: impl FnOnce(String) -> String) -> std::path::PathBuf {
    let repo = crate::util::repo();
    let text = std::fs::read_to_string(repo.join("config/demo.toml"))
        .unwrap()
        .replace(
            "\"state/demo",
            &format!("\"{}", dir.join("state").display()),
        )
        .replace(
            "\"examples/mailbox\"",
            &format!("\"{}\"", repo.join("examples/mailbox").display()),
        );
    // The demo's Maildir, filled with the sample mails of examples/mailbox.
    let maildir = dir.join("state/maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    for file in crate::util::files(&repo.join("examples/mailbox/new"), "eml") {
        std::fs::copy(&file, maildir.join("new").join(file.file_name().unwrap())).unwrap();
    }
    let config = dir.join("demo.toml");
    std::fs::write(&config, edit(text)).unwrap();
    config
}

#[test]
fn demo_config_runs_the_daemon_writes_drafts_and_leaves_the_samples_alone() {
    // The demo config as shipped, with its relative paths pointed at a temp dir.
    let dir = crate::util::temp_dir("demo");
    let repo = crate::util::repo();
    let config = demo_config(&dir, |t| t);
    let samples_before = crate::util::files(&repo.join("examples/mailbox/new"), "eml").len();
    let check = crate::util::slaclaim([
        "check-config".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(String::from_utf8_lossy(&check.stdout).starts_with("ok"));

    let child = crate::util::command(&dir.join("state"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let outbox = dir.join("state/outbox");
    let started = std::time::Instant::now();
    let count = |d: &std::path::Path| std::fs::read_dir(d).map_or(0, |e| e.count());
    while count(&outbox) < 2 && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    // The command says where the drafts are.
    assert!(
        log.contains(&format!("files in {}", outbox.display())),
        "{log}"
    );
    let drafts: Vec<String> = crate::util::files(&outbox, "eml")
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|m| m.contains("Draft SLA credit claim"))
        .collect();
    assert!(
        !drafts.is_empty(),
        "no drafts in {}: {log}",
        outbox.display()
    );
    assert_eq!(
        crate::util::files(&repo.join("examples/mailbox/new"), "eml").len(),
        samples_before,
        "the sample Maildir was changed"
    );
}

#[test]
fn check_config_lists_every_problem() {
    let dir = crate::util::temp_dir("check-config");
    let config = dir.join("bad.toml");
    std::fs::write(
        &config,
        "[deadline]\ntime-zone = \"Mars/Olympus\"\n[reminders]\ndigest = \"0 8 * * 1\"\nmanagers = [\"not an address\"]\n[[imap]]\nname = \"x\"\nhost = \"h\"\nuser = \"u\"\npassword-file = \"/nonexistent/secret\"\n",
    )
    .unwrap();
    let out = crate::util::slaclaim([
        "check-config".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    for expected in [
        "Mars/Olympus",
        "seconds field first",
        "not an address",
        "/nonexistent/secret",
    ] {
        assert!(text.contains(expected), "{expected} not in: {text}");
    }
    // An unknown key is named with its line.
    std::fs::write(
        &config,
        "[outbox]\nfrom = \"a@b.example\"\nfrom-name = \"x\"\n",
    )
    .unwrap();
    let out = crate::util::slaclaim([
        "check-config".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("from-name") && text.contains("line 3"),
        "{text}"
    );
}

#[test]
fn dry_run_writes_mail_to_the_file_outbox_instead_of_sending() {
    // SMTP configured at a closed port: with --dry-run nothing is attempted there.
    let dir = crate::util::temp_dir("dry-run");
    let config = demo_config(&dir, |t| {
        t.replace(
            "transport = \"file\"",
            "transport = \"smtp\"\nhost = \"127.0.0.1\"\nport = 9\ntls = \"plain\"",
        )
    });
    let child = crate::util::command(&dir.join("state"))
        .args(["run", "--dry-run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let outbox = dir.join("state/outbox");
    let count = |d: &std::path::Path| std::fs::read_dir(d).map_or(0, |e| e.count());
    let started = std::time::Instant::now();
    while count(&outbox) < 2 && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("dry run"), "{log}");
    assert!(count(&outbox) >= 2, "{log}");
    assert!(
        !log.contains("mail deferred"),
        "something tried SMTP: {log}"
    );
}

#[test]
fn systemd_hears_ready_status_and_stopping() {
    // A NOTIFY_SOCKET of our own stands in for systemd.
    let dir = crate::util::temp_dir("sd-notify");
    let config = demo_config(&dir, |t| t);
    let socket_path = dir.join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut child = crate::util::command(&dir.join("state"))
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut heard = String::new();
    let mut buf = [0u8; 4096];
    while !(heard.contains("READY=1") && heard.contains("STATUS=")) {
        let Ok(n) = socket.recv(&mut buf) else { break };
        heard.push_str(&String::from_utf8_lossy(&buf[..n]));
        heard.push('\n');
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    while !heard.contains("STOPPING=1") {
        let Ok(n) = socket.recv(&mut buf) else { break };
        heard.push_str(&String::from_utf8_lossy(&buf[..n]));
        heard.push('\n');
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    for expected in ["READY=1", "STATUS=messages", "STOPPING=1"] {
        assert!(heard.contains(expected), "{expected} not in {heard}");
    }
}

#[test]
fn sighup_applies_new_draft_recipients_names_what_needs_a_restart_and_refuses_a_broken_config() {
    let dir = crate::util::temp_dir("reload");
    let maildir = dir.join("mail");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let repo = crate::util::repo();
    let mailbox = repo.join("examples/mailbox").display().to_string();
    let point = |t: String| {
        t.replace(&mailbox, &maildir.display().to_string())
            .replace("read-only = true", "read-only = false")
    };
    let config = demo_config(&dir, point);
    let text = std::fs::read_to_string(&config).unwrap();
    let log_path = dir.join("daemon.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = crate::util::command(&dir.join("state"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let started = std::time::Instant::now();
        while !done() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "no {what}: {}",
                log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let pid = child.id().to_string();
    let signal = |sig: &str| {
        let _ = std::process::Command::new("kill")
            .args([sig, pid.as_str()])
            .status();
    };
    wait_for("start", &|| log().contains("watching 1 Maildir"));

    // New helpdesk address (applied) and a new outbox directory (needs a restart).
    let edited = text
        .replace(
            "helpdesk = [\"helpdesk@cloudwise-partners.example\"]",
            "helpdesk = [\"claims-desk@cloudwise-partners.example\"]",
        )
        .replace("state/outbox\"", "state/elsewhere\"");
    assert_ne!(edited, text);
    std::fs::write(&config, &edited).unwrap();
    signal("-HUP");
    wait_for("reload", &|| {
        log().contains("drafts, reminders, customers and templates re-read")
    });
    assert!(log().contains("sections=outbox"), "{}", log());

    // A request arriving now is drafted for the new address, into the outbox as started.
    std::fs::write(maildir.join("tmp/req.eml"), crate::e2e::request(1, true)).unwrap();
    std::fs::rename(maildir.join("tmp/req.eml"), maildir.join("new/req.eml")).unwrap();
    let outbox = dir.join("state/outbox");
    let drafts = || {
        if !outbox.is_dir() {
            return Vec::new();
        }
        crate::util::files(&outbox, "eml")
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter(|m| m.contains("Draft SLA credit claim"))
            .collect::<Vec<String>>()
    };
    wait_for("draft", &|| !drafts().is_empty());
    let draft = &drafts()[0];
    assert!(
        draft.contains("To: claims-desk@cloudwise-partners.example"),
        "{draft}"
    );
    assert!(!dir.join("state/elsewhere").exists());

    // The same file again: the outbox change is still not applied, and said so again.
    signal("-HUP");
    wait_for("second reload", &|| {
        log().matches("sections=outbox").count() == 2
    });

    // A broken file is refused whole; the daemon runs on.
    std::fs::write(&config, edited.replace("claims-desk@", "not an address@")).unwrap();
    signal("-HUP");
    wait_for("refusal", &|| log().contains("reload refused"));
    assert!(
        child.try_wait().ok().flatten().is_none(),
        "the daemon stopped: {}",
        log()
    );
    signal("-TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", log());
}

#[test]
fn no_config_error_shows_a_secret() {
    let dir = temp_dir("check-config-secret");
    // A secret of the kind people paste: generated, so no fixed string can pass.
    let secret: String = (0..24)
        .map(|i| char::from(b"Kq7$wZ2pL9xR4mT8vB1nC6yH"[(i * 7 + 3) % 24]))
        .collect();
    let base = "[[imap]]\nname = \"m\"\nhost = \"h\"\nuser = \"u\"\npassword-file = \"/run/x\"\n";
    for broken in [
        format!("password = {secret}\n"),
        format!("password = \"{secret}\n"),
        format!("port = \"{secret}\"\n"),
        format!("tls = \"{secret}\"\n"),
        format!("[outbox]\nuser = {secret}\n"),
        format!("password-env = \"{secret}\" extra\n"),
    ] {
        let path = dir.join("slaclaim.toml");
        std::fs::write(&path, format!("{base}{broken}")).unwrap();
        let out = slaclaim([
            "--config".as_ref(),
            path.as_os_str(),
            "check-config".as_ref(),
        ]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{broken}: {all}");
        assert!(
            all.contains("line 6") || all.contains("line 7"),
            "{broken}: {all}"
        );
        assert!(
            !all.contains(&secret),
            "{broken}: the secret was printed: {all}"
        );
        // The daemon refuses the same file with the same care.
        let run = slaclaim(["--config".as_ref(), path.as_os_str(), "run".as_ref()]);
        let all = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success());
        assert!(
            !all.contains(&secret),
            "{broken}: run printed the secret: {all}"
        );
    }
}

/// The man page shipped in the package (deploy/slaclaim.1) is rendered from the CLI
/// definition; this fails when it is stale. `SLACLAIM_BLESS=1` writes it anew.
#[test]
fn the_man_page_is_current() {
    use clap::CommandFactory;
    let page = man_page(slaclaim::cli::Cli::command());
    let path = crate::util::repo().join("deploy/slaclaim.1");
    if std::env::var_os("SLACLAIM_BLESS").is_some() {
        std::fs::write(&path, &page).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == page,
        "deploy/slaclaim.1 is stale: run `SLACLAIM_BLESS=1 cargo test --test integration the_man_page_is_current` and commit it"
    );
}

/// One page: the global part as clap_mangen renders it, then every command with its
/// usage, description and options (instead of clap_mangen's pointers to per-command
/// pages the package does not ship).
fn man_page(cmd: clap::Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page).unwrap();
    man.render_name_section(&mut page).unwrap();
    man.render_synopsis_section(&mut page).unwrap();
    man.render_description_section(&mut page).unwrap();
    man.render_options_section(&mut page).unwrap();
    let esc = |t: &str| {
        let t = t.replace('\\', "\\e").replace('-', "\\-");
        t.lines()
            .map(|l| {
                if l.starts_with(['.', '\'']) {
                    format!("\\&{l}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut text = String::from(".SH COMMANDS\n");
    // Commands, and the commands of commands (`outbox resend`), each with its full name.
    let mut subs: Vec<(String, clap::Command)> = Vec::new();
    for sub in cmd.get_subcommands() {
        let name = format!("slaclaim {}", sub.get_name());
        if sub.has_subcommands() {
            for inner in sub.get_subcommands() {
                subs.push((format!("{name} {}", inner.get_name()), inner.clone()));
            }
        } else {
            subs.push((name, sub.clone()));
        }
    }
    for (name, sub) in subs {
        let mut sub = sub.bin_name(name);
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage: ");
        text.push_str(&format!(".TP\n\\fB{}\\fR\n", esc(usage)));
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        text.push_str(&format!("{}\n", esc(&about)));
        let args: Vec<_> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_id() != "help")
            .collect();
        if !args.is_empty() {
            text.push_str(".RS\n");
            for a in args {
                let name = match (a.get_long(), a.get_value_names()) {
                    (Some(l), Some(v)) if a.get_action().takes_values() => {
                        format!("\\-\\-{} <{}>", esc(l), esc(&v[0]))
                    }
                    (Some(l), _) => format!("\\-\\-{}", esc(l)),
                    (None, _) => format!("<{}>", esc(a.get_id().as_str())),
                };
                let help = a
                    .get_long_help()
                    .or(a.get_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                text.push_str(&format!(".TP\n{name}\n{}\n", esc(&help)));
            }
            text.push_str(".RE\n");
        }
    }
    page.extend_from_slice(text.as_bytes());
    man.render_version_section(&mut page).unwrap();
    page
}

#[test]
fn check_config_reads_the_services_credentials_from_the_secrets_directory() {
    let dir = crate::util::temp_dir("check-credentials");
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let config = dir.join("slaclaim.toml");
    let text = |outbox: &str| {
        format!(
            "[[imap]]\nname = \"support\"\nhost = \"imap.partner.example\"\nuser = \"support@partner.example\"\npassword-file = \"/run/credentials/slaclaim.service/imap-password\"\n[outbox]\nfrom = \"claims@partner.example\"\ndir = \"{outbox}\"\n[drafts]\nhelpdesk = [\"helpdesk@partner.example\"]\n[reminders]\nmanagers = [\"manager@partner.example\"]\n[staff]\naddresses = [\"staff@partner.example\"]\n"
        )
    };
    std::fs::write(&config, text("/var/lib/slaclaim/outbox")).unwrap();
    let check = |extra: &[&str], unit: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_slaclaim"));
        cmd.arg("--config")
            .arg(&config)
            .arg("check-config")
            .args(extra);
        if unit {
            cmd.env("INVOCATION_ID", "0123456789abcdef");
        } else {
            cmd.env_remove("INVOCATION_ID");
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    // From a shell the credential is not there: not ok, and it says which.
    let (code, text_out) = check(&[], false);
    assert_eq!(code, Some(1), "{text_out}");
    assert!(text_out.contains("imap-password"), "{text_out}");
    // Read from the secrets directory instead, the file missing, then present.
    let dir_arg = secrets.to_str().unwrap();
    let (code, text_out) = check(&["--credentials-dir", dir_arg], false);
    assert_eq!(code, Some(1), "{text_out}");
    std::fs::write(secrets.join("imap-password"), "s3cret").unwrap();
    let (code, text_out) = check(&["--credentials-dir", dir_arg], false);
    assert_eq!(code, Some(0), "{text_out}");
    assert!(text_out.starts_with("ok"), "{text_out}");
    assert!(!text_out.contains("s3cret"));
    // Under systemd (ExecStartPre) a relative path is refused: the unit's cwd is /.
    std::fs::write(&config, text("outbox")).unwrap();
    let (code, text_out) = check(&["--credentials-dir", dir_arg], true);
    assert_eq!(code, Some(1), "{text_out}");
    assert!(text_out.contains("is relative"), "{text_out}");
    let (code, _) = check(&["--credentials-dir", dir_arg], false);
    assert_eq!(
        code,
        Some(0),
        "from a shell the relative path is the admin's choice"
    );
}

#[test]
fn run_on_the_unfinished_skeleton_starts_and_warns() {
    use std::io::BufRead;
    let dir = crate::util::temp_dir("run-skeleton");
    let mut child = crate::util::command(&dir.join("state"))
        .arg("--config")
        .arg(crate::util::repo().join("deploy/slaclaim.toml"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut log = Vec::new();
    let mut lines = std::io::BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let ready = line.starts_with("slaclaim: watching");
        log.push(line);
        if ready {
            break;
        }
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    // Read on to the end: the daemon logs its stop.
    log.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let log = log.join("\n");
    assert!(status.success(), "{log}");
    assert!(
        log.contains("slaclaim: watching 0 Maildir(s) and 0 IMAP mailbox(es)"),
        "{log}"
    );
    for missing in ["no mailbox", "no helpdesk address", "no staff address"] {
        assert!(log.contains(missing), "{missing}: {log}");
    }
}

#[test]
fn the_demo_refuses_a_store_url_and_leaves_the_state_alone() {
    // It empties its ledger at every run: a shared database must never be its ledger.
    let dir = crate::util::temp_dir("demo-store-url");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slaclaim"))
        .args(["demo", "--state-dir"])
        .arg(dir.join("state"))
        .env(
            "SLACLAIM_STORE_URL",
            "postgres://slaclaim@127.0.0.1:9/ledger",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("does not use a store URL"), "{said}");
    assert!(!dir.join("state").exists());
}
