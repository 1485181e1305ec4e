//! The audit log and run state of autostop: an embedded SQLite database recording every run, action, skip, miss
//! and failure, and the "last evaluated" instant that drives the scheduling window.
//!
//! Durable by construction: WAL journal, `synchronous=FULL`, and one committed transaction per event, so a
//! process killed with `kill -9` loses nothing it had reported done. Decides nothing: it only stores and answers.
//!
//! The default location is [`Store::default_path`]: `$XDG_STATE_HOME/autostop/audit.db`, else
//! `$HOME/.local/state/autostop/audit.db`.

mod error;
mod event;
mod schema;
mod store;

pub use error::Error;
pub use event::{Event, EventKind, EventRecord, HistoryQuery, NewRun, RunId, RunStatus};
pub use store::Store;
