//! `autostop init [--config PATH] [--force]`: writes a commented starter config file.
//!
//! Never overwrites an existing file unless `--force` is given.

use std::io::Write;
use std::path::PathBuf;

use autostop_policy::config::{config_path, starter};

use crate::{Outcome, UsageError};

/// Arguments of `autostop init`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Where to write the file (default: $AUTOSTOP_CONFIG, else ./autostop.toml).
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `autostop init`.
pub fn run(args: InitArgs) -> anyhow::Result<Outcome> {
    let path = config_path(args.config.as_deref(), |name| std::env::var_os(name));
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|err| anyhow::anyhow!("cannot create the directory {}: {err}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(&path).map_err(|err| match err.kind() {
        std::io::ErrorKind::AlreadyExists => {
            anyhow::Error::new(UsageError(format!("{} already exists: pass --force to overwrite it", path.display())))
        }
        _ => anyhow::anyhow!("cannot write {}: {err}", path.display()),
    })?;
    file.write_all(starter().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?;
    println!(
        "wrote {}: set your subscription in [[scopes]], then run `autostop check --config {}`",
        path.display(),
        path.display()
    );
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_starter_once_and_overwrites_only_with_force() {
        let dir = std::env::temp_dir().join(format!("autostop-init-{}", std::process::id()));
        let path = dir.join("sub").join("autostop.toml");
        let _ = std::fs::remove_dir_all(&dir);
        let args = |force| InitArgs { config: Some(path.clone()), force };

        assert_eq!(run(args(false)).expect("first write"), Outcome::Success);
        assert_eq!(std::fs::read_to_string(&path).expect("written"), starter());

        std::fs::write(&path, "# mine\n").expect("edit");
        let err = run(args(false)).expect_err("refuses to overwrite");
        assert!(err.chain().any(|cause| cause.is::<UsageError>()), "{err:#}");
        assert!(format!("{err:#}").contains("--force"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), "# mine\n");

        run(args(true)).expect("forced write");
        assert_eq!(std::fs::read_to_string(&path).expect("overwritten"), starter());
    }
}
