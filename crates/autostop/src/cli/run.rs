//! `autostop run`: evaluates the schedule window since the last run (with catch-up), confirms what earlier runs
//! left open, and acts. For cron, CI and Kubernetes CronJobs; the daemon and the Functions handler run the same
//! engine. SIGTERM / SIGINT: nothing new is sent, operations in flight get `--shutdown-grace` to finish.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use jiff::{SignedDuration, Timestamp};

use crate::Outcome;
use crate::UsageError;
use crate::cli::{OutputFormat, PolicyArgs, parse_instant};
use autostop_engine::apply::ApplyArgs;
use autostop_engine::evaluation::{Engine, EngineOptions, LAST_EVALUATED_KEY, RunOutcome};

/// How far ahead of this machine's clock `--now` may be (clock skew), and still be taken for "now".
const NOW_SKEW: SignedDuration = SignedDuration::from_mins(1);

/// `autostop run [--now TIME --state PATH] [--config PATH] [--output json]`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Evaluate as if it were this instant (RFC 3339, or a local date-time in the default time zone), to
    /// back-test: it must not be in the future, needs an explicit --state (a scratch file), and cannot be earlier
    /// than what that state has already evaluated.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Do not follow operations to their end: record them as accepted, for a later run to confirm.
    #[arg(long)]
    no_wait: bool,
    /// How long an accepted action may take to be read back in its state before it is recorded unconfirmed.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = autostop_policy::duration::positive_duration_arg)]
    confirm_deadline: Duration,
    /// How long SIGTERM / SIGINT lets operations in flight finish before leaving them to a later run to confirm.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = autostop_policy::duration::positive_duration_arg)]
    shutdown_grace: Duration,
    #[command(flatten)]
    apply: ApplyArgs,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// Runs `autostop run`.
pub async fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let (config, client) = crate::config::connect(&args.policy.config_path(), &args.policy.azure)?;
    let wall = Timestamp::now();
    let now = match &args.now {
        None => wall,
        Some(text) => {
            if args.policy.state.is_none() {
                return Err(UsageError(
                    "--now back-tests: give it a state of its own with --state PATH (a scratch file), so that the \
                     schedule's real state never moves"
                        .into(),
                )
                .into());
            }
            let now = parse_instant(text, config.defaults.timezone.time_zone(), "--now")?;
            if now > wall.checked_add(NOW_SKEW).unwrap_or(Timestamp::MAX) {
                return Err(UsageError(format!(
                    "--now {text}: expected an instant that is not in the future (it is {wall} now): a run acts on \
                     Azure now, so it cannot evaluate occurrences that have not happened (use `autostop plan --at` \
                     to preview the future)"
                ))
                .into());
            }
            now
        }
    };
    let location = args.policy.state()?;
    let store = location.open()?;
    if let Some(last) = store.last_evaluated(LAST_EVALUATED_KEY).await?
        && now < last
    {
        return Err(UsageError(format!(
            "--now {now}: the state {location} has already been evaluated up to {last}; a state's window never moves \
             back (back-test with a fresh --state)"
        ))
        .into());
    }
    let options = EngineOptions {
        apply: args.apply.options(!args.no_wait),
        confirm_deadline: SignedDuration::try_from(args.confirm_deadline).context("--confirm-deadline is too long")?,
        link_key: super::link_key()?,
        ..EngineOptions::default()
    };
    let engine = Engine::new(config, client, store, options);
    let interrupt = autostop_serve::signals::interrupt_on_signals(args.shutdown_grace)
        .context("listening for SIGTERM and SIGINT")?;
    let report = engine.evaluate(now, None, Some(&interrupt)).await?;
    for rule in &report.idle_rules {
        eprintln!("autostop: rule {rule} selects no instance in scope");
    }
    print(&mut std::io::stdout().lock(), args.output, &report.outcomes)?;
    let problems = report.problems();
    for problem in &problems {
        eprintln!("autostop: {problem}");
    }
    if report.pending > 0 {
        eprintln!(
            "autostop: {} occurrence(s) left pending: a later run retries them within their catch-up limit",
            report.pending
        );
    }
    if report.unconfirmed_open > 0 {
        eprintln!(
            "autostop: {} action(s) accepted by Azure and still to be confirmed by a later run",
            report.unconfirmed_open
        );
    }
    // Retention after the evaluation, never before or during it: claims and pending occurrences are kept.
    let pruned = match engine.prune(now).await {
        Ok(_) => true,
        Err(err) => {
            eprintln!("autostop: {err:#}");
            false
        }
    };
    Ok(if problems.is_empty() && pruned { Outcome::Success } else { Outcome::SomeFailed })
}

/// Prints run outcomes as a table or a JSON array.
pub fn print(out: &mut dyn std::io::Write, format: OutputFormat, outcomes: &[RunOutcome]) -> std::io::Result<()> {
    let header = ["RULE", "OCCURRENCE", "NAME", "ACTION", "RESULT", "DETAIL"];
    crate::output::print(out, format, outcomes, &header, |o| {
        vec![
            o.rule.clone(),
            o.occurrence.clone(),
            o.name.clone().unwrap_or_else(|| "-".into()),
            o.action.clone(),
            o.result.to_string(),
            o.reason.clone().or_else(|| o.error.clone()).unwrap_or_default(),
        ]
    })
}
