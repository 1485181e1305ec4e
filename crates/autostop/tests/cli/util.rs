//! Test helpers: an emulator per test, and the built binary run against it with a timeout.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use autostop_emulator::{Compute, Emulator, Fleet, Options, ResourceGroup, Subscription, Workspace};

/// Every await in these tests is bounded by this.
pub const TIMEOUT: Duration = Duration::from_secs(60);

pub const SUB: &str = "00000000-0000-0000-0000-00000000a001";
pub const SUB2: &str = "00000000-0000-0000-0000-00000000a002";

/// A compute of the test fleet.
pub fn compute(name: &str, compute_type: &str, state: &str) -> Compute {
    Compute {
        name: name.into(),
        compute_type: compute_type.into(),
        state: state.into(),
        vm_size: "STANDARD_DS3_V2".into(),
        tags: BTreeMap::new(),
        owner: Some("owner@example.com".into()),
        ..Default::default()
    }
}

/// A fleet: SUB/ml-rg/ws-a holds the instances given; SUB2/other-rg/ws-b holds one Running instance `b-1`.
pub fn fleet(computes: Vec<Compute>) -> Fleet {
    Fleet {
        subscriptions: vec![
            Subscription {
                id: SUB.into(),
                resource_groups: vec![ResourceGroup {
                    name: "ml-rg".into(),
                    workspaces: vec![Workspace { name: "ws-a".into(), location: "eastus".into(), computes }],
                    ..Default::default()
                }],
            },
            Subscription {
                id: SUB2.into(),
                resource_groups: vec![ResourceGroup {
                    name: "other-rg".into(),
                    workspaces: vec![Workspace {
                        name: "ws-b".into(),
                        location: "westeurope".into(),
                        computes: vec![compute("b-1", "ComputeInstance", "Running")],
                    }],
                    ..Default::default()
                }],
            },
        ],
    }
}

/// The usual mixed fleet: one instance in each interesting state, and a cluster.
pub fn mixed_fleet() -> Fleet {
    fleet(vec![
        compute("run-1", "ComputeInstance", "Running"),
        compute("run-2", "ComputeInstance", "Running"),
        compute("job-1", "ComputeInstance", "JobRunning"),
        compute("stopped-1", "ComputeInstance", "Stopped"),
        compute("starting-1", "ComputeInstance", "Starting"),
        compute("cluster-1", "AmlCompute", "Running"),
    ])
}

/// Starts an emulator with `fleet`, small pages and quick transitions.
pub async fn emulator(fleet: Fleet) -> Emulator {
    let options = Options { fleet, page_size: 2, transition: Duration::from_millis(300), ..Default::default() };
    tokio::time::timeout(TIMEOUT, Emulator::start(options))
        .await
        .expect("emulator start timed out")
        .expect("emulator starts")
}

/// The compute id of `name` in the first workspace.
pub fn id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces/ws-a/computes/{name}"
    )
}

/// What a run of the binary printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {self:#?}"))
    }
}

/// A command for the built binary with a clean environment: only what the test gives, plus PATH and HOME.
pub struct Cli {
    command: tokio::process::Command,
    input: Option<String>,
}

impl Cli {
    /// The binary, with the emulator's environment (client secret credential) and `args`.
    pub fn against(emulator: &Emulator, args: &[&str]) -> Cli {
        let mut cli = Cli::bare(args);
        for (key, value) in emulator.env() {
            cli.command.env(key, value);
        }
        cli
    }

    /// The binary with `args` run on a pseudo-terminal (through util-linux `script`), as a person would, with the
    /// emulator's environment; `input` is what the person types.
    pub fn in_terminal(emulator: &Emulator, args: &[&str], input: &str) -> Cli {
        Cli::in_terminal_redirected(emulator, args, "", input)
    }

    /// As [`Cli::in_terminal`], with `redirect` (shell redirections such as `2>FILE`) after the command line.
    pub fn in_terminal_redirected(emulator: &Emulator, args: &[&str], redirect: &str, input: &str) -> Cli {
        let mut line = std::iter::once(env!("CARGO_BIN_EXE_autostop"))
            .chain(args.iter().copied())
            .map(|word| format!("'{word}'"))
            .collect::<Vec<_>>()
            .join(" ");
        line.push(' ');
        line.push_str(redirect);
        let mut cli = Cli::with_program("script", &["-qec", &line, "/dev/null"]);
        for (key, value) in emulator.env() {
            cli.command.env(key, value);
        }
        cli.input = Some(input.to_owned());
        cli
    }

    /// Another program (e.g. a shell that sets limits, then runs the binary) with the emulator's environment.
    pub fn program_against(emulator: &Emulator, program: &str, args: &[&str]) -> Cli {
        let mut cli = Cli::with_program(program, args);
        for (key, value) in emulator.env() {
            cli.command.env(key, value);
        }
        cli
    }

    /// The binary with `args` and no Azure environment at all.
    pub fn bare(args: &[&str]) -> Cli {
        Cli::with_program(env!("CARGO_BIN_EXE_autostop"), args)
    }

    fn with_program(program: &str, args: &[&str]) -> Cli {
        let mut command = tokio::process::Command::new(program);
        command.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        command.env("HOME", std::env::temp_dir()).env("NO_COLOR", "1").env("AUTOSTOP_POLL_INTERVAL", "100ms");
        // A default state of its own for every command, so that concurrent tests never share one by accident
        // (a test that wants a state across commands passes --state).
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-state").join(format!("{}-{n}", std::process::id()));
        command.env("XDG_STATE_HOME", state);
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        Cli { command, input: None }
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Cli {
        self.command.env(key, value);
        self
    }

    /// `--state PATH` after the verb's own arguments.
    pub fn args_state(mut self, state: &Path) -> Cli {
        self.command.arg("--state").arg(state);
        self
    }

    /// Starts without waiting (the caller kills or waits).
    pub fn spawn(mut self) -> tokio::process::Child {
        self.command.stdout(Stdio::null()).stderr(Stdio::null());
        self.command.spawn().expect("autostop starts")
    }

    /// Starts without waiting, its stdout and stderr kept for `wait_with_output`.
    pub fn spawn_captured(mut self) -> tokio::process::Child {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.command.spawn().expect("autostop starts")
    }

    pub fn env_remove(mut self, key: &str) -> Cli {
        self.command.env_remove(key);
        self
    }

    pub fn path_prepend(mut self, dir: &Path) -> Cli {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![dir.to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        self.command.env("PATH", std::env::join_paths(paths).expect("PATH joins"));
        self
    }

    /// Runs to the end (bounded by [`TIMEOUT`]).
    pub async fn run(mut self) -> Run {
        if self.input.is_some() {
            self.command.stdin(Stdio::piped());
        }
        let mut child = self.command.spawn().expect("autostop runs");
        if let Some(input) = self.input.take() {
            use tokio::io::AsyncWriteExt as _;
            let mut stdin = child.stdin.take().expect("stdin is piped");
            stdin.write_all(input.as_bytes()).await.expect("input written");
        }
        let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
            .await
            .expect("autostop did not finish in time")
            .expect("autostop runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Looks up one row of a JSON array by `name`.
pub fn row<'a>(rows: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    rows.as_array()
        .expect("an array")
        .iter()
        .find(|row| row["name"] == name)
        .unwrap_or_else(|| panic!("no row named {name} in {rows:#}"))
}

/// The scope [`SUB`] and its rule `evening-stop`, which stops at 20:00 (in the config's time zone) every day,
/// as a string literal: more keys of the rule may follow it.
macro_rules! evening_stop {
    () => {
        r#"
[[scopes]]
subscription = "00000000-0000-0000-0000-00000000a001"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
"#
    };
}
pub(crate) use evening_stop;

/// One rule, `evening-stop`: stop every instance of [`SUB`] at 20:00 UTC, catching up for an hour.
pub const EVENING_STOP: &str = concat!("\n[defaults]\ntimezone = \"UTC\"\ncatch_up = \"1h\"\n", evening_stop!());

/// A day's config for the instances of [`SUB`], as a `&'static str`: `[defaults]` with the keys given, any more
/// sections, then `evening-stop` (stop at 20:00 every day) and `morning-start` (start at 08:00 on weekdays what is
/// tagged `autostart = yes`), each with the more keys given. Every argument is a string literal.
macro_rules! day_config {
    (defaults: $defaults:literal, sections: $sections:literal, stop: $stop:literal, start: $start:literal $(,)?) => {
        concat!(
            "\n[defaults]\n",
            $defaults,
            "\n",
            $sections,
            evening_stop!(),
            $stop,
            r#"

[[rules]]
name = "morning-start"
action = "start"
schedule = "0 0 8 * * Mon-Fri"
select = { tags = { autostart = "yes" } }
"#,
            $start,
            "\n"
        )
    };
}
pub(crate) use day_config;

pub use crate::requests::stop_posts;

/// A temporary folder with a config file (`autostop.toml`) and the path of a state in it (not yet created), and
/// the environment every command of the test is given besides the emulator's.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    pub state: std::path::PathBuf,
    env: Vec<(String, std::ffi::OsString)>,
}

/// A [`Setup`] whose config file holds `config`.
pub fn setup(config: &str) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("autostop.toml");
    std::fs::write(&path, config).expect("config written");
    let state = dir.path().join("state").join("audit.db");
    Setup { config: path, state, dir, env: Vec::new() }
}

impl Setup {
    /// Gives every command of [`Setup::cli`] `key=value` in its environment.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Setup {
        self.env.push((key.to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The binary against `emulator` with `args`, this config (`AUTOSTOP_CONFIG`) and state (`--state`), and the
    /// environment given with [`Setup::env`].
    pub fn cli(&self, emulator: &Emulator, args: &[&str]) -> Cli {
        let cli = Cli::against(emulator, args).env("AUTOSTOP_CONFIG", &self.config);
        self.env.iter().fold(cli, |cli, (key, value)| cli.env(key, value)).args_state(&self.state)
    }

    /// `autostop run --now NOW -o json`, run to its end.
    pub async fn run_at(&self, emulator: &Emulator, now: &str) -> Run {
        self.cli(emulator, &["run", "--now", now, "-o", "json"]).run().await
    }
}

/// A config of one rule, `evening-stop`, that stops the instances of [`SUB`] at 20:00 in Tokyo every day and
/// sends a notice 30 minutes before to the channels named in `to`: `notify` is the body of the `[notify]`
/// section (its `public_url`...), `channels` the `[[channels]]` entries, and `select` more keys of the rule
/// (such as `select = { names = ["run-*"] }`), or nothing.
pub fn notice_config(notify: &str, channels: &str, select: &str, to: &[&str]) -> String {
    let to = serde_json::to_string(to).expect("names");
    format!(
        concat!(
            "\n[defaults]\ntimezone = \"Asia/Tokyo\"\n\n[notify]\n{notify}\n\n{channels}\n",
            evening_stop!(),
            "{select}\nnotify = {{ before = \"30m\", channels = {to} }}\n"
        ),
        notify = notify,
        channels = channels,
        select = select,
        to = to
    )
}

/// A free port on 127.0.0.1: nothing listens on it when this returns.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}
