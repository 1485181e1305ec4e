//! One line of plain English for a schedule ("at 09:30 on Monday through Friday", "every 5 minutes").
//! Pure; the wording is for people, not to be parsed.

use crate::cron::Cron;
use crate::error::Field;

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// The shape of one field's values.
enum Shape {
    /// Every value of the field.
    Full,
    /// `min, min+step, ...` through the end of the field: "every `step` units".
    Every(u8),
    /// Anything else, ascending.
    Values(Vec<u8>),
}

fn shape(field: Field, set: u64) -> Shape {
    if set == field.full() {
        return Shape::Full;
    }
    let values: Vec<u8> = (field.min()..=field.max()).filter(|v| set & (1 << v) != 0).collect();
    if let [first, second, ..] = values[..]
        && first == field.min()
        && values.len() > 2
    {
        let step = second - first;
        let progression = values.windows(2).all(|w| w[1] - w[0] == step);
        if progression && u16::from(*values.last().unwrap_or(&0)) + u16::from(step) > u16::from(field.max()) {
            return Shape::Every(step);
        }
    }
    Shape::Values(values)
}

/// Describes a cron expression in one line.
pub(crate) fn describe(cron: &Cron) -> String {
    let mut text = time_phrase(cron);
    let day = day_phrase(cron);
    if !day.is_empty() {
        text.push(' ');
        text.push_str(&day);
    }
    text
}

fn time_phrase(cron: &Cron) -> String {
    let seconds = shape(Field::Second, cron.set(Field::Second));
    let minutes = shape(Field::Minute, cron.set(Field::Minute));
    let hours = shape(Field::Hour, cron.set(Field::Hour));
    if let (Shape::Values(s), Shape::Values(m), Shape::Values(h)) = (&seconds, &minutes, &hours)
        && let ([s], [m]) = (&s[..], &m[..])
        && h.len() <= 4
    {
        let times: Vec<String> = h.iter().map(|h| clock(*h, *m, *s)).collect();
        return format!("at {}", join(&times));
    }
    let mut parts = Vec::new();
    let seconds_trivial = cron.set(Field::Second) == 1;
    if !seconds_trivial {
        parts.push(match &seconds {
            Shape::Full => "every second".to_owned(),
            Shape::Every(step) => every(*step, "second"),
            Shape::Values(v) => format!("at {}", numbered("second", v)),
        });
        match &minutes {
            Shape::Full => {}
            Shape::Every(step) => parts.push(format!("in every {}", ordinal_unit(*step, "minute"))),
            Shape::Values(v) => parts.push(format!("in {}", numbered("minute", v))),
        }
    } else {
        parts.push(match &minutes {
            Shape::Full => "every minute".to_owned(),
            Shape::Every(step) => every(*step, "minute"),
            Shape::Values(v) => format!("at {}", numbered("minute", v)),
        });
    }
    match &hours {
        Shape::Full if matches!(minutes, Shape::Values(_)) => parts.push("of every hour".to_owned()),
        Shape::Full => {}
        Shape::Every(step) => parts.push(format!("of every {}", ordinal_unit(*step, "hour"))),
        Shape::Values(v) => parts.push(format!("during {}", numbered("hour", v))),
    }
    parts.join(" ")
}

fn day_phrase(cron: &Cron) -> String {
    let mut parts = Vec::new();
    let days = shape(Field::Day, cron.set(Field::Day));
    let weekdays = shape(Field::DayOfWeek, cron.set(Field::DayOfWeek));
    let months = shape(Field::Month, cron.set(Field::Month));
    let weekday_text = match &weekdays {
        Shape::Full => None,
        Shape::Every(step) => Some(format!("every {} from Sunday", ordinal_unit(*step, "day of the week"))),
        Shape::Values(v) => Some(named(v, &DAY_NAMES, 0)),
    };
    match (&days, weekday_text) {
        (Shape::Full, None) => {}
        (Shape::Full, Some(w)) => parts.push(format!("on {w}")),
        (days, w) => {
            let d = match days {
                Shape::Every(step) => format!("on every {} of the month", ordinal_unit(*step, "day")),
                Shape::Values(v) => format!("on {} of the month", numbered("day", v)),
                Shape::Full => String::new(),
            };
            parts.push(match w {
                Some(w) => format!("{d} when it is {w}"),
                None => d,
            });
        }
    }
    match &months {
        Shape::Full => {}
        Shape::Every(step) => parts.push(format!("in every {} from January", ordinal_unit(*step, "month"))),
        Shape::Values(v) => parts.push(format!("in {}", named(v, &MONTH_NAMES, 1))),
    }
    parts.join(" ")
}

/// "every 5 minutes" when the step divides the hour, else "every 7th minute" (the count restarts each hour).
fn every(step: u8, unit: &str) -> String {
    if 60 % step == 0 { format!("every {step} {unit}s") } else { format!("every {}", ordinal_unit(step, unit)) }
}

fn clock(hour: u8, minute: u8, second: u8) -> String {
    if second == 0 { format!("{hour:02}:{minute:02}") } else { format!("{hour:02}:{minute:02}:{second:02}") }
}

/// "2nd hour", "3rd minute", "hour" for a step of 1.
fn ordinal_unit(step: u8, unit: &str) -> String {
    let suffix = match (step % 10, step % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    if step == 1 { unit.to_owned() } else { format!("{step}{suffix} {unit}") }
}

/// "minute 5", "minutes 0 and 30", "hours 9 through 17".
fn numbered(unit: &str, values: &[u8]) -> String {
    let plural = if values.len() == 1 { "" } else { "s" };
    format!("{unit}{plural} {}", join(&runs(values, |v| v.to_string())))
}

/// "Monday through Friday", "January and June".
fn named(values: &[u8], names: &[&str], first: u8) -> String {
    join(&runs(values, |v| names.get(usize::from(v - first)).copied().unwrap_or("?").to_owned()))
}

/// Consecutive values as "a through b" (three or more), others one by one.
fn runs(values: &[u8], show: impl Fn(u8) -> String) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j >= i + 2 {
            out.push(format!("{} through {}", show(values[i]), show(values[j])));
        } else {
            out.extend(values[i..=j].iter().map(|v| show(*v)));
        }
        i = j + 1;
    }
    out
}

/// "a", "a and b", "a, b and c".
fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn says(expr: &str) -> String {
        describe(&Cron::parse(expr, expr.split(' ').filter(|t| !t.is_empty()).count() == 6).unwrap())
    }

    #[test]
    fn plain_english() {
        assert_eq!(says("0 30 9 * * 1-5"), "at 09:30 on Monday through Friday");
        assert_eq!(says("0 */5 * * * *"), "every 5 minutes");
        assert_eq!(says("* * * * *"), "every minute");
        assert_eq!(says("* * * * * *"), "every second");
        assert_eq!(says("*/15 * * * * *"), "every 15 seconds");
        assert_eq!(says("*/7 * * * *"), "every 7th minute");
        assert_eq!(says("0 0 9,17 * * *"), "at 09:00 and 17:00");
        assert_eq!(says("0 0 */2 * * *"), "at minute 0 of every 2nd hour");
        assert_eq!(says("0 0 9-17 * * Mon-Fri"), "at minute 0 during hours 9 through 17 on Monday through Friday");
        assert_eq!(says("0 0 29 Feb Mon"), "at 00:00 on day 29 of the month when it is Monday in February");
        assert_eq!(
            says("10 * * February,April-Jun *"),
            "at minute 10 of every hour in February and April through June"
        );
        assert_eq!(says("5 30 1 1 * *"), "at 01:30:05 on day 1 of the month");
    }
}
