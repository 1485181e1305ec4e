//! The savings ledger: how many hours instances spent stopped by autostop, and what those hours would have cost.
//! Pure arithmetic: the audit log's outcomes, the inventory and the prices come in as plain values.
//!
//! **Definition.** An instance is *stopped by autostop* from a confirmed stop (a `succeeded` stop event) until
//! the first sign that it runs again — a `succeeded` start event (by any rule), a later stop that autostop found
//! it running for (an `accepted` or `succeeded` stop: it was started by someone in between), or the instance seen
//! running — else until the end of the period. The intervals are clipped to the period. Saved cost = saved hours
//! × the pay-as-you-go hourly price of the instance's size in its region.
//!
//! **Not counted.** A stopped compute instance still bills its OS disk (and a deallocated VM its disks and public
//! IP): the ledger counts compute hours only, so real savings are somewhat lower. A start by hand between two
//! audit events is seen only at the next event, so such an interval can run long; a stop that was only
//! `accepted` (never confirmed) saves nothing here. Instances whose size or region is unknown (deleted since,
//! or a size without a price) have their hours counted and their cost reported as unpriced.

use std::collections::BTreeMap;

use jiff::Timestamp;

/// The period a ledger covers: `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Start (inclusive).
    pub since: Timestamp,
    /// End (exclusive): usually now.
    pub until: Timestamp,
}

/// What the audit log (or the inventory) says about one instance at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sign {
    /// A confirmed stop (`succeeded`), by this rule if any.
    Stopped {
        /// The rule whose occurrence stopped it.
        rule: Option<String>,
    },
    /// The instance was running at this instant (a confirmed start, or seen running).
    Running,
}

/// One sign about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// When.
    pub at: Timestamp,
    /// The instance's ARM id.
    pub target_id: String,
    /// What was observed.
    pub sign: Sign,
}

/// One stretch of time an instance spent stopped by autostop, inside the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stretch {
    /// The instance's ARM id.
    pub target_id: String,
    /// The rule whose stop began it.
    pub rule: Option<String>,
    /// Start (inclusive).
    pub from: Timestamp,
    /// End (exclusive).
    pub to: Timestamp,
}

impl Stretch {
    /// Its length in hours.
    pub fn hours(&self) -> f64 {
        self.to.duration_since(self.from).as_secs_f64() / 3600.0
    }
}

/// The stretches each instance spent stopped by autostop, clipped to `period` (see the module docs). The
/// observations may come in any order; ids compare case-insensitively, as ARM ids do.
pub fn stopped_stretches(observations: &[Observation], period: Period) -> Vec<Stretch> {
    let mut by_target: BTreeMap<String, Vec<&Observation>> = BTreeMap::new();
    for observation in observations {
        by_target.entry(observation.target_id.to_lowercase()).or_default().push(observation);
    }
    let mut stretches = Vec::new();
    for list in by_target.values_mut() {
        list.sort_by_key(|observation| observation.at);
        let mut open: Option<(&Observation, Option<String>)> = None;
        let mut close = |from: &Observation, rule: Option<String>, to: Timestamp| {
            let (from_at, to) = (from.at.max(period.since), to.min(period.until));
            if from_at < to {
                stretches.push(Stretch { target_id: from.target_id.clone(), rule, from: from_at, to });
            }
        };
        for observation in list.iter().copied() {
            if let Some((from, rule)) = open.take() {
                close(from, rule, observation.at);
            }
            if let Sign::Stopped { rule } = &observation.sign {
                open = Some((observation, rule.clone()));
            }
        }
        if let Some((from, rule)) = open {
            close(from, rule, period.until);
        }
    }
    stretches
}

/// What the ledger knows of one instance, from the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    /// The instance's name.
    pub name: String,
    /// Its workspace.
    pub workspace: String,
    /// Its owner, when known.
    pub owner: Option<String>,
    /// Its VM size as ARM reports it.
    pub size: Option<String>,
    /// Its hourly price, when the size and region have one.
    pub hourly: Option<f64>,
}

/// How ledger lines are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// One line per instance.
    #[default]
    Instance,
    /// One line per owner.
    Owner,
    /// One line per workspace.
    Workspace,
    /// One line per rule.
    Rule,
    /// One line per VM size.
    Size,
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The group's key (an instance name, an owner, a workspace, a rule or a size; `(unknown)` when absent).
    pub key: String,
    /// Hours stopped by autostop.
    pub hours: f64,
    /// Their cost at the pay-as-you-go price (priced hours only).
    pub cost: f64,
    /// Hours whose instance has no price (unknown size, region or instance).
    pub unpriced_hours: f64,
}

/// The ledger: lines sorted by cost then hours (largest first), and their totals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ledger {
    /// One line per group.
    pub lines: Vec<Line>,
    /// Total hours.
    pub hours: f64,
    /// Total cost of the priced hours.
    pub cost: f64,
    /// Total hours without a price.
    pub unpriced_hours: f64,
}

/// The key of the group `by` for a stretch of an instance (`None` when the instance is not in the inventory).
fn key(by: GroupBy, stretch: &Stretch, known: Option<&Priced>) -> String {
    const UNKNOWN: &str = "(unknown)";
    let or_unknown = |value: Option<&str>| value.unwrap_or(UNKNOWN).to_owned();
    match by {
        GroupBy::Instance => known.map_or_else(|| stretch.target_id.clone(), |known| known.name.clone()),
        GroupBy::Owner => or_unknown(known.and_then(|known| known.owner.as_deref())),
        GroupBy::Workspace => or_unknown(known.map(|known| known.workspace.as_str())),
        GroupBy::Rule => or_unknown(stretch.rule.as_deref()),
        GroupBy::Size => or_unknown(known.and_then(|known| known.size.as_deref())),
    }
}

/// Sums `stretches` into lines grouped `by`, pricing each with `instances` (keyed by lowercase ARM id).
pub fn ledger(stretches: &[Stretch], instances: &BTreeMap<String, Priced>, by: GroupBy) -> Ledger {
    let mut lines: BTreeMap<String, Line> = BTreeMap::new();
    for stretch in stretches {
        let known = instances.get(&stretch.target_id.to_lowercase());
        let key = key(by, stretch, known);
        let line = lines.entry(key.clone()).or_insert(Line { key, hours: 0.0, cost: 0.0, unpriced_hours: 0.0 });
        let hours = stretch.hours();
        line.hours += hours;
        match known.and_then(|known| known.hourly) {
            Some(hourly) => line.cost += hours * hourly,
            None => line.unpriced_hours += hours,
        }
    }
    let mut lines: Vec<Line> = lines.into_values().collect();
    lines.sort_by(|a, b| b.cost.total_cmp(&a.cost).then(b.hours.total_cmp(&a.hours)).then(a.key.cmp(&b.key)));
    // Folded from +0.0: a float `sum` of nothing is -0.0, which Prometheus reads as a negative counter.
    let total = |pick: fn(&Line) -> f64| lines.iter().map(pick).fold(0.0, |total, value| total + value);
    Ledger {
        hours: total(|line| line.hours),
        cost: total(|line| line.cost),
        unpriced_hours: total(|line| line.unpriced_hours),
        lines,
    }
}

/// Splits stretches at the midnights of `zone`, for per-day charts: each piece lies within one local day.
pub fn by_day(stretches: &[Stretch], zone: &jiff::tz::TimeZone) -> Vec<(jiff::civil::Date, Stretch)> {
    let mut pieces = Vec::new();
    for stretch in stretches {
        let mut from = stretch.from;
        while from < stretch.to {
            let local = from.to_zoned(zone.clone());
            let next_midnight = local
                .date()
                .tomorrow()
                .ok()
                .and_then(|date| date.to_zoned(zone.clone()).ok())
                .map_or(stretch.to, |zoned| zoned.timestamp());
            let to = next_midnight.min(stretch.to);
            pieces.push((local.date(), Stretch { from, to, ..stretch.clone() }));
            from = to;
        }
    }
    pieces
}
