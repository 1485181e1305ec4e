//! The one error type of this crate, and the translation of `azure_core` errors into it.
//!
//! Messages are lowercase, name the input or resource, and never carry a token or a secret. `azure_core::Error`'s
//! Debug text is never shown: its chain is read and turned into one short sentence instead.

use crate::credential::kind::CredentialKind;
use crate::power::PowerAction;
use std::time::Duration;

/// An error from this crate: bad input, no usable credential, a transport failure, or what ARM answered.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<ErrorKind>);

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The HTTP status ARM answered, when the error is an ARM error response.
    pub fn http_status(&self) -> Option<u16> {
        match self.kind() {
            ErrorKind::Arm { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when ARM answered 404 (unknown subscription, resource group, workspace or compute).
    pub fn is_not_found(&self) -> bool {
        self.http_status() == Some(404)
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

/// The kinds of [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value given by the user or a response is not what was expected (a name, a cloud, an endpoint...).
    #[error("invalid {what} '{input}': expected {expected}")]
    InvalidInput {
        /// What the value is (e.g. "compute name", "cloud").
        what: &'static str,
        /// The value as given.
        input: String,
        /// What would have been accepted.
        expected: String,
    },
    /// An ARM resource id that does not parse.
    #[error("invalid ARM id '{id}': {part}: expected {expected}, found '{found}'")]
    InvalidId {
        /// The id as given.
        id: String,
        /// The part that is wrong (e.g. "subscription id", "resource group name").
        part: &'static str,
        /// What that part should look like.
        expected: String,
        /// What was there instead.
        found: String,
    },
    /// No credential is configured at all.
    #[error(
        "no Azure credential found: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (client-secret), \
         or AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE (workload-identity), \
         or IDENTITY_ENDPOINT and IDENTITY_HEADER (managed-identity on App Service / Functions), \
         or log in with `az login` and have `az` on PATH (azure-cli), \
         or pass --credential managed-identity on an Azure VM (IMDS)"
    )]
    NoCredential,
    /// Some, but not all, variables of a credential are set.
    #[error("{kind} credential is incomplete: {present} set, but {missing} not set")]
    IncompleteCredential {
        /// The credential the variables belong to.
        kind: CredentialKind,
        /// The variables that are set, joined with " and ".
        present: String,
        /// The variables that are missing, joined with " and ".
        missing: String,
    },
    /// A credential could not be built or could not get a token. The message names the credential and keeps
    /// the token endpoint's words (e.g. the AADSTS code and text); the secret never appears.
    #[error("{message}")]
    Credential {
        /// What the credential or its token endpoint said.
        message: String,
    },
    /// The PEM file of extra trust roots could not be used.
    #[error("cannot use the trust roots in '{path}': {message}")]
    Certificates {
        /// The PEM file.
        path: String,
        /// Why.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {message}")]
    HttpClient {
        /// Why.
        message: String,
    },
    /// A request did not get an HTTP response: connection refused, timeout, TLS failure...
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// The URL (without its query string).
        url: String,
        /// What happened (e.g. "connection refused", "timed out").
        message: String,
        /// True when the request timed out.
        timeout: bool,
    },
    /// ARM answered with an error status.
    #[error("{resource}: {code}: {message} (HTTP {status}){}", fmt_action(*action, code))]
    Arm {
        /// The HTTP status.
        status: u16,
        /// ARM's error code (e.g. `ResourceNotFound`, `AuthorizationFailed`), or the HTTP reason without a body.
        code: String,
        /// ARM's error message.
        message: String,
        /// The resource the request concerned (an ARM id or scope).
        resource: String,
        /// The authorization action the request needs, for `AuthorizationFailed`.
        action: Option<&'static str>,
    },
    /// A long-running operation ended Failed or Canceled.
    #[error("{action} of {resource} ended {status}{}", fmt_operation_error(code.as_deref(), message.as_deref()))]
    Operation {
        /// The compute the operation ran on.
        resource: String,
        /// The action that was requested.
        action: PowerAction,
        /// `Failed` or `Canceled` (as ARM spelled it).
        status: String,
        /// ARM's error code, when the status carried one.
        code: Option<String>,
        /// ARM's error message, when the status carried one.
        message: Option<String>,
    },
    /// A long-running operation did not finish within the polling deadline.
    #[error("{action} of {resource} did not finish within {}s", waited.as_secs())]
    Deadline {
        /// The compute the operation runs on.
        resource: String,
        /// The action that was requested.
        action: PowerAction,
        /// How long the client waited.
        waited: Duration,
    },
    /// A response could not be understood.
    #[error("unexpected response from {url}: {message}")]
    Decode {
        /// The URL (without its query string).
        url: String,
        /// What was wrong.
        message: String,
    },
}

fn fmt_action(action: Option<&'static str>, code: &str) -> String {
    match action {
        Some(action) if code.eq_ignore_ascii_case("AuthorizationFailed") => {
            format!("; this call needs the permission {action}")
        }
        _ => String::new(),
    }
}

fn fmt_operation_error(code: Option<&str>, message: Option<&str>) -> String {
    match (code, message) {
        (Some(code), Some(message)) => format!(": {code}: {message}"),
        (Some(text), None) | (None, Some(text)) => format!(": {text}"),
        (None, None) => String::new(),
    }
}

/// A URL as it may appear in an error: scheme, host, port and path, without the query (status URLs carry
/// signatures and are kilobytes long).
pub(crate) fn display_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

/// The messages of an error chain, outermost first, without the generic wrappers `azure_core` adds.
pub(crate) fn chain_messages(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    const NOISE: &[&str] = &[
        "non-transport error occurred which will not be retried",
        "retry policy expired and the request will no longer be retried",
        "failed to execute `reqwest` request",
    ];
    let mut messages: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(err) = current {
        let text = err.to_string().replace(['\n', '\r'], " ");
        let text = text.trim().to_string();
        if !text.is_empty() && !NOISE.contains(&text.as_str()) && !messages.iter().any(|m| m.contains(&text)) {
            messages.push(text);
        }
        current = err.source();
    }
    messages
}

/// Whether an error chain contains an I/O error of this kind (e.g. connection refused).
fn chain_has_io_kind(error: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == kind
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// Whether an error chain contains a reqwest timeout.
fn chain_has_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(reqwest) = err.downcast_ref::<reqwest::Error>()
            && reqwest.is_timeout()
        {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// The first `azure_core` error of the chain whose kind is `Credential`, if any.
fn find_credential_error(error: &azure_core::Error) -> Option<&azure_core::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(core) = err.downcast_ref::<azure_core::Error>()
            && matches!(core.kind(), azure_core::error::ErrorKind::Credential)
        {
            return Some(core);
        }
        current = err.source();
    }
    None
}

/// Translates an `azure_core` error raised while sending a request to `url`.
pub(crate) fn from_core(error: azure_core::Error, url: &url::Url) -> Error {
    use azure_core::error::ErrorKind as CoreKind;
    if let Some(cred) = find_credential_error(&error) {
        let message = chain_messages(cred).join(": ");
        return ErrorKind::Credential { message }.into();
    }
    let url = display_url(url);
    if chain_has_timeout(&error) {
        return ErrorKind::Transport { url, message: "timed out".into(), timeout: true }.into();
    }
    if chain_has_io_kind(&error, std::io::ErrorKind::ConnectionRefused) {
        return ErrorKind::Transport { url, message: "connection refused".into(), timeout: false }.into();
    }
    let mut message = chain_messages(&error)
        .into_iter()
        .filter(|m| !m.starts_with("error sending request for url"))
        .collect::<Vec<_>>()
        .join(": ");
    if message.contains("UnknownIssuer") {
        message.push_str(" (to trust a private CA, name its PEM file in SSL_CERT_FILE)");
    }
    match error.kind() {
        CoreKind::Connection | CoreKind::Io => ErrorKind::Transport { url, message, timeout: false }.into(),
        _ => ErrorKind::Decode { url, message }.into(),
    }
}
