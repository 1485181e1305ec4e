//! Civil (wall-clock) date-time arithmetic on plain integers: the hot loop of the evaluator works here instead of
//! on validated `jiff` values. Pure: no clock, no time zones (an offset is just a number of seconds).

/// The latest year the evaluator searches (jiff's civil range ends at 9999, like .NET's `DateTime.MaxValue`).
pub(crate) const MAX_YEAR: i32 = 9999;

/// A wall-clock date and time to the second. Field order makes the derived `Ord` chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Civil {
    /// Midnight starting the given day.
    pub fn midnight(year: i32, month: u8, day: u8) -> Civil {
        Civil { year, month, day, hour: 0, minute: 0, second: 0 }
    }

    /// The wall-clock time `seconds` after 1970-01-01T00:00:00 (negative: before).
    pub fn from_epoch_seconds(seconds: i64) -> Civil {
        let days = seconds.div_euclid(86_400);
        let rem = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil { year, month, day, hour: (rem / 3600) as u8, minute: (rem % 3600 / 60) as u8, second: (rem % 60) as u8 }
    }

    /// Seconds since 1970-01-01T00:00:00 of this wall-clock time (read as if it were UTC).
    pub fn epoch_seconds(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// Day of the week, 0 = Sunday.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (4).
        (days_from_civil(self.year, self.month, self.day) + 4).rem_euclid(7) as u8
    }

    /// Midnight of the following day.
    pub fn next_day(self) -> Civil {
        if self.day < days_in_month(self.year, self.month) {
            Civil::midnight(self.year, self.month, self.day + 1)
        } else {
            self.next_month()
        }
    }

    /// Midnight of the first day of the following month.
    pub fn next_month(self) -> Civil {
        if self.month < 12 {
            Civil::midnight(self.year, self.month + 1, 1)
        } else {
            Civil::midnight(self.year + 1, 1, 1)
        }
    }

    /// The start of the following hour.
    pub fn next_hour(self) -> Civil {
        if self.hour < 23 { Civil { hour: self.hour + 1, minute: 0, second: 0, ..self } } else { self.next_day() }
    }

    /// The start of the following minute.
    pub fn next_minute(self) -> Civil {
        if self.minute < 59 { Civil { minute: self.minute + 1, second: 0, ..self } } else { self.next_hour() }
    }

    /// Converts from a `jiff` civil date-time, dropping fractions of a second.
    pub fn from_jiff(dt: jiff::civil::DateTime) -> Civil {
        Civil {
            year: i32::from(dt.year()),
            month: dt.month() as u8,
            day: dt.day() as u8,
            hour: dt.hour() as u8,
            minute: dt.minute() as u8,
            second: dt.second() as u8,
        }
    }
}

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
pub(crate) fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in a month (1-12) of a year.
pub(crate) fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_round_trip_matches_jiff() {
        for seconds in [-62_135_596_800_i64, -1, 0, 1, 951_782_400, 1_709_164_799, 253_402_207_200] {
            let civil = Civil::from_epoch_seconds(seconds);
            assert_eq!(civil.epoch_seconds(), seconds);
            let ts = jiff::Timestamp::from_second(seconds).expect("in range");
            let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
            assert_eq!(Civil::from_jiff(dt), civil, "{seconds}");
            assert_eq!(civil.weekday(), dt.weekday().to_sunday_zero_offset() as u8, "{seconds}");
        }
    }

    #[test]
    fn month_lengths() {
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2004, 2), 29);
        assert_eq!(days_in_month(2003, 4), 30);
        assert_eq!(Civil::midnight(2003, 12, 31).next_day(), Civil::midnight(2004, 1, 1));
    }
}
