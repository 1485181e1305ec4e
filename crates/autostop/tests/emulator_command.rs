//! `autostop emulator` as a user runs it, through the built binary: `eval "$(autostop emulator --print-env)"`
//! followed by `autostop list` with no other setup, and SIGTERM shutting it down as Ctrl-C does (its CA folder
//! removed).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const AUTOSTOP: &str = env!("CARGO_BIN_EXE_autostop");
/// Upper bound for any one process to finish.
const STEP: Duration = Duration::from_secs(60);

/// Waits for `child` to exit, killing it and failing the test after [`STEP`].
fn wait_within(mut child: Child) -> Output {
    let deadline = Instant::now() + STEP;
    loop {
        match child.try_wait().expect("child can be waited for") {
            Some(_) => return child.wait_with_output().expect("output is read"),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("process did not finish within {STEP:?}");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A command with a private HOME and none of the caller's Azure settings.
fn clean_command(program: &str, home: &std::path::Path) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("AZURE_") || name.starts_with("AUTOSTOP_") || name == "SSL_CERT_FILE" {
            command.env_remove(name);
        }
    }
    command.env("HOME", home).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

#[test]
fn eval_print_env_then_list_works_with_no_other_step() {
    let home = tempfile::tempdir().expect("temp home");
    let script = format!(
        r#"set -e
eval "$('{AUTOSTOP}' emulator --print-env)"
trap 'kill $AUTOSTOP_EMULATOR_PID' EXIT
test -n "$AZURE_SUBSCRIPTION_ID" && test -f "$REQUESTS_CA_BUNDLE" && test -f "$NODE_EXTRA_CA_CERTS"
'{AUTOSTOP}' list --output json
"#
    );
    let child = clean_command("sh", home.path()).args(["-c", &script]).spawn().expect("sh starts");
    let output = wait_within(child);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "status {}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    let start = stdout.find('[').unwrap_or_else(|| panic!("no JSON list in:\n{stdout}"));
    let rows: serde_json::Value = serde_json::from_str(&stdout[start..]).expect("list prints JSON");
    let names: Vec<&str> = rows.as_array().expect("array").iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(names.contains(&"alice-ci"), "the first subscription's instances are listed: {names:?}");
}

#[test]
fn print_env_prints_only_shell_lines_and_a_pid() {
    let home = tempfile::tempdir().expect("temp home");
    let child = clean_command(AUTOSTOP, home.path()).args(["emulator", "--print-env"]).spawn().expect("starts");
    let output = wait_within(child);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(stdout.lines().all(|line| line.starts_with("export ")), "{stdout}");
    let pid = stdout
        .lines()
        .find_map(|line| line.strip_prefix("export AUTOSTOP_EMULATOR_PID="))
        .unwrap_or_else(|| panic!("no pid in:\n{stdout}"))
        .to_owned();
    let ca = stdout
        .lines()
        .find_map(|line| line.strip_prefix("export SSL_CERT_FILE="))
        .map(|path| std::path::PathBuf::from(path.trim_matches('\'')))
        .expect("SSL_CERT_FILE");
    assert!(ca.exists(), "the background emulator keeps running with its CA");
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + STEP;
    while ca.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!ca.exists(), "SIGTERM removes the background emulator's CA folder");
}

#[test]
fn sigterm_shuts_down_and_removes_the_ca_folder() {
    let home = tempfile::tempdir().expect("temp home");
    let mut child = clean_command(AUTOSTOP, home.path()).arg("emulator").spawn().expect("emulator starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        let _ = reader.read_line(&mut first);
        let _ = sender.send(first);
        // Keep reading, as a terminal would, so the announcement is written in full.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let ready = receiver.recv_timeout(STEP).expect("ready line within the step");
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap_or_else(|err| panic!("{err}: {ready}"));
    let ca_path = std::path::PathBuf::from(ready["ca_path"].as_str().expect("ca_path"));
    let ca_dir = ca_path.parent().expect("CA folder").to_owned();
    assert!(
        ca_dir.exists() && ca_dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with("autostop-emulator-"))
    );
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let output = wait_within(child);
    assert!(output.status.success(), "exit after SIGTERM: {}", output.status);
    assert!(!ca_dir.exists(), "SIGTERM leaves {} behind", ca_dir.display());
}
