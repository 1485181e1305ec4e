//! Which targets an ad-hoc verb (`autostop stop|start`) considers, and what it does with each. Pure.

use autostop_azure::Unhandled;
use autostop_policy::{Action, Instance, SkipReason, eligibility};

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
