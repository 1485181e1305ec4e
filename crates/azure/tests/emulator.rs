//! End to end against the local emulator: paging, long-running operations, ARM errors, and every credential kind.

use crate::fake::{FixedToken, within};
use crate::rig::{RG, Rig, SUB, compute_id, fleet, poll, workspace_id};
use autostop_azure::{ComputeState, ComputeType, CredentialKind, ErrorKind, PowerAction, SubscriptionId, WorkspaceId};
use std::sync::Arc;

fn ws() -> WorkspaceId {
    workspace_id().parse().unwrap_or_else(|e| panic!("{e}"))
}

fn sub() -> SubscriptionId {
    SUB.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn lists_across_pages_with_a_client_secret() {
    let rig = Rig::start(fleet(5), 2).await;
    let arm = rig.client_secret_arm();
    let computes = within(arm.list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}")).computes;
    let names: Vec<&str> = computes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ci-0", "ci-1", "ci-2", "ci-3", "ci-4"]);
    assert!(computes.iter().all(|c| c.compute_type == ComputeType::ComputeInstance));
    assert_eq!(computes[1].state, Some(ComputeState::Stopped));
    assert_eq!(computes[3].owner.as_deref(), Some("user3@contoso.com"));
    assert_eq!(computes[4].tags.get("index").map(String::as_str), Some("4"));
    let pages = rig.emulator.control().requests().iter().filter(|r| r.path.contains("/computes")).count();
    assert_eq!(pages, 3, "5 computes at 2 per page");

    let workspaces = within(arm.list_workspaces(&sub(), None)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(workspaces.len(), 1);
    assert_eq!(workspaces[0].id, ws());
    assert_eq!(workspaces[0].location, "eastus");
    let in_group = within(arm.list_workspaces(&sub(), Some(RG))).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(in_group.len(), 1);

    let one = within(arm.get_compute(&compute_id("ci-2").parse().unwrap_or_else(|e| panic!("{e}")))).await;
    assert_eq!(one.unwrap_or_else(|e| panic!("{e}")).state, Some(ComputeState::Running));
    rig.emulator.shutdown().await;
}

async fn run(rig: &Rig, name: &str, action: PowerAction) -> Result<autostop_azure::Compute, autostop_azure::Error> {
    let arm = rig.client_secret_arm();
    let id = compute_id(name).parse().unwrap_or_else(|e| panic!("{e}"));
    let operation = within(arm.begin(&id, action)).await?;
    rig.emulator.control().complete_operations();
    let resource = within(arm.wait(&operation, &poll())).await?;
    Ok(resource.into_compute().unwrap_or_else(|| panic!("{name} is read back as a compute")))
}

#[tokio::test]
async fn stop_start_and_restart_follow_the_operation_to_its_end() {
    let rig = Rig::start(fleet(2), 50).await;
    let stopped = run(&rig, "ci-0", PowerAction::Stop).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stopped.state, Some(ComputeState::Stopped));
    assert_eq!(rig.emulator.control().state(&compute_id("ci-0")).as_deref(), Some("Stopped"));
    let started = run(&rig, "ci-1", PowerAction::Start).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(started.state, Some(ComputeState::Running));
    let restarted = run(&rig, "ci-1", PowerAction::Restart).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restarted.state, Some(ComputeState::Running));
    let requests = rig.emulator.control().requests();
    assert!(requests.iter().any(|r| r.method == "POST" && r.path.contains("/computes/ci-0/stop?") && r.status == 202));
    assert!(requests.iter().any(|r| r.path.contains("computeOperationsStatus")), "the operation was polled");
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn an_operation_in_flight_is_polled_until_it_ends() {
    let rig = Rig::start(fleet(1), 50).await;
    let arm = rig.client_secret_arm();
    let id = compute_id("ci-0").parse().unwrap_or_else(|e| panic!("{e}"));
    let operation = within(arm.begin(&id, PowerAction::Stop)).await.unwrap_or_else(|e| panic!("{e}"));
    let waiting = tokio::spawn({
        let arm = arm.clone();
        async move { arm.wait(&operation, &poll()).await }
    });
    let control = rig.emulator.control();
    within(async {
        while !control.requests().iter().any(|r| r.path.contains("computeOperationsStatus")) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(control.state(&compute_id("ci-0")).as_deref(), Some("Stopping"));
    control.complete_operations();
    let compute = within(waiting).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compute.into_compute().and_then(|c| c.state), Some(ComputeState::Stopped));
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn a_failed_operation_names_the_compute_and_arm_s_error() {
    let rig = Rig::start(fleet(1), 50).await;
    assert_eq!(rig.emulator.control().fail_operations_for("ci-0"), 1);
    let err = run(&rig, "ci-0", PowerAction::Stop).await.err().unwrap_or_else(|| panic!("expected Failed"));
    assert!(matches!(err.kind(), ErrorKind::Operation { status, .. } if status == "Failed"), "{err}");
    assert!(err.to_string().starts_with(&format!("stop of {} ended Failed: ", compute_id("ci-0"))), "{err}");
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn unknown_subscription_group_workspace_and_instance_are_named() {
    let rig = Rig::start(fleet(1), 50).await;
    let arm = rig.client_secret_arm();
    let other_sub: SubscriptionId = "99999999-2222-4333-8444-555555555555".parse().unwrap_or_else(|e| panic!("{e}"));
    let err = within(arm.list_workspaces(&other_sub, None)).await.err().unwrap_or_else(|| panic!("expected 404"));
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("99999999-2222-4333-8444-555555555555"), "{err}");

    let err = within(arm.list_workspaces(&sub(), Some("no-such-rg"))).await.err().unwrap_or_else(|| panic!("404"));
    assert!(err.is_not_found() && err.to_string().contains("no-such-rg"), "{err}");

    let missing_ws: WorkspaceId =
        workspace_id().replace("ws-paging", "ws-missing").parse().unwrap_or_else(|e| panic!("{e}"));
    let err = within(arm.list_computes(&missing_ws)).await.err().unwrap_or_else(|| panic!("expected 404"));
    assert!(err.is_not_found() && err.to_string().contains("ws-missing"), "{err}");

    let missing = compute_id("nope").parse().unwrap_or_else(|e| panic!("{e}"));
    let err = within(arm.get_compute(&missing)).await.err().unwrap_or_else(|| panic!("expected 404"));
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().starts_with(&format!("{}: ResourceNotFound: ", compute_id("nope"))), "{err}");
    let err = within(arm.begin(&missing.clone().into(), PowerAction::Start))
        .await
        .err()
        .unwrap_or_else(|| panic!("expected 404"));
    assert!(err.is_not_found() && err.to_string().contains("nope"), "{err}");
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn authorization_failed_shows_the_missing_permission() {
    let rig = Rig::start(fleet(1), 50).await;
    rig.emulator.control().deny(&workspace_id(), autostop_emulator::actions::COMPUTE_STOP);
    let err = run(&rig, "ci-0", PowerAction::Stop).await.err().unwrap_or_else(|| panic!("expected 403"));
    let text = err.to_string();
    assert_eq!(err.http_status(), Some(403), "{text}");
    assert!(text.contains("AuthorizationFailed"), "{text}");
    assert!(
        text.ends_with(
            "this call needs the permission Microsoft.MachineLearningServices/workspaces/computes/stop/action"
        ),
        "{text}"
    );
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn a_token_arm_did_not_issue_is_unauthorized() {
    let rig = Rig::start(fleet(1), 50).await;
    let arm = rig.arm(Arc::new(FixedToken::default()));
    let err = within(arm.list_computes(&ws())).await.err().unwrap_or_else(|| panic!("expected 401"));
    assert_eq!(err.http_status(), Some(401), "{err}");
    assert!(err.to_string().starts_with(&format!("{}: ", workspace_id())), "{err}");
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn a_wrong_client_secret_shows_aadsts_but_not_the_secret() {
    let rig = Rig::start(fleet(1), 50).await;
    let wrong = "wrong-secret-value-123";
    let (_, credential) =
        rig.credential(None, rig.env(&[("AZURE_CLIENT_SECRET", wrong)], &[])).unwrap_or_else(|e| panic!("{e}"));
    let err =
        within(rig.arm(credential).list_computes(&ws())).await.err().unwrap_or_else(|| panic!("expected an error"));
    let text = err.to_string();
    assert!(matches!(err.kind(), ErrorKind::Credential { .. }), "{text}");
    assert!(text.starts_with("client-secret credential failed: "), "{text}");
    assert!(text.contains("AADSTS"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(rig.emulator.client_secret()), "{text}");
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn workload_identity_reads_the_federated_token_file() {
    let rig = Rig::start(fleet(1), 50).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("token");
    let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXV0b3N0b3AifQ.c2lnbmF0dXJl";
    std::fs::write(&file, assertion).unwrap_or_else(|e| panic!("{e}"));
    rig.emulator.control().set_workload_assertion(assertion);
    let file_str = file.display().to_string();
    let env = rig.env(&[("AZURE_FEDERATED_TOKEN_FILE", &file_str)], &["AZURE_CLIENT_SECRET"]);
    let (kind, credential) = rig.credential(None, env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, CredentialKind::WorkloadIdentity);
    let computes = within(rig.arm(credential).list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}")).computes;
    assert_eq!(computes.len(), 1);
    rig.emulator.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_runs_az_from_the_path_of_the_lookup() {
    use std::os::unix::fs::PermissionsExt;
    let rig = Rig::start(fleet(1), 50).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let token = rig.emulator.control().mint_token();
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() + 3600)
        .unwrap_or_else(|e| panic!("{e}"));
    let args_file = dir.path().join("args");
    let script = format!(
        "#!/bin/sh\necho \"$@\" > '{}'\necho '{{\"accessToken\":\"{token}\",\"expires_on\":{expires},\"tokenType\":\"Bearer\"}}'\n",
        args_file.display()
    );
    let az = dir.path().join("az");
    std::fs::write(&az, script).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let env = rig.env(&[("PATH", &path)], &["AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"]);
    let (kind, credential) = rig.credential(None, env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, CredentialKind::AzureCli);
    let computes = within(rig.arm(credential).list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}")).computes;
    assert_eq!(computes.len(), 1);
    let args = std::fs::read_to_string(&args_file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(args.trim(), "account get-access-token -o json --scope https://management.azure.com/.default");
    rig.emulator.shutdown().await;
}

/// Sends what azure_identity addresses to the VM's IMDS (`http://169.254.169.254`) to the emulator instead.
#[derive(Debug)]
struct RedirectImds {
    inner: reqwest::Client,
    base: url::Url,
}

#[async_trait::async_trait]
impl azure_core::http::HttpClient for RedirectImds {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        if request.url().host_str() == Some("169.254.169.254") {
            let mut redirected = request.clone();
            let url = redirected.url_mut();
            url.set_scheme(self.base.scheme()).map_err(|()| bad_redirect())?;
            url.set_host(self.base.host_str()).map_err(|_| bad_redirect())?;
            url.set_port(self.base.port()).map_err(|()| bad_redirect())?;
            return self.inner.execute_request(&redirected).await;
        }
        self.inner.execute_request(request).await
    }
}

fn bad_redirect() -> azure_core::Error {
    azure_core::Error::with_message(azure_core::error::ErrorKind::Other, "cannot redirect the IMDS URL")
}

#[tokio::test]
async fn imds_managed_identity_when_forced() {
    let rig = Rig::start(fleet(1), 50).await;
    let base = url::Url::parse(&rig.emulator.base_url()).unwrap_or_else(|e| panic!("{e}"));
    let transport = azure_core::http::Transport::new(Arc::new(RedirectImds { inner: rig.http.clone(), base }));
    let options = autostop_azure::CredentialOptions {
        kind: Some(CredentialKind::ManagedIdentity),
        client_options: autostop_azure::ClientOptions { transport: Some(transport), ..Default::default() },
        ..Default::default()
    };
    let env = rig.env(&[], &["AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"]);
    let (kind, credential) = autostop_azure::credential(options, env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, CredentialKind::ManagedIdentity);
    let computes = within(rig.arm(credential).list_computes(&ws())).await.unwrap_or_else(|e| panic!("{e}")).computes;
    assert_eq!(computes.len(), 1);
    let requests = rig.emulator.control().requests();
    assert!(requests.iter().any(|r| r.path.starts_with("/metadata/identity/oauth2/token") && r.status == 200));
    rig.emulator.shutdown().await;
}

#[tokio::test]
async fn without_the_emulator_ca_tls_fails_naming_the_url() {
    let rig = Rig::start(fleet(1), 50).await;
    let http = autostop_azure::http_client(None).unwrap_or_else(|e| panic!("{e}"));
    let mut client_options = autostop_azure::client_options(http);
    client_options.retry = azure_core::http::RetryOptions::none();
    let options = autostop_azure::ArmClientOptions { client_options, ..Default::default() };
    let arm =
        autostop_azure::ArmClient::new(&rig.emulator.arm_endpoint(), Arc::new(FixedToken::default()), Some(options))
            .unwrap_or_else(|e| panic!("{e}"));
    let err = within(arm.list_computes(&ws())).await.err().unwrap_or_else(|| panic!("expected a TLS failure"));
    let text = err.to_string();
    assert!(matches!(err.kind(), ErrorKind::Transport { timeout: false, .. }), "{text}");
    assert!(
        text.starts_with(&format!("cannot reach {}{}/computes: ", rig.emulator.arm_endpoint(), workspace_id())),
        "{text}"
    );
    assert!(
        text.ends_with(
            "invalid peer certificate: UnknownIssuer (to trust a private CA, name its PEM file in SSL_CERT_FILE)"
        ),
        "{text}"
    );
    assert_eq!(text.matches("https://").count(), 1, "the URL is named once: {text}");
    rig.emulator.shutdown().await;
}
