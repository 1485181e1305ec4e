//! Building the chosen Azure credential with the official `azure_identity` credentials. There is no
//! DefaultAzureCredential in the crate: the chain is [`select`](fn@select), in a documented order; this module builds it.
//!
//! Secrets live in `azure_core::credentials::Secret` (Debug redacts) and are scrubbed from every error message.

pub(crate) mod kind;
mod select;

pub use kind::CredentialKind;
pub use select::{
    AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID,
    IDENTITY_ENDPOINT, IDENTITY_HEADER, ManagedIdentitySource, Selection, select,
};

use crate::cloud::Cloud;
use crate::error::{Error, ErrorKind, chain_messages};
use async_trait::async_trait;
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::ClientOptions;
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, Executor, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use select::var;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// Options of [`credential`].
#[derive(Clone, Debug, Default)]
pub struct CredentialOptions {
    /// Force this kind (`--credential`); `None` selects automatically.
    pub kind: Option<CredentialKind>,
    /// The cloud whose authority host is used when neither `authority_host` nor `AZURE_AUTHORITY_HOST` is set.
    pub cloud: Cloud,
    /// The Entra authority host; wins over `AZURE_AUTHORITY_HOST`.
    pub authority_host: Option<String>,
    /// The `azure_core` options of the credential's own requests (the transport, retries).
    pub client_options: ClientOptions,
}

/// The authority host: the option, else `AZURE_AUTHORITY_HOST`, else the cloud's. Must be `https://`.
pub fn authority_host(options: &CredentialOptions, env: impl Fn(&str) -> Option<String>) -> Result<String, Error> {
    let host = options
        .authority_host
        .clone()
        .or_else(|| var(&env, AZURE_AUTHORITY_HOST))
        .unwrap_or_else(|| options.cloud.authority_host().to_string());
    match url::Url::parse(&host) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Ok(host),
        _ => Err(ErrorKind::InvalidInput {
            what: "authority host",
            input: host,
            expected: "an https:// URL (the Entra token endpoint is never called over plain http)".into(),
        }
        .into()),
    }
}

/// Chooses the credential from `env` (see [`select`](fn@select) for the order) and builds it with `azure_identity`.
///
/// Returns the kind chosen and the credential. Tokens are cached by `azure_identity` (and by the ARM client's
/// bearer policy) and refreshed five minutes before they expire. Error messages name the credential and never
/// contain the secret.
///
/// The managed identity credential of `azure_identity` reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` from the
/// process environment itself, so `env` should be the process environment for that kind.
pub fn credential(
    options: CredentialOptions,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(CredentialKind, Arc<dyn TokenCredential>), Error> {
    let selection = select(options.kind, &env)?;
    let kind = selection.kind();
    let mut client_options = options.client_options.clone();
    let mut cloud = azure_core::cloud::CustomConfiguration::default();
    cloud.authority_host = authority_host(&options, &env)?;
    client_options.cloud = Some(Arc::new(cloud.into()));
    let mut secrets = Vec::new();
    match &selection {
        Selection::ClientSecret { secret, .. } => secrets.push(secret.clone()),
        Selection::ManagedIdentity { .. } => secrets.extend(var(&env, IDENTITY_HEADER).map(Secret::new)),
        Selection::WorkloadIdentity { .. } | Selection::AzureCli { .. } => {}
    }
    let inner = build(&selection, &client_options).map_err(|e| -> Error {
        ErrorKind::Credential { message: format!("{kind} credential: {}", chain_messages(&e).join(": ")) }.into()
    })?;
    let rebuild: Rebuild = Box::new(move || build(&selection, &client_options));
    Ok((kind, Arc::new(Scrubbed { kind, inner: Mutex::new(inner), rebuild, secrets })))
}

/// Builds the `azure_identity` credential of a selection (each build starts with an empty token cache).
fn build(selection: &Selection, client_options: &ClientOptions) -> azure_core::Result<Arc<dyn TokenCredential>> {
    let client_options = client_options.clone();
    Ok(match selection.clone() {
        Selection::ClientSecret { tenant_id, client_id, secret } => ClientSecretCredential::new(
            &tenant_id,
            client_id,
            secret,
            Some(ClientSecretCredentialOptions { client_options }),
        )?,
        Selection::WorkloadIdentity { tenant_id, client_id, token_file } => {
            WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions { client_options },
                client_id: Some(client_id),
                tenant_id: Some(tenant_id),
                token_file_path: Some(token_file),
            }))?
        }
        Selection::ManagedIdentity { client_id, .. } => {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.map(UserAssignedId::ClientId),
                client_options,
            }))?
        }
        Selection::AzureCli { path, .. } => AzureCliCredential::new(Some(AzureCliCredentialOptions {
            executor: Some(Arc::new(PathExecutor { path })),
            ..Default::default()
        }))?,
    })
}

/// Asks a credential built by [`credential`] for a token that is not from its cache: the ARM client puts this
/// in the request context when ARM answered 401 `ExpiredAuthenticationToken`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FreshToken;

type Rebuild = Box<dyn Fn() -> azure_core::Result<Arc<dyn TokenCredential>> + Send + Sync>;

/// Runs the Azure CLI with the `PATH` of the environment lookup, so selection and execution agree.
#[derive(Debug)]
struct PathExecutor {
    path: OsString,
}

#[async_trait]
impl Executor for PathExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<std::process::Output> {
        tokio::process::Command::new(program).args(args).env("PATH", &self.path).kill_on_drop(true).output().await
    }
}

/// A credential whose errors are one clean line naming the credential kind, with every known secret removed,
/// and which starts over with an empty cache when asked for a [`FreshToken`].
struct Scrubbed {
    kind: CredentialKind,
    inner: Mutex<Arc<dyn TokenCredential>>,
    rebuild: Rebuild,
    secrets: Vec<Secret>,
}

impl fmt::Debug for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl Scrubbed {
    /// The credential to ask: a new one (empty cache) when `fresh`, else the current one.
    fn current(&self, fresh: bool) -> Arc<dyn TokenCredential> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if fresh {
            match (self.rebuild)() {
                Ok(rebuilt) => *inner = rebuilt,
                Err(e) => {
                    tracing::warn!(kind = %self.kind, error = %self.scrub(e.to_string()), "cannot renew the credential")
                }
            }
        }
        inner.clone()
    }

    fn scrub(&self, text: String) -> String {
        self.secrets
            .iter()
            .map(Secret::secret)
            .filter(|s| !s.is_empty())
            .fold(text, |text, secret| text.replace(secret, "[REDACTED]"))
    }
}

#[async_trait]
impl TokenCredential for Scrubbed {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let fresh = options.as_ref().is_some_and(|o| o.method_options.context.value::<FreshToken>().is_some());
        let inner = self.current(fresh);
        inner.get_token(scopes, options).await.map_err(|e| {
            let details = self.scrub(chain_messages(&e).join(": "));
            azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!("{} credential failed: {details}", self.kind),
            )
        })
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

    const SECRET: [(&str, &str); 3] =
        [(AZURE_TENANT_ID, "tenant"), (AZURE_CLIENT_ID, "client"), (AZURE_CLIENT_SECRET, "s3cr3t-value")];

    #[test]
    fn authority_host_order_and_https() {
        let options = CredentialOptions { cloud: Cloud::China, ..Default::default() };
        assert_eq!(authority_host(&options, env(&[])).ok().as_deref(), Some("https://login.chinacloudapi.cn"));
        let from_env = env(&[(AZURE_AUTHORITY_HOST, "https://login.example")]);
        assert_eq!(authority_host(&options, &from_env).ok().as_deref(), Some("https://login.example"));
        let explicit = CredentialOptions { authority_host: Some("https://other".into()), ..Default::default() };
        assert_eq!(authority_host(&explicit, &from_env).ok().as_deref(), Some("https://other"));
        let err = authority_host(&options, env(&[(AZURE_AUTHORITY_HOST, "http://plain")])).err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().starts_with("invalid authority host 'http://plain': expected an https:// URL"));
    }

    #[test]
    fn a_missing_federated_token_file_is_named() {
        let vars = [(AZURE_TENANT_ID, "t"), (AZURE_CLIENT_ID, "c"), (AZURE_FEDERATED_TOKEN_FILE, "/nonexistent/token")];
        let err = credential(CredentialOptions::default(), env(&vars)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("workload-identity credential: "), "{err}");
        assert!(err.contains("/nonexistent/token"), "{err}");
    }

    #[test]
    fn building_reports_the_kind_and_hides_the_secret() {
        let bad_tenant =
            [(AZURE_TENANT_ID, "bad tenant!"), (AZURE_CLIENT_ID, "c"), (AZURE_CLIENT_SECRET, "s3cr3t-value")];
        let err =
            credential(CredentialOptions::default(), env(&bad_tenant)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("client-secret credential: invalid tenant ID bad tenant!"), "{err}");
        assert!(!err.contains("s3cr3t-value"), "{err}");
        let ok = credential(CredentialOptions::default(), env(&SECRET)).map(|(kind, c)| (kind, format!("{c:?}")));
        match ok {
            Ok((kind, debug)) => {
                assert_eq!(kind, CredentialKind::ClientSecret);
                assert!(!debug.contains("s3cr3t-value"), "{debug}");
            }
            Err(e) => panic!("expected a credential, got {e}"),
        }
    }
}
