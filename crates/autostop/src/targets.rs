//! Which computes an ad-hoc verb (`autostop stop|start`) considers, and what it does with each. Pure.

use autostop_azure::{Compute, Unhandled};
use autostop_policy::{Action, SkipReason, eligibility};

/// Which computes the user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every compute in the scope (`--all`).
    All,
    /// Computes with these names (case-insensitive), in any workspace of the scope.
    Names(Vec<String>),
}

/// One compute the verb considered, and whether it will act on it.
#[derive(Debug, Clone)]
pub struct Considered<'a> {
    /// The compute as discovery saw it.
    pub compute: &'a Compute,
    /// `Ok` to act, or why not.
    pub decision: Result<(), SkipReason>,
}

/// The verb's plan: what it considers, and the names the user gave that matched nothing.
#[derive(Debug, Clone)]
pub struct Targets<'a> {
    /// Every compute considered, in discovery order.
    pub considered: Vec<Considered<'a>>,
    /// Names given on the command line that match no compute of the scope.
    pub unknown_names: Vec<String>,
}

/// The computes discovery could not handle that the selection covers: all of them for `--all`, those with a
/// given name (case-insensitive) otherwise. They are reported as skipped, never acted on.
pub fn unhandled_selected<'a>(unhandled: &'a [Unhandled], selection: &Selection) -> Vec<&'a Unhandled> {
    unhandled
        .iter()
        .filter(|unhandled| match selection {
            Selection::All => true,
            Selection::Names(names) => names.iter().any(|name| name.eq_ignore_ascii_case(&unhandled.name)),
        })
        .collect()
}

/// Decides, for each discovered compute the selection covers, whether `action` applies.
pub fn decide<'a>(computes: &'a [Compute], selection: &Selection, action: Action, force: bool) -> Targets<'a> {
    let selected = |compute: &Compute| match selection {
        Selection::All => true,
        Selection::Names(names) => names.iter().any(|name| name.eq_ignore_ascii_case(&compute.name)),
    };
    let considered = computes
        .iter()
        .filter(|compute| selected(compute))
        .map(|compute| Considered {
            compute,
            decision: eligibility(
                action,
                compute.compute_type.as_str(),
                compute.state.as_ref().map(|state| state.as_str()),
                force,
            ),
        })
        .collect::<Vec<_>>();
    let unknown_names = match selection {
        Selection::All => Vec::new(),
        Selection::Names(names) => names
            .iter()
            .filter(|name| !computes.iter().any(|compute| compute.name.eq_ignore_ascii_case(name)))
            .cloned()
            .collect(),
    };
    Targets { considered, unknown_names }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use autostop_azure::{ComputeState, ComputeType};

    use super::*;

    const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces";

    fn compute(workspace: &str, name: &str, compute_type: ComputeType, state: Option<ComputeState>) -> Compute {
        Compute {
            id: format!("{WORKSPACE}/{workspace}/computes/{name}").parse().expect("compute id"),
            name: name.to_owned(),
            location: "eastus".to_owned(),
            tags: BTreeMap::new(),
            compute_type,
            state,
            vm_size: None,
            owner: None,
            provisioning_state: None,
            last_operation: None,
        }
    }

    fn instance(name: &str, state: ComputeState) -> Compute {
        compute("ws-a", name, ComputeType::ComputeInstance, Some(state))
    }

    fn names(names: &[&str]) -> Selection {
        Selection::Names(names.iter().map(|name| (*name).to_owned()).collect())
    }

    /// The decision for one instance in `state`.
    fn decision(state: ComputeState, action: Action, force: bool) -> Result<(), SkipReason> {
        let computes = [instance("ci", state)];
        let targets = decide(&computes, &Selection::All, action, force);
        assert_eq!(targets.considered.len(), 1);
        targets.considered[0].decision.clone()
    }

    fn already(state: &str) -> Result<(), SkipReason> {
        Err(SkipReason::AlreadyThere { state: state.to_owned() })
    }

    fn wrong(state: &str) -> Result<(), SkipReason> {
        Err(SkipReason::WrongState { state: state.to_owned() })
    }

    #[test]
    fn every_state_and_action_has_its_decision() {
        use ComputeState::*;
        // (state, stop, start), without force.
        let cases = [
            (Running, Ok(()), already("Running")),
            (Stopped, already("Stopped"), Ok(())),
            (JobRunning, Err(SkipReason::JobRunning), already("JobRunning")),
            (Stopping, already("Stopping"), wrong("Stopping")),
            (Starting, wrong("Starting"), already("Starting")),
            (Creating, wrong("Creating"), wrong("Creating")),
            (CreateFailed, wrong("CreateFailed"), wrong("CreateFailed")),
            (Deleting, wrong("Deleting"), wrong("Deleting")),
            (Restarting, wrong("Restarting"), wrong("Restarting")),
            (Resizing, wrong("Resizing"), wrong("Resizing")),
            (SettingUp, wrong("SettingUp"), wrong("SettingUp")),
            (SetupFailed, wrong("SetupFailed"), wrong("SetupFailed")),
            (UserSettingUp, wrong("UserSettingUp"), wrong("UserSettingUp")),
            (UserSetupFailed, wrong("UserSetupFailed"), wrong("UserSetupFailed")),
            (Unknown, wrong("Unknown"), wrong("Unknown")),
            (Unusable, wrong("Unusable"), wrong("Unusable")),
            (Other("Hibernating".to_owned()), wrong("Hibernating"), wrong("Hibernating")),
        ];
        for (state, stop, start) in cases {
            assert_eq!(decision(state.clone(), Action::Stop, false), stop, "stop {state}");
            assert_eq!(decision(state.clone(), Action::Start, false), start, "start {state}");
        }
    }

    #[test]
    fn force_only_lets_stop_interrupt_a_running_job() {
        assert_eq!(decision(ComputeState::JobRunning, Action::Stop, true), Ok(()));
        assert_eq!(decision(ComputeState::JobRunning, Action::Start, true), already("JobRunning"));
        assert_eq!(decision(ComputeState::Running, Action::Stop, true), Ok(()));
        assert_eq!(decision(ComputeState::Stopped, Action::Stop, true), already("Stopped"));
        assert_eq!(decision(ComputeState::Starting, Action::Stop, true), wrong("Starting"));
        assert_eq!(decision(ComputeState::Stopped, Action::Start, true), Ok(()));
    }

    #[test]
    fn an_instance_without_a_state_is_not_acted_on() {
        let computes = [compute("ws-a", "ci", ComputeType::ComputeInstance, None)];
        for action in [Action::Stop, Action::Start] {
            let targets = decide(&computes, &Selection::All, action, true);
            assert_eq!(targets.considered[0].decision, wrong(""), "{action}");
        }
    }

    #[test]
    fn computes_that_are_not_instances_are_considered_and_skipped_even_with_force() {
        let computes = [
            compute("ws-a", "cluster", ComputeType::AmlCompute, None),
            compute("ws-a", "aks", ComputeType::Aks, Some(ComputeState::Running)),
            compute("ws-a", "quantum", ComputeType::Other("QuantumCompute".to_owned()), None),
        ];
        for (action, force) in [(Action::Stop, false), (Action::Stop, true), (Action::Start, true)] {
            let targets = decide(&computes, &Selection::All, action, force);
            let decisions: Vec<_> = targets.considered.iter().map(|c| c.decision.clone()).collect();
            let not_an_instance = |compute_type: &str| -> Result<(), SkipReason> {
                Err(SkipReason::NotAnInstance { compute_type: compute_type.to_owned() })
            };
            assert_eq!(
                decisions,
                [not_an_instance("AmlCompute"), not_an_instance("AKS"), not_an_instance("QuantumCompute")],
                "{action} force={force}"
            );
        }
    }

    #[test]
    fn all_considers_every_compute_in_discovery_order() {
        let computes = [
            instance("bb", ComputeState::Running),
            compute("ws-a", "cluster", ComputeType::AmlCompute, None),
            instance("aa", ComputeState::Stopped),
        ];
        let targets = decide(&computes, &Selection::All, Action::Stop, false);
        let order: Vec<_> = targets.considered.iter().map(|c| c.compute.name.as_str()).collect();
        assert_eq!(order, ["bb", "cluster", "aa"]);
        assert!(targets.unknown_names.is_empty());
        assert!(std::ptr::eq(targets.considered[2].compute, &computes[2]), "the compute as discovered");

        let none = decide(&[], &Selection::All, Action::Start, false);
        assert!(none.considered.is_empty() && none.unknown_names.is_empty());
    }

    #[test]
    fn names_match_case_insensitively_in_every_workspace() {
        let computes = [
            compute("ws-a", "Alice-CI", ComputeType::ComputeInstance, Some(ComputeState::Running)),
            compute("ws-b", "alice-ci", ComputeType::ComputeInstance, Some(ComputeState::Stopped)),
            instance("bob-ci", ComputeState::Running),
        ];
        let targets = decide(&computes, &names(&["ALICE-ci"]), Action::Stop, false);
        let considered: Vec<_> =
            targets.considered.iter().map(|c| (c.compute.id.to_string(), c.decision.clone())).collect();
        assert_eq!(
            considered,
            [(computes[0].id.to_string(), Ok(())), (computes[1].id.to_string(), already("Stopped")),]
        );
        assert!(targets.unknown_names.is_empty());
    }

    #[test]
    fn names_that_match_nothing_are_reported_as_given() {
        let computes = [instance("alice-ci", ComputeState::Running), instance("bob-ci", ComputeState::Running)];
        let targets = decide(&computes, &names(&["Carol-CI", "bob-ci", "dave"]), Action::Stop, false);
        let considered: Vec<_> = targets.considered.iter().map(|c| c.compute.name.as_str()).collect();
        assert_eq!(considered, ["bob-ci"]);
        assert_eq!(targets.unknown_names, ["Carol-CI", "dave"]);

        let targets = decide(&[], &names(&["alice-ci"]), Action::Start, false);
        assert!(targets.considered.is_empty());
        assert_eq!(targets.unknown_names, ["alice-ci"]);
    }

    #[test]
    fn a_name_that_matches_a_non_instance_is_known_and_skipped() {
        let computes = [compute("ws-a", "cluster", ComputeType::AmlCompute, None)];
        let targets = decide(&computes, &names(&["cluster"]), Action::Stop, false);
        assert!(targets.unknown_names.is_empty());
        assert_eq!(
            targets.considered[0].decision,
            Err(SkipReason::NotAnInstance { compute_type: "AmlCompute".to_owned() })
        );
    }
}
