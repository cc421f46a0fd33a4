//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared/ directory beside the checkout (or $SLACLAIM_SHARED); a missing one fails loudly.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("SLACLAIM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("corpus").is_dir(),
        "{} has no corpus/: put shared/ beside the checkout or set SLACLAIM_SHARED",
        dir.display()
    );
    dir
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the slaclaim binary with `args`.
pub fn slaclaim<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    match Command::new(env!("CARGO_BIN_EXE_slaclaim"))
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run slaclaim: {e}"),
    }
}

/// Runs the slaclaim binary with `args` and returns what it printed; a failure fails
/// the test with what it said.
pub fn slaclaim_ok<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let out = slaclaim(&args);
    assert!(
        out.status.success(),
        "slaclaim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Files in `dir` with extension `ext`, sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

/// A fresh temporary directory under the target dir, removed first if it exists.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// The extractor with the default configuration.
pub fn extractor() -> slaclaim::extract::Extractor {
    slaclaim::extract::Extractor::new(&slaclaim::extract::ExtractConfig::default()).unwrap()
}

/// An ingester with the default deadline policy and a size limit.
pub fn ingester(
    x: &slaclaim::extract::Extractor,
    max_bytes: usize,
) -> slaclaim::ledger::ingest::Ingester<'_> {
    slaclaim::ledger::ingest::Ingester {
        extractor: x,
        policy: slaclaim::ledger::deadline::Policy::default(),
        max_bytes,
        rules: Default::default(),
        limits: Default::default(),
    }
}

/// The store under `dir/state`.
pub fn store(dir: &Path) -> slaclaim::store::Store {
    slaclaim::store::Store::open(&dir.join("state")).unwrap()
}
