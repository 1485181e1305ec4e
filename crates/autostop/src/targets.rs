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
