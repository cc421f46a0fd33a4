//! Human and JSON views of the ledger for the CLI: claim lists, claim details, marking.

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::ledger::claim;
use crate::ledger::evidence::Evidence;
use crate::ledger::staff::Command;
use crate::store::Status;
use crate::store::{ClaimRow, Store};

fn days_left(c: &ClaimRow, now: DateTime<Utc>) -> Option<i64> {
    let d = NaiveDate::parse_from_str(c.deadline.as_deref()?, "%Y-%m-%d").ok()?;
    Some((d - now.date_naive()).num_days())
}

/// `slaclaim claims`: claims sorted by deadline with missing items counted.
pub fn claims(
    store: &Store,
    status: Option<&str>,
    due_within: Option<i64>,
    as_json: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(s) = status {
        if Status::parse(s).is_none() {
            bail!(
                "unknown status {s:?}: use collecting, ready, drafted, submitted, ineligible, expired or withdrawn"
            );
        }
    }
    let mut rows = Vec::new();
    for c in store.all_claims()? {
        if status.is_some_and(|s| s != c.status.as_str())
            || due_within.is_some_and(|d| days_left(&c, now).is_none_or(|left| left > d))
        {
            continue;
        }
        let evidence = Evidence::of_claim(store, c.id)?;
        let items = claim::checklist(&c.tenant_id, &c.incident_id, &evidence);
        let missing: Vec<&str> = items
            .iter()
            .filter(|i| !i.present)
            .map(|i| i.field)
            .collect();
        rows.push((c, missing));
    }
    if as_json {
        let list: Vec<Value> = rows
            .iter()
            .map(|(c, missing)| json!({"ticket": c.ticket, "incident_id": c.incident_id, "tenant_id": c.tenant_id, "status": c.status, "deadline": c.deadline, "submit_by": c.submit_by, "days_left": days_left(c, now), "missing": missing, "review": c.review}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no claims");
        return Ok(());
    }
    println!(
        "{:<9} {:<11} {:<12} {:<11} {:>5} {:>7}  tenant",
        "ticket", "incident", "status", "deadline", "days", "missing"
    );
    for (c, missing) in &rows {
        let days = days_left(c, now).map_or("-".into(), |d| d.to_string());
        println!(
            "{:<9} {:<11} {:<12} {:<11} {:>5} {:>7}  {}",
            c.ticket,
            if c.incident_id.is_empty() {
                "?"
            } else {
                &c.incident_id
            },
            c.status,
            c.deadline.as_deref().unwrap_or("-"),
            days,
            missing.len(),
            if c.tenant_id.is_empty() {
                "?"
            } else {
                &c.tenant_id
            }
        );
    }
    Ok(())
}

/// A ticket's claims, or an error naming the ticket that is unknown or has none.
pub fn ticket_claims(store: &Store, ticket: &str) -> Result<Vec<ClaimRow>> {
    let id = store
        .ticket_by_reference(ticket)?
        .with_context(|| format!("no ticket {ticket}: `slaclaim claims` lists the known ones"))?;
    let claims = store.claims_of_ticket(id)?;
    if claims.is_empty() {
        bail!(
            "ticket {ticket} has no claims yet (no credit request with an incident was linked to it)"
        );
    }
    Ok(claims)
}

/// `slaclaim claim SLA-42`: checklist with sources, deadline and history.
pub fn claim(store: &Store, ticket: &str, as_json: bool, now: DateTime<Utc>) -> Result<()> {
    let mut out = Vec::new();
    for c in ticket_claims(store, ticket)? {
        let rows = store.evidence(c.id)?;
        let corrections = store.corrections(c.id)?;
        let evidence = Evidence::of_rows(&rows, &corrections);
        let items = claim::checklist(&c.tenant_id, &c.incident_id, &evidence);
        let history = store.transitions(c.id)?;
        let delivery = store.claim_delivery_problems(c.id)?;
        let unverified = store.unverified_messages(c.id)?;
        let record = store
            .graph_check(c.id)?
            .map(|g| crate::ledger::record::Record::read(&g, &evidence.downtime));
        // The verdict on the mail that asked for the credit.
        let request_trust = crate::ledger::trust::of_request(store, c.id)?.map(|(v, _)| v);
        if as_json {
            let unverified: Vec<Value> = unverified
                .iter()
                .map(|(from, subject, at, why)| json!({"from": from, "subject": subject, "received": at, "why": why}))
                .collect();
            let delivery: Vec<Value> = delivery
                .iter()
                .map(|d| json!({"message_id": d.message_id, "recipient": d.recipient, "status": d.status, "reply": d.reply, "at": d.at}))
                .collect();
            let items: Vec<Value> = items
                .iter()
                .map(|i| {
                    let (source, set_by, overrides) = provenance(&rows, &evidence, i.field);
                    json!({"field": i.field, "label": i.label, "present": i.present, "value": i.value, "problem": i.problem, "source": source, "set_by": set_by, "overrides": overrides})
                })
                .collect();
            let history: Vec<Value> = history
                .iter()
                .map(|t| json!({"at": t.at, "from": t.from, "to": t.to, "reason": t.reason}))
                .collect();
            let corrections: Vec<Value> = corrections
                .iter()
                .map(|r| json!({"field": r.field, "line": r.line, "set_by": r.set_by, "message_id": r.message_id, "at": r.at, "applied": r.error.is_none(), "error": r.error}))
                .collect();
            let conflicts: Vec<Value> = evidence
                .conflicts
                .iter()
                .map(|k| json!({"field": k.field, "staff": k.staff, "mail": k.mail, "message_id": k.message_id, "at": k.at}))
                .collect();
            out.push(json!({"ticket": c.ticket, "incident_id": c.incident_id, "tenant_id": c.tenant_id, "status": c.status, "incident_start": c.incident_start, "start_assumed": c.start_assumed, "deadline": c.deadline, "submit_by": c.submit_by, "days_left": days_left(&c, now), "case_number": c.case_number, "review": c.review, "request_authentication": request_trust, "checklist": items, "corrections": corrections, "conflicts": conflicts, "microsoft": record, "history": history, "delivery_problems": delivery, "unverified_mail": unverified}));
            continue;
        }
        println!(
            "{} claim {} / tenant {}: {}",
            c.ticket,
            or_q(&c.incident_id),
            or_q(&c.tenant_id),
            c.status
        );
        match (&c.deadline, &c.submit_by) {
            (Some(d), Some(s)) => println!(
                "  deadline {d} (submit by {s}, {} days left){}",
                days_left(&c, now).unwrap_or(0),
                if c.start_assumed {
                    "; incident start unknown, first request's date used"
                } else {
                    ""
                }
            ),
            _ => println!("  deadline unknown: no outage time and no request date yet"),
        }
        if let Some(case) = &c.case_number {
            println!("  Microsoft case {case}");
        }
        if let Some(review) = &c.review {
            println!("  REVIEW: {review}");
        }
        if let Some(v) = &request_trust {
            println!("  request authentication: {}", v.summary());
        }
        for i in &items {
            let mark = if i.present { "[x]" } else { "[ ]" };
            let source = match evidence.staff_value(i.field) {
                Some(v) => format!(
                    " (set by {} {}, {}{})",
                    v.set_by,
                    v.message_id
                        .as_deref()
                        .map_or("from the command line".to_string(), |m| format!("in <{m}>")),
                    v.at,
                    v.overrides
                        .as_ref()
                        .map(|o| format!("; was {}", short(o)))
                        .unwrap_or_default()
                ),
                None => rows
                    .iter()
                    .find(|r| r.field == i.field)
                    .and_then(|r| r.message_id.clone())
                    .map(|m| format!(" (from <{m}>)"))
                    .unwrap_or_default(),
            };
            let value = i
                .value
                .as_ref()
                .map(|v| format!(": {}", short(v)))
                .unwrap_or_default();
            println!("  {mark} {}{value}{source}", i.label);
            if let Some(p) = &i.problem {
                println!("      {p}");
            }
        }
        if let Some(r) = &record {
            println!("  Microsoft's record:");
            for line in r.lines() {
                println!("    {line}");
            }
        }
        for k in &evidence.conflicts {
            println!(
                "  CONFLICT {}: staff set {}, later customer mail <{}> says {}",
                k.field,
                short(&k.staff),
                k.message_id.as_deref().unwrap_or("?"),
                short(&k.mail)
            );
        }
        let refused: Vec<_> = corrections.iter().filter(|r| r.error.is_some()).collect();
        if !refused.is_empty() {
            println!("  staff lines not applied:");
            for r in refused {
                println!(
                    "    {} {} \"{}\": {}",
                    r.at,
                    r.set_by,
                    r.line,
                    r.error.as_deref().unwrap_or_default()
                );
            }
        }
        if !delivery.is_empty() {
            println!("  mail not delivered to everyone:");
            for d in &delivery {
                let what = match d.status.as_str() {
                    "unconfirmed" => "sent, unconfirmed (no answer to its end; `slaclaim outbox resend` sends it again)".to_string(),
                    _ => format!("refused: {}", d.reply.as_deref().unwrap_or("?")),
                };
                println!("    {} <{}> {}: {what}", d.at, d.message_id, d.recipient);
            }
        }
        if !unverified.is_empty() {
            println!("  unverified mail (linked, changes nothing):");
            for (from, subject, at, why) in &unverified {
                println!("    {at} {from} \"{subject}\": {why}");
            }
        }
        println!("  history:");
        for t in history {
            println!(
                "    {} {} -> {}: {}",
                t.at,
                t.from.map_or("-", crate::store::Status::as_str),
                t.to,
                t.reason
            );
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

/// `slaclaim mark SLA-42 submitted|ineligible`.
pub fn mark(
    store: &mut Store,
    ticket: &str,
    status: &str,
    case: Option<&str>,
    reason: Option<&str>,
) -> Result<()> {
    let reason = reason.map(str::trim).unwrap_or_default().to_string();
    let command = match status {
        "submitted" => Command::Submitted(case.unwrap_or_default().trim().to_string()),
        "ineligible" if reason.is_empty() => {
            bail!("marking {ticket} ineligible needs --reason \"...\"")
        }
        "ineligible" => Command::Ineligible(reason),
        "withdrawn" => Command::Withdrawn(reason),
        other => bail!(
            "cannot mark {ticket} {other:?}: use `submitted [--case NUMBER]`, `ineligible --reason \"...\"` or `withdrawn [--reason \"...\"]`"
        ),
    };
    let claims = ticket_claims(store, ticket)?;
    let now = crate::stamp(Utc::now());
    let (marked, to, _) = store.transaction(|s| {
        crate::ledger::staff::apply(s, &claims, &command, "staff at the command line", &now)
    })?;
    if marked.is_empty() {
        bail!("{ticket} has no open claim: its claims are submitted, ineligible or withdrawn");
    }
    println!("{ticket}: {} claim(s) marked {}", marked.len(), to.as_str());
    Ok(())
}

/// What `slaclaim set` and `slaclaim unset` are asked.
#[derive(Debug, Clone)]
pub struct SetRequest<'a> {
    /// Ticket reference, SLA-n.
    pub ticket: &'a str,
    /// The staff field word.
    pub field: &'a str,
    /// The value as staff would write it in a reply; None: unset.
    pub value: Option<&'a str>,
    /// Which claim of a ticket with several.
    pub incident: Option<&'a str>,
    /// JSON output.
    pub json: bool,
}

/// `slaclaim set SLA-n FIELD VALUE` / `unset SLA-n FIELD`: the same parser and rules
/// as a staff reply's correction lines. Exit code 0, or an error naming the form.
pub fn set(
    store: &mut Store,
    ingester: &crate::ledger::ingest::Ingester<'_>,
    req: &SetRequest<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::ledger::correction::{self, Change, Field, Line};
    let Some(field) = Field::parse(req.field) else {
        bail!(
            "no field {:?}: use one of {}",
            req.field,
            correction::FIELDS.map(Field::name).join(", ")
        );
    };
    let claims = ticket_claims(store, req.ticket)?;
    let claim = match (req.incident, claims.as_slice()) {
        (Some(id), _) => claims
            .iter()
            .find(|c| c.incident_id.eq_ignore_ascii_case(id))
            .with_context(|| format!("{} has no claim for incident {id}", req.ticket))?,
        (None, [one]) => one,
        (None, _) => bail!(
            "{} has {} claims ({}): say which with --incident ID",
            req.ticket,
            claims.len(),
            claims
                .iter()
                .map(|c| or_q(&c.incident_id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    .clone();
    let (change, text) = match req.value {
        Some(value) => {
            let text = format!("{}: {}", field.name(), value.trim());
            // "remove incident X" reads as the reply line does.
            let change = if field == Field::Incident
                && value.trim().to_ascii_lowercase().starts_with("remove ")
            {
                match correction::parse_line(
                    &format!("remove incident {}", &value.trim()[7..]),
                    ingester.policy.zone,
                ) {
                    Some(Ok(l)) => l.change,
                    _ => bail!("cannot read {text:?}; write it as: {}", field.expected()),
                }
            } else {
                correction::parse_value(field, value, ingester.policy.zone).map_err(|why| {
                    anyhow::anyhow!(
                        "cannot read {text:?}: {why}; write it as: {}",
                        field.expected()
                    )
                })?
            };
            (change, text)
        }
        None => (Change::Unset, format!("unset {}", field.name())),
    };
    let who = std::env::var("USER")
        .map(|u| format!("{u} at the command line"))
        .unwrap_or_else(|_| "staff at the command line".into());
    let stamp = crate::stamp(now);
    let line = Line {
        field,
        change,
        text,
    };
    let applied = store.transaction(|s| {
        let by = correction::By {
            who: &who,
            message: None,
        };
        let applied = correction::apply(s, &claim, std::slice::from_ref(&line), by, &stamp)?;
        ingester.refresh(s, claim.id, now)?;
        Ok::<_, anyhow::Error>(applied)
    })?;
    if let Some((_, why)) = applied.refused.first() {
        bail!("{}: {why}", line.text);
    }
    let after = store.claim(claim.id)?.context("the claim is gone")?;
    let evidence = Evidence::of_claim(store, claim.id)?;
    let value = correction::current(&after, &evidence, field);
    let overrides = evidence
        .staff
        .iter()
        .rev()
        .find(|v| v.word == field.name())
        .and_then(|v| v.overrides.clone());
    if req.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"ticket": after.ticket, "incident_id": after.incident_id, "tenant_id": after.tenant_id, "field": field.name(), "value": value, "overrides": overrides, "set_by": who, "unset": req.value.is_none()})
            )?
        );
    } else if req.value.is_none() {
        println!(
            "{} {}: {} is what mail says again: {}",
            after.ticket,
            or_q(&after.incident_id),
            field.name(),
            short(&value)
        );
    } else {
        println!(
            "{} {}: {} set to {}",
            after.ticket,
            or_q(&after.incident_id),
            field.name(),
            short(&value)
        );
    }
    Ok(())
}

/// Where a checklist value came from: (source, set_by, overrides). Staff's values name
/// the line and what they replaced; mail's the message, its date and sender.
fn provenance(
    rows: &[crate::store::EvidenceRow],
    evidence: &Evidence,
    field: &str,
) -> (Value, Value, Value) {
    if let Some(v) = evidence.staff_value(field) {
        return (
            json!({"kind": "staff", "message_id": v.message_id, "line": v.line, "at": v.at}),
            json!(v.set_by),
            v.overrides.clone().unwrap_or(Value::Null),
        );
    }
    match rows.iter().find(|r| r.field == field) {
        // What the customer's words gave with confidence beats what was read with less
        // (on the check list): "customer" and "extraction".
        Some(r) => (
            json!({"kind": if evidence.check.iter().any(|c| c.field == field) { "extraction" } else { "customer" }, "message_id": r.message_id, "date": r.sent_at}),
            json!(r.sender),
            Value::Null,
        ),
        None => (Value::Null, Value::Null, Value::Null),
    }
}

fn or_q(s: &str) -> &str {
    if s.is_empty() { "?" } else { s }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let head = crate::extract::text::first_chars(&s, 100);
    if head.len() < s.len() {
        format!("{head}…")
    } else {
        s
    }
}
