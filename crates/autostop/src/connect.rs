//! Builds the ARM client from the command line and the environment: trust roots, credential, endpoint.

use std::path::PathBuf;

use anyhow::Context as _;
use autostop_azure::{
    ArmClient, ArmClientOptions, Cloud, CredentialKind, CredentialOptions, DEFAULT_API_VERSION, HttpClientOptions,
};
use autostop_policy::config::AzureSettings;

use crate::UsageError;

/// Everything needed to reach Azure, resolved from arguments and an environment.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The cloud whose authority host and token scope are used.
    pub cloud: Cloud,
    /// The ARM endpoint requests go to.
    pub arm_endpoint: String,
    /// A credential to force instead of the first available one.
    pub credential: Option<CredentialKind>,
    /// The Machine Learning Services API version.
    pub api_version: String,
    /// Extra trust roots (a PEM file), as `SSL_CERT_FILE` names them.
    pub extra_roots: Option<PathBuf>,
}

impl Connection {
    /// Resolves the connection from command-line arguments and the process environment.
    pub fn from_args(args: &AzureArgs) -> Self {
        let cloud = args.cloud.unwrap_or_default();
        Connection {
            cloud,
            arm_endpoint: args.arm_endpoint.clone().unwrap_or_else(|| cloud.arm_endpoint().to_owned()),
            credential: args.credential,
            api_version: args.api_version.clone().unwrap_or_else(|| DEFAULT_API_VERSION.to_owned()),
            extra_roots: std::env::var_os("SSL_CERT_FILE").map(PathBuf::from),
        }
    }

    /// Resolves the connection from the arguments (and environment), then the config's `[azure]`, then the
    /// defaults, in that order of precedence.
    pub fn from_args_and_config(args: &AzureArgs, settings: &AzureSettings) -> Result<Self, UsageError> {
        let merged = AzureArgs {
            credential: args.credential.or(parsed("credential", settings.credential.as_ref())?),
            cloud: args.cloud.or(parsed("cloud", settings.cloud.as_ref())?),
            arm_endpoint: args.arm_endpoint.clone().or_else(|| settings.arm_endpoint.clone()),
            api_version: args.api_version.clone().or_else(|| settings.api_version.clone()),
        };
        Ok(Connection::from_args(&merged))
    }

    /// Builds the credential and the client. `env` answers environment lookups (the process environment in
    /// production, fixed values in the demo).
    pub fn client(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<(CredentialKind, ArmClient)> {
        let http = HttpClientOptions { extra_roots_pem: self.extra_roots.clone(), ..HttpClientOptions::default() };
        // Lanes of their own past 100 requests in flight: a scope of many subscriptions outgrows one HTTP/2
        // connection.
        let client_options = autostop_azure::client_options_for(&http).map_err(|err| UsageError(err.to_string()))?;
        let (kind, credential) = autostop_azure::credential(
            CredentialOptions {
                kind: self.credential,
                cloud: self.cloud,
                authority_host: None, // AZURE_AUTHORITY_HOST, read through `env`, or the cloud's
                client_options: client_options.clone(),
            },
            &env,
        )
        .map_err(|err| UsageError(err.to_string()))?;
        let options = ArmClientOptions {
            api_version: self.api_version.clone(),
            scope: self.cloud.arm_scope().to_owned(),
            client_options,
            ..Default::default()
        };
        let client = ArmClient::new(&self.arm_endpoint, credential, Some(options))
            .map_err(|err| UsageError(err.to_string()))
            .with_context(|| format!("cannot use the ARM endpoint {}", self.arm_endpoint))?;
        Ok((kind, client))
    }
}

/// Parses an optional `[azure]` setting.
fn parsed<T>(what: &str, value: Option<&String>) -> Result<Option<T>, UsageError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.map(|text| text.parse().map_err(|err| UsageError(format!("[azure] {what}: {err}")))).transpose()
}

/// Looks a variable up in the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// How to reach Azure: endpoints, credential and API version.
#[derive(Debug, Clone, clap::Args)]
pub struct AzureArgs {
    /// Credential to use instead of the first one available (client-secret, workload-identity,
    /// managed-identity, azure-cli).
    #[arg(long, env = "AUTOSTOP_CREDENTIAL", global = true)]
    pub credential: Option<autostop_azure::CredentialKind>,

    /// Azure cloud: public (the default), china or usgov.
    #[arg(long, env = "AUTOSTOP_CLOUD", global = true)]
    pub cloud: Option<autostop_azure::Cloud>,

    /// ARM endpoint to use instead of the cloud's (HTTPS only), e.g. a local emulator.
    #[arg(long, env = "AUTOSTOP_ARM_ENDPOINT", global = true)]
    pub arm_endpoint: Option<String>,

    /// Machine Learning Services API version [default: 2024-04-01].
    #[arg(long, env = "AUTOSTOP_API_VERSION", global = true)]
    pub api_version: Option<String>,
}
