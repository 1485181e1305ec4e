//! The timeline over a week that holds a daylight-saving change and a holiday: every occurrence in time order,
//! each decision seeing the states the earlier actions left, a snooze that expires in the middle of the week,
//! and owners' answers from notice links (a stop postponed to a later hour, a stop skipped).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use autostop_policy::{Config, Instance, Postponed, StateFacts, Timeline, Window, timeline};
use jiff::Timestamp;

const HOLIDAYS: &str = include_str!("data/holidays.ics");
const SUB: &str = "00000000-0000-0000-0000-000000000001";

/// Weekday rules in Berlin: start at 08:00 (not on holidays), stop at 20:00.
const CONFIG: &str = r#"
[defaults]
timezone = "Europe/Berlin"

[[calendars]]
name = "de-holidays"
file = "holidays.ics"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[rules]]
name = "morning-start"
action = "start"
schedule = "0 0 8 * * Mon-Fri"
skip_on = ["de-holidays"]

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * Mon-Fri"
"#;

fn config() -> Config {
    let read = |path: &Path| {
        if path == Path::new("conf/holidays.ics") {
            Ok(HOLIDAYS.to_owned())
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
        }
    };
    Config::parse_with(CONFIG, Path::new("conf/autostop.toml"), &read)
        .unwrap_or_else(|errors| panic!("test config: {errors:#?}"))
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|err| panic!("test timestamp {text}: {err}"))
}

fn instance(name: &str, state: &str, tags: &[(&str, &str)]) -> Arc<Instance> {
    Arc::new(Instance {
        id: format!(
            "/subscriptions/{SUB}/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/{name}"
        ),
        name: name.to_owned(),
        subscription: SUB.to_owned(),
        resource_group: "ml-rg".to_owned(),
        workspace: "ws".to_owned(),
        compute_type: "ComputeInstance".to_owned(),
        state: Some(state.to_owned()),
        vm_size: Some("Standard_DS3_v2".to_owned()),
        tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
        ..Instance::default()
    })
}

/// One line per (occurrence, target): `local time rule: act` or `... skip code (reason)`; a decision taken at
/// another instant than its occurrence (a postponed stop) says `at` when, in the occurrence's zone.
fn lines(timeline: &Timeline, name: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for step in &timeline.steps {
        let local = |zoned: &jiff::Zoned| {
            let when = zoned.strftime("%a %m-%d %H:%M%:z").to_string();
            if zoned.timestamp() == step.at {
                when
            } else {
                format!("{when} (at {})", step.at.to_zoned(zoned.time_zone().clone()).strftime("%H:%M%:z"))
            }
        };
        for action in step.actions.iter().filter(|action| action.target.name == name) {
            lines.push(format!("{} {}: act", local(&action.occurrence), action.rule));
        }
        for skip in step.skips.iter().filter(|skip| skip.target.name == name) {
            lines.push(format!("{} {}: {} ({})", local(&skip.occurrence), skip.rule, skip.reason.code(), skip.reason));
        }
    }
    lines
}

#[test]
fn a_week_across_the_spring_change_with_a_holiday_simulates_each_action_forward() {
    let config = config();
    // Friday 2026-03-27 12:00 Berlin (+01:00) to Friday 2026-04-03 12:00 (+02:00): Berlin springs forward on
    // Sunday 29 March; Monday 30 March is a holiday of the calendar.
    let window = Window { after: ts("2026-03-27T11:00:00Z"), until: ts("2026-04-03T10:00:00Z") };
    let fleet = [
        instance("plain", "Running", &[]),
        instance("napper", "Running", &[("autostop-snooze-until", "2026-03-31T10:00:00+02:00")]),
    ];
    let timeline = timeline(&fleet, &config, window, &autostop_policy::StateFacts::default());

    let instants: Vec<String> = timeline.steps.iter().map(|step| step.at.to_string()).collect();
    assert_eq!(
        instants,
        [
            "2026-03-27T19:00:00Z", // Fri 20:00 +01:00
            "2026-03-30T06:00:00Z", // Mon 08:00 +02:00: after the change, one hour earlier in UTC
            "2026-03-30T18:00:00Z",
            "2026-03-31T06:00:00Z",
            "2026-03-31T18:00:00Z",
            "2026-04-01T06:00:00Z",
            "2026-04-01T18:00:00Z",
            "2026-04-02T06:00:00Z",
            "2026-04-02T18:00:00Z",
            "2026-04-03T06:00:00Z",
        ],
        "every weekday occurrence in time order, none on the weekend"
    );

    assert_eq!(
        lines(&timeline, "plain"),
        [
            "Fri 03-27 20:00+01:00 evening-stop: act",
            "Mon 03-30 08:00+02:00 morning-start: holiday (holiday (de-holidays: Frühlingstag))",
            // The holiday kept it stopped since Friday's stop.
            "Mon 03-30 20:00+02:00 evening-stop: already-there (already Stopped)",
            // Tuesday's start sees the instance Monday left stopped.
            "Tue 03-31 08:00+02:00 morning-start: act",
            "Tue 03-31 20:00+02:00 evening-stop: act",
            "Wed 04-01 08:00+02:00 morning-start: act",
            "Wed 04-01 20:00+02:00 evening-stop: act",
            "Thu 04-02 08:00+02:00 morning-start: act",
            "Thu 04-02 20:00+02:00 evening-stop: act",
            "Fri 04-03 08:00+02:00 morning-start: act",
        ]
    );

    let snoozed = "snoozed (snoozed by its owner until 2026-03-31T08:00:00Z (tag autostop-snooze-until))";
    assert_eq!(
        lines(&timeline, "napper"),
        [
            format!("Fri 03-27 20:00+01:00 evening-stop: {snoozed}"),
            "Mon 03-30 08:00+02:00 morning-start: holiday (holiday (de-holidays: Frühlingstag))".to_owned(),
            format!("Mon 03-30 20:00+02:00 evening-stop: {snoozed}"),
            // Still snoozed at 08:00 (it expires at 10:00), and running anyway.
            format!("Tue 03-31 08:00+02:00 morning-start: {snoozed}"),
            // The snooze has expired by the evening: the stop acts, and the next morning starts it again.
            "Tue 03-31 20:00+02:00 evening-stop: act".to_owned(),
            "Wed 04-01 08:00+02:00 morning-start: act".to_owned(),
            "Wed 04-01 20:00+02:00 evening-stop: act".to_owned(),
            "Thu 04-02 08:00+02:00 morning-start: act".to_owned(),
            "Thu 04-02 20:00+02:00 evening-stop: act".to_owned(),
            "Fri 04-03 08:00+02:00 morning-start: act".to_owned(),
        ]
    );
}

#[test]
fn the_timeline_leaves_the_inventory_it_was_given_alone_and_an_empty_window_has_no_steps() {
    let config = config();
    let fleet = [instance("plain", "Running", &[])];
    let window = Window { after: ts("2026-03-27T11:00:00Z"), until: ts("2026-03-28T11:00:00Z") };
    let timeline = timeline(&fleet, &config, window, &autostop_policy::StateFacts::default());
    assert_eq!(timeline.steps.len(), 1, "only Friday's stop: {timeline:#?}");
    assert_eq!(fleet[0].state.as_deref(), Some("Running"));
    assert_eq!(timeline.steps[0].actions[0].target.state.as_deref(), Some("Running"), "decided on the snapshot");

    let weekend = Window { after: ts("2026-03-28T00:00:00Z"), until: ts("2026-03-29T20:00:00Z") };
    assert!(
        autostop_policy::timeline(&fleet, &config, weekend, &autostop_policy::StateFacts::default()).steps.is_empty()
    );
}

#[test]
fn a_stop_that_acts_under_a_rule_with_notify_is_announced_before_its_occurrence_in_the_rules_zone() {
    let text = CONFIG.replace(
        "schedule = \"0 0 20 * * Mon-Fri\"\n",
        "schedule = \"0 0 20 * * Mon-Fri\"\nnotify = { before = \"45m\", channels = [\"ml-team\", \"ops\"] }\n",
    ) + "\n[[channels]]\nname = \"ml-team\"\nkind = \"webhook\"\nurl = \"https://hooks.example.com/a\"\n\
           \n[[channels]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"https://hooks.example.com/b\"\n\
           \n[notify]\npublic_url = \"https://autostop.example.com\"\n";
    let read = |_: &Path| Ok(HOLIDAYS.to_owned());
    let config = Config::parse_with(&text, Path::new("conf/autostop.toml"), &read)
        .unwrap_or_else(|errors| panic!("test config: {errors:#?}"));
    // Friday before the spring change to Monday after it (a holiday: no start, and the stop finds it stopped).
    let window = Window { after: ts("2026-03-27T11:00:00Z"), until: ts("2026-03-31T11:00:00Z") };
    let fleet = [instance("plain", "Running", &[]), instance("kept", "Running", &[("autostop", "off")])];
    let timeline = timeline(&fleet, &config, window, &autostop_policy::StateFacts::default());

    let notices: Vec<String> = timeline
        .steps
        .iter()
        .flat_map(autostop_policy::Step::decisions)
        .map(|decision| {
            let notice = decision
                .notice(&config)
                .map(|notice| format!("{} → {}", notice.at.strftime("%a %H:%M%:z"), notice.channels.join(", ")));
            format!(
                "{} {} {}: {}",
                decision.occurrence.strftime("%a %H:%M"),
                decision.rule,
                decision.target.name,
                notice.unwrap_or_else(|| "none".to_owned())
            )
        })
        .collect();
    assert_eq!(
        notices,
        [
            "Fri 20:00 evening-stop plain: Fri 19:15+01:00 → ml-team, ops",
            // Opted out: not in the notice.
            "Fri 20:00 evening-stop kept: none",
            // A start has no notice.
            "Mon 08:00 morning-start plain: none",
            "Mon 08:00 morning-start kept: none",
            // Already stopped since Friday: skipped, so not announced.
            "Mon 20:00 evening-stop plain: none",
            "Mon 20:00 evening-stop kept: none",
            "Tue 08:00 morning-start plain: none",
            "Tue 08:00 morning-start kept: none",
        ]
    );
}

#[test]
fn a_postponed_stop_is_kept_at_its_occurrence_and_executed_at_its_new_time_and_later_occurrences_see_it() {
    let config = config();
    // The same week: Friday 2026-03-27 12:00 Berlin (+01:00) to Friday 2026-04-03 12:00 (+02:00), across the
    // spring change (Sunday 29 March) and the holiday (Monday 30 March).
    let window = Window { after: ts("2026-03-27T11:00:00Z"), until: ts("2026-04-03T10:00:00Z") };
    let fleet = [instance("late", "Running", &[]), instance("skipper", "Running", &[])];
    let key = |name: &str| fleet.iter().find(|i| i.name == name).unwrap().id.to_ascii_lowercase();
    let facts = StateFacts {
        postponements: vec![
            // Tuesday's 20:00 +02:00 stop (18:00Z) postponed by +2h: to 22:00 +02:00 (20:00Z).
            Postponed {
                rule: "evening-stop".into(),
                occurrence: ts("2026-03-31T18:00:00Z"),
                target_key: key("late"),
                until: Some(ts("2026-03-31T20:00:00Z")),
            },
            // Friday's 20:00 +01:00 stop (19:00Z), before the change, postponed by +4h: to Saturday 00:00 +01:00.
            Postponed {
                rule: "evening-stop".into(),
                occurrence: ts("2026-03-27T19:00:00Z"),
                target_key: key("late"),
                until: Some(ts("2026-03-27T23:00:00Z")),
            },
            // Wednesday's stop skipped.
            Postponed {
                rule: "evening-stop".into(),
                occurrence: ts("2026-04-01T18:00:00Z"),
                target_key: key("skipper"),
                until: None,
            },
        ],
        ..StateFacts::default()
    };
    let timeline = timeline(&fleet, &config, window, &facts);

    let instants: Vec<String> = timeline.steps.iter().map(|step| step.at.to_string()).collect();
    assert_eq!(
        instants,
        [
            "2026-03-27T19:00:00Z", // Fri 20:00 +01:00
            "2026-03-27T23:00:00Z", // Sat 00:00 +01:00: Friday's stop of `late`, postponed by 4 hours
            "2026-03-30T06:00:00Z", // Mon 08:00 +02:00 (after the change)
            "2026-03-30T18:00:00Z",
            "2026-03-31T06:00:00Z",
            "2026-03-31T18:00:00Z",
            "2026-03-31T20:00:00Z", // Tue 22:00 +02:00: Tuesday's stop of `late`, postponed by 2 hours
            "2026-04-01T06:00:00Z",
            "2026-04-01T18:00:00Z",
            "2026-04-02T06:00:00Z",
            "2026-04-02T18:00:00Z",
            "2026-04-03T06:00:00Z",
        ]
    );
    let postponed_step = &timeline.steps[6];
    assert_eq!(postponed_step.due.len(), 1, "{postponed_step:#?}");
    assert_eq!(postponed_step.due[0].occurrence.timestamp(), ts("2026-03-31T18:00:00Z"), "the same occurrence");
    assert!(postponed_step.due[0].only.as_ref().is_some_and(|only| only.contains(&key("late"))), "late alone");

    assert_eq!(
        lines(&timeline, "late"),
        [
            "Fri 03-27 20:00+01:00 evening-stop: postponed (postponed by its owner until 00:00)",
            // Kept running at 20:00, stopped at its new time, under the same rule and occurrence.
            "Fri 03-27 20:00+01:00 (at 00:00+01:00) evening-stop: act",
            "Mon 03-30 08:00+02:00 morning-start: holiday (holiday (de-holidays: Frühlingstag))",
            "Mon 03-30 20:00+02:00 evening-stop: already-there (already Stopped)",
            "Tue 03-31 08:00+02:00 morning-start: act",
            "Tue 03-31 20:00+02:00 evening-stop: postponed (postponed by its owner until 22:00)",
            "Tue 03-31 20:00+02:00 (at 22:00+02:00) evening-stop: act",
            // Stopped at 22:00, so Wednesday's start has something to start.
            "Wed 04-01 08:00+02:00 morning-start: act",
            "Wed 04-01 20:00+02:00 evening-stop: act",
            "Thu 04-02 08:00+02:00 morning-start: act",
            "Thu 04-02 20:00+02:00 evening-stop: act",
            "Fri 04-03 08:00+02:00 morning-start: act",
        ]
    );
    assert_eq!(
        lines(&timeline, "skipper"),
        [
            "Fri 03-27 20:00+01:00 evening-stop: act",
            "Mon 03-30 08:00+02:00 morning-start: holiday (holiday (de-holidays: Frühlingstag))",
            "Mon 03-30 20:00+02:00 evening-stop: already-there (already Stopped)",
            "Tue 03-31 08:00+02:00 morning-start: act",
            "Tue 03-31 20:00+02:00 evening-stop: act",
            "Wed 04-01 08:00+02:00 morning-start: act",
            "Wed 04-01 20:00+02:00 evening-stop: skipped-by-owner (skipped by its owner for this occurrence)",
            // Never stopped on Wednesday: Thursday's start finds it running.
            "Thu 04-02 08:00+02:00 morning-start: already-there (already Running)",
            "Thu 04-02 20:00+02:00 evening-stop: act",
            "Fri 04-03 08:00+02:00 morning-start: act",
        ]
    );
}

#[test]
fn a_stop_postponed_before_the_window_is_executed_in_it_and_one_postponed_past_it_is_not() {
    let config = config();
    let fleet = [instance("late", "Running", &[])];
    let postponed = |until: &str| StateFacts {
        postponements: vec![Postponed {
            rule: "evening-stop".into(),
            occurrence: ts("2026-03-31T18:00:00Z"),
            target_key: fleet[0].id.to_ascii_lowercase(),
            until: Some(ts(until)),
        }],
        ..StateFacts::default()
    };
    // The window opens at 20:30 +02:00, after the occurrence: the stop comes at 21:00 +02:00 (+1h).
    let window = Window { after: ts("2026-03-31T18:30:00Z"), until: ts("2026-03-31T21:30:00Z") };
    let timeline = autostop_policy::timeline(&fleet, &config, window, &postponed("2026-03-31T19:00:00Z"));
    assert_eq!(lines(&timeline, "late"), ["Tue 03-31 20:00+02:00 (at 21:00+02:00) evening-stop: act"]);
    // Postponed by +4h to 00:00 +02:00, after the window's end: nothing in the window.
    let timeline = autostop_policy::timeline(&fleet, &config, window, &postponed("2026-03-31T22:00:00Z"));
    assert!(timeline.steps.is_empty(), "{timeline:#?}");
}
