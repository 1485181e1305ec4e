//! `autostop savings` end to end: an audit log written as the engine writes it, the inventory from the emulator,
//! prices from a recorded Retail Prices API answer (numbers worked out by hand below) or from the emulator's
//! price endpoint, cached in the state store.

use std::path::{Path, PathBuf};

use autostop_emulator::{Compute, Emulator, VirtualMachine};
use autostop_state::{Event, EventKind, SqliteStore};
use jiff::{SignedDuration, Timestamp};

use crate::util::*;

const CONFIG: &str = r#"
[defaults]
timezone = "UTC"

[[scopes]]
subscription = "00000000-0000-0000-0000-00000000a001"

[[rules]]
name = "night"
action = "stop"
schedule = "0 0 20 * * *"
"#;

/// The recorded answer for Standard_D2s_v3 in eastus: Linux pay-as-you-go is 0.096 USD per hour.
fn price_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/azure-api/prices/example-eastus-d2s_v3-consumption-ga.json")
}

fn sized(name: &str, size: &str, owner: &str) -> Compute {
    Compute { vm_size: size.into(), owner: Some(owner.into()), ..compute(name, "ComputeInstance", "Running") }
}

fn ago(now: Timestamp, hours: i64) -> Timestamp {
    now - SignedDuration::from_hours(hours)
}

/// The audit log, as the engine records outcomes (see the module comment of each line for its hours).
fn seed(path: &Path, now: Timestamp) {
    let store = SqliteStore::open(path).expect("state");
    let record = |hours: i64, kind: EventKind, name: &str, action: &str, reason: Option<&str>| {
        let event = Event {
            rule: Some("night".into()),
            target_id: Some(id(name)),
            target_name: Some(name.into()),
            action: Some(action.into()),
            reason: reason.map(str::to_owned),
            ..Event::new(ago(now, hours), kind)
        };
        store.record(&event).expect("record");
    };
    // ci-a (D2s_v3): stopped 32 days ago, before the period, started 29 days ago: 24 h inside the 30 days;
    // stopped 50 h ago, started 40 h ago: 10 h. 34 h × 0.096 = 3.264
    record(32 * 24, EventKind::Succeeded, "ci-a", "stop", None);
    record(29 * 24, EventKind::Succeeded, "ci-a", "start", None);
    record(50, EventKind::Succeeded, "ci-a", "stop", None);
    record(40, EventKind::Succeeded, "ci-a", "start", None);
    // ci-b (D2s_v3, bob): stopped 30 h ago; a start rule found it already running 24 h ago: 6 h × 0.096 = 0.576
    record(30, EventKind::Succeeded, "ci-b", "stop", None);
    record(24, EventKind::Skipped, "ci-b", "start", Some("already Running"));
    // ci-c (DS3_v2, not in the recorded answer): 2 h, unpriced with the file.
    record(10, EventKind::Succeeded, "ci-c", "stop", None);
    record(8, EventKind::Succeeded, "ci-c", "start", None);
    // ci-d: a stop Azure accepted but that was never confirmed saves nothing.
    record(10, EventKind::Accepted, "ci-d", "stop", None);
    // Failures and misses are not savings either.
    record(9, EventKind::Failed, "ci-d", "stop", None);
}

async fn setup_with_log() -> (Emulator, Setup) {
    let emulator = emulator(fleet(vec![
        sized("ci-a", "STANDARD_D2S_V3", "alice@contoso.com"),
        sized("ci-b", "Standard_D2s_v3", "bob@contoso.com"),
        sized("ci-c", "STANDARD_DS3_V2", "alice@contoso.com"),
        sized("ci-d", "STANDARD_D2S_V3", "carol@contoso.com"),
    ]))
    .await;
    let setup = setup(CONFIG);
    seed(&setup.state, Timestamp::now());
    (emulator, setup)
}

async fn savings(emulator: &Emulator, setup: &Setup, args: &[&str]) -> Run {
    let mut all = vec!["savings", "--since", "30d"];
    all.extend_from_slice(args);
    Cli::against(emulator, &all).env("AUTOSTOP_CONFIG", &setup.config).args_state(&setup.state).run().await
}

/// (key, hours, cost, unpriced hours) of each JSON line.
fn lines(report: &serde_json::Value) -> Vec<(String, f64, f64, f64)> {
    report["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| {
            let number = |key: &str| line[key].as_f64().unwrap_or_else(|| panic!("{key} in {line}"));
            (line["key"].as_str().expect("key").to_owned(), number("hours"), number("cost"), number("unpricedHours"))
        })
        .collect()
}

fn line(key: &str, hours: f64, cost: f64, unpriced: f64) -> (String, f64, f64, f64) {
    (key.to_owned(), hours, cost, unpriced)
}

#[tokio::test]
async fn the_ledger_prices_confirmed_stops_with_a_recorded_price_answer() {
    let (emulator, setup) = setup_with_log().await;
    let file = price_file();
    let file = file.to_str().expect("utf-8 path");

    let run = savings(&emulator, &setup, &["--prices", file, "-o", "json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    assert_eq!(report["currency"], "USD");
    assert_eq!(
        lines(&report),
        [line("ci-a", 34.0, 3.26, 0.0), line("ci-b", 6.0, 0.58, 0.0), line("ci-c", 2.0, 0.0, 2.0)],
        "{report:#}"
    );
    // 3.264 + 0.576 = 3.84
    assert_eq!(report["total"]["cost"], 3.84);
    assert_eq!(report["total"]["hours"], 42.0);
    assert!(report["notCounted"].as_str().expect("notCounted").contains("OS disk"), "{report:#}");

    let by_owner = savings(&emulator, &setup, &["--prices", file, "-o", "json", "--by", "owner"]).await.json();
    // alice: 34 + 2 h, 3.264; bob: 6 h, 0.576
    assert_eq!(lines(&by_owner), [line("alice@contoso.com", 36.0, 3.26, 2.0), line("bob@contoso.com", 6.0, 0.58, 0.0)]);

    let csv = savings(&emulator, &setup, &["--prices", file, "-o", "csv", "--by", "size"]).await;
    assert_eq!(csv.code, 0, "{csv:#?}");
    // ci-a and ci-b share the size, spelled two ways by ARM: grouped as ARM spells each instance.
    assert_eq!(
        csv.stdout,
        "size,hours,cost,currency,unpriced_hours\nSTANDARD_D2S_V3,34.00,3.26,USD,0.00\n\
         Standard_D2s_v3,6.00,0.58,USD,0.00\nSTANDARD_DS3_V2,2.00,0.00,USD,2.00\n"
    );

    let table = savings(&emulator, &setup, &["--prices", file]).await;
    assert_eq!(table.code, 0, "{table:#?}");
    assert!(table.stdout.contains("TOTAL") && table.stdout.contains("3.84"), "{}", table.stdout);
    assert!(table.stdout.contains("Not counted: compute hours only"), "{}", table.stdout);
}

#[tokio::test]
async fn prices_come_from_the_price_endpoint_once_then_from_the_cache_in_each_currency() {
    let (emulator, setup) = setup_with_log().await;
    let price_requests =
        || emulator.control().requests().iter().filter(|r| r.path.starts_with("/api/retail/prices")).count();

    let report = savings(&emulator, &setup, &["-o", "json"]).await.json();
    // The emulator's prices: D2s_v3 0.096, DS3_v2 0.293 in eastus. ci-c: 2 h × 0.293 = 0.586
    assert_eq!(
        lines(&report),
        [line("ci-a", 34.0, 3.26, 0.0), line("ci-c", 2.0, 0.59, 0.0), line("ci-b", 6.0, 0.58, 0.0)],
        "{report:#}"
    );
    let fetched = price_requests();
    // One query per region and size (ARM's two spellings of D2s_v3 are one size), each of two pages: the test
    // emulator pages by 2 and four rows are `Consumption` (Linux, Windows, Spot, Low Priority).
    assert_eq!(fetched, 4);

    let again = savings(&emulator, &setup, &["-o", "json"]).await.json();
    assert_eq!(lines(&again), lines(&report));
    assert_eq!(price_requests(), fetched, "the second run prices from the cache");

    let euro = savings(&emulator, &setup, &["-o", "json", "--currency", "eur"]).await.json();
    assert_eq!(euro["currency"], "EUR");
    // 0.096 × 0.92 = 0.0883 per hour; ci-a: 34 × 0.0883 = 3.0022
    assert_eq!(lines(&euro)[0], line("ci-a", 34.0, 3.0, 0.0), "{euro:#}");
    assert_eq!(price_requests(), 2 * fetched, "another currency is fetched");

    let bad = savings(&emulator, &setup, &["--currency", "dollars"]).await;
    assert_eq!(bad.code, 2, "{bad:#?}");
    assert!(bad.stderr.contains("--currency"), "{}", bad.stderr);
    // A price file is in its own currency: asking for another one as well is refused.
    let both = savings(&emulator, &setup, &["--currency", "EUR", "--prices", "prices.json"]).await;
    assert_eq!(both.code, 2, "{both:#?}");
    assert!(both.stderr.contains("--currency") && both.stderr.contains("--prices"), "{}", both.stderr);
}

#[tokio::test]
async fn a_missing_audit_log_or_price_file_is_a_clear_error() {
    let (emulator, setup) = setup_with_log().await;
    let missing = setup.state.with_file_name("nothing-here.db");
    let run = Cli::against(&emulator, &["savings", "--since", "7d"])
        .env("AUTOSTOP_CONFIG", &setup.config)
        .args_state(&missing)
        .run()
        .await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("no audit log at"), "{}", run.stderr);
    assert!(!missing.exists(), "savings does not create a state");

    let run = savings(&emulator, &setup, &["--prices", "/nonexistent/prices.json"]).await;
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("price file /nonexistent/prices.json"), "{}", run.stderr);
}

#[tokio::test]
async fn a_vms_saved_hours_are_priced_from_the_emulators_price_endpoint() {
    let mut fleet = fleet(vec![sized("ci-a", "STANDARD_D2S_V3", "alice@contoso.com")]);
    fleet.subscriptions[0].resource_groups[0].virtual_machines = vec![VirtualMachine {
        name: "web-1".into(),
        location: "eastus".into(),
        power_state: "running".into(),
        vm_size: "Standard_B2s".into(),
        tags: [("owner".to_string(), "dave@contoso.com".to_string())].into(),
    }];
    let emulator = emulator(fleet).await;
    let setup = setup(&CONFIG.replace(
        "subscription = \"00000000-0000-0000-0000-00000000a001\"",
        "subscription = \"00000000-0000-0000-0000-00000000a001\"\nkinds = [\"compute-instance\", \"vm\"]",
    ));
    let vm = format!("/subscriptions/{SUB}/resourceGroups/ml-rg/providers/Microsoft.Compute/virtualMachines/web-1");
    let now = Timestamp::now();
    let store = SqliteStore::open(&setup.state).expect("state");
    for (hours, action) in [(30, "stop"), (5, "start")] {
        let event = Event {
            rule: Some("night".into()),
            target_id: Some(vm.clone()),
            target_name: Some("web-1".into()),
            action: Some(action.into()),
            ..Event::new(ago(now, hours), EventKind::Succeeded)
        };
        store.record(&event).expect("record");
    }
    drop(store);

    let run = savings(&emulator, &setup, &["-o", "json"]).await;
    assert_eq!(run.code, 0, "{run:#?}");
    let report = run.json();
    // web-1 (Standard_B2s in eastus, the emulator's 0.0416 USD per hour): 25 h × 0.0416 = 1.04, none unpriced.
    assert_eq!(lines(&report), [line("web-1", 25.0, 1.04, 0.0)], "{report:#}");
    let asked: Vec<String> = emulator
        .control()
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/api/retail/prices"))
        .map(|request| request.path.clone())
        .collect();
    assert!(!asked.is_empty(), "priced from the endpoint");
}
