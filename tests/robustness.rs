//! Real-world and broken MIME never crashes extraction.

use crate::util::{files, shared, slaclaim};
use serde_json::Value;
use slaclaim::extract::ExtractConfig;
use slaclaim::extract::Extractor;
use std::time::{Duration, Instant};

#[test]
fn every_torture_message_exits_zero_with_valid_json() {
    let all = files(&shared().join("mime-torture"), "eml");
    assert!(
        all.len() >= 100,
        "expected the 107 torture messages, found {}",
        all.len()
    );
    let mut slowest = (Duration::ZERO, String::new());
    for file in &all {
        let started = Instant::now();
        let out = slaclaim(["extract".as_ref(), file.as_os_str()]);
        let took = started.elapsed();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
        assert!(v["kind"].is_string(), "{}", file.display());
        if took > slowest.0 {
            slowest = (took, file.display().to_string());
        }
    }
    println!("slowest: {:?} for {}", slowest.0, slowest.1);
    // A hang guard, not a benchmark: process start included, debug build.
    assert!(
        slowest.0 < Duration::from_secs(5),
        "{} took {:?}",
        slowest.1,
        slowest.0
    );
}

/// A small deterministic generator, so failures reproduce.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn truncated_and_mutated_mail_never_panics() {
    let extractor = Extractor::new(&ExtractConfig::default()).unwrap();
    let mut rng = Lcg(7);
    let mut inputs = files(&shared().join("corpus"), "eml");
    inputs.extend(
        files(&shared().join("mime-torture"), "eml")
            .into_iter()
            .step_by(5),
    );
    for file in inputs {
        let raw = std::fs::read(&file).unwrap();
        for _ in 0..20 {
            let mut m = raw.clone();
            let cut = (rng.next() as usize) % (m.len() + 1);
            m.truncate(cut.max(m.len() / 2));
            for _ in 0..8 {
                if m.is_empty() {
                    break;
                }
                let at = (rng.next() as usize) % m.len();
                m[at] = match rng.next() % 6 {
                    0 => b'\n',
                    1 => b'=',
                    2 => b'<',
                    3 => 0xc3,
                    4 => b'-',
                    _ => rng.next() as u8,
                };
            }
            let e = extractor.extract(&m);
            assert!(serde_json::to_string(&e).is_ok(), "{}", file.display());
        }
    }
}

#[test]
fn hostile_shapes_are_bounded() {
    let extractor = Extractor::new(&ExtractConfig::default()).unwrap();
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Deeply nested multiparts.
    let mut nested = String::from("Subject: nest\nContent-Type: multipart/mixed; boundary=b0\n\n");
    for i in 0..200 {
        nested.push_str(&format!(
            "--b{i}\nContent-Type: multipart/mixed; boundary=b{}\n\n",
            i + 1
        ));
    }
    cases.push(nested.into_bytes());
    // A 5 MB single-line body of digits, colons and dashes (regex worst cases).
    let mut long = b"Subject: long\n\n".to_vec();
    long.extend(
        std::iter::repeat_n(
            b"12:30-13:45 EX12345 0a1b2c3d- 1,200 users in A and ".as_slice(),
            100_000,
        )
        .flatten(),
    );
    cases.push(long);
    // HTML with unterminated tags and entities.
    cases.push(
        b"Subject: h\nContent-Type: text/html\n\n<table><tr><td>&#x110000;&amp<blockquote<<<"
            .to_vec(),
    );
    for raw in cases {
        let e = extractor.extract(&raw);
        assert!(serde_json::to_string(&e).is_ok());
    }
}
