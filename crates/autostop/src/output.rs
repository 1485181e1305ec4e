//! Output: the rows each verb prints, as a table for people or as JSON for scripts.

use std::collections::BTreeMap;
use std::io::Write;

use autostop_azure::Unhandled;
use autostop_policy::Instance;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde::Serialize;

use autostop_engine::apply::Verdict;

/// The kind `list` shows for an Azure ML compute that is not a compute instance (an AmlCompute cluster, an attached
/// or Kubernetes compute): listed for information, never acted on.
pub const ML_COMPUTE_KIND: &str = "ml-compute";

/// One target as `autostop list` shows it. The JSON keys are a contract for scripts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeRow {
    /// `compute-instance`, `vm`, `vmss`, or [`ML_COMPUTE_KIND`] for a workspace compute that is not an instance.
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
        let in_workspace = target.kind == autostop_policy::Kind::ComputeInstance;
        let is_instance = in_workspace && target.compute_type.eq_ignore_ascii_case("ComputeInstance");
        let kind = if in_workspace && !is_instance { ML_COMPUTE_KIND } else { target.kind.as_str() };
        ComputeRow {
            kind: kind.to_owned(),
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

/// A JSON array written entry by entry, laid out as `serde_json::to_writer_pretty` lays out a whole array: what
/// a verb prints about thousands of computes need not be held to be printed.
#[derive(Debug, Default)]
struct JsonArray {
    written: usize,
}

impl JsonArray {
    /// Writes one entry (the opening bracket before the first).
    fn entry<T: Serialize>(&mut self, out: &mut dyn Write, entry: &T) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(entry)?;
        out.write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
        for (index, line) in text.lines().enumerate() {
            if index > 0 {
                out.write_all(b"\n")?;
            }
            write!(out, "  {line}")?;
        }
        self.written += 1;
        Ok(())
    }

    /// Closes the array (`[]` when it had no entry).
    fn close(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.written == 0 { writeln!(out, "[]") } else { writeln!(out, "\n]") }
    }
}

/// One entry of `autostop list --output json`: a compute, or one that was skipped.
#[derive(Serialize)]
#[serde(untagged)]
enum ListEntry<'a> {
    Compute(&'a ComputeRow),
    Skipped(&'a SkippedRow),
}

/// Past this many computes `autostop list` prints a summary instead of a table: a table that long is not read,
/// and laying it out needs every row in memory at once.
pub const TABLE_ROWS: usize = 2_000;

/// Prints computes as `autostop list` does, as they arrive, then the computes it skipped. In JSON every compute is
/// an entry of one array, written as soon as it arrives, and the skipped ones follow with `result: "skipped"` and
/// the `reason`. As a table: the table when there are at most [`TABLE_ROWS`] computes, else a summary (how many
/// in each state); then one `skipped NAME (ID): REASON` line each. Memory stays bounded by the table's rows and
/// the skipped computes, whatever the fleet.
pub struct ComputePrinter<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    json: JsonArray,
    /// Table rows held until the end, while there are at most [`TABLE_ROWS`].
    rows: Vec<ComputeRow>,
    /// Set once there are too many rows for a table: computes per state.
    summary: Option<BTreeMap<String, usize>>,
    /// Computes seen, and their workspaces (computes arrive grouped by workspace).
    computes: usize,
    workspaces: usize,
    last_workspace: String,
    skipped: Vec<SkippedRow>,
}

impl<'a> ComputePrinter<'a> {
    /// A printer to `out` in `format`.
    pub fn new(out: &'a mut dyn Write, format: OutputFormat) -> Self {
        ComputePrinter {
            out,
            format,
            json: JsonArray::default(),
            rows: Vec::new(),
            summary: None,
            computes: 0,
            workspaces: 0,
            last_workspace: String::new(),
            skipped: Vec::new(),
        }
    }

    /// Prints (JSON) or counts (table) one target.
    pub fn compute(&mut self, target: &Instance) -> std::io::Result<()> {
        let row = ComputeRow::from(target);
        self.computes += 1;
        match self.format {
            OutputFormat::Json => self.json.entry(self.out, &ListEntry::Compute(&row)),
            OutputFormat::Table => {
                if self.summary.is_none() && self.rows.len() == TABLE_ROWS {
                    let mut counts = BTreeMap::new();
                    for held in self.rows.drain(..) {
                        *counts.entry(state_label(&held)).or_insert(0) += 1;
                    }
                    self.rows.shrink_to_fit();
                    self.summary = Some(counts);
                }
                let workspace = format!("{}/{}/{}", target.subscription, target.resource_group, target.workspace);
                if workspace != self.last_workspace {
                    self.workspaces += 1;
                    self.last_workspace = workspace;
                }
                match &mut self.summary {
                    Some(counts) => *counts.entry(state_label(&row)).or_insert(0) += 1,
                    None => self.rows.push(row),
                }
                Ok(())
            }
        }
    }

    /// Keeps a compute discovery could not handle, for the end.
    pub fn skipped(&mut self, unhandled: &Unhandled) {
        self.skipped.push(SkippedRow::from(unhandled));
    }

    /// Prints what was held back (the table or summary, the skipped computes) and closes the JSON array.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.skipped.sort_by_cached_key(|row| row.id.to_lowercase());
        let skipped = std::mem::take(&mut self.skipped);
        match self.format {
            OutputFormat::Json => {
                for row in &skipped {
                    self.json.entry(self.out, &ListEntry::Skipped(row))?;
                }
                self.json.close(self.out)
            }
            OutputFormat::Table => {
                match &self.summary {
                    None => print_compute_table(self.out, self.format, &self.rows)?,
                    Some(counts) => {
                        writeln!(
                            self.out,
                            "{} computes in {} workspaces (more than {TABLE_ROWS}: a summary; --output json lists \
                             every one)",
                            self.computes, self.workspaces
                        )?;
                        for (state, count) in counts {
                            writeln!(self.out, "  {state:<12} {count}")?;
                        }
                    }
                }
                for row in &skipped {
                    writeln!(self.out, "skipped {} ({}): {}", row.name, row.id, row.reason)?;
                }
                Ok(())
            }
        }
    }
}

/// A row's state as the summary counts it.
fn state_label(row: &ComputeRow) -> String {
    row.state.clone().unwrap_or_else(|| "-".to_owned())
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

/// Prints action results as `autostop stop|start` do: in JSON each row as soon as it is made, as a table all
/// rows at the end.
pub struct ActionPrinter<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    json: JsonArray,
    /// Table rows, held until the end.
    rows: Vec<ActionRow>,
    /// Whether any row failed.
    failed: bool,
}

impl<'a> ActionPrinter<'a> {
    /// A printer to `out` in `format`.
    pub fn new(out: &'a mut dyn Write, format: OutputFormat) -> Self {
        ActionPrinter { out, format, json: JsonArray::default(), rows: Vec::new(), failed: false }
    }

    /// Prints (JSON) or holds (table) one row.
    pub fn row(&mut self, row: ActionRow) -> std::io::Result<()> {
        self.failed |= row.result == Verdict::Failed;
        match self.format {
            OutputFormat::Json => self.json.entry(self.out, &row),
            OutputFormat::Table => {
                self.rows.push(row);
                Ok(())
            }
        }
    }

    /// Closes the JSON array or prints the table; says whether any row failed.
    pub fn finish(self) -> std::io::Result<bool> {
        match self.format {
            OutputFormat::Json => self.json.close(self.out)?,
            OutputFormat::Table => {
                print(self.out, self.format, &self.rows, &["NAME", "ACTION", "RESULT", "DETAIL"], |row| {
                    let result = serde_json::to_value(row.result)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    vec![
                        row.name.clone(),
                        row.action.clone(),
                        result,
                        row.reason
                            .clone()
                            .or_else(|| row.error.clone())
                            .or_else(|| row.state.clone())
                            .unwrap_or_default(),
                    ]
                })?
            }
        }
        Ok(self.failed)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn compute(workspace: &str, name: &str, state: &str) -> Instance {
        Instance {
            kind: autostop_policy::Kind::ComputeInstance,
            id: format!(
                "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/\
                 Microsoft.MachineLearningServices/workspaces/{workspace}/computes/{name}"
            ),
            name: name.to_owned(),
            subscription: "00000000-0000-4000-8000-000000000001".to_owned(),
            resource_group: "rg".to_owned(),
            workspace: workspace.to_owned(),
            compute_type: "ComputeInstance".to_owned(),
            state: Some(state.to_owned()),
            vm_size: Some("STANDARD_DS3_V2".to_owned()),
            tags: BTreeMap::from([("team".to_owned(), "ml".to_owned())]),
            ..Instance::default()
        }
    }

    fn printed(format: OutputFormat, computes: &[Instance]) -> String {
        let mut out = Vec::new();
        let mut printer = ComputePrinter::new(&mut out, format);
        for compute in computes {
            printer.compute(compute).expect("written");
        }
        printer.finish().expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn json_written_row_by_row_is_the_pretty_array() {
        let computes = [compute("ws-a", "one", "Running"), compute("ws-a", "two", "Stopped")];
        let rows = computes.iter().map(ComputeRow::from).collect::<Vec<_>>();
        let whole = serde_json::to_string_pretty(&rows).expect("serialised") + "\n";
        assert_eq!(printed(OutputFormat::Json, &computes), whole);
        assert_eq!(printed(OutputFormat::Json, &[]), "[]\n");
    }

    #[test]
    fn action_rows_in_json_are_the_pretty_array_and_failures_are_told() {
        let row = |name: &str, result: Verdict| ActionRow {
            kind: Some("compute-instance".to_owned()),
            id: format!("/x/{name}"),
            name: name.to_owned(),
            action: "stop".to_owned(),
            result,
            reason: None,
            error: (result == Verdict::Failed).then(|| "boom".to_owned()),
            state: Some("Stopped".to_owned()),
        };
        let rows = [row("a", Verdict::Succeeded), row("b", Verdict::Failed)];
        let mut out = Vec::new();
        let mut printer = ActionPrinter::new(&mut out, OutputFormat::Json);
        for r in &rows {
            printer.row(r.clone()).expect("written");
        }
        assert!(printer.finish().expect("written"), "a failed row is reported");
        let whole = serde_json::to_string_pretty(&rows).expect("serialised") + "\n";
        assert_eq!(String::from_utf8(out).expect("utf-8"), whole);
        let mut out = Vec::new();
        let mut printer = ActionPrinter::new(&mut out, OutputFormat::Table);
        printer.row(rows[0].clone()).expect("held");
        assert!(!printer.finish().expect("written"));
        assert!(String::from_utf8(out).expect("utf-8").contains("succeeded"));
    }

    #[test]
    fn a_table_up_to_the_limit_and_a_summary_past_it() {
        let few = [compute("ws-a", "one", "Running"), compute("ws-b", "two", "Stopped")];
        let table = printed(OutputFormat::Table, &few);
        assert!(table.contains("NAME") && table.contains("rg/ws-b") && table.contains("team=ml"), "{table}");

        let many = (0..=TABLE_ROWS)
            .map(|i| compute(if i < 10 { "ws-a" } else { "ws-b" }, &format!("ci-{i}"), ["Running", "Stopped"][i % 2]))
            .collect::<Vec<_>>();
        let summary = printed(OutputFormat::Table, &many);
        assert!(summary.starts_with(&format!("{} computes in 2 workspaces", TABLE_ROWS + 1)), "{summary}");
        assert!(summary.contains(&format!("Running      {}", TABLE_ROWS / 2 + 1)), "{summary}");
        assert!(summary.contains(&format!("Stopped      {}", TABLE_ROWS / 2)), "{summary}");
        assert!(!summary.contains("ci-1"), "no rows past the limit: {summary}");
    }
}
