//! The plan, table-driven: every rule / owner tag / state / scope combination, several occurrences in one
//! window, stop-versus-start conflicts, catch-up after a gap, future previews and idle rules.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use autostop_policy::{Action, Config, Instance, LastOperation, Plan, StateFacts, Window};
use jiff::Timestamp;

const SUB: &str = "00000000-0000-0000-0000-000000000001";

/// The plan of `inventory` (the policy reads an inventory of shared instances).
fn plan(inventory: &[Instance], config: &Config, facts: &StateFacts, window: Window, now: Timestamp) -> Plan {
    autostop_policy::plan(&shared(inventory), config, facts, window, now)
}

fn shared(inventory: &[Instance]) -> Vec<Arc<Instance>> {
    inventory.iter().cloned().map(Arc::new).collect()
}

/// Four rules at 20:00 and 08:00 Berlin time (CET, +01:00, in early March 2026).
const CONFIG: &str = r#"
[defaults]
timezone = "Europe/Berlin"
catch_up = "1h"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"
resource_group = "ml-rg"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
select = { names = ["ci-*"] }
exclude = { names = ["ci-keep-*"] }

[[rules]]
name = "gpu-stop"
action = "stop"
schedule = "0 0 20 * * *"
select = { names = ["gpu-*"] }
force = true

[[rules]]
name = "morning-start"
action = "start"
schedule = "0 0 8 * * *"
select = { tags = { autostart = "yes" } }

[[rules]]
name = "selects-nothing"
action = "stop"
schedule = "0 0 20 * * *"
select = { names = ["no-such-instance-*"] }
"#;

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("test.toml")).unwrap_or_else(|errors| panic!("test config: {errors}"))
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|err| panic!("test timestamp {text}: {err}"))
}

/// A compute instance in scope (`ml-rg`), `Running`, untagged: the cases change what they need.
fn instance(name: &str) -> Instance {
    Instance {
        id: format!(
            "/subscriptions/{SUB}/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/{name}"
        ),
        name: name.to_owned(),
        subscription: SUB.to_owned(),
        resource_group: "ml-rg".to_owned(),
        workspace: "ws".to_owned(),
        compute_type: "ComputeInstance".to_owned(),
        state: Some("Running".to_owned()),
        vm_size: Some("Standard_DS3_v2".to_owned()),
        tags: BTreeMap::new(),
        ..Default::default()
    }
}

fn with_state(mut target: Instance, state: Option<&str>) -> Instance {
    target.state = state.map(str::to_owned);
    target
}

fn with_tag(mut target: Instance, key: &str, value: &str) -> Instance {
    target.tags.insert(key.to_owned(), value.to_owned());
    target
}

/// What the plan says about one (rule, instance): an action or a skip code.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Act(Action),
    Skip(&'static str),
}
use Outcome::{Act, Skip};

/// Every (rule, outcome) the plan reports for `target`, actions first, in plan order.
fn outcomes(plan: &Plan, target: &Instance) -> Vec<(String, Outcome)> {
    let acts = plan.actions.iter().filter(|a| a.target.id == target.id).map(|a| (a.rule.clone(), Act(a.action)));
    let skips = plan.skips.iter().filter(|s| s.target.id == target.id).map(|s| (s.rule.clone(), Skip(s.reason.code())));
    acts.chain(skips).collect()
}

fn expect(list: &[(&str, Outcome)]) -> Vec<(String, Outcome)> {
    list.iter().map(|(rule, outcome)| ((*rule).to_owned(), outcome.clone())).collect()
}

/// The window of a run at 20:00:30 Berlin that last ran at 19:59:00: the 20:00 rules are due.
fn evening() -> (Window, Timestamp) {
    (Window { after: ts("2026-03-02T18:59:00Z"), until: ts("2026-03-02T19:00:30Z") }, ts("2026-03-02T19:00:30Z"))
}

/// The window of a run at 08:00:30 Berlin: the 08:00 rule is due.
fn morning() -> (Window, Timestamp) {
    (Window { after: ts("2026-03-03T06:59:00Z"), until: ts("2026-03-03T07:00:30Z") }, ts("2026-03-03T07:00:30Z"))
}

/// One row of the table: a name, the run's window and clock, the instance, and what the plan must say.
type Case = (&'static str, (Window, Timestamp), Instance, Vec<(String, Outcome)>);

#[test]
fn every_rule_tag_and_state_combination() {
    let config = config(CONFIG);
    let other_rg = |mut target: Instance| {
        target.resource_group = "other-rg".to_owned();
        target
    };
    let mut cluster = instance("ci-cluster");
    cluster.compute_type = "AmlCompute".to_owned();
    let snooze = "autostop-snooze-until";
    let cases: Vec<Case> = vec![
        ("running, selected", evening(), instance("ci-1"), expect(&[("evening-stop", Act(Action::Stop))])),
        (
            "stopped already",
            evening(),
            with_state(instance("ci-1"), Some("Stopped")),
            expect(&[("evening-stop", Skip("already-there"))]),
        ),
        (
            "stopping already",
            evening(),
            with_state(instance("ci-1"), Some("Stopping")),
            expect(&[("evening-stop", Skip("already-there"))]),
        ),
        (
            "job running, no force",
            evening(),
            with_state(instance("ci-1"), Some("JobRunning")),
            expect(&[("evening-stop", Skip("job-running"))]),
        ),
        (
            "job running, force",
            evening(),
            with_state(instance("gpu-1"), Some("JobRunning")),
            expect(&[("gpu-stop", Act(Action::Stop))]),
        ),
        (
            "starting",
            evening(),
            with_state(instance("ci-1"), Some("Starting")),
            expect(&[("evening-stop", Skip("wrong-state"))]),
        ),
        (
            "unknown state",
            evening(),
            with_state(instance("ci-1"), None),
            expect(&[("evening-stop", Skip("wrong-state"))]),
        ),
        (
            "new state value",
            evening(),
            with_state(instance("ci-1"), Some("Hibernating")),
            expect(&[("evening-stop", Skip("wrong-state"))]),
        ),
        ("not an instance", evening(), cluster, expect(&[("evening-stop", Skip("not-an-instance"))])),
        ("excluded", evening(), instance("ci-keep-1"), expect(&[("evening-stop", Skip("excluded"))])),
        ("not selected", evening(), instance("prod-1"), expect(&[])),
        (
            "opted out",
            evening(),
            with_tag(instance("ci-1"), "autostop", "off"),
            expect(&[("evening-stop", Skip("opted-out"))]),
        ),
        (
            "opt-out tag name in other case",
            evening(),
            with_tag(instance("ci-1"), "AutoStop", "OFF"),
            expect(&[("evening-stop", Skip("opted-out"))]),
        ),
        (
            "explicitly on",
            evening(),
            with_tag(instance("ci-1"), "autostop", "on"),
            expect(&[("evening-stop", Act(Action::Stop))]),
        ),
        (
            "unreadable opt-out",
            evening(),
            with_tag(instance("ci-1"), "autostop", "maybe"),
            expect(&[("evening-stop", Skip("unreadable-tag"))]),
        ),
        (
            "snoozed",
            evening(),
            with_tag(instance("ci-1"), snooze, "2026-03-02T23:00:00+01:00"),
            expect(&[("evening-stop", Skip("snoozed"))]),
        ),
        (
            "snooze expired",
            evening(),
            with_tag(instance("ci-1"), snooze, "2026-03-02T19:30:00+01:00"),
            expect(&[("evening-stop", Act(Action::Stop))]),
        ),
        (
            "unreadable snooze",
            evening(),
            with_tag(instance("ci-1"), snooze, "tonight"),
            expect(&[("evening-stop", Skip("unreadable-tag"))]),
        ),
        (
            "snooze without offset",
            evening(),
            with_tag(instance("ci-1"), snooze, "2026-03-02T23:00:00"),
            expect(&[("evening-stop", Skip("unreadable-tag"))]),
        ),
        (
            "named rule overrides selectors",
            evening(),
            with_tag(instance("prod-1"), "autostop-rule", "evening-stop"),
            expect(&[("evening-stop", Act(Action::Stop))]),
        ),
        (
            "named rule overrides exclude",
            evening(),
            with_tag(instance("ci-keep-1"), "autostop-rule", "EVENING-STOP"),
            expect(&[("evening-stop", Act(Action::Stop))]),
        ),
        (
            "named rule elsewhere",
            evening(),
            with_tag(instance("ci-1"), "autostop-rule", "morning-start"),
            expect(&[("evening-stop", Skip("other-rule-chosen"))]),
        ),
        (
            "named rule unknown",
            evening(),
            with_tag(instance("prod-1"), "autostop-rule", "weekend"),
            expect(&[
                ("evening-stop", Skip("unknown-rule-tag")),
                ("gpu-stop", Skip("unknown-rule-tag")),
                ("selects-nothing", Skip("unknown-rule-tag")),
            ]),
        ),
        (
            "outside scope, selected",
            evening(),
            other_rg(instance("ci-1")),
            expect(&[("evening-stop", Skip("outside-scope"))]),
        ),
        (
            "outside scope, named rule",
            evening(),
            other_rg(with_tag(instance("prod-1"), "autostop-rule", "evening-stop")),
            expect(&[("evening-stop", Skip("outside-scope"))]),
        ),
        ("outside scope, not selected", evening(), other_rg(instance("prod-1")), expect(&[])),
        (
            "opted out beats an unreadable snooze",
            evening(),
            with_tag(with_tag(instance("ci-1"), "autostop", "off"), "autostop-snooze-until", "later"),
            expect(&[("evening-stop", Skip("opted-out"))]),
        ),
        (
            "opted out beats named rule",
            evening(),
            with_tag(with_tag(instance("prod-1"), "autostop-rule", "evening-stop"), "autostop", "off"),
            expect(&[("evening-stop", Skip("opted-out"))]),
        ),
        (
            "start a stopped instance",
            morning(),
            with_state(with_tag(instance("box"), "autostart", "yes"), Some("Stopped")),
            expect(&[("morning-start", Act(Action::Start))]),
        ),
        (
            "start: already running",
            morning(),
            with_tag(instance("box"), "autostart", "yes"),
            expect(&[("morning-start", Skip("already-there"))]),
        ),
        (
            "start: running a job",
            morning(),
            with_state(with_tag(instance("box"), "autostart", "yes"), Some("JobRunning")),
            expect(&[("morning-start", Skip("already-there"))]),
        ),
        (
            "start: stopping",
            morning(),
            with_state(with_tag(instance("box"), "autostart", "yes"), Some("Stopping")),
            expect(&[("morning-start", Skip("wrong-state"))]),
        ),
        (
            "start: tag value differs",
            morning(),
            with_state(with_tag(instance("box"), "autostart", "Yes"), Some("Stopped")),
            expect(&[]),
        ),
        (
            "start: not due in the evening",
            evening(),
            with_state(with_tag(instance("box"), "autostart", "yes"), Some("Stopped")),
            expect(&[]),
        ),
        ("stop: not due in the morning", morning(), instance("ci-1"), expect(&[])),
    ];
    for (name, (window, now), target, expected) in cases {
        let plan = plan(std::slice::from_ref(&target), &config, &StateFacts::default(), window, now);
        assert_eq!(outcomes(&plan, &target), expected, "case {name:?}: {plan:#?}");
        assert!(plan.missed.is_empty(), "case {name:?}: {:?}", plan.missed);
    }
}

#[test]
fn actions_carry_rule_occurrence_target_and_force() {
    let config = config(CONFIG);
    let (window, now) = evening();
    let fleet = [instance("ci-1"), with_state(instance("gpu-1"), Some("JobRunning"))];
    let plan = plan(&fleet, &config, &StateFacts::default(), window, now);
    assert_eq!(plan.actions.len(), 2, "{plan:#?}");
    let ci = &plan.actions[0];
    assert_eq!(
        (ci.rule.as_str(), ci.target.name.as_str(), ci.action, ci.force),
        ("evening-stop", "ci-1", Action::Stop, false)
    );
    assert_eq!(ci.occurrence.to_string(), "2026-03-02T20:00:00+01:00[Europe/Berlin]");
    let gpu = &plan.actions[1];
    assert_eq!((gpu.rule.as_str(), gpu.target.name.as_str(), gpu.force), ("gpu-stop", "gpu-1", true));
    let skip_reason = autostop_policy::PlanSkipReason::OptedOut { tag: "autostop".into() }.to_string();
    assert!(skip_reason.contains("autostop = off"), "{skip_reason}");
}

#[test]
fn a_rule_that_selects_nothing_is_reported() {
    let config = config(CONFIG);
    let (window, now) = evening();
    let fleet = [instance("ci-1"), instance("gpu-1")];
    let plan = plan(&fleet, &config, &StateFacts::default(), window, now);
    assert_eq!(plan.idle_rules, vec!["morning-start".to_owned(), "selects-nothing".to_owned()]);
    let mut outside = instance("no-such-instance-1");
    outside.subscription = "00000000-0000-0000-0000-000000000009".to_owned();
    let plan = crate::plan(&[outside], &config, &StateFacts::default(), window, now);
    assert!(plan.idle_rules.contains(&"selects-nothing".to_owned()), "an out-of-scope match does not count");
}

#[test]
fn the_later_occurrence_wins_when_a_stop_and_a_start_both_fall_in_the_window() {
    let config = config(CONFIG);
    // A preview of the next 24 hours from 19:00 Berlin: the 20:00 stop and tomorrow's 08:00 start.
    let now = ts("2026-03-02T18:00:00Z");
    let window = Window { after: now, until: ts("2026-03-03T18:00:00Z") };
    let target = with_state(with_tag(instance("ci-1"), "autostart", "yes"), Some("Stopped"));
    let plan = plan(std::slice::from_ref(&target), &config, &StateFacts::default(), window, now);
    assert_eq!(
        outcomes(&plan, &target),
        expect(&[("morning-start", Act(Action::Start)), ("evening-stop", Skip("superseded"))])
    );
    let superseded = &plan.skips[0];
    assert!(superseded.reason.to_string().contains("morning-start"), "{}", superseded.reason);
    assert_eq!(superseded.occurrence.to_string(), "2026-03-02T20:00:00+01:00[Europe/Berlin]");
}

#[test]
fn opposite_actions_at_the_same_instant_are_both_skipped_and_equal_ones_act_once() {
    let config = config(
        r#"
[defaults]
timezone = "UTC"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"
[[rules]]
name = "stop-a"
action = "stop"
schedule = "0 0 20 * * *"
[[rules]]
name = "stop-b"
action = "stop"
schedule = "0 0 20 * * *"
[[rules]]
name = "start-c"
action = "start"
schedule = "0 0 20 * * *"
select = { tags = { conflict = "yes" } }
"#,
    );
    let window = Window { after: ts("2026-03-02T19:59:00Z"), until: ts("2026-03-02T20:00:00Z") };
    let now = ts("2026-03-02T20:00:00Z");
    let calm = instance("calm");
    let torn = with_tag(instance("torn"), "conflict", "yes");
    let plan = plan(&[calm.clone(), torn.clone()], &config, &StateFacts::default(), window, now);
    assert_eq!(outcomes(&plan, &calm), expect(&[("stop-a", Act(Action::Stop)), ("stop-b", Skip("superseded"))]));
    assert_eq!(
        outcomes(&plan, &torn),
        expect(&[("stop-a", Skip("conflict")), ("stop-b", Skip("conflict")), ("start-c", Skip("conflict"))])
    );
}

#[test]
fn several_occurrences_of_one_rule_act_once_for_the_latest_on_time_one() {
    let config = config(
        r#"
[defaults]
timezone = "Asia/Tokyo"
catch_up = "90m"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"
[[rules]]
name = "hourly"
action = "stop"
schedule = "0 0 * * * *"
"#,
    );
    // Last run at 10:00:00Z, now 14:30Z: occurrences 11, 12, 13, 14 (UTC). 11 and 12 are more than 90 minutes
    // late (missed); 13 and 14 are on time, and only 14 acts.
    let window = Window { after: ts("2026-03-02T10:00:00Z"), until: ts("2026-03-02T14:30:00Z") };
    let plan = plan(&[instance("ci-1")], &config, &StateFacts::default(), window, ts("2026-03-02T14:30:00Z"));
    let missed: Vec<String> = plan.missed.iter().map(|m| m.occurrence.timestamp().to_string()).collect();
    assert_eq!(missed, ["2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"]);
    assert_eq!(plan.actions.len(), 1, "{plan:#?}");
    assert_eq!(plan.actions[0].occurrence.to_string(), "2026-03-02T23:00:00+09:00[Asia/Tokyo]");
    assert!(plan.skips.is_empty(), "{:#?}", plan.skips);
}

#[test]
fn catch_up_after_a_gap_runs_the_recent_occurrence_and_records_older_ones_as_missed() {
    let config = config(
        r#"
[defaults]
timezone = "Europe/Berlin"
catch_up = "2h"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"
[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
"#,
    );
    let fleet = [instance("ci-1")];
    // Down since Friday 18:00 Berlin; back on Monday.
    let after = ts("2026-02-27T17:00:00Z");
    // At 21:30 Berlin the 20:00 occurrence is 90 minutes late: within the limit, it runs.
    let late = plan(
        &fleet,
        &config,
        &StateFacts::default(),
        Window { after, until: ts("2026-03-02T20:30:00Z") },
        ts("2026-03-02T20:30:00Z"),
    );
    let missed: Vec<String> = late.missed.iter().map(|m| m.occurrence.date().to_string()).collect();
    assert_eq!(missed, ["2026-02-27", "2026-02-28", "2026-03-01"]);
    assert!(late.missed.iter().all(|m| m.rule == "evening-stop" && m.action == Action::Stop));
    assert_eq!(late.actions.len(), 1);
    assert_eq!(late.actions[0].occurrence.to_string(), "2026-03-02T20:00:00+01:00[Europe/Berlin]");
    // At 22:30 Berlin it is 2h30 late: missed too, and nothing runs.
    let too_late = plan(
        &fleet,
        &config,
        &StateFacts::default(),
        Window { after, until: ts("2026-03-02T21:30:00Z") },
        ts("2026-03-02T21:30:00Z"),
    );
    assert_eq!(too_late.missed.len(), 4);
    assert!(too_late.actions.is_empty() && too_late.skips.is_empty(), "{too_late:#?}");
}

#[test]
fn a_future_window_previews_tonight_with_snoozes_judged_at_the_occurrence() {
    let config = config(CONFIG);
    let now = ts("2026-03-02T12:00:00Z");
    let window = Window { after: now, until: ts("2026-03-02T20:00:00Z") };
    let until_nine = with_tag(instance("ci-1"), "autostop-snooze-until", "2026-03-02T21:00:00+01:00");
    let until_three = with_tag(instance("ci-2"), "autostop-snooze-until", "2026-03-02T15:00:00+01:00");
    let plan = plan(&[until_nine.clone(), until_three.clone()], &config, &StateFacts::default(), window, now);
    assert_eq!(outcomes(&plan, &until_nine), expect(&[("evening-stop", Skip("snoozed"))]));
    assert_eq!(outcomes(&plan, &until_three), expect(&[("evening-stop", Act(Action::Stop))]));
    assert!(plan.missed.is_empty());
}

#[test]
fn the_window_excludes_its_start_and_includes_its_end() {
    let config = config(CONFIG);
    let fleet = [instance("ci-1")];
    let at_eight = ts("2026-03-02T19:00:00Z");
    let ending = plan(
        &fleet,
        &config,
        &StateFacts::default(),
        Window { after: ts("2026-03-02T18:00:00Z"), until: at_eight },
        at_eight,
    );
    assert_eq!(ending.actions.len(), 1);
    let starting = plan(
        &fleet,
        &config,
        &StateFacts::default(),
        Window { after: at_eight, until: ts("2026-03-02T19:30:00Z") },
        at_eight,
    );
    assert!(starting.actions.is_empty(), "{starting:#?}");
}

#[test]
fn a_fixed_time_in_the_spring_gap_runs_once_an_hour_later() {
    let config = config(
        r#"
[defaults]
timezone = "Europe/Berlin"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"
[[rules]]
name = "night-stop"
action = "stop"
schedule = "0 30 2 * * *"
"#,
    );
    // 2026-03-29: Berlin skips from 02:00 to 03:00; the 02:30 occurrence runs at 03:30 CEST (01:30Z).
    let window = Window { after: ts("2026-03-28T23:00:00Z"), until: ts("2026-03-29T02:00:00Z") };
    let plan = plan(&[instance("ci-1")], &config, &StateFacts::default(), window, ts("2026-03-29T02:00:00Z"));
    assert_eq!(plan.actions.len(), 1, "{plan:#?}");
    assert_eq!(plan.actions[0].occurrence.to_string(), "2026-03-29T03:30:00+02:00[Europe/Berlin]");
}

#[test]
fn a_start_rule_does_not_undo_a_stop_its_owner_made_since_its_previous_occurrence() {
    let stopped_at = |at: &str| {
        let mut target = with_tag(with_state(instance("ci-owner"), Some("Stopped")), "autostart", "yes");
        target.last_operation =
            Some(LastOperation { name: "Stop".to_owned(), time: Some(ts(at)), status: "Succeeded".to_owned() });
        target
    };
    // morning-start at 08:00 Berlin (07:00Z) on 3 March; its previous occurrence is 2 March 07:00Z.
    let now = ts("2026-03-03T07:00:30Z");
    let window = Window { after: ts("2026-03-03T06:59:00Z"), until: now };
    let none = StateFacts::default();
    let owner = stopped_at("2026-03-02T15:00:00Z");
    let planned = plan(std::slice::from_ref(&owner), &config(CONFIG), &none, window, now);
    assert_eq!(outcomes(&planned, &owner), expect(&[("morning-start", Skip("owner-stopped"))]));
    assert_eq!(planned.skips[0].reason.to_string(), "stopped by its owner at 2026-03-02 16:00 CET; not restarted");

    // The same stop, sent by autostop's evening rule a few seconds earlier: autostop's own, so it starts.
    let ours = StateFacts {
        autostop_stops: [(owner.id.to_ascii_lowercase(), ts("2026-03-02T14:59:59Z"))].into(),
        ..StateFacts::default()
    };
    let planned = plan(std::slice::from_ref(&owner), &config(CONFIG), &ours, window, now);
    assert_eq!(outcomes(&planned, &owner), expect(&[("morning-start", Act(Action::Start))]));

    // A stop before the previous occurrence was that occurrence's to answer: started.
    let old = stopped_at("2026-03-02T06:00:00Z");
    let planned = plan(std::slice::from_ref(&old), &config(CONFIG), &none, window, now);
    assert_eq!(outcomes(&planned, &old), expect(&[("morning-start", Act(Action::Start))]));

    // The rule may say to restart anyway.
    let restarting = CONFIG.replace(
        "select = { tags = { autostart = \"yes\" } }",
        "select = { tags = { autostart = \"yes\" } }\nrestart_owner_stopped = true",
    );
    let planned = plan(std::slice::from_ref(&owner), &config(&restarting), &none, window, now);
    assert_eq!(outcomes(&planned, &owner), expect(&[("morning-start", Act(Action::Start))]));
}

#[test]
fn a_postponed_stop_waits_for_its_new_time_and_then_acts_for_its_instance_alone() {
    let config = config(CONFIG);
    let (late, other, skipped) = (instance("ci-late"), instance("ci-other"), instance("ci-skip"));
    let fleet = [late.clone(), other.clone(), skipped.clone()];
    // evening-stop at 20:00 Berlin (19:00Z); ci-late postponed by an hour, ci-skip skipped.
    let occurrence = ts("2026-03-02T19:00:00Z");
    let postponed = |target: &Instance, until: Option<&str>| autostop_policy::Postponed {
        rule: "evening-stop".to_owned(),
        occurrence,
        target_key: target.id.to_ascii_lowercase(),
        until: until.map(ts),
    };
    let facts = StateFacts {
        postponements: vec![postponed(&late, Some("2026-03-02T20:00:00Z")), postponed(&skipped, None)],
        ..StateFacts::default()
    };
    let now = ts("2026-03-02T19:00:30Z");
    let at_eight = plan(&fleet, &config, &facts, Window { after: ts("2026-03-02T18:59:00Z"), until: now }, now);
    assert_eq!(outcomes(&at_eight, &late), expect(&[("evening-stop", Skip("postponed"))]));
    assert_eq!(outcomes(&at_eight, &skipped), expect(&[("evening-stop", Skip("skipped-by-owner"))]));
    assert_eq!(outcomes(&at_eight, &other), expect(&[("evening-stop", Act(Action::Stop))]));
    let reason = at_eight.skips.iter().find(|skip| skip.target.id == late.id).unwrap().reason.to_string();
    assert_eq!(reason, "postponed by its owner until 21:00");

    // At 21:00 Berlin the occurrence comes back for ci-late alone.
    let now = ts("2026-03-02T20:00:20Z");
    let window = Window { after: ts("2026-03-02T19:30:00Z"), until: now };
    let mut due = autostop_policy::occurrences(&config, window, now);
    let zoned = occurrence.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    let added = due.add_postponed(&config, &facts.postponements[0], zoned, ts("2026-03-02T20:00:00Z"), now);
    assert_eq!(added, autostop_policy::PostponedDue::Due);
    let at_nine = autostop_policy::plan_due(&shared(&fleet), &config, &facts, due, now);
    assert_eq!(outcomes(&at_nine, &late), expect(&[("evening-stop", Act(Action::Stop))]));
    assert!(outcomes(&at_nine, &other).is_empty(), "{at_nine:#?}");
    assert!(outcomes(&at_nine, &skipped).is_empty(), "{at_nine:#?}");

    // Past the catch-up limit (1h) after its new time, it is missed.
    let mut due = autostop_policy::Occurrences::default();
    let zoned = occurrence.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    let much_later = ts("2026-03-02T21:30:00Z");
    let added = due.add_postponed(&config, &facts.postponements[0], zoned, ts("2026-03-02T20:00:00Z"), much_later);
    assert_eq!(added, autostop_policy::PostponedDue::Missed);
}
