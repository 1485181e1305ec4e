//! Whether one target may be stopped or started right now, judged only from its kind, type and state.
//!
//! Pure: the same rules serve the ad-hoc verbs (`autostop stop|start`) and the scheduled plan.

use std::fmt;

use crate::instance::{Instance, Kind};

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
    /// A scale set that an autoscale setting manages, and the rule does not force it.
    Autoscaled,
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
            SkipReason::Autoscaled => {
                f.write_str("an autoscale setting manages this scale set; use force to act on it anyway")
            }
            SkipReason::Other(reason) => f.write_str(reason),
        }
    }
}

/// Decides whether `action` may be taken on `target`.
///
/// Compute instances: stop acts only on `Running` (and on `JobRunning` when `force` is set); start acts only on
/// `Stopped`; computes that are not instances are never touched. VMs and scale sets: stop (deallocate) acts on
/// `running` and on `stopped` (powered off but still billed); start acts on `deallocated` and `stopped`; a scale
/// set whose instances differ (`mixed`) may be either; a scale set an autoscale setting manages is left alone
/// unless `force` is set. Everything else is a skip with its reason.
pub fn eligibility(action: Action, target: &Instance, force: bool) -> Result<(), SkipReason> {
    match target.kind {
        Kind::ComputeInstance => compute_eligibility(action, &target.compute_type, target.state.as_deref(), force),
        Kind::Vmss if target.autoscale && !force => Err(SkipReason::Autoscaled),
        Kind::Vm | Kind::Vmss => machine_eligibility(action, target.state.as_deref()),
    }
}

/// A VM's or scale set's power state against the action.
fn machine_eligibility(action: Action, state: Option<&str>) -> Result<(), SkipReason> {
    let state = state.unwrap_or_default();
    let is = |states: &[&str]| states.iter().any(|s| s.eq_ignore_ascii_case(state));
    match action {
        Action::Stop if is(&["running", "stopped", "mixed"]) => Ok(()),
        Action::Start if is(&["deallocated", "stopped", "mixed"]) => Ok(()),
        Action::Stop if is(&["deallocated", "deallocating"]) => {
            Err(SkipReason::AlreadyThere { state: state.to_owned() })
        }
        Action::Start if is(&["running", "starting"]) => Err(SkipReason::AlreadyThere { state: state.to_owned() }),
        _ => Err(SkipReason::WrongState { state: state.to_owned() }),
    }
}

fn compute_eligibility(action: Action, compute_type: &str, state: Option<&str>, force: bool) -> Result<(), SkipReason> {
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

    fn instance(compute_type: &str, state: Option<&str>) -> Instance {
        Instance { compute_type: compute_type.into(), state: state.map(str::to_owned), ..Instance::default() }
    }

    fn machine(kind: Kind, state: &str, autoscale: bool) -> Instance {
        Instance { kind, state: Some(state.into()), autoscale, ..Instance::default() }
    }

    #[test]
    fn vms_stop_means_deallocate_even_when_powered_off() {
        let stop = |state: &str| eligibility(Action::Stop, &machine(Kind::Vm, state, false), false);
        assert_eq!(stop("running"), Ok(()));
        assert_eq!(stop("stopped"), Ok(()), "a powered-off VM still bills: deallocate it");
        assert_eq!(stop("deallocated"), Err(SkipReason::AlreadyThere { state: "deallocated".into() }));
        assert_eq!(stop("starting"), Err(SkipReason::WrongState { state: "starting".into() }));
        assert_eq!(stop("hibernated"), Err(SkipReason::WrongState { state: "hibernated".into() }));
        let start = |state: &str| eligibility(Action::Start, &machine(Kind::Vm, state, false), false);
        assert_eq!(start("deallocated"), Ok(()));
        assert_eq!(start("stopped"), Ok(()));
        assert_eq!(start("running"), Err(SkipReason::AlreadyThere { state: "running".into() }));
    }

    #[test]
    fn autoscaled_scale_sets_need_force() {
        let set = machine(Kind::Vmss, "running", true);
        assert_eq!(eligibility(Action::Stop, &set, false), Err(SkipReason::Autoscaled));
        assert_eq!(eligibility(Action::Stop, &set, true), Ok(()));
        assert_eq!(eligibility(Action::Start, &machine(Kind::Vmss, "mixed", false), false), Ok(()));
    }

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
                eligibility(Action::Stop, &instance("ComputeInstance", Some(state)), force),
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
            assert_eq!(
                eligibility(Action::Start, &instance("ComputeInstance", Some(state)), true),
                expected,
                "{state}"
            );
        }
    }

    #[test]
    fn computes_that_are_not_instances_are_never_touched() {
        let got = eligibility(Action::Stop, &instance("AmlCompute", Some("Running")), true);
        assert_eq!(got, Err(SkipReason::NotAnInstance { compute_type: "AmlCompute".into() }));
        assert!(got.unwrap_err().to_string().contains("AmlCompute"));
    }

    #[test]
    fn a_missing_state_is_reported_as_unknown() {
        let got = eligibility(Action::Start, &instance("ComputeInstance", None), false).unwrap_err();
        assert_eq!(got.to_string(), "state unknown");
    }
}
