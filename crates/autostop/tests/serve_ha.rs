//! `autostop serve --ha` through the binary: replicas sharing one Blob state on a real Azurite (HTTPS,
//! `--oauth basic`, tokens from the emulator's Entra endpoint) elect one leader with a Blob lease, and only it
//! acts on the emulator's ARM; a leader killed with SIGKILL is replaced within a lease period, one stopped with
//! SIGTERM gives the lease back at once, one cut off from the storage steps down loudly before anyone else
//! leads; the leader prunes the audit log (`[state] keep`). Also: `--ha` on an
//! SQLite state is a configuration error, and a container SAS URL works for the Blob state (and its lease)
//! without ever being shown.
//!
//! The lease lasts 15 s here (`--lease-duration`, the shortest Blob Storage grants). Every await is bounded by
//! [`TIMEOUT`].

#[path = "../../state/tests/common/azurite.rs"]
mod azurite;
#[path = "../../serve/tests/support/openmetrics.rs"]
mod openmetrics;
#[path = "support/relay.rs"]
mod relay;
#[path = "support/requests.rs"]
mod requests;
#[path = "../../../tests/testenv.rs"]
mod testenv;
#[allow(dead_code)]
#[path = "support/unattended.rs"]
mod unattended;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use autostop_emulator::{Emulator, Fleet, Options};
use autostop_state::{BlobAddress, BlobStore, StateStore};
use azurite::Azurite;
use jiff::Timestamp;
use relay::Relay;
use requests::stop_posts;
use tokio::time::Instant;
use unattended::{Process, TIMEOUT, compute, config_with_rules, id, occurrence_in, wait_for_state, workspace_fleet};

/// The lease the tests elect with.
const LEASE: Duration = Duration::from_secs(15);

/// How often a follower tries to take the lease with [`LEASE`] (a fifth of it).
const ACQUIRE_EVERY: Duration = Duration::from_secs(3);

fn fleet() -> Fleet {
    workspace_fleet(vec![compute("run-1", "Running"), compute("run-2", "Running")])
}

async fn emulator() -> Emulator {
    let options = Options { fleet: fleet(), transition: Duration::from_millis(300), ..Default::default() };
    tokio::time::timeout(TIMEOUT, Emulator::start(options)).await.expect("emulator starts in time").expect("emulator")
}

/// A test's world: the emulator, Azurite, a folder with the config and the trust roots of both.
struct World {
    emulator: Emulator,
    azurite: Azurite,
    dir: tempfile::TempDir,
    roots: PathBuf,
}

async fn world(name: &str) -> World {
    let azurite = Azurite::start(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-ha").join(name));
    let emulator = emulator().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let env: BTreeMap<String, String> = emulator.env().into_iter().collect();
    let emulator_ca = std::fs::read_to_string(&env["SSL_CERT_FILE"]).expect("the emulator's CA");
    let azurite_ca = std::fs::read_to_string(&azurite.ca_pem).expect("Azurite's CA");
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, format!("{emulator_ca}\n{azurite_ca}")).expect("roots written");
    World { emulator, azurite, dir, roots }
}

impl World {
    /// Writes the config: a stop of run-1 and one of run-2 at `at`, and `extra` TOML after them.
    fn config(&self, at: Timestamp, extra: &str) {
        let path =
            config_with_rules(self.dir.path(), &[("stop-1", "stop", "run-1", at), ("stop-2", "stop", "run-2", at)]);
        let text = std::fs::read_to_string(&path).expect("config");
        std::fs::write(&path, format!("{text}{extra}")).expect("config written");
    }

    /// Starts `autostop serve --ha` on the Blob state `state`, on a free port; returns it and its base URL.
    async fn replica(&self, state: &str) -> Replica {
        let config = self.dir.path().join("autostop.toml");
        let args = [
            "serve",
            "--ha",
            "--lease-duration",
            "15s",
            "--config",
            config.to_str().expect("utf-8 path"),
            "--listen",
            "127.0.0.1:0",
            "--state",
            state,
        ];
        let roots = self.roots.to_str().expect("utf-8 path");
        let mut process = Process::spawn(&self.emulator, self.dir.path(), &args, &[("SSL_CERT_FILE", roots)], None);
        let listening = process.wait_for_log(|line| line["message"] == "listening").await;
        let addr = listening["addr"].as_str().expect("the listening line names addr").to_owned();
        Replica { process, base: format!("http://{addr}"), addr }
    }

    /// The Blob state at `url`, opened as the binary opens it: the emulator's client-secret credential.
    fn store(&self, url: &str) -> Arc<dyn StateStore> {
        let env: BTreeMap<String, String> = self.emulator.env().into_iter().collect();
        let client = autostop_azure::http_client(Some(&self.roots)).expect("client");
        let options = autostop_azure::client_options(client);
        let credential_options =
            autostop_azure::CredentialOptions { client_options: options.clone(), ..Default::default() };
        let (_, credential) =
            autostop_azure::credential(credential_options, |name| env.get(name).cloned()).expect("credential");
        Arc::new(BlobStore::open(&BlobAddress::parse(url).expect("URL"), Some(credential), options).expect("store"))
    }

    /// Runs the binary to its end with the emulator's environment and the trust roots.
    async fn command(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_autostop"));
        command.args(args).current_dir(self.dir.path()).env_clear();
        command.env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", self.dir.path());
        for (key, value) in self.emulator.env() {
            command.env(key, value);
        }
        command.env("SSL_CERT_FILE", &self.roots).kill_on_drop(true);
        tokio::time::timeout(TIMEOUT, command.output()).await.expect("the command ends in time").expect("it runs")
    }
}

/// A running replica.
struct Replica {
    process: Process,
    base: String,
    addr: String,
}

impl Replica {
    async fn health(&self) -> serde_json::Value {
        let request = reqwest::get(format!("{}/healthz", self.base));
        let response = tokio::time::timeout(TIMEOUT, request).await.expect("answer in time").expect("answer");
        tokio::time::timeout(TIMEOUT, response.json()).await.expect("body in time").expect("json body")
    }

    async fn metrics(&self) -> openmetrics::Exposition {
        let request = reqwest::get(format!("{}/metrics", self.base));
        let response = tokio::time::timeout(TIMEOUT, request).await.expect("answer in time").expect("answer");
        let text = tokio::time::timeout(TIMEOUT, response.text()).await.expect("body in time").expect("text");
        openmetrics::parse(&text).unwrap_or_else(|err| panic!("/metrics is not valid OpenMetrics text: {err}\n{text}"))
    }

    /// Waits until `/metrics` counts the stop of each rule once, as succeeded.
    async fn records_both_stops(&self) {
        wait_until("both stops in /metrics", || async {
            let exposition = self.metrics().await;
            ["stop-1", "stop-2"].iter().all(|rule| {
                exposition.value("autostop_actions_total", &[("rule", rule), ("result", "succeeded")]) == Some(1.0)
            })
        })
        .await;
    }

    async fn role(&self) -> Option<String> {
        self.health().await["role"].as_str().map(str::to_owned)
    }
}

/// Waits until `check` holds, polling every 100 ms.
async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + TIMEOUT;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until one of the two replicas leads and the other follows it; returns (leader, follower).
async fn elected(a: Replica, b: Replica) -> (Replica, Replica) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (ra, rb) = (a.role().await, b.role().await);
        match (ra.as_deref(), rb.as_deref()) {
            (Some("leader"), Some("follower")) => return (a, b),
            (Some("follower"), Some("leader")) => return (b, a),
            _ => {}
        }
        assert!(Instant::now() < deadline, "no leader and follower within {TIMEOUT:?}: {ra:?} {rb:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn once_each() -> BTreeMap<String, usize> {
    [("run-1".to_owned(), 1), ("run-2".to_owned(), 1)].into()
}

/// Asserts that the follower names `leader` as the one it follows, and answers 200. The leader writes who it is
/// just after it takes the lease, so a follower may first answer with no leader named: it is given a moment.
async fn follows(follower: &Replica, leader: &Replica) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut health = follower.health().await;
    while health.get("leader").is_none_or(serde_json::Value::is_null) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        health = follower.health().await;
    }
    assert_eq!(health["role"], "follower", "{health}");
    assert_eq!(health["status"], "ok", "a healthy follower is healthy: {health}");
    assert_eq!(health["leader"]["listen"], leader.addr.as_str(), "it names its leader: {health}");
    assert!(health["leader"]["pid"].as_u64().is_some_and(|pid| pid > 0), "{health}");
    assert!(health["leader"]["host"].as_str().is_some_and(|host| !host.is_empty()), "{health}");
}

#[tokio::test]
async fn two_replicas_elect_one_leader_and_only_it_acts_and_prunes() {
    let world = world("two").await;
    let at = occurrence_in(Duration::from_secs(10));
    world.config(at, "\n[state]\nkeep = \"30d\"\n");
    let url = world.azurite.url("two", "team-a");
    // An event older than what is kept, for the leader to prune.
    let old = autostop_state::Event {
        reason: Some("old enough to go".to_owned()),
        ..autostop_state::Event::new(
            Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(24 * 40)).expect("in range"),
            autostop_state::EventKind::Skipped,
        )
    };
    tokio::time::timeout(TIMEOUT, world.store(&url).record(&old)).await.expect("in time").expect("recorded");

    let (a, b) = (world.replica(&url).await, world.replica(&url).await);
    let (leader, follower) = elected(a, b).await;
    follows(&follower, &leader).await;
    assert!(Timestamp::now() < at, "the election took until the occurrence: make it later");

    wait_for_state(&world.emulator, &id("run-1"), &["Stopping", "Stopped"]).await;
    wait_for_state(&world.emulator, &id("run-2"), &["Stopping", "Stopped"]).await;
    leader.records_both_stops().await;
    assert_eq!(stop_posts(&world.emulator), once_each(), "exactly one stop POST per target");

    // Only the leader evaluated: the follower sent nothing to ARM and ran nothing.
    let (ours, theirs) = (leader.metrics().await, follower.metrics().await);
    assert_eq!(ours.kind("autostop_leader").as_deref(), Some("gauge"));
    assert_eq!(ours.value("autostop_leader", &[]), Some(1.0));
    assert_eq!(theirs.value("autostop_leader", &[]), Some(0.0));
    assert_eq!(theirs.value("autostop_arm_requests_total", &[]), Some(0.0), "the follower called ARM");
    assert_eq!(theirs.value("autostop_runs_total", &[("outcome", "success")]), Some(0.0));
    assert_eq!(theirs.value("autostop_event_prunes_total", &[("result", "succeeded")]), Some(0.0));
    wait_until("the leader prunes", || async {
        leader.metrics().await.value("autostop_event_prunes_total", &[("result", "succeeded")]) == Some(1.0)
    })
    .await;
    follows(&follower, &leader).await;

    let history = world.command(&["history", "--since", "60d", "-o", "json", "--state", &url]).await;
    assert!(history.status.success(), "{}", String::from_utf8_lossy(&history.stderr));
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(!text.contains("old enough to go"), "the old event is still there: {text}");
    assert!(text.contains("\"accepted\""), "the stops are in the history: {text}");

    for replica in [leader, follower] {
        let exit = replica.process.terminate().await;
        assert_eq!(exit.code, Some(0), "{exit:?}");
        exit.assert_never_wrote(world.emulator.client_secret());
    }
}

#[tokio::test]
async fn a_leader_killed_before_an_occurrence_is_replaced_within_a_lease_period_and_the_occurrence_runs_once() {
    let world = world("kill").await;
    // Far enough ahead for the election, near enough to fall before the takeover.
    let at = occurrence_in(Duration::from_secs(9));
    world.config(at, "");
    let url = world.azurite.url("kill", "");
    let (a, b) = (world.replica(&url).await, world.replica(&url).await);
    let (leader, follower) = elected(a, b).await;
    follows(&follower, &leader).await;

    leader.process.signal("KILL").await;
    let killed = Instant::now();
    assert!(Timestamp::now() < at, "the leader died after the occurrence: make it later");
    wait_until("the follower takes over", || async { follower.role().await.as_deref() == Some("leader") }).await;
    let takeover = killed.elapsed();
    assert!(
        takeover < LEASE + ACQUIRE_EVERY + Duration::from_secs(2),
        "took over {takeover:?} after the kill, with a lease of {LEASE:?}"
    );

    // The occurrence passed while nobody led: the new leader catches it up, once.
    wait_for_state(&world.emulator, &id("run-1"), &["Stopping", "Stopped"]).await;
    wait_for_state(&world.emulator, &id("run-2"), &["Stopping", "Stopped"]).await;
    follower.records_both_stops().await;
    assert_eq!(stop_posts(&world.emulator), once_each(), "exactly one stop POST per target");
    let health = follower.health().await;
    assert_eq!((health["role"].as_str(), health["status"].as_str()), (Some("leader"), Some("ok")), "{health}");
    let exit = follower.process.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
}

#[tokio::test]
async fn a_leader_stopped_with_sigterm_gives_the_lease_back_and_the_follower_leads_within_seconds() {
    let world = world("term").await;
    world.config(occurrence_in(Duration::from_secs(6 * 3600)), "");
    let url = world.azurite.url("term", "");
    let (a, b) = (world.replica(&url).await, world.replica(&url).await);
    let (leader, follower) = elected(a, b).await;

    let stopped = Instant::now();
    let exit = leader.process.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    assert!(exit.logs.iter().any(|line| line["message"] == "released the leader lease"), "{:#?}", exit.logs);
    wait_until("the follower takes over", || async { follower.role().await.as_deref() == Some("leader") }).await;
    let takeover = stopped.elapsed();
    assert!(
        takeover < ACQUIRE_EVERY + Duration::from_secs(3),
        "took over {takeover:?} after SIGTERM: the lease was not given back (it lasts {LEASE:?})"
    );
    assert!(stop_posts(&world.emulator).is_empty(), "nothing was due");
    let exit = follower.process.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
}

#[tokio::test]
async fn a_leader_cut_off_from_the_storage_steps_down_loudly_before_the_follower_leads() {
    let world = world("cut").await;
    world.config(occurrence_in(Duration::from_secs(6 * 3600)), "");
    let relay = Relay::start(world.azurite.port).await;
    let through_relay = format!("https://127.0.0.1:{}/{}/cut", relay.port, azurite::ACCOUNT);
    let mut leader = world.replica(&through_relay).await;
    wait_until("the first replica leads", || async { leader.role().await.as_deref() == Some("leader") }).await;
    let follower = world.replica(&world.azurite.url("cut", "")).await;
    wait_until("the second follows", || async { follower.role().await.as_deref() == Some("follower") }).await;

    relay.cut();
    let cut = Instant::now();
    let mut stepped_down = None;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (old, new) = (leader.health().await, follower.health().await);
        assert!(!(old["role"] == "leader" && new["role"] == "leader"), "two leaders at once: {old} {new}");
        if stepped_down.is_none() && old["role"] == "follower" {
            stepped_down = Some(cut.elapsed());
            assert_eq!(old["status"], "degraded", "a lost lease is on /healthz: {old}");
            let problems = old["problems"].to_string();
            assert!(problems.contains("lost the leader lease"), "{old}");
        }
        if new["role"] == "leader" {
            break;
        }
        assert!(Instant::now() < deadline, "no takeover within {TIMEOUT:?}: {old} {new}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stepped_down = stepped_down.expect("the old leader stepped down before the takeover");
    assert!(stepped_down <= LEASE + Duration::from_secs(1), "stepped down {stepped_down:?} after the cut");
    assert_eq!(leader.metrics().await.value("autostop_leader", &[]), Some(0.0));
    leader
        .process
        .wait_for_log(|line| line["level"] == "ERROR" && line.to_string().contains("lost the leader lease"))
        .await;
    for replica in [leader, follower] {
        let exit = replica.process.terminate().await;
        assert_eq!(exit.code, Some(0), "{exit:?}");
    }
}

#[tokio::test]
async fn ha_on_an_sqlite_state_is_a_configuration_error() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config =
        config_with_rules(dir.path(), &[("stop-1", "stop", "run-1", occurrence_in(Duration::from_secs(3600)))]);
    let state = dir.path().join("audit.db");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_autostop"));
    command.args(["serve", "--ha", "--listen", "127.0.0.1:0", "--config"]).arg(&config).arg("--state").arg(&state);
    command.env_clear().env("HOME", dir.path()).kill_on_drop(true);
    for (key, value) in emulator.env() {
        command.env(key, value);
    }
    let output = tokio::time::timeout(TIMEOUT, command.output()).await.expect("exits in time").expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("leader election needs a Blob state") && stderr.contains("audit.db"), "{stderr}");
    assert!(!state.exists(), "nothing was opened");
}

/// A service SAS for `container` of Azurite's account, signed with its well-known key as documented for
/// version 2020-12-06 (`sr=c`, read, add, create, write, delete and list, HTTPS only, for an hour).
fn container_sas(container: &str) -> String {
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
        .expect("the account key is base64");
    let expiry = Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)).expect("in range");
    let expiry = expiry.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (permissions, version, resource) = ("racwdl", "2020-12-06", "c");
    // signedPermissions, signedStart, signedExpiry, canonicalizedResource, signedIdentifier, signedIP,
    // signedProtocol, signedVersion, signedResource, signedSnapshotTime, signedEncryptionScope, rscc, rscd, rsce,
    // rscl, rsct.
    let canonical = format!("/blob/{}/{container}", azurite::ACCOUNT);
    let fields = [permissions, "", &expiry, &canonical, "", "", "https", version, resource, "", "", "", "", "", "", ""];
    let string_to_sign = fields.join("\n");
    let signing_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let signature = aws_lc_rs::hmac::sign(&signing_key, string_to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(signature.as_ref());
    let query: String = serde_urlencoded::to_string([
        ("sv", version),
        ("spr", "https"),
        ("se", &expiry),
        ("sr", resource),
        ("sp", permissions),
        ("sig", &signature),
    ])
    .expect("a query string");
    query
}

#[tokio::test]
async fn a_container_sas_url_works_for_the_blob_state_and_is_never_shown() {
    let world = world("sas").await;
    // A minute ago, so that the run acts at once.
    let at = Timestamp::now().checked_sub(jiff::SignedDuration::from_mins(1)).expect("in range");
    world.config(at, "");
    let plain = world.azurite.url("sas", "");
    // A container SAS cannot create its container: create it with a token first (any read does).
    let created = world.command(&["history", "-o", "json", "--state", &plain]).await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let sas = container_sas("sas");
    let signature = sas.split("sig=").nth(1).expect("a signature").to_owned();
    let url = format!("{plain}?{sas}");
    let run = world.command(&["run", "--no-wait", "-o", "json", "--state", &url]).await;
    let history = world.command(&["history", "-o", "json", "--state", &url]).await;
    for (what, output) in [("run", &run), ("history", &history)] {
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{what}: {stdout}\n{stderr}");
        for text in [&stdout, &stderr] {
            assert!(!text.contains(&signature) && !text.contains("sig="), "{what} showed the SAS: {text}");
        }
    }
    assert_eq!(stop_posts(&world.emulator), once_each(), "{}", String::from_utf8_lossy(&run.stdout));
    let events: serde_json::Value = serde_json::from_slice(&history.stdout).expect("history prints JSON");
    let accepted = events.as_array().expect("an array").iter().filter(|event| event["result"] == "accepted").count();
    assert_eq!(accepted, 2, "both stops are in the state behind the SAS: {events}");

    // A replica elects itself on the state behind the SAS (the lease needs its write permission), evaluates from
    // where `run` left the window, and never logs the SAS either.
    let replica = world.replica(&url).await;
    wait_until("the replica leads", || async { replica.role().await.as_deref() == Some("leader") }).await;
    wait_until("the replica evaluates", || async {
        replica.metrics().await.value("autostop_runs_total", &[("outcome", "success")]) == Some(1.0)
    })
    .await;
    let exit = replica.process.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    exit.assert_never_wrote(&signature);
    exit.assert_never_wrote("sig=");
    assert_eq!(stop_posts(&world.emulator), once_each(), "the daemon did not act again");

    // The SAS is the only credential needed: a state behind a SAS with a wrong signature is refused loudly.
    let forged = format!("{plain}?{}", sas.replace(&signature, "AAAA"));
    let refused = world.command(&["history", "-o", "json", "--state", &forged]).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&plain) && stderr.contains("403"), "the failure names the state: {stderr}");
    assert!(!stderr.contains("sig="), "the forged SAS was shown: {stderr}");
}
