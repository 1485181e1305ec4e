//! Reading an iCalendar file (RFC 5545) into [`Event`]s, each property remembered with the line it starts on, so
//! that every problem is reported as `line: message`. Content lines (name, parameters with quoting, value with
//! unescaping) are parsed by the `icalendar` crate; this module unfolds the text, follows `BEGIN`/`END` nesting
//! and gives `VEVENT` properties their meaning. Pure: the caller reads the file.
//!
//! Only `VEVENT`s matter: `VTIMEZONE`, `VTODO`, `VALARM` and the rest are checked for nesting and otherwise
//! ignored. `TZID`s are resolved by name (IANA or Windows, as [`crate::Zone`] reads them), not from the file's
//! `VTIMEZONE` definitions.

use jiff::Span;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

use super::CalendarError;
use super::event::{Event, Recurrence, Start};
use crate::Zone;

/// One unfolded content line and the (1-based) line of the file it starts on.
struct Line {
    number: usize,
    text: String,
}

/// Splits `text` into unfolded content lines: a physical line starting with a space or a tab continues the
/// previous one (RFC 5545 §3.1). Blank lines are skipped.
fn content_lines(text: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for (index, physical) in text.split('\n').enumerate() {
        let physical = physical.strip_suffix('\r').unwrap_or(physical);
        match (physical.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.text.push_str(rest),
            _ if physical.trim().is_empty() => {}
            _ => lines.push(Line { number: index + 1, text: physical.to_owned() }),
        }
    }
    lines
}

/// A `VEVENT`'s properties as read, before they are checked together.
#[derive(Default)]
struct RawEvent {
    line: usize,
    start: Option<(usize, Start)>,
    end: Option<(usize, Start)>,
    duration: Option<(usize, Span)>,
    summary: Option<String>,
    uid: Option<String>,
    rules: Vec<(usize, String)>,
    exdates: Vec<Start>,
    rdates: Vec<Start>,
    recurrence_id: Option<Start>,
    cancelled: bool,
    /// A property was refused (and reported): the event is not checked further.
    refused: bool,
}

/// Reads every `VEVENT` of `text`; all problems are returned, in line order.
pub(super) fn parse(text: &str) -> Result<Vec<Event>, Vec<CalendarError>> {
    let mut errors = Vec::new();
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut raw_events: Vec<RawEvent> = Vec::new();
    let mut current: Option<RawEvent> = None;
    let mut seen_calendar = false;
    for line in content_lines(text) {
        let error = |message: String| CalendarError { line: line.number, message };
        if let Some((keyword, name)) = begin_or_end(&line.text) {
            if keyword == "BEGIN" {
                seen_calendar |= name == "VCALENDAR";
                if name == "VEVENT" && stack.last().is_some_and(|(open, _)| open == "VCALENDAR") {
                    current = Some(RawEvent { line: line.number, ..RawEvent::default() });
                }
                stack.push((name, line.number));
                continue;
            }
            match stack.pop() {
                Some((open, _)) if open == name => {
                    if name == "VEVENT"
                        && stack.last().is_some_and(|(open, _)| open == "VCALENDAR")
                        && let Some(event) = current.take()
                    {
                        raw_events.push(event);
                    }
                }
                Some((open, opened)) => {
                    errors.push(error(format!(
                        "END:{name} does not close BEGIN:{open} (line {opened}): expected END:{open}"
                    )));
                    return Err(errors);
                }
                None => errors.push(error(format!("END:{name} without a matching BEGIN:{name}"))),
            }
            continue;
        }
        let property = match icalendar::parser::Property::try_from(line.text.as_str()) {
            Ok(property) if well_formed(&line.text, property.name.as_str()) => property,
            _ => {
                errors.push(error(format!(
                    "cannot read {:?}: expected a content line NAME[;PARAM=VALUE...]:VALUE",
                    shorten(&line.text)
                )));
                continue;
            }
        };
        if stack.is_empty() {
            errors.push(error(format!(
                "{} outside BEGIN:VCALENDAR ... END:VCALENDAR: expected every property inside a component",
                property.name.as_str()
            )));
            continue;
        }
        let in_event = stack.last().is_some_and(|(open, _)| open == "VEVENT") && current.is_some();
        if let (true, Some(event)) = (in_event, current.as_mut())
            && let Err(message) = event_property(event, &property, line.number)
        {
            event.refused = true;
            errors.push(error(message));
        }
    }
    if let Some((open, line)) = stack.last() {
        errors
            .push(CalendarError { line: *line, message: format!("BEGIN:{open} is never closed: expected END:{open}") });
    }
    if !seen_calendar && errors.is_empty() {
        errors.push(CalendarError { line: 1, message: "no BEGIN:VCALENDAR: expected an iCalendar file".to_owned() });
    }
    let mut events = Vec::new();
    for raw in raw_events.into_iter().filter(|raw| !raw.refused) {
        match finish(raw) {
            Ok(event) => events.push(event),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        errors.sort_by_key(|error| error.line);
        Err(errors)
    }
}

/// `BEGIN:NAME` or `END:NAME` (case-insensitive), as (`BEGIN`|`END`, NAME upper-cased).
fn begin_or_end(text: &str) -> Option<(&'static str, String)> {
    let (key, value) = text.split_once(':')?;
    let keyword = match key.trim().to_ascii_uppercase().as_str() {
        "BEGIN" => "BEGIN",
        "END" => "END",
        _ => return None,
    };
    let name = value.trim().to_ascii_uppercase();
    (!name.is_empty()).then_some((keyword, name))
}

/// The content-line parser also accepts a bare name without `:` or a name followed by junk (reading the rest as
/// nothing); RFC 5545 requires the name to be followed by `;` or `:`, and a `:` somewhere.
fn well_formed(text: &str, name: &str) -> bool {
    let rest = text.trim_start().get(name.len()..).unwrap_or_default();
    !name.is_empty() && (rest.starts_with(';') || rest.starts_with(':')) && text.contains(':')
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    short
}

/// Records one property of a `VEVENT`; unknown properties are ignored.
fn event_property(event: &mut RawEvent, property: &icalendar::parser::Property<'_>, line: usize) -> Result<(), String> {
    let name = property.name.as_str().to_ascii_uppercase();
    let value = property.val.as_str().trim();
    let param = |key: &str| {
        property
            .params
            .iter()
            .find(|param| param.key.as_str().eq_ignore_ascii_case(key))
            .and_then(|param| param.val.as_ref().map(|val| val.as_str().trim_matches('"').to_owned()))
    };
    let value_type = param("VALUE").map(|value| value.to_ascii_uppercase());
    let tzid = param("TZID");
    let one = |text: &str| start(text, value_type.as_deref(), tzid.as_deref()).map_err(|err| format!("{name}: {err}"));
    let many = |text: &str| text.split(',').map(one).collect::<Result<Vec<_>, _>>();
    match name.as_str() {
        "DTSTART" => event.start = Some((line, one(value)?)),
        "DTEND" => event.end = Some((line, one(value)?)),
        "DURATION" => {
            let span = value
                .parse::<Span>()
                .map_err(|_| format!("DURATION: expected an ISO 8601 duration such as P1D or PT2H, found {value:?}"))?;
            event.duration = Some((line, span));
        }
        "SUMMARY" => event.summary = Some(value.to_owned()),
        "UID" => event.uid = Some(value.to_owned()),
        "STATUS" => event.cancelled = value.eq_ignore_ascii_case("CANCELLED"),
        "RRULE" => event.rules.push((line, value.to_owned())),
        "EXDATE" => event.exdates.extend(many(value)?),
        "RDATE" if value_type.as_deref() == Some("PERIOD") => {
            return Err("RDATE;VALUE=PERIOD: expected dates or date-times; periods are not supported".to_owned());
        }
        "RDATE" => event.rdates.extend(many(value)?),
        "RECURRENCE-ID" => event.recurrence_id = Some(one(value)?),
        "EXRULE" => return Err("EXRULE: deprecated by RFC 5545 and not supported: use EXDATE".to_owned()),
        _ => {}
    }
    Ok(())
}

/// A `DATE` or `DATE-TIME` value: `20260101`, `20260101T080000` (floating), `20260101T080000Z` (UTC), or with a
/// `TZID` parameter naming an IANA or Windows zone.
fn start(text: &str, value_type: Option<&str>, tzid: Option<&str>) -> Result<Start, String> {
    let text = text.trim();
    if value_type == Some("DATE") || (value_type.is_none() && text.len() == 8) {
        return Date::strptime("%Y%m%d", text)
            .map(Start::Date)
            .map_err(|_| format!("expected a date such as 20260101, found {text:?}"));
    }
    let (civil, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(civil) => (civil, true),
        None => (text, false),
    };
    let civil = DateTime::strptime("%Y%m%dT%H%M%S", civil)
        .map_err(|_| format!("expected a date-time such as 20260101T080000 or 20260101T080000Z, found {text:?}"))?;
    match (utc, tzid) {
        (true, _) => Ok(Start::Zoned(civil, TimeZone::UTC)),
        (false, Some(tzid)) => {
            let zone = Zone::parse(tzid.trim_start_matches('/')).map_err(|err| format!("TZID: {err}"))?;
            Ok(Start::Zoned(civil, zone.time_zone().clone()))
        }
        (false, None) => Ok(Start::Floating(civil)),
    }
}

/// Checks a `VEVENT`'s properties together and builds the [`Event`].
fn finish(raw: RawEvent) -> Result<Event, CalendarError> {
    let error = |line: usize, message: String| CalendarError { line, message };
    let Some((start_line, start)) = raw.start else {
        return Err(error(raw.line, "VEVENT without DTSTART: expected the date the event starts".to_owned()));
    };
    let length = match (raw.end, raw.duration) {
        (Some(_), Some((line, _))) => {
            return Err(error(line, "DURATION and DTEND in one VEVENT: expected one of them".to_owned()));
        }
        (Some((line, end)), None) => end.since(&start).map_err(|message| error(line, format!("DTEND: {message}")))?,
        (None, Some((_, span))) => span,
        // RFC 5545 §3.6.1: a date event without an end lasts one day, a date-time one has no length.
        (None, None) if matches!(start, Start::Date(_)) => Span::new().days(1),
        (None, None) => Span::new(),
    };
    let mut recurrences = Vec::new();
    for (line, rule) in raw.rules {
        recurrences.push(Recurrence::new(&rule, &start).map_err(|message| error(line, format!("RRULE: {message}")))?);
    }
    for date in raw.exdates.iter().chain(&raw.rdates).chain(&raw.recurrence_id) {
        if date.kind() != start.kind() {
            return Err(error(
                start_line,
                format!("EXDATE, RDATE and RECURRENCE-ID must be {} like DTSTART", start.kind()),
            ));
        }
    }
    Ok(Event {
        start,
        length,
        summary: raw.summary,
        uid: raw.uid,
        recurrences,
        exdates: raw.exdates,
        rdates: raw.rdates,
        recurrence_id: raw.recurrence_id,
        cancelled: raw.cancelled,
    })
}
