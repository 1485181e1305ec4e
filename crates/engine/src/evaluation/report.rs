//! What one evaluation did, as the verbs, the daemon and the Functions handler read it: one outcome per action,
//! skip, miss and confirmation, the problems someone must hear about, and counts.

use std::collections::BTreeMap;

use autostop_state::EventKind;
use serde::Serialize;

/// One line of a run's result. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The rule.
    pub rule: String,
    /// The occurrence, RFC 3339 with the rule's offset.
    pub occurrence: String,
    /// `compute-instance`, `vm` or `vmss` (absent for a missed occurrence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The target's ARM id (absent for a missed occurrence).
    pub id: Option<String>,
    /// The target's name (absent for a missed occurrence).
    pub name: Option<String>,
    /// `start` or `stop`.
    pub action: String,
    /// `succeeded`, `accepted`, `skipped`, `failed`, `missed`, `interrupted` or `unconfirmed`.
    pub result: EventKind,
    /// Why it was skipped, missed or interrupted, or how it was confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunOutcome {
    /// One human line: `stop alice-ci (evening-stop at 2026-...): succeeded`.
    pub fn line(&self) -> String {
        let target = self.name.as_deref().unwrap_or("-");
        let detail = self.reason.as_deref().or(self.error.as_deref()).map(|d| format!(": {d}")).unwrap_or_default();
        format!("{} {target} ({} at {}): {}{detail}", self.action, self.rule, self.occurrence, self.result)
    }

    /// Whether someone must hear about it: failed, missed, interrupted, unconfirmed, or carrying an error.
    pub fn is_problem(&self) -> bool {
        self.result.is_problem() || self.error.is_some()
    }
}

/// What one evaluation did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Every action, skip, miss and confirmation, in the order they were decided.
    pub outcomes: Vec<RunOutcome>,
    /// Errors that kept part of the scope from being read (its due occurrences are pending).
    pub discovery_errors: Vec<String>,
    /// Other errors: a target that could not be read back, a state write that failed.
    pub errors: Vec<String>,
    /// Instances seen, by state.
    pub instances_by_state: BTreeMap<String, u64>,
    /// Rules that select no instance in scope.
    pub idle_rules: Vec<String>,
    /// Occurrences left pending for a later evaluation (their scope could not be read).
    pub pending: usize,
    /// Actions accepted by Azure whose outcome is still to be confirmed by a later evaluation.
    pub unconfirmed_open: usize,
    /// Whether shutdown interrupted the evaluation.
    pub interrupted: bool,
    /// Planned actions left unsent because the state store failed (each is also in [`RunReport::errors`]).
    pub unsent: usize,
}

impl RunReport {
    /// Everything someone must hear about, one line each: outcomes that failed, were missed, interrupted or
    /// never confirmed, scopes that could not be read, and other errors.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> =
            self.outcomes.iter().filter(|outcome| outcome.is_problem()).map(RunOutcome::line).collect();
        problems.extend(self.discovery_errors.iter().map(|error| format!("discovery: {error}")));
        problems.extend(self.errors.iter().cloned());
        if self.interrupted {
            problems.push("the evaluation was interrupted by shutdown".to_owned());
        }
        problems
    }

    /// True when there is anything in [`RunReport::problems`].
    pub fn any_problem(&self) -> bool {
        !self.problems().is_empty()
    }
}
