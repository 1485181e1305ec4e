//! The Azure Retail Prices API (`GET https://prices.azure.com/api/retail/prices`): public, unauthenticated,
//! paged by `NextPageLink`. Used to price the hours autostop kept instances stopped.
//!
//! A compute instance is billed as a Linux virtual machine of its size (unless configured as Windows): the
//! price is the `Consumption` row of service `Virtual Machines` for the size (`armSkuName`, compared ignoring
//! case: ARM says `STANDARD_DS3_V2`, prices say `Standard_DS3_v2`) in the region, unit `1 Hour`, whose
//! `productName` says `Windows` or not as asked, leaving out Spot, Low Priority and expired or free meters.
//! When several rows remain, the one with the latest `effectiveStartDate` is the price.
//!
//! `$filter` values are case-sensitive from `2023-01-01-preview` on, so the size is sent in the price sheet's
//! spelling ([`canonical_sku`]) and compared ignoring case on the way back.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The public endpoint.
pub const PRICES_ENDPOINT: &str = "https://prices.azure.com/api/retail/prices";

/// The environment variable that points the client at another endpoint (the emulator's, a proxy).
pub const PRICES_ENDPOINT_ENV: &str = "AUTOSTOP_PRICES_ENDPOINT";

/// The API version asked for (accepted by the service; the plain GA version `2023-01-01` is refused).
pub const PRICES_API_VERSION: &str = "2023-01-01-preview";

/// The most pages followed for one query: a filtered query answers in one; this only stops a server that
/// links to itself forever.
const MAX_PAGES: usize = 50;

/// One page of the Retail Prices API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricePage {
    /// The currency of the page (`USD`...).
    #[serde(rename = "BillingCurrency")]
    pub billing_currency: String,
    /// The price rows of this page.
    #[serde(rename = "Items")]
    pub items: Vec<RetailPrice>,
    /// The next page's URL; `null` on the last page.
    #[serde(rename = "NextPageLink")]
    pub next_page_link: Option<String>,
    /// Items in this page.
    #[serde(rename = "Count")]
    pub count: usize,
}

/// One price row (the fields autostop reads; the service sends more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailPrice {
    /// The row's currency.
    pub currency_code: String,
    /// The retail price per `unitOfMeasure`.
    pub retail_price: f64,
    /// The region (`eastus`).
    pub arm_region_name: String,
    /// The VM size (`Standard_D2s_v3`).
    pub arm_sku_name: String,
    /// The meter (`D2s v3`, `D2s v3 Spot`).
    pub meter_name: String,
    /// The product (`Virtual Machines DSv3 Series`, `... Windows`).
    pub product_name: String,
    /// The SKU (`D2s v3 Low Priority`).
    pub sku_name: String,
    /// The service (`Virtual Machines`).
    pub service_name: String,
    /// The unit (`1 Hour`).
    pub unit_of_measure: String,
    /// `Consumption`, `Reservation` or `DevTestConsumption`.
    #[serde(rename = "type")]
    pub price_type: String,
    /// Since when the price applies (RFC 3339).
    pub effective_start_date: String,
}

/// Which operating system's meter prices an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Os {
    /// Linux (compute instances run Linux): the product name without `Windows`.
    #[default]
    Linux,
    /// Windows: the product name ending in `Windows`.
    Windows,
}

/// A failure to get prices.
#[derive(Debug, thiserror::Error)]
pub enum PricesError {
    /// The endpoint could not be reached.
    #[error("retail prices {url}: {message}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The service answered with an error.
    #[error("retail prices {url}: HTTP {status}: {message}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The service's `Error.Message`, or the body.
        message: String,
    },
    /// The answer is not a price page.
    #[error("retail prices {url}: expected a price page ({{\"Items\":[..],\"NextPageLink\":..}}), {message}")]
    Decode {
        /// The URL asked.
        url: String,
        /// What could not be read.
        message: String,
    },
    /// The pages never ended.
    #[error("retail prices {url}: more than {MAX_PAGES} pages; stopping")]
    TooManyPages {
        /// The first URL.
        url: String,
    },
    /// A price file could not be read.
    #[error("price file {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// The size as the price sheet spells it: `STANDARD_DS3_V2` -> `Standard_DS3_v2`, `standard_nc6s_v3` ->
/// `Standard_NC6s_v3` (the family letters upper case, a trailing `s` and the version lower case).
pub fn canonical_sku(size: &str) -> String {
    let mut parts = size.split('_');
    let first = parts.next().unwrap_or_default();
    let mut out = if first.eq_ignore_ascii_case("standard") { "Standard".to_owned() } else { first.to_owned() };
    for part in parts {
        out.push('_');
        if part.len() > 1
            && (part.starts_with('v') || part.starts_with('V'))
            && part[1..].bytes().all(|b| b.is_ascii_digit())
        {
            out.push_str(&part.to_lowercase());
            continue;
        }
        // Family and digits upper case; feature letters after the digits (`s`, `ds`, `as`...) lower case.
        let digits_end = part.rfind(|c: char| c.is_ascii_digit()).map_or(0, |at| at + 1);
        out.push_str(&part[..digits_end].to_uppercase());
        out.push_str(&part[digits_end..].to_lowercase());
    }
    out
}

/// The hourly pay-as-you-go price of `size` in `region` for `os` among `items` (see the module docs).
pub fn hourly_price<'a>(items: &'a [RetailPrice], region: &str, size: &str, os: Os) -> Option<&'a RetailPrice> {
    items
        .iter()
        .filter(|item| {
            let windows = item.product_name.trim_end().ends_with("Windows");
            let meter = item.meter_name.trim_end();
            item.price_type == "Consumption"
                && item.service_name == "Virtual Machines"
                && item.unit_of_measure == "1 Hour"
                && item.arm_region_name.eq_ignore_ascii_case(region)
                && item.arm_sku_name.eq_ignore_ascii_case(size)
                && windows == (os == Os::Windows)
                && !["Spot", "Low Priority", "Expired", "Free"].iter().any(|suffix| meter.ends_with(suffix))
                && !["Spot", "Low Priority"].iter().any(|suffix| item.sku_name.trim_end().ends_with(suffix))
        })
        .max_by(|a, b| a.effective_start_date.cmp(&b.effective_start_date))
}

/// Reads a saved Retail Prices API answer (one page, as the service sends it) from `path`.
pub fn read_price_file(path: &std::path::Path) -> Result<PricePage, PricesError> {
    let file = || path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|err| PricesError::File { path: file(), message: err.to_string() })?;
    serde_json::from_str(&text).map_err(|err| PricesError::File {
        path: file(),
        message: format!("expected a Retail Prices API answer ({{\"Items\":[..]}}): {err}"),
    })
}

/// A client of the Retail Prices API.
#[derive(Debug, Clone)]
pub struct PricesClient {
    http: reqwest::Client,
    endpoint: String,
    currency: String,
}

impl PricesClient {
    /// A client of `endpoint` (see [`PRICES_ENDPOINT`], [`PRICES_ENDPOINT_ENV`]) asking for prices in
    /// `currency` (`USD`, `EUR`, ...), over `http` (e.g. [`crate::http_client`], which trusts `SSL_CERT_FILE`).
    pub fn new(http: reqwest::Client, endpoint: &str, currency: &str) -> PricesClient {
        PricesClient { http, endpoint: endpoint.to_owned(), currency: currency.to_uppercase() }
    }

    /// The currency asked for.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// Every `Consumption` row of service `Virtual Machines` for `size` in `region`, all pages.
    pub async fn vm_prices(&self, region: &str, size: &str) -> Result<Vec<RetailPrice>, PricesError> {
        let filter = format!(
            "serviceName eq 'Virtual Machines' and armRegionName eq '{}' and armSkuName eq '{}' and priceType eq 'Consumption'",
            odata_literal(&region.to_lowercase()),
            odata_literal(&canonical_sku(size)),
        );
        let first = reqwest::Url::parse_with_params(
            &self.endpoint,
            [("api-version", PRICES_API_VERSION), ("currencyCode", &self.currency), ("$filter", &filter)],
        )
        .map_err(|err| PricesError::Transport { url: self.endpoint.clone(), message: err.to_string() })?;
        let mut items = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(PricesError::TooManyPages { url: first.to_string() });
            }
            let page = self.page(&url).await?;
            items.extend(page.items);
            next = page.next_page_link;
        }
        Ok(items)
    }

    /// The hourly price of `size` in `region` for `os`, if the service has one.
    pub async fn hourly(&self, region: &str, size: &str, os: Os) -> Result<Option<RetailPrice>, PricesError> {
        let items = self.vm_prices(region, size).await?;
        Ok(hourly_price(&items, region, size, os).cloned())
    }

    async fn page(&self, url: &str) -> Result<PricePage, PricesError> {
        let transport = |err: reqwest::Error| PricesError::Transport { url: url.to_owned(), message: err.to_string() };
        let response = self.http.get(url).timeout(Duration::from_secs(60)).send().await.map_err(transport)?;
        let status = response.status();
        let body = response.text().await.map_err(transport)?;
        if !status.is_success() {
            #[derive(Deserialize)]
            struct Envelope {
                #[serde(rename = "Error")]
                error: Inner,
            }
            #[derive(Deserialize)]
            struct Inner {
                #[serde(rename = "Message")]
                message: String,
            }
            let message = serde_json::from_str::<Envelope>(&body)
                .map(|envelope| envelope.error.message)
                .unwrap_or_else(|_| body.chars().take(200).collect());
            return Err(PricesError::Status { url: url.to_owned(), status: status.as_u16(), message });
        }
        serde_json::from_str(&body).map_err(|err| PricesError::Decode { url: url.to_owned(), message: err.to_string() })
    }
}

/// An OData string literal's content: single quotes doubled.
fn odata_literal(value: &str) -> String {
    value.replace('\'', "''")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_spelled_as_the_price_sheet_spells_them() {
        for (arm, sheet) in [
            ("STANDARD_DS3_V2", "Standard_DS3_v2"),
            ("Standard_D2s_v3", "Standard_D2s_v3"),
            ("standard_nc6s_v3", "Standard_NC6s_v3"),
            ("STANDARD_E4DS_V4", "Standard_E4ds_v4"),
            ("Standard_D2als_v7", "Standard_D2als_v7"),
        ] {
            assert_eq!(canonical_sku(arm), sheet, "{arm}");
        }
    }

    fn recorded(name: &str) -> PricePage {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/azure-api/prices").join(name);
        read_price_file(&path).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn the_linux_pay_as_you_go_row_is_chosen_among_spot_low_priority_windows_and_reservations() {
        let ga = recorded("example-eastus-d2s_v3-consumption-ga.json");
        assert_eq!((ga.count, ga.items.len(), ga.next_page_link.as_deref()), (6, 6, None));
        let linux = hourly_price(&ga.items, "EastUS", "STANDARD_D2S_V3", Os::Linux).expect("a Linux row");
        assert_eq!((linux.retail_price, linux.product_name.as_str()), (0.096, "Virtual Machines DSv3 Series"));
        let windows = hourly_price(&ga.items, "eastus", "Standard_D2s_v3", Os::Windows).expect("a Windows row");
        assert_eq!(windows.retail_price, 0.188);
        assert!(hourly_price(&ga.items, "westeurope", "Standard_D2s_v3", Os::Linux).is_none());

        // The preview answer has DevTest rows and savings plans hung on the Linux row: the price is the same.
        let preview = recorded("example-eastus-d2s_v3-nofilter-preview.json");
        assert_eq!(
            hourly_price(&preview.items, "eastus", "Standard_D2s_v3", Os::Linux).map(|p| p.retail_price),
            Some(0.096)
        );
        // Reservation rows (a term amount per "1 Hour") never price an hour.
        let reserved = recorded("example-eastus-d2als_v7-nofilter-preview.json");
        let row = hourly_price(&reserved.items, "eastus", "Standard_D2als_v7", Os::Linux).expect("a row");
        assert_eq!(row.price_type, "Consumption");
        assert!(row.retail_price < 1.0, "{row:?}");
        // Only Spot rows are primary-region meters here: nothing to price with.
        let primary = recorded("example-eastus-d2s_v3-consumption-preview-primary.json");
        assert!(hourly_price(&primary.items, "eastus", "Standard_D2s_v3", Os::Linux).is_none());
    }

    #[test]
    fn a_file_that_is_not_a_price_page_is_named() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/azure-api/prices/example-error-unsupported-api-version.json");
        let err = read_price_file(&path).expect_err("an error body").to_string();
        assert!(err.starts_with("price file ") && err.contains("example-error-unsupported-api-version.json"), "{err}");
        assert!(err.contains("expected a Retail Prices API answer"), "{err}");
    }
}
