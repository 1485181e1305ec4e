//! One field of an NCRONTAB expression: its range, its names, and the parser of its comma list into a bit set.
//! Pure. The semantics are NCrontab's: `N/s` runs from N to the field's maximum, a step of 0 is 1, a reversed range
//! is swapped, names match by case-insensitive prefix (`J` = January, `Ju` = June), day-of-week is 0-6.

use crate::error::{Error, ErrorKind, Field, FieldProblem, Token};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

impl Field {
    /// The smallest value the field accepts.
    pub(crate) fn min(self) -> u8 {
        match self {
            Field::Day | Field::Month => 1,
            _ => 0,
        }
    }

    /// The largest value the field accepts.
    pub(crate) fn max(self) -> u8 {
        match self {
            Field::Second | Field::Minute => 59,
            Field::Hour => 23,
            Field::Day => 31,
            Field::Month => 12,
            Field::DayOfWeek => 6,
        }
    }

    /// Every value of the field as a bit set.
    pub(crate) fn full(self) -> u64 {
        let width = u32::from(self.max() - self.min()) + 1;
        ((1u64 << width) - 1) << self.min()
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &MONTHS,
            Field::DayOfWeek => &DAYS,
            _ => &[],
        }
    }

    fn range_hint(self) -> &'static str {
        if self == Field::DayOfWeek { " (0 = Sunday)" } else { "" }
    }

    fn names_hint(self) -> &'static str {
        match self {
            Field::Month => " or a month name (Jan-Dec)",
            Field::DayOfWeek => " or a day name (Sun-Sat)",
            _ => "",
        }
    }
}

/// Parses one field (`1,5-9/2,*/15`, `Mon-Fri`) into a bit set of the values it selects.
pub(crate) fn parse_field(field: Field, text: &str) -> Result<u64, Error> {
    let context = text.contains(',').then(|| text.to_owned());
    let fail = |token: &str, problem: FieldProblem| {
        Error::new(ErrorKind::Field { field, token: Token(token.to_owned()), context: context.clone(), problem })
    };
    let mut set = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(fail(item, FieldProblem::EmptyItem));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step = parse_number(step).ok_or_else(|| fail(step, FieldProblem::BadStep))?;
                (range, Some(step))
            }
            None => (item, None),
        };
        let (low, high) = if range == "*" {
            (field.min(), field.max())
        } else if let Some((a, b)) = range.split_once('-') {
            let a = parse_value(field, a).map_err(|p| fail(a, p))?;
            let b = parse_value(field, b).map_err(|p| fail(b, p))?;
            (a.min(b), a.max(b))
        } else {
            let value = parse_value(field, range).map_err(|p| fail(range, p))?;
            // `N/s` runs from N to the end of the field; a bare `N` is just N.
            (value, if step.is_some() { field.max() } else { value })
        };
        let step = step.unwrap_or(1).max(1);
        let mut value = u64::from(low);
        while value <= u64::from(high) {
            set |= 1 << value;
            value = value.saturating_add(step);
        }
    }
    Ok(set)
}

/// A run of ASCII digits as a number; `None` for anything else, including overflow.
fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_value(field: Field, text: &str) -> Result<u8, FieldProblem> {
    let out_of_range = FieldProblem::OutOfRange { min: field.min(), max: field.max(), hint: field.range_hint() };
    if text.is_empty() {
        return Err(FieldProblem::Malformed);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let value = parse_number(text).ok_or(out_of_range.clone())?;
        return if (u64::from(field.min())..=u64::from(field.max())).contains(&value) {
            Ok(value as u8)
        } else {
            Err(out_of_range)
        };
    }
    let names = field.names();
    if text.bytes().all(|b| b.is_ascii_alphabetic()) && !names.is_empty() {
        let lower = text.to_ascii_lowercase();
        if let Some(index) = names.iter().position(|name| name.starts_with(&lower)) {
            return Ok(index as u8 + field.min());
        }
    }
    if text.contains(['*', '-', '/']) {
        return Err(FieldProblem::Malformed);
    }
    Err(FieldProblem::NotANumber { names: field.names_hint() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(set: u64) -> Vec<u8> {
        (0..64).filter(|v| set & (1 << v) != 0).collect()
    }

    #[test]
    fn ncrontab_forms() {
        assert_eq!(values(parse_field(Field::Minute, "2/5").unwrap()), [2, 7, 12, 17, 22, 27, 32, 37, 42, 47, 52, 57]);
        assert_eq!(values(parse_field(Field::Minute, "10-40/15").unwrap()), [10, 25, 40]);
        assert_eq!(values(parse_field(Field::Hour, "5-2").unwrap()), [2, 3, 4, 5]);
        assert_eq!(values(parse_field(Field::Hour, "*/0").unwrap()), (0..24).collect::<Vec<_>>());
        assert_eq!(values(parse_field(Field::Month, "J").unwrap()), [1]);
        assert_eq!(values(parse_field(Field::Month, "Ju").unwrap()), [6]);
        assert_eq!(values(parse_field(Field::Month, "SEPT-October").unwrap()), [9, 10]);
        assert_eq!(values(parse_field(Field::DayOfWeek, "T").unwrap()), [2]);
        assert_eq!(values(parse_field(Field::DayOfWeek, "Fri,Mon-Tue").unwrap()), [1, 2, 5]);
        assert_eq!(parse_field(Field::Day, "*").unwrap(), Field::Day.full());
    }

    #[test]
    fn errors_name_field_token_and_reason() {
        let message = |field, text| parse_field(field, text).unwrap_err().to_string();
        assert_eq!(message(Field::DayOfWeek, "7"), "day-of-week: 7 is out of range 0-6 (0 = Sunday)");
        assert_eq!(
            message(Field::DayOfWeek, "mon,bad,wed"),
            r#"day-of-week: "bad" in "mon,bad,wed" is not a number or a day name (Sun-Sat)"#
        );
        assert_eq!(message(Field::Minute, "1,2,3,456"), r#"minute: 456 in "1,2,3,456" is out of range 0-59"#);
        assert_eq!(message(Field::Hour, "1/Z"), r#"hour: "Z" is not a step: expected a number after '/'"#);
        assert_eq!(message(Field::Hour, "3-l2"), r#"hour: "l2" is not a number"#);
        assert_eq!(
            message(Field::Day, "1,,2"),
            r#"day-of-month: "" in "1,,2" is empty: expected a value, a range a-b, * or a step /n between the commas"#
        );
        assert_eq!(
            message(Field::Second, "99999999999999999999999"),
            "second: 99999999999999999999999 is out of range 0-59"
        );
        assert_eq!(message(Field::Month, "0"), "month: 0 is out of range 1-12");
    }
}
