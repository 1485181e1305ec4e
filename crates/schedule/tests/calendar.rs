//! Holiday calendars: which local dates an iCalendar file covers (recurring events, EXDATE, COUNT/UNTIL,
//! multi-day and zoned events, overrides), across daylight-saving changes, and every bad line reported with its
//! line number. The files are in `tests/data/`.

use autostop_schedule::{Calendar, Schedule, Zone};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;

const EUROPE: &str = include_str!("data/europe.ics");
const JAPAN: &str = include_str!("data/japan.ics");
const BAD: &str = include_str!("data/bad.ics");

fn zone(name: &str) -> TimeZone {
    Zone::parse(name).expect("known zone").time_zone().clone()
}

fn calendar(text: &str) -> Calendar {
    Calendar::from_ics(text).unwrap_or_else(|errors| panic!("test calendar refused: {errors:?}"))
}

/// The dates of `year` that the calendar covers in `zone`, with their summaries.
fn covered(calendar: &Calendar, year: i16, zone: &TimeZone) -> Vec<(Date, Option<String>)> {
    std::iter::successors(Some(date(year, 1, 1)), |day| day.tomorrow().ok())
        .take_while(|day| day.year() == year)
        .filter_map(|day| calendar.holiday_on(day, zone).map(|holiday| (day, holiday.summary)))
        .collect()
}

fn named(dates: &[(Date, &str)]) -> Vec<(Date, Option<String>)> {
    dates.iter().map(|(day, name)| (*day, Some(name.to_string()))).collect()
}

#[test]
fn an_08_00_berlin_rule_skips_the_days_after_both_clock_changes_and_nothing_else() {
    // 2026: clocks go forward on Sunday 29 March and back on Sunday 25 October in Berlin.
    let calendar = calendar(EUROPE);
    let schedule = Schedule::parse("0 0 8 * * *").expect("schedule");
    let berlin = zone("Europe/Berlin");
    let skipped: Vec<String> = schedule
        .occurrences("2026-03-01T00:00:00Z".parse().unwrap(), "2026-12-01T00:00:00Z".parse().unwrap(), &berlin)
        .filter(|occurrence| calendar.holiday_at(occurrence).is_some())
        .map(|occurrence| occurrence.to_string())
        .collect();
    assert_eq!(skipped, ["2026-03-30T08:00:00+02:00[Europe/Berlin]", "2026-10-26T08:00:00+01:00[Europe/Berlin]",]);
}

#[test]
fn yearly_rules_honour_exdate_count_and_multi_day_events() {
    let calendar = calendar(EUROPE);
    let berlin = zone("Europe/Berlin");
    let spring = "Day after the clocks go forward (2026)";
    let autumn = "Day after the clocks go back (2026)";
    let winter = "Winter closure";
    // The cancelled event (1 June) covers nothing; the closure runs from 29 December to 3 January inclusive.
    assert_eq!(
        covered(&calendar, 2026, &berlin),
        named(&[
            (date(2026, 3, 30), spring),
            (date(2026, 10, 26), autumn),
            (date(2026, 12, 29), winter),
            (date(2026, 12, 30), winter),
            (date(2026, 12, 31), winter),
        ])
    );
    // EXDATE removes 2027's spring date; the closure ends on 3 January (DTEND is exclusive).
    assert_eq!(
        covered(&calendar, 2027, &berlin),
        named(&[
            (date(2027, 1, 1), winter),
            (date(2027, 1, 2), winter),
            (date(2027, 1, 3), winter),
            (date(2027, 10, 26), autumn),
        ])
    );
    // COUNT=3: 2026, 2027, 2028 and no more.
    assert_eq!(covered(&calendar, 2028, &berlin), named(&[(date(2028, 3, 30), spring), (date(2028, 10, 26), autumn)]));
    assert_eq!(covered(&calendar, 2029, &berlin), named(&[(date(2029, 3, 30), spring)]));
    // All-day events are the same dates in every zone.
    assert_eq!(covered(&calendar, 2029, &zone("Pacific/Kiritimati")), named(&[(date(2029, 3, 30), spring)]));
}

#[test]
fn until_monthly_rules_overrides_and_zoned_events() {
    let calendar = calendar(JAPAN);
    let tokyo = zone("Asia/Tokyo");
    // RRULE;UNTIL=20281231 stops after 2028; the first-Monday rule has COUNT=4, and its February instance was
    // moved to Tuesday 3 February by a RECURRENCE-ID override (whose summary was folded over two lines); the
    // March one was cancelled by another override.
    assert_eq!(
        covered(&calendar, 2026, &tokyo),
        named(&[
            (date(2026, 1, 1), "元日"),
            (date(2026, 1, 5), "First Monday"),
            (date(2026, 2, 3), "First Monday (moved)"),
            (date(2026, 4, 6), "First Monday"),
            (date(2026, 5, 3), "憲法記念日"),
        ])
    );
    assert_eq!(covered(&calendar, 2028, &tokyo), named(&[(date(2028, 1, 1), "元日")]));
    assert_eq!(covered(&calendar, 2029, &tokyo), named(&[]));
    // The zoned event lasts from 00:00 to 24:00 Tokyo time (Windows zone name in TZID): in Berlin that is
    // 17:00 on 2 May to 17:00 on 3 May, two local dates.
    let berlin = zone("Europe/Berlin");
    let may: Vec<Date> =
        covered(&calendar, 2026, &berlin).into_iter().map(|(day, _)| day).filter(|day| day.month() == 5).collect();
    assert_eq!(may, [date(2026, 5, 2), date(2026, 5, 3)]);
}

#[test]
fn a_rule_in_new_york_at_08_00_sees_a_utc_event_on_its_own_local_date() {
    // An event at 02:00-03:00 UTC is the evening before in New York, both sides of the clock changes.
    let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260309T020000Z\nDTEND:20260309T030000Z\n\
                RRULE:FREQ=YEARLY;BYMONTH=3,11;BYMONTHDAY=2,9\nSUMMARY:late\nEND:VEVENT\nEND:VCALENDAR\n";
    let calendar = calendar(text);
    let new_york = zone("America/New_York");
    let dates: Vec<Date> = covered(&calendar, 2026, &new_york).into_iter().map(|(day, _)| day).collect();
    // 2026-03-08: clocks go forward in New York; 2026-11-01: they go back.
    assert_eq!(dates, [date(2026, 3, 8), date(2026, 11, 1), date(2026, 11, 8)]);
    let utc: Vec<Date> = covered(&calendar, 2026, &TimeZone::UTC).into_iter().map(|(day, _)| day).collect();
    assert_eq!(utc, [date(2026, 3, 9), date(2026, 11, 2), date(2026, 11, 9)]);
}

#[test]
fn a_list_of_dates_is_a_calendar_without_names() {
    let calendar = Calendar::from_dates([date(2026, 12, 24), date(2026, 12, 31)]);
    assert_eq!(calendar.len(), 2);
    let utc = TimeZone::UTC;
    assert_eq!(covered(&calendar, 2026, &utc), [(date(2026, 12, 24), None), (date(2026, 12, 31), None)]);
}

#[test]
fn every_bad_line_is_reported_with_its_line_number() {
    let errors = Calendar::from_ics(BAD).expect_err("refused");
    let lines: Vec<(usize, &str)> = errors.iter().map(|error| (error.line, error.message.as_str())).collect();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_eq!(lines[0].0, 4);
    assert!(lines[0].1.starts_with("DTSTART: expected a date such as 20260101, found \"2026-01-01\""), "{lines:?}");
    assert_eq!(lines[1].0, 9);
    assert!(lines[1].1.starts_with("RRULE: "), "{lines:?}");
    assert!(lines[1].1.contains("13"), "{lines:?}");
    assert_eq!(
        lines[2],
        (11, "cannot read \"this line is not a property\": expected a content line NAME[;PARAM=VALUE...]:VALUE")
    );
    assert_eq!(lines[3].0, 13);
    assert!(lines[3].1.starts_with("DTSTART: TZID: unknown time zone \"Mars/Olympus\""), "{lines:?}");
    assert_eq!(lines[4], (15, "VEVENT without DTSTART: expected the date the event starts"));
    assert_eq!(errors[0].to_string(), format!("4: {}", errors[0].message));
}

#[test]
fn nesting_errors_point_at_the_component() {
    let unclosed = Calendar::from_ics("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T000000Z\nEND:VCALENDAR\n")
        .expect_err("refused");
    assert_eq!(unclosed[0].line, 4);
    assert_eq!(unclosed[0].message, "END:VCALENDAR does not close BEGIN:VEVENT (line 2): expected END:VEVENT");
    let open = Calendar::from_ics("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n").expect_err("refused");
    assert_eq!(
        (open[0].line, open[0].message.as_str()),
        (1, "BEGIN:VCALENDAR is never closed: expected END:VCALENDAR")
    );
    let empty = Calendar::from_ics("").expect_err("refused");
    assert_eq!(empty[0].message, "no BEGIN:VCALENDAR: expected an iCalendar file");
    let hourly = Calendar::from_ics(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T000000Z\nRRULE:FREQ=HOURLY\nEND:VEVENT\nEND:VCALENDAR\n",
    )
    .expect_err("refused");
    assert_eq!(hourly[0].line, 4);
    assert!(hourly[0].message.contains("at most daily"), "{hourly:?}");
}
