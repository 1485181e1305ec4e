//! The typed ARM client over the `azure_core` pipeline: workspaces, computes (paged), and power operations.
//!
//! Shape of the official SDK clients: `{endpoint, api_version, pipeline}` built by `new(endpoint, credential,
//! options)`; each method builds its request with [`crate::request::Requests`], sends it, and accepts only the
//! statuses it expects. Everything else becomes an [`Error`] naming the resource.

use crate::cloud::Cloud;
use crate::compute::throttle::{ComputeThrottle, ComputeThrottleOptions};
use crate::credential::FreshToken;
use crate::error::{Error, ErrorKind, display_url, from_core};
use crate::ids::{ComputeId, SubscriptionId, WorkspaceId};
use crate::models::{self, Compute, ComputeList, DecodeError, Page, Workspace, decode_arm_error};
use crate::names::validate_resource_group;
use crate::operation::{
    Operation, PollOptions, PollStep, Polled, StatusHeader, after_running, parse_retry_after, poll_error, read_poll,
};
use crate::policy::{BudgetPolicy, Counters, Stats};
use crate::power::PowerAction;
use crate::request::{ACTION_READ_OPERATIONS, ArmRequest, Requests};
use crate::target::{Resource, TargetId};
use crate::throttle::{Throttle, ThrottleOptions};
use azure_core::credentials::TokenCredential;
use azure_core::http::policies::{Policy, auth::BearerTokenAuthorizationPolicy};
use azure_core::http::{ClientOptions, Context, Method, Pipeline, PipelineSendOptions, RawResponse, Request};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// The api-version of the recordings in `testdata/azure-api`.
pub const DEFAULT_API_VERSION: &str = "2024-04-01";

/// Options of [`ArmClient`].
#[derive(Clone, Debug)]
pub struct ArmClientOptions {
    /// The api-version sent with every request (default [`DEFAULT_API_VERSION`]).
    pub api_version: String,
    /// The token scope (default: the public cloud's ARM audience + `/.default`). With a custom endpoint this
    /// stays the chosen cloud's scope unless set here.
    pub scope: String,
    /// The `azure_core` options: transport (the `reqwest::Client`), retries, user agent... The default retries
    /// are [`crate::retry_options`].
    pub client_options: ClientOptions,
    /// The client-side mirror of ARM's per-subscription request budget.
    pub throttle: ThrottleOptions,
    /// How the Compute RP's own limits hold requests.
    pub compute_throttle: ComputeThrottleOptions,
}

impl Default for ArmClientOptions {
    fn default() -> Self {
        ArmClientOptions {
            api_version: DEFAULT_API_VERSION.to_string(),
            scope: Cloud::Public.arm_scope(),
            client_options: ClientOptions { retry: crate::transport::retry_options(), ..Default::default() },
            throttle: ThrottleOptions::default(),
            compute_throttle: ComputeThrottleOptions::default(),
        }
    }
}

/// A client of Azure Resource Manager for Azure ML workspaces and computes. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ArmClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    requests: Requests,
    pipeline: Pipeline,
    counters: Arc<Counters>,
}

/// The most pages a list may have before the client stops, so a server that loops cannot hang it.
const MAX_PAGES: usize = 10_000;

impl ArmClient {
    /// A client for `endpoint` (e.g. `https://management.azure.com`). Refuses anything but `https://`: tokens
    /// are never sent over plain HTTP.
    pub fn new(
        endpoint: &str,
        credential: Arc<dyn TokenCredential>,
        options: Option<ArmClientOptions>,
    ) -> Result<Self, Error> {
        let options = options.unwrap_or_default();
        let url = Url::parse(endpoint).map_err(|e| invalid_endpoint(endpoint, &e.to_string()))?;
        if url.scheme() != "https" {
            return Err(invalid_endpoint(endpoint, "an https:// URL (tokens are never sent over plain http)"));
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(invalid_endpoint(endpoint, "an https:// URL with a host"));
        }
        if options.api_version.trim().is_empty() {
            return Err(ErrorKind::InvalidInput {
                what: "api-version",
                input: options.api_version,
                expected: "a date like 2024-04-01".into(),
            }
            .into());
        }
        let counters = Arc::new(Counters::default());
        let budget: Arc<dyn Policy> = Arc::new(BudgetPolicy {
            throttle: Arc::new(Mutex::new(Throttle::new(options.throttle))),
            compute: Arc::new(Mutex::new(ComputeThrottle::new(options.compute_throttle))),
            counters: counters.clone(),
        });
        let auth: Arc<dyn Policy> = Arc::new(BearerTokenAuthorizationPolicy::new(credential, [options.scope]));
        let pipeline = Pipeline::new(
            Some(env!("CARGO_PKG_NAME")),
            Some(env!("CARGO_PKG_VERSION")),
            options.client_options,
            Vec::new(),
            vec![budget, auth],
            None,
        );
        let requests = Requests::new(url, &options.api_version);
        Ok(ArmClient { inner: Arc::new(Inner { requests, pipeline, counters }) })
    }

    /// What this client (and its clones) sent so far: requests, retries, 429s, requests held by the budget.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The request builders this client uses (endpoint and api-version).
    pub fn requests(&self) -> &Requests {
        &self.inner.requests
    }

    /// The workspaces of a subscription, or of one resource group in it, across all pages.
    pub async fn list_workspaces(
        &self,
        subscription: &SubscriptionId,
        resource_group: Option<&str>,
    ) -> Result<Vec<Workspace>, Error> {
        if let Some(rg) = resource_group {
            validate_resource_group(rg)?;
        }
        let request = self.inner.requests.list_workspaces(subscription, resource_group);
        self.list(request, models::decode_workspace_page).await
    }

    /// The computes of a workspace, across all pages (`nextLink` followed verbatim). A compute the client cannot
    /// address (see [`crate::Unhandled`]) is listed apart with the reason; only a failed request or an unreadable
    /// page fails the listing.
    pub async fn list_computes(&self, workspace: &WorkspaceId) -> Result<ComputeList, Error> {
        let request = self.inner.requests.list_computes(workspace);
        let mut list = ComputeList::default();
        for item in self.list(request, models::decode_compute_page).await? {
            match item {
                Ok(compute) => list.computes.push(compute),
                Err(unhandled) => list.unhandled.push(unhandled),
            }
        }
        Ok(list)
    }

    /// One compute.
    pub async fn get_compute(&self, id: &ComputeId) -> Result<Compute, Error> {
        let request = self.inner.requests.get_compute(id);
        let response = self.send(&request, &request.url, &[200]).await?;
        models::decode_compute(response.body()).map_err(|m| decode_error(&request.url, m))
    }

    /// Starts, stops or restarts a target: an Azure ML compute, or a VM or whole scale set (where stop is
    /// deallocate). Sends the POST and returns the operation ARM accepted (202).
    pub async fn begin(&self, id: &TargetId, action: PowerAction) -> Result<Operation, Error> {
        match id {
            TargetId::Compute(compute) => {
                let request = self.inner.requests.power(compute, action);
                self.accepted(&request, id.clone(), action).await
            }
            TargetId::Machine(machine) => self.begin_machine(machine, action).await,
        }
    }

    /// Reads a target back.
    pub async fn get_target(&self, id: &TargetId) -> Result<Resource, Error> {
        match id {
            TargetId::Compute(compute) => self.get_compute(compute).await.map(|c| Resource::Compute(Box::new(c))),
            TargetId::Machine(machine) => self.get_machine(machine).await.map(|m| Resource::Machine(Box::new(m))),
        }
    }

    /// Sends a power POST and reads the 202's status URL into an operation on `target`.
    pub(crate) async fn accepted(
        &self,
        request: &ArmRequest,
        target: TargetId,
        action: PowerAction,
    ) -> Result<Operation, Error> {
        let response = self.send(request, &request.url, &[202]).await?;
        let headers = response.headers();
        let (header, value) = match headers.get_optional_str(&"azure-asyncoperation".into()) {
            Some(value) => (StatusHeader::AsyncOperation, value),
            None => match headers.get_optional_str(&"location".into()) {
                Some(value) => (StatusHeader::Location, value),
                None => {
                    return Err(decode_error(
                        &request.url,
                        "202 without an Azure-AsyncOperation or Location header".into(),
                    ));
                }
            },
        };
        let status_url = request
            .url
            .join(value)
            .map_err(|e| decode_error(&request.url, format!("the operation status URL does not parse: {e}")))?;
        self.same_origin(&request.url, &status_url, "operation status URL")?;
        Ok(Operation {
            target,
            action,
            status_url,
            header,
            retry_after: parse_retry_after(headers.get_optional_str(&"retry-after".into())),
        })
    }

    /// Polls an operation until it ends, waiting `Retry-After` (else the default delay) between polls, then
    /// reads the target back. `Ok` means Succeeded; Failed and Canceled are [`ErrorKind::Operation`], and running
    /// past the deadline is [`ErrorKind::Deadline`]. A loop over [`ArmClient::poll`].
    pub async fn wait(&self, operation: &Operation, options: &PollOptions) -> Result<Resource, Error> {
        let since = tokio::time::Instant::now();
        let mut delay = operation.first_delay(options);
        let mut polls = 0;
        loop {
            tokio::time::sleep(delay).await;
            // Boxed, as is the read-back below: a future that sleeps between polls should not carry the room a
            // request needs.
            match Box::pin(self.poll(operation, options, since, polls)).await? {
                Polled::Succeeded => return Box::pin(self.get_target(&operation.target)).await,
                Polled::Running { after } => {
                    polls += 1;
                    delay = after;
                }
            }
        }
    }

    /// Polls an operation once: poll number `polls` (0 for the first) of an operation followed `since` then.
    /// [`Polled::Running`] says when to poll again (`Retry-After` honoured); Failed and Canceled are
    /// [`ErrorKind::Operation`], an answer that cannot be read is an error naming the status URL, and a poll
    /// that would run past the deadline is [`ErrorKind::Deadline`]. Nothing is kept between polls: a caller that
    /// follows many operations holds only the status URL, the header, `since` and `polls` of each.
    pub async fn poll(
        &self,
        operation: &Operation,
        options: &PollOptions,
        since: tokio::time::Instant,
        polls: u32,
    ) -> Result<Polled, Error> {
        let remaining = options.deadline.saturating_sub(since.elapsed());
        if remaining.is_zero() {
            return Err(deadline(operation, since.elapsed()));
        }
        let send = Box::pin(self.send_raw(&Method::Get, &operation.status_url, None));
        let response = match tokio::time::timeout(remaining, send).await {
            Ok(result) => result?,
            Err(_) => return Err(deadline(operation, since.elapsed())),
        };
        let status = u16::from(response.status());
        if !(200..=299).contains(&status) {
            let poll = ArmRequest {
                method: Method::Get,
                url: operation.status_url.clone(),
                resource: operation.target.to_string(),
                action: match operation.target {
                    TargetId::Compute(_) => ACTION_READ_OPERATIONS,
                    TargetId::Machine(_) => crate::compute::ACTION_READ_COMPUTE_OPERATIONS,
                },
            };
            return Err(arm_error(&poll, &response));
        }
        match read_poll(operation.header, status, response.body()) {
            PollStep::Succeeded => Ok(Polled::Succeeded),
            PollStep::Running(state) => {
                tracing::debug!(compute = %operation.target, action = %operation.action, %state, "operation running");
                let retry_after = response.headers().get_optional_str(&"retry-after".into());
                let remaining = options.deadline.saturating_sub(since.elapsed());
                Ok(Polled::Running { after: after_running(retry_after, options, polls, remaining) })
            }
            PollStep::Ended { status, code, message } => {
                let (code, message) = match (code, message) {
                    (None, None) => poll_error(response.body()),
                    pair => pair,
                };
                let resource = operation.target.to_string();
                Err(ErrorKind::Operation { resource, action: operation.action, status, code, message }.into())
            }
            PollStep::Unreadable(message) => Err(decode_error(&operation.status_url, message)),
        }
    }

    pub(crate) async fn list<T>(
        &self,
        request: ArmRequest,
        decode: fn(&[u8]) -> Result<Page<T>, DecodeError>,
    ) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut url = request.url.clone();
        let mut seen = HashSet::new();
        loop {
            if !seen.insert(url.to_string()) || seen.len() > MAX_PAGES {
                return Err(decode_error(&url, "the nextLink chain loops or never ends".into()));
            }
            let response = self.send(&request, &url, &[200]).await?;
            let (page, next) = decode(response.body()).map_err(|m| decode_error(&url, m))?;
            items.extend(page);
            match next.filter(|link| !link.trim().is_empty()) {
                Some(link) => {
                    let next = url
                        .join(&link)
                        .map_err(|e| decode_error(&url, format!("the nextLink '{link}' does not parse: {e}")))?;
                    self.same_origin(&url, &next, "nextLink")?;
                    url = next;
                }
                None => return Ok(items),
            }
        }
    }

    /// Refuses a URL from a response (nextLink, status URL) that would take the bearer token to another scheme,
    /// host or port than the ARM endpoint's.
    fn same_origin(&self, from: &Url, link: &Url, what: &str) -> Result<(), Error> {
        let endpoint = self.inner.requests.endpoint();
        if link.scheme() == endpoint.scheme()
            && link.host_str() == endpoint.host_str()
            && link.port_or_known_default() == endpoint.port_or_known_default()
        {
            Ok(())
        } else {
            Err(decode_error(
                from,
                format!("the {what} leads to {}, not to the ARM endpoint {endpoint}", display_url(link)),
            ))
        }
    }

    /// Sends `request`'s method to `url` and accepts only `expected` statuses.
    pub(crate) async fn send(&self, request: &ArmRequest, url: &Url, expected: &[u16]) -> Result<RawResponse, Error> {
        let response = self.send_raw(&request.method, url, None).await?;
        if expected.contains(&u16::from(response.status())) { Ok(response) } else { Err(arm_error(request, &response)) }
    }

    /// Sends `request` with a JSON body and accepts only `expected` statuses.
    pub(crate) async fn send_json(
        &self,
        request: &ArmRequest,
        body: Vec<u8>,
        expected: &[u16],
    ) -> Result<RawResponse, Error> {
        let response = self.send_raw(&request.method, &request.url, Some(&body)).await?;
        if expected.contains(&u16::from(response.status())) { Ok(response) } else { Err(arm_error(request, &response)) }
    }

    /// Sends one request through the pipeline. When ARM says the token expired, sends it once more with a
    /// token that does not come from any cache.
    async fn send_raw(&self, method: &Method, url: &Url, body: Option<&[u8]>) -> Result<RawResponse, Error> {
        let response = self.send_once(method, url, body, Context::new()).await?;
        if u16::from(response.status()) == 401
            && decode_arm_error(response.body())
                .and_then(|e| e.code)
                .is_some_and(|code| code.eq_ignore_ascii_case("ExpiredAuthenticationToken"))
        {
            tracing::debug!(url = %display_url(url), "token expired; asking for a fresh one");
            self.inner.counters.count_retry();
            return self.send_once(method, url, body, Context::new().with_value(FreshToken)).await;
        }
        Ok(response)
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        ctx: Context<'_>,
    ) -> Result<RawResponse, Error> {
        let mut req = Request::new(url.clone(), *method);
        match body {
            Some(body) => {
                req.insert_header("content-type", "application/json");
                req.set_body(body.to_vec());
            }
            None if *method == Method::Post => req.insert_header("content-length", "0"),
            None => {}
        }
        let options = PipelineSendOptions { skip_checks: true, ..Default::default() };
        self.inner.pipeline.send(&ctx, &mut req, Some(options)).await.map_err(|e| from_core(e, url))
    }
}

fn invalid_endpoint(endpoint: &str, expected: &str) -> Error {
    ErrorKind::InvalidInput { what: "ARM endpoint", input: endpoint.to_string(), expected: expected.to_string() }.into()
}

pub(crate) fn decode_error(url: &Url, message: DecodeError) -> Error {
    ErrorKind::Decode { url: display_url(url), message }.into()
}

fn deadline(operation: &Operation, waited: Duration) -> Error {
    ErrorKind::Deadline { resource: operation.target.to_string(), action: operation.action, waited }.into()
}

/// The error for an unexpected status: ARM's code and message when the body has them, else the HTTP reason and
/// the start of the body.
fn arm_error(request: &ArmRequest, response: &RawResponse) -> Error {
    let status = u16::from(response.status());
    let (code, message) = match decode_arm_error(response.body()) {
        Some(error) => {
            (error.code.unwrap_or_else(|| reason(status)), error.message.unwrap_or_else(|| "no message".to_string()))
        }
        None => {
            let body = String::from_utf8_lossy(response.body());
            let body: String = body.chars().take(200).collect();
            let message =
                if body.trim().is_empty() { "empty response body".to_string() } else { body.trim().to_string() };
            (reason(status), message)
        }
    };
    ErrorKind::Arm { status, code, message, resource: request.resource.clone(), action: Some(request.action) }.into()
}

fn reason(status: u16) -> String {
    match status {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "UnexpectedStatus",
    }
    .to_string()
}
