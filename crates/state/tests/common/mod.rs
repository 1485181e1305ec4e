//! Helpers shared by the audit store's integration tests: a fresh directory per test.

use std::path::PathBuf;

/// A fresh, empty directory for the test named `name`, under Cargo's per-target temporary directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("state-tests").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap_or_else(|err| panic!("cannot clear {}: {err}", dir.display()));
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("cannot create {}: {err}", dir.display()));
    dir
}
