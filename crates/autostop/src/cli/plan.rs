//! `autostop plan`: what the policy would do at each occurrence of a window of time, and why (a dry run: nothing
//! is changed). Each occurrence sees the states the earlier ones leave ([`autostop_policy::timeline`](fn@autostop_policy::timeline)). Azure ML
//! native start schedules that undo a stop rule's work are part of the answer: listed below the table, and on each
//! JSON row of that rule and instance (`native_starts`).

use std::io::Write;

use autostop_policy::native::NativeConflict;
use clap::Args;
use jiff::Timestamp;
use serde::Serialize;

use crate::Outcome;
use crate::cli::{OutputFormat, PolicyArgs, parse_instant};
use autostop_state::rfc3339;

/// `autostop plan [--at TIME] [--window DURATION] [--output json]`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Start of the window (RFC 3339, or a local date-time in the default time zone) [default: now].
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Length of the window after --at, e.g. 24h, 7d.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    window: String,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// One line of a plan. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    /// The rule.
    pub rule: String,
    /// The occurrence, RFC 3339 with the rule's offset.
    pub occurrence: String,
    /// When the decision is taken, RFC 3339 with the rule's offset: the occurrence, or the new time of a stop its
    /// owner postponed (then the occurrence has two rows: `postponed` at it, the stop at its new time).
    pub at: String,
    /// The compute's ARM id.
    pub id: String,
    /// The compute's name.
    pub name: String,
    /// `start` or `stop`.
    pub action: String,
    /// `act` or `skip`.
    pub decision: &'static str,
    /// Why it would be skipped (`null` for an action).
    pub reason: Option<String>,
    /// A stable code for the reason (`opted-out`, `snoozed`, `job-running`...; `null` for an action).
    pub code: Option<&'static str>,
    /// The notice announcing this stop (`null` when none: a start, a skip, or a rule without `notify`).
    pub notice: Option<PlanNotice>,
    /// The target's enabled Azure ML native schedules that start it again after this stop rule stops it, as Azure
    /// describes them (`Start cron 0 8 * * * (UTC)`); empty when none (always for a start).
    pub native_starts: Vec<String>,
}

/// When a stop's notice goes, and where. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
pub struct PlanNotice {
    /// When it goes, RFC 3339 with the rule's offset.
    pub at: String,
    /// The channels it goes to.
    pub channels: Vec<String>,
}

/// Runs `autostop plan`: discovers the configured scopes (read-only) and plans `(at, at + window]`.
pub async fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    let window =
        autostop_policy::parse_duration(&args.window).map_err(|err| crate::UsageError(format!("--window: {err}")))?;
    let (config, client) = crate::config::connect(&args.policy.config_path(), &args.policy.azure)?;
    let at = match &args.at {
        Some(text) => parse_instant(text, config.defaults.timezone.time_zone(), "--at")?,
        None => Timestamp::now(),
    };
    let until =
        at.checked_add(window).map_err(|_| crate::UsageError(format!("--window: {} is too long", args.window)))?;
    let autostop_engine::evaluation::Found { instances, errors, unhandled, .. } =
        autostop_engine::evaluation::inventory(&client, &config).await;
    for odd in &unhandled {
        eprintln!("autostop: {} ({}) is left alone: cannot be handled: {}", odd.name, odd.id, odd.reason);
    }
    // What autostop itself stopped and owners postponed, from the state (a state that does not exist yet knows of
    // neither).
    let location = args.policy.state()?;
    let facts = if location.exists() {
        let since = autostop_engine::evaluation::postponements_since(&config, at, at);
        autostop_engine::evaluation::read_facts(location.open()?.as_ref(), since).await?.0
    } else {
        autostop_policy::StateFacts::default()
    };
    let window = autostop_policy::Window { after: at, until };
    let timeline = autostop_policy::timeline(&instances, &config, window, &facts);
    let conflicts = autostop_policy::native::native_conflicts(&instances, &config);
    let rows = rows(&timeline, &config, &conflicts);
    for rule in &autostop_policy::plan(&instances, &config, &facts, window, at).idle_rules {
        eprintln!("autostop: rule {rule} selects no instance in scope");
    }
    for error in &errors {
        eprintln!("autostop: {error}");
    }
    let header = ["OCCURRENCE", "RULE", "NAME", "ACTION", "DECISION", "WHY", "NOTICE"];
    let mut out = std::io::stdout().lock();
    crate::output::print(&mut out, args.output, &rows, &header, |row| {
        vec![
            if row.at == row.occurrence {
                row.occurrence.clone()
            } else {
                format!("{} (at {})", row.occurrence, row.at)
            },
            row.rule.clone(),
            row.name.clone(),
            row.action.clone(),
            row.decision.to_owned(),
            row.reason.clone().unwrap_or_default(),
            row.notice.as_ref().map(|notice| notice_cell(&row.occurrence, notice)).unwrap_or_default(),
        ]
    })?;
    if args.output == OutputFormat::Table {
        print_native_conflicts(&mut out, &conflicts)?;
    }
    Ok(if errors.is_empty() { Outcome::Success } else { Outcome::SomeFailed })
}

/// A notice in the table: `19:30 → ml-team, ops`, with its date too when it is not the occurrence's.
fn notice_cell(occurrence: &str, notice: &PlanNotice) -> String {
    let same_date = occurrence.get(..10).is_some_and(|date| notice.at.starts_with(date));
    let at = match (same_date, notice.at.get(11..16), notice.at.get(..10)) {
        (true, Some(time), _) => time.to_owned(),
        (false, Some(time), Some(date)) => format!("{date} {time}"),
        _ => notice.at.clone(),
    };
    format!("{at} → {}", notice.channels.join(", "))
}

/// Below the table: each native start schedule that undoes a stop rule's work, whether or not the rule occurs in
/// the window.
fn print_native_conflicts(out: &mut dyn Write, conflicts: &[NativeConflict]) -> std::io::Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    writeln!(out, "Native schedules that start again what a stop rule stops:")?;
    for conflict in conflicts {
        writeln!(out, "  rule {} stops {}: {}", conflict.rule, conflict.target.name, conflict.schedule)?;
    }
    Ok(())
}

/// The timeline as rows, in time order: at each occurrence its actions, then its skips, in inventory order; each
/// stop that acts with its rule's notice, and each with the native start schedules of `conflicts` that undo it.
pub fn rows(
    timeline: &autostop_policy::Timeline,
    config: &autostop_policy::Config,
    conflicts: &[NativeConflict],
) -> Vec<PlanRow> {
    timeline
        .steps
        .iter()
        .flat_map(autostop_policy::Step::decisions)
        .map(|decision| PlanRow {
            rule: decision.rule.to_owned(),
            occurrence: rfc3339(decision.occurrence),
            at: rfc3339(&decision.at.to_zoned(decision.occurrence.time_zone().clone())),
            id: decision.target.id.clone(),
            name: decision.target.name.clone(),
            action: decision.action.to_string(),
            decision: if decision.skip.is_some() { "skip" } else { "act" },
            reason: decision.skip.map(ToString::to_string),
            code: decision.skip.map(autostop_policy::PlanSkipReason::code),
            notice: decision
                .notice(config)
                .map(|notice| PlanNotice { at: rfc3339(&notice.at), channels: notice.channels.to_vec() }),
            native_starts: conflicts
                .iter()
                .filter(|conflict| conflict.rule == decision.rule && conflict.target.id == decision.target.id)
                .map(|conflict| conflict.schedule.clone())
                .collect(),
        })
        .collect()
}
