//! When the weekly delivery digest is due: a day and time of the week on the wall clock
//! of a time zone (`every = "Mon 09:00"`, `timezone = "Europe/Berlin"`), and which slot
//! to send given the last one sent. Pure: handed the time and what the store recorded.

use jiff::Timestamp;
use jiff::civil::{DateTime, Time};

use crate::weekly::{DAY, WeeklyError, Zone, moment};

/// Why a digest schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("{0:?} is not a day and time like \"Mon 09:00\"")]
    Every(String),
    #[error("{0:?} is not a time zone name like \"Europe/Berlin\" or \"UTC\"")]
    TimeZone(String),
}

/// A weekly moment on a time zone's wall clock.
#[derive(Debug, Clone)]
pub struct Weekly {
    /// Days after Monday (0 = Monday).
    day: i8,
    time: Time,
    zone: Zone,
    every: String,
}

impl PartialEq for Weekly {
    fn eq(&self, other: &Self) -> bool {
        self.every == other.every && self.zone == other.zone
    }
}

impl Eq for Weekly {}

/// The decision about the digest now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing was ever recorded: record this slot (the latest one passed) as the
    /// starting point, sending nothing; the first digest goes at the next slot.
    Start { slot_ms: i64 },
    /// Send the digest of this slot (the latest one passed), once.
    Send { slot_ms: i64 },
    /// The latest slot was sent; wait until the next one.
    Wait { next_ms: i64 },
}

impl Weekly {
    pub fn parse(every: &str, timezone: Option<&str>) -> Result<Weekly, DigestError> {
        let bad = |_| DigestError::Every(every.to_string());
        let minute = moment(every).map_err(bad)?;
        let (day, of_day) = (minute / DAY, minute % DAY);
        let time = Time::new((of_day / 60) as i8, (of_day % 60) as i8, 0, 0)
            .map_err(|_| DigestError::Every(every.to_string()))?;
        let zone = Zone::parse(timezone).map_err(|e| match e {
            WeeklyError::TimeZone(name) => DigestError::TimeZone(name),
            _ => DigestError::Every(every.to_string()),
        })?;
        Ok(Weekly {
            day: day as i8,
            time,
            zone,
            every: every.trim().to_string(),
        })
    }

    /// As written: `Mon 09:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.every, self.zone.name)
    }

    /// The instant the wall clock shows the slot's day and time in the week of
    /// `local`, moved by `weeks`.
    fn slot_in_week(&self, local: DateTime, weeks: i64) -> Option<i64> {
        let back = i64::from(local.weekday().to_monday_zero_offset() - self.day);
        let date = local
            .date()
            .checked_add(jiff::Span::new().days(7 * weeks - back))
            .ok()?;
        let zoned = self
            .zone
            .tz
            .to_ambiguous_zoned_datetime(date.to_datetime(self.time))
            .compatible()
            .ok()?;
        Some(zoned.timestamp().as_millisecond())
    }

    /// The latest slot at or before `now_ms`.
    pub fn latest(&self, now_ms: i64) -> Option<i64> {
        let local = Timestamp::from_millisecond(now_ms)
            .ok()?
            .to_zoned_datetime(self.zone.tz.clone())
            .datetime();
        [0, -1, -2]
            .into_iter()
            .filter_map(|w| self.slot_in_week(local, w))
            .find(|slot| *slot <= now_ms)
    }

    /// The first slot after `now_ms`.
    pub fn next(&self, now_ms: i64) -> Option<i64> {
        let local = Timestamp::from_millisecond(now_ms)
            .ok()?
            .to_zoned_datetime(self.zone.tz.clone())
            .datetime();
        [0, 1, 2]
            .into_iter()
            .filter_map(|w| self.slot_in_week(local, w))
            .find(|slot| *slot > now_ms)
    }

    /// What to do at `now_ms`, given the slot last recorded as sent (or as the start).
    /// A digest missed while releasebot was down is sent once when it is back, however
    /// many slots passed; one recorded is never sent again.
    pub fn due(&self, now_ms: i64, last_ms: Option<i64>) -> Option<Due> {
        let latest = self.latest(now_ms)?;
        Some(match last_ms {
            None => Due::Start { slot_ms: latest },
            Some(last) if last < latest => Due::Send { slot_ms: latest },
            Some(_) => Due::Wait {
                next_ms: self.next(now_ms)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn slots_follow_the_wall_clock_of_the_time_zone() {
        let w = Weekly::parse("Mon 09:00", Some("Europe/Berlin")).unwrap();
        // 2026-12-07 is a Monday; Berlin is UTC+1 in winter.
        let cases = [
            (
                "2026-12-07T08:00:00Z",
                "2026-12-07T08:00:00Z",
                "2026-12-14T08:00:00Z",
            ),
            (
                "2026-12-07T07:59:59Z",
                "2026-11-30T08:00:00Z",
                "2026-12-07T08:00:00Z",
            ),
            (
                "2026-12-10T12:00:00Z",
                "2026-12-07T08:00:00Z",
                "2026-12-14T08:00:00Z",
            ),
            // Summer time: 09:00 in Berlin is 07:00 UTC.
            (
                "2026-07-08T00:00:00Z",
                "2026-07-06T07:00:00Z",
                "2026-07-13T07:00:00Z",
            ),
        ];
        for (now, latest, next) in cases {
            assert_eq!(w.latest(ms(now)), Some(ms(latest)), "latest at {now}");
            assert_eq!(w.next(ms(now)), Some(ms(next)), "next at {now}");
        }
    }

    #[test]
    fn due_once_per_slot_and_once_after_a_long_absence() {
        let w = Weekly::parse("mon 09:00", None).unwrap();
        let monday = ms("2026-12-07T09:00:00Z");
        let week = 7 * 86_400_000;
        assert_eq!(w.due(monday, None), Some(Due::Start { slot_ms: monday }));
        assert_eq!(
            w.due(monday + 1, Some(monday)),
            Some(Due::Wait {
                next_ms: monday + week
            })
        );
        assert_eq!(
            w.due(monday + week + 5, Some(monday)),
            Some(Due::Send {
                slot_ms: monday + week
            })
        );
        // Down for three weeks: the latest slot, once.
        assert_eq!(
            w.due(monday + 3 * week + 5, Some(monday)),
            Some(Due::Send {
                slot_ms: monday + 3 * week
            })
        );
    }

    #[test]
    fn bad_schedules_are_refused() {
        for every in ["Mon", "Mon 9", "Mon 25:00", "Xyz 09:00", "Mon 09:00 extra"] {
            assert!(Weekly::parse(every, None).is_err(), "{every}");
        }
        assert_eq!(
            Weekly::parse("Mon 09:00", Some("Mars/Base")),
            Err(DigestError::TimeZone("Mars/Base".into()))
        );
    }
}
