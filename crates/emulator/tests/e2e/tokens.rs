//! The token endpoints, driven by raw HTTP and by the official `azure_identity` credentials.

use std::sync::Arc;

use autostop_emulator::Options;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use base64::Engine;
use reqwest::StatusCode;

use crate::util::{Harness, SUB1, SUBSCRIPTIONS_API, client_for, within};

const ARM_SCOPE: &str = "https://management.azure.com/.default";

fn sdk_options(h: &Harness) -> ClientOptions {
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = h.emulator.authority_host();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(client_for(&h.emulator)))),
        cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
        ..Default::default()
    }
}

async fn client_credentials(h: &Harness, tenant: &str, client_id: &str, secret: &str) -> crate::util::Answer {
    h.form(
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[
            ("client_id", client_id),
            ("client_secret", secret),
            ("grant_type", "client_credentials"),
            ("scope", ARM_SCOPE),
        ],
    )
    .await
}

fn assert_aadsts(answer: &crate::util::Answer, status: StatusCode, error: &str, code: u64) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["error"], error, "{}", answer.body);
    assert_eq!(answer.body["error_codes"][0], code, "{}", answer.body);
    let description = answer.body["error_description"].as_str().expect("error_description");
    assert!(description.starts_with(&format!("AADSTS{code}: ")), "{description}");
    for key in ["timestamp", "trace_id", "correlation_id"] {
        assert!(answer.body[key].is_string(), "{key} missing: {}", answer.body);
    }
}

#[tokio::test]
async fn client_secret_token_is_jwt_shaped_and_opens_arm() {
    let h = Harness::sample().await;
    let answer =
        client_credentials(&h, h.emulator.tenant_id(), h.emulator.client_id(), h.emulator.client_secret()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert!(answer.body["expires_in"].as_i64().is_some_and(|s| s > 0));
    let token = answer.body["access_token"].as_str().expect("token");
    let payload = token.split('.').nth(1).expect("three parts");
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
            .expect("claims are JSON");
    assert_eq!(claims["tid"], h.emulator.tenant_id());
    assert_eq!(claims["appid"], h.emulator.client_id());
    assert_eq!(claims["aud"], "https://management.azure.com");
    for claim in ["iat", "nbf", "exp"] {
        assert!(claims[claim].is_i64(), "{claim}: {claims}");
    }
    let answer = h.send(reqwest::Method::GET, &format!("/subscriptions/{SUB1}?{SUBSCRIPTIONS_API}"), Some(token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn bad_secret_tenant_and_client_get_aadsts_errors() {
    let h = Harness::sample().await;
    let e = &h.emulator;
    let bad_secret = client_credentials(&h, e.tenant_id(), e.client_id(), "not-the-secret").await;
    assert_aadsts(&bad_secret, StatusCode::UNAUTHORIZED, "invalid_client", 7000215);
    let bad_tenant =
        client_credentials(&h, "11111111-2222-3333-4444-555555555555", e.client_id(), e.client_secret()).await;
    assert_aadsts(&bad_tenant, StatusCode::BAD_REQUEST, "invalid_request", 90002);
    let bad_client =
        client_credentials(&h, e.tenant_id(), "11111111-2222-3333-4444-555555555555", e.client_secret()).await;
    assert_aadsts(&bad_client, StatusCode::BAD_REQUEST, "unauthorized_client", 700016);
    let no_credential = h
        .form(
            &format!("/{}/oauth2/v2.0/token", e.tenant_id()),
            &[("client_id", e.client_id()), ("grant_type", "client_credentials"), ("scope", ARM_SCOPE)],
        )
        .await;
    assert_aadsts(&no_credential, StatusCode::UNAUTHORIZED, "invalid_client", 7000218);
    let bad_scope = h
        .form(
            &format!("/{}/oauth2/v2.0/token", e.tenant_id()),
            &[
                ("client_id", e.client_id()),
                ("client_secret", e.client_secret()),
                ("grant_type", "client_credentials"),
                ("scope", "https://management.azure.com/user_impersonation"),
            ],
        )
        .await;
    assert_aadsts(&bad_scope, StatusCode::BAD_REQUEST, "invalid_scope", 1002012);
    let text = bad_secret.body.to_string();
    assert!(!text.contains(e.client_secret()), "the secret is echoed: {text}");
}

#[tokio::test]
async fn client_assertion_must_match_the_configured_one() {
    let h = Harness::sample().await;
    let e = &h.emulator;
    let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YSJ9.c2ln";
    let post = |assertion: &'static str| {
        let path = format!("/{}/oauth2/v2.0/token", e.tenant_id());
        let client_id = e.client_id().to_owned();
        let h = &h;
        async move {
            h.form(
                &path,
                &[
                    ("client_assertion", assertion),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_id", &client_id),
                    ("grant_type", "client_credentials"),
                    ("scope", ARM_SCOPE),
                ],
            )
            .await
        }
    };
    assert_aadsts(&post(assertion).await, StatusCode::BAD_REQUEST, "invalid_client", 70021);
    e.control().set_workload_assertion(assertion);
    let accepted = post(assertion).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_aadsts(&post("not-a-jwt").await, StatusCode::UNAUTHORIZED, "invalid_client", 50027);
    assert_aadsts(&post("a.b.c").await, StatusCode::BAD_REQUEST, "invalid_client", 70021);
}

#[tokio::test]
async fn azure_identity_client_secret_credential_works_and_reports_aadsts() {
    let h = Harness::sample().await;
    let e = &h.emulator;
    let credential = ClientSecretCredential::new(
        e.tenant_id(),
        e.client_id().to_owned(),
        Secret::new(e.client_secret().to_owned()),
        Some(ClientSecretCredentialOptions { client_options: sdk_options(&h) }),
    )
    .expect("credential builds");
    let token = within(credential.get_token(&[ARM_SCOPE], None)).await.expect("token");
    let answer = h
        .send(reqwest::Method::GET, &format!("/subscriptions/{SUB1}?{SUBSCRIPTIONS_API}"), Some(token.token.secret()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let wrong = ClientSecretCredential::new(
        e.tenant_id(),
        e.client_id().to_owned(),
        Secret::new("wrong".to_owned()),
        Some(ClientSecretCredentialOptions { client_options: sdk_options(&h) }),
    )
    .expect("credential builds");
    let err = within(wrong.get_token(&[ARM_SCOPE], None)).await.expect_err("wrong secret fails");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
}

#[tokio::test]
async fn azure_identity_workload_identity_credential_reads_the_token_file() {
    let h = Harness::sample().await;
    let e = &h.emulator;
    let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2lnbmF0dXJl";
    e.control().set_workload_assertion(assertion);
    let file = std::env::temp_dir().join(format!("autostop-emulator-test-{}.jwt", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, assertion).expect("token file written");
    let credential = WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions { client_options: sdk_options(&h) },
        client_id: Some(e.client_id().to_owned()),
        tenant_id: Some(e.tenant_id().to_owned()),
        token_file_path: Some(file.clone()),
    }))
    .expect("credential builds");
    let token = within(credential.get_token(&[ARM_SCOPE], None)).await;
    let _ = std::fs::remove_file(&file);
    let token = token.expect("token");
    let answer = h
        .send(reqwest::Method::GET, &format!("/subscriptions/{SUB1}?{SUBSCRIPTIONS_API}"), Some(token.token.secret()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn app_service_managed_identity_checks_the_secret_header() {
    let h = Harness::sample().await;
    let url =
        format!("{}?api-version=2019-08-01&resource=https://management.azure.com", h.emulator.identity_endpoint());
    let get = |header: Option<&str>| {
        let mut request = h.http.get(&url).header("metadata", "true");
        if let Some(value) = header {
            request = request.header("x-identity-header", value);
        }
        async move { within(request.send()).await.expect("answered") }
    };
    let ok = get(Some(h.emulator.identity_header())).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = within(ok.json()).await.expect("json");
    let expires_on = body["expires_on"].as_str().expect("expires_on is a string of unix seconds");
    assert!(expires_on.parse::<i64>().is_ok(), "{expires_on}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().expect("token");
    let answer = h.send(reqwest::Method::GET, &format!("/subscriptions/{SUB1}?{SUBSCRIPTIONS_API}"), Some(token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(get(Some("wrong")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get(None).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn imds_requires_the_metadata_header() {
    let h = Harness::start(Options::default()).await;
    let url = h.url("/metadata/identity/oauth2/token?api-version=2019-08-01&resource=https://management.azure.com");
    let ok = within(h.http.get(&url).header("Metadata", "true").send()).await.expect("answered");
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = within(ok.json()).await.expect("json");
    for key in ["access_token", "expires_on", "expires_in", "resource", "token_type", "client_id"] {
        assert!(body[key].is_string(), "{key}: {body}");
    }
    let missing = within(h.http.get(&url).send()).await.expect("answered");
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}
