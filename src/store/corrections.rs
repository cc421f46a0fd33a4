//! The corrections table: values staff set for a claim's fields, with their provenance.

use super::sql::{Row, args};

use super::{Store, StoreError};

/// A correction as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCorrection<'a> {
    /// The claim it changes.
    pub claim_id: i64,
    /// The staff field: users, locations, downtime, incident, tenant, csp, ticket,
    /// contact, attempts.
    pub field: &'a str,
    /// The value set, JSON; None ends the staff value.
    pub value: Option<&'a str>,
    /// The line as staff wrote it.
    pub line: &'a str,
    /// Who set it.
    pub set_by: &'a str,
    /// The reply it came in (row id); None from the command line.
    pub message: Option<i64>,
    /// The value it replaced, JSON.
    pub overrides: Option<&'a str>,
    /// Why it changes nothing; None when applied.
    pub error: Option<&'a str>,
    /// The line could not be read (staff get a reply naming it).
    pub unreadable: bool,
}

/// A correction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRow {
    /// Row id: later rows are newer.
    pub id: i64,
    /// The staff field.
    pub field: String,
    /// JSON value; None: unset.
    pub value: Option<String>,
    /// As written.
    pub line: String,
    /// Who set it.
    pub set_by: String,
    /// The reply's row id, None from the command line.
    pub message: Option<i64>,
    /// The reply's Message-ID.
    pub message_id: Option<String>,
    /// The value it replaced, JSON.
    pub overrides: Option<String>,
    /// Why it changes nothing.
    pub error: Option<String>,
    /// Whether the line could not be read.
    pub unreadable: bool,
    /// When, RFC 3339.
    pub at: String,
}

/// Lines of one staff reply that could not be read, for the answer naming them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The reply's row id.
    pub message: i64,
    /// Its sender.
    pub sender: String,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Its subject.
    pub subject: String,
    /// (line, why) for each line not read.
    pub lines: Vec<(String, String)>,
}

/// A claim's (`?1`) corrections, oldest first, each with its message's Message-ID.
pub(super) const CORRECTIONS: &str = "SELECT c.id, c.field, c.value, c.line, c.set_by, c.message_id, m.message_id, c.overrides, c.error, c.unreadable, c.at
     FROM corrections c LEFT JOIN messages m ON m.id = c.message_id
     WHERE c.claim_id = ?1 ORDER BY c.id";

pub(super) fn correction_row(r: &Row) -> Result<CorrectionRow, StoreError> {
    Ok(CorrectionRow {
        id: r.get(0)?,
        field: r.get(1)?,
        value: r.get(2)?,
        line: r.get(3)?,
        set_by: r.get(4)?,
        message: r.get(5)?,
        message_id: r.get(6)?,
        overrides: r.get(7)?,
        error: r.get(8)?,
        unreadable: r.get(9)?,
        at: r.get(10)?,
    })
}

impl Store {
    /// Records a correction; returns its row id.
    pub fn add_correction(&self, c: &NewCorrection<'_>, now: &str) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO corrections (claim_id, field, value, line, set_by, message_id, overrides, error, unreadable, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            args![
                c.claim_id,
                c.field,
                c.value,
                c.line,
                c.set_by,
                c.message,
                c.overrides,
                c.error,
                c.unreadable,
                now
            ],
            |r| r.get(0),
        )
    }

    /// Every correction of a claim, oldest first, refused ones included.
    pub fn corrections(&self, claim: i64) -> Result<Vec<CorrectionRow>, StoreError> {
        self.all(CORRECTIONS, args![claim], correction_row)
    }

    /// The staff replies with unreadable lines about a claim, each with its lines.
    pub fn unreadable_corrections(&self, claim: i64) -> Result<Vec<Unreadable>, StoreError> {
        let rows = self.all(
            "SELECT c.message_id, COALESCE(m.sender, ''), m.message_id, COALESCE(m.subject, ''), c.line, COALESCE(c.error, '')
             FROM corrections c JOIN messages m ON m.id = c.message_id
             WHERE c.claim_id = ?1 AND c.unreadable = 1 ORDER BY c.id",
            args![claim],
            |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<Option<String>>(2)?,
                r.get::<String>(3)?,
                r.get::<String>(4)?,
                r.get::<String>(5)?,
            ))
            },
        )?;
        let mut out: Vec<Unreadable> = Vec::new();
        for (message, sender, message_id, subject, line, why) in rows {
            match out.last_mut() {
                Some(u) if u.message == message => u.lines.push((line, why)),
                _ => out.push(Unreadable {
                    message,
                    sender,
                    message_id,
                    subject,
                    lines: vec![(line, why)],
                }),
            }
        }
        Ok(out)
    }
}
