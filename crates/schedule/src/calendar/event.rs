//! One `VEVENT` and its instances: `DTSTART`, its recurrence rules (expanded by the `rrule` crate), `RDATE`s and
//! `EXDATE`s. Pure.
//!
//! Recurrence rules are expanded on wall-clock (civil) times, as RFC 5545 §3.3.10 defines them: the `rrule`
//! crate is handed the `DTSTART` wall-clock time labelled UTC, so that no second time-zone database (chrono-tz)
//! decides anything; each instance is then read in the event's own zone by jiff. `UNTIL` given in UTC is turned
//! into the event zone's wall-clock time first.

use chrono::{NaiveDate, TimeZone as _};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use rrule::{Frequency, RRule, RRuleSet, Tz, Unvalidated};

/// The most instances of one event that one expansion reads; past that, the rest of the range is ignored.
const MAX_INSTANCES: usize = 100_000;

/// When an instance starts: a whole date, a floating wall-clock time (read in the zone of whoever asks), or a
/// wall-clock time in a zone (UTC included).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Start {
    /// `VALUE=DATE`: an all-day event.
    Date(Date),
    /// A date-time without `Z` or `TZID`.
    Floating(DateTime),
    /// A date-time in UTC (`Z`) or in a `TZID` zone.
    Zoned(DateTime, TimeZone),
}

impl Start {
    /// `dates` or `date-times`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Start::Date(_) => "dates",
            Start::Floating(_) | Start::Zoned(..) => "date-times",
        }
    }

    /// The wall-clock time it starts at (midnight for a date).
    fn civil(&self) -> DateTime {
        match self {
            Start::Date(date) => date.to_datetime(Time::midnight()),
            Start::Floating(civil) | Start::Zoned(civil, _) => *civil,
        }
    }

    /// The same kind of start at another wall-clock time (an instance of a recurring event).
    fn at(&self, civil: DateTime) -> Start {
        match self {
            Start::Date(_) => Start::Date(civil.date()),
            Start::Floating(_) => Start::Floating(civil),
            Start::Zoned(_, zone) => Start::Zoned(civil, zone.clone()),
        }
    }

    /// Whether two starts denote the same instance: same instant for zoned times, same wall-clock time otherwise.
    fn same(&self, other: &Start) -> bool {
        match (self, other) {
            (Start::Zoned(a, za), Start::Zoned(b, zb)) => instant(*a, za) == instant(*b, zb),
            (a, b) => a.kind() == b.kind() && a.civil() == b.civil(),
        }
    }

    /// How long from `start` to `self` (a `DTEND`); refused when not after it.
    pub fn since(&self, start: &Start) -> Result<Span, String> {
        let length = match (start, self) {
            (Start::Date(from), Start::Date(to)) => Span::new().days(i64::from((*to - *from).get_days())),
            (Start::Zoned(from, zone_from), Start::Zoned(to, zone_to)) => {
                let from = instant(*from, zone_from).ok_or("DTSTART is out of range")?;
                let to = instant(*to, zone_to).ok_or("out of range")?;
                Span::new().seconds(to.as_second() - from.as_second())
            }
            (Start::Floating(from), Start::Floating(to)) => Span::new().seconds(to.duration_since(*from).as_secs()),
            _ => return Err(format!("expected {} like DTSTART", start.kind())),
        };
        if length.signum() < 0 {
            return Err("expected an end after DTSTART".to_owned());
        }
        Ok(length)
    }
}

/// One `RRULE`, validated against its event's `DTSTART`.
#[derive(Debug, Clone)]
pub(super) struct Recurrence {
    set: RRuleSet,
}

impl Recurrence {
    /// Parses `text` (the value of an `RRULE`) for an event starting at `start`.
    pub fn new(text: &str, start: &Start) -> Result<Recurrence, String> {
        let mut rule: RRule<Unvalidated> = text.parse().map_err(|err: rrule::RRuleError| err.to_string())?;
        if matches!(rule.get_freq(), Frequency::Hourly | Frequency::Minutely | Frequency::Secondly) {
            return Err(format!(
                "FREQ={}: expected a holiday that recurs at most daily (DAILY, WEEKLY, MONTHLY or YEARLY)",
                rule.get_freq()
            ));
        }
        if let Some(until) = until_part(text) {
            rule = rule.until(labelled(until_civil(until, start)?));
        }
        let set = rule.build(labelled(start.civil())).map_err(|err| err.to_string())?;
        Ok(Recurrence { set })
    }

    /// The wall-clock starts of its instances in `[from, to)`.
    fn starts(&self, from: DateTime, to: DateTime) -> impl Iterator<Item = DateTime> + '_ {
        let (from, to) = (labelled(from), labelled(to));
        (&self.set)
            .into_iter()
            .take(MAX_INSTANCES)
            .take_while(move |instance| *instance < to)
            .filter(move |instance| *instance >= from)
            .map(|instance| unlabelled(instance.naive_utc()))
    }
}

/// The value of the `UNTIL` part of a rule, if any.
fn until_part(text: &str) -> Option<&str> {
    text.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        key.trim().eq_ignore_ascii_case("UNTIL").then_some(value.trim())
    })
}

/// `UNTIL` as a wall-clock time of the event: a UTC time read in the event's zone, a date as its last second.
fn until_civil(until: &str, start: &Start) -> Result<DateTime, String> {
    let bad = || format!("UNTIL: expected a date (20301231) or a UTC date-time (20301231T000000Z), found {until:?}");
    if until.len() == 8 {
        let date = Date::strptime("%Y%m%d", until).map_err(|_| bad())?;
        return Ok(date.to_datetime(Time::constant(23, 59, 59, 0)));
    }
    let (civil, utc) = match until.strip_suffix(['Z', 'z']) {
        Some(civil) => (civil, true),
        None => (until, false),
    };
    let civil = DateTime::strptime("%Y%m%dT%H%M%S", civil).map_err(|_| bad())?;
    match start {
        Start::Zoned(_, zone) if utc => {
            let instant = civil.to_zoned(TimeZone::UTC).map_err(|_| bad())?.timestamp();
            Ok(instant.to_zoned(zone.clone()).datetime())
        }
        _ => Ok(civil),
    }
}

/// A wall-clock time labelled UTC, the frame the `rrule` crate computes in.
fn labelled(civil: DateTime) -> chrono::DateTime<Tz> {
    let naive = NaiveDate::from_ymd_opt(i32::from(civil.year()), civil.month() as u32, civil.day() as u32)
        .and_then(|date| date.and_hms_opt(civil.hour() as u32, civil.minute() as u32, civil.second() as u32))
        .unwrap_or_default();
    Tz::UTC.from_utc_datetime(&naive)
}

/// The wall-clock time back from the `rrule` crate's frame.
fn unlabelled(naive: chrono::NaiveDateTime) -> DateTime {
    use chrono::{Datelike as _, Timelike as _};
    DateTime::new(
        naive.year() as i16,
        naive.month() as i8,
        naive.day() as i8,
        naive.hour() as i8,
        naive.minute() as i8,
        naive.second() as i8,
        0,
    )
    .unwrap_or(DateTime::MAX)
}

/// The instant a zoned start denotes (jiff's "compatible" reading of a gap or a fold, as RFC 5545 §3.3.5 asks).
fn instant(civil: DateTime, zone: &TimeZone) -> Option<Timestamp> {
    civil.to_zoned(zone.clone()).ok().map(|zoned| zoned.timestamp())
}

/// A `VEVENT`, read and checked.
#[derive(Debug, Clone)]
pub(super) struct Event {
    pub start: Start,
    /// `DTEND - DTSTART` or `DURATION` (one day for a date without either, nothing for a date-time).
    pub length: Span,
    pub summary: Option<String>,
    pub uid: Option<String>,
    pub recurrences: Vec<Recurrence>,
    pub exdates: Vec<Start>,
    pub rdates: Vec<Start>,
    /// Set on an event that replaces one instance of the recurring event with the same `UID`.
    pub recurrence_id: Option<Start>,
    /// `STATUS:CANCELLED`: covers nothing (a cancelled override still removes the instance it replaces).
    pub cancelled: bool,
}

/// What one instance covers.
pub(super) enum Cover {
    /// Wall-clock dates (all-day and floating events: the same dates in every zone).
    Dates(Vec<Date>),
    /// An interval of real time `[start, end)` (zoned events); its dates depend on the zone of whoever asks.
    Interval(Timestamp, Timestamp),
}

impl Event {
    /// The instances whose wall-clock start lies in `[from, to)`, without those `EXDATE` removes, with what each
    /// covers.
    pub fn instances(&self, from: DateTime, to: DateTime) -> Vec<Cover> {
        if self.cancelled {
            return Vec::new();
        }
        let mut starts: Vec<Start> = Vec::new();
        let mut push = |start: Start| {
            if !starts.iter().any(|seen| seen.same(&start)) {
                starts.push(start);
            }
        };
        // DTSTART is always the first instance (RFC 5545 §3.8.5.3), whether or not the rule matches it.
        let first = self.start.civil();
        if from <= first && first < to {
            push(self.start.clone());
        }
        for recurrence in &self.recurrences {
            recurrence.starts(from, to).for_each(|civil| push(self.start.at(civil)));
        }
        for rdate in &self.rdates {
            if from <= rdate.civil() && rdate.civil() < to {
                push(rdate.clone());
            }
        }
        starts
            .into_iter()
            .filter(|start| !self.exdates.iter().any(|exdate| exdate.same(start)))
            .filter_map(|start| self.cover(&start))
            .collect()
    }

    /// What the instance starting at `start` covers: for wall-clock times, every date from the start's to the
    /// end's (the end itself excluded, so an event ending at midnight does not cover the next day).
    fn cover(&self, start: &Start) -> Option<Cover> {
        match start {
            Start::Date(_) | Start::Floating(_) => {
                let begin = start.civil();
                let end = begin.checked_add(self.length).ok()?;
                let last = if end > begin { end.checked_sub(Span::new().nanoseconds(1)).ok()? } else { begin };
                let dates = std::iter::successors(Some(begin.date()), |date| date.tomorrow().ok())
                    .take_while(|date| *date <= last.date())
                    .collect();
                Some(Cover::Dates(dates))
            }
            Start::Zoned(civil, zone) => {
                let begin = civil.to_zoned(zone.clone()).ok()?;
                let end = begin.checked_add(self.length).ok()?;
                Some(Cover::Interval(begin.timestamp(), end.timestamp()))
            }
        }
    }
}
