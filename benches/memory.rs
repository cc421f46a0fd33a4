//! The daemon's memory, as the systemd unit runs it: a Maildir in, a file outbox out.
//!
//! - idle RSS (VmRSS) 5 s after the last of 1,000 ordinary mails is stored (target
//!   <= 16 MB), and the peak (VmHWM) over those mails;
//! - the peak while a 25 MB mail passes (target <= 64 MB), and RSS a minute later
//!   (target <= 20 MB).
//!
//! The daemon gets the environment the unit gives it (`Environment=` lines of
//! deploy/slaclaim.service, e.g. the allocator's tunables), so these are the deployed
//! figures. `cargo bench --bench memory`; SLACLAIM_BENCH_SETTLE=SECS shortens the
//! minute.

#[path = "common/daemon.rs"]
mod daemon;
#[path = "common/procfs.rs"]
mod procfs;

use daemon::Daemon;
use procfs::{rss, split};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The unit's `Environment=NAME=VALUE` settings.
fn unit_environment(root: &Path) -> Vec<(String, String)> {
    let unit = std::fs::read_to_string(root.join("deploy/slaclaim.service")).unwrap_or_default();
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix("Environment="))
        .filter_map(|kv| kv.trim_matches('"').split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Mail `i` of an ordinary day: one in seven a credit request, the rest newsletters and
/// questions.
fn mail(i: usize) -> Vec<u8> {
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S +0000");
    if i % 7 == 0 {
        format!(
            "From: IT {i} <it{i}@customer{i}.example>\r\nTo: support@cloudwise-partners.example\r\nSubject: SLA credit request Exchange outage\r\nDate: {date}\r\nMessage-ID: <mem-{i}@customer{i}.example>\r\n\r\nHello,\r\n\r\nPlease file an SLA credit claim for incident EX{}. Our tenant ID is {i:08x}-1111-4222-8333-444455556666.\r\nYesterday from 09:00 to 11:30 CET about 40 users in Utrecht could not send or receive mail.\r\nWe restarted Outlook, which did not help. Bought through you (CSP).\r\n\r\nRegards,\r\nIT {i}\r\nTel. +31 30 555 0100\r\n",
            1_400_000 + i
        )
    } else {
        format!(
            "From: news@vendor.example\r\nTo: support@cloudwise-partners.example\r\nSubject: Newsletter {i}\r\nDate: {date}\r\nMessage-ID: <mem-news-{i}@vendor.example>\r\nList-Unsubscribe: <mailto:unsubscribe@vendor.example>\r\nPrecedence: bulk\r\n\r\n{}",
            "This month's news: new features, webinars and tips for your tenant.\r\n".repeat(20)
        )
    }
    .into_bytes()
}

/// Delivers `raw` the Maildir way: written in tmp/, renamed into new/.
fn deliver(maildir: &Path, name: &str, raw: &[u8]) {
    let tmp = maildir.join("tmp").join(name);
    let _ = std::fs::write(&tmp, raw);
    let _ = std::fs::rename(&tmp, maildir.join("new").join(name));
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("slaclaim-bench-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let maildir = dir.join("mail");
    for sub in ["new", "cur", "tmp"] {
        let _ = std::fs::create_dir_all(maildir.join(sub));
    }
    let config = dir.join("slaclaim.toml");
    let _ = std::fs::write(
        &config,
        format!(
            "[store]\nmax-message-bytes = 40000000\n[[maildir]]\npath = \"{}\"\n[outbox]\nfrom = \"slaclaim@cloudwise-partners.example\"\ndir = \"{}\"\n[drafts]\nhelpdesk = [\"helpdesk@cloudwise-partners.example\"]\n[reminders]\ndigest = \"\"\n[daemon]\nlog-level = \"warn\"\n",
            maildir.display(),
            dir.join("outbox").display()
        ),
    );
    let environment = unit_environment(&root);
    println!("daemon environment from deploy/slaclaim.service: {environment:?}");
    let daemon = Daemon::start(&config, &dir.join("state"), environment);
    let pid = daemon.pid();
    std::thread::sleep(Duration::from_secs(2));
    let (start_rss, _) = rss(pid);
    let (start_anon, start_file) = split(pid);
    let store = || match slaclaim::store::Store::open(&dir.join("state")) {
        Ok(s) => Some(s),
        Err(e) => {
            println!("cannot open the store: {e}");
            None
        }
    };
    let stored = || {
        store()
            .and_then(|s| {
                let count = |status| {
                    s.message_count(status)
                        .map_err(|e| println!("cannot count: {e}"))
                        .ok()
                };
                Some(count("processed")? + count("quarantined")?)
            })
            .unwrap_or(0)
    };
    let wait_for = |n: i64| {
        let started = Instant::now();
        while stored() < n && started.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let now = stored();
        if now < n {
            let waiting = std::fs::read_dir(maildir.join("new"))
                .map(|d| d.count())
                .unwrap_or(0);
            println!(
                "only {now} of {n} stored after {:.0?}; {waiting} files still in new/",
                started.elapsed()
            );
        }
        started.elapsed()
    };

    let total = 1000;
    let started = Instant::now();
    for i in 0..total {
        deliver(
            &maildir,
            &format!("{}.M{i}P1.bench", 1_700_000_000 + i),
            &mail(i),
        );
    }
    wait_for(total as i64);
    let took = started.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let (idle, peak) = rss(pid);
    let (anon, file) = split(pid);
    println!(
        "1,000 ordinary mails stored in {took:.1?}; RSS at start {start_rss:.1} MB ({start_anon:.1} anonymous, {start_file:.1} file pages); idle 5 s after the last {idle:.1} MB (target <= 16 MB; {anon:.1} MB anonymous, {file:.1} MB file pages); peak {peak:.1} MB"
    );

    let mut big = b"From: big@customer.example\r\nSubject: logs\r\nMessage-ID: <bench-big@customer.example>\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    while big.len() < 25 << 20 {
        big.extend_from_slice(b"a log line from an attachment that is much too long to read\r\n");
    }
    deliver(&maildir, "1800000000.Mbig.bench", &big);
    drop(big);
    let took = wait_for(total as i64 + 1);
    let (after, peak) = rss(pid);
    let settle = std::env::var("SLACLAIM_BENCH_SETTLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    std::thread::sleep(Duration::from_secs(settle));
    let (settled, _) = rss(pid);
    let (anon, file) = split(pid);
    println!(
        "a 25 MB mail stored in {took:.1?}: peak {peak:.1} MB (target <= 64 MB); RSS right after {after:.1} MB, {settle} s later {settled:.1} MB (target <= 20 MB; {anon:.1} MB anonymous, {file:.1} MB file pages)"
    );
    daemon.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
