//! The TimeSpan form of an Azure Functions timer schedule (`hh:mm:ss`, `d.hh:mm:ss`, and `dd:hh:mm` when the
//! first number is 24 or more, as .NET reads it): a constant interval. Pure.

use std::fmt;

use crate::error::{Error, ErrorKind};

/// A positive interval, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TimeSpan {
    seconds: i64,
}

/// The longest interval accepted: .NET's `TimeSpan.MaxValue` is about 10.6 million days; we stop at 10,000 years.
const MAX_DAYS: i64 = 3_652_425;

impl TimeSpan {
    /// Whether `text` has the shape of a TimeSpan rather than of a cron expression (one token with a colon).
    pub fn looks_like(text: &str) -> bool {
        let text = text.trim_matches(' ');
        text.contains(':') && !text.contains(' ')
    }

    /// Parses `hh:mm:ss`, `d.hh:mm:ss` or, when the first number is 24 or more, `dd:hh:mm`.
    pub fn parse(text: &str) -> Result<TimeSpan, Error> {
        let trimmed = text.trim_matches(' ');
        let fail = |problem: String| Error::new(ErrorKind::TimeSpan { text: text.to_owned(), problem });
        let (days, clock) = match trimmed.split_once('.') {
            Some((days, clock)) => (Some(number(days, "days").map_err(fail)?), clock),
            None => (None, trimmed),
        };
        let parts: Vec<&str> = clock.split(':').collect();
        let [first, second, third] = parts[..] else {
            return Err(fail(format!(
                "expected hh:mm:ss, d.hh:mm:ss or dd:hh:mm, found {} colon-separated part(s)",
                parts.len()
            )));
        };
        let first_value = number(first, "the first number").map_err(fail)?;
        let (days, hours, minutes, seconds) = match days {
            None if first_value >= 24 => (first_value, second, third, None),
            _ => (days.unwrap_or(0), first, second, Some(third)),
        };
        let hours = bounded(hours, "hours", 23).map_err(fail)?;
        let minutes = bounded(minutes, "minutes", 59).map_err(fail)?;
        let seconds = match seconds {
            Some(s) => bounded(s, "seconds", 59).map_err(fail)?,
            None => 0,
        };
        if days > MAX_DAYS {
            return Err(fail(format!("{days} days is more than the largest interval accepted, {MAX_DAYS} days")));
        }
        let total = days * 86_400 + hours * 3600 + minutes * 60 + seconds;
        if total == 0 {
            return Err(fail("the interval is zero: expected a positive interval".to_owned()));
        }
        Ok(TimeSpan { seconds: total })
    }

    /// The interval in seconds (always positive).
    pub fn seconds(self) -> i64 {
        self.seconds
    }
}

fn number(text: &str, what: &str) -> Result<i64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {text:?} is not a number"));
    }
    text.parse().map_err(|_| format!("{what} {text} is too large"))
}

fn bounded(text: &str, what: &str, max: i64) -> Result<i64, String> {
    let value = number(text, what)?;
    if value > max { Err(format!("{what} {value} is out of range 0-{max}")) } else { Ok(value) }
}

/// .NET's constant format: `hh:mm:ss`, or `d.hh:mm:ss` when the interval is a day or more.
impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.seconds / 86_400;
        let rest = self.seconds % 86_400;
        let clock = format!("{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
        if days > 0 { write!(f, "{days}.{clock}") } else { f.write_str(&clock) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms() {
        assert_eq!(TimeSpan::parse("00:05:00").unwrap().seconds(), 300);
        assert_eq!(TimeSpan::parse("1.02:03:04").unwrap().seconds(), 86_400 + 7384);
        assert_eq!(TimeSpan::parse("24:00:00").unwrap().seconds(), 24 * 86_400);
        assert_eq!(TimeSpan::parse("30:01:02").unwrap().seconds(), 30 * 86_400 + 3600 + 120);
        assert_eq!(TimeSpan::parse("24:00:00").unwrap().to_string(), "24.00:00:00");
        assert_eq!(TimeSpan::parse("01:30:00").unwrap().to_string(), "01:30:00");
    }

    #[test]
    fn errors_say_which_part() {
        let message = |text| TimeSpan::parse(text).unwrap_err().to_string();
        assert_eq!(message("00:60:00"), r#"timespan "00:60:00": minutes 60 is out of range 0-59"#);
        assert_eq!(message("00:00:00"), r#"timespan "00:00:00": the interval is zero: expected a positive interval"#);
        assert_eq!(message("1.24:00:00"), r#"timespan "1.24:00:00": hours 24 is out of range 0-23"#);
        assert_eq!(
            message("01:00"),
            r#"timespan "01:00": expected hh:mm:ss, d.hh:mm:ss or dd:hh:mm, found 2 colon-separated part(s)"#
        );
        assert_eq!(message("x:00:00"), r#"timespan "x:00:00": the first number "x" is not a number"#);
    }
}
