//! `autostop savings --since 30d [--by instance|owner|workspace|rule|size] [--output table|json|csv]
//! [--prices FILE] [--currency USD]`: the hours autostop kept instances stopped, and what they would have cost.
//!
//! Reads the audit log (never creating it), discovers the configured scopes (read-only) for each instance's size,
//! region, workspace and owner, and prices the sizes with a saved Retail Prices API answer (`--prices`) or the
//! API itself (`AUTOSTOP_PRICES_ENDPOINT` overrides its address), caching what it fetched in the state store.
//! The definition and what is not counted are in `autostop_policy::savings`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use autostop_policy::savings::{GroupBy, Ledger, Period, ledger};
use clap::{Args, ValueEnum};
use jiff::Timestamp;
use serde::Serialize;

use crate::cli::PolicyArgs;
use crate::{Outcome, UsageError};
use autostop_engine::savings::{NOT_COUNTED, PriceSource};

/// `autostop savings`
#[derive(Debug, Args)]
pub struct SavingsArgs {
    /// The period: since an instant (2026-03-01T00:00:00Z) or that long ago (30d), until now.
    #[arg(long, value_name = "TIME|DURATION", default_value = "30d")]
    since: String,
    /// One line per instance, owner, workspace, rule or VM size.
    #[arg(long, value_enum, default_value_t = By::Instance)]
    by: By,
    /// How to print.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    output: Format,
    /// A saved Retail Prices API answer to price with (nothing is fetched); its currency is the ledger's.
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// The currency to ask the Retail Prices API for (USD, EUR, JPY...); a price file has its own.
    #[arg(long, value_name = "CODE", default_value = "USD", conflicts_with = "prices")]
    currency: String,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// `--by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum By {
    Instance,
    Owner,
    Workspace,
    Rule,
    Size,
}

impl From<By> for GroupBy {
    fn from(by: By) -> GroupBy {
        match by {
            By::Instance => GroupBy::Instance,
            By::Owner => GroupBy::Owner,
            By::Workspace => GroupBy::Workspace,
            By::Rule => GroupBy::Rule,
            By::Size => GroupBy::Size,
        }
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

/// The JSON document. Keys are a contract for scripts.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    since: String,
    until: String,
    currency: &'a str,
    by: &'a str,
    lines: Vec<LineJson<'a>>,
    total: Totals,
    not_counted: &'a str,
    price_problems: &'a [String],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LineJson<'a> {
    key: &'a str,
    hours: f64,
    cost: f64,
    unpriced_hours: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Totals {
    hours: f64,
    cost: f64,
    unpriced_hours: f64,
}

/// Runs `autostop savings`.
pub async fn run(args: SavingsArgs) -> anyhow::Result<Outcome> {
    let now = Timestamp::now();
    let since = crate::cli::history::parse_since(&args.since, now)?;
    if since >= now {
        return Err(UsageError(format!("--since: {} is not in the past", args.since)).into());
    }
    let source =
        PriceSource::from_args(args.prices.clone(), &args.currency).map_err(|err| UsageError(err.to_string()))?;
    let (config, client) = crate::config::connect(&args.policy.config_path(), &args.policy.azure)?;
    let location = args.policy.state()?;
    if !location.exists() {
        return Err(UsageError(format!("--state: no audit log at {location} yet: nothing has been recorded")).into());
    }
    let store = location.open()?;
    let period = Period { since, until: now };
    let stretches = autostop_engine::savings::stretches(store.as_ref(), period).await?;
    let autostop_engine::evaluation::Found { instances: targets, errors, locations, .. } =
        autostop_engine::evaluation::inventory(&client, &config).await;
    let wanted: BTreeSet<String> = stretches.iter().map(|stretch| stretch.target_id.to_lowercase()).collect();
    let (instances, currency, problems) =
        autostop_engine::savings::priced(&targets, &locations, &wanted, &source, store.as_ref(), now).await?;
    let ledger = ledger(&stretches, &instances, args.by.into());

    for line in errors.iter().chain(&problems) {
        eprintln!("autostop: {line}");
    }
    let by = args.by.to_possible_value().map(|value| value.get_name().to_owned()).unwrap_or_default();
    let mut out = std::io::stdout().lock();
    match args.output {
        Format::Table => table(&mut out, &ledger, &by, &currency, period)?,
        Format::Csv => csv(&mut out, &ledger, &by, &currency)?,
        Format::Json => {
            let report = Report {
                since: period.since.to_string(),
                until: period.until.to_string(),
                currency: &currency,
                by: &by,
                lines: ledger
                    .lines
                    .iter()
                    .map(|line| LineJson {
                        key: &line.key,
                        hours: round(line.hours),
                        cost: round(line.cost),
                        unpriced_hours: round(line.unpriced_hours),
                    })
                    .collect(),
                total: Totals {
                    hours: round(ledger.hours),
                    cost: round(ledger.cost),
                    unpriced_hours: round(ledger.unpriced_hours),
                },
                not_counted: NOT_COUNTED,
                price_problems: &problems,
            };
            serde_json::to_writer_pretty(&mut out, &report).context("writing the report")?;
            writeln!(out)?;
        }
    }
    Ok(if errors.is_empty() { Outcome::Success } else { Outcome::SomeFailed })
}

/// Two decimals, as money and hours are shown.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn table(out: &mut dyn Write, ledger: &Ledger, by: &str, currency: &str, period: Period) -> anyhow::Result<()> {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header([
        by.to_uppercase(),
        "HOURS STOPPED".into(),
        format!("SAVED ({currency})"),
        "UNPRICED HOURS".into(),
    ]);
    for line in &ledger.lines {
        table.add_row([
            line.key.clone(),
            format!("{:.2}", line.hours),
            format!("{:.2}", line.cost),
            format!("{:.2}", line.unpriced_hours),
        ]);
    }
    table.add_row([
        "TOTAL".to_owned(),
        format!("{:.2}", ledger.hours),
        format!("{:.2}", ledger.cost),
        format!("{:.2}", ledger.unpriced_hours),
    ]);
    writeln!(out, "Savings from {} to {}", period.since, period.until)?;
    writeln!(out, "{table}")?;
    writeln!(out, "Not counted: {NOT_COUNTED}.")?;
    Ok(())
}

fn csv(out: &mut dyn Write, ledger: &Ledger, by: &str, currency: &str) -> anyhow::Result<()> {
    writeln!(out, "{by},hours,cost,currency,unpriced_hours")?;
    for line in &ledger.lines {
        writeln!(
            out,
            "{},{:.2},{:.2},{currency},{:.2}",
            csv_field(&line.key),
            line.hours,
            line.cost,
            line.unpriced_hours
        )?;
    }
    Ok(())
}

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}
