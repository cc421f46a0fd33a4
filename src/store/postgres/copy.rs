//! `slaclaim store migrate`: a SQLite ledger copied into PostgreSQL, every table with
//! its row ids, raw messages and history, in one transaction, then checked.
//!
//! The tables and columns are read from the SQLite file itself, so a table added by a
//! later migration is copied without a change here; the PostgreSQL schema of the same
//! version must have it (the schema test keeps the two alike).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::ValueRef;

use super::{Pg, PgError};
use crate::store::sql::Value;
use crate::store::{Store, StoreError};

/// Errors of a copy.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading the SQLite ledger failed.
    #[error(transparent)]
    Sqlite(#[from] StoreError),
    /// Writing to PostgreSQL failed.
    #[error(transparent)]
    Pg(#[from] PgError),
    /// The target already holds a ledger: copying over it would mix two.
    #[error("the PostgreSQL store is not empty ({table} has rows); copy into a new database")]
    NotEmpty {
        /// The first table with rows.
        table: String,
    },
    /// The two schemas differ.
    #[error("the PostgreSQL store has no column {table}.{column}")]
    Schema {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A value cannot be written as its column's type.
    #[error("{table} row {row}: {why}")]
    Value {
        /// The table.
        table: String,
        /// Its rowid.
        row: i64,
        /// What is wrong.
        why: String,
    },
    /// The counts or raw bytes differ after the copy.
    #[error("the copy does not match: {0}")]
    Mismatch(String),
}

/// One table's rows on each side after the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// The table.
    pub table: String,
    /// Rows in the SQLite ledger.
    pub sqlite: i64,
    /// Rows in PostgreSQL.
    pub postgres: i64,
}

/// What a copy did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every table, in the order copied.
    pub tables: Vec<Counted>,
    /// Raw messages whose bytes PostgreSQL holds with the SHA-256 recorded for them.
    pub raw_checked: i64,
}

/// A column and the PostgreSQL type its values are written as.
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Bytes,
}

/// Copies the ledger `from` into the database behind `to`: the schema is made there
/// first if it is missing, and the database must hold no rows yet. Row ids are kept,
/// identities continue after them, and the revision triggers stay quiet while rows
/// arrive (each claim keeps the revision it had). Afterwards every table's count is
/// compared and every raw message's SHA-256 recomputed by PostgreSQL.
pub fn sqlite_to_postgres(from: &Store, to: &Pg) -> Result<Report, CopyError> {
    to.migrate()?;
    let tables = tables_in_order(from)?;
    for (table, _) in &tables {
        let rows = to.number(
            &format!("SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) t"),
            &[],
        )?;
        if rows > 0 {
            return Err(CopyError::NotEmpty {
                table: table.clone(),
            });
        }
    }
    to.batch("BEGIN")?;
    let copied = (|| {
        for (table, columns) in &tables {
            check_columns(to, table, columns)?;
            to.batch(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))?;
            copy_table(from, to, table, columns)?;
            to.batch(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))?;
        }
        continue_identities(to)
    })();
    match copied {
        Ok(()) => to.batch("COMMIT")?,
        Err(e) => {
            let _ = to.batch("ROLLBACK");
            return Err(e);
        }
    }
    check(from, to, &tables)
}

/// The ledger's tables, each after the tables it refers to, with their columns.
fn tables_in_order(from: &Store) -> Result<Vec<(String, Vec<Column>)>, CopyError> {
    let conn = from.sqlite()?;
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(StoreError::from)?;
    let mut refers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut columns: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for name in &names {
        let parents: BTreeSet<String> = conn
            .prepare(&format!("PRAGMA foreign_key_list({name})"))
            .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(2))?.collect())
            .map_err(StoreError::from)?;
        refers.insert(
            name.clone(),
            parents.into_iter().filter(|p| p != name).collect(),
        );
        let cols: Vec<(String, String)> = conn
            .prepare(&format!("PRAGMA table_info({name})"))
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))?.collect())
            .map_err(StoreError::from)?;
        let cols = cols
            .into_iter()
            .map(|(col, ty)| {
                let kind = match ty.to_ascii_uppercase().as_str() {
                    "INTEGER" => Kind::Int,
                    "BLOB" => Kind::Bytes,
                    _ => Kind::Text,
                };
                Column { name: col, kind }
            })
            .collect();
        columns.insert(name.clone(), cols);
    }
    // Kahn's order, alphabetical among equals so that runs copy alike.
    let mut ordered = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    while done.len() < names.len() {
        let ready: Vec<String> = names
            .iter()
            .filter(|n| !done.contains(*n))
            .filter(|n| {
                refers[*n]
                    .iter()
                    .all(|p| done.contains(p) || !refers.contains_key(p))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            return Err(CopyError::Mismatch(
                "the SQLite tables refer to each other in a cycle".into(),
            ));
        }
        for name in ready {
            done.insert(name.clone());
            let cols = columns.remove(&name).unwrap_or_default();
            ordered.push((name, cols));
        }
    }
    Ok(ordered)
}

/// Every SQLite column must exist in PostgreSQL.
fn check_columns(to: &Pg, table: &str, columns: &[Column]) -> Result<(), CopyError> {
    let rows = to.query(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
        &[Value::Text(table.to_string())],
    )?;
    let present: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.get::<String>(0).ok())
        .collect();
    match columns.iter().find(|c| !present.contains(&c.name)) {
        Some(missing) => Err(CopyError::Schema {
            table: table.to_string(),
            column: missing.name.clone(),
        }),
        None => Ok(()),
    }
}

/// Copies one table's rows in rowid order, one row in memory at a time (a raw message
/// may be tens of megabytes).
fn copy_table(from: &Store, to: &Pg, table: &str, columns: &[Column]) -> Result<(), CopyError> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let select = format!(
        "SELECT rowid, {} FROM {table} ORDER BY rowid",
        names.join(", ")
    );
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    let mut stmt = from.sqlite()?.prepare(&select).map_err(StoreError::from)?;
    let mut rows = stmt.query([]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let rowid: i64 = row.get(0).map_err(StoreError::from)?;
        let mut values = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let value = row.get_ref(i + 1).map_err(StoreError::from)?;
            values.push(convert(value, column.kind).map_err(|why| CopyError::Value {
                table: table.to_string(),
                row: rowid,
                why: format!("{}: {why}", column.name),
            })?);
        }
        to.execute(&insert, &values)?;
    }
    Ok(())
}

/// A SQLite value as its PostgreSQL column's type. SQLite keeps what it was given, so a
/// number in a text column is written as its text; text is never guessed into bytes.
fn convert(value: ValueRef<'_>, kind: Kind) -> Result<Value, String> {
    Ok(match (kind, value) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Int, ValueRef::Integer(n)) => Value::Int(n),
        (Kind::Int, ValueRef::Text(t)) => {
            let t = std::str::from_utf8(t).map_err(|_| "text that is not UTF-8")?;
            Value::Int(
                t.trim()
                    .parse()
                    .map_err(|_| format!("{t:?} in a number column"))?,
            )
        }
        (Kind::Int, other) => return Err(format!("{:?} in a number column", other.data_type())),
        (Kind::Text, ValueRef::Text(t)) => {
            Value::Text(String::from_utf8(t.to_vec()).map_err(|_| "text that is not UTF-8")?)
        }
        (Kind::Text, ValueRef::Integer(n)) => Value::Text(n.to_string()),
        (Kind::Text, ValueRef::Real(x)) => Value::Text(x.to_string()),
        (Kind::Text, ValueRef::Blob(_)) => return Err("bytes in a text column".into()),
        (Kind::Bytes, ValueRef::Blob(b)) => Value::Bytes(b.to_vec()),
        (Kind::Bytes, ValueRef::Text(t)) => Value::Bytes(t.to_vec()),
        (Kind::Bytes, other) => return Err(format!("{:?} in a bytes column", other.data_type())),
    })
}

/// Identity columns go on after the highest id copied.
fn continue_identities(to: &Pg) -> Result<(), CopyError> {
    let rows = to.query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
        &[],
    )?;
    for row in rows {
        let table: String = row.get(0)?;
        let column: String = row.get(1)?;
        to.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
            ),
            &[],
        )?;
    }
    Ok(())
}

/// Counts on both sides, and every raw message's bytes against its recorded SHA-256.
fn check(from: &Store, to: &Pg, tables: &[(String, Vec<Column>)]) -> Result<Report, CopyError> {
    let mut counted = Vec::new();
    for (table, _) in tables {
        let sqlite: i64 = from
            .sqlite()?
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(StoreError::from)?;
        let postgres = to.number(&format!("SELECT COUNT(*) FROM {table}"), &[])?;
        counted.push(Counted {
            table: table.clone(),
            sqlite,
            postgres,
        });
    }
    let differ: Vec<String> = counted
        .iter()
        .filter(|c| c.sqlite != c.postgres)
        .map(|c| {
            format!(
                "{} has {} rows in SQLite, {} in PostgreSQL",
                c.table, c.sqlite, c.postgres
            )
        })
        .collect();
    if !differ.is_empty() {
        return Err(CopyError::Mismatch(differ.join("; ")));
    }
    let raw_checked = to.number(
        "SELECT COUNT(*) FROM message_raw r JOIN messages m ON m.id = r.id WHERE encode(sha256(r.raw), 'hex') = m.sha256",
        &[],
    )?;
    let raw_total = counted
        .iter()
        .find(|c| c.table == "message_raw")
        .map_or(0, |c| c.postgres);
    if raw_checked != raw_total {
        return Err(CopyError::Mismatch(format!(
            "{} of {raw_total} raw messages do not match their SHA-256",
            raw_total - raw_checked
        )));
    }
    Ok(Report {
        tables: counted,
        raw_checked,
    })
}
