//! The actions Azure ML runs on a compute instance (start, stop, restart): their path verbs, the states they
//! pass through and end in, the states they may start from, and the RBAC action ARM checks for each.

use super::PROVIDER;

/// A long-running action on a compute instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Stopped -> Starting -> Running.
    Start,
    /// Running | JobRunning -> Stopping -> Stopped.
    Stop,
    /// Running | JobRunning -> Restarting -> Running.
    Restart,
}

impl Action {
    /// Parses the last path segment of `POST .../computes/{name}/{action}` (case-insensitive).
    pub fn parse(segment: &str) -> Option<Action> {
        [Action::Start, Action::Stop, Action::Restart].into_iter().find(|a| a.verb().eq_ignore_ascii_case(segment))
    }

    /// The path segment: `start`, `stop`, `restart`.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }

    /// `lastOperation.operationName`.
    pub(super) fn operation_name(self) -> &'static str {
        match self {
            Action::Start => "Start",
            Action::Stop => "Stop",
            Action::Restart => "Restart",
        }
    }

    /// The state while the action runs.
    pub(super) fn transient_state(self) -> &'static str {
        match self {
            Action::Start => "Starting",
            Action::Stop => "Stopping",
            Action::Restart => "Restarting",
        }
    }

    /// The state once the action succeeded.
    pub(super) fn final_state(self) -> &'static str {
        match self {
            Action::Start | Action::Restart => "Running",
            Action::Stop => "Stopped",
        }
    }

    /// The states the action may start from, as Azure ML names them in its refusal.
    pub(super) fn allowed_from(self, state: &str) -> bool {
        match self {
            Action::Start => state.eq_ignore_ascii_case("Stopped"),
            Action::Stop | Action::Restart => {
                state.eq_ignore_ascii_case("Running") || state.eq_ignore_ascii_case("JobRunning")
            }
        }
    }

    /// The RBAC action ARM checks, e.g. `Microsoft.MachineLearningServices/workspaces/computes/stop/action`.
    pub fn rbac_action(self) -> String {
        format!("{PROVIDER}/workspaces/computes/{}/action", self.verb())
    }
}
