//! `autostop serve`: the long-running scheduler, or the Azure Functions custom handler.
//!
//! Validates the arguments, sets up logging (JSON lines on stdout unless it is a terminal), the runtime and the
//! signals, then hands over to [`autostop_serve`]. Functions mode is chosen by `--functions` or by the host's
//! `FUNCTIONS_CUSTOMHANDLER_PORT`. The engine and the "last evaluated" store come from the caller, built from
//! the resolved configuration path, so that this file knows nothing of how `run` evaluates.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use autostop_policy::duration::{duration_arg, positive_duration_arg};
use autostop_state::{LeaderLease, LeaseDuration};
use clap::Args;
use tokio::sync::mpsc;

use crate::logging::{LogStream, LoggingOptions, init_logging};
use crate::{Outcome, UsageError};
use autostop_serve::{
    DaemonOptions, FunctionsOptions, LastStore, Links, Load, Pages, ServerLimits, forward_signals, run_daemon,
    run_functions,
};

/// `autostop serve [OPTIONS]`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file (default: $AUTOSTOP_CONFIG, else ./autostop.toml); SIGHUP reads it again.
    #[arg(long, short = 'c', value_name = "PATH")]
    config: Option<PathBuf>,
    /// Where to serve /healthz and /metrics (port 0: any free port, announced in the log).
    #[arg(long, value_name = "ADDR", env = "AUTOSTOP_LISTEN", default_value = "127.0.0.1:9464")]
    listen: SocketAddr,
    /// Run as an Azure Functions custom handler (implied when FUNCTIONS_CUSTOMHANDLER_PORT is set).
    #[arg(long)]
    functions: bool,
    /// The port the Functions host gives the custom handler.
    #[arg(long, env = "FUNCTIONS_CUSTOMHANDLER_PORT", hide = true)]
    functions_port: Option<u16>,
    /// How long SIGTERM lets operations in flight finish before recording them as interrupted (e.g. 60s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration_arg)]
    shutdown_grace: Duration,
    /// After an evaluation that left problems (a scope that could not be read, actions to confirm), evaluate
    /// again this much later even if no occurrence is due (e.g. 60s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration_arg)]
    recheck_interval: Duration,
    /// How long an HTTP client has to send a request's headers; also the longest a kept-alive connection may
    /// wait idle for its next request. Applies to /healthz, /metrics and the Functions handler.
    #[arg(long, value_name = "DURATION", env = "AUTOSTOP_HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = positive_duration_arg)]
    http_header_timeout: Duration,
    /// The most HTTP connections served at once; connections beyond it are closed as soon as they are accepted.
    #[arg(long, value_name = "N", env = "AUTOSTOP_HTTP_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    http_max_connections: u32,
    /// Leader election between replicas sharing a Blob state (also `[state] leader = true`): only the replica
    /// holding the state's leader lease evaluates and acts; the others serve HTTP and take over when it goes.
    #[arg(long)]
    ha: bool,
    /// How long the leader lease lasts without renewal (whole seconds, 15s to 60s): a dead leader is replaced
    /// within about this long; it renews every third of it.
    #[arg(long, value_name = "DURATION", env = "AUTOSTOP_LEASE_DURATION", default_value = "60s", value_parser = lease_duration_arg)]
    lease_duration: LeaseDuration,
}

/// The value parser of `--lease-duration`.
fn lease_duration_arg(text: &str) -> Result<LeaseDuration, String> {
    let duration = duration_arg(text).map_err(|err| err.to_string())?;
    LeaseDuration::new(duration).map_err(|err| err.to_string())
}

/// Whether and how `serve` takes part in leader election, as the command line asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionArgs {
    /// `--ha` was given.
    pub ha: bool,
    /// `--lease-duration`.
    pub lease: LeaseDuration,
}

impl ElectionArgs {
    /// Whether the daemon takes part in leader election, given the configuration's `[state] leader`.
    pub fn elects(&self, leader: bool) -> bool {
        self.ha || leader
    }

    /// The warning a reload owes when its `[state] leader` would change whether the daemon takes part in leader
    /// election (`started` is the value the daemon started with): the election is set up once, so the change
    /// takes effect only at the next restart. `None` when nothing changes, e.g. `--ha` holds it either way.
    pub fn reload_warning(&self, started: bool, reloaded: bool) -> Option<String> {
        let (was, is) = (self.elects(started), self.elects(reloaded));
        (was != is).then(|| {
            format!(
                "[state] leader is now {reloaded}, and the daemon {} in leader election: that takes effect at the \
                 next restart (the rest of the configuration is in force)",
                if was { "still takes part" } else { "still does not take part" }
            )
        })
    }
}

/// What the daemon is built from (see [`run`]).
pub struct Parts<L, S> {
    /// Builds the engine (again on SIGHUP).
    pub loader: L,
    /// Where the daemon reads the last evaluated instant.
    pub store: S,
    /// The status page.
    pub pages: Option<Arc<dyn Pages>>,
    /// The owners' links (served by the daemon, and by the Functions handler's HTTP trigger).
    pub links: Arc<Links>,
    /// The leader lease, when the daemon takes part in leader election.
    pub election: Option<LeaderLease>,
}

/// What `serve` runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Daemon,
    Functions { port: u16 },
}

impl ServeArgs {
    /// The configuration file to read: `--config`, else `$AUTOSTOP_CONFIG`, else `./autostop.toml`.
    pub fn config_path(&self) -> PathBuf {
        autostop_policy::config::config_path(self.config.as_deref(), |name| std::env::var_os(name))
    }

    /// What the command line says about leader election (`[state] leader` may ask for it too).
    pub fn election(&self) -> ElectionArgs {
        ElectionArgs { ha: self.ha, lease: self.lease_duration }
    }

    fn mode(&self) -> Result<Mode, UsageError> {
        match (self.functions, self.functions_port) {
            (_, Some(port)) => Ok(Mode::Functions { port }),
            (true, None) => Err(UsageError(
                "--functions: expected FUNCTIONS_CUSTOMHANDLER_PORT to be set (by the Functions host), found it unset"
                    .into(),
            )),
            (false, None) => Ok(Mode::Daemon),
        }
    }
}

/// Runs `autostop serve` until SIGTERM or SIGINT.
///
/// `parts` builds, from the configuration path, the engine loader (called again on SIGHUP), the store of the
/// last evaluated instant (used by the daemon; the Functions timer carries its own), the daemon's extra pages
/// and the notice links' handler (served by the daemon, and by the Functions handler's HTTP trigger), and the
/// leader lease when the daemon takes part in leader election.
pub fn run<L: Load, S: LastStore>(
    args: ServeArgs,
    parts: impl FnOnce(&Path) -> anyhow::Result<Parts<L, S>>,
) -> anyhow::Result<Outcome> {
    let mode = args.mode()?;
    let http = ServerLimits {
        header_timeout: args.http_header_timeout,
        max_connections: usize::try_from(args.http_max_connections).context("--http-max-connections")?,
    };
    init_logging(LoggingOptions { stream: LogStream::Stdout });
    let Parts { loader, store, pages, links, election } = parts(&args.config_path())?;
    if election.is_some() && matches!(mode, Mode::Functions { .. }) {
        return Err(UsageError(
            "--ha ([state] leader): leader election is for `serve` daemons; under the Functions host the timer \
             invokes one instance at a time and the claims keep each action to one"
                .into(),
        )
        .into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let (controls_tx, controls) = mpsc::channel(8);
        forward_signals(controls_tx).context("listening for SIGTERM, SIGINT and SIGHUP")?;
        match mode {
            Mode::Functions { port } => {
                let options = FunctionsOptions { port, shutdown_grace: args.shutdown_grace, http, links: Some(links) };
                run_functions(loader, options, controls).await
            }
            Mode::Daemon => {
                let options = DaemonOptions {
                    listen: args.listen,
                    http,
                    shutdown_grace: args.shutdown_grace,
                    retry_after_error: args.recheck_interval,
                    pages,
                    routes: links.router(),
                    election,
                    ..DaemonOptions::default()
                };
                run_daemon(loader, store, options, controls).await
            }
        }
    })?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied())).map(|cli| cli.serve)
    }

    #[test]
    fn the_port_from_the_host_selects_functions_mode() {
        let args = parse(&["--functions-port", "7071"]).expect("valid");
        assert_eq!(args.mode().expect("mode"), Mode::Functions { port: 7071 });
        let args = parse(&[]).expect("valid");
        assert_eq!(args.mode().expect("mode"), Mode::Daemon);
        assert_eq!(args.listen, SocketAddr::from(([127, 0, 0, 1], 9464)));
    }

    #[test]
    fn functions_mode_without_a_port_is_a_usage_error() {
        let args = parse(&["--functions"]).expect("valid");
        let err = args.mode().expect_err("no port");
        assert!(err.to_string().contains("FUNCTIONS_CUSTOMHANDLER_PORT"), "{err}");
    }

    #[test]
    fn the_grace_period_reads_friendly_durations() {
        assert_eq!(parse(&["--shutdown-grace", "2m"]).expect("valid").shutdown_grace, Duration::from_secs(120));
        assert_eq!(parse(&[]).expect("valid").shutdown_grace, Duration::from_secs(60));
        assert!(parse(&["--shutdown-grace", "-5s"]).is_err());
        let err = parse(&["--shutdown-grace", "soon"]).expect_err("not a duration").to_string();
        assert!(err.contains("expected a duration such as") && err.contains("\"soon\""), "{err}");
    }

    #[test]
    fn a_reload_that_would_switch_the_election_says_it_waits_for_a_restart() {
        let file_only = parse(&[]).expect("valid").election();
        assert!(!file_only.elects(false) && file_only.elects(true));
        assert_eq!(file_only.reload_warning(false, false), None);
        assert_eq!(file_only.reload_warning(true, true), None);
        let on = file_only.reload_warning(false, true).expect("switched on");
        assert!(on.contains("[state] leader is now true") && on.contains("still does not take part"), "{on}");
        assert!(on.contains("next restart"), "{on}");
        let off = file_only.reload_warning(true, false).expect("switched off");
        assert!(off.contains("[state] leader is now false") && off.contains("still takes part"), "{off}");
        // --ha holds the election whatever the file says.
        let ha = parse(&["--ha"]).expect("valid").election();
        assert_eq!((ha.reload_warning(false, true), ha.reload_warning(true, false)), (None, None));
    }

    #[test]
    fn leader_election_is_off_by_default_and_the_lease_lasts_what_blob_storage_grants() {
        let args = parse(&[]).expect("valid");
        assert_eq!(args.election(), ElectionArgs { ha: false, lease: LeaseDuration::MAX });
        let args = parse(&["--ha", "--lease-duration", "15s"]).expect("valid");
        assert_eq!(args.election(), ElectionArgs { ha: true, lease: LeaseDuration::MIN });
        for bad in ["14s", "2m", "20500ms"] {
            let err = parse(&["--lease-duration", bad]).expect_err(bad).to_string();
            assert!(err.contains("expected whole seconds from 15s to 60s"), "{err}");
        }
    }

    #[test]
    fn the_http_limits_have_documented_defaults_and_refuse_zero() {
        let args = parse(&[]).expect("valid");
        let defaults = ServerLimits::default();
        assert_eq!(args.http_header_timeout, defaults.header_timeout);
        assert_eq!(usize::try_from(args.http_max_connections).ok(), Some(defaults.max_connections));
        let args = parse(&["--http-header-timeout", "2s", "--http-max-connections", "8"]).expect("valid");
        assert_eq!((args.http_header_timeout, args.http_max_connections), (Duration::from_secs(2), 8));
        assert!(parse(&["--http-header-timeout", "0s"]).is_err());
        assert!(parse(&["--http-max-connections", "0"]).is_err());
    }
}
