//! Where extraction time goes: microseconds per message for each phase, on shared/corpus
//! (claim mail, the expensive kind), each alone, then all in turn per message, then each
//! message several times in a row (warm). `cargo bench --bench phases`;
//! `SLACLAIM_BENCH_SET=mime-torture` reads another directory of shared/ instead.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use slaclaim::extract::ExtractConfig;
use slaclaim::extract::{
    Extractor, contact, correct, downtime, fold, ids, intent, lang, monitor, numbers, people,
    spoken, table, text,
};
use slaclaim::mail::message::Email;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("SLACLAIM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    let set = std::env::var("SLACLAIM_BENCH_SET").unwrap_or_else(|_| "corpus".into());
    let mut raws: Vec<Vec<u8>> = std::fs::read_dir(shared.join(&set))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter_map(|p| std::fs::read(p).ok())
                .collect()
        })
        .unwrap_or_default();
    raws.sort();
    let (Ok(extractor), false) = (Extractor::new(&ExtractConfig::default()), raws.is_empty())
    else {
        eprintln!(
            "no corpus under {} or invalid default config",
            shared.display()
        );
        std::process::exit(1);
    };
    let emails: Vec<Email> = raws.iter().map(|r| Email::parse(r)).collect();
    let parts: Vec<_> = emails
        .iter()
        .map(|e| slaclaim::mail::quote::split(&e.body, &e.subject))
        .collect();
    let statements: Vec<_> = parts
        .iter()
        .map(|p| text::statements(&p.new_text))
        .collect();
    let reference = downtime::Reference::at(emails.iter().find_map(|e| e.date).unwrap_or_default());
    let incident = regex::Regex::new(r"\b(?:EX|FO|SP|TM|OD|MO|PB)\d{5,8}\b");
    let Ok(incident) = incident else { return };
    let rounds = 1000;
    let per_msg =
        |started: Instant| started.elapsed().as_secs_f64() * 1e6 / (rounds * raws.len()) as f64;
    macro_rules! phase {
        ($name:expr, $body:expr) => {{
            let started = Instant::now();
            for _ in 0..rounds {
                $body;
            }
            println!("{:<16} {:>7.1} us/msg", $name, per_msg(started));
        }};
    }
    phase!(
        "mail-parser",
        for r in &raws {
            black_box(mail_parser::MessageParser::default().parse(r));
        }
    );
    phase!(
        "Email::parse",
        for r in &raws {
            black_box(Email::parse(r));
        }
    );
    phase!(
        "quote",
        for e in &emails {
            black_box(slaclaim::mail::quote::split(&e.body, &e.subject));
        }
    );
    phase!(
        "statements",
        for p in &parts {
            black_box(text::statements(&p.new_text));
        }
    );
    phase!(
        "downtime",
        for (e, s) in emails.iter().zip(&statements) {
            black_box(downtime::windows(&e.subject, s, reference));
        }
    );
    phase!(
        "users",
        for s in &statements {
            black_box(people::affected_users(s));
        }
    );
    phase!(
        "locations",
        for s in &statements {
            black_box(people::locations(s, None, &[]));
        }
    );
    phase!(
        "csp",
        for s in &statements {
            black_box(intent::purchased_via_csp(s, &[]));
        }
    );
    phase!(
        "credit",
        for s in &statements {
            black_box(intent::credit_requested(s, None));
        }
    );
    phase!(
        "advisory",
        for s in &statements {
            black_box(intent::advisory(s));
        }
    );
    phase!(
        "contact",
        for (s, p) in statements.iter().zip(&parts) {
            black_box(contact::contact(s, &p.signature, None, None));
        }
    );
    phase!(
        "resolution",
        for s in &statements {
            black_box(contact::resolution_attempts(s));
        }
    );
    phase!(
        "language",
        for p in &parts {
            black_box(lang::detect(&p.new_text, None));
        }
    );
    phase!(
        "tenants",
        for p in &parts {
            black_box(ids::tenant_ids(&p.new_text));
        }
    );
    phase!(
        "tickets",
        for p in &parts {
            black_box(ids::ticket_refs(
                &p.new_text,
                &fold::Folded::new(&p.new_text),
                &incident,
            ));
        }
    );
    phase!(
        "incidents",
        for p in &parts {
            black_box(ids::incident_ids(&p.new_text, &incident));
        }
    );
    phase!(
        "fold",
        for p in &parts {
            black_box(fold::Folded::new(&p.new_text));
        }
    );
    // The rewriting stage, each step over the new text as it stands before it.
    phase!(
        "spoken",
        for p in &parts {
            black_box(spoken::in_digits(&p.new_text, "en"));
        }
    );
    phase!(
        "time tables",
        for p in &parts {
            black_box(table::time_rows(&p.new_text));
        }
    );
    phase!(
        "numbers",
        for p in &parts {
            black_box(numbers::in_digits(&p.new_text));
        }
    );
    phase!(
        "corrections",
        for p in &parts {
            black_box(correct::apply(&p.new_text));
        }
    );
    phase!(
        "site tables",
        for p in &parts {
            black_box(table::site_counts(&p.new_text));
        }
    );
    phase!(
        "monitor",
        for p in &parts {
            black_box(monitor::windows(&p.new_text, *reference.when.offset()));
        }
    );
    // Every stage above in turn for each message: more than their sum, since each
    // stage's automata push the others' out of the cache.
    phase!(
        "stages in turn",
        for ((e, s), p) in emails.iter().zip(&statements).zip(&parts) {
            black_box(downtime::windows(&e.subject, s, reference));
            black_box(people::affected_users(s));
            black_box(people::locations(s, None, &[]));
            black_box(intent::credit_requested(s, None));
            black_box(intent::purchased_via_csp(s, &[]));
            black_box(intent::advisory(s));
            black_box(contact::contact(s, &p.signature, None, None));
            black_box(contact::resolution_attempts(s));
            black_box(lang::detect(&p.new_text, None));
            black_box(ids::tenant_ids(&p.new_text));
            black_box(ids::ticket_refs(
                &p.new_text,
                &fold::Folded::new(&p.new_text),
                &incident,
            ));
            black_box(ids::incident_ids(&p.new_text, &incident));
            black_box(spoken::in_digits(&p.new_text, "en"));
            black_box(table::time_rows(&p.new_text));
            black_box(numbers::in_digits(&p.new_text));
            black_box(correct::apply(&p.new_text));
            black_box(table::site_counts(&p.new_text));
            black_box(monitor::windows(&p.new_text, *reference.when.offset()));
            black_box(text::statements(&p.new_text));
            black_box(slaclaim::mail::quote::split(&e.body, &e.subject));
        }
    );
    phase!(
        "whole extract",
        for r in &raws {
            black_box(extractor.extract(r));
        }
    );
    // The same message extracted several times in a row: from the second time on, its
    // code, automata and lazy-DFA states are in the cache. The gap to "whole extract"
    // is what a message pays for finding them cold.
    for times in [4, 16] {
        let started = Instant::now();
        for _ in 0..rounds / times {
            for r in &raws {
                for _ in 0..times {
                    black_box(extractor.extract(black_box(r)));
                }
            }
        }
        let each =
            started.elapsed().as_secs_f64() * 1e6 / ((rounds / times) * times * raws.len()) as f64;
        println!("{:<16} {each:>7.1} us/msg", format!("same msg {times}x"));
    }
}
