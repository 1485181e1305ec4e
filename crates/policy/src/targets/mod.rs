//! Which targets an ad-hoc verb (`autostop stop|start`) considers, and what it does with each. Pure.

mod candidate;

use std::ops::Range;
use std::sync::Arc;

use autostop_azure::Unhandled;

use crate::{Action, Instance, SkipReason, eligibility};

pub use candidate::Candidate;

/// Which targets the user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every target in the scope (`--all`).
    All,
    /// Targets with these names (case-insensitive), anywhere in the scope.
    Names(Vec<String>),
}

/// One target the verb considered, and whether it will act on it.
#[derive(Debug, Clone)]
pub struct Considered<'a> {
    /// The target as discovery saw it.
    pub target: &'a Instance,
    /// `Ok` to act, or why not.
    pub decision: Result<(), SkipReason>,
}

/// The verb's plan: what it considers, and the names the user gave that matched nothing.
#[derive(Debug, Clone)]
pub struct Targets<'a> {
    /// Every target considered, in discovery order.
    pub considered: Vec<Considered<'a>>,
    /// Names given on the command line that match no target of the scope.
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

/// Decides, for each discovered target the selection covers, whether `action` applies.
pub fn decide<'a>(targets: &'a [Instance], selection: &Selection, action: Action, force: bool) -> Targets<'a> {
    let selected = |target: &Instance| match selection {
        Selection::All => true,
        Selection::Names(names) => names.iter().any(|name| name.eq_ignore_ascii_case(&target.name)),
    };
    let considered = targets
        .iter()
        .filter(|target| selected(target))
        .map(|target| Considered { target, decision: eligibility(action, target, force) })
        .collect::<Vec<_>>();
    let unknown_names = match selection {
        Selection::All => Vec::new(),
        Selection::Names(names) => names
            .iter()
            .filter(|name| !targets.iter().any(|target| target.name.eq_ignore_ascii_case(name)))
            .cloned()
            .collect(),
    };
    Targets { considered, unknown_names }
}
/// [`decide`] over a scope discovered in parts (a workspace at a time): what each part's targets became, and the
/// names that matched no target of any part. Only [`Candidate`]s are kept of the parts.
#[derive(Debug, Clone)]
pub struct Considering {
    selection: Selection,
    action: Action,
    force: bool,
    candidates: Vec<Candidate>,
    /// The id parent of the last candidate, shared with the next ones that have the same.
    parent: Option<Arc<str>>,
    unknown_names: Vec<String>,
}

impl Considering {
    /// Nothing considered yet.
    pub fn new(selection: &Selection, action: Action, force: bool) -> Considering {
        let unknown_names = match selection {
            Selection::All => Vec::new(),
            Selection::Names(names) => names.clone(),
        };
        Considering { selection: selection.clone(), action, force, candidates: Vec::new(), parent: None, unknown_names }
    }

    /// Decides for one part's targets; returns the indices their candidates were given.
    pub fn add(&mut self, targets: &[Instance]) -> Range<usize> {
        let first = self.candidates.len();
        let decided = decide(targets, &self.selection, self.action, self.force);
        let parent = &mut self.parent;
        self.candidates.extend(decided.considered.iter().map(|considered| Candidate::of(considered, parent)));
        self.unknown_names.retain(|name| decided.unknown_names.contains(name));
        first..self.candidates.len()
    }

    /// How many candidates there are so far.
    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    /// Whether no candidate has come yet.
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }

    /// The indices of the candidates the verb acts on, in order.
    pub fn acting(&self) -> impl Iterator<Item = usize> + '_ {
        self.candidates.iter().enumerate().filter(|(_, candidate)| candidate.acts()).map(|(index, _)| index)
    }

    /// The candidate at `index` (in the order the parts came), if there is one yet.
    pub fn get(&self, index: usize) -> Option<&Candidate> {
        self.candidates.get(index)
    }

    /// Every target considered, in the order the parts came, and the names that matched nothing.
    pub fn finish(self) -> (Vec<Candidate>, Vec<String>) {
        (self.candidates, self.unknown_names)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::Kind;
    use autostop_azure::{ComputeState, ComputeType};

    use super::*;

    const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces";

    /// A compute as discovery reports it to the verbs (what `autostop_engine::discover::instance` makes of it).
    pub(crate) fn compute(
        workspace: &str,
        name: &str,
        compute_type: ComputeType,
        state: Option<ComputeState>,
    ) -> Instance {
        Instance {
            kind: Kind::ComputeInstance,
            id: format!("{WORKSPACE}/{workspace}/computes/{name}"),
            name: name.to_owned(),
            subscription: "00000000-0000-0000-0000-000000000001".to_owned(),
            resource_group: "ml-rg".to_owned(),
            workspace: workspace.to_owned(),
            compute_type: compute_type.as_str().to_owned(),
            state: state.as_ref().map(|state| state.as_str().to_owned()),
            ..Instance::default()
        }
    }

    pub(crate) fn instance(name: &str, state: ComputeState) -> Instance {
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
        let order: Vec<_> = targets.considered.iter().map(|c| c.target.name.as_str()).collect();
        assert_eq!(order, ["bb", "cluster", "aa"]);
        assert!(targets.unknown_names.is_empty());
        assert!(std::ptr::eq(targets.considered[2].target, &computes[2]), "the target as discovered");

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
        let considered: Vec<_> = targets.considered.iter().map(|c| (c.target.id.clone(), c.decision.clone())).collect();
        assert_eq!(considered, [(computes[0].id.clone(), Ok(())), (computes[1].id.clone(), already("Stopped")),]);
        assert!(targets.unknown_names.is_empty());
    }

    #[test]
    fn names_that_match_nothing_are_reported_as_given() {
        let computes = [instance("alice-ci", ComputeState::Running), instance("bob-ci", ComputeState::Running)];
        let targets = decide(&computes, &names(&["Carol-CI", "bob-ci", "dave"]), Action::Stop, false);
        let considered: Vec<_> = targets.considered.iter().map(|c| c.target.name.as_str()).collect();
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

    #[test]
    fn considering_in_parts_decides_as_the_whole_does() {
        let computes = [
            compute("ws-a", "alice-ci", ComputeType::ComputeInstance, Some(ComputeState::Running)),
            compute("ws-a", "cluster", ComputeType::AmlCompute, None),
            compute("ws-b", "Alice-CI", ComputeType::ComputeInstance, Some(ComputeState::Stopped)),
            compute("ws-b", "bob-ci", ComputeType::ComputeInstance, Some(ComputeState::Running)),
        ];
        for selection in [Selection::All, names(&["alice-ci", "carol", "bob-ci", "cluster"])] {
            let whole = decide(&computes, &selection, Action::Stop, false);
            let mut parts = Considering::new(&selection, Action::Stop, false);
            parts.add(&computes[..2]);
            parts.add(&[]);
            parts.add(&computes[2..]);
            let (candidates, unknown_names) = parts.finish();
            let mut parent = None;
            let one_by_one = whole.considered.iter().map(|c| Candidate::of(c, &mut parent)).collect::<Vec<_>>();
            assert_eq!(candidates, one_by_one, "{selection:?}");
            assert_eq!(unknown_names, whole.unknown_names, "{selection:?}");
        }
        let (candidates, unknown) = Considering::new(&names(&["x"]), Action::Start, false).finish();
        assert!(candidates.is_empty());
        assert_eq!(unknown, ["x"], "a name is unknown when no part came at all");
    }
}
