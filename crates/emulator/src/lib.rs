//! autostop-emulator: a local Azure emulator over HTTPS (Entra token endpoint, managed identity, ARM for Azure ML
//! workspaces and computes), like Azurite for storage.
//!
//! It behaves like Azure so that a client that works against it works against Azure: HTTPS with a generated CA,
//! bearer tokens checked on every ARM call, `api-version` required, paging with absolute `nextLink`s, start / stop /
//! restart answered `202` with an `Azure-AsyncOperation` header and operation-status polling, instances moving
//! through `Starting` / `Stopping` / `Restarting` over a settable time. What it does not support fails loudly with an
//! ARM-shaped error naming the request, rather than being approximated. Tests drive it through [`Control`] (or the
//! `/_emulator/...` management path) instead of sleeping.
//!
//! ```no_run
//! # async fn demo() -> Result<(), autostop_emulator::Error> {
//! use autostop_emulator::{Emulator, Options};
//! let emulator = Emulator::start(Options::default()).await?;
//! println!("ARM at {}, trust {}", emulator.arm_endpoint(), emulator.ca_path().display());
//! emulator.control().complete_operations();
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod api_versions;
mod arm;
mod arm_error;
mod azureml_sdk;
mod clock;
mod compute_limits;
mod control;
mod entra_discovery;
mod faults;
mod fleet;
mod identity;
mod login_proxy;
mod machines;
mod operations;
mod options;
mod retail_prices;
mod secret;
mod server;
mod throttle;
mod tls;
mod tokens;
mod world;

use std::path::PathBuf;

pub use compute_limits::ComputeLimits;
pub use control::{Control, HttpVersion, RecordedRequest, actions};
pub use faults::Faults;
pub use fleet::{
    AML_COMPUTE, COMPUTE_INSTANCE, Compute, Fleet, NativeSchedule, ResourceGroup, ScaleSet, Subscription,
    VirtualMachine, Workspace,
};
pub use options::Options;
pub use server::Emulator;
pub use throttle::ThrottleOptions;

/// What can go wrong starting the emulator or loading its fleet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The fleet JSON does not parse or does not have the expected shape.
    #[error("fleet {}line {line}, column {column}: {reason}", path.as_ref().map(|p| format!("file {}: ", p.display())).unwrap_or_default())]
    FleetJson {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What serde expected and found.
        reason: String,
    },
    /// The fleet parsed but is not one the emulator can serve.
    #[error("invalid fleet{}: {reason}", path.as_ref().map(|p| format!(" file {}", p.display())).unwrap_or_default())]
    FleetInvalid {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// What is wrong, naming the entry.
        reason: String,
    },
    /// The fleet file could not be read.
    #[error("cannot read fleet file {}: {source}", path.display())]
    ReadFleet {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An option value the emulator cannot work with.
    #[error("invalid emulator option {name}: expected {expected}, found {found}")]
    InvalidOption {
        /// The option name.
        name: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What was given.
        found: String,
    },
    /// Generating the CA or server certificate failed.
    #[error("cannot set up the emulator's TLS certificates: {reason}")]
    Tls {
        /// The step that failed and why.
        reason: String,
    },
    /// The CA certificate could not be written.
    #[error("cannot write the emulator's CA certificate to {}: {source}", path.display())]
    WriteCa {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}
