//! Durations as users write them in the config and on the command line: `2h`, `90m`, `1d 12h`, `PT2H`.
//!
//! Pure. Days count as 24 hours (a catch-up limit or a preview window is an amount of elapsed time).

use jiff::{SignedDuration, Span, SpanRelativeTo};

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a duration at all.
    #[error("expected a duration such as \"2h\", \"90m\" or \"1d 12h\", found {text:?}")]
    Malformed {
        /// The text as given.
        text: String,
    },
    /// The duration uses months or years, whose length depends on a date.
    #[error(
        "expected a duration in weeks, days, hours, minutes or seconds, found {text:?} (months and years vary in length)"
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
}

/// Parses a non-negative duration in jiff's friendly format (`2h`, `1d 12h`, `90 minutes`) or ISO 8601 (`PT2H`).
pub fn parse_duration(text: &str) -> Result<SignedDuration, DurationError> {
    let span: Span = text.trim().parse().map_err(|_| DurationError::Malformed { text: text.to_owned() })?;
    let duration = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| DurationError::CalendarUnits { text: text.to_owned() })?;
    if duration.is_negative() {
        return Err(DurationError::Negative { text: text.to_owned() });
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_and_iso_durations_parse() {
        let cases = [
            ("2h", 2 * 3600),
            ("90m", 90 * 60),
            ("1d 12h", 36 * 3600),
            ("24h", 24 * 3600),
            ("1w", 7 * 24 * 3600),
            ("PT2H", 2 * 3600),
            ("0s", 0),
            ("30 minutes", 1800),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_duration(text), Ok(SignedDuration::from_secs(seconds)), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_what_was_expected() {
        assert!(matches!(parse_duration("soon"), Err(DurationError::Malformed { .. })));
        assert!(matches!(parse_duration("1mo"), Err(DurationError::CalendarUnits { .. })));
        assert!(matches!(parse_duration("-2h"), Err(DurationError::Negative { .. })));
        let message = parse_duration("2 fortnights").unwrap_err().to_string();
        assert!(message.contains("\"2 fortnights\"") && message.contains("expected"), "{message}");
    }
}
