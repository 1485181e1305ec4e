//! Daylight saving as the Azure Functions host does it, around both changes in America/Los_Angeles and
//! Europe/Berlin (2026), for fixed-time and interval schedules.

use autostop_schedule::{Schedule, Zone};
use jiff::Timestamp;

/// The occurrences in `(from, until]` as local times with offsets (`2026-03-29T03:30:00+02:00`).
fn run(expr: &str, zone: &str, from: &str, until: &str) -> Vec<String> {
    let schedule = Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let zone = Zone::parse(zone).unwrap_or_else(|e| panic!("{zone}: {e}"));
    let from: Timestamp = from.parse().expect("an RFC 3339 instant");
    let until: Timestamp = until.parse().expect("an RFC 3339 instant");
    schedule
        .occurrences(from, until, zone.time_zone())
        .map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .collect()
}

#[test]
fn berlin_spring_forward_fixed_time_in_the_gap_runs_an_hour_later() {
    assert_eq!(
        run("0 30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "2026-03-30T12:00:00Z"),
        ["2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]
    );
}

#[test]
fn berlin_spring_forward_gap_time_and_its_shifted_twin_fire_once() {
    assert_eq!(
        run("0 30 2,3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
        ["2026-03-29T03:30:00+02:00"]
    );
}

#[test]
fn berlin_spring_forward_counted_from_just_after_the_change() {
    // 03:10 CEST: the 02:30 run (shifted to 03:30) is still ahead.
    assert_eq!(
        run("0 30 2 * * *", "W. Europe Standard Time", "2026-03-29T03:10:00+02:00", "2026-03-29T23:00:00+02:00"),
        ["2026-03-29T03:30:00+02:00"]
    );
}

#[test]
fn berlin_spring_forward_interval_skips_the_missing_hour() {
    assert_eq!(
        run("0 */30 * * * *", "Europe/Berlin", "2026-03-29T01:00:00+01:00", "2026-03-29T04:00:00+02:00"),
        [
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
            "2026-03-29T04:00:00+02:00"
        ]
    );
}

#[test]
fn berlin_fall_back_fixed_time_runs_once_at_the_first_instant() {
    assert_eq!(
        run("0 30 2 * * *", "Europe/Berlin", "2026-10-23T12:00:00Z", "2026-10-26T12:00:00Z"),
        ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
    );
}

#[test]
fn berlin_fall_back_fixed_time_counted_from_the_second_copy_waits_a_day() {
    assert_eq!(
        run("0 45 2 * * *", "Europe/Berlin", "2026-10-25T02:40:00+01:00", "2026-10-26T12:00:00Z"),
        ["2026-10-26T02:45:00+01:00"]
    );
}

#[test]
fn berlin_fall_back_interval_runs_through_both_copies() {
    assert_eq!(
        run("0 */30 * * * *", "Europe/Berlin", "2026-10-25T01:00:00+02:00", "2026-10-25T03:30:00+01:00"),
        [
            "2026-10-25T01:30:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25T03:00:00+01:00",
            "2026-10-25T03:30:00+01:00",
        ]
    );
}

#[test]
fn los_angeles_spring_forward() {
    assert_eq!(
        run("30 2 * * *", "America/Los_Angeles", "2026-03-06T12:00:00Z", "2026-03-08T12:00:00Z"),
        ["2026-03-07T02:30:00-08:00", "2026-03-08T03:30:00-07:00"]
    );
    assert_eq!(
        run("0 0 * * * *", "Pacific Standard Time", "2026-03-08T00:30:00-08:00", "2026-03-08T04:00:00-07:00"),
        ["2026-03-08T01:00:00-08:00", "2026-03-08T03:00:00-07:00", "2026-03-08T04:00:00-07:00"]
    );
}

#[test]
fn los_angeles_fall_back() {
    assert_eq!(
        run("30 1 * * *", "America/Los_Angeles", "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"),
        ["2026-11-01T01:30:00-07:00", "2026-11-02T01:30:00-08:00"]
    );
    assert_eq!(
        run("0 */20 * * * *", "America/Los_Angeles", "2026-11-01T00:50:00-07:00", "2026-11-01T02:00:00-08:00"),
        [
            "2026-11-01T01:00:00-07:00",
            "2026-11-01T01:20:00-07:00",
            "2026-11-01T01:40:00-07:00",
            "2026-11-01T01:00:00-08:00",
            "2026-11-01T01:20:00-08:00",
            "2026-11-01T01:40:00-08:00",
            "2026-11-01T02:00:00-08:00",
        ]
    );
}

#[test]
fn tokyo_has_no_daylight_saving() {
    assert_eq!(
        run("0 0 9 * * 1-5", "Tokyo Standard Time", "2026-01-01T00:00:00Z", "2026-01-06T00:00:00Z"),
        // The window is (from, until]: 09:00 on the 1st is `from` itself, 09:00 on the 6th is `until`.
        ["2026-01-02T09:00:00+09:00", "2026-01-05T09:00:00+09:00", "2026-01-06T09:00:00+09:00"]
    );
}
