//! `autostop list`: the JSON contract, paging, scoping and the table.

use crate::util::*;

#[tokio::test]
async fn list_prints_every_compute_of_every_subscription_across_pages() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-s", SUB2, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    let ids = rows.as_array().unwrap().iter().map(|row| row["id"].as_str().unwrap().to_lowercase()).collect::<Vec<_>>();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "rows are printed as they arrive, yet in the order of their ids");
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
    // A cluster is no compute instance: its own kind, and none of an instance's fields.
    assert_eq!(row(&rows, "cluster-1")["kind"], "ml-compute", "{rows:#}");
    assert!(row(&rows, "cluster-1").get("idleShutdown").is_none(), "{rows:#}");
    assert_eq!(run1["kind"], "compute-instance");
    assert_eq!(row(&rows, "b-1")["workspace"], "ws-b");
    let paged = emulator.control().requests().iter().filter(|r| r.path.to_lowercase().contains("skiptoken")).count();
    assert!(paged >= 2, "six computes at two per page need at least two follow-up pages");
}

#[tokio::test]
async fn autostop_speaks_http2_to_a_server_that_offers_it() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-s", SUB2, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let served = emulator.control().requests();
    assert!(served.iter().any(|r| r.path.contains("/oauth2/v2.0/token")), "the token request is recorded: {served:?}");
    assert!(served.iter().any(|r| r.path.contains("/computes?")), "the list requests are recorded: {served:?}");
    let other: Vec<_> = served.iter().filter(|r| r.version != autostop_emulator::HttpVersion::Http2).collect();
    assert!(other.is_empty(), "every request over HTTP/2, these were not: {other:?}");
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
    let cluster = run.stdout.lines().find(|line| line.contains("cluster-1")).expect("a cluster-1 line");
    let cells: Vec<&str> = cluster.split_whitespace().collect();
    assert_eq!(cells.get(1..3), Some(&["cluster-1", "ml-compute"][..]), "{}", run.stdout);
}

/// `demo` exists only with the `emulator` feature (on by default).
#[cfg(feature = "emulator")]
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

/// The mixed fleet plus a Running instance whose name the client does not accept, read from a fleet file as
/// `autostop emulator --fleet` would.
async fn fleet_with_an_odd_name() -> (autostop_emulator::Emulator, tempfile::TempDir) {
    let mut fleet = mixed_fleet();
    fleet.subscriptions[0].resource_groups[0].workspaces[0].computes.push(compute(
        "résumé-ci",
        "ComputeInstance",
        "Running",
    ));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fleet.json");
    std::fs::write(&path, serde_json::to_string_pretty(&fleet).expect("fleet serialises")).expect("fleet written");
    let loaded = autostop_emulator::Fleet::load(&path).unwrap_or_else(|err| panic!("the fleet file loads: {err}"));
    (emulator(loaded).await, dir)
}

#[tokio::test]
async fn a_compute_with_an_odd_name_is_listed_as_skipped_and_the_rest_of_its_workspace_is_listed() {
    let (emulator, _dir) = fleet_with_an_odd_name().await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "a compute autostop cannot handle does not fail the listing: {run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 7, "six computes and the skipped one: {rows:#}");
    assert_eq!(row(&rows, "run-1")["state"], "Running");
    let odd = row(&rows, "résumé-ci");
    assert_eq!(odd["id"], id("résumé-ci"), "{odd:#}");
    assert_eq!(odd["result"], "skipped", "{odd:#}");
    assert!(odd["reason"].as_str().unwrap().contains("compute name: expected 2-24 characters"), "{odd:#}");

    let run = Cli::against(&emulator, &["list", "-s", SUB]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("run-1"), "{}", run.stdout);
    let line = run.stdout.lines().find(|line| line.starts_with("skipped résumé-ci")).unwrap_or_default();
    assert!(line.contains("compute name: expected"), "{}", run.stdout);
}

#[tokio::test]
async fn stop_all_acts_on_the_rest_of_a_workspace_that_holds_an_odd_name() {
    let (emulator, _dir) = fleet_with_an_odd_name().await;
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    for name in ["run-1", "run-2"] {
        assert_eq!(row(&rows, name)["result"], "succeeded", "{rows:#}");
        assert_eq!(emulator.control().state(&id(name)).as_deref(), Some("Stopped"));
    }
    let odd = row(&rows, "résumé-ci");
    assert_eq!((odd["result"].as_str(), odd["action"].as_str()), (Some("skipped"), Some("stop")), "{odd:#}");
    assert!(odd["reason"].as_str().unwrap().contains("compute name"), "{odd:#}");
    assert_eq!(emulator.control().state(&id("résumé-ci")).as_deref(), Some("Running"), "never acted on");

    let run = Cli::against(&emulator, &["start", "--all", "--yes", "-s", SUB]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.lines().any(|l| l.contains("résumé-ci") && l.contains("skipped")), "{}", run.stdout);
}

/// The table's size limit (`output::TABLE_ROWS`), as the README documents it.
const TABLE_ROWS: usize = 2_000;

#[tokio::test]
async fn past_the_table_limit_a_terminal_a_pipe_and_a_file_all_get_the_summary() {
    let computes = (0..=TABLE_ROWS)
        .map(|i| compute(&format!("ci-{i:04}"), "ComputeInstance", ["Running", "Stopped"][i % 2]))
        .collect::<Vec<_>>();
    let options = autostop_emulator::Options { fleet: fleet(computes), page_size: 500, ..Default::default() };
    let emulator = tokio::time::timeout(TIMEOUT, autostop_emulator::Emulator::start(options))
        .await
        .expect("emulator start timed out")
        .expect("emulator starts");
    let summary = format!("{} computes in 1 workspaces (more than {TABLE_ROWS}: a summary", TABLE_ROWS + 1);
    let counts = [format!("Running      {}", TABLE_ROWS / 2 + 1), format!("Stopped      {}", TABLE_ROWS / 2)];
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("list.txt");
    let redirect = format!(">'{}'", file.display());
    let piped = Cli::against(&emulator, &["list", "-s", SUB]).run().await;
    let on_terminal = Cli::in_terminal(&emulator, &["list", "-s", SUB], "").run().await;
    let to_file = Cli::in_terminal_redirected(&emulator, &["list", "-s", SUB], &redirect, "").run().await;
    let written = std::fs::read_to_string(&file).expect("the list was written to the file");
    for (how, run, text) in
        [("pipe", &piped, &piped.stdout), ("terminal", &on_terminal, &on_terminal.stdout), ("file", &to_file, &written)]
    {
        assert_eq!(run.code, 0, "{how}: {run:#?}");
        assert!(text.contains(&summary), "{how}: {text}");
        for count in &counts {
            assert!(text.contains(count.as_str()), "{how}: {count} missing from {text}");
        }
        assert!(!text.contains("ci-0001"), "{how}: no rows past the limit: {text}");
    }
}
