//! The IMAP source against a real Dovecot.

use crate::cyrus::Cyrus;
use crate::dovecot::Dovecot;
use crate::oauth2::Issuer;
use crate::util::{extractor, ingester, shared, store, temp_dir};
use Handling::{Deferred, Inline};
use slaclaim::inbound::imap::{self, Handling, ImapConfig, TlsMode};
use slaclaim::store::Store;
use std::time::{Duration, Instant};

fn config(d: &Dovecot, dir: &std::path::Path, tls: TlsMode, password: &str) -> ImapConfig {
    let secret = dir.join("password");
    std::fs::write(&secret, format!("{password}\n")).unwrap();
    let toml = format!(
        "name = \"support\"\nhost = \"{}\"\nport = {}\ntls = \"{}\"\nca-file = \"{}\"\nuser = \"alice\"\npassword-file = \"{}\"\n",
        if tls == TlsMode::Plain {
            "127.0.0.1"
        } else {
            "localhost"
        },
        if tls == TlsMode::Implicit {
            d.tls_port
        } else {
            d.port
        },
        match tls {
            TlsMode::Implicit => "implicit",
            TlsMode::Starttls => "starttls",
            TlsMode::Plain => "plain",
        },
        d.ca().display(),
        secret.display()
    );
    toml::from_str(&toml).unwrap()
}

/// One sync of `folder`, which must succeed.
async fn sync(
    s: &mut imap::Session,
    cfg: &ImapConfig,
    folder: &str,
    store: &mut Store,
    ingester: &slaclaim::ledger::ingest::Ingester<'_>,
    handling: Handling,
) -> imap::SyncReport {
    imap::sync_folder(s, cfg, folder, store, ingester, handling)
        .await
        .unwrap()
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(shared().join("corpus").join(name)).unwrap()
}

#[tokio::test]
async fn fetches_by_uid_resumes_after_restart_and_survives_uidvalidity_change() {
    let d = Dovecot::start("sync");
    let dir = temp_dir("imap-sync");
    let cfg = config(&d, &dir, TlsMode::Plain, "secret");
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);

    let mut s = imap::connect(&cfg).await.unwrap();
    for m in ["msg_0020.eml", "msg_0015.eml", "msg_0012.eml"] {
        s.append("INBOX", None, None, corpus(m)).await.unwrap();
    }
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &ingester, Inline).await;
    assert_eq!(r.fetched, 3);
    s.append("INBOX", None, None, corpus("msg_0004.eml"))
        .await
        .unwrap();
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &ingester, Inline).await;
    assert_eq!(r.fetched, 1, "only the new message");
    let _ = s.logout().await;

    // A restart: a new connection and a reopened store fetch nothing again.
    drop(store);
    let mut store = crate::util::open_store(&dir.join("state")).unwrap();
    let mut s = imap::connect(&cfg).await.unwrap();
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &ingester, Inline).await;
    assert_eq!(r.fetched, 0);
    assert_eq!(store.message_count("processed").unwrap_or_default(), 4);
    // BODY.PEEK[] leaves \Seen alone for other clients.
    let flags: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        s.uid_fetch("1:*", "FLAGS").await.unwrap(),
    )
    .await
    .unwrap_or_default();
    assert!(flags.iter().all(|f| {
        !f.flags()
            .any(|fl| matches!(fl, async_imap::types::Flag::Seen))
    }));

    // A recreated folder has a new UIDVALIDITY: read again, nothing stored twice.
    s.create("Claims").await.unwrap();
    s.append("Claims", None, None, corpus("msg_0003.eml"))
        .await
        .unwrap();
    sync(&mut s, &cfg, "Claims", &mut store, &ingester, Inline).await;
    s.select("INBOX").await.unwrap();
    s.delete("Claims").await.unwrap();
    s.create("Claims").await.unwrap();
    s.append("Claims", None, None, corpus("msg_0003.eml"))
        .await
        .unwrap();
    let r = sync(&mut s, &cfg, "Claims", &mut store, &ingester, Inline).await;
    assert!(r.resynced && r.fetched == 1, "{r:?}");
    assert_eq!(store.message_count("processed").unwrap_or_default(), 5);
}

#[tokio::test]
async fn deferred_sync_takes_custody_first_and_processing_resumes_after_a_crash() {
    let d = Dovecot::start("custody");
    let dir = temp_dir("imap-custody");
    let cfg = config(&d, &dir, TlsMode::Plain, "secret");
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    let mut s = imap::connect(&cfg).await.unwrap();
    let mails = ["msg_0020.eml", "msg_0015.eml", "msg_0012.eml"];
    for m in mails {
        s.append("INBOX", None, None, corpus(m)).await.unwrap();
    }
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &ingester, Deferred).await;
    assert_eq!(r.fetched, 3);
    // In custody, the folder's UID recorded, nothing processed yet.
    assert_eq!(store.pending_count().ok(), Some(3));
    assert_eq!(store.message_count("processed").ok(), Some(0));
    assert!(store.all_claims().unwrap_or_default().is_empty());

    // A crash before processing: the reopened store still holds them, and the folder is
    // not read again.
    drop(store);
    let mut store = crate::util::open_store(&dir.join("state")).unwrap();
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &ingester, Deferred).await;
    assert_eq!(r.fetched, 0);
    assert_eq!(store.pending_count().ok(), Some(3));

    // Part of it processed, then another crash: each message is processed once.
    let done = ingester.process_pending(&mut store, 2).await.unwrap();
    assert_eq!(done.len(), 2);
    drop(store);
    let mut store = crate::util::open_store(&dir.join("state")).unwrap();
    assert_eq!(store.pending_count().ok(), Some(1));
    let done = ingester.process_pending(&mut store, 100).await.unwrap();
    assert_eq!(done.len(), 1);
    assert!(done[0].0.ends_with("/3"), "oldest first: {done:?}");
    assert_eq!(store.pending_count().ok(), Some(0));
    assert_eq!(store.message_count("processed").ok(), Some(3));
    assert!(!store.all_claims().unwrap_or_default().is_empty());

    // A processed message fetched again under its key (a resync) is not taken again.
    let key = done[0].0.clone();
    let again = store
        .accept("imap", &key, &corpus(mails[2]), "2026-01-01T00:00:00Z")
        .unwrap();
    assert!(!again);
    assert_eq!(store.pending_count().ok(), Some(0));
}

#[tokio::test]
async fn idle_wakes_on_append() {
    let d = Dovecot::start("idle");
    let dir = temp_dir("imap-idle");
    let cfg = config(&d, &dir, TlsMode::Starttls, "secret");
    let mut watcher = imap::connect(&cfg).await.unwrap();
    watcher.select("INBOX").await.unwrap();
    let appender = config(&d, &dir, TlsMode::Implicit, "secret");
    let waiting = tokio::spawn({
        let cfg = cfg.clone();
        async move {
            let started = Instant::now();
            let (_s, changed) = imap::idle(watcher, &cfg, Duration::from_secs(20))
                .await
                .unwrap();
            (changed, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut s = imap::connect(&appender).await.unwrap();
    let appended = Instant::now();
    s.append("INBOX", None, None, corpus("msg_0020.eml"))
        .await
        .unwrap();
    let (changed, _) = waiting.await.unwrap();
    assert!(changed, "IDLE returned without news");
    println!(
        "IDLE woke {:?} after APPEND (Dovecot batches notifications, ~0.5 s)",
        appended.elapsed()
    );
}

#[tokio::test]
async fn wrong_password_is_a_clear_auth_error() {
    let d = Dovecot::start("auth");
    let dir = temp_dir("imap-auth");
    let cfg = config(&d, &dir, TlsMode::Implicit, "not-the-password");
    let err = imap::connect(&cfg)
        .await
        .err()
        .unwrap_or_else(|| panic!("login with a wrong password succeeded"));
    assert!(err.is_auth(), "{err}");
    let text = err.to_string();
    assert!(text.contains("login as alice refused"), "{text}");
    assert!(
        !text.contains("not-the-password"),
        "the secret leaked: {text}"
    );
}

fn watch_config(d: &Dovecot, dir: &std::path::Path, password: &str) -> ImapConfig {
    let mut cfg = config(d, dir, TlsMode::Plain, password);
    cfg.reconnect_min_ms = 100;
    cfg.reconnect_max_ms = 400;
    cfg.connect_timeout_secs = 5;
    cfg
}

async fn append(cfg: &ImapConfig, name: &str) {
    let mut s = imap::connect(cfg).await.unwrap();
    s.append("INBOX", None, None, corpus(name)).await.unwrap();
    let _ = s.logout().await;
}

#[tokio::test]
async fn watch_ingests_through_idle_survives_a_server_restart_and_stops_cleanly() {
    let d = std::sync::Arc::new(Dovecot::start("watch"));
    let dir = temp_dir("imap-watch");
    let cfg = watch_config(&d, &dir, "secret");
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let driver = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        append(&cfg, "msg_0020.eml").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Dovecot dies while slaclaim is in IDLE; mail arrives before slaclaim is back.
        let server = d.clone();
        tokio::task::spawn_blocking(move || server.restart())
            .await
            .unwrap();
        append(&cfg, "msg_0015.eml").await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        shutdown.cancel();
    };
    let (stats, ()) = tokio::join!(
        imap::watch(&cfg, &mut store, &ingester, shutdown.clone()),
        driver
    );
    assert_eq!(stats.fetched, 2, "{stats:?}");
    assert!(stats.connects >= 2 && stats.disconnects >= 1, "{stats:?}");
    assert_eq!(store.message_count("processed").unwrap_or_default(), 2);
    // The last session ended with DONE and LOGOUT, not a dropped socket.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = d.log();
    assert!(
        log.lines().rev().take(5).any(|l| l.contains("Logged out")),
        "{log}"
    );
}

#[tokio::test]
async fn a_folder_with_a_non_ascii_name_is_read() {
    let d = Dovecot::start("utf7");
    let dir = temp_dir("imap-utf7");
    let cfg = config(&d, &dir, TlsMode::Plain, "secret");
    let mut s = reads_a_non_ascii_folder(&cfg, &dir).await;
    // Dovecot keeps it under the name a user sees.
    let listed: Vec<String> =
        futures_util::TryStreamExt::try_collect::<Vec<_>>(s.list(None, Some("*")).await.unwrap())
            .await
            .unwrap_or_default()
            .iter()
            .map(|n| n.name().to_string())
            .collect();
    assert!(listed.iter().any(|n| n == "Aanvragen-&AOs-"), "{listed:?}");
    let _ = s.logout().await;
}

#[tokio::test]
async fn a_quiet_mailbox_stays_in_contact_even_when_keep_alives_come_faster_than_renewals() {
    // Dovecot says "* OK Still here" every second, more often than the 2 s IDLE renewal:
    // async-imap's own timer restarts on each, so only our deadline renews IDLE.
    let d = Dovecot::start_with(
        "quiet",
        "http://127.0.0.1:9/introspect",
        "\nimap_idle_notify_interval = 1 secs\n",
    );
    let dir = temp_dir("imap-quiet");
    let mut cfg = watch_config(&d, &dir, "secret");
    cfg.idle_timeout_secs = 2;
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    let w = Watch::default();
    let observer = async {
        // Quiet for more than 3x the IDLE timeout; the last contact never lags by more
        // than one renewal and a bit.
        let mut worst = 0;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        for _ in 0..16 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let last = w
                .counters
                .last_contact
                .load(std::sync::atomic::Ordering::Relaxed);
            worst = worst.max(chrono::Utc::now().timestamp() - last);
        }
        worst
    };
    let (stats, worst) = w.beside(&cfg, &mut store, &ingester, observer).await;
    assert_eq!(stats.disconnects, 0, "{stats:?}");
    assert!(worst <= 4, "the last contact lagged {worst} s behind");
}

#[tokio::test]
async fn a_wrong_password_is_reported_and_retried_and_shutdown_does_not_wait() {
    let d = Dovecot::start("backoff");
    let dir = temp_dir("imap-backoff");
    let cfg = watch_config(&d, &dir, "wrong");
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = async {
        tokio::time::sleep(Duration::from_millis(3000)).await;
        shutdown.cancel();
    };
    let started = Instant::now();
    let (stats, ()) = tokio::join!(
        imap::watch(&cfg, &mut store, &ingester, shutdown.clone()),
        stop
    );
    // Dovecot holds repeated failures from one address for seconds (its auth penalty), so
    // the count here is small; the spacing of retries is checked against a closed port.
    assert!(stats.auth_failures >= 1, "{stats:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited on a retry: {:?}",
        started.elapsed()
    );
    assert_eq!(stats.connects, 0);
}

#[tokio::test]
async fn polling_fallback_ingests_without_idle() {
    let d = Dovecot::start("poll");
    let dir = temp_dir("imap-poll");
    let mut cfg = watch_config(&d, &dir, "secret");
    cfg.idle = false;
    cfg.poll_interval_secs = 1;
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let driver = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        append(&cfg, "msg_0013.eml").await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        shutdown.cancel();
    };
    let (stats, ()) = tokio::join!(
        imap::watch(&cfg, &mut store, &ingester, shutdown.clone()),
        driver
    );
    assert_eq!((stats.connects, stats.fetched), (1, 1), "{stats:?}");
}

/// A message of about `mb` megabytes: a credit request with a large base64 attachment.
fn big_message(mb: usize, id: &str) -> Vec<u8> {
    let mut m = format!(
        "From: a@contoso.example\r\nSubject: SLA credit EX1234567\r\nMessage-ID: <{id}@contoso.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlease claim a service credit, log attached.\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    for _ in 0..(mb * 1024 * 1024 / line.len()) {
        m.extend_from_slice(line);
    }
    m.extend_from_slice(b"--b--\r\n");
    m
}

#[tokio::test]
async fn a_25_mb_message_is_stored_and_one_over_the_limit_is_quarantined() {
    let d = Dovecot::start("large");
    let dir = temp_dir("imap-large");
    let cfg = config(&d, &dir, TlsMode::Plain, "secret");
    let x = extractor();
    let mut store = store(&dir);
    let mut s = imap::connect(&cfg).await.unwrap();
    s.append("INBOX", None, None, big_message(25, "big"))
        .await
        .unwrap();
    s.append("INBOX", None, None, corpus("msg_0020.eml"))
        .await
        .unwrap();
    let roomy = ingester(&x, 50 << 20);
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &roomy, Deferred).await;
    assert_eq!(r.fetched, 2);
    // Deferred: the small one waits in custody; the large one was processed at once
    // from the fetched bytes, so it is never held twice.
    assert_eq!(store.message_count("processed").unwrap_or_default(), 1);
    assert_eq!(store.pending_count().unwrap_or_default(), 1);
    let raw = store.raw_message(store.latest_message().unwrap_or_default());
    assert_eq!(
        raw.ok().flatten().map(|r| r.len()),
        Some(big_message(25, "big").len())
    );
    roomy.process_pending(&mut store, 10).await.unwrap();
    assert_eq!(store.message_count("processed").unwrap_or_default(), 2);

    s.append("INBOX", None, None, big_message(12, "too-big"))
        .await
        .unwrap();
    let strict = ingester(&x, 10 << 20);
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &strict, Inline).await;
    assert_eq!(r.fetched, 1);
    assert_eq!(
        store.message_count("quarantined").unwrap_or_default(),
        1,
        "kept, never dropped"
    );
}

#[tokio::test]
async fn a_backlog_of_5000_is_ingested_once() {
    let d = Dovecot::start("backlog");
    let dir = temp_dir("imap-backlog");
    let cfg = config(&d, &dir, TlsMode::Plain, "secret");
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    // Delivered as Maildir files on the server side: IMAP APPEND would take a minute.
    let started = Instant::now();
    d.deliver("alice", (0..5000).map(|i| {
        format!("From: n{i}@news.example\r\nSubject: newsletter {i}\r\nMessage-ID: <n{i}@news.example>\r\nList-Id: <n.news.example>\r\n\r\nIssue {i}.\r\n").into_bytes()
    }));
    let appended = started.elapsed();
    let mut s = imap::connect(&cfg).await.unwrap();
    let started = Instant::now();
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &ingester, Inline).await;
    println!(
        "5000 delivered in {appended:?}, fetched and ingested in {:?}",
        started.elapsed()
    );
    assert_eq!(r.fetched, 5000);
    assert_eq!(store.message_count("processed").unwrap_or_default(), 5000);
    let again = sync(&mut s, &cfg, "INBOX", &mut store, &ingester, Inline).await;
    assert_eq!(again.fetched, 0);
}

#[tokio::test]
async fn reconnects_back_off_while_the_server_is_down() {
    let dir = temp_dir("imap-down");
    std::fs::write(dir.join("password"), "secret\n").unwrap();
    // Port 1 (tcpmux) has no listener here, and no test server can ever take it: every
    // attempt is refused at once. (A freed ephemeral port may be reused by a parallel test.)
    let toml = format!(
        "name = \"down\"\nhost = \"127.0.0.1\"\nport = 1\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\nreconnect-min-ms = 100\nreconnect-max-ms = 400\n",
        dir.join("password").display()
    );
    let cfg: ImapConfig = toml::from_str(&toml).unwrap();
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let stop = async {
        tokio::time::sleep(Duration::from_millis(3000)).await;
        shutdown.cancel();
    };
    let (stats, ()) = tokio::join!(
        imap::watch(&cfg, &mut store, &ingester, shutdown.clone()),
        stop
    );
    // 100, 200, 400, 400, ... ms (+-20%) in 3 s: about 9 attempts, never a tight loop.
    assert!((5..=14).contains(&stats.disconnects), "{stats:?}");
}

#[tokio::test]
async fn processed_and_quarantined_mail_can_be_flagged_and_moved() {
    let d = Dovecot::start("move");
    let dir = temp_dir("imap-move");
    let mut cfg = config(&d, &dir, TlsMode::Plain, "secret");
    cfg.processed_flag = Some("$Slaclaim".into());
    cfg.processed_folder = Some("Processed".into());
    cfg.quarantine_folder = Some("Quarantine".into());
    let x = extractor();
    let small = ingester(&x, 4096);
    let mut store = store(&dir);
    let mut s = imap::connect(&cfg).await.unwrap();
    for folder in ["Processed", "Quarantine"] {
        s.create(folder).await.unwrap();
    }
    s.append("INBOX", None, None, corpus("msg_0020.eml"))
        .await
        .unwrap();
    s.append("INBOX", None, None, big_message(1, "over-4k"))
        .await
        .unwrap();
    let r = sync(&mut s, &cfg, "INBOX", &mut store, &small, Inline).await;
    assert_eq!(r.fetched, 2);
    let count = |m: async_imap::types::Mailbox| m.exists;
    assert_eq!(count(s.select("INBOX").await.unwrap()), 0);
    assert_eq!(count(s.select("Quarantine").await.unwrap()), 1);
    assert_eq!(count(s.select("Processed").await.unwrap()), 1);
    let flags: Vec<_> =
        futures_util::TryStreamExt::try_collect::<Vec<_>>(s.fetch("1", "FLAGS").await.unwrap())
            .await
            .unwrap_or_default();
    assert!(flags.iter().any(|f| {
        f.flags()
            .any(|fl| matches!(fl, async_imap::types::Flag::Custom(ref c) if c == "$Slaclaim"))
    }));
}

#[tokio::test]
async fn the_password_can_come_from_a_command() {
    let d = Dovecot::start("command");
    let dir = temp_dir("imap-command");
    let mut cfg = config(&d, &dir, TlsMode::Plain, "secret");
    let file = cfg.password_file.take().unwrap_or_default();
    cfg.password_command = Some(vec!["cat".into(), file.display().to_string()]);
    let mut s = imap::connect(&cfg).await.unwrap();
    let _ = s.logout().await;
    cfg.password_command = Some(vec!["false".into()]);
    let err = imap::connect(&cfg)
        .await
        .err()
        .unwrap_or_else(|| panic!("a failing command logged in"));
    assert!(
        err.is_auth() && err.to_string().contains("password-command false exited"),
        "{err}"
    );
}

/// A watch config that logs in with XOAUTH2, the token from `issuer`'s client-credentials
/// grant, the client secret from a file.
fn oauth2_config(d: &Dovecot, dir: &std::path::Path, issuer: &Issuer, secret: &str) -> ImapConfig {
    oauth2_config_at(d, dir, &issuer.token_url(), secret)
}

/// An XOAUTH2 config whose token endpoint is `token_url`, which need not be up.
fn oauth2_config_at(
    d: &Dovecot,
    dir: &std::path::Path,
    token_url: &str,
    secret: &str,
) -> ImapConfig {
    let secret_file = dir.join("client-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let toml = format!(
        "name = \"support\"\nhost = \"localhost\"\nport = {}\ntls = \"implicit\"\nca-file = \"{}\"\nuser = \"alice\"\nreconnect-min-ms = 100\nreconnect-max-ms = 400\nconnect-timeout-secs = 5\n[oauth2]\n{}",
        d.tls_port,
        d.ca().display(),
        crate::oauth2::oauth2_keys(token_url, &secret_file),
    );
    let cfg: ImapConfig = toml::from_str(&toml).unwrap();
    cfg.validate().unwrap();
    cfg
}

#[tokio::test]
async fn xoauth2_with_client_credentials_survives_an_expired_token() {
    let issuer = Issuer::start("s3cret-value");
    let d = std::sync::Arc::new(Dovecot::start_oauth2(
        "xoauth2",
        &issuer.introspection_url(),
    ));
    let dir = temp_dir("imap-xoauth2");
    let cfg = oauth2_config(&d, &dir, &issuer, &issuer.secret);
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(&dir);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let plain = watch_config(&d, &dir, "secret");
    let driver = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        append(&plain, "msg_0020.eml").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // The token expires and the server ends the session (Exchange: "BYE ...
        // AccessTokenExpired"); mail arrives before slaclaim is back.
        issuer.expire_all();
        let server = d.clone();
        tokio::task::spawn_blocking(move || server.restart())
            .await
            .unwrap();
        append(&plain, "msg_0015.eml").await;
        // Dovecot penalises the refused token's login by a few seconds: wait for the
        // result rather than a fixed time.
        let watcher = crate::util::store(&dir);
        let deadline = Instant::now() + Duration::from_secs(20);
        while watcher.message_count("processed").unwrap_or_default() < 2
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        shutdown.cancel();
    };
    let (stats, ()) = tokio::join!(
        imap::watch(&cfg, &mut store, &ingester, shutdown.clone()),
        driver
    );
    assert_eq!(stats.fetched, 2, "{stats:?}");
    assert_eq!(store.message_count("processed").unwrap_or_default(), 2);
    // The refused token was replaced at once, on the same connection: no auth failure.
    assert_eq!(stats.auth_failures, 0, "{stats:?}");
    let s = issuer.lock();
    assert_eq!(s.issued, vec!["tok-1", "tok-2"], "{s:?}");
    let first = &s.token_requests[0];
    assert_eq!(
        first.get("grant_type").map(String::as_str),
        Some("client_credentials")
    );
    assert_eq!(
        first.get("scope").map(String::as_str),
        Some("https://outlook.office365.com/.default")
    );
    assert!(s.introspections >= 2, "Dovecot checked the tokens: {s:?}");
}

#[tokio::test]
async fn xoauth2_with_a_wrong_client_secret_is_an_auth_error_without_the_secret() {
    let issuer = Issuer::start("right-secret");
    let d = Dovecot::start_oauth2("xoauth2-bad", &issuer.introspection_url());
    let dir = temp_dir("imap-xoauth2-bad");
    let cfg = oauth2_config(&d, &dir, &issuer, "wrong-secret-value");
    let err = imap::connect(&cfg)
        .await
        .err()
        .unwrap_or_else(|| panic!("login with a wrong client secret succeeded"));
    assert!(err.is_auth(), "{err}");
    let text = err.to_string();
    assert!(text.contains("invalid_client"), "{text}");
    assert!(
        !text.contains("wrong-secret-value"),
        "the secret leaked: {text}"
    );
    // A token command works too, and a token Dovecot does not know is refused loudly.
    let mut by_command = cfg.clone();
    if let Some(o) = by_command.oauth2.as_mut() {
        o.token_command = Some(vec!["echo".into(), "not-a-token".into()]);
    }
    let err = imap::connect(&by_command)
        .await
        .err()
        .unwrap_or_else(|| panic!("an unknown token was accepted"));
    assert!(
        err.is_auth() && err.to_string().contains("XOAUTH2"),
        "{err}"
    );
}

/// Waits up to `within` for `n` processed messages in the store at `dir`.
/// A watcher under test: its shutdown, counters and wake-up signal.
#[derive(Default)]
struct Watch {
    shutdown: tokio_util::sync::CancellationToken,
    counters: imap::WatchCounters,
    changed: tokio::sync::Notify,
}

impl Watch {
    /// Waits (10 s at most) until the watcher has failed `n` times in a row; the count
    /// and the last failure.
    async fn until_failing(&self, n: u32) -> (u32, String) {
        let started = Instant::now();
        while self.counters.health.failing().0 < n && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.counters.health.failing()
    }

    /// Runs the watcher on `cfg` beside `driver` and stops it when the driver is done:
    /// the watcher's stats and the driver's result.
    async fn beside<T>(
        &self,
        cfg: &ImapConfig,
        store: &mut Store,
        ingester: &slaclaim::ledger::ingest::Ingester<'_>,
        driver: impl std::future::Future<Output = T>,
    ) -> (imap::WatchStats, T) {
        let driver = async {
            let result = driver.await;
            self.shutdown.cancel();
            result
        };
        tokio::join!(
            imap::watch_notifying(
                cfg,
                store,
                ingester,
                self.shutdown.clone(),
                &self.changed,
                None,
                &self.counters,
            ),
            driver
        )
    }
}

async fn processed(dir: &std::path::Path, n: i64, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if store(dir).message_count("processed").unwrap_or_default() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn the_watched_folder_deleted_and_recreated_is_followed() {
    let d = Dovecot::start("refolder");
    let dir = temp_dir("imap-refolder");
    let cfg = watch_config(&d, &dir, "secret");
    follows_a_deleted_and_recreated_folder(cfg, &dir).await;
}

#[tokio::test]
async fn cyrus_the_watched_folder_deleted_and_recreated_is_followed() {
    let c = Cyrus::start("refolder");
    let dir = temp_dir("cyrus-refolder");
    follows_a_deleted_and_recreated_folder(cyrus_config(&c, &dir), &dir).await;
}

#[tokio::test]
async fn cyrus_a_missing_folder_is_a_configuration_problem_until_it_exists() {
    let c = Cyrus::start("nofolder");
    let dir = temp_dir("cyrus-nofolder");
    a_missing_folder_is_read_once_it_exists(cyrus_config(&c, &dir), &dir).await;
}

#[tokio::test]
async fn cyrus_a_folder_with_a_non_ascii_name_is_read() {
    let c = Cyrus::start("utf7");
    let dir = temp_dir("cyrus-utf7");
    reads_a_non_ascii_folder(&cyrus_config(&c, &dir), &dir).await;
}

/// Makes the folder "Aanvragen-ë" as a mail client does (its name in modified UTF-7 on
/// the wire), puts a message in it and syncs it by its configured name: one message.
async fn reads_a_non_ascii_folder(cfg: &ImapConfig, dir: &std::path::Path) -> imap::Session {
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut store = store(dir);
    let folder = "Aanvragen-ë";
    let mut s = imap::connect(cfg).await.unwrap();
    s.create(imap::mailbox_name(folder)).await.unwrap();
    s.append(
        imap::mailbox_name(folder),
        None,
        None,
        corpus("msg_0020.eml"),
    )
    .await
    .unwrap();
    let r = sync(&mut s, cfg, folder, &mut store, &ingester, Inline).await;
    assert_eq!(r.fetched, 1);
    s
}

/// slaclaim's settings for alice on a Cyrus, reconnecting quickly.
fn cyrus_config(c: &Cyrus, dir: &std::path::Path) -> ImapConfig {
    let secret = dir.join("password");
    std::fs::write(&secret, "secret\n").unwrap();
    let toml = format!(
        "name = \"cyrus\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\nreconnect-min-ms = 100\nreconnect-max-ms = 400\nconnect-timeout-secs = 5\n",
        c.port,
        secret.display()
    );
    toml::from_str(&toml).unwrap()
}

/// The folder "Claims" is watched; it is deleted under the watcher, made again, and
/// mail in it is read, each message once.
async fn follows_a_deleted_and_recreated_folder(mut cfg: ImapConfig, dir: &std::path::Path) {
    cfg.folders = vec!["Claims".into()];
    // No renewal comes to the rescue within the test: the server's hints must.
    cfg.idle_timeout_secs = 600;
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut watched = store(dir);
    let mut admin = imap::connect(&cfg).await.unwrap();
    admin.create("Claims").await.unwrap();
    let w = Watch::default();
    let driver = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        admin
            .append("Claims", None, None, corpus("msg_0020.eml"))
            .await
            .unwrap();
        let first = processed(dir, 1, Duration::from_secs(10)).await;
        // Deleted under the watcher (it had a message), made again, and mail comes in.
        admin.delete("Claims").await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        admin.create("Claims").await.unwrap();
        admin
            .append("Claims", None, None, corpus("msg_0015.eml"))
            .await
            .unwrap();
        let second = processed(dir, 2, Duration::from_secs(10)).await;
        (first, second)
    };
    let (stats, (first, second)) = w.beside(&cfg, &mut watched, &ingester, driver).await;
    assert!(first, "the first message was not read: {stats:?}");
    assert!(second, "the recreated folder was not read: {stats:?}");
    assert_eq!(stats.fetched, 2, "{stats:?}");
    assert_eq!(w.counters.health.problem(), None);
}

#[tokio::test]
async fn a_missing_folder_is_a_configuration_problem_until_it_exists() {
    let d = Dovecot::start("nofolder");
    let dir = temp_dir("imap-nofolder");
    let cfg = watch_config(&d, &dir, "secret");
    a_missing_folder_is_read_once_it_exists(cfg, &dir).await;
}

/// INBOX and "Later" are watched, "Later" does not exist: health names it, the
/// connection stays up, and once it is made its mail is read and health clears.
async fn a_missing_folder_is_read_once_it_exists(mut cfg: ImapConfig, dir: &std::path::Path) {
    cfg.folders = vec!["INBOX".into(), "Later".into()];
    cfg.poll_interval_secs = 1;
    cfg.idle_timeout_secs = 1;
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut watched = store(dir);
    let w = Watch::default();
    let driver = async {
        // Named in health while it is missing; the connection itself is fine.
        let started = Instant::now();
        let mut problem = None;
        while problem.is_none() && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            problem = w.counters.health.problem();
        }
        let failures = w.counters.health.failing().0;
        let mut admin = imap::connect(&cfg).await.unwrap();
        admin.create("Later").await.unwrap();
        admin
            .append("Later", None, None, corpus("msg_0020.eml"))
            .await
            .unwrap();
        let read = processed(dir, 1, Duration::from_secs(10)).await;
        // Health clears at the end of the pass that read it.
        let cleared = Instant::now();
        while w.counters.health.problem().is_some() && cleared.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let after = w.counters.health.problem();
        (problem, failures, read, after)
    };
    let (stats, (problem, failures, read, after)) =
        w.beside(&cfg, &mut watched, &ingester, driver).await;
    let problem = problem.unwrap_or_else(|| panic!("no problem reported: {stats:?}"));
    assert!(problem.contains("\"Later\""), "{problem}");
    assert_eq!(failures, 0, "the connection itself never failed");
    assert_eq!(stats.disconnects, 0, "{stats:?}");
    assert!(read, "the folder was not read once it existed: {stats:?}");
    assert_eq!(after, None, "health still names the folder");
}

#[tokio::test]
async fn check_config_online_names_a_folder_that_does_not_exist() {
    let d = Dovecot::start("checkonline");
    let dir = temp_dir("imap-checkonline");
    let cfg = config(&d, &dir, TlsMode::Plain, "secret");
    let path = dir.join("slaclaim.toml");
    std::fs::write(
        &path,
        format!(
            "[[imap]]\nname = \"support\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\nfolders = [\"INBOX\", \"Aanvragen\"]\n[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ndir = \"{}\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\nmanagers = [\"manager@cloudwise-partners.example\"]\n[staff]\naddresses = [\"staff@cloudwise-partners.example\"]\n",
            d.port,
            dir.join("password").display(),
            dir.join("out").display()
        ),
    )
    .unwrap();
    let check = move |online: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_slaclaim"));
        cmd.arg("--config").arg(&path).arg("check-config");
        if online {
            cmd.arg("--online");
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    // Offline the file is fine; online the missing folder is named.
    let first = check.clone();
    let (code, text) = tokio::task::spawn_blocking(move || (first(false), first(true)))
        .await
        .unwrap();
    assert_eq!(code.0, Some(0), "{}", code.1);
    assert_eq!(text.0, Some(1), "{}", text.1);
    assert!(text.1.contains("\"Aanvragen\""), "{}", text.1);
    assert!(!text.1.contains("secret"), "{}", text.1);
    let mut s = imap::connect(&cfg).await.unwrap();
    s.create("Aanvragen").await.unwrap();
    let (code, text) = tokio::task::spawn_blocking(move || check(true))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("every folder selected"), "{text}");
}

#[tokio::test]
async fn a_wake_up_fetches_new_mail_and_quarantines_one_over_the_limit() {
    let d = Dovecot::start("wakefetch");
    let dir = temp_dir("imap-wakefetch");
    let cfg = watch_config(&d, &dir, "secret");
    let x = extractor();
    // A 200 KiB limit: the big message arrives cut just past it, its header kept.
    let ingester = ingester(&x, 200 << 10);
    let mut watched = store(&dir);
    let w = Watch::default();
    let mut big = b"From: logs@customer.example\r\nSubject: our logs\r\nMessage-ID: <big-wake@customer.example>\r\n\r\n".to_vec();
    while big.len() < 600 << 10 {
        big.extend_from_slice(b"a line of a log file that nobody asked for\r\n");
    }
    let driver = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let mut s = imap::connect(&cfg).await.unwrap();
        for raw in [corpus("msg_0020.eml"), big.clone(), corpus("msg_0015.eml")] {
            s.append("INBOX", None, None, raw).await.unwrap();
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let st = store(&dir);
            let n = st.message_count("processed").unwrap_or_default()
                + st.message_count("quarantined").unwrap_or_default();
            if n >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (stats, ()) = w.beside(&cfg, &mut watched, &ingester, driver).await;
    assert_eq!(stats.fetched, 3, "{stats:?}");
    assert_eq!(watched.message_count("processed").ok(), Some(2));
    assert_eq!(watched.message_count("quarantined").ok(), Some(1));
}

fn failures_for(reason: &str) -> u64 {
    slaclaim::net::credentials::token_failures()
        .into_iter()
        .find(|(r, _)| r == reason)
        .map_or(0, |(_, n)| n)
}

#[tokio::test]
async fn a_revoked_client_secret_is_a_counted_token_failure_until_it_is_restored() {
    let issuer = Issuer::start("the-right-secret");
    let d = Dovecot::start_oauth2("xoauth2-revoked", &issuer.introspection_url());
    let dir = temp_dir("imap-xoauth2-revoked");
    // The secret in the file is no longer the one the directory accepts.
    let cfg = oauth2_config(&d, &dir, &issuer, "a-revoked-secret");
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut watched = store(&dir);
    let w = Watch::default();
    let before = failures_for("invalid_client");
    let driver = async {
        let (failing, last) = w.until_failing(3).await;
        let counted = failures_for("invalid_client") - before;
        // Restored: the next try logs in and reads the mail.
        std::fs::write(dir.join("client-secret"), "the-right-secret\n").unwrap();
        let mut admin = imap::connect(&cfg).await.unwrap();
        admin
            .append("INBOX", None, None, corpus("msg_0020.eml"))
            .await
            .unwrap();
        let read = processed(&dir, 1, Duration::from_secs(10)).await;
        let healthy = w.counters.health.failing().0 == 0;
        (failing, last, counted, read, healthy)
    };
    let (stats, (failing, last, counted, read, healthy)) =
        w.beside(&cfg, &mut watched, &ingester, driver).await;
    assert!(failing >= 3, "{failing} failures: {last}");
    assert!(
        last.contains("invalid_client") && last.contains("/token"),
        "{last}"
    );
    assert!(
        !last.contains("a-revoked-secret"),
        "the secret leaked: {last}"
    );
    assert!(counted >= 3, "{counted} invalid_client failures counted");
    assert!(read, "not read after the secret was restored: {stats:?}");
    assert!(healthy, "health still failing after the restore");
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_counted_and_named() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let dir = temp_dir("oauth-unreachable");
    std::fs::write(dir.join("secret"), "s\n").unwrap();
    let config: slaclaim::net::credentials::OAuth2Config = toml::from_str(&format!(
        "tenant = \"t\"\nclient-id = \"slaclaim\"\nclient-secret-file = \"{}\"\ntoken-url = \"http://127.0.0.1:{port}/{{tenant}}/token\"\n",
        dir.join("secret").display()
    ))
    .unwrap();
    let before = failures_for("unreachable");
    let err = slaclaim::net::credentials::TokenSource::new(config)
        .token()
        .await
        .err()
        .unwrap_or_else(|| panic!("a token from nowhere"));
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert_eq!(failures_for("unreachable"), before + 1);
}

#[tokio::test]
async fn a_token_endpoint_that_is_down_then_back_is_counted_then_logs_in() {
    // The issuer's port, free while it is down: both slaclaim's token requests and
    // Dovecot's introspection point there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let d = Dovecot::start_oauth2(
        "xoauth2-down",
        &format!("http://127.0.0.1:{port}/introspect"),
    );
    let dir = temp_dir("imap-xoauth2-down");
    let cfg = oauth2_config_at(
        &d,
        &dir,
        &format!("http://127.0.0.1:{port}/{{tenant}}/token"),
        "back-again",
    );
    let x = extractor();
    let ingester = ingester(&x, 1 << 20);
    let mut watched = store(&dir);
    let w = Watch::default();
    let before = failures_for("unreachable");
    let driver = async {
        let (failing, last) = w.until_failing(2).await;
        let counted = failures_for("unreachable") - before;
        // Back where the configuration points.
        let issuer = Issuer::start_on(port, "back-again")
            .unwrap_or_else(|e| panic!("port {port} taken while the endpoint was down: {e}"));
        let mut admin = imap::connect(&cfg).await.unwrap();
        admin
            .append("INBOX", None, None, corpus("msg_0020.eml"))
            .await
            .unwrap();
        let read = processed(&dir, 1, Duration::from_secs(10)).await;
        let healthy = w.counters.health.failing().0 == 0;
        let issued = issuer.lock().issued.len();
        (failing, last, counted, read, healthy, issued)
    };
    let (stats, (failing, last, counted, read, healthy, issued)) =
        w.beside(&cfg, &mut watched, &ingester, driver).await;
    assert!(failing >= 2, "{failing} failures: {last}");
    assert!(last.contains(&format!("127.0.0.1:{port}")), "{last}");
    assert!(counted >= 2, "{counted} unreachable failures counted");
    assert!(read, "not read once the endpoint was back: {stats:?}");
    assert!(healthy, "health still failing once the endpoint was back");
    assert!(issued >= 1, "no token was issued once back");
}
