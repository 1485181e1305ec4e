//! Confirmation: an action is `succeeded` only once its target was read back in the state asked for. Every
//! evaluation reads back the targets of the claims earlier runs left open, and reconciles the claims of runs
//! that died: claimed but never sent → `interrupted`; sent with no answer recorded → whatever the target shows.
//!
//! [`judge`] and [`decide`] are pure; [`confirm_open`] does the reading and the recording.

use std::collections::HashMap;

use autostop_azure::{ArmClient, LastOperation, Resource, TargetId};
use autostop_policy::{Action, Kind};
use autostop_state::{Claim, ClaimStatus, Event, EventKind, RunId, RunRecord, Transition, rfc3339};
use futures::stream::{self, StreamExt};
use jiff::{SignedDuration, Timestamp};

use super::Actor;
use super::report::{RunOutcome, RunReport};

/// How many targets are read back at once.
const CONCURRENCY: usize = 16;

/// What reading a target back showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The target exists, in this state, with this last operation.
    Found {
        /// Compute instance, VM or scale set (whose states are spelled differently).
        kind: Kind,
        /// Its state as ARM spells it (`Stopped`, `Stopping`...).
        state: Option<String>,
        /// Its `lastOperation`, when ARM reports one.
        last_operation: Option<LastOperation>,
    },
    /// The target no longer exists.
    Gone,
}

impl Seen {
    /// What a read target shows.
    pub fn of(resource: &Resource) -> Seen {
        match resource {
            Resource::Compute(compute) => Seen::Found {
                kind: Kind::ComputeInstance,
                state: resource.state(),
                last_operation: compute.last_operation.clone(),
            },
            Resource::Machine(machine) => Seen::Found {
                kind: crate::discover::kind_of(machine.id.kind()),
                state: resource.state(),
                last_operation: None,
            },
        }
    }
}

/// Where a target stands with respect to an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// In the state asked for.
    Reached,
    /// On its way there (`Stopping` for a stop, `Starting` for a start).
    Toward,
    /// Azure says the operation failed.
    Failed(String),
    /// Neither there nor on its way.
    Elsewhere(String),
}

/// Judges a read-back against the action: pure. A compute instance is stopped when `Stopped`; a VM or scale
/// set only when `deallocated` (powered off, `stopped`, still bills, so it is not there yet).
pub fn judge(action: Action, seen: &Seen) -> Verdict {
    let Seen::Found { kind, state, last_operation } = seen else {
        return Verdict::Failed("the target no longer exists".to_owned());
    };
    let state = state.as_deref().unwrap_or("Unknown");
    let (reached, toward, operation): (&[&str], &[&str], &str) = match (kind, action) {
        (Kind::ComputeInstance, Action::Stop) => (&["Stopped"], &["Stopping"], "Stop"),
        (Kind::ComputeInstance, Action::Start) => (&["Running", "JobRunning"], &["Starting"], "Start"),
        (Kind::Vm | Kind::Vmss, Action::Stop) => (&["deallocated"], &["deallocating"], "Stop"),
        (Kind::Vm | Kind::Vmss, Action::Start) => (&["running"], &["starting"], "Start"),
    };
    if reached.iter().any(|s| s.eq_ignore_ascii_case(state)) {
        return Verdict::Reached;
    }
    if let Some(last) = last_operation.as_ref().filter(|last| last.operation_name.eq_ignore_ascii_case(operation)) {
        let status = last.operation_status.to_ascii_lowercase();
        if status.contains("fail") || status.contains("cancel") {
            return Verdict::Failed(format!(
                "Azure reports lastOperation {} {} at {}; the target is {state}",
                last.operation_name, last.operation_status, last.operation_time
            ));
        }
    }
    if state.eq_ignore_ascii_case("Failed") {
        return Verdict::Failed("the target is in state Failed".to_owned());
    }
    if toward.iter().any(|s| s.eq_ignore_ascii_case(state)) {
        return Verdict::Toward;
    }
    Verdict::Elsewhere(state.to_owned())
}

/// What to do with an open claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave it: its run is still working on it, or the target is still on its way.
    Keep,
    /// Read the target back, then decide with [`after_reading`].
    Read,
    /// The target could not be read: keep the claim and report why (a later evaluation tries again).
    Unreadable(String),
    /// Move it to a final status, with a reason or an error.
    Move {
        /// The final status.
        to: ClaimStatus,
        /// The reason (interrupted, unconfirmed) or error (failed) recorded with it.
        detail: String,
    },
}

/// What to do with `claim` before reading anything, given its run: pure.
pub fn decide(claim: &Claim, run: Option<&RunRecord>, now: Timestamp, stale_after: SignedDuration) -> Decision {
    let run_over = run.is_none_or(|run| run.is_over(now, stale_after));
    match claim.status {
        ClaimStatus::Claimed if run_over => Decision::Move {
            to: ClaimStatus::Interrupted,
            detail: format!("run {} ended after claiming it and before sending anything", claim.run),
        },
        ClaimStatus::Claimed | ClaimStatus::Sent if !run_over => Decision::Keep,
        ClaimStatus::Sent | ClaimStatus::Accepted => Decision::Read,
        _ => Decision::Keep,
    }
}

/// What to do with an open claim once its target was read: pure. `deadline` counts from when it was sent.
pub fn after_reading(claim: &Claim, action: Action, seen: &Seen, now: Timestamp, deadline: SignedDuration) -> Decision {
    let sent = claim.sent_at.unwrap_or(claim.claimed_at);
    let late = now.duration_since(sent) > deadline;
    let verdict = judge(action, seen);
    match (claim.status, verdict) {
        (_, Verdict::Reached) => {
            Decision::Move { to: ClaimStatus::Succeeded, detail: "confirmed by reading the target back".to_owned() }
        }
        (_, Verdict::Failed(error)) => Decision::Move { to: ClaimStatus::Failed, detail: error },
        // Sent by a run that ended before recording Azure's answer, and the target shows no sign of it.
        (ClaimStatus::Sent, Verdict::Elsewhere(state)) => Decision::Move {
            to: ClaimStatus::Interrupted,
            detail: format!(
                "run {} ended after sending it, before Azure's answer was recorded; the target is still {state}",
                claim.run
            ),
        },
        (_, Verdict::Toward | Verdict::Elsewhere(_)) if late => Decision::Move {
            to: ClaimStatus::Unconfirmed,
            detail: format!(
                "not read back in the state asked for within {} of sending ({})",
                friendly(deadline),
                describe(seen)
            ),
        },
        _ => Decision::Keep,
    }
}

fn describe(seen: &Seen) -> String {
    match seen {
        Seen::Found { state, .. } => format!("the target is {}", state.as_deref().unwrap_or("in an unknown state")),
        Seen::Gone => "the target no longer exists".to_owned(),
    }
}

fn friendly(duration: SignedDuration) -> String {
    format!("{duration:#}")
}

/// Reads back the targets of every open claim (except those a live run is still working on) and records what
/// can be decided. Adds one outcome per claim that reached a final status, and counts those still open.
pub async fn confirm_open(actor: &Actor, run: &RunId, now: Timestamp, report: &mut RunReport) -> anyhow::Result<()> {
    let store = &actor.store;
    let open = store.open_claims().await?;
    if open.is_empty() {
        return Ok(());
    }
    let mut runs: HashMap<RunId, Option<RunRecord>> = HashMap::new();
    for claim in &open {
        if !runs.contains_key(&claim.run) {
            let record = store.run(&claim.run).await?;
            runs.insert(claim.run.clone(), record);
        }
    }
    let options = &actor.options;
    let (open, runs) = (&open, &runs);
    let decided = stream::iter(0..open.len())
        .map(|index| {
            let claim = &open[index];
            let record = runs.get(&claim.run).and_then(Option::as_ref);
            async move {
                if claim.run == *run {
                    return (claim, Decision::Keep);
                }
                let Some(action) = parse_action(&claim.action) else {
                    let detail = format!("the claim names an unknown action {:?}", claim.action);
                    return (claim, Decision::Move { to: ClaimStatus::Failed, detail });
                };
                match decide(claim, record, now, options.stale_after) {
                    Decision::Read => (claim, read(&actor.client, claim, action, now, options.confirm_deadline).await),
                    decision => (claim, decision),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    for (claim, decision) in decided {
        match decision {
            Decision::Keep | Decision::Read => {
                if claim.status == ClaimStatus::Accepted {
                    report.unconfirmed_open += 1;
                }
            }
            Decision::Unreadable(error) => {
                report.errors.push(format!("cannot confirm {} {}: {error}", claim.action, claim.target_name));
                report.unconfirmed_open += 1;
            }
            Decision::Move { to, detail } => {
                let outcome = settle(actor, run, claim, to, detail).await?;
                // A claim its dead run never sent is history, not a loss: nothing was done, and it may be taken
                // again by whichever evaluation covers its occurrence (the window did not move past it).
                if let Some(outcome) = outcome.filter(|_| claim.status != ClaimStatus::Claimed) {
                    report.outcomes.push(outcome);
                }
            }
        }
    }
    Ok(())
}

/// Reads the claim's target and decides; a read that fails keeps the claim open (reported as an error) unless
/// the deadline has passed.
async fn read(client: &ArmClient, claim: &Claim, action: Action, now: Timestamp, deadline: SignedDuration) -> Decision {
    let id: TargetId = match claim.key.target_id.parse() {
        Ok(id) => id,
        Err(err) => {
            return Decision::Move {
                to: ClaimStatus::Failed,
                detail: format!("the claimed target id does not parse: {err}"),
            };
        }
    };
    let seen = match client.get_target(&id).await {
        Ok(resource) => Seen::of(&resource),
        Err(err) if err.is_not_found() => Seen::Gone,
        Err(err) => {
            let sent = claim.sent_at.unwrap_or(claim.claimed_at);
            if now.duration_since(sent) > deadline {
                return Decision::Move {
                    to: ClaimStatus::Unconfirmed,
                    detail: format!("could not be read back within {} of sending: {err}", friendly(deadline)),
                };
            }
            return Decision::Unreadable(format!("{err:#}"));
        }
    };
    after_reading(claim, action, &seen, now, deadline)
}

/// Moves `claim` to `to` with its event (as one compare-and-set) and returns the outcome to report; `None` when
/// another process settled it first.
pub(super) async fn settle(
    actor: &Actor,
    run: &RunId,
    claim: &Claim,
    to: ClaimStatus,
    detail: String,
) -> anyhow::Result<Option<RunOutcome>> {
    let Some(kind) = to.event_kind() else {
        return Ok(None);
    };
    let (reason, error) = if kind == EventKind::Failed { (None, Some(detail)) } else { (Some(detail), None) };
    let event = Event {
        run: Some(run.clone()),
        rule: Some(claim.key.rule.clone()),
        occurrence: Some(claim.key.occurrence.clone()),
        target_id: Some(claim.key.target_id.clone()),
        target_name: Some(claim.target_name.clone()),
        action: Some(claim.action.clone()),
        reason: reason.clone(),
        error_message: error.clone(),
        ..Event::new(Timestamp::now(), kind)
    };
    let moved = actor
        .store
        .transition(&Transition { key: &claim.key, from: &ClaimStatus::OPEN, to, at: event.time, event: Some(&event) })
        .await?;
    Ok(moved.then(|| RunOutcome {
        rule: claim.key.rule.clone(),
        occurrence: rfc3339(&claim.key.occurrence),
        kind: crate::discover::kind_of_id(&claim.key.target_id).map(|kind| kind.as_str().to_owned()),
        id: Some(claim.key.target_id.clone()),
        name: Some(claim.target_name.clone()),
        action: claim.action.clone(),
        result: kind,
        reason,
        error,
    }))
}

fn parse_action(text: &str) -> Option<Action> {
    match text {
        "stop" => Some(Action::Stop),
        "start" => Some(Action::Start),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(kind: Kind, state: &str) -> Seen {
        Seen::Found { kind, state: Some(state.to_owned()), last_operation: None }
    }

    #[test]
    fn a_vm_is_stopped_only_once_deallocated() {
        for kind in [Kind::Vm, Kind::Vmss] {
            assert_eq!(judge(Action::Stop, &seen(kind, "deallocated")), Verdict::Reached);
            assert_eq!(judge(Action::Stop, &seen(kind, "deallocating")), Verdict::Toward);
            assert_eq!(
                judge(Action::Stop, &seen(kind, "stopped")),
                Verdict::Elsewhere("stopped".into()),
                "powered off still bills: not what stop asked for"
            );
            assert_eq!(judge(Action::Start, &seen(kind, "running")), Verdict::Reached);
            assert_eq!(judge(Action::Start, &seen(kind, "starting")), Verdict::Toward);
            assert_eq!(judge(Action::Start, &seen(kind, "hibernated")), Verdict::Elsewhere("hibernated".into()));
        }
    }

    #[test]
    fn compute_instances_keep_their_own_vocabulary() {
        assert_eq!(judge(Action::Stop, &seen(Kind::ComputeInstance, "Stopped")), Verdict::Reached);
        assert_eq!(
            judge(Action::Stop, &seen(Kind::ComputeInstance, "deallocated")),
            Verdict::Elsewhere("deallocated".into())
        );
        assert_eq!(judge(Action::Start, &seen(Kind::ComputeInstance, "JobRunning")), Verdict::Reached);
        assert!(matches!(judge(Action::Start, &Seen::Gone), Verdict::Failed(_)));
    }
}
