//! Owners in the loop, through the binary: a start rule does not undo a stop the owner made themselves (through
//! ARM, with another client), but starts again what autostop stopped.

use std::collections::BTreeMap;

use autostop_emulator::{Compute, Emulator};

use crate::util::*;

const CONFIG: &str = r#"
[defaults]
timezone = "Asia/Tokyo"
catch_up = "1h"

[[scopes]]
subscription = "00000000-0000-0000-0000-00000000a001"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
select = { names = ["auto-*"] }

[[rules]]
name = "morning-start"
action = "start"
schedule = "0 0 8 * * Mon-Fri"
select = { tags = { autostart = "yes" } }
"#;

fn morning(name: &str) -> Compute {
    Compute {
        tags: BTreeMap::from([("autostart".to_owned(), "yes".to_owned())]),
        ..compute(name, "ComputeInstance", "Running")
    }
}

/// The owner stops `name` through ARM with a client of their own (not autostop), and waits until it is stopped.
async fn stop_as_owner(emulator: &Emulator, name: &str) {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let url = format!("{}{}/stop?api-version=2024-04-01", emulator.arm_endpoint().trim_end_matches('/'), id(name));
    let request = http.post(url).bearer_auth(emulator.control().mint_token()).send();
    let response = tokio::time::timeout(TIMEOUT, request).await.expect("stop in time").expect("stop is sent");
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED, "{response:?}");
    emulator.control().complete_operations();
    assert_eq!(emulator.control().state(&id(name)).as_deref(), Some("Stopped"));
}

#[tokio::test]
async fn a_start_rule_does_not_undo_the_owners_own_stop_but_starts_what_autostop_stopped() {
    let emulator = emulator(fleet(vec![morning("owner-1"), morning("auto-1")])).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("autostop.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let state = dir.path().join("audit.db");
    let cli = |args: &[&str]| Cli::against(&emulator, args).env("AUTOSTOP_CONFIG", &config).args_state(&state);

    // Monday 20:00 Tokyo: autostop stops auto-1; the owner of owner-1 stops it themselves.
    let evening = cli(&["run", "--now", "2026-03-02T20:00:30+09:00", "-o", "json"]).run().await;
    assert_eq!(evening.code, 0, "{evening:#?}");
    assert_eq!(row(&evening.json(), "auto-1")["result"], "succeeded", "{evening:#?}");
    stop_as_owner(&emulator, "owner-1").await;

    // The plan for Tuesday morning says so, before anything happens.
    let plan = cli(&["plan", "--at", "2026-03-03T07:30:00+09:00", "--window", "1h", "-o", "json"]).run().await;
    assert_eq!(plan.code, 0, "{plan:#?}");
    let rows = plan.json();
    let owner = row(&rows, "owner-1");
    assert_eq!((owner["decision"].as_str(), owner["code"].as_str()), (Some("skip"), Some("owner-stopped")), "{rows:#}");
    let reason = owner["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("stopped by its owner at ") && reason.ends_with(" JST; not restarted"), "{rows:#}");
    assert_eq!(row(&rows, "auto-1")["decision"], "act", "autostop's own stop is undone: {rows:#}");

    // Tuesday 08:00 Tokyo: auto-1 starts, owner-1 stays stopped, and the history says why.
    let morning = cli(&["run", "--now", "2026-03-03T08:00:10+09:00", "-o", "json"]).run().await;
    assert_eq!(morning.code, 0, "{morning:#?}");
    let rows = morning.json();
    assert_eq!(row(&rows, "auto-1")["result"], "succeeded", "{rows:#}");
    assert_eq!(row(&rows, "owner-1")["result"], "skipped", "{rows:#}");
    assert_eq!(row(&rows, "owner-1")["reason"].as_str(), Some(reason), "{rows:#}");
    assert_eq!(emulator.control().state(&id("auto-1")).as_deref(), Some("Running"));
    assert_eq!(emulator.control().state(&id("owner-1")).as_deref(), Some("Stopped"));

    let history = cli(&["history", "--target", "owner-1", "-o", "json"]).run().await;
    assert_eq!(history.code, 0, "{history:#?}");
    let events = history.json();
    let skipped = events.as_array().unwrap().iter().find(|event| event["result"] == "skipped");
    assert_eq!(skipped.and_then(|event| event["reason"].as_str()), Some(reason), "{events:#}");

    let evening = cli(&["run", "--now", "2026-03-03T20:00:30+09:00", "-o", "json"]).run().await;
    assert_eq!(evening.code, 0, "{evening:#?}");

    // A rule that says restart_owner_stopped = true starts it anyway, on its next occurrence.
    let restarting = CONFIG.replace(
        "select = { tags = { autostart = \"yes\" } }",
        "select = { tags = { autostart = \"yes\" } }\nrestart_owner_stopped = true",
    );
    std::fs::write(&config, restarting).unwrap();
    let next = cli(&["run", "--now", "2026-03-04T08:00:10+09:00", "-o", "json"]).run().await;
    assert_eq!(next.code, 0, "{next:#?}");
    assert_eq!(row(&next.json(), "owner-1")["result"], "succeeded", "{next:#?}");
    assert_eq!(emulator.control().state(&id("owner-1")).as_deref(), Some("Running"));
}
