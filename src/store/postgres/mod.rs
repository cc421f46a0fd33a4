//! The ledger on PostgreSQL, for several instances sharing one database.
//!
//! Where the database is (`[store] url`, the password never in it), connecting with
//! TLS by `sslmode` ([`tls`]), the schema kept in files numbered as SQLite's and applied
//! by version, the connections a process shares ([`pool`]), and copying a SQLite ledger
//! over (`slaclaim store migrate`, [`copy`]).
//!
//! Store calls are synchronous, as SQLite's are. The driver (tokio-postgres) runs on a
//! runtime thread of its own, and a call waits for its answer there as a SQLite call
//! waits for the disk: callers need no runtime, and one inside the daemon's runtime
//! cannot block it into a deadlock.

pub mod copy;
pub mod pool;
pub mod tls;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tls::SslMode;

use super::sql::{self, Row, Value};

/// Schema files by the version they bring the database to. The first is the whole
/// schema at SQLite's version 13; each later one pairs with the SQLite migration of its
/// number.
const MIGRATIONS: &[(i64, &str)] = &[
    (13, include_str!("0013_schema.sql")),
    (14, include_str!("0014_leases.sql")),
    (15, include_str!("0015_claim_plans.sql")),
    (16, include_str!("0016_statement_revisions.sql")),
    (17, include_str!("0017_ticket_numbers.sql")),
];

/// The newest schema version this build knows, the same for both backends.
pub const SCHEMA_VERSION: i64 = 17;

/// Begins a transaction that writes the ledger: every such transaction, in any
/// instance, takes the same advisory lock first, so they run one after another as on
/// SQLite (the lock ends with the transaction).
pub const BEGIN_WRITE: &str = "BEGIN; SELECT pg_advisory_xact_lock(7263544132)";

/// How long one call may wait for the database before it is given up on.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors of the PostgreSQL store.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// `[store] url` or its TLS settings cannot be used.
    #[error("store url: {0}")]
    Url(String),
    /// Connecting failed (refused, TLS, authentication).
    #[error("cannot connect to PostgreSQL at {target}: {why}")]
    Connect {
        /// Where, without secrets.
        target: String,
        /// What failed.
        why: String,
    },
    /// A statement failed.
    #[error("PostgreSQL: {0}")]
    Query(String),
    /// The database has a newer schema than this build.
    #[error(
        "the PostgreSQL store has schema version {found}, newer than this slaclaim ({known}); upgrade slaclaim"
    )]
    TooNew {
        /// Its version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> PgError {
        PgError::Query(describe(&e))
    }
}

/// What went wrong, in the server's words when it said any.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Where the database is: `[store] url` read, with its TLS settings taken out.
#[derive(Clone)]
pub struct Target {
    config: tokio_postgres::Config,
    /// `sslmode`, libpq's default `prefer` when the URL has none.
    pub ssl_mode: SslMode,
    /// `sslrootcert`: the PEM file of roots to trust.
    pub root_cert: Option<PathBuf>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Target {
    /// Reads a `postgres://user@host:port/database?sslmode=…` URL. A password in it
    /// is refused: the URL sits in the config file, the password belongs in a file, a
    /// variable or a credential (`[store] password-file`, …). Errors never repeat the URL.
    pub fn parse(url: &str) -> Result<Target, PgError> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        if !(base.starts_with("postgres://") || base.starts_with("postgresql://")) {
            return Err(PgError::Url(
                "want postgres://user@host:port/database[?sslmode=…]".into(),
            ));
        }
        let (mut ssl_mode, mut root_cert, mut kept) = (SslMode::Prefer, None, Vec::new());
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => ssl_mode = SslMode::parse(value).map_err(PgError::Url)?,
                "sslrootcert" => root_cert = Some(PathBuf::from(value)),
                "password" => return Err(password_in_url()),
                _ => kept.push(pair),
            }
        }
        let rebuilt = match kept.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", kept.join("&")),
        };
        // The user-info part is checked before parsing: a parse error must not be what
        // reports a password, and tokio-postgres's errors do not repeat it either.
        let authority = base.split_once("://").map_or("", |(_, rest)| rest);
        let authority = authority.split('/').next().unwrap_or_default();
        if authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
        {
            return Err(password_in_url());
        }
        let config: tokio_postgres::Config = rebuilt
            .parse()
            .map_err(|e: tokio_postgres::Error| PgError::Url(describe(&e)))?;
        if config.get_hosts().is_empty() {
            return Err(PgError::Url("no host".into()));
        }
        Ok(Target {
            config,
            ssl_mode,
            root_cert,
        })
    }

    /// user@host:port/database, for messages and logs.
    pub fn shown(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => String::new(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "{}@{host}:{port}/{}",
            self.config.get_user().unwrap_or("?"),
            self.config.get_dbname().unwrap_or("")
        )
    }
}

fn password_in_url() -> PgError {
    PgError::Url(
        "has a password; put it in [store] password-file (or password-env, or a systemd credential) instead".into(),
    )
}

/// The runtime the driver runs on (one thread, for the whole process).
fn runtime() -> Result<&'static tokio::runtime::Runtime, PgError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("slaclaim-pg")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PgError::Query(format!("cannot start the database runtime: {e}")))
}

/// Runs `work` on the driver's runtime and waits for it, at most [`CALL_TIMEOUT`]: for
/// what needs the runtime itself (connecting: sockets, timers).
fn on_runtime<T: Send + 'static>(
    work: impl Future<Output = Result<T, PgError>> + Send + 'static,
) -> Result<T, PgError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        let answer = match tokio::time::timeout(CALL_TIMEOUT, work).await {
            Ok(answer) => answer,
            Err(_) => Err(timed_out()),
        };
        let _ = tx.send(answer);
    });
    rx.recv()
        .map_err(|_| PgError::Query("the database call ended without an answer".into()))?
}

/// Waits for `work` on this thread, at most [`CALL_TIMEOUT`]. A statement's future only
/// talks to the connection task (which does the I/O on the driver's runtime) through
/// channels, so it needs no runtime of its own: polled here, a call costs no hop to
/// another thread and back, and a caller inside the daemon's runtime cannot deadlock it.
fn wait<T>(work: impl Future<Output = Result<T, PgError>>) -> Result<T, PgError> {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut work = std::pin::pin!(work);
    let deadline = std::time::Instant::now() + CALL_TIMEOUT;
    loop {
        if let Poll::Ready(answer) = work.as_mut().poll(&mut cx) {
            return answer;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        std::thread::park_timeout(left);
    }
}

fn failed_earlier() -> PgError {
    PgError::Query("the transaction failed at an earlier statement".into())
}

fn timed_out() -> PgError {
    PgError::Query(format!("no answer within {} s", CALL_TIMEOUT.as_secs()))
}

/// Connections this process holds open, lent out or idle in a [`pool::Pool`].
static OPEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Connections to PostgreSQL this process holds open now.
pub fn open_connections() -> u64 {
    OPEN.load(std::sync::atomic::Ordering::Relaxed)
}

/// One connection to the database. Statements run one at a time, in order, so
/// `BEGIN` … `COMMIT` through [`Pg::batch`] is a transaction.
pub struct Pg {
    /// The connection; opened again when it was lost between transactions (a server
    /// restart, a failover): a daemon that runs for months must outlive them.
    client: std::cell::RefCell<Arc<tokio_postgres::Client>>,
    config: tokio_postgres::Config,
    tls: tls::MakeRustls,
    target: String,
    /// Prepared statements by their SQLite text: each is parsed by the server once.
    prepared: Mutex<HashMap<String, tokio_postgres::Statement>>,
    /// Inside BEGIN … COMMIT: a lost connection there fails the transaction instead.
    in_transaction: std::cell::Cell<bool>,
    /// Whether a statement of this transaction failed.
    failed: std::cell::Cell<bool>,
    /// Statements held back to go with the next one, in order, in one round trip: the
    /// transaction's `BEGIN` and writes whose answer nobody waits for.
    held: std::cell::RefCell<Vec<Held>>,
}

/// A statement held back until the next one is sent.
enum Held {
    /// `BEGIN` (and the advisory lock), without parameters.
    Begin(String),
    /// A write in SQLite's SQL, with its arguments.
    Write(String, Vec<Value>),
}

impl Pg {
    /// Connects; `password` is for password or SCRAM authentication, None for trust or
    /// peer. Gives up after 10 s unless the URL sets `connect_timeout`.
    pub fn connect(target: &Target, password: Option<&str>) -> Result<Pg, PgError> {
        let mut config = target.config.clone();
        if let Some(p) = password {
            config.password(p);
        }
        config.ssl_mode(target.ssl_mode.negotiation());
        config.application_name("slaclaim");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let tls = tls::MakeRustls(
            tls::client_config(target.ssl_mode, target.root_cert.as_deref())
                .map_err(PgError::Url)?,
        );
        let shown = target.shown();
        let client = open(&config, &tls, &shown)?;
        OPEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Pg {
            client: std::cell::RefCell::new(Arc::new(client)),
            config,
            tls,
            target: shown,
            prepared: Mutex::default(),
            in_transaction: std::cell::Cell::new(false),
            failed: std::cell::Cell::new(false),
            held: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// The connection, opened again first if it was lost outside a transaction (or
    /// before its `BEGIN` was sent).
    fn client(&self) -> Result<Arc<tokio_postgres::Client>, PgError> {
        let lost = self.client.borrow().is_closed();
        if lost && !(self.in_transaction.get() && self.begun()) {
            let fresh = open(&self.config, &self.tls, &self.target)?;
            self.prepared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
            *self.client.borrow_mut() = Arc::new(fresh);
            tracing::info!(target = %self.target, "connected to PostgreSQL again");
        }
        Ok(self.client.borrow().clone())
    }

    /// Where this connection goes, without secrets.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs statements without parameters (`BEGIN`, schema files).
    ///
    /// `BEGIN` is held back and sent with the transaction's first statement, in one
    /// round trip; a transaction that ran nothing sends neither `BEGIN` nor `COMMIT` (nor
    /// takes the write lock). `COMMIT` takes the writes held back with it.
    pub fn batch(&self, sql: &str) -> Result<(), PgError> {
        if sql.starts_with("BEGIN") {
            *self.held.borrow_mut() = vec![Held::Begin(sql.to_string())];
            self.in_transaction.set(true);
            self.failed.set(false);
            return Ok(());
        }
        let (commit, rollback) = (sql == "COMMIT", sql == "ROLLBACK");
        if commit || rollback {
            let failed = self.failed.replace(false);
            let begun = self.begun();
            if rollback || failed {
                // Undone, a held write need not be sent at all.
                self.held.borrow_mut().clear();
            }
            let writes = self
                .held
                .borrow()
                .iter()
                .any(|h| matches!(h, Held::Write(..)));
            if (!begun && !writes) || failed {
                self.held.borrow_mut().clear();
                // A failed transaction is rolled back on the server, and its COMMIT fails
                // here (the server would answer it with a quiet ROLLBACK).
                let undone = match failed && begun {
                    true => self
                        .client()
                        .and_then(|c| wait(async { Ok(c.batch_execute("ROLLBACK").await?) })),
                    false => Ok(()),
                };
                self.in_transaction.set(false);
                return match failed && commit {
                    true => undone.and(Err(failed_earlier())),
                    false => undone,
                };
            }
        }
        let done = self.before().and_then(|(client, held)| {
            if commit || rollback {
                self.in_transaction.set(false);
            }
            wait(async {
                let pipeline = self.ready(&client, held).await?;
                let (sent, done) = futures_util::future::join(
                    send_ready(&client, &pipeline),
                    client.batch_execute(sql),
                )
                .await;
                sent?;
                Ok(done?)
            })
        });
        self.after(done)
    }

    /// Holds back a write whose answer nobody waits for, inside a transaction: it goes
    /// with the next statement or the `COMMIT`, in the same round trip, and a failure
    /// fails that one (the transaction cannot go on after it anyway). Outside a
    /// transaction it runs at once.
    pub fn execute_later(&self, sql: &str, args: &[Value]) -> Result<(), PgError> {
        if !self.in_transaction.get() {
            return self.execute(sql, args).map(drop);
        }
        self.held
            .borrow_mut()
            .push(Held::Write(sql.to_string(), args.to_vec()));
        Ok(())
    }

    /// Runs one statement, written in SQLite's SQL (see [`sql::postgres_sql`]), with
    /// what was held back before it, in one round trip; returns the rows it changed.
    pub fn execute(&self, sql: &str, args: &[Value]) -> Result<u64, PgError> {
        let done = self.before().and_then(|(client, held)| {
            wait(async {
                let pipeline = self.ready(&client, held).await?;
                let statement = prepare(&client, &self.prepared, sql).await?;
                let bound: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    args.iter().map(|v| v as _).collect();
                let (sent, changed) = futures_util::future::join(
                    send_ready(&client, &pipeline),
                    client.execute(&statement, &bound),
                )
                .await;
                sent?;
                Ok(changed?)
            })
        });
        self.after(done)
    }

    /// Runs one query, written in SQLite's SQL; returns its rows.
    pub fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>, PgError> {
        Ok(self
            .query_together(&[(sql, args)])?
            .pop()
            .unwrap_or_default())
    }

    /// Runs several queries, written in SQLite's SQL, with what was held back before
    /// them, all in one round trip; returns each one's rows, in order. For reads that
    /// do not depend on each other.
    pub fn query_together(&self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, PgError> {
        let done = self.before().and_then(|(client, held)| {
            wait(async {
                let pipeline = self.ready(&client, held).await?;
                let mut statements = Vec::with_capacity(queries.len());
                for (sql, _) in queries {
                    statements.push(prepare(&client, &self.prepared, sql).await?);
                }
                let bound: Vec<Vec<&(dyn tokio_postgres::types::ToSql + Sync)>> = queries
                    .iter()
                    .map(|(_, args)| args.iter().map(|v| v as _).collect())
                    .collect();
                let these = futures_util::future::join_all(
                    statements
                        .iter()
                        .zip(&bound)
                        .map(|(statement, bound)| client.query(statement, bound)),
                );
                let (sent, answers) =
                    futures_util::future::join(send_ready(&client, &pipeline), these).await;
                sent?;
                answers
                    .into_iter()
                    .map(|a| a.map_err(PgError::from))
                    .collect::<Result<Vec<_>, _>>()
            })
        });
        self.after(done)?
            .iter()
            .map(|rows| rows.iter().map(own_row).collect())
            .collect()
    }

    /// Whether this transaction's `BEGIN` has gone to the server: it is held until the
    /// first statement takes it (even one that then failed to reach the server).
    fn begun(&self) -> bool {
        !self
            .held
            .borrow()
            .iter()
            .any(|h| matches!(h, Held::Begin(_)))
    }

    /// Before a statement: the connection, and what was held back to go with it. In a
    /// transaction that failed already, nothing more is sent.
    fn before(&self) -> Result<(Arc<tokio_postgres::Client>, Vec<Held>), PgError> {
        if self.in_transaction.get() && self.failed.get() {
            return Err(failed_earlier());
        }
        let client = self.client()?;
        let held = std::mem::take(&mut *self.held.borrow_mut());
        Ok((client, held))
    }

    /// After a statement: one that failed inside a transaction fails the rest of it, as
    /// on the server (and a caller that went on regardless cannot commit it).
    fn after<T>(&self, done: Result<T, PgError>) -> Result<T, PgError> {
        if done.is_err() && self.in_transaction.get() {
            self.failed.set(true);
        }
        done
    }

    /// The held statements made ready to send: every write prepared first. Preparing is
    /// a round trip of its own, and one done while the pipeline is being sent would put
    /// that write's execution behind the requests polled after it.
    async fn ready(
        &self,
        client: &tokio_postgres::Client,
        held: Vec<Held>,
    ) -> Result<Pipeline, PgError> {
        let mut pipeline = Pipeline::default();
        for h in held {
            match h {
                Held::Begin(sql) => pipeline.begin = Some(sql),
                Held::Write(sql, args) => {
                    let statement = prepare(client, &self.prepared, &sql).await?;
                    pipeline.writes.push((statement, args));
                }
            }
        }
        Ok(pipeline)
    }

    /// The first column of the first row, as a number.
    pub fn number(&self, sql: &str, args: &[Value]) -> Result<i64, PgError> {
        let rows = self.query(sql, args)?;
        let row = rows
            .first()
            .ok_or_else(|| PgError::Query(format!("no row from {sql}")))?;
        row.get::<i64>(0).map_err(|e| PgError::Query(e.to_string()))
    }

    /// Whether TLS protects this connection (the server's own view of it).
    pub fn encrypted(&self) -> Result<bool, PgError> {
        let ssl = self.number(
            "SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)::int",
            &[],
        )?;
        Ok(ssl != 0)
    }

    /// The schema version, 0 for an empty database.
    pub fn schema_version(&self) -> Result<i64, PgError> {
        if self.number(
            "SELECT (to_regclass('schema_version') IS NOT NULL)::int",
            &[],
        )? == 0
        {
            return Ok(0);
        }
        self.number("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
    }

    /// Brings the schema to [`SCHEMA_VERSION`]; returns the version found before. Two
    /// instances starting at once take turns on an advisory lock, so each file is
    /// applied once.
    pub fn migrate(&self) -> Result<i64, PgError> {
        self.batch("BEGIN")?;
        let result = (|| {
            // The lock ends with the transaction.
            self.query("SELECT pg_advisory_xact_lock(7263544131)::text", &[])?;
            let found = self.schema_version()?;
            if found > SCHEMA_VERSION {
                return Err(PgError::TooNew {
                    found,
                    known: SCHEMA_VERSION,
                });
            }
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
                self.batch(sql)?;
                self.execute(
                    "UPDATE schema_version SET version = ?1",
                    &[Value::Int(*version)],
                )?;
            }
            Ok(found)
        })();
        match result {
            Ok(found) => {
                self.batch("COMMIT")?;
                Ok(found)
            }
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A row's values, owned.
fn own_row(r: &tokio_postgres::Row) -> Result<Row, PgError> {
    (0..r.len())
        .map(|i| sql::from_postgres(r, i))
        .collect::<Result<Vec<_>, _>>()
        .map(Row)
        .map_err(PgError::Query)
}

/// Held statements, prepared, in the order they go.
#[derive(Default)]
struct Pipeline {
    begin: Option<String>,
    writes: Vec<(tokio_postgres::Statement, Vec<Value>)>,
}

/// Sends a pipeline's statements in order and waits for their answers. Every request
/// goes out on the first poll (tokio-postgres sends a request when its future is first
/// polled, and the server runs requests in that order), so polled before the statement
/// it goes with, the pipeline shares that statement's round trip.
async fn send_ready(client: &tokio_postgres::Client, pipeline: &Pipeline) -> Result<(), PgError> {
    let bound: Vec<Vec<&(dyn tokio_postgres::types::ToSql + Sync)>> = pipeline
        .writes
        .iter()
        .map(|(_, args)| args.iter().map(|v| v as _).collect())
        .collect();
    let begin = async {
        match &pipeline.begin {
            Some(sql) => client.batch_execute(sql).await,
            None => Ok(()),
        }
    };
    let writes = futures_util::future::join_all(
        pipeline
            .writes
            .iter()
            .zip(&bound)
            .map(|((statement, _), bound)| client.execute(statement, bound)),
    );
    let (begun, written) = futures_util::future::join(begin, writes).await;
    begun?;
    for w in written {
        w?;
    }
    Ok(())
}

/// Opens a connection, its I/O task on the driver's runtime.
fn open(
    config: &tokio_postgres::Config,
    tls: &tls::MakeRustls,
    shown: &str,
) -> Result<tokio_postgres::Client, PgError> {
    let (config, tls, shown) = (config.clone(), tls.clone(), shown.to_string());
    on_runtime(async move {
        let (client, connection) = config.connect(tls).await.map_err(|e| PgError::Connect {
            target: shown,
            why: describe(&e),
        })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %describe(&e), "PostgreSQL connection ended");
            }
        });
        Ok(client)
    })
}

/// The statement for `sql` (SQLite's text), prepared on first use.
async fn prepare(
    client: &tokio_postgres::Client,
    prepared: &Mutex<HashMap<String, tokio_postgres::Statement>>,
    sql: &str,
) -> Result<tokio_postgres::Statement, PgError> {
    let known = prepared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(sql)
        .cloned();
    if let Some(statement) = known {
        return Ok(statement);
    }
    let statement = client.prepare(&sql::postgres_sql(sql)).await?;
    prepared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(sql.to_string(), statement.clone());
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_read_with_its_tls_settings_taken_out() {
        let t = Target::parse(
            "postgres://slaclaim@db.partner.example:6432/ledger?sslmode=verify-full&sslrootcert=/etc/ssl/pg.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(t.ssl_mode, SslMode::VerifyFull);
        assert_eq!(t.root_cert, Some(PathBuf::from("/etc/ssl/pg.pem")));
        assert_eq!(t.shown(), "slaclaim@db.partner.example:6432/ledger");
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        // libpq's default.
        let t = Target::parse("postgresql://u@127.0.0.1/db").unwrap();
        assert_eq!(t.ssl_mode, SslMode::Prefer);
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_being_repeated() {
        for url in [
            "postgres://slaclaim:hunter2@127.0.0.1/db",
            "postgres://slaclaim@127.0.0.1/db?password=hunter2",
        ] {
            let e = Target::parse(url).unwrap_err().to_string();
            assert!(e.contains("password-file"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
        let e = Target::parse("postgres://u@h/db?sslmode=sometimes").unwrap_err();
        assert!(e.to_string().contains("verify-full"), "{e}");
        assert!(Target::parse("mysql://u@h/db").is_err());
    }
}
