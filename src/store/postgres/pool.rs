//! The connections of one ledger, shared by every store a process opens on it.
//!
//! A store borrows a connection for one statement, or for a whole transaction, and
//! gives it back: the daemon's tasks each hold a store for months, but their statements
//! run on three threads (the runtime's, processing's and planning's), so about three
//! connections serve them all instead of one a task (a host watching twenty mailboxes
//! would otherwise hold twenty idle backends on the database server).
//!
//! Hand-written rather than a pool crate: statements here are synchronous (see the
//! module above), where deadpool's `get` is async, and r2d2 brings a thread pool of its
//! own for work this keeps on the calling thread.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use super::{Pg, PgError, Target};
use crate::store::sql::{Row, Value};

/// Idle connections kept for later; more in use at once are closed when given back.
const MAX_IDLE: usize = 4;

/// Connections lent to a statement or a transaction now, in this process.
static IN_USE: AtomicU64 = AtomicU64::new(0);

/// Connections to PostgreSQL lent out now (the rest of [`super::open_connections`] are
/// idle in a pool).
pub fn connections_in_use() -> u64 {
    IN_USE.load(Relaxed)
}

/// The connections of one database.
pub struct Pool {
    target: Target,
    password: Option<Arc<str>>,
    idle: Mutex<Vec<Pg>>,
    /// The schema was brought up to date through this pool: once a process is enough.
    migrated: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "Pool({})", self.target.shown())
    }
}

impl Pool {
    /// A pool that opens connections to `target` when it has none idle.
    pub fn new(target: Target, password: Option<Arc<str>>) -> Pool {
        Pool {
            target,
            password,
            idle: Mutex::new(Vec::new()),
            migrated: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The database, for messages and describing.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The password read at start, None for trust or peer authentication.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Connections idle in the pool now.
    pub fn idle(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// An idle connection, or a new one.
    fn take(&self) -> Result<Pg, PgError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let pg = match idle {
            Some(pg) => pg,
            None => Pg::connect(&self.target, self.password.as_deref())?,
        };
        IN_USE.fetch_add(1, Relaxed);
        Ok(pg)
    }

    /// Takes a connection back: kept for the next statement unless its transaction
    /// was left open (a failed COMMIT or ROLLBACK) or enough are idle already.
    fn give_back(&self, pg: Pg) {
        IN_USE.fetch_sub(1, Relaxed);
        if pg.in_transaction.get() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(pg);
        }
    }

    /// Brings the schema up to date on one of the pool's connections, the first time;
    /// later calls only check that the database answers, as opening a SQLite file does.
    pub fn ready(&self) -> Result<(), PgError> {
        let pg = self.take()?;
        let result = match self.migrated.load(Relaxed) {
            true => pg.batch("SELECT 1"),
            false => pg.migrate().map(|_| self.migrated.store(true, Relaxed)),
        };
        self.give_back(pg);
        result
    }
}

/// One store's use of a pool: a connection for each statement, held from `BEGIN` to
/// `COMMIT` or `ROLLBACK` so that a transaction stays on one connection.
pub struct Lent {
    pool: Arc<Pool>,
    held: RefCell<Option<Pg>>,
}

impl Lent {
    /// A store's handle on `pool`; it holds no connection until its first statement.
    pub fn new(pool: Arc<Pool>) -> Lent {
        Lent {
            pool,
            held: RefCell::new(None),
        }
    }

    /// Where the connections go, without secrets.
    pub fn target(&self) -> &Target {
        self.pool.target()
    }

    /// Runs `f` on the transaction's connection, or on one borrowed for it alone.
    fn with<T>(&self, f: impl FnOnce(&Pg) -> Result<T, PgError>) -> Result<T, PgError> {
        if let Some(pg) = self.held.borrow().as_ref() {
            return f(pg);
        }
        let pg = self.pool.take()?;
        let result = f(&pg);
        self.pool.give_back(pg);
        result
    }

    /// Runs statements without parameters. The connection that runs `BEGIN…` stays
    /// with this store until its `COMMIT` or `ROLLBACK`: [`Pg`] knows which, so the
    /// pool asks it rather than reading the SQL again.
    pub fn batch(&self, sql: &str) -> Result<(), PgError> {
        let held = self.held.borrow_mut().take();
        let pg = match held {
            Some(pg) => pg,
            None => self.pool.take()?,
        };
        let result = pg.batch(sql);
        if pg.in_transaction.get() {
            *self.held.borrow_mut() = Some(pg);
        } else {
            self.pool.give_back(pg);
        }
        result
    }

    /// Runs one statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, args: &[Value]) -> Result<u64, PgError> {
        self.with(|pg| pg.execute(sql, args))
    }

    /// Holds back a write whose answer nobody waits for ([`Pg::execute_later`]).
    pub fn execute_later(&self, sql: &str, args: &[Value]) -> Result<(), PgError> {
        self.with(|pg| pg.execute_later(sql, args))
    }

    /// Runs one query; returns its rows.
    pub fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>, PgError> {
        self.with(|pg| pg.query(sql, args))
    }

    /// Runs several queries in one round trip ([`Pg::query_together`]).
    pub fn query_together(&self, queries: &[(&str, &[Value])]) -> Result<Vec<Vec<Row>>, PgError> {
        self.with(|pg| pg.query_together(queries))
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        // A transaction still open (a panic inside one): undone, and the connection
        // not reused.
        if let Some(pg) = self.held.get_mut().take() {
            let _ = pg.batch("ROLLBACK");
            self.pool.give_back(pg);
        }
    }
}
