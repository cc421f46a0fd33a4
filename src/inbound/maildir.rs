//! A local Maildir as a source: every file in `new/` is ingested, then moved to `cur/`
//! with the Seen flag, as Maildir readers do.
//!
//! Exactly once: the store key is the file's unique name (before any `:2,` info), so a
//! crash between ingesting and moving re-finds the file in `new/`, the store reports it
//! as a duplicate, and it is moved without a second effect.

use std::path::{Path, PathBuf};

use super::SourceHealth;
use crate::ledger::ingest::{IngestError, Ingester, Origin, Outcome};
use crate::store::Store;

/// Errors of a Maildir source.
#[derive(Debug, thiserror::Error)]
pub enum MaildirError {
    /// A Maildir directory could not be created or listed.
    #[error("cannot use Maildir {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Storing failed; the file stays in `new/` and is retried at the next scan.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// One Maildir (the directory holding `new/`, `cur/` and `tmp/`).
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
    read_only: bool,
}

/// One `[[maildir]]` table: a local Maildir to watch.
#[derive(Debug, Clone, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MaildirConfig {
    /// The directory holding new/, cur/ and tmp/.
    pub path: PathBuf,
    /// Leave files in new/ (progress is kept in the store by file name), for a mailbox
    /// slaclaim must not change, such as the demo's sample mails in the repository.
    #[serde(default)]
    pub read_only: bool,
    /// Seconds between rescans, the safety net for missed inotify events.
    #[serde(default = "default_rescan")]
    pub rescan_secs: u64,
}

fn default_rescan() -> u64 {
    60
}

/// What one scan did with one file.
#[derive(Debug)]
pub struct Processed {
    /// Where the file was in `new/`.
    pub file: PathBuf,
    /// What became of the message; an error string when the file could not be read
    /// or moved (it stays in `new/` and is retried).
    pub outcome: Result<Outcome, String>,
}

impl Maildir {
    /// Opens a Maildir, creating `new/`, `cur/` and `tmp/` if they are missing.
    pub fn open(root: &Path) -> Result<Maildir, MaildirError> {
        for sub in ["new", "cur", "tmp"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(|source| MaildirError::Dir {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(Maildir {
            root: root.to_path_buf(),
            read_only: false,
        })
    }

    /// Leaves files in `new/`: stored ones are recognised by name and skipped.
    pub fn read_only(mut self, read_only: bool) -> Maildir {
        self.read_only = read_only;
        self
    }

    /// The Maildir's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Files waiting in `new/`, oldest name first (Maildir names start with the time).
    pub fn pending(&self) -> Result<Vec<PathBuf>, MaildirError> {
        let dir = self.root.join("new");
        let entries = std::fs::read_dir(&dir).map_err(|source| MaildirError::Dir {
            path: dir.clone(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// The store key of a Maildir file: its unique name without the `:2,` info part.
    pub fn key(&self, file: &Path) -> String {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let unique = name.split(':').next().unwrap_or_default();
        format!("maildir:{}/{unique}", self.root.display())
    }

    /// Moves a file from `new/` to `cur/`, adding the Seen flag.
    pub fn mark_seen(&self, file: &Path) -> std::io::Result<PathBuf> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (unique, flags) = match name.split_once(":2,") {
            Some((u, f)) => (u.to_string(), f.to_string()),
            None => (name.clone(), String::new()),
        };
        let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
        // Maildir flags are kept sorted and unique.
        flags.sort_unstable();
        flags.dedup();
        let target = self.root.join("cur").join(format!(
            "{unique}:2,{}",
            flags.into_iter().collect::<String>()
        ));
        std::fs::rename(file, &target)?;
        Ok(target)
    }

    /// Ingests every file in `new/` and moves each stored one to `cur/`. Each is read on
    /// a blocking thread within the ingester's limits ([`Ingester::ingest_guarded`]): a
    /// message that is too slow to read, or that killed the process while it was read, is
    /// quarantined and moved like any other.
    pub async fn scan(
        &self,
        store: &mut Store,
        ingester: &Ingester<'_>,
    ) -> Result<Vec<Processed>, MaildirError> {
        let mut done = Vec::new();
        for (file, key) in self.waiting(store)? {
            let raw = match std::fs::read(&file) {
                Ok(raw) => std::sync::Arc::new(raw),
                Err(e) => {
                    done.push(unreadable(file, &e));
                    continue;
                }
            };
            let origin = Origin {
                source: "maildir",
                key: Some(&key),
            };
            let outcome = ingester.ingest_guarded(store, &raw, origin, None).await?;
            done.push(self.finish(file, outcome));
        }
        Ok(done)
    }

    /// The files in `new/` to ingest, with their store keys (in a read-only Maildir,
    /// those not stored yet).
    fn waiting(&self, store: &Store) -> Result<Vec<(PathBuf, String)>, MaildirError> {
        let mut out = Vec::new();
        for file in self.pending()? {
            let key = self.key(&file);
            if self.read_only && store.has_source_key(&key).map_err(IngestError::from)? {
                continue;
            }
            out.push((file, key));
        }
        Ok(out)
    }

    /// After a stored message: moved to `cur/` (unless read-only).
    fn finish(&self, file: PathBuf, outcome: Outcome) -> Processed {
        let outcome = if self.read_only {
            Ok(outcome)
        } else {
            match self.mark_seen(&file) {
                Ok(_) => Ok(outcome),
                Err(e) => Err(format!("stored, but cannot move to cur/: {e}")),
            }
        };
        Processed { file, outcome }
    }
}

/// A file that could not be read: gone (another reader moved it) or unreadable. Not
/// ours to lose; retried at the next scan.
fn unreadable(file: PathBuf, e: &std::io::Error) -> Processed {
    Processed {
        file,
        outcome: Err(format!("cannot read: {e}")),
    }
}

/// Whether an inotify event in `new/` can mean a new message: a file created there or
/// moved in (delivery writes to tmp/ and renames). Opens, reads, our own moves out and
/// removals are not: counting them made every scan wake the next one.
fn announces_mail(event: &notify::Event) -> bool {
    use notify::EventKind;
    use notify::event::{ModifyKind, RenameMode};
    matches!(
        event.kind,
        EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(
                RenameMode::To | RenameMode::Both | RenameMode::Any
            ))
            | EventKind::Any
    )
}

/// Longest wait between tries while scans keep failing.
pub const MAX_ERROR_BACKOFF: std::time::Duration = std::time::Duration::from_secs(60);

impl Maildir {
    /// Scans now, then again whenever a file lands in `new/` (inotify) and every
    /// `rescan` as a safety net for missed events, until `shutdown` is cancelled.
    /// Returns how many files were processed. Scan errors are logged and retried.
    pub async fn watch(
        &self,
        store: &mut Store,
        ingester: &Ingester<'_>,
        rescan: std::time::Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> usize {
        let watch = Watch {
            rescan,
            changed: &tokio::sync::Notify::new(),
            health: &SourceHealth::default(),
        };
        self.watch_with(store, ingester, watch, shutdown).await
    }

    /// Like [`Maildir::watch`]: reads within the ingester's limits, wakes `watch.changed` after
    /// each scan that stored something (so drafts follow new mail at once) and reports
    /// to `watch.health`. A failing scan is retried after a delay that doubles up to
    /// [`MAX_ERROR_BACKOFF`] (a full disk must not make a busy loop).
    pub async fn watch_with(
        &self,
        store: &mut Store,
        ingester: &Ingester<'_>,
        watch: Watch<'_>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> usize {
        use notify::Watcher;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| announces_mail(&e)) {
                let _ = tx.send(());
            }
        });
        // Without inotify (exhausted watches, odd filesystems) the rescan still works.
        let _watcher = match watcher {
            Ok(mut w) => match w.watch(&self.root.join("new"), notify::RecursiveMode::NonRecursive)
            {
                Ok(()) => Some(w),
                Err(e) => {
                    tracing::warn!(maildir = %self.root.display(), error = %e, "cannot watch new/; rescanning only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(maildir = %self.root.display(), error = %e, "no file watcher; rescanning only");
                None
            }
        };
        let mut processed = 0;
        let mut backoff = std::time::Duration::ZERO;
        loop {
            match self.scan(store, ingester).await {
                Ok(done) => {
                    watch.health.succeeded();
                    backoff = std::time::Duration::ZERO;
                    for d in &done {
                        match &d.outcome {
                            Ok(outcome) => {
                                tracing::info!(file = %d.file.display(), %outcome, "ingested")
                            }
                            Err(e) => {
                                tracing::warn!(file = %d.file.display(), error = %e, "not ingested; retrying later")
                            }
                        }
                    }
                    let stored = done.iter().filter(|d| d.outcome.is_ok()).count();
                    if stored > 0 {
                        watch.changed.notify_one();
                    }
                    processed += stored;
                }
                Err(e) => {
                    watch.health.failed(&e.to_string());
                    backoff = (backoff * 2)
                        .max(std::time::Duration::from_secs(1))
                        .min(MAX_ERROR_BACKOFF);
                    tracing::error!(maildir = %self.root.display(), error = %e, retry_secs = backoff.as_secs(), "scan failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return processed,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    continue;
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return processed,
                _ = rx.recv() => {
                    // A delivery is a burst of events (tmp/ write, rename): let it settle.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    while rx.try_recv().is_ok() {}
                }
                _ = tokio::time::sleep(watch.rescan) => {}
            }
        }
    }
}

/// How [`Maildir::watch_with`] runs.
#[derive(Debug, Clone, Copy)]
pub struct Watch<'a> {
    /// Time between rescans, the safety net for missed events.
    pub rescan: std::time::Duration,
    /// Woken after a scan that stored something.
    pub changed: &'a tokio::sync::Notify,
    /// Where failures are counted.
    pub health: &'a SourceHealth,
}
