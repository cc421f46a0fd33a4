//! What mail is due: drafts when a claim changes, reminders at lead times before its
//! deadline, a notice when it expires, and the cron digest. Each is queued in the outbox
//! under a Message-ID derived from (claim, purpose, version), so planning twice, or again
//! after a crash, queues nothing twice.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ledger::evidence::Evidence;
use crate::outbound::draft::{self, Customer, DraftConfig, Outgoing, Templates};
use crate::store::Status;
use crate::store::{ClaimRow, NewMail, Store, StoreError};

/// The `[reminders]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReminderConfig {
    /// Managers who get reminders, expiry notices and the digest.
    #[serde(default)]
    pub managers: Vec<String>,
    /// Days before Microsoft's deadline at which an unsubmitted claim is reminded of.
    #[serde(default = "default_leads")]
    pub lead_days: Vec<u32>,
    /// The digest's schedule: a `cron` expression with a seconds field, evaluated in
    /// deadline.time-zone. Empty disables the digest.
    #[serde(default = "default_digest")]
    pub digest: String,
}

impl Default for ReminderConfig {
    fn default() -> Self {
        ReminderConfig {
            managers: Vec::new(),
            lead_days: default_leads(),
            digest: default_digest(),
        }
    }
}

fn default_leads() -> Vec<u32> {
    vec![14, 7, 3, 1]
}

fn default_digest() -> String {
    "0 0 8 * * Mon".into()
}

impl ReminderConfig {
    /// The digest schedule, or None when disabled; errors explain the cron dialect.
    pub fn schedule(&self) -> Result<Option<cron::Schedule>, String> {
        let expr = self.digest.trim();
        if expr.is_empty() {
            return Ok(None);
        }
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() == 5 {
            return Err(format!(
                "reminders.digest {expr:?}: this cron dialect has a seconds field first (six or seven fields): for 08:00 on Mondays write \"0 0 8 * * Mon\""
            ));
        }
        if fields
            .get(5)
            .is_some_and(|w| w.chars().any(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "reminders.digest {expr:?}: write weekdays as names (Mon-Fri); in this cron dialect the numeric weekday 1 is Sunday, not Monday"
            ));
        }
        cron::Schedule::from_str(expr).map(Some).map_err(|e| {
            format!(
                "reminders.digest {expr:?}: {e} (fields: sec min hour day-of-month month weekday [year], e.g. \"0 0 8 * * Mon-Fri\")"
            )
        })
    }
}

/// Everything planning needs, built once from the config.
pub struct Planner<'a> {
    /// Drafts settings.
    pub drafts: &'a DraftConfig,
    /// Reminder settings.
    pub reminders: &'a ReminderConfig,
    /// Known customers.
    pub customers: &'a [Customer],
    /// Incident prefix -> service name.
    pub services: BTreeMap<String, String>,
    /// The wording: built-in templates, or the configured directory's.
    pub templates: &'a Templates,
    /// The zone in which days and the digest are reckoned.
    pub zone: chrono_tz::Tz,
    /// Our From address.
    pub from: String,
    /// Domain of our Message-IDs.
    pub domain: String,
    /// The digest schedule.
    pub digest: Option<cron::Schedule>,
    /// Microsoft's record is fetched (`[graph]`): a claim's first draft waits for the
    /// first check, at most [`VERIFY_WAIT`], so that it shows the record.
    pub verify_first: bool,
}

/// How long a new claim's first draft waits for Microsoft's record before it goes
/// without it: a check that cannot be had never holds a draft up for long.
pub const VERIFY_WAIT: chrono::Duration = chrono::Duration::minutes(10);

/// One mail to plan: what it is for, its place in the claim's thread, who gets it
/// and what renders it.
struct Letter<'a> {
    claim: i64,
    /// "draft", "reminder-7", "expired", ...
    purpose: &'a str,
    version: i64,
    /// Its Message-ID.
    id: &'a str,
    to: &'a [String],
    template: String,
    ctx: &'a Value,
    attachments: &'a [Vec<u8>],
    /// What the draft says, to tell a changed claim from an unchanged one.
    fingerprint: Option<&'a str>,
    /// The draft's values line by line, for the next version's list of changes.
    summary: Option<&'a str>,
}

/// A mail rendered for a claim, to be queued with the claim's other writes.
struct Composed {
    claim: i64,
    purpose: String,
    version: i64,
    message_id: String,
    to: Vec<String>,
    raw: Vec<u8>,
    fingerprint: Option<String>,
    summary: Option<String>,
}

impl Composed {
    fn as_new(&self) -> NewMail<'_> {
        NewMail {
            claim_id: Some(self.claim),
            purpose: &self.purpose,
            version: self.version,
            message_id: &self.message_id,
            recipients: &self.to,
            raw: &self.raw,
            fingerprint: self.fingerprint.as_deref(),
            summary: self.summary.as_deref(),
        }
    }
}

/// One write planning decided on.
enum Write {
    /// Queue this mail (once: its Message-ID is the key).
    Mail(Composed),
    /// Move the claim to this status, for this reason.
    Status(Status, &'static str),
    /// Record a reminder that is never to be sent.
    Skip { purpose: String, id: String },
}

/// What planning decided for one claim, read at `revision` with `status`.
struct ClaimPlan {
    id: i64,
    revision: i64,
    status: Status,
    writes: Vec<Write>,
    counts: PlanReport,
}

/// The most claims whose plans are written in one transaction: few enough that the
/// ledger's write lock is held briefly and the mail queued is not held back long.
const WRITE_BATCH: usize = 16;

/// Mail rendered and not yet written is written once it holds this many bytes: a
/// draft carries the customer's mail (up to `max-attachment-bytes`), and sixteen of
/// them must not be held in memory at once.
const WRITE_BYTES: usize = 8 << 20;

impl ClaimPlan {
    /// The bytes of the mail it holds.
    fn bytes(&self) -> usize {
        self.writes
            .iter()
            .map(|w| match w {
                Write::Mail(m) => m.raw.len(),
                _ => 0,
            })
            .sum()
    }
}

/// What earlier passes planned: claim → (its revision, the day). A claim whose revision
/// (see `Store::claim_revisions`) and day are both unchanged would plan to the same
/// outcome, so it is not read and rendered again: a pass costs the claims that changed,
/// not every open claim. The ledger keeps the same record for every instance
/// (`Store::record_plan`), with the settings' fingerprint, so a claim one instance
/// planned is not planned again by another, nor after a restart with the same settings.
/// Start afresh (`default`) when the configuration or templates change.
#[derive(Debug, Default)]
pub struct Planned {
    done: HashMap<i64, (i64, NaiveDate)>,
    /// The planner's settings digest ([`Planner::fingerprint`]), made once: a new
    /// `Planned` goes with new settings.
    settings: Option<String>,
    /// Every claim is looked at, whatever the ledger's record says ([`Planner::plan`]).
    everything: bool,
    /// What planning a claim asks the ledger about it ([`Store::reading_ahead`]): the
    /// queries the last claim's plan asked with its id alone, and of those the ones the
    /// claim before asked as well, which the next claim's are asked ahead from (a query
    /// asked once only, or by chance with an id equal to the claim's, is not).
    asked: (Vec<String>, Vec<String>),
}

/// What one planning pass queued.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PlanReport {
    /// Drafts queued (new or updated).
    pub drafts: usize,
    /// Reminders queued.
    pub reminders: usize,
    /// Expiry notices queued.
    pub expired: usize,
    /// Digests queued.
    pub digests: usize,
    /// Claims whose mail could not be made, with why; the rest of the pass went on.
    pub failed: Vec<(i64, String)>,
    /// Claims whose first draft waits for Microsoft's record (looked at every pass).
    pub held: usize,
}

/// Errors of planning.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template or a message could not be made.
    #[error("{0}")]
    Compose(String),
}

/// Our Message-ID for (claim, purpose, version).
pub fn message_id(claim: Option<i64>, purpose: &str, version: &str, domain: &str) -> String {
    match claim {
        Some(c) => format!("slaclaim.{c}.{purpose}.{version}@{domain}"),
        None => format!("slaclaim.{purpose}.{version}@{domain}"),
    }
}

impl<'a> Letter<'a> {
    /// A notice about a claim: no attachments, no draft fingerprint.
    fn notice(
        claim: i64,
        purpose: &'a str,
        version: i64,
        id: &'a str,
        to: &'a [String],
        template: String,
        ctx: &'a Value,
    ) -> Letter<'a> {
        Letter {
            claim,
            purpose,
            version,
            id,
            to,
            template,
            ctx,
            attachments: &[],
            fingerprint: None,
            summary: None,
        }
    }
}

impl Planner<'_> {
    /// Queues whatever is due at `now`, looking at every claim. Each claim's mail and
    /// status change commit together.
    pub fn plan(&self, store: &mut Store, now: DateTime<Utc>) -> Result<PlanReport, PlanError> {
        let mut every = Planned {
            everything: true,
            ..Planned::default()
        };
        self.plan_changed(store, now, &mut every)
    }

    /// A digest of everything planning reads besides the ledger: settings, customers and
    /// templates. Instances with equal settings share each other's plans; a change of
    /// settings has every claim planned again.
    pub fn fingerprint(&self) -> String {
        let settings = format!(
            "{:?}",
            (
                self.drafts,
                self.reminders,
                self.customers,
                &self.services,
                self.zone,
                &self.from,
                &self.domain,
                self.verify_first,
            )
        );
        crate::store::sha256_hex(format!("{settings}\0{}", self.templates.fingerprint()).as_bytes())
    }

    /// Queues whatever is due at `now`, looking only at the claims that changed (or met
    /// a new day) since the passes recorded in `planned`.
    pub fn plan_changed(
        &self,
        store: &mut Store,
        now: DateTime<Utc>,
        planned: &mut Planned,
    ) -> Result<PlanReport, PlanError> {
        let mut report = PlanReport::default();
        let today = now.with_timezone(&self.zone).date_naive();
        // Claims another instance (or this one, before a restart) planned at their
        // revision today with these settings are left: mail planned twice is queued once
        // anyway, but each plan reads and renders the claim. `plan` looks at every claim.
        let settings = planned
            .settings
            .get_or_insert_with(|| self.fingerprint())
            .clone();
        let day = today.to_string();
        let claims = match planned.everything {
            true => store.claim_revisions()?,
            false => store.claims_to_plan(&day, &settings)?,
        };
        // The plans waiting to be written, and the bytes of mail they hold.
        let (mut decided, mut bytes): (Vec<ClaimPlan>, usize) = (Vec::new(), 0);
        for (id, revision) in claims {
            if planned.done.get(&id) == Some(&(revision, today)) {
                continue;
            }
            // One round trip for what planning a claim asks, where each question would
            // wait for one of its own.
            let (read, asked) = store.reading_ahead(id, &planned.asked.1, |s| {
                let Some(c) = s.claim(id)? else {
                    return Ok(None);
                };
                let mut plan = ClaimPlan {
                    id,
                    revision,
                    status: c.status,
                    writes: Vec::new(),
                    counts: PlanReport::default(),
                };
                let outcome = self.plan_claim(s, &c, now, today, &mut plan);
                Ok::<_, StoreError>(Some((c, plan, outcome)))
            })?;
            let repeated = asked
                .iter()
                .filter(|q| planned.asked.0.contains(q))
                .cloned()
                .collect();
            planned.asked = (asked, repeated);
            let Some((c, plan, outcome)) = read? else {
                continue;
            };
            match outcome {
                Ok(()) => {
                    report.held += plan.counts.held;
                    bytes += plan.bytes();
                    decided.push(plan);
                }
                Err(PlanError::Store(e)) => return Err(e.into()),
                // One claim's mail that cannot be made stops that claim only: recorded
                // against it for staff, tried again when it changes or the next day.
                Err(PlanError::Compose(why)) => {
                    tracing::error!(claim = id, ticket = %c.ticket, why, "mail for this claim cannot be made; the other claims go on");
                    let flag = format!("slaclaim cannot make this claim's mail: {why}");
                    let stamp = crate::stamp(now);
                    let after = store.transaction(|s| {
                        s.set_review(id, Some(&flag), &stamp)?;
                        let after = s.claim_revision(id)?;
                        s.record_plan(id, after, &day, &settings)?;
                        Ok::<_, StoreError>(after)
                    })?;
                    report.failed.push((id, why));
                    planned.done.insert(id, (after, today));
                }
            }
            if decided.len() >= WRITE_BATCH || bytes >= WRITE_BYTES {
                bytes = 0;
                self.write(
                    store,
                    std::mem::take(&mut decided),
                    now,
                    planned,
                    &mut report,
                )?;
            }
        }
        self.write(store, decided, now, planned, &mut report)?;
        store.transaction(|s| self.plan_digest(s, now, today, &mut report))?;
        Ok(report)
    }

    /// Writes what planning decided for `plans`, in one short transaction: a claim's
    /// mail, status and plan record land only while the claim is still at the revision
    /// it was read at, and no instance recorded a plan for it meanwhile. Reading and
    /// rendering happened before, outside the transaction, so the ledger's write lock
    /// (every instance's, on PostgreSQL) is held for a few round trips, not for the
    /// reading of every claim. A claim that moved is left: its new revision has it
    /// planned again at the next pass.
    fn write(
        &self,
        store: &mut Store,
        plans: Vec<ClaimPlan>,
        now: DateTime<Utc>,
        planned: &mut Planned,
        report: &mut PlanReport,
    ) -> Result<(), PlanError> {
        if plans.is_empty() {
            return Ok(());
        }
        let today = now.with_timezone(&self.zone).date_naive();
        let day = today.to_string();
        let settings = planned.settings.clone().unwrap_or_default();
        let everything = planned.everything;
        let ids: Vec<i64> = plans.iter().map(|p| p.id).collect();
        let stamp = crate::stamp(now);
        let mail_stamp = crate::stamp_ms(now);
        let written = store.transaction(|s| {
            let states = s.plan_states(&ids, &day, &settings)?;
            let mut written = Vec::new();
            for plan in plans {
                let unchanged = states.get(&plan.id).is_some_and(|&(revision, recorded)| {
                    revision == plan.revision && (everything || !recorded)
                });
                if !unchanged {
                    continue;
                }
                for w in &plan.writes {
                    match w {
                        Write::Mail(m) => s.enqueue_mail_later(&m.as_new(), &mail_stamp)?,
                        Write::Status(to, why) => {
                            s.move_status(plan.id, plan.status, *to, why, &stamp)?
                        }
                        Write::Skip { purpose, id } => s.skip_mail(plan.id, purpose, id, &stamp)?,
                    }
                }
                written.push(plan);
            }
            let ids: Vec<i64> = written.iter().map(|p| p.id).collect();
            let after = s.revisions_of(&ids)?;
            // A draft waiting for Microsoft's record is looked at again next pass, by
            // whichever instance: its plan is not recorded.
            for plan in written.iter().filter(|p| p.counts.held == 0) {
                if let Some(&revision) = after.get(&plan.id) {
                    s.record_plan(plan.id, revision, &day, &settings)?;
                }
            }
            Ok::<_, PlanError>((written, after))
        })?;
        let (written, after) = written;
        for plan in written {
            for w in &plan.writes {
                if let Write::Mail(m) = w {
                    tracing::info!(claim = plan.id, purpose = %m.purpose, message_id = %m.message_id, "mail queued");
                }
            }
            report.drafts += plan.counts.drafts;
            report.reminders += plan.counts.reminders;
            report.expired += plan.counts.expired;
            if let Some(&revision) = after.get(&plan.id).filter(|_| plan.counts.held == 0) {
                planned.done.insert(plan.id, (revision, today));
            }
        }
        Ok(())
    }

    fn context(&self, c: &ClaimRow, evidence: &Evidence, today: NaiveDate) -> Value {
        draft::claim_context(
            c,
            evidence,
            self.customers,
            &self.services,
            self.drafts.language,
            self.zone,
            today,
        )
    }

    /// Decides a claim's mail from what the ledger says of it, into `plan`: nothing is
    /// written here (see [`Planner::write`]).
    fn plan_claim(
        &self,
        s: &Store,
        c: &ClaimRow,
        now: DateTime<Utc>,
        today: NaiveDate,
        plan: &mut ClaimPlan,
    ) -> Result<(), PlanError> {
        let status = c.status;
        let lang = self.drafts.language.code();
        self.answer_corrections(s, c, now, plan)?;
        // Final claims cost one look at the outbox, not a rendering, on every pass.
        if status == Status::Expired {
            let id = message_id(Some(c.id), "expired", "1", &self.domain);
            if !self.reminders.managers.is_empty() && !s.mail_exists(&id)? {
                let evidence = Evidence::of_claim(s, c.id)?;
                let ctx = self.context(c, &evidence, today);
                let mail = self.compose(
                    s,
                    Letter::notice(
                        c.id,
                        "expired",
                        1,
                        &id,
                        &self.reminders.managers,
                        format!("expired.{lang}.txt"),
                        &ctx,
                    ),
                    now,
                )?;
                plan.writes.push(Write::Mail(mail));
                plan.counts.expired += 1;
            }
            return Ok(());
        }
        if status.is_final() {
            return Ok(());
        }
        let evidence = Evidence::of_claim(s, c.id)?;
        let mut ctx = self.context(c, &evidence, today);
        let check = s.graph_check(c.id)?;
        if let Some(g) = &check {
            let record = crate::ledger::record::Record::read(g, &evidence.downtime);
            ctx["microsoft"] = json!(record.lines());
        }
        let request = self.request_trust(s, c.id)?;
        ctx["review"] = json!(
            c.review
                .as_deref()
                .map(|r| draft::one_line(r, draft::MAX_VALUE_CHARS))
        );
        ctx["request_trust"] = json!(request.as_ref().map(|(summary, _)| summary));
        // A draft is worth sending once the customer asked for a credit; a new one only
        // when what it would say changes ("drafted" and "ready" read the same).
        let asked = ctx["request"].is_string();
        if asked && self.awaits_record(s, c, check.is_some(), now)? {
            plan.counts.held += 1;
            return Ok(());
        }
        if asked && !self.drafts.helpdesk.is_empty() {
            let mut key = ctx.clone();
            key["status"] = json!(if status == Status::Drafted {
                "ready"
            } else {
                status.as_str()
            });
            key["days_left"] = Value::Null;
            key["today"] = Value::Null;
            // Who set a value is shown, but a staff line that confirms a value as it was
            // is no reason for a new version: only a changed value (or a conflict) is.
            key["staff"] = Value::Null;
            key["derived"] = Value::Null;
            let fingerprint = crate::store::sha256_hex(key.to_string().as_bytes());
            // Listed in the draft, but no reason to send one: mail that may not change
            // the claim must not make the helpdesk's mail either.
            ctx["unverified"] = json!(self.unverified(s, c.id)?);
            let last = s.last_draft(c.id)?;
            if last.as_ref().is_none_or(|(_, f, _)| *f != fingerprint) {
                let version = last.as_ref().map_or(1, |(v, _, _)| v + 1);
                let summary = draft::summary(&ctx);
                let before = last
                    .and_then(|(_, _, s)| s)
                    .and_then(|s| serde_json::from_str::<Value>(&s).ok());
                ctx["version"] = json!(version);
                ctx["changes"] = json!(draft::changes(before.as_ref(), &summary, &evidence));
                let summary = summary.to_string();
                let id = message_id(Some(c.id), "draft", &version.to_string(), &self.domain);
                let mut to = self.drafts.helpdesk.clone();
                // Customer data goes only to a requester our servers authenticated.
                if self.drafts.send_to_customers
                    && request.as_ref().is_some_and(|(_, passed)| *passed)
                {
                    to.extend(
                        evidence
                            .requester()
                            .map(str::to_string)
                            .filter(|a| a.parse::<lettre::Address>().is_ok()),
                    );
                }
                let attachments = self.attachments(s, c.id)?;
                let mail = self.compose(
                    s,
                    Letter {
                        claim: c.id,
                        purpose: "draft",
                        version,
                        id: &id,
                        to: &to,
                        template: format!("draft.{lang}.txt"),
                        ctx: &ctx,
                        attachments: &attachments,
                        fingerprint: Some(&fingerprint),
                        summary: Some(&summary),
                    },
                    now,
                )?;
                plan.writes.push(Write::Mail(mail));
                plan.counts.drafts += 1;
                if status == Status::Ready {
                    plan.writes
                        .push(Write::Status(Status::Drafted, "draft sent to the helpdesk"));
                }
            }
        }
        // Reminders: the nearest lead time reached is sent; farther ones reached at the
        // same time (a claim found late) are recorded as skipped, never sent later.
        let Some(days_left) = ctx["days_left"].as_i64() else {
            return Ok(());
        };
        if self.reminders.managers.is_empty() || days_left < 0 {
            return Ok(());
        }
        let mut reached: Vec<u32> = self
            .reminders
            .lead_days
            .iter()
            .copied()
            .filter(|l| i64::from(*l) >= days_left)
            .collect();
        reached.sort_unstable();
        reached.dedup();
        if let Some((&nearest, farther)) = reached.split_first() {
            for lead in farther {
                let purpose = format!("reminder-{lead}");
                let id = message_id(Some(c.id), &purpose, "1", &self.domain);
                plan.writes.push(Write::Skip { purpose, id });
            }
            let purpose = format!("reminder-{nearest}");
            let id = message_id(Some(c.id), &purpose, "1", &self.domain);
            if !s.mail_exists(&id)? {
                let mail = self.compose(
                    s,
                    Letter::notice(
                        c.id,
                        &purpose,
                        1,
                        &id,
                        &self.reminders.managers,
                        format!("reminder.{lang}.txt"),
                        &ctx,
                    ),
                    now,
                )?;
                plan.writes.push(Write::Mail(mail));
                plan.counts.reminders += 1;
            }
        }
        Ok(())
    }

    /// The verdict on the mail that asked for the credit, for people, and whether DMARC
    /// passed for its sender's domain; None when no verdict was recorded.
    fn request_trust(&self, s: &Store, claim: i64) -> Result<Option<(String, bool)>, StoreError> {
        Ok(
            crate::ledger::trust::of_request(s, claim)?.map(|(v, domain)| {
                let passed = domain.is_some_and(|d| v.dmarc_passed_for(&d));
                (v.summary(), passed)
            }),
        )
    }

    /// Unverified mail of a claim, one line each, at most ten and a count of the rest.
    fn unverified(&self, s: &Store, claim: i64) -> Result<Vec<String>, StoreError> {
        const SHOWN: usize = 10;
        let all = s.unverified_messages(claim)?;
        let mut lines: Vec<String> = all
            .iter()
            .take(SHOWN)
            .map(|(from, subject, at, why)| {
                draft::one_line(
                    &format!("{at} from {from}: \"{subject}\" ({why})"),
                    draft::MAX_VALUE_CHARS,
                )
            })
            .collect();
        if all.len() > SHOWN {
            lines.push(format!(
                "and {} more (slaclaim claim shows them all)",
                all.len() - SHOWN
            ));
        }
        Ok(lines)
    }

    /// The customer's own mails of a claim, within the attachment budget.
    fn attachments(&self, s: &Store, claim: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        let mut total = 0usize;
        for (id, kind) in s.claim_message_kinds(claim)? {
            if !matches!(kind.as_str(), "credit_request" | "ticket_update") {
                continue;
            }
            if let Some(raw) = s.raw_message(id)? {
                if total + raw.len() > self.drafts.max_attachment_bytes {
                    tracing::warn!(
                        claim,
                        message = id,
                        "customer mail too large to attach; it stays in the store"
                    );
                    continue;
                }
                total += raw.len();
                out.push(raw);
            }
        }
        Ok(out)
    }

    /// Whether a claim's first draft still waits for Microsoft's record: checks are on,
    /// the claim can be checked, none was had yet and the claim is younger than
    /// [`VERIFY_WAIT`].
    fn awaits_record(
        &self,
        s: &Store,
        c: &ClaimRow,
        checked: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, PlanError> {
        if !self.verify_first || checked || c.tenant_id.is_empty() || c.incident_id.is_empty() {
            return Ok(false);
        }
        if s.last_draft(c.id)?.is_some() {
            return Ok(false);
        }
        let opened = s
            .transitions(c.id)?
            .first()
            .and_then(|t| DateTime::parse_from_rfc3339(&t.at).ok())
            .map(|t| t.with_timezone(&Utc));
        Ok(opened.is_some_and(|t| now - t < VERIFY_WAIT))
    }

    /// Answers each staff reply with lines that could not be read, once, naming them.
    fn answer_corrections(
        &self,
        s: &Store,
        c: &ClaimRow,
        now: DateTime<Utc>,
        plan: &mut ClaimPlan,
    ) -> Result<(), PlanError> {
        let lang = self.drafts.language.code();
        for u in s.unreadable_corrections(c.id)? {
            let id = message_id(
                Some(c.id),
                "corrections",
                &u.message.to_string(),
                &self.domain,
            );
            if u.sender.parse::<lettre::Address>().is_err() || s.mail_exists(&id)? {
                continue;
            }
            let lines: Vec<Value> = u
                .lines
                .iter()
                .map(|(line, why)| json!({"line": line, "why": why}))
                .collect();
            let subject = u
                .subject
                .trim_start_matches("Re: ")
                .trim_start_matches("RE: ");
            let ctx =
                json!({"subject": subject, "ticket": c.ticket, "lines": lines, "language": lang});
            let mail = self.compose(
                s,
                Letter::notice(
                    c.id,
                    "corrections",
                    u.message,
                    &id,
                    std::slice::from_ref(&u.sender),
                    format!("corrections.{lang}.txt"),
                    &ctx,
                ),
                now,
            )?;
            plan.writes.push(Write::Mail(mail));
        }
        Ok(())
    }

    /// Renders `letter` into a mail for the outbox, in its claim's thread.
    fn compose(
        &self,
        s: &Store,
        letter: Letter<'_>,
        now: DateTime<Utc>,
    ) -> Result<Composed, PlanError> {
        let Letter {
            claim,
            purpose,
            version,
            id,
            to,
            template,
            ctx,
            attachments,
            fingerprint,
            summary,
        } = letter;
        let (subject, text) = self
            .templates
            .render(&template, ctx)
            .map_err(PlanError::Compose)?;
        let html = if purpose == "draft" {
            let html_ctx = json!({"subject": subject, "text": text, "language": ctx["language"]});
            Some(
                self.templates
                    .render("draft.html", &html_ctx)
                    .map_err(PlanError::Compose)?
                    .1,
            )
        } else {
            None
        };
        // Every later draft and reminder refers to the claim's first draft, so mail
        // clients show them as one thread.
        let first = s.first_draft_message_id(claim)?.filter(|first| first != id);
        let raw = draft::compose(&Outgoing {
            from: &self.from,
            to,
            subject: &subject,
            message_id: id,
            in_reply_to: first.as_deref(),
            text: &text,
            html: html.as_deref(),
            attachments,
            date: now,
        })
        .map_err(PlanError::Compose)?;
        Ok(Composed {
            claim,
            purpose: purpose.to_string(),
            version,
            message_id: id.to_string(),
            to: to.to_vec(),
            raw,
            fingerprint: fingerprint.map(str::to_string),
            summary: summary.map(str::to_string),
        })
    }

    fn plan_digest(
        &self,
        s: &Store,
        now: DateTime<Utc>,
        today: NaiveDate,
        report: &mut PlanReport,
    ) -> Result<(), PlanError> {
        let (Some(schedule), false) = (&self.digest, self.reminders.managers.is_empty()) else {
            return Ok(());
        };
        let local_now = now.with_timezone(&self.zone).naive_local();
        let Some(last) = s
            .schedule_value("digest.last")?
            .and_then(|v| NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M:%S").ok())
        else {
            // First start: the schedule begins now, no digest for the past.
            s.set_schedule_value(
                "digest.last",
                &local_now.format("%Y-%m-%dT%H:%M:%S").to_string(),
            )?;
            return Ok(());
        };
        // Fires missed while stopped collapse into one digest, for the latest of them.
        let mut due: Option<NaiveDateTime> = None;
        let mut cursor = last;
        while let Some(next) = next_fire(schedule, cursor) {
            if fire_instant(next, self.zone) > now {
                break;
            }
            due = Some(next);
            cursor = next;
        }
        let Some(fire) = due else {
            return Ok(());
        };
        let key = fire.format("%Y%m%dT%H%M%S").to_string();
        let id = message_id(None, "digest", &key, &self.domain);
        let since = crate::stamp(fire_instant(last, self.zone));
        let mut open = Vec::new();
        let mut expired = Vec::new();
        let mut claims = s.all_claims()?;
        claims.sort_by(|a, b| a.deadline.cmp(&b.deadline));
        for c in &claims {
            let status = c.status;
            if !status.is_final() {
                open.push(self.context(c, &Evidence::of_claim(s, c.id)?, today));
            } else if status == Status::Expired
                && s.transitions(c.id)?
                    .iter()
                    .any(|t| t.to == Status::Expired && t.at >= since)
            {
                expired.push(self.context(c, &Evidence::of_claim(s, c.id)?, today));
            }
        }
        let failed: Vec<Value> = s
            .mail_with_status("failed", &since)?
            .into_iter()
            .map(|m| json!({"purpose": m.purpose, "message_id": m.message_id, "last_error": m.last_error}))
            .collect();
        let refused: Vec<Value> = s
            .refused_since(&since)?
            .into_iter()
            .map(
                |d| json!({"recipient": d.recipient, "message_id": d.message_id, "reply": d.reply}),
            )
            .collect();
        let ctx = json!({"claims": open, "expired": expired, "failed": failed, "refused": refused, "today": today.to_string(), "language": self.drafts.language.code()});
        let lang = self.drafts.language.code();
        let (subject, text) = self
            .templates
            .render(&format!("digest.{lang}.txt"), &ctx)
            .map_err(PlanError::Compose)?;
        let raw = draft::compose(&Outgoing {
            from: &self.from,
            to: &self.reminders.managers,
            subject: &subject,
            message_id: &id,
            in_reply_to: None,
            text: &text,
            html: None,
            attachments: &[],
            date: now,
        })
        .map_err(PlanError::Compose)?;
        let stamp = crate::stamp_ms(now);
        if s.enqueue_mail(
            &NewMail {
                claim_id: None,
                purpose: "digest",
                version: 1,
                message_id: &id,
                recipients: &self.reminders.managers,
                raw: &raw,
                fingerprint: None,
                summary: None,
            },
            &stamp,
        )? {
            report.digests += 1;
        }
        s.set_schedule_value("digest.last", &fire.format("%Y-%m-%dT%H:%M:%S").to_string())?;
        Ok(())
    }
}

/// The requester's address of a claim's first request.
/// The next fire strictly after `after`, on the local wall clock. The schedule is read
/// on naive local time, so a wall-clock time that occurs twice (autumn) fires once and
/// one that does not occur (spring) still fires, at the first instant after the gap.
pub fn next_fire(schedule: &cron::Schedule, after: NaiveDateTime) -> Option<NaiveDateTime> {
    schedule
        .after(&Utc.from_utc_datetime(&after))
        .next()
        .map(|t| t.naive_utc())
}

/// The instant a local wall-clock fire time happens in `zone`.
pub fn fire_instant(local: NaiveDateTime, zone: chrono_tz::Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // In a spring gap: the first instant after it (gaps are at most an hour or two).
        LocalResult::None => (1..=3)
            .find_map(|h| {
                zone.from_local_datetime(&(local + chrono::Duration::hours(h)))
                    .earliest()
            })
            .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(expr: &str) -> cron::Schedule {
        ReminderConfig {
            digest: expr.into(),
            ..ReminderConfig::default()
        }
        .schedule()
        .unwrap()
        .unwrap_or_else(|| panic!("disabled"))
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn cron_dialect_errors_explain_themselves() {
        let err = |expr: &str| {
            ReminderConfig {
                digest: expr.into(),
                ..ReminderConfig::default()
            }
            .schedule()
            .err()
            .unwrap_or_default()
        };
        assert!(err("0 8 * * Mon").contains("seconds field first"));
        assert!(err("0 0 8 * * 1").contains("weekday 1 is Sunday"));
        assert!(err("0 0 25 * * Mon").contains("fields: sec min hour"));
        let off = ReminderConfig {
            digest: " ".into(),
            ..ReminderConfig::default()
        };
        assert!(matches!(off.schedule(), Ok(None)));
    }

    #[test]
    fn dst_changes_neither_double_nor_lose_a_run() {
        let zone: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;
        let daily = schedule("0 30 2 * * *");
        // Autumn: 02:30 happens twice on 25 October 2026; it fires once.
        let mut fires = Vec::new();
        let mut cursor = at("2026-10-24 03:00");
        while cursor < at("2026-10-27 00:00") {
            let Some(next) = next_fire(&daily, cursor) else {
                break;
            };
            fires.push(fire_instant(next, zone));
            cursor = next;
        }
        assert_eq!(fires.len(), 3, "{fires:?}");
        // Spring: 02:30 does not exist on 29 March 2026; it still fires, just after 02:00.
        let next = next_fire(&daily, at("2026-03-28 03:00")).unwrap_or_else(|| panic!("none"));
        assert_eq!(next, at("2026-03-29 02:30"));
        assert_eq!(
            fire_instant(next, zone).to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
    }
}
