//! A moment of the week as people write it (`Fri 16:00`, `Mon 09:00`), and the time
//! zone on whose wall clock it is read: for recurring freeze windows and the weekly
//! delivery digest.

use jiff::tz::TimeZone;

/// Minutes in a day and in a week.
pub const DAY: u32 = 24 * 60;
pub const WEEK: u32 = 7 * DAY;

/// Why a moment of the week or a time zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeeklyError {
    #[error("{0:?} is not a day and time like \"Fri 16:00\"")]
    Format(String),
    #[error("{0:?} is not a day (Mon, Tue, Wed, Thu, Fri, Sat or Sun)")]
    Day(String),
    #[error("{0:?} is not a time of day like \"08:00\"")]
    Time(String),
    #[error("{0:?} is not a time zone name like \"Europe/Berlin\" or \"UTC\"")]
    TimeZone(String),
}

/// `Mon`…`Sun` (or the full name), any case: days after Monday.
pub fn day(word: &str) -> Result<u32, WeeklyError> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let lower = word.to_ascii_lowercase();
    DAYS.iter()
        .position(|d| lower.len() >= 3 && d.starts_with(&lower))
        .map(|i| i as u32)
        .ok_or_else(|| WeeklyError::Day(word.to_string()))
}

/// `08:00` → minutes since midnight; `24:00` is the end of the day.
pub fn time(word: &str) -> Result<u32, WeeklyError> {
    let bad = || WeeklyError::Time(word.to_string());
    let (h, m) = word.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (0..=23, 0..=59) | (24, 0) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// `Fri 16:00` → minutes since Monday 00:00 (a week's end wraps to 0).
pub fn moment(text: &str) -> Result<u32, WeeklyError> {
    let mut words = text.split_whitespace();
    let (Some(d), Some(t), None) = (words.next(), words.next(), words.next()) else {
        return Err(WeeklyError::Format(text.to_string()));
    };
    Ok((day(d)? * DAY + time(t)?) % WEEK)
}

/// A time zone, with the name it was given; two are equal when named alike.
#[derive(Debug, Clone)]
pub struct Zone {
    pub tz: TimeZone,
    pub name: String,
}

impl Zone {
    /// The IANA time zone `name` (`UTC` when `None`).
    pub fn parse(name: Option<&str>) -> Result<Zone, WeeklyError> {
        let name = name.unwrap_or("UTC").trim();
        let tz = TimeZone::get(name).map_err(|_| WeeklyError::TimeZone(name.to_string()))?;
        Ok(Zone {
            tz,
            name: name.to_string(),
        })
    }

    pub fn utc() -> Zone {
        Zone {
            tz: TimeZone::UTC,
            name: "UTC".into(),
        }
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_the_week_read_as_people_write_them() {
        assert_eq!(moment("Mon 00:00"), Ok(0));
        assert_eq!(moment("fri 16:00"), Ok(4 * DAY + 16 * 60));
        assert_eq!(moment("Sunday 24:00"), Ok(0));
        assert!(matches!(moment("Fri"), Err(WeeklyError::Format(_))));
        assert!(matches!(moment("Fr 16:00"), Err(WeeklyError::Day(_))));
        assert!(matches!(moment("Fri 16:0"), Err(WeeklyError::Time(_))));
        assert!(matches!(moment("Fri 25:00"), Err(WeeklyError::Time(_))));
        assert_eq!(Zone::parse(None), Ok(Zone::utc()));
        assert!(matches!(
            Zone::parse(Some("Mars/Olympus")),
            Err(WeeklyError::TimeZone(_))
        ));
    }
}
