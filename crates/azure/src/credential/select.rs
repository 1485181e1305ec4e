//! Choosing the credential from an environment lookup, in the documented order (pure but for looking for `az`
//! in the `PATH` directories: no network, no process environment).

use super::kind::CredentialKind;
use crate::error::{Error, ErrorKind};
use azure_core::credentials::Secret;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// `AZURE_TENANT_ID`
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_FEDERATED_TOKEN_FILE`
pub const AZURE_FEDERATED_TOKEN_FILE: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// `AZURE_AUTHORITY_HOST`
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";
/// `IDENTITY_ENDPOINT` (App Service / Functions managed identity)
pub const IDENTITY_ENDPOINT: &str = "IDENTITY_ENDPOINT";
/// `IDENTITY_HEADER` (App Service / Functions managed identity)
pub const IDENTITY_HEADER: &str = "IDENTITY_HEADER";

/// Reading a `--credential` name is here, next to the crate's error, so that `kind` depends on nothing.
impl FromStr for CredentialKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        CredentialKind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            ErrorKind::InvalidInput {
                what: "credential",
                input: s.to_string(),
                expected: "one of client-secret, workload-identity, managed-identity, azure-cli".into(),
            }
            .into()
        })
    }
}

/// Where an App Service / Functions managed identity gets its token, or the VM's IMDS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagedIdentitySource {
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
    AppService {
        /// The `IDENTITY_ENDPOINT` URL.
        endpoint: String,
    },
    /// The instance metadata service at 169.254.169.254 (only when forced).
    Imds,
}

/// The credential [`select`] chose and what it needs. Debug never shows the secret.
#[derive(Clone, Debug)]
pub enum Selection {
    /// A service principal's secret.
    ClientSecret {
        /// The tenant.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
        /// The secret.
        secret: Secret,
    },
    /// A federated token file.
    WorkloadIdentity {
        /// The tenant.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
        /// The token file.
        token_file: PathBuf,
    },
    /// A managed identity.
    ManagedIdentity {
        /// Where the token comes from.
        source: ManagedIdentitySource,
        /// The user-assigned identity's client id (`AZURE_CLIENT_ID`), if any.
        client_id: Option<String>,
    },
    /// The Azure CLI.
    AzureCli {
        /// The `az` program found on `PATH`.
        az: PathBuf,
        /// The `PATH` the CLI runs with.
        path: OsString,
    },
}

impl Selection {
    /// The kind selected.
    pub fn kind(&self) -> CredentialKind {
        match self {
            Selection::ClientSecret { .. } => CredentialKind::ClientSecret,
            Selection::WorkloadIdentity { .. } => CredentialKind::WorkloadIdentity,
            Selection::ManagedIdentity { .. } => CredentialKind::ManagedIdentity,
            Selection::AzureCli { .. } => CredentialKind::AzureCli,
        }
    }
}

/// Looks a variable up, treating an empty value as unset.
pub(super) fn var(env: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

fn incomplete(kind: CredentialKind, env: &impl Fn(&str) -> Option<String>, names: &[&'static str]) -> Error {
    let (present, missing): (Vec<&str>, Vec<&str>) = names.iter().partition(|n| var(env, n).is_some());
    let list = |names: Vec<&str>| if names.is_empty() { "nothing".to_string() } else { names.join(" and ") };
    ErrorKind::IncompleteCredential { kind, present: list(present), missing: list(missing) }.into()
}

fn any_set(env: &impl Fn(&str) -> Option<String>, names: &[&str]) -> bool {
    names.iter().any(|n| var(env, n).is_some())
}

const CLIENT_SECRET_VARS: [&str; 3] = [AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET];
const WORKLOAD_VARS: [&str; 3] = [AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE];
const APP_SERVICE_VARS: [&str; 2] = [IDENTITY_ENDPOINT, IDENTITY_HEADER];

fn client_secret(env: &impl Fn(&str) -> Option<String>) -> Result<Selection, Error> {
    match (var(env, AZURE_TENANT_ID), var(env, AZURE_CLIENT_ID), var(env, AZURE_CLIENT_SECRET)) {
        (Some(tenant_id), Some(client_id), Some(secret)) => {
            Ok(Selection::ClientSecret { tenant_id, client_id, secret: Secret::new(secret) })
        }
        _ => Err(incomplete(CredentialKind::ClientSecret, env, &CLIENT_SECRET_VARS)),
    }
}

fn workload_identity(env: &impl Fn(&str) -> Option<String>) -> Result<Selection, Error> {
    match (var(env, AZURE_TENANT_ID), var(env, AZURE_CLIENT_ID), var(env, AZURE_FEDERATED_TOKEN_FILE)) {
        (Some(tenant_id), Some(client_id), Some(file)) => {
            Ok(Selection::WorkloadIdentity { tenant_id, client_id, token_file: PathBuf::from(file) })
        }
        _ => Err(incomplete(CredentialKind::WorkloadIdentity, env, &WORKLOAD_VARS)),
    }
}

fn managed_identity(env: &impl Fn(&str) -> Option<String>) -> Result<Selection, Error> {
    let client_id = var(env, AZURE_CLIENT_ID);
    match (var(env, IDENTITY_ENDPOINT), var(env, IDENTITY_HEADER)) {
        (Some(endpoint), Some(_)) => {
            Ok(Selection::ManagedIdentity { source: ManagedIdentitySource::AppService { endpoint }, client_id })
        }
        (None, None) => Ok(Selection::ManagedIdentity { source: ManagedIdentitySource::Imds, client_id }),
        _ => Err(incomplete(CredentialKind::ManagedIdentity, env, &APP_SERVICE_VARS)),
    }
}

/// The `az` program in the directories of `PATH`, if any.
fn find_az(path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path).map(|dir| dir.join("az")).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn azure_cli(env: &impl Fn(&str) -> Option<String>) -> Option<Selection> {
    let path = OsString::from(var(env, "PATH")?);
    let az = find_az(&path)?;
    Some(Selection::AzureCli { az, path })
}

/// Chooses the credential from an environment lookup (pure but for looking for `az` in the `PATH` directories).
///
/// The order, when `kind` is `None`:
/// 1. client secret, when `AZURE_CLIENT_SECRET` is set (then `AZURE_TENANT_ID` and `AZURE_CLIENT_ID` must be too);
/// 2. workload identity, when `AZURE_FEDERATED_TOKEN_FILE` is set (then tenant and client id must be too);
/// 3. App Service / Functions managed identity, when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set
///    (`AZURE_CLIENT_ID`, if set, names a user-assigned identity);
/// 4. the Azure CLI, when `az` is on `PATH`;
/// 5. otherwise an error listing what to set. The VM's IMDS is never tried on its own: probing it off Azure only
///    times out. Force it with `managed-identity`.
///
/// Partly set variables are an error naming what is missing (e.g. `AZURE_CLIENT_ID` without a secret or a token
/// file, outside App Service), rather than silently falling through to another credential. `AZURE_TENANT_ID` alone
/// is ignored (the Azure CLI keeps its own tenant). With `managed-identity`, `AZURE_CLIENT_ID` names a
/// user-assigned identity.
pub fn select(kind: Option<CredentialKind>, env: impl Fn(&str) -> Option<String>) -> Result<Selection, Error> {
    match kind {
        Some(CredentialKind::ClientSecret) => client_secret(&env),
        Some(CredentialKind::WorkloadIdentity) => workload_identity(&env),
        Some(CredentialKind::ManagedIdentity) => managed_identity(&env),
        Some(CredentialKind::AzureCli) => azure_cli(&env).ok_or_else(|| {
            ErrorKind::Credential {
                message: "azure-cli credential: no `az` program found in the directories of PATH".into(),
            }
            .into()
        }),
        None => {
            if var(&env, AZURE_CLIENT_SECRET).is_some() {
                return client_secret(&env);
            }
            if var(&env, AZURE_FEDERATED_TOKEN_FILE).is_some() {
                return workload_identity(&env);
            }
            if any_set(&env, &APP_SERVICE_VARS) {
                return managed_identity(&env);
            }
            if var(&env, AZURE_CLIENT_ID).is_some() {
                return Err(ErrorKind::IncompleteCredential {
                    kind: CredentialKind::ClientSecret,
                    present: AZURE_CLIENT_ID.into(),
                    missing: format!(
                        "{AZURE_CLIENT_SECRET} (client-secret) or {AZURE_FEDERATED_TOKEN_FILE} (workload-identity)"
                    ),
                }
                .into());
            }
            if let Some(cli) = azure_cli(&env) {
                return Ok(cli);
            }
            Err(ErrorKind::NoCredential.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn kind(kind: Option<CredentialKind>, vars: &[(&str, &str)]) -> Result<CredentialKind, String> {
        select(kind, env(vars)).map(|s| s.kind()).map_err(|e| e.to_string())
    }

    const SECRET: [(&str, &str); 3] =
        [(AZURE_TENANT_ID, "tenant"), (AZURE_CLIENT_ID, "client"), (AZURE_CLIENT_SECRET, "s3cr3t-value")];

    #[test]
    fn names_round_trip() -> Result<(), Error> {
        for k in CredentialKind::ALL {
            assert_eq!(k.name().parse::<CredentialKind>()?, k);
        }
        let err = "password".parse::<CredentialKind>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("invalid credential 'password': expected one of client-secret"), "{err}");
        Ok(())
    }

    #[test]
    fn client_secret_comes_first() {
        let mut vars = SECRET.to_vec();
        vars.extend([(AZURE_FEDERATED_TOKEN_FILE, "/t"), (IDENTITY_ENDPOINT, "https://x"), (IDENTITY_HEADER, "h")]);
        assert_eq!(kind(None, &vars), Ok(CredentialKind::ClientSecret));
    }

    #[test]
    fn workload_identity_then_app_service() {
        let workload = [
            (AZURE_TENANT_ID, "t"),
            (AZURE_CLIENT_ID, "c"),
            (AZURE_FEDERATED_TOKEN_FILE, "/t"),
            (IDENTITY_ENDPOINT, "https://x"),
            (IDENTITY_HEADER, "h"),
        ];
        assert_eq!(kind(None, &workload), Ok(CredentialKind::WorkloadIdentity));
        let app = [(IDENTITY_ENDPOINT, "https://x/msi"), (IDENTITY_HEADER, "h"), (AZURE_CLIENT_ID, "user-assigned")];
        let selection = select(None, env(&app)).map_err(|e| e.to_string());
        match selection {
            Ok(Selection::ManagedIdentity { source: ManagedIdentitySource::AppService { endpoint }, client_id }) => {
                assert_eq!(endpoint, "https://x/msi");
                assert_eq!(client_id.as_deref(), Some("user-assigned"));
            }
            other => panic!("expected App Service managed identity, got {other:?}"),
        }
    }

    #[test]
    fn forcing_a_kind_wins_over_the_order() {
        let mut vars = SECRET.to_vec();
        vars.extend([(IDENTITY_ENDPOINT, "https://x"), (IDENTITY_HEADER, "h")]);
        assert_eq!(kind(Some(CredentialKind::ManagedIdentity), &vars), Ok(CredentialKind::ManagedIdentity));
        let imds = select(Some(CredentialKind::ManagedIdentity), env(&[])).map_err(|e| e.to_string());
        assert!(matches!(
            imds,
            Ok(Selection::ManagedIdentity { source: ManagedIdentitySource::Imds, client_id: None })
        ));
    }

    #[test]
    fn partial_variables_name_what_is_missing() {
        assert_eq!(
            kind(None, &[(AZURE_CLIENT_SECRET, "x"), (AZURE_TENANT_ID, "t")]),
            Err("client-secret credential is incomplete: AZURE_TENANT_ID and AZURE_CLIENT_SECRET set, but AZURE_CLIENT_ID not set".into())
        );
        assert_eq!(
            kind(None, &[(AZURE_CLIENT_ID, "c")]),
            Err("client-secret credential is incomplete: AZURE_CLIENT_ID set, but AZURE_CLIENT_SECRET (client-secret) or AZURE_FEDERATED_TOKEN_FILE (workload-identity) not set".into())
        );
        assert_eq!(
            kind(None, &[(AZURE_FEDERATED_TOKEN_FILE, "/t")]),
            Err("workload-identity credential is incomplete: AZURE_FEDERATED_TOKEN_FILE set, but AZURE_TENANT_ID and AZURE_CLIENT_ID not set".into())
        );
        assert_eq!(
            kind(None, &[(IDENTITY_ENDPOINT, "https://x")]),
            Err("managed-identity credential is incomplete: IDENTITY_ENDPOINT set, but IDENTITY_HEADER not set".into())
        );
        assert_eq!(
            kind(Some(CredentialKind::ClientSecret), &[]),
            Err("client-secret credential is incomplete: nothing set, but AZURE_TENANT_ID and AZURE_CLIENT_ID and AZURE_CLIENT_SECRET not set".into())
        );
    }

    #[test]
    fn no_credential_says_what_to_set() {
        let err = kind(None, &[("PATH", "/nonexistent-dir"), (AZURE_TENANT_ID, "t")]).err().unwrap_or_default();
        assert!(err.starts_with("no Azure credential found: set "), "{err}");
        for name in [AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, IDENTITY_ENDPOINT, IDENTITY_HEADER, "az login"] {
            assert!(err.contains(name), "{name} missing from: {err}");
        }
    }

    #[test]
    fn azure_cli_is_found_on_path() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let az = dir.path().join("az");
        std::fs::write(&az, "#!/bin/sh\n")?;
        let path = format!("/nonexistent-dir:{}", dir.path().display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(kind(None, &[("PATH", &path)]).ok(), None, "a non-executable az must not count");
            std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755))?;
        }
        match select(None, env(&[("PATH", &path)])) {
            Ok(Selection::AzureCli { az: found, .. }) => assert_eq!(found, az),
            other => panic!("expected the Azure CLI, got {other:?}"),
        }
        let err = kind(Some(CredentialKind::AzureCli), &[("PATH", "/nonexistent-dir")]).err().unwrap_or_default();
        assert!(err.contains("no `az` program found"), "{err}");
        Ok(())
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let selection = select(None, env(&SECRET)).map(|s| format!("{s:?}")).unwrap_or_default();
        assert!(selection.contains("ClientSecret"), "{selection}");
        assert!(!selection.contains("s3cr3t-value"), "{selection}");
    }
}
