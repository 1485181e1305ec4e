//! What ARM answers when a request fails: an HTTP status and `{"error":{"code","message"}}`.
//!
//! A plain value, so the state machine can say *what* ARM would answer without knowing about HTTP servers.

use serde_json::{Value, json};

/// An ARM error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArmError {
    /// The HTTP status.
    pub status: u16,
    /// ARM's error code, e.g. `ResourceNotFound`.
    pub code: String,
    /// The message, naming the resource or parameter concerned.
    pub message: String,
    /// The `WWW-Authenticate` header, for 401 answers.
    pub www_authenticate: Option<String>,
    /// The `Retry-After` header in seconds, for 429 answers.
    pub retry_after: Option<u64>,
    /// `error.details`, when ARM sends some (the Compute RP's throttling names its policy there).
    pub details: Option<Box<Value>>,
}

impl ArmError {
    /// An error with the given status, code and message.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ArmError {
        ArmError {
            status,
            code: code.to_owned(),
            message: message.into(),
            www_authenticate: None,
            retry_after: None,
            details: None,
        }
    }

    /// The JSON body ARM sends.
    pub fn body(&self) -> Value {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if let Some(details) = &self.details {
            body["error"]["details"] = (**details).clone();
        }
        body
    }

    /// 400 for a request the emulator does not implement: it fails loudly instead of approximating.
    pub fn unsupported(what: impl std::fmt::Display) -> ArmError {
        ArmError::new(400, "UnsupportedByEmulator", format!("The autostop Azure emulator does not support {what}."))
    }
}
