//! Machine lines from uptime monitors (UptimeRobot, Uptime Kuma, Pingdom, Nagios and
//! the like), pasted or attached: each event is a state (DOWN, UP, CRITICAL, OK, …) and
//! a full timestamp, on one line or a few lines apart. A window runs from the first
//! DOWN to the next UP, to the second: the monitor's clock is more exact than anyone's
//! memory, so its windows come before those read from sentences.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use regex::Regex;

use super::downtime::{MAX_WINDOWS, Window};
use crate::mail::pattern::Pattern;

/// The down states a monitor writes; capitals alone, in brackets or as a state field's
/// value.
const DOWN_STATES: [&str; 5] = ["down", "offline", "critical", "failed", "problem"];

/// A state word: down, or up. Capitals only for the single words: "down" in a sentence
/// is no monitor's state; but a state field's value ("Status: Down", "Zustand:
/// offline"), as alert mails lay theirs out a line above the time, in any case.
static STATE: Pattern<Regex> = Pattern::new(|| {
    let (down, caps) = (DOWN_STATES.join("|"), DOWN_STATES.join("|").to_uppercase());
    crate::regex(&format!(
        r"\b(?:({caps})|(UP|ONLINE|RECOVERY|RECOVERED|RESOLVED|OK))\b|(?i:\b(?:is|went|gone)\s+(?:(down|offline)|(?:back\s+)?(up|online)))\b|\[(?i:({down})|(up|online|ok|resolved|recovered))\]|(?i:^\W*(?:current\s+|new\s+|monitor\s+|alert\s+)?(?:status|state|zustand|toestand|event|ereignis)\s*:\s*(?:({down})|(up|online|ok|resolved|recovered))\b)"
    ))
});
/// The down states alone, to ask first: capitals or a state in brackets ("[Down]", as
/// Uptime Kuma writes it); the phrases and state fields have gates of their own.
static DOWN: Pattern<Regex> = Pattern::new(|| {
    let down = DOWN_STATES.join("|");
    crate::regex(&format!(r"\b(?:{})\b|\[(?i:{down})\]", down.to_uppercase()))
});

/// Whether a colon anywhere is followed by a down state ("Status: Down"): the gate for
/// state fields, asked of each colon (memchr) rather than by a pattern, which, having
/// no literal to start from, walked every byte of every mail.
fn down_after_colon(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b':', bytes).any(|at| {
        let rest = &bytes[at + 1..bytes.len().min(at + 24)];
        let value = rest.trim_ascii_start();
        DOWN_STATES
            .iter()
            .any(|w| value.len() >= w.len() && value[..w.len()].eq_ignore_ascii_case(w.as_bytes()))
    })
}
static WENT_DOWN: Pattern<Regex> = re!(r"(?i)\b(?:is|went|gone)\s+(?:down|offline)\b");
/// A full timestamp: an ISO date, a day-first dotted date or a day, month name and year
/// ("10 Mar 2026"), a clock time with seconds or not, and a zone or offset if written
/// (in parentheses too: "(UTC)").
static STAMP: Pattern<Regex> = re!(
    r"\b(?:(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})|(?P<d2>\d{1,2})\.(?P<m2>\d{1,2})\.(?P<y2>\d{4})|(?P<d3>\d{1,2})\s+(?P<mon>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))[a-z]*\.?,?\s+(?P<y3>\d{4}))[T ,]\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:\s*\(?(?P<z>Z|UTC|GMT|CET|CEST|MEZ|MESZ|BST|EST|EDT|CST|CDT|PST|PDT|[+-]\d{2}:?\d{2})\b\)?)?"
);

/// Lines after a state line in which its timestamp may follow.
const STAMP_REACH: usize = 4;

fn is_down(c: &regex::Captures<'_>) -> Option<bool> {
    if [1, 3, 5, 7].iter().any(|&i| c.get(i).is_some()) {
        Some(true)
    } else if [2, 4, 6, 8].iter().any(|&i| c.get(i).is_some()) {
        Some(false)
    } else {
        None
    }
}

fn stamp(c: &regex::Captures<'_>, zone: FixedOffset) -> Option<DateTime<Utc>> {
    let n = |name: &str| c.name(name).and_then(|g| g.as_str().parse::<u32>().ok());
    let month = || super::when::month_number(c.name("mon")?.as_str());
    let (y, m, d) = match (n("y"), n("y2"), n("y3")) {
        (Some(y), _, _) => (y, n("m")?, n("d")?),
        (_, Some(y), _) => (y, n("m2")?, n("d2")?),
        (_, _, Some(y)) => (y, month()?, n("d3")?),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    let time = NaiveTime::from_hms_opt(n("h")?, n("mi")?, n("s").unwrap_or(0))?;
    let local = NaiveDateTime::new(date, time);
    let offset = match c.name("z").map(|g| g.as_str()) {
        Some(o) if o.starts_with(['+', '-']) => {
            let digits: String = o.chars().filter(char::is_ascii_digit).collect();
            let (h, m) = (
                digits.get(..2)?.parse::<i32>().ok()?,
                digits.get(2..)?.parse::<i32>().ok()?,
            );
            let secs = (h * 60 + m) * 60;
            FixedOffset::east_opt(if o.starts_with('-') { -secs } else { secs })?
        }
        Some("Z") => FixedOffset::east_opt(0)?,
        // The temporal grammar's table of zone names: the same offsets everywhere.
        Some(name) => FixedOffset::east_opt(super::when::zone_hours(name)? * 3600)?,
        None => zone,
    };
    offset
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Windows from the monitor events in `text`; `zone` is for timestamps without one.
pub fn windows(text: &str, zone: FixedOffset) -> Vec<Window> {
    let (state_re, stamp_re) = (STATE.get(), STAMP.get());
    // A window needs a down event: most mail names no down state (literal searches).
    if !DOWN.get().is_match(text) && !WENT_DOWN.get().is_match(text) && !down_after_colon(text) {
        return Vec::new();
    }
    let mut events: Vec<(DateTime<Utc>, bool, String)> = Vec::new();
    let mut pending: Option<(bool, usize, &str)> = None;
    for (i, line) in text.lines().enumerate() {
        let state = state_re.captures(line).and_then(|c| is_down(&c));
        let when = stamp_re.captures(line).and_then(|c| stamp(&c, zone));
        match (state, when) {
            (Some(down), Some(t)) => {
                events.push((t, down, line.trim().to_string()));
                pending = None;
            }
            (Some(down), None) => pending = Some((down, i, line)),
            (None, Some(t)) => {
                if let Some((down, _, said)) =
                    pending.take().filter(|(_, at, _)| i - at <= STAMP_REACH)
                {
                    events.push((t, down, said.trim().to_string()));
                }
            }
            (None, None) => {}
        }
        if events.len() > 4 * MAX_WINDOWS {
            break;
        }
    }
    // Logs are written newest first as often as oldest first.
    events.sort_by_key(|(t, _, _)| *t);
    let mut out = Vec::new();
    let mut down_since: Option<(DateTime<Utc>, String)> = None;
    for (t, down, line) in events {
        match (down, &down_since) {
            (true, None) => down_since = Some((t, line)),
            (false, Some((start, said))) => {
                let minutes = (t - *start).num_minutes();
                if minutes > 0 && t - *start < Duration::days(7) {
                    out.push(Window {
                        start: Some(*start),
                        end: Some(t),
                        minutes,
                        source: format!("{said} … {line}"),
                        assumptions: Vec::new(),
                    });
                }
                down_since = None;
                if out.len() == MAX_WINDOWS {
                    break;
                }
            }
            _ => {}
        }
    }
    out
}

/// The monitor's windows, then those read from sentences that fall outside all of them;
/// a bare duration says nothing a monitor window does not.
pub fn merge(monitored: Vec<Window>, said: Vec<Window>) -> Vec<Window> {
    if monitored.is_empty() {
        return said;
    }
    let overlaps = |w: &Window| {
        monitored
            .iter()
            .any(|m| match (w.start, w.end, m.start, m.end) {
                (Some(a), Some(b), Some(c), Some(d)) => a < d && c < b,
                _ => true,
            })
    };
    let extra: Vec<Window> = said.into_iter().filter(|w| !overlaps(w)).collect();
    let mut out = monitored;
    out.extend(extra);
    out.sort_by_key(|w| w.start);
    out.truncate(MAX_WINDOWS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_in_brackets_and_stamps_with_month_names_or_zone_names() {
        let text = "[Down] Exchange IMAP - 2026-03-10 07:12:44 (UTC)\n\
                    [Up] Exchange IMAP - 2026-03-10 08:40:09 (UTC)\n";
        assert_eq!(run(text), ["10 07:12:44/10 08:40:09/87"]);
        let text = "Pingdom: Outlook Web is down since 10 Mar 2026 09:02:11 CET\n\
                    Pingdom: Outlook Web is up again at 10 Mar 2026 10:31:40 CET\n";
        assert_eq!(run(text), ["10 08:02:11/10 09:31:40/89"]);
    }

    fn run(text: &str) -> Vec<String> {
        let zone = FixedOffset::east_opt(3600).unwrap();
        windows(text, zone)
            .iter()
            .map(|w| {
                let f = |t: Option<DateTime<Utc>>| {
                    t.map_or("null".into(), |t| t.format("%d %H:%M:%S").to_string())
                };
                format!("{}/{}/{}", f(w.start), f(w.end), w.minutes)
            })
            .collect()
    }

    #[test]
    fn alert_mails_with_the_stamp_below_the_state() {
        let text = "Alert: Website is DOWN\nCause: connection timeout\nWhen: 2026-03-02 07:41:10 UTC\n\n\
                    Alert: Website is UP\nDowntime: 38 minutes\nWhen: 2026-03-02 08:19:40 UTC\n";
        assert_eq!(run(text), ["02 07:41:10/02 08:19:40/38"]);
    }

    #[test]
    fn state_fields_with_the_time_on_a_line_below() {
        let text = "Check: VPN gateway\nState: Offline\nDetected at: 2026-04-07 22:50 UTC\n\n\
                    Check: VPN gateway\nState: Online\nDetected at: 2026-04-08 00:05 UTC\n";
        assert_eq!(run(text), ["07 22:50:00/08 00:05:00/75"]);
        let text = "Zustand: ausgefallen? nein\n* Status: Problem\n  Zeit: 07.04.2026 09:10 MESZ\n\
                    * Status: OK\n  Zeit: 07.04.2026 09:55 MESZ\n";
        assert_eq!(run(text), ["07 07:10:00/07 07:55:00/45"]);
        // A status in a sentence is no field.
        let text = "Our status: down most of the afternoon, since 2026-04-07 13:00.\n";
        assert_eq!(run(text), Vec::<String>::new());
    }

    #[test]
    fn a_log_newest_first_with_offsets_and_repeats() {
        let text = "02.03.2026 11:30:00 +01:00  OK       200\n\
                    02.03.2026 10:45:00 +01:00  CRITICAL 503\n\
                    02.03.2026 10:15:00 +01:00  CRITICAL timeout\n\
                    02.03.2026 10:00:00 +01:00  OK       200\n";
        assert_eq!(run(text), ["02 09:15:00/02 10:30:00/75"]);
    }

    #[test]
    fn prose_about_being_down_is_no_event() {
        let text = "The site was down this morning, we checked at 2026-03-02 09:00:00.\n\
                    It is up again since 2026-03-02 10:00.\n";
        assert_eq!(run(text), Vec::<String>::new());
        // A zone-less stamp takes the given zone.
        let text = "StatusCake: shop.example went down\n2026-03-02 09:00\nshop.example is back up\n2026-03-02 09:20\n";
        assert_eq!(run(text), ["02 08:00:00/02 08:20:00/20"]);
    }
}
