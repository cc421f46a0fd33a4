//! The ledger: every message, ticket, claim and outgoing mail, in one SQLite file or
//! (for several instances) one PostgreSQL database.
//!
//! All SQL lives here, behind plain methods that say the same on both backends
//! ([`sql`] bridges their dialects; [`postgres`] connects). SQLite runs in WAL mode with
//! foreign keys on; migrations are embedded and applied in order by `PRAGMA
//! user_version`, PostgreSQL's by its `schema_version` table.

mod corrections;
mod graph;
mod inbox;
mod leases;
mod outbox;
pub mod postgres;
pub mod private;
pub mod sql;

pub use corrections::{CorrectionRow, NewCorrection, Unreadable};
pub use graph::{GraphCheck, NewGraphCheck};
pub use inbox::Pending;
pub use leases::{Lease, gone_on_this_host, instance_id, instance_pid};
pub use outbox::{Delivered, MailSummary, NewMail, QueuedMail};

use rusqlite::Connection;
use sql::{Row, Value, args};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_indexes.sql"),
    include_str!("0003_status_index.sql"),
    include_str!("0004_outbox.sql"),
    include_str!("0005_raw_table.sql"),
    include_str!("0006_outbox_last_byte.sql"),
    include_str!("0007_inbox.sql"),
    include_str!("0008_reading.sql"),
    include_str!("0009_outbox_delivery.sql"),
    include_str!("0010_claim_revision.sql"),
    include_str!("0011_trust.sql"),
    include_str!("0012_corrections.sql"),
    include_str!("0013_graph.sql"),
    include_str!("0014_leases.sql"),
    include_str!("0015_claim_plans.sql"),
    include_str!("0016_statement_revisions.sql"),
    include_str!("0017_ticket_numbers.sql"),
];

/// How much of a message's raw bytes goes to SQLite in one write.
const RAW_PIECE: usize = 256 * 1024;

/// The store file's name inside the state directory.
pub const FILE_NAME: &str = "slaclaim.sqlite3";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory could not be created.
    #[error("cannot create state directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error("cannot open store {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer slaclaim.
    #[error(
        "store {path} has schema version {found}, newer than this slaclaim ({known}); upgrade slaclaim"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A query failed.
    #[error("store query failed: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A PostgreSQL statement failed, or the database could not be reached.
    #[error(transparent)]
    Pg(#[from] postgres::PgError),
    /// A value read is not of the type asked for.
    #[error("store value: {0}")]
    Type(String),
    /// A row that must exist does not.
    #[error("store query found no row: {0}")]
    NoRow(String),
    /// What only the SQLite store does (blobs read in place, integrity_check).
    #[error("not on PostgreSQL: {0}")]
    SqliteOnly(&'static str),
    /// A stored message's bytes could not be read.
    #[error("cannot read a stored message's bytes: {0}")]
    Blob(std::io::Error),
}

/// Whether an error is SQLite's "database is busy/locked".
fn is_busy(e: &StoreError) -> bool {
    let sqlite = match e {
        StoreError::Open { source, .. } | StoreError::Sql(source) => source,
        _ => return false,
    };
    matches!(
        sqlite.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The stored message a new one duplicates (`?1` its source key, `?2` Message-ID, `?3`
/// SHA-256): by source key first, else by Message-ID and hash; one question for both,
/// one round trip on PostgreSQL. The parameters' types are said, for PostgreSQL.
const DUPLICATE_OF: &str = "SELECT id FROM (
        SELECT id, 0 AS rank FROM messages WHERE source_key = CAST(?1 AS TEXT)
        UNION ALL
        SELECT id, 1 FROM messages
        WHERE COALESCE(message_id, '') = COALESCE(CAST(?2 AS TEXT), '') AND sha256 = CAST(?3 AS TEXT)
    ) AS found ORDER BY rank LIMIT 1";

/// What [`Store::insert_new_message`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored under this row id.
    New(i64),
    /// Not stored: a duplicate of this row.
    Duplicate(i64),
}

/// A message as it is written to the store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// "file", "maildir" or "imap".
    pub source: &'a str,
    /// Unique key within the source (path, Maildir name, mailbox/UIDVALIDITY/UID).
    pub source_key: Option<&'a str>,
    /// Message-ID without brackets.
    pub message_id: Option<&'a str>,
    /// Hex SHA-256 of `raw`.
    pub sha256: &'a str,
    /// The raw bytes.
    pub raw: &'a [u8],
    /// The Date header, RFC 3339.
    pub sent_at: Option<String>,
    /// From address.
    pub sender: Option<&'a str>,
    /// From domain.
    pub sender_domain: Option<&'a str>,
    /// Subject, decoded; "" when the message had none.
    pub subject: &'a str,
    /// Kind, snake_case.
    pub kind: Option<&'a str>,
    /// Extraction JSON.
    pub extraction: Option<&'a str>,
    /// "processed" or "quarantined".
    pub status: &'a str,
    /// Why it was quarantined.
    pub error: Option<&'a str>,
}

impl<'a> NewMessage<'a> {
    /// A message stored by its bytes alone, nothing read from its headers.
    pub fn unread(
        source: &'a str,
        source_key: Option<&'a str>,
        sha256: &'a str,
        raw: &'a [u8],
        status: &'a str,
        error: Option<&'a str>,
    ) -> NewMessage<'a> {
        NewMessage {
            source,
            source_key,
            message_id: None,
            sha256,
            raw,
            sent_at: None,
            sender: None,
            sender_domain: None,
            subject: "",
            kind: None,
            extraction: None,
            status,
            error,
        }
    }
}

/// Where a claim stands. The store keeps it by name; which moves between statuses are
/// allowed is the ledger's to say (`ledger::lifecycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Information is still missing.
    Collecting,
    /// The checklist is complete.
    Ready,
    /// A draft was sent to the helpdesk.
    Drafted,
    /// Staff submitted it in Partner Center.
    Submitted,
    /// Not claimable: an advisory, or not bought through CSP.
    Ineligible,
    /// The deadline passed before it was submitted.
    Expired,
    /// The customer withdrew it (staff said so).
    Withdrawn,
}

impl Status {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Collecting => "collecting",
            Status::Ready => "ready",
            Status::Drafted => "drafted",
            Status::Submitted => "submitted",
            Status::Ineligible => "ineligible",
            Status::Expired => "expired",
            Status::Withdrawn => "withdrawn",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Collecting,
            Status::Ready,
            Status::Drafted,
            Status::Submitted,
            Status::Ineligible,
            Status::Expired,
            Status::Withdrawn,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Final states: nothing a customer writes changes them.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::Ineligible | Status::Expired | Status::Withdrawn
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A claim row.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    /// Row id.
    pub id: i64,
    /// Owning ticket's row id.
    pub ticket_id: i64,
    /// The ticket's reference ("SLA-42").
    pub ticket: String,
    /// Tenant GUID, "" while unknown.
    pub tenant_id: String,
    /// Incident ID, "" while unknown.
    pub incident_id: String,
    /// Where it stands.
    pub status: Status,
    /// Incident start, RFC 3339.
    pub incident_start: Option<String>,
    /// The start is the first request's date, not the outage's.
    pub start_assumed: bool,
    /// Microsoft's deadline, YYYY-MM-DD.
    pub deadline: Option<String>,
    /// Internal submit-by date.
    pub submit_by: Option<String>,
    /// Microsoft case number once submitted.
    pub case_number: Option<String>,
    /// Why staff must look at it, when mail could not decide.
    pub review: Option<String>,
}

/// One evidence row: a checklist field's value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRow {
    /// Field name.
    pub field: String,
    /// JSON value.
    pub value: String,
    /// Row id of the message it came from.
    pub message: i64,
    /// That message's Message-ID.
    pub message_id: Option<String>,
    /// That message's Date header.
    pub sent_at: Option<String>,
    /// That message's sender.
    pub sender: Option<String>,
    /// When the value last changed, RFC 3339.
    pub updated_at: String,
}

impl EvidenceRow {
    /// The value as JSON (null if the stored text is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.value).unwrap_or(serde_json::Value::Null)
    }
}

/// A claim with its evidence and its staff corrections ([`Store::claim_state`]).
pub type ClaimState = (ClaimRow, Vec<EvidenceRow>, Vec<CorrectionRow>);

/// What [`Store::look_ahead`] found for a batch.
#[derive(Debug, Default)]
pub struct LookedAhead {
    /// The ticket each claim key names, in the order asked.
    pub tickets: Vec<Option<i64>>,
    /// Ids reserved for new claims (PostgreSQL only).
    pub claim_ids: Vec<i64>,
    /// The id the next new ticket takes (PostgreSQL only, when claims may be opened).
    pub next_ticket: Option<i64>,
}

/// A recorded status change.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When, RFC 3339.
    pub at: String,
    /// Previous status.
    pub from: Option<Status>,
    /// New status.
    pub to: Status,
    /// Why.
    pub reason: String,
}

/// The ledger: SQLite by default, or PostgreSQL ([`Store::connect`]). Every method says
/// the same on both; where their SQL differs the method says which.
pub struct Store {
    db: Db,
    /// Reads answered ahead while [`Store::reading_ahead`] runs.
    ahead: std::cell::RefCell<Option<ReadAhead>>,
}

/// Reads about one subject, asked together ([`Store::reading_ahead`]).
struct ReadAhead {
    /// The subject's id.
    subject: i64,
    /// Each query asked with the subject's id as its one argument, in order.
    asked: Vec<String>,
    /// Answers of the queries asked ahead, by their text: what asking now would give.
    answers: Vec<(String, Vec<Row>)>,
}

/// Where a ledger is kept: what each of the daemon's tasks and each command opens.
#[derive(Clone)]
pub enum Location {
    /// `slaclaim.sqlite3` in a state directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database: the connections every store opened here shares, with the
    /// password read once at start (None for trust or peer authentication).
    Postgres(std::sync::Arc<postgres::pool::Pool>),
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.write_str(&self.describe())
    }
}

impl Location {
    /// A PostgreSQL database, with a pool of connections for every store opened on it.
    pub fn postgres(target: postgres::Target, password: Option<std::sync::Arc<str>>) -> Location {
        Location::Postgres(std::sync::Arc::new(postgres::pool::Pool::new(
            target, password,
        )))
    }

    /// Opens the ledger (migrating it when it is older than this build).
    pub fn open(&self) -> Result<Store, StoreError> {
        match self {
            Location::Sqlite(dir) => Store::open(dir),
            Location::Postgres(pool) => Store::on_pool(pool),
        }
    }

    /// The state directory, or the database as user@host:port/name.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(dir) => dir.join(FILE_NAME).display().to_string(),
            Location::Postgres(pool) => format!("postgres://{}", pool.target().shown()),
        }
    }
}

/// The database behind a [`Store`].
enum Db {
    Sqlite(Connection),
    Postgres(Box<postgres::pool::Lent>),
}

impl Store {
    /// Opens (creating if needed) the store in `state_dir` and migrates it.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        let dir_err = |source| StoreError::Dir {
            path: state_dir.to_path_buf(),
            source,
        };
        crate::store::private::create_dir(state_dir).map_err(dir_err)?;
        let path = state_dir.join(FILE_NAME);
        // Made 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
        // database file's mode.
        crate::store::private::create_empty(&path).map_err(dir_err)?;
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        // Switching a new file to WAL and migrating it take exclusive locks, and SQLite
        // answers "busy" there without waiting when another process is doing the same:
        // such an open is retried for a while instead of failed.
        let mut attempt = 0u32;
        loop {
            let conn = Connection::open(&path).map_err(open_err)?;
            let mut store = Store {
                db: Db::Sqlite(conn),
                ahead: Default::default(),
            };
            let result = store
                .configure()
                .map_err(open_err)
                .and_then(|()| store.migrate(&path));
            match result {
                Ok(()) => return Ok(store),
                Err(e) if is_busy(&e) && attempt < 200 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(
                        10 + u64::from(attempt % 7) * 5,
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// An in-memory store, for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        let mut store = Store {
            db: Db::Sqlite(conn),
            ahead: Default::default(),
        };
        store.configure()?;
        store.migrate(&path)?;
        Ok(store)
    }

    /// Opens the ledger in a PostgreSQL database and brings its schema up to date, with
    /// a pool of its own (see [`Store::on_pool`] to share one).
    pub fn connect(target: &postgres::Target, password: Option<&str>) -> Result<Store, StoreError> {
        Location::postgres(target.clone(), password.map(Into::into)).open()
    }

    /// Opens the ledger on a pool's connections (brought up to date the first time):
    /// the store borrows one for each statement or transaction.
    pub fn on_pool(pool: &std::sync::Arc<postgres::pool::Pool>) -> Result<Store, StoreError> {
        pool.ready()?;
        Ok(Store {
            db: Db::Postgres(Box::new(postgres::pool::Lent::new(pool.clone()))),
            ahead: Default::default(),
        })
    }

    /// The SQLite connection, for what only SQLite has (pragmas, blobs, copying).
    pub(crate) fn sqlite(&self) -> Result<&Connection, StoreError> {
        match &self.db {
            Db::Sqlite(conn) => Ok(conn),
            Db::Postgres(_) => Err(StoreError::SqliteOnly("a SQLite connection")),
        }
    }

    /// Whether this store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.db, Db::Postgres(_))
    }

    fn configure(&self) -> Result<(), rusqlite::Error> {
        let Db::Sqlite(conn) = &self.db else {
            return Ok(());
        };
        // First: another process (the daemon's tasks, a CLI command) may be opening or
        // writing the same file, and every step below must wait for it, not fail.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL: readers (CLI) never block the daemon's writer; NORMAL sync is durable in WAL.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 64 KiB of page cache per connection (SQLite defaults to 2 MB): the daemon keeps
        // four connections open for months, and the OS caches the file anyway (256 KiB
        // each: idle RSS 18.4 -> 17.5 MB).
        conn.pragma_update(None, "cache_size", -64)?;
        // Every statement is prepared once and kept: parsing SQL was a sixth of ingest time.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(())
    }

    fn migrate(&mut self, path: &Path) -> Result<(), StoreError> {
        // Up to date (every open but the first after an upgrade): no write lock, so a CLI
        // command or a monitor opening the ledger never makes the daemon's writes wait.
        let Db::Sqlite(conn) = &mut self.db else {
            return Ok(());
        };
        let known = MIGRATIONS.len() as i64;
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current == known {
            return Ok(());
        }
        // The version is read again under the write lock: two processes opening a new
        // store at once (the daemon and a CLI command) must not both apply a migration.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > known {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `f` in one transaction: all of it lands, or none of it.
    pub fn transaction<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        // SQLite takes the write lock at once: a transaction that reads first and then
        // writes could otherwise fail half way when another connection wrote meanwhile.
        // PostgreSQL: one writer at a time across every connection and instance, as
        // SQLite's file lock gives; the lock ends with the transaction.
        self.transaction_with(postgres::BEGIN_WRITE, f)
    }

    /// [`Store::transaction`] for writes to rows this instance alone holds (its
    /// readings, its custody and mailbox state, an outbox row it leased), where the
    /// database's own keys settle any race: on PostgreSQL it leaves the ledger's write
    /// lock to other instances, which would otherwise wait for it (and it for them).
    /// On SQLite the same as [`Store::transaction`]: the file has one writer at a time.
    pub fn transaction_on_own_rows<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction_with("BEGIN", f)
    }

    /// A transaction begun on PostgreSQL with `pg_begin`.
    fn transaction_with<T, E: From<StoreError>>(
        &mut self,
        pg_begin: &str,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let begin = match self.db {
            Db::Sqlite(_) => "BEGIN IMMEDIATE",
            Db::Postgres(_) => pg_begin,
        };
        // On PostgreSQL the begin goes with the first statement, which reports a lock
        // that failed; f's error then rolls back below.
        self.batch(begin).map_err(E::from)?;
        match f(self) {
            Ok(v) => {
                self.batch("COMMIT").map_err(E::from)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs statements without parameters.
    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.wrote();
        match &self.db {
            Db::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Db::Postgres(pg) => Ok(pg.batch(sql)?),
        }
    }

    /// Runs one statement (SQLite's SQL, see [`sql::postgres_sql`]); returns the rows
    /// it changed. Statements are prepared once and kept.
    fn exec(&self, sql: &str, args: &[Value]) -> Result<usize, StoreError> {
        self.wrote();
        match &self.db {
            Db::Sqlite(conn) => Ok(conn
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(args))?),
            Db::Postgres(pg) => Ok(usize::try_from(pg.execute(sql, args)?).unwrap_or(usize::MAX)),
        }
    }

    /// Runs a write whose answer nobody waits for. On PostgreSQL, inside a transaction,
    /// it goes with the next statement or the `COMMIT` in one round trip, and a failure
    /// fails that one instead (the transaction is lost either way).
    fn exec_later(&self, sql: &str, args: &[Value]) -> Result<(), StoreError> {
        self.wrote();
        match &self.db {
            Db::Sqlite(_) => self.exec(sql, args).map(drop),
            Db::Postgres(pg) => Ok(pg.execute_later(sql, args)?),
        }
    }

    /// Every row of a query, each made into a `T` by `f`.
    fn all<T>(
        &self,
        sql: &str,
        args: &[Value],
        mut f: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.rows(sql, args, usize::MAX)?
            .iter()
            .map(&mut f)
            .collect()
    }

    /// The first row of a query, if any, made into a `T` by `f`.
    fn opt<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl FnOnce(&Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.rows(sql, args, 1)?.first().map(f).transpose()
    }

    /// The first row of a query, which must exist.
    fn one<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl FnOnce(&Row) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.opt(sql, args, f)?
            .ok_or_else(|| StoreError::NoRow(sql.chars().take(80).collect()))
    }

    /// At most `limit` rows of a query.
    fn rows(&self, sql: &str, args: &[Value], limit: usize) -> Result<Vec<Row>, StoreError> {
        match &self.db {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
                let mut out = Vec::new();
                while out.len() < limit {
                    let Some(r) = rows.next()? else { break };
                    let values = (0..width)
                        .map(|i| r.get_ref(i).map(sql::from_sqlite))
                        .collect::<Result<Vec<_>, _>>()?;
                    out.push(Row(values));
                }
                Ok(out)
            }
            Db::Postgres(pg) => {
                let mut rows = match self.answered_ahead(sql, args) {
                    Some(rows) => rows,
                    None => pg.query(sql, args)?,
                };
                rows.truncate(limit);
                Ok(rows)
            }
        }
    }

    /// Runs `f`, which reads about one subject (`id`, a claim), with the queries of
    /// `ahead` (each taking the id as its one argument) asked beforehand, all together:
    /// on PostgreSQL one round trip where `f` would wait for one each. `f` gets their
    /// answers when it asks them; anything else it asks is asked as it goes. Returns
    /// `f`'s result and the queries `f` asked with the id as their one argument, to be
    /// asked ahead for a subject like it. A write ends the answers (they would be older
    /// than it). SQLite asks as it goes, at no cost, and learns nothing.
    pub fn reading_ahead<T>(
        &self,
        id: i64,
        ahead: &[String],
        f: impl FnOnce(&Store) -> T,
    ) -> Result<(T, Vec<String>), StoreError> {
        if !self.is_postgres() {
            return Ok((f(self), Vec::new()));
        }
        let arg = [Value::Int(id)];
        let queries: Vec<(&str, &[Value])> = ahead.iter().map(|q| (q.as_str(), &arg[..])).collect();
        let answers = match queries.is_empty() {
            true => Vec::new(),
            false => self.rows_together(&queries)?,
        };
        *self.ahead.borrow_mut() = Some(ReadAhead {
            subject: id,
            asked: Vec::new(),
            answers: ahead.iter().cloned().zip(answers).collect(),
        });
        // The answers end with `f`, even when it panics: a store used again afterwards
        // must not answer from them.
        struct End<'a>(&'a std::cell::RefCell<Option<ReadAhead>>);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                self.0.borrow_mut().take();
            }
        }
        let end = End(&self.ahead);
        let done = f(self);
        let asked = end.0.borrow_mut().take().map(|a| a.asked);
        Ok((done, asked.unwrap_or_default()))
    }

    /// What [`Store::reading_ahead`] has for this query, if it was asked ahead; each
    /// query about the subject is noted.
    fn answered_ahead(&self, sql: &str, args: &[Value]) -> Option<Vec<Row>> {
        let mut ahead = self.ahead.borrow_mut();
        let a = ahead.as_mut()?;
        if !matches!(args, [Value::Int(n)] if *n == a.subject) {
            return None;
        }
        if !a.asked.iter().any(|q| q == sql) {
            a.asked.push(sql.to_string());
        }
        a.answers
            .iter()
            .find(|(q, _)| q == sql)
            .map(|(_, rows)| rows.clone())
    }

    /// A write: answers read ahead are older than it from now on.
    fn wrote(&self) {
        if let Some(a) = self.ahead.borrow_mut().as_mut() {
            a.answers.clear();
        }
    }

    /// Every row of each query, in order: on PostgreSQL all in one round trip (with the
    /// writes held back before them), for reads that do not depend on each other.
    fn rows_together(&self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, StoreError> {
        match &self.db {
            Db::Sqlite(_) => queries
                .iter()
                .map(|(sql, args)| self.rows(sql, args, usize::MAX))
                .collect(),
            Db::Postgres(pg) => Ok(pg.query_together(queries)?),
        }
    }

    /// Whether a message with this source key is stored.
    pub fn has_source_key(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .opt(
                "SELECT 1 FROM messages WHERE source_key = ?1",
                args![key],
                |_| Ok(()),
            )?
            .is_some())
    }

    /// The stored message with this source key, or with this Message-ID and hash.
    pub fn find_duplicate(
        &self,
        source_key: Option<&str>,
        message_id: Option<&str>,
        sha256: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.opt(DUPLICATE_OF, args![source_key, message_id, sha256], |r| {
            r.get(0)
        })
    }

    /// Stores a message unless it is a duplicate ([`Store::find_duplicate`] by its
    /// source key, Message-ID and hash): its new row id, or the row it duplicates. On
    /// PostgreSQL the check and the insert are one statement, one round trip.
    pub fn insert_new_message(
        &self,
        m: &NewMessage<'_>,
        now: &str,
    ) -> Result<Inserted, StoreError> {
        if !self.is_postgres() {
            if let Some(of) = self.find_duplicate(m.source_key, m.message_id, m.sha256)? {
                return Ok(Inserted::Duplicate(of));
            }
            return self.insert_message(m, now).map(Inserted::New);
        }
        let rows = self.rows(&insert_new_pg(), &insert_new_args(m, now), 1)?;
        inserted(rows.first())
    }

    /// [`Store::insert_new_message`] for several messages, in order: each later one
    /// that repeats an earlier one is its duplicate. On PostgreSQL in one round trip.
    pub fn insert_new_messages(
        &self,
        messages: &[NewMessage<'_>],
        now: &str,
    ) -> Result<Vec<Inserted>, StoreError> {
        if !self.is_postgres() {
            return messages
                .iter()
                .map(|m| self.insert_new_message(m, now))
                .collect();
        }
        let sql = insert_new_pg();
        let args: Vec<Vec<Value>> = messages.iter().map(|m| insert_new_args(m, now)).collect();
        let queries: Vec<(&str, &[Value])> = args.iter().map(|a| (sql.as_str(), &a[..])).collect();
        self.rows_together(&queries)?
            .iter()
            .map(|rows| inserted(rows.first()))
            .collect()
    }

    /// Stores a message; returns its row id.
    pub fn insert_message(&self, m: &NewMessage<'_>, now: &str) -> Result<i64, StoreError> {
        if self.is_postgres() {
            // The message and its bytes in one round trip.
            return self.one(
                "WITH m AS (
                    INSERT INTO messages (source, source_key, message_id, sha256, received_at, sent_at, sender, sender_domain, subject, kind, extraction, status, error)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id)
                 INSERT INTO message_raw (id, raw) SELECT id, CAST(?14 AS BYTEA) FROM m RETURNING id",
                args![m.source, m.source_key, m.message_id, m.sha256, now, m.sent_at, m.sender, m.sender_domain, m.subject, m.kind, m.extraction, m.status, m.error, m.raw],
                |r| r.get(0),
            );
        }
        let id: i64 = self.one(
            "INSERT INTO messages (source, source_key, message_id, sha256, received_at, sent_at, sender, sender_domain, subject, kind, extraction, status, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
            args![m.source, m.source_key, m.message_id, m.sha256, now, m.sent_at, m.sender, m.sender_domain, m.subject, m.kind, m.extraction, m.status, m.error],
            |r| r.get(0),
        )?;
        if m.raw.len() <= RAW_PIECE {
            // Small (nearly all mail): one bound value is cheapest.
            self.exec(
                "INSERT INTO message_raw (id, raw) VALUES (?1, ?2)",
                args![id, m.raw],
            )?;
            return Ok(id);
        }
        // Large: written in pieces into a zero-filled blob, since binding it as one value
        // would make SQLite copy the whole message twice (bound value, record).
        self.exec(
            "INSERT INTO message_raw (id, raw) VALUES (?1, zeroblob(?2))",
            args![id, m.raw.len() as i64],
        )?;
        self.write_blob(c"message_raw", id, m.raw)?;
        Ok(id)
    }

    /// Fills the zero-filled `raw` column of row `id` in `table` in RAW_PIECE writes
    /// (SQLite only).
    fn write_blob(&self, table: &std::ffi::CStr, id: i64, raw: &[u8]) -> Result<(), StoreError> {
        let mut blob = self
            .sqlite()?
            .blob_open(rusqlite::MAIN_DB, table, c"raw", id, false)?;
        for (i, piece) in raw.chunks(RAW_PIECE).enumerate() {
            blob.write_at(piece, i * RAW_PIECE)?;
        }
        Ok(())
    }

    /// The raw bytes of a stored message.
    pub fn raw_message(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        if self.is_postgres() {
            return self.opt(
                "SELECT raw FROM message_raw WHERE id = ?1",
                args![id],
                |r| r.get(0),
            );
        }
        let stored = self.opt("SELECT 1 FROM message_raw WHERE id = ?1", args![id], |_| {
            Ok(())
        })?;
        stored
            .map(|()| self.read_blob(c"message_raw", id))
            .transpose()
    }

    /// The `raw` column of row `id` in `table`, read straight into one buffer of its
    /// size: selected as a value, SQLite would assemble a copy of its own first (a
    /// second 25 MB for a 25 MB message).
    fn read_blob(&self, table: &std::ffi::CStr, id: i64) -> Result<Vec<u8>, StoreError> {
        use std::io::Read;
        let Db::Sqlite(conn) = &self.db else {
            let table = table
                .to_str()
                .map_err(|e| StoreError::Type(e.to_string()))?;
            return self.one(
                &format!("SELECT raw FROM {table} WHERE id = ?1"),
                args![id],
                |r| r.get(0),
            );
        };
        let mut blob = conn.blob_open(rusqlite::MAIN_DB, table, c"raw", id, true)?;
        let mut raw = Vec::with_capacity(blob.len());
        blob.read_to_end(&mut raw).map_err(StoreError::Blob)?;
        Ok(raw)
    }

    /// Attaches a message to a ticket.
    pub fn set_message_ticket(&self, message: i64, ticket: i64) -> Result<(), StoreError> {
        self.exec_later(
            "UPDATE messages SET ticket_id = ?2 WHERE id = ?1",
            args![message, ticket],
        )?;
        Ok(())
    }

    /// The ticket of the newest stored message (or sent mail) with one of these Message-IDs.
    pub fn ticket_by_thread(&self, message_ids: &[String]) -> Result<Option<i64>, StoreError> {
        for id in message_ids.iter().rev() {
            let id = id.trim_matches(['<', '>', ' ']);
            let found = self.opt(
                "SELECT ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL
                 UNION ALL
                 SELECT c.ticket_id FROM outbox o JOIN claims c ON c.id = o.claim_id WHERE o.message_id = ?1
                 LIMIT 1",
                args![id],
                |r| r.get(0),
            )?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Opens a new ticket; its reference is `SLA-<id>`. Its id is the highest one so far
    /// plus one, as SQLite numbers a row, on PostgreSQL too: every writer of the ledger
    /// holds its write lock, so the numbers customers see have no gaps, not even after a
    /// rollback (which an identity's would have), and a batch can number the tickets it
    /// opens without asking ([`Store::create_ticket_as`]).
    pub fn create_ticket(
        &self,
        sender_domain: Option<&str>,
        now: &str,
    ) -> Result<(i64, String), StoreError> {
        let id: i64 = self.one(
            "INSERT INTO tickets (id, reference, sender_domain, created_at)
             SELECT n, 'SLA-' || n, ?1, ?2 FROM (SELECT COALESCE(MAX(id), 0) + 1 AS n FROM tickets) AS next
             RETURNING id",
            args![sender_domain, now],
            |r| r.get(0),
        )?;
        Ok((id, format!("SLA-{id}")))
    }

    /// [`Store::create_ticket`] under the id [`Store::look_ahead`] said comes next:
    /// nothing waits for an answer (on PostgreSQL the row goes with the next statement).
    pub fn create_ticket_as(
        &self,
        id: i64,
        sender_domain: Option<&str>,
        now: &str,
    ) -> Result<String, StoreError> {
        let reference = format!("SLA-{id}");
        self.exec_later(
            "INSERT INTO tickets (id, reference, sender_domain, created_at) VALUES (?1, ?2, ?3, ?4)",
            args![id, reference, sender_domain, now],
        )?;
        Ok(reference)
    }

    /// The ticket with this reference ("SLA-42", case-insensitive, leading zeros ignored).
    pub fn ticket_by_reference(&self, reference: &str) -> Result<Option<i64>, StoreError> {
        let Some(n) = reference
            .trim()
            .to_ascii_uppercase()
            .strip_prefix("SLA-")
            .and_then(|n| n.parse::<i64>().ok())
        else {
            return Ok(None);
        };
        self.opt("SELECT id FROM tickets WHERE id = ?1", args![n], |r| {
            r.get(0)
        })
    }

    /// The reference of a ticket.
    pub fn ticket_reference(&self, ticket: i64) -> Result<String, StoreError> {
        self.one(
            "SELECT reference FROM tickets WHERE id = ?1",
            args![ticket],
            |r| r.get(0),
        )
    }

    /// The ticket known by one of these external references (partner tickets, cases).
    pub fn ticket_by_external_ref(&self, refs: &[String]) -> Result<Option<i64>, StoreError> {
        for r in refs {
            let found = self.opt(
                "SELECT ticket_id FROM ticket_refs WHERE reference = ?1 ORDER BY ticket_id DESC LIMIT 1",
                args![r],
                |row| row.get(0),
            )?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Records external references for a ticket.
    pub fn add_ticket_refs(&self, ticket: i64, refs: &[String]) -> Result<(), StoreError> {
        for r in refs {
            self.exec_later(
                "INSERT OR IGNORE INTO ticket_refs (ticket_id, reference) VALUES (?1, ?2)",
                args![ticket, r],
            )?;
        }
        Ok(())
    }

    /// A ticket from the same sender domain with an open claim for this tenant and
    /// incident whose deadline has not passed.
    pub fn ticket_by_claim_key(
        &self,
        sender_domain: &str,
        tenant: &str,
        incident: &str,
        today: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.opt(
            BY_CLAIM_KEY,
            args![sender_domain, tenant, incident, today],
            |r| r.get(0),
        )
    }

    /// What a batch of messages will ask while it is linked, asked together (on
    /// PostgreSQL in one round trip): [`Store::ticket_by_claim_key`] for each (sender
    /// domain, tenant, incident) of `keys`, in order, and on PostgreSQL, when the batch
    /// may open `claims` new claims, ids for them ([`Store::create_claim_as`]) and the
    /// id the next ticket takes ([`Store::create_ticket_as`]). SQLite numbers a row as
    /// it stores it, at no cost, and is asked for neither.
    pub fn look_ahead(
        &self,
        keys: &[(&str, &str, &str)],
        today: &str,
        claims: usize,
    ) -> Result<LookedAhead, StoreError> {
        let keyed: Vec<Vec<Value>> = keys
            .iter()
            .map(|(domain, tenant, incident)| args![*domain, *tenant, *incident, today].to_vec())
            .collect();
        let count = [Value::Int(claims as i64)];
        let mut queries: Vec<(&str, &[Value])> =
            keyed.iter().map(|a| (BY_CLAIM_KEY, &a[..])).collect();
        let reserve = self.is_postgres() && claims > 0;
        if reserve {
            queries.push((
                "SELECT nextval(pg_get_serial_sequence('claims', 'id')) FROM generate_series(1, ?1)",
                &count,
            ));
            // Read under the write lock the batch holds: no other writer opens a ticket
            // until it commits.
            queries.push(("SELECT COALESCE(MAX(id), 0) + 1 FROM tickets", &[]));
        }
        let mut answers = self.rows_together(&queries)?;
        let (claim_ids, next_ticket) = match reserve {
            true => {
                let next = answers.pop().unwrap_or_default();
                let next = next.first().map(|r| r.get(0)).transpose()?;
                let ids = answers
                    .pop()
                    .unwrap_or_default()
                    .iter()
                    .map(|r| r.get(0))
                    .collect::<Result<Vec<i64>, _>>()?;
                (ids, next)
            }
            false => (Vec::new(), None),
        };
        let tickets = answers
            .iter()
            .map(|rows| rows.first().map(|r| r.get(0)).transpose())
            .collect::<Result<_, _>>()?;
        Ok(LookedAhead {
            tickets,
            claim_ids,
            next_ticket,
        })
    }

    /// Claims of one ticket, oldest first.
    pub fn claims_of_ticket(&self, ticket: i64) -> Result<Vec<ClaimRow>, StoreError> {
        self.claims_where("c.ticket_id = ?1", args![ticket])
    }

    /// One claim by row id.
    pub fn claim(&self, id: i64) -> Result<Option<ClaimRow>, StoreError> {
        Ok(self
            .claims_where("c.id = ?1", args![id])?
            .into_iter()
            .next())
    }

    /// Every claim's (id, revision), in `all_claims` order. The revision moves (by
    /// trigger) whenever the claim, its ticket, its evidence or its messages change.
    pub fn claim_revisions(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        self.all(
            "SELECT id, revision FROM claims ORDER BY deadline IS NULL, deadline, id",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The claims (with their revisions) that no instance planned at their current
    /// revision on `day` with these `settings` (see [`Store::record_plan`]), by deadline.
    pub fn claims_to_plan(&self, day: &str, settings: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        self.all(
            &format!(
                "SELECT c.id, c.revision FROM claims c LEFT JOIN claim_plans p ON {PLANNED_AS_IS}
                 WHERE p.claim_id IS NULL
                 ORDER BY c.deadline IS NULL, c.deadline, c.id"
            ),
            args![day, settings],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Whether claim `id` was planned at its current revision on `day` with `settings`
    /// (by any instance; see [`Store::record_plan`]).
    pub fn is_planned(&self, id: i64, day: &str, settings: &str) -> Result<bool, StoreError> {
        self.one(
            &format!(
                "SELECT COUNT(*) FROM claims c JOIN claim_plans p ON {PLANNED_AS_IS} WHERE c.id = ?3"
            ),
            args![day, settings, id],
            |r| Ok(r.get::<i64>(0)? > 0),
        )
    }

    /// Records that claim `id` was planned at `revision` on `day` with `settings`, in the
    /// transaction that queued its mail: another instance then leaves it until it changes.
    pub fn record_plan(
        &self,
        id: i64,
        revision: i64,
        day: &str,
        settings: &str,
    ) -> Result<(), StoreError> {
        self.exec_later(
            "INSERT INTO claim_plans (claim_id, revision, day, settings) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (claim_id) DO UPDATE SET revision = excluded.revision, day = excluded.day, settings = excluded.settings",
            args![id, revision, day, settings],
        )
    }

    /// For each of the claims `ids` that exists: its revision, and whether a plan was
    /// recorded at that revision on `day` with `settings` (see [`Store::record_plan`]).
    /// One question for them all.
    pub fn plan_states(
        &self,
        ids: &[i64],
        day: &str,
        settings: &str,
    ) -> Result<HashMap<i64, (i64, bool)>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut values = args![day, settings].to_vec();
        values.extend(ids.iter().map(|&id| Value::Int(id)));
        let rows = self.all(
            &format!(
                "SELECT c.id, c.revision, p.claim_id IS NOT NULL FROM claims c
                 LEFT JOIN claim_plans p ON {PLANNED_AS_IS} WHERE c.id IN ({})",
                placeholders(3, ids.len())
            ),
            &values,
            |r| Ok((r.get::<i64>(0)?, (r.get::<i64>(1)?, r.get::<bool>(2)?))),
        )?;
        Ok(rows.into_iter().collect())
    }

    /// The revisions of the claims `ids` that exist, in one question.
    pub fn revisions_of(&self, ids: &[i64]) -> Result<HashMap<i64, i64>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let values: Vec<Value> = ids.iter().map(|&id| Value::Int(id)).collect();
        let rows = self.all(
            &format!(
                "SELECT id, revision FROM claims WHERE id IN ({})",
                placeholders(1, ids.len())
            ),
            &values,
            |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
        )?;
        Ok(rows.into_iter().collect())
    }

    /// One claim's revision (see `claim_revisions`).
    pub fn claim_revision(&self, id: i64) -> Result<i64, StoreError> {
        self.one(
            "SELECT revision FROM claims WHERE id = ?1",
            args![id],
            |r| r.get(0),
        )
    }

    /// Every claim, by deadline (unknown deadlines last).
    pub fn all_claims(&self) -> Result<Vec<ClaimRow>, StoreError> {
        self.claims_where("1 = 1", &[])
    }

    fn claims_where(&self, condition: &str, args: &[Value]) -> Result<Vec<ClaimRow>, StoreError> {
        self.all(&claims_sql(condition), args, claim_row)
    }

    /// A claim with its evidence and its staff corrections, read together (one round
    /// trip on PostgreSQL); None when there is no such claim.
    pub fn claim_state(&self, id: i64) -> Result<Option<ClaimState>, StoreError> {
        let (claim, evidence, corrections) =
            (claims_sql("c.id = ?1"), EVIDENCE, corrections::CORRECTIONS);
        let args = args![id];
        let mut found = self
            .rows_together(&[(&claim, args), (evidence, args), (corrections, args)])?
            .into_iter();
        let mut next = || found.next().unwrap_or_default();
        let (claims, evidence, corrections) = (next(), next(), next());
        let Some(claim) = claims.first() else {
            return Ok(None);
        };
        Ok(Some((
            claim_row(claim)?,
            evidence
                .iter()
                .map(evidence_row)
                .collect::<Result<_, _>>()?,
            corrections
                .iter()
                .map(corrections::correction_row)
                .collect::<Result<_, _>>()?,
        )))
    }

    /// Creates a claim in status `status`; returns its id.
    pub fn create_claim(
        &self,
        ticket: i64,
        tenant: &str,
        incident: &str,
        status: Status,
        now: &str,
    ) -> Result<i64, StoreError> {
        let id: i64 = self.one(
            "INSERT INTO claims (ticket_id, tenant_id, incident_id, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
            args![ticket, tenant, incident, status, now],
            |r| r.get(0),
        )?;
        self.claim_opened(id, status, now)?;
        Ok(id)
    }

    /// [`Store::create_claim`] under an id reserved by [`Store::look_ahead`]: nothing
    /// waits for an answer (on PostgreSQL the row goes with the next statement).
    pub fn create_claim_as(
        &self,
        id: i64,
        ticket: i64,
        tenant: &str,
        incident: &str,
        status: Status,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec_later(
            "INSERT INTO claims (id, ticket_id, tenant_id, incident_id, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            args![id, ticket, tenant, incident, status, now],
        )?;
        self.claim_opened(id, status, now)
    }

    /// A new claim's first transition.
    fn claim_opened(&self, id: i64, status: Status, now: &str) -> Result<(), StoreError> {
        self.exec_later(
            "INSERT INTO transitions (claim_id, at, from_status, to_status, reason) VALUES (?1, ?2, NULL, ?3, 'claim opened')",
            args![id, now, status],
        )
    }

    /// Fills in a claim's tenant or incident once learned.
    pub fn set_claim_key(
        &self,
        claim: i64,
        tenant: &str,
        incident: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec_later(
            "UPDATE claims SET tenant_id = ?2, incident_id = ?3, updated_at = ?4 WHERE id = ?1",
            args![claim, tenant, incident, now],
        )?;
        Ok(())
    }

    /// Links a message to a claim.
    pub fn link_claim_message(&self, claim: i64, message: i64) -> Result<(), StoreError> {
        self.exec_later(
            "INSERT OR IGNORE INTO claim_messages (claim_id, message_id) VALUES (?1, ?2)",
            args![claim, message],
        )?;
        Ok(())
    }

    /// Links a message that may not change the claim: listed for staff, read for nothing.
    pub fn link_unverified(&self, claim: i64, message: i64) -> Result<(), StoreError> {
        self.exec_later(
            "INSERT OR IGNORE INTO claim_messages (claim_id, message_id, verified) VALUES (?1, ?2, 0)",
            args![claim, message],
        )?;
        Ok(())
    }

    /// Records a message's authentication verdict (JSON).
    pub fn set_message_trust(&self, message: i64, verdict: &str) -> Result<(), StoreError> {
        self.exec_later(
            "UPDATE messages SET trust = ?2 WHERE id = ?1",
            args![message, verdict],
        )?;
        Ok(())
    }

    /// Records why a message may not change its claims.
    pub fn set_message_standing(&self, message: i64, why: &str) -> Result<(), StoreError> {
        self.exec_later(
            "UPDATE messages SET standing = ?2 WHERE id = ?1",
            args![message, why],
        )?;
        Ok(())
    }

    /// Flags a claim for staff with `reason`, or clears the flag (None).
    pub fn set_review(
        &self,
        claim: i64,
        reason: Option<&str>,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec_later(
            "UPDATE claims SET review = ?2, updated_at = ?3 WHERE id = ?1 AND review IS DISTINCT FROM ?2",
            args![claim, reason, now],
        )?;
        Ok(())
    }

    /// The customer's domain of a ticket: its first requester's.
    pub fn ticket_domain(&self, ticket: i64) -> Result<Option<String>, StoreError> {
        self.one(
            "SELECT sender_domain FROM tickets WHERE id = ?1",
            args![ticket],
            |r| r.get(0),
        )
    }

    /// A message's stored verdict (JSON) and sender domain.
    pub fn message_trust(
        &self,
        message: i64,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        Ok(self
            .opt(
                "SELECT trust, sender_domain FROM messages WHERE id = ?1",
                args![message],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .unwrap_or((None, None)))
    }

    /// Mail linked to a claim that may not change it: (sender, subject, received, why).
    pub fn unverified_messages(
        &self,
        claim: i64,
    ) -> Result<Vec<(String, String, String, String)>, StoreError> {
        self.all("SELECT COALESCE(m.sender, ''), COALESCE(m.subject, ''), m.received_at, COALESCE(m.standing, '')
             FROM claim_messages cm JOIN messages m ON m.id = cm.message_id
             WHERE cm.claim_id = ?1 AND cm.verified = 0 ORDER BY m.id", args![claim], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
    }

    /// Sets several checklist fields of a claim at once, each (field, JSON value), all
    /// from one message: one statement (one round trip on PostgreSQL). A field named
    /// twice keeps its last value.
    pub fn set_evidence_all(
        &self,
        claim: i64,
        values: &[(String, String)],
        message: i64,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut unique: Vec<&(String, String)> = Vec::with_capacity(values.len());
        for v in values.iter().rev() {
            if !unique.iter().any(|u| u.0 == v.0) {
                unique.push(v);
            }
        }
        if unique.is_empty() {
            return Ok(());
        }
        let rows: Vec<String> = (0..unique.len())
            .map(|i| format!("(?1, ?{}, ?{}, ?2, ?3)", 4 + 2 * i, 5 + 2 * i))
            .collect();
        let mut bound = args![claim, message, now].to_vec();
        for (field, value) in unique.into_iter().rev() {
            bound.push(Value::Text(field.clone()));
            bound.push(Value::Text(value.clone()));
        }
        self.exec_later(
            &format!(
                "INSERT INTO evidence (claim_id, field, value, message_id, updated_at) VALUES {}
                 ON CONFLICT (claim_id, field) DO UPDATE SET value = excluded.value, message_id = excluded.message_id, updated_at = excluded.updated_at",
                rows.join(", ")
            ),
            &bound,
        )?;
        Ok(())
    }

    /// Sets one checklist field's value, with the message it came from.
    pub fn set_evidence(
        &self,
        claim: i64,
        field: &str,
        value_json: &str,
        message: i64,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec_later(
            "INSERT INTO evidence (claim_id, field, value, message_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (claim_id, field) DO UPDATE SET value = excluded.value, message_id = excluded.message_id, updated_at = excluded.updated_at",
            args![claim, field, value_json, message, now],
        )?;
        Ok(())
    }

    /// All evidence of a claim as (field, JSON value).
    pub fn evidence_values(
        &self,
        claim: i64,
    ) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        Ok(self
            .evidence(claim)?
            .into_iter()
            .map(|r| {
                let value = r.json();
                (r.field, value)
            })
            .collect())
    }

    /// All evidence of a claim.
    pub fn evidence(&self, claim: i64) -> Result<Vec<EvidenceRow>, StoreError> {
        self.all(EVIDENCE, args![claim], evidence_row)
    }

    /// Records the incident start and deadline of a claim.
    pub fn set_schedule(
        &self,
        claim: i64,
        start: &str,
        assumed: bool,
        deadline: &str,
        submit_by: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec_later(
            "UPDATE claims SET incident_start = ?2, start_assumed = ?3, deadline = ?4, submit_by = ?5, updated_at = ?6 WHERE id = ?1",
            args![claim, start, assumed as i64, deadline, submit_by, now],
        )?;
        Ok(())
    }

    /// Moves a claim to `to` and records why.
    pub fn set_status(
        &self,
        claim: i64,
        to: Status,
        reason: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let from: Status = self.one(
            "SELECT status FROM claims WHERE id = ?1",
            args![claim],
            |r| r.get(0),
        )?;
        self.move_status(claim, from, to, reason, now)
    }

    /// [`Store::set_status`] for a caller that knows the claim is at `from` (it checked
    /// the claim's revision in this transaction): nothing is read, so on PostgreSQL the
    /// writes go with the next statement.
    pub fn move_status(
        &self,
        claim: i64,
        from: Status,
        to: Status,
        reason: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        if from == to {
            return Ok(());
        }
        self.exec_later(
            "UPDATE claims SET status = ?2, updated_at = ?3 WHERE id = ?1",
            args![claim, to, now],
        )?;
        self.exec_later(
            "INSERT INTO transitions (claim_id, at, from_status, to_status, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            args![claim, now, from, to, reason],
        )?;
        Ok(())
    }

    /// Records the Microsoft case number of a submitted claim.
    pub fn set_case_number(&self, claim: i64, case: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE claims SET case_number = ?2 WHERE id = ?1",
            args![claim, case],
        )?;
        Ok(())
    }

    /// The status history of a claim, oldest first.
    pub fn transitions(&self, claim: i64) -> Result<Vec<Transition>, StoreError> {
        self.all("SELECT at, from_status, to_status, reason FROM transitions WHERE claim_id = ?1 ORDER BY id", args![claim], |r| {
            Ok(Transition {
                at: r.get(0)?,
                from: r.get(1)?,
                to: r.get(2)?,
                reason: r.get(3)?,
            })
        })
    }

    /// Where a mailbox folder was read up to: (UIDVALIDITY, last processed UID).
    pub fn mailbox_state(
        &self,
        mailbox: &str,
        folder: &str,
    ) -> Result<Option<(u32, u32)>, StoreError> {
        self.opt(
            "SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = ?1 AND folder = ?2",
            args![mailbox, folder],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Records where a mailbox folder was read up to.
    pub fn set_mailbox_state(
        &self,
        mailbox: &str,
        folder: &str,
        uidvalidity: u32,
        last_uid: u32,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO mailbox_state (mailbox, folder, uidvalidity, last_uid) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (mailbox, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
            args![mailbox, folder, uidvalidity, last_uid],
        )?;
        Ok(())
    }

    /// Leaves WAL checkpoints to the store's other connections until the log reaches
    /// 64 MB: for a source taking custody of a backlog, whose commits should not stop to
    /// copy the log into the database (the processing stage's commits do it, right after).
    pub fn defer_checkpoints(&self) -> Result<(), StoreError> {
        // In pages of 4 KiB; PostgreSQL checkpoints on its own terms.
        if let Db::Sqlite(conn) = &self.db {
            conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        }
        Ok(())
    }

    /// The newest stored message's row id, 0 when there is none: a constant-time way to
    /// see that something arrived (a count walks the whole index).
    pub fn latest_message(&self) -> Result<i64, StoreError> {
        self.one("SELECT COALESCE(MAX(id), 0) FROM messages", &[], |r| {
            r.get(0)
        })
    }

    /// SQLite's own check of the whole file: "ok", or what is wrong. PostgreSQL keeps
    /// its own pages checked (data checksums, WAL); a query answering is "ok" there.
    pub fn integrity(&self) -> Result<String, StoreError> {
        match self.db {
            Db::Sqlite(_) => self.one("PRAGMA integrity_check", &[], |r| r.get(0)),
            Db::Postgres(_) => self.one("SELECT 'ok'", &[], |r| r.get(0)),
        }
    }

    /// Quarantined messages, oldest first: each one's source key (or "#id") and reason.
    pub fn quarantined(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.all(
            "SELECT COALESCE(source_key, '#' || id), COALESCE(error, '') FROM messages
             WHERE status = 'quarantined' ORDER BY id",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Number of stored messages by status ("processed", "quarantined").
    pub fn message_count(&self, status: &str) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) FROM messages WHERE status = ?1",
            args![status],
            |r| r.get(0),
        )
    }
}

/// The newest ticket of a sender domain with a claim for a tenant and incident whose
/// deadline (?4: today) has not passed.
const BY_CLAIM_KEY: &str = "SELECT t.id FROM tickets t JOIN claims c ON c.ticket_id = t.id
     WHERE t.sender_domain = ?1 AND c.tenant_id = ?2 AND c.incident_id = ?3
       AND (c.deadline IS NULL OR c.deadline >= ?4)
     ORDER BY t.id DESC LIMIT 1";

/// PostgreSQL's insert of a message unless it is a duplicate, in one statement: the
/// duplicate found, or the new row. The parameters' types are said: in a SELECT list
/// PostgreSQL cannot infer them. The duplicate check is find_duplicate's, on the same
/// first three parameters.
fn insert_new_pg() -> String {
    format!(
        "WITH dup AS ({DUPLICATE_OF}),
         m AS (
             INSERT INTO messages (source, source_key, message_id, sha256, received_at, sent_at, sender, sender_domain, subject, kind, extraction, status, error)
             SELECT CAST(?4 AS TEXT), CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?3 AS TEXT), CAST(?5 AS TEXT),
                    CAST(?6 AS TEXT), CAST(?7 AS TEXT), CAST(?8 AS TEXT), CAST(?9 AS TEXT), CAST(?10 AS TEXT),
                    CAST(?11 AS TEXT), CAST(?12 AS TEXT), CAST(?13 AS TEXT)
             WHERE NOT EXISTS (SELECT 1 FROM dup) RETURNING id),
         r AS (INSERT INTO message_raw (id, raw) SELECT id, CAST(?14 AS BYTEA) FROM m)
         SELECT (SELECT id FROM dup), (SELECT id FROM m)"
    )
}

fn insert_new_args(m: &NewMessage<'_>, now: &str) -> Vec<Value> {
    args![
        m.source_key,
        m.message_id,
        m.sha256,
        m.source,
        now,
        m.sent_at,
        m.sender,
        m.sender_domain,
        m.subject,
        m.kind,
        m.extraction,
        m.status,
        m.error,
        m.raw
    ]
    .to_vec()
}

/// What [`insert_new_pg`]'s row says.
fn inserted(row: Option<&Row>) -> Result<Inserted, StoreError> {
    let (duplicate, new): (Option<i64>, Option<i64>) = match row {
        Some(r) => (r.get(0)?, r.get(1)?),
        None => (None, None),
    };
    match (duplicate, new) {
        (Some(of), _) => Ok(Inserted::Duplicate(of)),
        (None, Some(id)) => Ok(Inserted::New(id)),
        (None, None) => Err(StoreError::Type(
            "a message was neither stored nor found".into(),
        )),
    }
}

/// Claims with their ticket's reference, where `condition` holds, by deadline.
fn claims_sql(condition: &str) -> String {
    format!(
        "SELECT c.id, c.ticket_id, t.reference, c.tenant_id, c.incident_id, c.status, c.incident_start, c.start_assumed, c.deadline, c.submit_by, c.case_number, c.review
         FROM claims c JOIN tickets t ON t.id = c.ticket_id WHERE {condition}
         ORDER BY c.deadline IS NULL, c.deadline, c.id"
    )
}

fn claim_row(r: &Row) -> Result<ClaimRow, StoreError> {
    Ok(ClaimRow {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        ticket: r.get(2)?,
        tenant_id: r.get(3)?,
        incident_id: r.get(4)?,
        status: r.get(5)?,
        incident_start: r.get(6)?,
        start_assumed: r.get::<i64>(7)? != 0,
        deadline: r.get(8)?,
        submit_by: r.get(9)?,
        case_number: r.get(10)?,
        review: r.get(11)?,
    })
}

/// A claim's evidence (`?1`), each value with the headers of the message it came from.
/// The headers are looked up by key, row by row, rather than joined: PostgreSQL keeps
/// the plan it first made for a prepared statement, and a join planned while `messages`
/// was nearly empty scanned all of it for every claim later (246 µs a call at 1,200
/// messages, growing with them, until autovacuum's statistics made it plan again).
const EVIDENCE: &str = "SELECT e.field, e.value, e.message_id,
            (SELECT m.message_id FROM messages m WHERE m.id = e.message_id),
            (SELECT m.sent_at FROM messages m WHERE m.id = e.message_id),
            (SELECT m.sender FROM messages m WHERE m.id = e.message_id),
            e.updated_at
     FROM evidence e WHERE e.claim_id = ?1 ORDER BY e.field";

fn evidence_row(r: &Row) -> Result<EvidenceRow, StoreError> {
    Ok(EvidenceRow {
        field: r.get(0)?,
        value: r.get(1)?,
        message: r.get(2)?,
        message_id: r.get(3)?,
        sent_at: r.get(4)?,
        sender: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

/// `?first, ?first+1, …`: `n` numbered parameters for an `IN (…)` list.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const PLANNED_AS_IS: &str =
    "p.claim_id = c.id AND p.revision = c.revision AND p.day = ?1 AND p.settings = ?2";

/// Hex SHA-256 of bytes.
pub fn sha256_hex(raw: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_written_in_pieces_come_back_whole() {
        let store = Store::open_in_memory().unwrap();
        // Several pieces plus a ragged end, every byte value, and the empty message.
        let big: Vec<u8> = (0..RAW_PIECE * 3 + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        for raw in [&big[..], b"", b"x"] {
            let sha = sha256_hex(raw);
            let id = store
                .insert_message(
                    &NewMessage::unread("file", None, &sha, raw, "processed", None),
                    "2026-01-01T00:00:00Z",
                )
                .unwrap();
            let back = store.raw_message(id).unwrap();
            assert_eq!(back.as_deref(), Some(raw));
        }
    }

    #[test]
    fn a_version_4_store_keeps_its_raw_bytes_through_the_move() {
        let dir = std::env::temp_dir().join(format!("slaclaim-store-v4-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        {
            let conn = Connection::open(dir.join(FILE_NAME)).unwrap();
            for sql in &MIGRATIONS[..4] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 4).unwrap();
            conn.execute(
                "INSERT INTO messages (source, sha256, raw, received_at, status) VALUES ('file', 'h', ?1, 'now', 'processed')",
                [b"Subject: old\r\n\r\nkept\r\n".to_vec()],
            )
            .unwrap();
        }
        let store = Store::open(&dir).unwrap();
        let back = store.raw_message(1).unwrap();
        assert_eq!(back.as_deref(), Some(&b"Subject: old\r\n\r\nkept\r\n"[..]));
        assert_eq!(store.message_count("processed").ok(), Some(1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
