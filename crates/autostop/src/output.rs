//! Output: the rows each verb prints, as a table for people or as JSON for scripts.

use std::collections::BTreeMap;
use std::io::Write;

use autostop_azure::Unhandled;
use autostop_policy::Instance;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

use crate::apply::Verdict;

/// One target as `autostop list` shows it. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeRow {
    /// `compute-instance`, `vm` or `vmss`.
    pub kind: String,
    /// ARM resource id.
    pub id: String,
    /// Compute name.
    pub name: String,
    /// Subscription id.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Workspace name.
    pub workspace: String,
    /// `ComputeInstance`, `AmlCompute`, ...
    pub compute_type: String,
    /// State as ARM reports it (`null` when it reports none).
    pub state: Option<String>,
    /// VM size.
    pub vm_size: Option<String>,
    /// Owner, when ARM says who it is.
    pub owner: Option<String>,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
    /// How many instances a scale set has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    /// Whether an autoscale setting manages the scale set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub autoscale: bool,
    /// A compute instance's idle shutdown (ISO 8601; `null` when off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_shutdown: Option<Option<String>>,
    /// How many native start/stop schedules a compute instance has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_schedules: Option<usize>,
}

impl From<&Instance> for ComputeRow {
    fn from(target: &Instance) -> Self {
        let is_instance =
            target.kind == autostop_policy::Kind::ComputeInstance && target.compute_type == "ComputeInstance";
        ComputeRow {
            kind: target.kind.as_str().to_owned(),
            id: target.id.clone(),
            name: target.name.clone(),
            subscription: target.subscription.clone(),
            resource_group: target.resource_group.clone(),
            workspace: target.workspace.clone(),
            compute_type: target.compute_type.clone(),
            state: target.state.clone(),
            vm_size: target.vm_size.clone(),
            owner: target.owner.clone(),
            tags: target.tags.clone(),
            capacity: target.capacity,
            autoscale: target.autoscale,
            idle_shutdown: is_instance.then(|| target.idle_shutdown.clone()),
            native_schedules: is_instance.then_some(target.native_schedules.len()),
        }
    }
}

/// A compute discovery could not handle, as `autostop list` shows it: `{"id","name","result":"skipped","reason"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedRow {
    /// ARM resource id as ARM sent it.
    pub id: String,
    /// Compute name as ARM sent it.
    pub name: String,
    /// Always `skipped`.
    pub result: Verdict,
    /// Why autostop cannot handle it.
    pub reason: String,
}

impl From<&Unhandled> for SkippedRow {
    fn from(unhandled: &Unhandled) -> Self {
        SkippedRow {
            id: unhandled.id.clone(),
            name: unhandled.name.clone(),
            result: Verdict::Skipped,
            reason: unhandled_reason(unhandled),
        }
    }
}

/// The reason shown for a compute discovery could not handle.
pub fn unhandled_reason(unhandled: &Unhandled) -> String {
    format!("autostop cannot handle this compute: {}", unhandled.reason)
}

/// One compute an action verb considered, and what became of it. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRow {
    /// `compute-instance`, `vm` or `vmss` (absent for a name that matched nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// ARM resource id (the name given, when nothing matched it).
    pub id: String,
    /// Compute name.
    pub name: String,
    /// `start` or `stop`.
    pub action: String,
    /// `succeeded`, `accepted`, `skipped` or `failed`.
    pub result: Verdict,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The state last seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Prints `rows` to `out`: JSON (an array), or a table with the given columns.
pub fn print<T: Serialize>(
    out: &mut dyn Write,
    format: OutputFormat,
    rows: &[T],
    header: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            writeln!(out)
        }
        OutputFormat::Table => {
            if rows.is_empty() {
                return writeln!(out, "(nothing)");
            }
            let mut table = Table::new();
            table.load_preset(UTF8_BORDERS_ONLY).set_header(header.to_vec());
            for row in rows {
                table.add_row(cells(row));
            }
            writeln!(out, "{table}")
        }
    }
}

/// One entry of `autostop list --output json`: a compute, or one that was skipped.
#[derive(Serialize)]
#[serde(untagged)]
enum ListEntry<'a> {
    Compute(&'a ComputeRow),
    Skipped(&'a SkippedRow),
}

/// Prints computes as `autostop list` does, then the computes it skipped: in JSON as entries of the same array
/// with `result: "skipped"` and the `reason`; in a table as one `skipped NAME (ID): REASON` line each.
pub fn print_computes(
    out: &mut dyn Write,
    format: OutputFormat,
    rows: &[ComputeRow],
    skipped: &[SkippedRow],
) -> std::io::Result<()> {
    if format == OutputFormat::Json {
        let entries = rows.iter().map(ListEntry::Compute).chain(skipped.iter().map(ListEntry::Skipped));
        return print(out, format, &entries.collect::<Vec<_>>(), &[], |_| Vec::new());
    }
    print_compute_table(out, format, rows)?;
    for row in skipped {
        writeln!(out, "skipped {} ({}): {}", row.name, row.id, row.reason)?;
    }
    Ok(())
}

fn print_compute_table(out: &mut dyn Write, format: OutputFormat, rows: &[ComputeRow]) -> std::io::Result<()> {
    let header = ["NAME", "KIND", "WHERE", "TYPE", "STATE", "SIZE", "OWNER", "IDLE SHUTDOWN", "SCHEDULES", "TAGS"];
    print(out, format, rows, &header, |row| {
        let place = if row.workspace.is_empty() {
            row.resource_group.clone()
        } else {
            format!("{}/{}", row.resource_group, row.workspace)
        };
        let kind = match row.capacity {
            Some(capacity) => format!("{} ({capacity} instances)", row.kind),
            None => row.kind.clone(),
        };
        vec![
            row.name.clone(),
            kind,
            place,
            row.compute_type.clone(),
            row.state.clone().unwrap_or_else(|| "-".into()),
            row.vm_size.clone().unwrap_or_else(|| "-".into()),
            row.owner.clone().unwrap_or_else(|| "-".into()),
            match &row.idle_shutdown {
                Some(Some(idle)) => idle.clone(),
                Some(None) => "off".into(),
                None => "-".into(),
            },
            row.native_schedules.map_or_else(|| "-".into(), |count| count.to_string()),
            row.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
        ]
    })
}

/// Prints action results as `autostop stop|start` do.
pub fn print_actions(out: &mut dyn Write, format: OutputFormat, rows: &[ActionRow]) -> std::io::Result<()> {
    print(out, format, rows, &["NAME", "ACTION", "RESULT", "DETAIL"], |row| {
        let result =
            serde_json::to_value(row.result).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        vec![
            row.name.clone(),
            row.action.clone(),
            result,
            row.reason.clone().or_else(|| row.error.clone()).or_else(|| row.state.clone()).unwrap_or_default(),
        ]
    })
}

/// How results are printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    #[default]
    Table,
    /// JSON for scripts.
    Json,
}
