//! Actions on compute instances as long-running operations: beginning one (or refusing it as Azure ML does),
//! settling a compute lazily once its operation has ended, polling an operation's status, and the test-control
//! levers that set states, finish every operation or make the next one fail.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Action, ComputeEntry, LastOperation, OperationStatus, World};
use crate::arm_error::ArmError;
use crate::operations::{Accepted, NewOperation, Operations};

impl World {
    /// Applies the outcome of the compute's operation if it has ended by `now`.
    pub fn settle(&mut self, index: usize, now: Duration, wall: &str) {
        settle(&mut self.computes[index], &mut self.operations, now, wall);
    }

    /// Begins `action` on a compute instance: the accepted operation, or what ARM answers instead.
    ///
    /// Refusals (chosen from what Azure ML is seen to answer): a cluster gets 400 `BadRequest`; an instance in
    /// the middle of another operation gets 409 `Conflict`; start on a non-Stopped instance gets 400
    /// `StartComputeInstanceOnlyAllowedInStoppedState` (the code Azure ML sends), and stop / restart on an instance
    /// that is not Running or JobRunning get the analogous 400 `...OnlyAllowedInRunningState`.
    ///
    /// The operation ends `Failed` when `inject_failure` is set or the compute was marked with
    /// [`World::fail_next_operation`].
    pub fn begin(
        &mut self,
        index: usize,
        action: Action,
        now: Duration,
        duration: Duration,
        inject_failure: bool,
        wall: &str,
    ) -> Result<Accepted, ArmError> {
        self.settle(index, now, wall);
        let compute = &self.computes[index];
        let name = compute.spec.name.clone();
        if !compute.spec.is_instance() {
            return Err(ArmError::new(
                400,
                "BadRequest",
                format!(
                    "Compute '{name}' is of type {}; {} is only supported for compute instances.",
                    compute.spec.compute_type,
                    action.verb()
                ),
            ));
        }
        if compute.pending.is_some() {
            return Err(ArmError::new(
                409,
                "Conflict",
                format!(
                    "Compute instance '{name}' is in state '{}' while another operation is in progress; {} is not allowed now.",
                    compute.spec.state,
                    action.verb()
                ),
            ));
        }
        if !action.allowed_from(&compute.spec.state) {
            let (code, required) = match action {
                Action::Start => ("StartComputeInstanceOnlyAllowedInStoppedState", "stopped"),
                Action::Stop => ("StopComputeInstanceOnlyAllowedInRunningState", "running"),
                Action::Restart => ("RestartComputeInstanceOnlyAllowedInRunningState", "running"),
            };
            return Err(ArmError::new(
                400,
                code,
                format!(
                    "{} Azure ML Compute Instance is only allowed when the instance {name} is in '{required}' state \
                     (it is '{}').",
                    action.operation_name(),
                    compute.spec.state
                ),
            ));
        }
        let ws = &self.workspaces[compute.workspace];
        let compute = &mut self.computes[index];
        let failure = (std::mem::take(&mut compute.fail_next) || inject_failure).then(|| {
            ArmError::new(
                500,
                "InternalServerError",
                format!(
                    "The {} operation on compute instance '{name}' failed (a fault injected by the emulator).",
                    action.verb()
                ),
            )
        });
        let new = NewOperation { target: index, action, from_state: compute.spec.state.clone(), duration, failure };
        let accepted = self.operations.begin(new, (&ws.subscription, &ws.location), now, wall);
        compute.pending = Some(accepted.operation_id.clone());
        compute.rendered = None;
        compute.spec.state = action.transient_state().to_owned();
        compute.modified_on = wall.to_owned();
        compute.last_operation =
            LastOperation { name: action.operation_name(), time: wall.to_owned(), status: "InProgress".to_owned() };
        Ok(accepted)
    }

    /// The status of an operation at `now`, polled under `subscription`.
    pub fn operation_status(
        &mut self,
        subscription: &str,
        operation_id: &str,
        now: Duration,
        wall: &str,
    ) -> Result<OperationStatus, ArmError> {
        self.subscription(subscription)?;
        let computes = &mut self.computes;
        let settled = |ops: &mut _, index: usize| settle(&mut computes[index], ops, now, wall);
        let status = self.operations.poll((subscription, operation_id), now, wall, settled);
        status.ok_or_else(|| {
            ArmError::new(
                404,
                "ResourceNotFound",
                format!("The compute operation '{operation_id}' was not found in subscription '{subscription}'."),
            )
        })
    }

    /// Ends every operation in flight at `now` (their computes settle on next look).
    pub fn complete_operations(&mut self, now: Duration, wall: &str) {
        self.operations.end_all(now);
        for index in 0..self.computes.len() {
            self.settle(index, now, wall);
        }
    }

    /// How many computes are in each state at `now` (each settled first, as a GET would show it).
    pub fn state_counts(&mut self, now: Duration, wall: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for index in 0..self.computes.len() {
            self.settle(index, now, wall);
            *counts.entry(self.computes[index].spec.state.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Sets a compute's state, cancelling any transition in flight (its operation still reports its own end).
    pub fn set_state(&mut self, index: usize, state: &str, wall: &str) {
        let compute = &mut self.computes[index];
        compute.pending = None;
        compute.rendered = None;
        compute.spec.state = state.to_owned();
        compute.modified_on = wall.to_owned();
    }

    /// Marks every compute named `name` (case-insensitive, in any workspace) so its next operation fails.
    pub fn fail_next_operation(&mut self, name: &str) -> usize {
        let mut marked = 0;
        for compute in self.computes.iter_mut().filter(|c| c.spec.name.eq_ignore_ascii_case(name)) {
            compute.fail_next = true;
            marked += 1;
        }
        marked
    }
}

/// Applies the outcome of `compute`'s operation if it has ended by `now`.
fn settle(compute: &mut ComputeEntry, operations: &mut Operations<Action>, now: Duration, wall: &str) {
    let Some(op) = operations.take_ended(&mut compute.pending, now, wall) else { return };
    compute.rendered = None;
    compute.modified_on = wall.to_owned();
    if op.failure.is_some() {
        compute.spec.state = op.from_state.clone();
        compute.last_operation.status = format!("{}Failed", op.action.operation_name());
    } else {
        compute.spec.state = op.action.final_state().to_owned();
        compute.last_operation.status = "Succeeded".to_owned();
    }
}
