//! Extraction throughput against bare mail-parser parsing of the same messages.
//!
//! `cargo bench --bench extract` prints messages/s and MB/s on one core for both, and
//! the ratio; the target is extraction at most 3x the cost of the bare parse.
//! Messages: shared/corpus, shared/mime-torture and examples/mailbox.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use slaclaim::config::ExtractConfig;
use slaclaim::extract::Extractor;

fn load(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("skipping {} (not found)", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Runs `f` over all messages repeatedly for at least `budget`; returns seconds per pass.
fn measure(messages: &[Vec<u8>], budget: Duration, mut f: impl FnMut(&[u8])) -> f64 {
    for m in messages {
        f(m);
    }
    let started = Instant::now();
    let mut passes = 0u32;
    while started.elapsed() < budget {
        for m in messages {
            f(m);
        }
        passes += 1;
    }
    started.elapsed().as_secs_f64() / f64::from(passes)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("SLACLAIM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    let sets = [
        ("shared/corpus", load(&shared.join("corpus"))),
        ("shared/mime-torture", load(&shared.join("mime-torture"))),
        ("examples/mailbox", load(&root.join("examples/mailbox/new"))),
    ];
    let messages: Vec<Vec<u8>> = sets.iter().flat_map(|(_, m)| m.iter().cloned()).collect();
    if messages.is_empty() {
        eprintln!("no messages found");
        std::process::exit(1);
    }
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let Ok(extractor) = Extractor::new(&ExtractConfig::default()) else {
        eprintln!("default config is invalid");
        std::process::exit(1);
    };
    // SLACLAIM_BENCH_SECS stretches the time per measurement (under valgrind, say).
    let budget = Duration::from_secs(
        std::env::var("SLACLAIM_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
    );
    // SLACLAIM_BENCH_ONLY=extract runs only extraction of the corpus, for profiling;
    // SLACLAIM_BENCH_ONLY=extract:mime-torture picks another set by the end of its name.
    if let Some(only) = std::env::var("SLACLAIM_BENCH_ONLY")
        .ok()
        .and_then(|v| v.strip_prefix("extract").map(str::to_string))
    {
        let wanted = only.trim_start_matches(':');
        let Some((_, messages)) = sets.iter().find(|(name, _)| name.ends_with(wanted)) else {
            eprintln!("no message set ends with {wanted:?}");
            std::process::exit(1);
        };
        let t = measure(messages, budget, |m| {
            black_box(extractor.extract(black_box(m)));
        });
        println!("slaclaim extract: {:.0} msg/s", messages.len() as f64 / t);
        return;
    }
    let parse = measure(&messages, budget, |m| {
        black_box(MessageParser::default().parse(black_box(m)));
    });
    let extract = measure(&messages, budget, |m| {
        black_box(extractor.extract(black_box(m)));
    });
    let n = messages.len() as f64;
    let mb = bytes as f64 / 1e6;
    println!("{} messages, {:.2} MB, one core", messages.len(), mb);
    println!(
        "bare mail-parser parse : {:>9.0} msg/s {:>8.1} MB/s",
        n / parse,
        mb / parse
    );
    println!(
        "slaclaim extract       : {:>9.0} msg/s {:>8.1} MB/s",
        n / extract,
        mb / extract
    );
    println!(
        "extract / parse cost   : {:>9.2}x (target <= 3x)",
        extract / parse
    );
    let short = Duration::from_secs(1);
    for (name, set) in &sets {
        if set.is_empty() {
            continue;
        }
        let p = measure(set, short, |m| {
            black_box(MessageParser::default().parse(black_box(m)));
        });
        let e = measure(set, short, |m| {
            black_box(extractor.extract(black_box(m)));
        });
        let n = set.len() as f64;
        println!(
            "  {name:<20} {:>4} msgs: {:>7.0} msg/s extract, {:.2}x parse cost",
            set.len(),
            n / e,
            e / p
        );
    }
}
