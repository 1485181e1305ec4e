//! The timeline over a week that holds a daylight-saving change and a holiday: every occurrence in time order,
//! each decision seeing the states the earlier actions left, a snooze that expires in the middle of the week.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use autostop_policy::{Config, Instance, Timeline, Window, timeline};
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

fn instance(name: &str, state: &str, tags: &[(&str, &str)]) -> Instance {
    Instance {
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
    }
}

/// One line per (occurrence, target): `local time rule name: act` or `... skip code (reason)`.
fn lines(timeline: &Timeline, name: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for step in &timeline.steps {
        let local = |zoned: &jiff::Zoned| zoned.strftime("%a %m-%d %H:%M%:z").to_string();
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
