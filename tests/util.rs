//! Helpers shared by the integration tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use slaclaim::store::{Location, Store, StoreError};

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
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slaclaim"));
    // The ledger of the state directory named, on this run's backend.
    if let Some(at) = args.iter().position(|a| a == "--state-dir") {
        if let Some(state) = args.get(at + 1) {
            ledger_env(&mut cmd, Path::new(state));
        }
    }
    match cmd.args(&args).output() {
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

/// The ledger of `dir/state`, on this run's backend.
pub fn store(dir: &Path) -> Store {
    open_store(&dir.join("state")).unwrap()
}

/// Whether this run keeps every ledger in PostgreSQL (`SLACLAIM_TEST_STORE=postgres`,
/// the suite's second pass in scripts/test) rather than in SQLite files.
pub fn on_postgres() -> bool {
    std::env::var("SLACLAIM_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// The ledger URL for a state directory on this run's backend: None on SQLite; on
/// PostgreSQL a database of its own, on a server started for this test process.
pub fn store_url(state: &Path) -> Option<String> {
    static SERVER: OnceLock<crate::pg_server::Postgres> = OnceLock::new();
    static MADE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if !on_postgres() {
        return None;
    }
    let server = SERVER.get_or_init(crate::pg_server::Postgres::start_for_suite);
    let state = std::path::absolute(state).unwrap();
    let name = format!("t_{:016x}", {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        state.hash(&mut h);
        h.finish()
    });
    // One at a time: CREATE DATABASE copies template1, which must be otherwise idle.
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if made.insert(name.clone()) {
        server.sql(&format!("CREATE DATABASE {name}"));
    }
    Some(format!(
        "postgres://slaclaim@127.0.0.1:{}/{name}",
        server.port
    ))
}

/// Where the ledger of a state directory is on this run's backend.
pub fn ledger(state: &Path) -> Location {
    match store_url(state) {
        None => Location::Sqlite(state.to_path_buf()),
        Some(url) => Location::postgres(
            slaclaim::store::postgres::Target::parse(&url).unwrap(),
            None,
        ),
    }
}

/// Opens the ledger of a state directory on this run's backend.
pub fn open_store(state: &Path) -> Result<Store, StoreError> {
    ledger(state).open()
}

/// Points a command's ledger for `state` at this run's backend (the binary reads
/// `SLACLAIM_STORE_URL` as `--store-url`).
pub fn ledger_env<'c>(cmd: &'c mut Command, state: &Path) -> &'c mut Command {
    if let Some(url) = store_url(state) {
        cmd.env("SLACLAIM_STORE_URL", url);
    }
    cmd
}

/// A new, empty ledger on this run's backend: in memory on SQLite, a database of its
/// own (under a temp dir called `name`) on PostgreSQL.
pub fn fresh_store(name: &str) -> Result<Store, StoreError> {
    if on_postgres() {
        open_store(&temp_dir(name).join("state"))
    } else {
        Store::open_in_memory()
    }
}

/// The slaclaim binary, its ledger for `state` on this run's backend.
pub fn command(state: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slaclaim"));
    ledger_env(&mut cmd, state);
    cmd
}
