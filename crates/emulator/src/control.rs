//! Emulator-only controls, on the Rust [`Control`] handle and on the `/_emulator/...` management path: step
//! operations to their end, read and set states, mint tokens, inject failures, faults and denials, change latency and
//! throttling, read what was served.
//!
//! Tests use these to advance state without sleeping. The management path needs no token (it is not Azure).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::arm::json::stable_guid;
use crate::compute_limits::ComputeLimits;
use crate::faults::Faults;
use crate::secret::Secret;
use crate::server::Shared;
use crate::throttle::{Throttle, ThrottleOptions};
use crate::tokens::Claims;

/// RBAC action names that [`Control::deny`] matches (ARM's own names).
pub mod actions {
    /// Read a subscription.
    pub const SUBSCRIPTION_READ: &str = "Microsoft.Resources/subscriptions/read";
    /// List or get workspaces.
    pub const WORKSPACE_READ: &str = "Microsoft.MachineLearningServices/workspaces/read";
    /// List or get computes.
    pub const COMPUTE_READ: &str = "Microsoft.MachineLearningServices/workspaces/computes/read";
    /// Start a compute instance.
    pub const COMPUTE_START: &str = "Microsoft.MachineLearningServices/workspaces/computes/start/action";
    /// Stop a compute instance.
    pub const COMPUTE_STOP: &str = "Microsoft.MachineLearningServices/workspaces/computes/stop/action";
    /// Restart a compute instance.
    pub const COMPUTE_RESTART: &str = "Microsoft.MachineLearningServices/workspaces/computes/restart/action";
    /// Poll a compute operation.
    pub const OPERATION_READ: &str = "Microsoft.MachineLearningServices/locations/computeOperationsStatus/read";
    /// Set a compute instance's idle shutdown.
    pub const COMPUTE_IDLE_SHUTDOWN: &str =
        "Microsoft.MachineLearningServices/workspaces/computes/updateIdleShutdownSetting/action";
    /// List or get VMs.
    pub const VM_READ: &str = "Microsoft.Compute/virtualMachines/read";
    /// Start a VM.
    pub const VM_START: &str = "Microsoft.Compute/virtualMachines/start/action";
    /// Deallocate a VM.
    pub const VM_DEALLOCATE: &str = "Microsoft.Compute/virtualMachines/deallocate/action";
    /// Power off a VM (autostop never needs it: powered off still bills).
    pub const VM_POWER_OFF: &str = "Microsoft.Compute/virtualMachines/powerOff/action";
    /// Restart a VM.
    pub const VM_RESTART: &str = "Microsoft.Compute/virtualMachines/restart/action";
    /// List or get scale sets.
    pub const SCALE_SET_READ: &str = "Microsoft.Compute/virtualMachineScaleSets/read";
    /// Read a scale set's instance view.
    pub const SCALE_SET_VIEW_READ: &str = "Microsoft.Compute/virtualMachineScaleSets/instanceView/read";
    /// Start a scale set.
    pub const SCALE_SET_START: &str = "Microsoft.Compute/virtualMachineScaleSets/start/action";
    /// Deallocate a scale set.
    pub const SCALE_SET_DEALLOCATE: &str = "Microsoft.Compute/virtualMachineScaleSets/deallocate/action";
    /// Poll a Compute operation.
    pub const COMPUTE_OPERATION_READ: &str = "Microsoft.Compute/locations/operations/read";
    /// List autoscale settings.
    pub const AUTOSCALE_READ: &str = "Microsoft.Insights/AutoscaleSettings/read";
}

/// One request the emulator served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// The HTTP version the request came in.
    pub version: HttpVersion,
    /// The HTTP status answered.
    pub status: u16,
}

/// The HTTP version of a request, as the emulator records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    /// HTTP/1.0 (no client of the emulator is known to send it, but hyper accepts it).
    #[serde(rename = "HTTP/1.0")]
    Http10,
    /// HTTP/1.1.
    #[serde(rename = "HTTP/1.1")]
    Http11,
    /// HTTP/2 (negotiated by ALPN `h2`).
    #[serde(rename = "HTTP/2")]
    Http2,
}

impl From<hyper::Version> for HttpVersion {
    /// HTTP/2 for HTTP/2, HTTP/1.0 for HTTP/1.0 and older; anything else hyper serves is HTTP/1.1 (it serves
    /// only those).
    fn from(version: hyper::Version) -> Self {
        match version {
            hyper::Version::HTTP_2 => HttpVersion::Http2,
            hyper::Version::HTTP_09 | hyper::Version::HTTP_10 => HttpVersion::Http10,
            _ => HttpVersion::Http11,
        }
    }
}

/// Control-side state kept with the live fleet.
#[derive(Debug, Default)]
pub(crate) struct ControlState {
    /// (scope prefix, action), both lowercase.
    denials: Vec<(String, String)>,
    /// Everything served, in order.
    pub requests: Vec<RecordedRequest>,
    /// The client assertion the token endpoint accepts.
    pub workload_assertion: Option<Secret>,
}

impl ControlState {
    /// True when a denial covers this scope and action (`*` denies every action).
    pub fn is_denied(&self, scope: &str, action: &str) -> bool {
        let (scope, action) = (scope.to_ascii_lowercase(), action.to_ascii_lowercase());
        self.denials.iter().any(|(prefix, denied)| scope.starts_with(prefix) && (denied == "*" || *denied == action))
    }
}

/// A cheap, cloneable handle on a running emulator's live state.
#[derive(Clone)]
pub struct Control {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").field("base_url", &self.shared.config.base_url).finish_non_exhaustive()
    }
}

impl Control {
    pub(crate) fn new(shared: Arc<Shared>) -> Control {
        Control { shared }
    }

    /// The state of a compute by full ARM id (case-insensitive), as a GET would show it now.
    pub fn state(&self, compute_id: &str) -> Option<String> {
        let now = self.shared.clock.now();
        let wall = self.shared.wall();
        let mut live = self.shared.live();
        let index = live.world.compute_by_id(compute_id)?;
        live.world.settle(index, now, &wall);
        Some(live.world.compute_at(index).spec.state.clone())
    }

    /// How many computes of the whole fleet are in each state now, as GETs would show them (e.g. to check what
    /// a run really did, independently of what the client reported).
    pub fn state_counts(&self) -> BTreeMap<String, usize> {
        let now = self.shared.clock.now();
        let wall = self.shared.wall();
        self.shared.live().world.state_counts(now, &wall)
    }

    /// Sets a compute's state (e.g. `JobRunning`), cancelling any transition in flight; false if no such compute.
    pub fn set_state(&self, compute_id: &str, state: &str) -> bool {
        let wall = self.shared.wall();
        let mut live = self.shared.live();
        let Some(index) = live.world.compute_by_id(compute_id) else { return false };
        live.world.set_state(index, state, &wall);
        true
    }

    /// Finishes every in-flight transition now (compute instances, VMs, scale sets): the next GET or poll sees
    /// the end state.
    pub fn complete_operations(&self) {
        let now = self.shared.clock.now();
        let wall = self.shared.wall();
        let mut live = self.shared.live();
        live.world.complete_operations(now, &wall);
        live.machines.complete_operations(now, &wall);
    }

    /// The power state (`running`, `deallocated`...) of a VM or scale set by full ARM id, as a GET would show it
    /// now.
    pub fn power_state(&self, machine_id: &str) -> Option<String> {
        let now = self.shared.clock.now();
        let wall = self.shared.wall();
        let mut live = self.shared.live();
        let index = live.machines.by_id(machine_id)?;
        live.machines.settle(index, now, &wall);
        Some(live.machines.at(index).power_state.clone())
    }

    /// Sets a VM's or scale set's power state, cancelling any transition in flight; false if no such machine.
    pub fn set_power_state(&self, machine_id: &str, state: &str) -> bool {
        let wall = self.shared.wall();
        let mut live = self.shared.live();
        let Some(index) = live.machines.by_id(machine_id) else { return false };
        live.machines.set_power_state(index, state, &wall);
        true
    }

    /// Replaces the Compute RP's policy sizes (counts already spent in the current windows are kept).
    pub fn set_compute_limits(&self, limits: ComputeLimits) {
        self.shared.live().compute_limits = limits;
    }

    /// A valid ARM bearer token for the configured service principal (e.g. for a fake `az` in tests).
    pub fn mint_token(&self) -> String {
        let config = &self.shared.config;
        let object_id = stable_guid(&format!("{}/principal", config.client_id));
        let claims = Claims {
            audience: "https://management.azure.com",
            tenant_id: &config.tenant_id,
            app_id: &config.client_id,
            object_id: &object_id,
        };
        self.shared.issue_token(&claims).0
    }

    /// The next operation on every compute with this name (any workspace) ends `Failed` with an ARM error;
    /// returns how many computes were marked.
    pub fn fail_operations_for(&self, compute_name: &str) -> usize {
        let mut live = self.shared.live();
        live.world.fail_next_operation(compute_name) + live.machines.fail_next_operation(compute_name)
    }

    /// Answers 403 `AuthorizationFailed` for `action` (see [`actions`]; `*` for all) on every ARM id that starts
    /// with `scope_prefix` (case-insensitive).
    pub fn deny(&self, scope_prefix: &str, action: &str) {
        let denial = (scope_prefix.trim_end_matches('/').to_ascii_lowercase(), action.to_ascii_lowercase());
        self.shared.live().control.denials.push(denial);
    }

    /// Lifts every denial made with [`Control::deny`].
    pub fn allow_all(&self) {
        self.shared.live().control.denials.clear();
    }

    /// Makes every token issued so far expire now (ARM then answers 401 `ExpiredAuthenticationToken`).
    pub fn expire_tokens(&self) {
        self.shared.live().tokens.expire_all(crate::clock::unix_now());
    }

    /// Replaces the fault settings (rates, slow operations, early token expiry, seed).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.live().faults.set(faults);
    }

    /// The next `count` ARM requests are answered 500 `InternalServerError`.
    pub fn fail_next_requests(&self, count: usize) {
        self.shared.live().faults.server_errors(count);
    }

    /// The next `count` ARM requests get no answer: their connection closed (HTTP/1.1), their stream reset (HTTP/2).
    pub fn drop_next_connections(&self, count: usize) {
        self.shared.live().faults.drops(count);
    }

    /// Sets the real time added to every request (except the management path).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.live().latency = latency;
    }

    /// Turns ARM throttling on with fresh (full) buckets, or off with `None`.
    pub fn set_throttle(&self, throttle: Option<ThrottleOptions>) {
        self.shared.live().throttle = throttle.map(Throttle::new);
    }

    /// Everything served so far, in order (the `/_emulator/` management path is not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.live().control.requests.clone()
    }

    /// The client assertion (a JWT) the token endpoint accepts from `ClientAssertionCredential` /
    /// `WorkloadIdentityCredential`.
    pub fn set_workload_assertion(&self, assertion: &str) {
        self.shared.live().control.workload_assertion = Some(Secret::new(assertion));
    }
}

/// The `/_emulator/...` routes (same operations as [`Control`]).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/complete-operations", post(complete_operations))
        .route("/state", get(get_state).post(set_state))
        .route("/state-counts", get(state_counts))
        .route("/token", post(mint_token))
        .route("/fail-operations", post(fail_operations))
        .route("/deny", post(deny))
        .route("/requests", get(requests))
        .route("/expire-tokens", post(expire_tokens))
        .route("/faults", post(set_faults))
        .route("/fail-requests", post(fail_requests))
        .route("/drop-connections", post(drop_connections))
        .route("/latency", post(set_latency))
        .route("/throttle", post(set_throttle))
        .route("/workload-assertion", post(workload_assertion))
        .fallback(|| async {
            let body = json!({"error": {"code": "UnsupportedByEmulator", "message": "no such /_emulator/ control"}});
            (StatusCode::NOT_FOUND, Json(body))
        })
}

fn control(shared: Arc<Shared>) -> Control {
    Control::new(shared)
}

async fn complete_operations(State(shared): State<Arc<Shared>>) -> StatusCode {
    control(shared).complete_operations();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct IdQuery {
    id: String,
}

async fn get_state(State(shared): State<Arc<Shared>>, Query(query): Query<IdQuery>) -> Response {
    match control(shared).state(&query.id) {
        Some(state) => Json(json!({"id": query.id, "state": state})).into_response(),
        None => not_found(&query.id),
    }
}

async fn state_counts(State(shared): State<Arc<Shared>>) -> Json<BTreeMap<String, usize>> {
    Json(control(shared).state_counts())
}

#[derive(Deserialize)]
struct SetState {
    id: String,
    state: String,
}

async fn set_state(State(shared): State<Arc<Shared>>, Json(body): Json<SetState>) -> Response {
    if control(shared).set_state(&body.id, &body.state) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found(&body.id)
    }
}

async fn mint_token(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(json!({"access_token": control(shared).mint_token(), "token_type": "Bearer"}))
}

#[derive(Deserialize)]
struct FailOperations {
    compute: String,
}

async fn fail_operations(State(shared): State<Arc<Shared>>, Json(body): Json<FailOperations>) -> Response {
    match control(shared).fail_operations_for(&body.compute) {
        0 => not_found(&body.compute),
        marked => Json(json!({"marked": marked})).into_response(),
    }
}

#[derive(Deserialize)]
struct Deny {
    scope: String,
    action: String,
}

async fn deny(State(shared): State<Arc<Shared>>, Json(body): Json<Deny>) -> StatusCode {
    control(shared).deny(&body.scope, &body.action);
    StatusCode::NO_CONTENT
}

async fn expire_tokens(State(shared): State<Arc<Shared>>) -> StatusCode {
    control(shared).expire_tokens();
    StatusCode::NO_CONTENT
}

async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> StatusCode {
    control(shared).set_faults(faults);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Count {
    count: usize,
}

async fn fail_requests(State(shared): State<Arc<Shared>>, Json(body): Json<Count>) -> StatusCode {
    control(shared).fail_next_requests(body.count);
    StatusCode::NO_CONTENT
}

async fn drop_connections(State(shared): State<Arc<Shared>>, Json(body): Json<Count>) -> StatusCode {
    control(shared).drop_next_connections(body.count);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Latency {
    ms: u64,
}

async fn set_latency(State(shared): State<Arc<Shared>>, Json(body): Json<Latency>) -> StatusCode {
    control(shared).set_latency(Duration::from_millis(body.ms));
    StatusCode::NO_CONTENT
}

async fn set_throttle(State(shared): State<Arc<Shared>>, Json(body): Json<Option<ThrottleOptions>>) -> StatusCode {
    control(shared).set_throttle(body);
    StatusCode::NO_CONTENT
}

async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedRequest>> {
    Json(control(shared).requests())
}

#[derive(Deserialize)]
struct Assertion {
    assertion: String,
}

async fn workload_assertion(State(shared): State<Arc<Shared>>, Json(body): Json<Assertion>) -> StatusCode {
    control(shared).set_workload_assertion(&body.assertion);
    StatusCode::NO_CONTENT
}

fn not_found(what: &str) -> Response {
    let body =
        json!({"error": {"code": "ResourceNotFound", "message": format!("the emulator has no compute '{what}'")}});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
