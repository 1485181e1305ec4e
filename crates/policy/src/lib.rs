//! Policy: what autostop decides, and nothing it does. Pure: no clock, no network, no files.

mod eligibility;

pub use eligibility::{Action, SkipReason, eligibility};
