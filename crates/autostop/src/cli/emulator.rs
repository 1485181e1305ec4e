//! `autostop emulator`: runs the local Azure emulator in the foreground until Ctrl-C or SIGTERM, or, with
//! `--print-env`, in the background.
//!
//! Thin on purpose: it turns flags into `autostop_emulator::Options`, prints one JSON "ready" line and the
//! `export NAME=value` lines a shell needs on stdout (logs go to stderr), and waits; on Ctrl-C or SIGTERM it logs
//! how many computes are in each state and shuts down as the crate does (its own CA folder removed). With `--print-env` it starts itself again as a background
//! process and prints only the `export` lines (plus `AUTOSTOP_EMULATOR_PID`), so that
//! `eval "$(autostop emulator --print-env)"` sets up a shell. The crate does the work.

use std::io::{BufRead as _, BufReader, Read as _, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use autostop_emulator::{Emulator, Faults, Fleet, Options, ThrottleOptions};
use autostop_policy::duration::duration_arg;
use clap::Args;

use crate::{Outcome, UsageError};

/// `autostop emulator [--print-env] [--fleet FILE] [--port N] [--page-size N] [--transition DURATION] [--ca-dir DIR]
/// [--throttle] [--latency DURATION] [--time-scale X] [--fault-* RATE] [--token-early-expiry DURATION]`
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Start the emulator in the background and print only `export NAME=value` lines (for
    /// `eval "$(autostop emulator --print-env)"`), including `AUTOSTOP_EMULATOR_PID` to stop it with `kill`.
    #[arg(long)]
    print_env: bool,
    /// Fleet to serve (JSON: subscriptions, resource groups, workspaces, computes); the sample fleet when absent.
    #[arg(long, value_name = "FILE")]
    fleet: Option<PathBuf>,
    /// Port on 127.0.0.1 (0: any free port; the ready line says which).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Items per page of list responses.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    page_size: u64,
    /// How long Starting / Stopping / Restarting last, e.g. `2s`, `500ms`, `1m`.
    #[arg(long, default_value = "2s", value_parser = duration_arg)]
    transition: Duration,
    /// Directory for the CA certificate `ca.pem` (a fresh temp dir, removed on exit, when absent).
    #[arg(long, value_name = "DIR")]
    ca_dir: Option<PathBuf>,
    /// Throttle ARM as Azure does: per subscription, reads 250 burst + 25/s, writes 200 burst + 10/s (429 +
    /// Retry-After when spent).
    #[arg(long)]
    throttle: bool,
    /// Real time added to every request, e.g. `50ms`.
    #[arg(long, default_value = "0s", value_parser = duration_arg)]
    latency: Duration,
    /// Run the emulated clock this many times faster than real time (transitions, throttle refill).
    #[arg(long, default_value_t = 1.0, value_parser = parse_positive)]
    time_scale: f64,
    /// Fraction of ARM requests answered 500.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_server_error_rate: f64,
    /// Fraction of ARM requests whose connection is closed without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_drop_rate: f64,
    /// Fraction of start / stop / restart operations that end Failed.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_failed_operation_rate: f64,
    /// Fraction of operations that take ten times the transition time.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_slow_operation_rate: f64,
    /// Tokens stop being accepted this long after issue, whatever lifetime they advertise, e.g. `30s`.
    #[arg(long, value_parser = duration_arg)]
    token_early_expiry: Option<Duration>,
}

/// Parses a fraction between 0 and 1.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("expected a fraction between 0 and 1, found '{text}'")),
    }
}

/// Parses a finite number above zero.
fn parse_positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("expected a number above 0, found '{text}'")),
    }
}

/// Runs the emulator until interrupted, or starts it in the background with `--print-env`.
pub fn run(args: EmulatorArgs) -> anyhow::Result<Outcome> {
    if args.print_env {
        return start_in_background();
    }
    let fleet = match &args.fleet {
        Some(path) => Fleet::load(path).map_err(|err| UsageError(err.to_string()))?,
        None => Fleet::sample(),
    };
    let options = Options {
        fleet,
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        page_size: usize::try_from(args.page_size).unwrap_or(usize::MAX),
        transition: args.transition,
        ca_dir: args.ca_dir,
        throttle: args.throttle.then(ThrottleOptions::default),
        latency: args.latency,
        time_scale: args.time_scale,
        faults: Faults {
            server_error_rate: args.fault_server_error_rate,
            drop_rate: args.fault_drop_rate,
            failed_operation_rate: args.fault_failed_operation_rate,
            slow_operation_rate: args.fault_slow_operation_rate,
            token_early_expiry_ms: args.token_early_expiry.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            ..Faults::default()
        },
        ..Options::default()
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Listen before announcing: a signal sent as soon as the ready line is read must not kill the process.
        let signals = Signals::listen()?;
        let emulator = Emulator::start(options).await.context("cannot start the emulator")?;
        announce(&emulator).context("cannot write to stdout")?;
        let signal = signals.first().await;
        // What the fleet ended as, for whoever drove it (the benchmark checks the client's report against it).
        let states = serde_json::to_string(&emulator.control().state_counts()).unwrap_or_default();
        tracing::info!(signal, states = %states, "shutting the emulator down");
        emulator.shutdown().await;
        Ok(Outcome::Success)
    })
}

/// The signals that shut the emulator down: Ctrl-C (SIGINT) and SIGTERM.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening (from then on these signals no longer end the process at once).
    fn listen() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    /// Waits for the first of them and names it.
    async fn first(mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// `--print-env`: runs this same command without `--print-env` as a background process in its own process group
/// (stdin closed), reads its ready line and `export` lines, prints the `export` lines and `AUTOSTOP_EMULATOR_PID`,
/// and returns, leaving it running. Its later logs are discarded; if it stops before it is ready, its stderr is
/// shown and the run fails.
fn start_in_background() -> anyhow::Result<Outcome> {
    use std::os::unix::process::CommandExt as _;
    let program = std::env::current_exe().context("cannot find the autostop executable to start the emulator")?;
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).filter(|arg| arg != "--print-env").collect();
    let mut child = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", program.display()))?;
    let stdout = child.stdout.take().context("the emulator's stdout is not piped")?;
    let mut exports = Vec::new();
    let mut ready = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("cannot read the emulator's output")?;
        if line.is_empty() && ready {
            break; // the blank line that ends the announcement
        }
        if line.starts_with("export ") {
            exports.push(line);
        } else if line.starts_with('{') {
            ready = true;
        }
    }
    if !ready || exports.is_empty() {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let status = child.wait().context("cannot wait for the emulator")?;
        eprint!("{stderr}");
        anyhow::bail!("the emulator stopped before it was ready ({status})");
    }
    let mut out = std::io::stdout().lock();
    for line in exports {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "export AUTOSTOP_EMULATOR_PID={}", child.id())?;
    out.flush()?;
    tracing::info!(pid = child.id(), "emulator running in the background; stop it with kill $AUTOSTOP_EMULATOR_PID");
    Ok(Outcome::Success)
}

/// Prints the ready line (no secrets in it) and the environment lines.
fn announce(emulator: &Emulator) -> std::io::Result<()> {
    /// The ready line, fields in the order a reader expects them.
    #[derive(serde::Serialize)]
    struct Ready<'a> {
        ready: bool,
        url: String,
        arm_endpoint: String,
        authority_host: String,
        identity_endpoint: String,
        ca_path: &'a std::path::Path,
        tenant_id: &'a str,
        client_id: &'a str,
    }
    let ready = serde_json::to_string(&Ready {
        ready: true,
        url: emulator.base_url(),
        arm_endpoint: emulator.arm_endpoint(),
        authority_host: emulator.authority_host(),
        identity_endpoint: emulator.identity_endpoint(),
        ca_path: emulator.ca_path(),
        tenant_id: emulator.tenant_id(),
        client_id: emulator.client_id(),
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{ready}")?;
    for (name, value) in emulator.shell_env() {
        writeln!(out, "export {name}={}", shell_quote(&value))?;
    }
    // A blank line ends the announcement (what `--print-env` waits for).
    writeln!(out)?;
    out.flush()
}

/// Quotes a value for POSIX shells when it needs it.
fn shell_quote(value: &str) -> String {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:~=@%+,".contains(c)) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_scales_are_checked() {
        assert_eq!(parse_rate("0.25"), Ok(0.25));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("-0.1").is_err());
        assert_eq!(parse_positive("60"), Ok(60.0));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("inf").is_err());
    }

    #[test]
    fn shell_quoting_only_when_needed() {
        assert_eq!(shell_quote("https://127.0.0.1:4443"), "https://127.0.0.1:4443");
        assert_eq!(shell_quote("/tmp/a b/ca.pem"), "'/tmp/a b/ca.pem'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
