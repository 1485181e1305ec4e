//! The status page at `/` of `autostop serve`: the fleet by state (filterable by workspace, owner and kind),
//! the next 24 hours' actions and why, the last day's history with problems first, and the savings per day
//! stacked by workspace, drawn as SVG on the server. HTML from a template (minijinja), no script.
//!
//! **Read-only**: it only reads ARM, the audit log and prices. **Access**: on a loopback address it is open to
//! the machine's users; on any other address the daemon refuses to start unless `AUTOSTOP_STATUS_TOKEN` is set,
//! and every request to the page must then carry `Authorization: Bearer <token>` (compared in constant time).
//! `/healthz` and `/metrics` stay open for probes and scrapers, as before.
//!
//! What it shows is gathered at most once per [`REFRESH`] (discovery of 10,000 instances is not free), and in
//! the background every [`BACKGROUND_REFRESH`]; each gathering also feeds the savings totals of `/metrics`.

mod chart;
mod snapshot;
mod view;

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use autostop_policy::Config;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use tokio::sync::Mutex;

use autostop_azure::ArmClient;
use autostop_engine::savings::PriceSource;
use view::{Filters, Snapshot};

/// How the page reaches Azure for a configuration: a client for its cloud and credentials, built anew for each
/// gathering (the configuration follows reloads).
pub type Connect = Arc<dyn Fn(&Config) -> anyhow::Result<ArmClient> + Send + Sync>;

/// Where each gathering's savings totals go (hours, cost, currency): the daemon's `/metrics`.
pub type SavingsSink = Arc<dyn Fn(f64, f64, &str) + Send + Sync>;

/// Why the page cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// Off loopback without a token.
    #[error(
        "the status page on {listen} (not a loopback address) needs a bearer token: set {TOKEN_ENV}, or listen on \
         127.0.0.1"
    )]
    NeedsToken {
        /// The address the daemon listens on.
        listen: SocketAddr,
    },
}

/// The environment variable holding the bearer token the page requires off loopback.
pub const TOKEN_ENV: &str = "AUTOSTOP_STATUS_TOKEN";

/// How long a gathered snapshot is shown before a request gathers it again.
pub const REFRESH: Duration = Duration::from_secs(60);

/// How often the snapshot is gathered when nobody asks for the page, to keep the savings of `/metrics` current
/// without listing a large fleet from ARM every minute.
pub const BACKGROUND_REFRESH: Duration = Duration::from_secs(15 * 60);

/// The page's template.
const TEMPLATE: &str = include_str!("page.html");

/// The status page: where its data comes from and who may read it.
pub struct StatusPage {
    inner: Arc<Inner>,
}

struct Inner {
    config: RwLock<Arc<Config>>,
    connect: Connect,
    store: Arc<dyn autostop_state::StateStore>,
    prices: PriceSource,
    token: Option<String>,
    cached: Mutex<Option<Cached>>,
    savings: std::sync::OnceLock<SavingsSink>,
}

/// The last snapshot: when it was gathered, and for which configuration.
struct Cached {
    at: Instant,
    config: Arc<Config>,
    snapshot: Arc<Snapshot>,
}

impl std::fmt::Debug for StatusPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("StatusPage").field("token", &self.inner.token.as_ref().map(|_| "<set>")).finish_non_exhaustive()
    }
}

impl StatusPage {
    /// A page over `config` (Azure reached through `connect`), the state `store`, prices from `prices`, and the
    /// token `token` (from [`TOKEN_ENV`]; an empty value counts as none).
    pub fn new(
        config: Config,
        connect: Connect,
        store: Arc<dyn autostop_state::StateStore>,
        prices: PriceSource,
        token: Option<String>,
    ) -> StatusPage {
        let token = token.filter(|token| !token.is_empty());
        let inner = Inner {
            config: RwLock::new(Arc::new(config)),
            connect,
            store,
            prices,
            token,
            cached: Mutex::new(None),
            savings: std::sync::OnceLock::new(),
        };
        StatusPage { inner: Arc::new(inner) }
    }

    /// Shows `config` (a reloaded configuration, once accepted) from the next request on: a snapshot gathered
    /// for another configuration is not shown again.
    pub fn follow(&self, config: Config) {
        *self.inner.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }
}

impl StatusPage {
    /// The page's routes for a daemon listening on `listen`, each gathering's savings totals passed to
    /// `savings`; starts the background gathering. Refused off loopback without a token.
    pub fn router(&self, listen: SocketAddr, savings: SavingsSink) -> Result<Router, StatusError> {
        if !listen.ip().is_loopback() && self.inner.token.is_none() {
            return Err(StatusError::NeedsToken { listen });
        }
        let _ = self.inner.savings.set(savings);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                if let Err(err) = inner.refresh().await {
                    tracing::warn!(error = %format!("{err:#}"), "status page: gathering failed");
                }
                tokio::time::sleep(BACKGROUND_REFRESH).await;
            }
        });
        Ok(Router::new().route("/", get(page)).with_state(self.inner.clone()))
    }
}

impl Inner {
    /// Gathers a new snapshot, keeps it, and passes the savings totals on to `/metrics`.
    async fn refresh(&self) -> anyhow::Result<Arc<Snapshot>> {
        let now = Timestamp::now();
        let config = self.config.read().unwrap_or_else(PoisonError::into_inner).clone();
        let (snapshot, totals) =
            snapshot::gather(&config, &self.connect, self.store.as_ref(), &self.prices, now).await?;
        if let Some(sink) = self.savings.get() {
            sink(totals.hours, totals.cost, &snapshot.currency);
        }
        let snapshot = Arc::new(snapshot);
        *self.cached.lock().await = Some(Cached { at: Instant::now(), config, snapshot: snapshot.clone() });
        Ok(snapshot)
    }

    /// The snapshot to show: the kept one while it is younger than [`REFRESH`] and of the configuration
    /// followed now, else a new one.
    async fn snapshot(&self) -> anyhow::Result<Arc<Snapshot>> {
        let config = self.config.read().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(cached) = self.cached.lock().await.as_ref()
            && cached.at.elapsed() < REFRESH
            && Arc::ptr_eq(&cached.config, &config)
        {
            return Ok(cached.snapshot.clone());
        }
        self.refresh().await
    }

    /// Whether the request may read the page.
    fn allowed(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else { return true };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        constant_time_eq(given.as_bytes(), token.as_bytes())
    }
}

/// Compares without stopping at the first difference, so that timing does not tell how much of a guess is right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter().cycle()) {
        difference |= x ^ y;
    }
    difference == 0 && !b.is_empty()
}

async fn page(State(inner): State<Arc<Inner>>, headers: HeaderMap, Query(filters): Query<Filters>) -> Response {
    if !inner.allowed(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"autostop\"")],
            "the status page needs Authorization: Bearer <AUTOSTOP_STATUS_TOKEN>\n",
        )
            .into_response();
    }
    let snapshot = match inner.snapshot().await {
        Ok(snapshot) => snapshot,
        Err(err) => {
            tracing::warn!(error = %format!("{err:#}"), "status page: gathering failed");
            let body = format!("the status page could not gather its data: {err:#}\n");
            return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        }
    };
    match render(&view::view(&snapshot, &filters)) {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], Html(html))
            .into_response(),
        Err(err) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("the status page could not render: {err}\n")).into_response()
        }
    }
}

/// The page's HTML: the template over the view, auto-escaped; only the chart (escaped where it is drawn) is
/// inserted as markup.
fn render(view: &view::View) -> Result<String, minijinja::Error> {
    let mut environment = minijinja::Environment::new();
    environment.add_template("page.html", TEMPLATE)?;
    let chart = minijinja::Value::from_safe_string(view.chart.clone());
    environment
        .get_template("page.html")?
        .render(minijinja::context! { view => minijinja::value::Serde(view), chart => chart })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_loopback_the_page_refuses_to_start_without_a_token() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn autostop_state::StateStore> =
            Arc::new(autostop_state::SqliteStore::open(&dir.path().join("audit.db")).expect("state"));
        let connect: Connect = Arc::new(|_: &Config| anyhow::bail!("not reached: the page never gathers here"));
        let prices = PriceSource::File("prices.json".into());
        let text = "[[scopes]]\nsubscription = \"00000000-0000-0000-0000-000000000001\"\n";
        let config = autostop_policy::Config::parse(text, std::path::Path::new("autostop.toml")).expect("a config");
        let page = StatusPage::new(config, connect, store, prices, Some(String::new()));
        let sink: SavingsSink = Arc::new(|_, _, _| {});
        let err = page.router("0.0.0.0:9464".parse().expect("address"), sink).expect_err("no token");
        assert!(err.to_string().contains(TOKEN_ENV), "{err}");
        assert!(format!("{page:?}").contains("token: None"), "an empty token counts as none");
    }

    #[test]
    fn tokens_compare_whole_and_an_empty_one_never_matches() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
        assert!(!constant_time_eq(b"s3cretx", b"s3cret"));
        assert!(!constant_time_eq(b"S3cret", b"s3cret"));
        assert!(!constant_time_eq(b"", b""));
    }
}
