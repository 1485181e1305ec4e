//! Opening the state store that `--state` names (the embedded SQLite file by default), for every verb that reads
//! or writes state.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use autostop_state::{SqliteStore, StateStore};

/// Where the state lives, as `--state` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
}

impl StateLocation {
    /// `--state` as given, else the platform default (`$XDG_STATE_HOME/autostop/audit.db`, else
    /// `~/.local/state/autostop/audit.db`).
    pub fn resolve(given: Option<&Path>) -> anyhow::Result<StateLocation> {
        Ok(StateLocation::Sqlite(match given {
            Some(path) => path.to_owned(),
            None => SqliteStore::default_path()?,
        }))
    }

    /// Whether anything has ever been stored there (history reads nothing from a store that does not exist).
    pub fn exists(&self) -> bool {
        match self {
            StateLocation::Sqlite(path) => path.exists(),
        }
    }

    /// Opens (creating if needed) the store.
    pub fn open(&self) -> anyhow::Result<Arc<dyn StateStore>> {
        match self {
            StateLocation::Sqlite(path) => {
                let store = SqliteStore::open(path)
                    .with_context(|| format!("cannot open the state database {}", path.display()))?;
                Ok(Arc::new(store))
            }
        }
    }
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::Sqlite(path) => path.display().fmt(f),
        }
    }
}
