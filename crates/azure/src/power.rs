//! The power actions on a compute instance (start, stop, restart): their URL verb and the permission each needs.
//!
//! Vocabulary only, with no dependency on the rest of the crate, so that the crate's error, the request builders
//! and the operations can all name an action while the dependencies point one way. Parsing a name, which can
//! fail with the crate's error, is in `operation`.

use serde::Serialize;
use std::fmt;

/// The action needed to start a compute instance.
pub const ACTION_START: &str = "Microsoft.MachineLearningServices/workspaces/computes/start/action";
/// The action needed to stop a compute instance.
pub const ACTION_STOP: &str = "Microsoft.MachineLearningServices/workspaces/computes/stop/action";
/// The action needed to restart a compute instance.
pub const ACTION_RESTART: &str = "Microsoft.MachineLearningServices/workspaces/computes/restart/action";

/// A power action on a compute instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    /// Start a stopped instance.
    Start,
    /// Stop a running instance.
    Stop,
    /// Restart a running instance.
    Restart,
}

impl PowerAction {
    /// The last URL segment: `start`, `stop` or `restart`.
    pub fn verb(self) -> &'static str {
        match self {
            PowerAction::Start => "start",
            PowerAction::Stop => "stop",
            PowerAction::Restart => "restart",
        }
    }

    /// The authorization action the call needs.
    pub fn permission(self) -> &'static str {
        match self {
            PowerAction::Start => ACTION_START,
            PowerAction::Stop => ACTION_STOP,
            PowerAction::Restart => ACTION_RESTART,
        }
    }
}

impl fmt::Display for PowerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())
    }
}
