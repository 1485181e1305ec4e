//! End to end: the App Service / Functions managed identity against the emulator.
//!
//! `azure_identity` reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` from the process environment, and tests must
//! not change their own environment, so this test (no libtest harness) starts the emulator and runs itself again
//! as a child with those variables set; the child lists computes with the credential `credential()` selects.

use autostop_azure::{ArmClient, ArmClientOptions, CredentialKind, CredentialOptions, SubscriptionId};
use autostop_emulator::{Emulator, Options};
use std::process::ExitCode;
use std::time::Duration;

const CHILD: &str = "AUTOSTOP_AZURE_TEST_CHILD";
const SUBSCRIPTION: &str = "AUTOSTOP_AZURE_TEST_SUBSCRIPTION";

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if std::env::var_os(CHILD).is_some() { runtime.block_on(child()) } else { runtime.block_on(parent()) };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("app_service_identity: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Lists the workspaces of a subscription with the credential chosen from this process's environment.
async fn child() -> Result<String, String> {
    let env = |name: &str| std::env::var(name).ok();
    let ca = env("SSL_CERT_FILE").ok_or("SSL_CERT_FILE not set")?;
    let http = autostop_azure::http_client(Some(std::path::Path::new(&ca))).map_err(|e| e.to_string())?;
    let options =
        CredentialOptions { client_options: autostop_azure::client_options(http.clone()), ..Default::default() };
    let (kind, credential) = autostop_azure::credential(options, env).map_err(|e| e.to_string())?;
    if kind != CredentialKind::ManagedIdentity {
        return Err(format!("expected managed-identity to be selected, got {kind}"));
    }
    let endpoint = env("AUTOSTOP_ARM_ENDPOINT").ok_or("AUTOSTOP_ARM_ENDPOINT not set")?;
    let arm_options = ArmClientOptions { client_options: autostop_azure::client_options(http), ..Default::default() };
    let arm = ArmClient::new(&endpoint, credential, Some(arm_options)).map_err(|e| e.to_string())?;
    let subscription: SubscriptionId =
        env(SUBSCRIPTION).ok_or("subscription not set")?.parse().map_err(|e: autostop_azure::Error| e.to_string())?;
    let workspaces = tokio::time::timeout(Duration::from_secs(30), arm.list_workspaces(&subscription, None))
        .await
        .map_err(|_| "listing workspaces timed out".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(format!("workspaces: {}", workspaces.len()))
}

/// Starts the emulator, runs the child with the App Service variables, and checks what it listed.
async fn parent() -> Result<String, String> {
    let options = Options::default();
    let subscription = options.fleet.subscriptions.first().map(|s| s.id.clone()).ok_or("the sample fleet is empty")?;
    let expected: usize = options.fleet.subscriptions[0].resource_groups.iter().map(|rg| rg.workspaces.len()).sum();
    let emulator = tokio::time::timeout(Duration::from_secs(30), Emulator::start(options))
        .await
        .map_err(|_| "the emulator did not start".to_string())?
        .map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(exe);
    for name in ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "PATH"] {
        command.env_remove(name);
    }
    command
        .env(CHILD, "1")
        .env(SUBSCRIPTION, &subscription)
        .env("IDENTITY_ENDPOINT", emulator.identity_endpoint())
        .env("IDENTITY_HEADER", emulator.identity_header())
        .env("AUTOSTOP_ARM_ENDPOINT", emulator.arm_endpoint())
        .env("SSL_CERT_FILE", emulator.ca_path())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .map_err(|_| "the child did not finish within 60 s".to_string())?
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    let served_msi = emulator.control().requests().iter().any(|r| r.path.starts_with("/msi/token") && r.status == 200);
    emulator.shutdown().await;
    if !output.status.success() {
        return Err(format!("the child failed: {stderr}"));
    }
    if stdout != format!("workspaces: {expected}") {
        return Err(format!("expected 'workspaces: {expected}', the child printed '{stdout}'"));
    }
    if !served_msi {
        return Err("the emulator never served a token at /msi/token".into());
    }
    Ok("test app_service_identity ... ok".into())
}
