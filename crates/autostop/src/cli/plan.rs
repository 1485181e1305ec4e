//! `autostop plan`: what the policy would do in a window of time, and why (a dry run: nothing is changed).

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
    /// The compute's ARM id (absent for a missed occurrence).
    pub id: Option<String>,
    /// The compute's name.
    pub name: Option<String>,
    /// `start` or `stop`.
    pub action: String,
    /// `act`, `skip` or `missed`.
    pub decision: &'static str,
    /// Why it would be skipped or missed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A stable code for the reason (`opted-out`, `snoozed`, `job-running`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The occurrence as an instant, for ordering.
    #[serde(skip)]
    at: Timestamp,
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
    let crate::engine::Found { instances, errors, unhandled } = crate::engine::inventory(&client, &config).await;
    for odd in &unhandled {
        eprintln!("autostop: {} ({}) is left alone: cannot be handled: {}", odd.name, odd.id, odd.reason);
    }
    let plan = autostop_policy::plan(&instances, &config, autostop_policy::Window { after: at, until }, at);
    let rows = rows(&plan);
    for rule in &plan.idle_rules {
        eprintln!("autostop: rule {rule} selects no instance in scope");
    }
    for conflict in autostop_policy::native::native_conflicts(&instances, &config) {
        eprintln!(
            "autostop: rule {} stops {}, but its native schedule starts it again: {}",
            conflict.rule, conflict.target.name, conflict.schedule
        );
    }
    for error in &errors {
        eprintln!("autostop: {error}");
    }
    let header = ["OCCURRENCE", "RULE", "NAME", "ACTION", "DECISION", "WHY"];
    crate::output::print(&mut std::io::stdout().lock(), args.output, &rows, &header, |row| {
        vec![
            row.occurrence.clone(),
            row.rule.clone(),
            row.name.clone().unwrap_or_else(|| "-".into()),
            row.action.clone(),
            row.decision.to_owned(),
            row.reason.clone().unwrap_or_default(),
        ]
    })?;
    Ok(if errors.is_empty() { Outcome::Success } else { Outcome::SomeFailed })
}

/// The plan as rows, in time order: actions, skips and missed occurrences.
fn rows(plan: &autostop_policy::Plan) -> Vec<PlanRow> {
    let mut rows = Vec::new();
    for action in &plan.actions {
        rows.push(PlanRow {
            rule: action.rule.clone(),
            occurrence: rfc3339(&action.occurrence),
            at: action.occurrence.timestamp(),
            id: Some(action.target.id.clone()),
            name: Some(action.target.name.clone()),
            action: action.action.to_string(),
            decision: "act",
            reason: None,
            code: None,
        });
    }
    for skip in &plan.skips {
        rows.push(PlanRow {
            rule: skip.rule.clone(),
            occurrence: rfc3339(&skip.occurrence),
            at: skip.occurrence.timestamp(),
            id: Some(skip.target.id.clone()),
            name: Some(skip.target.name.clone()),
            action: skip.action.to_string(),
            decision: "skip",
            reason: Some(skip.reason.to_string()),
            code: Some(skip.reason.code()),
        });
    }
    for missed in &plan.missed {
        rows.push(PlanRow {
            rule: missed.rule.clone(),
            occurrence: rfc3339(&missed.occurrence),
            at: missed.occurrence.timestamp(),
            id: None,
            name: None,
            action: missed.action.to_string(),
            decision: "missed",
            reason: Some("older than the catch-up limit".into()),
            code: Some("missed"),
        });
    }
    rows.sort_by(|a, b| (a.at, &a.rule, &a.name).cmp(&(b.at, &b.rule, &b.name)));
    rows
}
