//! `autostop schedule next`: the next occurrences of a schedule in local time and UTC, and what it means in plain
//! English. The one edge of the schedule crate that reads the clock (the default `--from`), the environment
//! (`%NAME%` app settings) and holiday calendar files (`--skip-on`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use autostop_schedule::{Calendar, Schedule, Zone, resolve_app_settings};
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

    /// An iCalendar file of holidays (repeatable): occurrences whose local date (in --tz) is a holiday are still
    /// listed, marked `skipped: holiday (NAME: SUMMARY)`, where NAME is the file's name without its extension.
    #[arg(long = "skip-on", value_name = "FILE")]
    skip_on: Vec<PathBuf>,

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

/// One occurrence in local time (RFC 3339 with the offset in force) and in UTC; `skipped` (only when set) says
/// why a rule with `--skip-on` calendars would not act on it: `holiday (NAME: SUMMARY)`.
#[derive(Debug, Serialize)]
struct Occurrence {
    local: String,
    utc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
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
    let calendars = args.skip_on.iter().map(|path| calendar(path)).collect::<anyhow::Result<Vec<_>>>()?;
    let occurrences: Vec<Occurrence> = schedule
        .occurrences(from, Timestamp::MAX, zone.time_zone())
        .take(usize::from(args.count))
        .map(|z| Occurrence {
            local: z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            utc: z.timestamp().to_string(),
            skipped: calendars.iter().find_map(|(name, calendar)| {
                let holiday = calendar.holiday_at(&z)?;
                Some(match holiday.summary {
                    Some(summary) => format!("holiday ({name}: {summary})"),
                    None => format!("holiday ({name})"),
                })
            }),
        })
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

/// Reads a `--skip-on` file, named after its file stem. Each bad line goes to stderr as `path:line: message`; the
/// error (exit status 2) counts them.
fn calendar(path: &Path) -> anyhow::Result<(String, Calendar)> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| UsageError(format!("--skip-on: cannot read {}: {err}", path.display())))?;
    let calendar = Calendar::from_ics(&text).map_err(|errors| {
        for error in &errors {
            eprintln!("{}:{error}", path.display());
        }
        let count = errors.len();
        UsageError(format!("{count} error{} in {}", if count == 1 { "" } else { "s" }, path.display()))
    })?;
    let name = path.file_stem().map_or_else(|| path.display().to_string(), |stem| stem.to_string_lossy().into_owned());
    Ok((name, calendar))
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
        let skipped = occurrence.skipped.as_ref().map(|why| format!("  skipped: {why}")).unwrap_or_default();
        out.push_str(&format!("  {:>3}  {:<width$}  {}{skipped}\n", index + 1, occurrence.local, occurrence.utc));
    }
    if report.occurrences.len() < usize::from(asked) {
        out.push_str("  (no further occurrence before the year 10000)\n");
    }
    out
}
