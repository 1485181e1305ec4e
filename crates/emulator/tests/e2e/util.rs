//! Shared test helpers: start an emulator, talk to it over real HTTPS with a client that trusts its CA, and put a
//! timeout on every await so a missing response fails instead of hanging.

use std::future::Future;
use std::time::Duration;

use autostop_emulator::{Emulator, Options};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// Upper bound for any single awaited step.
pub const STEP: Duration = Duration::from_secs(30);

/// The sample fleet's first subscription.
pub const SUB1: &str = "00000000-0000-4000-8000-000000000001";
/// The sample fleet's research workspace (5 computes: 4 instances and a cluster).
pub const RESEARCH_WS: &str = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/ml-research/providers/Microsoft.MachineLearningServices/workspaces/research-ws";
/// The api-version the recordings use.
pub const API: &str = "api-version=2024-04-01";
/// An api-version of ARM's own endpoints (subscriptions), the one the Azure CLI sends.
pub const SUBSCRIPTIONS_API: &str = "api-version=2022-12-01";

/// Awaits `future`, failing the test if it takes longer than [`STEP`].
pub async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(STEP, future).await.expect("the emulator did not answer in time")
}

/// A started emulator and an HTTPS client that trusts its CA.
pub struct Harness {
    pub emulator: Emulator,
    pub http: reqwest::Client,
}

/// A response read in full.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// `error.code` of an ARM error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

impl Harness {
    /// Starts an emulator with `options`.
    pub async fn start(options: Options) -> Harness {
        let emulator = within(Emulator::start(options)).await.expect("emulator starts");
        let http = client_for(&emulator);
        Harness { emulator, http }
    }

    /// Starts an emulator with default options (the sample fleet).
    pub async fn sample() -> Harness {
        Harness::start(Options::default()).await
    }

    /// An absolute URL for a path on the emulator.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    /// A token from the client-credentials endpoint (the real flow, not a shortcut).
    pub async fn token(&self) -> String {
        let answer = self
            .form(
                &format!("/{}/oauth2/v2.0/token", self.emulator.tenant_id()),
                &[
                    ("client_id", self.emulator.client_id()),
                    ("client_secret", self.emulator.client_secret()),
                    ("grant_type", "client_credentials"),
                    ("scope", "https://management.azure.com/.default"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// POSTs a form to a path.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request =
            self.http.post(self.url(path)).header("content-type", "application/x-www-form-urlencoded").body(body);
        read(request).await
    }

    /// GET with a fresh bearer token; `target` is a path or an absolute URL.
    pub async fn get(&self, target: &str) -> Answer {
        let token = self.token().await;
        self.send(reqwest::Method::GET, target, Some(&token)).await
    }

    /// POST (empty body) with a fresh bearer token.
    pub async fn post(&self, target: &str) -> Answer {
        let token = self.token().await;
        self.send(reqwest::Method::POST, target, Some(&token)).await
    }

    /// Any request with an optional bearer token.
    pub async fn send(&self, method: reqwest::Method, target: &str, token: Option<&str>) -> Answer {
        let url = if target.starts_with("https://") { target.to_owned() } else { self.url(target) };
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request).await
    }
}

/// An HTTPS client that trusts only the emulator's CA (and offers HTTP/2 and HTTP/1.1 by ALPN).
pub fn client_for(emulator: &Emulator) -> reqwest::Client {
    client_builder_for(emulator).build().expect("client builds")
}

/// The builder of [`client_for`], for a test that needs more settings.
pub fn client_builder_for(emulator: &Emulator) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(emulator.ca_pem().as_bytes()).expect("CA PEM parses");
    reqwest::Client::builder().tls_certs_only([ca])
}

async fn read(request: reqwest::RequestBuilder) -> Answer {
    let response = within(request.send()).await.expect("request succeeds at the HTTP level");
    let status = response.status();
    let headers = response.headers().clone();
    let text = within(response.text()).await.expect("body reads");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("body is JSON") };
    Answer { status, headers, body }
}
