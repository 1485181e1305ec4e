//! Azure ML's native start/stop schedules against autostop's rules: a native schedule that starts an instance
//! a stop rule of autostop stops undoes autostop's work every day, and `plan` says so. Pure.

use std::sync::Arc;

use crate::config::Config;
use crate::eligibility::Action;
use crate::instance::Instance;

/// A native start schedule on an instance that an autostop stop rule stops.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeConflict {
    /// The stop rule.
    pub rule: String,
    /// The instance, shared with the inventory.
    pub target: Arc<Instance>,
    /// The native schedule, as Azure describes it.
    pub schedule: String,
}

/// Every (stop rule, instance, enabled native start schedule) of the in-scope inventory: the rule selects the
/// instance (its kinds, `select`, not `exclude`), and a native schedule starts it again.
pub fn native_conflicts(inventory: &[Arc<Instance>], config: &Config) -> Vec<NativeConflict> {
    let mut conflicts = Vec::new();
    for target in inventory.iter().filter(|target| config.scopes.iter().any(|scope| scope.covers(target))) {
        let starts: Vec<_> = target.native_schedules.iter().filter(|s| s.starts && s.enabled).collect();
        if starts.is_empty() {
            continue;
        }
        let stopping = config.rules.iter().filter(|rule| {
            rule.action == Action::Stop
                && rule.concerns(target.kind)
                && rule.select.matches(target)
                && !rule.exclude.as_ref().is_some_and(|exclude| exclude.matches(target))
        });
        for rule in stopping {
            for schedule in &starts {
                conflicts.push(NativeConflict {
                    rule: rule.name.clone(),
                    target: target.clone(),
                    schedule: schedule.description.clone(),
                });
            }
        }
    }
    conflicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::NativeSchedule;

    #[test]
    fn a_native_start_on_an_instance_a_stop_rule_stops_is_a_conflict() {
        let config = Config::parse(
            r#"
[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
exclude = { names = ["kept-*"] }

[[rules]]
name = "morning-start"
action = "start"
schedule = "0 0 8 * * *"
"#,
            std::path::Path::new("autostop.toml"),
        )
        .unwrap_or_else(|err| panic!("{err}"));
        let schedule = |starts: bool, enabled: bool| NativeSchedule {
            starts,
            enabled,
            description: format!("{} cron 0 8 * * * (UTC)", if starts { "Start" } else { "Stop" }),
        };
        let instance = |name: &str, schedules: Vec<NativeSchedule>| Instance {
            name: name.into(),
            id: format!("/x/{name}"),
            subscription: "00000000-0000-0000-0000-000000000001".into(),
            compute_type: "ComputeInstance".into(),
            native_schedules: schedules,
            ..Instance::default()
        };
        let inventory = [
            instance("starts-daily", vec![schedule(true, true), schedule(false, true)]),
            instance("disabled", vec![schedule(true, false)]),
            instance("kept-1", vec![schedule(true, true)]),
            instance("plain", Vec::new()),
        ]
        .map(Arc::new);
        let conflicts = native_conflicts(&inventory, &config);
        assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
        assert_eq!((conflicts[0].rule.as_str(), conflicts[0].target.name.as_str()), ("evening-stop", "starts-daily"));
        assert!(conflicts[0].schedule.starts_with("Start"), "{conflicts:?}");
    }
}
