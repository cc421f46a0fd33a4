//! Test harness: a private PostgreSQL server from Debian's package, started on loopback
//! from a data directory the harness makes (initdb as the `postgres` user, trust
//! authentication for the `slaclaim` role, fsync off), stopped when dropped. And the
//! first test on it: the PostgreSQL schema (src/store/postgres) is the SQLite store's,
//! table by table and column by column, with the same revision triggers.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::dovecot::free_port;

/// A running PostgreSQL server.
pub struct Postgres {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

/// The newest installed server's bin directory (/usr/lib/postgresql/N/bin).
fn server_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!("no PostgreSQL server in /usr/lib/postgresql: scripts/test installs the postgresql package")
    })
}

/// Runs `program args` as the `postgres` user (the server refuses to run as root).
fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Postgres {
    /// Makes a data directory under the test's temp dir and starts a server on it.
    pub fn start(name: &str) -> Postgres {
        let dir = crate::util::temp_dir(name);
        let bin = server_bin();
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(chown.success());
        // The postgres user must reach the directory through the target tree.
        let mut up = dir.parent();
        while let Some(p) = up {
            let _ = Command::new("chmod").arg("o+x").arg(p).status();
            up = p.parent();
        }
        let data = dir.join("data");
        let data_arg = data.to_str().unwrap();
        as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data_arg,
                "-A",
                "trust",
                "-U",
                "slaclaim",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let port = free_port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} -c fsync=off -c full_page_writes=off",
            dir.display()
        );
        as_postgres(
            &bin.join("pg_ctl"),
            &[
                "-D",
                data_arg,
                "-o",
                &options,
                "-l",
                dir.join("log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Postgres { port, dir, bin }
    }

    /// Runs SQL with psql against database `postgres`; returns what it printed (tuples
    /// only, unaligned, `|` between fields). Fails the test on any error.
    pub fn sql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "slaclaim",
                "-d",
                "postgres",
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

/// (table, column, type, nullable) of every table, SQLite types named as PostgreSQL's.
type Columns = Vec<(String, String, String, bool)>;

fn sqlite_columns(dir: &Path) -> Columns {
    drop(crate::util::store(dir));
    let conn = rusqlite::Connection::open(dir.join("state/slaclaim.sqlite3")).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info({t})")).unwrap();
        let rows = stmt
            .query_map([], |r| {
                let (name, ty, notnull, pk): (String, String, bool, i64) =
                    (r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?);
                Ok((name, ty, notnull || pk > 0))
            })
            .unwrap();
        for row in rows {
            let (name, ty, not_null) = row.unwrap();
            let ty = match ty.as_str() {
                "INTEGER" => "bigint",
                "TEXT" => "text",
                "BLOB" => "bytea",
                other => panic!("{t}.{name}: no PostgreSQL type for {other}"),
            };
            out.push((t.clone(), name, ty.to_string(), !not_null));
        }
    }
    out.sort();
    out
}

#[test]
fn the_postgresql_schema_is_the_sqlite_stores_with_the_same_revision_triggers() {
    let pg = Postgres::start("postgres-schema");
    let schema =
        std::fs::read_to_string(crate::util::repo().join("src/store/postgres/0013_schema.sql"))
            .unwrap();
    pg.sql(&schema);
    let mut pg_columns: Columns = pg
        .sql(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_version' ORDER BY 1, 2",
        )
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].to_string(),
                f[3] == "YES",
            )
        })
        .collect();
    pg_columns.sort();
    let dir = crate::util::temp_dir("postgres-schema-sqlite");
    let sqlite = sqlite_columns(&dir);
    assert_eq!(
        pg_columns, sqlite,
        "PostgreSQL (left) and SQLite (right) schemas differ"
    );
    // The version is SQLite's user_version.
    let conn = rusqlite::Connection::open(dir.join("state/slaclaim.sqlite3")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        pg.sql("SELECT version FROM schema_version").trim(),
        version.to_string()
    );
    // The revision counter moves as SQLite's does.
    let revision = |pg: &Postgres| {
        pg.sql("SELECT revision FROM claims WHERE id = 1")
            .trim()
            .to_string()
    };
    pg.sql("INSERT INTO tickets (reference, created_at) VALUES ('SLA-1', 'now')");
    pg.sql("INSERT INTO messages (source, sha256, received_at, status) VALUES ('file', 'x', 'now', 'processed')");
    pg.sql("INSERT INTO claims (ticket_id, tenant_id, incident_id, status, created_at, updated_at) VALUES (1, '', 'EX1', 'collecting', 'now', 'now')");
    assert_eq!(revision(&pg), "0");
    pg.sql("INSERT INTO evidence (claim_id, field, value, message_id, updated_at) VALUES (1, 'downtime', '[]', 1, 'now')");
    assert_eq!(revision(&pg), "1");
    pg.sql("UPDATE claims SET status = 'ready' WHERE id = 1");
    assert_eq!(revision(&pg), "2");
    pg.sql("UPDATE claims SET updated_at = 'later' WHERE id = 1");
    assert_eq!(
        revision(&pg),
        "2",
        "a column the mail is not made from moves nothing"
    );
    pg.sql("UPDATE tickets SET sender_domain = 'customer.example' WHERE id = 1");
    pg.sql("INSERT INTO corrections (claim_id, field, line, set_by, at) VALUES (1, 'users', 'users: 5', 'staff', 'now')");
    assert_eq!(revision(&pg), "4");
}
