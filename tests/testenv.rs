//! The real services the tests run against (Azurite, the official Python and Node clients, aiosmtpd,
//! libfaketime, Chromium), installed on first use by the project's own `.ci/setup.d/` scripts under `.test-env/`,
//! so that a fresh clone's `cargo test --workspace` needs no step before it. Each script does nothing when its
//! service is installed and up to date with its pins; test processes take turns through `flock` on
//! `.test-env/.setup.lock`, and each process runs each script once. Included with `#[path]` by the test crates
//! that need it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// The repository root (every test crate lives at `crates/NAME`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `.ci/setup.d/{script}.sh` (once per process, one process at a time), which installs what it names when
/// missing or out of date; fails the test with the script's output when it cannot.
pub fn ensure(script: &str) {
    static DONE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut done = DONE.lock().unwrap_or_else(PoisonError::into_inner);
    if done.contains(script) {
        return;
    }
    let root = root();
    std::fs::create_dir_all(root.join(".test-env")).expect("create .test-env");
    let output = Command::new("flock")
        .arg(root.join(".test-env/.setup.lock"))
        .arg("bash")
        .arg(root.join(".ci/setup.d").join(format!("{script}.sh")))
        .current_dir(&root)
        .output()
        .unwrap_or_else(|err| panic!("running .ci/setup.d/{script}.sh under flock: {err}"));
    assert!(
        output.status.success(),
        ".ci/setup.d/{script}.sh failed ({}): the tests that need it cannot run\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    done.insert(script.to_owned());
}
