//! Helpers of the unattended-mode tests (`serve`, the Functions handler): the built binary as a long-running
//! child with its JSON log read from stdout, a config with rules at given instants, and emulator waits.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use autostop_emulator::{Compute, Emulator, Fleet, ResourceGroup, Subscription, Workspace};
use jiff::Timestamp;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::mpsc;

/// Every await in these tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The subscription of the test fleet.
pub const SUB: &str = "00000000-0000-0000-0000-00000000e001";

/// A compute instance of the test fleet.
pub fn compute(name: &str, state: &str) -> Compute {
    Compute {
        name: name.into(),
        compute_type: autostop_emulator::COMPUTE_INSTANCE.into(),
        state: state.into(),
        vm_size: "STANDARD_DS3_V2".into(),
        tags: Default::default(),
        owner: Some("owner@example.com".into()),
        ..Default::default()
    }
}

/// A fleet of one workspace, SUB/ml-rg/ws-a (in eastus), holding `computes`.
pub fn workspace_fleet(computes: Vec<Compute>) -> Fleet {
    Fleet {
        subscriptions: vec![Subscription {
            id: SUB.into(),
            resource_groups: vec![ResourceGroup {
                name: "ml-rg".into(),
                workspaces: vec![Workspace { name: "ws-a".into(), location: "eastus".into(), computes }],
                ..Default::default()
            }],
        }],
    }
}

/// The ARM id of compute `name` in SUB/ml-rg/ws-a.
pub fn id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws-a/computes/{name}"
    )
}

/// The first whole second at least `ahead` from now (negative offsets are not needed: use a later Last).
pub fn occurrence_in(ahead: Duration) -> Timestamp {
    let at = Timestamp::now().checked_add(ahead).expect("in range");
    Timestamp::from_second(at.as_second() + 1).expect("in range")
}

/// Writes `dir/autostop.toml`: scope SUB, and one rule per `(name, action, instance, at)` that fires daily at
/// `at`'s UTC time of day and selects only `instance`.
pub fn config_with_rules(dir: &Path, rules: &[(&str, &str, &str, Timestamp)]) -> PathBuf {
    let mut text =
        format!("[defaults]\ntimezone = \"UTC\"\ncatch_up = \"1h\"\n\n[[scopes]]\nsubscription = \"{SUB}\"\n");
    for (name, action, instance, at) in rules {
        let time = at.to_zoned(jiff::tz::TimeZone::UTC);
        text.push_str(&format!(
            "\n[[rules]]\nname = \"{name}\"\naction = \"{action}\"\nschedule = \"{} {} {} * * *\"\nselect = {{ names = [\"{instance}\"] }}\n",
            time.second(),
            time.minute(),
            time.hour()
        ));
    }
    let path = dir.join("autostop.toml");
    std::fs::write(&path, text).unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    path
}

/// Waits until the emulator shows compute `id` in one of `states`.
pub async fn wait_for_state(emulator: &Emulator, id: &str, states: &[&str]) {
    let control = emulator.control();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let state = control.state(id);
        if state.as_deref().is_some_and(|state| states.contains(&state)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} stayed {state:?}, expected one of {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How a child ended, with every JSON log line it wrote and its standard error.
#[derive(Debug)]
pub struct Exit {
    pub code: Option<i32>,
    pub logs: Vec<serde_json::Value>,
    pub stderr: String,
}

impl Exit {
    /// Fails the test if `secret` appears anywhere in what the process wrote.
    pub fn assert_never_wrote(&self, secret: &str) {
        for line in &self.logs {
            assert!(!line.to_string().contains(secret), "a secret reached the log: {line}");
        }
        assert!(!self.stderr.contains(secret), "a secret reached stderr: {}", self.stderr);
    }
}

/// The built binary running in the background, its stdout read as JSON lines.
pub struct Process {
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<serde_json::Value>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Process {
    /// Spawns `program` (the built binary when `None`) in `dir` with `args`, the emulator's environment, a state
    /// directory under `dir`, and `env`.
    pub fn spawn(
        emulator: &Emulator,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        program: Option<&Path>,
    ) -> Process {
        let program = program.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_autostop")));
        let mut command = tokio::process::Command::new(program);
        command.args(args).current_dir(dir).env_clear();
        command.env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", dir);
        command.env("XDG_STATE_HOME", dir.join("state")).env("AUTOSTOP_LOG", "info");
        for (key, value) in emulator.env() {
            command.env(key, value);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr_pipe, &mut text).await;
            text
        });
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process { child, lines, seen: Vec::new(), stderr }
    }

    /// Waits for the first log line (since the last wait) that satisfies `matches`, and returns it.
    pub async fn wait_for_log(&mut self, matches: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        loop {
            let line = tokio::time::timeout(TIMEOUT, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no matching log line in time; seen: {:#?}", self.seen))
                .unwrap_or_else(|| panic!("the process ended before a matching log line; seen: {:#?}", self.seen));
            let line = json_line(&line);
            self.seen.push(line.clone());
            if matches(&line) {
                return line;
            }
        }
    }

    /// Sends a signal by name (`HUP`, `TERM`, ...) with `kill`.
    pub async fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the process is still running").to_string();
        let kill = tokio::process::Command::new("kill").arg(format!("-{name}")).arg(&pid).status();
        let status = tokio::time::timeout(TIMEOUT, kill).await.expect("kill in time").expect("kill runs");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// Sends SIGTERM, waits for the exit and collects the rest of the log.
    pub async fn terminate(mut self) -> Exit {
        self.signal("TERM").await;
        let status =
            tokio::time::timeout(TIMEOUT, self.child.wait()).await.expect("exit in time").expect("exit status");
        while let Ok(Some(line)) = tokio::time::timeout(TIMEOUT, self.lines.recv()).await {
            self.seen.push(json_line(&line));
        }
        let stderr = tokio::time::timeout(TIMEOUT, self.stderr).await.expect("stderr in time").unwrap_or_default();
        Exit { code: status.code(), logs: self.seen, stderr }
    }
}

/// Parses one stdout line: the binary logs JSON lines when stdout is not a terminal.
fn json_line(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|err| panic!("stdout line is not a JSON log line ({err}): {line}"))
}

/// Opens a TCP connection to `addr` (`host:port`) that sends nothing.
pub async fn idle_connection(addr: &str) -> tokio::net::TcpStream {
    tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .expect("connected in time")
        .unwrap_or_else(|err| panic!("connecting to {addr}: {err}"))
}

/// Whether the server closes `stream` within `limit`: reading gives end of file or a reset. Bytes received first
/// (a response) are skipped.
pub async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buffer = [0_u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}
