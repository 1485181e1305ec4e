//! `autostop history [--state PATH] [--since TIME|DURATION] [--target NAME|ID] [--output table|json]`: shows the
//! audit log, oldest first.
//!
//! Reads the state only; a state that does not exist yet is an empty history (it is not created).

use std::path::PathBuf;

use autostop_state::{EventRecord, HistoryQuery, rfc3339};
use jiff::Timestamp;

use crate::cli::OutputFormat;
use crate::{Outcome, UsageError};

/// Arguments of `autostop history`.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// State: an SQLite file (default: $XDG_STATE_HOME/autostop/audit.db, else ~/.local/state/autostop/audit.db)
    /// or a Blob Storage URL (https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]).
    #[arg(long, env = "AUTOSTOP_STATE", value_name = "PATH|URL")]
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
    #[arg(long, short = 'o', value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Runs `autostop history`.
pub async fn run(args: HistoryArgs) -> anyhow::Result<Outcome> {
    let since = args.since.as_deref().map(|text| parse_since(text, Timestamp::now())).transpose()?;
    let location = crate::store::StateLocation::resolve(args.state.as_deref())?;
    let records = if location.exists() {
        let store = location.open()?;
        if let Some(pruned) = store.pruned_before().await?
            && since.is_none_or(|since| since < pruned)
        {
            eprintln!(
                "autostop: events before {pruned} were pruned ([state] keep): the history of the period asked for \
                 starts there"
            );
        }
        store.history(&HistoryQuery { since, target: args.target, limit: args.limit }).await?
    } else {
        eprintln!("autostop: no state at {location} yet: nothing has been recorded");
        Vec::new()
    };
    print(&mut std::io::stdout().lock(), &records, args.output)?;
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

/// Prints `records` as a table (one line per event) or as a JSON array of flat objects.
fn print(out: &mut dyn std::io::Write, records: &[EventRecord], format: OutputFormat) -> std::io::Result<()> {
    let header = ["TIME", "RESULT", "RULE", "OCCURRENCE", "TARGET", "ACTION", "DETAIL"];
    crate::output::print(out, format, records, &header, |record| {
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
            dash(event.occurrence.as_ref().map(rfc3339)),
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

    #[test]
    fn events_print_as_a_table_and_as_json() {
        use autostop_state::{Event, EventKind, SqliteStore};

        let dir = std::env::temp_dir().join(format!("autostop-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteStore::open(&dir.join("audit.db")).expect("open");
        let time: Timestamp = "2026-03-02T19:00:05Z".parse().expect("time");
        let failed = Event {
            rule: Some("evening-stop".to_owned()),
            occurrence: Some("2026-03-02T20:00:00+01:00[Europe/Berlin]".parse().expect("occurrence")),
            target_id: Some("/subscriptions/s/resourceGroups/rg/computes/ci-1".to_owned()),
            target_name: Some("ci-1".to_owned()),
            action: Some("stop".to_owned()),
            error_code: Some("Conflict".to_owned()),
            error_message: Some("operation in progress".to_owned()),
            ..Event::new(time, EventKind::Failed)
        };
        store.record(&failed).expect("record");
        let records = store.history(&HistoryQuery::default()).expect("history");

        let mut table = Vec::new();
        print(&mut table, &records, OutputFormat::Table).expect("table");
        let table = String::from_utf8(table).expect("utf-8");
        for needle in ["ci-1", "failed", "evening-stop", "2026-03-02T20:00:00+01:00", "Conflict: operation in progress"]
        {
            assert!(table.contains(needle), "{needle} missing from\n{table}");
        }

        let mut json = Vec::new();
        print(&mut json, &records, OutputFormat::Json).expect("json");
        let json: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
        assert_eq!(json[0]["result"], "failed");
        assert_eq!(json[0]["errorCode"], "Conflict");
        assert_eq!(json[0]["targetName"], "ci-1");
    }
}
