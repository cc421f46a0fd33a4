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
