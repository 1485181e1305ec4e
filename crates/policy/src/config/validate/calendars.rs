//! `[[calendars]]`: named sets of days (holidays) rules skip, read from an iCalendar file or listed as dates.

use autostop_schedule::Calendar;
use toml::Spanned;

use super::super::NamedCalendar;
use super::super::raw::RawCalendar;
use super::{Collector, Files, UniqueNames};

/// Reads each `[[calendars]]` entry: its name, and its `file` (reporting each bad line of it) or its `dates`.
pub(super) fn calendars(
    raw: Vec<Spanned<RawCalendar>>,
    files: &Files<'_>,
    errors: &mut Collector<'_>,
) -> Vec<NamedCalendar> {
    let mut names = UniqueNames::new("calendars", "calendar");
    let mut calendars = Vec::new();
    for entry in raw {
        let entry_span = entry.span();
        let entry = entry.into_inner();
        let name = entry.name.get_ref().clone();
        let key = format!("calendar {name}");
        if !names.admit(&entry.name, errors) {
            continue;
        }
        let file = entry.file.as_ref().map(|file| std::path::PathBuf::from(file.get_ref()));
        let calendar = match (entry.file, entry.dates) {
            (Some(file), None) => calendar_file(&file, &key, files, errors),
            (None, Some(dates)) => listed_dates(dates, &key, errors),
            (Some(_), Some(_)) | (None, None) => {
                errors.at(
                    &entry_span,
                    format!("{key}: expected either file (an iCalendar file) or dates, not both or neither"),
                );
                None
            }
        };
        if let Some(calendar) = calendar {
            calendars.push(NamedCalendar { name, file, calendar });
        }
    }
    calendars
}

/// Reads and parses an iCalendar `file`, relative to the config's directory.
fn calendar_file(file: &Spanned<String>, key: &str, files: &Files<'_>, errors: &mut Collector<'_>) -> Option<Calendar> {
    let path = files.directory.join(file.get_ref());
    let text = (files.read)(&path)
        .map_err(|err| errors.at(&file.span(), format!("{key}: file: cannot read {}: {err}", path.display())))
        .ok()?;
    Calendar::from_ics(&text)
        .map_err(|problems| {
            for problem in problems {
                errors.in_file(&path, problem.line, problem.message);
            }
        })
        .ok()
}

/// A `dates` list: each `YYYY-MM-DD`.
fn listed_dates(dates: Vec<Spanned<String>>, key: &str, errors: &mut Collector<'_>) -> Option<Calendar> {
    let mut ok = true;
    let mut parsed = Vec::new();
    for date in dates {
        match jiff::civil::Date::strptime("%Y-%m-%d", date.get_ref()) {
            Ok(day) => parsed.push(day),
            Err(_) => {
                ok = false;
                errors.at(
                    &date.span(),
                    format!("{key}: dates: expected a date such as 2026-01-01, found {:?}", date.get_ref()),
                );
            }
        }
    }
    ok.then(|| Calendar::from_dates(parsed))
}
