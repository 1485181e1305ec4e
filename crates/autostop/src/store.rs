//! Opening the state store that `--state` names, for every verb that reads or writes state: a path is an SQLite
//! file (the default: the platform state directory), an `https://` URL a Blob Storage container
//! (`https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]`, or path-style for an IP or dotless host),
//! authenticated by the SAS in the URL if it has one, else by the same credential chain as ARM calls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use autostop_state::{BlobAddress, BlobStore, SqliteStore, StateStore};

use crate::UsageError;

/// Where the state lives, as `--state` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A Blob Storage container (and prefix).
    Blob(BlobAddress),
}

impl StateLocation {
    /// `--state` as given, else the platform default (`$XDG_STATE_HOME/autostop/audit.db`, else
    /// `~/.local/state/autostop/audit.db`). A URL that is not a usable Blob location is a usage error.
    pub fn resolve(given: Option<&Path>) -> anyhow::Result<StateLocation> {
        match given {
            Some(path) => match path.to_str().filter(|text| BlobAddress::looks_like_url(text)) {
                Some(url) => Ok(StateLocation::Blob(
                    BlobAddress::parse(url).map_err(|err| UsageError(format!("--state: {err}")))?,
                )),
                None => Ok(StateLocation::Sqlite(path.to_owned())),
            },
            None => Ok(StateLocation::Sqlite(SqliteStore::default_path()?)),
        }
    }

    /// Whether anything may have been stored there (history reads nothing from a file that does not exist; a
    /// Blob location is always read).
    pub fn exists(&self) -> bool {
        match self {
            StateLocation::Sqlite(path) => path.exists(),
            StateLocation::Blob(_) => true,
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
            StateLocation::Blob(address) => Ok(Arc::new(open_blob(address)?)),
        }
    }
}

/// A Blob store with the process's trust roots (`SSL_CERT_FILE`) and, unless the URL has a SAS, the credential
/// the environment selects (tokens for `https://storage.azure.com/.default`).
fn open_blob(address: &BlobAddress) -> anyhow::Result<BlobStore> {
    let roots = std::env::var_os(autostop_azure::SSL_CERT_FILE).map(PathBuf::from);
    let client = autostop_azure::http_client(roots.as_deref()).map_err(|err| UsageError(err.to_string()))?;
    let client_options = autostop_azure::client_options(client);
    let credential = if address.has_sas() {
        None
    } else {
        let options =
            autostop_azure::CredentialOptions { client_options: client_options.clone(), ..Default::default() };
        let (_, credential) = autostop_azure::credential(options, crate::connect::process_env)
            .with_context(|| format!("cannot authenticate to the Blob state {}", address.location()))?;
        Some(credential)
    };
    Ok(BlobStore::open(address, credential, client_options)?)
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::Sqlite(path) => path.display().fmt(f),
            StateLocation::Blob(address) => f.write_str(&address.location()),
        }
    }
}
