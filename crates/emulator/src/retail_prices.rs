//! The Azure Retail Prices API (`GET /api/retail/prices`) for the VM sizes of the fleet, in the real document
//! shape: `BillingCurrency`, `CustomerEntityId`, `CustomerEntityType`, `Items`, `NextPageLink` (absolute, `null`
//! on the last page), `Count` (items in the page); items with `currencyCode`, `retailPrice`, `unitPrice`,
//! `armRegionName`, `armSkuName`, `meterName`, `productName`, `skuName`, `serviceName`, `unitOfMeasure` `1 Hour`,
//! `type`... No authentication, as the public service.
//!
//! Each (region, size) of the fleet, compute instances, VMs and scale sets alike, has the rows a real answer has:
//! Linux and Windows pay-as-you-go, Linux Spot and Low Priority (same `type` `Consumption`), Windows
//! `DevTestConsumption` and a Linux one-year `Reservation`. **The prices are the emulator's own**, not Azure's:
//! USD list prices of eastus for the sizes of [`SIZES`], else [`PER_VCPU`] per vCPU read from the size's name
//! (`Standard_D16ds_v5`: 16), a fixed factor per region, fixed exchange rates. A size whose name holds no vCPU
//! count (not `Standard_<letters><digits>...`) has no rows, as a size missing from the price sheet. Query rules follow the service: `$filter` clauses `field eq 'value'`
//! joined by `and` (anything else is `400 Invalid OData parameters supplied`), values case-sensitive from
//! `2023-01-01-preview` on, `api-version=2023-01-01` refused as recorded, `currencyCode`, `$skip` paging.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::server::Shared;

/// The path of the endpoint.
pub(crate) const PATH: &str = "/api/retail/prices";

/// Sizes the emulator prices: price-sheet spelling, meter, product, USD per hour in eastus (Linux).
const SIZES: &[(&str, &str, &str, f64)] = &[
    ("Standard_D2s_v3", "D2s v3", "Virtual Machines DSv3 Series", 0.096),
    ("Standard_D4s_v3", "D4s v3", "Virtual Machines DSv3 Series", 0.192),
    ("Standard_DS2_v2", "DS2 v2", "Virtual Machines DSv2 Series", 0.146),
    ("Standard_DS3_v2", "DS3 v2", "Virtual Machines DSv2 Series", 0.293),
    ("Standard_DS11_v2", "DS11 v2", "Virtual Machines DSv2 Series", 0.185),
    ("Standard_E4s_v3", "E4s v3", "Virtual Machines ESv3 Series", 0.252),
    ("Standard_NC6s_v3", "NC6s v3", "Virtual Machines NCSv3 Series", 3.06),
    ("Standard_B2s", "B2s", "Virtual Machines BS Series", 0.0416),
    ("Standard_B2ms", "B2ms", "Virtual Machines BS Series", 0.0832),
    ("Standard_D2s_v5", "D2s v5", "Virtual Machines Dsv5 Series", 0.096),
    ("Standard_D4s_v5", "D4s v5", "Virtual Machines Dsv5 Series", 0.192),
];

/// USD per vCPU-hour in eastus (Linux) for a size outside [`SIZES`]: the general-purpose D-series rate.
const PER_VCPU: f64 = 0.048;

/// The emulator's factor per region (others: 1.0).
const REGIONS: &[(&str, &str, f64)] = &[
    ("eastus", "US East", 1.0),
    ("westus2", "US West 2", 1.0),
    ("westeurope", "EU West", 1.1),
    ("japaneast", "JA East", 1.2),
];

/// Currencies the service documents, with the emulator's fixed rates from USD.
const CURRENCIES: &[(&str, f64)] = &[
    ("USD", 1.0),
    ("AUD", 1.5),
    ("BRL", 5.0),
    ("CAD", 1.35),
    ("CHF", 0.88),
    ("CNY", 7.2),
    ("DKK", 6.9),
    ("EUR", 0.92),
    ("GBP", 0.79),
    ("INR", 83.0),
    ("JPY", 150.0),
    ("KRW", 1350.0),
    ("NOK", 10.5),
    ("NZD", 1.65),
    ("RUB", 92.0),
    ("SEK", 10.4),
    ("TWD", 31.5),
];

/// Filterable fields (the service's list) and the item key each reads.
const FIELDS: &[(&str, &str)] = &[
    ("armRegionName", "armRegionName"),
    ("Location", "location"),
    ("meterId", "meterId"),
    ("meterName", "meterName"),
    ("productid", "productId"),
    ("skuId", "skuId"),
    ("productName", "productName"),
    ("skuName", "skuName"),
    ("serviceName", "serviceName"),
    ("serviceId", "serviceId"),
    ("serviceFamily", "serviceFamily"),
    ("priceType", "type"),
    ("armSkuName", "armSkuName"),
];

/// The route.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route(PATH, get(prices))
}

/// The query parameters the service reads.
#[derive(Debug, serde::Deserialize)]
struct Params {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
    #[serde(rename = "currencyCode")]
    currency_code: Option<String>,
    #[serde(rename = "$filter")]
    filter: Option<String>,
    #[serde(rename = "$skip")]
    skip: Option<String>,
}

/// The service's error body.
fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"Error": {"Code": "BadRequest", "Message": message}}))).into_response()
}

async fn prices(State(shared): State<Arc<Shared>>, Query(params): Query<Params>) -> Response {
    let case_sensitive = match params.api_version.as_deref() {
        None | Some("2021-10-01-preview") => false,
        Some("2023-01-01-preview") => true,
        Some(_) => return bad_request("Unsupported API version"),
    };
    let currency = params.currency_code.as_deref().unwrap_or("USD").trim_matches('\'').to_owned();
    let Some(&(currency, rate)) = CURRENCIES.iter().find(|(code, _)| code.eq_ignore_ascii_case(&currency)) else {
        return bad_request("Invalid currency code");
    };
    let clauses = match params.filter.as_deref().map(parse_filter).transpose() {
        Ok(clauses) => clauses.unwrap_or_default(),
        Err(()) => return bad_request("Invalid OData parameters supplied"),
    };
    let Ok(skip) = params.skip.as_deref().map_or(Ok(0), str::parse::<usize>) else {
        return bad_request("Invalid OData parameters supplied");
    };

    // One set of rows per region and size, however the fleet spells them: compute instances, VMs, scale sets.
    let sizes: BTreeSet<(String, String)> = {
        let live = shared.live();
        live.world
            .sizes_by_region()
            .into_iter()
            .chain(live.machines.sizes_by_region())
            .map(|(region, size)| (region.to_lowercase(), size.to_lowercase()))
            .collect()
    };
    let matches = |item: &Value| {
        clauses.iter().all(|(key, value)| {
            let found = item[key].as_str().unwrap_or_default();
            if case_sensitive { found == value } else { found.eq_ignore_ascii_case(value) }
        })
    };
    let items: Vec<Value> = sizes
        .iter()
        .flat_map(|(region, size)| rows(region, size, currency, rate))
        .filter(|item| matches(item))
        .collect();

    let page_size = shared.config.page_size.max(1);
    let page: Vec<Value> = items.iter().skip(skip).take(page_size).cloned().collect();
    let next = (skip + page.len() < items.len()).then(|| {
        let mut url = url::Url::parse(&format!("{}{PATH}", shared.config.base_url)).expect("the base URL is a URL");
        {
            let mut query = url.query_pairs_mut();
            if let Some(version) = &params.api_version {
                query.append_pair("api-version", version);
            }
            query.append_pair("currencyCode", currency);
            if let Some(filter) = &params.filter {
                query.append_pair("$filter", filter);
            }
            query.append_pair("$skip", &(skip + page.len()).to_string());
        }
        url.to_string()
    });
    axum::Json(json!({
        "BillingCurrency": currency,
        "CustomerEntityId": "Default",
        "CustomerEntityType": "Retail",
        "Count": page.len(),
        "Items": page,
        "NextPageLink": next,
    }))
    .into_response()
}

/// `field eq 'value' [and field eq 'value']...` -> (item key, value); `Err` for anything else.
fn parse_filter(filter: &str) -> Result<Vec<(&'static str, String)>, ()> {
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    loop {
        let (field, after) = rest.split_once(' ').ok_or(())?;
        let key = FIELDS.iter().find(|(name, _)| name.eq_ignore_ascii_case(field)).map(|(_, key)| *key).ok_or(())?;
        let after = after.trim_start().strip_prefix("eq").ok_or(())?.trim_start();
        let mut value = String::new();
        let mut chars = after.strip_prefix('\'').ok_or(())?.char_indices();
        let end = loop {
            match chars.next() {
                Some((at, '\'')) if after[1 + at + 1..].starts_with('\'') => {
                    value.push('\'');
                    chars.next();
                }
                Some((at, '\'')) => break 1 + at + 1,
                Some((_, c)) => value.push(c),
                None => return Err(()),
            }
        };
        clauses.push((key, value));
        rest = after[end..].trim_start();
        if rest.is_empty() {
            return Ok(clauses);
        }
        rest = rest.strip_prefix("and ").ok_or(())?.trim_start();
    }
}

/// A size's price-sheet spelling, meter, product and USD per hour in eastus: from [`SIZES`], else from the vCPUs
/// its name holds at [`PER_VCPU`] (`standard_d16ds_v5`: `Standard_D16ds_v5`, `D16ds v5`, `Virtual Machines Ddsv5
/// Series`, 16 vCPUs); `None` for a name without them.
fn size_entry(size: &str) -> Option<(String, String, String, f64)> {
    if let Some(&(sku, meter, product, usd)) = SIZES.iter().find(|(sku, ..)| sku.eq_ignore_ascii_case(size)) {
        return Some((sku.to_owned(), meter.to_owned(), product.to_owned(), usd));
    }
    let name = size.get(..9).filter(|prefix| prefix.eq_ignore_ascii_case("standard_")).map(|_| &size[9..])?;
    let mut parts = name.split('_');
    let first = parts.next()?;
    let family_end = first.find(|c: char| c.is_ascii_digit()).filter(|end| *end > 0)?;
    let digits_end = first[family_end..].find(|c: char| !c.is_ascii_digit()).map_or(first.len(), |at| family_end + at);
    let vcpus: u32 = first[family_end..digits_end].parse().ok()?;
    let (family, features) = (first[..family_end].to_ascii_uppercase(), first[digits_end..].to_ascii_lowercase());
    // Later parts: a version (`v5`) in lower case, anything else (`A100`) in upper case, as the price sheet spells.
    let rest: Vec<String> = parts
        .map(|part| {
            if part.len() > 1 && part[..1].eq_ignore_ascii_case("v") && part[1..].bytes().all(|b| b.is_ascii_digit()) {
                part.to_ascii_lowercase()
            } else {
                part.to_ascii_uppercase()
            }
        })
        .collect();
    let sku = std::iter::once(format!("Standard_{family}{vcpus}{features}"))
        .chain(rest.iter().cloned())
        .collect::<Vec<_>>()
        .join("_");
    let meter =
        std::iter::once(format!("{family}{vcpus}{features}")).chain(rest.iter().cloned()).collect::<Vec<_>>().join(" ");
    let series: String = std::iter::once(format!("{family}{features}")).chain(rest).collect();
    Some((sku, meter, format!("Virtual Machines {series} Series"), PER_VCPU * f64::from(vcpus)))
}

/// The rows of one size in one region (none for a size the emulator does not price).
fn rows(region: &str, size: &str, currency: &str, rate: f64) -> Vec<Value> {
    let Some((sku, meter, product, usd)) = size_entry(size) else {
        return Vec::new();
    };
    let (sku, meter, product) = (sku.as_str(), meter.as_str(), product.as_str());
    let (location, factor) = REGIONS
        .iter()
        .find(|(name, ..)| name.eq_ignore_ascii_case(region))
        .map_or((region, 1.0), |(_, location, factor)| (*location, *factor));
    let price = |share: f64| ((usd * factor * share * rate) * 10_000.0).round() / 10_000.0;
    let windows = format!("{product} Windows");
    let row = |meter_name: String, product_name: &str, price_type: &str, retail: f64, term: Option<&str>| {
        let mut item = json!({
            "currencyCode": currency,
            "tierMinimumUnits": 0.0,
            "retailPrice": retail,
            "unitPrice": retail,
            "armRegionName": region,
            "location": location,
            "effectiveStartDate": "2024-01-01T00:00:00Z",
            "meterId": format!("{region}-{sku}-{meter_name}-{product_name}-{price_type}").to_lowercase().replace(' ', "-"),
            "meterName": meter_name,
            "productId": product_name.to_uppercase().replace(' ', ""),
            "skuId": format!("{sku}/{price_type}"),
            "productName": product_name,
            "skuName": meter_name,
            "serviceName": "Virtual Machines",
            "serviceId": "DZH313Z7MMC8",
            "serviceFamily": "Compute",
            "unitOfMeasure": "1 Hour",
            "type": price_type,
            "isPrimaryMeterRegion": true,
            "armSkuName": sku,
        });
        if let Some(term) = term {
            item["reservationTerm"] = json!(term);
        }
        item
    };
    vec![
        row(format!("{meter} Low Priority"), product, "Consumption", price(0.2), None),
        row(format!("{meter} Spot"), product, "Consumption", price(0.1), None),
        row(meter.to_owned(), product, "Consumption", price(1.0), None),
        row(meter.to_owned(), &windows, "Consumption", price(1.9), None),
        row(meter.to_owned(), &windows, "DevTestConsumption", price(1.0), None),
        row(meter.to_owned(), product, "Reservation", price(1.0 * 8760.0 * 0.6), Some("1 Year")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_outside_the_table_are_priced_from_their_vcpus_and_spelled_as_the_price_sheet() {
        let entry = |size: &str| {
            size_entry(size).map(|(sku, meter, product, usd)| (sku, meter, product, (usd * 1e4).round() / 1e4))
        };
        let owned = |sku: &str, meter: &str, product: &str, usd: f64| {
            Some((sku.to_owned(), meter.to_owned(), product.to_owned(), usd))
        };
        assert_eq!(entry("STANDARD_B2S"), owned("Standard_B2s", "B2s", "Virtual Machines BS Series", 0.0416));
        assert_eq!(
            entry("standard_d16ds_v5"),
            owned("Standard_D16ds_v5", "D16ds v5", "Virtual Machines Ddsv5 Series", 0.768)
        );
        assert_eq!(
            entry("Standard_NC24ads_A100_v4"),
            owned("Standard_NC24ads_A100_v4", "NC24ads A100 v4", "Virtual Machines NCadsA100v4 Series", 1.152)
        );
        for unpriced in ["x", "Standard_", "Standard_Dsv", "Basic_A1", "Standard_5D"] {
            assert_eq!(entry(unpriced), None, "{unpriced}");
        }
    }

    #[test]
    fn filters_read_eq_clauses_joined_by_and_and_refuse_anything_else() {
        let clauses = parse_filter(
            "serviceName eq 'Virtual Machines' and  armSkuName eq 'O''Brien' and priceType eq 'Consumption'",
        );
        assert_eq!(
            clauses,
            Ok(vec![
                ("serviceName", "Virtual Machines".to_owned()),
                ("armSkuName", "O'Brien".to_owned()),
                ("type", "Consumption".to_owned())
            ])
        );
        for bad in ["serviceName ne 'x'", "nope eq 'x'", "serviceName eq 'x' or priceType eq 'y'", "serviceName eq 'x"]
        {
            assert_eq!(parse_filter(bad), Err(()), "{bad}");
        }
    }
}
