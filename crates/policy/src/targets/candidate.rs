//! What the ad-hoc verbs keep of each target they considered: a [`Candidate`] of about 48 bytes, so that a whole
//! fleet's worth stays small while its listings are acted on. Pure.

use std::cmp::Ordering;
use std::sync::Arc;

use super::Considered;
use crate::{Instance, Kind, SkipReason};

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
    pub(super) fn of(considered: &Considered<'_>, parent: &mut Option<Arc<str>>) -> Candidate {
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

#[cfg(test)]
mod tests {
    use autostop_azure::{ComputeState, ComputeType};

    use super::*;
    use crate::Action;
    use crate::targets::tests::{compute, instance};
    use crate::targets::{Considering, Selection, decide};

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
