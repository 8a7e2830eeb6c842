//! Recurring freeze windows, as a team writes them: `"Fri 16:00-Mon 08:00"`, read on the
//! wall clock of the app's time zone. A window follows that clock through daylight
//! saving changes: a weekend window ends at 08:00 local time on Monday whether the
//! weekend was 63 or 62 hours long that week.

use jiff::civil::DateTime;
use jiff::tz::AmbiguousOffset;
use jiff::{Timestamp, ToSpan};

use crate::weekly::{DAY, WEEK, WeeklyError, Zone, moment};

/// Why a window or a time zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("{0:?} is not a window like \"Fri 16:00-Mon 08:00\"")]
    Format(String),
    #[error("{0:?} is not a day (Mon, Tue, Wed, Thu, Fri, Sat or Sun)")]
    Day(String),
    #[error("{0:?} is not a time of day like \"08:00\"")]
    Time(String),
    #[error("{0:?} starts when it ends")]
    Empty(String),
    #[error("{0:?} is not a time zone name like \"Europe/Berlin\" or \"UTC\"")]
    TimeZone(String),
}

impl From<WeeklyError> for WindowError {
    fn from(e: WeeklyError) -> Self {
        match e {
            WeeklyError::Format(s) => WindowError::Format(s),
            WeeklyError::Day(s) => WindowError::Day(s),
            WeeklyError::Time(s) => WindowError::Time(s),
            WeeklyError::TimeZone(s) => WindowError::TimeZone(s),
        }
    }
}

/// One weekly window, from a day and time to a day and time (the end not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Minutes since Monday 00:00.
    start: u32,
    end: u32,
    /// As written, for messages.
    text: String,
}

impl Window {
    pub fn parse(text: &str) -> Result<Window, WindowError> {
        let (from, to) = text
            .split_once('-')
            .ok_or_else(|| WindowError::Format(text.to_string()))?;
        let (start, end) = (moment(from.trim())?, moment(to.trim())?);
        if start == end {
            return Err(WindowError::Empty(text.to_string()));
        }
        Ok(Window {
            start,
            end,
            text: text.trim().to_string(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a minute of the week (since Monday 00:00) falls in the window.
    fn holds(&self, minute: u32) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// A window in force, and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InForce {
    /// The window as written.
    pub window: String,
    pub timezone: String,
    pub until_ms: i64,
}

/// An app's recurring windows in its time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    windows: Vec<Window>,
    zone: Zone,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            windows: Vec::new(),
            zone: Zone::utc(),
        }
    }
}

fn minute_of_week(dt: DateTime) -> u32 {
    let day = dt.weekday().to_monday_zero_offset() as u32;
    day * DAY + dt.hour() as u32 * 60 + dt.minute() as u32
}

impl Schedule {
    /// Windows in the IANA time zone `timezone` (`UTC` when `None`).
    pub fn new(windows: Vec<Window>, timezone: Option<&str>) -> Result<Schedule, WindowError> {
        Ok(Schedule {
            windows,
            zone: Zone::parse(timezone)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    pub fn timezone(&self) -> &str {
        &self.zone.name
    }

    /// The window in force at `now_ms`, if any, with the latest end among those in force.
    pub fn in_force(&self, now_ms: i64) -> Option<InForce> {
        let now = Timestamp::from_millisecond(now_ms).ok()?;
        let local = now.to_zoned_datetime(self.zone.tz.clone()).datetime();
        let minute = minute_of_week(local);
        self.windows
            .iter()
            .filter(|w| w.holds(minute))
            .filter_map(|w| Some((w, self.end_after(local, w.end)?)))
            .max_by_key(|(_, until)| *until)
            .map(|(w, until_ms)| InForce {
                window: w.text.clone(),
                timezone: self.zone.name.clone(),
                until_ms,
            })
    }

    /// The first time, after the local time `local`, that the wall clock shows the
    /// minute of the week `end`; in a daylight saving gap, the first time after it.
    fn end_after(&self, local: DateTime, end: u32) -> Option<i64> {
        let now = minute_of_week(local);
        let ahead = match (end + WEEK - now) % WEEK {
            0 => WEEK,
            m => m,
        };
        // Whole local days and a time of day, so the wall clock decides, not elapsed
        // time: a day with a daylight saving change is still one day.
        let start_of_minute = local.date().at(local.hour(), local.minute(), 0, 0);
        let target_minutes = local.hour() as u32 * 60 + local.minute() as u32 + ahead;
        let days = (target_minutes / DAY) as i64;
        let rest = target_minutes % DAY;
        let date = start_of_minute.date().checked_add(days.days()).ok()?;
        let at = date.at((rest / 60) as i8, (rest % 60) as i8, 0, 0);
        let ambiguous = self.zone.tz.to_ambiguous_zoned_datetime(at);
        let end = match ambiguous.offset() {
            // The end falls in a skipped hour: the clock passes it when it jumps.
            AmbiguousOffset::Gap { .. } => {
                // The earlier reading is still before the jump; the jump follows it.
                let before_gap = ambiguous.earlier().ok()?.timestamp();
                self.zone.tz.following(before_gap).next()?.timestamp()
            }
            // Shown twice (an hour repeated): the first time it shows.
            _ => ambiguous.earlier().ok()?.timestamp(),
        };
        Some(end.as_millisecond())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn at(tz: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        let tz = TimeZone::get(tz).unwrap();
        let dt = jiff::civil::date(y, mo, d).at(h, mi, 0, 0);
        tz.to_ambiguous_zoned_datetime(dt)
            .compatible()
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn utc(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn berlin_weekend() -> Schedule {
        Schedule::new(
            vec![Window::parse("Sat 00:00-Mon 06:00").unwrap()],
            Some("Europe/Berlin"),
        )
        .unwrap()
    }

    #[test]
    fn windows_are_read_as_written_and_bad_ones_say_why() {
        let w = Window::parse("fri 16:00 - Mon 08:00").unwrap();
        assert_eq!((w.start, w.end), (4 * DAY + 960, 480));
        assert_eq!(w.text(), "fri 16:00 - Mon 08:00");
        assert!(Window::parse("Saturday 00:00-Sun 24:00").is_ok());
        for (bad, want) in [
            ("Fri 16:00", WindowError::Format("Fri 16:00".into())),
            ("Fry 16:00-Mon 08:00", WindowError::Day("Fry".into())),
            ("Fri 16-Mon 08:00", WindowError::Time("16".into())),
            ("Fri 25:00-Mon 08:00", WindowError::Time("25:00".into())),
            (
                "Fri 16:00-Fri 16:00",
                WindowError::Empty("Fri 16:00-Fri 16:00".into()),
            ),
        ] {
            assert_eq!(Window::parse(bad).unwrap_err(), want, "{bad}");
        }
        assert_eq!(
            Schedule::new(Vec::new(), Some("Mars/Olympus")).unwrap_err(),
            WindowError::TimeZone("Mars/Olympus".into())
        );
    }

    #[test]
    fn a_weekday_window_holds_inside_and_ends_on_time() {
        let s = Schedule::new(vec![Window::parse("Fri 16:00-Mon 08:00").unwrap()], None).unwrap();
        // 2026-12-04 is a Friday.
        assert_eq!(s.in_force(utc("2026-12-04T15:59:00Z")), None);
        let f = s.in_force(utc("2026-12-04T16:00:00Z")).unwrap();
        assert_eq!(f.until_ms, utc("2026-12-07T08:00:00Z"));
        assert_eq!(f.window, "Fri 16:00-Mon 08:00");
        assert!(s.in_force(utc("2026-12-06T23:59:00Z")).is_some());
        assert_eq!(s.in_force(utc("2026-12-07T08:00:00Z")), None);
        assert_eq!(s.in_force(utc("2026-12-09T12:00:00Z")), None);
    }

    #[test]
    fn a_weekend_window_follows_the_wall_clock_across_daylight_saving() {
        let s = berlin_weekend();
        // Europe/Berlin springs forward on Sunday 2026-03-29, 02:00 → 03:00.
        let friday_night = at("Europe/Berlin", 2026, 3, 27, 23, 59);
        assert_eq!(s.in_force(friday_night), None);
        let saturday = at("Europe/Berlin", 2026, 3, 28, 0, 0);
        assert_eq!(saturday, utc("2026-03-27T23:00:00Z"), "still UTC+1");
        let f = s.in_force(saturday).unwrap();
        let monday_six = at("Europe/Berlin", 2026, 3, 30, 6, 0);
        assert_eq!(monday_six, utc("2026-03-30T04:00:00Z"), "UTC+2 by then");
        assert_eq!(f.until_ms, monday_six);
        assert_eq!(f.timezone, "Europe/Berlin");
        // The weekend was an hour shorter: 53 hours, not 54.
        assert_eq!(f.until_ms - saturday, 53 * 3_600_000);
        // In force through the skipped hour and up to 05:59 local on Monday...
        assert!(s.in_force(utc("2026-03-29T01:30:00Z")).is_some());
        assert!(
            s.in_force(at("Europe/Berlin", 2026, 3, 30, 5, 59))
                .is_some()
        );
        // ...and not at 06:00 local, which is 04:00 UTC, not 05:00 as in winter.
        assert_eq!(s.in_force(utc("2026-03-30T04:00:00Z")), None);
        assert_eq!(s.in_force(utc("2026-03-30T04:30:00Z")), None);
        // In autumn (2026-10-25, 03:00 → 02:00) the weekend is 55 hours long.
        let saturday = at("Europe/Berlin", 2026, 10, 24, 0, 0);
        let f = s.in_force(saturday).unwrap();
        assert_eq!(f.until_ms - saturday, 55 * 3_600_000);
    }

    #[test]
    fn a_window_ending_in_the_skipped_hour_ends_when_the_clock_passes_it() {
        let s = Schedule::new(
            vec![Window::parse("Sat 12:00-Sun 02:30").unwrap()],
            Some("Europe/Berlin"),
        )
        .unwrap();
        let f = s.in_force(at("Europe/Berlin", 2026, 3, 28, 13, 0)).unwrap();
        // 02:30 does not exist that night: the clock passes it when it jumps from 02:00
        // CET to 03:00 CEST, at 01:00 UTC, and the window is over from then on.
        assert_eq!(f.until_ms, utc("2026-03-29T01:00:00Z"));
        assert!(s.in_force(utc("2026-03-29T00:59:00Z")).is_some());
        assert_eq!(s.in_force(utc("2026-03-29T01:00:00Z")), None);
    }
}
