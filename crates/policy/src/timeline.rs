//! The timeline: every rule occurrence of a future window in time order, each with what the plan decides for
//! it, simulating forward. Pure: the inventory is a snapshot taken at `now`, nothing is read or changed.
//!
//! Where [`crate::plan()`] answers "what does one evaluation of this window do" (one action per instance, the
//! latest occurrence winning), the timeline answers "what happens at each occurrence of the coming days":
//! - occurrences at the same instant are decided together by [`plan_due`], exactly as one evaluation would
//!   (conflicts, superseded rules, holidays, owner tags, state);
//! - each action is then assumed done: after Monday's 20:00 stop, Tuesday's 08:00 start sees the instance
//!   `Stopped` (and an instance already stopped is `already Stopped` at the next stop);
//! - owner tags are judged at each occurrence, so a snooze that expires inside the window keeps the earlier
//!   occurrences away and lets the later ones act;
//! - holidays (`skip_on`) are judged on each occurrence's local date;
//! - a stop its owner postponed from a notice link is kept at its occurrence ([`PlanSkipReason::Postponed`],
//!   the instance stays as it is) and comes back at its new time, for that instance alone and under the same
//!   rule and occurrence, exactly as the engine executes it ([`Occurrences::add_postponed`]); a stop the owner
//!   skipped is [`PlanSkipReason::SkippedByOwner`]. Later occurrences see the consequence.
//!
//! Each step is decided as an evaluation at its own instant would decide it. Nothing is ever missed: the window
//! starts at `now`. A stop that acts under a rule with `notify` is announced beforehand ([`Decision::notice`]):
//! when its notice goes and to which channels.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::{Timestamp, Zoned};

use crate::config::Config;
use crate::eligibility::Action;
use crate::facts::StateFacts;
use crate::instance::Instance;
use crate::plan::{Due, Occurrences, PlanSkipReason, PlannedAction, PlannedSkip, Window, plan_due};

/// The decisions taken at one instant of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The instant the occurrences fall at.
    pub at: Timestamp,
    /// The rules due at that instant with their occurrences (in the rules' zones), in file order, then the stops
    /// postponed to that instant (with their original occurrence, for their instance alone).
    pub due: Vec<Due>,
    /// Actions taken at that instant, in inventory order.
    pub actions: Vec<PlannedAction>,
    /// Instances the due rules concern but leave alone, with reasons, in inventory order.
    pub skips: Vec<PlannedSkip>,
}

/// One decision of a step, whichever way it went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision<'a> {
    /// When it is taken: the occurrence's instant, or later for a postponed stop.
    pub at: Timestamp,
    /// The rule.
    pub rule: &'a str,
    /// Its occurrence, in the rule's zone.
    pub occurrence: &'a Zoned,
    /// The instance concerned, as it was before the step.
    pub target: &'a Instance,
    /// What the rule asks for.
    pub action: Action,
    /// Why nothing is done; `None` when the action is taken.
    pub skip: Option<&'a PlanSkipReason>,
}

/// The notice that announces a stop: `run` sends it, `notify.before` ahead of the occurrence, as one digest per
/// channel listing the instances the stop will concern.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedNotice<'a> {
    /// When it goes, in the rule's zone.
    pub at: Zoned,
    /// The channels it goes to, in the order the rule names them.
    pub channels: &'a [String],
}

impl Decision<'_> {
    /// The notice this decision is announced in: a stop that acts, under a rule of `config` with `notify`.
    /// Skipped instances are not listed in notices, so they have none.
    pub fn notice<'c>(&self, config: &'c Config) -> Option<PlannedNotice<'c>> {
        if self.skip.is_some() || self.action != Action::Stop {
            return None;
        }
        let notify = config.rule(self.rule)?.notify.as_ref()?;
        let at = self.occurrence.checked_sub(notify.before).ok()?;
        Some(PlannedNotice { at, channels: &notify.channels })
    }
}

impl Step {
    /// The step's decisions: its actions, then its skips, each in inventory order.
    pub fn decisions(&self) -> impl Iterator<Item = Decision<'_>> {
        let acts = self.actions.iter().map(|action| Decision {
            at: self.at,
            rule: &action.rule,
            occurrence: &action.occurrence,
            target: &action.target,
            action: action.action,
            skip: None,
        });
        let skips = self.skips.iter().map(|skip| Decision {
            at: self.at,
            rule: &skip.rule,
            occurrence: &skip.occurrence,
            target: &skip.target,
            action: skip.action,
            skip: Some(&skip.reason),
        });
        acts.chain(skips)
    }
}

/// Every occurrence of the window `(after, until]`, in time order, with its decisions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// One step per instant at which at least one rule occurs.
    pub steps: Vec<Step>,
}

/// The timeline of the window `(now, until]` over `inventory` as seen at `now` (see the module docs).
pub fn timeline(inventory: &[Arc<Instance>], config: &Config, window: Window, facts: &StateFacts) -> Timeline {
    let in_window = |at: Timestamp| at > window.after && at <= window.until;
    let mut occurrences: Vec<(Timestamp, usize, Zoned)> = Vec::new();
    for (order, rule) in config.rules.iter().enumerate() {
        for occurrence in rule.schedule.occurrences(window.after, window.until, rule.zone.time_zone()) {
            occurrences.push((occurrence.timestamp(), order, occurrence));
        }
    }
    occurrences.sort_by_key(|(at, order, _)| (*at, *order));
    let postponed_to = |at: Timestamp| facts.postponements.iter().filter(move |postponed| postponed.until == Some(at));
    let instants: BTreeSet<Timestamp> = occurrences
        .iter()
        .map(|(at, _, _)| *at)
        .chain(facts.postponements.iter().filter_map(|postponed| postponed.until).filter(|at| in_window(*at)))
        .collect();

    // Shared with `inventory` until a step changes an instance's state (then that instance alone is copied).
    let mut fleet = inventory.to_vec();
    let mut timeline = Timeline::default();
    for at in instants {
        let due = occurrences
            .iter()
            .filter(|(when, _, _)| *when == at)
            .map(|(_, order, occurrence)| Due {
                rule: config.rules[*order].name.clone(),
                occurrence: occurrence.clone(),
                only: None,
            })
            .collect();
        let mut due = Occurrences { due, missed: Vec::new() };
        for postponed in postponed_to(at) {
            // A rule no longer configured has nothing to execute (the engine records such a stop missed).
            if let Some(rule) = config.rule(&postponed.rule) {
                let occurrence = postponed.occurrence.to_zoned(rule.zone.time_zone().clone());
                due.add_postponed(config, postponed, occurrence, at, at);
            }
        }
        if due.due.is_empty() {
            continue;
        }
        let steps_due = due.due.clone();
        let plan = plan_due(&fleet, config, facts, due, at);
        for action in &plan.actions {
            if let Some(target) = fleet.iter_mut().find(|target| target.id == action.target.id) {
                Arc::make_mut(target).state = Some(after(action.action).to_owned());
            }
        }
        timeline.steps.push(Step { at, due: steps_due, actions: plan.actions, skips: plan.skips });
    }
    timeline
}

/// The state an instance is assumed to be in once `action` is done.
fn after(action: Action) -> &'static str {
    match action {
        Action::Start => "Running",
        Action::Stop => "Stopped",
    }
}
