//! The outbox table: every outgoing message is written here before it is sent, under a
//! deterministic Message-ID, so a message is queued once and sent until it is recorded.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// An outgoing message as queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail<'a> {
    /// The claim it is about; None for digests.
    pub claim_id: Option<i64>,
    /// "draft", "reminder-7", "expired", "digest", ...
    pub purpose: &'a str,
    /// 1, 2, ... per (claim, purpose).
    pub version: i64,
    /// Message-ID without brackets; unique.
    pub message_id: &'a str,
    /// Envelope recipients.
    pub recipients: &'a [String],
    /// The complete RFC 5322 message.
    pub raw: &'a [u8],
    /// For drafts: what the draft said, to tell whether a new one is needed.
    pub fingerprint: Option<&'a str>,
}

/// A queued message due for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Row id.
    pub id: i64,
    /// Message-ID without brackets.
    pub message_id: String,
    /// Envelope recipients.
    pub recipients: Vec<String>,
    /// The message.
    pub raw: Vec<u8>,
    /// Attempts so far (an attempt is recorded before it is made).
    pub attempts: i64,
    /// When it was queued, RFC 3339.
    pub created_at: String,
}

/// One outbox row for reports and digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSummary {
    /// The claim, if any.
    pub claim_id: Option<i64>,
    /// Purpose.
    pub purpose: String,
    /// Message-ID.
    pub message_id: String,
    /// pending | sent | failed | skipped.
    pub status: String,
    /// The last error, if any.
    pub last_error: Option<String>,
}

impl Store {
    /// Queues a message; false when one with this Message-ID is already queued or sent.
    pub fn enqueue_mail(&self, mail: &NewMail<'_>, now: &str) -> Result<bool, StoreError> {
        let n = self.exec(
            "INSERT OR IGNORE INTO outbox (claim_id, purpose, version, message_id, raw, status, recipients, fingerprint, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, ?8)",
            params![
                mail.claim_id,
                mail.purpose,
                mail.version,
                mail.message_id,
                mail.raw,
                mail.recipients.join(","),
                mail.fingerprint,
                now
            ],
        )?;
        Ok(n == 1)
    }

    /// Records a message that is deliberately not sent (a reminder overtaken by a
    /// nearer one), so it is never sent later either.
    pub fn skip_mail(
        &self,
        claim_id: i64,
        purpose: &str,
        message_id: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT OR IGNORE INTO outbox (claim_id, purpose, version, message_id, raw, status, created_at)
             VALUES (?1, ?2, 1, ?3, x'', 'skipped', ?4)",
            params![claim_id, purpose, message_id, now],
        )?;
        Ok(())
    }

    /// Whether a message with this Message-ID was ever queued.
    pub fn mail_exists(&self, message_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .one(
                "SELECT 1 FROM outbox WHERE message_id = ?1",
                [message_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The newest draft of a claim: (version, fingerprint).
    pub fn last_draft(&self, claim_id: i64) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .one(
                "SELECT version, COALESCE(fingerprint, '') FROM outbox
                 WHERE claim_id = ?1 AND purpose = 'draft' ORDER BY version DESC LIMIT 1",
                [claim_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Pending messages whose next attempt is due, oldest first.
    pub fn due_mail(&self, now: &str, limit: usize) -> Result<Vec<QueuedMail>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, message_id, recipients, raw, attempts, created_at FROM outbox
             WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
             ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit as i64], |r| {
            let recipients: String = r.get(2)?;
            Ok(QueuedMail {
                id: r.get(0)?,
                message_id: r.get(1)?,
                recipients: recipients
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                raw: r.get(3)?,
                attempts: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next pending message is due, if any.
    pub fn next_mail_due(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .one(
                "SELECT MIN(COALESCE(next_attempt_at, created_at)) FROM outbox WHERE status = 'pending'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Records that an attempt is about to be made. Committed before the send: after a
    /// crash the row shows it may have gone out once already.
    pub fn mail_attempt(&self, id: i64) -> Result<(), StoreError> {
        self.exec(
            "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// The message's last byte is about to go out: from now on the server may have it.
    pub fn mail_last_byte(&self, id: i64, now: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE outbox SET last_byte_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// Pending messages whose last byte went out but whose outcome was never recorded (a
    /// crash in between) become sent, as of that moment; returns their Message-IDs.
    pub fn settle_interrupted_mail(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE outbox SET status = 'sent', sent_at = last_byte_at,
                 last_error = 'stopped after the last byte, before the answer: taken as delivered'
             WHERE status = 'pending' AND last_byte_at IS NOT NULL RETURNING message_id",
        )?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// The server accepted the message.
    pub fn mail_sent(&self, id: i64, now: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// A transient failure: try again at `next`.
    pub fn mail_retry(&self, id: i64, error: &str, next: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, last_byte_at = NULL WHERE id = ?1",
            params![id, error, next],
        )?;
        Ok(())
    }

    /// A permanent failure, or retries ran out: never tried again.
    pub fn mail_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE outbox SET status = 'failed', last_error = ?2, last_byte_at = NULL WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }

    /// Outbox rows with this status ("sent", "failed", ...) queued at or after `since`.
    pub fn mail_with_status(
        &self,
        status: &str,
        since: &str,
    ) -> Result<Vec<MailSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT claim_id, purpose, message_id, status, last_error FROM outbox
             WHERE status = ?1 AND created_at >= ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![status, since], |r| {
            Ok(MailSummary {
                claim_id: r.get(0)?,
                purpose: r.get(1)?,
                message_id: r.get(2)?,
                status: r.get(3)?,
                last_error: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The messages of a claim with their kinds, oldest first: (row id, kind).
    pub fn claim_message_kinds(&self, claim: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, COALESCE(m.kind, '') FROM claim_messages cm JOIN messages m ON m.id = cm.message_id
             WHERE cm.claim_id = ?1 ORDER BY m.id",
        )?;
        let rows = stmt.query_map([claim], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stored messages by (kind, status), for metrics.
    pub fn message_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.triples("SELECT COALESCE(kind, 'none'), status, COUNT(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2")
    }

    /// Outgoing mail by (purpose class, status), for metrics: reminder-7 counts as reminder.
    pub fn mail_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.triples("SELECT CASE WHEN purpose LIKE 'reminder-%' THEN 'reminder' ELSE purpose END, status, COUNT(*) FROM outbox GROUP BY 1, 2 ORDER BY 1, 2")
    }

    /// Claims by status, for metrics.
    pub fn claim_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, COUNT(*) FROM claims GROUP BY 1 ORDER BY 1")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Claims not yet submitted, ineligible or expired.
    pub fn open_claim_count(&self) -> Result<i64, StoreError> {
        Ok(self.one(
            "SELECT COUNT(*) FROM claims WHERE status NOT IN ('submitted', 'ineligible', 'expired')",
            [],
            |r| r.get(0),
        )?)
    }

    fn triples(&self, sql: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A named scheduler value.
    pub fn schedule_value(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .one(
                "SELECT value FROM schedule_state WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets a named scheduler value.
    pub fn set_schedule_value(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO schedule_state (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }
}
