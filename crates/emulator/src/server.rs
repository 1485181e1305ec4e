//! The running emulator: binds its address (127.0.0.1:0 by default), serves the axum router over TLS (HTTP/2 or
//! HTTP/1.1, as the client chooses by ALPN, like Azure's front doors), plays the front door (latency, injected 5xx
//! and dropped requests), records what it serves, and shuts down on request.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::service::{Service as _, service_fn};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::clock::{Clock, arm_timestamp};
use crate::compute_limits::{ComputeCounters, ComputeLimits};
use crate::control::{Control, ControlState, HttpVersion, RecordedRequest};
use crate::faults::{FaultState, RequestFault};
use crate::machines::Machines;
use crate::options::Options;
use crate::secret::Secret;
use crate::throttle::Throttle;
use crate::tokens::{Claims, Issued, Tokens};
use crate::world::World;
use crate::{Error, arm, azureml_sdk, control, entra_discovery, identity, login_proxy, retail_prices, tls};

/// The settings handlers read (fixed for the run).
#[derive(Debug)]
pub(crate) struct Config {
    /// `https://127.0.0.1:PORT`.
    pub base_url: String,
    /// The tenant the token endpoint knows.
    pub tenant_id: String,
    /// The client id the token endpoint knows.
    pub client_id: String,
    /// That client's secret.
    pub client_secret: Secret,
    /// The App Service managed identity secret header value.
    pub identity_header: Secret,
    /// The client id of the emulated managed identity.
    pub managed_identity_client_id: String,
    /// Items per list page.
    pub page_size: usize,
    /// Emulated duration of transitions.
    pub transition: Duration,
    /// Lifetime of issued tokens.
    pub token_lifetime: Duration,
}

/// Everything that changes while the emulator runs, behind one lock.
#[derive(Debug)]
pub(crate) struct Live {
    /// Fleet, states, operations.
    pub world: World,
    /// Virtual machines and scale sets, their power states and operations.
    pub machines: Machines,
    /// The Compute RP's policy counters.
    pub compute_counters: ComputeCounters,
    /// The Compute RP's policy sizes.
    pub compute_limits: ComputeLimits,
    /// Issued tokens.
    pub tokens: Tokens,
    /// Denials, recorded requests, workload assertion.
    pub control: ControlState,
    /// ARM throttling, when on.
    pub throttle: Option<Throttle>,
    /// Fault settings and state.
    pub faults: FaultState,
    /// Real time added to each request.
    pub latency: Duration,
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Fixed settings.
    pub config: Config,
    /// Emulated time.
    pub clock: Clock,
    live: Mutex<Live>,
}

impl Shared {
    /// Locks the live state (a panicked handler does not poison the emulator for everyone else).
    pub fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The wall clock as ARM prints it.
    pub fn wall(&self) -> String {
        arm_timestamp(jiff::Timestamp::now())
    }

    /// Mints a token with the configured lifetime; with the early-expiry fault on, the emulator stops accepting
    /// it early while it still advertises the full lifetime.
    pub fn issue_token(&self, claims: &Claims<'_>) -> (String, Issued) {
        let now = crate::clock::unix_now();
        let lifetime = i64::try_from(self.config.token_lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let mut live = self.live();
        let (token, issued) = live.tokens.mint(claims, now, lifetime);
        if let Some(early) = live.faults.faults().token_early_expiry() {
            // Token expiry is kept in whole seconds: round up so a short early expiry is not zero.
            let early = i64::try_from(early.as_millis().div_ceil(1000)).unwrap_or(i64::MAX / 2);
            live.tokens.cap_expiry(&token, now + early);
        }
        (token, issued)
    }
}

/// Fails the request it is put into (the dropped-connection fault) without an answer; see [`serve_tls`] for what
/// the client sees under each protocol.
#[derive(Debug, Clone)]
pub(crate) struct Hangup(Arc<Notify>);

/// The error a request failed by [`Hangup`] ends its service call with.
#[derive(Debug, thiserror::Error)]
#[error("request dropped (injected fault)")]
struct Dropped;

/// The most streams a client may open at once on one HTTP/2 connection (`SETTINGS_MAX_CONCURRENT_STREAMS`).
/// Azure does not document what its front doors advertise; 100 is the floor RFC 9113 (section 6.5.2) recommends
/// and the default of Microsoft's ASP.NET Core server (Kestrel's `Http2Limits.MaxStreamsPerConnection`), so a
/// client tested here meets a limit it may meet there: requests beyond it wait in the client for a free stream.
pub(crate) const MAX_CONCURRENT_STREAMS: u32 = 100;

/// A running emulator. Dropping it stops the server too; [`Emulator::shutdown`] waits for that.
pub struct Emulator {
    shared: Arc<Shared>,
    ca_path: PathBuf,
    ca_pem: String,
    owned_ca_dir: Option<PathBuf>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator").field("base_url", &self.shared.config.base_url).finish_non_exhaustive()
    }
}

impl Emulator {
    /// Generates certificates, writes the CA, binds and starts serving.
    pub async fn start(options: Options) -> Result<Emulator, Error> {
        if options.page_size == 0 {
            return Err(Error::InvalidOption { name: "page_size", expected: "at least 1", found: "0".to_owned() });
        }
        options.fleet.validate()?;
        let certificates = tls::generate()?;
        let (ca_dir, owned_ca_dir) = match &options.ca_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let dir = std::env::temp_dir().join(format!("autostop-emulator-{}", uuid::Uuid::new_v4().simple()));
                (dir.clone(), Some(dir))
            }
        };
        std::fs::create_dir_all(&ca_dir).map_err(|source| Error::WriteCa { path: ca_dir.clone(), source })?;
        let ca_path = ca_dir.join("ca.pem");
        std::fs::write(&ca_path, &certificates.ca_pem)
            .map_err(|source| Error::WriteCa { path: ca_path.clone(), source })?;

        let listener =
            TcpListener::bind(options.bind).await.map_err(|source| Error::Bind { addr: options.bind, source })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind { addr: options.bind, source })?;
        let base_url = format!("https://{addr}");

        let wall = arm_timestamp(jiff::Timestamp::now());
        let shared = Arc::new(Shared {
            config: Config {
                base_url,
                managed_identity_client_id: crate::arm::json::stable_guid(&format!("{}/msi", options.client_id)),
                tenant_id: options.tenant_id,
                client_id: options.client_id,
                client_secret: Secret::new(options.client_secret),
                identity_header: Secret::new(options.identity_header),
                page_size: options.page_size,
                transition: options.transition,
                token_lifetime: options.token_lifetime,
            },
            clock: Clock::new(options.time_scale),
            live: Mutex::new(Live {
                machines: Machines::new(&options.fleet, &wall),
                world: World::new(options.fleet, &wall),
                compute_counters: ComputeCounters::default(),
                compute_limits: options.compute_limits,
                tokens: Tokens::default(),
                control: ControlState::default(),
                throttle: options.throttle.map(Throttle::new),
                faults: FaultState::new(options.faults),
                latency: options.latency,
            }),
        });

        let router = router(shared.clone());
        let acceptor = TlsAcceptor::from(certificates.server_config);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, acceptor, router, stopped));
        tracing::info!(url = %shared.config.base_url, ca = %ca_path.display(), "azure emulator listening");
        Ok(Emulator { shared, ca_path, ca_pem: certificates.ca_pem, owned_ca_dir, stop, task: Some(task) })
    }

    /// `https://127.0.0.1:PORT`: it serves everything (ARM, token endpoints, managed identity, management).
    pub fn base_url(&self) -> String {
        self.shared.config.base_url.clone()
    }

    /// The ARM endpoint: the same as [`Emulator::base_url`] (ARM paths are at the root).
    pub fn arm_endpoint(&self) -> String {
        self.base_url()
    }

    /// The Entra authority host: the same host; the token endpoint is `/{tenant}/oauth2/v2.0/token`.
    pub fn authority_host(&self) -> String {
        self.base_url()
    }

    /// The App Service managed identity endpoint (`IDENTITY_ENDPOINT`).
    pub fn identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.shared.config.base_url)
    }

    /// The App Service managed identity secret (`IDENTITY_HEADER`).
    pub fn identity_header(&self) -> &str {
        self.shared.config.identity_header.expose()
    }

    /// The PEM file of the CA that signed the server certificate (`SSL_CERT_FILE`).
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The CA certificate in PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The tenant the token endpoint accepts.
    pub fn tenant_id(&self) -> &str {
        &self.shared.config.tenant_id
    }

    /// The client id the token endpoint accepts.
    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    /// The client secret the token endpoint accepts.
    pub fn client_secret(&self) -> &str {
        self.shared.config.client_secret.expose()
    }

    /// The environment a client needs: `AZURE_AUTHORITY_HOST`, `AUTOSTOP_ARM_ENDPOINT`, `AUTOSTOP_PRICES_ENDPOINT`,
    /// the CA file for Rust (`SSL_CERT_FILE`), Python requests (`REQUESTS_CA_BUNDLE`) and Node.js
    /// (`NODE_EXTRA_CA_CERTS`), `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    pub fn env(&self) -> Vec<(String, String)> {
        let ca = self.ca_path.display().to_string();
        [
            ("AZURE_AUTHORITY_HOST", self.authority_host()),
            ("AUTOSTOP_ARM_ENDPOINT", self.arm_endpoint()),
            ("AUTOSTOP_PRICES_ENDPOINT", self.prices_endpoint()),
            ("SSL_CERT_FILE", ca.clone()),
            ("REQUESTS_CA_BUNDLE", ca.clone()),
            ("NODE_EXTRA_CA_CERTS", ca),
            ("AZURE_TENANT_ID", self.tenant_id().to_owned()),
            ("AZURE_CLIENT_ID", self.client_id().to_owned()),
            ("AZURE_CLIENT_SECRET", self.client_secret().to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// The Retail Prices API endpoint (`AUTOSTOP_PRICES_ENDPOINT`): prices of the fleet's sizes.
    pub fn prices_endpoint(&self) -> String {
        format!("{}{}", self.base_url(), retail_prices::PATH)
    }

    /// What a shell set up for the emulator needs (what `autostop emulator` prints): [`Emulator::env`],
    /// `AZURE_SUBSCRIPTION_ID` (the fleet's first subscription, when it has one) so that commands need no scope, and
    /// `HTTPS_PROXY` (the emulator) with `NO_PROXY=127.0.0.1,localhost`, so that MSAL's instance discovery, which
    /// always goes to Entra's public login host, is answered by the emulator (see `login_proxy`) and nothing
    /// else leaves the machine.
    pub fn shell_env(&self) -> Vec<(String, String)> {
        let first_subscription = self.shared.live().world.subscription_ids().into_iter().next();
        let mut env = self.env();
        env.extend(first_subscription.map(|id| ("AZURE_SUBSCRIPTION_ID".to_owned(), id)));
        env.push(("HTTPS_PROXY".to_owned(), self.base_url()));
        env.push(("NO_PROXY".to_owned(), "127.0.0.1,localhost".to_owned()));
        env
    }

    /// A handle on the live state for tests, the CLI and benchmarks.
    pub fn control(&self) -> Control {
        Control::new(self.shared.clone())
    }

    /// Stops accepting, closes open connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(dir) = &self.owned_ca_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// All routes: identity endpoints, what azureml-core needs beyond ARM, the management path, and ARM for
/// everything else.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(identity::routes())
        .merge(entra_discovery::routes())
        .merge(azureml_sdk::routes())
        .merge(retail_prices::routes())
        .nest("/_emulator", control::routes())
        .fallback(arm::handle)
        .layer(middleware::from_fn_with_state(shared.clone(), front_door))
        .with_state(shared)
}

/// Adds latency, injects request faults into ARM requests, and records what was served (method, path and query,
/// HTTP version, status; status 0 for a dropped request). The management path is left alone: no latency, not
/// recorded.
async fn front_door(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_emulator/") {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_default();
    let version = HttpVersion::from(request.version());
    let latency = shared.live().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault =
        if arm::is_arm_path(request.uri().path()) { shared.live().faults.on_request() } else { RequestFault::None };
    let hangup = request.extensions().get::<Hangup>().cloned();
    let response = match (fault, hangup) {
        (RequestFault::Drop, Some(Hangup(hangup))) => {
            tracing::debug!(%method, %path, "dropping the request (injected fault)");
            shared.live().control.requests.push(RecordedRequest { method, path, version, status: 0 });
            hangup.notify_one();
            return std::future::pending().await;
        }
        (RequestFault::None, _) => next.run(request).await,
        (RequestFault::Drop | RequestFault::ServerError, _) => arm::injected_server_error(request.headers()),
    };
    let status = response.status().as_u16();
    tracing::debug!(%method, %path, status, "served");
    shared.live().control.requests.push(RecordedRequest { method, path, version, status });
    response
}

/// Accepts TCP connections and serves each (TLS, then HTTP/2 or HTTP/1.1) until told to stop.
async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, router: Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                connections.spawn(serve_tls(tcp, acceptor.clone(), router.clone(), peer, stopped.clone()));
            }
        }
    }
    connections.abort_all();
}

/// Does the TLS handshake on one connection (a TCP connection, or a tunnel opened with `CONNECT`) and serves it
/// until the peer closes it or the emulator stops: HTTP/2 when the client speaks it (having chosen `h2` by ALPN;
/// hyper-util's auto builder reads the connection preface), at most [`MAX_CONCURRENT_STREAMS`] streams at once;
/// else HTTP/1.1 with upgrades (the login proxy's `CONNECT`).
///
/// A request failed by the dropped-connection fault ends its service call with an error. Under HTTP/1.1 hyper then
/// closes the connection without an answer, which is the only way to fail one request there. Under HTTP/2 hyper
/// resets only that request's stream (`RST_STREAM`, `INTERNAL_ERROR`), the protocol's way to fail one request;
/// hanging up the connection instead would fail every request multiplexed on it, turning one injected fault into
/// dozens and every POST in flight into one whose fate the client cannot know. Either way the client gets no
/// response for that one request and cannot tell whether it was acted on, as before: `azure_core` retries it as a
/// transport error, POSTs included (`crates/azure/tests/faults.rs` and the CLI's fault tests check the retries and
/// that no outcome is reported wrongly).
fn serve_tls<IO>(
    io: IO,
    acceptor: TlsAcceptor,
    router: Router,
    peer: SocketAddr,
    mut stopped: watch::Receiver<bool>,
) -> Pin<Box<dyn Future<Output = ()> + Send>>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::pin(async move {
        let tls = match acceptor.accept(io).await {
            Ok(tls) => tls,
            Err(err) => {
                tracing::debug!(%peer, error = %err, "tls handshake failed");
                return;
            }
        };
        let service = {
            let stopped = stopped.clone();
            service_fn(move |mut request: hyper::Request<Incoming>| {
                let (router, acceptor, stopped) = (router.clone(), acceptor.clone(), stopped.clone());
                async move {
                    if request.method() == hyper::Method::CONNECT {
                        return Ok(tunnel(request, acceptor, router, peer, stopped));
                    }
                    let hangup = Arc::new(Notify::new());
                    request.extensions_mut().insert(Hangup(hangup.clone()));
                    tokio::select! {
                        response = TowerToHyperService::new(router).call(request) => {
                            response.map_err(|never| match never {})
                        }
                        () = hangup.notified() => Err(Dropped),
                    }
                }
            })
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http2().max_concurrent_streams(MAX_CONCURRENT_STREAMS);
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
        tokio::select! {
            served = connection => {
                if let Err(err) = served {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
            }
            _ = stopped.changed() => {}
        }
    })
}

/// Answers `CONNECT` (the emulator as `HTTPS_PROXY`, see [`login_proxy`]): 403 for any host but Entra's login
/// host; for that one, 200 and the tunnel is served by the emulator as a new TLS connection.
fn tunnel(
    request: hyper::Request<Incoming>,
    acceptor: TlsAcceptor,
    router: Router,
    peer: SocketAddr,
    stopped: watch::Receiver<bool>,
) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str().to_owned()).unwrap_or_default();
    match login_proxy::connect(&authority) {
        login_proxy::Verdict::Refuse(message) => {
            tracing::debug!(%peer, %authority, "CONNECT refused");
            let mut response = Response::new(axum::body::Body::from(message));
            *response.status_mut() = axum::http::StatusCode::FORBIDDEN;
            response
        }
        login_proxy::Verdict::Serve => {
            tracing::debug!(%peer, %authority, "CONNECT served by the emulator");
            tokio::spawn(async move {
                match hyper::upgrade::on(request).await {
                    Ok(upgraded) => serve_tls(TokioIo::new(upgraded), acceptor, router, peer, stopped).await,
                    Err(err) => tracing::debug!(%peer, error = %err, "CONNECT upgrade failed"),
                }
            });
            Response::new(axum::body::Body::empty())
        }
    }
}
