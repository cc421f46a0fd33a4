//! IMAP source figures against a real Dovecot (started like the tests do):
//! - backlog: slaclaim's fetch of 10,000 messages into custody beside a bare async-imap
//!   UID FETCH loop over the same mailbox (the ceiling), with the ratio; then the
//!   processing stage's rate over the same messages;
//! - latency from APPEND to stored, p50 and p99 over 200 messages, beside a bare IDLE
//!   client's APPEND-to-wake-up on the same server (Dovecot batches wake-ups ~0.5 s), and
//!   our overhead over it, and beside a bare client that also fetches the new message;
//!   on Dovecot after the backlog, on a fresh Dovecot folder, then on Cyrus (unpacked by
//!   scripts/test).
//!
//! `cargo bench --bench imap` (needs dovecot-imapd, as scripts/test installs).

// Shared with the integration tests, which use all of it; its unwraps are assertions.
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/cyrus.rs"]
mod cyrus;
// Test harness code: its unwraps are assertions, as in the tests.
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/dovecot.rs"]
mod dovecot;

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use slaclaim::extract::ExtractConfig;
use slaclaim::extract::Extractor;
use slaclaim::inbound::imap::{self, ImapConfig};
use slaclaim::ledger::deadline::Policy;
use slaclaim::ledger::ingest::Ingester;
use slaclaim::store::Store;

fn config(d: &dovecot::Dovecot) -> ImapConfig {
    let secret = d.dir.join("bench-password");
    let _ = std::fs::write(&secret, "secret\n");
    let toml = format!(
        "name = \"bench\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\nreconnect-min-ms = 100\n",
        d.port,
        secret.display()
    );
    toml::from_str(&toml).unwrap_or_else(|e| panic!("{e}"))
}

fn message(i: usize) -> Vec<u8> {
    format!(
        "From: c{i}@contoso.example\r\nSubject: SLA credit request {i}\r\nMessage-ID: <bench-{i}@contoso.example>\r\nDate: Tue, 10 Mar 2026 15:00:00 +0100\r\n\r\nPlease claim a service credit for EX{:07}, tenant 11111111-2222-4333-8444-555555555555.\r\n{}\r\n",
        1_000_000 + i,
        "Our staff could not work from 09:00 to 11:30 CET on 3 March. ".repeat(20)
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let d = dovecot::Dovecot::start("bench");
        let cfg = config(&d);
        let x = Extractor::new(&ExtractConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let ingester = Ingester { extractor: &x, policy: Policy::default(), max_bytes: 1 << 20, rules: Default::default(), limits: Default::default() };

        // Backlog.
        let n = 10_000;
        d.deliver("alice", (0..n).map(message));
        let mut bare = imap::connect(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
        bare.select("INBOX").await.unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        let mut fetched = 0;
        for first in (1..=n).step_by(100) {
            let range = format!("{first}:{}", first + 99);
            let batch: Vec<_> = bare.uid_fetch(&range, "(UID BODY.PEEK[])").await.unwrap_or_else(|e| panic!("{e}")).try_collect().await.unwrap_or_default();
            fetched += batch.len();
        }
        let ceiling = fetched as f64 / started.elapsed().as_secs_f64();
        // The same in one streaming command, as slaclaim fetches: a second, higher ceiling.
        let started = Instant::now();
        let mut stream = bare.uid_fetch("1:*", "(UID BODY.PEEK[])").await.unwrap_or_else(|e| panic!("{e}"));
        let mut streamed = 0;
        while let Some(f) = stream.try_next().await.unwrap_or_else(|e| panic!("{e}")) {
            streamed += usize::from(f.body().is_some());
        }
        drop(stream);
        let stream_ceiling = streamed as f64 / started.elapsed().as_secs_f64();
        let state = d.dir.join("bench-state");
        let mut store = Store::open(&state).unwrap_or_else(|e| panic!("{e}"));
        // Ours: custody (what the daemon's IMAP source does, on a connection that leaves
        // checkpoints to others), then the processing stage on its own connection over
        // the same messages, timed apart and together.
        store.defer_checkpoints().unwrap_or_else(|e| panic!("{e}"));
        let mut processor = Store::open(&state).unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        let r = imap::sync_folder(&mut bare, &cfg, "INBOX", &mut store, &ingester, imap::Handling::Deferred).await.unwrap_or_else(|e| panic!("{e}"));
        let custody = started.elapsed();
        let ours = r.fetched as f64 / custody.as_secs_f64();
        println!("backlog {n} messages: bare UID FETCH loop (100 per command) {ceiling:.0} msg/s, slaclaim fetch into custody {ours:.0} msg/s, ratio {:.2} (target >= 0.80)", ours / ceiling);
        println!("  bare single streaming UID FETCH {stream_ceiling:.0} msg/s: ratio {:.2} to that", ours / stream_ceiling);
        let processing = Instant::now();
        let mut processed = 0;
        // As the daemon's processing stage does: each message read on a blocking thread
        // under its budget, with its attempt recorded, in a transaction of its own.
        loop {
            let done = ingester.process_pending(&mut processor, 100).await.unwrap_or_else(|e| panic!("{e}"));
            if done.is_empty() {
                break;
            }
            processed += done.len();
        }
        let processing = processing.elapsed();
        println!(
            "  then processing (guarded reading, link, claims) {:.0} msg/s; fetch to every claim made {:.0} msg/s",
            processed as f64 / processing.as_secs_f64(),
            processed as f64 / (custody + processing).as_secs_f64()
        );
        // SLACLAIM_BENCH_ONLY=backlog stops here, for profiling the backlog alone.
        if std::env::var("SLACLAIM_BENCH_ONLY").is_ok_and(|v| v == "backlog") {
            return;
        }

        latency("Dovecot, 10,000 messages in the folder", &cfg, &state, &mut store, &ingester, n).await;
        drop(d);

        // Dovecot again with a fresh folder, as a support mailbox that is emptied by its
        // archive rules is: the figure the large folder hides under Dovecot's own
        // Maildir sync.
        let fresh = dovecot::Dovecot::start("bench-fresh");
        let fresh_cfg = config(&fresh);
        let fresh_state = fresh.dir.join("bench-state");
        let mut fresh_store = Store::open(&fresh_state).unwrap_or_else(|e| panic!("{e}"));
        latency("Dovecot, a fresh folder", &fresh_cfg, &fresh_state, &mut fresh_store, &ingester, 3 * n).await;
        drop(fresh);

        // The same on Cyrus, a fresh mailbox (SLACLAIM_CYRUS_ROOT or target/cyrus, as
        // scripts/test unpacks it).
        let c = cyrus::Cyrus::start("bench");
        let secret = std::env::temp_dir().join(format!("slaclaim-bench-cyrus-{}", std::process::id()));
        let _ = std::fs::write(&secret, "secret\n");
        let cyrus_cfg: ImapConfig = toml::from_str(&format!(
            "name = \"cyrus\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\nreconnect-min-ms = 100\n",
            c.port,
            secret.display()
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let cyrus_state = state.join("cyrus");
        let mut cyrus_store = Store::open(&cyrus_state).unwrap_or_else(|e| panic!("{e}"));
        latency("Cyrus, a fresh folder", &cyrus_cfg, &cyrus_state, &mut cyrus_store, &ingester, 2 * n).await;
        let _ = std::fs::remove_file(&secret);
    });
}

/// APPEND → stored with slaclaim's watcher, p50 and p99 over 200 messages, beside a bare
/// IDLE client's wake-up and its wake-up plus one UID FETCH of the new message, on the
/// server `cfg` names; the messages are numbered from `n`.
async fn latency(
    server: &str,
    cfg: &ImapConfig,
    state: &std::path::Path,
    store: &mut Store,
    ingester: &Ingester<'_>,
    n: usize,
) {
    // Latency, ours: watch runs; a second store connection sees rows as they land.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let changed = tokio::sync::Notify::new();
    let counters = imap::WatchCounters::default();
    let reader = Store::open(state).unwrap_or_else(|e| panic!("{e}"));
    let mut appender = imap::connect(cfg).await.unwrap_or_else(|e| panic!("{e}"));
    let rounds = 200;
    let measure = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut samples = Vec::with_capacity(rounds);
        for i in 0..rounds {
            // The watcher back in IDLE first, as the bare client below is: an APPEND in
            // the moment it re-enters IDLE reached Cyrus's notifier 35 ms late.
            tokio::time::sleep(Duration::from_millis(100)).await;
            // The newest row id, not a count: a count walks 10,000 index entries, and
            // this loop shares the thread with the watcher it measures.
            let before = reader.latest_message().unwrap_or_default();
            appender
                .append("INBOX", None, None, message(n + i))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let sent = Instant::now();
            // Woken by the watcher when a sync stored something: polling the store
            // here would take the thread the watcher runs on.
            while reader.latest_message().unwrap_or_default() == before
                && sent.elapsed() < Duration::from_secs(10)
            {
                let _ = tokio::time::timeout(Duration::from_millis(200), changed.notified()).await;
            }
            samples.push(sent.elapsed());
        }
        shutdown.cancel();
        samples
    };
    let (_, mut ours) = tokio::join!(
        imap::watch_notifying(
            cfg,
            store,
            ingester,
            shutdown.clone(),
            &changed,
            None,
            &counters
        ),
        measure
    );
    ours.sort();

    // Latency, bare IDLE client on the same server.
    let mut bare_samples = Vec::with_capacity(20);
    let mut fetch_samples = Vec::with_capacity(20);
    let mut idler = imap::connect(cfg).await.unwrap_or_else(|e| panic!("{e}"));
    idler
        .select("INBOX")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..20 {
        let wait = imap::idle(idler, cfg, Duration::from_secs(10));
        let poke = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            appender
                .append("INBOX", None, None, message(n + rounds + i))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            Instant::now()
        };
        let (woke, sent) = tokio::join!(wait, poke);
        bare_samples.push(sent.elapsed());
        idler = woke.unwrap_or_else(|e| panic!("{e}")).0;
        // The least any client does next: DONE is sent; fetch what came, one command.
        let fetched: Vec<_> = idler
            .uid_fetch("*", "(UID BODY.PEEK[])")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        black_box(fetched);
        fetch_samples.push(sent.elapsed());
    }
    bare_samples.sort();
    fetch_samples.sort();
    let (p50, p99, b50, f50) = (
        percentile(&ours, 0.5),
        percentile(&ours, 0.99),
        percentile(&bare_samples, 0.5),
        percentile(&fetch_samples, 0.5),
    );
    println!(
        "{server}: APPEND to stored over {rounds}: p50 {p50:?}, p99 {p99:?}; bare IDLE wake-up p50 {b50:?}; overhead p50 {:?} (target <= 10 ms)",
        p50.saturating_sub(b50)
    );
    println!(
        "  bare IDLE wake-up and one UID FETCH of the new message p50 {f50:?} (the server's own cost of handing it over, {:?}); slaclaim beyond that p50 {:?}",
        f50.saturating_sub(b50),
        p50.saturating_sub(f50)
    );
}
