//! Policy: what autostop decides, and nothing it does. Pure: no clock, no network, no files.
//!
//! - [`config`]: the TOML configuration, validated with every error located by line and column;
//! - [`duration`]: durations as users write them (`2h`, `500ms`), in the config and on the command line;
//! - [`Instance`] and [`Scope`]: the inventory view the plan reads, and where autostop may act;
//! - [`selector`]: names as globs, tags and sizes;
//! - [`tags`]: the owner tags (opt-out, snooze, named rule);
//! - [`mod@plan`]: inventory + config + window -> actions, skips and missed occurrences, each with its reason;
//! - [`facts`]: what the plan reads from the state (autostop's own stops, owners' postponements);
//! - [`owner_stop`]: whether an owner stopped an instance themselves (a start rule does not undo it);
//! - [`timeline`](mod@timeline): every occurrence of a future window in time order, simulating forward;
//! - [`savings`]: hours stopped by autostop and what they would have cost;
//! - [`targets`]: which targets the ad-hoc verbs (`autostop stop|start`) consider, and what they do with each;
//! - `eligibility`: whether a state allows an action, shared with the ad-hoc verbs.

pub mod config;
pub mod duration;
mod eligibility;
pub mod facts;
pub mod idle;
mod instance;
pub mod native;
pub mod owner_stop;
pub mod plan;
pub mod savings;
pub mod selector;
pub mod tags;
pub mod targets;
pub mod timeline;

pub use config::{Config, ConfigError, ConfigErrors, Rule};
pub use duration::{DurationError, parse_duration};
pub use eligibility::{Action, SkipReason, eligibility};
pub use facts::{Choice, Postponed, StateFacts};
pub use instance::{Instance, Kind, LastOperation, NativeSchedule, Scope};
pub use plan::{
    Due, Missed, Occurrences, Plan, PlanSkipReason, PlannedAction, PlannedSkip, PostponedDue, Window, occurrences,
    plan, plan_due,
};
pub use timeline::{Decision, PlannedNotice, Step, Timeline, timeline};
