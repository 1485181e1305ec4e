//! The anonymous documents Entra serves before any token request, so that MSAL-based clients (azure-identity, the
//! Azure CLI, MSAL JS) work with only their authority pointed at the emulator:
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration` and `GET /{tenant}/.well-known/openid-configuration`
//!   (v1): the OpenID configuration, with Entra's fields, endpoints on the emulator;
//! - `GET /{tenant}/discovery/v2.0/keys` and `GET /{tenant}/discovery/keys`: the signing keys (JWKS);
//! - `GET /common/discovery/instance`: instance discovery, for clients that are told to ask the emulator.
//!
//! Shapes follow Entra's recorded answers (azure-sdk-for-js identity recordings) and captured documents. The
//! emulator's access tokens are not signed with a published key (see `tokens`), so the key sets are empty: a client
//! that verifies access-token signatures fails loudly rather than trusting a made-up key. Tenants other than the
//! configured one (and `common` / `organizations`) get Entra's `400 invalid_tenant` (AADSTS90002).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::identity::entra_error;
use crate::server::Shared;

/// Tenant names that stand for "any tenant" in Entra's documents (issuer with the `{tenantid}` placeholder).
const MULTI_TENANT: [&str; 2] = ["common", "organizations"];

/// The discovery routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/common/discovery/instance", get(instance_discovery))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(openid_configuration_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(openid_configuration_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/discovery/keys", get(keys))
}

/// The document `make` builds for `tenant` (the configured id, or a multi-tenant alias), or Entra's 400
/// `invalid_tenant` for any other tenant.
fn for_tenant(shared: &Shared, tenant: &str, make: impl FnOnce(&str) -> Value) -> Response {
    if tenant.eq_ignore_ascii_case(&shared.config.tenant_id) {
        return document(make(&shared.config.tenant_id));
    }
    if let Some(alias) = MULTI_TENANT.iter().find(|alias| tenant.eq_ignore_ascii_case(alias)) {
        return document(make(alias));
    }
    entra_error(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the \
             correct cloud. Check with your subscription administrator, this may happen if there are no active \
             subscriptions for the tenant."
        ),
    )
}

/// A discovery document with Entra's caching header.
fn document(body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=86400, private"));
    response
}

/// The fields the v2.0 and v1 OpenID configurations of `tenant` share.
fn common_fields(base: &str, tenant: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "token_endpoint_auth_methods_supported",
            json!(["client_secret_post", "private_key_jwt", "client_secret_basic"]),
        ),
        ("response_modes_supported", json!(["query", "fragment", "form_post"])),
        ("subject_types_supported", json!(["pairwise"])),
        ("id_token_signing_alg_values_supported", json!(["RS256"])),
        ("http_logout_supported", json!(true)),
        ("frontchannel_logout_supported", json!(true)),
        ("kerberos_endpoint", json!(format!("{base}/{tenant}/kerberos"))),
        ("tenant_region_scope", if MULTI_TENANT.contains(&tenant) { Value::Null } else { json!("WW") }),
        ("cloud_instance_name", json!("microsoftonline.com")),
        ("cloud_graph_host_name", json!("graph.windows.net")),
        ("msgraph_host", json!("graph.microsoft.com")),
        ("rbac_url", json!("https://pas.windows.net")),
    ]
}

/// A version's own fields (a JSON object) plus the [`common_fields`].
fn with_common(base: &str, tenant: &str, mut own: Value) -> Value {
    if let Some(fields) = own.as_object_mut() {
        fields.extend(common_fields(base, tenant).into_iter().map(|(name, value)| (name.to_owned(), value)));
    }
    own
}

/// The issuer's tenant part: the tenant, or Entra's `{tenantid}` placeholder for the multi-tenant aliases.
fn issuer_tenant(tenant: &str) -> &str {
    if MULTI_TENANT.contains(&tenant) { "{tenantid}" } else { tenant }
}

/// The v2.0 OpenID configuration of `tenant` served from `base`.
fn openid_v2(base: &str, tenant: &str) -> Value {
    let at = |path: &str| format!("{base}/{tenant}{path}");
    let own = json!({
        "token_endpoint": at("/oauth2/v2.0/token"),
        "jwks_uri": at("/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{}/v2.0", issuer_tenant(tenant)),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": at("/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": at("/oauth2/v2.0/devicecode"),
        "end_session_endpoint": at("/oauth2/v2.0/logout"),
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
            "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash",
            "c_hash", "email"
        ]
    });
    with_common(base, tenant, own)
}

/// The v1 OpenID configuration of `tenant` served from `base`.
fn openid_v1(base: &str, tenant: &str) -> Value {
    let at = |path: &str| format!("{base}/{tenant}{path}");
    let own = json!({
        "token_endpoint": at("/oauth2/token"),
        "jwks_uri": format!("{base}/common/discovery/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
        "scopes_supported": ["openid"],
        "issuer": format!("https://sts.windows.net/{}/", issuer_tenant(tenant)),
        "microsoft_multi_refresh_token": true,
        "authorization_endpoint": at("/oauth2/authorize"),
        "device_authorization_endpoint": at("/oauth2/devicecode"),
        "end_session_endpoint": at("/oauth2/logout"),
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host",
            "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"
        ],
        "check_session_iframe": at("/oauth2/checksession"),
        "userinfo_endpoint": at("/openid/userinfo")
    });
    with_common(base, tenant, own)
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
async fn openid_configuration_v2(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    for_tenant(&shared, &tenant, |tenant| openid_v2(&shared.config.base_url, tenant))
}

/// `GET /{tenant}/.well-known/openid-configuration` (v1).
async fn openid_configuration_v1(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    for_tenant(&shared, &tenant, |tenant| openid_v1(&shared.config.base_url, tenant))
}

/// `GET /{tenant}/discovery[/v2.0]/keys`: no published keys (the emulator's tokens carry no verifiable signature).
async fn keys(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>) -> Response {
    for_tenant(&shared, &tenant, |_| json!({"keys": []}))
}

/// `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=https://HOST/{tenant}/oauth2/v2.0/authorize`.
///
/// Entra answers with the tenant's v2.0 OpenID configuration URL and the groups of host aliases; the emulator knows
/// one host (itself), so one group. An authorization endpoint on another host is `invalid_instance`, as Entra
/// answers for hosts it does not know.
async fn instance_discovery(State(shared): State<Arc<Shared>>, Query(query): Query<Vec<(String, String)>>) -> Response {
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let Some(endpoint) = param("authorization_endpoint") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'authorization_endpoint'.",
        );
    };
    let base = &shared.config.base_url;
    let own_host = url::Url::parse(base).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let parsed = url::Url::parse(endpoint).ok();
    let host = parsed.as_ref().and_then(|u| u.host_str()).unwrap_or_default();
    let tenant = parsed.as_ref().and_then(|u| u.path_segments()?.next().map(str::to_owned)).unwrap_or_default();
    if !host.eq_ignore_ascii_case(&own_host) || tenant.is_empty() {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_instance",
            50049,
            &format!("Unknown or invalid instance: the emulator serves only {base}, not '{endpoint}'."),
        );
    }
    let network = base.trim_start_matches("https://");
    document(json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": param("api-version").unwrap_or("1.1"),
        "metadata": [{"preferred_network": network, "preferred_cache": network, "aliases": [network, own_host]}]
    }))
}
