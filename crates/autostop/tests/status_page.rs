//! The status page in a real browser: `autostop serve` against the emulator, the page loaded by headless
//! Chromium (`--dump-dom`, and `--screenshot` to `target/status-page.png`), the rendered DOM checked: instance
//! names and states, the next action and its reason, the history with its failure first, the savings chart's SVG.
//! Also: the bearer token the page requires when one is set.
//!
//! Chromium comes from `.ci/setup.d/chromium.sh`, run on first use (`tests/testenv.rs`).

#[path = "../../../tests/testenv.rs"]
mod testenv;
// The unattended-mode helpers, shared with the serve and Functions tests; this test uses only some of them.
#[allow(dead_code)]
#[path = "support/unattended.rs"]
mod unattended;

use std::path::{Path, PathBuf};
use std::time::Duration;

use autostop_emulator::{Emulator, Fleet, Options, ResourceGroup, Subscription, Workspace};
use autostop_state::{Event, EventKind, SqliteStore};
use jiff::{SignedDuration, Timestamp};
use unattended::{Process, SUB, TIMEOUT, compute, id};

fn fleet() -> Fleet {
    let mut keep = compute("keep-1", "Running");
    keep.tags.insert("autostop".into(), "off".into());
    let mut research = compute("gpu-1", "Stopped");
    research.vm_size = "STANDARD_NC6S_V3".into();
    research.owner = Some("alice@contoso.com".into());
    Fleet {
        subscriptions: vec![Subscription {
            id: SUB.into(),
            resource_groups: vec![ResourceGroup {
                name: "ml-rg".into(),
                workspaces: vec![
                    Workspace {
                        name: "ws-a".into(),
                        location: "eastus".into(),
                        computes: vec![compute("run-1", "Running"), keep, compute("stopped-1", "Stopped")],
                    },
                    Workspace { name: "ws-research".into(), location: "eastus".into(), computes: vec![research] },
                ],
                ..Default::default()
            }],
        }],
    }
}

/// The audit log before the daemon starts: two confirmed stops (savings for the chart) and a failure.
fn seed(state: &Path, now: Timestamp) {
    let store = SqliteStore::open(state).expect("state");
    let record = |hours: i64, kind: EventKind, workspace: &str, name: &str, error: Option<(&str, &str)>| {
        let target = id(name).replace("/ws-a/", &format!("/{workspace}/"));
        let event = Event {
            rule: Some("evening-stop".into()),
            target_id: Some(target),
            target_name: Some(name.into()),
            action: Some("stop".into()),
            error_code: error.map(|(code, _)| code.to_owned()),
            error_message: error.map(|(_, message)| message.to_owned()),
            ..Event::new(now - SignedDuration::from_hours(hours), kind)
        };
        store.record(&event).expect("record");
    };
    record(30, EventKind::Succeeded, "ws-a", "stopped-1", None);
    record(50, EventKind::Succeeded, "ws-research", "gpu-1", None);
    record(2, EventKind::Failed, "ws-a", "run-1", Some(("OperationNotAllowed", "the compute is busy")));
    record(1, EventKind::Skipped, "ws-a", "keep-1", None);
}

async fn start(dir: &Path, env: &[(&str, &str)]) -> (Emulator, Process, String) {
    let options = Options { fleet: fleet(), ..Default::default() };
    let emulator = tokio::time::timeout(TIMEOUT, Emulator::start(options)).await.expect("in time").expect("emulator");
    // A daily stop of every instance, twelve hours from now: in the page's next 24 hours, never during the test.
    let at = unattended::occurrence_in(Duration::from_secs(12 * 3600));
    unattended::config_with_rules(dir, &[("evening-stop", "stop", "*", at)]);
    // The daemon's default state: $XDG_STATE_HOME/autostop/audit.db, with XDG_STATE_HOME = dir/state.
    seed(&dir.join("state").join("autostop").join("audit.db"), Timestamp::now());
    let config = dir.join("autostop.toml");
    let args = ["serve", "--config", config.to_str().expect("utf-8"), "--listen", "127.0.0.1:0"];
    let mut daemon = Process::spawn(&emulator, dir, &args, env, None);
    let listening = daemon.wait_for_log(|line| line["message"] == "listening").await;
    let base = format!("http://{}", listening["addr"].as_str().expect("addr"));
    (emulator, daemon, base)
}

/// Chromium on PATH (installed by `.ci/setup.d/chromium.sh` on first use, which needs root).
fn chromium() -> PathBuf {
    testenv::ensure("chromium");
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("chromium is not on PATH after .ci/setup.d/chromium.sh"))
}

/// Runs headless Chromium on `url` with a fresh profile and `extra` flags; returns its stdout.
async fn headless(url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut command = tokio::process::Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(TIMEOUT, command.output())
        .await
        .expect("chromium finished in time")
        .expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 DOM")
}

/// The text of the first element with `id` (up to its closing tag), for focused assertions.
fn section<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element #{id} in the DOM:\n{dom}"));
    let rest = &dom[start..];
    let end = rest.find("</table>").or_else(|| rest.find("</svg>")).unwrap_or(rest.len());
    &rest[..end]
}

#[tokio::test]
async fn the_page_renders_the_fleet_the_next_actions_the_history_and_the_savings_chart_in_a_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (emulator, daemon, base) = start(dir.path(), &[]).await;

    // What the page will show as states is what the emulator holds.
    unattended::wait_for_state(&emulator, &id("run-1"), &["Running"]).await;
    let dom = headless(&format!("{base}/"), &["--dump-dom"]).await;
    let fleet = section(&dom, "fleet");
    for (name, state) in [("run-1", "Running"), ("keep-1", "Running"), ("stopped-1", "Stopped"), ("gpu-1", "Stopped")] {
        let row = fleet
            .split("<tr>")
            .find(|row| row.contains(&format!(">{name}</th>")))
            .unwrap_or_else(|| panic!("no row for {name} in the fleet table:\n{fleet}"));
        assert!(row.contains(&format!("<td class=\"state\">{state}</td>")), "{name} is not {state}: {row}");
    }
    let states = section(&dom, "states");
    assert!(
        states.contains(">Running</a></th><td>2</td>") && states.contains(">Stopped</a></th><td>2</td>"),
        "{states}"
    );

    // The evening stop: run-1 is stopped, keep-1 is left alone because its owner opted out.
    let next = section(&dom, "next");
    let run_1 = next.split("<tr").find(|row| row.contains(">run-1</th>")).unwrap_or_else(|| panic!("{next}"));
    assert!(run_1.contains("evening-stop") && run_1.contains("<td class=\"decision\">act</td>"), "{run_1}");
    let keep_1 = next.split("<tr").find(|row| row.contains(">keep-1</th>")).unwrap_or_else(|| panic!("{next}"));
    assert!(keep_1.contains("<td class=\"decision\">skip</td>"), "{keep_1}");
    assert!(keep_1.contains("opted out by its owner (tag autostop = off)"), "{keep_1}");
    let stopped = next.split("<tr").find(|row| row.contains(">stopped-1</th>")).unwrap_or_else(|| panic!("{next}"));
    assert!(stopped.contains("already Stopped"), "{stopped}");

    // The failure comes first in the last day's history.
    let history = section(&dom, "history");
    let first_row = history.split("<tbody>").nth(1).and_then(|body| body.split("</tr>").next()).expect("a row");
    assert!(
        first_row.contains("failed") && first_row.contains("OperationNotAllowed: the compute is busy"),
        "{first_row}"
    );

    // The chart: SVG drawn on the server, bars for both workspaces (stopped-1 and gpu-1 are still stopped).
    let chart = section(&dom, "savings-chart");
    assert!(chart.starts_with("id=\"savings-chart\""), "{chart}");
    assert!(chart.contains("class=\"bar\""), "{chart}");
    assert!(chart.contains("data-workspace=\"ws-a\"") && chart.contains("data-workspace=\"ws-research\""), "{chart}");
    assert!(dom.contains("id=\"saved-cost\""), "{dom}");
    // gpu-1 saved 50 h at 3.06 USD and stopped-1 30 h at 0.293 (the emulator's prices): 153.00 + 8.79 = 161.79,
    // give or take the seconds between seeding and gathering.
    let cost = dom.split("id=\"saved-cost\">").nth(1).and_then(|rest| rest.split(' ').next()).expect("a cost");
    let cost: f64 = cost.parse().unwrap_or_else(|_| panic!("saved cost {cost:?}"));
    assert!((161.79..161.9).contains(&cost), "saved {cost}");

    // The same ledger feeds /metrics (over the whole audit log: here the same two stops).
    let metrics =
        tokio::time::timeout(TIMEOUT, reqwest::get(format!("{base}/metrics"))).await.expect("in time").expect("answer");
    let metrics = tokio::time::timeout(TIMEOUT, metrics.text()).await.expect("in time").expect("body");
    let value = |prefix: &str| -> f64 {
        let line =
            metrics.lines().find(|line| line.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}\n{metrics}"));
        line[prefix.len()..].trim().parse().unwrap_or_else(|_| panic!("{line}"))
    };
    assert!((161.79..161.9).contains(&value("autostop_saved_cost_total{currency=\"USD\"} ")), "{metrics}");
    assert!((80.0..80.1).contains(&value("autostop_saved_hours_total ")), "{metrics}");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    headless(&format!("{base}/"), &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2200"]).await;
    let png = std::fs::read(&shot).unwrap_or_else(|err| panic!("no screenshot at {}: {err}", shot.display()));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());

    // Filtering by workspace keeps only that workspace's instances.
    let filtered = headless(&format!("{base}/?workspace=ws-research"), &["--dump-dom"]).await;
    let fleet = section(&filtered, "fleet");
    assert!(fleet.contains(">gpu-1</th>") && !fleet.contains(">run-1</th>"), "{fleet}");

    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    exit.assert_never_wrote(emulator.client_secret());
}

#[tokio::test]
async fn with_a_token_set_the_page_answers_only_requests_that_carry_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token = "page-token-for-the-test";
    let (emulator, daemon, base) = start(dir.path(), &[("AUTOSTOP_STATUS_TOKEN", token)]).await;
    let client = reqwest::Client::new();
    let get = |authorization: Option<String>| {
        let mut request = client.get(format!("{base}/"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        async move { tokio::time::timeout(TIMEOUT, request.send()).await.expect("in time").expect("answer") }
    };
    assert_eq!(get(None).await.status(), 401);
    assert_eq!(get(Some("Bearer wrong".into())).await.status(), 401);
    let ok = get(Some(format!("Bearer {token}"))).await;
    assert_eq!(ok.status(), 200);
    let html = tokio::time::timeout(TIMEOUT, ok.text()).await.expect("in time").expect("body");
    assert!(html.contains(">run-1</th>"), "{html}");
    // /healthz stays open for probes.
    let health = tokio::time::timeout(TIMEOUT, client.get(format!("{base}/healthz")).send()).await.expect("in time");
    assert!(health.expect("answer").status().as_u16() != 401);

    let exit = daemon.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    exit.assert_never_wrote(token);
    exit.assert_never_wrote(emulator.client_secret());
}
