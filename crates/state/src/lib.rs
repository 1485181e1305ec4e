//! autostop's state: everything that must survive a process and be shared between processes — the audit log,
//! the claims that make each scheduled action happen exactly once, the runs that hold them, the "last
//! evaluated" cell that drives the scheduling window, occurrences still pending because their scope could
//! not be read, owners' postponements of coming stops, the key that signs notice links, and the hourly prices
//! last fetched. [`election`] is leader election between replicas over a Blob state's leader lease.
//!
//! [`StateStore`] is the one interface the engine uses. [`SqliteStore`] is the embedded backend (a file, WAL,
//! `synchronous=FULL`, one committed and checked transaction per change); [`BlobStore`] keeps the state in an
//! Azure Blob Storage container, shared by processes on any number of machines (`docs/adr/0007-blob-state.md`).
//! The model — claim, then act, then confirm, each step durable before the next — is written down in
//! `docs/adr/0004-state-model.md`. Decides nothing: it only stores, compares-and-sets and answers.

mod blob;
mod claim;
pub mod election;
mod error;
mod event;
mod migrate;
mod owner;
mod pending;
mod postponement;
mod price;
mod run;
mod sqlite;
mod store;

pub use blob::{
    Acquired, AddressError, BlobAddress, BlobStore, LeaderIdentity, LeaderLease, LeaseDuration, LeaseDurationError,
    LeaseId, Renewed,
};
pub use claim::{Claim, ClaimKey, ClaimOutcome, ClaimStatus, NewClaim, Transition};
pub use error::Error;
pub use event::{Event, EventKind, EventRecord, HistoryQuery, rfc3339};
pub use migrate::{MigrateError, Migrated, migrate};
pub use owner::Owner;
pub use pending::Pending;
pub use postponement::Postponement;
pub use price::CachedPrice;
pub use run::{NewRun, RunId, RunRecord, RunStatus};
pub use sqlite::SqliteStore;
pub use store::StateStore;
