//! Carrying out an idle-shutdown plan ([`autostop_policy::idle`]): `updateIdleShutdownSetting` for each change,
//! concurrently, and one audit event per instance changed, skipped or failed, with the old and the new value.
//! Shared by `autostop enforce idle-shutdown` and by every evaluation of `run` / `serve` with `[idle_shutdown]`.

use anyhow::Context as _;
use autostop_azure::{ArmClient, ComputeId};
use autostop_policy::idle::{IdleChange, IdlePlan};
use autostop_state::{Event, EventKind, RunId, StateStore};
use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use serde::Serialize;

/// The action name of idle-shutdown changes in output and in the audit log.
pub const IDLE_SHUTDOWN_ACTION: &str = "idle-shutdown";

/// How many settings are sent at once.
const CONCURRENCY: usize = 16;

/// One instance the enforcement considered. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdleRow {
    /// Always `compute-instance`.
    pub kind: &'static str,
    /// ARM id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `idle-shutdown`.
    pub action: &'static str,
    /// `succeeded`, `failed`, `skipped`, or `planned` (with `--dry-run`).
    pub result: &'static str,
    /// The setting before (`null` when off).
    pub old: Option<String>,
    /// The setting asked for.
    pub new: Option<String>,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How an idle-shutdown plan is carried out.
#[derive(Clone, Copy)]
pub struct IdleOptions<'a> {
    /// Change nothing, record nothing: report what would change.
    pub dry_run: bool,
    /// The run the audit events belong to, if any.
    pub run: Option<&'a RunId>,
}

/// Sends every change of `plan` (unless `dry_run`) and records one event per row; rows come back in plan order
/// (changes, then skips). `Err` only when the state store failed.
pub async fn enforce(
    client: &ArmClient,
    store: &dyn StateStore,
    plan: &IdlePlan,
    options: IdleOptions<'_>,
) -> anyhow::Result<Vec<IdleRow>> {
    let sent: Vec<Result<(), String>> = if options.dry_run {
        plan.changes.iter().map(|_| Ok(())).collect()
    } else {
        let sends: Vec<_> = plan.changes.iter().map(|change| send(client, change)).collect();
        stream::iter(sends).buffered(CONCURRENCY).collect().await
    };
    let mut rows = Vec::new();
    for (change, result) in plan.changes.iter().zip(sent) {
        let (result, error) = match result {
            Ok(()) if options.dry_run => ("planned", None),
            Ok(()) => ("succeeded", None),
            Err(error) => ("failed", Some(error)),
        };
        rows.push(IdleRow {
            kind: "compute-instance",
            id: change.target.id.clone(),
            name: change.target.name.clone(),
            action: IDLE_SHUTDOWN_ACTION,
            result,
            old: change.old.clone(),
            new: Some(change.new.clone()),
            reason: None,
            error,
        });
    }
    for skip in &plan.skips {
        rows.push(IdleRow {
            kind: "compute-instance",
            id: skip.target.id.clone(),
            name: skip.target.name.clone(),
            action: IDLE_SHUTDOWN_ACTION,
            result: "skipped",
            old: skip.old.clone(),
            new: None,
            reason: Some(skip.reason.clone()),
            error: None,
        });
    }
    if !options.dry_run {
        for row in &rows {
            record(store, row, options.run).await?;
        }
    }
    Ok(rows)
}

/// Sets one instance's idle shutdown.
async fn send(client: &ArmClient, change: &IdleChange) -> Result<(), String> {
    let id: ComputeId = change.target.id.parse().map_err(|err: autostop_azure::Error| err.to_string())?;
    client.update_idle_shutdown(&id, &change.new).await.map_err(|err| err.to_string())
}

/// The words of a change: `idle shutdown off -> PT60M`.
pub fn describe(old: Option<&str>, new: Option<&str>) -> String {
    format!("idle shutdown {} -> {}", old.unwrap_or("off"), new.unwrap_or("unchanged"))
}

async fn record(store: &dyn StateStore, row: &IdleRow, run: Option<&RunId>) -> anyhow::Result<()> {
    let kind = match row.result {
        "succeeded" => EventKind::Succeeded,
        "failed" => EventKind::Failed,
        _ => EventKind::Skipped,
    };
    let change = describe(row.old.as_deref(), row.new.as_deref());
    let reason = match &row.reason {
        Some(reason) => format!("{change}: {reason}"),
        None => change,
    };
    let event = Event {
        run: run.cloned(),
        target_id: Some(row.id.clone()),
        target_name: Some(row.name.clone()),
        action: Some(IDLE_SHUTDOWN_ACTION.to_owned()),
        reason: Some(reason),
        error_message: row.error.clone(),
        ..Event::new(Timestamp::now(), kind)
    };
    store.record(&event).await.with_context(|| format!("cannot write to the audit log in {}", store.location()))?;
    Ok(())
}
