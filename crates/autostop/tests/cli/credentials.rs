//! Each credential kind, end to end through the binary: client secret is the default of every other test.

use std::time::Duration;

use autostop_emulator::{Emulator, Options};

use crate::util::*;

const CLIENT_SECRET_VARS: [&str; 1] = ["AZURE_CLIENT_SECRET"];

async fn emulator_with_identity_header(header: &str) -> Emulator {
    let options = Options {
        fleet: mixed_fleet(),
        transition: Duration::from_millis(300),
        identity_header: header.into(),
        ..Default::default()
    };
    tokio::time::timeout(TIMEOUT, Emulator::start(options)).await.unwrap().unwrap()
}

fn without_secret(cli: Cli) -> Cli {
    CLIENT_SECRET_VARS.iter().fold(cli, |cli, var| cli.env_remove(var))
}

#[tokio::test]
async fn app_service_managed_identity() {
    let emulator = emulator_with_identity_header("identity-header-for-tests").await;
    // A system-assigned identity: no client id (AZURE_CLIENT_ID would name a user-assigned one).
    let run = without_secret(Cli::against(&emulator, &["list", "-s", SUB, "-o", "json"]))
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_TENANT_ID")
        .env("IDENTITY_ENDPOINT", emulator.identity_endpoint())
        .env("IDENTITY_HEADER", "identity-header-for-tests")
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json().as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn app_service_managed_identity_with_a_wrong_header_fails() {
    let emulator = emulator_with_identity_header("identity-header-for-tests").await;
    let run = without_secret(Cli::against(&emulator, &["list", "-s", SUB]))
        .env("IDENTITY_ENDPOINT", emulator.identity_endpoint())
        .env("IDENTITY_HEADER", "not-the-header")
        .run()
        .await;
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(!run.stderr.contains("not-the-header"), "the identity header is a secret: {}", run.stderr);
}

#[tokio::test]
async fn workload_identity() {
    let emulator = emulator(mixed_fleet()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let assertion = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl";
    std::fs::write(&file, assertion).unwrap();
    emulator.control().set_workload_assertion(assertion);
    let run = without_secret(Cli::against(&emulator, &["list", "-s", SUB, "-o", "json"]))
        .env("AZURE_FEDERATED_TOKEN_FILE", &file)
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json().as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn azure_cli_login() {
    let emulator = emulator(mixed_fleet()).await;
    let dir = tempfile::tempdir().unwrap();
    let token = emulator.control().mint_token();
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let json = serde_json::json!({
        "accessToken": token,
        "expiresOn": expires.strftime("%Y-%m-%d %H:%M:%S.000000").to_string(),
        "expires_on": expires.as_second(),
        "subscription": SUB,
        "tenant": emulator.tenant_id(),
        "tokenType": "Bearer",
    });
    let script = dir.path().join("az");
    std::fs::write(&script, format!("#!/bin/sh\ncat <<'JSON'\n{json}\nJSON\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = Cli::against(&emulator, &["list", "-s", SUB, "-o", "json", "--credential", "azure-cli"])
        .path_prepend(dir.path())
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.json().as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn a_forced_credential_with_missing_settings_names_them() {
    let emulator = emulator(mixed_fleet()).await;
    let run = Cli::against(&emulator, &["list", "-s", SUB, "--credential", "workload-identity"]).run().await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("AZURE_FEDERATED_TOKEN_FILE"), "{}", run.stderr);
}
