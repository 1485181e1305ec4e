//! Opening the state store that `--state` names, for every verb that reads or writes state: a path is an SQLite
//! file (the default: the platform state directory), an `https://` URL a Blob Storage container
//! (`https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]`, or path-style for an IP or dotless host),
//! authenticated by the SAS in the URL if it has one, else by the same credential chain as ARM calls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use autostop_state::{BlobAddress, BlobStore, LeaderLease, LeaseDuration, SqliteStore, StateStore};

use crate::UsageError;

/// The setting naming the Function App's own storage account (identity-based `AzureWebJobsStorage`).
pub const FUNCTIONS_ACCOUNT: &str = "AzureWebJobsStorage__accountName";

/// The container the state defaults to in the Function App's storage account.
pub const FUNCTIONS_CONTAINER: &str = "autostop-state";

/// Under the Functions host (`FUNCTIONS_CUSTOMHANDLER_PORT` set), the Function App's own storage account, where
/// the state defaults to: an instance's `/tmp` does not survive a recycle.
fn functions_storage_account(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    env("FUNCTIONS_CUSTOMHANDLER_PORT")?;
    env(FUNCTIONS_ACCOUNT)
}

/// Where the state lives, as `--state` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A Blob Storage container (and prefix).
    Blob(BlobAddress),
}

impl StateLocation {
    /// `--state` (or `AUTOSTOP_STATE`) as given; else, under the Functions host with an identity-based
    /// `AzureWebJobsStorage__accountName`, the `autostop-state` container of that account; else the platform
    /// default (`$XDG_STATE_HOME/autostop/audit.db`, else `~/.local/state/autostop/audit.db`). A URL that is not
    /// a usable Blob location is a usage error.
    pub fn resolve(given: Option<&Path>) -> anyhow::Result<StateLocation> {
        match given {
            Some(path) => match path.to_str().filter(|text| BlobAddress::looks_like_url(text)) {
                Some(url) => Ok(StateLocation::Blob(
                    BlobAddress::parse(url).map_err(|err| UsageError(format!("--state: {err}")))?,
                )),
                None => Ok(StateLocation::Sqlite(path.to_owned())),
            },
            None => match functions_storage_account(crate::connect::process_env) {
                Some(account) => Ok(StateLocation::Blob(
                    BlobAddress::parse(&format!("https://{account}.blob.core.windows.net/{FUNCTIONS_CONTAINER}"))
                        .map_err(|err| UsageError(format!("{FUNCTIONS_ACCOUNT}: {err}")))?,
                )),
                None => Ok(StateLocation::Sqlite(SqliteStore::default_path()?)),
            },
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

impl StateLocation {
    /// Opens the store and its leader lease (`serve --ha`): only a Blob state can elect a leader, since an SQLite
    /// file cannot be shared between machines.
    pub fn open_with_lease(&self, duration: LeaseDuration) -> anyhow::Result<(Arc<dyn StateStore>, LeaderLease)> {
        match self {
            StateLocation::Sqlite(path) => Err(UsageError(format!(
                "--ha ([state] leader): leader election needs a Blob state shared by the replicas (--state \
                 https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]), found the SQLite file {}, which only \
                 processes on one machine can share",
                path.display()
            ))
            .into()),
            StateLocation::Blob(address) => {
                let store = open_blob(address)?;
                let lease = store.leader_lease(duration);
                Ok((Arc::new(store), lease))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    }

    #[test]
    fn under_the_functions_host_the_state_defaults_to_the_apps_storage_account() {
        let host = [("FUNCTIONS_CUSTOMHANDLER_PORT", "7071"), (FUNCTIONS_ACCOUNT, "appstore")];
        assert_eq!(functions_storage_account(env(&host)).as_deref(), Some("appstore"));
        assert_eq!(functions_storage_account(env(&host[1..])), None, "outside the host: the SQLite default");
        assert_eq!(functions_storage_account(env(&host[..1])), None, "a connection string: the SQLite default");
    }

    #[test]
    fn a_url_is_blob_state_and_anything_else_a_file() {
        let blob = StateLocation::resolve(Some(Path::new("https://acct.blob.core.windows.net/state/p?sig=s3cr3t")))
            .expect("a Blob URL");
        assert!(matches!(&blob, StateLocation::Blob(address) if address.has_sas()));
        assert_eq!(blob.to_string(), "https://acct.blob.core.windows.net/state/p");
        let file = StateLocation::resolve(Some(Path::new("state/audit.db"))).expect("a path");
        assert_eq!(file, StateLocation::Sqlite(PathBuf::from("state/audit.db")));
        let err = StateLocation::resolve(Some(Path::new("http://acct.blob.core.windows.net/state")))
            .expect_err("plain http")
            .to_string();
        assert!(err.starts_with("--state: state URL http://acct.blob.core.windows.net/state:"), "{err}");
    }
}
