//! Enforcing Azure ML's own idle shutdown across the fleet: which compute instances get their
//! `idleTimeBeforeShutdown` set to the configured maximum, and which are left alone and why. Pure.
//!
//! An instance in scope whose idle shutdown is off, or longer than the maximum, is set to the maximum. The owner
//! opt-out tag (`autostop = off`) keeps an instance out; an unreadable value of it is a skip, never ignored. A
//! setting that does not read as a duration is replaced (Azure itself would not have accepted it). Azure accepts
//! 15 minutes to 3 days ([`MIN_IDLE_SHUTDOWN`], [`MAX_IDLE_SHUTDOWN`]).

use std::sync::Arc;

use jiff::SignedDuration;

use crate::duration::parse_duration;
use crate::instance::{Instance, Kind, Scope};
use crate::tags::TagNames;

/// The shortest idle shutdown Azure accepts.
pub const MIN_IDLE_SHUTDOWN: SignedDuration = SignedDuration::from_mins(15);
/// The longest idle shutdown Azure accepts.
pub const MAX_IDLE_SHUTDOWN: SignedDuration = SignedDuration::from_hours(72);

/// One instance whose idle shutdown changes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleChange {
    /// The instance, shared with the inventory.
    pub target: Arc<Instance>,
    /// Its setting now (`None`: off).
    pub old: Option<String>,
    /// The setting it gets (ISO 8601).
    pub new: String,
}

/// One instance left as it is although its setting is off or longer than the maximum.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleSkip {
    /// The instance, shared with the inventory.
    pub target: Arc<Instance>,
    /// Its setting now.
    pub old: Option<String>,
    /// Why it is left alone.
    pub reason: String,
}

/// What enforcing the maximum changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdlePlan {
    /// Instances to change, in inventory order.
    pub changes: Vec<IdleChange>,
    /// Instances left alone, with the reason.
    pub skips: Vec<IdleSkip>,
}

/// The ISO 8601 form Azure is sent: whole minutes as `PT60M`, else seconds.
pub fn iso_8601(duration: SignedDuration) -> String {
    let seconds = duration.as_secs();
    if seconds % 60 == 0 { format!("PT{}M", seconds / 60) } else { format!("PT{seconds}S") }
}

/// Decides, for every compute instance of `inventory` inside one of `scopes`, whether its idle shutdown must
/// be set to `max`.
pub fn idle_shutdown_plan(
    inventory: &[Arc<Instance>],
    scopes: &[Scope],
    tags: &TagNames,
    max: SignedDuration,
) -> IdlePlan {
    let mut plan = IdlePlan::default();
    let new = iso_8601(max);
    for target in inventory {
        let is_instance = target.kind == Kind::ComputeInstance
            && target.compute_type.eq_ignore_ascii_case("ComputeInstance")
            && scopes.iter().any(|scope| scope.covers(target));
        if !is_instance {
            continue;
        }
        let old = target.idle_shutdown.clone();
        let too_long = match old.as_deref().map(parse_duration) {
            None => true,
            Some(Ok(current)) => current > max,
            Some(Err(_)) => true,
        };
        if !too_long {
            continue;
        }
        let skip = |reason: String| IdleSkip { target: target.clone(), old: old.clone(), reason };
        match tags.opted_out(target) {
            Ok(true) => plan.skips.push(skip(format!("opted out by its owner (tag {} = off)", tags.opt_out))),
            Err(err) => plan.skips.push(skip(err.to_string())),
            Ok(false) => plan.changes.push(IdleChange { target: target.clone(), old, new: new.clone() }),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, idle: Option<&str>, tags: &[(&str, &str)]) -> Instance {
        Instance {
            id: format!("/subscriptions/s/resourceGroups/rg/providers/x/workspaces/ws/computes/{name}"),
            name: name.into(),
            subscription: "s".into(),
            resource_group: "rg".into(),
            workspace: "ws".into(),
            compute_type: "ComputeInstance".into(),
            idle_shutdown: idle.map(str::to_owned),
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Instance::default()
        }
    }

    fn scope() -> Scope {
        Scope { kinds: vec![Kind::ComputeInstance], subscription: "S".into(), resource_group: None, workspace: None }
    }

    #[test]
    fn off_or_longer_than_the_maximum_is_set_to_it() {
        let inventory = [
            instance("off", None, &[]),
            instance("long", Some("PT2H"), &[]),
            instance("short", Some("PT30M"), &[]),
            instance("equal", Some("PT60M"), &[]),
            instance("garbled", Some("soon"), &[]),
            instance("optout", None, &[("autostop", "off")]),
            instance("badtag", Some("P1D"), &[("autostop", "maybe")]),
            Instance { compute_type: "AmlCompute".into(), ..instance("cluster", None, &[]) },
            Instance { kind: Kind::Vm, ..instance("vm", None, &[]) },
            Instance { subscription: "other".into(), ..instance("elsewhere", None, &[]) },
        ]
        .map(Arc::new);
        let plan = idle_shutdown_plan(&inventory, &[scope()], &TagNames::default(), SignedDuration::from_mins(60));
        let changed: Vec<(&str, Option<&str>, &str)> =
            plan.changes.iter().map(|c| (c.target.name.as_str(), c.old.as_deref(), c.new.as_str())).collect();
        assert_eq!(
            changed,
            [("off", None, "PT60M"), ("long", Some("PT2H"), "PT60M"), ("garbled", Some("soon"), "PT60M")]
        );
        let skipped: Vec<&str> = plan.skips.iter().map(|s| s.target.name.as_str()).collect();
        assert_eq!(skipped, ["optout", "badtag"]);
        assert!(plan.skips[0].reason.contains("opted out"), "{:?}", plan.skips[0]);
        assert!(plan.skips[1].reason.contains("maybe"), "{:?}", plan.skips[1]);
    }

    #[test]
    fn the_iso_form_uses_minutes_when_it_can() {
        assert_eq!(iso_8601(SignedDuration::from_hours(3)), "PT180M");
        assert_eq!(iso_8601(SignedDuration::from_secs(930)), "PT930S");
    }
}
