//! The Retail Prices API client against the emulator's price endpoint: pages followed by `NextPageLink`, the
//! Linux pay-as-you-go row chosen among the others, currencies, and the service's errors reported.

use autostop_azure::prices::{Os, PricesClient, PricesError};
use autostop_emulator::{Fleet, Options};

use crate::fake::within;
use crate::rig::{Rig, SUB, fleet};

/// `fleet(2)` (STANDARD_DS3_V2 in eastus) plus a workspace in japaneast with a size the emulator does not price.
fn two_regions() -> Fleet {
    let mut fleet = fleet(2);
    let mut other = fleet.subscriptions[0].resource_groups[0].workspaces[0].clone();
    other.name = "ws-tokyo".into();
    other.location = "japaneast".into();
    other.computes[1].vm_size = "STANDARD_UNKNOWN_V9".into();
    fleet.subscriptions[0].resource_groups[0].workspaces.push(other);
    fleet
}

async fn rig(page_size: usize) -> Rig {
    Rig::start_with(Options { fleet: two_regions(), page_size, ..Default::default() }).await
}

#[tokio::test]
async fn every_page_is_followed_and_the_linux_pay_as_you_go_price_is_chosen() {
    let rig = rig(1).await;
    let client = PricesClient::new(rig.http.clone(), &rig.emulator.prices_endpoint(), "USD");
    let rows = within(client.vm_prices("eastus", "STANDARD_DS3_V2")).await.expect("prices");
    // Linux, Windows, Spot and Low Priority rows are all `Consumption`: four pages of one item.
    assert_eq!(rows.len(), 4, "{rows:#?}");
    let pages = rig.emulator.control().requests().iter().filter(|r| r.path.starts_with("/api/retail/prices")).count();
    assert_eq!(pages, 4, "one request per page");
    assert!(rows.iter().all(|row| row.arm_sku_name == "Standard_DS3_v2" && row.price_type == "Consumption"));

    let price = within(client.hourly("eastus", "STANDARD_DS3_V2", Os::Linux)).await.expect("price").expect("a row");
    assert_eq!((price.retail_price, price.currency_code.as_str()), (0.293, "USD"));
    assert_eq!(price.product_name, "Virtual Machines DSv2 Series");
    let windows = within(client.hourly("eastus", "Standard_DS3_v2", Os::Windows)).await.expect("price").expect("row");
    // 0.293 × 1.9, rounded to 4 places by the emulator
    assert_eq!(windows.retail_price, 0.5567);
    // japaneast is 1.2 × eastus in the emulator: 0.3516
    let tokyo = within(client.hourly("japaneast", "standard_ds3_v2", Os::Linux)).await.expect("price").expect("row");
    assert_eq!(tokyo.retail_price, 0.3516);
    // A size the price sheet does not have, and a region without the size: no price, no error.
    assert!(within(client.hourly("japaneast", "STANDARD_UNKNOWN_V9", Os::Linux)).await.expect("answer").is_none());
    assert!(within(client.hourly("westeurope", "STANDARD_DS3_V2", Os::Linux)).await.expect("answer").is_none());
}

#[tokio::test]
async fn prices_come_in_the_currency_asked_for_and_an_unknown_one_is_an_error() {
    let rig = rig(50).await;
    let euro = PricesClient::new(rig.http.clone(), &rig.emulator.prices_endpoint(), "eur");
    assert_eq!(euro.currency(), "EUR");
    let price = within(euro.hourly("eastus", "STANDARD_DS3_V2", Os::Linux)).await.expect("price").expect("a row");
    // 0.293 USD × 0.92 = 0.26956 -> 0.2696
    assert_eq!((price.retail_price, price.currency_code.as_str()), (0.2696, "EUR"));

    let bad = PricesClient::new(rig.http.clone(), &rig.emulator.prices_endpoint(), "XYZ");
    let err = within(bad.hourly("eastus", "STANDARD_DS3_V2", Os::Linux)).await.expect_err("unknown currency");
    assert!(matches!(err, PricesError::Status { status: 400, .. }), "{err:?}");
    assert!(err.to_string().contains("Invalid currency code"), "{err}");
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_a_price_page_is_reported_with_its_url() {
    let rig = rig(50).await;
    let wrong = format!("{}/subscriptions/{SUB}", rig.emulator.base_url());
    let client = PricesClient::new(rig.http.clone(), &wrong, "USD");
    let err = within(client.hourly("eastus", "STANDARD_DS3_V2", Os::Linux)).await.expect_err("not a price page");
    let text = err.to_string();
    assert!(text.starts_with(&format!("retail prices {wrong}?")), "{text}");
}
