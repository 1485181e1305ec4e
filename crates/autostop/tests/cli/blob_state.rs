//! The Blob state through the binary, against a real Azurite (HTTPS, `--oauth basic`) with tokens from the
//! emulator's Entra endpoint: concurrent runs on one Blob state send each stop exactly once, and a store that
//! goes away mid-run fails the run loudly without letting a stop out before its claim is durable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autostop_emulator::Emulator;
use autostop_state::{BlobAddress, BlobStore, ClaimStatus, StateStore};

use crate::azurite::Azurite;
use crate::relay::Relay;
use crate::util::*;

struct BlobSetup {
    dir: tempfile::TempDir,
    config: PathBuf,
    /// The emulator's CA and Azurite's, for `SSL_CERT_FILE`.
    roots: PathBuf,
}

fn blob_setup(emulator: &Emulator, azurite: &Azurite) -> BlobSetup {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("autostop.toml");
    std::fs::write(&config, EVENING_STOP).unwrap();
    let env: BTreeMap<String, String> = emulator.env().into_iter().collect();
    let emulator_ca = std::fs::read_to_string(&env["SSL_CERT_FILE"]).unwrap();
    let azurite_ca = std::fs::read_to_string(&azurite.ca_pem).unwrap();
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, format!("{emulator_ca}\n{azurite_ca}")).unwrap();
    BlobSetup { dir, config, roots }
}

fn running(count: usize) -> autostop_emulator::Fleet {
    fleet((1..=count).map(|i| compute(&format!("inst-{i:03}"), "ComputeInstance", "Running")).collect())
}

fn run_cli(emulator: &Emulator, setup: &BlobSetup, state: &str, now: &str) -> Cli {
    Cli::against(emulator, &["run", "--now", now, "--no-wait", "-o", "json"])
        .env("AUTOSTOP_CONFIG", &setup.config)
        .env("SSL_CERT_FILE", &setup.roots)
        .args_state(Path::new(state))
}

/// The Blob state at `url`, opened as the binary opens it: the emulator's client-secret credential.
fn blob_store(emulator: &Emulator, setup: &BlobSetup, url: &str) -> Arc<dyn StateStore> {
    let env: BTreeMap<String, String> = emulator.env().into_iter().collect();
    let client = autostop_azure::http_client(Some(&setup.roots)).unwrap();
    let options = autostop_azure::client_options(client);
    let credential_options =
        autostop_azure::CredentialOptions { client_options: options.clone(), ..Default::default() };
    let (_, credential) = autostop_azure::credential(credential_options, |name| env.get(name).cloned()).unwrap();
    Arc::new(BlobStore::open(&BlobAddress::parse(url).unwrap(), Some(credential), options).unwrap())
}

fn azurite_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("blob-state").join(name)
}

#[tokio::test]
async fn concurrent_runs_on_one_blob_state_send_each_stop_exactly_once() {
    let azurite = Azurite::start(&azurite_dir("race"));
    for (processes, instances) in [(2, 30), (10, 12)] {
        let emulator = emulator(running(instances)).await;
        let setup = blob_setup(&emulator, &azurite);
        // A fresh container each round: the processes also race to create it.
        let url = azurite.url(&format!("race-{processes}"), "autostop");
        let children = (0..processes)
            .map(|_| tokio::spawn(run_cli(&emulator, &setup, &url, "2026-03-02T20:00:30Z").run()))
            .collect::<Vec<_>>();
        let mut runs = Vec::new();
        for child in children {
            runs.push(child.await.unwrap());
        }
        for run in &runs {
            assert_eq!(run.code, 0, "{processes} processes: a claim held by another run is a skip: {run:#?}");
        }
        let posts = stop_posts(&emulator);
        assert_eq!(posts.len(), instances, "{processes} processes: {posts:?}");
        assert!(posts.values().all(|count| *count == 1), "{processes} processes: one stop POST each: {posts:?}");
        let accepted = runs
            .iter()
            .flat_map(|run| run.json().as_array().unwrap().clone())
            .filter(|row| row["result"] == "accepted")
            .count();
        assert_eq!(accepted, instances, "{processes} processes: each stop reported accepted once");
        let store = blob_store(&emulator, &setup, &url);
        let claims =
            tokio::time::timeout(TIMEOUT, store.claims_of("evening-stop", "2026-03-02T20:00:00Z".parse().unwrap()))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(claims.len(), instances);
        // Accepted, or already confirmed by a run that started after another had sent the stop.
        assert!(
            claims.iter().all(|claim| matches!(claim.status, ClaimStatus::Accepted | ClaimStatus::Succeeded)),
            "{claims:#?}"
        );
        let history = Cli::against(&emulator, &["history", "-o", "json"])
            .env("SSL_CERT_FILE", &setup.roots)
            .args_state(Path::new(&url))
            .run()
            .await;
        assert_eq!(history.code, 0, "{history:#?}");
        let recorded = history.json().as_array().unwrap().iter().filter(|row| row["result"] == "accepted").count();
        assert_eq!(recorded, instances, "history shows each accepted stop once: {history:#?}");
        drop(setup.dir);
    }
}

#[tokio::test]
async fn a_blob_state_that_goes_away_mid_run_fails_the_run_and_never_lets_a_stop_out_without_its_claim() {
    let azurite = Azurite::start(&azurite_dir("outage"));
    let mut saw_a_mid_run_failure = false;
    for round in 0..3 {
        let emulator = emulator(running(120)).await;
        let setup = blob_setup(&emulator, &azurite);
        let relay = Relay::start(azurite.port).await;
        let container = format!("outage-{round}");
        let through_relay = format!("https://127.0.0.1:{}/{}/{container}", relay.port, crate::azurite::ACCOUNT);
        let run = tokio::spawn(run_cli(&emulator, &setup, &through_relay, "2026-03-02T20:00:30Z").run());
        let deadline = Instant::now() + TIMEOUT;
        while stop_posts(&emulator).is_empty() && !run.is_finished() {
            assert!(Instant::now() < deadline, "no stop was sent within {TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        relay.cut();
        let run = run.await.unwrap();
        let posts = stop_posts(&emulator);
        let store = blob_store(&emulator, &setup, &azurite.url(&container, ""));
        let claims =
            tokio::time::timeout(TIMEOUT, store.claims_of("evening-stop", "2026-03-02T20:00:00Z".parse().unwrap()))
                .await
                .unwrap()
                .unwrap();
        for name in posts.keys() {
            let status = claims.iter().find(|claim| claim.target_name == *name).map(|claim| claim.status);
            assert!(
                matches!(status, Some(ClaimStatus::Sent | ClaimStatus::Accepted)),
                "{name} got a stop POST without a durable claim marked sent ({status:?}): {run:#?}"
            );
        }
        if run.code == 0 {
            assert_eq!(posts.len(), 120, "a run that succeeded acted on everything: {run:#?}");
            continue;
        }
        assert_eq!(run.code, 1, "a state that fails mid-run is a failed run: {run:#?}");
        assert!(run.stderr.contains(&through_relay), "the failure names the store {through_relay}: {run:#?}");
        if posts.len() < 120 {
            saw_a_mid_run_failure = true;
            break;
        }
    }
    assert!(saw_a_mid_run_failure, "the store must go away in the middle of a run, or this test proves nothing");
}

/// `history -o json` of a state, without the event and run ids (each backend issues its own), and how many
/// distinct runs the events name.
async fn history_without_ids(emulator: &Emulator, setup: &BlobSetup, state: &str) -> (Vec<serde_json::Value>, usize) {
    let run = Cli::against(emulator, &["history", "-o", "json"])
        .env("SSL_CERT_FILE", &setup.roots)
        .args_state(Path::new(state))
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let mut rows = run.json().as_array().unwrap().clone();
    let mut runs = std::collections::BTreeSet::new();
    for row in &mut rows {
        let fields = row.as_object_mut().unwrap();
        fields.remove("id");
        runs.insert(fields.remove("run").unwrap().to_string());
    }
    (rows, runs.len())
}

#[tokio::test]
async fn state_migrate_moves_every_event_and_claim_to_blob_and_back() {
    let azurite = Azurite::start(&azurite_dir("migrate"));
    let emulator = emulator(running(8)).await;
    let setup = blob_setup(&emulator, &azurite);
    let sqlite = setup.dir.path().join("audit.db").display().to_string();
    let first = run_cli(&emulator, &setup, &sqlite, "2026-03-02T20:00:30Z").run().await;
    assert_eq!(first.code, 0, "{first:#?}");
    emulator.control().complete_operations();
    let confirm = run_cli(&emulator, &setup, &sqlite, "2026-03-02T20:01:00Z").run().await;
    assert_eq!(confirm.code, 0, "{confirm:#?}");
    let original = history_without_ids(&emulator, &setup, &sqlite).await;
    assert_eq!(original.0.len(), 16, "8 accepted and 8 succeeded: {original:#?}");
    assert_eq!(original.1, 2, "two runs: {original:#?}");

    let url = azurite.url("migrated", "team-a");
    let migrate = |from: &str, to: &str| {
        Cli::against(&emulator, &["state", "migrate", "--from", from, "--to", to, "-o", "json"])
            .env("SSL_CERT_FILE", &setup.roots)
            .run()
    };
    let there = migrate(&sqlite, &url).await;
    assert_eq!(there.code, 0, "{there:#?}");
    assert_eq!(there.json()["events"], 16, "{there:#?}");
    assert_eq!(there.json()["claims"], 8, "{there:#?}");
    assert_eq!(there.json()["windows"], 1, "{there:#?}");
    assert_eq!(history_without_ids(&emulator, &setup, &url).await, original, "every event, in order, on Blob");
    let again = migrate(&sqlite, &url).await;
    assert_eq!(again.code, 1, "migrating into a state that has events is refused: {again:#?}");
    assert!(again.stderr.contains("already holds events"), "{again:#?}");

    // The claims came along, with their outcome, so a window evaluated again there acts on nothing twice.
    let claims = tokio::time::timeout(
        TIMEOUT,
        blob_store(&emulator, &setup, &url).claims_of("evening-stop", "2026-03-02T20:00:00Z".parse().unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(claims.len(), 8, "{claims:#?}");
    assert!(
        claims.iter().all(|claim| claim.status == ClaimStatus::Succeeded && claim.sent_at.is_some()),
        "{claims:#?}"
    );

    let back = setup.dir.path().join("back.db").display().to_string();
    let returned = migrate(&url, &back).await;
    assert_eq!(returned.code, 0, "{returned:#?}");
    assert_eq!(history_without_ids(&emulator, &setup, &back).await, original, "and back to SQLite");
}

#[tokio::test]
async fn state_keep_prunes_old_events_after_a_run_and_history_says_where_it_starts() {
    let azurite = Azurite::start(&azurite_dir("retention"));
    let emulator = emulator(running(2)).await;
    let setup = blob_setup(&emulator, &azurite);
    std::fs::write(&setup.config, format!("{EVENING_STOP}\n[state]\nkeep = \"30d\"\n")).unwrap();
    let url = azurite.url("retention", "");
    let store = blob_store(&emulator, &setup, &url);
    let old_time = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24 * 40)).unwrap();
    let old = autostop_state::Event {
        target_name: Some("inst-001".to_owned()),
        reason: Some("old enough to go".to_owned()),
        ..autostop_state::Event::new(old_time, autostop_state::EventKind::Skipped)
    };
    let recent = autostop_state::Event {
        reason: Some("recent".to_owned()),
        ..autostop_state::Event::new(jiff::Timestamp::now(), autostop_state::EventKind::Skipped)
    };
    for event in [&old, &recent] {
        tokio::time::timeout(TIMEOUT, store.record(event)).await.unwrap().unwrap();
    }
    let run = Cli::against(&emulator, &["run", "-o", "json"])
        .env("AUTOSTOP_CONFIG", &setup.config)
        .env("SSL_CERT_FILE", &setup.roots)
        .args_state(Path::new(&url))
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    let history = Cli::against(&emulator, &["history", "--since", "60d", "-o", "json"])
        .env("SSL_CERT_FILE", &setup.roots)
        .args_state(Path::new(&url))
        .run()
        .await;
    assert_eq!(history.code, 0, "{history:#?}");
    let reasons: Vec<String> =
        history.json().as_array().unwrap().iter().filter_map(|row| row["reason"].as_str().map(str::to_owned)).collect();
    assert!(
        reasons.contains(&"recent".to_owned()) && !reasons.contains(&"old enough to go".to_owned()),
        "{history:#?}"
    );
    assert!(
        history.stderr.contains("were pruned ([state] keep)"),
        "history says the period reaches past what is kept: {history:#?}"
    );
    let recent_only = Cli::against(&emulator, &["history", "--since", "1d", "-o", "json"])
        .env("SSL_CERT_FILE", &setup.roots)
        .args_state(Path::new(&url))
        .run()
        .await;
    assert!(!recent_only.stderr.contains("pruned"), "a period within what is kept says nothing: {recent_only:#?}");
}
