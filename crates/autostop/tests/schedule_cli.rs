//! `autostop schedule next`, run as a user runs it: the built binary, its stdout, stderr and exit status.

use std::process::{Command, Output};

use serde_json::Value;

fn autostop(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_autostop")).args(args).output().expect("the autostop binary runs")
}

fn json(args: &[&str]) -> Value {
    let output = autostop(args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn locals(report: &Value) -> Vec<&str> {
    report["occurrences"].as_array().expect("occurrences").iter().map(|o| o["local"].as_str().expect("local")).collect()
}

#[test]
fn json_in_a_windows_zone_across_spring_forward() {
    let report = json(&[
        "schedule",
        "next",
        "0 30 2 * * *",
        "--tz",
        "W. Europe Standard Time",
        "--from",
        "2026-03-28T12:00:00Z",
        "-n",
        "3",
        "--output",
        "json",
    ]);
    assert_eq!(report["expression"], "0 30 2 * * *");
    assert_eq!(report["timezone"], "Europe/Berlin");
    assert_eq!(report["description"], "at 02:30");
    assert_eq!(
        locals(&report),
        ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]
    );
    assert_eq!(report["occurrences"][0]["utc"], "2026-03-29T01:30:00Z");
}

#[test]
fn from_as_a_local_time_is_read_in_the_zone() {
    let report = json(&[
        "schedule",
        "next",
        "0 */30 * * * *",
        "--tz",
        "Europe/Berlin",
        "--from",
        "2026-03-29T01:00:00",
        "-n",
        "3",
        "--output",
        "json",
    ]);
    assert_eq!(
        locals(&report),
        ["2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]
    );
}

#[test]
fn five_occurrences_by_default_in_utc() {
    let report = json(&["schedule", "next", "*/5 * * * *", "--from", "2026-01-01T00:00:00Z", "--output", "json"]);
    assert_eq!(report["timezone"], "UTC");
    let utc: Vec<&str> = report["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| o["utc"].as_str().expect("utc"))
        .collect();
    assert_eq!(
        utc,
        [
            "2026-01-01T00:05:00Z",
            "2026-01-01T00:10:00Z",
            "2026-01-01T00:15:00Z",
            "2026-01-01T00:20:00Z",
            "2026-01-01T00:25:00Z"
        ]
    );
}

#[test]
fn app_setting_reference_is_read_from_the_environment() {
    let output = Command::new(env!("CARGO_BIN_EXE_autostop"))
        .args(["schedule", "next", "%StopSchedule%", "--from", "2026-01-01T00:00:00Z", "-n", "1", "--output", "json"])
        .env("StopSchedule", "01:30:00")
        .output()
        .expect("the autostop binary runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(report["expression"], "01:30:00");
    assert_eq!(report["occurrences"][0]["utc"], "2026-01-01T01:30:00Z");
}

#[test]
fn human_output_shows_description_local_and_utc() {
    let output = autostop(&[
        "schedule",
        "next",
        "0 9 * * 1-5",
        "--tz",
        "Tokyo Standard Time",
        "--from",
        "2026-01-01T00:00:00Z",
        "-n",
        "2",
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("at 09:00 on Monday through Friday"), "{stdout}");
    assert!(stdout.contains("2026-01-02T09:00:00+09:00  2026-01-02T00:00:00Z"), "{stdout}");
    assert!(stdout.contains("in Asia/Tokyo"), "{stdout}");
}

#[test]
fn invalid_expression_exits_2_naming_field_and_token() {
    let output = autostop(&["schedule", "next", "0 0 7 * * 7"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("day-of-week: 7 is out of range 0-6 (0 = Sunday)"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn unknown_zone_exits_2_with_the_closest_names() {
    let output = autostop(&["schedule", "next", "* * * * *", "--tz", "Europe/Berln"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("closest: Europe/Berlin"), "{stderr}");
}

#[test]
fn malformed_from_exits_2() {
    let output = autostop(&["schedule", "next", "* * * * *", "--from", "tomorrow"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--from \"tomorrow\""));
}

/// A file of `tests/data/`.
fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn skip_on_marks_holidays_with_their_names_and_keeps_them_in_the_count() {
    let holidays = data("jp-holidays.ics");
    let args = ["schedule", "next", "0 0 8 * * *", "--tz", "Asia/Tokyo", "--from", "2026-12-29T12:00:00Z", "-n", "4"];
    let report = json(&[&args[..], &["--skip-on", &holidays, "--output", "json"]].concat());
    let rows: Vec<(&str, Option<&str>)> = report["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| (o["local"].as_str().expect("local"), o["skipped"].as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-12-30T08:00:00+09:00", None),
            ("2026-12-31T08:00:00+09:00", None),
            ("2027-01-01T08:00:00+09:00", Some("holiday (jp-holidays: 元日)")),
            ("2027-01-02T08:00:00+09:00", None),
        ]
    );
    let output = autostop(&[&args[..], &["--skip-on", &holidays]].concat());
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().find(|line| line.contains("2027-01-01T08:00:00+09:00")).expect("the holiday row");
    assert!(line.ends_with("skipped: holiday (jp-holidays: 元日)"), "{text}");
    assert!(!text.lines().any(|line| line.contains("2026-12-31T08") && line.contains("skipped")), "{text}");
}

#[test]
fn skip_on_a_bad_file_prints_path_line_and_exits_2() {
    let bad = data("bad-holidays.ics");
    let output = autostop(&["schedule", "next", "0 0 8 * * *", "--skip-on", &bad]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.lines().any(|line| line.starts_with(&format!("{bad}:5: RRULE: "))), "{stderr}");
    assert!(output.stdout.is_empty());
}
