//! The layout of `src/` (#19): each top-level module imports only the modules below it,
//! so data flows one way (mail in → mail → extract → ledger → mail out) with store and
//! net at the sides, and there is no cycle.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module of `src/` and what it may import. Every pair of modules is in
/// order (a module may import only later ones), so no cycle can pass the test.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "cli",
        &[
            "app", "inbound", "outbound", "ledger", "extract", "mail", "store", "net",
        ],
    ),
    (
        "app",
        &[
            "inbound", "outbound", "ledger", "extract", "mail", "store", "net",
        ],
    ),
    ("inbound", &["ledger", "extract", "mail", "store", "net"]),
    ("outbound", &["ledger", "extract", "mail", "store", "net"]),
    ("ledger", &["extract", "mail", "store"]),
    ("extract", &["mail"]),
    ("mail", &[]),
    // The PostgreSQL store connects with the same TLS settings as IMAP and SMTP.
    ("store", &["net"]),
    ("net", &[]),
];

/// The top-level modules each module's code names (`crate::x`, `use crate::{x, …}`),
/// comments left out.
fn imports(src: &Path) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut files = Vec::new();
        collect(&path, &mut files);
        let found = out.entry(name).or_default();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                let mut rest = line;
                while let Some(at) = rest.find("crate::") {
                    rest = &rest[at + "crate::".len()..];
                    let names: Vec<&str> = match rest.strip_prefix('{') {
                        Some(group) => group
                            .split('}')
                            .next()
                            .unwrap_or_default()
                            .split(',')
                            .map(|n| n.trim().split("::").next().unwrap_or_default())
                            .collect(),
                        None => vec![
                            rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                                .next()
                                .unwrap_or_default(),
                        ],
                    };
                    for n in names {
                        found.push((n.to_string(), file.display().to_string()));
                    }
                }
            }
        }
    }
    out
}

fn collect(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            collect(&entry.unwrap().path(), files);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        files.push(path.to_path_buf());
    }
}

#[test]
fn modules_import_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let found = imports(&src);
    for module in found.keys() {
        assert!(
            layers.contains_key(module.as_str()),
            "src/{module} is in no layer: add it to LAYERS where it belongs"
        );
    }
    let mut wrong = Vec::new();
    for (module, names) in &found {
        for (name, file) in names {
            let is_module = layers.contains_key(name.as_str());
            if is_module && name != module && !layers[module.as_str()].contains(&name.as_str()) {
                wrong.push(format!("{file}: {module} imports {name}"));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the layout:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layers_are_in_order() {
    // A module may import only modules listed after it: then no cycle is possible.
    for (i, (module, allowed)) in LAYERS.iter().enumerate() {
        for a in *allowed {
            let at = LAYERS.iter().position(|(m, _)| m == a);
            assert!(
                at.is_some_and(|at| at > i),
                "{module} may import {a}, which is not below it"
            );
        }
    }
}
