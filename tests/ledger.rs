//! The ledger: idempotent ingest, ticket linking, claims, checklist, deadline, status.

use crate::util::{extractor, shared, slaclaim, temp_dir};
use chrono::{DateTime, TimeZone, Utc};
use slaclaim::extract::Extractor;
use slaclaim::ledger::deadline::Policy;
use slaclaim::ledger::ingest::{Ingester, Origin, Outcome};
use slaclaim::store::Status;
use slaclaim::store::Store;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn ingest(store: &mut Store, x: &Extractor, raw: &str, now: DateTime<Utc>) -> Outcome {
    let ingester = Ingester {
        extractor: x,
        policy: Policy {
            zone: chrono_tz::Europe::Amsterdam,
            margin_days: 3,
        },
        max_bytes: 1 << 20,
        rules: Default::default(),
        limits: Default::default(),
    };
    ingester
        .ingest(
            store,
            raw.as_bytes(),
            Origin {
                source: "test",
                key: None,
            },
            now,
        )
        .unwrap()
}

const REQUEST: &str = "From: Eva Smit <eva@polder-advies.example>\nTo: support@partner.example\nSubject: SLA credit request - Exchange outage\nDate: Tue, 03 Mar 2026 10:00:00 +0100\nMessage-ID: <req-1@polder-advies.example>\n\nWe would like to request an SLA credit for Exchange Online incident EX2000001.\n\nTenant ID: 7e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b\nDowntime: from 09:00 to 11:30 CET on 2 March 2026\nWhat we tried: restarted Outlook, tested OWA\nTicket: Ticket #60001\nBought via CSP: yes\n\nKind regards,\nEva Smit\n+31 20 555 0101\n";

const AUTO_REPLY: &str = "From: Eva Smit <eva@polder-advies.example>\nTo: support@partner.example\nSubject: Automatisch antwoord: [SLA-1] Draft SLA credit claim\nDate: Tue, 03 Mar 2026 11:00:00 +0100\nMessage-ID: <oof-1@polder-advies.example>\nAuto-Submitted: auto-replied\n\nIk ben afwezig tot maandag.\n";

const FOLLOW_UP: &str = "From: Eva Smit <eva@polder-advies.example>\nTo: support@partner.example\nSubject: RE: SLA credit request - Exchange outage\nDate: Wed, 04 Mar 2026 09:00:00 +0100\nMessage-ID: <req-2@polder-advies.example>\nIn-Reply-To: <req-1@polder-advies.example>\nReferences: <req-1@polder-advies.example>\n\nSorry, I forgot: 45 users at our Haarlem office were affected.\n\nEva\n\n-----Original Message-----\nFrom: Eva Smit\nSent: Tuesday\n\nOld text about EX1999999 and 999 users in Leiden.\n";

const QUOTING_OLD: &str = "From: Eva Smit <eva@polder-advies.example>\nTo: support@partner.example\nSubject: Re: [SLA-1] claim\nDate: Thu, 05 Mar 2026 09:00:00 +0100\nMessage-ID: <req-3@polder-advies.example>\n\nThanks for the update.\n\nOn Wed, 4 Mar 2026 at 10:00, Desk <d@partner.example> wrote:\n> Your earlier claim for EX1888888 was approved.\n";

#[test]
fn a_conversation_becomes_one_ready_claim() {
    let x = extractor();
    let mut store = crate::util::fresh_store("ledger-conversation").unwrap();
    let now = at(2026, 3, 5);

    let first = ingest(&mut store, &x, REQUEST, now);
    assert_eq!(
        first,
        Outcome::NewTicket {
            reference: "SLA-1".into(),
            claims: vec!["EX2000001/7e1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b".into()]
        }
    );
    let claims = store.all_claims().unwrap_or_default();
    assert_eq!(claims.len(), 1);
    assert_eq!(
        claims[0].status,
        Status::Collecting,
        "user count is missing"
    );
    assert_eq!(claims[0].deadline.as_deref(), Some("2026-04-30"));
    assert_eq!(claims[0].submit_by.as_deref(), Some("2026-04-27"));
    assert!(!claims[0].start_assumed);

    // An auto-reply in between joins by its subject tag and changes nothing.
    let oof = ingest(&mut store, &x, AUTO_REPLY, now);
    assert!(
        matches!(oof, Outcome::Linked { ref reference, by: "subject tag", ref claims } if reference == "SLA-1" && claims.is_empty()),
        "{oof:?}"
    );

    // The follow-up joins by thread headers and completes the checklist.
    let follow = ingest(&mut store, &x, FOLLOW_UP, now);
    assert!(
        matches!(
            follow,
            Outcome::Linked {
                by: "thread headers",
                ..
            }
        ),
        "{follow:?}"
    );
    let claims = store.all_claims().unwrap_or_default();
    assert_eq!(
        claims.len(),
        1,
        "the quoted old incident must not open a claim"
    );
    assert_eq!(claims[0].status, Status::Ready);
    let evidence = store.evidence(claims[0].id).unwrap_or_default();
    let users = evidence
        .iter()
        .find(|e| e.field == "affected_users")
        .unwrap_or_else(|| panic!("no users"));
    assert!(
        users.value.contains("45")
            && users.value.contains("Haarlem")
            && !users.value.contains("Leiden")
    );
    assert_eq!(
        users.message_id.as_deref(),
        Some("req-2@polder-advies.example"),
        "each field keeps its source"
    );
    let request = evidence
        .iter()
        .find(|e| e.field == "customer_request")
        .unwrap_or_else(|| panic!("no request"));
    assert_eq!(
        request.message_id.as_deref(),
        Some("req-1@polder-advies.example")
    );

    // A reply quoting an old incident links but opens nothing.
    let quoting = ingest(&mut store, &x, QUOTING_OLD, now);
    assert!(matches!(quoting, Outcome::Linked { .. }), "{quoting:?}");
    assert_eq!(store.all_claims().unwrap_or_default().len(), 1);

    // A second delivery of the request is stored once and processed once.
    assert!(matches!(
        ingest(&mut store, &x, REQUEST, now),
        Outcome::Duplicate { .. }
    ));
    assert_eq!(store.message_count("processed").unwrap_or_default(), 4);

    let history = store.transitions(claims[0].id).unwrap_or_default();
    let steps: Vec<(Option<Status>, Status)> = history.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        steps,
        vec![
            (None, Status::Collecting),
            (Some(Status::Collecting), Status::Ready)
        ]
    );
}

#[test]
fn two_incidents_make_two_claims_and_an_advisory_is_flagged_for_staff() {
    let x = extractor();
    let mut store = crate::util::fresh_store("ledger-two-incidents").unwrap();
    let raw = "From: a@contoso.example\nSubject: SLA credit\nDate: Mon, 16 Feb 2026 10:00:00 +0000\nMessage-ID: <two@contoso.example>\n\nPlease claim a service credit for EX2100001 and TM2100002, tenant 11111111-2222-4333-8444-555555555555. Microsoft classified it as an advisory.\n";
    let out = ingest(&mut store, &x, raw, at(2026, 2, 17));
    assert!(
        matches!(out, Outcome::NewTicket { ref claims, .. } if claims.len() == 2),
        "{out:?}"
    );
    let claims = store.all_claims().unwrap_or_default();
    // The customer's word flags the claims; only staff make them ineligible.
    assert!(
        claims.iter().all(|c| c.status == Status::Collecting),
        "{claims:?}"
    );
    assert!(
        claims
            .iter()
            .all(|c| c.review.as_deref().is_some_and(|r| r.contains("advisory"))),
        "{claims:?}"
    );
    // No outage time: the request's date stands in, flagged as an assumption.
    assert!(
        claims
            .iter()
            .all(|c| c.start_assumed && c.deadline.as_deref() == Some("2026-03-31"))
    );
}

#[test]
fn unsubmitted_claims_expire_after_the_deadline() {
    let x = extractor();
    let mut store = crate::util::fresh_store("ledger-expiry").unwrap();
    ingest(&mut store, &x, REQUEST, at(2026, 3, 5));
    let ingester = Ingester {
        extractor: &x,
        policy: Policy {
            zone: chrono_tz::Europe::Amsterdam,
            margin_days: 3,
        },
        max_bytes: 1 << 20,
        rules: Default::default(),
        limits: Default::default(),
    };
    assert_eq!(
        ingester
            .expire_overdue(&mut store, at(2026, 4, 30))
            .unwrap_or(9),
        0,
        "the deadline day itself still counts"
    );
    assert_eq!(
        ingester
            .expire_overdue(&mut store, at(2026, 5, 1))
            .unwrap_or(0),
        1
    );
    assert_eq!(
        store.all_claims().unwrap_or_default()[0].status,
        Status::Expired
    );
}

#[test]
fn bad_mail_is_quarantined_and_kept() {
    let x = extractor();
    let mut store = crate::util::fresh_store("ledger-quarantine").unwrap();
    let out = ingest(
        &mut store,
        &x,
        "\u{0}\u{1}garbage without headers",
        at(2026, 3, 5),
    );
    assert!(matches!(out, Outcome::Quarantined { .. }), "{out:?}");
    let ingester = Ingester {
        extractor: &x,
        policy: Policy::default(),
        max_bytes: 100,
        rules: Default::default(),
        limits: Default::default(),
    };
    let big = ingester.ingest(
        &mut store,
        REQUEST.as_bytes(),
        Origin {
            source: "test",
            key: Some("big"),
        },
        at(2026, 3, 5),
    );
    assert!(
        matches!(big, Ok(Outcome::Quarantined { ref reason }) if reason.contains("limit")),
        "{big:?}"
    );
    assert_eq!(store.message_count("quarantined").unwrap_or_default(), 2);
    assert_eq!(store.message_count("processed").unwrap_or_default(), 0);
}

#[test]
fn cli_ingest_is_idempotent_across_runs_and_marks_claims() {
    let dir = temp_dir("ledger-cli");
    let state = dir.join("state");
    let corpus = shared().join("corpus");
    let files: Vec<std::path::PathBuf> = [
        "msg_0004.eml",
        "msg_0012.eml",
        "msg_0017.eml",
        "msg_0009.eml",
    ]
    .iter()
    .map(|f| corpus.join(f))
    .collect();
    let run = |extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["--state-dir".as_ref(), state.as_os_str()];
        args.extend_from_slice(extra);
        slaclaim(args)
    };
    let mut args: Vec<&std::ffi::OsStr> = vec!["ingest".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let first = run(&args);
    let text = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(text.contains("msg_0004.eml: new ticket SLA-1"), "{text}");
    assert!(
        text.contains("msg_0017.eml: linked to ticket SLA-1 by ticket reference"),
        "{text}"
    );
    assert!(text.contains("msg_0009.eml: stored as bounce"), "{text}");
    // A second run (a restart) finds every message already stored.
    let second = run(&args);
    let again = String::from_utf8_lossy(&second.stdout);
    assert_eq!(again.matches("duplicate").count(), 4, "{again}");

    let listed = run(&["claims".as_ref(), "--json".as_ref()]);
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(v[0]["ticket"], "SLA-1");
    assert_eq!(v[0]["incident_id"], "FO1029934");
    assert_eq!(v[0]["deadline"], "2026-04-30");

    let marked = run(&[
        "mark".as_ref(),
        "SLA-1".as_ref(),
        "submitted".as_ref(),
        "--case".as_ref(),
        "2604010010001111".as_ref(),
    ]);
    assert!(
        marked.status.success(),
        "{}",
        String::from_utf8_lossy(&marked.stderr)
    );
    let shown = run(&["claim".as_ref(), "SLA-1".as_ref(), "--json".as_ref()]);
    let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(v[0]["status"], "submitted");
    assert_eq!(v[0]["case_number"], "2604010010001111");
    let history = v[0]["history"].as_array().cloned().unwrap_or_default();
    assert!(history.iter().any(|t| {
        t["reason"]
            .as_str()
            .is_some_and(|r| r.contains("2604010010001111"))
    }));

    let unknown = run(&["claim".as_ref(), "SLA-99".as_ref()]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no ticket SLA-99"));
}

#[test]
fn killing_ingest_midway_loses_and_repeats_nothing() {
    let dir = temp_dir("ledger-kill");
    let state = dir.join("state");
    let mail = dir.join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    // 400 distinct credit requests: the request above with a unique Message-ID and incident.
    let mut files = Vec::new();
    for i in 0..400 {
        let raw = REQUEST
            .replace(
                "<req-1@polder-advies.example>",
                &format!("<kill-{i}@polder-advies.example>"),
            )
            .replace("EX2000001", &format!("EX{}", 3_000_000 + i))
            .replace("#60001", &format!("#{}", 70_000 + i));
        let path = mail.join(format!("m{i:03}.eml"));
        std::fs::write(&path, raw).unwrap();
        files.push(path);
    }
    let mut args: Vec<std::ffi::OsString> =
        vec!["--state-dir".into(), state.clone().into(), "ingest".into()];
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    let mut child = crate::util::command(&state)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill(); // SIGKILL: no chance to clean up.
    let _ = child.wait();

    let rerun = slaclaim(&args);
    assert!(rerun.status.success());
    let out = String::from_utf8_lossy(&rerun.stdout);
    let duplicates = out.matches(": duplicate").count();
    let new = out.matches("new ticket").count();
    println!("killed run stored {duplicates}, rerun stored {new}");
    assert_eq!(duplicates + new, 400, "{out}");

    let store = crate::util::open_store(&state).unwrap();
    assert_eq!(store.message_count("processed").unwrap_or_default(), 400);
    let claims = store.all_claims().unwrap_or_default();
    assert_eq!(
        claims.len(),
        400,
        "one claim per message, none half-written"
    );
    let mut tickets: Vec<&str> = claims.iter().map(|c| c.ticket.as_str()).collect();
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(tickets.len(), 400);
}

#[test]
fn a_new_store_opened_by_several_processes_at_once_is_migrated_once() {
    // The daemon's tasks and a CLI command may open a fresh store at the same moment.
    for round in 0..5 {
        let dir = crate::util::temp_dir(&format!("ledger-race-{round}"));
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let state = dir.join("state");
                std::thread::spawn(move || crate::util::open_store(&state).map(|_| ()))
            })
            .collect();
        for h in handles {
            let opened = h.join().unwrap_or_else(|_| panic!("thread panicked"));
            assert!(opened.is_ok(), "{opened:?}");
        }
    }
}

/// A credit request from `domain` for `tenant` and `incident`, an outage yesterday.
fn recent_request(n: usize, domain: &str, tenant: &str, incident: &str) -> Vec<u8> {
    let date = Utc::now().format("%a, %d %b %Y %H:%M:%S +0000");
    format!(
        "From: IT <it@{domain}>\nTo: support@partner.example\nSubject: SLA credit request {n}\nDate: {date}\nMessage-ID: <batch-{n}@{domain}>\n\nPlease file an SLA credit claim for incident {incident}, tenant {tenant}.\nYesterday from 09:00 to 11:30 CET 40 users in Utrecht could not work. Bought through CSP.\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn in_one_batch_a_claim_key_links_to_the_ticket_an_earlier_message_of_the_batch_opened() {
    // The tickets of a batch's claim keys are looked up once for the whole batch; a key
    // the batch itself then writes must be looked up again, or the second request for
    // it would open a ticket of its own.
    let x = extractor();
    let ingester = crate::util::ingester(&x, 1 << 20);
    let mut store = crate::util::fresh_store("ledger-batch-keys").unwrap();
    let (t1, t2, t3) = (
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
        "33333333-3333-4333-8333-333333333333",
    );
    let stamp = "2026-01-01T00:00:00Z";
    // Stored before the batch: its ticket is what the batch's lookup finds.
    store
        .accept(
            "imap",
            "imap:b/0",
            &recent_request(0, "a.example", t1, "EX4000001"),
            stamp,
        )
        .unwrap();
    let before = ingester.process_pending(&mut store, 1).await.unwrap();
    assert!(
        matches!(&before[0].1, Outcome::NewTicket { reference, .. } if reference == "SLA-1"),
        "{before:?}"
    );
    let batch = [
        recent_request(1, "a.example", t1, "EX4000001"),
        recent_request(2, "b.example", t2, "EX4000002"),
        recent_request(3, "b.example", t2, "EX4000002"),
        recent_request(4, "c.example", t3, "EX4000003"),
    ];
    for (n, raw) in batch.iter().enumerate() {
        store
            .accept("imap", &format!("imap:b/{}", n + 1), raw, stamp)
            .unwrap();
    }
    let done = ingester.process_batch(&mut store, 32).await.unwrap();
    let outcomes: Vec<(String, &'static str)> = done
        .iter()
        .map(|(_, o)| match o {
            Outcome::NewTicket { reference, .. } => (reference.clone(), "new"),
            Outcome::Linked { reference, by, .. } => (reference.clone(), *by),
            other => panic!("{other:?}"),
        })
        .collect();
    let key = "sender domain, tenant and incident";
    assert_eq!(
        outcomes,
        [
            ("SLA-1".to_string(), key),
            ("SLA-2".to_string(), "new"),
            ("SLA-2".to_string(), key),
            ("SLA-3".to_string(), "new"),
        ]
    );
    assert_eq!(store.all_claims().unwrap_or_default().len(), 3);
}
