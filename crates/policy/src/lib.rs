//! Policy: what autostop decides, and nothing it does. Pure: no clock, no network, no files.
//!
//! - [`config`]: the TOML configuration, validated with every error located by line and column;
//! - [`duration`]: durations as users write them (`2h`, `500ms`), in the config and on the command line;
//! - [`Instance`] and [`Scope`]: the inventory view the plan reads, and where autostop may act;
//! - [`selector`]: names as globs, tags and sizes;
//! - [`tags`]: the owner tags (opt-out, snooze, named rule);
//! - [`mod@plan`]: inventory + config + window -> actions, skips and missed occurrences, each with its reason;
//! - [`eligibility`]: whether a state allows an action, shared with the ad-hoc verbs.

pub mod config;
pub mod duration;
mod eligibility;
pub mod idle;
mod instance;
pub mod native;
pub mod plan;
pub mod selector;
pub mod tags;

pub use config::{Config, ConfigError, ConfigErrors, Rule};
pub use duration::{DurationError, parse_duration};
pub use eligibility::{Action, SkipReason, eligibility};
pub use instance::{Instance, Kind, NativeSchedule, Scope};
pub use plan::{
    Due, Missed, Occurrences, Plan, PlanSkipReason, PlannedAction, PlannedSkip, Window, occurrences, plan, plan_due,
};
