//! Extraction: from one raw email to the facts a claim needs, each with its source.

pub mod classify;
pub mod config;
pub mod contact;
pub mod correct;
pub mod downtime;
pub mod eval;
pub mod fold;
pub mod ids;
pub mod intent;
pub mod lang;
pub mod monitor;
pub mod notice;
pub mod numbers;
pub mod people;
pub mod spoken;
pub mod table;
pub mod text;
pub mod when;

use chrono::{DateTime, FixedOffset, Utc};
use regex::Regex;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::mail::message::Email;
use crate::mail::quote;
use classify::{Kind, Signals};

pub use config::{ExtractConfig, InvalidSetting};
pub use contact::Contact;
pub use downtime::Window;

/// Everything read from one message.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Extraction {
    /// Message kind.
    pub kind: Kind,
    /// Which tenant goes with which incident, from the text's rows and paragraphs, when
    /// it names several of both; empty when it names fewer or does not say. For the
    /// ledger, not part of the printed extraction.
    #[serde(skip)]
    pub claim_pairs: Vec<(String, String)>,
    /// Incident IDs the customer claims for, sorted.
    pub incident_ids: Vec<String>,
    /// Tenant GUIDs, lower-case, sorted.
    pub tenant_ids: Vec<String>,
    /// Ticket and case references as written, sorted.
    pub ticket_refs: Vec<String>,
    /// Outage windows, chronological.
    pub downtime: Vec<Window>,
    /// Total affected users.
    pub affected_users: Option<u64>,
    /// Places of the affected users, as written.
    pub locations: Vec<String>,
    /// Whether the impacted subscriptions were bought through CSP.
    pub purchased_via_csp: Option<bool>,
    /// Whether the message asks for a credit.
    pub credit_requested: bool,
    /// Whether the customer says the incident was an advisory.
    pub advisory: bool,
    /// "en", "nl" or "de".
    pub language: &'static str,
    /// Message-ID without brackets.
    pub message_id: Option<String>,
    /// Message-IDs from In-Reply-To and References.
    pub thread_ids: Vec<String>,
    /// From address.
    pub from: Option<String>,
    /// From display name.
    pub from_name: Option<String>,
    /// Domain of the From address.
    pub sender_domain: Option<String>,
    /// The sender writes from a personal mailbox (gmail.com, outlook.com, ...).
    pub personal_mailbox: bool,
    /// Date header, RFC 3339 with the sender's offset.
    pub date: Option<DateTime<FixedOffset>>,
    /// Subject, decoded (RFC 2047).
    pub subject: String,
    /// Each incident with its service name.
    pub incidents: Vec<Incident>,
    /// What the customer tried, as a short excerpt.
    pub resolution_attempts: Option<String>,
    /// Customer contact details.
    pub contact: Contact,
    /// How likely each field's value is right (0..1), by field: what [`Evidence`] says,
    /// apart, so the extraction's own fields keep their shape.
    pub confidence: BTreeMap<&'static str, f64>,
    /// Why each field has its value: the source sentence and a confidence.
    pub evidence: BTreeMap<&'static str, Evidence>,
    /// Problems met while decoding or reading the message.
    pub problems: Vec<String>,
}

impl Extraction {
    /// The evidence, and the confidences read from it.
    fn set_evidence(&mut self, evidence: BTreeMap<&'static str, Evidence>) {
        self.confidence = evidence.iter().map(|(k, e)| (*k, e.confidence)).collect();
        self.evidence = evidence;
    }
}

/// An incident ID and the service its prefix stands for.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Incident {
    /// E.g. "EX1024871".
    pub id: String,
    /// E.g. "Exchange Online".
    pub service: String,
}

/// Where a value came from, so a human can check it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    /// The sentence, field or header the value was read from.
    pub source: String,
    /// 0.0-1.0: 0.9 for a labelled field, 0.7 for running text, less with assumptions.
    pub confidence: f64,
    /// What was assumed rather than written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
}

/// A validated extraction configuration with its patterns compiled.
#[derive(Debug, Clone)]
pub struct Extractor {
    incident: Regex,
    services: BTreeMap<String, String>,
    partner_names: Vec<String>,
    personal_domains: Vec<String>,
    max_text_bytes: usize,
}

/// Most distinct values one message contributes to a list field (the readers in `ids`
/// stop there). A real claim names a few incidents and tenants; thousands are an attack
/// on what follows (claims, drafts), and each value is checked against those found.
pub const MAX_LIST_VALUES: usize = 64;

impl Extractor {
    /// Builds the extractor; fails only on an invalid configuration.
    pub fn new(config: &ExtractConfig) -> Result<Extractor, InvalidSetting> {
        let services = config.prefixes();
        let alternatives: Vec<String> = services.keys().map(|p| regex::escape(p)).collect();
        let incident = Regex::new(&crate::ascii_pattern(&format!(
            r"\b(?:{})\d{{5,8}}\b",
            alternatives.join("|")
        )))
        .map_err(|e| InvalidSetting(format!("incident prefixes: {e}")))?;
        Ok(Extractor {
            incident,
            services,
            partner_names: config.partner_names.clone(),
            personal_domains: config
                .personal_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            max_text_bytes: config.max_text_bytes.max(1024),
        })
    }

    /// Parses and reads one raw message. Never panics and never fails: what cannot be
    /// decoded is listed in `problems` and the rest is still read.
    pub fn extract(&self, raw: &[u8]) -> Extraction {
        self.extract_email(&Email::parse(raw))
    }

    /// Parses and reads several raw messages, as [`Extractor::extract`] reads each, stage
    /// by stage across them all (see [`Extractor::extract_emails`]).
    pub fn extract_all(&self, raws: &[&[u8]]) -> Vec<Extraction> {
        let emails: Vec<Email> = raws.iter().map(|r| Email::parse(r)).collect();
        let emails: Vec<&Email> = emails.iter().collect();
        self.extract_emails(&emails)
    }

    /// [`Extractor::extract_email`] with a last line of defence: a bug that panics on
    /// some input must not take down a batch or the daemon; the panic's message is
    /// returned instead, for the caller to record against the message.
    pub fn extract_guarded(&self, email: &Email) -> Result<Extraction, String> {
        std::panic::catch_unwind(|| self.extract_email(email))
            .map_err(|p| crate::mail::message::panic_text(p.as_ref()))
    }

    /// Reads an already decoded message, stage by stage: the text to read (segments),
    /// the identifiers in it, the kind of message, and then, for customer content, the
    /// claim's fields.
    pub fn extract_email(&self, email: &Email) -> Extraction {
        let mut one = self.extract_emails(std::slice::from_ref(&email));
        one.pop().unwrap_or_default()
    }

    /// Reads several decoded messages, each as [`Extractor::extract_email`] reads it,
    /// stage by stage across all of them: each stage's code and automata are brought
    /// into the cache once for the lot instead of once a message (a claim mail read
    /// alone finds them cold, and pays about as much again for that as for the reading).
    pub fn extract_emails(&self, emails: &[&Email]) -> Vec<Extraction> {
        let verdicts: Vec<_> = emails.iter().map(|e| classify::by_headers(e)).collect();
        let segments: Vec<quote::Parts> = emails
            .iter()
            .map(|e| quote::split(&quote::strip_own(&e.body), &e.subject))
            .collect();
        let mut readings: Vec<Reading> = emails
            .iter()
            .zip(&verdicts)
            .zip(segments)
            .map(|((e, v), parts)| {
                let bounce = v.as_ref().is_some_and(|v| v.kind == Kind::Bounce);
                Reading::new(self, e, parts, bounce)
            })
            .collect();
        for r in &mut readings {
            r.language = lang::detect(&r.subject_and_text, r.email.header("content-language"));
        }
        // Identifiers, one kind at a time across the batch.
        let incidents: Vec<_> = readings.iter().map(Reading::incident_ids).collect();
        let tenants: Vec<_> = readings.iter().map(Reading::tenant_ids).collect();
        let ids: Vec<Ids> = readings
            .iter()
            .zip(incidents.into_iter().zip(tenants))
            .map(|(r, (incidents, tenants))| Ids {
                in_subject: if incidents.is_empty() {
                    r.subject_incidents()
                } else {
                    Vec::new()
                },
                incidents,
                tenants,
                tickets: r.ticket_refs(),
            })
            .collect();
        // The kind. Mail its headers leave open and that mentions a credit is rewritten,
        // cut into statements and asked whether it asks for one.
        let opened: Vec<(bool, bool)> = readings
            .iter()
            .zip(&verdicts)
            .map(|(r, v)| r.opening(v.as_ref()))
            .collect();
        let mut asking: Vec<(&mut Reading, &Ids)> = readings
            .iter_mut()
            .zip(&ids)
            .zip(&opened)
            .filter(|(_, (_, open))| *open)
            .map(|((r, ids), _)| (r, ids))
            .collect();
        for step in REWRITE_STEPS {
            for (r, ids) in &mut asking {
                r.rewrite_step(step, ids);
            }
        }
        for (r, _) in &mut asking {
            r.intent.statements = Some(text::statements(&r.new_text));
        }
        for (r, _) in &mut asking {
            r.ask_credit();
        }
        drop(asking);
        let mut exts: Vec<Extraction> = readings
            .iter_mut()
            .zip(verdicts)
            .zip(&ids)
            .zip(&opened)
            .map(|(((r, verdict), ids), (body_incident, _))| {
                let kind = r.kind(verdict, ids, *body_incident);
                let mut ext = r.base(kind);
                for (t, src) in &ids.tickets {
                    note_list(&mut ext.ticket_refs, t);
                    r.notes.note("ticket_refs", src, 0.8, vec![]);
                }
                ext
            })
            .collect();
        // The claim's fields, for customer content only, again stage by stage.
        let mut claims: Vec<Claim> = readings
            .iter_mut()
            .zip(exts.iter_mut())
            .zip(&ids)
            .filter(|((_, ext), _)| ext.kind.is_customer_content())
            .map(|((r, ext), ids)| Claim {
                reference: r.reference(),
                r,
                ext,
                ids,
                st: text::Statements::default(),
                monitor: Vec::new(),
                sites: None,
                users: None,
            })
            .collect();
        for step in REWRITE_STEPS {
            for c in &mut claims {
                c.r.rewrite_step(step, c.ids);
            }
        }
        for c in &mut claims {
            c.st = match c.r.intent.statements.take() {
                Some(st) => st,
                None => text::statements(&c.r.new_text),
            };
        }
        for c in &mut claims {
            c.r.identifier_fields(c.ext, c.ids);
        }
        for c in &mut claims {
            c.monitor = c.r.monitor_windows(c.reference);
        }
        for c in &mut claims {
            c.r.downtime(c.ext, &c.st, std::mem::take(&mut c.monitor), c.reference);
        }
        for c in &mut claims {
            c.sites = table::site_counts(&c.r.new_text);
        }
        for c in claims.iter_mut().filter(|c| c.sites.is_none()) {
            c.users = people::affected_users(&c.st);
        }
        for c in &mut claims {
            c.r.people(c.ext, &c.st, c.sites.take(), c.users.take());
        }
        for step in INTENT_STEPS {
            for c in &mut claims {
                c.r.intent_step(step, c.ext, &c.st);
            }
        }
        drop(claims);
        for (r, ext) in readings.into_iter().zip(exts.iter_mut()) {
            ext.incident_ids.sort();
            ext.tenant_ids.sort();
            ext.ticket_refs.sort();
            ext.set_evidence(r.notes.0);
        }
        exts
    }
}

/// One piece of customer content on its way through the claim's fields, with what one
/// stage leaves for a later one.
struct Claim<'r, 'a> {
    r: &'r mut Reading<'a>,
    ext: &'r mut Extraction,
    ids: &'r Ids,
    /// When the mail was written, read once for the monitor lines and the statements.
    reference: downtime::Reference,
    st: text::Statements,
    monitor: Vec<Window>,
    sites: Option<table::SiteCounts>,
    users: Option<(u64, String, usize)>,
}

/// The steps of the rewriting stage, in order (see [`Reading::rewrite_step`]).
#[derive(Clone, Copy)]
enum Rewrite {
    Notices,
    Spoken,
    TimeRows,
    Numbers,
    Corrections,
}

const REWRITE_STEPS: [Rewrite; 5] = [
    Rewrite::Notices,
    Rewrite::Spoken,
    Rewrite::TimeRows,
    Rewrite::Numbers,
    Rewrite::Corrections,
];

/// The intent fields, each read for every message before the next (see
/// [`Reading::intent_step`]).
#[derive(Clone, Copy)]
enum IntentField {
    Csp,
    Credit,
    Advisory,
    Resolution,
    Contact,
}

const INTENT_STEPS: [IntentField; 5] = [
    IntentField::Csp,
    IntentField::Credit,
    IntentField::Advisory,
    IntentField::Resolution,
    IntentField::Contact,
];

/// The evidence gathered while reading: the first note for a field stands.
#[derive(Default)]
struct Notes(BTreeMap<&'static str, Evidence>);

impl Notes {
    fn note(
        &mut self,
        field: &'static str,
        source: &str,
        confidence: f64,
        assumptions: Vec<String>,
    ) {
        self.0.entry(field).or_insert_with(|| Evidence {
            source: text::first_chars(source, 240).to_string(),
            confidence,
            assumptions,
        });
    }
}

/// The identifiers a message names, each with the text it came from.
struct Ids {
    incidents: Vec<(String, String)>,
    /// A reply's incidents when only its Subject names them.
    in_subject: Vec<(String, String)>,
    tenants: Vec<(String, String)>,
    tickets: Vec<(String, String)>,
}

/// What the kind decision left for the field readers: the intent found, the text
/// rewritten and cut into statements if it was read, and Microsoft's entries.
#[derive(Default)]
struct Intent {
    credit: Option<String>,
    go_ahead: Option<String>,
    statements: Option<text::Statements>,
    notices: Option<Vec<notice::Entry>>,
}

/// One message being read: what each stage leaves for the next.
struct Reading<'a> {
    x: &'a Extractor,
    email: &'a Email,
    is_reply: bool,
    /// The sender's own words, with attached originals and text files after them.
    new_text: String,
    signature: String,
    /// Where Microsoft's own mail (forwarded or attached) starts in `new_text`.
    microsoft_at: Vec<usize>,
    /// Where each forwarded or attached part starts in `new_text`.
    section_starts: Vec<usize>,
    problems: Vec<String>,
    /// The subject, a line break and the new text as first read.
    subject_and_text: String,
    folded: fold::Folded,
    language: &'static str,
    intent: Intent,
    /// Microsoft's entries between the rewriting stage's first step and its last.
    rewriting: Option<Vec<notice::Entry>>,
    notes: Notes,
}

impl<'a> Reading<'a> {
    /// Segments: the new text apart from quotes and signature (`parts`, the body split
    /// by [`quote::split`]), the content handed to us in attachments (not in bounces),
    /// capped at `max-text-bytes`.
    fn new(x: &'a Extractor, email: &'a Email, parts: quote::Parts, bounce: bool) -> Reading<'a> {
        let quote::Parts {
            mut new_text,
            mut signature,
            forwarded,
        } = parts;
        let mut microsoft_at: Vec<usize> = forwarded
            .iter()
            .filter(|f| notice::from_microsoft(&f.from))
            .map(|f| f.at)
            .collect();
        let mut section_starts: Vec<usize> = forwarded.iter().map(|f| f.at).collect();
        if !bounce {
            // An attached message/rfc822 is content handed to us (a forwarded original).
            for inner in &email.attached {
                section_starts.push(new_text.len());
                if inner
                    .from_addr
                    .as_deref()
                    .is_some_and(notice::from_microsoft)
                {
                    microsoft_at.push(new_text.len());
                }
                let p = quote::split(&quote::strip_own(&inner.body), &inner.subject);
                // Its date as a field, as for a forward inline: its "today" is that day.
                let date = inner
                    .date
                    .map(|d| format!("Date: {}\n\n", d.to_rfc2822()))
                    .unwrap_or_default();
                new_text.push_str(&format!("\n\n{}\n\n{date}{}", inner.subject, p.new_text));
                signature.push_str(&p.signature);
            }
            // An attached text file (a CSV of sites, a monitor's log) is evidence too.
            for file in &email.text_files {
                section_starts.push(new_text.len());
                new_text.push_str("\n\n");
                new_text.push_str(&file.name);
                new_text.push_str("\n\n");
                if file.csv {
                    new_text.push_str(&table::from_csv(&file.text));
                } else {
                    new_text.push_str(&file.text);
                }
            }
        }
        let mut problems = email.problems.clone();
        let mut notes = Notes::default();
        if new_text.len() > x.max_text_bytes {
            let total = new_text.len();
            new_text.truncate(crate::floor_char_boundary(&new_text, x.max_text_bytes));
            let why = format!(
                "only the first {} of {total} bytes of new text were read (extract.max-text-bytes)",
                new_text.len()
            );
            notes.note("text_read", &why, 1.0, vec![]);
            problems.push(why);
        }
        let mut subject_and_text = String::with_capacity(email.subject.len() + 1 + new_text.len());
        subject_and_text.push_str(&email.subject);
        subject_and_text.push('\n');
        subject_and_text.push_str(&new_text);
        let folded = fold::Folded::new(&subject_and_text);
        Reading {
            x,
            email,
            is_reply: classify::is_reply(email),
            new_text,
            signature,
            microsoft_at,
            section_starts,
            problems,
            subject_and_text,
            folded,
            // Detected for the batch after every message is segmented (see
            // `Extractor::extract_emails`).
            language: "",
            intent: Intent::default(),
            rewriting: None,
            notes,
        }
    }

    /// Incident IDs: in a reply only its new text's (the subject is the thread's).
    fn incident_ids(&self) -> Vec<(String, String)> {
        let x = self.x;
        let incident_text = if self.is_reply {
            self.new_text.as_str()
        } else {
            self.subject_and_text.as_str()
        };
        // Each pattern is first asked only whether it occurs at all (most mail has none):
        // a yes/no search stops at the first hit, where the full scans gather captures.
        let incidents = if x.incident.is_match(&self.subject_and_text) {
            ids::incident_ids(incident_text, &x.incident)
        } else {
            Vec::new()
        };
        if incidents.is_empty() {
            return ids::lower_case_ids(incident_text, &x.services);
        }
        incidents
    }

    /// A reply's incident IDs named only in its Subject ("Re: credit for EX1406400",
    /// answered with the details asked for): the Subject is part of what the sender
    /// sends, so they are the claim's, but they decide nothing about the kind (a
    /// thread's Subject names its incident in every reply).
    fn subject_incidents(&self) -> Vec<(String, String)> {
        if self.is_reply && self.x.incident.is_match(&self.email.subject) {
            ids::incident_ids(&self.email.subject, &self.x.incident)
        } else {
            Vec::new()
        }
    }

    /// Tenant GUIDs.
    fn tenant_ids(&self) -> Vec<(String, String)> {
        if ids::mentions_guid(&self.subject_and_text) {
            ids::tenant_ids(&self.new_text)
        } else {
            Vec::new()
        }
    }

    /// Ticket references. No yes/no gate here: the ticket scan is as quick as a gate
    /// would be.
    fn ticket_refs(&self) -> Vec<(String, String)> {
        ids::ticket_refs(&self.subject_and_text, &self.folded, &self.x.incident)
    }

    /// Microsoft's sections of the text, each to the next forwarded part or the end;
    /// only when an incident is named (they are read for nothing else).
    fn sections(&self, ids: &Ids) -> Option<Vec<std::ops::Range<usize>>> {
        let len = self.new_text.len();
        (!ids.incidents.is_empty()).then(|| {
            self.microsoft_at
                .iter()
                .map(|&at| {
                    let end = self
                        .section_starts
                        .iter()
                        .copied()
                        .filter(|&s| s > at)
                        .min();
                    at.min(len)..end.unwrap_or(len).min(len)
                })
                .filter(|r| !r.is_empty())
                .collect()
        })
    }

    /// One step of the rewriting stage, which runs once, before statements are first
    /// cut: Microsoft's entries set apart, then times and numbers said in words, table
    /// rows of times and the sender's corrections written out. `self.folded` is the text
    /// before, for cheap gates.
    fn rewrite_step(&mut self, step: Rewrite, ids: &Ids) {
        if self.intent.notices.is_some() {
            return;
        }
        let text = &mut self.new_text;
        let said = match step {
            // Microsoft's own entries (a notification forwarded as evidence) are context,
            // read only where the customer says nothing. Sections are the byte ranges
            // Microsoft wrote, when any incident was named.
            Rewrite::Notices => {
                let notices = match self.sections(ids) {
                    Some(sections) => {
                        let (own, notices) =
                            notice::split(&self.new_text, &sections, &self.x.incident);
                        if !notices.is_empty() {
                            self.new_text = own;
                        }
                        notices
                    }
                    None => Vec::new(),
                };
                self.rewriting = Some(notices);
                None
            }
            // Times and durations said in words are read in digits from here on.
            Rewrite::Spoken => spoken::may_say_time(&self.folded)
                .then(|| spoken::in_digits(text, self.language))
                .flatten(),
            // A table of start and end times is said again as sentences, one per row.
            Rewrite::TimeRows => table::time_rows(text),
            // Numbers in words ("a dozen in Leeds plus the 30 in Harrogate") in digits.
            Rewrite::Numbers => numbers::may_have_number_words(&self.folded)
                .then(|| numbers::in_digits(text))
                .flatten(),
            // And a value the sender corrects ("95 users, not 59") is read as corrected.
            Rewrite::Corrections => {
                let said = correct::may_correct(&self.folded)
                    .then(|| correct::apply(text))
                    .flatten();
                self.intent.notices = Some(self.rewriting.take().unwrap_or_default());
                said
            }
        };
        if let Some(said) = said {
            self.new_text = said;
        }
    }

    /// Whether the body names an incident where the headers' verdict is weak (an
    /// out-of-office or bulk hint), and whether the statements are to be read for the
    /// kind: they are only cut when something will read them, and most mail is decided
    /// by its headers, or mentions no credit and is no claim.
    fn opening(&self, verdict: Option<&classify::Verdict>) -> (bool, bool) {
        // A weak verdict gives way only to claim content in the body, which names an
        // incident: without one there is nothing to read.
        let body_incident =
            verdict.is_some_and(|v| v.weak) && self.x.incident.is_match(&self.new_text);
        let decided = verdict.is_some_and(|v| !v.weak || !body_incident);
        (
            body_incident,
            !decided && intent::mentions_credit(&self.folded),
        )
    }

    /// The credit asked for in the statements (the subject too, in a new request).
    fn ask_credit(&mut self) {
        let subject = (!self.is_reply).then_some(self.email.subject.as_str());
        if let Some(st) = &self.intent.statements {
            self.intent.credit = intent::credit_requested(st, subject);
        }
        // In a reply, "go ahead with the credit claim" goes on with the thread's claim:
        // an update that asks, not a new request.
        let subject = self.email.subject.as_str();
        let continues = |asked: &str| intent::continues_claim(asked, subject);
        if self.is_reply && self.intent.credit.as_deref().is_some_and(continues) {
            self.intent.go_ahead = self.intent.credit.take();
        }
    }

    /// The kind: the headers' verdict, unless claim content in the body outweighs a
    /// weak one; a credit request (read by [`Reading::ask_credit`]) or go-ahead read
    /// from the statements when the headers leave it open.
    fn kind(&mut self, verdict: Option<classify::Verdict>, ids: &Ids, body_incident: bool) -> Kind {
        // A reply in a claim's thread that tells us to go on: an update that asks.
        if let (None, None, Some(st), true) = (
            &self.intent.credit,
            &self.intent.go_ahead,
            &self.intent.statements,
            self.is_reply,
        ) {
            self.intent.go_ahead = intent::go_ahead(st, &self.email.subject);
        }
        let signals = Signals {
            credit_requested: self.intent.credit.is_some(),
            has_incident: !ids.incidents.is_empty(),
            is_reply: self.is_reply,
            has_ticket_ref: !ids.tickets.is_empty(),
        };
        let kind = match &verdict {
            // A group alias can add list headers to a real request; real claim data wins.
            // Claim content in the body itself (not an echoed subject) outweighs hints:
            // an incident with a credit asked for; for bulk hints a tenant as well.
            Some(v)
                if v.weak
                    && self.intent.credit.is_some()
                    && (v.kind != Kind::Bulk || !ids.tenants.is_empty())
                    && body_incident
                    && self
                        .intent
                        .statements
                        .as_ref()
                        .is_some_and(|st| intent::credit_requested(st, None).is_some()) =>
            {
                classify::by_content(signals)
            }
            Some(v) => v.kind,
            None => classify::by_content(signals),
        };
        // A mail that signs as Microsoft from elsewhere and asks for nothing (a "your SLA
        // refund is waiting" lure) is no customer's; its numbers change no claim.
        let impostor = self.intent.credit.is_none()
            && kind.is_customer_content()
            && classify::poses_as_microsoft(self.email);
        let kind = if impostor { Kind::Other } else { kind };
        if impostor {
            let why = "signs as Microsoft but is not sent from Microsoft's domains";
            self.notes.note("kind", why, 0.8, vec![]);
        }
        match &verdict {
            Some(v) if v.kind != kind => self.notes.note(
                "kind",
                &format!("claim content despite the header ({})", v.reason),
                0.8,
                vec![],
            ),
            Some(v) => self.notes.note("kind", &v.reason, 0.95, vec![]),
            None => {
                let why = self.intent.credit.as_deref();
                let why = why.unwrap_or("no credit request, reply or ticket reference");
                self.notes.note("kind", why, 0.7, vec![]);
            }
        }
        kind
    }

    /// The extraction with what every kind of message has: headers and problems.
    fn base(&self, kind: Kind) -> Extraction {
        let email = self.email;
        let sender_domain = email.sender_domain();
        Extraction {
            kind,
            claim_pairs: Vec::new(),
            incident_ids: Vec::new(),
            tenant_ids: Vec::new(),
            ticket_refs: Vec::new(),
            downtime: Vec::new(),
            affected_users: None,
            locations: Vec::new(),
            purchased_via_csp: None,
            credit_requested: false,
            advisory: false,
            language: self.language,
            message_id: email.message_id.clone(),
            thread_ids: email.thread_ids.clone(),
            from: email.from_addr.clone(),
            from_name: email.from_name.clone(),
            personal_mailbox: sender_domain
                .as_ref()
                .is_some_and(|d| self.x.personal_domains.contains(d)),
            sender_domain,
            date: email.date,
            subject: email.subject.clone(),
            incidents: Vec::new(),
            resolution_attempts: None,
            contact: Contact::default(),
            confidence: BTreeMap::new(),
            evidence: BTreeMap::new(),
            problems: self.problems.clone(),
        }
    }

    /// Incidents with their services, tenants, and which goes with which.
    fn identifier_fields(&mut self, ext: &mut Extraction, ids: &Ids) {
        for (id, src) in &ids.incidents {
            note_list(&mut ext.incident_ids, id);
            self.notes.note("incident_ids", src, 0.95, vec![]);
        }
        for (id, src) in &ids.in_subject {
            note_list(&mut ext.incident_ids, id);
            self.notes.note("incident_ids", src, 0.8, vec![]);
        }
        let services = &self.x.services;
        ext.incidents = ext
            .incident_ids
            .iter()
            .map(|id| Incident {
                id: id.clone(),
                service: services
                    .get(id.get(..2).unwrap_or_default())
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        for (guid, src) in &ids.tenants {
            note_list(&mut ext.tenant_ids, guid);
            let labelled = src.to_lowercase().contains("tenant");
            self.notes
                .note("tenant_ids", src, if labelled { 0.95 } else { 0.7 }, vec![]);
        }
        if ext.tenant_ids.len() > 1 && ext.incident_ids.len() > 1 {
            ext.claim_pairs = ids::pairs(
                &self.new_text,
                &ext.tenant_ids,
                &ext.incident_ids,
                &self.x.incident,
            );
        }
    }

    /// The date and zone in which relative and local times are read.
    fn reference(&self) -> downtime::Reference {
        let email = self.email;
        downtime::Reference {
            when: email.date.unwrap_or_else(|| Utc::now().fixed_offset()),
            us_english: email
                .header("content-language")
                .is_some_and(|l| l.trim().eq_ignore_ascii_case("en-us")),
        }
    }

    /// An uptime monitor's DOWN and UP lines, read before the statements.
    fn monitor_windows(&self, reference: downtime::Reference) -> Vec<Window> {
        monitor::windows(&self.new_text, *reference.when.offset())
    }

    /// Outage windows: monitor lines (`monitor`, from [`Reading::monitor_windows`]) and
    /// the sender's statements, else the claimed incidents' entries in Microsoft's notices,
    /// all read as written at `reference` ([`Reading::reference`]).
    fn downtime(
        &mut self,
        ext: &mut Extraction,
        statements: &[text::Statement],
        monitor: Vec<Window>,
        reference: downtime::Reference,
    ) {
        let email = self.email;
        ext.downtime = monitor::merge(
            monitor,
            downtime::windows(&email.subject, statements, reference),
        );
        if ext.downtime.is_empty() {
            let notices = self.intent.notices.as_deref().unwrap_or_default();
            for entry in notices.iter().filter(|n| ext.incident_ids.contains(&n.id)) {
                let entry = text::statements(&entry.text);
                ext.downtime
                    .extend(downtime::windows(&email.subject, &entry, reference));
            }
        }
        if let Some(w) = ext.downtime.first() {
            let mut assumptions: Vec<String> =
                w.assumptions.iter().map(|a| a.to_string()).collect();
            if email.date.is_none() {
                assumptions
                    .push("no Date header: relative dates read against the processing time".into());
            }
            // A duration alone says how long, not when: the least certain reading.
            let confidence = if w.start.is_none() {
                0.5
            } else if assumptions.is_empty() {
                0.85
            } else {
                0.6
            };
            self.notes
                .note("downtime", &w.source, confidence, assumptions);
        }
    }

    /// Affected users and their places: a table of sites (`sites`, from
    /// [`table::site_counts`]) says it more plainly than any sentence around it, else
    /// the head count (`users`, from [`people::affected_users`]) and the places beside it.
    fn people(
        &mut self,
        ext: &mut Extraction,
        statements: &text::Statements,
        sites: Option<table::SiteCounts>,
        users: Option<(u64, String, usize)>,
    ) {
        let partners = &self.x.partner_names;
        if let Some(t) = sites {
            ext.affected_users = Some(t.count());
            self.notes.note("affected_users", &t.source, 0.85, vec![]);
            if t.places {
                for (place, _) in &t.sites {
                    ext.locations.push(place.clone());
                }
                self.notes.note("locations", &t.source, 0.8, vec![]);
            }
        } else if let Some((n, src, i)) = users {
            ext.affected_users = Some(n);
            self.notes.note("affected_users", &src, 0.8, vec![]);
            for (place, src) in people::locations(statements, Some(i), partners) {
                ext.locations.push(place);
                self.notes.note("locations", &src, 0.7, vec![]);
            }
        } else {
            for (place, src) in people::locations(statements, None, partners) {
                ext.locations.push(place);
                self.notes.note("locations", &src, 0.6, vec![]);
            }
        }
    }

    /// One of CSP, the credit asked for, an advisory, what was tried and who to
    /// contact.
    fn intent_step(
        &mut self,
        step: IntentField,
        ext: &mut Extraction,
        statements: &text::Statements,
    ) {
        let email = self.email;
        match step {
            IntentField::Csp => {
                let partners = partner_names(&self.x.partner_names, email.header("to"));
                let (csp, src) = intent::purchased_via_csp(statements, &partners);
                ext.purchased_via_csp = csp;
                if let Some(src) = src {
                    let confidence = if csp.is_some() { 0.85 } else { 0.5 };
                    self.notes
                        .note("purchased_via_csp", &src, confidence, vec![]);
                }
            }
            IntentField::Credit => {
                let asked = self
                    .intent
                    .credit
                    .as_ref()
                    .or(self.intent.go_ahead.as_ref());
                ext.credit_requested = asked.is_some();
                if let Some(src) = asked {
                    self.notes.note("credit_requested", src, 0.85, vec![]);
                }
            }
            // Only the sender's own words: a forwarded notice's classification is context.
            IntentField::Advisory => {
                if let Some(src) = intent::advisory(statements) {
                    ext.advisory = true;
                    self.notes.note("advisory", &src, 0.8, vec![]);
                }
            }
            IntentField::Resolution => {
                ext.resolution_attempts = contact::resolution_attempts(statements);
                if let Some(r) = &ext.resolution_attempts {
                    self.notes.note("resolution_attempts", r, 0.7, vec![]);
                }
            }
            IntentField::Contact => {
                let (c, src) = contact::contact(
                    statements,
                    &self.signature,
                    email.from_name.as_deref(),
                    email.from_addr.as_deref(),
                );
                ext.contact = c;
                let confidence = if src.is_some() { 0.85 } else { 0.6 };
                self.notes.note(
                    "contact",
                    src.as_deref().unwrap_or("From header"),
                    confidence,
                    vec![],
                );
            }
        }
    }
}

/// The partner's names: the configured ones, and the name in the domain the mail was
/// sent to ("support@cloudwise-partners.example" gives "cloudwise"): customers write to
/// the partner, so "bought through <that name>" means through CSP.
fn partner_names<'a>(configured: &'a [String], to: Option<&str>) -> Cow<'a, [String]> {
    let Some(to) = to else {
        return Cow::Borrowed(configured);
    };
    let mut names = configured.to_vec();
    for addr in to.split(',').filter_map(|a| a.rsplit('@').next()) {
        let domain = addr
            .trim()
            .trim_end_matches(['>', ' '])
            .to_ascii_lowercase();
        let label = domain.split('.').next().unwrap_or_default();
        for word in label.split('-').filter(|w| w.len() >= 4) {
            // Generic words of mail domains name no one.
            if ![
                "mail", "support", "partners", "partner", "group", "service", "services",
                "helpdesk", "online",
            ]
            .contains(&word)
            {
                names.push(word.to_string());
            }
        }
    }
    Cow::Owned(names)
}

fn note_list(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(raw: &str) -> Extraction {
        let x = Extractor::new(&ExtractConfig::default());
        x.map(|x| x.extract(raw.as_bytes())).unwrap()
    }

    const HEAD: &str = "From: Jo Customer <jo@contoso.example>\nTo: support@partner.example\nDate: Tue, 10 Mar 2026 15:00:00 +0100\nMessage-ID: <t1@contoso.example>\n";

    #[test]
    fn text_past_the_cap_is_not_read_and_the_extraction_says_so() {
        let config = ExtractConfig {
            max_text_bytes: 4096,
            ..ExtractConfig::default()
        };
        let x = Extractor::new(&config).unwrap();
        let filler = "We are still waiting for an answer about the invoices. ".repeat(100);
        let raw = format!(
            "From: a@customer.example\nSubject: outage\n\nPlease claim an SLA credit for incident EX1234567.\n\n{filler}\n\nAlso SP7654321.\n"
        );
        let e = x.extract(raw.as_bytes());
        assert_eq!(e.incident_ids, vec!["EX1234567"]);
        assert!(
            e.problems.iter().any(|p| p.contains("max-text-bytes")),
            "{:?}",
            e.problems
        );
        assert!(e.evidence.contains_key("text_read"));
        // Under the cap nothing is said.
        let e = x.extract(b"From: a@customer.example\nSubject: outage\n\nPlease claim an SLA credit for EX1234567.\n");
        assert!(e.problems.is_empty() && !e.evidence.contains_key("text_read"));
    }

    #[test]
    fn list_fields_keep_at_most_the_cap_of_distinct_values() {
        let ids: String = (0..500)
            .map(|i| format!("EX{:07} ", 1_000_000 + i))
            .collect();
        let e = extract(&format!(
            "From: a@customer.example\nSubject: credit\n\nPlease credit us for {ids}.\n"
        ));
        assert_eq!(e.incident_ids.len(), MAX_LIST_VALUES);
    }

    #[test]
    fn outlook_html_reply_reads_only_the_new_part() {
        let raw = format!(
            "{HEAD}Subject: RE: credit claim\nIn-Reply-To: <x@partner.example>\nContent-Type: text/html\n\n<div>Please also claim SP1234567 for tenant 11111111-2222-4333-8444-555555555555, we want an SLA credit.</div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Desk<br><b>Sent:</b> Monday<br><b>Subject:</b> x</div><div>Old EX7654321 and 22222222-2222-4333-8444-555555555555</div>"
        );
        let e = extract(&raw);
        assert_eq!(e.kind, Kind::CreditRequest);
        assert_eq!(e.incident_ids, ["SP1234567"]);
        assert_eq!(e.tenant_ids, ["11111111-2222-4333-8444-555555555555"]);
    }

    #[test]
    fn gmail_html_quote_is_dropped() {
        let raw = format!(
            "{HEAD}Subject: Re: status\nIn-Reply-To: <x@partner.example>\nContent-Type: text/html\n\n<div dir=\"ltr\">Any news on our claim?</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, 9 Mar 2026 at 10:00, Desk &lt;d@partner.example&gt; wrote:<br></div><blockquote>We submitted EX1111111 (SLA-12).</blockquote></div>"
        );
        let e = extract(&raw);
        assert_eq!(e.kind, Kind::TicketUpdate);
        assert!(e.incident_ids.is_empty());
        assert!(!e.credit_requested);
    }

    #[test]
    fn a_replys_incident_named_only_in_its_subject_is_the_claims() {
        let reply = |subject: &str, body: &str| {
            extract(&format!(
                "{HEAD}Subject: {subject}\nIn-Reply-To: <q@partner.example>\n\n{body}\n\nOn Fri, 13 Mar 2026 at 15:00, Desk <d@partner.example> wrote:\n> Which users were hit, and where? SP7000001 was another outage.\n"
            ))
        };
        let answers = "Hours: 10:05 to 11:50 GMT on Friday. Users: 17, in Cork. Go ahead with the credit request, please.";
        let e = reply("Re: Ticket #55120 - credit for FO2233445", answers);
        assert_eq!(e.kind, Kind::TicketUpdate);
        assert_eq!(e.incident_ids, ["FO2233445"]);
        assert!(e.credit_requested);
        // The new text's own incident, when it names one, is the answer; the quoted
        // history's never is.
        let e = reply(
            "Re: Ticket #55120 - credit for FO2233445",
            "Sorry, the right number is FO2233446. Go ahead with the credit request, please.",
        );
        assert_eq!(e.incident_ids, ["FO2233446"]);
        // A new mail's Subject always counted.
        let e = extract(&format!(
            "{HEAD}Subject: Credit for FO2233445\n\nPlease claim a service credit: 17 users in Cork had no mail.\n"
        ));
        assert_eq!(e.incident_ids, ["FO2233445"]);
    }

    #[test]
    fn attached_original_is_content_but_not_in_bounces() {
        let inner = "From: c@contoso.example\nSubject: outage\nDate: Mon, 09 Mar 2026 10:00:00 +0100\n\nWe request a service credit for EX1234567, tenant 11111111-2222-4333-8444-555555555555, 40 users in Leeds.\n";
        let raw = format!(
            "{HEAD}Subject: Fwd: outage\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee attached.\n--b\nContent-Type: message/rfc822\n\n{inner}\n--b--\n"
        );
        let e = extract(&raw);
        assert_eq!(e.kind, Kind::CreditRequest);
        assert_eq!(e.incident_ids, ["EX1234567"]);
        assert_eq!(e.affected_users, Some(40));
        let bounce = format!(
            "From: MAILER-DAEMON@mx.example\nSubject: Undelivered\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\nfailed\n--b\nContent-Type: message/rfc822\n\n{inner}\n--b--\n"
        );
        let e = extract(&bounce);
        assert_eq!(e.kind, Kind::Bounce);
        assert!(e.incident_ids.is_empty() && e.ticket_refs.is_empty());
    }

    #[test]
    fn incident_ids_never_match_versions_skus_or_phones() {
        let raw = format!(
            "{HEAD}Subject: SLA credit\n\nWe want a service credit. Office 2016 SP1, OS X, E3, SKU EX-12345, call +31 20 123 4567, ref EX123, EX123456789, TM12345 and XEX1234567.\n"
        );
        assert_eq!(extract(&raw).incident_ids, ["TM12345"]);
    }

    #[test]
    fn two_incidents_and_two_tenants() {
        let raw = format!(
            "{HEAD}Subject: SLA credit request\n\nPlease claim a service credit for EX1234567 and SP7654321.\nTenant A: 11111111-2222-4333-8444-555555555555\nTenant B: AAAAAAAA-2222-4333-8444-555555555555\n"
        );
        let e = extract(&raw);
        assert_eq!(e.incident_ids, ["EX1234567", "SP7654321"]);
        assert_eq!(e.tenant_ids.len(), 2);
        assert!(
            e.tenant_ids
                .iter()
                .all(|t| t.chars().all(|c| !c.is_ascii_uppercase()))
        );
        assert_eq!(e.incidents[1].service, "SharePoint Online");
    }

    #[test]
    fn quoted_printable_soft_breaks_do_not_split_ids() {
        let raw = format!(
            "{HEAD}Subject: credit\nContent-Transfer-Encoding: quoted-printable\n\nWe request an SLA credit for EX10266=\n50, tenant 90c192cf-d3ac-44af-8f21-ddb66c=\nad4a26.\n"
        );
        let e = extract(&raw);
        assert_eq!(e.incident_ids, ["EX1026650"]);
        assert_eq!(e.tenant_ids, ["90c192cf-d3ac-44af-8f21-ddb66cad4a26"]);
    }

    #[test]
    fn personal_mailbox_is_flagged() {
        let raw = "From: someone@gmail.com\nSubject: SLA credit EX1234567\nDate: Tue, 10 Mar 2026 15:00:00 +0100\n\nPlease claim a service credit.\n";
        let e = extract(raw);
        assert!(e.personal_mailbox);
        assert_eq!(e.sender_domain.as_deref(), Some("gmail.com"));
    }

    #[test]
    fn non_claim_kinds_keep_only_ticket_refs() {
        let raw = format!(
            "{HEAD}Subject: Automatic reply: [SLA-7] claim EX1234567\nAuto-Submitted: auto-replied\n\nI am away. 300 users, tenant 11111111-2222-4333-8444-555555555555.\n"
        );
        let e = extract(&raw);
        assert_eq!(e.kind, Kind::AutoReply);
        assert_eq!(e.ticket_refs, ["SLA-7"]);
        assert!(e.incident_ids.is_empty() && e.tenant_ids.is_empty() && e.affected_users.is_none());
        assert!(!e.credit_requested);
    }

    #[test]
    fn every_field_has_evidence() {
        let raw = format!(
            "{HEAD}Subject: SLA credit request\n\nWe request a service credit for EX1234567.\nTenant ID: 11111111-2222-4333-8444-555555555555\nOn 3 March from 09:00 to 10:00 CET 40 users in Leeds could not work.\nBought via CSP: yes\nWhat we tried: restarted Outlook\n"
        );
        let e = extract(&raw);
        for field in [
            "kind",
            "incident_ids",
            "tenant_ids",
            "downtime",
            "affected_users",
            "locations",
            "purchased_via_csp",
            "credit_requested",
            "resolution_attempts",
            "contact",
        ] {
            assert!(
                e.evidence.contains_key(field),
                "no evidence for {field}: {:?}",
                e.evidence.keys()
            );
        }
        assert!(e.evidence["downtime"].source.contains("09:00"));
    }
}
