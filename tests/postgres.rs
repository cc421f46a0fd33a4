//! PostgreSQL as the ledger, against a real server (tests/pg_server.rs): its schema
//! (src/store/postgres) is the SQLite store's, table by table and column by column, with
//! the same revision triggers; TLS by sslmode; `store migrate`; the commands and the
//! daemon (killed again and again) with the ledger there; two daemons sharing it.

use std::path::Path;

use crate::pg_server::Postgres;

/// (table, column, type, nullable) of every table, SQLite types named as PostgreSQL's.
type Columns = Vec<(String, String, String, bool)>;

fn sqlite_columns(dir: &Path) -> Columns {
    drop(crate::util::store(dir));
    let conn = rusqlite::Connection::open(dir.join("state/slaclaim.sqlite3")).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({t})")).unwrap();
        let rows = stmt
            .query_map([], |r| {
                let (name, ty, notnull, pk): (String, String, bool, i64) =
                    (r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?);
                Ok((name, ty, notnull || pk > 0))
            })
            .unwrap();
        for row in rows {
            let (name, ty, not_null) = row.unwrap();
            let ty = match ty.as_str() {
                "INTEGER" => "bigint",
                "TEXT" => "text",
                "BLOB" => "bytea",
                other => panic!("{t}.{name}: no PostgreSQL type for {other}"),
            };
            out.push((t.clone(), name, ty.to_string(), !not_null));
        }
    }
    out.sort();
    out
}

#[test]
fn the_postgresql_schema_is_the_sqlite_stores_with_the_same_revision_triggers() {
    let pg = Postgres::start("postgres-schema");
    // Every schema file in turn, as an instance opening a new database applies them.
    let migrated = connect(&pg.url("?sslmode=disable")).unwrap();
    assert_eq!(migrated.migrate().unwrap(), 0, "a new database");
    assert_eq!(
        migrated.migrate().unwrap(),
        slaclaim::store::postgres::SCHEMA_VERSION,
        "applied once, not twice"
    );
    let mut pg_columns: Columns = pg
        .sql(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_version' ORDER BY 1, 2",
        )
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].to_string(),
                f[3] == "YES",
            )
        })
        .collect();
    pg_columns.sort();
    let dir = crate::util::temp_dir("postgres-schema-sqlite");
    let sqlite = sqlite_columns(&dir);
    assert_eq!(
        pg_columns, sqlite,
        "PostgreSQL (left) and SQLite (right) schemas differ"
    );
    // The version is SQLite's user_version.
    let conn = rusqlite::Connection::open(dir.join("state/slaclaim.sqlite3")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        pg.sql("SELECT version FROM schema_version").trim(),
        version.to_string()
    );
    // The revision counter moves as SQLite's does.
    let revision = |pg: &Postgres| {
        pg.sql("SELECT revision FROM claims WHERE id = 1")
            .trim()
            .to_string()
    };
    pg.sql("INSERT INTO tickets (id, reference, created_at) VALUES (1, 'SLA-1', 'now')");
    pg.sql("INSERT INTO messages (source, sha256, received_at, status) VALUES ('file', 'x', 'now', 'processed')");
    pg.sql("INSERT INTO claims (ticket_id, tenant_id, incident_id, status, created_at, updated_at) VALUES (1, '', 'EX1', 'collecting', 'now', 'now')");
    assert_eq!(revision(&pg), "0");
    pg.sql("INSERT INTO evidence (claim_id, field, value, message_id, updated_at) VALUES (1, 'downtime', '[]', 1, 'now')");
    assert_eq!(revision(&pg), "1");
    pg.sql("UPDATE claims SET status = 'ready' WHERE id = 1");
    assert_eq!(revision(&pg), "2");
    pg.sql("UPDATE claims SET updated_at = 'later' WHERE id = 1");
    assert_eq!(
        revision(&pg),
        "2",
        "a column the mail is not made from moves nothing"
    );
    pg.sql("UPDATE tickets SET sender_domain = 'customer.example' WHERE id = 1");
    pg.sql("INSERT INTO corrections (claim_id, field, line, set_by, at) VALUES (1, 'users', 'users: 5', 'staff', 'now')");
    assert_eq!(revision(&pg), "4");
    // Evidence and links are written many rows to a statement; on PostgreSQL their
    // triggers fire once per statement, so each such statement moves it once.
    pg.sql("INSERT INTO evidence (claim_id, field, value, message_id, updated_at) VALUES (1, 'users', '5', 1, 'now'), (1, 'csp', 'true', 1, 'now')");
    assert_eq!(revision(&pg), "5");
    pg.sql("INSERT INTO evidence (claim_id, field, value, message_id, updated_at) VALUES (1, 'users', '6', 1, 'now'), (1, 'csp', 'false', 1, 'now') ON CONFLICT (claim_id, field) DO UPDATE SET value = excluded.value");
    assert_eq!(revision(&pg), "6");
    pg.sql("UPDATE evidence SET value = '7' WHERE field = 'nothing such'");
    assert_eq!(
        revision(&pg),
        "6",
        "a statement that changed no row moves nothing"
    );
    pg.sql("DELETE FROM evidence WHERE claim_id = 1 AND field IN ('users', 'csp')");
    assert_eq!(revision(&pg), "7");
    pg.sql("INSERT INTO claim_messages (claim_id, message_id) VALUES (1, 1)");
    pg.sql(
        "INSERT INTO claim_messages (claim_id, message_id) VALUES (1, 1) ON CONFLICT DO NOTHING",
    );
    assert_eq!(revision(&pg), "8", "a link already there moves nothing");
    pg.sql("DELETE FROM claim_messages WHERE claim_id = 1");
    assert_eq!(revision(&pg), "9");
}

/// Connects with the library's own client, as the daemon and `store migrate` do.
fn connect(url: &str) -> Result<slaclaim::store::postgres::Pg, String> {
    let target = slaclaim::store::postgres::Target::parse(url).map_err(|e| e.to_string())?;
    slaclaim::store::postgres::Pg::connect(&target, None).map_err(|e| e.to_string())
}

#[test]
fn sslmode_has_libpqs_meaning_and_a_loopback_server_without_tls_works() {
    // Without TLS: prefer (the default) falls back to plain; require refuses.
    let plain = Postgres::start("postgres-plain");
    let pg = connect(&plain.url("")).unwrap();
    assert!(!pg.encrypted().unwrap());
    let e = connect(&plain.url("?sslmode=require")).err().unwrap();
    assert!(e.contains("127.0.0.1"), "{e}");
    drop(plain);

    let tls = Postgres::start_with_tls("postgres-tls");
    let root = tls.dir().join("cert.pem");
    let at = |host: &str, query: String| connect(&tls.url(&query).replace("127.0.0.1", host));
    // disable: plain even where TLS is offered; prefer and require: encrypted, the
    // self-signed certificate is not checked.
    assert!(
        !at("127.0.0.1", "?sslmode=disable".into())
            .unwrap()
            .encrypted()
            .unwrap()
    );
    assert!(at("127.0.0.1", String::new()).unwrap().encrypted().unwrap());
    assert!(
        at("127.0.0.1", "?sslmode=require".into())
            .unwrap()
            .encrypted()
            .unwrap()
    );
    // verify-full: the chain and the name; the Mozilla roots do not know this one.
    let full = format!("?sslmode=verify-full&sslrootcert={}", root.display());
    assert!(at("127.0.0.1", full.clone()).unwrap().encrypted().unwrap());
    let e = at("127.0.0.2", full).err().unwrap();
    assert!(
        e.to_lowercase().contains("not valid for name") || e.contains("NotValidForName"),
        "{e}"
    );
    let e = at("127.0.0.1", "?sslmode=verify-full".into())
        .err()
        .unwrap();
    assert!(
        e.contains("UnknownIssuer") || e.to_lowercase().contains("unknown issuer"),
        "{e}"
    );
    // verify-ca: the chain only, so another name for the same server is fine; require
    // with a root given checks the chain as libpq does.
    let ca = format!("?sslmode=verify-ca&sslrootcert={}", root.display());
    assert!(at("127.0.0.2", ca).unwrap().encrypted().unwrap());
    let other = tls.dir().join("other");
    std::fs::create_dir_all(&other).unwrap();
    crate::dovecot::make_cert(&other);
    let wrong_root = format!(
        "?sslmode=require&sslrootcert={}",
        other.join("cert.pem").display()
    );
    assert!(at("127.0.0.1", wrong_root).is_err());
}

/// A SQLite ledger full of claims: the demo's mail (drafts, a reminder, expired and
/// ineligible claims, corrections) and then both corpora ingested into it.
fn full_ledger(name: &str) -> std::path::PathBuf {
    let cwd = crate::util::temp_dir(name);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_slaclaim"))
        .arg("demo")
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = cwd.join("state/demo");
    let shared = crate::util::shared();
    let mut args: Vec<std::ffi::OsString> =
        vec!["--state-dir".into(), state.clone().into(), "ingest".into()];
    for set in ["corpus", "corpus-b"] {
        args.extend(
            crate::util::files(&shared.join(set), "eml")
                .into_iter()
                .map(Into::into),
        );
    }
    crate::util::slaclaim_ok(&args);
    // And a staff correction, with its history.
    crate::util::slaclaim_ok([
        "--state-dir".as_ref(),
        state.as_os_str(),
        "set".as_ref(),
        "SLA-1".as_ref(),
        "users".as_ref(),
        "140".as_ref(),
    ]);
    state
}

#[test]
fn a_sqlite_ledger_full_of_claims_is_copied_to_postgresql_and_checked() {
    let state = full_ledger("postgres-migrate");
    let pg = Postgres::start("postgres-migrate-server");
    let sqlite = rusqlite::Connection::open(state.join("slaclaim.sqlite3")).unwrap();
    let count = |table: &str| -> i64 {
        sqlite
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert!(count("claims") >= 40, "only {} claims", count("claims"));
    assert!(count("outbox") > 0 && count("transitions") > 0 && count("corrections") > 0);

    let from = format!("sqlite:{}", state.display());
    let migrate =
        |to: &str| crate::util::slaclaim(["store", "migrate", "--from", &from, "--to", to]);
    let out = migrate(&pg.url("?sslmode=disable"));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("every count matches"), "{printed}");

    // Every table holds the same rows: compared here by psql, not by the copy's check.
    let tables: Vec<String> = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in &tables {
        let there: i64 = pg
            .sql(&format!("SELECT COUNT(*) FROM {table}"))
            .trim()
            .parse()
            .unwrap();
        assert_eq!(there, count(table), "{table}");
        assert!(
            printed.contains(table.as_str()),
            "{table} not reported: {printed}"
        );
    }
    // The claims themselves, field by field, and each message's bytes by their hash.
    let claims_sql = "SELECT id, ticket_id, tenant_id, incident_id, status, COALESCE(deadline, ''), revision FROM claims ORDER BY id";
    let in_sqlite: Vec<String> = sqlite
        .prepare(claims_sql)
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{}|{}|{}",
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let in_pg: Vec<String> = pg.sql(claims_sql).lines().map(String::from).collect();
    assert_eq!(
        in_pg, in_sqlite,
        "claims differ (revisions must not move in the copy)"
    );
    assert_eq!(
        pg.sql("SELECT COUNT(*) FROM message_raw r JOIN messages m USING (id) WHERE encode(sha256(r.raw), 'hex') <> m.sha256").trim(),
        "0"
    );
    // New rows continue after the copied ids (a ticket's is the highest one's plus one,
    // the others' come from their identities); the revision triggers are on again.
    let next_claim: i64 = pg
        .sql("INSERT INTO claims (ticket_id, tenant_id, incident_id, status, created_at, updated_at) VALUES (1, '', '', 'collecting', 'now', 'now') RETURNING id")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(next_claim, count("claims") + 1);
    let target = slaclaim::store::postgres::Target::parse(&pg.url("?sslmode=disable")).unwrap();
    let store = slaclaim::store::Store::connect(&target, None).unwrap();
    let (next_ticket, reference) = store.create_ticket(None, "now").unwrap();
    assert_eq!(next_ticket, count("tickets") + 1);
    assert_eq!(reference, format!("SLA-{next_ticket}"));
    let before: i64 = pg
        .sql("SELECT revision FROM claims WHERE id = 1")
        .trim()
        .parse()
        .unwrap();
    pg.sql("UPDATE claims SET status = 'submitted' WHERE id = 1");
    let after: i64 = pg
        .sql("SELECT revision FROM claims WHERE id = 1")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(after, before + 1);

    // A second copy into the same database is refused: two ledgers must not mix.
    let out = migrate(&pg.url("?sslmode=disable"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    // A password in the URL is refused before anything is read, and not repeated.
    let out = migrate(&pg.url("").replace("slaclaim@", "slaclaim:s3cret@"));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && said.contains("password-file") && !said.contains("s3cret"),
        "{said}"
    );
    // And a path that holds no ledger is never made into an empty one.
    let out = crate::util::slaclaim([
        "store",
        "migrate",
        "--from",
        "sqlite:/nonexistent/state",
        "--to",
        &pg.url(""),
    ]);
    assert!(!out.status.success());
    assert!(!std::path::Path::new("/nonexistent/state").exists());
}

#[test]
fn killed_twenty_times_with_the_ledger_on_postgresql_everything_once() {
    let pg = Postgres::start("postgres-e2e-crash");
    let url = pg.url("?sslmode=disable");
    let target = slaclaim::store::postgres::Target::parse(&url).unwrap();
    crate::e2e::killed_twenty_times("postgres-e2e-crash-run", Some(&url), &|| {
        slaclaim::store::Store::connect(&target, None)
    });
    // The daemon kept nothing in a local ledger.
    let local = Path::new(env!("CARGO_TARGET_TMPDIR")).join("postgres-e2e-crash-run/state");
    assert!(!local.join(slaclaim::store::FILE_NAME).exists());
}

/// Runs the CLI with a config whose `[store]` is `store`; returns stdout (stderr on failure).
fn cli_with(dir: &Path, store: &str, args: &[&str]) -> String {
    let config = dir.join("slaclaim.toml");
    std::fs::write(
        &config,
        format!("[store]\n{store}\n[deadline]\ntime-zone = \"Europe/Amsterdam\"\n"),
    )
    .unwrap();
    let mut all: Vec<std::ffi::OsString> = vec!["--config".into(), config.into()];
    all.extend(["--state-dir".into(), dir.join("state").into()]);
    all.extend(args.iter().map(Into::into));
    String::from_utf8_lossy(&crate::util::slaclaim_ok(&all)).to_string()
}

#[test]
fn the_commands_read_and_change_a_ledger_on_postgresql_as_on_sqlite() {
    let pg = Postgres::start("postgres-cli-server");
    let on_pg = crate::util::temp_dir("postgres-cli-pg");
    let on_sqlite = crate::util::temp_dir("postgres-cli-sqlite");
    let url = format!("url = \"{}\"", pg.url("?sslmode=disable"));
    let shared = crate::util::shared();
    let mut files: Vec<String> = Vec::new();
    for set in ["corpus", "corpus-b"] {
        files.extend(
            crate::util::files(&shared.join(set), "eml")
                .iter()
                .map(|p| p.display().to_string()),
        );
    }
    let mut ingest = vec!["ingest"];
    ingest.extend(files.iter().map(String::as_str));
    // Each step on both ledgers; the same answers, to the byte.
    let steps: Vec<Vec<&str>> = vec![
        ingest.clone(),
        // Again: every message is a duplicate, on PostgreSQL too.
        ingest,
        vec!["claims", "--json"],
        vec!["set", "SLA-1", "users", "140"],
        vec!["mark", "SLA-2", "submitted", "--case", "2611000123"],
        vec!["mark", "SLA-3", "ineligible", "--reason", "advisory"],
        vec!["claim", "SLA-1", "--json"],
        vec!["claim", "SLA-2", "--json"],
        vec!["claims", "--json"],
    ];
    // What differs is only when each step ran: today's timestamps are masked.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let now = regex::Regex::new(&format!(r"{today}T\d\d:\d\d:\d\dZ")).unwrap();
    for step in &steps {
        let a = cli_with(&on_sqlite, "", step);
        let b = cli_with(&on_pg, &url, step);
        assert_eq!(
            now.replace_all(&b, "NOW"),
            now.replace_all(&a, "NOW"),
            "{step:?}: PostgreSQL (left) and SQLite (right) differ"
        );
    }
    let claims: i64 = pg
        .sql("SELECT COUNT(*) FROM claims")
        .trim()
        .parse()
        .unwrap();
    assert!(claims >= 60, "{claims} claims on PostgreSQL");
    assert!(
        !on_pg
            .join("state")
            .join(slaclaim::store::FILE_NAME)
            .exists()
    );
}

/// The instance holding lease `name` (its process id), if any lease is live.
fn holder(store: &slaclaim::store::Store, name: &str) -> Option<u32> {
    let now = slaclaim::stamp_ms(chrono::Utc::now());
    store
        .leases()
        .ok()?
        .into_iter()
        .find(|l| l.name == name && l.until > now)
        .and_then(|l| slaclaim::store::instance_pid(&l.owner))
}

#[test]
fn two_daemons_share_one_ledger_and_one_mailbox_killed_in_turn_everything_once() {
    use crate::e2e::{Daemon, append, request, signal, start, wait_for, write_config};
    use std::time::{Duration, Instant};
    let pg = Postgres::start("postgres-two-server");
    let d = crate::dovecot::Dovecot::start("postgres-two");
    let sink = crate::smtp::SmtpSink::start("postgres-two");
    let url = pg.url("?sslmode=disable");
    let target = slaclaim::store::postgres::Target::parse(&url).unwrap();
    let ledger = || slaclaim::store::Store::connect(&target, None).unwrap();
    let lease = Duration::from_secs(3);
    // The same config for both, each its own state directory (nothing is kept there).
    let config_for = |name: &str, metrics: u16| {
        let dir = crate::util::temp_dir(name);
        let extra = format!(
            "lease-secs = 3\nmax-read-attempts = 1000\nmetrics-listen = \"127.0.0.1:{metrics}\""
        );
        let config = write_config(&dir, &d, &sink, &extra);
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &config,
            text.replacen("[store]\n", &format!("[store]\nurl = \"{url}\"\n"), 1),
        )
        .unwrap();
        (dir, config)
    };
    let (metrics_a, metrics_b) = (crate::dovecot::free_port(), crate::dovecot::free_port());
    let (dir_a, config_a) = config_for("postgres-two-a", metrics_a);
    let (dir_b, config_b) = config_for("postgres-two-b", metrics_b);
    let (first, total) = (30, 60);
    d.deliver("alice", (1..=first).map(|n| request(n, true)));
    let mut a = start(&config_a, &dir_a);
    let mut b = start(&config_b, &dir_b);

    let mut takeovers = Vec::new();
    std::thread::scope(|scope| {
        // Mail keeps arriving all the while.
        scope.spawn(|| {
            for n in first + 1..=total {
                append(&d, request(n, n % 2 == 0));
                std::thread::sleep(Duration::from_millis(150));
            }
        });
        // Kill A four times, then B four times, each at a moment of its own, and restart
        // it; when the one killed held the mailbox, the other takes it within the lease.
        let mut seed: u64 = 0x7e57_0002;
        for round in 0..8 {
            std::thread::sleep(Duration::from_millis(300));
            if round == 3 {
                // The SMTP server goes away for a stretch in the middle of it.
                sink.down();
            }
            if round == 6 {
                sink.up();
            }
            let (victim, config, dir): (&mut Daemon, _, _) = if round < 4 {
                (&mut a, &config_a, &dir_a)
            } else {
                (&mut b, &config_b, &dir_b)
            };
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            std::thread::sleep(Duration::from_millis(200 + (seed >> 33) % 700));
            let held = holder(&ledger(), "imap:support") == Some(victim.id());
            signal(victim, "-KILL");
            let _ = victim.wait();
            let killed = Instant::now();
            if held {
                wait_for(
                    dir,
                    Duration::from_secs(20),
                    "the other daemon to take the mailbox",
                    || holder(&ledger(), "imap:support").is_some_and(|p| p != victim.id()),
                );
                takeovers.push(killed.elapsed());
            }
            *victim = start(config, dir);
        }
    });
    sink.up();

    // Then both run to the end.
    wait_for(
        &dir_a,
        Duration::from_secs(180),
        "every request read and drafted",
        || crate::e2e::read_and_drafted(&ledger(), total, total),
    );
    // Each says where the ledger is and whether it reads the mailbox or stands by (the
    // last one restarted may still be starting).
    wait_for(
        &dir_b,
        Duration::from_secs(20),
        "both health endpoints",
        || {
            [metrics_a, metrics_b].iter().all(|p| {
                std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok()
                    && crate::e2e::http_get(*p, "/healthz").contains("imap:support")
            })
        },
    );
    let health: Vec<String> = [metrics_a, metrics_b]
        .iter()
        .map(|p| crate::e2e::http_get(*p, "/healthz"))
        .collect();
    for h in &health {
        assert!(
            h.starts_with("HTTP/1.1 200") && h.contains("ledger: postgres://slaclaim@127.0.0.1:"),
            "{h}"
        );
    }
    let reading = health
        .iter()
        .filter(|h| h.contains("reading: imap:support"))
        .count();
    let standing = health
        .iter()
        .filter(|h| h.contains("standing by for: imap:support"))
        .count();
    assert_eq!((reading, standing), (1, 1), "{health:?}");
    let metrics = crate::e2e::http_get(metrics_a, "/metrics");
    assert!(
        metrics.contains("slaclaim_lease_held{lease=\"imap:support\"}"),
        "{metrics}"
    );
    // Its tasks share a pool: one connection for each thread that talks to the
    // ledger (the runtime's, with the sources and the outbox; processing's; planning's)
    // and one spare, not one a task.
    let gauge = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name}: {metrics}"))
    };
    let open = gauge("slaclaim_store_connections");
    assert!((1..=4).contains(&open), "{metrics}");
    assert!(
        gauge("slaclaim_store_connections_in_use") <= open,
        "{metrics}"
    );
    signal(&a, "-TERM");
    signal(&b, "-TERM");
    let _ = (a.wait(), b.wait());

    let s = ledger();
    assert_eq!(
        s.message_count("processed").unwrap(),
        total as i64,
        "every message once"
    );
    assert_eq!(s.message_count("quarantined").unwrap(), 0);
    assert_eq!(s.pending_count().unwrap(), 0, "nothing left in custody");
    let claims = s.all_claims().unwrap();
    assert_eq!(claims.len(), total, "every request one claim");
    let (delivered, lost) = crate::e2e::every_draft_once(&s, &sink, total);
    assert!(!takeovers.is_empty(), "no kill hit the mailbox's holder");
    // Within the lease, plus the third of it the other waits between asks, plus a
    // moment for this test's own polling.
    let limit = lease + lease / 3 + Duration::from_millis(700);
    for t in &takeovers {
        assert!(
            *t <= limit,
            "a takeover took {t:?} (lease {lease:?}): {takeovers:?}"
        );
    }
    println!(
        "{} kills, {} takeovers ({:?}), {} drafts delivered once each, {} unconfirmed",
        8,
        takeovers.len(),
        takeovers,
        delivered,
        lost
    );
}

#[test]
fn a_store_outlives_a_server_restart() {
    let pg = Postgres::start("postgres-restart");
    let target = slaclaim::store::postgres::Target::parse(&pg.url("?sslmode=disable")).unwrap();
    let store = slaclaim::store::Store::connect(&target, None).unwrap();
    assert_eq!(store.message_count("processed").unwrap(), 0);
    pg.restart();
    // The first call after it may fail (the connection is found gone); the store opens
    // a new one and goes on, as a daemon's store must across a failover.
    let started = std::time::Instant::now();
    let mut failures = 0;
    while store.message_count("processed").is_err() {
        failures += 1;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "no reconnect"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(failures <= 2, "{failures} failures before it worked again");
    // And a transaction works again, under the ledger's lock.
    let mut store = store;
    store
        .transaction(|s| s.set_schedule_value("digest", "2026-12-06"))
        .unwrap();
    assert_eq!(
        store.schedule_value("digest").unwrap().as_deref(),
        Some("2026-12-06")
    );
}

#[test]
fn stores_share_a_pool_and_a_transaction_keeps_its_connection() {
    use slaclaim::store::{Location, postgres::Target};
    let pg = Postgres::start("postgres-pool");
    let location = Location::postgres(Target::parse(&pg.url("?sslmode=disable")).unwrap(), None);
    let Location::Postgres(pool) = &location else {
        panic!("not a PostgreSQL location")
    };
    let backends = || -> u32 {
        pg.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slaclaim'")
            .trim()
            .parse()
            .unwrap()
    };
    let mut a = location.open().unwrap();
    let b = location.open().unwrap();
    // Two stores, one connection between them while neither is in a statement.
    assert_eq!((pool.idle(), backends()), (1, 1));
    let now = "2026-12-06T10:00:00.000Z";
    a.transaction(|s| -> Result<(), slaclaim::store::StoreError> {
        s.accept("imap", "imap:x/INBOX/1/1", b"Subject: x\r\n\r\nx\r\n", now)?;
        // The transaction holds its connection; another store's statement borrows a
        // second one, gives it back, and sees nothing uncommitted.
        assert_eq!(pool.idle(), 0);
        assert_eq!(b.pending_count()?, 0);
        assert_eq!(pool.idle(), 1);
        Ok(())
    })
    .unwrap();
    assert_eq!(b.pending_count().unwrap(), 1);
    assert_eq!((pool.idle(), backends()), (2, 2));
    // Dropped with the last store and the location: nothing left open on the server.
    drop((a, b, location));
    let started = std::time::Instant::now();
    while backends() > 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_transaction_sends_its_begin_with_its_first_statement_and_held_writes_with_the_next() {
    use slaclaim::store::postgres::BEGIN_WRITE;
    use slaclaim::store::sql::Value;
    let pg = Postgres::start("postgres-pipeline");
    let url = pg.url("?sslmode=disable");
    let (a, b) = (connect(&url).unwrap(), connect(&url).unwrap());
    a.batch("CREATE TABLE t (id integer PRIMARY KEY)").unwrap();
    let insert = "INSERT INTO t (id) VALUES (?1)";
    let count = |pg: &slaclaim::store::postgres::Pg| pg.number("SELECT COUNT(*) FROM t", &[]);
    // A transaction that has run nothing has sent nothing and holds no lock: another
    // connection's write transaction goes ahead (it would wait 60 s for the lock).
    a.batch(BEGIN_WRITE).unwrap();
    b.batch(BEGIN_WRITE).unwrap();
    b.execute(insert, &[Value::Int(1)]).unwrap();
    b.batch("COMMIT").unwrap();
    a.batch("COMMIT").unwrap();
    // A held write goes before the next statement, which sees it.
    a.batch(BEGIN_WRITE).unwrap();
    a.execute_later(insert, &[Value::Int(2)]).unwrap();
    assert_eq!(count(&a).unwrap(), 2);
    a.batch("COMMIT").unwrap();
    // One that fails fails the COMMIT it goes with, and nothing of its transaction lands.
    a.batch(BEGIN_WRITE).unwrap();
    a.execute(insert, &[Value::Int(3)]).unwrap();
    a.execute_later(insert, &[Value::Int(1)]).unwrap();
    let e = a.batch("COMMIT").unwrap_err().to_string();
    assert!(e.contains("duplicate key"), "{e}");
    assert_eq!(count(&b).unwrap(), 2);
    // Undone, a held write is never sent; the connection goes on.
    a.batch(BEGIN_WRITE).unwrap();
    a.execute_later(insert, &[Value::Int(1)]).unwrap();
    a.batch("ROLLBACK").unwrap();
    assert_eq!(count(&a).unwrap(), 2);
    // After a failed statement a transaction goes no further, even for a caller that
    // ignores the failure: its COMMIT fails rather than quietly rolling back.
    a.batch(BEGIN_WRITE).unwrap();
    a.execute(insert, &[Value::Int(4)]).unwrap();
    assert!(a.execute(insert, &[Value::Int(1)]).is_err());
    assert!(a.execute(insert, &[Value::Int(5)]).is_err());
    assert!(a.batch("COMMIT").is_err());
    assert_eq!(count(&b).unwrap(), 2);
    a.batch(BEGIN_WRITE).unwrap();
    a.execute(insert, &[Value::Int(6)]).unwrap();
    a.batch("COMMIT").unwrap();
    assert_eq!(count(&b).unwrap(), 3);
}

#[test]
fn writes_to_an_instances_own_rows_do_not_wait_for_the_ledgers_write_lock() {
    let pg = Postgres::start("postgres-own-rows");
    let target = slaclaim::store::postgres::Target::parse(&pg.url("?sslmode=disable")).unwrap();
    let mut a = slaclaim::store::Store::connect(&target, None).unwrap();
    let mut b = slaclaim::store::Store::connect(&target, None).unwrap();
    // While one instance holds the write lock (its transaction has run a statement),
    // another begins and ends its readings: they would wait 60 s for the lock and fail.
    let started = std::time::Instant::now();
    a.transaction(|a| -> Result<(), slaclaim::store::StoreError> {
        a.pending_count()?;
        b.begin_readings(&["imap:k/1", "imap:k/2"], "now")?;
        assert_eq!(a.readings()?.len(), 2, "committed, seen by the other");
        b.end_readings(&["imap:k/1"])?;
        Ok(())
    })
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(b.readings().unwrap(), [("imap:k/2".to_string(), 1)]);
}
