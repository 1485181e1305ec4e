//! Holiday calendars: the dates on which a rule does not act. Read from an iCalendar file (RFC 5545, recurring
//! events included) or from a plain list of dates. Pure: the caller reads the file and passes its text; asking
//! about a date is deterministic.
//!
//! Which dates an event covers, for a rule whose occurrence falls on a local date in the rule's zone:
//! - an all-day event (`DTSTART;VALUE=DATE`) covers its date; with `DTEND` (or `DURATION`) every date in
//!   `[DTSTART, DTEND)`, so a three-day holiday ending on the fourth day covers three dates;
//! - an event at a time in a zone (`Z` or `TZID`) covers every date of the rule's zone that its interval
//!   `[DTSTART, DTEND)` touches (a zero-length event, the date of its instant), so a holiday defined from
//!   00:00 to 24:00 Tokyo time covers one Tokyo date but two dates in Berlin;
//! - a floating event (a date-time without `Z` or `TZID`) is read as wall-clock time in the rule's zone, so it
//!   covers the same dates in every zone.
//!
//! Recurring events: `RRULE` (with `COUNT`, `UNTIL`, `INTERVAL` and the `BY...` parts, expanded by the `rrule`
//! crate; at most daily), `RDATE` (dates and date-times, not periods), `EXDATE`, and `RECURRENCE-ID` overrides
//! (the instance they replace is removed; the override itself counts). Cancelled events (`STATUS:CANCELLED`) count
//! for nothing. Expansion is done for the years asked about, one year at a time, and remembered: an event
//! lasting over a year, or starting more than a year before the date asked about, is not seen.

mod event;
mod ics;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use jiff::Zoned;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

use event::{Cover, Event};

/// A holiday: the event (or listed date) that makes a date one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// The event's `SUMMARY` (`元日`); `None` for a listed date or an event without one.
    pub summary: Option<String>,
}

/// One problem in an iCalendar file: `line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {message}")]
pub struct CalendarError {
    /// The 1-based line of the file (the first line of a folded content line).
    pub line: usize,
    /// What is wrong: names the property, says what was expected and what was found.
    pub message: String,
}

/// A set of holidays. Cheap to clone (shared); safe to ask from several threads.
#[derive(Debug, Clone)]
pub struct Calendar {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    events: Vec<Event>,
    listed: BTreeMap<Date, Holiday>,
    /// The expansion of `events` for each year asked about.
    years: Mutex<HashMap<i16, Arc<Year>>>,
}

/// What the events cover around one year.
#[derive(Debug, Default)]
struct Year {
    /// All-day and floating events.
    dates: BTreeMap<Date, Holiday>,
    /// Zoned events: `[start, end)` in real time.
    intervals: Vec<(Timestamp, Timestamp, Holiday)>,
}

impl Calendar {
    /// Reads the text of an iCalendar file. Every problem is returned, in line order.
    ///
    /// ```
    /// use autostop_schedule::Calendar;
    ///
    /// let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=YEARLY\r\n\
    ///            SUMMARY:New Year\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    /// let calendar = Calendar::from_ics(ics).unwrap();
    /// let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    /// let holiday = calendar.holiday_on(jiff::civil::date(2031, 1, 1), &tokyo).unwrap();
    /// assert_eq!(holiday.summary.as_deref(), Some("New Year"));
    /// assert!(calendar.holiday_on(jiff::civil::date(2031, 1, 2), &tokyo).is_none());
    /// ```
    pub fn from_ics(text: &str) -> Result<Calendar, Vec<CalendarError>> {
        let mut events = ics::parse(text)?;
        // An override replaces the instance of the recurring event with the same UID that it names.
        let overrides: Vec<(String, event::Start)> =
            events.iter().filter_map(|event| Some((event.uid.clone()?, event.recurrence_id.clone()?))).collect();
        for event in events.iter_mut().filter(|event| event.recurrence_id.is_none()) {
            let replaced = overrides.iter().filter(|(uid, _)| event.uid.as_ref() == Some(uid));
            event.exdates.extend(replaced.map(|(_, start)| start.clone()));
        }
        Ok(Calendar::new(events, BTreeMap::new()))
    }

    /// A calendar of listed dates, without names.
    pub fn from_dates(dates: impl IntoIterator<Item = Date>) -> Calendar {
        let listed = dates.into_iter().map(|date| (date, Holiday { summary: None })).collect();
        Calendar::new(Vec::new(), listed)
    }

    fn new(events: Vec<Event>, listed: BTreeMap<Date, Holiday>) -> Calendar {
        Calendar { inner: Arc::new(Inner { events, listed, years: Mutex::new(HashMap::new()) }) }
    }

    /// How many events (or listed dates) the calendar holds, recurring events counted once.
    pub fn len(&self) -> usize {
        self.inner.events.len() + self.inner.listed.len()
    }

    /// Whether the calendar holds no event and no date.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The holiday on local date `date` of zone `zone`, if any (the first event of the file on a tie).
    pub fn holiday_on(&self, date: Date, zone: &TimeZone) -> Option<Holiday> {
        if let Some(holiday) = self.inner.listed.get(&date) {
            return Some(holiday.clone());
        }
        if self.inner.events.is_empty() {
            return None;
        }
        let year = self.year(date.year());
        if let Some(holiday) = year.dates.get(&date) {
            return Some(holiday.clone());
        }
        let day_start = date.to_zoned(zone.clone()).ok()?.timestamp();
        let day_end = date.tomorrow().ok()?.to_zoned(zone.clone()).ok()?.timestamp();
        year.intervals
            .iter()
            .find(|(start, end, _)| *start < day_end && (*end > day_start || (*start == *end && *start >= day_start)))
            .map(|(_, _, holiday)| holiday.clone())
    }

    /// The holiday on the local date of `occurrence`, in the occurrence's own zone.
    pub fn holiday_at(&self, occurrence: &Zoned) -> Option<Holiday> {
        self.holiday_on(occurrence.date(), occurrence.time_zone())
    }

    /// The expansion for the dates of `year`: instances starting from the year before to the first days of the
    /// year after (a zoned instance early on 1 January may still touch 31 December in a zone further west).
    fn year(&self, year: i16) -> Arc<Year> {
        let mut years = self.inner.years.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(expanded) = years.get(&year) {
            return Arc::clone(expanded);
        }
        let from = DateTime::new(year.saturating_sub(1).max(-9999), 1, 1, 0, 0, 0, 0).unwrap_or(DateTime::MIN);
        let to = DateTime::new(year.saturating_add(1).min(9999), 1, 3, 0, 0, 0, 0).unwrap_or(DateTime::MAX);
        let mut expanded = Year::default();
        for event in &self.inner.events {
            let holiday = Holiday { summary: event.summary.clone() };
            for cover in event.instances(from, to) {
                match cover {
                    Cover::Dates(dates) => {
                        for date in dates {
                            expanded.dates.entry(date).or_insert_with(|| holiday.clone());
                        }
                    }
                    Cover::Interval(start, end) => expanded.intervals.push((start, end, holiday.clone())),
                }
            }
        }
        let expanded = Arc::new(expanded);
        years.insert(year, Arc::clone(&expanded));
        expanded
    }
}
