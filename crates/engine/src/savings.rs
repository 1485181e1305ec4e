//! The savings ledger's edges: reads the audit log into observations, the inventory into what each instance is
//! and costs, and the prices from a saved Retail Prices API answer, the state store's cache or the API itself.
//! The arithmetic is `autostop_policy::savings` (pure); `savings` and the status page both come through here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use autostop_azure::prices::{
    Os, PRICES_ENDPOINT, PRICES_ENDPOINT_ENV, PricePage, PricesClient, canonical_sku, hourly_price, read_price_file,
};
use autostop_policy::savings::{Observation, Period, Priced, Sign, Stretch, stopped_stretches};
use autostop_policy::{Action, Instance, SkipReason};
use autostop_state::{CachedPrice, EventKind, EventRecord, HistoryQuery, StateStore};
use jiff::{SignedDuration, Timestamp};

/// How far before the period the audit log is read for the stop that began a stretch still running at its start:
/// a stop older than this, never followed by a sign of life, is not counted.
pub const LOOKBACK: SignedDuration = SignedDuration::from_hours(31 * 24);

/// How long a cached price is used before it is fetched again.
pub const PRICE_MAX_AGE: SignedDuration = SignedDuration::from_hours(7 * 24);

/// What the ledger does not count, in words, for every output.
pub const NOT_COUNTED: &str = "compute hours only: a stopped compute instance still bills its OS disk (a \
    deallocated VM its disks and public IP), so real savings are somewhat lower; stops never confirmed \
    (accepted only) save nothing here; instances without a known size, region or price are listed as unpriced";

/// Where prices come from.
#[derive(Debug, Clone)]
pub enum PriceSource {
    /// A saved Retail Prices API answer (`--prices FILE`): nothing is fetched.
    File(PathBuf),
    /// The Retail Prices API, through the state store's cache.
    Api(PricesClient),
}

impl PriceSource {
    /// `--prices FILE` when given, else the Retail Prices API (`AUTOSTOP_PRICES_ENDPOINT` or the public one,
    /// trusting `SSL_CERT_FILE` too) in `currency`, a three-letter code.
    pub fn from_args(file: Option<PathBuf>, currency: &str) -> Result<PriceSource, PriceSourceError> {
        if let Some(path) = file {
            return Ok(PriceSource::File(path));
        }
        let code = currency.trim().to_uppercase();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(PriceSourceError::Currency(currency.to_owned()));
        }
        let endpoint = std::env::var(PRICES_ENDPOINT_ENV).unwrap_or_else(|_| PRICES_ENDPOINT.to_owned());
        let roots = std::env::var_os(autostop_azure::SSL_CERT_FILE).map(PathBuf::from);
        let http = autostop_azure::http_client(roots.as_deref()).map_err(PriceSourceError::Http)?;
        Ok(PriceSource::Api(PricesClient::new(http, &endpoint, &code)))
    }
}

/// Why the prices cannot be had as the command line asks (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum PriceSourceError {
    /// `--currency` is not a three-letter code.
    #[error("--currency: expected a 3-letter code such as USD, found {0:?}")]
    Currency(String),
    /// The HTTPS client for the Retail Prices API cannot be built (e.g. an unreadable `SSL_CERT_FILE`).
    #[error(transparent)]
    Http(autostop_azure::Error),
}

/// The audit log's events as observations (see `autostop_policy::savings`): a `succeeded` stop stops; a
/// `succeeded` start, a stop autostop found the instance running for (`accepted` or `succeeded`), and a skip
/// because the instance was already running or busy with a job are signs of life.
pub fn observations(records: &[EventRecord]) -> Vec<Observation> {
    let already_running = SkipReason::AlreadyThere { state: "Running".to_owned() }.to_string();
    let job_running = SkipReason::JobRunning.to_string();
    let stop = Action::Stop.as_str();
    let start = Action::Start.as_str();
    records
        .iter()
        .filter_map(|record| {
            let event = &record.event;
            let target_id = event.target_id.clone()?;
            let action = event.action.as_deref()?;
            let sign = match event.kind {
                EventKind::Succeeded if action == stop => Sign::Stopped { rule: event.rule.clone() },
                EventKind::Succeeded if action == start => Sign::Running,
                EventKind::Accepted if action == stop => Sign::Running,
                EventKind::Skipped
                    if event
                        .reason
                        .as_deref()
                        .is_some_and(|reason| reason == already_running || reason == job_running) =>
                {
                    Sign::Running
                }
                _ => return None,
            };
            Some(Observation { at: event.time, target_id, sign })
        })
        .collect()
}

/// The stretches of `period`, from the audit log of `store`.
pub async fn stretches(store: &dyn StateStore, period: Period) -> anyhow::Result<Vec<Stretch>> {
    let since = period.since.checked_sub(LOOKBACK).unwrap_or(Timestamp::MIN);
    let records = store
        .history(&HistoryQuery { since: Some(since), ..Default::default() })
        .await
        .with_context(|| format!("reading the audit log {}", store.location()))?;
    Ok(stopped_stretches(&observations(&records), period))
}

/// What each discovered target is and costs, keyed by lowercase ARM id; the prices of the targets in `wanted`
/// (those with stretches) are looked up, one per region and size, the region from `locations` (by lowercase id).
/// Returns also the currency and one line per price that could not be had.
pub async fn priced(
    targets: &[Arc<Instance>],
    locations: &BTreeMap<String, String>,
    wanted: &BTreeSet<String>,
    source: &PriceSource,
    store: &dyn StateStore,
    now: Timestamp,
) -> anyhow::Result<(BTreeMap<String, Priced>, String, Vec<String>)> {
    let place = |target: &Instance| {
        let key = target.id.to_lowercase();
        Some((locations.get(&key)?.clone(), target.vm_size.as_ref()?.to_lowercase()))
    };
    let pairs: BTreeSet<(String, String)> = targets
        .iter()
        .filter(|target| wanted.contains(&target.id.to_lowercase()))
        .filter_map(|target| place(target))
        .collect();
    let (prices, currency, problems) = match source {
        PriceSource::File(path) => {
            let page = read_price_file(path)?;
            let prices = from_page(&page, &pairs);
            (prices, page.billing_currency, Vec::new())
        }
        PriceSource::Api(client) => from_api(client, store, &pairs, now).await?,
    };
    let instances = targets
        .iter()
        .map(|target| {
            let priced = Priced {
                name: target.name.clone(),
                workspace: target.workspace.clone(),
                owner: target.owner.clone(),
                size: target.vm_size.clone(),
                hourly: place(target).and_then(|key| prices.get(&key).copied()),
            };
            (target.id.to_lowercase(), priced)
        })
        .collect();
    Ok((instances, currency, problems))
}

/// Prices keyed by (lowercase region, lowercase size); the pairs asked for are spelled so too.
type Prices = BTreeMap<(String, String), f64>;

fn from_page(page: &PricePage, pairs: &BTreeSet<(String, String)>) -> Prices {
    pairs
        .iter()
        .filter_map(|(region, size)| {
            let row = hourly_price(&page.items, region, size, Os::Linux)?;
            Some(((region.clone(), size.clone()), row.retail_price))
        })
        .collect()
}

async fn from_api(
    client: &PricesClient,
    store: &dyn StateStore,
    pairs: &BTreeSet<(String, String)>,
    now: Timestamp,
) -> anyhow::Result<(Prices, String, Vec<String>)> {
    let cached = store.cached_prices(client.currency()).await.context("reading the cached prices")?;
    let fresh_since = now.checked_sub(PRICE_MAX_AGE).unwrap_or(Timestamp::MIN);
    let cached: BTreeMap<(String, String), &CachedPrice> = cached
        .iter()
        .filter(|price| price.fetched >= fresh_since)
        .map(|price| ((price.region.to_lowercase(), price.size.to_lowercase()), price))
        .collect();
    let mut prices = Prices::new();
    let mut fetched = Vec::new();
    let mut problems = Vec::new();
    for (region, size) in pairs {
        let key = (region.clone(), size.clone());
        if let Some(price) = cached.get(&key) {
            prices.insert(key, price.hourly);
            continue;
        }
        match client.hourly(region, size, Os::Linux).await {
            Ok(Some(row)) => {
                prices.insert(key, row.retail_price);
                fetched.push(CachedPrice {
                    region: region.clone(),
                    size: canonical_sku(size),
                    currency: client.currency().to_owned(),
                    hourly: row.retail_price,
                    fetched: now,
                });
            }
            Ok(None) => problems.push(format!("no pay-as-you-go Linux price for {size} in {region}")),
            Err(err) => problems.push(err.to_string()),
        }
    }
    if !fetched.is_empty() {
        store.store_prices(&fetched).await.context("caching the fetched prices")?;
    }
    Ok((prices, client.currency().to_owned(), problems))
}
