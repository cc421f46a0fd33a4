//! Ingest: one raw message into the store, exactly once, linked to its ticket and claims.
//!
//! The whole of one message's effects (message row, ticket, claims, evidence, status)
//! is one transaction, so a crash leaves either all of it or none of it, and the
//! duplicate check at the start makes a second delivery a no-op.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::extract::classify::Kind;
use crate::extract::{Extraction, Extractor};
use crate::ledger::claim;
use crate::ledger::correction;
use crate::ledger::deadline::Policy;
use crate::ledger::evidence::Evidence;
use crate::ledger::lifecycle;
use crate::mail::message::Email;
use crate::store::Status;
use crate::store::{
    ClaimRow, ClaimState, EvidenceRow, Inserted, NewMessage, Store, StoreError, sha256_hex,
};

/// Largest message ingested; larger ones are kept but quarantined.
pub const DEFAULT_MAX_BYTES: usize = 50 * 1024 * 1024;

/// Where a message came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// "file", "maildir" or "imap".
    pub source: &'a str,
    /// Unique key within the source.
    pub key: Option<&'a str>,
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A credit request opened ticket `reference`.
    NewTicket {
        /// "SLA-n".
        reference: String,
        /// Claims touched, as "INCIDENT/tenant".
        claims: Vec<String>,
    },
    /// Joined an existing ticket.
    Linked {
        /// "SLA-n".
        reference: String,
        /// How it was matched.
        by: &'static str,
        /// Claims touched.
        claims: Vec<String>,
    },
    /// Joined an existing ticket but may not change it (see "Who can change what" in
    /// README): listed for staff, read for nothing.
    Unverified {
        /// "SLA-n".
        reference: String,
        /// How it was matched.
        by: &'static str,
        /// Why it may not change the ticket.
        why: String,
    },
    /// Stored without a ticket (bulk, notifications, unrelated mail).
    Stored {
        /// What the message was read as (bulk, notification, other).
        kind: Kind,
    },
    /// Already stored: nothing changed.
    Duplicate {
        /// Row id of the stored copy.
        of: i64,
    },
    /// Stored and deliberately not acted on: our own mail, or staff mail that is not
    /// a valid command.
    Ignored {
        /// Why, for the log and `slaclaim messages`.
        why: String,
    },
    /// A staff command changed claims of a ticket.
    Command {
        /// "SLA-n".
        reference: String,
        /// What was done.
        applied: String,
    },
    /// Kept, with the reason it could not be processed.
    Quarantined {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let claims = |c: &[String]| {
            if c.is_empty() {
                String::new()
            } else {
                format!(" (claims: {})", c.join(", "))
            }
        };
        match self {
            Outcome::NewTicket {
                reference,
                claims: c,
            } => write!(f, "new ticket {reference}{}", claims(c)),
            Outcome::Linked {
                reference,
                by,
                claims: c,
            } => write!(f, "linked to ticket {reference} by {by}{}", claims(c)),
            Outcome::Unverified { reference, by, why } => write!(
                f,
                "linked to ticket {reference} by {by}, unverified: {why}; it changes nothing"
            ),
            Outcome::Stored { kind } => write!(f, "stored as {}, no ticket", kind.as_str()),
            Outcome::Duplicate { of } => write!(f, "duplicate of stored message {of}"),
            Outcome::Ignored { why } => write!(f, "ignored: {why}"),
            Outcome::Command { reference, applied } => {
                write!(f, "staff command on {reference}: {applied}")
            }
            Outcome::Quarantined { reason } => write!(f, "quarantined: {reason}"),
        }
    }
}

/// What reading one message gave.
#[derive(Debug, Clone)]
pub enum Reading {
    /// The message parsed, and its extraction: every later stage takes these, none
    /// parses the bytes again.
    Read(Box<(Email, Extraction)>),
    /// Extraction failed (a panic): the message is kept with this error.
    Failed(String),
    /// Not read at all (too large, over its time budget, or it killed the process
    /// before): kept, quarantined with this reason.
    Refused(String),
}

/// A message read, with what its row will say ([`Ingester::stage`]).
struct Staged<'r> {
    raw: &'r [u8],
    origin: Origin<'r>,
    sha: String,
    verdict: Option<crate::ledger::trust::Verdict>,
    /// The reading, or why there is none and whether it was refused unread.
    read: Result<Box<(Email, Extraction)>, (String, bool)>,
    /// Why the message is quarantined, if it is.
    error: Option<String>,
    /// The extraction as stored.
    json: Option<String>,
}

impl Staged<'_> {
    /// The row: a message refused unread is stored by its bytes alone.
    fn message(&self) -> NewMessage<'_> {
        if let Err((reason, true)) = &self.read {
            return NewMessage::unread(
                self.origin.source,
                self.origin.key,
                &self.sha,
                self.raw,
                "quarantined",
                Some(reason),
            );
        }
        let e = self.read.as_ref().ok().map(|r| &r.1);
        NewMessage {
            source: self.origin.source,
            source_key: self.origin.key,
            message_id: e.and_then(|e| e.message_id.as_deref()),
            sha256: &self.sha,
            raw: self.raw,
            sent_at: e.and_then(sent_at),
            sender: e.and_then(|e| e.from.as_deref()),
            sender_domain: e.and_then(|e| e.sender_domain.as_deref()),
            subject: e.map_or("", |e| e.subject.as_str()),
            kind: e.map(|e| e.kind.as_str()),
            extraction: self.json.as_deref(),
            status: if self.error.is_some() {
                "quarantined"
            } else {
                "processed"
            },
            error: self.error.as_deref(),
        }
    }
}

/// What linking a batch's messages will ask the ledger, asked together when the batch
/// is stored (on PostgreSQL one round trip, where each message's linking would wait
/// for several of its own): the tickets their claim keys name, and ids for the claims
/// their credit requests may open.
///
/// A key the batch has written since (a claim opened, re-keyed or rescheduled under
/// it), or any key once a staff command or correction ran, is looked up again, so each
/// answer is the one a lookup at that moment would give. A reserved id that no claim
/// takes is left unused (PostgreSQL's ids have such gaps anyway, after a rollback). A
/// message stored alone looks everything up as it goes.
#[derive(Default)]
struct Ahead {
    /// (sender domain, tenant, incident) -> the ticket, when the batch was stored.
    found: std::collections::HashMap<(String, String, String), Option<i64>>,
    /// (tenant, incident) of every claim the batch has written.
    touched: std::collections::HashSet<(String, String)>,
    /// Claim ids reserved and not yet taken (PostgreSQL only).
    claim_ids: std::collections::VecDeque<i64>,
    /// The id the batch's next new ticket takes (PostgreSQL only).
    next_ticket: Option<i64>,
}

impl Ahead {
    /// Looks up the tickets of every claim key the extractions could be linked by
    /// ([`Ingester::find_ticket`]'s last rule), and reserves an id for each claim a
    /// credit request among them may open (at most `cap` each).
    fn look<'e>(
        s: &Store,
        extractions: impl Iterator<Item = &'e Extraction>,
        cap: usize,
        now: DateTime<Utc>,
    ) -> Result<Ahead, StoreError> {
        let mut keys: Vec<(&str, &str, &str)> = Vec::new();
        let mut claims = 0;
        for e in extractions {
            if e.kind == Kind::CreditRequest {
                claims += (e.tenant_ids.len().max(1) * e.incident_ids.len().max(1)).min(cap);
            }
            let Some(domain) = e.sender_domain.as_deref() else {
                continue;
            };
            for tenant in &e.tenant_ids {
                for incident in &e.incident_ids {
                    let key = (domain, tenant.as_str(), incident.as_str());
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
        if keys.is_empty() && claims == 0 {
            return Ok(Ahead::default());
        }
        let today = now.date_naive().to_string();
        let looked = s.look_ahead(&keys, &today, claims)?;
        let found = keys
            .into_iter()
            .zip(looked.tickets)
            .map(|((d, t, i), ticket)| ((d.to_string(), t.to_string(), i.to_string()), ticket))
            .collect();
        Ok(Ahead {
            found,
            touched: Default::default(),
            claim_ids: looked.claim_ids.into(),
            next_ticket: looked.next_ticket,
        })
    }

    /// [`Store::ticket_by_claim_key`], answered from the batch's lookup when it still holds.
    fn ticket(
        &self,
        s: &Store,
        domain: &str,
        tenant: &str,
        incident: &str,
        today: &str,
    ) -> Result<Option<i64>, StoreError> {
        let key = (domain.to_string(), tenant.to_string(), incident.to_string());
        match self.found.get(&key) {
            Some(ticket) if !self.touched.contains(&(key.1, key.2)) => Ok(*ticket),
            _ => s.ticket_by_claim_key(domain, tenant, incident, today),
        }
    }

    /// [`Store::create_ticket`], numbered from the batch's lookup when there was one.
    /// Every ticket a batch opens is opened here, so the count stays true.
    fn create_ticket(
        &mut self,
        s: &Store,
        sender_domain: Option<&str>,
        now: &str,
    ) -> Result<(i64, String), StoreError> {
        match self.next_ticket {
            Some(id) => {
                let reference = s.create_ticket_as(id, sender_domain, now)?;
                self.next_ticket = Some(id + 1);
                Ok((id, reference))
            }
            None => s.create_ticket(sender_domain, now),
        }
    }

    /// [`Store::create_claim`], under a reserved id while there is one.
    fn create_claim(
        &mut self,
        s: &Store,
        ticket: i64,
        (tenant, incident): (&str, &str),
        now: &str,
    ) -> Result<i64, StoreError> {
        let status = OPENED;
        match self.claim_ids.pop_front() {
            Some(id) => s
                .create_claim_as(id, ticket, tenant, incident, status, now)
                .map(|()| id),
            None => s.create_claim(ticket, tenant, incident, status, now),
        }
    }

    /// A claim with this key was written: its answers are looked up again.
    fn touch(&mut self, tenant: &str, incident: &str) {
        if !self.found.is_empty() {
            self.touched
                .insert((tenant.to_string(), incident.to_string()));
        }
    }

    /// Any claim may have changed: every answer is looked up again.
    fn forget_all(&mut self) {
        self.found.clear();
    }
}

/// The most bytes of messages read and stored together ([`Ingester::process_batch`]):
/// what a batch holds in memory at once, besides its extractions (on PostgreSQL twice
/// for a moment, while its rows are sent together).
pub const BATCH_BYTES: usize = 4 << 20;

/// Limits on reading one message in the daemon.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Time one extraction may take before the message is quarantined.
    pub budget: std::time::Duration,
    /// Readings begun and never ended after which a message is quarantined unread.
    pub max_attempts: i64,
}

impl Default for ReadLimits {
    /// `[daemon]`'s defaults: 5 s, 2 attempts.
    fn default() -> Self {
        ReadLimits {
            budget: std::time::Duration::from_secs(5),
            max_attempts: 2,
        }
    }
}

/// [`Ingester::read`] with what it needs spelled out, for a reader on another thread.
pub fn read(extractor: &Extractor, max_bytes: usize, raw: &[u8]) -> Reading {
    if raw.len() > max_bytes {
        return Reading::Refused(format!(
            "message is {} bytes, over the {max_bytes} byte limit",
            raw.len()
        ));
    }
    // Parsing guards itself (mail-parser's panics become a problem on the message).
    let email = Email::parse(raw);
    match extractor.extract_guarded(&email) {
        Ok(e) => Reading::Read(Box::new((email, e))),
        Err(panic) => Reading::Failed(format!("extraction failed: {panic}")),
    }
}

/// Reads messages together, as [`read`] reads each: the ones over `max_bytes` are
/// refused, the rest parsed and then read stage by stage across them all
/// ([`Extractor::extract_emails`]), which finds each stage's code and automata warm.
/// None when the reading panicked: the caller then reads them one by one, so that
/// only the message at fault fails.
pub fn read_together(
    extractor: &Extractor,
    max_bytes: usize,
    raws: &[&[u8]],
) -> Option<Vec<Reading>> {
    let emails: Vec<Option<Email>> = raws
        .iter()
        .map(|raw| (raw.len() <= max_bytes).then(|| Email::parse(raw)))
        .collect();
    let extractions = std::panic::catch_unwind(|| {
        extractor.extract_emails(&emails.iter().flatten().collect::<Vec<_>>())
    })
    .ok()?;
    let mut extractions = extractions.into_iter();
    raws.iter()
        .zip(emails)
        .map(|(raw, email)| match email {
            None => Some(read(extractor, max_bytes, raw)),
            Some(email) => Some(Reading::Read(Box::new((email, extractions.next()?)))),
        })
        .collect()
}

/// Errors of ingest: only the store can fail; bad mail is quarantined instead.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything ingest needs besides the message.
pub struct Ingester<'a> {
    /// The extraction engine.
    pub extractor: &'a Extractor,
    /// Deadline policy.
    pub policy: Policy,
    /// Size limit in bytes.
    pub max_bytes: usize,
    /// Whose mail is ours or staff's.
    pub rules: MailRules,
    /// Limits on reading one message off the async runtime ([`Ingester::read_guarded`]).
    pub limits: ReadLimits,
}

/// Mail that is not customer mail: ours (never read as a request, so no loops) and
/// staff replies (commands).
#[derive(Debug, Clone)]
pub struct MailRules {
    /// Our From address.
    pub own_address: Option<String>,
    /// The domain of our Message-IDs.
    pub message_id_domain: Option<String>,
    /// Who staff are.
    pub staff: crate::ledger::staff::StaffConfig,
    /// Whose authentication verdicts are believed, and which domains speak for a customer.
    pub trust: crate::ledger::trust::TrustConfig,
    /// Claims one message may open (`[extract] max-claims-per-message`).
    pub max_claims_per_message: usize,
}

impl Default for MailRules {
    fn default() -> Self {
        MailRules {
            own_address: None,
            message_id_domain: None,
            staff: Default::default(),
            trust: Default::default(),
            max_claims_per_message: 10,
        }
    }
}

/// The claim a staff reply's corrections are for.
enum Addressed {
    /// This one.
    Claim(ClaimRow),
    /// The ticket has several and the reply names none: (a claim to record the lines
    /// against, what staff are told).
    Unclear((i64, String)),
    /// The ticket has no claim.
    Nothing,
}

/// How far a message may change the claims of the ticket it joins.
#[derive(Debug, Clone, PartialEq)]
enum Standing {
    /// It may add evidence.
    Verified,
    /// It is listed for staff and changes nothing, for this reason.
    Unverified(String),
}

impl MailRules {
    /// Whether `id` is one of the Message-IDs slaclaim gives its own mail.
    pub fn is_our_id(&self, id: &str) -> bool {
        let id = id.trim_matches(['<', '>', ' ']);
        self.message_id_domain.as_deref().is_some_and(|d| {
            id.starts_with("slaclaim.")
                && id
                    .to_ascii_lowercase()
                    .ends_with(&format!("@{}", d.to_ascii_lowercase()))
        })
    }

    /// Why this message is our own, if it is.
    fn own(&self, e: &Extraction) -> Option<String> {
        let from_us = match (&self.own_address, &e.from) {
            (Some(own), Some(from)) => own.eq_ignore_ascii_case(from.trim_matches(['<', '>'])),
            _ => false,
        };
        if from_us {
            return Some("sent from our own address".into());
        }
        e.message_id
            .as_deref()
            .filter(|id| self.is_our_id(id))
            .map(|_| "carries one of our own Message-IDs".into())
    }
}

impl Ingester<'_> {
    /// Ingests one message at time `now`, in a transaction of its own.
    pub fn ingest(
        &self,
        store: &mut Store,
        raw: &[u8],
        origin: Origin<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IngestError> {
        store.transaction(|s| self.ingest_in(s, raw, origin, now))
    }

    /// Ingests one message inside the caller's transaction (a source that records its
    /// own progress, such as an IMAP UID, commits both together).
    pub fn ingest_in(
        &self,
        s: &Store,
        raw: &[u8],
        origin: Origin<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IngestError> {
        let reading = self.read(raw);
        self.store_in(s, raw, origin, reading, now)
    }

    /// Reads a message: its extraction, or why it cannot be read. Never panics (a panic
    /// in extraction becomes [`Reading::Failed`]); touches no store, so it can run on
    /// another thread, under a time budget.
    pub fn read(&self, raw: &[u8]) -> Reading {
        read(self.extractor, self.max_bytes, raw)
    }

    /// Reads the message under source key `key` on a blocking thread (the async
    /// runtime, health and the other sources go on meanwhile), within the budget of
    /// `self.limits`, with the attempt committed to the store before and cleared after.
    /// A message whose reading began `limits.max_attempts` times and never ended (the
    /// process died on it) is refused unread. The caller stores the result and calls
    /// [`Store::end_reading`] in that transaction.
    pub async fn read_guarded<R>(
        &self,
        store: &mut Store,
        key: &str,
        raw: &std::sync::Arc<R>,
        now: DateTime<Utc>,
    ) -> Result<Reading, IngestError>
    where
        R: AsRef<[u8]> + Send + Sync + 'static + ?Sized,
    {
        let limits = self.limits;
        let stamp = crate::stamp(now);
        let before = store.begin_reading(key, &stamp)?;
        if before >= limits.max_attempts {
            return Ok(Reading::Refused(format!(
                "reading it began {before} times and never ended (the process died while reading it); not read again"
            )));
        }
        let (reading, ended) = self.read_within_budget(raw).await;
        if ended {
            store.end_reading(key)?;
        }
        Ok(reading)
    }

    /// Reads a message on a blocking thread within `self.limits.budget`; true with it
    /// when the reading ended (with an extraction or an error it reported), false when
    /// it was given up on over its budget.
    async fn read_within_budget<R>(&self, raw: &std::sync::Arc<R>) -> (Reading, bool)
    where
        R: AsRef<[u8]> + Send + Sync + 'static + ?Sized,
    {
        let mut read = self.read_all_within_budget(std::slice::from_ref(raw)).await;
        read.pop()
            .unwrap_or_else(|| (Reading::Failed("extraction failed: not read".into()), true))
    }

    /// Reads messages in order, as [`Ingester::read_within_budget`] reads one, on one
    /// blocking thread: a thread hop for each would cost more than reading a small
    /// message. Several are first read together ([`read_together`]). One by one, a
    /// message over its budget is given up on, and the ones after it are read on a new
    /// thread; the old one stops after the message it is on (every reading stage is
    /// bounded), unwaited.
    async fn read_all_within_budget<R>(&self, raws: &[std::sync::Arc<R>]) -> Vec<(Reading, bool)>
    where
        R: AsRef<[u8]> + Send + Sync + 'static + ?Sized,
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        // First all together, within one message's budget (a batch of claim mail takes a
        // few milliseconds). Over it, or after a panic, one by one as below: each then
        // has its own budget, and the message at fault is the one refused.
        if raws.len() > 1 {
            let (extractor, max_bytes, all) =
                (self.extractor.clone(), self.max_bytes, raws.to_vec());
            let together = tokio::task::spawn_blocking(move || {
                let raws: Vec<&[u8]> = all.iter().map(|r| (**r).as_ref()).collect();
                read_together(&extractor, max_bytes, &raws)
            });
            if let Ok(Ok(Some(read))) = tokio::time::timeout(self.limits.budget, together).await {
                return read.into_iter().map(|r| (r, true)).collect();
            }
        }
        let mut out = Vec::with_capacity(raws.len());
        while out.len() < raws.len() {
            let rest = raws[out.len()..].to_vec();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let stop = std::sync::Arc::new(AtomicBool::new(false));
            let (extractor, max_bytes, stopped) =
                (self.extractor.clone(), self.max_bytes, stop.clone());
            tokio::task::spawn_blocking(move || {
                for raw in rest {
                    if stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    if tx
                        .send(read(&extractor, max_bytes, (*raw).as_ref()))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            while out.len() < raws.len() {
                match tokio::time::timeout(self.limits.budget, rx.recv()).await {
                    Ok(Some(reading)) => out.push((reading, true)),
                    // `read` catches panics: the thread ended early only because the
                    // runtime is shutting down.
                    Ok(None) => {
                        let why = "extraction failed: the reading thread ended (shutting down)";
                        out.resize_with(raws.len(), || (Reading::Failed(why.into()), true));
                    }
                    Err(_) => {
                        stop.store(true, Ordering::Relaxed);
                        out.push((
                            Reading::Refused(format!(
                                "reading it took longer than {} ms (daemon.read-budget-ms)",
                                self.limits.budget.as_millis()
                            )),
                            false,
                        ));
                        break;
                    }
                }
            }
        }
        out
    }

    /// Stores a message with what reading it gave, and links it, inside the caller's
    /// transaction.
    pub fn store_in(
        &self,
        s: &Store,
        raw: &[u8],
        origin: Origin<'_>,
        reading: Reading,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IngestError> {
        let staged = self.stage(raw, origin, reading);
        let inserted = s.insert_new_message(&staged.message(), &crate::stamp(now))?;
        self.store_staged(s, staged, inserted, now, &mut Ahead::default())
    }

    /// [`Ingester::store_in`] for several messages: their rows are written together
    /// (one round trip on PostgreSQL, in order, so a later one that repeats an earlier
    /// one is its duplicate), the tickets their claim keys name are looked up together
    /// (one more; see [`Ahead`]), then each is linked.
    fn store_all_in(
        &self,
        s: &Store,
        messages: Vec<(&[u8], Origin<'_>, Reading)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let staged: Vec<Staged<'_>> = messages
            .into_iter()
            .map(|(raw, origin, reading)| self.stage(raw, origin, reading))
            .collect();
        let rows: Vec<NewMessage<'_>> = staged.iter().map(Staged::message).collect();
        let inserted = s.insert_new_messages(&rows, &crate::stamp(now))?;
        drop(rows);
        let extractions = staged
            .iter()
            .filter_map(|m| m.read.as_ref().ok().map(|r| &r.1));
        let cap = self.rules.max_claims_per_message.max(1);
        let mut ahead = Ahead::look(s, extractions, cap, now)?;
        staged
            .into_iter()
            .zip(inserted)
            .map(|(m, i)| self.store_staged(s, m, i, now, &mut ahead))
            .collect()
    }

    /// What a message's row will say, decided before the ledger is touched.
    fn stage<'r>(&self, raw: &'r [u8], origin: Origin<'r>, reading: Reading) -> Staged<'r> {
        let sha = sha256_hex(raw);
        let verdict = crate::ledger::trust::verdict(raw, &self.rules.trust);
        let read = match reading {
            Reading::Refused(reason) => Err((reason, true)),
            Reading::Read(mut read) => {
                self.unmask_impostor(&mut read.1, verdict.as_ref());
                Ok(read)
            }
            Reading::Failed(why) => Err((why, false)),
        };
        let error = match &read {
            Ok(r) if r.1.message_id.is_none() && r.1.from.is_none() && r.1.subject.is_empty() => {
                Some("no message headers: not an email".to_string())
            }
            Ok(_) => None,
            Err((why, _)) => Some(why.clone()),
        };
        let json = read
            .as_ref()
            .ok()
            .and_then(|r| serde_json::to_string(&r.1).ok());
        Staged {
            raw,
            origin,
            sha,
            verdict,
            read,
            error,
            json,
        }
    }

    /// Links a staged message once its row is written (`inserted`).
    fn store_staged(
        &self,
        s: &Store,
        staged: Staged<'_>,
        inserted: Inserted,
        now: DateTime<Utc>,
        ahead: &mut Ahead,
    ) -> Result<Outcome, IngestError> {
        let row = match inserted {
            Inserted::New(row) => row,
            Inserted::Duplicate(of) => return Ok(Outcome::Duplicate { of }),
        };
        let Staged {
            verdict,
            read,
            error,
            ..
        } = staged;
        // A message refused unread is kept quarantined and nothing more.
        if let Err((reason, true)) = &read {
            return Ok(Outcome::Quarantined {
                reason: reason.clone(),
            });
        }
        if let Some(json) = verdict.as_ref().and_then(|v| serde_json::to_string(v).ok()) {
            s.set_message_trust(row, &json)?;
        }
        match (read, error) {
            (_, Some(reason)) => Ok(Outcome::Quarantined { reason }),
            (Ok(read), None) => {
                let (email, e) = &*read;
                if let Some(why) = self.rules.own(e) {
                    tracing::info!(message_id = ?e.message_id, why, "own mail not processed");
                    return Ok(Outcome::Ignored { why });
                }
                if self.rules.staff.is_staff(e.from.as_deref()) {
                    return self.staff_reply(s, row, e, email, verdict.as_ref(), now, ahead);
                }
                self.link(s, row, e, verdict.as_ref(), false, now, ahead)
            }
            (Err(_), None) => Ok(Outcome::Quarantined {
                reason: "no extraction".into(),
            }),
        }
    }

    /// Ingests a source's message (its key names the reading) the daemon's way: read
    /// with [`Ingester::read_guarded`], then stored and linked in one transaction that
    /// also ends the reading and, for a message in custody, its custody (`custody`: its
    /// inbox row).
    pub async fn ingest_guarded<R>(
        &self,
        store: &mut Store,
        raw: &std::sync::Arc<R>,
        origin: Origin<'_>,
        custody: Option<i64>,
    ) -> Result<Outcome, IngestError>
    where
        R: AsRef<[u8]> + Send + Sync + 'static + ?Sized,
    {
        let key = origin.key.unwrap_or_default();
        let now = Utc::now();
        let reading = self.read_guarded(store, key, raw, now).await?;
        store.transaction(|s| {
            let outcome = self.store_in(s, (**raw).as_ref(), origin, reading, now)?;
            s.end_reading_and_release(key, custody)?;
            Ok(outcome)
        })
    }

    /// Processes a message in custody ([`Ingester::ingest_guarded`]); returns its source
    /// key and outcome.
    pub async fn process_guarded(
        &self,
        store: &mut Store,
        p: crate::store::Pending,
    ) -> Result<(String, Outcome), IngestError> {
        let raw = std::sync::Arc::new(p.raw);
        let origin = Origin {
            source: &p.source,
            key: Some(&p.source_key),
        };
        let outcome = self.ingest_guarded(store, &raw, origin, Some(p.id)).await?;
        Ok((p.source_key, outcome))
    }

    /// Processes up to `limit` messages in custody, oldest first, each as
    /// [`Ingester::process_guarded`] does: after a crash each is either processed and
    /// gone from the inbox, or still there. Returns each one's source key and outcome.
    pub async fn process_pending(
        &self,
        store: &mut Store,
        limit: usize,
    ) -> Result<Vec<(String, Outcome)>, IngestError> {
        let mut done = Vec::new();
        while done.len() < limit {
            let batch = self.process_batch(store, limit - done.len()).await?;
            if batch.is_empty() {
                break;
            }
            done.extend(batch);
        }
        Ok(done)
    }

    /// Processes the oldest messages in custody together ([`Store::take_batch`]: up
    /// to `limit`, [`BATCH_BYTES`] in all): their readings begin as they are taken,
    /// they are read in order on one blocking thread, each within its budget as
    /// [`Ingester::read_guarded`] reads one, and all are stored in one transaction,
    /// which ends their custody. Each is then either processed and gone
    /// from the inbox, or still there. On PostgreSQL a message costs a few round trips
    /// fewer than alone; on SQLite a few commits fewer. Returns each one's source key and
    /// outcome, oldest first; none when nothing waits.
    pub async fn process_batch(
        &self,
        store: &mut Store,
        limit: usize,
    ) -> Result<Vec<(String, Outcome)>, IngestError> {
        // A batch that killed the process leaves one attempt on each of its messages:
        // with a single attempt allowed, that would refuse them all unread.
        let limit = match self.limits.max_attempts {
            ..=1 => 1,
            _ => limit,
        };
        let now = Utc::now();
        // Their readings begin as they are taken. No reading had begun on any of them
        // (see pending_batch), so none is refused for its attempts here.
        let mut batch = store.take_batch(limit, BATCH_BYTES, &crate::stamp(now))?;
        if batch.len() <= 1 {
            let Some(p) = batch.pop() else {
                return Ok(Vec::new());
            };
            return Ok(vec![self.process_guarded(store, p).await?]);
        }
        let raws: Vec<std::sync::Arc<Vec<u8>>> = batch
            .iter_mut()
            .map(|p| std::sync::Arc::new(std::mem::take(&mut p.raw)))
            .collect();
        let mut read = Vec::with_capacity(batch.len());
        let mut ended = Vec::with_capacity(batch.len());
        for (p, (reading, done)) in batch.iter().zip(self.read_all_within_budget(&raws).await) {
            if done {
                ended.push(p.source_key.as_str());
            }
            read.push(reading);
        }
        store.end_readings(&ended)?;
        store.transaction(|s| {
            let messages = batch
                .iter()
                .zip(&raws)
                .zip(read)
                .map(|((p, raw), reading)| {
                    let origin = Origin {
                        source: &p.source,
                        key: Some(&p.source_key),
                    };
                    (raw.as_slice(), origin, reading)
                })
                .collect();
            let outcomes = self.store_all_in(s, messages, now)?;
            let taken: Vec<(&str, i64)> = batch
                .iter()
                .map(|p| (p.source_key.as_str(), p.id))
                .collect();
            s.end_readings_and_release(&taken)?;
            let done = batch
                .iter()
                .zip(outcomes)
                .map(|(p, outcome)| (p.source_key.clone(), outcome))
                .collect();
            Ok(done)
        })
    }

    /// Keeps `raw` (all of a message, or only its headers when the rest was too large to
    /// fetch) quarantined with `reason`; a second call for the same source key is a duplicate.
    pub fn quarantine(
        &self,
        store: &mut Store,
        raw: &[u8],
        origin: Origin<'_>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IngestError> {
        store.transaction(|s| self.quarantine_in(s, raw, origin, reason, now))
    }

    /// [`Ingester::quarantine`] inside the caller's transaction.
    pub fn quarantine_in(
        &self,
        s: &Store,
        raw: &[u8],
        origin: Origin<'_>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IngestError> {
        let sha = sha256_hex(raw);
        let stamp = crate::stamp(now);
        {
            let m = NewMessage::unread(
                origin.source,
                origin.key,
                &sha,
                raw,
                "quarantined",
                Some(reason),
            );
            if let Inserted::Duplicate(of) = s.insert_new_message(&m, &stamp)? {
                return Ok(Outcome::Duplicate { of });
            }
            Ok(Outcome::Quarantined {
                reason: reason.to_string(),
            })
        }
    }

    /// Mail that presents itself as Microsoft's service mail is that only when our
    /// servers say DMARC passed for a Microsoft domain; otherwise (a phishing "SLA
    /// refund") it is `other`. Without a verdict the content decides.
    fn unmask_impostor(&self, e: &mut Extraction, verdict: Option<&crate::ledger::trust::Verdict>) {
        let Some(v) = verdict else { return };
        if e.kind != Kind::ServiceNotification {
            return;
        }
        let domain = e.sender_domain.clone().unwrap_or_default();
        if !(v.dmarc_passed_for(&domain) && self.rules.trust.is_microsoft(&domain)) {
            e.kind = Kind::Other;
            e.evidence.insert(
                "kind",
                crate::extract::Evidence {
                    source: format!(
                        "presents itself as Microsoft's but is not authenticated as such: {}",
                        v.summary()
                    ),
                    confidence: 0.95,
                    assumptions: vec![],
                },
            );
        }
    }

    /// Mail from a staff address. A command is obeyed only when every rule holds: the
    /// sender is authenticated for its domain (unless `require-authenticated-senders`
    /// is off), the mail is no forward, the command stands at the start of a line in
    /// the unquoted top, and the mail carries the ticket tag or answers our mail.
    /// Otherwise it is recorded and ignored, with a log line saying why. Mail without a
    /// command (a forwarded customer request) is read as usual: as verified content when
    /// the sender is authenticated.
    #[allow(clippy::too_many_arguments)]
    fn staff_reply(
        &self,
        s: &Store,
        row: i64,
        e: &Extraction,
        email: &Email,
        verdict: Option<&crate::ledger::trust::Verdict>,
        now: DateTime<Utc>,
        ahead: &mut Ahead,
    ) -> Result<Outcome, IngestError> {
        let stamp = crate::stamp(now);
        let ignore = |why: String| {
            tracing::info!(message_id = ?e.message_id, from = ?e.from, why, "staff mail ignored");
            Ok(Outcome::Ignored { why })
        };
        let refusal = self
            .rules
            .staff
            .refusal(e.sender_domain.as_deref(), verdict);
        let forward = !email.attached.is_empty()
            || crate::mail::quote::is_forward(&email.body, &email.subject);
        let top = if forward {
            String::new()
        } else {
            crate::mail::quote::top(&email.body)
        };
        let command = crate::ledger::staff::command(&top);
        let (lines, unread) = correction::parse_lines(&top, self.policy.zone);
        let tagged = e.subject.to_ascii_uppercase().contains("[SLA-");
        let answers_us = e.thread_ids.iter().any(|id| self.rules.is_our_id(id));
        // Field lines correct a claim only in answer to it; elsewhere (staff writing up
        // a customer's call as a new request) they are content, as is mail without a
        // command: staff also forward customers' mail, which is read as usual.
        let corrects = (tagged || answers_us) && !(lines.is_empty() && unread.is_empty());
        if command.is_none() && !corrects {
            return self.link(s, row, e, verdict, refusal.is_none(), now, ahead);
        }
        let ticket = if tagged || answers_us {
            self.find_ticket(s, e, now, ahead)?.map(|(t, _)| t)
        } else {
            None
        };
        // A command or correction may move any claim's key or deadline.
        ahead.forget_all();
        let who = e.from.clone().unwrap_or_default();
        let by = correction::By {
            who: &who,
            message: Some(row),
        };
        if let Some(why) = refusal {
            // Kept for the record against the claim it names; it changes nothing.
            if let Some(Addressed::Claim(claim)) =
                ticket.map(|t| self.addressed_claim(s, t, e)).transpose()?
            {
                correction::record_refused(s, claim.id, &lines, &why, by, &stamp)?;
            }
            return ignore(why);
        }
        if !tagged && !answers_us {
            return ignore(
                "a staff command must carry the ticket tag [SLA-n] in its subject or answer slaclaim's mail".into(),
            );
        }
        let Some(ticket) = ticket else {
            return ignore("staff command that refers to no known ticket".into());
        };
        s.set_message_ticket(row, ticket)?;
        let reference = s.ticket_reference(ticket)?;
        let mut said = Vec::new();
        if corrects {
            match self.addressed_claim(s, ticket, e)? {
                Addressed::Nothing => said.push(format!("{reference} has no claim to correct")),
                Addressed::Claim(claim) => {
                    let applied = correction::apply(s, &claim, &lines, by, &stamp)?;
                    correction::record_unread(s, claim.id, &unread, by, &stamp)?;
                    self.refresh(s, claim.id, now)?;
                    said.push(format!(
                        "{} correction(s) applied to {}/{}, {} not read, {} refused",
                        applied.accepted.len(),
                        or_missing(&claim.incident_id),
                        or_missing(&claim.tenant_id),
                        unread.len(),
                        applied.refused.len()
                    ));
                }
                Addressed::Unclear((claim, why)) => {
                    // Staff are told which claim to name; the lines wait for that.
                    let all: Vec<correction::Unreadable> = lines
                        .iter()
                        .map(|l| correction::Unreadable {
                            field: l.field,
                            text: l.text.clone(),
                            why: why.clone(),
                        })
                        .chain(unread)
                        .collect();
                    correction::record_unread(s, claim, &all, by, &stamp)?;
                    said.push(why);
                }
            }
        }
        if let Some(command) = command {
            let claims = s.claims_of_ticket(ticket)?;
            let (marked, to, why) =
                crate::ledger::staff::apply(s, &claims, &command, &who, &stamp)?;
            if marked.is_empty() && said.is_empty() {
                return ignore(format!("{reference} has no open claim"));
            }
            if !marked.is_empty() {
                said.push(format!("{} claim(s) {}: {why}", marked.len(), to.as_str()));
            }
        }
        let applied = said.join("; ");
        tracing::info!(ticket = %reference, applied, "staff reply applied");
        Ok(Outcome::Command { reference, applied })
    }

    /// The claim a staff reply speaks of: the one whose draft it answers, else the
    /// ticket's only claim. Err: (a claim to record against, why none could be chosen).
    fn addressed_claim(
        &self,
        s: &Store,
        ticket: i64,
        e: &Extraction,
    ) -> Result<Addressed, IngestError> {
        let claims = s.claims_of_ticket(ticket)?;
        let answered = e
            .thread_ids
            .iter()
            .filter(|id| self.rules.is_our_id(id))
            .filter_map(|id| {
                let id = id.trim_matches(['<', '>', ' ']);
                id.strip_prefix("slaclaim.")?
                    .split('.')
                    .next()?
                    .parse::<i64>()
                    .ok()
            })
            .find_map(|n| claims.iter().find(|c| c.id == n));
        if let Some(c) = answered {
            return Ok(Addressed::Claim(c.clone()));
        }
        match claims.as_slice() {
            [one] => Ok(Addressed::Claim(one.clone())),
            [] => Ok(Addressed::Nothing),
            [first, ..] => Ok(Addressed::Unclear((
                first.id,
                format!(
                    "{} has {} claims: answer the draft of the claim you mean, or use `slaclaim set {} FIELD VALUE --incident ID`",
                    first.ticket,
                    claims.len(),
                    first.ticket
                ),
            ))),
        }
    }

    /// Whether a message that joins `ticket` may change its claims: staff who are
    /// authenticated may; others only from one of the customer's domains, and not when
    /// DMARC failed (or the From is not one address).
    fn standing(
        &self,
        s: &Store,
        ticket: i64,
        e: &Extraction,
        verdict: Option<&crate::ledger::trust::Verdict>,
        trusted_staff: bool,
    ) -> Result<Standing, IngestError> {
        if trusted_staff {
            return Ok(Standing::Verified);
        }
        let domain = e
            .sender_domain
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Some(customer) = s.ticket_domain(ticket)?.filter(|d| !d.is_empty()) else {
            return Ok(Standing::Unverified(
                "the ticket has no customer domain to check the sender against".into(),
            ));
        };
        if !self
            .rules
            .trust
            .customer_domains_of(&customer)
            .contains(&domain)
        {
            return Ok(Standing::Unverified(format!(
                "sender domain {} is not the customer's ({customer}; more in [trust] customer-domains)",
                if domain.is_empty() { "(none)" } else { &domain }
            )));
        }
        if let Some(v) = verdict.filter(|v| v.dmarc_failed()) {
            return Ok(Standing::Unverified(format!(
                "not authenticated as {domain}: {}",
                v.summary()
            )));
        }
        Ok(Standing::Verified)
    }

    /// Finds or opens the ticket; updates its claims when the message may
    /// ([`Ingester::standing`]), and otherwise links it as unverified.
    #[allow(clippy::too_many_arguments)]
    fn link(
        &self,
        s: &Store,
        row: i64,
        e: &Extraction,
        verdict: Option<&crate::ledger::trust::Verdict>,
        trusted_staff: bool,
        now: DateTime<Utc>,
        ahead: &mut Ahead,
    ) -> Result<Outcome, IngestError> {
        let stamp = crate::stamp(now);
        let (ticket, by, reference) = match self.find_ticket(s, e, now, ahead)? {
            Some((id, by)) => (id, by, s.ticket_reference(id)?),
            None if e.kind == Kind::CreditRequest => {
                let (id, reference) = ahead.create_ticket(s, e.sender_domain.as_deref(), &stamp)?;
                (id, "new", reference)
            }
            None => return Ok(Outcome::Stored { kind: e.kind }),
        };
        s.set_message_ticket(row, ticket)?;
        if by != "new" {
            if let Standing::Unverified(why) =
                self.standing(s, ticket, e, verdict, trusted_staff)?
            {
                s.set_message_standing(row, &why)?;
                for c in s.claims_of_ticket(ticket)? {
                    s.link_unverified(c.id, row)?;
                }
                tracing::info!(ticket = %reference, from = ?e.from, why, "unverified mail linked; it changes nothing");
                return Ok(Outcome::Unverified { reference, by, why });
            }
        }
        let external: Vec<String> = e
            .ticket_refs
            .iter()
            .filter(|r| !r.eq_ignore_ascii_case(&reference))
            .cloned()
            .collect();
        s.add_ticket_refs(ticket, &external)?;
        let claims = if e.kind.is_customer_content() {
            self.update_claims(s, (ticket, &reference), by == "new", row, e, now, ahead)?
        } else {
            Vec::new()
        };
        if let Some(v) = verdict.filter(|v| by == "new" && v.dmarc_failed()) {
            let why = format!(
                "the request that opened this ticket is not authenticated ({}): check it came from the customer",
                v.summary()
            );
            s.set_message_standing(row, &why)?;
            for c in s.claims_of_ticket(ticket)? {
                s.set_review(c.id, Some(&why), &stamp)?;
            }
        }
        Ok(if by == "new" {
            Outcome::NewTicket { reference, claims }
        } else {
            Outcome::Linked {
                reference,
                by,
                claims,
            }
        })
    }

    /// The ticket rules, in order: thread headers, subject tag, known references,
    /// then same sender domain + tenant + incident while the claim is open.
    fn find_ticket(
        &self,
        s: &Store,
        e: &Extraction,
        now: DateTime<Utc>,
        ahead: &Ahead,
    ) -> Result<Option<(i64, &'static str)>, IngestError> {
        if let Some(t) = s.ticket_by_thread(&e.thread_ids)? {
            return Ok(Some((t, "thread headers")));
        }
        for r in e
            .ticket_refs
            .iter()
            .filter(|r| r.to_ascii_uppercase().starts_with("SLA-"))
        {
            if let Some(t) = s.ticket_by_reference(r)? {
                let in_subject = e
                    .subject
                    .to_ascii_uppercase()
                    .contains(&format!("[{}]", r.to_ascii_uppercase()));
                return Ok(Some((
                    t,
                    if in_subject {
                        "subject tag"
                    } else {
                        "ticket reference"
                    },
                )));
            }
        }
        if let Some(t) = s.ticket_by_external_ref(&e.ticket_refs)? {
            return Ok(Some((t, "ticket reference")));
        }
        if let Some(domain) = &e.sender_domain {
            let today = now.date_naive().to_string();
            for tenant in &e.tenant_ids {
                for incident in &e.incident_ids {
                    if let Some(t) = ahead.ticket(s, domain, tenant, incident, &today)? {
                        return Ok(Some((t, "sender domain, tenant and incident")));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Creates or updates the claims this message speaks of, merges its evidence, and
    /// recomputes checklist, deadline and status. A ticket this message opened
    /// (`new_ticket`) has no claims yet, so none are looked for.
    #[allow(clippy::too_many_arguments)]
    fn update_claims(
        &self,
        s: &Store,
        (ticket, reference): (i64, &str),
        new_ticket: bool,
        row: i64,
        e: &Extraction,
        now: DateTime<Utc>,
        ahead: &mut Ahead,
    ) -> Result<Vec<String>, IngestError> {
        let stamp = crate::stamp(now);
        let existing = match new_ticket {
            true => Vec::new(),
            false => s.claims_of_ticket(ticket)?,
        };
        // Any of the ticket's claims may be re-keyed or rescheduled below, and new ones
        // opened: each key is marked, before and after.
        for c in &existing {
            ahead.touch(&c.tenant_id, &c.incident_id);
        }
        let mut touched: Vec<i64> = Vec::new();
        let (keys, unpaired) = claim_keys(&e.tenant_ids, &e.incident_ids, &e.claim_pairs);
        let cap = self.rules.max_claims_per_message.max(1);
        if unpaired || keys.len() > cap {
            // One claim for staff to sort out, not one per combination.
            let why = format!(
                "too many incidents or tenants: review ({} tenant(s), {} incident(s){})",
                e.tenant_ids.len(),
                e.incident_ids.len(),
                if unpaired {
                    " that the mail does not pair"
                } else {
                    ""
                }
            );
            let id = match existing.first() {
                Some(c) => c.id,
                None => ahead.create_claim(s, ticket, ("", ""), &stamp)?,
            };
            ahead.touch("", "");
            s.link_claim_message(id, row)?;
            s.set_review(id, Some(&why), &stamp)?;
            return Ok(vec![format!("?/? ({why})")]);
        }
        // The claims this message opens (no evidence yet), and each touched claim's
        // (tenant, incident) as it leaves them.
        let mut opened: Vec<i64> = Vec::new();
        let mut now_keyed: Vec<(i64, String, String)> = Vec::new();
        for (tenant, incident) in keys {
            // A claim opened without tenant or incident is completed, not duplicated.
            let found = existing.iter().find(|c| {
                (c.tenant_id == tenant || c.tenant_id.is_empty() || tenant.is_empty())
                    && (c.incident_id == incident
                        || c.incident_id.is_empty()
                        || incident.is_empty())
            });
            let id = match found {
                Some(c) => {
                    let t = if c.tenant_id.is_empty() {
                        tenant.clone()
                    } else {
                        c.tenant_id.clone()
                    };
                    let i = if c.incident_id.is_empty() {
                        incident.clone()
                    } else {
                        c.incident_id.clone()
                    };
                    if (t.as_str(), i.as_str()) != (c.tenant_id.as_str(), c.incident_id.as_str()) {
                        s.set_claim_key(c.id, &t, &i, &stamp)?;
                    }
                    now_keyed.push((c.id, t, i));
                    c.id
                }
                None if e.kind == Kind::CreditRequest || existing.is_empty() => {
                    let id = ahead.create_claim(s, ticket, (&tenant, &incident), &stamp)?;
                    opened.push(id);
                    now_keyed.push((id, tenant, incident));
                    id
                }
                None => continue,
            };
            if !touched.contains(&id) {
                touched.push(id);
            }
        }
        // A follow-up naming neither tenant nor incident adds to every claim of its ticket.
        if e.tenant_ids.is_empty() && e.incident_ids.is_empty() {
            for c in &existing {
                if !touched.contains(&c.id) {
                    touched.push(c.id);
                    now_keyed.push((c.id, c.tenant_id.clone(), c.incident_id.clone()));
                }
            }
        }
        for (_, tenant, incident) in &now_keyed {
            ahead.touch(tenant, incident);
        }
        let evidence = claim::evidence_from(e);
        for &id in &touched {
            s.link_claim_message(id, row)?;
            let stored = match opened.contains(&id) {
                true => Vec::new(),
                false => s.evidence(id)?,
            };
            let values: Vec<(String, Value)> =
                stored.iter().map(|r| (r.field.clone(), r.json())).collect();
            let mut changed = Vec::new();
            for (field, value) in &claim::tiered(&evidence, &values) {
                let old = stored
                    .iter()
                    .find(|r| r.field == *field)
                    .and_then(|r| serde_json::from_str::<Value>(&r.value).ok());
                if let Some(merged) = claim::merge(field, old.as_ref(), value) {
                    changed.push((field.to_string(), merged.to_string()));
                }
            }
            s.set_evidence_all(id, &changed, row, &stamp)?;
            match now_keyed.iter().find(|k| k.0 == id && opened.contains(&id)) {
                // A claim this message opened holds what was just written, no more: its
                // state is known here, and nothing waits to read it back.
                Some((_, tenant, incident)) => {
                    let claim = (id, ticket, reference, tenant.as_str(), incident.as_str());
                    let state = opened_state(claim, &changed, (row, e), &stamp);
                    // Debug builds (the test suite, on both backends) read it back: what
                    // is known here must not drift from what is stored.
                    if cfg!(debug_assertions) {
                        let sorted = |(c, mut rows, k): ClaimState| {
                            rows.sort_by(|a, b| a.field.cmp(&b.field));
                            (c, rows, k)
                        };
                        let stored = s.claim_state(id)?.map(sorted);
                        debug_assert_eq!(stored.as_ref(), Some(&state), "claim {id} as opened");
                    }
                    self.refresh_state(s, state, now)?;
                }
                None => self.refresh(s, id, now)?,
            }
        }
        let label = |incident: &str, tenant: &str| {
            format!("{}/{}", or_missing(incident), or_missing(tenant))
        };
        // One claim needs no second look; several are listed by deadline, as refreshed.
        if let [(_, tenant, incident)] = now_keyed.as_slice() {
            return Ok(vec![label(incident, tenant)]);
        }
        let after = s.claims_of_ticket(ticket)?;
        Ok(after
            .iter()
            .filter(|c| touched.contains(&c.id))
            .map(|c| label(&c.incident_id, &c.tenant_id))
            .collect())
    }

    /// Moves every unsubmitted claim whose deadline day has ended to `expired`; returns
    /// how many. Run before reading or writing claims, so no view shows a stale status.
    pub fn expire_overdue(
        &self,
        store: &mut Store,
        now: DateTime<Utc>,
    ) -> Result<usize, IngestError> {
        let stamp = crate::stamp(now);
        let today = now
            .with_timezone(&self.policy.zone)
            .date_naive()
            .to_string();
        store.transaction(|s| {
            let mut n = 0;
            for c in s.all_claims()? {
                if lifecycle::expires(&c, &today) {
                    s.set_status(c.id, Status::Expired, lifecycle::EXPIRED, &stamp)?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Recomputes deadline and status of one claim from its stored evidence.
    pub fn refresh(&self, s: &Store, claim_id: i64, now: DateTime<Utc>) -> Result<(), IngestError> {
        match s.claim_state(claim_id)? {
            Some(state) => self.refresh_state(s, state, now),
            None => Ok(()),
        }
    }

    /// [`Ingester::refresh`] from the claim's state as stored.
    fn refresh_state(
        &self,
        s: &Store,
        (c, rows, corrections): ClaimState,
        now: DateTime<Utc>,
    ) -> Result<(), IngestError> {
        let stamp = crate::stamp(now);
        let claim_id = c.id;
        // With the values staff set: a corrected window moves the deadline too.
        let evidence = Evidence::of_rows(&rows, &corrections);
        // Incident start: the outage start, else the first request's date (an assumption).
        let outage_start = evidence.outage_start();
        let request_date = rows
            .iter()
            .find(|r| r.field == "customer_request")
            .and_then(|r| r.sent_at.as_deref())
            .and_then(|t| {
                DateTime::parse_from_rfc3339(t)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            });
        let start = outage_start
            .map(|t| (t, false))
            .or(request_date.map(|t| (t, true)));
        let today = now
            .with_timezone(&self.policy.zone)
            .date_naive()
            .to_string();
        if let Some((start, assumed)) = start {
            let d = self.policy.deadline(start, assumed);
            let (before, after) = (c.deadline.as_deref(), d.deadline.to_string());
            if !c.status.is_final()
                && before.is_some_and(|b| b >= today.as_str())
                && after.as_str() < today.as_str()
            {
                s.set_review(
                    claim_id,
                    Some(&format!(
                        "customer mail moved the incident to {} and the deadline to {after}, which has passed: check the dates (reply \"ineligible: <reason>\" if it stands)",
                        start.date_naive()
                    )),
                    &stamp,
                )?;
            }
            s.set_schedule(
                claim_id,
                &crate::stamp(start),
                assumed,
                &d.deadline.to_string(),
                &d.submit_by.to_string(),
                &stamp,
            )?;
        }
        let current = c.status;
        let said = claim::review_reason(&evidence);
        let stale = c
            .review
            .as_deref()
            .is_some_and(|r| r.starts_with(claim::CUSTOMER_SAYS));
        if said.is_some() && said != c.review {
            s.set_review(claim_id, said.as_deref(), &stamp)?;
        } else if said.is_none() && stale {
            s.set_review(claim_id, None, &stamp)?;
        }
        let items = claim::checklist(&c.tenant_id, &c.incident_id, &evidence);
        if let Some((to, why)) = lifecycle::next_status(current, &items) {
            // Read above in this transaction, which writes the ledger alone.
            s.move_status(claim_id, current, to, &why, &stamp)?;
        }
        Ok(())
    }
}

/// The status a claim is opened in.
const OPENED: Status = Status::Collecting;

/// What [`Store::claim_state`] reads back for a claim that message `row` (extraction
/// `e`) just opened under `claim` (id, ticket id, reference, tenant, incident) with
/// evidence `values` (as [`Store::set_evidence_all`] writes them, the last of a field
/// kept) at `now`: the claim as opened, that evidence with the message's headers as its
/// row holds them ([`Staged::message`]), no corrections.
fn opened_state(
    (id, ticket_id, reference, tenant, incident): (i64, i64, &str, &str, &str),
    values: &[(String, String)],
    (row, e): (i64, &Extraction),
    now: &str,
) -> ClaimState {
    let claim = ClaimRow {
        id,
        ticket_id,
        ticket: reference.to_string(),
        tenant_id: tenant.to_string(),
        incident_id: incident.to_string(),
        status: OPENED,
        incident_start: None,
        start_assumed: false,
        deadline: None,
        submit_by: None,
        case_number: None,
        review: None,
    };
    let mut rows: Vec<EvidenceRow> = Vec::with_capacity(values.len());
    for (field, value) in values {
        rows.retain(|r| r.field != *field);
        rows.push(EvidenceRow {
            field: field.clone(),
            value: value.clone(),
            message: row,
            message_id: e.message_id.clone(),
            sent_at: sent_at(e),
            sender: e.from.clone(),
            updated_at: now.to_string(),
        });
    }
    rows.sort_by(|a, b| a.field.cmp(&b.field));
    (claim, rows, Vec::new())
}

/// A message's Date header as its row keeps it.
fn sent_at(e: &Extraction) -> Option<String> {
    e.date.map(|d| d.to_rfc3339())
}

/// (tenant, incident) pairs a message names: one tenant with each incident, or one
/// incident with each tenant; several of both as the mail's rows and paragraphs pair
/// them (`pairs`, from extraction). Never the cross product: when the mail does not say
/// which goes with which, no pairs, and the second value is true.
fn claim_keys(
    tenants: &[String],
    incidents: &[String],
    pairs: &[(String, String)],
) -> (Vec<(String, String)>, bool) {
    if tenants.len() > 1 && incidents.len() > 1 {
        return (pairs.to_vec(), pairs.is_empty());
    }
    let one = |v: &[String]| {
        if v.is_empty() {
            vec![String::new()]
        } else {
            v.to_vec()
        }
    };
    let (t, i) = (one(tenants), one(incidents));
    let keys = t
        .iter()
        .flat_map(|tenant| i.iter().map(move |inc| (tenant.clone(), inc.clone())))
        .collect();
    (keys, false)
}

fn or_missing(s: &str) -> &str {
    if s.is_empty() { "?" } else { s }
}
