//! The HTTP client every Azure call goes through: one `reqwest::Client` (rustls) trusting the platform roots plus
//! the certificates of a PEM file (`SSL_CERT_FILE`), handed to `azure_identity` and the ARM pipeline alike.
//!
//! It offers HTTP/2 and HTTP/1.1 by ALPN and speaks what the server picks: Azure's front doors (ARM, Entra)
//! choose HTTP/2, so the requests to a host share one TLS connection as streams of it (one more per
//! [`STREAMS_PER_CONNECTION`] requests allowed in flight, see [`client_options_for`]), instead of one connection
//! (with its read buffer and TLS state) per request in flight; a server that offers only HTTP/1.1, or
//! plain `http://` (Azurite), gets HTTP/1.1 as before. hyper's HTTP/2 defaults are kept: its flow-control
//! windows (5 MiB per connection, 2 MiB per stream) are credit given to the server, not memory set aside, and
//! every response is read to its end as it arrives, so smaller windows would only slow large list pages.

use crate::error::{Error, ErrorKind};
use azure_core::http::{
    AsyncRawResponse, ClientOptions, ExponentialRetryOptions, HttpClient, Request, RetryOptions, Transport,
};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// `SSL_CERT_FILE`: a PEM file of extra trust roots.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Options of [`http_client_with`].
#[derive(Clone, Debug)]
pub struct HttpClientOptions {
    /// A PEM file whose certificates are trusted in addition to the platform's.
    pub extra_roots_pem: Option<PathBuf>,
    /// The longest a TCP + TLS connection may take (default 20 s, as `azure_core`'s own client).
    pub connect_timeout: Duration,
    /// The longest a read may wait for data (default 60 s, as `azure_core`'s own client).
    pub read_timeout: Duration,
}

impl Default for HttpClientOptions {
    fn default() -> Self {
        HttpClientOptions {
            extra_roots_pem: None,
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// The HTTP client with default timeouts, trusting the platform roots plus `extra_roots_pem` (all of its
/// certificates). A file that is missing, unreadable or without any certificate is an error naming the path.
pub fn http_client(extra_roots_pem: Option<&Path>) -> Result<reqwest::Client, Error> {
    http_client_with(&HttpClientOptions {
        extra_roots_pem: extra_roots_pem.map(Path::to_path_buf),
        ..Default::default()
    })
}

/// The HTTP client with explicit options (see [`http_client`]): HTTP/2 where the server offers it by ALPN, else
/// HTTP/1.1. Redirects are not followed: ARM never needs them, and a bearer token must not follow one.
pub fn http_client_with(options: &HttpClientOptions) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(MAX_IN_FLIGHT_CEILING);
    if let Some(path) = &options.extra_roots_pem {
        builder = builder.tls_certs_merge(read_roots(path)?);
    }
    builder.build().map_err(|e| ErrorKind::HttpClient { message: crate::error::chain_messages(&e).join(": ") }.into())
}

fn read_roots(path: &Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let certificates_error =
        |message: String| -> Error { ErrorKind::Certificates { path: path.display().to_string(), message }.into() };
    let pem = std::fs::read(path).map_err(|e| certificates_error(e.to_string()))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| certificates_error(e.to_string()))?;
    if roots.is_empty() {
        return Err(certificates_error("expected at least one PEM certificate, found none".into()));
    }
    Ok(roots)
}

/// The fewest requests one transport may send at once. Thousands of operations may be followed together, but
/// their polls are paced by the subscription budgets anyway; the cap keeps the requests under way (each with its
/// pipeline state, and under HTTP/1.1 its own connection and TLS buffers) and so memory bounded.
///
/// Under HTTP/2 the cap counts streams of one connection, and the server sets its own limit on those
/// (`SETTINGS_MAX_CONCURRENT_STREAMS`, commonly 100): requests past it wait inside hyper for a stream to close,
/// in order. The cap stays the client's: it is what bounds memory when a server allows more streams than that.
pub const MAX_IN_FLIGHT: usize = 64;

/// Requests in flight allowed per subscription the transport has sent to: each subscription's budgets (ARM's
/// default 25 reads and 10 writes per second) need that many at once to be used at a round trip of about 100 ms,
/// so a scope of many subscriptions is not held back by a cap made for a few.
pub const IN_FLIGHT_PER_SUBSCRIPTION: usize = 4;

/// The most requests one transport sends at once, however many subscriptions it serves.
pub const MAX_IN_FLIGHT_CEILING: usize = 512;

/// How many requests a transport that has sent to `subscriptions` subscriptions sends at once: 4 each, at least
/// 64, at most 512 (`IN_FLIGHT_PER_SUBSCRIPTION`, `MAX_IN_FLIGHT`, `MAX_IN_FLIGHT_CEILING`).
pub fn in_flight_for(subscriptions: usize) -> usize {
    subscriptions.saturating_mul(IN_FLIGHT_PER_SUBSCRIPTION).clamp(MAX_IN_FLIGHT, MAX_IN_FLIGHT_CEILING)
}

/// The requests one HTTP/2 connection is counted on to carry at once. A server caps the streams of a connection
/// (`SETTINGS_MAX_CONCURRENT_STREAMS`), hyper does not open a second connection when they are all taken (the
/// requests wait), and the cap is not visible through reqwest; 100 is the floor RFC 9113 (section 6.5.2)
/// recommends and what common servers advertise (Kestrel and Apache 100, nginx 128; Azure does not publish its
/// own). With a 20 ms round trip one connection then carries at most 5,000 requests a second, less than a scope
/// of 100 subscriptions needs (measured: 1.19x against 1.06x the bound with the streams not capped).
pub const STREAMS_PER_CONNECTION: usize = 100;

/// How many connections a transport allowed `in_flight` requests at once spreads them over:
/// [`STREAMS_PER_CONNECTION`] each, at least one, at most `lanes`.
fn connections_for(in_flight: usize, lanes: usize) -> usize {
    in_flight.div_ceil(STREAMS_PER_CONNECTION).clamp(1, lanes.max(1))
}

/// `azure_core` client options whose transport is `client`, at most [`in_flight_for`] the subscriptions seen
/// requests at once, with [`retry_options`]. Every request shares `client`'s connection to a host.
pub fn client_options(client: reqwest::Client) -> ClientOptions {
    limited_options(Limited::new(client, None))
}

/// [`client_options`] for a transport that may serve many subscriptions at once (ARM): a client built from
/// `options`, and, as the requests allowed in flight grow past what one HTTP/2 connection carries (100,
/// `STREAMS_PER_CONNECTION`), more clients built the same way on first need, each with a connection of its own
/// (what .NET's `EnableMultipleHttp2Connections` does). A scope of a few subscriptions uses one connection.
pub fn client_options_for(options: &HttpClientOptions) -> Result<ClientOptions, Error> {
    Ok(limited_options(Limited::new(http_client_with(options)?, Some(options.clone()))))
}

fn limited_options(limited: Limited) -> ClientOptions {
    ClientOptions { transport: Some(Transport::new(Arc::new(limited))), retry: retry_options(), ..Default::default() }
}

/// A transport that sends at most a number of requests at once, growing with the subscriptions it sends to. The
/// limit sits at the transport, after the pipeline's budget and retry waits, so a request waiting for its
/// subscription's budget holds no slot.
#[derive(Debug)]
struct Limited {
    /// The first connection's client.
    first: reqwest::Client,
    /// The other connections' clients, each built on first need (requests go round the lanes in use in turn).
    more: Vec<OnceLock<reqwest::Client>>,
    /// How further lanes are built (`None`: one lane only).
    options: Option<HttpClientOptions>,
    /// The lane of the next request.
    next: AtomicUsize,
    permits: tokio::sync::Semaphore,
    subscriptions: Mutex<Seen>,
}

/// The subscriptions a transport has sent to (lowercase), and how many permits it has made for them.
#[derive(Debug)]
struct Seen {
    subscriptions: HashSet<String>,
    permits: usize,
}

impl Limited {
    fn new(client: reqwest::Client, options: Option<HttpClientOptions>) -> Limited {
        let more = match options {
            Some(_) => MAX_IN_FLIGHT_CEILING.div_ceil(STREAMS_PER_CONNECTION) - 1,
            None => 0,
        };
        Limited {
            first: client,
            more: (0..more).map(|_| OnceLock::new()).collect(),
            options,
            next: AtomicUsize::new(0),
            permits: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            subscriptions: Mutex::new(Seen { subscriptions: HashSet::new(), permits: MAX_IN_FLIGHT }),
        }
    }

    /// Counts the subscription of `url` (ARM's `/subscriptions/{id}/...`), adding permits for a new one, and
    /// returns the requests now allowed in flight.
    fn count(&self, url: &url::Url) -> usize {
        let mut seen = self.subscriptions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(subscription) = subscription_of(url) else { return seen.permits };
        if seen.subscriptions.contains(subscription) || !seen.subscriptions.insert(subscription.to_ascii_lowercase()) {
            return seen.permits;
        }
        let wanted = in_flight_for(seen.subscriptions.len());
        if wanted > seen.permits {
            self.permits.add_permits(wanted - seen.permits);
            seen.permits = wanted;
        }
        seen.permits
    }

    /// The client of the next request's lane, building it on first use; the first lane's, with a warning, when
    /// another cannot be built (the first was built from the same options, so that does not happen in practice:
    /// the requests are then slower, not lost).
    fn lane(&self, in_flight: usize) -> &reqwest::Client {
        let lanes = connections_for(in_flight, 1 + self.more.len());
        let Some(lane) = (self.next.fetch_add(1, Ordering::Relaxed) % lanes).checked_sub(1) else {
            return &self.first;
        };
        let slot = &self.more[lane];
        match (slot.get(), &self.options) {
            (Some(client), _) => client,
            (None, Some(options)) => match http_client_with(options) {
                Ok(client) => slot.get_or_init(|| client),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot open another connection; the requests share the first");
                    &self.first
                }
            },
            (None, None) => &self.first,
        }
    }
}

/// The subscription id of an ARM URL (`/subscriptions/{id}/...`), as written.
fn subscription_of(url: &url::Url) -> Option<&str> {
    let mut segments = url.path_segments()?;
    if !segments.next()?.eq_ignore_ascii_case("subscriptions") {
        return None;
    }
    segments.next().filter(|id| !id.is_empty())
}

#[async_trait::async_trait]
impl HttpClient for Limited {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let in_flight = self.count(request.url());
        let _permit = self.permits.acquire().await.ok();
        self.lane(in_flight).execute_request(request).await
    }
}

/// The retries autostop uses: `azure_core`'s exponential policy (random jitter up to 256 ms, `Retry-After`
/// honoured on 429 and 503) for 408, 429, 5xx and connection errors, at most 5 retries from 0.4 s doubling up to
/// 20 s apart, within 60 s in all. Shorter than `azure_core`'s default (8 retries) so that a wrong endpoint is
/// reported in seconds rather than most of a minute.
pub fn retry_options() -> RetryOptions {
    RetryOptions::exponential(ExponentialRetryOptions {
        initial_delay: azure_core::time::Duration::milliseconds(400),
        max_retries: 5,
        max_total_elapsed: azure_core::time::Duration::seconds(60),
        max_delay: azure_core::time::Duration::seconds(20),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_pem_file_is_named() {
        let err = http_client(Some(Path::new("/nonexistent/roots.pem"))).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.starts_with("cannot use the trust roots in '/nonexistent/roots.pem': "), "{err}");
    }

    #[test]
    fn a_pem_file_without_certificates_is_named() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n")?;
        let err = http_client(Some(&path)).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err,
            format!(
                "cannot use the trust roots in '{}': expected at least one PEM certificate, found none",
                path.display()
            )
        );
        Ok(())
    }

    #[test]
    fn builds_without_extra_roots() {
        assert!(http_client(None).is_ok());
    }

    #[test]
    fn the_cap_grows_with_the_subscriptions_within_its_floor_and_ceiling() {
        assert_eq!(in_flight_for(0), MAX_IN_FLIGHT);
        assert_eq!(in_flight_for(10), MAX_IN_FLIGHT);
        assert_eq!(in_flight_for(100), 100 * IN_FLIGHT_PER_SUBSCRIPTION);
        assert_eq!(in_flight_for(10_000), MAX_IN_FLIGHT_CEILING);
        assert_eq!(
            (IN_FLIGHT_PER_SUBSCRIPTION, MAX_IN_FLIGHT, MAX_IN_FLIGHT_CEILING, STREAMS_PER_CONNECTION),
            (4, 64, 512, 100),
            "the numbers the public docs of in_flight_for and client_options_for give"
        );
    }

    #[test]
    fn the_subscription_is_read_from_arm_urls_only() {
        let url = |text: &str| url::Url::parse(text).expect("url");
        let arm = url("https://management.azure.com/subscriptions/AbC-1/resourceGroups/rg?api-version=1");
        assert_eq!(subscription_of(&arm), Some("AbC-1"));
        assert_eq!(subscription_of(&url("https://login.microsoftonline.com/tenant/oauth2/v2.0/token")), None);
        assert_eq!(subscription_of(&url("https://management.azure.com/subscriptions/")), None);
    }

    #[test]
    fn a_transport_adds_permits_for_each_new_subscription_past_the_floor() {
        let limited = Limited::new(reqwest::Client::new(), None);
        let floor = MAX_IN_FLIGHT / IN_FLIGHT_PER_SUBSCRIPTION;
        for index in 0..=floor {
            let url = url::Url::parse(&format!("https://h/subscriptions/s-{index}/x")).expect("url");
            limited.count(&url);
            limited.count(&url::Url::parse(&format!("https://h/SUBSCRIPTIONS/S-{index}/y")).expect("url"));
        }
        assert_eq!(limited.permits.available_permits(), MAX_IN_FLIGHT + IN_FLIGHT_PER_SUBSCRIPTION);
    }

    #[test]
    fn requests_are_spread_over_a_connection_per_hundred_allowed_in_flight() {
        assert_eq!(connections_for(MAX_IN_FLIGHT, 6), 1, "a few subscriptions: one connection");
        assert_eq!(connections_for(100, 6), 1);
        assert_eq!(connections_for(101, 6), 2);
        assert_eq!(connections_for(in_flight_for(100), 6), 4, "100 subscriptions: 400 in flight");
        assert_eq!(connections_for(MAX_IN_FLIGHT_CEILING, 6), 6);
        assert_eq!(connections_for(MAX_IN_FLIGHT_CEILING, 1), 1, "a transport of one lane keeps it");
    }

    #[test]
    fn lanes_are_built_on_first_need_and_taken_in_turn() {
        let limited = Limited::new(reqwest::Client::new(), Some(HttpClientOptions::default()));
        assert_eq!(limited.more.len(), MAX_IN_FLIGHT_CEILING.div_ceil(STREAMS_PER_CONNECTION) - 1);
        for _ in 0..8 {
            limited.lane(MAX_IN_FLIGHT);
        }
        assert!(limited.more.iter().all(|lane| lane.get().is_none()), "one connection is enough for 64");
        for _ in 0..8 {
            limited.lane(400);
        }
        let built = limited.more.iter().filter(|lane| lane.get().is_some()).count();
        assert_eq!(built, 3, "400 in flight: the first and three more");
        let single = Limited::new(reqwest::Client::new(), None);
        assert!(single.more.is_empty());
        assert!(std::ptr::eq(single.lane(MAX_IN_FLIGHT_CEILING), &single.first));
    }
}
