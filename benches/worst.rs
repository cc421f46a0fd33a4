//! Worst-case inputs for every reading stage, at 16 KiB, 64 KiB, 256 KiB and 1 MiB.
//!
//! `cargo bench --bench worst` prints, per input class and size, the time one
//! extraction takes and the peak memory it adds (VmHWM reset before each run), then the
//! two ratios the targets name: worst 256 KiB / ordinary 256 KiB claim (<= 10x) and
//! 1 MiB / 256 KiB per class (<= 5x; linear is 4x). Last, each 1 MiB input goes through
//! the release binary's `slaclaim extract FILE` under a 2 GB address-space limit, with
//! wall time and peak RSS (<= 1 s, <= 200 MB).
//!
//! SLACLAIM_WORST_ONLY=name runs one class; SLACLAIM_WORST_KEEP=1 keeps the 1 MiB
//! inputs (for a profiler) and says where.

#[path = "common/procfs.rs"]
mod procfs;
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/worst/mod.rs"]
mod worst;

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use slaclaim::extract::ExtractConfig;
use slaclaim::extract::Extractor;

const SIZES: [usize; 4] = [16 << 10, 64 << 10, 256 << 10, 1 << 20];

/// Seconds for one extraction (best of at least `runs`, and of as many as fit in 0.2 s,
/// so that a case taking a millisecond is not one noisy sample) and the peak RSS it
/// added, in MB.
fn measure(extractor: &Extractor, raw: &[u8], runs: usize) -> (f64, f64) {
    let mut best = f64::MAX;
    let mut extra = 0.0f64;
    let began = Instant::now();
    let mut done = 0;
    while done < runs || (began.elapsed().as_secs_f64() < 0.2 && done < 200) {
        done += 1;
        // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = procfs::mb("self", "status", "VmRSS:");
        let started = Instant::now();
        black_box(extractor.extract(black_box(raw)));
        best = best.min(started.elapsed().as_secs_f64());
        extra = extra.max(procfs::mb("self", "status", "VmHWM:") - before);
    }
    (best, extra)
}

fn main() {
    let Ok(extractor) = Extractor::new(&ExtractConfig::default()) else {
        eprintln!("default config is invalid");
        std::process::exit(1);
    };
    let only = std::env::var("SLACLAIM_WORST_ONLY").ok();
    // Compile the patterns before timing anything.
    black_box(extractor.extract(&worst::ordinary(16 << 10)));

    println!("one extraction, release build, one core; time in ms / peak RSS added in MB");
    print!("{:<22}", "input");
    for s in SIZES {
        print!(" {:>17}", format!("{} KiB", s >> 10));
    }
    println!(" {:>9} {:>9}", "x ordin.", "1M/256K");
    let mut ordinary_256 = 0.0;
    let mut rows: Vec<(&str, [(f64, f64); 4])> = Vec::new();
    let mut cases = vec![("ordinary-claim", worst::ordinary as fn(usize) -> Vec<u8>)];
    cases.extend(worst::cases().into_iter().map(|c| (c.name, c.build)));
    for (name, build) in cases {
        if only
            .as_deref()
            .is_some_and(|o| o != name && name != "ordinary-claim")
        {
            continue;
        }
        let mut row = [(0.0, 0.0); 4];
        for (k, size) in SIZES.into_iter().enumerate() {
            let raw = build(size);
            row[k] = measure(&extractor, &raw, if size <= 64 << 10 { 5 } else { 3 });
        }
        if name == "ordinary-claim" {
            ordinary_256 = row[2].0;
        }
        print!("{name:<22}");
        for (t, m) in row {
            print!(" {:>9.2} /{:>6.1}", t * 1e3, m);
        }
        println!(
            " {:>8.2}x {:>8.2}x",
            row[2].0 / ordinary_256,
            row[3].0 / row[2].0
        );
        rows.push((name, row));
    }
    let worst_ratio = rows
        .iter()
        .map(|(_, r)| r[2].0 / ordinary_256)
        .fold(0.0, f64::max);
    let worst_growth = rows
        .iter()
        .map(|(_, r)| r[3].0 / r[2].0)
        .fold(0.0, f64::max);
    println!(
        "worst 256 KiB / ordinary 256 KiB: {worst_ratio:.2}x (target <= 10x); worst 1 MiB / 256 KiB: {worst_growth:.2}x (target <= 5x)"
    );

    // The absolute bound, through the binary a user runs.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let binary = root.join("target/release/slaclaim");
    if !binary.exists() {
        println!("(no target/release/slaclaim: run cargo build --release for the process figures)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("slaclaim-worst-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    println!("slaclaim extract FILE at 1 MiB under ulimit -v 2 GB: wall ms / peak RSS MB");
    let mut slowest = (0.0f64, 0.0f64);
    for case in worst::cases() {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        let file = dir.join(format!("{}.eml", case.name));
        if std::fs::write(&file, (case.build)(1 << 20)).is_err() {
            continue;
        }
        // Python's resource module reads the child's peak RSS (no unsafe code here).
        let script = "import resource,subprocess,sys,time\n\
            lim=2*1024**3\n\
            t=time.monotonic()\n\
            r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,preexec_fn=lambda:resource.setrlimit(resource.RLIMIT_AS,(lim,lim)))\n\
            w=time.monotonic()-t\n\
            print(r.returncode,w,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
        let out = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(&binary)
            .arg("extract")
            .arg(&file)
            .output();
        let Ok(out) = out else {
            println!("(python3 not found: no process figures)");
            break;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = text.split_whitespace().collect();
        let (code, wall, rss) = match f.as_slice() {
            [c, w, r] => (
                c.to_string(),
                w.parse::<f64>().unwrap_or(f64::NAN),
                r.parse::<f64>().unwrap_or(f64::NAN) / 1024.0,
            ),
            _ => ("?".into(), f64::NAN, f64::NAN),
        };
        println!(
            "  {:<22} exit {code:>2} {:>8.0} ms {:>7.1} MB",
            case.name,
            wall * 1e3,
            rss
        );
        slowest = (slowest.0.max(wall), slowest.1.max(rss));
    }
    println!(
        "slowest {:.0} ms (target <= 1000), largest {:.1} MB (target <= 200)",
        slowest.0 * 1e3,
        slowest.1
    );
    if std::env::var_os("SLACLAIM_WORST_KEEP").is_some() {
        println!("inputs kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
