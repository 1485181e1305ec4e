//! `autostop schedule next`: the next occurrences of a schedule in local time and UTC, and what it means in plain
//! English. The one edge of the schedule crate that reads the clock (the default `--from`) and the environment
//! (`%NAME%` app settings).

use anyhow::Context;
use autostop_schedule::{Schedule, Zone, resolve_app_settings};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde::Serialize;

use super::OutputFormat;
use crate::{Outcome, UsageError};

/// `autostop schedule ...`
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// The next occurrences of a schedule, in local time and UTC.
    Next(NextArgs),
}

/// Arguments of `autostop schedule next`.
#[derive(Debug, Args)]
pub struct NextArgs {
    /// An NCRONTAB expression (5 fields, or 6 with seconds first), a TimeSpan (hh:mm:ss, d.hh:mm:ss), or
    /// %NAME% to read it from an app setting (environment variable).
    expr: String,

    /// Time zone: an IANA name (Europe/Berlin) or a Windows name (W. Europe Standard Time).
    #[arg(long, default_value = "UTC")]
    tz: String,

    /// Count from this instant (exclusive): RFC 3339 (2026-03-29T01:00:00Z), or a local date-time
    /// (2026-03-29T01:00:00) read in --tz. Default: now.
    #[arg(long)]
    from: Option<String>,

    /// How many occurrences to show.
    #[arg(short = 'n', long = "count", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    count: u16,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    output: OutputFormat,
}

/// What `schedule next --output json` prints. The keys are a contract for scripts.
#[derive(Debug, Serialize)]
struct NextReport {
    /// The expression evaluated (after `%NAME%` resolution).
    expression: String,
    /// The IANA name of the zone.
    timezone: String,
    /// One line of plain English.
    description: String,
    /// The occurrences, earliest first.
    occurrences: Vec<Occurrence>,
}

/// One occurrence in local time (RFC 3339 with the offset in force) and in UTC.
#[derive(Debug, Serialize)]
struct Occurrence {
    local: String,
    utc: String,
}

/// Runs `autostop schedule ...`.
pub fn run(cmd: ScheduleCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ScheduleCommand::Next(args) => next(args),
    }
}

fn next(args: NextArgs) -> anyhow::Result<Outcome> {
    let usage = |message: String| anyhow::Error::new(UsageError(message));
    let expression =
        resolve_app_settings(&args.expr, |name| std::env::var(name).ok()).map_err(|e| usage(e.to_string()))?;
    let schedule = Schedule::parse(&expression).map_err(|e| usage(format!("invalid schedule {expression:?}: {e}")))?;
    let zone = Zone::parse(&args.tz).map_err(|e| usage(e.to_string()))?;
    let from = match &args.from {
        Some(text) => parse_from(text, &zone).map_err(usage)?,
        None => Timestamp::now(),
    };
    let occurrences: Vec<Occurrence> = schedule
        .occurrences(from, Timestamp::MAX, zone.time_zone())
        .take(usize::from(args.count))
        .map(|z| Occurrence { local: z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(), utc: z.timestamp().to_string() })
        .collect();
    let report =
        NextReport { expression, timezone: zone.name().to_owned(), description: schedule.describe(), occurrences };
    match args.output {
        OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&report).context("cannot write the JSON report")?)
        }
        OutputFormat::Table => print!("{}", human(&report, &schedule, from, &zone, args.count)),
    }
    Ok(Outcome::Success)
}

/// `--from`: an RFC 3339 instant, or a local date-time read in the zone (a time skipped by a spring-forward gap
/// is read an hour later, a repeated time as its first instant: jiff's "compatible" rule).
fn parse_from(text: &str, zone: &Zone) -> Result<Timestamp, String> {
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    let local: jiff::civil::DateTime = text.parse().map_err(|_| {
        format!("--from {text:?}: expected RFC 3339 (2026-03-29T01:00:00Z) or a local date-time (2026-03-29T01:00:00)")
    })?;
    local
        .to_zoned(zone.time_zone().clone())
        .map(|z| z.timestamp())
        .map_err(|e| format!("--from {text:?} in {}: {e}", zone.name()))
}

/// The report for people: a header, then one line per occurrence.
fn human(report: &NextReport, schedule: &Schedule, from: Timestamp, zone: &Zone, asked: u16) -> String {
    let mut out = format!("{}\n  {}\n", report.expression, report.description);
    if schedule.to_string() != report.expression.trim() {
        out.push_str(&format!("  canonical: {schedule}\n"));
    }
    if schedule.is_fixed_time() {
        out.push_str("  fixed time: runs once when clocks go back; a time skipped when they go forward runs later\n");
    }
    let from_local = from.to_zoned(zone.time_zone().clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    if report.occurrences.is_empty() {
        out.push_str(&format!("\nno occurrence after {from_local} in {} before the year 10000\n", report.timezone));
        return out;
    }
    out.push_str(&format!("\nnext {} after {from_local} in {}:\n", report.occurrences.len(), report.timezone));
    let width = report.occurrences.iter().map(|o| o.local.len()).max().unwrap_or(0).max("local".len());
    out.push_str(&format!("  {:>3}  {:<width$}  utc\n", "#", "local"));
    for (index, occurrence) in report.occurrences.iter().enumerate() {
        out.push_str(&format!("  {:>3}  {:<width$}  {}\n", index + 1, occurrence.local, occurrence.utc));
    }
    if report.occurrences.len() < usize::from(asked) {
        out.push_str("  (no further occurrence before the year 10000)\n");
    }
    out
}
