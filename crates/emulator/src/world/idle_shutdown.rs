//! Setting a compute instance's idle shutdown (`idleTimeBeforeShutdown`); clusters have none.

use super::World;
use crate::arm_error::ArmError;

impl World {
    /// Sets a compute instance's idle shutdown (`value` already validated); a cluster gets 400 `BadRequest`.
    pub fn set_idle_shutdown(&mut self, index: usize, value: &str, wall: &str) -> Result<(), ArmError> {
        let compute = &mut self.computes[index];
        if !compute.spec.is_instance() {
            return Err(ArmError::new(
                400,
                "BadRequest",
                format!("Compute '{}' is not a compute instance; it has no idle shutdown.", compute.spec.name),
            ));
        }
        compute.spec.idle_time_before_shutdown = Some(value.to_owned());
        compute.rendered = None;
        compute.modified_on = wall.to_owned();
        Ok(())
    }
}
