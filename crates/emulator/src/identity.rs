//! The token endpoints, answering exactly what `azure_identity` 1.0 sends and expects:
//! Entra client credentials (`POST /{tenant}/oauth2/v2.0/token`, secret or client assertion, AADSTS-style errors),
//! the App Service managed identity endpoint (`GET /msi/token`, `X-IDENTITY-HEADER`, api-version 2019-08-01) and
//! the VM IMDS path (`GET /metadata/identity/oauth2/token`, `Metadata: true`) for tests that redirect IMDS here.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::arm::json::stable_guid;
use crate::secret::Secret;
use crate::server::Shared;
use crate::tokens::Claims;

/// The client assertion type of a JWT bearer assertion.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The only api-version the managed identity endpoints accept (what azure_identity sends).
const MSI_API_VERSION: &str = "2019-08-01";

/// The identity routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(entra_token))
        .route("/msi/token", get(app_service_token))
        .route("/metadata/identity/oauth2/token", get(imds_token))
}

/// An Entra error: `{"error", "error_description": "AADSTSnnn: ...\r\nTrace ID: ...", "error_codes": [nnn], ...}`.
pub(crate) fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let now = jiff::Timestamp::now();
    let timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, axum::Json(body)).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`.
async fn entra_token(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>, body: Bytes) -> Response {
    let config = &shared.config;
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let missing = |name: &str| {
        entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    if !tenant.eq_ignore_ascii_case(&config.tenant_id) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into \
                 the correct cloud."
            ),
        );
    }
    let Some(grant_type) = field("grant_type") else { return missing("grant_type") };
    if grant_type != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!(
                "The app requested an unsupported grant type '{grant_type}'; the emulator supports client_credentials."
            ),
        );
    }
    let Some(client_id) = field("client_id") else { return missing("client_id") };
    if !client_id.eq_ignore_ascii_case(&config.client_id) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen \
                 if the application has not been installed by the administrator of the tenant or consented to by any \
                 user in the tenant."
            ),
        );
    }
    let Some(scope) = field("scope") else { return missing("scope") };
    let Some(audience) = scope.strip_suffix("/.default").filter(|a| !a.is_empty() && !scope.contains(' ')) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value \
                 with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    match (field("client_secret"), field("client_assertion")) {
        (Some(secret), _) => {
            if secret != config.client_secret.expose() {
                return entra_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    &format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client \
                         secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                );
            }
        }
        (None, Some(assertion)) => {
            let assertion_type = field("client_assertion_type").unwrap_or_default();
            if assertion_type != JWT_BEARER || assertion.split('.').count() != 3 {
                return entra_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    50027,
                    &format!("JWT token is invalid or malformed (client_assertion_type '{assertion_type}')."),
                );
            }
            let expected = shared.live().control.workload_assertion.clone();
            if expected.as_ref().map(Secret::expose) != Some(assertion) {
                return entra_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client",
                    70021,
                    "No matching federated identity record found for presented assertion.",
                );
            }
        }
        (None, None) => {
            return entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    }
    let lifetime = config.token_lifetime.as_secs();
    let object_id = stable_guid(&format!("{}/principal", config.client_id));
    let claims = Claims { audience, tenant_id: &config.tenant_id, app_id: &config.client_id, object_id: &object_id };
    let (token, _) = shared.issue_token(&claims);
    axum::Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    }))
    .into_response()
}

/// Which kind of managed identity endpoint is answering.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Msi {
    AppService,
    Imds,
}

/// `GET /msi/token` (App Service, Functions).
async fn app_service_token(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    managed_identity_token(&shared, &query, &headers, Msi::AppService)
}

/// `GET /metadata/identity/oauth2/token` (VM IMDS).
async fn imds_token(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    managed_identity_token(&shared, &query, &headers, Msi::Imds)
}

fn managed_identity_token(shared: &Shared, query: &[(String, String)], headers: &HeaderMap, kind: Msi) -> Response {
    let config = &shared.config;
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let bad = |status: StatusCode, message: String| {
        (status, axum::Json(json!({"error": "invalid_request", "error_description": message}))).into_response()
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match kind {
        Msi::AppService => {
            if header("x-identity-header") != Some(config.identity_header.expose()) {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER header is missing or wrong."})),
                )
                    .into_response();
            }
        }
        Msi::Imds => {
            if !header("metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                return bad(StatusCode::BAD_REQUEST, "Required metadata header not specified".to_owned());
            }
        }
    }
    match param("api-version") {
        Some(MSI_API_VERSION) => {}
        Some(other) => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("api-version '{other}' is not supported by the emulator; expected {MSI_API_VERSION}"),
            );
        }
        None => return bad(StatusCode::BAD_REQUEST, "Required query variable 'api-version' is missing".to_owned()),
    }
    let Some(resource) = param("resource").filter(|r| !r.is_empty()) else {
        return bad(StatusCode::BAD_REQUEST, "Required query variable 'resource' is missing".to_owned());
    };
    let principal = stable_guid(&format!("{}/principal", config.managed_identity_client_id));
    for (name, expected) in [("client_id", &config.managed_identity_client_id), ("object_id", &principal)] {
        if param(name).is_some_and(|given| !given.eq_ignore_ascii_case(expected)) {
            return bad(StatusCode::BAD_REQUEST, format!("Identity not found: no identity with {name} assigned"));
        }
    }
    if param("msi_res_id").is_some() {
        return bad(
            StatusCode::BAD_REQUEST,
            "Identity not found: the emulator has no identity by msi_res_id".to_owned(),
        );
    }
    let lifetime = config.token_lifetime.as_secs();
    let now = crate::clock::unix_now();
    let claims = Claims {
        audience: resource,
        tenant_id: &config.tenant_id,
        app_id: &config.managed_identity_client_id,
        object_id: &principal,
    };
    let (token, issued) = shared.issue_token(&claims);
    let mut body = json!({
        "access_token": token,
        "expires_on": issued.expires_at.to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": config.managed_identity_client_id,
    });
    if kind == Msi::Imds {
        body["expires_in"] = json!(lifetime.to_string());
        body["ext_expires_in"] = json!(lifetime.to_string());
        body["not_before"] = json!(now.to_string());
    }
    axum::Json(body).into_response()
}
