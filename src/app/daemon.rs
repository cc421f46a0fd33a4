//! `slaclaim run`: the sources, the ingest pipeline, the scheduler and the outbox on one
//! tokio runtime, owned by a TaskTracker and stopped through a CancellationToken that the
//! caller passes in (signals in the binary, a plain cancel in tests). Processing and
//! planning, whose store calls wait for the ledger, each run on a thread of their own.
//!
//! Each task opens its own store connection: SQLite in WAL mode lets the sources write
//! while the scheduler reads and writes, and a crash anywhere leaves only committed work.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::config::{Config, ConfigError};
use crate::app::metrics::{HealthLimits, Live};
use crate::extract::Extractor;
use crate::inbound::SourceHealth;
use crate::inbound::imap::{self, WatchCounters};
use crate::inbound::maildir::Maildir;
use crate::outbound::draft::Templates;
use crate::outbound::outbox::{self, Transport, TransportKind};
use crate::outbound::planner::Planned;
use crate::store::Location;

/// The `[daemon]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DaemonConfig {
    /// Seconds between scheduler passes when no new mail wakes it (reminders, digest,
    /// retries, expiry).
    #[serde(default = "default_tick")]
    pub tick_secs: u64,
    /// Loopback address for /metrics and /healthz, e.g. "127.0.0.1:9187". Off when unset.
    pub metrics_listen: Option<String>,
    /// /healthz fails when a mailbox has not been reached for this many seconds.
    #[serde(default = "default_silence")]
    pub health_max_silence_secs: u64,
    /// Log level when RUST_LOG is not set: error, warn, info, debug, trace.
    #[serde(default = "default_level")]
    pub log_level: String,
    /// Seconds a graceful stop may take before the process exits anyway.
    #[serde(default = "default_grace")]
    pub shutdown_grace_secs: u64,
    /// Milliseconds reading (extracting) one message may take; a message over it is
    /// quarantined with that reason and the pipeline goes on.
    #[serde(default = "default_read_budget")]
    pub read_budget_ms: u64,
    /// A message whose reading began this many times without ending (the process
    /// crashed, was killed or ran out of memory on it) is quarantined at the next start
    /// instead of being read again.
    #[serde(default = "default_read_attempts")]
    pub max_read_attempts: u32,
    /// /healthz fails when a message has waited in custody longer than this many seconds.
    #[serde(default = "default_pending")]
    pub health_max_pending_secs: u64,
    /// /healthz fails when a source has failed this many times in a row.
    #[serde(default = "default_source_failures")]
    pub health_max_source_failures: u32,
    /// Seconds an instance holds a mailbox (and the mail it is sending) without renewing
    /// its lease: when it dies, another instance on the same ledger takes over within
    /// this time. Renewed every third of it.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            tick_secs: default_tick(),
            metrics_listen: None,
            health_max_silence_secs: default_silence(),
            log_level: default_level(),
            shutdown_grace_secs: default_grace(),
            read_budget_ms: default_read_budget(),
            max_read_attempts: default_read_attempts(),
            health_max_pending_secs: default_pending(),
            health_max_source_failures: default_source_failures(),
            lease_secs: default_lease(),
        }
    }
}

fn default_read_budget() -> u64 {
    5_000
}
fn default_read_attempts() -> u32 {
    2
}
fn default_pending() -> u64 {
    300
}
fn default_source_failures() -> u32 {
    5
}
fn default_lease() -> u64 {
    30
}

fn default_tick() -> u64 {
    30
}
fn default_silence() -> u64 {
    900
}
fn default_level() -> String {
    "info".into()
}
fn default_grace() -> u64 {
    10
}

impl DaemonConfig {
    /// When /healthz fails.
    pub fn health_limits(&self) -> HealthLimits {
        HealthLimits {
            max_silence_secs: self.health_max_silence_secs,
            max_source_failures: self.health_max_source_failures,
            max_pending_secs: self.health_max_pending_secs,
        }
    }

    /// How long a lease lasts unrenewed (at least 3 s, so a renewal every third fits).
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(3))
    }

    /// The limits on reading one message.
    pub fn read_limits(&self) -> crate::ledger::ingest::ReadLimits {
        crate::ledger::ingest::ReadLimits {
            budget: Duration::from_millis(self.read_budget_ms.max(1)),
            max_attempts: i64::from(self.max_read_attempts.max(1)),
        }
    }

    /// The metrics address, which must be loopback.
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, String> {
        let Some(text) = &self.metrics_listen else {
            return Ok(None);
        };
        let addr: SocketAddr = text
            .parse()
            .map_err(|e| format!("daemon.metrics-listen {text:?}: {e}"))?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "daemon.metrics-listen {text:?}: only a loopback address is allowed (metrics are unauthenticated)"
            ));
        }
        Ok(Some(addr))
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where the store lives.
    pub state_dir: PathBuf,
    /// Write outgoing mail to the file outbox instead of sending it.
    pub dry_run: bool,
    /// The config file, read again on each `reload` notification.
    pub config_path: Option<PathBuf>,
    /// Notified on SIGHUP: re-read the config and apply what is safe to apply.
    pub reload: Arc<Notify>,
}

/// Config sections a running daemon takes on when the config is reloaded: what the
/// scheduler reads while it plans mail. The rest is bound at start: mailbox sessions,
/// the store, the outbox transport, extraction and the deadline rules that ingest uses.
pub const RELOADABLE: &[&str] = &["drafts", "reminders", "customer"];

/// What a reload found: the config to run with now, and the changed sections that only
/// a restart applies.
#[derive(Debug)]
pub struct Reloaded {
    /// The running config with the reloadable sections of the new file.
    pub config: Config,
    /// The same as TOML: what the next reload compares against (sections that need a
    /// restart keep their running values, so they are named again until restarted).
    pub table: toml::Table,
    /// Reloadable sections that changed.
    pub applied: Vec<String>,
    /// Changed sections that need a restart.
    pub restart_for: Vec<String>,
}

/// Reads `path` again for a daemon running `running` (described by `running_table`).
/// Errs with every problem when the new file is not usable.
pub fn reread(
    path: &Path,
    running: &Config,
    running_table: &toml::Table,
) -> Result<Reloaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let new = Config::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
    let secrets = new.unreadable_secrets();
    if !secrets.is_empty() {
        return Err(secrets.join("; "));
    }
    // Config::parse read it, so it is a table.
    let origin = path.display().to_string();
    let fresh = text
        .parse::<toml::Table>()
        .map_err(|e| ConfigError::parse(&origin, &text, &e).to_string())?;
    let mut keys: Vec<&String> = running_table.keys().chain(fresh.keys()).collect();
    keys.sort();
    keys.dedup();
    let (applied, restart_for): (Vec<String>, Vec<String>) = keys
        .into_iter()
        .filter(|k| running_table.get(*k) != fresh.get(*k))
        .map(|k| k.to_string())
        .partition(|k| RELOADABLE.contains(&k.as_str()));
    let mut table = running_table.clone();
    for key in RELOADABLE {
        match fresh.get(*key) {
            Some(v) => table.insert(key.to_string(), v.clone()),
            None => table.remove(*key),
        };
    }
    let mut config = running.clone();
    config.drafts = new.drafts;
    config.reminders = new.reminders;
    config.customer = new.customer;
    Ok(Reloaded {
        config,
        table,
        applied,
        restart_for,
    })
}

/// Threads the processing stage reads messages on: one batch at a time, and a new one
/// only after a reading over its budget was given up on (that one ends by itself,
/// every reading stage being bounded).
const READING_THREADS: usize = 4;

/// The most messages the processing stage reads and stores together: enough that a
/// backlog costs PostgreSQL a few round trips a message fewer, few enough that the
/// scheduler and the mail sources wait little for the ledger's write lock.
const PROCESS_BATCH: usize = 32;

/// The processing stage: takes messages out of custody (the inbox the IMAP sources fill
/// at fetch speed), oldest first and in batches ([`Ingester::process_batch`]), reads
/// each on a blocking thread under the read budget, links them in the transaction that
/// ends their custody, and wakes the scheduler. Runs at start (a crash can leave
/// messages in custody) and whenever a source hands over; a store failure is logged,
/// shown in health and retried, never given up on.
async fn process(
    config: &Config,
    state: &Location,
    shutdown: CancellationToken,
    handoff: &Notify,
    changed: &Notify,
    live: &Live,
) -> anyhow::Result<()> {
    let extractor = Extractor::new(&config.extract)?;
    let ingester = config.ingester(&extractor)?;
    let mut store = state.open()?;
    let mut retry = Duration::from_secs(1);
    loop {
        while !shutdown.is_cancelled() {
            match ingester.process_batch(&mut store, PROCESS_BATCH).await {
                Ok(done) if done.is_empty() => {
                    live.store_ok("processing");
                    break;
                }
                Ok(done) => {
                    live.store_ok("processing");
                    for (key, outcome) in done {
                        tracing::info!(source_key = %key, %outcome, "processed");
                    }
                    changed.notify_one();
                    retry = Duration::from_secs(1);
                }
                Err(e) => {
                    live.store_failed("processing", &e.to_string());
                    tracing::error!(error = %e, retry_secs = retry.as_secs(), "processing failed; messages stay in custody");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(retry) => {}
                    }
                    retry = (retry * 2).min(Duration::from_secs(300));
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = handoff.notified() => {}
        }
    }
}

/// How long no pattern may be used before the reading patterns are let go (see
/// `pattern`): long enough to keep them through a burst of mail, short enough that a
/// quiet daemon is small. Release comes one to two periods after the last use.
const RELEASE_PATTERNS_AFTER: Duration = Duration::from_secs(2);

/// Runs until `shutdown` is cancelled; `ready` is called once every task is started.
pub async fn run(
    config: Config,
    options: RunOptions,
    shutdown: CancellationToken,
    ready: impl FnOnce(&str),
) -> anyhow::Result<()> {
    let mut config = config;
    if options.dry_run && config.outbox.transport != TransportKind::File {
        tracing::warn!(dir = %config.outbox.dir.display(), "dry run: outgoing mail goes to the file outbox, nothing is sent");
        config.outbox.transport = TransportKind::File;
    }
    for warning in config.warnings() {
        tracing::warn!(warning, "configuration");
    }
    for missing in config.unfinished() {
        tracing::warn!(missing, "configuration not finished");
    }
    // Migrate once before anyone else opens the store.
    let ledger = config
        .store
        .location(&options.state_dir)
        .map_err(anyhow::Error::msg)?;
    tracing::info!(ledger = %ledger.describe(), "opening the ledger");
    // This instance's lease, before anything is sent: the mail it takes is its own
    // while the heartbeat renews it.
    let lease = config.daemon.lease();
    let store = ledger.open()?;
    release_dead_on_this_host(&store);
    beat(&store, lease)?;
    drop(store);
    let tasks = Tasks::new(config, ledger, shutdown.clone());
    tasks.heartbeat(lease);
    tasks.maildirs();
    tasks.mailboxes();
    tasks.processing();
    tasks.graph();
    let configs = tasks.scheduler();
    if let Some(path) = options.config_path.clone() {
        tasks.reloads(path, options.reload.clone(), configs);
    }
    tasks.metrics().await?;
    tasks.pattern_release();
    tasks.watchdog();
    tasks.tracker.close();
    tasks.first_contact().await;
    ready(&tasks.summary());
    shutdown.cancelled().await;
    tracing::info!("stopping: finishing the message and the send in hand");
    let grace = Duration::from_secs(tasks.config.daemon.shutdown_grace_secs);
    if tokio::time::timeout(grace, tasks.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "tasks did not stop within the grace period"
        );
    }
    // A clean stop hands the sources and the unsent mail over at once.
    if let Err(e) = tasks
        .state
        .open()
        .and_then(|s| s.release_leases(crate::store::instance_id()))
    {
        tracing::warn!(error = %e, "cannot release this instance's leases; they run out by themselves");
    }
    Ok(())
}

/// Gives up the leases of earlier processes on this host that are gone (a crash, a
/// kill, a restart): what they held (mailboxes, mail being sent, messages in custody) is
/// this instance's at once instead of when their leases run out.
fn release_dead_on_this_host(store: &crate::store::Store) {
    let leases = match store.leases() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the leases");
            return;
        }
    };
    for l in leases.iter().filter(|l| l.name.starts_with("instance:")) {
        if crate::store::gone_on_this_host(&l.owner) {
            tracing::info!(instance = %l.owner, "an earlier process on this host is gone: its leases are released");
            if let Err(e) = store.release_leases(&l.owner) {
                tracing::warn!(error = %e, "cannot release a gone process's leases");
            }
        }
    }
}

/// (until, now) of a lease of `lease` taken now, as the leases table keeps times.
fn lease_window(lease: Duration) -> (String, String) {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    (crate::stamp_ms(until), crate::stamp_ms(now))
}

/// Renews this instance's own lease for `lease` from now.
fn beat(store: &crate::store::Store, lease: Duration) -> Result<(), crate::store::StoreError> {
    let (until, now) = lease_window(lease);
    store.heartbeat(crate::store::instance_id(), &until, &now)
}

/// A source's lease (`imap:<name>`, `maildir:<path>`): the source runs while this
/// instance holds it. While another instance holds it, [`LeaseGate::acquire`] waits
/// (asking every third of the lease); once taken, a task renews it every third of the
/// lease and cancels the token it handed out when a renewal fails or the daemon stops.
/// With one instance the lease is simply always held.
struct LeaseGate {
    state: Location,
    name: String,
    lease: Duration,
    shutdown: CancellationToken,
    live: Arc<Live>,
    store: Option<crate::store::Store>,
    standing_by: bool,
}

impl LeaseGate {
    fn new(
        state: Location,
        name: String,
        lease: Duration,
        shutdown: CancellationToken,
        live: Arc<Live>,
    ) -> LeaseGate {
        LeaseGate {
            state,
            name,
            lease,
            shutdown,
            live,
            store: None,
            standing_by: false,
        }
    }

    /// Waits until the lease is this instance's; None when the daemon stops first. The
    /// token it holds is cancelled when the lease is lost or the daemon stops.
    async fn acquire(&mut self) -> Option<Held> {
        let every = self.lease / 3;
        loop {
            if self.shutdown.is_cancelled() {
                return None;
            }
            let taken = match &self.store {
                Some(store) => take_lease(store, &self.name, self.lease),
                None => self.state.open().map_err(|e| e.to_string()).and_then(|s| {
                    let t = take_lease(&s, &self.name, self.lease);
                    self.store = Some(s);
                    t
                }),
            };
            match taken {
                Ok((true, from)) => {
                    if let Some(from) = from {
                        self.live.lease_takeovers.fetch_add(1, Relaxed);
                        tracing::info!(lease = %self.name, from = %from, "took over: the other instance's lease ran out");
                    }
                    self.live.set_lease(&self.name, true);
                    self.standing_by = false;
                    let token = self.shutdown.child_token();
                    let renewing = tokio::spawn(renew(
                        self.state.clone(),
                        self.name.clone(),
                        self.lease,
                        token.clone(),
                        self.live.clone(),
                    ));
                    return Some(Held { token, renewing });
                }
                Ok((false, _)) => {
                    self.live.set_lease(&self.name, false);
                    if !self.standing_by {
                        tracing::info!(lease = %self.name, "another instance reads this source; standing by");
                        self.standing_by = true;
                    }
                }
                Err(e) => {
                    // A store that cannot be reached is opened again next time.
                    self.store = None;
                    tracing::warn!(lease = %self.name, error = %e, "cannot take the lease");
                }
            }
            if wait_or_stop(&self.shutdown, every).await {
                return None;
            }
        }
    }
}

/// A lease held: the source runs until `token` is cancelled; [`Held::end`] stops the
/// renewals and waits for the last one, so a clean stop releases a lease nobody renews
/// after.
struct Held {
    token: CancellationToken,
    renewing: tokio::task::JoinHandle<()>,
}

impl Held {
    async fn end(self) {
        self.token.cancel();
        let _ = self.renewing.await;
    }
}

/// Takes or keeps `name` for this instance for `lease` from now.
fn take_lease(
    store: &crate::store::Store,
    name: &str,
    lease: Duration,
) -> Result<(bool, Option<String>), String> {
    let (until, now) = lease_window(lease);
    store
        .take_lease(name, crate::store::instance_id(), &until, &now)
        .map_err(|e| e.to_string())
}

/// Renews a held lease every third of `lease` until `held` is cancelled; cancels it
/// when another instance has the lease by then (this one's ran out unrenewed).
async fn renew(
    state: Location,
    name: String,
    lease: Duration,
    held: CancellationToken,
    live: Arc<Live>,
) {
    let mut store = None;
    while !wait_or_stop(&held, lease / 3).await {
        if store.is_none() {
            store = state.open().ok();
        }
        let Some(s) = &store else { continue };
        match take_lease(s, &name, lease) {
            Ok((true, _)) => {}
            Ok((false, _)) => {
                live.lease_losses.fetch_add(1, Relaxed);
                tracing::warn!(lease = %name, "lease lost to another instance; this source stops");
                held.cancel();
            }
            Err(e) => {
                store = None;
                tracing::warn!(lease = %name, error = %e, "cannot renew the lease");
            }
        }
    }
    live.set_lease(&name, false);
}

/// Sleeps `d`; true (at once) when `token` is cancelled first.
async fn wait_or_stop(token: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = token.cancelled() => true,
        _ = tokio::time::sleep(d) => token.is_cancelled(),
    }
}

/// What the daemon's tasks share, and the tracker they run under.
struct Tasks {
    config: Arc<Config>,
    state: Location,
    shutdown: CancellationToken,
    /// Woken when the ledger changed: the scheduler plans again.
    changed: Arc<Notify>,
    /// Sources hand messages in custody to the processing stage through this.
    handoff: Arc<Notify>,
    live: Arc<Live>,
    tracker: TaskTracker,
}

impl Tasks {
    fn new(config: Config, state: Location, shutdown: CancellationToken) -> Tasks {
        let mut live = Live::new(Utc::now().timestamp());
        for m in &config.imap {
            live.mailboxes
                .push((m.name.clone(), Arc::new(WatchCounters::default())));
        }
        for m in &config.maildir {
            live.maildirs.push((
                m.path.display().to_string(),
                Arc::new(SourceHealth::default()),
            ));
        }
        live.ledger = state.describe();
        Tasks {
            config: Arc::new(config),
            state,
            shutdown,
            changed: Arc::new(Notify::new()),
            handoff: Arc::new(Notify::new()),
            live: Arc::new(live),
            tracker: TaskTracker::new(),
        }
    }

    /// Renews this instance's lease every third of `lease` until the daemon stops.
    fn heartbeat(&self, lease: Duration) {
        let (state, shutdown) = (self.state.clone(), self.shutdown.clone());
        self.tracker.spawn(async move {
            let mut store = None;
            while !wait_or_stop(&shutdown, lease / 3).await {
                if store.is_none() {
                    store = state.open().ok();
                }
                let Some(s) = &store else { continue };
                if let Err(e) = beat(s, lease) {
                    store = None;
                    tracing::warn!(error = %e, "cannot renew this instance's lease");
                }
            }
        });
    }

    /// One task per Maildir.
    fn maildirs(&self) {
        for (i, m) in self.config.maildir.iter().cloned().enumerate() {
            let (config, state, shutdown, changed, health, live) = (
                self.config.clone(),
                self.state.clone(),
                self.shutdown.clone(),
                self.changed.clone(),
                self.live.maildirs[i].1.clone(),
                self.live.clone(),
            );
            self.tracker.spawn(async move {
                let result = async {
                    let extractor = Extractor::new(&config.extract)?;
                    let ingester = config.ingester(&extractor)?;
                    let mut store = state.open()?;
                    let maildir = Maildir::open(&m.path)?.read_only(m.read_only);
                    let lease = format!("maildir:{}", m.path.display());
                    let mut gate = LeaseGate::new(state.clone(), lease, config.daemon.lease(), shutdown.clone(), live.clone());
                    while let Some(held) = gate.acquire().await {
                        tracing::info!(maildir = %m.path.display(), read_only = m.read_only, "watching Maildir");
                        let watch = crate::inbound::maildir::Watch {
                            rescan: Duration::from_secs(m.rescan_secs.max(1)),
                            changed: &changed,
                            health: &health,
                        };
                        maildir.watch_with(&mut store, &ingester, watch, held.token.clone()).await;
                        held.end().await;
                    }
                    anyhow::Ok(())
                }
                .await;
                if let Err(e) = result {
                    tracing::error!(maildir = %m.path.display(), error = %e, "Maildir source stopped");
                }
            });
        }
    }

    /// One task per IMAP mailbox; they take mail into custody and hand it on.
    fn mailboxes(&self) {
        let config = &self.config;
        for (i, mut m) in config.imap.iter().cloned().enumerate() {
            // IDLE renewals are contact: renewed well within the health silence, a quiet
            // mailbox never looks unreachable.
            let renewal =
                imap::renewal_within(m.idle_timeout_secs, config.daemon.health_max_silence_secs);
            if m.idle && renewal < m.idle_timeout_secs {
                tracing::warn!(
                    mailbox = %m.name,
                    idle_timeout_secs = m.idle_timeout_secs,
                    health_max_silence_secs = config.daemon.health_max_silence_secs,
                    renewal_secs = renewal,
                    "IDLE is renewed sooner than idle-timeout-secs, so a quiet mailbox stays within the health silence"
                );
                m.idle_timeout_secs = renewal;
            }
            let (config, state, shutdown, changed, handoff, live) = (
                config.clone(),
                self.state.clone(),
                self.shutdown.clone(),
                self.changed.clone(),
                self.handoff.clone(),
                self.live.clone(),
            );
            self.tracker.spawn(async move {
                let result = async {
                    let extractor = Extractor::new(&config.extract)?;
                    let ingester = config.ingester(&extractor)?;
                    let mut store = state.open()?;
                    store.defer_checkpoints()?;
                    let counters = live.mailboxes[i].1.clone();
                    let lease = format!("imap:{}", m.name);
                    let mut gate = LeaseGate::new(state.clone(), lease, config.daemon.lease(), shutdown.clone(), live.clone());
                    while let Some(held) = gate.acquire().await {
                        let stats = imap::watch_notifying(
                            &m,
                            &mut store,
                            &ingester,
                            held.token.clone(),
                            &changed,
                            Some(&handoff),
                            &counters,
                        )
                        .await;
                        held.end().await;
                        tracing::info!(mailbox = %m.name, fetched = stats.fetched, connects = stats.connects, "IMAP source stopped");
                    }
                    anyhow::Ok(())
                }
                .await;
                if let Err(e) = result {
                    tracing::error!(mailbox = %m.name, error = %e, "IMAP source stopped");
                }
            });
        }
    }

    /// The processing stage: what the sources took into custody, read into the ledger.
    ///
    /// It runs on a thread of its own with a runtime of its own: its store calls wait
    /// (for the disk, or for PostgreSQL's round trips), and on the daemon's thread each
    /// wait would hold up the mailboxes' fetching and the outbox's SMTP sessions.
    fn processing(&self) {
        let (config, state, shutdown, handoff, changed, live) = (
            self.config.clone(),
            self.state.clone(),
            self.shutdown.clone(),
            self.handoff.clone(),
            self.changed.clone(),
            self.live.clone(),
        );
        self.on_own_thread("processing", READING_THREADS, move || async move {
            process(&config, &state, shutdown, &handoff, &changed, &live).await
        });
    }

    /// Runs a stage on a blocking thread of its own, in a current-thread runtime that
    /// has `blocking` threads for the stage's own blocking work, and logs how it ended.
    fn on_own_thread<F>(
        &self,
        name: &'static str,
        blocking: usize,
        stage: impl FnOnce() -> F + Send + 'static,
    ) where
        F: std::future::Future<Output = anyhow::Result<()>>,
    {
        self.tracker.spawn(async move {
            let ended = tokio::task::spawn_blocking(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .max_blocking_threads(blocking)
                    .build()?
                    .block_on(stage())
            })
            .await;
            match ended {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "{name} stopped"),
                Err(e) => tracing::error!(error = %e, "{name} stopped"),
            }
        });
    }

    /// Microsoft's record for each claim (`[graph]`): claims due a check are checked on
    /// a blocking thread every tick; a new record wakes the scheduler (the draft shows it).
    fn graph(&self) {
        let Some(graph_config) = self.config.graph.clone() else {
            return;
        };
        let (state, shutdown, changed) = (
            self.state.clone(),
            self.shutdown.clone(),
            self.changed.clone(),
        );
        let tick = Duration::from_secs(self.config.daemon.tick_secs.max(1));
        self.tracker.spawn(async move {
            let graph = match crate::inbound::graph::Graph::new(graph_config) {
                Ok(g) => Arc::new(g),
                Err(e) => {
                    tracing::error!(error = %e, "Microsoft's record cannot be fetched");
                    return;
                }
            };
            while !shutdown.is_cancelled() {
                let (graph, state) = (graph.clone(), state.clone());
                let pass = tokio::task::spawn_blocking(move || {
                    let store = state.open()?;
                    anyhow::Ok(graph.verify_due(&store, Utc::now(), 20)?)
                })
                .await;
                match pass {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => {
                        tracing::info!(checked = n, "Microsoft's record fetched");
                        changed.notify_one();
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "checking Microsoft's record failed; retrying at the next tick"),
                    Err(e) => tracing::error!(error = %e, "the Microsoft record check stopped"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(tick) => {}
                }
            }
        });
    }

    /// The scheduler: planning on a thread of its own (its reads wait for the ledger,
    /// as processing's do), sending on the daemon's runtime (SMTP sessions wait for
    /// the server without holding a thread), so the mail of one pass goes out while
    /// the next is planned. Returns where a reloaded config is sent to the planning.
    fn scheduler(&self) -> tokio::sync::watch::Sender<Arc<Config>> {
        let (configs, watched) = tokio::sync::watch::channel(self.config.clone());
        let queued = Arc::new(Notify::new());
        let (state, shutdown, changed, live, wake) = (
            self.state.clone(),
            self.shutdown.clone(),
            self.changed.clone(),
            self.live.clone(),
            queued.clone(),
        );
        self.on_own_thread("scheduler", 1, move || async move {
            planning(watched, &state, shutdown, &changed, &wake, &live).await
        });
        let (config, state, shutdown, live) = (
            self.config.clone(),
            self.state.clone(),
            self.shutdown.clone(),
            self.live.clone(),
        );
        self.tracker.spawn(async move {
            if let Err(e) = sending(&config, &state, shutdown, &queued, &live).await {
                tracing::error!(error = %e, "outbox stopped");
            }
        });
        configs
    }

    /// Re-reads the config file on each `reload` and sends the scheduler what applies.
    fn reloads(
        &self,
        path: PathBuf,
        reload: Arc<Notify>,
        configs: tokio::sync::watch::Sender<Arc<Config>>,
    ) {
        let (shutdown, changed) = (self.shutdown.clone(), self.changed.clone());
        // What the running config came from, to tell which sections a reload changes.
        let mut running_table = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .unwrap_or_default();
        self.tracker.spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = reload.notified() => {}
                }
                let running = configs.borrow().clone();
                match reread(&path, &running, &running_table) {
                    Err(e) => tracing::error!(config = %path.display(), error = %e, "reload refused; running on with the previous config"),
                    Ok(r) => {
                        if !r.restart_for.is_empty() {
                            tracing::warn!(sections = %r.restart_for.join(", "), "reload: these sections changed but are bound at start (mailbox sessions, store, outbox, extraction, deadline rules); restart the service to apply them");
                        }
                        tracing::info!(applied = %r.applied.join(", "), "reload: drafts, reminders, customers and templates re-read");
                        running_table = r.table;
                        let _ = configs.send(Arc::new(r.config));
                        changed.notify_one();
                    }
                }
            }
        });
    }

    /// `/metrics` and `/healthz`, when configured.
    async fn metrics(&self) -> anyhow::Result<()> {
        let Some(addr) = self
            .config
            .daemon
            .metrics_addr()
            .map_err(anyhow::Error::msg)?
        else {
            return Ok(());
        };
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "metrics and health on http://{addr}/metrics and /healthz");
        self.tracker.spawn(crate::app::metrics::serve(
            listener,
            self.config.daemon.health_limits(),
            self.state.clone(),
            self.shutdown.clone(),
            self.live.clone(),
        ));
        Ok(())
    }

    /// A quiet daemon lets its reading patterns go (most of its heap; see `pattern`).
    fn pattern_release(&self) {
        let shutdown = self.shutdown.clone();
        self.tracker.spawn(async move {
            let mut every = tokio::time::interval(RELEASE_PATTERNS_AFTER);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = every.tick() => {}
                }
                let released = crate::mail::pattern::release_if_unused();
                if released > 0 {
                    tracing::debug!(patterns = released, "quiet: reading patterns released");
                }
            }
        });
    }

    /// The systemd watchdog's pings, when the unit asks for them.
    fn watchdog(&self) {
        if let Some(period) = sd_notify::watchdog_enabled() {
            self.tracker.spawn(watchdog(
                period,
                self.config.daemon.health_limits(),
                self.state.clone(),
                self.shutdown.clone(),
                self.live.clone(),
            ));
        }
    }

    /// READY means the sources are connected: waits for every mailbox's first contact,
    /// but not forever; an unreachable server is retried in the background and shows in
    /// /healthz and the logs.
    async fn first_contact(&self) {
        let connecting = Duration::from_secs(30);
        let started = std::time::Instant::now();
        let mailboxes = &self.live.mailboxes;
        while mailboxes
            .iter()
            .any(|(_, c)| c.last_contact.load(Relaxed) == 0)
            && started.elapsed() < connecting
            && !self.shutdown.is_cancelled()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (name, c) in mailboxes {
            if c.last_contact.load(Relaxed) == 0 {
                tracing::warn!(mailbox = %name, "not connected yet; starting anyway and retrying in the background");
            }
        }
    }

    /// What READY says the daemon does.
    fn summary(&self) -> String {
        let config = &self.config;
        format!(
            "watching {} Maildir(s) and {} IMAP mailbox(es); outgoing mail: {}",
            config.maildir.len(),
            config.imap.len(),
            match config.outbox.transport {
                TransportKind::File => format!("files in {}", config.outbox.dir.display()),
                TransportKind::Smtp =>
                    format!("SMTP {}", config.outbox.host.clone().unwrap_or_default()),
            }
        )
    }
}

/// Pings the systemd watchdog every half period while the pipeline makes progress:
/// no message waits in custody past its limit and store writes succeed. A stalled
/// pipeline then gets the restart a hung process would; an unreachable mail server
/// does not (a restart cannot fix it; it shows in /healthz instead).
async fn watchdog(
    period: Duration,
    limits: HealthLimits,
    state: Location,
    shutdown: CancellationToken,
    live: Arc<Live>,
) {
    let store = match state.open() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "watchdog cannot open the store; not pinging it");
            return;
        }
    };
    loop {
        let stalled = crate::app::metrics::pipeline_troubles(&limits, &live, &store, Utc::now());
        if stalled.is_empty() {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
        } else {
            tracing::error!(troubles = %stalled.join("; "), "pipeline stalled: not pinging the systemd watchdog");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(period / 2) => {}
        }
    }
}

/// Expires and plans: after new mail, and on every tick (reminders, digest, expiry);
/// wakes the sender when it queued mail. A reloaded config (drafts, reminders,
/// customers; templates re-read) takes effect at the next pass; the deadline rules stay
/// as started.
async fn planning(
    mut configs: tokio::sync::watch::Receiver<Arc<Config>>,
    state: &Location,
    shutdown: CancellationToken,
    changed: &Notify,
    queued: &Notify,
    live: &Live,
) -> anyhow::Result<()> {
    let mut config = configs.borrow_and_update().clone();
    let extractor = Extractor::new(&config.extract)?;
    let ingester = config.ingester(&extractor)?;
    let mut templates =
        Templates::load(config.drafts.template_dir.as_deref()).map_err(anyhow::Error::msg)?;
    let mut store = state.open()?;
    let tick = Duration::from_secs(config.daemon.tick_secs.max(1));
    let mut planned = Planned::default();
    while !shutdown.is_cancelled() {
        let now = Utc::now();
        let pass = (|| {
            let expired = ingester.expire_overdue(&mut store, now)?;
            let planner = config.planner(&templates).map_err(anyhow::Error::msg)?;
            let plan = planner.plan_changed(&mut store, now, &mut planned)?;
            anyhow::Ok((expired, plan))
        })();
        match pass {
            Ok((expired, plan)) => {
                live.store_ok("scheduler");
                if expired + plan.drafts + plan.reminders + plan.digests > 0 {
                    tracing::info!(
                        expired,
                        drafts = plan.drafts,
                        reminders = plan.reminders,
                        digests = plan.digests,
                        "scheduler pass"
                    );
                }
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&format!(
                    "messages {}, open claims {}, mail sent {}",
                    store.message_count("processed").unwrap_or(0),
                    store.open_claim_count().unwrap_or(0),
                    live.sent.load(Relaxed)
                ))]);
            }
            Err(e) => {
                if e.chain().any(|c| {
                    c.is::<crate::store::StoreError>()
                        || c.is::<crate::ledger::ingest::IngestError>()
                }) {
                    live.store_failed("scheduler", &format!("{e:#}"));
                }
                tracing::error!(error = %e, "scheduler pass failed; retrying at the next tick")
            }
        }
        // The sender looks at the outbox after every pass: mail queued now, or by
        // another instance, or by a command.
        queued.notify_one();
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = changed.notified() => {}
            _ = tokio::time::sleep(tick) => {}
            Ok(()) = configs.changed() => {
                let new = configs.borrow_and_update().clone();
                match Templates::load(new.drafts.template_dir.as_deref()) {
                    Ok(t) => {
                        templates = t;
                        config = new;
                        // New helpdesk, customers or templates: every claim is looked at again.
                        planned = Planned::default();
                    }
                    Err(e) => tracing::error!(error = %e, "reloaded templates do not render; keeping the previous ones"),
                }
            }
        }
    }
    Ok(())
}

/// Sends what is due in the outbox: when the planning queued mail, on every tick, and
/// when a retry is due. The transport stays as started.
async fn sending(
    config: &Config,
    state: &Location,
    shutdown: CancellationToken,
    queued: &Notify,
    live: &Live,
) -> anyhow::Result<()> {
    let transport = Transport::new(&config.outbox);
    let mut store = state.open()?;
    // A restart is often the fix (settings, a certificate): deferred mail is due at once.
    let due = store.mail_due_now(&outbox::stamp(Utc::now()))?;
    if due > 0 {
        tracing::info!(deferred = due, "deferred mail is due now");
    }
    let tick = Duration::from_secs(config.daemon.tick_secs.max(1));
    while !shutdown.is_cancelled() {
        // A session unused for a while ends with QUIT before the server drops it.
        transport.quit_idle(outbox::SESSION_IDLE).await;
        match outbox::send_due(&mut store, &transport, Utc::now()).await {
            Ok(sent) => {
                live.store_ok("outbox");
                live.sent.fetch_add(sent.sent as u64, Relaxed);
                live.send_failures
                    .fetch_add((sent.deferred + sent.failed) as u64, Relaxed);
                // Wrong settings show in health until a send goes through again.
                if let Some(why) = &sent.misconfigured {
                    live.set_outbox_problem(Some(why));
                } else if sent.sent > 0 {
                    live.set_outbox_problem(None);
                }
                if sent.sent + sent.deferred + sent.failed > 0 {
                    tracing::info!(
                        sent = sent.sent,
                        deferred = sent.deferred,
                        failed = sent.failed,
                        "outbox pass"
                    );
                }
            }
            Err(e) => {
                if matches!(e, outbox::OutboxError::Store(_)) {
                    live.store_failed("outbox", &e.to_string());
                }
                tracing::error!(error = %e, "outbox pass failed; retrying at the next tick")
            }
        }
        // Sleep until new mail is queued, the tick, or the next retry.
        let mut wait = tick;
        if let Some(due) = store.next_mail_due().ok().flatten() {
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(&due) {
                let until = (at.with_timezone(&Utc) - Utc::now())
                    .to_std()
                    .unwrap_or_default();
                wait = wait.min(until.max(Duration::from_millis(100)));
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = queued.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    transport.quit_idle(Duration::ZERO).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[drafts]\nhelpdesk = [\"a@partner.example\"]\n[outbox]\ndir = \"out\"\n[[customer]]\ntenant = \"c0ffee00-1234-4abc-8def-0123456789ab\"\nname = \"Old\"\n";

    fn reload(
        path: &Path,
        running: &Config,
        table: &toml::Table,
        text: &str,
    ) -> Result<Reloaded, String> {
        std::fs::write(path, text).unwrap();
        reread(path, running, table)
    }

    #[test]
    fn reread_applies_reloadable_sections_and_names_the_rest() {
        let dir = std::env::temp_dir().join(format!("slaclaim-reread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        let running = Config::parse(BASE, "base").unwrap();
        let table: toml::Table = BASE.parse().unwrap();

        let same = reload(&path, &running, &table, BASE).unwrap();
        assert!(same.applied.is_empty() && same.restart_for.is_empty());

        // New helpdesk, customer gone, outbox moved: the first two apply, the last waits.
        let text = BASE
            .replace("a@partner", "b@partner")
            .replace("dir = \"out\"", "dir = \"elsewhere\"");
        let text = &text[..text.find("[[customer]]").unwrap_or(text.len())];
        let r = reload(&path, &running, &table, text).unwrap();
        assert_eq!(r.applied, vec!["customer", "drafts"]);
        assert_eq!(r.restart_for, vec!["outbox"]);
        assert_eq!(r.config.drafts.helpdesk, vec!["b@partner.example"]);
        assert!(r.config.customer.is_empty());
        assert_eq!(r.config.outbox.dir, running.outbox.dir);
        // Reloading the same file again still names the outbox, and nothing else.
        let again = reload(&path, &r.config, &r.table, text).unwrap();
        assert!(again.applied.is_empty());
        assert_eq!(again.restart_for, vec!["outbox"]);

        // A bad file is refused with its problem.
        let bad = reload(&path, &running, &table, "[drafts]\nhelpdesk = [\"nope\"]\n");
        assert!(bad.is_err_and(|e| e.contains("nope")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
