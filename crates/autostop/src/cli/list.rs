//! `autostop list`: the compute inventory of a scope.

use std::io::Write;

use autostop_azure::ArmClient;
use clap::Args;

use crate::Outcome;
use crate::cli::{AzureArgs, OutputFormat, ScopeArgs};
use crate::connect::{Connection, process_env};
use crate::discover::{Scope, discover};
use crate::output::{ComputeRow, SkippedRow, print_computes};

/// `autostop list [SCOPE] [--output table|json]`
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    #[command(flatten)]
    azure: AzureArgs,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t)]
    output: OutputFormat,
}

/// Runs `autostop list`.
pub async fn run(args: ListArgs) -> anyhow::Result<Outcome> {
    let scope = args.scope.scope()?;
    let (_, client) = Connection::from_args(&args.azure).client(process_env)?;
    execute(&client, &scope, args.output, &mut std::io::stdout().lock()).await
}

/// Lists the computes of `scope` to `out`, and those it cannot handle as skipped; listing errors go to stderr
/// and make the outcome a failure (a skipped compute does not).
pub async fn execute(
    client: &ArmClient,
    scope: &Scope,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let inventory = discover(client, scope).await;
    let rows = inventory.targets.iter().map(ComputeRow::from).collect::<Vec<_>>();
    let skipped = inventory.unhandled.iter().map(SkippedRow::from).collect::<Vec<_>>();
    print_computes(out, format, &rows, &skipped)?;
    Ok(crate::report_errors(&inventory.errors))
}
