//! Staff corrections, by reply through the real ingest path and from the real binary:
//! every form, precedence over later customer mail, forgery, the v2 draft and its
//! changes, and the answer to a line that cannot be read.

use crate::mailout::{cycle, eml_files, ingest, parse};
use crate::trust::{CUSTOMER, TENANT, from_customer, now, opened_ticket, passed, staff};
use serde_json::{Value, json};
use slaclaim::ledger::evidence::Evidence;
use slaclaim::ledger::ingest::Outcome;
use slaclaim::store::Store;

const STAFF_DOMAIN: &str = "cloudwise-partners.example";

/// The Message-ID of the newest draft in the file outbox, and every mail there parsed.
fn outbox(dir: &std::path::Path) -> Vec<crate::mailout::Parsed> {
    eml_files(&dir.join("outbox"))
        .iter()
        .map(|raw| parse(raw))
        .collect()
}

/// An authenticated staff reply to `draft` (its Message-ID) with `body` on top.
fn reply(draft: &str, body: &str) -> String {
    staff(
        &passed(STAFF_DOMAIN),
        &format!("In-Reply-To: <{draft}>\r\nReferences: <{draft}>\r\n"),
        "Re: [SLA-1] Draft SLA credit claim",
        body,
    )
}

fn evidence(store: &Store) -> (slaclaim::store::ClaimRow, Evidence) {
    let c = store.all_claims().unwrap().remove(0);
    let e = Evidence::of_claim(store, c.id).unwrap();
    (c, e)
}

/// SLA-1 opened and its first draft sent; returns that draft's Message-ID.
async fn drafted(
    name: &str,
) -> (
    std::path::PathBuf,
    slaclaim::app::config::Config,
    Store,
    String,
) {
    let (dir, config, mut store) = opened_ticket(name);
    cycle(&mut store, &config, now()).await;
    let drafts = outbox(&dir);
    assert_eq!(drafts.len(), 1, "one first draft");
    assert!(!drafts[0].subject.contains("(v2)"));
    let id = drafts[0].message_id.clone();
    (dir, config, store, id)
}

#[tokio::test]
async fn every_reply_form_applies_and_the_next_draft_is_v2_listing_the_changes() {
    let (dir, config, mut store, draft) = drafted("corrections-reply").await;
    let body = format!(
        "Hi,\r\n\r\nusers: 120 Amsterdam, 20 Utrecht\r\ndowntime: 2026-11-05 13:00-15:45 CET\r\ndowntime: add 2026-11-06 08:00-08:20 CET\r\ncsp: no\r\nticket: 48213\r\ncontact: Ilse Vos <ilse.vos@{CUSTOMER}>, +31 38 555 0199\r\nattempts: reinstalled Teams on every laptop\r\nincident: TM4409124\r\ncsp: maybe\r\n\r\nSanne\r\n"
    );
    let out = ingest(&mut store, &config, reply(&draft, &body).as_bytes(), now());
    let Outcome::Command { applied, .. } = &out else {
        panic!("{out:?}");
    };
    assert!(
        applied.contains("8 correction(s) applied") && applied.contains("1 not read"),
        "{applied}"
    );
    let (c, e) = evidence(&store);
    assert_eq!(c.incident_id, "TM4409124");
    assert_eq!(c.tenant_id, TENANT);
    let users = e.affected_users.clone().unwrap();
    assert_eq!(
        (users.count, users.locations.clone()),
        (140, vec!["Amsterdam".to_string(), "Utrecht".to_string()])
    );
    assert_eq!(e.downtime.len(), 2);
    assert_eq!(e.downtime_minutes(), Some(165 + 20));
    assert_eq!(e.purchased_via_csp, Some(false));
    let reach = e.contact.clone().unwrap();
    assert_eq!(reach.ticket_refs, ["48213"]);
    assert_eq!(reach.contact.phone.as_deref(), Some("+31 38 555 0199"));
    assert_eq!(
        e.resolution_attempts.as_deref(),
        Some("reinstalled Teams on every laptop")
    );
    // Provenance: who, which line, what it replaced.
    let users_by = e.staff_value("affected_users").unwrap();
    assert_eq!(users_by.set_by, "sanne.bakker@cloudwise-partners.example");
    assert_eq!(
        users_by.overrides,
        Some(json!({"count": 38, "locations": ["Zwolle"]}))
    );
    // The deadline follows the corrected window (November: end of December).
    assert_eq!(c.deadline.as_deref(), Some("2026-12-31"));

    cycle(&mut store, &config, now()).await;
    let mail = outbox(&dir);
    let v2 = mail
        .iter()
        .find(|m| m.subject.contains("(v2)"))
        .unwrap_or_else(|| {
            panic!(
                "no v2 draft: {:?}",
                mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
            )
        });
    assert!(v2.subject.contains("TM4409124"), "{}", v2.subject);
    assert!(v2.text.contains("Changed since version 1:"), "{}", v2.text);
    assert!(v2.text.contains("Number and location(s) of affected users: 38 users in Zwolle -> 140 users in Amsterdam, Utrecht (set by sanne.bakker@cloudwise-partners.example"), "{}", v2.text);
    assert!(
        v2.text
            .contains("Subscriptions purchased through CSP: Yes -> No"),
        "{}",
        v2.text
    );
    assert!(v2.text.contains("ticket 48213;"), "{}", v2.text);
    // The unreadable line is answered to staff, once, naming it and the form.
    let answer = mail
        .iter()
        .find(|m| m.subject.contains("not read"))
        .expect("an answer naming the unread line");
    assert!(
        answer.text.contains("csp: maybe") && answer.text.contains("write it as: csp: yes"),
        "{}",
        answer.text
    );
    let (queued, _) = cycle(&mut store, &config, now()).await;
    assert_eq!(queued, 0, "nothing changed, nothing new");
    assert_eq!(outbox(&dir).len(), mail.len());
}

#[tokio::test]
async fn a_later_customer_mail_does_not_override_staff_and_is_shown_as_a_conflict() {
    let (_dir, config, mut store, draft) = drafted("corrections-precedence").await;
    ingest(
        &mut store,
        &config,
        reply(&draft, "users: 140").as_bytes(),
        now(),
    );
    let later = from_customer(
        &format!("Ilse Vos <ilse.vos@{CUSTOMER}>"),
        7,
        "Sorry, a correction: 95 users in Zwolle were affected.",
    );
    ingest(
        &mut store,
        &config,
        later.as_bytes(),
        now() + chrono::Duration::hours(1),
    );
    let (c, e) = evidence(&store);
    assert_eq!(e.affected_users.as_ref().map(|u| u.count), Some(140));
    assert_eq!(e.conflicts.len(), 1, "{:?}", e.conflicts);
    assert_eq!(e.conflicts[0].mail["count"], json!(95));
    // `claim --json` shows the value, its source and what it overrode, and the conflict.
    let out = crate::util::slaclaim([
        "--state-dir",
        &_dir.join("state").display().to_string(),
        "claim",
        &c.ticket,
        "--json",
    ]);
    let v = json_of(&out);
    let users = v[0]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["field"] == "affected_users")
        .unwrap();
    assert_eq!(users["value"]["count"], json!(140));
    assert_eq!(users["source"]["kind"], "staff");
    assert_eq!(users["set_by"], "sanne.bakker@cloudwise-partners.example");
    assert_eq!(users["overrides"]["count"], json!(38));
    assert_eq!(v[0]["conflicts"][0]["mail"]["count"], json!(95));
}

#[tokio::test]
async fn a_forged_staff_correction_is_stored_but_changes_nothing() {
    let (_dir, config, mut store, draft) = drafted("corrections-forged").await;
    let forged = staff(
        "",
        &format!("In-Reply-To: <{draft}>\r\n"),
        "Re: [SLA-1] Draft SLA credit claim",
        "users: 4000",
    );
    let out = ingest(&mut store, &config, forged.as_bytes(), now());
    assert!(matches!(out, Outcome::Ignored { .. }), "{out:?}");
    let (c, e) = evidence(&store);
    assert_eq!(e.affected_users.as_ref().map(|u| u.count), Some(38));
    let rows = store.corrections(c.id).unwrap();
    assert_eq!(rows.len(), 1, "kept for the record");
    assert!(
        rows[0]
            .error
            .as_deref()
            .is_some_and(|w| w.contains("not authenticated")),
        "{rows:?}"
    );
}

#[tokio::test]
async fn remove_incident_and_unreadable_lines_keep_the_rest() {
    let (_dir, config, mut store, draft) = drafted("corrections-remove").await;
    let out = ingest(
        &mut store,
        &config,
        reply(&draft, "remove incident TM4409999\r\nremove incident TM4409123\r\nusers: many\r\nlocations: Zwolle, Kampen\r\ntenant: 0B6F6A58-2C1D-4F2E-9A77-3C5D0E1F2A3B").as_bytes(),
        now(),
    );
    assert!(matches!(out, Outcome::Command { .. }), "{out:?}");
    let (c, e) = evidence(&store);
    assert_eq!(c.incident_id, "", "the incident is missing again");
    assert_eq!(c.tenant_id, "0b6f6a58-2c1d-4f2e-9a77-3c5d0e1f2a3b");
    assert_eq!(e.affected_users.unwrap().locations, ["Zwolle", "Kampen"]);
    let rows = store.corrections(c.id).unwrap();
    let refused: Vec<_> = rows
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.line.as_str())
        .collect();
    assert_eq!(refused, ["remove incident TM4409999", "users: many"]);
}

/// The config file beside the state, as the binary reads it.
fn config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("slaclaim.toml");
    std::fs::write(
        &path,
        format!(
            "[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ntransport = \"file\"\ndir = \"{}\"\n[store]\nstate-dir = \"{}\"\n",
            dir.join("outbox").display(),
            dir.join("state").display()
        ),
    )
    .unwrap();
    path
}

/// The JSON a successful command printed.
fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn cli(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let config = config_file(dir);
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    crate::util::command(&dir.join("state"))
        .args(all)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_cli_sets_and_unsets_with_the_replys_parser_and_says_what_it_expects() {
    let (dir, config, store, _) = drafted("corrections-cli").await;
    drop(store);
    let out = cli(
        &dir,
        &[
            "set",
            "SLA-1",
            "users",
            "120 Amsterdam, 20 Utrecht",
            "--json",
        ],
    );
    let v = json_of(&out);
    assert_eq!(
        v["value"],
        json!({"count": 140, "locations": ["Amsterdam", "Utrecht"]})
    );
    assert_eq!(
        v["overrides"],
        json!({"count": 38, "locations": ["Zwolle"]})
    );
    let out = cli(
        &dir,
        &["set", "SLA-1", "downtime", "2026-11-05 13:00-14:00 CET"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("downtime set to"));
    // A bad value: a clear error with the expected form, and nothing changes.
    let out = cli(&dir, &["set", "SLA-1", "users", "lots"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("write it as: users: 140"), "{err}");
    let out = cli(&dir, &["set", "SLA-1", "colour", "blue"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use one of"));
    // Unset: what mail said counts again.
    let out = cli(&dir, &["unset", "SLA-1", "users", "--json"]);
    let v = json_of(&out);
    assert_eq!(v["value"]["count"], json!(38));
    let mut store = crate::util::store(&dir);
    let (_, e) = evidence(&store);
    assert_eq!(e.downtime_minutes(), Some(60), "the CLI's window stands");
    // The next draft is a new version with the change from the CLI.
    cycle(&mut store, &config, now()).await;
    let v2 = outbox(&dir)
        .into_iter()
        .find(|m| m.subject.contains("(v2)"))
        .expect("v2 draft");
    assert!(
        v2.text.contains("Time and duration of the downtime:"),
        "{}",
        v2.text
    );
    assert!(v2.text.contains("at the command line"), "{}", v2.text);
}

#[tokio::test]
async fn set_on_a_ticket_with_two_claims_needs_the_incident() {
    let (dir, config, mut store) = opened_ticket("corrections-two-claims");
    let second = from_customer(
        &format!("Ilse Vos <ilse.vos@{CUSTOMER}>"),
        3,
        &format!(
            "We also want an SLA credit for incident EX5512345 on tenant {TENANT}: 12 users in Zwolle, 4 November 2026 09:00 to 10:00 CET."
        ),
    );
    ingest(&mut store, &config, second.as_bytes(), now());
    assert_eq!(store.all_claims().unwrap().len(), 2);
    drop(store);
    let out = cli(&dir, &["set", "SLA-1", "csp", "no"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--incident"), "{err}");
    let out = cli(
        &dir,
        &["set", "SLA-1", "csp", "no", "--incident", "EX5512345"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = crate::util::store(&dir);
    for c in store.all_claims().unwrap() {
        let e = Evidence::of_claim(&store, c.id).unwrap();
        let expected = if c.incident_id == "EX5512345" {
            Some(false)
        } else {
            Some(true)
        };
        assert_eq!(e.purchased_via_csp, expected, "{}", c.incident_id);
    }
}

/// `slaclaim demo` in a fresh directory, as a newcomer runs it.
fn demo(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    demo_at(cwd, args, None)
}

fn demo_at(cwd: &std::path::Path, args: &[&str], now: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_slaclaim"));
    if let Some(now) = now {
        cmd.env("SLACLAIM_DEMO_NOW", now);
    }
    cmd.arg("demo")
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn the_demo_shows_live_drafts_a_reminder_an_expired_and_an_ineligible_claim_on_any_day() {
    let cwd = crate::util::temp_dir("demo-run");
    // Today twice (each run starts afresh), then the days where month lengths bite.
    let days = [
        None,
        None,
        Some("2027-03-01T06:00:00Z"),
        Some("2027-02-28T22:00:00Z"),
        Some("2026-12-31T20:00:00Z"),
        Some("2027-07-15T12:00:00Z"),
    ];
    for (run, now) in days.iter().enumerate() {
        let out = demo_at(&cwd, &[], *now);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("8 sample mails"), "run {run}: {text}");
        assert!(text.contains("drafted: complete"), "{text}");
        assert!(
            text.contains("1 reminder(s) and 1 expiry notice(s)"),
            "{text}"
        );
        assert!(text.contains("expired: the deadline"), "{text}");
        assert!(text.contains("ineligible by staff"), "{text}");
        assert!(
            text.contains("where to look next") && text.contains("claim SLA-2"),
            "{text}"
        );
        let drafts = crate::util::files(&cwd.join("state/demo/outbox"), "eml")
            .into_iter()
            .filter(|f| f.to_string_lossy().contains(".draft."))
            .count();
        assert!(drafts >= 2, "{drafts} drafts\n{text}");
    }
    // The demo empties only a directory it made.
    let other = cwd.join("not-a-demo");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    let out = demo(&cwd, &["--state-dir", "not-a-demo"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not the demo's"));
    assert!(other.join("keep.txt").exists());
}

#[tokio::test]
async fn every_form_works_from_the_cli_too() {
    let (dir, _config, store, _) = drafted("corrections-cli-forms").await;
    drop(store);
    let tenant = "0b6f6a58-2c1d-4f2e-9a77-3c5d0e1f2a3b";
    let forms: [(&str, &str, Value); 10] = [
        (
            "users",
            "140",
            json!({"count": 140, "locations": ["Zwolle"]}),
        ),
        (
            "locations",
            "Zwolle, Kampen",
            json!({"count": 140, "locations": ["Zwolle", "Kampen"]}),
        ),
        (
            "downtime",
            "2026-11-05 23:30-00:15 CET",
            json!([{"start": "2026-11-05T22:30:00Z", "end": "2026-11-05T23:15:00Z", "minutes": 45}]),
        ),
        (
            "downtime",
            "add 90 minutes",
            json!([{"start": "2026-11-05T22:30:00Z", "end": "2026-11-05T23:15:00Z", "minutes": 45}, {"start": null, "end": null, "minutes": 90}]),
        ),
        ("incident", "TM4409777", json!("TM4409777")),
        ("tenant", tenant, json!(tenant)),
        ("csp", "no", json!(false)),
        (
            "ticket",
            "48213",
            json!({"ticket_refs": ["48213"], "contact": {"name": "Ilse Vos", "email": "ilse.vos@kestrel-logistics.example", "phone": "+31 38 555 0142"}}),
        ),
        (
            "contact",
            "Piet Vos <piet@kestrel-logistics.example>",
            json!({"ticket_refs": ["48213"], "contact": {"name": "Piet Vos", "email": "piet@kestrel-logistics.example", "phone": "+31 38 555 0142"}}),
        ),
        (
            "attempts",
            "rebooted the switch",
            json!("rebooted the switch"),
        ),
    ];
    for (field, value, expected) in forms {
        let v = json_of(&cli(&dir, &["set", "SLA-1", field, value, "--json"]));
        assert_eq!(v["value"], expected, "set {field} {value}");
    }
    let out = cli(&dir, &["set", "SLA-1", "incident", "remove TM4409777"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = crate::util::store(&dir);
    let c = store.all_claims().unwrap().remove(0);
    assert_eq!((c.incident_id.as_str(), c.tenant_id.as_str()), ("", tenant));
    // Unset of a key goes back to what it was before staff set it.
    let v = json_of(&cli(&dir, &["unset", "SLA-1", "tenant", "--json"]));
    assert_eq!(v["value"], json!(TENANT));
}

#[test]
fn staff_writing_up_a_call_without_a_tag_opens_a_request_as_before() {
    let dir = crate::util::temp_dir("corrections-staff-request");
    let config = crate::trust::trusting(&dir);
    let mut store = crate::util::store(&dir);
    let body = format!(
        "Kestrel Logistics called: please file an SLA credit for incident TM4409123.\r\nTenant ID: {TENANT}\r\nUsers: 38\r\nLocations: Zwolle\r\n"
    );
    let raw = staff(
        &passed(STAFF_DOMAIN),
        "",
        "Credit request from Kestrel Logistics (phone)",
        &body,
    );
    let out = ingest(&mut store, &config, raw.as_bytes(), now());
    assert!(matches!(out, Outcome::NewTicket { .. }), "{out:?}");
    let (c, e) = evidence(&store);
    assert_eq!(
        (c.incident_id.as_str(), c.tenant_id.as_str()),
        ("TM4409123", TENANT)
    );
    assert_eq!(e.affected_users.map(|u| u.count), Some(38));
    assert!(
        store.corrections(c.id).unwrap().is_empty(),
        "content, not corrections"
    );
}

#[tokio::test]
async fn a_corrected_window_moves_the_deadline_and_the_reminders_follow_it() {
    let (dir, _, mut store, draft) = drafted("corrections-deadline").await;
    // The same set-up, with a manager to remind.
    let config = slaclaim::app::config::Config::parse(
        &format!(
            "[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ntransport = \"file\"\ndir = \"{}\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\ndigest = \"\"\nmanagers = [\"manager@cloudwise-partners.example\"]\n[staff]\naddresses = [\"sanne.bakker@cloudwise-partners.example\"]\n[trust]\nauthserv-ids = [\"{}\"]\n",
            dir.join("outbox").display(),
            crate::trust::OURS
        ),
        "test",
    )
    .unwrap();
    assert_eq!(
        store.all_claims().unwrap()[0].deadline.as_deref(),
        Some("2026-12-31")
    );
    // The outage was in October after all: Microsoft's deadline is the end of November.
    let out = ingest(
        &mut store,
        &config,
        reply(&draft, "downtime: 2026-10-28 09:00-10:30 CET").as_bytes(),
        now(),
    );
    assert!(matches!(out, Outcome::Command { .. }), "{out:?}");
    let c = store.all_claims().unwrap().remove(0);
    assert_eq!(c.deadline.as_deref(), Some("2026-11-30"));
    // Nine days before it, the 14-day reminder is due, and it says the corrected date.
    let later = now() + chrono::Duration::days(11);
    cycle(&mut store, &config, later).await;
    let reminders: Vec<_> = outbox(&dir)
        .into_iter()
        .filter(|m| m.message_id.contains(".reminder-"))
        .collect();
    assert_eq!(reminders.len(), 1, "one reminder");
    assert!(
        reminders[0].text.contains("2026-11-30"),
        "{}",
        reminders[0].text
    );
}

#[tokio::test]
async fn a_line_that_confirms_a_value_as_it_was_sends_no_new_version() {
    let (dir, config, mut store, draft) = drafted("corrections-confirm").await;
    ingest(
        &mut store,
        &config,
        reply(&draft, "users: 38").as_bytes(),
        now(),
    );
    let (queued, _) = cycle(&mut store, &config, now()).await;
    assert_eq!(queued, 0, "38 users, as before: no v2");
    // The next real change goes out, and shows the confirmed line among staff's values.
    ingest(
        &mut store,
        &config,
        reply(&draft, "csp: no").as_bytes(),
        now(),
    );
    cycle(&mut store, &config, now()).await;
    let v2 = outbox(&dir)
        .into_iter()
        .find(|m| m.subject.contains("(v2)"))
        .expect("v2");
    assert!(
        v2.text
            .contains("\"users: 38\" (set by sanne.bakker@cloudwise-partners.example"),
        "{}",
        v2.text
    );
    assert!(
        !v2.text
            .contains("- Number and location(s) of affected users:"),
        "not listed as changed: {}",
        v2.text
    );
}

#[tokio::test]
async fn in_one_batch_a_request_for_the_incident_staff_just_corrected_joins_that_claim() {
    // A batch looks its claim keys up once. A staff correction in it may move any
    // claim's key, so a request after it must look its key up again.
    let (_dir, config, mut store, draft) = drafted("corrections-batch-key").await;
    let correction = reply(&draft, "incident: TM4409124\r\n\r\nSanne\r\n");
    // The customer again, in a thread of its own, naming the incident as corrected.
    let request = format!(
        "{}From: Ilse Vos <ilse.vos@{CUSTOMER}>\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request\r\nDate: Thu, 12 Nov 2026 09:00:00 +0100\r\nMessage-ID: <req-again@{CUSTOMER}>\r\n\r\nPlease claim an SLA credit for incident TM4409124, tenant {TENANT}.\r\n\r\nIlse\r\n",
        passed(CUSTOMER)
    );
    let stamp = "2026-11-12T09:00:00Z";
    for (key, raw) in [("imap:c/1", &correction), ("imap:c/2", &request)] {
        assert!(store.accept("imap", key, raw.as_bytes(), stamp).unwrap());
    }
    let x = crate::util::extractor();
    let ingester = slaclaim::ledger::ingest::Ingester {
        extractor: &x,
        policy: config.deadline.policy().unwrap(),
        max_bytes: 1 << 24,
        rules: config.mail_rules(),
        limits: Default::default(),
    };
    let done = ingester.process_batch(&mut store, 32).await.unwrap();
    assert_eq!(done.len(), 2, "one batch: {done:?}");
    assert!(matches!(done[0].1, Outcome::Command { .. }), "{done:?}");
    assert!(
        matches!(&done[1].1, Outcome::Linked { reference, by: "sender domain, tenant and incident", .. } if reference == "SLA-1"),
        "{done:?}"
    );
    assert_eq!(store.all_claims().unwrap().len(), 1);
}
