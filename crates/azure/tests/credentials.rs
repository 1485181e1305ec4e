//! Credentials built by `autostop_azure::credential` against a scripted token endpoint: the token reaches ARM,
//! the authority host is honoured, token endpoint errors show Entra's words and never the secret, IMDS works.

use crate::fake::{Reply, Script, within};
use autostop_azure::{
    ArmClient, ArmClientOptions, ClientOptions, CredentialKind, CredentialOptions, ErrorKind, credential,
};
use azure_core::http::{RetryOptions, Transport};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

const WS: &str = "/subscriptions/9e223dbe-3399-4e19-88eb-0975f02ac87f/resourceGroups/ml-test/providers/Microsoft.MachineLearningServices/workspaces/ws1";
const SECRET: &str = "very-secret-value-42";

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.get(name).cloned()
}

fn scripted(script: &Arc<Script>) -> ClientOptions {
    ClientOptions { transport: Some(Transport::new(script.clone())), retry: RetryOptions::none(), ..Default::default() }
}

fn arm(script: &Arc<Script>, credential: Arc<dyn autostop_azure::TokenCredential>) -> ArmClient {
    let options = ArmClientOptions { client_options: scripted(script), ..Default::default() };
    ArmClient::new("https://arm.test", credential, Some(options)).unwrap_or_else(|e| panic!("{e}"))
}

fn arm_or_token(token_reply: impl Fn() -> Reply + Send + Sync + 'static) -> Arc<Script> {
    Script::new(move |_, url| {
        if url.starts_with("https://arm.test/") { Reply::json(200, json!({"value": []})) } else { token_reply() }
    })
}

#[tokio::test]
async fn client_secret_token_reaches_arm_from_the_authority_host() {
    let script = arm_or_token(|| {
        Reply::json(
            200,
            json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": "fake-token"}),
        )
    });
    let vars = [
        ("AZURE_TENANT_ID", "tenant-1"),
        ("AZURE_CLIENT_ID", "client-1"),
        ("AZURE_CLIENT_SECRET", SECRET),
        ("AZURE_AUTHORITY_HOST", "https://login.test"),
    ];
    let options = CredentialOptions { client_options: scripted(&script), ..Default::default() };
    let (kind, cred) = credential(options, env(&vars)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, CredentialKind::ClientSecret);
    let client = arm(&script, cred);
    let ws = WS.parse().unwrap_or_else(|e| panic!("{e}"));
    within(client.list_computes(&ws)).await.unwrap_or_else(|e| panic!("{e}"));
    within(client.list_computes(&ws)).await.unwrap_or_else(|e| panic!("{e}"));
    let log = script.log();
    assert_eq!(log[0], "POST https://login.test/tenant-1/oauth2/v2.0/token");
    assert_eq!(log.iter().filter(|l| l.contains("/oauth2/")).count(), 1, "the token is cached: {log:?}");
    assert_eq!(script.authorized.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_endpoint_errors_show_the_aadsts_message_but_not_the_secret() {
    let script = arm_or_token(|| {
        Reply::json(
            401,
            json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'client-1'. Secret: {SECRET}"),
                "error_codes": [7000215]
            }),
        )
    });
    let vars = [("AZURE_TENANT_ID", "tenant-1"), ("AZURE_CLIENT_ID", "client-1"), ("AZURE_CLIENT_SECRET", SECRET)];
    let options = CredentialOptions { client_options: scripted(&script), ..Default::default() };
    let (_, cred) = credential(options, env(&vars)).unwrap_or_else(|e| panic!("{e}"));
    let client = arm(&script, cred);
    let ws = WS.parse().unwrap_or_else(|e| panic!("{e}"));
    let err = within(client.list_computes(&ws)).await.err().unwrap_or_else(|| panic!("expected a credential error"));
    let text = err.to_string();
    assert!(matches!(err.kind(), ErrorKind::Credential { .. }), "{text}");
    assert!(text.starts_with("client-secret credential failed: "), "{text}");
    assert!(text.contains("AADSTS7000215: Invalid client secret provided."), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(!format!("{err:?}").contains(SECRET), "Debug leaks the secret");
    assert!(text.contains("[REDACTED]"), "{text}");
    assert!(!script.log().iter().any(|l| l.starts_with("GET https://arm.test")), "no ARM call without a token");
}

#[tokio::test]
async fn imds_managed_identity_when_forced() {
    let script = arm_or_token(|| {
        Reply::json(
            200,
            json!({"access_token": "fake-token", "expires_on": "4102444800", "token_type": "Bearer", "resource": "https://management.azure.com"}),
        )
    });
    let options = CredentialOptions {
        kind: Some(CredentialKind::ManagedIdentity),
        client_options: scripted(&script),
        ..Default::default()
    };
    let (kind, cred) = credential(options, env(&[])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, CredentialKind::ManagedIdentity);
    let client = arm(&script, cred);
    let ws = WS.parse().unwrap_or_else(|e| panic!("{e}"));
    within(client.list_computes(&ws)).await.unwrap_or_else(|e| panic!("{e}"));
    let log = script.log();
    assert_eq!(
        log[0],
        "GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com"
    );
    assert_eq!(script.authorized.load(Ordering::SeqCst), 1);
}

/// Collects everything written by a tracing subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn trace_logs_carry_neither_the_secret_nor_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let script = arm_or_token(|| {
        Reply::json(200, json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "fake-token"}))
    });
    let vars = [("AZURE_TENANT_ID", "tenant-1"), ("AZURE_CLIENT_ID", "client-1"), ("AZURE_CLIENT_SECRET", SECRET)];
    let options = CredentialOptions { client_options: scripted(&script), ..Default::default() };
    let (_, cred) = credential(options, env(&vars)).unwrap_or_else(|e| panic!("{e}"));
    let client = arm(&script, cred);
    let ws = WS.parse().unwrap_or_else(|e| panic!("{e}"));
    within(client.list_computes(&ws)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(script.authorized.load(Ordering::SeqCst), 1);

    let logs = captured.0.lock().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    assert!(logs.contains("arm.test"), "the subscriber saw the requests: {logs}");
    assert!(!logs.contains(SECRET), "{logs}");
    assert!(!logs.contains("fake-token"), "{logs}");
}
