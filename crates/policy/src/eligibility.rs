//! Whether one compute may be stopped or started right now, judged only from its type and state.
//!
//! Pure: the same rules serve the ad-hoc verbs (`autostop stop|start`) and the scheduled plan.

use std::fmt;

/// What autostop can do to a compute instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Start a `Stopped` instance.
    Start,
    /// Stop a `Running` instance.
    Stop,
}

impl Action {
    /// The lowercase verb used in output and configuration: `start` or `stop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a compute was left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The compute is not a compute instance (an AmlCompute cluster, an attached compute...).
    NotAnInstance {
        /// The compute type ARM reported.
        compute_type: String,
    },
    /// A job is running on the instance and `force` was not given.
    JobRunning,
    /// The instance is already in the state the action would bring it to.
    AlreadyThere {
        /// The state ARM reported.
        state: String,
    },
    /// The instance is in a state from which the action cannot be taken (transitioning, failed, unknown...).
    WrongState {
        /// The state ARM reported (empty when ARM reported none).
        state: String,
    },
    /// Anything else, with its explanation (owner tags, exclusions, snoozes...).
    Other(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotAnInstance { compute_type } => {
                write!(f, "not a compute instance (computeType {compute_type})")
            }
            SkipReason::JobRunning => f.write_str("a job is running (JobRunning); use force to stop it anyway"),
            SkipReason::AlreadyThere { state } => write!(f, "already {state}"),
            SkipReason::WrongState { state } if state.is_empty() => f.write_str("state unknown"),
            SkipReason::WrongState { state } => write!(f, "state is {state}"),
            SkipReason::Other(reason) => f.write_str(reason),
        }
    }
}

/// Decides whether `action` may be taken on a compute of type `compute_type` in state `state`.
///
/// Stop acts only on `Running` (and on `JobRunning` when `force` is set); start acts only on `Stopped`.
/// Everything else, including computes that are not instances, is a skip with its reason.
pub fn eligibility(action: Action, compute_type: &str, state: Option<&str>, force: bool) -> Result<(), SkipReason> {
    if !compute_type.eq_ignore_ascii_case("ComputeInstance") {
        return Err(SkipReason::NotAnInstance { compute_type: compute_type.to_owned() });
    }
    let state = state.unwrap_or_default();
    match (action, state) {
        (Action::Stop, "Running") | (Action::Start, "Stopped") => Ok(()),
        (Action::Stop, "JobRunning") if force => Ok(()),
        (Action::Stop, "JobRunning") => Err(SkipReason::JobRunning),
        (Action::Stop, "Stopped" | "Stopping") | (Action::Start, "Running" | "Starting" | "JobRunning") => {
            Err(SkipReason::AlreadyThere { state: state.to_owned() })
        }
        _ => Err(SkipReason::WrongState { state: state.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_acts_only_on_running_and_forced_job_running() {
        let cases = [
            ("Running", false, Ok(())),
            ("JobRunning", false, Err(SkipReason::JobRunning)),
            ("JobRunning", true, Ok(())),
            ("Stopped", false, Err(SkipReason::AlreadyThere { state: "Stopped".into() })),
            ("Stopping", true, Err(SkipReason::AlreadyThere { state: "Stopping".into() })),
            ("Starting", false, Err(SkipReason::WrongState { state: "Starting".into() })),
            ("CreateFailed", true, Err(SkipReason::WrongState { state: "CreateFailed".into() })),
            ("SomethingNew", false, Err(SkipReason::WrongState { state: "SomethingNew".into() })),
        ];
        for (state, force, expected) in cases {
            assert_eq!(
                eligibility(Action::Stop, "ComputeInstance", Some(state), force),
                expected,
                "{state} force={force}"
            );
        }
    }

    #[test]
    fn start_acts_only_on_stopped() {
        let cases = [
            ("Stopped", Ok(())),
            ("Running", Err(SkipReason::AlreadyThere { state: "Running".into() })),
            ("JobRunning", Err(SkipReason::AlreadyThere { state: "JobRunning".into() })),
            ("Stopping", Err(SkipReason::WrongState { state: "Stopping".into() })),
            ("Unusable", Err(SkipReason::WrongState { state: "Unusable".into() })),
        ];
        for (state, expected) in cases {
            assert_eq!(eligibility(Action::Start, "ComputeInstance", Some(state), true), expected, "{state}");
        }
    }

    #[test]
    fn computes_that_are_not_instances_are_never_touched() {
        let got = eligibility(Action::Stop, "AmlCompute", Some("Running"), true);
        assert_eq!(got, Err(SkipReason::NotAnInstance { compute_type: "AmlCompute".into() }));
        assert!(got.unwrap_err().to_string().contains("AmlCompute"));
    }

    #[test]
    fn a_missing_state_is_reported_as_unknown() {
        let got = eligibility(Action::Start, "ComputeInstance", None, false).unwrap_err();
        assert_eq!(got.to_string(), "state unknown");
    }
}
