//! `slaclaim demo`: a first run that shows what slaclaim does, whatever the date. The
//! sample mails of `examples/demo` are written into the demo's Maildir dated around
//! today, then read and answered by the daemon's own stages (Maildir scan, expiry,
//! planning, the file outbox), once; a summary says what came of them and where to look.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use crate::app::config::Config;
use crate::extract::Extractor;
use crate::inbound::maildir::Maildir;
use crate::outbound::draft::Templates;
use crate::outbound::outbox::{self, Transport};
use crate::store::Store;

/// The demo's configuration (also `config/demo.toml`, for `run` on the same state).
pub const CONFIG: &str = include_str!("../../config/demo.toml");

/// The sample mails, with `{{date …}}` and `{{day …}}` where their dates go.
const MAILS: [(&str, &str); 8] = [
    (
        "d01_complete.eml",
        include_str!("../../examples/demo/d01_complete.eml"),
    ),
    (
        "d02_incomplete.eml",
        include_str!("../../examples/demo/d02_incomplete.eml"),
    ),
    (
        "d03_deadline_near.eml",
        include_str!("../../examples/demo/d03_deadline_near.eml"),
    ),
    (
        "d04_too_late.eml",
        include_str!("../../examples/demo/d04_too_late.eml"),
    ),
    (
        "d05_advisory.eml",
        include_str!("../../examples/demo/d05_advisory.eml"),
    ),
    (
        "d06_staff_ineligible.eml",
        include_str!("../../examples/demo/d06_staff_ineligible.eml"),
    ),
    (
        "d07_out_of_office.eml",
        include_str!("../../examples/demo/d07_out_of_office.eml"),
    ),
    (
        "d08_newsletter.eml",
        include_str!("../../examples/demo/d08_newsletter.eml"),
    ),
];

/// A file in the state directory that marks it as the demo's, so that a run may empty
/// it: the demo never deletes a directory it did not make.
const MARKER: &str = ".slaclaim-demo";

/// `{{date SPEC [HH:MM]}}` (an RFC 5322 date) and `{{day SPEC}}` ("1 December 2026")
/// filled in, in `zone`. SPEC is `now`, or `Nm:D`: day D (cut to the month's length)
/// of the month N months before `now`'s.
pub fn fill(template: &str, now: DateTime<Utc>, zone: chrono_tz::Tz) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let close = rest[open..]
            .find("}}")
            .with_context(|| format!("unclosed placeholder in {:?}", &rest[open..]))?;
        let inner = rest[open + 2..open + close].trim();
        out.push_str(&placeholder(inner, now, zone)?);
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn placeholder(inner: &str, now: DateTime<Utc>, zone: chrono_tz::Tz) -> Result<String> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    let local_now = now.with_timezone(&zone);
    let day = |spec: &str| -> Result<NaiveDate> {
        if spec == "now" {
            return Ok(local_now.date_naive());
        }
        let (months, d) = spec
            .split_once("m:")
            .with_context(|| format!("bad date spec {spec:?}"))?;
        let (months, d): (u32, u32) = (months.parse()?, d.parse()?);
        let first = local_now.date_naive().with_day(1).context("no first day")?;
        let first = first
            .checked_sub_months(chrono::Months::new(months))
            .context("date out of range")?;
        let last = first
            .checked_add_months(chrono::Months::new(1))
            .context("date out of range")?
            - Duration::days(1);
        Ok(first.with_day(d.clamp(1, last.day())).unwrap_or(last))
    };
    match words.as_slice() {
        ["day", spec] => Ok(day(spec)?.format("%-d %B %Y").to_string()),
        ["date", "now"] => Ok((local_now - Duration::minutes(5)).to_rfc2822()),
        ["date", spec, time] => {
            let t = chrono::NaiveTime::parse_from_str(time, "%H:%M")?;
            let local = zone
                .from_local_datetime(&day(spec)?.and_time(t))
                .earliest()
                .context("no such local time")?;
            Ok(local.to_rfc2822())
        }
        _ => bail!("unknown placeholder {{{{{inner}}}}}"),
    }
}

/// Days from `now` to the end of its month in `zone`: the deadline of an incident of
/// the month before, which the demo's reminder is about.
pub fn days_to_month_end(now: DateTime<Utc>, zone: chrono_tz::Tz) -> i64 {
    let today = now.with_timezone(&zone).date_naive();
    let last_month = today.with_day(1).unwrap_or(today) - Duration::days(1);
    (crate::ledger::deadline::last_day_of_next_month(last_month) - today).num_days()
}

/// Empties the demo's state directory (only one the demo made) and writes the sample
/// mails into its Maildir's new/. Returns the Maildir.
fn seed(
    config: &Config,
    state_dir: &Path,
    now: DateTime<Utc>,
    zone: chrono_tz::Tz,
) -> Result<PathBuf> {
    let [maildir] = config.maildir.as_slice() else {
        bail!("the demo's config needs exactly one [[maildir]], inside the state directory");
    };
    for (what, path) in [
        ("[[maildir]] path", &maildir.path),
        ("[outbox] dir", &config.outbox.dir),
    ] {
        if !path.starts_with(state_dir) {
            bail!(
                "the demo's {what} {} must be inside its state directory {}",
                path.display(),
                state_dir.display()
            );
        }
    }
    if state_dir.exists() {
        let empty = std::fs::read_dir(state_dir)?.next().is_none();
        if !empty && !state_dir.join(MARKER).exists() {
            bail!(
                "{} exists and is not the demo's (no {MARKER} in it): give the demo another --state-dir",
                state_dir.display()
            );
        }
        std::fs::remove_dir_all(state_dir)
            .with_context(|| format!("cannot empty {}", state_dir.display()))?;
    }
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.path.join(sub))
            .with_context(|| format!("cannot create {}", maildir.path.display()))?;
    }
    std::fs::write(
        state_dir.join(MARKER),
        "made by `slaclaim demo`; emptied by its next run\n",
    )?;
    for (name, template) in MAILS {
        let mail = fill(template, now, zone)?.replace('\n', "\r\n");
        std::fs::write(maildir.path.join("new").join(name), mail)?;
    }
    Ok(maildir.path.clone())
}

/// Seeds the demo and runs one pass of the daemon's stages over it; returns the summary.
pub async fn run(mut config: Config, state_dir: &Path, now: DateTime<Utc>) -> Result<String> {
    let zone = config.deadline.policy()?.zone;
    let maildir = seed(&config, state_dir, now, zone)?;
    // The reminder falls due for the claim of last month's incident, whatever today's
    // date: its deadline is this month's end. Later claims are further off by a month.
    let due = u32::try_from(days_to_month_end(now, zone)).unwrap_or(0);
    let mut leads: Vec<u32> = config.reminders.lead_days.clone();
    leads.push(due);
    leads.sort_unstable_by(|a, b| b.cmp(a));
    leads.dedup();
    config.reminders.lead_days = leads;
    let extractor = Extractor::new(&config.extract)?;
    let ingester = config.ingester(&extractor)?;
    let mut store = Store::open(state_dir)?;
    let read = Maildir::open(&maildir)?.scan(&mut store, &ingester).await?;
    ingester.expire_overdue(&mut store, now)?;
    let templates =
        Templates::load(config.drafts.template_dir.as_deref()).map_err(anyhow::Error::msg)?;
    let planner = config.planner(&templates).map_err(anyhow::Error::msg)?;
    planner.plan(&mut store, now)?;
    let sent = outbox::send_due(&mut store, &Transport::new(&config.outbox), now).await?;
    summary(&store, &config, read.len(), sent.sent, &maildir)
}

/// What came of the demo, and where to look.
fn summary(
    store: &Store,
    config: &Config,
    read: usize,
    sent: usize,
    maildir: &Path,
) -> Result<String> {
    let mut out = vec![format!(
        "slaclaim demo: {read} sample mails, dated around today, read from {}",
        maildir.join("cur").display()
    )];
    out.push("claims:".into());
    for c in store.all_claims()? {
        let evidence = crate::ledger::evidence::Evidence::of_claim(store, c.id)?;
        let missing = crate::ledger::claim::checklist(&c.tenant_id, &c.incident_id, &evidence)
            .iter()
            .filter(|i| !i.present)
            .count();
        let what = match c.status.as_str() {
            "expired" => format!(
                "expired: the deadline {} has passed",
                c.deadline.as_deref().unwrap_or("?")
            ),
            "ineligible" | "withdrawn" | "submitted" => format!("{} by staff", c.status),
            _ if missing == 0 => format!(
                "{}: complete, deadline {}",
                c.status,
                c.deadline.as_deref().unwrap_or("?")
            ),
            _ => format!(
                "{}: {missing} item(s) missing, deadline {}",
                c.status,
                c.deadline.as_deref().unwrap_or("?")
            ),
        };
        out.push(format!(
            "  {} {}: {what}",
            c.ticket,
            if c.incident_id.is_empty() {
                "?"
            } else {
                &c.incident_id
            }
        ));
    }
    let dir = &config.outbox.dir;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let count = |purpose: &str| {
        files
            .iter()
            .filter(|f| {
                f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(&format!(".{purpose}")))
            })
            .count()
    };
    out.push(format!(
        "mail written to {} ({sent} in all): {} draft(s) for the helpdesk, {} reminder(s) and {} expiry notice(s) for managers",
        dir.display(),
        count("draft"),
        count("reminder"),
        count("expired")
    ));
    for f in &files {
        out.push(format!("  {}", f.display()));
    }
    let config_flag = "--config config/demo.toml";
    out.push("where to look next:".into());
    out.push("  the .eml files above: any mail client opens them".into());
    out.push(format!(
        "  cargo run --release -- {config_flag} claims            every claim by deadline"
    ));
    out.push(format!("  cargo run --release -- {config_flag} claim SLA-2       one claim: checklist, sources, history"));
    out.push(format!("  cargo run --release -- {config_flag} set SLA-2 users 60    correct a value as staff would"));
    out.push(format!(
        "  cargo run --release -- {config_flag} run               the daemon, watching {}",
        maildir.display()
    ));
    Ok(out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn placeholders_date_the_mail_around_today() {
        let zone = chrono_tz::Europe::Amsterdam;
        let now = at("2027-03-31T10:00:00Z");
        let filled = fill(
            "on {{day 0m:1}}, {{day 1m:31}} and {{day 2m:30}}; {{date 1m:14 10:20}}",
            now,
            zone,
        )
        .unwrap();
        // February has no 31st: the month's last day stands in.
        assert_eq!(
            filled,
            "on 1 March 2027, 28 February 2027 and 30 January 2027; Sun, 14 Feb 2027 10:20:00 +0100"
        );
        assert!(fill("{{date now}}", now, zone).unwrap().ends_with("+0200"));
        assert!(fill("{{when}}", now, zone).is_err());
        assert!(fill("{{day 0m:1", now, zone).is_err());
    }

    #[test]
    fn the_reminder_lead_is_the_days_to_the_month_end() {
        let zone = chrono_tz::Europe::Amsterdam;
        assert_eq!(days_to_month_end(at("2026-12-06T12:00:00Z"), zone), 25);
        assert_eq!(days_to_month_end(at("2026-12-31T12:00:00Z"), zone), 0);
        // 23:30 UTC on 28 February is 1 March in Amsterdam.
        assert_eq!(days_to_month_end(at("2027-02-28T23:30:00Z"), zone), 30);
    }
}
