//! The retail-prices endpoint against the recorded answers of the real service (`testdata/azure-api/prices`):
//! the same envelope and item keys, the same error body, paging by absolute `NextPageLink`, no token needed.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::util::Harness;

fn recorded(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/azure-api/prices").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).expect("recorded JSON")
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().expect("an object").keys().cloned().collect()
}

#[tokio::test]
async fn answers_have_the_recorded_shape_and_pages_link_to_each_other() {
    let h = Harness::start(autostop_emulator::Options { page_size: 4, ..Default::default() }).await;
    let real = recorded("example-eastus-d2s_v3-consumption-ga.json");

    let mut next = Some(
        h.url("/api/retail/prices?api-version=2023-01-01-preview&$filter=serviceName%20eq%20%27Virtual%20Machines%27"),
    );
    let mut items = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let answer = h.send(reqwest::Method::GET, &url, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{url}: {}", answer.body);
        assert_eq!(keys(&answer.body), keys(&real), "envelope keys");
        let page = answer.body["Items"].as_array().expect("Items").clone();
        assert_eq!(answer.body["Count"], page.len(), "Count is the items of this page");
        assert!(page.len() <= 4);
        for item in &page {
            let mut expected = keys(&real["Items"][0]);
            if item["type"] == "Reservation" {
                expected.insert("reservationTerm".into());
            }
            assert_eq!(keys(item), expected, "{item}");
            assert_eq!(item["unitOfMeasure"], "1 Hour");
        }
        items.extend(page);
        next = answer.body["NextPageLink"].as_str().map(str::to_owned);
        if let Some(link) = &next {
            assert!(link.starts_with(&h.emulator.prices_endpoint()), "absolute: {link}");
        }
        pages += 1;
    }
    // The sample fleet's sizes in its regions, six rows each: more than one page.
    assert!(pages > 1, "{pages} pages");
    assert_eq!(items.len() % 6, 0, "{} items", items.len());
    let skus: BTreeSet<&str> = items.iter().filter_map(|item| item["armSkuName"].as_str()).collect();
    assert!(skus.contains("Standard_DS3_v2"), "{skus:?}");
}

#[tokio::test]
async fn the_service_errors_are_answered_as_recorded() {
    let h = Harness::sample().await;
    let refused = h.send(reqwest::Method::GET, "/api/retail/prices?api-version=2023-01-01", None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body, recorded("example-error-unsupported-api-version.json"));

    let bad_filter = h.send(reqwest::Method::GET, "/api/retail/prices?$filter=priceType%20ne%20%27x%27", None).await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_filter.body["Error"]["Message"], "Invalid OData parameters supplied");

    // Values are case-sensitive with the 2023 preview, not without an api-version.
    let filter = "$filter=armSkuName%20eq%20%27standard_ds3_v2%27";
    let strict = h
        .send(reqwest::Method::GET, &format!("/api/retail/prices?api-version=2023-01-01-preview&{filter}"), None)
        .await;
    assert_eq!(strict.body["Count"], 0);
    let lenient = h.send(reqwest::Method::GET, &format!("/api/retail/prices?{filter}"), None).await;
    assert!(lenient.body["Count"].as_u64().is_some_and(|count| count > 0), "{}", lenient.body);
}
