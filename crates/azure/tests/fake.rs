//! Test doubles: a scripted `azure_core` transport that answers like ARM and records what it was asked, and a
//! fixed-token credential that counts its calls.

use autostop_azure::{ArmClient, ArmClientOptions, ClientOptions, TokenCredential};
use azure_core::credentials::{AccessToken, TokenRequestOptions};
use azure_core::http::headers::Headers;
use azure_core::http::{AsyncRawResponse, HttpClient, Request, RetryOptions, StatusCode, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One scripted answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply { status, headers: vec![("content-type", "application/json".into())], body: body.to_string() }
    }

    pub fn empty(status: u16, headers: Vec<(&'static str, String)>) -> Reply {
        Reply { status, headers, body: String::new() }
    }
}

type Handler = dyn Fn(&str, &str) -> Reply + Send + Sync;

/// A transport answering each request with `handler(method, url)`, recording `METHOD url` lines.
pub struct Script {
    handler: Box<Handler>,
    pub log: Mutex<Vec<String>>,
    pub authorized: AtomicUsize,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Script")
    }
}

impl Script {
    pub fn new(handler: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> Arc<Script> {
        Arc::new(Script { handler: Box::new(handler), log: Mutex::new(Vec::new()), authorized: AtomicUsize::new(0) })
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl HttpClient for Script {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let method = request.method().to_string();
        let url = request.url().to_string();
        if request.headers().get_optional_str(&"authorization".into()) == Some("Bearer fake-token") {
            self.authorized.fetch_add(1, Ordering::SeqCst);
        }
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("{method} {url}"));
        }
        let reply = (self.handler)(&method, &url);
        let mut headers = Headers::new();
        for (name, value) in reply.headers {
            headers.insert(name, value);
        }
        Ok(AsyncRawResponse::from_bytes(StatusCode::from(reply.status), headers, reply.body.into_bytes()))
    }
}

/// A credential that always returns `fake-token`, valid for an hour, and counts its calls.
#[derive(Debug, Default)]
pub struct FixedToken {
    pub calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenCredential for FixedToken {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken::new("fake-token", OffsetDateTime::now_utc() + Duration::hours(1)))
    }
}

/// A client on `https://arm.test` whose transport is `script`, without retries.
pub fn client(script: Arc<Script>, credential: Arc<FixedToken>) -> ArmClient {
    client_with_retries(script, credential, RetryOptions::none())
}

/// A client on `https://arm.test` whose transport is `script`, with these retries.
pub fn client_with_retries(script: Arc<Script>, credential: Arc<FixedToken>, retry: RetryOptions) -> ArmClient {
    let client_options = ClientOptions { transport: Some(Transport::new(script)), retry, ..Default::default() };
    let options = ArmClientOptions { client_options, ..Default::default() };
    ArmClient::new("https://arm.test", credential, Some(options)).unwrap_or_else(|e| panic!("client: {e}"))
}

/// Runs a future under a timeout, so a missing answer fails the test instead of hanging it.
pub async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), future)
        .await
        .unwrap_or_else(|_| panic!("timed out after 30 s"))
}
