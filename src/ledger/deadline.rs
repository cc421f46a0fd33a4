//! Partner Center deadlines: Microsoft must *receive* a credit claim by the end of the
//! calendar month after the month in which the incident occurred (incident 15 February,
//! claim by 31 March), reckoned in the partner's time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// How deadlines are reckoned: the partner's zone and an internal safety margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The zone in which "the month of the incident" and "end of month" are judged.
    pub zone: Tz,
    /// Days before Microsoft's deadline by which the helpdesk should submit.
    pub margin_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            zone: chrono_tz::UTC,
            margin_days: 3,
        }
    }
}

/// A claim's deadline and the internal date to submit by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The incident's day in the policy zone.
    pub incident_day: NaiveDate,
    /// Last day Microsoft accepts the claim (end of the following month).
    pub deadline: NaiveDate,
    /// The deadline minus the safety margin: when the helpdesk should have submitted.
    pub submit_by: NaiveDate,
    /// The instant the deadline day ends in the policy zone, in UTC.
    pub closes_at: DateTime<Utc>,
    /// True when the incident start was not known and the first request's date stood in.
    pub assumed_start: bool,
}

impl Policy {
    /// The deadline for an incident that started at `start`; `assumed_start` flags that
    /// `start` is the first credit-request email's date rather than the outage start.
    pub fn deadline(&self, start: DateTime<Utc>, assumed_start: bool) -> Deadline {
        let incident_day = start.with_timezone(&self.zone).date_naive();
        let deadline = last_day_of_next_month(incident_day);
        let submit_by = deadline - Duration::days(i64::from(self.margin_days));
        let next_day = deadline + Duration::days(1);
        let closes_at = self
            .zone
            .from_local_datetime(&next_day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or_else(
                || next_day.and_time(chrono::NaiveTime::MIN).and_utc(),
                |t| t.with_timezone(&Utc),
            );
        Deadline {
            incident_day,
            deadline,
            submit_by,
            closes_at,
            assumed_start,
        }
    }
}

/// The last day of the month after `day`'s month.
pub fn last_day_of_next_month(day: NaiveDate) -> NaiveDate {
    // First day of the month two months on, minus one day.
    let (y, m) = (day.year(), day.month());
    let (y2, m2) = if m >= 11 { (y + 1, m - 10) } else { (y, m + 2) };
    NaiveDate::from_ymd_opt(y2, m2, 1).map_or(day, |d| d - Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn the_documented_example() {
        assert_eq!(last_day_of_next_month(d(2026, 2, 15)), d(2026, 3, 31));
        assert_eq!(last_day_of_next_month(d(2026, 12, 3)), d(2027, 1, 31));
        assert_eq!(last_day_of_next_month(d(2024, 1, 31)), d(2024, 2, 29));
        assert_eq!(last_day_of_next_month(d(2025, 1, 1)), d(2025, 2, 28));
        assert_eq!(last_day_of_next_month(d(2026, 11, 30)), d(2026, 12, 31));
    }

    #[test]
    fn every_day_from_2020_to_2030() {
        let mut day = d(2020, 1, 1);
        while day <= d(2030, 12, 31) {
            let deadline = last_day_of_next_month(day);
            let after = deadline + Duration::days(1);
            // It is the last day of a month, and that month is the one after the incident's.
            assert_eq!(after.day(), 1, "{day}");
            let months =
                (deadline.year() - day.year()) * 12 + deadline.month() as i32 - day.month() as i32;
            assert_eq!(months, 1, "{day} -> {deadline}");
            assert!(deadline > day);
            assert!(
                (deadline - day).num_days() >= 28 && (deadline - day).num_days() <= 61,
                "{day}"
            );
            day += Duration::days(1);
        }
    }

    #[test]
    fn midnight_is_judged_in_the_policy_zone() {
        let amsterdam = Policy {
            zone: chrono_tz::Europe::Amsterdam,
            margin_days: 5,
        };
        let utc = Policy {
            zone: chrono_tz::UTC,
            margin_days: 5,
        };
        // 31 January 23:30 UTC is already 1 February in Amsterdam.
        let t = Utc
            .with_ymd_and_hms(2026, 1, 31, 23, 30, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(utc.deadline(t, false).deadline, d(2026, 2, 28));
        assert_eq!(amsterdam.deadline(t, false).deadline, d(2026, 3, 31));
        // Just before midnight local time stays in January.
        let t = Utc
            .with_ymd_and_hms(2026, 1, 31, 22, 59, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(amsterdam.deadline(t, false).deadline, d(2026, 2, 28));
        let dl = amsterdam.deadline(t, true);
        assert_eq!(dl.submit_by, d(2026, 2, 23));
        assert!(dl.assumed_start);
        // The deadline day ends at local midnight: 28 Feb 23:00 UTC in winter.
        assert_eq!(
            dl.closes_at,
            Utc.with_ymd_and_hms(2026, 2, 28, 23, 0, 0)
                .single()
                .unwrap_or_default()
        );
    }

    #[test]
    fn december_incidents_roll_into_next_year_in_every_zone() {
        for zone in [
            chrono_tz::UTC,
            chrono_tz::Europe::Amsterdam,
            chrono_tz::America::New_York,
            chrono_tz::Pacific::Auckland,
        ] {
            let p = Policy {
                zone,
                margin_days: 0,
            };
            let t = Utc
                .with_ymd_and_hms(2029, 12, 15, 12, 0, 0)
                .single()
                .unwrap_or_default();
            assert_eq!(p.deadline(t, false).deadline, d(2030, 1, 31), "{zone}");
        }
    }
}
