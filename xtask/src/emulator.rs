//! The emulator the scenarios run against: `autostop emulator --fleet FILE ...` as a child process, its ready
//! line, and the requests it served (counted from its debug log, so the harness needs no HTTP client).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;

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

/// Requests the emulator served in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// All requests.
    pub total: usize,
    /// Requests answered 429.
    pub throttled: usize,
}

/// A running emulator child process.
pub struct Emulator {
    child: Child,
    log: PathBuf,
    base_url: String,
    ca_path: PathBuf,
    env: Vec<(String, String)>,
}

impl Emulator {
    /// Starts `autostop emulator` on `fleet` with `options`, logging to `log`, and waits for its ready line.
    pub fn start(autostop: &Path, fleet: &Path, options: &EmulatorOptions, log: &Path) -> anyhow::Result<Emulator> {
        let log_file = std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(autostop);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AUTOSTOP_LOG", "autostop_emulator=debug")
            .arg("emulator")
            .arg("--fleet")
            .arg(fleet)
            .arg("--page-size")
            .arg(options.page_size.to_string())
            .arg("--transition-ms")
            .arg(options.transition.as_millis().to_string())
            .arg("--latency-ms")
            .arg(options.latency.as_millis().to_string());
        if options.throttle {
            command.arg("--throttle");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {} emulator", autostop.display()))?;
        let stdout = child.stdout.take().context("emulator stdout not captured")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = match lines.next() {
            Some(Ok(line)) => line,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the emulator exited before its ready line; see {}", log.display());
            }
        };
        // Keep draining stdout so the emulator never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        let ready: Value =
            serde_json::from_str(&ready).with_context(|| format!("the emulator's first line is not JSON: {ready}"))?;
        let env = ready_env(&ready)?;
        let lookup = |name: &str| env.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        let base_url = lookup("AUTOSTOP_ARM_ENDPOINT").context("the ready line has no AUTOSTOP_ARM_ENDPOINT")?;
        let ca_path = PathBuf::from(lookup("SSL_CERT_FILE").context("the ready line has no SSL_CERT_FILE")?);
        Ok(Emulator { child, log: log.to_path_buf(), base_url, ca_path, env })
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

    /// Stops the emulator and counts the requests it served.
    pub fn stop(mut self) -> anyhow::Result<RequestStats> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.log).with_context(|| format!("cannot read {}", self.log.display()))?;
        Ok(count_requests(&text))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `NAME=VALUE` pairs of the ready line's `env` object.
fn ready_env(ready: &Value) -> anyhow::Result<Vec<(String, String)>> {
    let env = ready["env"].as_object().context("the emulator's ready line has no \"env\" object")?;
    Ok(env.iter().filter_map(|(name, value)| value.as_str().map(|value| (name.clone(), value.to_owned()))).collect())
}

/// Counts the `served` lines of the emulator's debug log, and those with status 429.
fn count_requests(log: &str) -> RequestStats {
    let served = log.lines().filter(|line| line.contains(" served") && line.contains("status="));
    served.fold(RequestStats::default(), |stats, line| RequestStats {
        total: stats.total + 1,
        throttled: stats.throttled + usize::from(line.contains("status=429")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_429s_are_counted_from_served_lines() {
        let log = "\
2026-11-26T23:00:00Z DEBUG autostop_emulator::server: served method=GET path=/subscriptions status=200
2026-11-26T23:00:00Z  INFO autostop_emulator::server: azure emulator listening
2026-11-26T23:00:01Z DEBUG autostop_emulator::server: served method=POST path=/x/stop status=429
2026-11-26T23:00:02Z DEBUG autostop_emulator::server: served method=POST path=/x/stop status=202
";
        assert_eq!(count_requests(log), RequestStats { total: 3, throttled: 1 });
    }

    #[test]
    fn ready_env_reads_the_env_object() {
        let ready: Value = serde_json::json!({"env": {"AUTOSTOP_ARM_ENDPOINT": "https://127.0.0.1:1", "N": 1}});
        assert_eq!(
            ready_env(&ready).expect("env"),
            vec![("AUTOSTOP_ARM_ENDPOINT".to_owned(), "https://127.0.0.1:1".to_owned())]
        );
        assert!(ready_env(&serde_json::json!({})).is_err());
    }
}
