//! The outbox table: every outgoing message is written here before it is sent, under a
//! deterministic Message-ID, so a message is queued once and sent until it is recorded.

use super::sql::{Value, args};

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
    /// For drafts: its values line by line (JSON), for the next version's changes.
    pub summary: Option<&'a str>,
}

/// A queued message due for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Row id.
    pub id: i64,
    /// Message-ID without brackets.
    pub message_id: String,
    /// The recipients still owed the message: those of the envelope without an outcome
    /// (never tried, or refused for now).
    pub recipients: Vec<String>,
    /// The message.
    pub raw: Vec<u8>,
    /// Attempts so far (an attempt is recorded before it is made).
    pub attempts: i64,
    /// When it was queued, RFC 3339.
    pub created_at: String,
}

/// One recipient's outcome for an outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The message's Message-ID.
    pub message_id: String,
    /// One envelope recipient of it.
    pub recipient: String,
    /// accepted | refused | unconfirmed.
    pub status: String,
    /// The server's words, for a refusal.
    pub reply: Option<String>,
    /// When, RFC 3339.
    pub at: String,
}

fn delivered_row(r: &super::sql::Row) -> Result<Delivered, StoreError> {
    Ok(Delivered {
        message_id: r.get(0)?,
        recipient: r.get(1)?,
        status: r.get(2)?,
        reply: r.get(3)?,
        at: r.get(4)?,
    })
}

/// An outbox row's recipients with each delivery recorded (`?1`: its id).
const DELIVERY_STATE: &str = "SELECT o.recipients, d.recipient, d.status FROM outbox o
     LEFT JOIN outbox_delivery d ON d.outbox_id = o.id WHERE o.id = ?1";

/// What [`DELIVERY_STATE`]'s rows say of row `id`: the recipients still owed the
/// message, and whether any has accepted it or may have it.
fn delivery_state(id: i64, rows: &[super::sql::Row]) -> Result<(Vec<String>, bool), StoreError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = rows
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect::<Result<_, StoreError>>()?;
    let Some((recipients, _, _)) = rows.first() else {
        return Err(StoreError::NoRow(format!("outbox row {id}")));
    };
    let done: Vec<&str> = rows.iter().filter_map(|(_, d, _)| d.as_deref()).collect();
    let reached = rows
        .iter()
        .any(|(_, _, st)| matches!(st.as_deref(), Some("accepted" | "unconfirmed")));
    let owed = split_recipients(recipients)
        .into_iter()
        .filter(|r| !done.contains(&r.as_str()))
        .collect();
    Ok((owed, reached))
}

/// The recipients column: addresses joined by commas.
fn split_recipients(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// One outbox row for reports and digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSummary {
    /// The claim, if any.
    pub claim_id: Option<i64>,
    /// What it is for: "draft", "reminder-7", "expired", "digest", ...
    pub purpose: String,
    /// Its Message-ID, also the key that keeps it from being queued twice.
    pub message_id: String,
    /// pending | sent | failed | skipped.
    pub status: String,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// Queues a mail unless one with its Message-ID was queued before.
const ENQUEUE: &str = "INSERT OR IGNORE INTO outbox (claim_id, purpose, version, message_id, raw, status, recipients, fingerprint, summary, created_at, next_attempt_at)
     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?9, ?8, ?8)";

fn enqueue_args(mail: &NewMail<'_>, now: &str) -> Vec<Value> {
    args![
        mail.claim_id,
        mail.purpose,
        mail.version,
        mail.message_id,
        mail.raw,
        mail.recipients.join(","),
        mail.fingerprint,
        now,
        mail.summary
    ]
    .to_vec()
}

impl Store {
    /// Queues a message; false when one with this Message-ID is already queued or sent.
    pub fn enqueue_mail(&self, mail: &NewMail<'_>, now: &str) -> Result<bool, StoreError> {
        let n = self.exec(ENQUEUE, &enqueue_args(mail, now))?;
        Ok(n == 1)
    }

    /// [`Store::enqueue_mail`] for a caller that need not know whether it was queued
    /// before: on PostgreSQL it goes with the next statement, in one round trip.
    pub fn enqueue_mail_later(&self, mail: &NewMail<'_>, now: &str) -> Result<(), StoreError> {
        self.exec_later(ENQUEUE, &enqueue_args(mail, now))
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
        self.exec_later(
            "INSERT OR IGNORE INTO outbox (claim_id, purpose, version, message_id, raw, status, created_at)
             VALUES (?1, ?2, 1, ?3, ?5, 'skipped', ?4)",
            args![claim_id, purpose, message_id, now, &b""[..]],
        )
    }

    /// Whether a message with this Message-ID was ever queued.
    pub fn mail_exists(&self, message_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .opt(
                "SELECT 1 FROM outbox WHERE message_id = ?1",
                args![message_id],
                |_| Ok(()),
            )?
            .is_some())
    }

    /// The newest draft of a claim: (version, fingerprint, summary).
    pub fn last_draft(
        &self,
        claim_id: i64,
    ) -> Result<Option<(i64, String, Option<String>)>, StoreError> {
        self.opt(
            "SELECT version, COALESCE(fingerprint, ''), summary FROM outbox
                 WHERE claim_id = ?1 AND purpose = 'draft' ORDER BY version DESC LIMIT 1",
            args![claim_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// Pending messages whose next attempt is due, oldest first, each with the
    /// recipients it still owes.
    pub fn due_mail(&self, now: &str, limit: usize) -> Result<Vec<QueuedMail>, StoreError> {
        let mut due = self.all(
            "SELECT id, message_id, recipients, raw, attempts, created_at FROM outbox
             WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
             ORDER BY id LIMIT ?2",
            args![now, limit as i64],
            |r| {
                let recipients: String = r.get(2)?;
                Ok(QueuedMail {
                    id: r.get(0)?,
                    message_id: r.get(1)?,
                    recipients: split_recipients(&recipients),
                    raw: r.get(3)?,
                    attempts: r.get(4)?,
                    created_at: r.get(5)?,
                })
            },
        )?;
        for mail in &mut due {
            let done = self.delivered_to(mail.id)?;
            mail.recipients.retain(|r| !done.contains(r));
        }
        Ok(due)
    }

    /// The recipients of an outbox row that have an outcome (accepted, refused,
    /// unconfirmed).
    fn delivered_to(&self, id: i64) -> Result<Vec<String>, StoreError> {
        self.all(
            "SELECT recipient FROM outbox_delivery WHERE outbox_id = ?1",
            args![id],
            |r| r.get(0),
        )
    }

    /// Each recipient's outcome for the message with this Message-ID: (recipient,
    /// status, reply); recipients still owed it are not listed.
    pub fn deliveries(&self, message_id: &str) -> Result<Vec<Delivered>, StoreError> {
        self.all(
            "SELECT o.message_id, d.recipient, d.status, d.reply, d.at FROM outbox_delivery d
             JOIN outbox o ON o.id = d.outbox_id WHERE o.message_id = ?1 ORDER BY d.recipient",
            args![message_id],
            delivered_row,
        )
    }

    /// The recipients that refused a claim's mail, or may have it unconfirmed: what
    /// `claim SLA-n` shows. Oldest first.
    pub fn claim_delivery_problems(&self, claim_id: i64) -> Result<Vec<Delivered>, StoreError> {
        self.all("SELECT o.message_id, d.recipient, d.status, d.reply, d.at FROM outbox_delivery d
             JOIN outbox o ON o.id = d.outbox_id
             WHERE o.claim_id = ?1 AND d.status IN ('refused', 'unconfirmed') ORDER BY d.at, d.recipient", args![claim_id], delivered_row)
    }

    /// Recipients that refused mail queued at or after `since`: what the digest lists.
    pub fn refused_since(&self, since: &str) -> Result<Vec<Delivered>, StoreError> {
        self.all(
            "SELECT o.message_id, d.recipient, d.status, d.reply, d.at FROM outbox_delivery d
             JOIN outbox o ON o.id = d.outbox_id
             WHERE d.status = 'refused' AND d.at >= ?1 ORDER BY d.at, d.recipient",
            args![since],
            delivered_row,
        )
    }

    /// Recipient outcomes by status, for metrics.
    pub fn delivery_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.all(
            "SELECT status, COUNT(*) FROM outbox_delivery GROUP BY status ORDER BY status",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Records recipients' outcomes for an outbox row (a recipient's newer outcome
    /// replaces an older one: unconfirmed, then accepted).
    pub fn mail_outcomes(
        &self,
        id: i64,
        status: &str,
        outcomes: &[(String, Option<String>)],
        now: &str,
    ) -> Result<(), StoreError> {
        // Nobody waits for their answers: in a PostgreSQL transaction they go with the
        // next statement.
        for (recipient, reply) in outcomes {
            self.exec_later(
                "INSERT INTO outbox_delivery (outbox_id, recipient, status, reply, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (outbox_id, recipient) DO UPDATE SET status = excluded.status, reply = excluded.reply, at = excluded.at",
                args![id, recipient, status, reply, now],
            )?;
        }
        Ok(())
    }

    /// Whether an outbox row still owes the message to anyone.
    pub fn mail_owes_anyone(&self, id: i64) -> Result<bool, StoreError> {
        Ok(!self.owed_recipients(id)?.is_empty())
    }

    /// Every pending message becomes due now (a server that was unreachable answers
    /// again).
    pub fn mail_due_now(&self, now: &str) -> Result<usize, StoreError> {
        self.exec(
            "UPDATE outbox SET next_attempt_at = ?1 WHERE status = 'pending' AND next_attempt_at > ?1",
            args![now],
        )
    }

    /// Sends a message again on purpose (`slaclaim outbox resend`): its unconfirmed and
    /// refused recipients are owed it again and it is due now. False when no message has
    /// this Message-ID.
    pub fn resend_mail(&self, message_id: &str, now: &str) -> Result<bool, StoreError> {
        let Some(id) = self.opt(
            "SELECT id FROM outbox WHERE message_id = ?1 AND status != 'skipped'",
            args![message_id],
            |r| r.get::<i64>(0),
        )?
        else {
            return Ok(false);
        };
        self.exec(
            "DELETE FROM outbox_delivery WHERE outbox_id = ?1 AND status IN ('unconfirmed', 'refused')",
            args![id],
        )?;
        self.exec(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, last_byte_at = NULL, lease_owner = NULL,
                 last_error = 'sent again on purpose' WHERE id = ?1",
            args![id, now],
        )?;
        Ok(true)
    }

    /// The Message-ID of a claim's first draft: what later drafts and reminders refer
    /// to (In-Reply-To, References), so mail clients keep them in one thread.
    pub fn first_draft_message_id(&self, claim_id: i64) -> Result<Option<String>, StoreError> {
        self.opt(
            "SELECT message_id FROM outbox WHERE claim_id = ?1 AND purpose = 'draft'
                 ORDER BY version LIMIT 1",
            args![claim_id],
            |r| r.get(0),
        )
    }

    /// When the next pending message is due, if any.
    pub fn next_mail_due(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .opt(
                "SELECT MIN(COALESCE(next_attempt_at, created_at)) FROM outbox WHERE status = 'pending'",
                &[],
                |r| r.get(0),
            )?
            .flatten())
    }

    /// Takes a due message for one attempt by `owner` (this instance) and counts the
    /// attempt, in one statement: of several instances that see it due, exactly one
    /// gets it. The hold lasts while the owner's instance lease lives (see
    /// [`Store::heartbeat`]). Committed before the send: after a crash the row shows it
    /// may have gone out once already. Returns the recipients it still owes the message
    /// to, as of after the take (another instance may have reached some since the row
    /// was read); None when a live instance holds it, or it was sent, settled or is no
    /// longer due meanwhile. On PostgreSQL the take and the read are one round trip:
    /// two statements, each its own transaction, in order.
    pub fn take_mail(
        &self,
        id: i64,
        owner: &str,
        now: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut answers = self
            .rows_together(&[
                (
                    "UPDATE outbox SET attempts = attempts + 1, lease_owner = ?2
                     WHERE id = ?1 AND status = 'pending' AND last_byte_at IS NULL
                       AND (next_attempt_at IS NULL OR next_attempt_at <= ?3)
                       AND (lease_owner IS NULL OR lease_owner = ?2 OR NOT EXISTS (
                            SELECT 1 FROM leases l WHERE l.name = 'instance:' || outbox.lease_owner AND l.until > ?3))
                     RETURNING id",
                    args![id, owner, now],
                ),
                (DELIVERY_STATE, args![id]),
            ])?
            .into_iter();
        if answers.next().unwrap_or_default().is_empty() {
            return Ok(None);
        }
        let (owed, _) = delivery_state(id, &answers.next().unwrap_or_default())?;
        Ok(Some(owed))
    }

    /// The recipients an outbox row still owes the message to, as of now.
    pub fn owed_recipients(&self, id: i64) -> Result<Vec<String>, StoreError> {
        Ok(self.delivery_state(id)?.0)
    }

    /// The recipients an outbox row still owes the message to, and whether any has
    /// accepted it or may have it: one question.
    fn delivery_state(&self, id: i64) -> Result<(Vec<String>, bool), StoreError> {
        delivery_state(id, &self.rows(DELIVERY_STATE, args![id], usize::MAX)?)
    }

    /// The message's last byte is about to go out to `accepted` (the recipients the
    /// server took at RCPT): from now on they may have it. One transaction.
    pub fn mail_last_byte(
        &mut self,
        id: i64,
        accepted: &[String],
        now: &str,
    ) -> Result<(), StoreError> {
        self.transaction_on_own_rows(|s| {
            s.exec_later(
                "UPDATE outbox SET last_byte_at = ?2 WHERE id = ?1",
                args![id, now],
            )?;
            let unconfirmed: Vec<(String, Option<String>)> =
                accepted.iter().map(|r| (r.clone(), None)).collect();
            s.mail_outcomes(id, "unconfirmed", &unconfirmed, now)
        })
    }

    /// Pending messages whose last byte went out but whose outcome was never recorded (a
    /// crash in between): their recipients stay unconfirmed (never sent again by
    /// themselves), and a message that owes nobody else becomes sent as of that moment.
    /// Returns their Message-IDs.
    pub fn settle_interrupted_mail(
        &mut self,
        owner: &str,
        now: &str,
    ) -> Result<Vec<String>, StoreError> {
        // Nearly always none: asked first without the ledger's write lock.
        let any = self.opt(
            "SELECT 1 FROM outbox WHERE status = 'pending' AND last_byte_at IS NOT NULL LIMIT 1",
            &[],
            |_| Ok(()),
        )?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        self.transaction(|s| {
            // A row a live instance holds is its send in flight, not an interrupted one;
            // this instance (`owner`) has none in flight between its passes.
            let rows: Vec<(i64, String, String)> = s.all(
                "SELECT id, message_id, last_byte_at FROM outbox
                 WHERE status = 'pending' AND last_byte_at IS NOT NULL
                   AND (lease_owner IS NULL OR lease_owner = ?1 OR NOT EXISTS (
                        SELECT 1 FROM leases l WHERE l.name = 'instance:' || outbox.lease_owner AND l.until > ?2))",
                args![owner, now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            for (id, _, last_byte_at) in &rows {
                let status = if s.mail_owes_anyone(*id)? {
                    "pending"
                } else {
                    "sent"
                };
                s.exec(
                    "UPDATE outbox SET status = ?2, last_byte_at = NULL, lease_owner = NULL,
                         sent_at = CASE WHEN ?2 = 'sent' THEN ?3 ELSE sent_at END,
                         last_error = 'stopped after the last byte, before the answer: unconfirmed, not sent again'
                     WHERE id = ?1",
                    args![id, status, last_byte_at],
                )?;
            }
            Ok(rows.into_iter().map(|(_, m, _)| m).collect())
        })
    }

    /// Ends an attempt that reached an outcome per recipient: if nobody is owed the
    /// message any more it is sent (or failed, when nobody took it), else it waits for
    /// `next` with `error` (why the rest is owed).
    pub fn mail_settled(
        &self,
        id: i64,
        error: Option<&str>,
        next: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        let (owed, reached) = self.delivery_state(id)?;
        if !owed.is_empty() {
            self.exec_later(
                "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, last_byte_at = NULL, lease_owner = NULL WHERE id = ?1",
                args![id, error, next],
            )?;
        } else if reached {
            self.exec_later(
                "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = ?3, last_byte_at = NULL, lease_owner = NULL WHERE id = ?1",
                args![id, now, error],
            )?;
        } else {
            self.exec_later(
                "UPDATE outbox SET status = 'failed', last_error = ?2, last_byte_at = NULL, lease_owner = NULL WHERE id = ?1",
                args![id, error.unwrap_or("every recipient refused it")],
            )?;
        }
        Ok(())
    }

    /// The server accepted the message.
    pub fn mail_sent(&self, id: i64, now: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE outbox SET status = 'sent', sent_at = ?2, last_error = NULL, lease_owner = NULL WHERE id = ?1",
            args![id, now],
        )?;
        Ok(())
    }

    /// A transient failure: try again at `next`. Recipients marked unconfirmed by this
    /// attempt's last byte (their rows carry its time) are owed the message again: the
    /// server answered, and not with a yes.
    pub fn mail_retry(&self, id: i64, error: &str, next: &str) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM outbox_delivery WHERE outbox_id = ?1 AND status = 'unconfirmed'
                 AND at = (SELECT last_byte_at FROM outbox WHERE id = ?1)",
            args![id],
        )?;
        self.exec(
            "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, last_byte_at = NULL, lease_owner = NULL WHERE id = ?1",
            args![id, error, next],
        )?;
        Ok(())
    }

    /// A permanent failure, or retries ran out: never tried again.
    pub fn mail_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.exec(
            "UPDATE outbox SET status = 'failed', last_error = ?2, last_byte_at = NULL, lease_owner = NULL WHERE id = ?1",
            args![id, error],
        )?;
        Ok(())
    }

    /// Outbox rows with this status ("sent", "failed", ...) queued at or after `since`.
    pub fn mail_with_status(
        &self,
        status: &str,
        since: &str,
    ) -> Result<Vec<MailSummary>, StoreError> {
        self.all(
            "SELECT claim_id, purpose, message_id, status, last_error FROM outbox
             WHERE status = ?1 AND created_at >= ?2 ORDER BY id",
            args![status, since],
            |r| {
                Ok(MailSummary {
                    claim_id: r.get(0)?,
                    purpose: r.get(1)?,
                    message_id: r.get(2)?,
                    status: r.get(3)?,
                    last_error: r.get(4)?,
                })
            },
        )
    }

    /// The messages that may change a claim, with their kinds, oldest first: (row id, kind).
    pub fn claim_message_kinds(&self, claim: i64) -> Result<Vec<(i64, String)>, StoreError> {
        self.all("SELECT m.id, COALESCE(m.kind, '') FROM claim_messages cm JOIN messages m ON m.id = cm.message_id
             WHERE cm.claim_id = ?1 AND cm.verified = 1 ORDER BY m.id", args![claim], |r| Ok((r.get(0)?, r.get(1)?)))
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
        self.all(
            "SELECT status, COUNT(*) FROM claims GROUP BY 1 ORDER BY 1",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Claims not yet submitted, ineligible or expired.
    pub fn open_claim_count(&self) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) FROM claims WHERE status NOT IN ('submitted', 'ineligible', 'expired')",
            &[],
            |r| r.get(0),
        )
    }

    fn triples(&self, sql: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.all(sql, &[], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    }

    /// A named scheduler value.
    pub fn schedule_value(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.opt(
            "SELECT value FROM schedule_state WHERE name = ?1",
            args![name],
            |r| r.get(0),
        )
    }

    /// Sets a named scheduler value.
    pub fn set_schedule_value(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO schedule_state (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            args![name, value],
        )?;
        Ok(())
    }
}
