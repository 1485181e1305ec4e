//! The daemon's HTTP endpoints: `/healthz` (liveness, with where the schedule stands) and `/metrics` (OpenMetrics
//! text, which Prometheus scrapes).
//!
//! Read-only: nothing here can trigger an evaluation or change state.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json};
use axum::routing::get;

use super::metrics::{CONTENT_TYPE, Metrics};
use autostop_state::election::Role;

/// The router serving `/healthz` and `/metrics` from the shared metrics.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics_text)).with_state(metrics)
}

/// `{"status":"ok"|"degraded","problems":[..],"last_evaluated":..,"next_occurrence":..,"last_success":..}`,
/// instants in RFC 3339 or null; under leader election (`--ha`) also `"role":"leader"|"follower"` and, on a
/// follower that knows it, `"leader":{"host":..,"pid":..,"listen":..}`.
#[derive(serde::Serialize)]
struct HealthBody {
    status: &'static str,
    problems: Vec<String>,
    last_evaluated: Option<String>,
    next_occurrence: Option<String>,
    last_success: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<autostop_state::LeaderIdentity>,
}

/// 200 while the last evaluation was clean; 503 with the reasons while anything it did failed, was lost or
/// stayed unconfirmed, until a clean evaluation.
async fn healthz(State(metrics): State<Arc<Metrics>>) -> (StatusCode, Json<HealthBody>) {
    let health = metrics.health();
    let problems = health.all_problems();
    let text = |at: Option<jiff::Timestamp>| at.map(|at| at.to_string());
    let (role, leader) = match health.role {
        None => (None, None),
        Some(Role::Leader) => (Some("leader"), None),
        Some(Role::Follower { leader, .. }) => (Some("follower"), leader),
    };
    let (code, status) =
        if problems.is_empty() { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "degraded") };
    let body = HealthBody {
        status,
        problems,
        last_evaluated: text(health.last_evaluated),
        next_occurrence: text(health.next_occurrence),
        last_success: text(health.last_success),
        role,
        leader,
    };
    (code, Json(body))
}

async fn metrics_text(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}
