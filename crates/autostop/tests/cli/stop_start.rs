//! `autostop stop|start`: what is acted on, what is skipped and why, waiting, and partial failure.

use crate::util::*;

#[tokio::test]
async fn stop_all_wait_stops_only_running_instances_and_says_why_for_the_rest() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 6, "one row per compute considered: {rows:#}");
    for name in ["run-1", "run-2"] {
        let r = row(&rows, name);
        assert_eq!(r["result"], "succeeded", "{r:#}");
        assert_eq!(r["action"], "stop");
        assert_eq!(r["id"], id(name));
        assert_eq!(emulator.control().state(&id(name)).as_deref(), Some("Stopped"));
    }
    let expectations = [
        ("job-1", "JobRunning", "JobRunning"),
        ("stopped-1", "already Stopped", "Stopped"),
        ("starting-1", "Starting", "Starting"),
        ("cluster-1", "not a compute instance", "Running"),
    ];
    for (name, reason, state) in expectations {
        let r = row(&rows, name);
        assert_eq!(r["result"], "skipped", "{r:#}");
        assert!(r["reason"].as_str().unwrap().contains(reason), "{name}: {r:#}");
        assert!(r.get("error").is_none(), "{r:#}");
        assert_eq!(emulator.control().state(&id(name)).as_deref(), Some(state), "{name} untouched");
    }
    let outside = format!(
        "/subscriptions/{SUB2}/resourceGroups/other-rg/providers/Microsoft.MachineLearningServices/workspaces/ws-b/computes/b-1"
    );
    assert_eq!(emulator.control().state(&outside).as_deref(), Some("Running"), "outside the scope: untouched");
}

#[tokio::test]
async fn stop_without_wait_reports_accepted_and_the_operation_completes() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["stop", "run-1", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows:#}");
    assert_eq!(rows[0]["result"], "accepted");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Stopping"));
    emulator.control().complete_operations();
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Stopped"));
    assert_eq!(emulator.control().state(&id("run-2")).as_deref(), Some("Running"), "only the named one");
}

#[tokio::test]
async fn force_stops_an_instance_running_a_job() {
    let emulator = emulator(mixed_fleet()).await;
    let args = ["stop", "job-1", "--force", "--wait", "-s", SUB, "-g", "ml-rg", "-w", "ws-a", "-o", "json"];
    let run = Cli::against(&emulator, &args).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json()[0]["result"], "succeeded");
    assert_eq!(emulator.control().state(&id("job-1")).as_deref(), Some("Stopped"));
}

#[tokio::test]
async fn start_all_wait_starts_only_stopped_instances() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["start", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "stopped-1")["result"], "succeeded");
    assert_eq!(emulator.control().state(&id("stopped-1")).as_deref(), Some("Running"));
    for name in ["run-1", "job-1", "starting-1", "cluster-1"] {
        assert_eq!(row(&rows, name)["result"], "skipped", "{name}");
    }
}

#[tokio::test]
async fn one_failed_operation_does_not_stop_the_others_and_exits_1() {
    let emulator = emulator(mixed_fleet()).await;
    emulator.control().fail_operations_for("run-2");
    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "run-1")["result"], "succeeded");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Stopped"));
    let failed = row(&rows, "run-2");
    assert_eq!(failed["result"], "failed", "{failed:#}");
    assert!(failed["error"].as_str().unwrap().contains("run-2"), "the error names the resource: {failed:#}");
}

#[tokio::test]
async fn a_name_that_matches_nothing_is_a_failure_naming_it() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["stop", "run-1", "ghost-1", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    let rows = run.json();
    assert_eq!(row(&rows, "run-1")["result"], "succeeded");
    let ghost = row(&rows, "ghost-1");
    assert_eq!(ghost["result"], "failed");
    assert!(ghost["error"].as_str().unwrap().contains("ghost-1"), "{ghost:#}");
}

#[tokio::test]
async fn a_missing_instance_in_a_named_workspace_shows_arms_404() {
    let emulator = emulator(mixed_fleet()).await;
    let args = ["stop", "ghost-1", "-s", SUB, "-g", "ml-rg", "-w", "ws-a", "-o", "json"];
    let run = Cli::against(&emulator, &args).run().await;
    assert_eq!(run.code, 1, "{run:#?}");
    let error = run.json()[0]["error"].as_str().unwrap().to_owned();
    assert!(error.contains("ghost-1") && error.contains("404"), "{error}");
}

#[tokio::test]
async fn all_asks_before_acting_on_a_terminal() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::in_terminal(&emulator, &["stop", "--all", "-s", SUB], "n\n").run().await;
    assert!(run.stdout.contains("stop 2 compute instance(s)") && run.stdout.contains("[y/N]"), "{run:#?}");
    assert!(run.stdout.contains("cancelled"), "{run:#?}");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"), "nothing changed");
    let run = Cli::in_terminal(&emulator, &["stop", "--all", "--wait", "-s", SUB], "y\n").run().await;
    assert!(run.stdout.contains("[y/N]"), "{run:#?}");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Stopped"), "{run:#?}");
    let run = Cli::in_terminal(&emulator, &["start", "--all", "--yes", "--wait", "-s", SUB], "").run().await;
    assert!(!run.stdout.contains("[y/N]"), "--yes does not ask: {run:#?}");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"), "{run:#?}");
}

#[tokio::test]
async fn all_without_a_terminal_is_refused_unless_yes_and_nothing_reaches_arm() {
    let emulator = emulator(mixed_fleet()).await;
    for verb in ["stop", "start"] {
        let run = Cli::against(&emulator, &[verb, "--all", "--wait", "-s", SUB, "-o", "json"]).run().await;
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(run.stderr.contains(&format!("{verb} --all")) && run.stderr.contains("--yes"), "{run:#?}");
        assert!(run.stdout.is_empty(), "{run:#?}");
    }
    let arm = emulator.control().requests().into_iter().filter(|r| r.path.contains("/subscriptions/")).count();
    assert_eq!(arm, 0, "nothing is sent to ARM: {:#?}", emulator.control().requests());
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"));
    assert_eq!(emulator.control().state(&id("stopped-1")).as_deref(), Some("Stopped"));

    let run = Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", SUB, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Stopped"), "--yes acts");
}

#[tokio::test]
async fn all_asks_on_a_terminal_even_when_stdout_and_stderr_are_redirected() {
    let emulator = emulator(mixed_fleet()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let redirect = format!("> '{}' 2> '{}'", out.display(), err.display());
    let run = Cli::in_terminal_redirected(&emulator, &["stop", "--all", "-s", SUB], &redirect, "n\n").run().await;
    let asked = std::fs::read_to_string(&err).expect("stderr file");
    assert!(asked.contains("stop 2 compute instance(s)") && asked.contains("[y/N]"), "{asked}\n{run:#?}");
    assert!(asked.contains("cancelled"), "{asked}");
    assert_eq!(emulator.control().state(&id("run-1")).as_deref(), Some("Running"), "nothing changed");
    assert_eq!(emulator.control().state(&id("run-2")).as_deref(), Some("Running"), "nothing changed");
}

/// Where each request of the kind wanted sits in the emulator's record (in the order they were answered).
fn positions(emulator: &autostop_emulator::Emulator, wanted: impl Fn(&str, &str) -> bool) -> Vec<usize> {
    let requests = emulator.control().requests();
    requests.iter().enumerate().filter(|(_, r)| wanted(&r.method, &r.path)).map(|(at, _)| at).collect()
}

/// ws-a (first by id) lists in one page; ws-b in ten, one after the other, each request answered `latency` late.
async fn slow_second_workspace(latency: std::time::Duration) -> autostop_emulator::Emulator {
    let mut fleet = fleet(vec![compute("run-1", "ComputeInstance", "Running")]);
    let ws_b = &mut fleet.subscriptions[1].resource_groups[0].workspaces[0].computes;
    ws_b.extend((2..=10).map(|n| compute(&format!("b-{n:02}"), "ComputeInstance", "Running")));
    let options = autostop_emulator::Options {
        fleet,
        page_size: 1,
        latency,
        transition: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    tokio::time::timeout(TIMEOUT, autostop_emulator::Emulator::start(options))
        .await
        .expect("emulator start timed out")
        .expect("emulator starts")
}

#[tokio::test]
async fn a_workspace_is_acted_on_while_the_others_are_still_listed() {
    let emulator = slow_second_workspace(std::time::Duration::from_millis(100)).await;
    let subscriptions = format!("{SUB},{SUB2}");
    let run =
        Cli::against(&emulator, &["stop", "--all", "--yes", "--wait", "-s", &subscriptions, "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");

    let stop_a = positions(&emulator, |method, path| method == "POST" && path.contains("/computes/run-1/stop"));
    let lists_b = positions(&emulator, |method, path| method == "GET" && path.contains("/workspaces/ws-b/computes?"));
    assert_eq!((stop_a.len(), lists_b.len()), (1, 10), "{:#?}", emulator.control().requests());
    assert!(stop_a[0] < lists_b[9], "run-1 is stopped before ws-b's last page: {:#?}", emulator.control().requests());

    // One row per compute, in the order of their ids, as when everything was listed first.
    let rows = run.json();
    let names = rows.as_array().expect("rows").iter().map(|r| r["name"].as_str().expect("name")).collect::<Vec<_>>();
    let mut ws_b = (2..=10).map(|n| format!("b-{n:02}")).chain(["b-1".to_owned()]).collect::<Vec<_>>();
    ws_b.sort();
    assert_eq!(names, [vec!["run-1".to_owned()], ws_b].concat());
    assert!(rows.as_array().expect("rows").iter().all(|r| r["result"] == "succeeded"), "{rows:#}");
    assert_eq!(stop_posts(&emulator).values().sum::<usize>(), 11, "one stop each");
}

#[tokio::test]
async fn shutdown_during_the_listing_stops_it_says_so_and_lets_what_was_sent_finish() {
    let emulator = slow_second_workspace(std::time::Duration::from_millis(300)).await;
    let subscriptions = format!("{SUB},{SUB2}");
    let args = ["stop", "--all", "--yes", "--wait", "-s", &subscriptions, "-o", "json"];
    let child = Cli::against(&emulator, &args).spawn_captured();
    tokio::time::timeout(TIMEOUT, async {
        while !stop_posts(&emulator).contains_key("run-1") {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("run-1 stopped in time");
    let pid = child.id().expect("running");
    std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().expect("kill runs");
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output()).await.expect("ends in time").expect("output");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("shutdown came before") && stderr.contains("listed to its end"), "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).expect("JSON rows");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "ws-b was not listed to its end: {rows:#?}");
    assert_eq!((&rows[0]["name"], &rows[0]["result"]), (&"run-1".into(), &"succeeded".into()), "{rows:#?}");
    assert_eq!(stop_posts(&emulator).keys().collect::<Vec<_>>(), ["run-1"], "nothing of ws-b was sent");
}

#[tokio::test]
async fn a_confirmation_is_asked_for_once_the_whole_scope_is_listed() {
    let emulator = emulator(mixed_fleet()).await;
    let subscriptions = format!("{SUB},{SUB2}");
    let run = Cli::in_terminal(&emulator, &["stop", "--all", "--wait", "-s", &subscriptions], "y\n").run().await;
    assert!(run.stdout.contains("stop 3 compute instance(s)"), "every listing counted: {run:#?}");
    let posts = positions(&emulator, |method, path| method == "POST" && path.contains("/stop?"));
    let lists = positions(&emulator, |method, path| method == "GET" && path.contains("/computes?"));
    assert_eq!(posts.len(), 3, "{:#?}", emulator.control().requests());
    assert!(lists.last() < posts.first(), "nothing is sent before the count: {:#?}", emulator.control().requests());
}
