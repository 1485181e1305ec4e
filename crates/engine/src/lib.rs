//! The evaluation engine of autostop: discovers targets, plans with `autostop_policy`, acts on Azure, confirms what
//! earlier runs left open, records it all in `autostop_state` and delivers notices. The `autostop` binary (CLI,
//! daemon, Functions handler) composes it with its configuration, state store and outputs. [`savings`] reads
//! what the savings ledger needs (the audit log's stops, the inventory's sizes, prices) for the `savings` verb and
//! the status page.

pub mod apply;
pub mod deliver;
pub mod discover;
pub mod evaluation;
pub mod idle;
pub mod interrupt;
mod progress;
pub mod savings;
