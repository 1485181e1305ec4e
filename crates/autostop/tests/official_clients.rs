//! Microsoft's official clients, unchanged, against `autostop emulator` started through the built binary:
//! azure-identity (ClientSecretCredential, DefaultAzureCredential() from the printed environment), the Azure CLI
//! (cloud register, login, account list, `az rest` stop) and azure-ai-ml (MLClient: list, begin_stop, read back).
//!
//! Also @azure/identity for Node.js (ClientSecretCredential, DefaultAzureCredential).
//!
//! The clients live where `.ci/setup` installs them: the virtual environment `.test-env/python` (pinned in
//! `tests/python/requirements.txt`) and `.test-env/node` (pinned in `tests/node/package-lock.json`); the scripts
//! are in `tests/python/` and `tests/node/`. Without them these tests fail, saying to run `.ci/setup`. Each test
//! gets its own emulator, HOME and AZURE_CONFIG_DIR; everything talks only to 127.0.0.1.

#[path = "support/background.rs"]
mod background;
#[path = "../../../tests/testenv.rs"]
mod testenv;

use std::path::{Path, PathBuf};
use std::time::Duration;

use background::{RunningEmulator, clean_command, wait_within};
use serde_json::Value;

/// Upper bound for the emulator to start and for one HTTP call.
const STEP: Duration = Duration::from_secs(60);
/// Upper bound for one client script (the Azure CLI starts slowly on a cold cache).
const SCRIPT: Duration = Duration::from_secs(300);
/// The sample fleet's first subscription, research workspace and one running instance in it.
const SUB1: &str = "00000000-0000-4000-8000-000000000001";
const GROUP: &str = "ml-research";
const WORKSPACE: &str = "research-ws";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `.test-env/NAME`, where `.ci/setup.d/NAME.sh` installs the clients on first use (pinned in
/// tests/python/requirements.txt and tests/node/package-lock.json); fails the test when `marker` is still missing.
fn installed(name: &str, marker: &str) -> PathBuf {
    testenv::ensure(name);
    let dir = repo_root().join(".test-env").join(name);
    assert!(dir.join(marker).exists(), "{} is missing after .ci/setup.d/{name}.sh", dir.join(marker).display());
    dir
}

/// One emulator and a private home for one test.
struct Rig {
    emulator: RunningEmulator,
    home: tempfile::TempDir,
}

impl Rig {
    fn start() -> Rig {
        let home = tempfile::tempdir().expect("temp home");
        let emulator = RunningEmulator::start(&["--transition", "1s"], home.path(), STEP);
        Rig { emulator, home }
    }

    /// Runs `tests/python/SCRIPT ARGS` with the venv's Python; the JSON of its last output line.
    fn python(&self, script: &str, args: &[&str], extra: &[(&str, String)]) -> Value {
        let bin = installed("python", "bin/python").join("bin");
        let search_path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut extra = extra.to_vec();
        extra.push(("PATH", search_path));
        self.run(&bin.join("python"), &repo_root().join("tests/python").join(script), args, &extra)
    }

    /// Runs `tests/node/SCRIPT` with Node.js and the installed packages; the JSON of its last output line.
    fn node(&self, script: &str) -> Value {
        let modules = installed("node", "node_modules/@azure/identity").join("node_modules");
        let extra = [("NODE_PATH", modules.display().to_string())];
        self.run(Path::new("node"), &repo_root().join("tests/node").join(script), &[], &extra)
    }

    /// Runs `program SCRIPT ARGS` with the emulator's printed environment, a private AZURE_CONFIG_DIR and `extra`.
    fn run(&self, program: &Path, script: &Path, args: &[&str], extra: &[(&str, String)]) -> Value {
        let child = clean_command(program, self.home.path())
            .arg(script)
            .args(args)
            .envs(&self.emulator.env)
            .env("AZURE_CONFIG_DIR", self.home.path().join(".azure"))
            .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
            .envs(extra.iter().map(|(name, value)| (*name, value.as_str())))
            .spawn()
            .unwrap_or_else(|err| panic!("{} does not start: {err}", program.display()));
        let output = wait_within(child, SCRIPT);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let name = script.display();
        assert!(output.status.success(), "{name} failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|err| panic!("{name} printed no JSON ({err}):\n{stdout}\n{stderr}"))
    }

    fn arm(&self) -> String {
        self.emulator.env["AUTOSTOP_ARM_ENDPOINT"].clone()
    }

    /// GET on the emulator (its management path needs no token), trusting only its CA.
    fn get(&self, path_and_query: &str) -> Value {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let ca = std::fs::read(&self.emulator.env["SSL_CERT_FILE"]).expect("CA file");
        let ca = reqwest::Certificate::from_pem(&ca).expect("CA parses");
        let http = reqwest::Client::builder().tls_certs_only([ca]).build().expect("client");
        let url = format!("{}{path_and_query}", self.arm());
        runtime.block_on(async {
            tokio::time::timeout(STEP, async { http.get(&url).send().await?.json::<Value>().await })
                .await
                .expect("the emulator answers in time")
                .expect("the emulator answers JSON")
        })
    }

    /// The requests the emulator served, as `METHOD path?query status` lines.
    fn served(&self) -> Vec<String> {
        let requests = self.get("/_emulator/requests");
        requests
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| {
                format!("{} {} {}", r["method"].as_str().unwrap_or(""), r["path"].as_str().unwrap_or(""), r["status"])
            })
            .collect()
    }

    /// The HTTP versions of the requests the emulator served (`HTTP/1.1`, `HTTP/2`), each once, sorted.
    fn versions(&self) -> Vec<String> {
        let requests = self.get("/_emulator/requests");
        let mut versions: Vec<String> = requests
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| r["version"].as_str().unwrap_or("none").to_owned())
            .collect();
        versions.sort();
        versions.dedup();
        versions
    }

    /// The state of a compute, by ARM id, as the emulator holds it.
    fn state(&self, compute: &str) -> String {
        let id: String = compute
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
            .collect();
        self.get(&format!("/_emulator/state?id={id}"))["state"].as_str().unwrap_or_default().to_owned()
    }
}

fn compute_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB1}/resourceGroups/{GROUP}/providers/Microsoft.MachineLearningServices/workspaces/\
         {WORKSPACE}/computes/{name}"
    )
}

/// Checks what `identity_credentials` scripts report and what the emulator served them: both credentials got a
/// token that lists both subscriptions, MSAL read the OpenID configuration and, for DefaultAzureCredential,
/// instance discovery reached the emulator through HTTPS_PROXY; nothing was refused.
fn assert_identity_findings(rig: &Rig, findings: &Value) {
    let subscriptions = serde_json::json!([SUB1, "00000000-0000-4000-8000-000000000002"]);
    for credential in ["client_secret", "default"] {
        assert_eq!(findings[credential]["subscriptions"], subscriptions, "{credential}: {findings}");
        assert!(findings[credential]["expires_on"].as_i64().is_some_and(|t| t > 0), "{findings}");
    }
    let tenant = &rig.emulator.env["AZURE_TENANT_ID"];
    let served = rig.served();
    let discovery = format!("GET /{tenant}/v2.0/.well-known/openid-configuration 200");
    assert!(served.contains(&discovery), "MSAL read the OpenID configuration first: {served:#?}");
    let instance =
        served.iter().any(|line| line.starts_with("GET /common/discovery/instance?") && line.ends_with(" 200"));
    assert!(
        instance,
        "DefaultAzureCredential's instance discovery reached the emulator through HTTPS_PROXY: {served:#?}"
    );
    assert!(served.iter().all(|line| !line.ends_with(" 401")), "no request was refused: {served:#?}");
    // Python `requests` offers only HTTP/1.1 by ALPN and Node's `https` none: the emulator serves them HTTP/1.1.
    assert_eq!(rig.versions(), ["HTTP/1.1"], "{served:#?}");
}

#[test]
fn azure_identity_credentials_get_tokens_that_open_arm() {
    let rig = Rig::start();
    let findings = rig.python("identity_credentials.py", &[], &[]);
    assert_identity_findings(&rig, &findings);
}

#[test]
fn azure_identity_for_node_credentials_get_tokens_that_open_arm() {
    let rig = Rig::start();
    let findings = rig.node("identity_credentials.cjs");
    assert_identity_findings(&rig, &findings);
}

#[test]
fn azure_cli_registers_the_cloud_logs_in_lists_accounts_and_stops_a_compute() {
    let rig = Rig::start();
    let compute = compute_path("alice-ci");
    // No setting beyond the emulator's output: MSAL's instance discovery reaches it through HTTPS_PROXY.
    let findings = rig.python("azure_cli.py", &[&compute], &[]);
    assert_eq!(findings["login_endpoint"], format!("{}/", rig.arm()), "{findings}");
    let subscriptions = serde_json::json!([SUB1, "00000000-0000-4000-8000-000000000002"]);
    assert_eq!(findings["login_subscriptions"], subscriptions, "{findings}");
    assert_eq!(findings["accounts"], subscriptions, "{findings}");
    assert_eq!(findings["account_cloud"], serde_json::json!(["Emulator"]), "{findings}");
    assert_eq!(findings["state_after"], "Stopped", "{findings}");
    assert_eq!(rig.state(&compute), "Stopped");
    let served = rig.served();
    let stop = format!("POST {compute}/stop?api-version=2024-04-01 202");
    assert!(served.contains(&stop), "the stop went through ARM: {served:#?}");
    assert!(served.iter().any(|l| l.starts_with("GET /metadata/endpoints?api-version=2022-09-01 200")), "{served:#?}");
    assert_eq!(rig.versions(), ["HTTP/1.1"], "the Azure CLI (Python `requests`) speaks HTTP/1.1: {served:#?}");
}

#[test]
fn azure_ai_ml_lists_stops_and_reads_back_a_compute() {
    let rig = Rig::start();
    let metadata = format!("{}/metadata/endpoints?api-version=2019-05-01", rig.arm());
    let findings =
        rig.python("azure_ai_ml.py", &[GROUP, WORKSPACE, "dave-ci"], &[("ARM_CLOUD_METADATA_URL", metadata)]);
    assert_eq!(
        findings["computes"],
        serde_json::json!(["alice-ci", "batch-cluster", "bob-ci", "carol-gpu", "dave-ci"]),
        "{findings}"
    );
    assert!(findings["token_expires_on"].as_i64().is_some_and(|t| t > 0), "{findings}");
    assert_eq!(findings["state_before"], "ComputeInstanceState.RUNNING", "{findings}");
    assert_eq!(findings["state_after"], "ComputeInstanceState.STOPPED", "{findings}");
    assert_eq!(rig.state(&compute_path("dave-ci")), "Stopped");
}
