//! The same backlog through one instance on SQLite, one on PostgreSQL, and two on
//! PostgreSQL with the mailboxes split between them: messages per second from the
//! daemon's start until every message is read into the ledger (and every request has
//! its draft accepted by the SMTP server). Targets: PostgreSQL with one instance at
//! least 70% of SQLite's rate; two instances at least 1.6 times one.
//!
//! `cargo bench --bench shared_ledger` (needs dovecot-imapd, postfix for its smtp-sink
//! and postgresql; scripts/test installs them). SLACLAIM_BENCH_BACKLOG sets the messages per
//! mailbox (default 600), SLACLAIM_BENCH_EVERY how many of them make one credit request
//! (default 6; a large number leaves newsletters alone). SLACLAIM_PG_STATS=1 prints where
//! the server's time went in each PostgreSQL run (pg_stat_statements), lock waits
//! included. Each run also prints how busy the machine's CPUs were and which programs
//! took that time, and when every message was read and when every draft was sent: the
//! two ends of a run.
//! SLACLAIM_BENCH_LOG=DIR keeps each daemon's log in DIR (RUST_LOG=info shows each
//! message processed and each mail queued and sent, with times).

// Test harness code: its unwraps are assertions, as in the tests.
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/dovecot.rs"]
mod dovecot;
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/pg_server.rs"]
mod pg_server;

#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/procfs.rs"]
mod procfs;
#[path = "common/smtp_sink.rs"]
mod smtp_sink;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use daemon::Daemon;
use slaclaim::store::Store;

/// Message `n` of mailbox `m`: every sixth a credit request (a claim and a draft), the
/// rest newsletters.
fn message(m: usize, n: usize) -> Vec<u8> {
    let date = Utc::now().format("%a, %d %b %Y %H:%M:%S +0000");
    let k = m * 100_000 + n;
    if n % every() == 0 {
        format!(
            "From: it{k}@customer{k}.example\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request\r\nDate: {date}\r\nMessage-ID: <bench-{k}@customer{k}.example>\r\n\r\nPlease file an SLA credit claim for incident EX{}, tenant {k:08x}-1111-4222-8333-444455556666.\r\nYesterday from 09:00 to 11:30 CET 40 users in Utrecht could not work. Bought through CSP.\r\n",
            1_300_000 + k
        )
    } else {
        format!(
            "From: news@vendor.example\r\nTo: support@cloudwise-partners.example\r\nSubject: Newsletter {k}\r\nDate: {date}\r\nMessage-ID: <news-{k}@vendor.example>\r\nList-Unsubscribe: <mailto:u@vendor.example>\r\nPrecedence: bulk\r\n\r\nThis month's news, part {k}.\r\n"
        )
    }
    .into_bytes()
}

/// A config reading `mailboxes` (name, port), sending to `smtp`, with the ledger at `url`.
fn config(dir: &Path, mailboxes: &[(String, u16)], smtp: u16, url: Option<&str>) -> PathBuf {
    let secret = dir.join("password");
    let _ = std::fs::write(&secret, "secret\n");
    let mut text = String::from("[store]\nmax-message-bytes = 40000000\n");
    if let Some(url) = url {
        text.push_str(&format!("url = \"{url}\"\n"));
    }
    for (name, port) in mailboxes {
        text.push_str(&format!(
            "[[imap]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"plain\"\nuser = \"alice\"\npassword-file = \"{}\"\n",
            secret.display()
        ));
    }
    text.push_str(&format!(
        "[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ntransport = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"plain\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\ndigest = \"\"\n[daemon]\nlog-level = \"warn\"\ntick-secs = 1\n"
    ));
    let path = dir.join("slaclaim.toml");
    let _ = std::fs::write(&path, text);
    path
}

/// One run: two mailboxes with `backlog` messages each, read by `instances` daemons
/// (one reads both; two split them) into the ledger at `url` (SQLite when None).
/// Returns messages per second.
fn run(label: &str, backlog: usize, instances: usize, url: Option<&str>) -> f64 {
    let boxes: Vec<dovecot::Dovecot> = (0..2)
        .map(|m| dovecot::Dovecot::start(&format!("bench-shared-{label}-{m}")))
        .collect();
    for (m, d) in boxes.iter().enumerate() {
        d.deliver("alice", (1..=backlog).map(|n| message(m, n)));
    }
    let sink = smtp_sink::SmtpSink::start();
    let root = std::env::temp_dir().join(format!(
        "slaclaim-bench-shared-{label}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::create_dir_all(&root);
    let mailboxes: Vec<(String, u16)> = boxes
        .iter()
        .enumerate()
        .map(|(m, d)| (format!("support{m}"), d.port))
        .collect();
    // One instance reads both mailboxes; two instances one each.
    let shares: Vec<Vec<(String, u16)>> = match instances {
        1 => vec![mailboxes.clone()],
        _ => mailboxes.iter().map(|m| vec![m.clone()]).collect(),
    };
    let state = root.join("state");
    let ledger = || match url {
        Some(u) => slaclaim::store::postgres::Target::parse(u)
            .ok()
            .and_then(|t| Store::connect(&t, None).ok()),
        None => Store::open(&state).ok(),
    };
    let total = (2 * backlog) as i64;
    let cpu_before = cpu_times();
    let programs_before = procfs::cpu_by_program();
    let requests = (2 * (backlog / every())) as i64;
    let started = Instant::now();
    // One connection for the whole watch: a new PostgreSQL connection is a new server
    // process, and one every few milliseconds would take the daemons' CPU.
    let mut watch = None;
    let mut all_read = None;
    let daemons: Vec<Daemon> = shares
        .iter()
        .enumerate()
        .map(|(i, share)| {
            let dir = root.join(format!("instance-{i}"));
            let _ = std::fs::create_dir_all(&dir);
            Daemon::start(&config(&dir, share, sink.port, url), &state, Vec::new())
        })
        .collect();
    loop {
        if watch.is_none() {
            watch = ledger();
        }
        let read = watch
            .as_ref()
            .is_some_and(|s| s.message_count("processed").unwrap_or(0) >= total);
        if read && all_read.is_none() {
            all_read = Some(started.elapsed());
        }
        let done = read
            && watch.as_ref().is_some_and(|s| {
                requests == 0
                    || s.mail_counts()
                        .unwrap_or_default()
                        .iter()
                        .any(|(p, st, n)| p == "draft" && st == "sent" && *n >= requests)
            });
        if done || started.elapsed() > Duration::from_secs(600) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(read) = all_read {
        println!(
            "{label}: every message read after {:.2} s, every draft sent after {secs:.2} s",
            read.as_secs_f64()
        );
    }
    if let (Some((busy0, all0)), Some((busy1, all1))) = (cpu_before, cpu_times()) {
        println!(
            "{label}: machine CPU busy {:.0}% of the run",
            100.0 * (busy1 - busy0) as f64 / (all1 - all0).max(1) as f64
        );
    }
    // Before the daemons stop: their PostgreSQL backends and IMAP sessions end with them.
    print_programs(label, &programs_before, &procfs::cpu_by_program(), secs);
    for d in daemons {
        d.stop();
    }
    let _ = std::fs::remove_dir_all(&root);
    total as f64 / secs
}

/// Which programs took the machine's CPU during a run: CPU seconds each, their share of
/// what the machine's cores had in the run, and how much of it was in the kernel
/// (system calls: sockets, files), the largest first.
fn print_programs(
    label: &str,
    before: &std::collections::BTreeMap<String, (u64, u64)>,
    after: &std::collections::BTreeMap<String, (u64, u64)>,
    secs: f64,
) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mut used: Vec<(f64, f64, &str)> = after
        .iter()
        .map(|(name, (user, sys))| {
            let (u0, s0) = before.get(name).copied().unwrap_or((0, 0));
            let sys = sys.saturating_sub(s0) as f64 / 100.0;
            (
                user.saturating_sub(u0) as f64 / 100.0 + sys,
                sys,
                name.as_str(),
            )
        })
        .filter(|(s, _, _)| *s >= 0.01)
        .collect();
    used.sort_by(|a, b| b.0.total_cmp(&a.0));
    let list: Vec<String> = used
        .iter()
        .map(|(s, sys, name)| {
            format!(
                "{name} {s:.2} s ({:.0}%; kernel {:.0}% of it)",
                100.0 * s / (secs * cores),
                100.0 * sys / s
            )
        })
        .collect();
    println!("{label}: CPU by program: {}", list.join(", "));
}

/// The machine's busy and total CPU time so far (jiffies, all cores), from /proc/stat.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let all: u64 = fields.iter().sum();
    // idle and iowait
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((all - idle, all))
}

fn main() {
    let backlog: usize = std::env::var("SLACLAIM_BENCH_BACKLOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let pg = pg_server::Postgres::start("bench-shared-pg");
    let one_sqlite = run("sqlite", backlog, 1, None);
    // A fresh database for each PostgreSQL run: the same backlog, nothing before it.
    pg.sql("CREATE DATABASE one");
    pg.sql("CREATE DATABASE two");
    let url = |db: &str| {
        format!(
            "postgres://slaclaim@127.0.0.1:{}/{db}?sslmode=disable",
            pg.port
        )
    };
    let stats = std::env::var_os("SLACLAIM_PG_STATS").is_some();
    if stats {
        pg.sql("CREATE EXTENSION pg_stat_statements");
        pg.sql("SELECT pg_stat_statements_reset()");
    }
    // Where the server's time went in a run (SLACLAIM_PG_STATS): calls, execution and
    // planning ms in all, µs a call (lock waits included), the statement.
    let report = |label: &str| {
        if stats {
            println!("{label}: calls|exec ms|plan ms|µs each|statement");
            println!("{}", pg.sql(
                "SELECT calls, round(total_exec_time::numeric, 0), round(total_plan_time::numeric, 0), round((1000 * (total_exec_time + total_plan_time) / nullif(calls, 0))::numeric, 1), left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE query NOT LIKE 'CREATE %' ORDER BY total_exec_time + total_plan_time DESC LIMIT 40"
            ));
            pg.sql("SELECT pg_stat_statements_reset()");
        }
    };
    let one_pg = run("pg1", backlog, 1, Some(&url("one")));
    report("pg1");
    let two_pg = run("pg2", backlog, 2, Some(&url("two")));
    report("pg2");
    println!(
        "{} messages in two mailboxes, one in {} a credit request (a claim and a draft)",
        2 * backlog,
        every()
    );
    println!("one instance, SQLite      : {one_sqlite:>7.0} msg/s");
    println!(
        "one instance, PostgreSQL  : {one_pg:>7.0} msg/s  ({:.0}% of SQLite; target >= 70%)",
        100.0 * one_pg / one_sqlite
    );
    println!(
        "two instances, PostgreSQL : {two_pg:>7.0} msg/s  ({:.2}x one instance; target >= 1.6x)",
        two_pg / one_pg
    );
}

/// One message in this many is a credit request (SLACLAIM_BENCH_EVERY, default 6).
fn every() -> usize {
    std::env::var("SLACLAIM_BENCH_EVERY")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(6)
}
