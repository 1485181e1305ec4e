//! Idle shutdown and native schedules through the binary: `enforce idle-shutdown` (dry run, changes with their
//! old and new values in the audit log, owner opt-out), `[idle_shutdown]` applied by `run`, its bounds refused
//! by `check`, `list` showing each instance's setting and schedule count, and `plan` naming a native schedule
//! that starts what a stop rule stops.

use autostop_emulator::{Compute, NativeSchedule};

use crate::util::*;

fn instance(name: &str, idle: Option<&str>, tags: &[(&str, &str)]) -> Compute {
    Compute {
        idle_time_before_shutdown: idle.map(str::to_owned),
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..compute(name, "ComputeInstance", "Running")
    }
}

fn idle_fleet() -> autostop_emulator::Fleet {
    let native_start = NativeSchedule {
        action: "Start".into(),
        cron: "0 8 * * *".into(),
        time_zone: "Pacific Standard Time".into(),
        enabled: true,
    };
    fleet(vec![
        instance("off-1", None, &[]),
        instance("long-1", Some("P1D"), &[]),
        instance("short-1", Some("PT30M"), &[]),
        instance("optout-1", None, &[("autostop", "off")]),
        Compute { schedules: vec![native_start], ..instance("native-1", Some("PT45M"), &[]) },
        compute("cluster-1", "AmlCompute", "Running"),
    ])
}

/// The idle shutdown `list` shows for `name` (`null` when off).
async fn idle_of(emulator: &autostop_emulator::Emulator, name: &str) -> serde_json::Value {
    let run = Cli::against(emulator, &["list", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    row(&run.json(), name)["idleShutdown"].clone()
}

#[tokio::test]
async fn list_shows_idle_shutdown_and_native_schedules() {
    let emulator = emulator(idle_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "long-1")["idleShutdown"], "P1D");
    assert_eq!(row(&rows, "off-1")["idleShutdown"], serde_json::Value::Null);
    assert!(row(&rows, "off-1").as_object().unwrap().contains_key("idleShutdown"), "off is shown as null");
    assert_eq!(row(&rows, "native-1")["nativeSchedules"], 1);
    assert_eq!(row(&rows, "off-1")["nativeSchedules"], 0);
    assert!(row(&rows, "cluster-1").get("idleShutdown").is_none(), "a cluster has no idle shutdown");
}

#[tokio::test]
async fn enforce_sets_what_is_off_or_too_long_and_records_old_and_new() {
    let emulator = emulator(idle_fleet()).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.db");
    let base = ["enforce", "idle-shutdown", "--max", "60m", "-s", SUB, "-o", "json"];

    let dry: Vec<&str> = base.iter().copied().chain(["--dry-run"]).collect();
    let run = Cli::against(&emulator, &dry).args_state(&state).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "off-1")["result"], "planned");
    assert_eq!(idle_of(&emulator, "off-1").await, serde_json::Value::Null, "a dry run changes nothing");

    let run = Cli::against(&emulator, &base).args_state(&state).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 3, "off-1, long-1 and the opted-out one: {rows:#}");
    let off = row(&rows, "off-1");
    assert_eq!(
        (off["result"].as_str(), off["old"].as_str(), off["new"].as_str()),
        (Some("succeeded"), None, Some("PT60M"))
    );
    let long = row(&rows, "long-1");
    assert_eq!((long["old"].as_str(), long["new"].as_str()), (Some("P1D"), Some("PT60M")));
    let optout = row(&rows, "optout-1");
    assert_eq!(optout["result"], "skipped");
    assert!(optout["reason"].as_str().unwrap().contains("opted out"), "{optout:#}");
    for (name, expected) in [("off-1", "PT60M"), ("long-1", "PT60M"), ("short-1", "PT30M"), ("native-1", "PT45M")] {
        assert_eq!(idle_of(&emulator, name).await, expected, "{name}");
    }
    assert_eq!(idle_of(&emulator, "optout-1").await, serde_json::Value::Null);

    let history = Cli::against(&emulator, &["history", "-o", "json"]).args_state(&state).run().await;
    assert_eq!(history.code, 0, "{history:#?}");
    let events = history.json();
    let long = events.as_array().unwrap().iter().find(|e| e["targetName"] == "long-1").expect("long-1 recorded");
    assert_eq!(long["action"], "idle-shutdown", "{long:#}");
    assert!(long["reason"].as_str().unwrap().contains("P1D -> PT60M"), "old and new in the audit log: {long:#}");

    let again = Cli::against(&emulator, &base).args_state(&state).run().await;
    let rows = again.json();
    assert!(rows.as_array().unwrap().iter().all(|r| r["result"] == "skipped"), "nothing left to change: {rows:#}");
}

#[tokio::test]
async fn bounds_are_refused_on_the_command_line_and_by_check() {
    let bare = Cli::bare(&["enforce", "idle-shutdown", "--max", "10m", "-s", SUB]).run().await;
    assert_eq!(bare.code, 2, "{bare:#?}");
    assert!(bare.stderr.contains("15 minutes to 3 days"), "{bare:#?}");
    let setup = setup(&format!("[[scopes]]\nsubscription = \"{SUB}\"\n\n[idle_shutdown]\nmax = \"4d\"\n"));
    let check = Cli::bare(&["check", "--config", setup.config.to_str().unwrap()]).run().await;
    assert_eq!(check.code, 2, "{check:#?}");
    assert!(check.stderr.contains(":5:7: idle_shutdown.max: expected 15 minutes to 3 days"), "{check:#?}");
}

#[tokio::test]
async fn run_applies_the_idle_shutdown_section_and_plan_names_native_conflicts() {
    let emulator = emulator(idle_fleet()).await;
    let setup = setup(&format!(
        r#"
[[scopes]]
subscription = "{SUB}"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"

[idle_shutdown]
max = "2h"
"#
    ));
    let (config, state) = (setup.config.as_path(), setup.state.as_path());
    let run =
        Cli::against(&emulator, &["run", "-o", "json"]).env("AUTOSTOP_CONFIG", config).args_state(state).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    let off = row(&rows, "off-1");
    assert_eq!(
        (off["action"].as_str(), off["result"].as_str()),
        (Some("idle-shutdown"), Some("succeeded")),
        "{rows:#}"
    );
    assert!(off["reason"].as_str().unwrap().contains("off -> PT120M"), "{off:#}");
    assert_eq!(idle_of(&emulator, "long-1").await, "PT120M");
    assert_eq!(idle_of(&emulator, "short-1").await, "PT30M");

    let plan = Cli::against(&emulator, &["plan", "--window", "24h"])
        .env("AUTOSTOP_CONFIG", config)
        .args_state(state)
        .run()
        .await;
    assert_eq!(plan.code, 0, "{plan:#?}");
    // Part of the answer on stdout, below the table, not a warning aside.
    let (_, below) = plan
        .stdout
        .split_once("Native schedules that start again what a stop rule stops:")
        .unwrap_or_else(|| panic!("no native schedule section: {plan:#?}"));
    assert_eq!(
        below.trim(),
        "rule evening-stop stops native-1: Start cron 0 8 * * * (Pacific Standard Time)",
        "{plan:#?}"
    );
    assert!(!plan.stderr.contains("native"), "{plan:#?}");

    // In JSON, on the rows of that rule and instance only.
    let json = Cli::against(&emulator, &["plan", "--window", "24h", "-o", "json"])
        .env("AUTOSTOP_CONFIG", config)
        .args_state(state)
        .run()
        .await;
    assert_eq!(json.code, 0, "{json:#?}");
    let rows = json.json();
    assert_eq!(
        row(&rows, "native-1")["native_starts"],
        serde_json::json!(["Start cron 0 8 * * * (Pacific Standard Time)"]),
        "{rows:#}"
    );
    assert_eq!(row(&rows, "off-1")["native_starts"], serde_json::json!([]), "{rows:#}");
}
