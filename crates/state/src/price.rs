//! Cached hourly prices: what the Retail Prices API said a VM size costs in a region, and when it said so, so
//! that pricing the savings does not ask the service again each time.

use jiff::Timestamp;

/// One cached price: the pay-as-you-go hourly price of `size` in `region`, in `currency`.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedPrice {
    /// The region (`eastus`), lower case.
    pub region: String,
    /// The VM size as the price sheet spells it (`Standard_DS3_v2`).
    pub size: String,
    /// The currency code (`USD`).
    pub currency: String,
    /// The price of one hour.
    pub hourly: f64,
    /// When the price was fetched.
    pub fetched: Timestamp,
}
