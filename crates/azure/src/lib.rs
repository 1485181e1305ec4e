//! autostop-azure: all of autostop's Azure I/O, and no policy. Credentials (the official `azure_identity`
//! credentials, chosen in a documented order), a typed ARM client for Azure ML workspaces and computes over the
//! `azure_core` pipeline, and long-running start / stop / restart operations.
//!
//! # Credentials
//!
//! `credential` picks one credential from an environment lookup, in this order, unless `--credential NAME`
//! ([`CredentialOptions::kind`]) forces one:
//!
//! 1. `client-secret`: `AZURE_CLIENT_SECRET` set (with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`);
//! 2. `workload-identity`: `AZURE_FEDERATED_TOKEN_FILE` set (with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`);
//! 3. `managed-identity` on App Service / Functions: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` set;
//! 4. `azure-cli`: an `az` program on `PATH`;
//! 5. nothing: an error listing what to set for each kind.
//!
//! A VM's IMDS managed identity is used only when `managed-identity` is forced and no App Service variables are
//! set: tried automatically off Azure it would only time out. Partly set variables are an error naming what is
//! missing. The authority host is [`CredentialOptions::authority_host`], else `AZURE_AUTHORITY_HOST`, else the
//! cloud's; it must be `https://`. Tokens are cached and refreshed five minutes before they expire (by
//! `azure_identity` and by the client's bearer token policy). Secrets never appear in errors or Debug output.
//!
//! # Endpoints and scope
//!
//! [`Cloud`] gives the ARM endpoint, authority host and token scope of the public, China and US Government
//! clouds. [`ArmClient::new`] takes any `https://` endpoint (e.g. `--arm-endpoint` / `AUTOSTOP_ARM_ENDPOINT`);
//! the token scope then stays the chosen cloud's ARM audience (`https://management.azure.com/.default` by
//! default) unless [`ArmClientOptions::scope`] overrides it. Plain `http://` is refused. Extra trust roots come
//! from a PEM file ([`http_client`], `SSL_CERT_FILE`).
//!
//! # Staying inside ARM's limits
//!
//! Every request first takes a token from a client-side mirror of ARM's per-subscription buckets
//! ([`throttle`]; reads 250 burst / 25 per second, writes 200 / 10 per second), which follows the
//! `x-ms-ratelimit-remaining-subscription-*` headers and 429s. `azure_core`'s retry policy retries 408, 429
//! (after `Retry-After`), 5xx and connection errors with exponential backoff and jitter, bounded in count and
//! time ([`retry_options`]). A 401 `ExpiredAuthenticationToken` is retried once with a token from no cache. [`ArmClient::stats`]
//! counts requests, retries and throttles for metrics.
//!
//! # Errors
//!
//! One [`Error`] with an [`ErrorKind`]: ARM errors show `{resource}: {code}: {message} (HTTP {status})`, and for
//! `AuthorizationFailed` the permission the call needed ([`ACTIONS`] lists all of them).

#![deny(missing_docs)]

mod client;
mod cloud;
mod compute;
mod credential;
mod error;
mod ids;
mod ml_idle;
mod models;
mod names;
mod operation;
mod policy;
mod power;
pub mod prices;
pub mod request;
mod target;
pub mod throttle;
mod transport;

pub use client::{ArmClient, ArmClientOptions, DEFAULT_API_VERSION};
pub use cloud::Cloud;
pub use compute::throttle as compute_throttle;
pub use compute::throttle::ComputeThrottleOptions;
pub use compute::{
    COMPUTE_API_VERSION, COMPUTE_PROVIDER, MACHINE_RULE, Machine, MachineId, MachineKind, PowerState,
    machine_permission, machine_verb,
};
pub use credential::{
    AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID,
    CredentialKind, CredentialOptions, IDENTITY_ENDPOINT, IDENTITY_HEADER, ManagedIdentitySource, Selection,
    authority_host, credential, select,
};
pub use error::{Error, ErrorKind};
pub use ids::{ComputeId, PROVIDER, SubscriptionId, WorkspaceId};
pub use ml_idle::NativeSchedule;
pub use models::{Compute, ComputeList, ComputeState, ComputeType, LastOperation, Unhandled, Workspace};
pub use names::{
    COMPUTE_RULE, RESOURCE_GROUP_RULE, SUBSCRIPTION_RULE, WORKSPACE_RULE, validate_compute_name,
    validate_resource_group, validate_subscription_id, validate_workspace_name,
};
pub use operation::{Operation, PollOptions, Polled, StatusHeader};
pub use policy::Stats;
pub use power::PowerAction;
pub use request::ACTIONS;
pub use target::{Resource, TargetId};
pub use throttle::{DEFAULT_HEADROOM, ThrottleOptions};
pub use transport::{
    HttpClientOptions, SSL_CERT_FILE, client_options, client_options_for, http_client, http_client_with, in_flight_for,
    retry_options,
};

/// The environment variable naming the ARM endpoint (`--arm-endpoint`).
pub const AUTOSTOP_ARM_ENDPOINT: &str = "AUTOSTOP_ARM_ENDPOINT";

/// Re-exported so callers need not depend on `azure_core` for the credential type and client options.
pub use azure_core::credentials::TokenCredential;
pub use azure_core::http::ClientOptions;
