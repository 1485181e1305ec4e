//! Entra's anonymous discovery documents, as MSAL-based clients fetch them before a token request: the OpenID
//! configurations (v2.0 and v1) with the same fields as Entra's recorded ones, endpoints on the emulator that work,
//! the key sets, instance discovery (also through the emulator as `HTTPS_PROXY` for Entra's login host), and
//! Entra's `invalid_tenant` for an unknown tenant.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::util::Harness;

/// A recorded Entra document under `tests/data/entra/` (see PROVENANCE.md there).
fn recorded(file: &str) -> Value {
    let path = format!("{}/tests/data/entra/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path} is not JSON: {err}"))
}

fn keys(document: &Value) -> BTreeSet<String> {
    document.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn v2_configuration_has_entras_fields_and_a_working_token_endpoint() {
    let h = Harness::sample().await;
    let tenant = h.emulator.tenant_id();
    let answer = h.send(Method::GET, &format!("/{tenant}/v2.0/.well-known/openid-configuration"), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(keys(&answer.body), keys(&recorded("v2-tenant-openid-configuration.json")));
    let base = h.emulator.base_url();
    let doc = &answer.body;
    assert_eq!(doc["issuer"], format!("{base}/{tenant}/v2.0"));
    assert_eq!(doc["authorization_endpoint"], format!("{base}/{tenant}/oauth2/v2.0/authorize"));
    assert_eq!(doc["device_authorization_endpoint"], format!("{base}/{tenant}/oauth2/v2.0/devicecode"));
    let token_endpoint = doc["token_endpoint"].as_str().expect("token_endpoint");
    let path = token_endpoint.strip_prefix(&base).expect("token endpoint on the emulator");
    let e = &h.emulator;
    let token = h
        .form(
            path,
            &[
                ("client_id", e.client_id()),
                ("client_secret", e.client_secret()),
                ("grant_type", "client_credentials"),
                ("client_info", "1"),
                ("scope", "https://management.azure.com/.default"),
            ],
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let jwks = doc["jwks_uri"].as_str().expect("jwks_uri").strip_prefix(&base).expect("on the emulator").to_owned();
    let keys = h.send(Method::GET, &jwks, None).await;
    assert_eq!((keys.status, keys.body["keys"].is_array()), (StatusCode::OK, true), "{}", keys.body);
}

#[tokio::test]
async fn v1_configuration_and_common_have_entras_fields() {
    let h = Harness::sample().await;
    let answer = h.send(Method::GET, "/common/.well-known/openid-configuration", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let recorded = recorded("v1-common-openid-configuration.json");
    assert_eq!(keys(&answer.body), keys(&recorded));
    assert_eq!(answer.body["issuer"], recorded["issuer"], "v1 issuer is sts.windows.net with the placeholder");
    let base = h.emulator.base_url();
    assert_eq!(answer.body["token_endpoint"], format!("{base}/common/oauth2/token"));
    let tenant = h.emulator.tenant_id();
    let v1 = h.send(Method::GET, &format!("/{tenant}/.well-known/openid-configuration"), None).await;
    assert_eq!(v1.body["issuer"], format!("https://sts.windows.net/{tenant}/"));
    let common_v2 = h.send(Method::GET, "/common/v2.0/.well-known/openid-configuration", None).await;
    assert_eq!(common_v2.body["issuer"], format!("{base}/{{tenantid}}/v2.0"));
}

#[tokio::test]
async fn unknown_tenant_is_entras_invalid_tenant() {
    let h = Harness::sample().await;
    let answer = h.send(Method::GET, "/contoso.example/v2.0/.well-known/openid-configuration", None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(keys(&answer.body), keys(&recorded("error-oidc-invalid-tenant-400.json")));
    assert_eq!(
        (answer.body["error"].as_str(), answer.body["error_codes"][0].as_u64()),
        (Some("invalid_tenant"), Some(90002))
    );
    let description = answer.body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with("AADSTS90002: Tenant 'contoso.example' not found.")
            && description.contains("\r\nTrace ID: "),
        "{description}"
    );
}

#[tokio::test]
async fn instance_discovery_points_at_the_tenants_configuration() {
    let h = Harness::sample().await;
    let base = h.emulator.base_url();
    let tenant = h.emulator.tenant_id();
    // MSAL Python sends the host without its port.
    let authorize = format!("https://127.0.0.1/{tenant}/oauth2/v2.0/authorize");
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("api-version", "1.1"), ("authorization_endpoint", authorize.as_str())])
        .finish();
    let answer = h.send(Method::GET, &format!("/common/discovery/instance?{query}"), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(keys(&answer.body), keys(&recorded("instance-discovery-response.json")));
    let next = answer.body["tenant_discovery_endpoint"].as_str().expect("tenant_discovery_endpoint");
    assert_eq!(next, format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"));
    let aliases = &answer.body["metadata"][0]["aliases"];
    assert!(aliases.as_array().is_some_and(|a| a.iter().any(|v| v == "127.0.0.1")), "{aliases}");

    let elsewhere = "https://login.example.com/t/oauth2/v2.0/authorize";
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("authorization_endpoint", elsewhere)])
        .finish();
    let answer = h.send(Method::GET, &format!("/common/discovery/instance?{query}"), None).await;
    assert_eq!((answer.status, answer.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_instance")));
}

#[tokio::test]
async fn as_a_proxy_the_emulator_answers_for_entras_login_host_only() {
    let h = Harness::sample().await;
    let ca = reqwest::Certificate::from_pem(h.emulator.ca_pem().as_bytes()).expect("CA parses");
    let proxy = reqwest::Proxy::https(h.emulator.base_url()).expect("proxy URL");
    let http = reqwest::Client::builder().tls_certs_only([ca]).proxy(proxy).build().expect("client builds");
    let tenant = h.emulator.tenant_id();
    let authorize = format!("https://127.0.0.1/{tenant}/oauth2/v2.0/authorize");
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("api-version", "1.0"), ("authorization_endpoint", authorize.as_str())])
        .finish();
    let url = format!("https://login.microsoftonline.com/common/discovery/instance?{query}");
    let response = crate::util::within(http.get(&url).send()).await.expect("served through the tunnel");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = crate::util::within(response.json()).await.expect("JSON");
    let expected = format!("{}/{tenant}/v2.0/.well-known/openid-configuration", h.emulator.base_url());
    assert_eq!(body["tenant_discovery_endpoint"], expected.as_str());

    let elsewhere = crate::util::within(http.get("https://example.com/").send()).await;
    assert!(elsewhere.is_err(), "CONNECT to any other host is refused: {elsewhere:?}");
}
