//! Extraction quality, measured by `slaclaim eval` against truth files.

use crate::util::{repo, shared, slaclaim};
use slaclaim::extract::ExtractConfig;
use slaclaim::extract::Extractor;
use slaclaim::extract::eval;

fn report(dir: &std::path::Path, truth: Option<&std::path::Path>) -> eval::Report {
    let extractor = Extractor::new(&ExtractConfig::default()).unwrap();
    eval::run(dir, truth, &extractor).unwrap()
}

#[test]
fn shared_corpus_scores_at_least_095_with_perfect_incident_ids() {
    let r = report(&shared().join("corpus"), None);
    println!("{}", r.render(true));
    assert!(r.messages >= 20, "only {} messages scored", r.messages);
    assert!(r.overall() >= 0.95, "overall {:.3} < 0.95", r.overall());
    assert_eq!(
        r.f1("incident_ids"),
        Some(1.0),
        "incident-ID F1 must be 1.0"
    );
}

#[test]
fn own_examples_score_at_least_095() {
    // Written independently of the shared corpus, in forms it does not use.
    // The samples are a Maildir (the demo reads it); their truth files live apart.
    let r = report(
        &repo().join("examples/mailbox/new"),
        Some(&repo().join("examples/truth")),
    );
    println!("{}", r.render(true));
    assert!(r.messages >= 8);
    assert!(r.overall() >= 0.95, "overall {:.3} < 0.95", r.overall());
    assert_eq!(r.f1("incident_ids"), Some(1.0));
}

#[test]
fn eval_command_prints_scores_and_enforces_fail_under() {
    let dir = shared().join("corpus");
    let ok = slaclaim([
        "eval".as_ref(),
        dir.as_os_str(),
        "--fail-under".as_ref(),
        "0.95".as_ref(),
    ]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for field in [
        "incident_ids",
        "tenant_ids",
        "ticket_refs",
        "downtime",
        "locations",
        "kind",
        "language",
        "overall:",
    ] {
        assert!(stdout.contains(field), "missing {field} in:\n{stdout}");
    }
    let impossible = slaclaim([
        "eval".as_ref(),
        dir.as_os_str(),
        "--fail-under".as_ref(),
        "1.01".as_ref(),
    ]);
    assert!(!impossible.status.success());
}

#[test]
fn a_batch_is_read_as_each_of_its_messages_alone() {
    // Claim mail, broken MIME and our examples, read together stage by stage in
    // batches of several sizes, must give each message's extraction read alone.
    let x = Extractor::new(&ExtractConfig::default()).unwrap();
    let mut raws = Vec::new();
    for dir in [
        shared().join("corpus"),
        shared().join("corpus-b"),
        shared().join("mime-torture"),
        repo().join("examples/mailbox/new"),
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        raws.extend(paths.iter().map(|p| std::fs::read(p).unwrap()));
    }
    assert!(raws.len() > 200, "{}", raws.len());
    let json = |e: &slaclaim::extract::Extraction| serde_json::to_string(e).unwrap();
    let alone: Vec<String> = raws.iter().map(|r| json(&x.extract(r))).collect();
    let raws: Vec<&[u8]> = raws.iter().map(Vec::as_slice).collect();
    for size in [1, 7, 32, raws.len()] {
        let together: Vec<String> = raws
            .chunks(size)
            .flat_map(|b| x.extract_all(b))
            .map(|e| json(&e))
            .collect();
        assert_eq!(together.len(), alone.len());
        for (i, (t, a)) in together.iter().zip(&alone).enumerate() {
            assert_eq!(t, a, "message {i} in batches of {size}");
        }
    }
}

#[test]
fn read_together_refuses_the_oversized_and_reads_the_rest_as_alone() {
    use slaclaim::ledger::ingest::{Reading, read, read_together};
    let x = Extractor::new(&ExtractConfig::default()).unwrap();
    let small = std::fs::read(shared().join("corpus/msg_0003.eml")).unwrap();
    let other = std::fs::read(shared().join("corpus/msg_0006.eml")).unwrap();
    let large = [small.clone(), vec![b'x'; 4096]].concat();
    let max = small.len().max(other.len());
    let raws: Vec<&[u8]> = vec![&small, &large, &other];
    let together = read_together(&x, max, &raws).unwrap();
    assert_eq!(together.len(), 3);
    let show = |r: &Reading| match r {
        Reading::Read(read) => serde_json::to_string(&read.1).unwrap(),
        Reading::Failed(why) => format!("failed: {why}"),
        Reading::Refused(why) => format!("refused: {why}"),
    };
    for (raw, got) in raws.iter().zip(&together) {
        assert_eq!(show(got), show(&read(&x, max, raw)));
    }
    assert!(
        show(&together[1]).starts_with("refused: message is"),
        "{}",
        show(&together[1])
    );
    assert!(matches!(together[0], Reading::Read(_)) && matches!(together[2], Reading::Read(_)));
}
