//! [`Schedule`]: a parsed NCRONTAB or TimeSpan schedule, and its occurrences in a time zone. Pure: the instant to
//! count from is always passed in, never read from a clock.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::cron::Cron;
use crate::error::{Error, ErrorKind};
use crate::timespan::TimeSpan;
use crate::zoned::{Cursor, Rule};

/// A parsed schedule: an NCRONTAB expression (5 or 6 fields) or a TimeSpan interval.
///
/// ```
/// use autostop_schedule::{Schedule, Zone};
///
/// let schedule: Schedule = "0 30 2 * * *".parse().unwrap();
/// let berlin = Zone::parse("W. Europe Standard Time").unwrap();
/// // 2026-03-29: clocks in Berlin jump from 02:00 to 03:00; the 02:30 run happens at 03:30.
/// let from: jiff::Timestamp = "2026-03-28T12:00:00Z".parse().unwrap();
/// let next = schedule.next_after(from, berlin.time_zone()).unwrap();
/// assert_eq!(next.to_string(), "2026-03-29T03:30:00+02:00[Europe/Berlin]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schedule {
    kind: Kind,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Cron(Cron),
    Interval(TimeSpan),
}

impl Schedule {
    /// Parses a schedule as the Azure Functions timer trigger reads user input: a TimeSpan (`hh:mm:ss`,
    /// `d.hh:mm:ss`, `dd:hh:mm`), or NCRONTAB where exactly 5 fields means no seconds and 6 means seconds first.
    /// `%NAME%` references must be resolved first ([`crate::resolve_app_settings`]); this reads no environment.
    pub fn parse(expr: &str) -> Result<Schedule, Error> {
        if TimeSpan::looks_like(expr) {
            return Ok(Schedule { kind: Kind::Interval(TimeSpan::parse(expr)?), source: expr.to_owned() });
        }
        let fields = expr.split(' ').filter(|t| !t.is_empty()).count();
        match fields {
            0 => Err(Error::new(ErrorKind::Empty)),
            5 | 6 => Schedule::parse_cron(expr, fields == 6),
            found => Err(Error::new(ErrorKind::FieldCount {
                expr: expr.to_owned(),
                expected: "5 (minute hour day month day-of-week) or 6 (second first), or a TimeSpan such as 01:00:00",
                found,
            })),
        }
    }

    /// Parses an NCRONTAB expression in an explicit mode: 6 fields with `seconds`, else 5.
    pub fn parse_cron(expr: &str, seconds: bool) -> Result<Schedule, Error> {
        Ok(Schedule { kind: Kind::Cron(Cron::parse(expr, seconds)?), source: expr.to_owned() })
    }

    /// The expression as it was written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True for a cron schedule naming fixed times of day (no `*`, `-` or `/` in second, minute or hour): it runs
    /// once on the day clocks go back and is shifted forward out of the gap on the day they go forward.
    /// Interval schedules (and TimeSpans) run by the clock through both copies of a repeated hour.
    pub fn is_fixed_time(&self) -> bool {
        matches!(&self.kind, Kind::Cron(cron) if cron.is_fixed_time())
    }

    /// The first occurrence strictly after `after`, in `tz`; `None` if there is none before the year 10000.
    ///
    /// A TimeSpan schedule runs at the multiples of its interval counted from 1970-01-01T00:00:00Z.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        self.occurrences(after, Timestamp::MAX, tz).next()
    }

    /// Every occurrence in `(after, until]`, in increasing order, in `tz`.
    pub fn occurrences(
        &self,
        after: Timestamp,
        until: Timestamp,
        tz: &TimeZone,
    ) -> impl Iterator<Item = Zoned> + use<> {
        let mut next = first_second_after(after);
        let until = until.as_second();
        let tz = tz.clone();
        let mut finder = match &self.kind {
            Kind::Cron(cron) => {
                let rule = if cron.is_fixed_time() { Rule::FixedTime } else { Rule::Interval };
                Finder::Cron(Cursor::new(*cron, rule, tz.clone()))
            }
            Kind::Interval(span) => Finder::Interval(span.seconds()),
        };
        std::iter::from_fn(move || {
            let found = finder.first_at_or_after(next?)?;
            if found > until {
                next = None;
                return None;
            }
            next = found.checked_add(1);
            Some(Timestamp::from_second(found).ok()?.to_zoned(tz.clone()))
        })
    }

    /// One line of plain English: "at 09:30 on Monday through Friday", "every 5 minutes".
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Cron(cron) => crate::describe::describe(cron),
            Kind::Interval(span) => {
                format!("every {} (TimeSpan), counted from 1970-01-01T00:00:00Z", span_words(span.seconds()))
            }
        }
    }

    /// Whether `at`, read in `tz`, is a wall-clock time the expression names (ignoring the DST rule). Always
    /// false for a TimeSpan schedule, which names no wall-clock times.
    pub fn matches(&self, at: &Zoned) -> bool {
        match &self.kind {
            Kind::Cron(cron) => {
                at.subsec_nanosecond() == 0 && cron.matches(crate::civil::Civil::from_jiff(at.datetime()))
            }
            Kind::Interval(_) => false,
        }
    }
}

/// Finds the first occurrence at or after an instant, in whole seconds since the epoch.
enum Finder {
    Cron(Cursor),
    Interval(i64),
}

impl Finder {
    fn first_at_or_after(&mut self, instant: i64) -> Option<i64> {
        match self {
            Finder::Cron(cursor) => cursor.first_at_or_after(instant),
            Finder::Interval(every) => {
                let every = *every;
                let found = instant.checked_add(every - 1)?.div_euclid(every).checked_mul(every)?;
                Timestamp::from_second(found).ok().map(|_| found)
            }
        }
    }
}

/// The first whole second strictly after `instant`.
fn first_second_after(instant: Timestamp) -> Option<i64> {
    let floor = instant.as_second() - i64::from(instant.subsec_nanosecond() < 0);
    floor.checked_add(1)
}

/// "1 hour 30 minutes", "2 days", "45 seconds".
fn span_words(seconds: i64) -> String {
    let units = [(86_400, "day"), (3600, "hour"), (60, "minute"), (1, "second")];
    let mut rest = seconds;
    let mut words = Vec::new();
    for (size, name) in units {
        let count = rest / size;
        rest %= size;
        if count > 0 {
            words.push(format!("{count} {name}{}", if count == 1 { "" } else { "s" }));
        }
    }
    words.join(" ")
}

/// The canonical form: NCrontab's (`* 1-3 * * *`, months and weekdays as numbers) or .NET's TimeSpan format.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Cron(cron) => cron.fmt(f),
            Kind::Interval(span) => span.fmt(f),
        }
    }
}

impl FromStr for Schedule {
    type Err = Error;

    fn from_str(expr: &str) -> Result<Schedule, Error> {
        Schedule::parse(expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn azure_reads_five_tokens_as_no_seconds() {
        assert_eq!(Schedule::parse("*/5 * * * *").unwrap().to_string(), "0,5,10,15,20,25,30,35,40,45,50,55 * * * *");
        assert_eq!(
            Schedule::parse("0 */5 * * * *").unwrap().to_string(),
            "0 0,5,10,15,20,25,30,35,40,45,50,55 * * * *"
        );
        assert!(Schedule::parse("* * * *").unwrap_err().to_string().contains("has 4 field(s)"));
        assert!(Schedule::parse("   ").unwrap_err().is_expression());
    }

    #[test]
    fn timespan_runs_at_multiples_of_the_interval_from_the_epoch() {
        let every_90_minutes = Schedule::parse("01:30:00").unwrap();
        let next = every_90_minutes.next_after(ts("2026-01-01T00:00:00Z"), &TimeZone::UTC).unwrap();
        assert_eq!(next.timestamp(), ts("2026-01-01T01:30:00Z"));
        let all: Vec<_> = every_90_minutes
            .occurrences(ts("2026-01-01T00:00:00Z"), ts("2026-01-01T06:00:00Z"), &TimeZone::UTC)
            .collect();
        assert_eq!(all.len(), 4);
        assert_eq!(
            every_90_minutes.describe(),
            "every 1 hour 30 minutes (TimeSpan), counted from 1970-01-01T00:00:00Z"
        );
        assert!(!every_90_minutes.is_fixed_time());
    }

    #[test]
    fn strictly_after_a_fraction_of_a_second() {
        let every_second = Schedule::parse("* * * * * *").unwrap();
        let next = every_second.next_after(ts("2026-01-01T00:00:00.5Z"), &TimeZone::UTC).unwrap();
        assert_eq!(next.timestamp(), ts("2026-01-01T00:00:01Z"));
        let before_epoch = every_second.next_after(ts("1969-12-31T23:59:59.5Z"), &TimeZone::UTC).unwrap();
        assert_eq!(before_epoch.timestamp(), ts("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn the_ends_of_time_give_none_or_a_value_never_a_panic() {
        let berlin = crate::Zone::parse("Europe/Berlin").unwrap();
        for expr in ["* * * * * *", "0 30 2 * * *", "0 0 29 Feb Mon", "3650000.00:00:00", "00:00:01"] {
            let schedule = Schedule::parse(expr).unwrap();
            for tz in [&TimeZone::UTC, berlin.time_zone()] {
                assert_eq!(schedule.next_after(Timestamp::MAX, tz), None, "{expr}");
                let near_end = Timestamp::MAX - jiff::SignedDuration::from_hours(3);
                let _ = schedule.occurrences(near_end, Timestamp::MAX, tz).count();
                let _ = schedule.next_after(Timestamp::MIN, tz);
            }
        }
        let first = Schedule::parse("0 0 0 1 1 *").unwrap().next_after(Timestamp::MIN, &TimeZone::UTC).unwrap();
        assert_eq!(first.year(), -9998);
    }
}
