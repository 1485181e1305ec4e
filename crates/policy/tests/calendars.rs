//! Holiday calendars in the configuration (`[[calendars]]`, `skip_on`) and in the plan: a rule does not act on
//! an occurrence whose local date is a holiday, across daylight-saving changes; bad entries and bad calendar lines
//! are reported where they are.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use autostop_policy::{Action, Config, ConfigError, Instance, PlanSkipReason, StateFacts, Window, plan};
use jiff::Timestamp;

const HOLIDAYS: &str = include_str!("data/holidays.ics");
const SUB: &str = "00000000-0000-0000-0000-000000000001";

/// Morning start at 08:00 Berlin, resting on holidays; evening stop at 20:00 every day.
const CONFIG: &str = r#"
[defaults]
timezone = "Europe/Berlin"

[[calendars]]
name = "de-holidays"
file = "holidays.ics"

[[calendars]]
name = "office-closed"
dates = ["2026-11-11"]

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[rules]]
name = "morning-start"
action = "start"
schedule = "0 0 8 * * *"
skip_on = ["de-holidays", "office-closed"]

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
"#;

/// Parses `text` as `conf/autostop.toml`, with the files of `files` (by path) readable and no other.
fn parse_with(text: &str, files: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
    let files: BTreeMap<PathBuf, String> =
        files.iter().map(|(path, text)| (PathBuf::from(path), (*text).to_owned())).collect();
    let read = |path: &Path| {
        files.get(path).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    };
    Config::parse_with(text, Path::new("conf/autostop.toml"), &read).map_err(|errors| errors.errors)
}

fn config() -> Config {
    parse_with(CONFIG, &[("conf/holidays.ics", HOLIDAYS)]).unwrap_or_else(|errors| panic!("test config: {errors:#?}"))
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|err| panic!("test timestamp {text}: {err}"))
}

fn instance(state: &str, tags: &[(&str, &str)]) -> Instance {
    Instance {
        id: format!(
            "/subscriptions/{SUB}/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/ci-1"
        ),
        name: "ci-1".to_owned(),
        subscription: SUB.to_owned(),
        resource_group: "ml-rg".to_owned(),
        workspace: "ws".to_owned(),
        compute_type: "ComputeInstance".to_owned(),
        state: Some(state.to_owned()),
        vm_size: None,
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ..Default::default()
    }
}

/// What the plan decides for the one instance in a run just after `local` (a Berlin wall-clock time):
/// `act` or the skip reason as displayed.
fn decision_at(config: &Config, local: &str, target: &Instance) -> String {
    let at = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", local)
        .expect("test time")
        .to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").expect("zone"))
        .expect("in zone")
        .timestamp();
    let window =
        Window { after: at - jiff::SignedDuration::from_secs(60), until: at + jiff::SignedDuration::from_secs(30) };
    let plan = plan(&[std::sync::Arc::new(target.clone())], config, &StateFacts::default(), window, window.until);
    match (plan.actions.as_slice(), plan.skips.as_slice()) {
        ([action], []) => format!("act {}", action.rule),
        ([], [skip]) => format!("{} skipped: {}", skip.rule, skip.reason),
        _ => panic!("expected one decision at {local}: {plan:#?}"),
    }
}

#[test]
fn the_morning_start_rests_on_the_days_after_both_clock_changes_and_the_evening_stop_still_runs() {
    let config = config();
    let stopped = instance("Stopped", &[]);
    let running = instance("Running", &[]);
    // 2026-03-29: Berlin springs forward; 2026-10-25: it falls back. The holidays are the day after each.
    let mornings = [
        ("2026-03-28 08:00", "act morning-start"),
        ("2026-03-29 08:00", "act morning-start"),
        ("2026-03-30 08:00", "morning-start skipped: holiday (de-holidays: Frühlingstag)"),
        ("2026-03-31 08:00", "act morning-start"),
        ("2026-10-25 08:00", "act morning-start"),
        ("2026-10-26 08:00", "morning-start skipped: holiday (de-holidays: Herbsttag)"),
        ("2026-10-27 08:00", "act morning-start"),
        // The listed date has no name.
        ("2026-11-11 08:00", "morning-start skipped: holiday (office-closed)"),
        // The closure covers 30 and 31 December and 1 January (DTEND is exclusive), across the year's end.
        ("2026-12-29 08:00", "act morning-start"),
        ("2026-12-30 08:00", "morning-start skipped: holiday (de-holidays: Betriebsruhe)"),
        ("2027-01-01 08:00", "morning-start skipped: holiday (de-holidays: Betriebsruhe)"),
        ("2027-01-02 08:00", "act morning-start"),
        // Yearly: the spring date again in 2027; EXDATE removes the autumn one.
        ("2027-03-30 08:00", "morning-start skipped: holiday (de-holidays: Frühlingstag)"),
        ("2027-10-26 08:00", "act morning-start"),
    ];
    for (local, expected) in mornings {
        assert_eq!(decision_at(&config, local, &stopped), expected, "at {local}");
    }
    for local in ["2026-03-30 20:00", "2026-10-26 20:00", "2026-11-11 20:00"] {
        assert_eq!(decision_at(&config, local, &running), "act evening-stop", "at {local}");
    }
}

#[test]
fn a_holiday_is_decided_before_owner_tags_and_has_a_stable_code() {
    let config = config();
    let opted_out = instance("Stopped", &[("autostop", "off")]);
    let at = ts("2026-03-30T06:00:30Z"); // 08:00:30 CEST
    let plan = plan(
        &[std::sync::Arc::new(opted_out)],
        &config,
        &StateFacts::default(),
        Window { after: ts("2026-03-30T05:59:00Z"), until: at },
        at,
    );
    assert_eq!(plan.skips.len(), 1, "{plan:#?}");
    assert_eq!(plan.skips[0].action, Action::Start);
    assert_eq!(
        plan.skips[0].reason,
        PlanSkipReason::Holiday { calendar: "de-holidays".to_owned(), summary: Some("Frühlingstag".to_owned()) }
    );
    assert_eq!(plan.skips[0].reason.code(), "holiday");
}

#[test]
fn calendars_are_read_relative_to_the_config_and_listed_in_order() {
    let config = config();
    let names: Vec<&str> = config.calendars.iter().map(|named| named.name.as_str()).collect();
    assert_eq!(names, ["de-holidays", "office-closed"]);
    assert_eq!(config.calendars[0].calendar.len(), 3);
    let rule = config.rule("morning-start").expect("rule");
    assert_eq!(rule.skip_on.iter().map(|named| named.name.as_str()).collect::<Vec<_>>(), names);
    assert!(config.rule("evening-stop").expect("rule").skip_on.is_empty());
}

/// `(line, column, message)` of every error.
fn located(errors: &[ConfigError]) -> Vec<(usize, usize, &str)> {
    errors.iter().map(|error| (error.line, error.column, error.message.as_str())).collect()
}

#[test]
fn bad_calendar_entries_and_unknown_names_are_reported_at_their_place() {
    let text = r#"[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[calendars]]
name = "a"
dates = ["2026-01-01", "2026-13-01"]

[[calendars]]
name = "b"

[[calendars]]
name = "A"
dates = []

[[calendars]]
name = "c"
file = "missing.ics"

[[rules]]
name = "r"
action = "stop"
schedule = "0 0 20 * * *"
skip_on = ["a", "nope", "c"]
"#;
    let errors = parse_with(text, &[]).expect_err("refused");
    assert_eq!(
        located(&errors),
        [
            (6, 24, "calendar a: dates: expected a date such as 2026-01-01, found \"2026-13-01\""),
            (8, 1, "calendar b: expected either file (an iCalendar file) or dates, not both or neither"),
            (
                12,
                8,
                "calendars.name: duplicate calendar name \"A\", first defined at 5:8 (names must be unique, ignoring case)"
            ),
            (17, 8, "calendar c: file: cannot read conf/missing.ics: No such file or directory"),
            (23, 17, "rule r: skip_on: unknown calendar \"nope\": expected one of a, b, A, c"),
        ]
    );
}

#[test]
fn each_bad_line_of_a_calendar_file_is_reported_as_path_line() {
    let bad = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260230\r\nEND:VEVENT\r\n\
               BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260301\r\nRRULE:FREQ=FORTNIGHTLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let text = CONFIG.replace("holidays.ics", "ics/bad.ics");
    let errors = parse_with(&text, &[("conf/ics/bad.ics", bad)]).expect_err("refused");
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].starts_with("conf/ics/bad.ics:3: DTSTART: expected a date such as 20260101"), "{lines:#?}");
    assert!(lines[1].starts_with("conf/ics/bad.ics:7: RRULE: "), "{lines:#?}");
    assert_eq!(errors[0].column, 0);
}

#[test]
fn parse_reads_no_file_and_says_so_at_the_file_key() {
    let errors = Config::parse(CONFIG, Path::new("autostop.toml")).expect_err("no reader");
    assert_eq!(errors.errors.len(), 1, "{errors}");
    assert_eq!((errors.errors[0].line, errors.errors[0].column), (7, 8));
    assert!(errors.errors[0].message.starts_with("calendar de-holidays: file: cannot read holidays.ics: "), "{errors}");
    // Without calendars, nothing changes.
    let plain =
        CONFIG.split("[[calendars]]").next().unwrap().to_owned() + "[[scopes]]\nsubscription = \"" + SUB + "\"\n";
    assert!(Config::parse(&plain, Path::new("autostop.toml")).is_ok());
}

#[test]
fn the_starter_file_rests_its_morning_start_on_its_holidays() {
    let config = Config::parse(autostop_policy::config::starter(), Path::new("autostop.toml")).expect("starter");
    let rule = config.rule("morning-start").expect("rule");
    let names: Vec<&str> = rule.skip_on.iter().map(|named| named.name.as_str()).collect();
    assert_eq!(names, ["holidays"]);
    // Friday 25 December 2026 at 08:00 UTC (the starter's zone) is a holiday; Thursday the 24th is not.
    let christmas: jiff::Zoned = "2026-12-25T08:00:00+00:00[UTC]".parse().expect("zoned");
    let eve: jiff::Zoned = "2026-12-24T08:00:00+00:00[UTC]".parse().expect("zoned");
    assert_eq!(rule.holiday(&christmas).map(|(name, holiday)| (name, holiday.summary)), Some(("holidays", None)));
    assert!(rule.holiday(&eve).is_none());
    assert!(config.rule("evening-stop").expect("rule").holiday(&christmas).is_none());
}
