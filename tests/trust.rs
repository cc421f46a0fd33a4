//! Who may change a claim, through the real ingest path: forged, third-party and echoed
//! mail against a customer request, with the receiving server's Authentication-Results
//! written the way Postfix with OpenDKIM/OpenDMARC writes them (and Exchange Online's).

use crate::mailout::{at, cycle, eml_files, ingest, parse};
use chrono::{DateTime, Utc};
use slaclaim::app::config::Config;
use slaclaim::ledger::ingest::Outcome;
use slaclaim::store::Store;

pub(crate) const TENANT: &str = "5b1e6c2a-7d3f-4e81-9a40-c2d4e6f8a0b1";
pub(crate) const OURS: &str = "mx.cloudwise-partners.example";
pub(crate) const CUSTOMER: &str = "kestrel-logistics.example";

/// What our receiving server writes on top: DMARC and DKIM for `domain`.
pub(crate) fn passed(domain: &str) -> String {
    format!(
        "Authentication-Results: {OURS}; dmarc=pass (p=quarantine dis=none) header.from={domain}\r\nAuthentication-Results: {OURS};\r\n\tdkim=pass (2048-bit key) header.d={domain} header.i=@{domain} header.b=\"kX9/q+2\"\r\nReceived: from mail.{domain} by {OURS} (Postfix) with ESMTPS id 4Q7;\r\n\tMon, 9 Nov 2026 09:00:02 +0100\r\n"
    )
}

fn failed(domain: &str) -> String {
    format!(
        "Authentication-Results: {OURS}; dmarc=fail (p=reject dis=none) header.from={domain}\r\nAuthentication-Results: {OURS}; dkim=fail header.d={domain}; spf=softfail smtp.mailfrom={domain}\r\n"
    )
}

/// A customer's complete request, as ticketwise as real ones: opens SLA-1.
pub(crate) fn request(auth: &str) -> String {
    format!(
        "{auth}From: Ilse Vos <ilse.vos@kestrel-logistics.example>\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request: Teams outage\r\nDate: Mon, 09 Nov 2026 09:00:00 +0100\r\nMessage-ID: <req-1@kestrel-logistics.example>\r\n\r\nHello,\r\n\r\nWe want to claim an SLA credit for Microsoft incident TM4409123.\r\nOur tenant ID is {TENANT}.\r\nTeams calls failed on 5 November 2026 from 13:10 to 15:40 CET.\r\n38 users in Zwolle were affected.\r\nWe restarted the Teams clients and tried the web app.\r\nOur ticket number: 88123. Subscriptions bought through CSP: yes.\r\n\r\nRegards,\r\nIlse Vos\r\n+31 38 555 0142\r\n"
    )
}

/// A follow-up naming ticket SLA-1 in its subject.
pub(crate) fn follow_up(auth: &str, from: &str, n: u32, body: &str) -> String {
    format!(
        "{auth}From: {from}\r\nTo: support@cloudwise-partners.example\r\nSubject: RE: [SLA-1] Teams outage\r\nDate: Tue, 10 Nov 2026 10:00:00 +0100\r\nMessage-ID: <follow-{n}@example.net>\r\n\r\n{body}\r\n"
    )
}

pub(crate) fn config(dir: &std::path::Path, extra: &str) -> Config {
    let text = format!(
        "[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ntransport = \"file\"\ndir = \"{}\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\ndigest = \"\"\n[staff]\naddresses = [\"sanne.bakker@cloudwise-partners.example\"]\n{extra}",
        dir.join("outbox").display()
    );
    Config::parse(&text, "test").unwrap()
}

pub(crate) fn trusting(dir: &std::path::Path) -> Config {
    config(dir, &format!("[trust]\nauthserv-ids = [\"{OURS}\"]\n"))
}

pub(crate) fn now() -> DateTime<Utc> {
    at("2026-11-10T10:00:00Z")
}

fn evidence(store: &Store) -> Vec<(String, String)> {
    let c = &store.all_claims().unwrap()[0];
    store
        .evidence(c.id)
        .unwrap()
        .into_iter()
        .map(|r| (r.field, r.value))
        .collect()
}

/// A test directory named `name` whose store holds SLA-1 from a verified customer, and
/// the config that trusts our receiving server.
pub(crate) fn opened_ticket(name: &str) -> (std::path::PathBuf, Config, Store) {
    let dir = crate::util::temp_dir(name);
    let config = trusting(&dir);
    let mut store = crate::util::store(&dir);
    let out = ingest(
        &mut store,
        &config,
        request(&passed(CUSTOMER)).as_bytes(),
        now(),
    );
    assert!(
        matches!(out, Outcome::NewTicket { ref reference, .. } if reference == "SLA-1"),
        "{out:?}"
    );
    (dir, config, store)
}

/// A follow-up on SLA-1 from the customer's domain, authenticated.
pub(crate) fn from_customer(from: &str, n: u32, body: &str) -> String {
    follow_up(&passed(CUSTOMER), from, n, body)
}

/// The stored value of one evidence field of the first claim.
fn field(store: &Store, name: &str) -> String {
    evidence(store)
        .into_iter()
        .find(|(f, _)| f == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[test]
fn a_stranger_with_the_ticket_tag_changes_nothing_and_is_listed_for_staff() {
    let (dir, config, mut store) = opened_ticket("trust-hijack");
    let before = evidence(&store);
    let status = store.all_claims().unwrap()[0].status;
    // Another domain, even authenticated for itself: not the customer's.
    let hijack = follow_up(
        &passed("intruder.example"),
        "Mallory <mallory@intruder.example>",
        1,
        "Correction: 250 users were affected in Rotterdam. The licences were not bought through CSP. The outage was on 3 January 2026. Contact me at mallory@intruder.example.",
    );
    let out = ingest(&mut store, &config, hijack.as_bytes(), now());
    assert!(
        matches!(out, Outcome::Unverified { ref reference, ref why, .. } if reference == "SLA-1" && why.contains("intruder.example")),
        "{out:?}"
    );
    assert!(
        out.to_string().starts_with("linked to ticket SLA-1"),
        "{out}"
    );
    // The customer's own domain with DMARC failing (a forged From) is no better.
    let forged = follow_up(
        &failed(CUSTOMER),
        "ilse.vos@kestrel-logistics.example",
        2,
        "Please note: not bought through CSP after all.",
    );
    let out = ingest(&mut store, &config, forged.as_bytes(), now());
    assert!(
        matches!(out, Outcome::Unverified { ref why, .. } if why.contains("dmarc") || why.contains("DMARC")),
        "{out:?}"
    );
    assert_eq!(
        evidence(&store),
        before,
        "unverified mail changed the evidence"
    );
    let c = &store.all_claims().unwrap()[0];
    assert_eq!(c.status, status);
    assert_eq!(c.review, None);
    let listed = store.unverified_messages(c.id).unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    // `slaclaim claim` shows them, with the request's authentication.
    let shown = crate::util::slaclaim([
        "--state-dir".as_ref(),
        dir.join("state").as_os_str(),
        "claim".as_ref(),
        "SLA-1".as_ref(),
    ]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("unverified mail") && shown.contains("mallory@intruder.example"),
        "{shown}"
    );
    assert!(
        shown.contains("request authentication: DMARC pass (kestrel-logistics.example)"),
        "{shown}"
    );
    // No ticket of its own either.
    assert_eq!(store.all_claims().unwrap().len(), 1);
}

#[tokio::test]
async fn the_draft_lists_unverified_mail_and_the_requests_authentication() {
    let (dir, config, mut store) = opened_ticket("trust-draft");
    let hijack = follow_up(
        "",
        "Mallory <mallory@intruder.example>",
        1,
        "We also need 500 users added.",
    );
    ingest(&mut store, &config, hijack.as_bytes(), now());
    cycle(&mut store, &config, now()).await;
    let drafts = eml_files(&dir.join("outbox"));
    assert_eq!(drafts.len(), 1);
    let draft = parse(&drafts[0]);
    assert!(
        draft.text.contains("mallory@intruder.example"),
        "{}",
        draft.text
    );
    assert!(draft.text.contains("unverified"), "{}", draft.text);
    assert!(
        draft
            .text
            .contains("DMARC pass (kestrel-logistics.example)"),
        "{}",
        draft.text
    );
    assert!(!draft.text.contains("500"), "{}", draft.text);
}

#[test]
fn a_verified_customer_follow_up_still_updates_its_claim() {
    let (_, config, mut store) = opened_ticket("trust-follow-up");
    let update = from_customer(
        "Joris Vos <joris@kestrel-logistics.example>",
        1,
        "An update: in total 52 users in Zwolle and Deventer were affected.",
    );
    let out = ingest(&mut store, &config, update.as_bytes(), now());
    assert!(matches!(out, Outcome::Linked { .. }), "{out:?}");
    let users = field(&store, "affected_users");
    assert!(
        users.contains("52") && users.contains("Deventer"),
        "{users}"
    );
    // A customer saying it was not bought through CSP flags the claim; staff decide.
    let no_csp = from_customer(
        "ilse.vos@kestrel-logistics.example",
        2,
        "Sorry, I was wrong: these subscriptions were not bought through CSP.",
    );
    ingest(&mut store, &config, no_csp.as_bytes(), now());
    let c = &store.all_claims().unwrap()[0];
    assert_ne!(c.status, slaclaim::store::Status::Ineligible);
    assert!(
        c.review
            .as_deref()
            .is_some_and(|r| r.contains("not bought through CSP")),
        "{c:?}"
    );
}

#[test]
fn a_customer_date_that_would_expire_the_claim_flags_it_instead() {
    let (_, config, mut store) = opened_ticket("trust-old-date");
    let old = from_customer(
        "ilse.vos@kestrel-logistics.example",
        1,
        "Correction: the outage was on 3 January 2026 from 13:10 to 15:40 CET, not in November.",
    );
    ingest(&mut store, &config, old.as_bytes(), now());
    let ingester = slaclaim::ledger::ingest::Ingester {
        extractor: &crate::util::extractor(),
        policy: config.deadline.policy().unwrap(),
        max_bytes: 1 << 20,
        rules: config.mail_rules(),
        limits: Default::default(),
    };
    ingester.expire_overdue(&mut store, now()).unwrap();
    let c = &store.all_claims().unwrap()[0];
    assert_ne!(c.status, slaclaim::store::Status::Expired, "{c:?}");
    assert!(
        c.review
            .as_deref()
            .is_some_and(|r| r.contains("has passed")),
        "{c:?}"
    );
}

/// A staff reply to the draft: `auth` on top, then the headers, then `body`.
pub(crate) fn staff(auth: &str, extra_headers: &str, subject: &str, body: &str) -> String {
    format!(
        "{auth}From: Sanne Bakker <sanne.bakker@cloudwise-partners.example>\r\n{extra_headers}To: slaclaim@cloudwise-partners.example\r\nSubject: {subject}\r\nDate: Wed, 11 Nov 2026 09:00:00 +0100\r\nMessage-ID: <staff-{}@cloudwise-partners.example>\r\n\r\n{body}\r\n",
        body.len() + subject.len() + auth.len() + extra_headers.len()
    )
}

#[test]
fn forged_authentication_results_are_not_believed() {
    let (_, config, mut store) = opened_ticket("trust-forged-ar");
    let staff_pass = passed("cloudwise-partners.example");
    let subject = "Re: [SLA-1] Draft SLA credit claim";
    let cases = [
        // Our authserv-id, but written by the sender below the From.
        staff("", &staff_pass, subject, "submitted 2611110040001111"),
        // Another server's verdict on top.
        staff(
            "Authentication-Results: mx.intruder.example; dmarc=pass header.from=cloudwise-partners.example\r\n",
            "",
            subject,
            "submitted 2611110040001112",
        ),
        // A pass hidden in a quoted value of our own field.
        staff(
            &format!(
                "Authentication-Results: {OURS}; spf=fail smtp.mailfrom=\"x; dmarc=pass header.from=cloudwise-partners.example\"\r\n"
            ),
            "",
            subject,
            "submitted 2611110040001113",
        ),
        // Two From fields, the second one staff's.
        format!(
            "{staff_pass}From: mallory@intruder.example\r\nFrom: sanne.bakker@cloudwise-partners.example\r\nSubject: {subject}\r\nMessage-ID: <two-froms@x.example>\r\n\r\nsubmitted 2611110040001114\r\n"
        ),
    ];
    for raw in &cases {
        let out = ingest(&mut store, &config, raw.as_bytes(), now());
        assert!(!matches!(out, Outcome::Command { .. }), "{out:?}\n{raw}");
    }
    assert_ne!(
        store.all_claims().unwrap()[0].status,
        slaclaim::store::Status::Submitted
    );
    // The genuine, authenticated reply still closes it.
    let out = ingest(
        &mut store,
        &config,
        staff(
            &staff_pass,
            "",
            subject,
            "submitted 2611110040001115\r\n\r\nSanne",
        )
        .as_bytes(),
        now(),
    );
    assert!(matches!(out, Outcome::Command { .. }), "{out:?}");
    let c = &store.all_claims().unwrap()[0];
    assert_eq!(
        (c.status.as_str(), c.case_number.as_deref()),
        ("submitted", Some("2611110040001115"))
    );
}

#[test]
fn exchange_online_mode_believes_internal_senders() {
    let dir = crate::util::temp_dir("trust-exchange");
    let config = config(&dir, "[trust]\nexchange-online = true\n");
    let mut store = crate::util::store(&dir);
    let exchange = "Received: from AM9PR01MB7000.eurprd01.prod.exchangelabs.com by AM9PR01MB7001\r\nAuthentication-Results: spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=kestrel-logistics.example; dkim=pass (signature was verified) header.d=kestrel-logistics.example;dmarc=pass action=none header.from=kestrel-logistics.example;compauth=pass reason=100\r\n";
    let out = ingest(&mut store, &config, request(exchange).as_bytes(), now());
    assert!(matches!(out, Outcome::NewTicket { .. }), "{out:?}");
    let internal = "Authentication-Results: dkim=none (message not signed) header.d=none;dmarc=none action=none header.from=cloudwise-partners.example;\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\n";
    let out = ingest(
        &mut store,
        &config,
        staff(
            internal,
            "",
            "Re: [SLA-1] Draft",
            "ineligible: the tenant is not ours",
        )
        .as_bytes(),
        now(),
    );
    assert!(matches!(out, Outcome::Command { .. }), "{out:?}");
    assert_eq!(
        store.all_claims().unwrap()[0].status,
        slaclaim::store::Status::Ineligible
    );
}

#[tokio::test]
async fn a_forwarded_or_quoted_draft_is_never_a_command_and_an_echo_is_not_a_request() {
    let (dir, config, mut store) = opened_ticket("trust-echo");
    cycle(&mut store, &config, now()).await;
    let draft = parse(&eml_files(&dir.join("outbox"))[0]);
    let pass = passed("cloudwise-partners.example");
    // Forwarded to a colleague: the template's "ineligible: <reason>" is no command.
    let fwd = staff(
        &pass,
        "",
        &format!("Fwd: {}", draft.subject),
        &format!(
            "Can you check this one?\r\n\r\n---------- Forwarded message ---------\r\nFrom: slaclaim <slaclaim@cloudwise-partners.example>\r\nDate: Tue, 10 Nov 2026\r\nSubject: {}\r\n\r\n{}\r\n",
            draft.subject, draft.text
        ),
    );
    let out = ingest(&mut store, &config, fwd.as_bytes(), now());
    assert!(!matches!(out, Outcome::Command { .. }), "{out:?}");
    // A command only in the quoted history is no command of this mail.
    let quoted: String = draft.text.lines().map(|l| format!("> {l}\r\n")).collect();
    let reply = staff(
        &pass,
        "",
        &format!("Re: {}", draft.subject),
        &format!(
            "Thanks, I will look at it tomorrow.\r\n\r\nOn Tue, 10 Nov 2026, slaclaim wrote:\r\n{quoted}> ineligible: duplicate\r\n"
        ),
    );
    let out = ingest(&mut store, &config, reply.as_bytes(), now());
    assert!(!matches!(out, Outcome::Command { .. }), "{out:?}");
    let c = &store.all_claims().unwrap()[0];
    assert!(
        !matches!(c.status.as_str(), "ineligible" | "submitted"),
        "{c:?}"
    );
    assert_eq!(
        c.review, None,
        "the draft's own words flagged the claim: {c:?}"
    );
    // A ticket tool echoes the draft back: no request, no claim, no flag.
    let echo = format!(
        "From: Service Desk <desk@ticketing.example>\r\nTo: slaclaim@cloudwise-partners.example\r\nSubject: [#4471] Your request has been received\r\nDate: Tue, 10 Nov 2026 11:00:00 +0100\r\nMessage-ID: <echo-4471@ticketing.example>\r\n\r\nYour request has been received and given number 4471.\r\nYour message:\r\n\r\n{}\r\n",
        draft.text
    );
    let out = ingest(&mut store, &config, echo.as_bytes(), now());
    assert!(!matches!(out, Outcome::NewTicket { .. }), "{out:?}");
    assert_eq!(store.all_claims().unwrap().len(), 1);
    assert_eq!(store.all_claims().unwrap()[0].review, None);
    // A staff correction above a quoted draft counts; the draft below does not.
    let correction = staff(
        &pass,
        "",
        &format!("Re: {}", draft.subject),
        &format!(
            "Correction from the customer by phone: 95 users were affected, not 38.\r\n\r\n{quoted}"
        ),
    );
    ingest(&mut store, &config, correction.as_bytes(), now());
    let users = field(&store, "affected_users");
    assert!(users.contains("95"), "{users}");
}

#[test]
fn one_mail_opens_at_most_the_cap_of_claims() {
    let dir = crate::util::temp_dir("trust-amplify");
    let config = trusting(&dir);
    let mut store = crate::util::store(&dir);
    let mut body =
        String::from("We claim an SLA credit for all of these tenants and incidents:\r\n");
    for i in 0..100 {
        body.push_str(&format!("{:08x}-1111-4222-8333-{:012x}\r\n", i, i));
    }
    for i in 0..101 {
        body.push_str(&format!("EX{}\r\n", 5_000_000 + i));
    }
    let raw = format!(
        "{}From: a@kestrel-logistics.example\r\nSubject: SLA credit request\r\nMessage-ID: <many@kestrel-logistics.example>\r\n\r\n{body}",
        passed(CUSTOMER)
    );
    let out = ingest(&mut store, &config, raw.as_bytes(), now());
    assert!(matches!(out, Outcome::NewTicket { .. }), "{out:?}");
    let claims = store.all_claims().unwrap();
    assert_eq!(claims.len(), 1, "{}", claims.len());
    assert!(
        claims[0]
            .review
            .as_deref()
            .is_some_and(|r| r.contains("too many")),
        "{claims:?}"
    );
    // Twelve incidents of one tenant: past the default cap of ten too.
    let twelve: String = (0..12)
        .map(|i| format!("TM{}\r\n", 6_000_000 + i))
        .collect();
    let raw = format!(
        "{}From: b@fieldfare.example\r\nSubject: SLA credit request\r\nMessage-ID: <twelve@fieldfare.example>\r\n\r\nPlease request a service credit for tenant {TENANT}, incidents:\r\n{twelve}",
        passed("fieldfare.example")
    );
    ingest(&mut store, &config, raw.as_bytes(), now());
    assert_eq!(store.all_claims().unwrap().len(), 2);
    // Two tenants and three incidents in table rows: the rows pair them, three claims.
    let (t1, t2) = (
        "11111111-aaaa-4bbb-8ccc-000000000001",
        "11111111-aaaa-4bbb-8ccc-000000000002",
    );
    let raw = format!(
        "{}From: c@harrier-bank.example\r\nSubject: SLA credit request for two tenants\r\nMessage-ID: <rows@harrier-bank.example>\r\n\r\nPlease claim service credits:\r\n\r\nTenant\tIncidents\r\n{t1}\tEX7000001, TM7000002\r\n{t2}\tSP7000003\r\n",
        passed("harrier-bank.example")
    );
    let out = ingest(&mut store, &config, raw.as_bytes(), now());
    let Outcome::NewTicket { claims, .. } = out else {
        panic!("{out:?}")
    };
    let mut claims = claims;
    claims.sort();
    assert_eq!(
        claims,
        [
            format!("EX7000001/{t1}"),
            format!("SP7000003/{t2}"),
            format!("TM7000002/{t1}")
        ]
    );
}

#[tokio::test]
async fn customer_data_goes_only_to_an_authenticated_requester_and_one_bad_address_stops_nothing() {
    let dir = crate::util::temp_dir("trust-send-to-customers");
    let config = config(&dir, &format!("[trust]\nauthserv-ids = [\"{OURS}\"]\n"));
    let mut config = config;
    config.drafts.send_to_customers = true;
    let mut store = crate::util::store(&dir);
    // A spoofed From: DMARC failed, so the customer's data must not go there.
    let spoofed = request(&failed(CUSTOMER));
    ingest(&mut store, &config, spoofed.as_bytes(), now());
    // A requester whose address cannot be written to.
    let odd = request(&passed("fieldfare.example"))
        .replace(
            "Ilse Vos <ilse.vos@kestrel-logistics.example>",
            "\"odd\" <odd..dots@fieldfare.example>",
        )
        .replace("req-1@", "req-2@")
        .replace("88123", "88124");
    ingest(&mut store, &config, odd.as_bytes(), now());
    // And a genuine one.
    let genuine = request(&passed("harrier-bank.example"))
        .replace(
            "ilse.vos@kestrel-logistics.example",
            "bo@harrier-bank.example",
        )
        .replace("req-1@", "req-3@")
        .replace("88123", "88125")
        .replace(TENANT, "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f");
    ingest(&mut store, &config, genuine.as_bytes(), now());
    assert_eq!(store.all_claims().unwrap().len(), 3);
    cycle(&mut store, &config, now()).await;
    let drafts = eml_files(&dir.join("outbox"));
    assert_eq!(drafts.len(), 3, "one claim's trouble stopped the others");
    let to = |raw: &[u8]| {
        let text = String::from_utf8_lossy(raw).to_string();
        text.lines()
            .find(|l| l.starts_with("To:"))
            .unwrap_or_default()
            .to_string()
    };
    let all: Vec<String> = drafts.iter().map(|d| to(d)).collect();
    assert!(
        all.iter().all(|t| !t.contains("kestrel-logistics")),
        "{all:?}"
    );
    assert!(
        all.iter().any(|t| t.contains("bo@harrier-bank.example")),
        "{all:?}"
    );
    // The DMARC-failing request opened its ticket flagged for staff.
    assert!(store.all_claims().unwrap().iter().any(|c| {
        c.review
            .as_deref()
            .is_some_and(|r| r.contains("not authenticated"))
    }));
}

#[tokio::test]
async fn a_line_break_in_an_encoded_subject_stays_inside_its_line() {
    let dir = crate::util::temp_dir("trust-crlf");
    let config = trusting(&dir);
    let mut store = crate::util::store(&dir);
    let raw = request(&passed(CUSTOMER)).replace(
        "Subject: SLA credit request: Teams outage",
        "Subject: =?utf-8?q?SLA_credit_request=0D=0A8=2E_Subscriptions_purchased_through_CSP=3A_Yes?=",
    );
    ingest(&mut store, &config, raw.as_bytes(), now());
    cycle(&mut store, &config, now()).await;
    let draft = parse(&eml_files(&dir.join("outbox"))[0]);
    let eights = draft.text.lines().filter(|l| l.starts_with("8. ")).count();
    assert_eq!(eights, 1, "{}", draft.text);
    let six = draft
        .text
        .lines()
        .find(|l| l.starts_with("6. "))
        .unwrap_or_default();
    assert!(six.contains("SLA credit request 8. Subscriptions"), "{six}");
}

#[test]
fn credit_requests_with_bulk_or_suppress_headers_are_still_requests() {
    let dir = crate::util::temp_dir("trust-headers");
    let config = trusting(&dir);
    let mut store = crate::util::store(&dir);
    for (n, header) in ["X-Auto-Response-Suppress: All\r\n", "Precedence: bulk\r\n"]
        .iter()
        .enumerate()
    {
        let raw = request(&passed(CUSTOMER))
            .replace(
                "Message-ID: <req-1@",
                &format!("{header}Message-ID: <hdr-{n}@"),
            )
            .replace("88123", &format!("7712{n}"))
            .replace(TENANT, &format!("5b1e6c2a-7d3f-4e81-9a40-c2d4e6f8a0b{n}"));
        let out = ingest(&mut store, &config, raw.as_bytes(), now());
        assert!(
            matches!(out, Outcome::NewTicket { .. }),
            "{header}: {out:?}"
        );
    }
    // A true out-of-office reply is still dropped.
    let oof = "Auto-Submitted: auto-replied\r\nFrom: ilse.vos@kestrel-logistics.example\r\nSubject: Automatic reply: [SLA-1] Draft SLA credit claim TM4409123\r\nMessage-ID: <oof@kestrel-logistics.example>\r\n\r\nI am out of the office until Monday.\r\n";
    let out = ingest(&mut store, &config, oof.as_bytes(), now());
    assert!(!matches!(out, Outcome::NewTicket { .. }), "{out:?}");
}

#[test]
fn a_phishing_mail_in_microsofts_name_is_no_service_notification() {
    let dir = crate::util::temp_dir("trust-phish");
    let notice = |auth: &str, n: usize| {
        format!(
            "{auth}From: Microsoft 365 Message center <o365mc@microsoft.com>\r\nSubject: Service incident EX5512345: claim your SLA refund\r\nMessage-ID: <phish-{n}@example.net>\r\n\r\nA service incident affected Exchange Online. Claim your SLA refund within 24 hours at the link below.\r\n"
        )
    };
    let trusted = trusting(&dir);
    let untrusting = config(&dir, "");
    let mut store = crate::util::store(&dir);
    let cases = [
        (&trusted, failed("microsoft.com"), "other"),
        (&trusted, passed("microsoft.com"), "service_notification"),
        // Without a trusted server, the content decides as before.
        (&untrusting, String::new(), "service_notification"),
    ];
    for (n, (config, auth, kind)) in cases.into_iter().enumerate() {
        let out = ingest(&mut store, config, notice(&auth, n).as_bytes(), now());
        assert!(
            matches!(out, Outcome::Stored { kind: k } if k.as_str() == kind),
            "{kind}: {out:?}"
        );
    }
}

#[tokio::test]
async fn one_claim_whose_mail_cannot_be_made_is_flagged_and_the_others_still_get_theirs() {
    let dir = crate::util::temp_dir("trust-isolated");
    // A draft template that fails for SLA-2 only (it passes the load-time check, which
    // renders SLA-1).
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let draft =
        std::fs::read_to_string(crate::util::repo().join("templates/draft.en.txt")).unwrap();
    let broken = draft.replacen(
        "Status: {{ status }}",
        "Status: {{ status }}{% if ticket == \"SLA-2\" %}{{ no_such_function() }}{% endif %}",
        1,
    );
    std::fs::write(templates.join("draft.en.txt"), broken).unwrap();
    let config = config(&dir, &format!("[trust]\nauthserv-ids = [\"{OURS}\"]\n",));
    let mut config = config;
    config.drafts.template_dir = Some(templates);
    let mut store = crate::util::store(&dir);
    for (n, domain) in [
        "kestrel-logistics.example",
        "fieldfare.example",
        "harrier-bank.example",
    ]
    .iter()
    .enumerate()
    {
        let raw = request(&passed(domain))
            .replace(
                "ilse.vos@kestrel-logistics.example",
                &format!("it@{domain}"),
            )
            .replace("req-1@", &format!("iso-{n}@"))
            .replace("88123", &format!("6612{n}"));
        ingest(&mut store, &config, raw.as_bytes(), now());
    }
    let templates =
        slaclaim::outbound::draft::Templates::load(config.drafts.template_dir.as_deref()).unwrap();
    let planner = config.planner(&templates).unwrap();
    let mut planned = slaclaim::outbound::planner::Planned::default();
    let report = planner
        .plan_changed(&mut store, now(), &mut planned)
        .unwrap();
    assert_eq!(report.drafts, 2, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let claims = store.all_claims().unwrap();
    let failed = claims.iter().find(|c| c.ticket == "SLA-2").unwrap();
    assert!(
        failed
            .review
            .as_deref()
            .is_some_and(|r| r.contains("cannot make")),
        "{failed:?}"
    );
    // Recorded, and not tried again on every pass: only when the claim changes or the
    // day does.
    let again = planner
        .plan_changed(&mut store, now(), &mut planned)
        .unwrap();
    assert!(again.failed.is_empty() && again.drafts == 0, "{again:?}");
    let tomorrow = now() + chrono::Duration::days(1);
    let next_day = planner
        .plan_changed(&mut store, tomorrow, &mut planned)
        .unwrap();
    assert_eq!(next_day.failed.len(), 1, "{next_day:?}");
}
