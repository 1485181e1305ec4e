//! `autostop list`: the JSON contract, paging, scoping and the table.

use crate::util::*;

#[tokio::test]
async fn list_prints_every_compute_of_every_subscription_across_pages() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-s", SUB2, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    let mut names = rows.as_array().unwrap().iter().map(|row| row["name"].as_str().unwrap()).collect::<Vec<_>>();
    names.sort();
    assert_eq!(names, ["b-1", "cluster-1", "job-1", "run-1", "run-2", "starting-1", "stopped-1"]);
    let run1 = row(&rows, "run-1");
    assert_eq!(run1["id"], id("run-1"));
    assert_eq!(run1["subscription"], SUB);
    assert_eq!(run1["resourceGroup"], "ml-rg");
    assert_eq!(run1["workspace"], "ws-a");
    assert_eq!(run1["state"], "Running");
    assert_eq!(run1["vmSize"], "STANDARD_DS3_V2");
    assert!(run1["tags"].is_object(), "{run1:#}");
    assert_eq!(row(&rows, "cluster-1")["computeType"], "AmlCompute");
    assert_eq!(row(&rows, "b-1")["workspace"], "ws-b");
    let paged = emulator.control().requests().iter().filter(|r| r.path.to_lowercase().contains("skiptoken")).count();
    assert!(paged >= 2, "six computes at two per page need at least two follow-up pages");
}

#[tokio::test]
async fn list_narrows_to_one_workspace() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-s", SUB2, "-w", "ws-b", "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    assert_eq!(rows[0]["name"], "b-1");
}

#[tokio::test]
async fn list_prints_a_table_by_default() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    for needle in ["NAME", "run-1", "JobRunning", "ml-rg/ws-a", "AmlCompute"] {
        assert!(run.stdout.contains(needle), "{needle} missing from:\n{}", run.stdout);
    }
}

#[tokio::test]
async fn demo_runs_the_whole_job() {
    let run = Cli::bare(&["demo", "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    // Three JSON arrays: list, stop --all --wait, list.
    let documents = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter::<serde_json::Value>()
        .collect::<Result<Vec<_>, _>>()
        .expect("three JSON documents");
    assert_eq!(documents.len(), 3, "{}", run.stdout);
    let stopped = documents[1].as_array().unwrap().iter().filter(|row| row["result"] == "succeeded").count();
    assert!(stopped > 0, "the demo stops something: {:#}", documents[1]);
    for row in documents[1].as_array().unwrap().iter().filter(|row| row["result"] == "succeeded") {
        let after = documents[2].as_array().unwrap().iter().find(|r| r["id"] == row["id"]).expect("listed again");
        assert_eq!(after["state"], "Stopped", "{after:#}");
    }
}
