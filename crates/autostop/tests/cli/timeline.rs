//! `plan --window 7d` through the binary: every weekday occurrence of a week in time order, one JSON object per
//! (occurrence, target), each decision seeing what the earlier ones left, owners' postponements read from the state.

use crate::util::*;

const CONFIG: &str = r#"
[defaults]
timezone = "Asia/Tokyo"

[[scopes]]
subscription = "00000000-0000-0000-0000-00000000a001"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * Mon-Fri"

[[rules]]
name = "morning-start"
action = "start"
schedule = "0 0 8 * * Mon-Fri"
"#;

#[tokio::test]
async fn a_week_of_plan_lists_each_occurrence_for_each_target_simulating_forward() {
    let emulator = emulator(fleet(vec![
        compute("plain-1", "ComputeInstance", "Running"),
        compute("asleep-1", "ComputeInstance", "Stopped"),
    ]))
    .await;
    let setup = setup(CONFIG);
    // Monday 2 March 2026, noon in Tokyo, for seven days: through Monday 9 March 08:00.
    let args = ["plan", "--at", "2026-03-02T12:00:00", "--window", "7d", "-o", "json"];
    let run = Cli::against(&emulator, &args).env("AUTOSTOP_CONFIG", &setup.config).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    let rows = rows.as_array().expect("an array");
    for row in rows {
        let mut keys: Vec<&str> = row.as_object().expect("an object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "action",
                "at",
                "code",
                "decision",
                "id",
                "name",
                "native_starts",
                "notice",
                "occurrence",
                "reason",
                "rule"
            ],
            "{row}"
        );
        assert_eq!(row["notice"], serde_json::Value::Null, "no rule has notify: {row}");
        assert_eq!(row["at"], row["occurrence"], "nothing postponed: each decision at its occurrence");
    }
    let line = |row: &serde_json::Value| {
        format!(
            "{} {} {} {}{}",
            row["occurrence"].as_str().expect("occurrence"),
            row["name"].as_str().expect("name"),
            row["action"].as_str().expect("action"),
            row["decision"].as_str().expect("decision"),
            row["code"].as_str().map(|code| format!(" {code}")).unwrap_or_default(),
        )
    };
    let of = |name: &str| rows.iter().filter(|row| row["name"] == name).map(line).collect::<Vec<_>>();
    let mut expected_plain = Vec::new();
    let mut expected_asleep = vec!["2026-03-02T20:00:00+09:00 asleep-1 stop skip already-there".to_owned()];
    expected_plain.push("2026-03-02T20:00:00+09:00 plain-1 stop act".to_owned());
    for day in 3..=6 {
        for (name, list) in [("plain-1", &mut expected_plain), ("asleep-1", &mut expected_asleep)] {
            list.push(format!("2026-03-0{day}T08:00:00+09:00 {name} start act"));
            list.push(format!("2026-03-0{day}T20:00:00+09:00 {name} stop act"));
        }
    }
    for (name, list) in [("plain-1", &mut expected_plain), ("asleep-1", &mut expected_asleep)] {
        list.push(format!("2026-03-09T08:00:00+09:00 {name} start act"));
    }
    // plain-1 is stopped on Monday evening, so Tuesday's start acts on it; asleep-1 is already stopped on Monday.
    assert_eq!(of("plain-1"), expected_plain);
    assert_eq!(of("asleep-1"), expected_asleep);
    // Time order across targets: no occurrence comes before an earlier one.
    let times: Vec<&str> = rows.iter().map(|row| row["occurrence"].as_str().expect("occurrence")).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
    assert_eq!(emulator.control().state(&id("plain-1")).as_deref(), Some("Running"), "plan changes nothing");
}

/// Keeps an owner's choice for the stop of `name` by `evening-stop` at `occurrence` in the state at `state`, as
/// the daemon's notice link does.
fn postpone(state: &std::path::Path, name: &str, occurrence: &str, choice: &str) {
    let occurrence: jiff::Zoned = occurrence.parse().expect("occurrence");
    let choice = autostop_policy::Choice::parse(choice).expect("a choice");
    let until = choice.until(&occurrence);
    let key =
        autostop_state::ClaimKey { rule: "evening-stop".into(), occurrence: occurrence.clone(), target_id: id(name) };
    let postponement = autostop_state::Postponement {
        key,
        target_name: name.into(),
        choice: choice.label(),
        until: until.as_ref().map(jiff::Zoned::timestamp),
        made_at: occurrence.timestamp() - jiff::SignedDuration::from_mins(30),
    };
    let event = autostop_state::Event {
        rule: Some("evening-stop".into()),
        occurrence: Some(occurrence.clone()),
        target_id: Some(id(name)),
        target_name: Some(name.into()),
        action: Some("stop".into()),
        ..autostop_state::Event::new(postponement.made_at, autostop_state::EventKind::Postponed)
    };
    let store = autostop_state::SqliteStore::open(state).expect("state");
    store.postpone(&postponement, &event).expect("postponement kept");
}

#[tokio::test]
async fn a_week_of_plan_runs_a_postponed_stop_at_its_new_time_and_leaves_a_skipped_one_running() {
    let emulator = emulator(fleet(vec![
        compute("late-1", "ComputeInstance", "Running"),
        compute("skip-1", "ComputeInstance", "Running"),
    ]))
    .await;
    let setup = setup(CONFIG);
    // Monday's 20:00 stop of late-1 postponed by +2h; Tuesday's stop of skip-1 skipped.
    postpone(&setup.state, "late-1", "2026-03-02T20:00:00+09:00[Asia/Tokyo]", "+2h");
    postpone(&setup.state, "skip-1", "2026-03-03T20:00:00+09:00[Asia/Tokyo]", "skip");
    let args = ["plan", "--at", "2026-03-02T12:00:00", "--window", "7d", "-o", "json"];
    let run = Cli::against(&emulator, &args).env("AUTOSTOP_CONFIG", &setup.config).args_state(&setup.state).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    let rows = rows.as_array().expect("an array");
    let text = |row: &serde_json::Value, key: &str| row[key].as_str().map(str::to_owned);
    let of = |name: &str| {
        rows.iter()
            .filter(|row| row["name"] == name)
            .take(5)
            .map(|row| {
                assert_eq!(row["rule"], if row["action"] == "stop" { "evening-stop" } else { "morning-start" });
                assert_eq!(row["id"], id(name).as_str());
                (
                    text(row, "occurrence").expect("occurrence"),
                    text(row, "at").expect("at"),
                    text(row, "decision").expect("decision"),
                    text(row, "code"),
                    text(row, "reason"),
                )
            })
            .collect::<Vec<_>>()
    };
    let row = |occurrence: &str, at: &str, decision: &str, code: Option<&str>, reason: Option<&str>| {
        (occurrence.to_owned(), at.to_owned(), decision.to_owned(), code.map(str::to_owned), reason.map(str::to_owned))
    };
    assert_eq!(
        of("late-1"),
        [
            // Kept running at 20:00, stopped at 22:00 under the same rule and occurrence.
            row(
                "2026-03-02T20:00:00+09:00",
                "2026-03-02T20:00:00+09:00",
                "skip",
                Some("postponed"),
                Some("postponed by its owner until 22:00")
            ),
            row("2026-03-02T20:00:00+09:00", "2026-03-02T22:00:00+09:00", "act", None, None),
            // Stopped at 22:00: Tuesday's start acts.
            row("2026-03-03T08:00:00+09:00", "2026-03-03T08:00:00+09:00", "act", None, None),
            row("2026-03-03T20:00:00+09:00", "2026-03-03T20:00:00+09:00", "act", None, None),
            row("2026-03-04T08:00:00+09:00", "2026-03-04T08:00:00+09:00", "act", None, None),
        ]
    );
    assert_eq!(
        of("skip-1"),
        [
            row("2026-03-02T20:00:00+09:00", "2026-03-02T20:00:00+09:00", "act", None, None),
            row("2026-03-03T08:00:00+09:00", "2026-03-03T08:00:00+09:00", "act", None, None),
            row(
                "2026-03-03T20:00:00+09:00",
                "2026-03-03T20:00:00+09:00",
                "skip",
                Some("skipped-by-owner"),
                Some("skipped by its owner for this occurrence")
            ),
            // Never stopped on Tuesday: Wednesday's start finds it running.
            row(
                "2026-03-04T08:00:00+09:00",
                "2026-03-04T08:00:00+09:00",
                "skip",
                Some("already-there"),
                Some("already Running")
            ),
            row("2026-03-04T20:00:00+09:00", "2026-03-04T20:00:00+09:00", "act", None, None),
        ]
    );
    // The table says when the postponed stop runs.
    let table =
        Cli::against(&emulator, &args[..5]).env("AUTOSTOP_CONFIG", &setup.config).args_state(&setup.state).run().await;
    assert_eq!(table.code, 0, "{table:#?}");
    assert!(table.stdout.contains("2026-03-02T20:00:00+09:00 (at 2026-03-02T22:00:00+09:00)"), "{}", table.stdout);
    assert_eq!(emulator.control().state(&id("late-1")).as_deref(), Some("Running"), "plan changes nothing");
}
