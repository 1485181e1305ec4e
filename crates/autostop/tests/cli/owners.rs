//! Owners in the loop, through the binary: a start rule does not undo a stop the owner made themselves (through
//! ARM, with another client), but starts again what autostop stopped.

use std::collections::BTreeMap;

use autostop_emulator::{Compute, Emulator};

use crate::util::*;

/// The day in Tokyo: the evening stop stops only the `auto-*` instances.
const CONFIG: &str = day_config!(
    defaults: "timezone = \"Asia/Tokyo\"\ncatch_up = \"1h\"",
    sections: "",
    stop: "select = { names = [\"auto-*\"] }",
    start: "",
);

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
    let setup = setup(CONFIG);
    let cli = |args: &[&str]| setup.cli(&emulator, args);

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
    std::fs::write(&setup.config, restarting).unwrap();
    let next = cli(&["run", "--now", "2026-03-04T08:00:10+09:00", "-o", "json"]).run().await;
    assert_eq!(next.code, 0, "{next:#?}");
    assert_eq!(row(&next.json(), "owner-1")["result"], "succeeded", "{next:#?}");
    assert_eq!(emulator.control().state(&id("owner-1")).as_deref(), Some("Running"));
}

/// The signing key the daemon is given, and the test signs its links with.
const LINK_KEY: &str = "a link key of at least thirty-two bytes, for tests only";

/// libfaketime, where `.ci/setup.d/faketime.sh` unpacks it on first use.
fn faketime() -> std::path::PathBuf {
    crate::testenv::ensure("faketime");
    let library = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.test-env/faketime/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1");
    assert!(library.exists(), "{} is missing after .ci/setup.d/faketime.sh", library.display());
    library
}

/// `cli` run with its wall clock starting at `at` (and running on from there).
fn at_wall_clock(cli: Cli, at: jiff::Timestamp) -> Cli {
    cli.env("LD_PRELOAD", faketime())
        .env("FAKETIME", format!("@{}", at.strftime("%Y-%m-%d %H:%M:%S")))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("TZ", "UTC")
}

async fn send(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = tokio::time::timeout(TIMEOUT, request.send()).await.expect("answer in time").expect("answer");
    let code = response.status().as_u16();
    (code, tokio::time::timeout(TIMEOUT, response.text()).await.expect("body in time").expect("body"))
}

fn results(run: &Run) -> Vec<(String, String, String)> {
    let rows = run.json();
    let text = |row: &serde_json::Value, key: &str| row[key].as_str().unwrap_or_default().to_owned();
    rows.as_array().unwrap().iter().map(|row| (text(row, "name"), text(row, "result"), text(row, "reason"))).collect()
}

#[tokio::test]
async fn an_owner_postpones_or_skips_a_stop_from_a_signed_link_and_the_stop_comes_once_at_its_new_time() {
    use autostop_notify::{Link, LinkKey};
    let emulator = emulator(fleet(vec![
        compute("late-1", "ComputeInstance", "Running"),
        compute("skip-1", "ComputeInstance", "Running"),
        compute("plain-1", "ComputeInstance", "Running"),
    ]))
    .await;
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    // The stop comes 20 s from now (UTC); the links expire then.
    let occurrence = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(20)).round(jiff::Unit::Second).unwrap();
    let at = occurrence.to_zoned(jiff::tz::TimeZone::UTC);
    let setup = setup(&format!(
        r#"
[defaults]
timezone = "UTC"
catch_up = "1h"

[notify]
public_url = "{public_url}/"

[[scopes]]
subscription = "{SUB}"
resource_group = "ml-rg"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "{} {} {} * * *"
"#,
        at.second(),
        at.minute(),
        at.hour()
    ));
    let cli = |args: &[&str]| setup.cli(&emulator, args);
    let listen = format!("127.0.0.1:{port}");
    let mut daemon = cli(&["serve", "--listen", &listen]).env("AUTOSTOP_LINK_KEY", LINK_KEY).spawn();
    let http = reqwest::Client::new();
    let healthz = format!("{public_url}/healthz");
    tokio::time::timeout(TIMEOUT, async {
        while http.get(&healthz).send().await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the daemon answers in time");

    let key = LinkKey::new(LINK_KEY.as_bytes());
    let choice = |label: &str| autostop_policy::Choice::parse(label).unwrap();
    let late = Link::new(&id("late-1"), "evening-stop", occurrence, choice("+1h")).url(&public_url, &key);
    let skip = Link::new(&id("skip-1"), "evening-stop", occurrence, choice("skip")).url(&public_url, &key);
    let until = (at.clone() + jiff::SignedDuration::from_hours(1)).strftime("%H:%M").to_string();

    // GET shows what would happen and changes nothing.
    let (code, page) = send(http.get(&late)).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("late-1") && page.contains("<form method=\"post\">") && page.contains(&until), "{page}");
    let plan_args = ["plan", "--at", &(occurrence - jiff::SignedDuration::from_secs(1)).to_string(), "--window", "1m"];
    let plan = cli(&[&plan_args[..], &["-o", "json"]].concat()).run().await;
    assert_eq!(row(&plan.json(), "late-1")["decision"], "act", "GET changed something: {plan:#?}");

    // A tampered link is 403, an expired one 410; both recorded.
    let tampered = late.replace("choice=%2B1h", "choice=%2B4h");
    assert_ne!(tampered, late);
    assert_eq!(send(http.post(&tampered)).await.0, 403);
    let past = occurrence - jiff::SignedDuration::from_hours(24);
    let expired = Link::new(&id("late-1"), "evening-stop", past, choice("+1h")).url(&public_url, &key);
    assert_eq!(send(http.post(&expired)).await.0, 410);
    let other_key = Link::new(&id("late-1"), "evening-stop", occurrence, choice("+1h"))
        .url(&public_url, &LinkKey::new(b"some other key, thirty-two bytes long"));
    assert_eq!(send(http.get(&other_key)).await.0, 403);

    // POST from the page postpones; another skips.
    let (code, page) = send(http.post(&late)).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains(&format!("postponed by its owner until {until} (+1h)")), "{page}");
    assert_eq!(send(http.post(&skip)).await.0, 200);
    let plan = cli(&[&plan_args[..], &["-o", "json"]].concat()).run().await;
    let rows = plan.json();
    assert_eq!(row(&rows, "late-1")["code"], "postponed", "{rows:#}");
    assert_eq!(row(&rows, "late-1")["reason"], format!("postponed by its owner until {until}"), "{rows:#}");
    assert_eq!(row(&rows, "skip-1")["code"], "skipped-by-owner", "{rows:#}");
    assert_eq!(row(&rows, "plain-1")["decision"], "act", "{rows:#}");
    // The table says the same, in words.
    let table = cli(&plan_args).run().await;
    let line = |name: &str| table.stdout.lines().find(|line| line.contains(name)).unwrap_or_default().to_owned();
    let late = line("late-1");
    assert!(
        late.contains("skip") && late.contains(&format!("postponed by its owner until {until}")),
        "{}",
        table.stdout
    );
    assert!(line("skip-1").contains("skipped by its owner for this occurrence"), "{}", table.stdout);
    daemon.kill().await.unwrap();

    let history = cli(&["history", "-o", "json"]).run().await;
    let kinds: Vec<String> =
        history.json().as_array().unwrap().iter().map(|event| event["result"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds.iter().filter(|kind| *kind == "postponed").count(), 2, "{history:#?}");
    assert_eq!(
        kinds.iter().filter(|kind| *kind == "link-refused").count(),
        2,
        "a refused GET is not recorded: {history:#?}"
    );
    assert!(!history.stdout.contains(&key_hex_of(&late)), "the signature is not in the history");

    // At the occurrence: plain-1 stops, the others wait or are skipped.
    let wait = occurrence.duration_since(jiff::Timestamp::now()).unsigned_abs() + std::time::Duration::from_secs(1);
    tokio::time::sleep(wait).await;
    let run = cli(&["run", "-o", "json"]).run().await;
    assert_eq!(run.code, 0, "{run:#?}");
    let got = results(&run);
    assert!(got.iter().any(|(name, result, _)| name == "plain-1" && result == "succeeded"), "{got:?}");
    let postponed = format!("postponed by its owner until {until}");
    assert!(got.contains(&("late-1".into(), "skipped".into(), postponed)), "{got:?}");
    assert!(got.iter().any(|(name, result, _)| name == "skip-1" && result == "skipped"), "{got:?}");
    assert_eq!(emulator.control().state(&id("late-1")).as_deref(), Some("Running"));

    // An hour later (the wall clock moved on), the daemon wakes for the postponed stop: late-1 stops, under the
    // same rule and occurrence, once.
    let until_at = occurrence + jiff::SignedDuration::from_hours(1);
    let later = until_at - jiff::SignedDuration::from_secs(3);
    let mut daemon = at_wall_clock(cli(&["serve", "--listen", &listen]), later).spawn();
    tokio::time::timeout(TIMEOUT, async {
        while emulator.control().state(&id("late-1")).as_deref() != Some("Stopped") {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the daemon stops late-1 at its new time");
    // The daemon records the stop once it has read late-1 back: wait for that record, then stop the daemon.
    let succeeded = |events: &serde_json::Value| {
        events.as_array().unwrap().iter().filter(|e| e["result"] == "succeeded").cloned().collect::<Vec<_>>()
    };
    let events = tokio::time::timeout(TIMEOUT, async {
        loop {
            let events = cli(&["history", "--target", "late-1", "-o", "json"]).run().await.json();
            if !succeeded(&events).is_empty() {
                break events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the daemon records the stop");
    daemon.kill().await.unwrap();
    assert_eq!(emulator.control().state(&id("skip-1")).as_deref(), Some("Running"), "a skip skips");
    let stops = succeeded(&events);
    assert_eq!(stops.len(), 1, "{events:#}");
    assert_eq!(stops[0]["occurrence"], autostop_state::rfc3339(&at), "{events:#}");
    assert_eq!(stops[0]["rule"], "evening-stop", "{events:#}");
    let again = at_wall_clock(cli(&["run", "-o", "json"]), until_at + jiff::SignedDuration::from_secs(30)).run().await;
    assert_eq!(again.code, 0, "{again:#?}");
    assert_eq!(again.json(), serde_json::json!([]), "the postponed stop comes once");
}

/// The signature a link carries.
fn key_hex_of(url: &str) -> String {
    url.rsplit("sig=").next().unwrap_or_default().to_owned()
}

/// A webhook receiver on 127.0.0.1: answers 500 to its first `failures` requests, then 200 and keeps each body.
async fn receiver(failures: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(AtomicUsize::new(0));
    let kept = bodies.clone();
    let hook = axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
        let (kept, seen) = (kept.clone(), seen.clone());
        async move {
            if seen.fetch_add(1, Ordering::SeqCst) < failures {
                return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            }
            kept.lock().unwrap().push(body);
            axum::http::StatusCode::OK
        }
    });
    let router = axum::Router::new().route("/hook/SECRET-TOKEN-123", hook);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook/SECRET-TOKEN-123", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, bodies)
}

#[tokio::test]
async fn a_stop_rule_notifies_its_channel_once_with_a_digest_and_a_failed_notice_is_retried() {
    let (hook, bodies) = receiver(1).await;
    let emulator = emulator(fleet(vec![
        compute("run-1", "ComputeInstance", "Running"),
        compute("run-2", "ComputeInstance", "Running"),
        compute("run-stopped", "ComputeInstance", "Stopped"),
        Compute {
            tags: BTreeMap::from([("autostop".to_owned(), "off".to_owned())]),
            ..compute("run-keep", "ComputeInstance", "Running")
        },
    ]))
    .await;
    let channel = format!("[[channels]]\nname = \"ml-team\"\nkind = \"webhook\"\nurl = \"{hook}\"");
    let notify = r#"public_url = "https://autostop.example.com""#;
    let setup = setup(&notice_config(notify, &channel, r#"select = { names = ["run-*"] }"#, &["ml-team"]));
    let cli = |args: &[&str]| setup.cli(&emulator, args);
    let run_at = |now: &'static str| cli(&["run", "--now", now, "-o", "json"]).run();

    // The plan says when the notice goes and where, for each stop that acts, over two evenings.
    let plan = cli(&["plan", "--at", "2026-03-02T19:00:00+09:00", "--window", "1d 2h", "-o", "json"]).run().await;
    assert_eq!(plan.code, 0, "{plan:#?}");
    let rows = plan.json();
    let notices = |name: &str| -> Vec<serde_json::Value> {
        rows.as_array().unwrap().iter().filter(|row| row["name"] == name).map(|row| row["notice"].clone()).collect()
    };
    assert_eq!(
        notices("run-1"),
        [
            serde_json::json!({"at": "2026-03-02T19:30:00+09:00", "channels": ["ml-team"]}),
            // The timeline assumes Monday's stop done: on Tuesday run-1 is already stopped, so not announced.
            serde_json::Value::Null,
        ],
        "{rows:#}"
    );
    assert_eq!(notices("run-keep"), [serde_json::Value::Null, serde_json::Value::Null], "opted out: no notice");
    assert_eq!(notices("run-stopped")[0], serde_json::Value::Null, "already stopped: no notice");
    let table = cli(&["plan", "--at", "2026-03-02T19:00:00+09:00", "--window", "2h"]).run().await;
    assert_eq!(table.code, 0, "{table:#?}");
    assert!(table.stdout.contains("NOTICE"), "{}", table.stdout);
    let line = table.stdout.lines().find(|line| line.contains("run-1")).unwrap_or_default();
    assert!(line.contains("act") && line.ends_with("19:30 → ml-team │"), "{}", table.stdout);

    // 19:30 Tokyo: the notice is due; the channel fails, which is a problem, loudly, without its URL.
    let first = run_at("2026-03-02T19:30:10+09:00").await;
    assert_eq!(first.code, 1, "{first:#?}");
    let rows = first.json();
    let notice = row(&rows, "ml-team");
    assert_eq!((notice["action"].as_str(), notice["result"].as_str()), (Some("notify"), Some("failed")), "{rows:#}");
    assert!(notice["error"].as_str().unwrap_or_default().contains("HTTP 500"), "{rows:#}");
    assert!(bodies.lock().unwrap().is_empty());

    // 19:35: retried, delivered once.
    let second = run_at("2026-03-02T19:35:10+09:00").await;
    assert_eq!(second.code, 0, "{second:#?}");
    assert_eq!(row(&second.json(), "ml-team")["result"], "succeeded", "{second:#?}");
    let third = run_at("2026-03-02T19:40:10+09:00").await;
    assert_eq!(third.code, 0, "{third:#?}");
    assert_eq!(third.json(), serde_json::json!([]), "a notice goes once per rule, occurrence and channel");
    let received = bodies.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:#?}");

    // The digest: one notice for the rule's occurrence, every instance it will stop, with its links.
    let digest = &received[0];
    assert_eq!(digest["rule"], "evening-stop");
    assert_eq!(digest["action"], "stop");
    assert_eq!(digest["occurrence"], "2026-03-02T20:00:00+09:00");
    let instances = digest["instances"].as_array().unwrap();
    let names: Vec<&str> = instances.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["run-1", "run-2"], "only what the stop will concern: {digest:#}");
    let first_instance = &instances[0];
    assert_eq!(first_instance["id"], id("run-1"));
    assert_eq!(first_instance["owner"], "owner@example.com");
    assert_eq!(first_instance["workspace"], "ws-a");
    let postpone = first_instance["postpone"].as_array().unwrap();
    let labels: Vec<&str> = postpone.iter().map(|p| p["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["+1h", "+2h", "+4h"]);
    assert_eq!(postpone[0]["until"], "2026-03-02T21:00:00+09:00");
    for url in postpone.iter().map(|p| &p["url"]).chain([&first_instance["skip_url"]]) {
        assert!(url.as_str().unwrap().starts_with("https://autostop.example.com/owners/postpone?"), "{digest:#}");
    }
    assert!(first_instance["skip_url"].as_str().unwrap().contains("choice=skip"), "{digest:#}");

    // The stop itself is not held up by notices; nothing printed or recorded names the channel's URL.
    let stop = run_at("2026-03-02T20:00:30+09:00").await;
    assert_eq!(stop.code, 0, "{stop:#?}");
    assert_eq!(row(&stop.json(), "run-1")["result"], "succeeded", "{stop:#?}");
    let history = cli(&["history", "-o", "json"]).run().await;
    let events = history.json();
    let notices: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["action"] == "notify")
        .map(|event| event["result"].as_str().unwrap())
        .collect();
    assert_eq!(notices, ["failed", "succeeded"], "{history:#?}");
    for output in [&first.stdout, &first.stderr, &second.stdout, &history.stdout] {
        assert!(!output.contains("SECRET-TOKEN"), "the channel's URL leaked: {output}");
    }
}
