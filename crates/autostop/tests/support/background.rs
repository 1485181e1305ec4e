//! Running the built `autostop` binary as a user would: commands with a private HOME and none of the caller's
//! Azure settings, waits with a deadline, and `autostop emulator` in the foreground with the environment it
//! prints, stopped with SIGTERM when dropped. Shared by the tests of the emulator command and of official clients.

#![allow(dead_code)] // each test binary uses a part

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The built binary.
pub const AUTOSTOP: &str = env!("CARGO_BIN_EXE_autostop");

/// Waits for `child` to exit, killing it and failing the test after `limit`.
pub fn wait_within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait().expect("child can be waited for") {
            Some(_) => return child.wait_with_output().expect("output is read"),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("output is read");
                panic!(
                    "process did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A command with `home` as HOME, stdin closed, output piped, and none of the caller's Azure, autostop, CA or
/// proxy settings.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>, home: &Path) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let upper = name.to_ascii_uppercase();
        if upper.starts_with("AZURE_")
            || upper.starts_with("AUTOSTOP_")
            || upper.starts_with("ARM_")
            || upper.ends_with("_PROXY")
            || ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE"]
                .contains(&upper.as_str())
        {
            command.env_remove(name);
        }
    }
    command.env("HOME", home).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// `autostop emulator` running in the foreground, with the ready line and environment it printed.
pub struct RunningEmulator {
    child: Option<Child>,
    /// The JSON ready line.
    pub ready: serde_json::Value,
    /// The `export NAME=value` lines, unquoted.
    pub env: BTreeMap<String, String>,
}

impl RunningEmulator {
    /// Starts `autostop emulator ARGS` and reads its announcement (ready line, exports, blank line).
    pub fn start(args: &[&str], home: &Path, limit: Duration) -> RunningEmulator {
        let mut child = clean_command(AUTOSTOP, home).arg("emulator").args(args).spawn().expect("emulator starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                lines.push(line.trim_end().to_owned());
            }
            let _ = sender.send(lines);
            // Keep reading, as a terminal would, so the emulator never writes to a closed pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let lines = receiver.recv_timeout(limit).expect("the emulator announces itself in time");
        let first = lines.first().cloned().unwrap_or_default();
        let ready =
            serde_json::from_str(&first).unwrap_or_else(|err| panic!("ready line is not JSON ({err}): {first}"));
        let env = lines
            .iter()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(name, value)| (name.to_owned(), unquote(value)))
            .collect();
        RunningEmulator { child: Some(child), ready, env }
    }

    /// Sends SIGTERM and waits for the exit, failing after `limit`.
    pub fn terminate(mut self, limit: Duration) -> Output {
        let child = self.child.take().expect("still running");
        let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
        assert!(killed.success(), "kill -TERM failed");
        wait_within(child, limit)
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

/// Undoes the POSIX single quoting `autostop emulator` applies to values that need it.
pub fn unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace(r"'\''", "'"),
        None => value.to_owned(),
    }
}
