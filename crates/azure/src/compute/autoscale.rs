//! Autoscale settings (`Microsoft.Insights`): which resources an enabled setting targets, so that discovery can
//! mark the scale sets that autoscale.

use serde::Deserialize;

use super::models::decode_json;
use crate::models::{DecodeError, Page, WirePage};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAutoscaleProperties {
    #[serde(default)]
    target_resource_uri: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize)]
struct WireAutoscale {
    #[serde(default)]
    properties: Option<WireAutoscaleProperties>,
}

/// Decodes one page of autoscale settings into the (lowercase) ids of the resources enabled ones target.
pub(crate) fn decode_autoscale_page(body: &[u8]) -> Result<Page<String>, DecodeError> {
    let page: WirePage<WireAutoscale> = decode_json(body)?;
    let targets = page
        .value
        .into_iter()
        .filter_map(|setting| setting.properties)
        .filter(|properties| properties.enabled.unwrap_or(true))
        .filter_map(|properties| properties.target_resource_uri)
        .map(|uri| uri.trim_end_matches('/').to_ascii_lowercase())
        .collect();
    Ok((targets, page.next_link))
}
