//! The HTTP server under both listeners (the daemon's `/healthz` and `/metrics`, the Functions custom handler):
//! an axum router served over TCP by hyper's HTTP/1 connection builder, with bounded connections.
//!
//! - A client must send a request's headers within [`ServerLimits::header_timeout`] (hyper's header-read timeout).
//!   hyper starts the same timer as soon as a kept-alive connection goes idle, so it is also the longest a
//!   connection may wait idle for its next request: idle connections are never kept for ever.
//! - At most [`ServerLimits::max_connections`] connections are served at once. A connection accepted beyond the
//!   cap is closed at once (never queued), so a flood of idle connections cannot exhaust the file descriptors;
//!   the slots come back as the timeout closes the idle ones.
//! - Shutdown stops accepting, closes idle connections and lets requests in flight finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long to pause after a failed `accept` (e.g. out of file descriptors) before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Limits on the connections of an HTTP listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client has to send a request's headers, and so the longest a kept-alive connection waits idle
    /// for its next request (default 10 s).
    pub header_timeout: Duration,
    /// The most connections served at once; more are closed as soon as they are accepted (default 1024).
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits { header_timeout: Duration::from_secs(10), max_connections: 1024 }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then stops accepting, closes the
/// idle connections and returns once the requests in flight have been answered.
pub async fn serve(listener: TcpListener, router: Router, limits: ServerLimits, shutdown: impl Future<Output = ()>) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let mut refusing = false;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accepting an HTTP connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if !refusing {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "HTTP connection limit reached: closing new connections until some end"
                );
                refusing = true;
            }
            drop(stream);
            continue;
        };
        refusing = false;
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, error = %err, "HTTP connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
