//! The inbox table: messages in custody, stored as fetched and not yet processed.

use super::sql::args;

use super::{RAW_PIECE, Store, StoreError};

/// Custody this instance may process (`?1` its id, `?2` now in ms): what it took in, or
/// what an instance whose lease ran out took in. Two instances never read the same
/// backlog twice.
const OURS: &str = "(inbox.lease_owner IS NULL OR inbox.lease_owner = ?1 OR NOT EXISTS (
    SELECT 1 FROM leases l WHERE l.name = 'instance:' || inbox.lease_owner AND l.until > ?2))";

/// Taking custody on PostgreSQL (`?1` source, `?2` source key, `?3` bytes, `?4` now,
/// `?5` this instance), unless the message is in custody or stored already. The
/// parameters' types are said: in a SELECT list PostgreSQL cannot infer them.
const ACCEPT_PG: &str = "INSERT INTO inbox (source, source_key, raw, received_at, lease_owner)
    SELECT CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?3 AS BYTEA), CAST(?4 AS TEXT), CAST(?5 AS TEXT)
    WHERE NOT EXISTS (SELECT 1 FROM messages WHERE source_key = ?2)
    ON CONFLICT (source_key) DO NOTHING";

/// A [`Pending`] from a row of (id, source, source_key, raw).
fn pending_row(r: &super::sql::Row) -> Result<Pending, StoreError> {
    Ok(Pending {
        id: r.get(0)?,
        source: r.get(1)?,
        source_key: r.get(2)?,
        raw: r.get(3)?,
    })
}

/// A message in custody, waiting to be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Row id in the inbox.
    pub id: i64,
    /// "imap", ...
    pub source: String,
    /// Unique key within the source.
    pub source_key: String,
    /// The message as fetched.
    pub raw: Vec<u8>,
}

/// On PostgreSQL, `source_key` is one of the keys of [`key_list`] bound as ?1.
const KEY_IN_LIST: &str =
    "source_key = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(CAST(?1 AS TEXT) AS JSONB))))";

/// Source keys as one JSON array: a single bound value, whatever the keys hold.
fn key_list(keys: &[&str]) -> String {
    serde_json::to_string(keys).unwrap_or_else(|_| "[]".into())
}

impl Store {
    /// Takes custody of a fetched message. False when it is already in custody or
    /// already processed under this source key (a UIDVALIDITY resync re-reads a folder):
    /// then nothing is stored.
    pub fn accept(
        &self,
        source: &str,
        source_key: &str,
        raw: &[u8],
        now: &str,
    ) -> Result<bool, StoreError> {
        if self.is_postgres() {
            return Ok(self
                .opt(
                    &format!("{ACCEPT_PG} RETURNING id"),
                    args![source, source_key, raw, now, super::instance_id()],
                    |r| r.get::<i64>(0),
                )?
                .is_some());
        }
        let large = raw.len() > RAW_PIECE;
        // Large messages go in as a zero-filled blob written in pieces afterwards: bound
        // whole, SQLite would hold two more copies of them (see insert_message).
        let added = self.opt(
            "INSERT INTO inbox (source, source_key, raw, received_at, lease_owner)
             SELECT ?1, ?2, CASE WHEN ?5 THEN zeroblob(?4) ELSE ?3 END, ?6, ?7
             WHERE NOT EXISTS (SELECT 1 FROM messages WHERE source_key = ?2)
             ON CONFLICT (source_key) DO NOTHING RETURNING id",
            args![
                source,
                source_key,
                if large { &[][..] } else { raw },
                raw.len() as i64,
                large,
                now,
                super::instance_id()
            ],
            |r| r.get::<i64>(0),
        )?;
        let Some(id) = added else {
            return Ok(false);
        };
        if large {
            self.write_blob(c"inbox", id, raw)?;
        }
        Ok(true)
    }

    /// Takes custody as [`Store::accept`] does, without saying whether it did: inside a
    /// PostgreSQL transaction the write then goes with the next statement, not in a
    /// round trip of its own.
    pub fn accept_quietly(
        &self,
        source: &str,
        source_key: &str,
        raw: &[u8],
        now: &str,
    ) -> Result<(), StoreError> {
        if !self.is_postgres() {
            return self.accept(source, source_key, raw, now).map(drop);
        }
        self.exec_later(
            ACCEPT_PG,
            args![source, source_key, raw, now, super::instance_id()],
        )
    }

    /// The oldest message in custody, if any.
    /// Only what this instance took in, or what an instance whose lease ran out took in:
    /// two instances never read the same backlog twice.
    pub fn next_pending(&self) -> Result<Option<Pending>, StoreError> {
        let now = crate::stamp_ms(chrono::Utc::now());
        self.pending_where(
            &format!("{OURS} ORDER BY id LIMIT 1"),
            args![super::instance_id(), now],
        )
    }

    /// The oldest messages in custody, as [`Store::next_pending`] takes them, to be read
    /// and stored together: up to `limit` of them and `max_bytes` in all (always at
    /// least one). A batch holds only messages no reading has begun on; when the oldest
    /// has had one begun (the process died while a batch was read), it comes alone, so
    /// that a message which kills the process is found by itself and no other message
    /// is counted against its attempts more than once.
    pub fn pending_batch(
        &mut self,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Vec<Pending>, StoreError> {
        self.custody_batch(limit, max_bytes, None)
    }

    /// [`Store::pending_batch`], and when it holds more than one message, their readings
    /// begun at `now` ([`Store::begin_readings`]) before they are returned: on
    /// PostgreSQL in the same statement, one round trip. A message that comes alone is
    /// returned as it is (its reading begins where it is read alone).
    pub fn take_batch(
        &mut self,
        limit: usize,
        max_bytes: usize,
        now: &str,
    ) -> Result<Vec<Pending>, StoreError> {
        self.custody_batch(limit, max_bytes, Some(now))
    }

    /// [`Store::pending_batch`], beginning readings at `begin` as [`Store::take_batch`].
    fn custody_batch(
        &mut self,
        limit: usize,
        max_bytes: usize,
        begin: Option<&str>,
    ) -> Result<Vec<Pending>, StoreError> {
        let now = crate::stamp_ms(chrono::Utc::now());
        // What the batch is, before any bytes: a backlog of large messages would not fit.
        let heads: Vec<(i64, i64, i64)> = self.all(
            &format!(
                "SELECT inbox.id, length(inbox.raw), COALESCE(r.attempts, 0)
                 FROM inbox LEFT JOIN reading r ON r.source_key = inbox.source_key
                 WHERE {OURS} ORDER BY inbox.id LIMIT ?3"
            ),
            args![super::instance_id(), now, limit.max(1) as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut ids = Vec::new();
        let mut bytes = 0usize;
        for (id, len, attempts) in heads {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let alone = attempts > 0;
            if !ids.is_empty() && (alone || bytes.saturating_add(len) > max_bytes) {
                break;
            }
            ids.push(id);
            bytes = bytes.saturating_add(len);
            if alone {
                break;
            }
        }
        let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
            return Ok(Vec::new());
        };
        // One statement for them all, and only them: another instance's custody between
        // them is neither sent nor held (the range finds them by the key, the list keeps
        // exactly them).
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let these = "id BETWEEN ?1 AND ?2
             AND (',' || CAST(?3 AS TEXT) || ',') LIKE ('%,' || CAST(id AS TEXT) || ',%')";
        let begin = begin.filter(|_| ids.len() > 1);
        match begin {
            Some(at) if self.is_postgres() => self.all(
                &format!(
                    "WITH batch AS (SELECT id, source, source_key, raw FROM inbox WHERE {these}),
                     begun AS (
                         INSERT INTO reading (source_key, attempts, began_at)
                         SELECT source_key, 1, CAST(?4 AS TEXT) FROM batch
                         ON CONFLICT (source_key) DO UPDATE SET attempts = reading.attempts + 1, began_at = excluded.began_at)
                     SELECT id, source, source_key, raw FROM batch ORDER BY id"
                ),
                args![first, last, list, at],
                pending_row,
            ),
            _ => {
                let batch =
                    self.pending_all(&format!("{these} ORDER BY id"), args![first, last, list])?;
                if let Some(at) = begin {
                    let keys: Vec<&str> = batch.iter().map(|p| p.source_key.as_str()).collect();
                    self.begin_readings(&keys, at)?;
                }
                Ok(batch)
            }
        }
    }

    /// Reading begins for each of `source_keys` (see [`Store::begin_reading`]), in one
    /// transaction on rows this instance holds ([`Store::transaction_on_own_rows`]): on
    /// PostgreSQL one round trip for them all, without the ledger's write lock.
    pub fn begin_readings(&mut self, source_keys: &[&str], now: &str) -> Result<(), StoreError> {
        self.transaction_on_own_rows(|s| {
            for key in source_keys {
                s.exec_later(
                    "INSERT INTO reading (source_key, attempts, began_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (source_key) DO UPDATE SET attempts = reading.attempts + 1, began_at = ?2",
                    args![*key, now],
                )?;
            }
            Ok(())
        })
    }

    /// Reading ended for each of `source_keys` (see [`Store::end_reading`]), as
    /// [`Store::begin_readings`] began it.
    pub fn end_readings(&mut self, source_keys: &[&str]) -> Result<(), StoreError> {
        if source_keys.is_empty() {
            return Ok(());
        }
        if self.is_postgres() {
            // One statement for them all, where each key was one.
            self.exec(
                &format!("DELETE FROM reading WHERE {KEY_IN_LIST}"),
                args![key_list(source_keys)],
            )?;
            return Ok(());
        }
        self.transaction_on_own_rows(|s| {
            for key in source_keys {
                s.exec_later("DELETE FROM reading WHERE source_key = ?1", args![*key])?;
            }
            Ok(())
        })
    }

    /// Ends the readings of a batch and its custody ([`Store::end_reading_and_release`]
    /// for each of `taken`: source key and inbox row), as the last write of the
    /// processing transaction; on PostgreSQL in one statement.
    pub fn end_readings_and_release(&self, taken: &[(&str, i64)]) -> Result<(), StoreError> {
        if !self.is_postgres() {
            for (key, id) in taken {
                self.end_reading_and_release(key, Some(*id))?;
            }
            return Ok(());
        }
        if taken.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = taken.iter().map(|(k, _)| *k).collect();
        let ids = taken
            .iter()
            .map(|(_, id)| id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        self.exec_later(
            &format!(
                "WITH ended AS (DELETE FROM reading WHERE {KEY_IN_LIST})
                 DELETE FROM inbox WHERE id = ANY(CAST(string_to_array(CAST(?2 AS TEXT), ',') AS BIGINT[]))"
            ),
            args![key_list(&keys), ids],
        )
    }

    /// The message in custody under this source key, if it is still waiting.
    pub fn pending_by_key(&self, source_key: &str) -> Result<Option<Pending>, StoreError> {
        self.pending_where("source_key = ?1", args![source_key])
    }

    /// The first message in custody where `condition` holds (one by its conditions).
    fn pending_where(
        &self,
        condition: &str,
        args: &[super::sql::Value],
    ) -> Result<Option<Pending>, StoreError> {
        Ok(self.pending_all(condition, args)?.into_iter().next())
    }

    /// Every message in custody where `condition` holds. SQLite reads the bytes in place
    /// afterwards (selected, a large one would be copied twice); PostgreSQL sends them
    /// with the rows, one round trip.
    fn pending_all(
        &self,
        condition: &str,
        args: &[super::sql::Value],
    ) -> Result<Vec<Pending>, StoreError> {
        if self.is_postgres() {
            return self.all(
                &format!("SELECT id, source, source_key, raw FROM inbox WHERE {condition}"),
                args,
                pending_row,
            );
        }
        let rows = self.all(
            &format!("SELECT id, source, source_key FROM inbox WHERE {condition}"),
            args,
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        rows.into_iter().map(|r| self.with_raw(r)).collect()
    }

    fn with_raw(
        &self,
        (id, source, source_key): (i64, String, String),
    ) -> Result<Pending, StoreError> {
        Ok(Pending {
            raw: self.read_blob(c"inbox", id)?,
            id,
            source,
            source_key,
        })
    }

    /// Ends custody of a processed message; called in the transaction that processed it.
    pub fn release(&self, id: i64) -> Result<(), StoreError> {
        self.exec("DELETE FROM inbox WHERE id = ?1", args![id])?;
        Ok(())
    }

    /// Ends the reading of the message under `source_key` and, when it was in custody
    /// (`custody`: its inbox row), its custody: [`Store::end_reading`] and
    /// [`Store::release`] in one statement on PostgreSQL, where each is a round trip.
    pub fn end_reading_and_release(
        &self,
        source_key: &str,
        custody: Option<i64>,
    ) -> Result<(), StoreError> {
        match custody {
            // The last write of the processing transaction: it goes with the COMMIT.
            Some(id) if self.is_postgres() => self.exec_later(
                "WITH ended AS (DELETE FROM reading WHERE source_key = ?1)
                 DELETE FROM inbox WHERE id = ?2",
                args![source_key, id],
            ),
            Some(id) => {
                self.end_reading(source_key)?;
                self.release(id)
            }
            None => self.end_reading(source_key),
        }
    }

    /// How many messages wait to be processed.
    pub fn pending_count(&self) -> Result<i64, StoreError> {
        self.one("SELECT COUNT(*) FROM inbox", &[], |r| r.get(0))
    }

    /// Reading of the message under `source_key` begins: returns how often it had begun
    /// before without ending. Called outside any other transaction, so it is committed
    /// before the reading.
    pub fn begin_reading(&self, source_key: &str, now: &str) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO reading (source_key, attempts, began_at) VALUES (?1, 1, ?2)
             ON CONFLICT (source_key) DO UPDATE SET attempts = reading.attempts + 1, began_at = ?2
             RETURNING attempts - 1",
            args![source_key, now],
            |r| r.get(0),
        )
    }

    /// How often reading the message under `source_key` began without ending.
    pub fn reading_attempts(&self, source_key: &str) -> Result<i64, StoreError> {
        Ok(self
            .opt(
                "SELECT attempts FROM reading WHERE source_key = ?1",
                args![source_key],
                |r| r.get(0),
            )?
            .unwrap_or(0))
    }

    /// Reading the message under `source_key` ended (with an extraction or an error it
    /// reported): what follows is not counted against it.
    pub fn end_reading(&self, source_key: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM reading WHERE source_key = ?1",
            args![source_key],
        )?;
        Ok(())
    }

    /// Every message whose reading began and has not ended, with its attempts.
    pub fn readings(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.all(
            "SELECT source_key, attempts FROM reading ORDER BY source_key",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// When the oldest message in custody was taken in (RFC 3339 UTC), if any waits.
    pub fn oldest_pending(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .opt("SELECT MIN(received_at) FROM inbox", &[], |r| r.get(0))?
            .flatten())
    }
}
