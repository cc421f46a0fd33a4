//! Scoring extraction against truth files (`msg.eml` beside `msg.json`).

use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::extract::{Extraction, Extractor};

/// The expected extraction, as in `shared/corpus/*.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Truth {
    /// Expected kind.
    pub kind: String,
    /// Expected incident IDs.
    pub incident_ids: Vec<String>,
    /// Expected tenant GUIDs.
    pub tenant_ids: Vec<String>,
    /// Expected ticket references.
    pub ticket_refs: Vec<String>,
    /// Expected outage windows.
    pub downtime: Vec<TruthWindow>,
    /// Expected affected users.
    pub affected_users: Option<u64>,
    /// Expected locations.
    pub locations: Vec<String>,
    /// Expected CSP answer.
    pub purchased_via_csp: Option<bool>,
    /// Expected credit intent.
    pub credit_requested: bool,
    /// Expected advisory flag.
    pub advisory: bool,
    /// Expected language.
    pub language: String,
}

/// One expected outage window.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct TruthWindow {
    /// UTC start, `YYYY-MM-DDTHH:MM:SSZ`.
    pub start: Option<String>,
    /// UTC end.
    pub end: Option<String>,
    /// Its length in minutes (the only part a duration alone gives).
    pub minutes: i64,
}

/// Counts for one list field.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetScore {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    pub fn_: usize,
}

impl SetScore {
    /// Precision; 1.0 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// Recall; 1.0 when nothing was expected.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// The list fields scored with precision/recall, in report order.
pub const SET_FIELDS: [&str; 5] = [
    "incident_ids",
    "tenant_ids",
    "ticket_refs",
    "downtime",
    "locations",
];
/// The scalar fields scored by accuracy, in report order.
pub const SCALAR_FIELDS: [&str; 6] = [
    "kind",
    "affected_users",
    "purchased_via_csp",
    "credit_requested",
    "advisory",
    "language",
];

/// The result of an evaluation run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Messages scored.
    pub messages: usize,
    /// Per list field counts.
    pub sets: [SetScore; 5],
    /// Per scalar field: correct count.
    pub correct: [usize; 6],
    /// One line per wrong field: "file: field expected X, got Y".
    pub mistakes: Vec<String>,
    /// Per confidence band ([`BANDS`]): fields given a confidence there, the sum of
    /// those confidences, and how many were right.
    pub bands: [Band; BANDS.len()],
}

/// Lower bounds of the confidence bands calibration is reported in.
pub const BANDS: [f64; 5] = [0.0, 0.5, 0.7, 0.85, 0.95];

/// The fields of one confidence band.
#[derive(Debug, Clone, Copy, Default)]
pub struct Band {
    /// Fields with a confidence in the band.
    pub fields: usize,
    /// The sum of their confidences.
    pub confidence: f64,
    /// How many were right.
    pub right: usize,
}

impl Band {
    /// Mean confidence: the accuracy the extractor expects.
    pub fn expected(&self) -> f64 {
        if self.fields == 0 {
            0.0
        } else {
            self.confidence / self.fields as f64
        }
    }
    /// The accuracy observed.
    pub fn observed(&self) -> f64 {
        ratio(self.right, self.fields)
    }
}

impl Report {
    /// Mean of the list-field F1 scores and the scalar accuracies.
    pub fn overall(&self) -> f64 {
        let f1: f64 = self.sets.iter().map(SetScore::f1).sum();
        let acc: f64 = self.correct.iter().map(|c| ratio(*c, self.messages)).sum();
        (f1 + acc) / (self.sets.len() + self.correct.len()) as f64
    }

    /// A field's score by name: F1 for a list field, accuracy for the others.
    pub fn score(&self, field: &str) -> Option<f64> {
        self.f1(field).or_else(|| {
            SCALAR_FIELDS
                .iter()
                .position(|f| *f == field)
                .map(|i| ratio(self.correct[i], self.messages))
        })
    }

    /// F1 of one list field by name.
    pub fn f1(&self, field: &str) -> Option<f64> {
        SET_FIELDS
            .iter()
            .position(|f| *f == field)
            .map(|i| self.sets[i].f1())
    }

    /// The printed table.
    pub fn render(&self, verbose: bool) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{} messages", self.messages);
        let _ = writeln!(
            s,
            "{:<20} {:>9} {:>9} {:>9}",
            "field", "precision", "recall", "f1"
        );
        for (name, score) in SET_FIELDS.iter().zip(&self.sets) {
            let _ = writeln!(
                s,
                "{:<20} {:>9.3} {:>9.3} {:>9.3}",
                name,
                score.precision(),
                score.recall(),
                score.f1()
            );
        }
        let _ = writeln!(s, "{:<20} {:>9}", "field", "accuracy");
        for (name, correct) in SCALAR_FIELDS.iter().zip(&self.correct) {
            let _ = writeln!(s, "{:<20} {:>9.3}", name, ratio(*correct, self.messages));
        }
        let _ = writeln!(s, "overall: {:.3}", self.overall());
        let _ = writeln!(
            s,
            "calibration: {:<11} {:>6} {:>9} {:>9}",
            "confidence", "fields", "expected", "observed"
        );
        for (i, band) in self.bands.iter().enumerate() {
            let upper = BANDS.get(i + 1).copied().unwrap_or(1.0);
            let _ = writeln!(
                s,
                "             {:.2}-{:.2}   {:>6} {:>9.3} {:>9.3}",
                BANDS[i],
                upper,
                band.fields,
                band.expected(),
                band.observed()
            );
        }
        if verbose {
            for m in &self.mistakes {
                let _ = writeln!(s, "  {m}");
            }
        }
        s
    }
}

/// Errors of an evaluation run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The directory or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The directory or file, as given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A truth file is not valid.
    #[error("cannot parse truth file {path}: {source}")]
    Truth {
        /// The truth file.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// No .eml file with a .json beside it.
    #[error("no .eml files with .json truth beside them in {0}")]
    Empty(String),
}

/// Scores every `.eml` in `dir` that has a `.json` truth file of the same name beside it,
/// or in `truth_dir` when given (a Maildir holds only mail).
pub fn run(
    dir: &Path,
    truth_dir: Option<&Path>,
    extractor: &Extractor,
) -> Result<Report, EvalError> {
    let truth_of = |eml: &Path| -> PathBuf {
        match (truth_dir, eml.file_name()) {
            (Some(t), Some(name)) => t.join(name).with_extension("json"),
            _ => eml.with_extension("json"),
        }
    };
    let read_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| EvalError::Read { path, source }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml") && truth_of(p).exists())
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(EvalError::Empty(dir.display().to_string()));
    }
    let mut report = Report::default();
    for eml in files {
        let raw = std::fs::read(&eml).map_err(read_err(&eml))?;
        let truth_path = truth_of(&eml);
        let truth_text = std::fs::read_to_string(&truth_path).map_err(read_err(&truth_path))?;
        let truth: Truth =
            serde_json::from_str(&truth_text).map_err(|source| EvalError::Truth {
                path: truth_path.display().to_string(),
                source,
            })?;
        let got = extractor.extract(&raw);
        let name = eml
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        score(&mut report, &name, &truth, &got);
    }
    Ok(report)
}

fn score(report: &mut Report, name: &str, truth: &Truth, got: &Extraction) {
    report.messages += 1;
    let windows = |w: &[crate::extract::Window]| -> Vec<String> {
        w.iter()
            .map(|w| {
                let f = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or("null".into(), crate::stamp)
                };
                format!("{}/{}/{}", f(w.start), f(w.end), w.minutes)
            })
            .collect()
    };
    let truth_windows: Vec<String> = truth
        .downtime
        .iter()
        .map(|w| {
            format!(
                "{}/{}/{}",
                w.start.as_deref().unwrap_or("null"),
                w.end.as_deref().unwrap_or("null"),
                w.minutes
            )
        })
        .collect();
    let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
    let pairs: [(Vec<String>, Vec<String>); 5] = [
        (truth.incident_ids.clone(), got.incident_ids.clone()),
        (lower(&truth.tenant_ids), lower(&got.tenant_ids)),
        (truth.ticket_refs.clone(), got.ticket_refs.clone()),
        (truth_windows, windows(&got.downtime)),
        (lower(&truth.locations), lower(&got.locations)),
    ];
    for (i, (want, have)) in pairs.iter().enumerate() {
        let want: BTreeSet<&String> = want.iter().collect();
        let have: BTreeSet<&String> = have.iter().collect();
        let tp = want.intersection(&have).count();
        let s = &mut report.sets[i];
        s.tp += tp;
        s.fp += have.len() - tp;
        s.fn_ += want.len() - tp;
        calibrate(report, got, SET_FIELDS[i], want == have);
        if want != have {
            report.mistakes.push(format!(
                "{name}: {} expected {want:?}, got {have:?}",
                SET_FIELDS[i]
            ));
        }
    }
    let scalars = [
        (truth.kind.clone(), got.kind.as_str().to_string()),
        (
            format!("{:?}", truth.affected_users),
            format!("{:?}", got.affected_users),
        ),
        (
            format!("{:?}", truth.purchased_via_csp),
            format!("{:?}", got.purchased_via_csp),
        ),
        (
            truth.credit_requested.to_string(),
            got.credit_requested.to_string(),
        ),
        (truth.advisory.to_string(), got.advisory.to_string()),
        (truth.language.clone(), got.language.to_string()),
    ];
    for (i, (want, have)) in scalars.iter().enumerate() {
        calibrate(report, got, SCALAR_FIELDS[i], want == have);
        if want == have {
            report.correct[i] += 1;
        } else {
            report.mistakes.push(format!(
                "{name}: {} expected {want}, got {have}",
                SCALAR_FIELDS[i]
            ));
        }
    }
}

/// Counts a field the extractor gave a confidence in its band.
fn calibrate(report: &mut Report, got: &Extraction, field: &str, right: bool) {
    let Some(&c) = got.confidence.get(field) else {
        return;
    };
    let band = BANDS.iter().rposition(|lo| c >= *lo).unwrap_or(0);
    let b = &mut report.bands[band];
    b.fields += 1;
    b.confidence += c;
    b.right += usize::from(right);
}
