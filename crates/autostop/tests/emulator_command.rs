//! `autostop emulator` as a user runs it, through the built binary: `eval "$(autostop emulator --print-env)"`
//! followed by `autostop list` with no other setup, and SIGTERM shutting it down as Ctrl-C does (its CA folder
//! removed).

#[path = "support/background.rs"]
mod background;

use std::process::Command;
use std::time::{Duration, Instant};

use background::{AUTOSTOP, RunningEmulator, clean_command, unquote, wait_within};

/// Upper bound for any one process to finish.
const STEP: Duration = Duration::from_secs(60);

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
    let output = wait_within(child, STEP);
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
    let output = wait_within(child, STEP);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(stdout.lines().all(|line| line.starts_with("export ")), "{stdout}");
    let value = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("export {name}=")).map(unquote))
            .unwrap_or_else(|| panic!("no {name} in:\n{stdout}"))
    };
    let ca = std::path::PathBuf::from(value("SSL_CERT_FILE"));
    assert!(ca.exists(), "the background emulator keeps running with its CA");
    let killed = Command::new("kill").args(["-TERM", &value("AUTOSTOP_EMULATOR_PID")]).status().expect("kill runs");
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
    let emulator = RunningEmulator::start(&[], home.path(), STEP);
    let ca_path = std::path::PathBuf::from(emulator.ready["ca_path"].as_str().expect("ca_path"));
    let ca_dir = ca_path.parent().expect("CA folder").to_owned();
    let name = ca_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(ca_dir.exists() && name.starts_with("autostop-emulator-"), "{}", ca_dir.display());
    let output = emulator.terminate(STEP);
    assert!(output.status.success(), "exit after SIGTERM: {}", output.status);
    assert!(!ca_dir.exists(), "SIGTERM leaves {} behind", ca_dir.display());
}
