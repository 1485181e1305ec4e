//! `autostop list`: the inventory of a scope, printed as it arrives.

use std::io::{BufWriter, Write};

use autostop_azure::ArmClient;
use clap::Args;

use crate::Outcome;
use crate::cli::{AzureArgs, OutputFormat, ScopeArgs};
use crate::connect::{Connection, process_env};
use crate::output::ComputePrinter;
use autostop_engine::discover::{Found, Scope, discover_each};

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
    let mut out = BufWriter::new(std::io::stdout().lock());
    let outcome = execute(&client, &scope, args.output, &mut out).await?;
    out.flush()?;
    Ok(outcome)
}

/// Lists the targets of `scope` to `out` as they arrive (see [`ComputePrinter`]), and those it cannot handle as
/// skipped; listing errors go to stderr and make the outcome a failure (a skipped compute does not).
pub async fn execute(
    client: &ArmClient,
    scope: &Scope,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let mut printer = ComputePrinter::new(out, format);
    let each = |found: Found| -> std::io::Result<()> {
        for target in &found.targets {
            printer.compute(target)?;
        }
        for unhandled in &found.unhandled {
            printer.skipped(unhandled);
        }
        Ok(())
    };
    let errors = discover_each(client, scope, each).await?;
    printer.finish()?;
    Ok(crate::report_errors(&errors))
}
