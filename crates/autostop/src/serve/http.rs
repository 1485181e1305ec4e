//! The daemon's HTTP endpoints: `/healthz` (liveness, with where the schedule stands) and `/metrics` (Prometheus).
//!
//! Read-only: nothing here can trigger an evaluation or change state.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json};
use axum::routing::get;

use super::metrics::{CONTENT_TYPE, Health, Metrics};

/// The router serving `/healthz` and `/metrics` from the shared metrics.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics_text)).with_state(metrics)
}

/// `{"status":"ok","last_evaluated":..,"next_occurrence":..,"last_success":..}`, instants in RFC 3339 or null.
#[derive(serde::Serialize)]
struct HealthBody {
    status: &'static str,
    last_evaluated: Option<String>,
    next_occurrence: Option<String>,
    last_success: Option<String>,
}

async fn healthz(State(metrics): State<Arc<Metrics>>) -> Json<HealthBody> {
    let Health { last_evaluated, next_occurrence, last_success } = metrics.health();
    let text = |at: Option<jiff::Timestamp>| at.map(|at| at.to_string());
    Json(HealthBody {
        status: "ok",
        last_evaluated: text(last_evaluated),
        next_occurrence: text(next_occurrence),
        last_success: text(last_success),
    })
}

async fn metrics_text(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}
