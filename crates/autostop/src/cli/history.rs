//! `autostop history [--state PATH] [--since TIME|DURATION] [--target NAME|ID] [--output table|json]`: shows the
//! audit log, oldest first.
//!
//! Reads the audit database only; a database that does not exist yet is an empty history (it is not created).

use std::path::PathBuf;

use autostop_audit::{EventRecord, HistoryQuery, Store};
use jiff::Timestamp;

use crate::cli::OutputFormat;
use crate::{Outcome, UsageError};

/// Arguments of `autostop history`.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// Audit database (default: $XDG_STATE_HOME/autostop/audit.db, else ~/.local/state/autostop/audit.db).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Only events since an instant (2026-03-02T20:00:00+09:00) or that long ago (24h, 7d).
    #[arg(long, value_name = "TIME|DURATION")]
    pub since: Option<String>,
    /// Only events about this target: its name or ARM resource id (case-insensitive).
    #[arg(long, value_name = "NAME|ID")]
    pub target: Option<String>,
    /// At most this many events: the most recent ones.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// How to print: a table for people, JSON for scripts.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `autostop history`.
pub fn run(args: HistoryArgs) -> anyhow::Result<Outcome> {
    let since = args.since.as_deref().map(|text| parse_since(text, Timestamp::now())).transpose()?;
    let path = match args.state {
        Some(path) => path,
        None => Store::default_path()?,
    };
    let records = if path.exists() {
        let store = Store::open(&path)?;
        store.history(&HistoryQuery { since, target: args.target, limit: args.limit })?
    } else {
        eprintln!("autostop: no audit database at {} yet: nothing has been recorded", path.display());
        Vec::new()
    };
    print(&records, args.output)?;
    Ok(Outcome::Success)
}

/// `--since`: an RFC 3339 instant, or a duration counted back from `now`.
fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp, UsageError> {
    if let Ok(instant) = text.trim().parse::<Timestamp>() {
        return Ok(instant);
    }
    let ago = autostop_policy::parse_duration(text).map_err(|_| {
        UsageError(format!(
            "--since: expected an RFC 3339 instant (2026-03-02T20:00:00Z) or a duration (24h, 7d), found {text:?}"
        ))
    })?;
    now.checked_sub(ago).map_err(|_| UsageError(format!("--since: {text:?} reaches before the year -9999")))
}

fn print(records: &[EventRecord], format: OutputFormat) -> std::io::Result<()> {
    let header = ["TIME", "RESULT", "RULE", "OCCURRENCE", "TARGET", "ACTION", "DETAIL"];
    let mut out = std::io::stdout().lock();
    crate::output::print(&mut out, format, records, &header, |record| {
        let event = &record.event;
        let error = match (&event.error_code, &event.error_message) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (code, message) => code.clone().or_else(|| message.clone()),
        };
        let dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
        vec![
            event.time.to_string(),
            event.kind.to_string(),
            dash(event.rule.clone()),
            dash(event.occurrence.as_ref().map(|occurrence| occurrence.strftime("%F %T %Z").to_string())),
            dash(event.target_name.clone().or_else(|| event.target_id.clone())),
            dash(event.action.clone()),
            dash(error.or_else(|| event.reason.clone())),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_instant_or_a_duration_back_from_now() {
        let now: Timestamp = "2026-03-02T12:00:00Z".parse().expect("now");
        assert_eq!(parse_since("2026-03-01T09:00:00+09:00", now).expect("instant").to_string(), "2026-03-01T00:00:00Z");
        assert_eq!(parse_since("24h", now).expect("duration").to_string(), "2026-03-01T12:00:00Z");
        assert_eq!(parse_since("7d", now).expect("days").to_string(), "2026-02-23T12:00:00Z");
        let err = parse_since("yesterday", now).expect_err("refused");
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
    }
}
