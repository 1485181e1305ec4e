//! Which targets an ad-hoc verb (`autostop stop|start`) considers, and what it does with each. Pure.

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

use crate::{Action, Instance, Kind, SkipReason, eligibility};
use autostop_azure::Unhandled;

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

/// A target the verb considered, as much of it as acting and its row need: the rest of what discovery found
/// (tags, schedules, owner...) is not kept, so that a whole fleet's worth stays small (about 48 bytes and the
/// name's allocation per target). The ARM id is kept as the part before its last segment, shared by the targets
/// of one listing (a workspace's computes, a resource group's VMs), and the name; the state as one of the values
/// Azure reports (any other verbatim); the decision as its kind, its details read from the state.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The ARM id up to and including its last `/`, shared with the targets listed beside this one.
    parent: Arc<str>,
    /// The name, also the id's last segment (unless [`Unusual::id`] holds the id).
    name: Box<str>,
    /// Compute instance, VM or scale set.
    kind: Kind,
    /// The state discovery saw.
    state: StoredState,
    /// `Ok` to act, or why not.
    decision: StoredDecision,
    /// What does not fit the compact fields, for the rare target that needs it.
    unusual: Option<Box<Unusual>>,
}

/// The states Azure reports for compute instances (Azure ML's `ComputeInstanceState`) and for VMs and scale sets
/// (the `PowerState/` codes): a state among them is kept as its index.
const STATES: [&str; 23] = [
    "Running",
    "Stopped",
    "JobRunning",
    "Stopping",
    "Starting",
    "Creating",
    "CreateFailed",
    "Deleting",
    "Restarting",
    "Resizing",
    "SettingUp",
    "SetupFailed",
    "UserSettingUp",
    "UserSetupFailed",
    "Unknown",
    "Unusable",
    "running",
    "stopped",
    "deallocating",
    "deallocated",
    "starting",
    "stopping",
    "mixed",
];

/// A state as a candidate keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredState {
    /// Discovery saw no state.
    Absent,
    /// `STATES[index]`.
    Known(u8),
}

/// A decision as a candidate keeps it: the reasons that quote the state read it from the candidate's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredDecision {
    /// `Ok(())`.
    Act,
    /// [`SkipReason::AlreadyThere`] with the candidate's state.
    AlreadyThere,
    /// [`SkipReason::WrongState`] with the candidate's state (empty when there is none).
    WrongState,
    /// [`SkipReason::JobRunning`].
    JobRunning,
    /// [`SkipReason::Autoscaled`].
    Autoscaled,
}

/// The parts of a candidate that the compact fields cannot hold.
#[derive(Debug, Clone, PartialEq, Default)]
struct Unusual {
    /// The whole id, when its last segment is not the name.
    id: Option<Box<str>>,
    /// A state outside [`STATES`] (the stored state is then [`StoredState::Absent`]).
    state: Option<Box<str>>,
    /// A reason the stored decision cannot express (which is then [`StoredDecision::Act`]).
    reason: Option<SkipReason>,
}

impl Candidate {
    /// What is kept of a considered target, sharing `parent` when the target's id starts with the same parent as
    /// the previous one's (and keeping its own parent there otherwise).
    fn of(considered: &Considered<'_>, parent: &mut Option<Arc<str>>) -> Candidate {
        let target = considered.target;
        let mut unusual = Unusual::default();
        let split = target.id.rfind('/').map_or(0, |slash| slash + 1);
        let (parent_text, leaf) = target.id.split_at(split);
        if leaf != target.name {
            unusual.id = Some(target.id.as_str().into());
        }
        let parent = match parent {
            Some(shared) if **shared == *parent_text => Arc::clone(shared),
            _ => Arc::clone(parent.insert(parent_text.into())),
        };
        let state = match target.state.as_deref() {
            None => StoredState::Absent,
            Some(state) => match STATES.iter().position(|known| *known == state) {
                Some(index) => StoredState::Known(index as u8),
                None => {
                    unusual.state = Some(state.into());
                    StoredState::Absent
                }
            },
        };
        let quoted = target.state.as_deref().unwrap_or_default();
        let decision = match &considered.decision {
            Ok(()) => StoredDecision::Act,
            Err(SkipReason::AlreadyThere { state }) if state == quoted => StoredDecision::AlreadyThere,
            Err(SkipReason::WrongState { state }) if state == quoted => StoredDecision::WrongState,
            Err(SkipReason::JobRunning) => StoredDecision::JobRunning,
            Err(SkipReason::Autoscaled) => StoredDecision::Autoscaled,
            Err(reason) => {
                unusual.reason = Some(reason.clone());
                StoredDecision::Act
            }
        };
        Candidate {
            parent,
            name: target.name.as_str().into(),
            kind: target.kind,
            state,
            decision,
            unusual: (unusual != Unusual::default()).then(|| Box::new(unusual)),
        }
    }

    /// Compute instance, VM or scale set.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ARM id.
    pub fn id(&self) -> String {
        match self.unusual.as_ref().and_then(|unusual| unusual.id.as_deref()) {
            Some(id) => id.to_owned(),
            None => [&*self.parent, &*self.name].concat(),
        }
    }

    /// The state discovery saw.
    pub fn state(&self) -> Option<&str> {
        if let Some(state) = self.unusual.as_ref().and_then(|unusual| unusual.state.as_deref()) {
            return Some(state);
        }
        match self.state {
            StoredState::Absent => None,
            StoredState::Known(index) => STATES.get(usize::from(index)).copied(),
        }
    }

    /// Whether the verb acts on it.
    pub fn acts(&self) -> bool {
        self.decision == StoredDecision::Act && self.unusual.as_ref().is_none_or(|unusual| unusual.reason.is_none())
    }

    /// `Ok` to act, or why not.
    pub fn decision(&self) -> Result<(), SkipReason> {
        if let Some(reason) = self.unusual.as_ref().and_then(|unusual| unusual.reason.as_ref()) {
            return Err(reason.clone());
        }
        let state = || self.state().unwrap_or_default().to_owned();
        match self.decision {
            StoredDecision::Act => Ok(()),
            StoredDecision::AlreadyThere => Err(SkipReason::AlreadyThere { state: state() }),
            StoredDecision::WrongState => Err(SkipReason::WrongState { state: state() }),
            StoredDecision::JobRunning => Err(SkipReason::JobRunning),
            StoredDecision::Autoscaled => Err(SkipReason::Autoscaled),
        }
    }

    /// The target as acting on it reads it: its kind, id, name and state (nothing else is kept).
    pub fn target(&self) -> Instance {
        Instance {
            kind: self.kind,
            id: self.id(),
            name: self.name.to_string(),
            state: self.state().map(str::to_owned),
            ..Instance::default()
        }
    }

    /// The order of the ids without regard to case (as `id().to_lowercase()` orders them), without building
    /// them when both are ASCII.
    pub fn cmp_ids(&self, other: &Candidate) -> Ordering {
        let ascii = |candidate: &Candidate| {
            candidate.unusual.as_ref().is_none_or(|unusual| unusual.id.is_none())
                && candidate.parent.is_ascii()
                && candidate.name.is_ascii()
        };
        if !(ascii(self) && ascii(other)) {
            return self.id().to_lowercase().cmp(&other.id().to_lowercase());
        }
        if Arc::ptr_eq(&self.parent, &other.parent) {
            return lowercase_ascii(&self.name).cmp(lowercase_ascii(&other.name));
        }
        lowercase_ascii(&self.parent)
            .chain(lowercase_ascii(&self.name))
            .cmp(lowercase_ascii(&other.parent).chain(lowercase_ascii(&other.name)))
    }
}

/// The bytes of `text` in ASCII lowercase.
fn lowercase_ascii(text: &str) -> impl Iterator<Item = u8> + '_ {
    text.bytes().map(|byte| byte.to_ascii_lowercase())
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
mod tests {
    use autostop_azure::{ComputeState, ComputeType};

    use super::*;

    const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/ml-rg/providers/Microsoft.MachineLearningServices/workspaces";

    /// A compute as discovery reports it to the verbs (what `autostop_engine::discover::instance` makes of it).
    fn compute(workspace: &str, name: &str, compute_type: ComputeType, state: Option<ComputeState>) -> Instance {
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

    fn instance(name: &str, state: ComputeState) -> Instance {
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

    #[test]
    fn a_candidate_keeps_what_acting_and_its_row_read() {
        let computes = [compute("ws-a", "alice-ci", ComputeType::ComputeInstance, Some(ComputeState::Running))];
        let decided = decide(&computes, &Selection::All, Action::Stop, false);
        let candidate = Candidate::of(&decided.considered[0], &mut None);
        assert_eq!(
            (candidate.kind(), candidate.name(), candidate.state()),
            (Kind::ComputeInstance, "alice-ci", Some("Running"))
        );
        assert_eq!(candidate.decision(), Ok(()));
        assert!(candidate.acts());
        assert_eq!(candidate.id(), computes[0].id);
        let target = candidate.target();
        assert_eq!((target.kind, &target.id, &target.name), (computes[0].kind, &computes[0].id, &computes[0].name));
        assert_eq!(target.state, computes[0].state);
    }

    /// A VM or scale set as discovery reports it.
    fn machine(kind: Kind, id: &str, name: &str, state: Option<&str>, autoscale: bool) -> Instance {
        Instance {
            kind,
            id: id.to_owned(),
            name: name.to_owned(),
            state: state.map(str::to_owned),
            autoscale,
            ..Instance::default()
        }
    }

    #[test]
    fn every_candidate_gives_back_what_was_decided_for_its_target() {
        let vms = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/vm-rg/providers/Microsoft.Compute/virtualMachines/";
        let sets = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/vm-rg/providers/Microsoft.Compute/virtualMachineScaleSets/";
        let mut targets = vec![
            compute("ws-a", "no-state", ComputeType::ComputeInstance, None),
            compute(
                "ws-a",
                "hibernating",
                ComputeType::ComputeInstance,
                Some(ComputeState::Other("Hibernating".to_owned())),
            ),
            compute("ws-a", "cluster", ComputeType::AmlCompute, Some(ComputeState::Running)),
            compute("ws-b", "job", ComputeType::ComputeInstance, Some(ComputeState::JobRunning)),
            machine(Kind::Vm, &format!("{vms}vm-1"), "vm-1", Some("running"), false),
            machine(Kind::Vm, &format!("{vms}vm-2"), "vm-2", Some("deallocated"), false),
            machine(Kind::Vm, &format!("{vms}vm-3"), "vm-3", Some("PowerState/unknown"), false),
            machine(Kind::Vmss, &format!("{sets}set-1"), "set-1", Some("mixed"), true),
            // An id whose last segment is not the name (as ARM never sends it), and an id without a slash.
            machine(Kind::Vm, &format!("{vms}VM-4"), "vm-4", Some("stopped"), false),
            machine(Kind::Vm, "vm-5", "vm-5", None, false),
        ];
        for state in STATES {
            targets.push(compute(
                "ws-c",
                &format!("ci-{state}"),
                ComputeType::ComputeInstance,
                Some(ComputeState::parse(state)),
            ));
        }
        for (action, force) in [(Action::Stop, false), (Action::Stop, true), (Action::Start, false)] {
            let mut parts = Considering::new(&Selection::All, action, force);
            assert!(parts.is_empty());
            assert_eq!(parts.add(&targets[..4]), 0..4);
            assert!(!parts.is_empty());
            assert_eq!(parts.len(), 4);
            assert_eq!(parts.add(&targets[4..]), 4..targets.len());
            assert_eq!(parts.get(2).map(Candidate::name), Some("cluster"));
            assert!(parts.get(targets.len()).is_none());
            let (candidates, _) = parts.finish();
            let decided = decide(&targets, &Selection::All, action, force);
            assert_eq!(candidates.len(), targets.len());
            for (candidate, considered) in candidates.iter().zip(&decided.considered) {
                let target = considered.target;
                let what = format!("{action} force={force} {}", target.id);
                assert_eq!(candidate.id(), target.id, "{what}");
                assert_eq!((candidate.kind(), candidate.name()), (target.kind, target.name.as_str()), "{what}");
                assert_eq!(candidate.state(), target.state.as_deref(), "{what}");
                assert_eq!(candidate.decision(), considered.decision, "{what}");
                assert_eq!(candidate.acts(), considered.decision.is_ok(), "{what}");
            }
        }
    }

    #[test]
    fn the_computes_of_a_workspace_share_their_parent() {
        let computes = [
            instance("ci-a", ComputeState::Running),
            instance("ci-b", ComputeState::Stopped),
            compute("ws-b", "ci-c", ComputeType::ComputeInstance, Some(ComputeState::Running)),
        ];
        let mut parts = Considering::new(&Selection::All, Action::Stop, false);
        parts.add(&computes[..1]);
        parts.add(&computes[1..]);
        let (candidates, _) = parts.finish();
        assert!(Arc::ptr_eq(&candidates[0].parent, &candidates[1].parent), "one workspace, across parts");
        assert!(!Arc::ptr_eq(&candidates[1].parent, &candidates[2].parent));
        assert!(candidates.iter().all(|candidate| candidate.unusual.is_none()), "{candidates:#?}");
        assert!(size_of::<Candidate>() <= 48, "{} bytes", size_of::<Candidate>());
    }

    #[test]
    fn ids_are_ordered_as_their_lowercase_forms_are() {
        let targets = [
            machine(Kind::Vm, "/subscriptions/s/resourceGroups/B/providers/p/virtualMachines/b", "b", None, false),
            machine(Kind::Vm, "/subscriptions/s/resourceGroups/a/providers/p/virtualMachines/Z", "Z", None, false),
            machine(Kind::Vm, "/subscriptions/s/resourceGroups/a/providers/p/virtualMachines/y", "y", None, false),
            machine(Kind::Vm, "/subscriptions/s/resourceGroups/Ä/providers/p/virtualMachines/x", "x", None, false),
            machine(Kind::Vm, "/subscriptions/s/resourceGroups/ä/providers/p/virtualMachines/w", "w", None, false),
            machine(Kind::Vm, "/subscriptions/s/resourceGroups/a/providers/p/virtualMachines/y", "Y", None, false),
        ];
        let mut parts = Considering::new(&Selection::All, Action::Stop, false);
        parts.add(&targets);
        let (mut candidates, _) = parts.finish();
        let mut expected = candidates.iter().map(Candidate::id).collect::<Vec<_>>();
        expected.sort_by_cached_key(|id| id.to_lowercase());
        candidates.sort_by(Candidate::cmp_ids);
        assert_eq!(candidates.iter().map(Candidate::id).collect::<Vec<_>>(), expected);
        assert_eq!(
            candidates.iter().map(Candidate::name).collect::<Vec<_>>(),
            ["y", "Y", "Z", "b", "w", "x"],
            "stable"
        );
    }
}
