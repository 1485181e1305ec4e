//! The emulator the scenarios run against: `autostop emulator --fleet FILE ...` as a child process, its ready
//! line, the requests it served (counted from its debug log, so the harness needs no HTTP client), the states
//! its fleet ended in (its shutdown line) and the CPU time it used.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::measure::{self, Wait};

/// How the emulator is started for a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmulatorOptions {
    /// Latency added to every request.
    pub latency: Duration,
    /// ARM's per-subscription token buckets on (429 + Retry-After when empty).
    pub throttle: bool,
    /// How long Stopping lasts (the operation's duration).
    pub transition: Duration,
    /// Items per list page.
    pub page_size: usize,
}

impl Default for EmulatorOptions {
    /// No latency, no throttling, 2-second transitions, pages of 50: the emulator's own defaults.
    fn default() -> Self {
        EmulatorOptions { latency: Duration::ZERO, throttle: false, transition: Duration::from_secs(2), page_size: 50 }
    }
}

/// Requests the emulator served in one run, from its `served` log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestStats {
    /// All requests.
    pub total: usize,
    /// Requests answered 429.
    pub throttled: usize,
    /// Start / stop / restart POSTs (ARM writes), whatever their answer.
    pub actions: usize,
    /// Operation-status GETs.
    pub polls: usize,
    /// Seconds from the first action answered 202 to the first operation-status poll after it.
    pub first_poll_delay_s: Option<f64>,
    /// Seconds from the first action to the last (the pace at which stops went out).
    pub action_span_s: f64,
}

/// What the emulator said and used over one run, read when it is stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorReport {
    /// The requests it served.
    pub requests: RequestStats,
    /// How many computes ended in each state, as the emulator's own fleet says (logged when it shuts down).
    pub final_states: BTreeMap<String, usize>,
    /// CPU time the emulator used (user + system), from `wait4(2)`.
    pub cpu_s: f64,
    /// Its wall time, from start to the shutdown signal.
    pub wall_s: f64,
}

impl EmulatorReport {
    /// How many computes ended in `state`.
    pub fn ended(&self, state: &str) -> usize {
        self.final_states.get(state).copied().unwrap_or(0)
    }
}

/// How long the emulator gets to shut down after SIGTERM before it is killed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// A running emulator child process.
pub struct Emulator {
    /// `None` once reaped by [`Emulator::stop`].
    child: Option<Child>,
    started: Instant,
    log: PathBuf,
    base_url: String,
    ca_path: PathBuf,
    env: Vec<(String, String)>,
}

impl Emulator {
    /// Starts `autostop emulator` on `fleet` with `options`, logging to `log`, and reads its ready line and the
    /// `export` lines after it.
    pub fn start(autostop: &Path, fleet: &Path, options: &EmulatorOptions, log: &Path) -> anyhow::Result<Emulator> {
        let log_file = std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(autostop);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // `served` lines (debug) and the shutdown line with the final states (info, from the `autostop` binary).
            .env("AUTOSTOP_LOG", "autostop=info,autostop_emulator=debug")
            .arg("emulator")
            .arg("--fleet")
            .arg(fleet)
            .arg("--page-size")
            .arg(options.page_size.to_string())
            .arg("--transition")
            .arg(format!("{}ms", options.transition.as_millis()))
            .arg("--latency")
            .arg(format!("{}ms", options.latency.as_millis()));
        if options.throttle {
            command.arg("--throttle");
        }
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {} emulator", autostop.display()))?;
        let stdout = child.stdout.take().context("emulator stdout not captured")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut next_line = || match lines.next() {
            Some(Ok(line)) => Ok(line),
            _ => Err(anyhow::anyhow!("the emulator stopped before announcing itself; see {}", log.display())),
        };
        let announced = read_announcement(&mut next_line);
        // Keep draining stdout so the emulator never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        match announced {
            Ok(Announcement { base_url, ca_path, env }) => {
                Ok(Emulator { child: Some(child), started, log: log.to_path_buf(), base_url, ca_path, env })
            }
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(err)
            }
        }
    }

    /// `https://127.0.0.1:PORT`: ARM, token endpoint and the azureml-core routes.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The CA file clients must trust.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The environment a client needs (authority host, ARM endpoint, CA file, client-secret credentials).
    pub fn client_env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// Stops the emulator with SIGTERM (it then logs its final states), reaps it and reads its log: the requests
    /// it served, the states the fleet ended in and the CPU time it used. An emulator that does not exit within
    /// [`SHUTDOWN_GRACE`] is killed and the run fails: its final states would be missing.
    pub fn stop(mut self) -> anyhow::Result<EmulatorReport> {
        let child = self.child.take().context("the emulator was already stopped")?;
        let wall_s = self.started.elapsed().as_secs_f64();
        let pid = libc::pid_t::try_from(child.id()).context("emulator pid does not fit pid_t")?;
        // SAFETY: `pid` is our own child, not yet reaped, so the signal cannot reach another process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let usage = loop {
            if let Some(usage) = measure::reap(&child, Wait::IfExited)? {
                break usage;
            }
            if Instant::now() >= deadline {
                // SAFETY: as above: still our own unreaped child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                measure::reap(&child, Wait::Block)?;
                bail!("the emulator did not exit within {SHUTDOWN_GRACE:?} of SIGTERM; see {}", self.log.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let text = std::fs::read_to_string(&self.log).with_context(|| format!("cannot read {}", self.log.display()))?;
        let requests =
            count_requests(&text).with_context(|| format!("cannot count requests in {}", self.log.display()))?;
        let final_states = final_states(&text).with_context(|| format!("no final states in {}", self.log.display()))?;
        Ok(EmulatorReport { requests, final_states, cpu_s: usage.cpu.as_secs_f64(), wall_s })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The variables a client needs, all of which the emulator's `export` lines must set.
const CLIENT_VARIABLES: [&str; 6] = [
    "AZURE_AUTHORITY_HOST",
    "AUTOSTOP_ARM_ENDPOINT",
    "SSL_CERT_FILE",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
];

/// What the emulator announces on stdout.
#[derive(Debug)]
struct Announcement {
    base_url: String,
    ca_path: PathBuf,
    env: Vec<(String, String)>,
}

/// Reads the ready line (JSON with `url` and `ca_path`) and then `export NAME=value` lines until every one of
/// [`CLIENT_VARIABLES`] is known.
fn read_announcement(next_line: &mut dyn FnMut() -> anyhow::Result<String>) -> anyhow::Result<Announcement> {
    let line = next_line()?;
    let ready: Value =
        serde_json::from_str(&line).with_context(|| format!("the emulator's first line is not JSON: {line}"))?;
    let field = |name: &str| {
        ready[name].as_str().map(str::to_owned).with_context(|| format!("the ready line has no \"{name}\": {line}"))
    };
    let (base_url, ca_path) = (field("url")?, PathBuf::from(field("ca_path")?));
    let mut env = Vec::new();
    while !CLIENT_VARIABLES.iter().all(|name| env.iter().any(|(known, _): &(String, String)| known == name)) {
        let line = next_line()?;
        let Some((name, value)) = line.strip_prefix("export ").and_then(|rest| rest.split_once('=')) else {
            bail!("expected an `export NAME=value` line after the ready line, found: {line}");
        };
        env.push((name.to_owned(), shell_unquote(value)));
    }
    Ok(Announcement { base_url, ca_path, env })
}

/// Undoes POSIX single-quoting (`'it'\\''s'` is `it's`); a value without quotes is returned as it is.
fn shell_unquote(value: &str) -> String {
    if !value.starts_with('\'') {
        return value.to_owned();
    }
    value.split("'\\''").map(|part| part.trim_matches('\'')).collect::<Vec<_>>().join("'")
}

/// One `served` line of the emulator's JSON log.
struct Served {
    /// Seconds since midnight UTC.
    at: f64,
    method: String,
    path: String,
    status: u64,
}

/// Parses a JSON log line of the emulator's `served` event; `None` for any other line.
fn served(line: &str) -> Option<Served> {
    let event: Value = serde_json::from_str(line).ok()?;
    let field = |name: &str| event.get(name).or_else(|| event.get("fields").and_then(|fields| fields.get(name)));
    if field("message")? != "served" {
        return None;
    }
    // "2026-11-27T00:31:15.868123Z": the time of day is enough within one run.
    let time = event.get("timestamp")?.as_str()?.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.splitn(3, ':').map(|part| part.parse::<f64>().ok());
    let at = parts.next()?? * 3600.0 + parts.next()?? * 60.0 + parts.next()??;
    Some(Served {
        at,
        method: field("method")?.as_str()?.to_owned(),
        path: field("path")?.as_str()?.to_owned(),
        status: field("status")?.as_u64()?,
    })
}

/// The state counts of the emulator's shutdown line (`"states": "{\"Running\":0,...}"`).
fn final_states(log: &str) -> anyhow::Result<BTreeMap<String, usize>> {
    let line = log
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event.get("message").and_then(Value::as_str) == Some("shutting the emulator down"))
        .context("the emulator logged no shutdown line")?;
    let states = line.get("states").and_then(Value::as_str).context("its shutdown line has no \"states\"")?;
    serde_json::from_str(states).with_context(|| format!("its \"states\" are not a JSON object of counts: {states}"))
}

/// Counts what the emulator's log says it served. An empty count is an error: the log format changed.
fn count_requests(log: &str) -> anyhow::Result<RequestStats> {
    let served: Vec<Served> = log.lines().filter_map(served).collect();
    if served.is_empty() {
        bail!("the emulator's log has no `served` events: expected JSON lines with message \"served\"");
    }
    // Azure ML computes, and VMs or scale sets (Microsoft.Compute) in the mixed scenario.
    let is_vm_path = |path: &str| path.contains("/providers/Microsoft.Compute/");
    let is_action = |s: &Served| s.method == "POST" && (s.path.contains("/computes/") || is_vm_path(&s.path));
    let is_poll = |s: &Served| {
        s.method == "GET"
            && (s.path.contains("/computeOperationsStatus/")
                || (is_vm_path(&s.path) && s.path.contains("/operations/")))
    };
    let first_accepted = served.iter().find(|s| is_action(s) && s.status == 202).map(|s| s.at);
    let first_poll = first_accepted.and_then(|start| served.iter().find(|s| is_poll(s) && s.at >= start)).map(|s| s.at);
    Ok(RequestStats {
        total: served.len(),
        throttled: served.iter().filter(|s| s.status == 429).count(),
        actions: served.iter().filter(|s| is_action(s)).count(),
        polls: served.iter().filter(|s| is_poll(s)).count(),
        first_poll_delay_s: first_accepted.zip(first_poll).map(|(start, poll)| poll - start),
        action_span_s: match (served.iter().find(|s| is_action(s)), served.iter().rev().find(|s| is_action(s))) {
            (Some(first), Some(last)) => last.at - first.at,
            _ => 0.0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_429s_actions_and_first_poll_are_counted_from_served_events() {
        let event = |time: &str, method: &str, path: &str, status: u16| {
            serde_json::json!({"timestamp": format!("2026-11-27T{time}Z"), "level": "DEBUG", "message": "served",
                "method": method, "path": path, "status": status, "target": "autostop_emulator::server"})
            .to_string()
        };
        let log = [
            r#"{"timestamp":"2026-11-27T00:31:10.806769Z","level":"INFO","message":"azure emulator listening"}"#
                .to_owned(),
            event("00:31:10.861000", "GET", "/subscriptions/s/providers/P/workspaces?api-version=1", 200),
            event("00:31:10.865000", "POST", "/subscriptions/s/x/computes/c1/stop?api-version=1", 429),
            event("00:31:11.000000", "POST", "/subscriptions/s/x/computes/c1/stop?api-version=1", 202),
            event("00:31:13.500000", "GET", "/subscriptions/s/providers/P/locations/l/computeOperationsStatus/o", 200),
            "not json".to_owned(),
        ]
        .join("\n");
        let stats = count_requests(&log).expect("counted");
        assert_eq!((stats.total, stats.throttled, stats.actions, stats.polls), (4, 1, 2, 1));
        let delay = stats.first_poll_delay_s.expect("a poll followed an accepted action");
        assert!((delay - 2.5).abs() < 1e-6, "{delay}");
        assert!((stats.action_span_s - 0.135).abs() < 1e-6, "{}", stats.action_span_s);
        assert!(count_requests("not json\n").is_err());
    }

    #[test]
    fn final_states_come_from_the_last_shutdown_line() {
        let shutdown = serde_json::json!({"timestamp": "2026-11-27T00:32:00Z", "level": "INFO",
            "message": "shutting the emulator down", "signal": "SIGTERM", "states": r#"{"Running":2,"Stopped":9}"#});
        let log = format!("not json\n{shutdown}\n");
        let states = final_states(&log).expect("states read");
        assert_eq!((states.get("Running"), states.get("Stopped"), states.len()), (Some(&2), Some(&9), 2));
        assert!(final_states("not json\n").is_err(), "no shutdown line is an error, not zero counts");
        let broken = shutdown.to_string().replace(r#"\"Stopped\":9"#, r#"\"Stopped\":\"x\""#);
        assert!(final_states(&broken).is_err(), "{broken}");
    }

    #[test]
    fn announcement_gives_url_ca_and_client_environment() {
        let mut lines = vec![
            r#"{"ready":true,"url":"https://127.0.0.1:4443","ca_path":"/tmp/a b/ca.pem"}"#.to_owned(),
            "export AZURE_AUTHORITY_HOST=https://127.0.0.1:4443".to_owned(),
            "export AUTOSTOP_ARM_ENDPOINT=https://127.0.0.1:4443".to_owned(),
            "export SSL_CERT_FILE='/tmp/a b/ca.pem'".to_owned(),
            "export AZURE_TENANT_ID=t".to_owned(),
            "export AZURE_CLIENT_ID=c".to_owned(),
            "export AZURE_CLIENT_SECRET='fake '\\''x'".to_owned(),
        ]
        .into_iter();
        let mut next = || lines.next().context("no more lines");
        let Announcement { base_url, ca_path, env } = read_announcement(&mut next).expect("announcement parses");
        assert_eq!((base_url.as_str(), ca_path.to_str()), ("https://127.0.0.1:4443", Some("/tmp/a b/ca.pem")));
        assert_eq!(env.len(), 6);
        assert!(env.contains(&("SSL_CERT_FILE".to_owned(), "/tmp/a b/ca.pem".to_owned())));
        assert!(env.contains(&("AZURE_CLIENT_SECRET".to_owned(), "fake 'x".to_owned())));
    }

    #[test]
    fn announcement_without_exports_fails_instead_of_guessing() {
        let mut lines =
            vec![r#"{"ready":true,"url":"https://127.0.0.1:1","ca_path":"/ca.pem"}"#.to_owned(), "hello".to_owned()]
                .into_iter();
        let mut next = || lines.next().context("no more lines");
        let err = read_announcement(&mut next).unwrap_err().to_string();
        assert!(err.contains("hello"), "{err}");
    }
}
