//! The Python baseline's environment: a virtual environment under `target/bench/venv` with the pinned
//! `bench/requirements.txt`, created or refreshed when missing or when the requirements change.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// A ready virtual environment.
#[derive(Debug, Clone)]
pub struct Venv {
    /// Its `bin/python`.
    pub python: PathBuf,
}

/// The file inside the venv that records which requirements it was built from.
const STAMP: &str = "autostop-requirements.txt";

/// Makes sure `venv_dir` holds a virtual environment with exactly `requirements` installed.
///
/// The interpreter that creates it is `$BENCH_PYTHON`, else `python3` on `PATH`.
pub fn ensure(venv_dir: &Path, requirements: &Path) -> anyhow::Result<Venv> {
    let wanted = std::fs::read_to_string(requirements)
        .with_context(|| format!("cannot read the baseline's requirements {}", requirements.display()))?;
    let python = venv_dir.join("bin").join("python");
    let stamp = venv_dir.join(STAMP);
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|built| built == wanted) {
        return Ok(Venv { python });
    }
    if !python.exists() {
        let base = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        eprintln!("bench: creating the Python baseline's virtual environment in {}", venv_dir.display());
        run(Command::new(&base).arg("-m").arg("venv").arg(venv_dir), "create the virtual environment")?;
    }
    eprintln!("bench: installing {} into it (about 285 MB, once)", requirements.display());
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements),
        "install the baseline's requirements",
    )?;
    std::fs::write(&stamp, wanted).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(Venv { python })
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("cannot run {:?} to {what}", command.get_program()))?;
    if !status.success() {
        bail!("{:?} failed to {what}: {status}", command.get_program());
    }
    Ok(())
}
