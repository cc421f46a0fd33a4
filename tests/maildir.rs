//! The Maildir source: ingest new/, move to cur/ with the Seen flag, exactly once.

use crate::util::{extractor, ingester, shared, store, temp_dir};
use chrono::Utc;
use slaclaim::inbound::maildir::Maildir;
use slaclaim::ledger::ingest::{Origin, Outcome};

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn scan_ingests_new_and_moves_to_cur_exactly_once() {
    let root = temp_dir("maildir-scan");
    let md = Maildir::open(&root.join("inbox")).unwrap();
    let corpus = shared().join("corpus");
    for (i, f) in ["msg_0020.eml", "msg_0012.eml", "msg_0001.eml"]
        .iter()
        .enumerate()
    {
        let name = format!("17000000{i}.M{i}P1.host");
        std::fs::copy(corpus.join(f), md.root().join("new").join(name)).unwrap();
    }
    // One already carries a flag from another client.
    std::fs::copy(
        corpus.join("msg_0003.eml"),
        md.root().join("new/170000009.M9P1.host:2,F"),
    )
    .unwrap();

    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&root);

    // A crash after storing but before the move: the file is still in new/.
    let crashed = md.root().join("new/170000000.M0P1.host");
    let raw = std::fs::read(&crashed).unwrap();
    let key = md.key(&crashed);
    let first = ingester.ingest(
        &mut store,
        &raw,
        Origin {
            source: "maildir",
            key: Some(&key),
        },
        Utc::now(),
    );
    assert!(matches!(first, Ok(Outcome::NewTicket { .. })), "{first:?}");

    let done = md.scan(&mut store, &ingester).await.unwrap();
    assert_eq!(done.len(), 4);
    assert!(
        matches!(done[0].outcome, Ok(Outcome::Duplicate { .. })),
        "{:?}",
        done[0].outcome
    );
    assert!(done.iter().all(|d| d.outcome.is_ok()));
    assert!(names(&md.root().join("new")).is_empty());
    assert_eq!(
        names(&md.root().join("cur")),
        [
            "170000000.M0P1.host:2,S",
            "170000001.M1P1.host:2,S",
            "170000002.M2P1.host:2,S",
            "170000009.M9P1.host:2,FS"
        ]
    );
    assert_eq!(store.message_count("processed").unwrap_or_default(), 4);

    // A second scan finds nothing; a redelivered copy under a new name is a duplicate.
    assert!(
        md.scan(&mut store, &ingester)
            .await
            .unwrap_or_default()
            .is_empty()
    );
    std::fs::copy(
        corpus.join("msg_0020.eml"),
        md.root().join("new/170000100.M100P1.host"),
    )
    .unwrap();
    let again = md.scan(&mut store, &ingester).await.unwrap_or_default();
    assert!(
        matches!(again[0].outcome, Ok(Outcome::Duplicate { .. })),
        "{:?}",
        again[0].outcome
    );
    assert_eq!(store.message_count("processed").unwrap_or_default(), 4);
}

#[tokio::test]
async fn watch_picks_up_deliveries_by_inotify() {
    let root = temp_dir("maildir-watch");
    let md = Maildir::open(&root.join("inbox")).unwrap();
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&root);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let new = md.root().join("new");
    let tmp = md.root().join("tmp");
    let driver = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        for (i, f) in ["msg_0020.eml", "msg_0003.eml"].iter().enumerate() {
            // Delivered the Maildir way: written in tmp/, renamed into new/.
            let name = format!("17100000{i}.M{i}P2.host");
            std::fs::copy(shared().join("corpus").join(f), tmp.join(&name)).unwrap();
            std::fs::rename(tmp.join(&name), new.join(&name)).unwrap();
        }
        // The rescan interval is an hour: only inotify can have noticed within a second.
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        shutdown.cancel();
    };
    let hour = std::time::Duration::from_secs(3600);
    let (processed, ()) = tokio::join!(
        md.watch(&mut store, &ingester, hour, shutdown.clone()),
        driver
    );
    assert_eq!(processed, 2);
    assert_eq!(store.message_count("processed").unwrap_or_default(), 2);
    assert!(names(&new).is_empty());
}
