//! The plan: a pure function of (inventory, config, window, now) giving the actions to take and the instances
//! left alone, each with its rule, occurrence and reason. Pure: `now` is passed in; no clock, no network. The
//! same function previews the future (`plan --window 24h`) and drives `run` over the window since the last run.
//!
//! Decisions, in order, for each rule and instance:
//! 1. **Occurrences.** A rule's occurrences in the window `(after, until]` older than `now - catch_up` are
//!    [`Missed`] (recorded, never executed). Of the others the rule acts once, for its **latest** occurrence;
//!    earlier on-time occurrences of the same rule in the window are folded into it.
//! 2. **Which rules concern an instance.** With the named-rule owner tag (`autostop-rule = NAME`) only rule
//!    `NAME` applies, whatever the selectors say; other rules that would have selected the instance report
//!    [`PlanSkipReason::OtherRuleChosen`], and a name that is no rule is [`PlanSkipReason::UnknownRuleTag`] for
//!    every due rule. Without the tag a rule applies when its `select` matches and its `exclude` does not
//!    ([`PlanSkipReason::Excluded`]).
//! 3. **Scopes.** An instance outside every configured scope is never acted on, even if discovery returned it:
//!    each rule that would have applied reports [`PlanSkipReason::OutsideScope`].
//! 4. **One action per instance.** When several due rules apply to one instance, the latest occurrence wins and
//!    the others are [`PlanSkipReason::Superseded`]. At the same instant, rules with the same action act once
//!    (the first in the file wins); rules with opposite actions are all skipped ([`PlanSkipReason::Conflict`]).
//! 5. **Holidays.** The winning rule does not act when the local date of its occurrence (in the rule's zone) is
//!    in one of its `skip_on` calendars ([`PlanSkipReason::Holiday`]); this is decided before owner tags.
//! 6. **Owner tags.** The winning rule is skipped when the owner opted out ([`PlanSkipReason::OptedOut`], which
//!    wins over any other tag) or
//!    snoozed the instance past the action's time, which is the later of `now` and the occurrence
//!    ([`PlanSkipReason::Snoozed`]; a past snooze is ignored). An unreadable tag value is a skip
//!    ([`PlanSkipReason::UnreadableTag`]), never silently ignored.
//! 7. **State.** Stop only `Running` (`JobRunning` only with `force`), start only `Stopped`, never a compute that
//!    is not an instance (`eligibility`).
//! 8. **An owner's own stop.** A start rule does not start an instance that someone other than autostop stopped
//!    after the rule's previous occurrence ([`PlanSkipReason::OwnerStopped`], [`crate::owner_stop`]), unless the
//!    rule says `restart_owner_stopped = true`. What autostop itself stopped comes from the state, as
//!    [`StateFacts`].
//! 9. **An owner's postponement.** A stop its owner postponed from a notice link waits until the time chosen
//!    ([`PlanSkipReason::Postponed`]) and acts once that time has come; one the owner skipped does not act
//!    ([`PlanSkipReason::SkippedByOwner`]). The engine adds the postponed occurrence back, for that instance only,
//!    when its new time falls in the evaluated window ([`Occurrences::add_postponed`]).
//!
//! Rules that select no in-scope instance at all (whether due or not) are listed in [`Plan::idle_rules`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use jiff::{Timestamp, Zoned};

use crate::config::{Config, Rule};
use crate::eligibility::{Action, SkipReason, eligibility};
use crate::facts::StateFacts;
use crate::instance::Instance;
use crate::owner_stop::stopped_by_owner;
use crate::tags::TagError;

/// The evaluated time window `(after, until]`: occurrences at `after` are excluded, at `until` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Exclusive start (the previous evaluation's end).
    pub after: Timestamp,
    /// Inclusive end.
    pub until: Timestamp,
}

/// An action the plan decided to take.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction {
    /// The rule that asks for it.
    pub rule: String,
    /// The rule occurrence it executes, in the rule's zone.
    pub occurrence: Zoned,
    /// The instance to act on, shared with the inventory it was planned from.
    pub target: Arc<Instance>,
    /// Stop or start.
    pub action: Action,
    /// Whether a stop may interrupt a running job.
    pub force: bool,
}

/// An instance a due rule concerns but that is left alone, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSkip {
    /// The rule that would have acted.
    pub rule: String,
    /// Its occurrence.
    pub occurrence: Zoned,
    /// The instance left alone, shared with the inventory it was planned from.
    pub target: Arc<Instance>,
    /// The action the rule asks for.
    pub action: Action,
    /// Why nothing is done.
    pub reason: PlanSkipReason,
}

/// A rule occurrence older than the rule's catch-up limit: recorded, not executed.
#[derive(Debug, Clone, PartialEq)]
pub struct Missed {
    /// The rule.
    pub rule: String,
    /// The occurrence that was missed.
    pub occurrence: Zoned,
    /// The action it would have taken.
    pub action: Action,
}

/// What the policy decides for one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Actions to take, in inventory order.
    pub actions: Vec<PlannedAction>,
    /// Instances left alone, with reasons, in inventory order.
    pub skips: Vec<PlannedSkip>,
    /// Occurrences too old to execute, in rule order then time.
    pub missed: Vec<Missed>,
    /// Names of rules that select no in-scope instance, in file order.
    pub idle_rules: Vec<String>,
}

/// Why the plan leaves an instance alone.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanSkipReason {
    /// The instance's state (or type) does not allow the action.
    Ineligible(SkipReason),
    /// The instance lies outside every configured scope.
    OutsideScope,
    /// The rule's `exclude` matches the instance.
    Excluded,
    /// The owner opted the instance out.
    OptedOut {
        /// The opt-out tag's name.
        tag: String,
    },
    /// The owner snoozed the instance until after the action's time.
    Snoozed {
        /// The snooze tag's name.
        tag: String,
        /// No action before this instant.
        until: Timestamp,
    },
    /// An owner tag's value cannot be read.
    UnreadableTag(TagError),
    /// The named-rule tag names a rule the config does not have.
    UnknownRuleTag {
        /// The named-rule tag's name.
        tag: String,
        /// The value found.
        value: String,
    },
    /// The named-rule tag chose another rule for this instance.
    OtherRuleChosen {
        /// The named-rule tag's name.
        tag: String,
        /// The rule the owner chose.
        rule: String,
    },
    /// A later occurrence of another rule (or an earlier rule in the file at the same instant) wins.
    Superseded {
        /// The winning rule.
        rule: String,
        /// Its occurrence.
        occurrence: Zoned,
    },
    /// The occurrence's local date is a holiday in one of the rule's `skip_on` calendars.
    Holiday {
        /// The calendar's name.
        calendar: String,
        /// The holiday's name (the event's `SUMMARY`); `None` for a listed date.
        summary: Option<String>,
    },
    /// Someone other than autostop stopped the instance after the start rule's previous occurrence.
    OwnerStopped {
        /// When Azure says it was stopped, in the rule's zone.
        at: Zoned,
    },
    /// The owner postponed this stop from a notice link; it acts at `until`.
    Postponed {
        /// When the stop is due now, in the rule's zone.
        until: Zoned,
    },
    /// The owner skipped this stop from a notice link.
    SkippedByOwner,
    /// Another rule asks for the opposite action at the same instant, so neither acts.
    Conflict {
        /// The other rule.
        rule: String,
        /// What it asks for.
        action: Action,
    },
}

impl PlanSkipReason {
    /// A short stable code for scripts and the audit log (`opted-out`, `snoozed`, `already-there`...).
    pub fn code(&self) -> &'static str {
        match self {
            PlanSkipReason::Ineligible(SkipReason::NotAnInstance { .. }) => "not-an-instance",
            PlanSkipReason::Ineligible(SkipReason::JobRunning) => "job-running",
            PlanSkipReason::Ineligible(SkipReason::AlreadyThere { .. }) => "already-there",
            PlanSkipReason::Ineligible(SkipReason::WrongState { .. }) => "wrong-state",
            PlanSkipReason::Ineligible(SkipReason::Autoscaled) => "autoscaled",
            PlanSkipReason::Ineligible(SkipReason::Other(_)) => "ineligible",
            PlanSkipReason::OutsideScope => "outside-scope",
            PlanSkipReason::Excluded => "excluded",
            PlanSkipReason::OptedOut { .. } => "opted-out",
            PlanSkipReason::Snoozed { .. } => "snoozed",
            PlanSkipReason::UnreadableTag(_) => "unreadable-tag",
            PlanSkipReason::UnknownRuleTag { .. } => "unknown-rule-tag",
            PlanSkipReason::OtherRuleChosen { .. } => "other-rule-chosen",
            PlanSkipReason::Superseded { .. } => "superseded",
            PlanSkipReason::Conflict { .. } => "conflict",
            PlanSkipReason::Holiday { .. } => "holiday",
            PlanSkipReason::OwnerStopped { .. } => "owner-stopped",
            PlanSkipReason::Postponed { .. } => "postponed",
            PlanSkipReason::SkippedByOwner => "skipped-by-owner",
        }
    }
}

impl fmt::Display for PlanSkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanSkipReason::Ineligible(reason) => reason.fmt(f),
            PlanSkipReason::OutsideScope => f.write_str("outside every configured scope"),
            PlanSkipReason::Excluded => f.write_str("excluded by the rule's exclude"),
            PlanSkipReason::OptedOut { tag } => write!(f, "opted out by its owner (tag {tag} = off)"),
            PlanSkipReason::Snoozed { tag, until } => write!(f, "snoozed by its owner until {until} (tag {tag})"),
            PlanSkipReason::UnreadableTag(err) => err.fmt(f),
            PlanSkipReason::UnknownRuleTag { tag, value } => {
                write!(f, "tag {tag} = {value:?} names no rule of the configuration")
            }
            PlanSkipReason::OtherRuleChosen { tag, rule } => write!(f, "its owner chose rule {rule} (tag {tag})"),
            PlanSkipReason::Superseded { rule, occurrence } => write!(f, "superseded by rule {rule} at {occurrence}"),
            PlanSkipReason::Conflict { rule, action } => {
                write!(f, "rule {rule} asks to {action} at the same instant; neither acts")
            }
            PlanSkipReason::Holiday { calendar, summary: Some(summary) } => {
                write!(f, "holiday ({calendar}: {summary})")
            }
            PlanSkipReason::Holiday { calendar, summary: None } => write!(f, "holiday ({calendar})"),
            PlanSkipReason::Postponed { until } => {
                write!(f, "postponed by its owner until {}", until.strftime("%H:%M"))
            }
            PlanSkipReason::SkippedByOwner => f.write_str("skipped by its owner for this occurrence"),
            PlanSkipReason::OwnerStopped { at } => {
                write!(f, "stopped by its owner at {}; not restarted", at.strftime("%Y-%m-%d %H:%M %Z"))
            }
        }
    }
}

/// How one rule relates to one instance, before scopes, conflicts and owner tags other than the named rule.
enum Relation {
    /// The rule does not concern the instance: nothing to report.
    NotSelected,
    /// The rule concerns the instance.
    Applies,
    /// The rule would concern the instance but is kept away from it.
    Kept(PlanSkipReason),
}

/// A rule occurrence to evaluate: on time, or pending from an earlier evaluation and still within catch-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// The rule's name.
    pub rule: String,
    /// The occurrence, in the rule's zone.
    pub occurrence: Zoned,
    /// Only these targets (ARM ids in lowercase), when set: a postponed stop concerns its instance alone.
    pub only: Only,
}

/// The targets a due occurrence is limited to (`None`: every target its rule selects).
type Only = Option<BTreeSet<String>>;

/// What adding a postponed stop to the occurrences gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostponedDue {
    /// It is due now (or folded into a later occurrence of its rule, which covers it).
    Due,
    /// Its new time is older than its rule's catch-up limit: it is missed.
    Missed,
    /// Its rule is no longer in the configuration.
    UnknownRule,
}

/// A window's occurrences, sorted into those to act on and those too old.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Occurrences {
    /// For each rule with an on-time occurrence, its latest one (earlier on-time ones fold into it), in file order.
    pub due: Vec<Due>,
    /// Occurrences older than their rule's catch-up limit, in rule order then time.
    pub missed: Vec<Missed>,
}

impl Occurrences {
    /// Adds an occurrence from elsewhere (e.g. one left pending by an earlier evaluation) as [`occurrences`]
    /// would have sorted it: missed when older than its rule's catch-up limit at `now`; else due, unless the
    /// rule already has a later one due, which it folds into. `false` for an unknown rule (not added).
    pub fn add(&mut self, config: &Config, rule: &str, occurrence: Zoned, now: Timestamp) -> bool {
        let Some(rule) = config.rule(rule) else {
            return false;
        };
        let cutoff = now.checked_sub(rule.catch_up).unwrap_or(Timestamp::MIN);
        if occurrence.timestamp() < cutoff {
            self.missed.push(Missed { rule: rule.name.clone(), occurrence, action: rule.action });
            return true;
        }
        match self.due.iter_mut().find(|due| due.rule == rule.name) {
            Some(due) if due.occurrence.timestamp() >= occurrence.timestamp() => {}
            Some(due) => due.occurrence = occurrence,
            None => {
                let order = |name: &str| config.rules.iter().position(|rule| rule.name == name);
                self.due.push(Due { rule: rule.name.clone(), occurrence, only: None });
                self.due.sort_by_key(|due| order(&due.rule));
            }
        }
        true
    }

    /// Adds a postponed stop whose new time `until` has come: its occurrence becomes due for `target_key` alone
    /// (unless the occurrence is already due for every target, or a later occurrence of the rule is due, which
    /// covers it). Missed when `until` is older than the rule's catch-up limit at `now`.
    pub fn add_postponed(
        &mut self,
        config: &Config,
        postponed: &crate::facts::Postponed,
        occurrence: Zoned,
        until: Timestamp,
        now: Timestamp,
    ) -> PostponedDue {
        let Some(rule) = config.rule(&postponed.rule) else {
            return PostponedDue::UnknownRule;
        };
        if until < now.checked_sub(rule.catch_up).unwrap_or(Timestamp::MIN) {
            return PostponedDue::Missed;
        }
        let same_rule = |due: &&mut Due| due.rule == rule.name;
        match self.due.iter_mut().filter(same_rule).find(|due| due.occurrence.timestamp() >= occurrence.timestamp()) {
            Some(due) if due.occurrence.timestamp() > occurrence.timestamp() => {}
            Some(due) => {
                if let Some(only) = &mut due.only {
                    only.insert(postponed.target_key.clone());
                }
            }
            None => {
                let only = Some(BTreeSet::from([postponed.target_key.clone()]));
                self.due.push(Due { rule: rule.name.clone(), occurrence, only });
            }
        }
        PostponedDue::Due
    }
}

/// The occurrences of every rule in the window `(after, until]`: the latest on-time one of each rule is due,
/// those older than the rule's catch-up limit at `now` are missed.
pub fn occurrences(config: &Config, window: Window, now: Timestamp) -> Occurrences {
    let mut found = Occurrences::default();
    for rule in &config.rules {
        let cutoff = now.checked_sub(rule.catch_up).unwrap_or(Timestamp::MIN);
        let mut latest: Option<Zoned> = None;
        for occurrence in rule.schedule.occurrences(window.after, window.until, rule.zone.time_zone()) {
            if occurrence.timestamp() < cutoff {
                found.missed.push(Missed { rule: rule.name.clone(), occurrence, action: rule.action });
            } else if latest.as_ref().is_none_or(|seen| occurrence.timestamp() > seen.timestamp()) {
                latest = Some(occurrence);
            }
        }
        if let Some(occurrence) = latest {
            found.due.push(Due { rule: rule.name.clone(), occurrence, only: None });
        }
    }
    found
}

/// Plans the window: see the module docs for every decision.
pub fn plan(inventory: &[Arc<Instance>], config: &Config, facts: &StateFacts, window: Window, now: Timestamp) -> Plan {
    plan_due(inventory, config, facts, occurrences(config, window, now), now)
}

/// Plans given occurrences (from [`occurrences`], perhaps with pending ones [added](Occurrences::add)).
pub fn plan_due(
    inventory: &[Arc<Instance>],
    config: &Config,
    facts: &StateFacts,
    occurrences: Occurrences,
    now: Timestamp,
) -> Plan {
    let mut plan = Plan { missed: occurrences.missed, ..Plan::default() };
    let (due, only): (Vec<(&Rule, Zoned)>, Vec<Only>) = occurrences
        .due
        .into_iter()
        .filter_map(|due| Some(((config.rule(&due.rule)?, due.occurrence), due.only)))
        .unzip();

    // Each due start rule's previous occurrence: an owner's stop after it is not undone (step 8).
    let previous: BTreeMap<&str, Timestamp> = due
        .iter()
        .filter(|(rule, _)| rule.action == Action::Start)
        .map(|(rule, occurrence)| {
            let since = rule.previous_occurrence(occurrence).map_or(Timestamp::MIN, |previous| previous.timestamp());
            (rule.name.as_str(), since)
        })
        .collect();
    let in_scope = |instance: &Instance| config.scopes.iter().any(|scope| scope.covers(instance));
    plan.idle_rules = config
        .rules
        .iter()
        .filter(|rule| {
            !inventory
                .iter()
                .any(|instance| in_scope(instance) && matches!(relation(rule, instance, config), Relation::Applies))
        })
        .map(|rule| rule.name.clone())
        .collect();

    for instance in inventory {
        let scoped = in_scope(instance);
        let mut candidates: Vec<&(&Rule, Zoned)> = Vec::new();
        let key = instance.id.to_ascii_lowercase();
        for (entry, only) in due.iter().zip(&only) {
            if only.as_ref().is_some_and(|only| !only.contains(&key)) {
                continue;
            }
            let (rule, occurrence) = entry;
            let skip = |reason| PlannedSkip {
                rule: rule.name.clone(),
                occurrence: occurrence.clone(),
                target: instance.clone(),
                action: rule.action,
                reason,
            };
            match relation(rule, instance, config) {
                Relation::NotSelected => {}
                _ if !scoped => plan.skips.push(skip(PlanSkipReason::OutsideScope)),
                Relation::Kept(reason) => plan.skips.push(skip(reason)),
                Relation::Applies => candidates.push(entry),
            }
        }
        decide(instance, &candidates, config, (facts, &previous), now, &mut plan);
    }
    plan
}

/// How `rule` relates to `instance` through the named-rule tag, `select` and `exclude`.
fn relation(rule: &Rule, instance: &Instance, config: &Config) -> Relation {
    if !rule.concerns(instance.kind) {
        return Relation::NotSelected;
    }
    let selected = || rule.select.matches(instance);
    match config.tags.chosen_rule(instance) {
        Some(chosen) if config.rule(chosen).is_none() => {
            Relation::Kept(PlanSkipReason::UnknownRuleTag { tag: config.tags.rule.clone(), value: chosen.to_owned() })
        }
        Some(chosen) if chosen.eq_ignore_ascii_case(&rule.name) => Relation::Applies,
        Some(chosen) if selected() => {
            Relation::Kept(PlanSkipReason::OtherRuleChosen { tag: config.tags.rule.clone(), rule: chosen.to_owned() })
        }
        Some(_) => Relation::NotSelected,
        None if !selected() => Relation::NotSelected,
        None if rule.exclude.as_ref().is_some_and(|exclude| exclude.matches(instance)) => {
            Relation::Kept(PlanSkipReason::Excluded)
        }
        None => Relation::Applies,
    }
}

/// Picks the one rule that acts on `instance` among `candidates` (in file order), then applies owner tags and
/// state; records the action or the skips.
fn decide(
    instance: &Arc<Instance>,
    candidates: &[&(&Rule, Zoned)],
    config: &Config,
    (facts, previous): (&StateFacts, &BTreeMap<&str, Timestamp>),
    now: Timestamp,
    plan: &mut Plan,
) {
    let Some(latest) = candidates.iter().map(|(_, occurrence)| occurrence.timestamp()).max() else {
        return;
    };
    let skip = |rule: &Rule, occurrence: &Zoned, reason| PlannedSkip {
        rule: rule.name.clone(),
        occurrence: occurrence.clone(),
        target: instance.clone(),
        action: rule.action,
        reason,
    };
    let (winners, losers): (Vec<_>, Vec<_>) =
        candidates.iter().copied().partition(|(_, occurrence)| occurrence.timestamp() == latest);
    let Some(&&(winner, ref occurrence)) = winners.first() else {
        return;
    };
    for (rule, lost) in &losers {
        let reason = PlanSkipReason::Superseded { rule: winner.name.clone(), occurrence: occurrence.clone() };
        plan.skips.push(skip(rule, lost, reason));
    }
    if let Some((opposite, _)) = winners.iter().find(|(rule, _)| rule.action != winner.action) {
        for (rule, tied) in &winners {
            let other = if rule.action == winner.action { opposite } else { winner };
            let reason = PlanSkipReason::Conflict { rule: other.name.clone(), action: other.action };
            plan.skips.push(skip(rule, tied, reason));
        }
        return;
    }
    for (rule, tied) in winners.iter().skip(1) {
        let reason = PlanSkipReason::Superseded { rule: winner.name.clone(), occurrence: occurrence.clone() };
        plan.skips.push(skip(rule, tied, reason));
    }

    let tags = &config.tags;
    let acts_at = now.max(occurrence.timestamp());
    let verdict = match (tags.opted_out(instance), tags.snoozed_until(instance)) {
        (Ok(true), _) => Err(PlanSkipReason::OptedOut { tag: tags.opt_out.clone() }),
        (Err(err), _) | (_, Err(err)) => Err(PlanSkipReason::UnreadableTag(err)),
        (Ok(false), Ok(Some(until))) if acts_at < until => {
            Err(PlanSkipReason::Snoozed { tag: tags.snooze_until.clone(), until })
        }
        (Ok(false), Ok(_)) => eligibility(winner.action, instance, winner.force).map_err(PlanSkipReason::Ineligible),
    };
    let verdict = verdict.and_then(|()| match winner.action {
        Action::Start if !winner.restart_owner_stopped => {
            let since = previous.get(winner.name.as_str()).copied().unwrap_or(Timestamp::MIN);
            match stopped_by_owner(instance, since, facts) {
                Some(at) => Err(PlanSkipReason::OwnerStopped { at: at.to_zoned(occurrence.time_zone().clone()) }),
                None => Ok(()),
            }
        }
        Action::Stop => match facts.postponement(&winner.name, occurrence.timestamp(), instance) {
            Some(postponed) => match postponed.until {
                None => Err(PlanSkipReason::SkippedByOwner),
                Some(until) if until > now => {
                    Err(PlanSkipReason::Postponed { until: until.to_zoned(occurrence.time_zone().clone()) })
                }
                Some(_) => Ok(()),
            },
            None => Ok(()),
        },
        Action::Start => Ok(()),
    });
    // A holiday comes before the owner tags (step 5 of the module docs).
    let verdict = match winner.holiday(occurrence) {
        Some((calendar, holiday)) => {
            Err(PlanSkipReason::Holiday { calendar: calendar.to_owned(), summary: holiday.summary })
        }
        None => verdict,
    };
    match verdict {
        Ok(()) => plan.actions.push(PlannedAction {
            rule: winner.name.clone(),
            occurrence: occurrence.clone(),
            target: instance.clone(),
            action: winner.action,
            force: winner.force,
        }),
        Err(reason) => plan.skips.push(skip(winner, occurrence, reason)),
    }
}
