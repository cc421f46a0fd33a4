//! The store's contract, held by both backends: these run on SQLite, and on
//! PostgreSQL in the suite's second pass (`SLACLAIM_TEST_STORE=postgres`).

use crate::util::fresh_store;
use slaclaim::store::{NewMail, NewMessage, Status, Store};

/// A claim (EX1, tenant "t") of a new ticket.
fn a_claim(store: &Store) -> i64 {
    let (ticket, _) = store
        .create_ticket(Some("customer.example"), "now")
        .unwrap();
    store
        .create_claim(ticket, "t", "EX1", Status::Collecting, "now")
        .unwrap()
}

#[test]
fn several_evidence_fields_are_set_in_one_statement_the_last_of_a_field_standing() {
    let store = fresh_store("store-evidence").unwrap();
    let claim = a_claim(&store);
    let raw = b"Subject: x\r\n\r\nx\r\n";
    let m = NewMessage::unread("file", Some("k"), "h", raw, "processed", None);
    let message = store.insert_message(&m, "now").unwrap();
    let v = |f: &str, j: &str| (f.to_string(), j.to_string());
    store
        .set_evidence_all(
            claim,
            &[v("users", "1"), v("csp", "true"), v("users", "2")],
            message,
            "now",
        )
        .unwrap();
    store
        .set_evidence_all(claim, &[v("csp", "false")], message, "later")
        .unwrap();
    store
        .set_evidence_all(claim, &[], message, "later")
        .unwrap();
    let got: Vec<(String, String)> = store
        .evidence(claim)
        .unwrap()
        .into_iter()
        .map(|r| (r.field, r.value))
        .collect();
    assert_eq!(got, vec![v("csp", "false"), v("users", "2")]);
}

#[test]
fn a_batch_taken_has_its_readings_begun_and_a_message_alone_has_not() {
    let mut store = fresh_store("store-take-batch").unwrap();
    for n in 1..=3 {
        let raw = format!("Subject: {n}\r\n\r\nx\r\n");
        assert!(
            store
                .accept("imap", &format!("k:{n}"), raw.as_bytes(), "now")
                .unwrap()
        );
    }
    let batch = store.take_batch(2, 1 << 20, "now").unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[1].raw, b"Subject: 2\r\n\r\nx\r\n");
    let begun = [("k:1".to_string(), 1), ("k:2".to_string(), 1)];
    assert_eq!(store.readings().unwrap(), begun);
    // The next batch begins with a begun reading: that message comes alone, counted once.
    let alone = store.take_batch(10, 1 << 20, "later").unwrap();
    assert_eq!(alone.len(), 1);
    assert_eq!(alone[0].source_key, "k:1");
    assert_eq!(store.readings().unwrap(), begun);
}

#[test]
fn reads_asked_ahead_answer_as_asking_would_and_a_write_ends_them() {
    let store = fresh_store("store-read-ahead").unwrap();
    let claim = a_claim(&store);
    let read = |ahead: &[String], write: bool| {
        store
            .reading_ahead(claim, ahead, |s| {
                if write {
                    s.set_review(claim, Some("look"), "later").unwrap();
                }
                (s.claim(claim).unwrap(), s.evidence(claim).unwrap())
            })
            .unwrap()
    };
    // What was asked about the claim is learned (on PostgreSQL, where it saves a wait).
    let (first, asked) = read(&[], false);
    assert_eq!(asked.len(), usize::from(crate::util::on_postgres()) * 2);
    // Asked ahead, the same answers.
    let (again, _) = read(&asked, false);
    assert_eq!(again, first);
    // A write ends them: what is read after it is read after it.
    let ((after, _), _) = read(&asked, true);
    assert_eq!(after.unwrap().review.as_deref(), Some("look"));
}

#[test]
fn answers_read_ahead_end_with_what_asked_for_them_even_when_it_panics() {
    // SQLite reads nothing ahead; the suite's PostgreSQL pass runs this.
    if !crate::util::on_postgres() {
        return;
    }
    let state = crate::util::temp_dir("store-read-ahead-panic").join("state");
    let store = crate::util::open_store(&state).unwrap();
    let other = crate::util::open_store(&state).unwrap();
    let claim = a_claim(&store);
    let (_, asked) = store
        .reading_ahead(claim, &[], |s| s.claim(claim).unwrap())
        .unwrap();
    let planned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.reading_ahead(claim, &asked, |_| panic!("a plan that failed"))
    }));
    assert!(planned.is_err());
    // Changed elsewhere: this store, asked again, must not answer from before.
    other.set_review(claim, Some("look"), "later").unwrap();
    let now = store.claim(claim).unwrap().unwrap();
    assert_eq!(now.review.as_deref(), Some("look"));
}

#[test]
fn tickets_are_numbered_on_from_the_highest_without_a_gap_after_a_rollback() {
    let mut store = fresh_store("store-ticket-numbers").unwrap();
    let opened = |store: &mut slaclaim::store::Store, keep: bool| {
        store.transaction(|s| {
            let ticket = s.create_ticket(Some("customer.example"), "now")?;
            match keep {
                true => Ok(ticket),
                false => Err(slaclaim::store::StoreError::NoRow("undone".into())),
            }
        })
    };
    assert_eq!(opened(&mut store, true).unwrap(), (1, "SLA-1".to_string()));
    // Undone: the number is given again (an identity's would be gone).
    assert!(opened(&mut store, false).is_err());
    assert_eq!(opened(&mut store, true).unwrap(), (2, "SLA-2".to_string()));
    // Numbered by the writer, then by the ledger again: the count goes on from it.
    let reference = store
        .transaction(|s| s.create_ticket_as(3, None, "now"))
        .unwrap();
    assert_eq!(reference, "SLA-3");
    assert_eq!(opened(&mut store, true).unwrap(), (4, "SLA-4".to_string()));
    assert_eq!(store.ticket_reference(3).unwrap(), "SLA-3");
}

#[test]
fn custody_holds_large_messages_whole_and_once() {
    let store = fresh_store("store-custody").unwrap();
    let big: Vec<u8> = (0..2 * 256 * 1024 + 77).map(|i| (i % 253) as u8).collect();
    let now = "2026-01-01T00:00:00Z";
    for (key, raw) in [("k/1", &big[..]), ("k/2", &b"small"[..])] {
        assert_eq!(store.accept("imap", key, raw, now).ok(), Some(true));
        assert_eq!(store.accept("imap", key, raw, now).ok(), Some(false));
    }
    assert_eq!(store.pending_count().ok(), Some(2));
    let first = store.next_pending().ok().flatten();
    let first = first.unwrap_or_else(|| panic!("nothing pending"));
    assert_eq!(
        (first.source_key.as_str(), &first.raw[..]),
        ("k/1", &big[..])
    );
    store.release(first.id).unwrap();
    let second = store.pending_by_key("k/2").ok().flatten();
    assert_eq!(second.map(|p| p.raw), Some(b"small".to_vec()));
    assert_eq!(store.pending_count().ok(), Some(1));
}

#[test]
fn a_lease_is_held_while_renewed_and_taken_over_once_it_runs_out() {
    let store = fresh_store("store-lease").unwrap();
    let t = |s: u32| format!("2026-12-06T10:00:{s:02}.000Z");
    // `owner` asks for the mailbox's lease until second `until`, at second `now`.
    let take = |owner: &str, until: u32, now: u32| {
        store
            .take_lease("imap:support", owner, &t(until), &t(now))
            .unwrap()
    };
    assert_eq!(take("a", 30, 0), (true, None));
    // b is refused while a's lease runs; a keeps it and renews it.
    assert_eq!(take("b", 40, 10), (false, None));
    assert_eq!(take("a", 40, 10), (true, None));
    // The instance heartbeat is not the source's: only its reader renews that.
    store.heartbeat("a", &t(59), &t(20)).unwrap();
    assert_eq!(take("a", 50, 20), (true, None));
    assert_eq!(take("b", 59, 45), (false, None));
    // a stops renewing: after its lease runs out b takes over, and says from whom.
    assert_eq!(take("b", 59, 50), (true, Some("a".to_string())));
    let held: Vec<(String, String)> = store
        .leases()
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.owner))
        .collect();
    assert!(
        held.contains(&("imap:support".into(), "b".into())),
        "{held:?}"
    );
    store.release_leases("b").unwrap();
    assert_eq!(take("c", 59, 51), (true, None));
}

#[test]
fn an_outbox_row_is_taken_by_one_live_instance_at_a_time() {
    let store = fresh_store("store-take-mail").unwrap();
    let t = |s: u32| format!("2026-12-06T10:00:{s:02}.000Z");
    let to = [
        "helpdesk@partner.example".to_string(),
        "manager@partner.example".to_string(),
    ];
    let mail = NewMail {
        claim_id: None,
        purpose: "digest",
        version: 1,
        message_id: "d1@partner.example",
        recipients: &to,
        raw: b"Subject: x\r\n\r\nx\r\n",
        fingerprint: None,
        summary: None,
    };
    assert!(store.enqueue_mail(&mail, &t(0)).unwrap());
    let id = store.due_mail(&t(1), 10).unwrap()[0].id;
    store.heartbeat("a", &t(30), &t(1)).unwrap();
    assert_eq!(store.take_mail(id, "a", &t(1)).unwrap(), Some(to.to_vec()));
    // a reaches one recipient before it dies.
    let reached = [(to[0].clone(), Some("250 ok".to_string()))];
    store
        .mail_outcomes(id, "accepted", &reached, &t(2))
        .unwrap();
    // b sees it due but a is alive and holds it.
    assert!(store.take_mail(id, "b", &t(2)).unwrap().is_none());
    // a dies (no heartbeat after 30): b may try it, and owes it to the other one only.
    assert_eq!(
        store.take_mail(id, "b", &t(31)).unwrap(),
        Some(vec![to[1].clone()])
    );
    store.mail_sent(id, &t(32)).unwrap();
    // Sent is sent, for anyone.
    assert!(store.take_mail(id, "a", &t(33)).unwrap().is_none());
    assert!(store.take_mail(id, "b", &t(33)).unwrap().is_none());
}

#[test]
fn a_batch_in_custody_is_oldest_first_within_its_bounds_and_a_begun_reading_comes_alone() {
    let mut store = fresh_store("store-batch").unwrap();
    let raw = |n: usize| format!("Subject: {n}\r\n\r\n{}\r\n", "x".repeat(100)).into_bytes();
    for n in 1..=6 {
        assert!(
            store
                .accept("imap", &format!("k:{n}"), &raw(n), "now")
                .unwrap()
        );
    }
    let keys =
        |b: &[slaclaim::store::Pending]| b.iter().map(|p| p.source_key.clone()).collect::<Vec<_>>();
    // By count, then by bytes (one message always, however large).
    assert_eq!(
        keys(&store.pending_batch(4, 1 << 20).unwrap()),
        ["k:1", "k:2", "k:3", "k:4"]
    );
    assert_eq!(keys(&store.pending_batch(10, 250).unwrap()), ["k:1", "k:2"]);
    assert_eq!(keys(&store.pending_batch(10, 1).unwrap()), ["k:1"]);
    let batch = store.pending_batch(10, 1 << 20).unwrap();
    assert_eq!(batch.len(), 6);
    assert_eq!(batch[2].raw, raw(3), "each with its own bytes");
    // A reading begun on the third (a batch died on it): the batch stops before it, and
    // it then comes alone, the rest after it.
    store.begin_readings(&["k:3"], "now").unwrap();
    assert_eq!(
        keys(&store.pending_batch(10, 1 << 20).unwrap()),
        ["k:1", "k:2"]
    );
    store
        .transaction(|s| {
            s.end_reading_and_release("k:1", Some(batch[0].id))?;
            s.end_reading_and_release("k:2", Some(batch[1].id))
        })
        .unwrap();
    assert_eq!(keys(&store.pending_batch(10, 1 << 20).unwrap()), ["k:3"]);
    store.end_readings(&["k:3"]).unwrap();
    assert!(store.readings().unwrap().is_empty());
    assert_eq!(
        keys(&store.pending_batch(10, 1 << 20).unwrap()),
        ["k:3", "k:4", "k:5", "k:6"]
    );
}

#[test]
fn a_batch_ends_its_readings_and_custody_together_whatever_its_keys_hold() {
    let mut store = fresh_store("store-end-batch").unwrap();
    // Maildir names may hold quotes, commas, backslashes and non-ASCII letters.
    let keys = [
        "maildir:1700000000.M1P2.host,S=120:2,S",
        "maildir:a \"quoted\" name",
        "maildir:back\\slash ü",
        "imap:support:1:4",
    ];
    for k in keys {
        assert!(
            store
                .accept("test", k, b"Subject: x\r\n\r\ny\r\n", "now")
                .unwrap()
        );
    }
    let batch = store.take_batch(10, 1 << 20, "now").unwrap();
    assert_eq!(batch.len(), 4);
    assert_eq!(store.readings().unwrap().len(), 4);
    // Two of them read within the budget: only their readings end.
    store.end_readings(&[keys[1], keys[2]]).unwrap();
    let left: Vec<String> = store
        .readings()
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(
        left.iter().all(|k| k == keys[0] || k == keys[3]),
        "{left:?}"
    );
    // The batch stored: every reading ended and every custody released.
    let taken: Vec<(&str, i64)> = batch
        .iter()
        .map(|p| (p.source_key.as_str(), p.id))
        .collect();
    store
        .transaction(|s| s.end_readings_and_release(&taken))
        .unwrap();
    assert!(store.readings().unwrap().is_empty());
    assert_eq!(store.pending_count().unwrap(), 0);
    // Nothing to end is nothing done.
    store.end_readings(&[]).unwrap();
    store
        .transaction(|s| s.end_readings_and_release(&[]))
        .unwrap();
}
