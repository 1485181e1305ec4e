//! Durations as users write them, in the config and on the command line: `2h`, `90m`, `500ms`, `1h30m`,
//! `1d 12h`, `PT2H`. The one parser every config value and command-line option goes through.
//!
//! Pure. Built on jiff's friendly format ([`jiff::fmt::friendly`]) and ISO 8601, both read by [`Span`]'s
//! `FromStr`. Days and weeks count as 24 hours and 7 days (a catch-up limit or a poll interval is an amount of
//! elapsed time); months and years are refused, their length depends on a date.

use jiff::{SignedDuration, Span, SpanRelativeTo};

/// The examples every error shows, so a user sees the accepted shapes.
const EXAMPLES: &str = "such as \"2h\", \"90m\", \"500ms\", \"1h30m\" or \"1d 12h\"";

/// Why a duration could not be read; each variant carries the text as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a duration at all.
    #[error("expected a duration {EXAMPLES}, found {text:?}")]
    Malformed {
        /// The text as given.
        text: String,
    },
    /// The duration uses months or years, whose length depends on a date.
    #[error(
        "expected a duration in weeks, days, hours, minutes, seconds or smaller units, found {text:?} (months and years vary in length)"
    )]
    CalendarUnits {
        /// The text as given.
        text: String,
    },
    /// The duration is negative.
    #[error("expected a duration of zero or more, found {text:?}")]
    Negative {
        /// The text as given.
        text: String,
    },
    /// The duration is zero where only a positive one makes sense (a poll interval).
    #[error("expected a duration above zero, found {text:?}")]
    Zero {
        /// The text as given.
        text: String,
    },
}

/// Parses a duration of zero or more in jiff's friendly format (`2h`, `500ms`, `1h30m`, `1d 12h`,
/// `90 minutes`) or ISO 8601 (`PT2H`).
pub fn parse_duration(text: &str) -> Result<SignedDuration, DurationError> {
    let trimmed = text.trim();
    let duration = match trimmed.parse::<Span>() {
        Ok(span) => span
            .to_duration(SpanRelativeTo::days_are_24_hours())
            .map_err(|_| DurationError::CalendarUnits { text: text.to_owned() })?,
        // A span holds less than a `SignedDuration` (about 20,000 years), which reads larger amounts of hours,
        // minutes and seconds.
        Err(_) => trimmed.parse::<SignedDuration>().map_err(|_| DurationError::Malformed { text: text.to_owned() })?,
    };
    if duration.is_negative() {
        return Err(DurationError::Negative { text: text.to_owned() });
    }
    Ok(duration)
}

/// [`parse_duration`] as a [`std::time::Duration`]: the value parser of command-line options that accept zero
/// (`#[arg(value_parser = duration::duration_arg)]`).
pub fn duration_arg(text: &str) -> Result<std::time::Duration, DurationError> {
    let duration = parse_duration(text)?;
    // Never fails: parse_duration refuses negative durations.
    std::time::Duration::try_from(duration).map_err(|_| DurationError::Negative { text: text.to_owned() })
}

/// [`duration_arg`] refusing zero: the value parser of intervals and periods that must elapse.
pub fn positive_duration_arg(text: &str) -> Result<std::time::Duration, DurationError> {
    let duration = duration_arg(text)?;
    if duration.is_zero() {
        return Err(DurationError::Zero { text: text.to_owned() });
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn friendly_and_iso_durations_parse() {
        let cases = [
            ("2h", 2 * 3600),
            ("30m", 30 * 60),
            ("90m", 90 * 60),
            ("1h30m", 90 * 60),
            ("1h 30m", 90 * 60),
            ("1m 30s", 90),
            ("1d 12h", 36 * 3600),
            ("24h", 24 * 3600),
            ("1w", 7 * 24 * 3600),
            ("PT2H", 2 * 3600),
            ("0s", 0),
            ("30 minutes", 1800),
            (" 2h ", 2 * 3600),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_duration(text), Ok(SignedDuration::from_secs(seconds)), "{text}");
        }
    }

    #[test]
    fn sub_second_durations_parse() {
        assert_eq!(duration_arg("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration_arg("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration_arg("250us"), Ok(Duration::from_micros(250)));
    }

    /// Everything the former per-verb parsers (built on `SignedDuration`'s `FromStr`) accepted still parses, to
    /// the same value.
    #[test]
    fn accepts_what_signed_duration_accepts() {
        let texts = ["2s", "500ms", "1m 30s", "60s", "2m", "5s", "1h30m", "PT1.5S", "1:30:00", "2 hours 5 minutes"];
        // Beyond what a span holds in one unit.
        assert!("2000000000000h".parse::<Span>().is_err(), "the fallback is exercised");
        for text in texts.into_iter().chain(["2000000000000h", "99999999999999s"]) {
            let expected: SignedDuration = text.parse().expect(text);
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_what_was_expected() {
        assert!(matches!(parse_duration("soon"), Err(DurationError::Malformed { .. })));
        assert!(matches!(parse_duration(""), Err(DurationError::Malformed { .. })));
        assert!(matches!(parse_duration("1mo"), Err(DurationError::CalendarUnits { .. })));
        assert!(matches!(parse_duration("-2h"), Err(DurationError::Negative { .. })));
        assert!(matches!(parse_duration("2h ago"), Err(DurationError::Negative { .. })));
        assert_eq!(
            parse_duration("2 fortnights").unwrap_err().to_string(),
            "expected a duration such as \"2h\", \"90m\", \"500ms\", \"1h30m\" or \"1d 12h\", found \"2 fortnights\""
        );
        assert_eq!(duration_arg("-2s").unwrap_err().to_string(), "expected a duration of zero or more, found \"-2s\"");
    }

    #[test]
    fn zero_is_refused_only_where_a_positive_duration_is_needed() {
        assert_eq!(duration_arg("0s"), Ok(Duration::ZERO));
        assert_eq!(positive_duration_arg("0s"), Err(DurationError::Zero { text: "0s".to_owned() }));
        assert_eq!(
            positive_duration_arg("0s").unwrap_err().to_string(),
            "expected a duration above zero, found \"0s\""
        );
        assert_eq!(positive_duration_arg("5s"), Ok(Duration::from_secs(5)));
        assert!(matches!(positive_duration_arg("soon"), Err(DurationError::Malformed { .. })));
    }
}
