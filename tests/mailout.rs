//! Mail out: drafts, reminders, digests and staff replies, sent through the outbox to a
//! real SMTP server (aiosmtpd) or the file transport, with an injected clock.

use crate::smtp::SmtpSink;
use crate::util::{extractor, shared, temp_dir};
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use slaclaim::app::config::Config;
use slaclaim::inbound::imap::TlsMode;
use slaclaim::ledger::ingest::{Ingester, Origin, Outcome};
use slaclaim::outbound::draft::Templates;
use slaclaim::outbound::outbox::{self, Transport};
use slaclaim::outbound::planner::Planned;
use slaclaim::store::Store;
use std::path::Path;

const COMPLETE: &str = "msg_0003.eml"; // SP1031562, every checklist item present
const INCOMPLETE: &str = "msg_0006.eml"; // TM1033071, no telephone number

pub(crate) fn test_config(dir: &Path, language: &str, smtp: Option<u16>) -> Config {
    let transport = match smtp {
        Some(port) => format!(
            "transport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"plain\"\nretry-min-secs = 60\nretry-for-hours = 1\ntimeout-secs = 5\n"
        ),
        None => format!(
            "transport = \"file\"\ndir = \"{}\"\n",
            dir.join("outbox").display()
        ),
    };
    let text = format!(
        r#"
[deadline]
time-zone = "Europe/Amsterdam"
safety-margin-days = 3

[outbox]
from = "slaclaim@cloudwise-partners.example"
{transport}

[drafts]
helpdesk = ["helpdesk@cloudwise-partners.example"]
language = "{language}"

[reminders]
managers = ["manager@cloudwise-partners.example"]
lead-days = [14, 7, 3, 1]
digest = "0 0 8 * * Mon"

[staff]
addresses = ["sanne.bakker@cloudwise-partners.example"]

[trust]
authserv-ids = ["mx.cloudwise-partners.example"]

[[customer]]
tenant = "d23f0824-128b-4f33-8c5c-7fd0a6a3a450"
name = "Harbourfinch"
licensed-users = 400
"#
    );
    Config::parse(&text, "test").unwrap()
}

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(shared().join("corpus").join(name)).unwrap()
}

/// Stores and links one mail as the daemon does, with `config`'s rules and clock `now`.
pub(crate) fn ingest(
    store: &mut Store,
    config: &Config,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Outcome {
    let x = extractor();
    let ingester = Ingester {
        extractor: &x,
        policy: config.deadline.policy().unwrap(),
        max_bytes: 1 << 24,
        rules: config.mail_rules(),
        limits: Default::default(),
    };
    ingester
        .ingest(
            store,
            raw,
            Origin {
                source: "file",
                key: None,
            },
            now,
        )
        .unwrap()
}

/// Plans and sends once at `now`; returns (queued drafts, sent).
pub(crate) async fn cycle(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
) -> (usize, usize) {
    let templates = Templates::load(None).unwrap();
    let planner = config.planner(&templates).unwrap();
    let plan = planner.plan(store, now).unwrap();
    let sent = outbox::send_due(store, &Transport::new(&config.outbox), now)
        .await
        .unwrap();
    (
        plan.drafts + plan.reminders + plan.expired + plan.digests,
        sent.sent,
    )
}

pub(crate) fn eml_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_else(|_| Vec::new());
    paths.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "eml"));
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

pub(crate) struct Parsed {
    pub subject: String,
    pub text: String,
    html: String,
    pub message_id: String,
    attachments: Vec<Vec<u8>>,
    auto_submitted: String,
    suppress: String,
}

pub(crate) fn parse(raw: &[u8]) -> Parsed {
    let m = MessageParser::default()
        .parse(raw)
        .unwrap_or_else(|| panic!("unparseable mail"));
    let header = |name: &str| {
        m.header_raw(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    Parsed {
        subject: m.subject().unwrap_or_default().to_string(),
        text: m.body_text(0).map(|t| t.to_string()).unwrap_or_default(),
        html: m.body_html(0).map(|t| t.to_string()).unwrap_or_default(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        attachments: m
            .attachments()
            .filter(|a| a.content_type().is_some_and(|c| c.ctype() == "message"))
            .map(|a| a.contents().to_vec())
            .collect(),
        auto_submitted: header("Auto-Submitted"),
        suppress: header("X-Auto-Response-Suppress"),
    }
}

/// The complete and the incomplete claim's drafts in `language`, sent to the file outbox.
async fn two_drafts(
    name: &str,
    language: &str,
) -> (std::path::PathBuf, Config, Store, Vec<Parsed>) {
    let dir = temp_dir(name);
    let config = test_config(&dir, language, None);
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    ingest(&mut store, &config, &corpus(COMPLETE), now);
    ingest(&mut store, &config, &corpus(INCOMPLETE), now);
    assert_eq!(cycle(&mut store, &config, now).await, (2, 2));
    let mails = eml_files(&dir.join("outbox"))
        .iter()
        .map(|r| parse(r))
        .collect();
    (dir, config, store, mails)
}

/// The draft about `incident`.
fn about<'a>(mails: &'a [Parsed], incident: &str) -> &'a Parsed {
    mails
        .iter()
        .find(|m| m.subject.contains(incident))
        .unwrap_or_else(|| panic!("no draft for {incident}"))
}

#[tokio::test]
async fn drafts_for_a_complete_and_an_incomplete_claim_in_english() {
    let (dir, config, mut store, mails) = two_drafts("mailout-en", "en").await;
    let now = at("2026-03-16T09:00:00Z");
    let complete = about(&mails, "SP1031562");
    assert!(
        complete
            .subject
            .starts_with("[SLA-1] Draft SLA credit claim SP1031562 – ")
            && complete.subject.ends_with("submit by 2026-04-27"),
        "{}",
        complete.subject
    );
    assert!(
        complete
            .text
            .contains("This claim is complete and ready to submit"),
        "{}",
        complete.text
    );
    assert!(
        complete
            .text
            .contains("1. Customer tenant ID: 9531985d-5d9d-49f8-9818-e811892f902b")
    );
    assert!(
        complete
            .text
            .contains("2. Incident ID: SP1031562 (SharePoint Online)")
    );
    assert!(complete.text.contains("Customer services credit requests"));
    assert!(
        complete.text.contains("(45 days left)"),
        "{}",
        complete.text
    );
    // The customer's number of licences is not configured: said, not guessed.
    assert!(
        complete.text.contains("licensed users is not configured"),
        "{}",
        complete.text
    );
    assert!(complete.html.contains("<pre") && complete.html.contains("SP1031562"));
    assert_eq!(complete.auto_submitted, "auto-generated");
    assert_eq!(complete.suppress, "All");
    assert!(
        complete.message_id.starts_with("slaclaim.")
            && complete.message_id.ends_with("@cloudwise-partners.example")
    );
    // The evidence: the customer's own email, byte for byte.
    assert_eq!(complete.attachments.len(), 1);
    assert_eq!(complete.attachments[0], corpus(COMPLETE));

    let incomplete = about(&mails, "TM1033071");
    assert!(
        incomplete.subject.contains("– Harbourfinch –"),
        "{}",
        incomplete.subject
    );
    assert!(
        incomplete.text.contains("NOT complete yet"),
        "{}",
        incomplete.text
    );
    assert!(incomplete.text.contains("Still missing, and whom to ask:"));
    assert!(incomplete.text.contains("support ticket number and customer contact details (no telephone number for the contact): ask the customer"), "{}", incomplete.text);
    // 300 users x 105 minutes of 400 licences in March (44,640 minutes): 99.824% -> 25%.
    assert!(
        incomplete
            .text
            .contains("Monthly uptime 99.824% -> service credit 25%"),
        "{}",
        incomplete.text
    );

    // Nothing changed: no new draft.
    assert_eq!(cycle(&mut store, &config, now).await, (0, 0));
    // The customer adds a telephone number: the checklist changes, version 2 follows.
    let follow_up = "From: Priya Raman <priya.raman@harbourfinch.example>\r\nTo: support@cloudwise-partners.example\r\nSubject: Re: TM1033071\r\nDate: Mon, 16 Mar 2026 10:00:00 +0000\r\nMessage-ID: <follow-up-1@harbourfinch.example>\r\nIn-Reply-To: <CAKmvhRMCbnFywU=NKSxqhnFYUllktRxYB92tVDWoSUDO=@mail.gmail.com>\r\n\r\nOur internal ticket number is INC0012345, phone +44 20 7946 0000.\r\n";
    ingest(&mut store, &config, follow_up.as_bytes(), now);
    let (queued, _) = cycle(&mut store, &config, now).await;
    assert_eq!(queued, 1);
    assert_eq!(eml_files(&dir.join("outbox")).len(), 3);
}

#[tokio::test]
async fn drafts_in_dutch() {
    let (_, _, _, mails) = two_drafts("mailout-nl", "nl").await;
    let complete = about(&mails, "SP1031562");
    assert!(
        complete
            .subject
            .starts_with("[SLA-1] Concept SLA-creditclaim SP1031562"),
        "{}",
        complete.subject
    );
    assert!(
        complete.text.contains("Deze claim is compleet"),
        "{}",
        complete.text
    );
    let incomplete = about(&mails, "TM1033071");
    assert!(incomplete.text.contains("NOG NIET compleet"));
    assert!(
        incomplete
            .text
            .contains("supportticketnummer en contactgegevens van de klant"),
        "{}",
        incomplete.text
    );
    assert!(incomplete.text.contains("vraag het de klant"));
}

#[tokio::test]
async fn smtp_down_then_up_delivers_everything_once_and_a_5xx_is_not_retried() {
    let sink = SmtpSink::start("down-up");
    let dir = temp_dir("mailout-smtp");
    let mut config = test_config(&dir, "en", Some(sink.port));
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    ingest(&mut store, &config, &corpus(COMPLETE), now);
    ingest(&mut store, &config, &corpus(INCOMPLETE), now);

    sink.down();
    assert_eq!(cycle(&mut store, &config, now).await, (2, 0));
    // Not due again before the retry delay.
    assert_eq!(
        cycle(&mut store, &config, now + chrono::Duration::seconds(30)).await,
        (0, 0)
    );
    sink.up();
    assert_eq!(
        cycle(&mut store, &config, now + chrono::Duration::seconds(61)).await,
        (0, 2)
    );
    assert_eq!(
        cycle(&mut store, &config, now + chrono::Duration::seconds(600)).await,
        (0, 0)
    );
    let ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| parse(m).message_id)
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);

    // A recipient the server refuses permanently: recorded as failed, never retried.
    config.reminders.managers = vec!["reject-me@cloudwise-partners.example".into()];
    // A Monday 10 days before the deadline: two 14-day reminders and the digest.
    let late = at("2026-04-20T09:00:00Z");
    assert_eq!(cycle(&mut store, &config, late).await, (3, 0));
    let failed = store
        .mail_with_status("failed", "2000-01-01")
        .unwrap_or_default();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("550"),
        "{failed:?}"
    );
    assert_eq!(
        cycle(&mut store, &config, late + chrono::Duration::hours(2)).await,
        (0, 0)
    );
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn a_crash_before_the_last_byte_resends_and_one_after_it_does_not() {
    let sink = SmtpSink::start("crash");
    let dir = temp_dir("mailout-crash");
    let config = test_config(&dir, "en", Some(sink.port));
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    ingest(&mut store, &config, &corpus(COMPLETE), now);
    let templates = Templates::load(None).unwrap();
    let planner = config.planner(&templates).unwrap();
    planner.plan(&mut store, now).unwrap();
    let due = store.due_mail(&outbox::stamp(now), 10).unwrap_or_default();
    assert_eq!(due.len(), 1);
    let id = due[0].id;
    // A first run takes it, records its attempt and dies before the last byte: the
    // server never got a complete message.
    assert!(
        store
            .take_mail(id, "run-1", &outbox::stamp(now))
            .unwrap()
            .is_some()
    );
    drop(store);
    assert!(sink.messages().is_empty());
    // The next run sends it again, the server accepts, and the run dies after the last
    // byte, before recording the answer.
    let mut store = crate::util::store(&dir);
    let due = store.due_mail(&outbox::stamp(now), 10).unwrap_or_default();
    assert_eq!(due.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
    // The dead run's hold is no hold: no heartbeat of it lives.
    assert!(
        store
            .take_mail(id, "run-2", &outbox::stamp(now))
            .unwrap()
            .is_some()
    );
    let transport = Transport::new(&config.outbox);
    let marked = &mut store;
    let sent = transport
        .send(&due[0], move |accepted: &[String]| {
            marked
                .mail_last_byte(id, accepted, &outbox::stamp(now))
                .unwrap()
        })
        .await;
    assert!(
        matches!(&sent, outbox::Attempt::Delivered(d) if d.accepted == ["helpdesk@cloudwise-partners.example"]),
        "{sent:?}"
    );
    drop(store);
    // The run after that takes it as delivered and sends nothing; so does the next.
    for _ in 0..2 {
        let mut store = crate::util::store(&dir);
        assert_eq!(cycle(&mut store, &config, now).await, (0, 0));
        assert!(
            store
                .due_mail(&outbox::stamp(now), 10)
                .unwrap_or_default()
                .is_empty()
        );
    }
    assert_eq!(sink.messages().len(), 1, "delivered exactly once");
    let store = crate::util::store(&dir);
    // Shown as what it is: sent, but the server's yes was never heard.
    let deliveries = store.deliveries(&due[0].message_id).unwrap_or_default();
    assert_eq!(
        deliveries
            .iter()
            .map(|d| d.status.as_str())
            .collect::<Vec<_>>(),
        ["unconfirmed"]
    );
    let counts = store.mail_counts().unwrap_or_default();
    assert!(
        counts
            .iter()
            .any(|(p, st, n)| p == "draft" && st == "sent" && *n == 1),
        "{counts:?}"
    );
    // Sent again only on purpose (`slaclaim outbox resend`), and then once.
    assert_eq!(
        store
            .resend_mail(&due[0].message_id, &outbox::stamp(now))
            .ok(),
        Some(true)
    );
    assert_eq!(
        store.resend_mail("no-such@id", &outbox::stamp(now)).ok(),
        Some(false)
    );
    drop(store);
    let mut store = crate::util::store(&dir);
    assert_eq!(cycle(&mut store, &config, now).await, (0, 1));
    assert_eq!(cycle(&mut store, &config, now).await, (0, 0));
    assert_eq!(sink.messages().len(), 2);
    let deliveries = store.deliveries(&due[0].message_id).unwrap_or_default();
    assert_eq!(
        deliveries
            .iter()
            .map(|d| d.status.as_str())
            .collect::<Vec<_>>(),
        ["accepted"]
    );
}

#[tokio::test]
async fn reminders_at_each_lead_time_once_even_across_restarts() {
    let dir = temp_dir("mailout-reminders");
    let config = test_config(&dir, "en", None);
    let mut store = crate::util::store(&dir);
    ingest(
        &mut store,
        &config,
        &corpus(INCOMPLETE),
        at("2026-03-16T09:00:00Z"),
    );
    // Deadline 2026-04-30 in Amsterdam. Count reminders (drafts go out on the first day).
    let reminders = |dir: &Path| {
        eml_files(&dir.join("outbox"))
            .iter()
            .map(|r| parse(r).subject)
            .filter(|s| s.contains("Reminder"))
            .collect::<Vec<_>>()
    };
    for (day, expected) in [
        ("2026-04-10T09:00:00Z", 0), // 20 days left
        ("2026-04-16T09:00:00Z", 1), // 14
        ("2026-04-16T15:00:00Z", 1), // same day again
        ("2026-04-23T09:00:00Z", 2), // 7
        ("2026-04-25T09:00:00Z", 2), // 5
        ("2026-04-27T09:00:00Z", 3), // 3
        ("2026-04-29T09:00:00Z", 4), // 1
    ] {
        // A fresh store handle each time: what was sent is known from the store alone.
        drop(store);
        store = crate::util::store(&dir);
        cycle(&mut store, &config, at(day)).await;
        assert_eq!(
            reminders(&dir).len(),
            expected,
            "{day}: {:?}",
            reminders(&dir)
        );
    }
    assert!(
        reminders(&dir)
            .iter()
            .any(|s| s.contains("1 days to Microsoft's deadline"))
    );
    // The deadline passes unsubmitted: managers are told once.
    let x = extractor();
    let ingester = Ingester {
        extractor: &x,
        policy: config.deadline.policy().unwrap(),
        max_bytes: 1 << 24,
        rules: config.mail_rules(),
        limits: Default::default(),
    };
    let after = at("2026-05-01T09:00:00Z");
    assert_eq!(
        ingester
            .expire_overdue(&mut store, after)
            .unwrap_or_default(),
        1
    );
    cycle(&mut store, &config, after).await;
    cycle(&mut store, &config, after + chrono::Duration::days(1)).await;
    let expired: Vec<String> = eml_files(&dir.join("outbox"))
        .iter()
        .map(|r| parse(r).subject)
        .filter(|s| s.contains("Expired"))
        .collect();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert!(
        expired[0].contains("was not submitted by 2026-04-30"),
        "{expired:?}"
    );
    // A claim found three days before its deadline gets one reminder, not three.
    let dir2 = temp_dir("mailout-late");
    let mut late = crate::util::store(&dir2);
    let config2 = test_config(&dir2, "en", None);
    ingest(
        &mut late,
        &config2,
        &corpus(INCOMPLETE),
        at("2026-04-27T09:00:00Z"),
    );
    cycle(&mut late, &config2, at("2026-04-27T09:00:00Z")).await;
    cycle(&mut late, &config2, at("2026-04-28T09:00:00Z")).await;
    let found = reminders(&dir2);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("3 days"), "{found:?}");
}

#[test]
fn a_claim_one_instance_planned_is_left_by_another_with_the_same_settings() {
    // Two instances on one ledger: each has its own memory of what it planned, and the
    // ledger records what either did.
    let dir = temp_dir("plan-shared");
    let config = test_config(&dir, "en", None);
    let templates = Templates::load(None).unwrap();
    let planner = config.planner(&templates).unwrap();
    let mut store = crate::util::store(&dir);
    let day1 = at("2026-03-16T09:00:00Z");
    let day = |now: DateTime<Utc>| now.with_timezone(&planner.zone).date_naive().to_string();
    let settings = planner.fingerprint();
    ingest(&mut store, &config, &corpus(INCOMPLETE), day1);
    let claim = store.all_claims().unwrap()[0].id;
    assert_eq!(
        store.claims_to_plan(&day(day1), &settings).unwrap().len(),
        1
    );
    let first = planner
        .plan_changed(&mut store, day1, &mut Planned::default())
        .unwrap();
    assert_eq!(first.drafts, 1, "{first:?}");
    // Planned at its revision today with these settings: the other instance leaves it,
    // whether it reads the list after the plan or finds the record inside its own
    // transaction (it read the list before).
    assert!(
        store
            .claims_to_plan(&day(day1), &settings)
            .unwrap()
            .is_empty()
    );
    assert!(store.is_planned(claim, &day(day1), &settings).unwrap());
    let other = planner
        .plan_changed(&mut store, day1, &mut Planned::default())
        .unwrap();
    assert_eq!(other, Default::default());
    // Other settings (Dutch drafts) plan it again, and their draft differs.
    let dutch_config = test_config(&dir, "nl", None);
    let dutch = dutch_config.planner(&templates).unwrap();
    assert_ne!(dutch.fingerprint(), settings);
    let redone = dutch
        .plan_changed(&mut store, day1, &mut Planned::default())
        .unwrap();
    assert_eq!(redone.drafts, 1, "{redone:?}");
    // The next day, or a change to the claim, has it planned again.
    let day2 = at("2026-03-17T09:00:00Z");
    assert_eq!(
        store.claims_to_plan(&day(day2), &settings).unwrap(),
        vec![(claim, store.claim_revision(claim).unwrap())]
    );
    let message = store.claim_message_kinds(claim).unwrap()[0].0;
    store
        .set_evidence(
            claim,
            "contact",
            r#"{"contact":{"phone":"+31 20 555 0199"}}"#,
            message,
            "2026-03-16T10:00:00Z",
        )
        .unwrap();
    assert_eq!(
        store
            .claims_to_plan(&day(day1), &dutch.fingerprint())
            .unwrap()
            .len(),
        1
    );
    assert!(
        !store
            .is_planned(claim, &day(day1), &dutch.fingerprint())
            .unwrap()
    );
}

#[test]
fn a_claim_that_changes_while_it_is_planned_is_planned_again_not_written_stale() {
    // The planner reads and renders a claim without the ledger's write lock and writes
    // its mail in a short transaction afterwards. Here another connection holds the
    // write lock with a new telephone number not yet committed: the planner renders the
    // claim as it was, waits for the lock, finds the claim moved on, and writes nothing;
    // its next pass drafts the claim as it now is.
    let dir = temp_dir("plan-moved");
    let config = test_config(&dir, "en", None);
    let templates = Templates::load(None).unwrap();
    let planner = config.planner(&templates).unwrap();
    let mut store = crate::util::store(&dir);
    let mut other = crate::util::store(&dir);
    let day1 = at("2026-03-16T09:00:00Z");
    ingest(&mut store, &config, &corpus(INCOMPLETE), day1);
    let claim = store.all_claims().unwrap()[0].id;
    let message = store.claim_message_kinds(claim).unwrap()[0].0;
    let phone = "+31 20 555 0177";
    let mut planned = Planned::default();
    let stale = std::thread::scope(|scope| {
        other
            .transaction(|s| {
                s.set_evidence(
                    claim,
                    "contact",
                    &format!(r#"{{"contact":{{"phone":"{phone}"}}}}"#),
                    message,
                    "2026-03-16T10:00:00Z",
                )?;
                // A read sends the write (on PostgreSQL it waits for the next statement)
                // and so takes the lock.
                s.claim_revision(claim)?;
                let planning = scope.spawn(|| planner.plan_changed(&mut store, day1, &mut planned));
                // Time to read and render the claim; the write then waits for our lock.
                std::thread::sleep(std::time::Duration::from_millis(1500));
                Ok::<_, slaclaim::store::StoreError>(planning)
            })
            .unwrap()
            .join()
            .unwrap()
            .unwrap()
    });
    // Nothing rendered from the claim as it was may land: one draft in all, with the
    // number, whichever pass wrote it.
    assert_eq!(stale.drafts, 0, "{stale:?}");
    let fresh = planner
        .plan_changed(&mut store, day1, &mut planned)
        .unwrap();
    assert_eq!(stale.drafts + fresh.drafts, 1, "{stale:?} {fresh:?}");
    let queued = store.due_mail("9999", 10).unwrap();
    assert_eq!(queued.len(), 1);
    let text = String::from_utf8_lossy(&queued[0].raw).to_string();
    assert!(text.contains(phone), "{text}");
}

#[test]
fn planning_only_what_changed_queues_what_a_full_plan_queues() {
    // Two stores fed the same events: one planned in full each pass, one planned only
    // for the claims whose revision or day moved. They must queue the same mail.
    let (full_dir, memo_dir) = (temp_dir("plan-full"), temp_dir("plan-memo"));
    let config = test_config(&full_dir, "en", None);
    let templates = Templates::load(None).unwrap();
    let planner = config.planner(&templates).unwrap();
    let mut full = crate::util::store(&full_dir);
    let mut memo = crate::util::store(&memo_dir);
    let mut planned = Planned::default();
    let queued = |s: &Store| -> Vec<String> {
        s.mail_with_status("pending", "")
            .unwrap()
            .into_iter()
            .map(|m| m.message_id)
            .collect()
    };
    let mut pass = |full: &mut Store, memo: &mut Store, now: DateTime<Utc>, step: &str| {
        let a = planner.plan(full, now).unwrap();
        let b = planner.plan_changed(memo, now, &mut planned).unwrap();
        assert_eq!(a, b, "{step}");
        assert_eq!(queued(full), queued(memo), "{step}");
        b
    };
    let day1 = at("2026-03-16T09:00:00Z");
    for s in [&mut full, &mut memo] {
        ingest(s, &config, &corpus(INCOMPLETE), day1);
    }
    assert_eq!(pass(&mut full, &mut memo, day1, "first mail").drafts, 1);
    assert_eq!(
        pass(&mut full, &mut memo, day1, "nothing new"),
        Default::default()
    );
    // Evidence changed behind the planner's back (as a staff correction or another
    // process would): the trigger moves the revision and the draft is redone.
    for s in [&full, &memo] {
        let claim = s.all_claims().unwrap_or_default()[0].id;
        let message = s.claim_message_kinds(claim).unwrap_or_default()[0].0;
        let mut contact = s
            .evidence_values(claim)
            .unwrap_or_default()
            .into_iter()
            .find(|(f, _)| f == "contact")
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no contact evidence"));
        contact["contact"]["phone"] = serde_json::json!("+31 20 555 0199");
        s.set_evidence(
            claim,
            "contact",
            &contact.to_string(),
            message,
            "2026-03-16T10:00:00Z",
        )
        .unwrap();
    }
    assert_eq!(pass(&mut full, &mut memo, day1, "phone added").drafts, 1);
    // A second claim arrives; the first one is left alone.
    for s in [&mut full, &mut memo] {
        ingest(s, &config, &corpus(COMPLETE), day1);
    }
    assert_eq!(pass(&mut full, &mut memo, day1, "second claim").drafts, 1);
    // Only the date moves: reminders come at their lead times all the same.
    let mut reminders = 0;
    for day in 1..=50 {
        let now = day1 + chrono::Duration::days(day);
        reminders += pass(&mut full, &mut memo, now, &format!("day {day}")).reminders;
    }
    assert!(reminders >= 4, "{reminders} reminders");
}

#[tokio::test]
async fn a_digest_from_the_cron_schedule_once_per_fire() {
    let dir = temp_dir("mailout-digest");
    let config = test_config(&dir, "en", None);
    let mut store = crate::util::store(&dir);
    ingest(
        &mut store,
        &config,
        &corpus(INCOMPLETE),
        at("2026-03-16T09:00:00Z"),
    );
    ingest(
        &mut store,
        &config,
        &corpus(COMPLETE),
        at("2026-03-16T09:00:00Z"),
    );
    let digests = |dir: &Path| {
        eml_files(&dir.join("outbox"))
            .iter()
            .map(|r| parse(r))
            .filter(|m| m.subject.starts_with("SLA credit claims on"))
            .collect::<Vec<_>>()
    };
    // Tuesday: the schedule starts; Monday 23 March 07:59 CET: not yet; 08:00:30: due.
    cycle(&mut store, &config, at("2026-03-17T10:00:00Z")).await;
    cycle(&mut store, &config, at("2026-03-23T06:59:00Z")).await;
    assert_eq!(digests(&dir).len(), 0);
    cycle(&mut store, &config, at("2026-03-23T07:00:30Z")).await;
    cycle(&mut store, &config, at("2026-03-23T07:30:00Z")).await;
    let found = digests(&dir);
    assert_eq!(found.len(), 1);
    let d = &found[0];
    assert!(d.subject.contains("2 open"), "{}", d.subject);
    // By deadline, with what each is missing.
    assert!(
        d.text.contains("SP1031562") && d.text.contains("TM1033071"),
        "{}",
        d.text
    );
    assert!(
        d.text
            .contains("missing: support ticket number and customer contact details"),
        "{}",
        d.text
    );
}

#[tokio::test]
async fn staff_replies_change_claims_only_when_authenticated() {
    let dir = temp_dir("mailout-staff");
    let mut config = test_config(&dir, "en", None);
    // Only drafts and reminders are counted here.
    config.reminders.digest = String::new();
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    ingest(&mut store, &config, &corpus(INCOMPLETE), now);
    cycle(&mut store, &config, now).await;
    let draft = parse(&eml_files(&dir.join("outbox"))[0]);
    let reply = |from: &str, auth: &str, body: &str, n: u32| {
        format!(
            "{auth}From: {from}\r\nTo: slaclaim@cloudwise-partners.example\r\nSubject: Re: {}\r\nDate: Mon, 16 Mar 2026 11:00:00 +0000\r\nMessage-ID: <staff-{n}@cloudwise-partners.example>\r\nIn-Reply-To: <{}>\r\n\r\n{body}\r\n",
            draft.subject, draft.message_id
        )
    };
    let pass = "Authentication-Results: mx.cloudwise-partners.example; dkim=pass header.d=cloudwise-partners.example; dmarc=pass header.from=cloudwise-partners.example\r\n";
    // A forged staff From without authentication is ignored.
    let forged = ingest(
        &mut store,
        &config,
        reply(
            "sanne.bakker@cloudwise-partners.example",
            "",
            "submitted 2603160040001234",
            1,
        )
        .as_bytes(),
        now,
    );
    assert!(
        matches!(forged, Outcome::Ignored { ref why } if why.contains("not authenticated")),
        "{forged:?}"
    );
    // Staff mail without a command is ordinary mail (a note on the ticket), no command.
    let chat = ingest(
        &mut store,
        &config,
        reply(
            "sanne.bakker@cloudwise-partners.example",
            pass,
            "Thanks, looking into it.",
            2,
        )
        .as_bytes(),
        now,
    );
    assert!(!matches!(chat, Outcome::Command { .. }), "{chat:?}");
    // Someone who is not staff cannot submit a claim.
    let other = ingest(
        &mut store,
        &config,
        reply(
            "mallory@cloudwise-partners.example",
            pass,
            "submitted 2603160040001234",
            3,
        )
        .as_bytes(),
        now,
    );
    assert!(!matches!(other, Outcome::Command { .. }), "{other:?}");
    assert_eq!(
        store.all_claims().unwrap_or_default()[0].status,
        slaclaim::store::Status::Collecting
    );
    // The real thing.
    let ok = ingest(
        &mut store,
        &config,
        reply(
            "Sanne Bakker <sanne.bakker@cloudwise-partners.example>",
            pass,
            "submitted 2603160040001234\r\n\r\nSanne",
            4,
        )
        .as_bytes(),
        now,
    );
    assert!(matches!(ok, Outcome::Command { .. }), "{ok:?}");
    let c = &store.all_claims().unwrap_or_default()[0];
    assert_eq!(c.status, slaclaim::store::Status::Submitted);
    assert_eq!(c.case_number.as_deref(), Some("2603160040001234"));
    // Reminders stop: none at 14, 7, 3, 1 days.
    for day in [
        "2026-04-16T09:00:00Z",
        "2026-04-23T09:00:00Z",
        "2026-04-29T09:00:00Z",
    ] {
        assert_eq!(cycle(&mut store, &config, at(day)).await.0, 0, "{day}");
    }
    // Our own draft coming back (a loop through a group alias) is not a request.
    let back = ingest(&mut store, &config, &eml_files(&dir.join("outbox"))[0], now);
    assert!(
        matches!(back, Outcome::Ignored { ref why } if why.contains("own")),
        "{back:?}"
    );
}

#[test]
fn digest_schedule_time_zone_is_the_deadline_zone() {
    // 08:00 in Amsterdam is 07:00 UTC in winter and 06:00 UTC in summer.
    let s = slaclaim::outbound::planner::ReminderConfig::default()
        .schedule()
        .unwrap()
        .unwrap_or_else(|| panic!("no schedule"));
    let zone = chrono_tz::Europe::Amsterdam;
    let winter = slaclaim::outbound::planner::next_fire(&s, at("2026-03-17T00:00:00Z").naive_utc())
        .unwrap_or_else(|| panic!("none"));
    assert_eq!(
        slaclaim::outbound::planner::fire_instant(winter, zone).to_rfc3339(),
        "2026-03-23T07:00:00+00:00"
    );
    let summer = slaclaim::outbound::planner::next_fire(&s, at("2026-04-01T00:00:00Z").naive_utc())
        .unwrap_or_else(|| panic!("none"));
    assert_eq!(
        slaclaim::outbound::planner::fire_instant(summer, zone).to_rfc3339(),
        "2026-04-06T06:00:00+00:00"
    );
}

/// Sends through `sink` with TLS as `mode`, trusting the sink's private CA; then, without
/// the CA, the certificate is not trusted and nothing is sent.
async fn delivers_over_tls_with_a_private_ca(sink: SmtpSink, mode: TlsMode, name: &str) {
    let dir = temp_dir(name);
    let mut config = test_config(&dir, "en", Some(sink.port));
    config.outbox.host = Some("localhost".into());
    config.outbox.tls = mode;
    config.outbox.ca_file = sink.cert.clone();
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    ingest(&mut store, &config, &corpus(COMPLETE), now);
    assert_eq!(cycle(&mut store, &config, now).await, (1, 1));
    assert_eq!(sink.messages().len(), 1);
    config.outbox.ca_file = None;
    ingest(&mut store, &config, &corpus(INCOMPLETE), now);
    assert_eq!(cycle(&mut store, &config, now).await, (1, 0));
    let pending = store.due_mail("9999", 10).unwrap_or_default();
    assert_eq!(pending.len(), 1);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn smtp_with_starttls_and_a_private_ca() {
    let sink = SmtpSink::start_tls("starttls");
    delivers_over_tls_with_a_private_ca(sink, TlsMode::Starttls, "mailout-starttls").await;
}

#[tokio::test]
async fn smtp_with_implicit_tls_and_a_private_ca() {
    let sink = SmtpSink::start_smtps("smtps");
    delivers_over_tls_with_a_private_ca(sink, TlsMode::Implicit, "mailout-smtps").await;
}

#[tokio::test]
async fn smtp_xoauth2_with_a_token_from_the_token_source() {
    xoauth2_and_a_refused_token(false, "xoauth2").await;
}

#[tokio::test]
async fn smtp_xoauth2_token_refused_with_an_error_challenge() {
    xoauth2_and_a_refused_token(true, "xoauth2-challenge").await;
}

/// Sends with a good token, then with a stale one that the server refuses, with a plain
/// 535 or first with an RFC 7628 error challenge: either way a refused token, renewed
/// before the next try, not a mystery error.
async fn xoauth2_and_a_refused_token(challenge: bool, name: &str) {
    let mut sink =
        SmtpSink::start_xoauth2(name, "slaclaim@cloudwise-partners.example", "tok-smtp-1");
    sink.challenge = challenge;
    sink.down();
    sink.up();
    let dir = temp_dir(&format!("mailout-{name}"));
    let mut config = test_config(&dir, "en", Some(sink.port));
    config.outbox.host = Some("localhost".into());
    config.outbox.tls = slaclaim::inbound::imap::TlsMode::Starttls;
    config.outbox.ca_file = sink.cert.clone();
    config.outbox.user = Some("slaclaim@cloudwise-partners.example".into());
    config.outbox.oauth2 =
        Some(toml::from_str("token-command = [\"echo\", \"tok-smtp-1\"]").unwrap());
    config.outbox.validate().unwrap();
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    ingest(&mut store, &config, &corpus(COMPLETE), now);
    assert_eq!(cycle(&mut store, &config, now).await, (1, 1));
    assert_eq!(sink.messages().len(), 1);
    // A token the server does not accept: a 535, kept for a retry with a new token.
    if let Some(o) = config.outbox.oauth2.as_mut() {
        o.token_command = Some(vec!["echo".into(), "stale".into()]);
    }
    ingest(&mut store, &config, &corpus(INCOMPLETE), now);
    assert_eq!(cycle(&mut store, &config, now).await, (1, 0));
    let retry = store.due_mail("9999", 10).unwrap_or_default();
    assert_eq!(retry.len(), 1);
    let refused = Transport::new(&config.outbox)
        .send(&retry[0], |_: &[String]| ())
        .await;
    assert!(
        matches!(refused, outbox::Attempt::Transient(ref why)
            if why.contains("refused the token")
                && why.contains(if challenge { "error challenge" } else { "535" })),
        "{refused:?}"
    );
    assert_eq!(store.due_mail("9999", 10).unwrap_or_default().len(), 1);
    // A fresh token refused as well: a setting to fix (health fails), still queued.
    let transport = Transport::new(&config.outbox);
    let first = transport.send(&retry[0], |_: &[String]| ()).await;
    let again = transport.send(&retry[0], |_: &[String]| ()).await;
    assert!(matches!(first, outbox::Attempt::Transient(_)), "{first:?}");
    assert!(
        matches!(again, outbox::Attempt::Misconfigured(ref why) if why.contains("freshly fetched token")),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_customer_request_forwarded_by_staff_opens_a_claim() {
    let dir = temp_dir("mailout-forward");
    let config = test_config(&dir, "en", None);
    let mut store = crate::util::store(&dir);
    let now = at("2026-03-16T09:00:00Z");
    let original = String::from_utf8_lossy(&corpus(INCOMPLETE)).replace("\r\n", "\n");
    let forward = format!(
        "From: Sanne Bakker <sanne.bakker@cloudwise-partners.example>\nTo: support@cloudwise-partners.example\nSubject: Fwd: SLA credit request\nDate: Mon, 16 Mar 2026 08:00:00 +0000\nMessage-ID: <fwd-1@cloudwise-partners.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nFor the SLA claims, see below.\n--b\nContent-Type: message/rfc822\n\n{original}\n--b--\n"
    );
    let outcome = ingest(&mut store, &config, forward.as_bytes(), now);
    assert!(
        matches!(outcome, Outcome::NewTicket { .. } | Outcome::Linked { .. }),
        "{outcome:?}"
    );
    let claims = store.all_claims().unwrap_or_default();
    assert_eq!(claims.len(), 1, "{outcome:?}");
    assert_eq!(claims[0].incident_id, "TM1033071");
}
