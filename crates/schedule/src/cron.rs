//! A parsed NCRONTAB expression: six bit sets, the canonical text, and the search for the next matching wall-clock
//! time. Pure: works on civil (wall-clock) times only; time zones are `zoned.rs`'s business.

use std::fmt;

use crate::civil::{Civil, MAX_YEAR, days_in_month};
use crate::error::{Error, ErrorKind, Field};
use crate::field::parse_field;

/// The fields in the order of the 6-field form.
const FIELDS: [Field; 6] = [Field::Second, Field::Minute, Field::Hour, Field::Day, Field::Month, Field::DayOfWeek];

/// An NCRONTAB expression: day-of-month AND day-of-week must both match (NCrontab's rule, not Vixie cron's OR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Cron {
    /// Bit sets indexed like [`FIELDS`].
    sets: [u64; 6],
    /// Whether the expression was written with a seconds field.
    with_seconds: bool,
    /// No `*`, `-` or `/` in second, minute or hour: the schedule names wall-clock times of day.
    fixed_time: bool,
}

impl Cron {
    /// Parses an expression of exactly 6 fields (`with_seconds`) or exactly 5. Fields are separated by spaces only.
    pub fn parse(expr: &str, with_seconds: bool) -> Result<Cron, Error> {
        let tokens: Vec<&str> = expr.split(' ').filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() {
            return Err(Error::new(ErrorKind::Empty));
        }
        let expected = if with_seconds { 6 } else { 5 };
        if tokens.len() != expected {
            return Err(Error::new(ErrorKind::FieldCount {
                expr: expr.to_owned(),
                expected: if with_seconds {
                    "6 (second minute hour day month day-of-week)"
                } else {
                    "5 (minute hour day month day-of-week)"
                },
                found: tokens.len(),
            }));
        }
        let mut sets = [1u64; 6]; // second 0 when the expression has no seconds field
        let fields = if with_seconds { &FIELDS[..] } else { &FIELDS[1..] };
        let offset = 6 - fields.len();
        for (index, (field, token)) in fields.iter().zip(&tokens).enumerate() {
            sets[index + offset] = parse_field(*field, token)?;
        }
        let time_tokens = &tokens[..3 - offset];
        let fixed_time = time_tokens.iter().all(|t| !t.contains(['*', '-', '/']));
        Ok(Cron { sets, with_seconds, fixed_time })
    }

    /// Whether the schedule names fixed wall-clock times (no `*`, `-` or `/` in second, minute or hour).
    pub fn is_fixed_time(&self) -> bool {
        self.fixed_time
    }

    /// The bit set of a field.
    pub fn set(&self, field: Field) -> u64 {
        self.sets[FIELDS.iter().position(|f| *f == field).unwrap_or(0)]
    }

    /// Whether a wall-clock time matches every field.
    pub fn matches(&self, c: Civil) -> bool {
        let values = [c.second, c.minute, c.hour, c.day, c.month, c.weekday()];
        self.sets.iter().zip(values).all(|(set, value)| set & (1 << value) != 0)
    }

    /// The first matching wall-clock time at or after `from`, or `None` if there is none up to year 9999.
    pub fn next_match(&self, from: Civil) -> Option<Civil> {
        let [seconds, minutes, hours, days, months, weekdays] = self.sets;
        let mut c = from;
        loop {
            if c.year > MAX_YEAR {
                return None;
            }
            match next_in(months, c.month) {
                None => {
                    c = Civil::midnight(c.year + 1, 1, 1);
                    continue;
                }
                Some(month) if month != c.month => c = Civil::midnight(c.year, month, 1),
                Some(_) => {}
            }
            match next_in(days, c.day).filter(|d| *d <= days_in_month(c.year, c.month)) {
                None => {
                    c = c.next_month();
                    continue;
                }
                Some(day) if day != c.day => c = Civil::midnight(c.year, c.month, day),
                Some(_) => {}
            }
            if weekdays & (1 << c.weekday()) == 0 {
                c = c.next_day();
                continue;
            }
            match next_in(hours, c.hour) {
                None => {
                    c = c.next_day();
                    continue;
                }
                Some(hour) if hour != c.hour => c = Civil { hour, minute: 0, second: 0, ..c },
                Some(_) => {}
            }
            match next_in(minutes, c.minute) {
                None => {
                    c = c.next_hour();
                    continue;
                }
                Some(minute) if minute != c.minute => c = Civil { minute, second: 0, ..c },
                Some(_) => {}
            }
            match next_in(seconds, c.second) {
                None => {
                    c = c.next_minute();
                    continue;
                }
                Some(second) => return Some(Civil { second, ..c }),
            }
        }
    }
}

/// The smallest value of `set` that is at least `from`.
fn next_in(set: u64, from: u8) -> Option<u8> {
    let rest = set.checked_shr(u32::from(from))? << from;
    (rest != 0).then(|| rest.trailing_zeros() as u8)
}

/// The canonical form NCrontab prints: `*` for a full field, else values and ranges of two or more consecutive
/// values, ascending (`1-3`, `1,3,5`, `1-2,5`); months and days of the week as numbers.
impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = if self.with_seconds { 0 } else { 1 };
        for (index, field) in FIELDS.iter().enumerate().skip(start) {
            if index > start {
                f.write_str(" ")?;
            }
            let set = self.sets[index];
            if set == field.full() {
                f.write_str("*")?;
                continue;
            }
            let mut first = true;
            let mut value = field.min();
            while value <= field.max() {
                if set & (1 << value) == 0 {
                    value += 1;
                    continue;
                }
                let mut end = value;
                while end < field.max() && set & (1 << (end + 1)) != 0 {
                    end += 1;
                }
                if !first {
                    f.write_str(",")?;
                }
                first = false;
                if end > value {
                    write!(f, "{value}-{end}")?
                } else {
                    write!(f, "{value}")?
                }
                value = end + 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_in_bit_sets() {
        assert_eq!(next_in(0b1010, 0), Some(1));
        assert_eq!(next_in(0b1010, 2), Some(3));
        assert_eq!(next_in(0b1010, 4), None);
        assert_eq!(next_in(1 << 63, 63), Some(63));
        assert_eq!(next_in(u64::MAX, 64), None);
    }

    #[test]
    fn fixed_time_is_read_from_the_time_fields() {
        assert!(Cron::parse("0 30 9 * * 1-5", true).unwrap().is_fixed_time());
        assert!(Cron::parse("0,30 9,17 * * *", false).unwrap().is_fixed_time());
        assert!(!Cron::parse("*/5 * * * *", false).unwrap().is_fixed_time());
        assert!(!Cron::parse("0 0 9-17 * * *", true).unwrap().is_fixed_time());
    }

    #[test]
    fn field_count_is_checked_against_the_mode() {
        assert_eq!(
            Cron::parse("* * * * *", true).unwrap_err().to_string(),
            r#"schedule "* * * * *" has 5 field(s): expected 6 (second minute hour day month day-of-week)"#
        );
    }
}
