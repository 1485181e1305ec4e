//! ARM reads over HTTPS: authentication, api-version, lists and paging, 404s, denials, unsupported requests.

use std::collections::HashSet;

use autostop_emulator::{Fleet, Options, actions};
use reqwest::{Method, StatusCode};

use crate::util::{API, Harness, RESEARCH_WS, SUB1, SUBSCRIPTIONS_API, within};

#[tokio::test]
async fn arm_requires_a_valid_unexpired_bearer_token() {
    let h = Harness::sample().await;
    let path = format!("{RESEARCH_WS}/computes?{API}");

    let none = h.send(Method::GET, &path, None).await;
    assert_eq!((none.status, none.code()), (StatusCode::UNAUTHORIZED, "AuthenticationFailed"), "{}", none.body);
    let challenge = none.headers.get("www-authenticate").expect("WWW-Authenticate").to_str().expect("ascii");
    assert!(challenge.starts_with("Bearer "), "{challenge}");

    let unknown = h.send(Method::GET, &path, Some("eyJ.not.issued")).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"));
    assert!(unknown.headers.contains_key("www-authenticate"));

    let token = h.token().await;
    let ok = h.send(Method::GET, &path, Some(&token)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    h.emulator.control().expire_tokens();
    let expired = h.send(Method::GET, &path, Some(&token)).await;
    assert_eq!((expired.status, expired.code()), (StatusCode::UNAUTHORIZED, "ExpiredAuthenticationToken"));

    let minted = h.emulator.control().mint_token();
    assert_eq!(h.send(Method::GET, &path, Some(&minted)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn token_for_another_audience_is_refused() {
    let h = Harness::sample().await;
    let e = &h.emulator;
    let answer = h
        .form(
            &format!("/{}/oauth2/v2.0/token", e.tenant_id()),
            &[
                ("client_id", e.client_id()),
                ("client_secret", e.client_secret()),
                ("grant_type", "client_credentials"),
                ("scope", "https://storage.azure.com/.default"),
            ],
        )
        .await;
    let token = answer.body["access_token"].as_str().expect("token").to_owned();
    let refused = h.send(Method::GET, &format!("/subscriptions/{SUB1}?{SUBSCRIPTIONS_API}"), Some(&token)).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::UNAUTHORIZED, "InvalidAuthenticationTokenAudience"));
}

#[tokio::test]
async fn api_version_is_required() {
    let h = Harness::sample().await;
    let answer = h.get(&format!("{RESEARCH_WS}/computes")).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::BAD_REQUEST, "MissingApiVersionParameter"));
    assert!(answer.headers.contains_key("x-ms-request-id"));
}

#[tokio::test]
async fn api_versions_are_the_ones_each_service_defines() {
    let h = Harness::sample().await;
    let token = h.token().await;
    let get = |path: String| {
        let (h, token) = (&h, &token);
        async move { h.send(Method::GET, &path, Some(token)).await }
    };
    assert_eq!(get(format!("/subscriptions/{SUB1}?{SUBSCRIPTIONS_API}")).await.status, StatusCode::OK);
    let old = get(format!("/subscriptions/{SUB1}?api-version=1999-01-01")).await;
    assert_eq!((old.status, old.code()), (StatusCode::BAD_REQUEST, "InvalidApiVersionParameter"));
    let message = old.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("'1999-01-01' is invalid. The supported versions are '2024-08-01,"), "{message}");

    assert_eq!(get(format!("{RESEARCH_WS}/computes?api-version=2025-12-01")).await.status, StatusCode::OK);
    let old = get(format!("{RESEARCH_WS}/computes?api-version=1999-01-01")).await;
    assert_eq!((old.status, old.code()), (StatusCode::BAD_REQUEST, "NoRegisteredProviderFound"));
    let message = old.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "No registered resource provider found for location 'eastus' and API version '1999-01-01' for type \
             'workspaces/computes'. The supported api-versions are '"
        ),
        "{message}"
    );
    assert!(message.contains("2024-04-01, ") && message.contains("The supported locations are '"), "{message}");
}

#[tokio::test]
async fn the_idle_shutdown_is_accepted_only_at_the_versions_whose_spec_declares_it() {
    let h = Harness::sample().await;
    let token = h.token().await;
    let post = |version: &str| {
        let url = h.url(&format!("{RESEARCH_WS}/computes/alice-ci/updateIdleShutdownSetting?api-version={version}"));
        let request = h
            .http
            .post(url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(r#"{"idleTimeBeforeShutdown": "PT60M"}"#);
        async move {
            let response = within(request.send()).await.expect("answer");
            let status = response.status();
            let text = within(response.text()).await.expect("body");
            (status, text)
        }
    };
    // The stable version declaring it, and a preview that does.
    for declared in ["2025-06-01", "2024-10-01-preview"] {
        let (status, body) = post(declared).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, ""), "{declared}");
    }
    // A version of the provider whose spec has no such operation.
    let (status, body) = post("2024-04-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    assert_eq!(error["error"]["code"], "InvalidApiVersionParameter", "{body}");
    assert!(body.contains("'updateIdleShutdownSetting'") && body.contains("2025-06-01"), "{body}");
    // A version the provider does not know at all: ARM's answer.
    let (status, body) = post("1999-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("NoRegisteredProviderFound") && body.contains("'workspaces/computes'"), "{body}");
}

#[tokio::test]
async fn paths_outside_arm_are_unsupported_without_asking_for_a_token() {
    let h = Harness::sample().await;
    for path in ["/nothing/here", "/common/oauth2/v2.0/devicecode", "/metadata/instance?api-version=2021-02-01"] {
        let answer = h.send(Method::GET, path, None).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::BAD_REQUEST, "UnsupportedByEmulator"), "{path}");
        assert!(!answer.headers.contains_key("www-authenticate"), "{path}");
    }
}

#[tokio::test]
async fn unsupported_requests_fail_loudly_naming_the_request() {
    let h = Harness::sample().await;
    let path = format!("/subscriptions/{SUB1}/providers/Microsoft.Compute/disks");
    let answer = h.get(&format!("{path}?{API}")).await;
    assert_eq!((answer.status, answer.code()), (StatusCode::BAD_REQUEST, "UnsupportedByEmulator"));
    let message = answer.body["error"]["message"].as_str().expect("message");
    assert!(message.contains(&format!("GET {path}")), "{message}");
    let delete = h.send(Method::DELETE, &format!("{RESEARCH_WS}?{API}"), Some(&h.token().await)).await;
    assert_eq!(delete.code(), "UnsupportedByEmulator");
}

#[tokio::test]
async fn workspaces_list_by_subscription_and_resource_group() {
    let h = Harness::sample().await;
    let by_sub =
        h.get(&format!("/subscriptions/{SUB1}/providers/Microsoft.MachineLearningServices/workspaces?{API}")).await;
    assert_eq!(by_sub.status, StatusCode::OK, "{}", by_sub.body);
    let names: Vec<&str> =
        by_sub.body["value"].as_array().expect("value").iter().filter_map(|w| w["name"].as_str()).collect();
    assert_eq!(names, ["research-ws", "research-ws-japan", "prod-ws"]);
    let by_group = h
        .get(&format!(
            "/subscriptions/{SUB1}/resourceGroups/ML-PROD/providers/Microsoft.MachineLearningServices/workspaces?{API}"
        ))
        .await;
    let value = by_group.body["value"].as_array().expect("value");
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["location"], "westeurope");
    assert_eq!(value[0]["type"], "Microsoft.MachineLearningServices/workspaces");
    let one = h.get(&format!("{RESEARCH_WS}?{API}")).await;
    assert_eq!(one.body["id"], RESEARCH_WS);
    assert_eq!(
        one.headers["x-ms-ratelimit-remaining-subscription-reads"].to_str().ok().map(|v| v.parse::<u64>().is_ok()),
        Some(true)
    );
}

#[tokio::test]
async fn paging_crosses_pages_by_following_next_link_verbatim() {
    let h = Harness::start(Options { page_size: 2, ..Options::default() }).await;
    let mut next = Some(h.url(&format!("{RESEARCH_WS}/computes?{API}")));
    let mut names = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let page = h.get(&url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.body);
        pages += 1;
        names.extend(
            page.body["value"].as_array().expect("value").iter().map(|c| c["name"].as_str().expect("name").to_owned()),
        );
        next = page.body["nextLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(link.starts_with(&h.emulator.base_url()) && link.contains("$skipToken="), "{link}");
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["alice-ci", "bob-ci", "carol-gpu", "dave-ci", "batch-cluster"]);
}

#[tokio::test]
async fn large_fleet_pages_through_ten_thousand_instances() {
    let fleet = Fleet::generate(1, 1, 10_000, 0.5);
    let h = Harness::start(Options { fleet, page_size: 1000, ..Options::default() }).await;
    let ws = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-000/providers/Microsoft.MachineLearningServices/workspaces/ws-000-000";
    let mut next = Some(h.url(&format!("{ws}/computes?{API}")));
    let mut seen = HashSet::new();
    let token = h.token().await;
    while let Some(url) = next.take() {
        let page = h.send(Method::GET, &url, Some(&token)).await;
        assert_eq!(page.status, StatusCode::OK);
        for compute in page.body["value"].as_array().expect("value") {
            assert!(seen.insert(compute["name"].as_str().expect("name").to_owned()), "duplicate {}", compute["name"]);
        }
        next = page.body["nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 10_000);
}

#[tokio::test]
async fn not_found_names_what_is_missing() {
    let h = Harness::sample().await;
    let cases = [
        ("/subscriptions/ffffffff-0000-0000-0000-000000000000/providers/Microsoft.MachineLearningServices/workspaces".to_owned(), "SubscriptionNotFound", "ffffffff-0000-0000-0000-000000000000"),
        (format!("/subscriptions/{SUB1}/resourceGroups/no-such-rg/providers/Microsoft.MachineLearningServices/workspaces"), "ResourceGroupNotFound", "no-such-rg"),
        (format!("/subscriptions/{SUB1}/resourceGroups/ml-research/providers/Microsoft.MachineLearningServices/workspaces/no-such-ws/computes"), "ResourceNotFound", "no-such-ws"),
        (format!("{RESEARCH_WS}/computes/no-such-ci"), "ResourceNotFound", "no-such-ci"),
    ];
    for (path, code, named) in cases {
        let answer = h.get(&format!("{path}?{API}")).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::NOT_FOUND, code), "{path}: {}", answer.body);
        assert!(answer.body["error"]["message"].as_str().is_some_and(|m| m.contains(named)), "{}", answer.body);
    }
}

#[tokio::test]
async fn paths_are_case_insensitive() {
    let h = Harness::sample().await;
    let upper = RESEARCH_WS.to_uppercase().replace("RESEARCH-WS", "research-ws");
    let answer = h.get(&format!("{upper}/COMPUTES/Alice-CI?{API}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["name"], "alice-ci");
}

#[tokio::test]
async fn denied_actions_get_403_authorization_failed() {
    let h = Harness::sample().await;
    h.emulator.control().deny(&format!("{RESEARCH_WS}/computes/alice-ci"), actions::COMPUTE_STOP);
    let denied = h.post(&format!("{RESEARCH_WS}/computes/alice-ci/stop?{API}")).await;
    assert_eq!((denied.status, denied.code()), (StatusCode::FORBIDDEN, "AuthorizationFailed"));
    let message = denied.body["error"]["message"].as_str().expect("message");
    assert!(message.contains(actions::COMPUTE_STOP) && message.contains("alice-ci"), "{message}");
    let read = h.get(&format!("{RESEARCH_WS}/computes/alice-ci?{API}")).await;
    assert_eq!(read.status, StatusCode::OK, "reads are still allowed");
    let other = h.post(&format!("{RESEARCH_WS}/computes/dave-ci/stop?{API}")).await;
    assert_eq!(other.status, StatusCode::ACCEPTED, "other instances are not denied");
}

#[tokio::test]
async fn requests_are_recorded_and_correlation_ids_echoed() {
    let h = Harness::sample().await;
    let token = h.token().await;
    let path = format!("{RESEARCH_WS}/computes/bob-ci?{API}");
    let response = crate::util::within(
        h.http.get(h.url(&path)).bearer_auth(&token).header("x-ms-correlation-request-id", "corr-123").send(),
    )
    .await
    .expect("answered");
    assert_eq!(response.headers()["x-ms-correlation-request-id"], "corr-123");
    let recorded = h.emulator.control().requests();
    assert!(recorded.iter().any(|r| r.method == "GET" && r.path == path && r.status == 200), "{recorded:?}");
    assert!(recorded.iter().any(|r| r.method == "POST" && r.path.ends_with("/oauth2/v2.0/token")));
    let listed = crate::util::within(h.http.get(h.url("/_emulator/requests")).send()).await.expect("answered");
    let listed: Vec<autostop_emulator::RecordedRequest> = crate::util::within(listed.json()).await.expect("json");
    assert_eq!(listed, recorded, "the management path itself is not recorded");
}
