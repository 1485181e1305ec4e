//! ARM over HTTP: authenticates the bearer token, requires `api-version`, checks denials, routes, pages lists,
//! and answers with ARM's headers (`x-ms-request-id`, `x-ms-correlation-request-id`,
//! `x-ms-ratelimit-remaining-subscription-reads|writes`) and error shapes.

mod compute;
mod idle;
pub(crate) mod json;
mod route;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::Value;

use crate::api_versions::{self, Service};
use crate::arm_error::ArmError;
use crate::server::{Config, Shared};
use crate::throttle::{Admission, Budget};
use crate::tokens::Rejection;
use crate::world::{PROVIDER, WorkspaceEntry, World};
use route::Route;

/// Audiences ARM accepts in a token (and the emulator's own URL, for clients that ask for it by name).
const ARM_AUDIENCES: [&str; 2] = ["https://management.azure.com", "https://management.core.windows.net"];

/// A successful ARM answer before the common headers are added.
struct Reply {
    status: StatusCode,
    /// JSON text.
    body: Option<String>,
    headers: Vec<(HeaderName, String)>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply::ok_text(body.to_string())
    }

    fn ok_text(body: String) -> Reply {
        Reply { status: StatusCode::OK, body: Some(body), headers: Vec::new() }
    }
}

/// True for paths ARM serves (where request faults and throttling apply).
pub(crate) fn is_arm_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower == "/subscriptions" || lower.starts_with("/subscriptions/") || lower.starts_with("/rp/workspaces/")
}

/// Which front end a request came through: it decides which `api-version`s are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Front {
    /// ARM itself: each service's own list of versions.
    Arm,
    /// Azure ML's regional API (`/rp/workspaces/...`), not ARM: any date-shaped version.
    Regional,
}

/// The ARM entry point (the router's fallback: every path not otherwise served). Paths that are neither ARM's nor
/// the emulator's get `400 UnsupportedByEmulator` at once, without asking for a token.
pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(route) = compute::parse(&method, uri.path()) {
        return compute::handle(&shared, &uri, &headers, &body, route);
    }
    if let Some(target) = idle::parse(&method, uri.path()) {
        return idle::handle(&shared, &uri, &headers, &body, target);
    }
    if !is_arm_scope(uri.path()) {
        let error = ArmError::unsupported(format!("{method} {}", uri.path()));
        return finish(Err(error), false, None, &headers);
    }
    respond(&shared, Front::Arm, &method, &uri, &headers)
}

/// Serves one ARM request that came through `front`.
pub(crate) fn respond(shared: &Shared, front: Front, method: &Method, uri: &Uri, headers: &HeaderMap) -> Response {
    let route = route::parse(method.as_str(), uri.path());
    let is_write = route.as_ref().is_some_and(Route::is_write);
    let mut remaining = None;
    let result = serve(shared, front, method, uri, headers, route, &mut remaining);
    finish(result, is_write, remaining, headers)
}

/// True for the paths ARM answers itself (with a token check first): subscriptions, tenants, providers.
fn is_arm_scope(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    ["subscriptions", "tenants", "providers"].iter().any(|scope| first.eq_ignore_ascii_case(scope))
}

/// A 500 from ARM's front door (the injected server-error fault), with ARM's headers.
pub(crate) fn injected_server_error(headers: &HeaderMap) -> Response {
    let error = ArmError::new(
        500,
        "InternalServerError",
        "Encountered an internal server error (a fault injected by the emulator). Please retry the request.",
    );
    finish(Err(error), false, None, headers)
}

/// Adds ARM's headers to a reply or an error: request and correlation ids, the remaining budget, no-cache.
fn finish(result: Result<Reply, ArmError>, is_write: bool, remaining: Option<u64>, headers: &HeaderMap) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| request_id.clone());
    let (status, body, mut extra) = match result {
        Ok(reply) => (reply.status, reply.body, reply.headers),
        Err(error) => {
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut extra = Vec::new();
            if let Some(value) = &error.www_authenticate {
                extra.push((header::WWW_AUTHENTICATE, value.clone()));
            }
            if let Some(seconds) = error.retry_after {
                extra.push((header::RETRY_AFTER, seconds.to_string()));
            }
            (status, Some(error.body().to_string()), extra)
        }
    };
    // Without throttling, ARM's nominal hourly budget as the recordings show it.
    let (budget, nominal) = if is_write {
        ("x-ms-ratelimit-remaining-subscription-writes", 1199)
    } else {
        ("x-ms-ratelimit-remaining-subscription-reads", 11999)
    };
    extra.extend([
        (HeaderName::from_static(budget), remaining.unwrap_or(nominal).to_string()),
        (HeaderName::from_static("x-ms-request-id"), request_id.clone()),
        (HeaderName::from_static("x-ms-correlation-request-id"), correlation_id),
        (
            HeaderName::from_static("x-ms-routing-request-id"),
            format!("EMULATOR:{}:{request_id}", jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")),
        ),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::PRAGMA, "no-cache".to_owned()),
        (header::EXPIRES, "-1".to_owned()),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (HeaderName::from_static("x-ms-response-type"), "standard".to_owned()),
    ]);
    let mut response = match body {
        Some(body) => {
            let mut response = Response::new(Body::from(body));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
            response
        }
        None => Response::new(Body::empty()),
    };
    *response.status_mut() = status;
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Everything between the request and the reply.
fn serve(
    shared: &Shared,
    front: Front,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    route: Option<Route>,
    remaining: &mut Option<u64>,
) -> Result<Reply, ArmError> {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let principal = authenticate(shared, headers)?;
    if let Some(subscription) = route.as_ref().and_then(Route::subscription) {
        let budget = if route.as_ref().is_some_and(Route::is_write) { Budget::Write } else { Budget::Read };
        // A throttled answer has spent nothing and has nothing left: it says 0, as ARM's does.
        *remaining = admit(shared, subscription, budget, &principal).inspect_err(|_| *remaining = Some(0))?;
    }
    let api_version = api_version(&query)?;
    let route = route.ok_or_else(|| ArmError::unsupported(format!("{method} {}", uri.path())))?;
    if front == Front::Arm {
        let world = &shared.live().world;
        let locations = world.locations();
        api_versions::check(&service(&route, world, &locations), api_version)?;
    }
    let (scope, action) = permission(&route, uri.path());
    authorize(shared, &principal, &scope, &action)?;
    let skip = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("$skipToken")).map(|(_, v)| v.as_str());
    let config = &shared.config;
    let now = shared.clock.now();
    let wall = shared.wall();
    let mut guard = shared.live();
    let live = &mut *guard;
    let world = &mut live.world;
    match route {
        Route::Subscriptions => {
            let ids = world.subscription_ids();
            let page = Page::of(ids.len(), skip, config.page_size)?;
            let value = ids[page.start..page.end]
                .iter()
                .map(|id| json::subscription(id, &config.tenant_id).to_string())
                .collect();
            Ok(Reply::ok_text(page.body(value, &config.base_url, uri.path(), api_version, Some(ids.len()))))
        }
        Route::Subscription { subscription } => {
            Ok(Reply::ok(json::subscription(world.subscription(&subscription)?, &config.tenant_id)))
        }
        Route::WorkspacesBySubscription { subscription } => {
            workspace_page(&world.workspaces_in_subscription(&subscription)?, skip, config, uri.path(), api_version)
        }
        Route::WorkspacesByGroup { subscription, group } => {
            workspace_page(&world.workspaces_in_group(&subscription, &group)?, skip, config, uri.path(), api_version)
        }
        Route::Workspace { subscription, group, workspace } => {
            let index = world.workspace(&subscription, &group, &workspace)?;
            Ok(Reply::ok(json::workspace(world.workspace_entry(index), &config.tenant_id, &config.base_url)))
        }
        Route::Computes { subscription, group, workspace } => {
            let ws = world.workspace(&subscription, &group, &workspace)?;
            let all = &world.workspace_entry(ws).computes;
            let page = Page::of(all.len(), skip, config.page_size)?;
            let on_page = all[page.start..page.end].to_vec();
            let value = on_page.into_iter().map(|index| compute_json(world, index, now, &wall, config)).collect();
            Ok(Reply::ok_text(page.body(value, &config.base_url, uri.path(), api_version, None)))
        }
        Route::Compute { subscription, group, workspace, name } => {
            let index = world.compute(&subscription, &group, &workspace, &name)?;
            Ok(Reply::ok_text(compute_json(world, index, now, &wall, config)))
        }
        Route::ComputeAction { subscription, group, workspace, name, action } => {
            let index = world.compute(&subscription, &group, &workspace, &name)?;
            let fault = live.faults.on_operation();
            let duration = config.transition.saturating_mul(fault.slowdown);
            let accepted = world.begin(index, action, now, duration, fault.fail, &wall)?;
            let status_url = format!(
                "{}/subscriptions/{}/providers/{PROVIDER}/locations/{}/computeOperationsStatus/{}?api-version={}&service=new",
                config.base_url,
                accepted.subscription,
                accepted.location,
                accepted.operation_id,
                encode(api_version)
            );
            Ok(Reply {
                status: StatusCode::ACCEPTED,
                body: None,
                headers: vec![(HeaderName::from_static("azure-asyncoperation"), status_url)],
            })
        }
        Route::OperationStatus { subscription, location: _, operation_id } => {
            let status = world.operation_status(&subscription, &operation_id, now, &wall)?;
            Ok(Reply::ok(json::operation_status(&status)))
        }
    }
}

/// The service that answers a route, with the resource type and location ARM names in its errors.
fn service<'a>(route: &'a Route, world: &'a World, locations: &'a [String]) -> Service<'a> {
    let machine_learning = |resource_type, location: Option<&'a str>| Service::Provider {
        versions: api_versions::MACHINE_LEARNING,
        resource_type,
        // ARM names no single location for a subscription-wide list ('*', as seen in a public report).
        location: location.unwrap_or("*"),
        locations,
    };
    match route {
        Route::Subscriptions | Route::Subscription { .. } => Service::Resources,
        Route::WorkspacesBySubscription { .. } => machine_learning("workspaces", None),
        Route::WorkspacesByGroup { subscription, group } => {
            machine_learning("workspaces", world.location_of(subscription, group, None))
        }
        Route::Workspace { subscription, group, workspace } => {
            machine_learning("workspaces", world.location_of(subscription, group, Some(workspace)))
        }
        Route::Computes { subscription, group, workspace }
        | Route::Compute { subscription, group, workspace, .. }
        | Route::ComputeAction { subscription, group, workspace, .. } => {
            machine_learning("workspaces/computes", world.location_of(subscription, group, Some(workspace)))
        }
        Route::OperationStatus { location, .. } => {
            machine_learning("locations/computeOperationsStatus", Some(location.as_str()))
        }
    }
}

/// One page of a workspace list.
fn workspace_page(
    all: &[&WorkspaceEntry],
    skip: Option<&str>,
    config: &Config,
    path: &str,
    api_version: &str,
) -> Result<Reply, ArmError> {
    let page = Page::of(all.len(), skip, config.page_size)?;
    let value = all[page.start..page.end]
        .iter()
        .map(|ws| json::workspace(ws, &config.tenant_id, &config.base_url).to_string())
        .collect();
    Ok(Reply::ok_text(page.body(value, &config.base_url, path, api_version, None)))
}

/// A compute's JSON at `now`, rendered once and reused until it changes (lists of 10,000 instances stay cheap).
fn compute_json(world: &mut World, index: usize, now: Duration, wall: &str, config: &Config) -> String {
    world.settle(index, now, wall);
    if let Some(cached) = world.rendered(index) {
        return cached.to_owned();
    }
    let entry = world.compute_at(index);
    let text = json::compute(entry, world.workspace_entry(entry.workspace), &config.tenant_id).to_string();
    world.remember_rendered(index, text.clone());
    text
}

/// Spends a token of the subscription's bucket: the remaining budget, or 429 with `Retry-After` (real seconds).
fn admit(shared: &Shared, subscription: &str, budget: Budget, principal: &str) -> Result<Option<u64>, ArmError> {
    let now = shared.clock.now();
    let mut live = shared.live();
    let Some(throttle) = live.throttle.as_mut() else { return Ok(None) };
    match throttle.admit(subscription, budget, now) {
        Admission::Allowed { remaining } => Ok(Some(remaining)),
        Admission::Throttled { retry_after } => {
            let seconds = shared.clock.real(retry_after).as_secs_f64().ceil().max(1.0) as u64;
            let kind = if budget == Budget::Write { "write" } else { "read" };
            let mut error = ArmError::new(
                429,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of '{kind}' requests for subscription '{subscription}' actor '{principal}' exceeded. \
                     Please try again after '{seconds}' seconds after additional tokens are available. Refer to \
                     https://aka.ms/arm-throttling for additional information."
                ),
            );
            error.retry_after = Some(seconds);
            Err(error)
        }
    }
}

/// 403 `AuthorizationFailed` when a denial covers `action` on `scope`.
fn authorize(shared: &Shared, principal: &str, scope: &str, action: &str) -> Result<(), ArmError> {
    if !shared.live().control.is_denied(scope, action) {
        return Ok(());
    }
    Err(ArmError::new(
        403,
        "AuthorizationFailed",
        format!(
            "The client '{principal}' with object id '{principal}' does not have authorization to perform action \
             '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please \
             refresh your credentials."
        ),
    ))
}

/// Checks the bearer token; returns the principal's object id.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<String, ArmError> {
    let challenge = |code: &str, message: String| {
        let mut error = ArmError::new(401, code, message.clone());
        error.www_authenticate = Some(format!(
            "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"{}\"",
            shared.config.base_url,
            shared.config.tenant_id,
            message.replace('"', "'")
        ));
        error
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(challenge(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".into(),
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("Bearer") && !token.trim().is_empty())
        .map(|(_, token)| token.trim())
        .ok_or_else(|| {
            challenge(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.".into(),
            )
        })?;
    let now = crate::clock::unix_now();
    let live = shared.live();
    match live.tokens.check(token, now) {
        Ok(issued) => {
            let audience = issued.audience.trim_end_matches('/');
            let base = shared.config.base_url.as_str();
            if !ARM_AUDIENCES.contains(&audience) && audience != base {
                return Err(challenge(
                    "InvalidAuthenticationTokenAudience",
                    format!(
                        "The access token has been obtained for wrong audience or resource '{}'. It should exactly \
                         match with one of the allowed audiences 'https://management.core.windows.net/',\
                         'https://management.azure.com/'.",
                        issued.audience
                    ),
                ));
            }
            Ok(issued.object_id.clone())
        }
        Err(Rejection::Unknown) => Err(challenge("InvalidAuthenticationToken", "The access token is invalid.".into())),
        Err(Rejection::Expired { expired_at }) => {
            let show = |secs: i64| {
                jiff::Timestamp::from_second(secs)
                    .map(|t| t.strftime("%m/%d/%Y %H:%M:%S").to_string())
                    .unwrap_or_else(|_| secs.to_string())
            };
            Err(challenge(
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    show(expired_at),
                    show(now)
                ),
            ))
        }
    }
}

/// The `api-version` query parameter: required, and shaped `YYYY-MM-DD` with an optional `-preview` suffix.
fn api_version(query: &[(String, String)]) -> Result<&str, ArmError> {
    let Some((_, version)) = query.iter().find(|(k, _)| k.eq_ignore_ascii_case("api-version")) else {
        return Err(ArmError::new(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let date = version.strip_suffix("-preview").unwrap_or(version);
    if jiff::civil::Date::strptime("%Y-%m-%d", date).is_err() || date.len() != 10 {
        return Err(ArmError::new(
            400,
            "InvalidApiVersionParameter",
            format!("The api-version '{version}' is invalid. The supported versions are dates such as '2024-04-01'."),
        ));
    }
    Ok(version)
}

/// The scope and RBAC action a request needs (what [`crate::Control::deny`] matches).
fn permission(route: &Route, path: &str) -> (String, String) {
    let path = path.trim_end_matches('/');
    let action = match route {
        Route::Subscriptions | Route::Subscription { .. } => "Microsoft.Resources/subscriptions/read".to_owned(),
        Route::WorkspacesBySubscription { .. } | Route::WorkspacesByGroup { .. } | Route::Workspace { .. } => {
            format!("{PROVIDER}/workspaces/read")
        }
        Route::Computes { .. } | Route::Compute { .. } => format!("{PROVIDER}/workspaces/computes/read"),
        Route::ComputeAction { action, .. } => action.rbac_action(),
        Route::OperationStatus { .. } => format!("{PROVIDER}/locations/computeOperationsStatus/read"),
    };
    let scope = match route {
        Route::ComputeAction { .. } => path.rsplit_once('/').map(|(scope, _)| scope).unwrap_or(path),
        _ => path,
    };
    (scope.to_owned(), action)
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// One page of a list.
struct Page {
    start: usize,
    end: usize,
    next: Option<usize>,
}

impl Page {
    /// The page `skip_token` starts (an offset the emulator itself handed out in a `nextLink`).
    fn of(total: usize, skip_token: Option<&str>, page_size: usize) -> Result<Page, ArmError> {
        let start = match skip_token {
            None => 0,
            Some(token) => token.parse::<usize>().ok().filter(|&s| s <= total).ok_or_else(|| {
                ArmError::new(400, "InvalidSkipToken", format!("The $skipToken '{token}' is not one this list issued."))
            })?,
        };
        let end = (start + page_size).min(total);
        Ok(Page { start, end, next: (end < total).then_some(end) })
    }

    /// `{"value": [...], "nextLink": "..."}` from items already in JSON text, with `count` when given (as the
    /// subscriptions list has it) and `nextLink` only when more pages follow (as Azure ML does).
    fn body(&self, items: Vec<String>, base_url: &str, path: &str, api_version: &str, count: Option<usize>) -> String {
        let mut body = format!("{{\"value\":[{}]", items.join(","));
        if let Some(count) = count {
            body.push_str(&format!(",\"count\":{{\"type\":\"Total\",\"value\":{count}}}"));
        }
        if let Some(next) = self.next {
            let link = format!("{base_url}{path}?api-version={}&$skipToken={next}", encode(api_version));
            body.push_str(&format!(",\"nextLink\":{}", Value::String(link)));
        }
        body.push('}');
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_the_list_once() {
        let first = Page::of(5, None, 2).expect("page");
        assert_eq!((first.start, first.end, first.next), (0, 2, Some(2)));
        let last = Page::of(5, Some("4"), 2).expect("page");
        assert_eq!((last.start, last.end, last.next), (4, 5, None));
        assert_eq!(Page::of(0, None, 2).expect("page").next, None);
        assert_eq!(Page::of(5, Some("x"), 2).err().map(|e| e.code), Some("InvalidSkipToken".to_owned()));
        assert!(Page::of(5, Some("6"), 2).is_err());
    }

    #[test]
    fn page_body_is_json_with_count_and_next_link() {
        let page = Page::of(3, None, 2).expect("page");
        let text = page.body(vec!["{\"a\":1}".into(), "2".into()], "https://h", "/p", "2024-04-01", Some(3));
        let body: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(body["value"], serde_json::json!([{"a": 1}, 2]));
        assert_eq!(body["count"], serde_json::json!({"type": "Total", "value": 3}));
        assert_eq!(body["nextLink"], "https://h/p?api-version=2024-04-01&$skipToken=2");
        let last = Page::of(3, Some("2"), 2).expect("page").body(Vec::new(), "https://h", "/p", "v", None);
        assert_eq!(last, "{\"value\":[]}");
    }

    #[test]
    fn api_version_is_required_and_date_shaped() {
        let q = |v: &str| vec![("api-version".to_owned(), v.to_owned())];
        assert_eq!(api_version(&[]).unwrap_err().code, "MissingApiVersionParameter");
        assert_eq!(api_version(&q("2024-04-01")).expect("valid"), "2024-04-01");
        assert_eq!(api_version(&q("2025-07-01-preview")).expect("valid"), "2025-07-01-preview");
        assert_eq!(api_version(&q("latest")).unwrap_err().code, "InvalidApiVersionParameter");
    }

    #[test]
    fn permission_names_scope_and_action() {
        let path = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/computes/c/stop";
        let route = route::parse("POST", path).expect("route");
        let (scope, action) = permission(&route, path);
        assert!(scope.ends_with("/computes/c"), "{scope}");
        assert_eq!(action, "Microsoft.MachineLearningServices/workspaces/computes/stop/action");
    }
}
