//! `plan --window 7d` through the binary: every weekday occurrence of a week in time order, one JSON object per
//! (occurrence, target), each decision seeing what the earlier ones left.

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
            ["action", "code", "decision", "id", "name", "notice", "occurrence", "reason", "rule"],
            "{row}"
        );
        assert_eq!(row["notice"], serde_json::Value::Null, "no rule has notify: {row}");
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
