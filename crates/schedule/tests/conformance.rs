//! NCrontab's own test vectors, read at run time from `testdata/ncrontab/` (copied there with their provenance and
//! licence notice): next occurrences, must-fail expressions, bounded searches, canonical formatting, merged schedules
//! and the last occurrence before year 10000. Naive times in the vectors are read in UTC.

use std::path::PathBuf;

use autostop_schedule::Schedule;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;

fn vectors(name: &str) -> Vec<Value> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/ncrontab")).join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the conformance vectors at {}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Array(cases)) => cases,
        other => panic!("{}: expected a JSON array, found {other:?}", path.display()),
    }
}

fn text<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key].as_str().unwrap_or_else(|| panic!("case {case}: no string {key:?}"))
}

/// A naive vector time (`2003-01-01T00:00:00`) read in UTC.
fn naive(value: &str) -> Timestamp {
    let dt: DateTime = value.parse().unwrap_or_else(|e| panic!("bad time {value:?} in the vectors: {e}"));
    dt.to_zoned(TimeZone::UTC).expect("in range").timestamp()
}

fn parse(case: &Value, expr: &str) -> Result<Schedule, autostop_schedule::Error> {
    Schedule::parse_cron(expr, case["seconds"].as_bool().expect("a seconds flag"))
}

#[test]
fn ncrontab_cases() {
    let cases = vectors("ncrontab-cases.json");
    assert_eq!(cases.len(), 147, "ncrontab-cases.json should hold 147 cases");
    let mut failures = Vec::new();
    for case in &cases {
        let expr = text(case, "expr");
        let outcome = if case["invalid"].as_bool() == Some(true) {
            match parse(case, expr) {
                Ok(schedule) => Err(format!("accepted, read as {schedule}")),
                Err(_) => Ok(()),
            }
        } else {
            let expected = naive(text(case, "expected"));
            match parse(case, expr) {
                Err(e) => Err(format!("refused: {e}")),
                Ok(schedule) => match schedule.next_after(naive(text(case, "start")), &TimeZone::UTC) {
                    Some(next) if next.timestamp() == expected => Ok(()),
                    found => Err(format!("expected {expected}, found {found:?}")),
                },
            }
        };
        if let Err(why) = outcome {
            failures.push(format!("{case}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn ncrontab_bounded_cases() {
    let cases = vectors("ncrontab-bounded-cases.json");
    assert_eq!(cases.len(), 16, "ncrontab-bounded-cases.json should hold 16 cases");
    let mut failures = Vec::new();
    for case in &cases {
        let schedule = parse(case, text(case, "expr")).unwrap_or_else(|e| panic!("{case}: {e}"));
        let (start, end) = (naive(text(case, "start")), naive(text(case, "end")));
        // `end` is exclusive; no occurrence before it reads as `end` itself.
        let first = schedule.occurrences(start, end, &TimeZone::UTC).map(|z| z.timestamp()).find(|t| *t < end);
        let found = first.unwrap_or(end);
        if found != naive(text(case, "expected")) {
            failures.push(format!("{case}: found {found}"));
        }
    }
    assert!(failures.is_empty(), "{} bounded cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn ncrontab_extra_cases() {
    let cases = vectors("ncrontab-extra-cases.json");
    assert_eq!(cases.len(), 16, "ncrontab-extra-cases.json should hold 16 cases");
    for case in &cases {
        match text(case, "kind") {
            "format" => {
                let schedule = parse(case, text(case, "expr")).unwrap_or_else(|e| panic!("{case}: {e}"));
                assert_eq!(schedule.to_string(), text(case, "canonical"), "{case}");
            }
            "merged-occurrences" => check_merged(case),
            "last-occurrence" => {
                let schedule = parse(case, text(case, "expr")).unwrap_or_else(|e| panic!("{case}: {e}"));
                let last = schedule.occurrences(naive(text(case, "start")), Timestamp::MAX, &TimeZone::UTC).last();
                assert_eq!(last.map(|z| z.timestamp()), Some(naive(text(case, "expected_last"))), "{case}");
            }
            other => panic!("{case}: unknown kind {other:?}"),
        }
    }
}

/// Several schedules merged: their distinct occurrences in time order, start and end exclusive.
fn check_merged(case: &Value) {
    let schedules: Vec<Schedule> = case["exprs"]
        .as_array()
        .expect("exprs")
        .iter()
        .map(|e| parse(case, e.as_str().expect("an expression")).unwrap_or_else(|err| panic!("{case}: {err}")))
        .collect();
    let expected: Vec<Timestamp> = case["expected_sequence"]
        .as_array()
        .expect("expected_sequence")
        .iter()
        .map(|v| naive(v.as_str().expect("a time")))
        .collect();
    let end = case["end"].as_str().map(naive);
    let mut at = naive(text(case, "start"));
    let mut merged = Vec::new();
    while let Some(next) =
        schedules.iter().filter_map(|s| s.next_after(at, &TimeZone::UTC)).map(|z| z.timestamp()).min()
    {
        if end.is_some_and(|end| next >= end) || (end.is_none() && merged.len() == expected.len()) {
            break;
        }
        merged.push(next);
        at = next;
    }
    assert_eq!(merged, expected, "{case}");
}
