//! The one public error of the crate: opaque, with a private kind and a few predicates. Messages are lowercase,
//! name the input (field and token, zone, setting) and say what was expected and what was found.

use std::fmt;

/// A field of an NCRONTAB expression, in the order the 6-field form writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Seconds, 0-59 (only in the 6-field form).
    Second,
    /// Minutes, 0-59.
    Minute,
    /// Hours, 0-23.
    Hour,
    /// Day of the month, 1-31.
    Day,
    /// Month, 1-12 or a name (`Jan`, `J`, `June`...).
    Month,
    /// Day of the week, 0-6 (0 = Sunday) or a name (`Mon`, `T`...).
    DayOfWeek,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Second => "second",
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::Day => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        })
    }
}

/// Why a schedule, a zone name or an app-setting reference was refused.
///
/// Its `Display` is one lowercase line naming the input: `day-of-week: 7 is out of range 0-6 (0 = Sunday)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    kind: Box<ErrorKind>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind: Box::new(kind) }
    }

    /// The field of the NCRONTAB expression at fault, if the error is about one field.
    pub fn field(&self) -> Option<Field> {
        match &*self.kind {
            ErrorKind::Field { field, .. } => Some(*field),
            _ => None,
        }
    }

    /// True when the schedule expression itself (cron or TimeSpan) is malformed.
    pub fn is_expression(&self) -> bool {
        matches!(
            &*self.kind,
            ErrorKind::Empty | ErrorKind::FieldCount { .. } | ErrorKind::Field { .. } | ErrorKind::TimeSpan { .. }
        )
    }

    /// True when a time-zone name is unknown.
    pub fn is_unknown_zone(&self) -> bool {
        matches!(&*self.kind, ErrorKind::UnknownZone { .. })
    }

    /// True when a `%NAME%` app-setting reference could not be resolved.
    pub fn is_app_setting(&self) -> bool {
        matches!(&*self.kind, ErrorKind::MissingSetting { .. } | ErrorKind::UnmatchedPercent { .. })
    }

    /// For an unknown zone, the closest known names (best first); empty otherwise.
    pub fn suggestions(&self) -> &[String] {
        match &*self.kind {
            ErrorKind::UnknownZone { suggestions, .. } => suggestions,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ErrorKind {
    #[error(
        "schedule expression is empty: expected an NCRONTAB expression of 5 or 6 fields or a TimeSpan such as 01:00:00"
    )]
    Empty,
    #[error("schedule {expr:?} has {found} field(s): expected {expected}")]
    FieldCount { expr: String, expected: &'static str, found: usize },
    #[error("{field}: {token}{} {problem}", context.as_ref().map(|c| format!(" in {c:?}")).unwrap_or_default())]
    Field { field: Field, token: Token, context: Option<String>, problem: FieldProblem },
    #[error("timespan {text:?}: {problem}")]
    TimeSpan { text: String, problem: String },
    #[error(
        "unknown time zone {name:?}: expected an IANA name (Europe/Berlin) or a Windows name (W. Europe Standard Time){}",
        closest(suggestions)
    )]
    UnknownZone { name: String, suggestions: Vec<String> },
    #[error("app setting {name:?}, referenced as %{name}% in {expr:?}, is not set")]
    MissingSetting { name: String, expr: String },
    #[error("schedule {expr:?} has an unmatched '%' at byte {at}: expected an app setting written %NAME%")]
    UnmatchedPercent { expr: String, at: usize },
}

fn closest(suggestions: &[String]) -> String {
    if suggestions.is_empty() { String::new() } else { format!("; closest: {}", suggestions.join(", ")) }
}

/// The part of a field an error points at: a number is shown bare, anything else quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token(pub String);

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.is_empty() && self.0.bytes().all(|b| b.is_ascii_digit()) {
            f.write_str(&self.0)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

/// What is wrong with one token of a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FieldProblem {
    #[error("is out of range {min}-{max}{hint}")]
    OutOfRange { min: u8, max: u8, hint: &'static str },
    #[error("is not a number{names}")]
    NotANumber { names: &'static str },
    #[error("is not a step: expected a number after '/'")]
    BadStep,
    #[error("is empty: expected a value, a range a-b, * or a step /n between the commas")]
    EmptyItem,
    #[error("is malformed: expected a value, a range a-b or *, optionally followed by a step /n")]
    Malformed,
}
