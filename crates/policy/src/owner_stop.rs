//! Never undo an owner's own stop: whether a compute instance was last stopped by someone other than autostop,
//! from what Azure reports (`lastOperation`) and what the state says autostop itself sent. Pure: no clock, no
//! network; the engine reads the facts and passes them in.

use jiff::{SignedDuration, Timestamp};

use crate::facts::StateFacts;
use crate::instance::Instance;

/// How far apart Azure's `lastOperation.operationTime` of a stop and the instant autostop sent its own stop may
/// be for that stop to count as autostop's: it covers clock skew between this host and Azure and the retries of a
/// throttled request. An owner who starts and stops again within this time of autostop's stop is not seen.
pub const OWN_STOP_TOLERANCE: SignedDuration = SignedDuration::from_mins(10);

/// When `instance` was stopped by someone other than autostop after `since`, if it was: its `lastOperation` is a
/// `Stop` that did not fail, made after `since`, and not within [`OWN_STOP_TOLERANCE`] of a stop autostop sent.
pub fn stopped_by_owner(instance: &Instance, since: Timestamp, facts: &StateFacts) -> Option<Timestamp> {
    let last = instance.last_operation.as_ref()?;
    if !last.name.eq_ignore_ascii_case("Stop") || last.status.to_ascii_lowercase().ends_with("failed") {
        return None;
    }
    let at = last.time?;
    if at <= since {
        return None;
    }
    let ours = facts.autostop_stop(instance).is_some_and(|sent| at.duration_since(sent).abs() <= OWN_STOP_TOLERANCE);
    (!ours).then_some(at)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::instance::LastOperation;

    fn stopped(name: &str, status: &str, at: &str) -> Instance {
        Instance {
            id: "/subscriptions/s/resourceGroups/rg/providers/X/workspaces/ws/computes/Alice".to_owned(),
            name: "Alice".to_owned(),
            subscription: "s".to_owned(),
            resource_group: "rg".to_owned(),
            workspace: "ws".to_owned(),
            compute_type: "ComputeInstance".to_owned(),
            state: Some("Stopped".to_owned()),
            last_operation: Some(LastOperation {
                name: name.to_owned(),
                time: Some(at.parse().unwrap()),
                status: status.to_owned(),
            }),
            ..Instance::default()
        }
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_stop_autostop_did_not_send_is_the_owners() {
        let instance = stopped("Stop", "Succeeded", "2026-03-02T15:00:00Z");
        let none = StateFacts::default();
        assert_eq!(stopped_by_owner(&instance, ts("2026-03-02T08:00:00Z"), &none), Some(ts("2026-03-02T15:00:00Z")));
        // Before the rule's previous occurrence: already answered by that occurrence.
        assert_eq!(stopped_by_owner(&instance, ts("2026-03-02T15:00:00Z"), &none), None);
    }

    #[test]
    fn autostops_own_stop_within_the_tolerance_is_not_the_owners() {
        let instance = stopped("Stop", "InProgress", "2026-03-02T15:00:00Z");
        let id = instance.id.to_ascii_lowercase();
        let since = ts("2026-03-02T08:00:00Z");
        let sent =
            |at: &str| StateFacts { autostop_stops: BTreeMap::from([(id.clone(), ts(at))]), ..StateFacts::default() };
        assert_eq!(stopped_by_owner(&instance, since, &sent("2026-03-02T14:59:58Z")), None);
        assert_eq!(stopped_by_owner(&instance, since, &sent("2026-03-02T15:09:00Z")), None);
        // Autostop stopped it the evening before; the owner started it and stopped it again.
        assert_eq!(stopped_by_owner(&instance, since, &sent("2026-03-01T20:00:00Z")), Some(ts("2026-03-02T15:00:00Z")));
    }

    #[test]
    fn other_operations_and_failed_stops_are_not_stops() {
        let since = ts("2026-03-02T08:00:00Z");
        let none = StateFacts::default();
        assert_eq!(stopped_by_owner(&stopped("Start", "Succeeded", "2026-03-02T15:00:00Z"), since, &none), None);
        assert_eq!(stopped_by_owner(&stopped("Stop", "StopFailed", "2026-03-02T15:00:00Z"), since, &none), None);
        let mut unknown = stopped("Stop", "Succeeded", "2026-03-02T15:00:00Z");
        unknown.last_operation.as_mut().unwrap().time = None;
        assert_eq!(stopped_by_owner(&unknown, since, &none), None);
    }
}
