//! What the status page shows, computed from a [`Snapshot`] and the filters of one request. Pure: filtering,
//! paging, summarising and ordering happen here, the template only lays the values out.
//!
//! To stay fast at 10,000 instances the page never lists everything: the fleet table is paged
//! ([`PAGE_SIZE`]), the next actions are summarised per occurrence and rule with only the first
//! [`DETAIL_ROWS`] listed, and the history lists the first [`DETAIL_ROWS`] events, problems first.

use std::collections::BTreeMap;

use autostop_policy::savings::{Priced, Stretch, by_day};
use autostop_state::{EventRecord, rfc3339};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::chart::stacked_bars;

/// Instances per page of the fleet table.
pub const PAGE_SIZE: usize = 100;
/// Rows listed in full in the next-actions and history tables.
pub const DETAIL_ROWS: usize = 200;
/// Days in the savings chart.
pub const CHART_DAYS: i16 = 14;

/// One compute as the page knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// ARM id, lower case (the key of everything else).
    pub key: String,
    /// Name.
    pub name: String,
    /// Workspace.
    pub workspace: String,
    /// Owner, when ARM says.
    pub owner: Option<String>,
    /// `ComputeInstance`, `AmlCompute`...
    pub kind: String,
    /// State as ARM spells it.
    pub state: Option<String>,
    /// VM size.
    pub size: Option<String>,
}

/// One decision of the coming day's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Upcoming {
    /// When.
    pub at: Timestamp,
    /// The rule.
    pub rule: String,
    /// The target's lowercase ARM id.
    pub key: String,
    /// `stop` or `start`.
    pub action: String,
    /// `act` or `skip`.
    pub decision: &'static str,
    /// Why not, in words.
    pub reason: Option<String>,
}

/// Everything the page is computed from, gathered at once (see `super::snapshot`).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When it was gathered.
    pub taken: Timestamp,
    /// The configuration's default zone: days of the chart, times shown.
    pub zone: TimeZone,
    /// The fleet, in discovery order.
    pub machines: Vec<Machine>,
    /// The next 24 hours' decisions, in time order.
    pub upcoming: Vec<Upcoming>,
    /// The last day's events, oldest first.
    pub history: Vec<EventRecord>,
    /// Stretches stopped by autostop over the chart's days.
    pub stretches: Vec<Stretch>,
    /// Prices and owners by lowercase ARM id.
    pub priced: BTreeMap<String, Priced>,
    /// The prices' currency.
    pub currency: String,
    /// What could not be read (discovery, prices), one line each.
    pub problems: Vec<String>,
}

/// The filters of one request (`?workspace=&owner=&kind=&state=&page=`); empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Filters {
    /// Only this workspace.
    pub workspace: String,
    /// Only this owner.
    pub owner: String,
    /// Only this compute type.
    pub kind: String,
    /// Only this state (the fleet table only).
    pub state: String,
    /// The fleet table's page, from 1.
    pub page: Option<usize>,
}

impl Filters {
    fn keeps(&self, machine: &Machine) -> bool {
        let matches = |want: &str, have: Option<&str>| want.is_empty() || have.is_some_and(|have| have == want);
        matches(&self.workspace, Some(&machine.workspace))
            && matches(&self.owner, machine.owner.as_deref())
            && matches(&self.kind, Some(&machine.kind))
    }

    /// The query string of these filters at `page`.
    fn link(&self, page: usize) -> String {
        let pairs =
            [("workspace", &self.workspace), ("owner", &self.owner), ("kind", &self.kind), ("state", &self.state)];
        let mut query: Vec<String> = pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| format!("{key}={}", url_encode(value)))
            .collect();
        query.push(format!("page={page}"));
        format!("?{}", query.join("&"))
    }
}

/// The page's values.
#[derive(Debug, Serialize)]
pub struct View {
    generated: String,
    zone: String,
    filters: FilterView,
    states: Vec<Count>,
    fleet_total: usize,
    fleet: Vec<MachineRow>,
    page: usize,
    pages: usize,
    previous: Option<String>,
    next: Option<String>,
    upcoming_summary: Vec<SummaryRow>,
    upcoming: Vec<UpcomingRow>,
    upcoming_total: usize,
    history: Vec<HistoryRow>,
    history_total: usize,
    history_problems: usize,
    /// The savings chart, SVG markup escaped where it was drawn.
    pub(super) chart: String,
    saved_cost: String,
    saved_hours: String,
    currency: String,
    problems: Vec<String>,
    not_counted: &'static str,
}

/// The filter form's current values and choices.
#[derive(Debug, Serialize)]
pub struct FilterView {
    workspace: String,
    owner: String,
    kind: String,
    state: String,
    workspaces: Vec<String>,
    owners: Vec<String>,
    kinds: Vec<String>,
    state_choices: Vec<String>,
}

/// A count by state.
#[derive(Debug, Serialize)]
pub struct Count {
    state: String,
    count: usize,
    link: String,
}

/// A row of the fleet table.
#[derive(Debug, Serialize)]
pub struct MachineRow {
    name: String,
    workspace: String,
    owner: String,
    kind: String,
    state: String,
    size: String,
}

/// The coming day summarised per occurrence and rule.
#[derive(Debug, Serialize)]
pub struct SummaryRow {
    when: String,
    rule: String,
    action: String,
    act: usize,
    skip: usize,
}

/// One decision of the coming day.
#[derive(Debug, Serialize)]
pub struct UpcomingRow {
    when: String,
    rule: String,
    name: String,
    action: String,
    decision: &'static str,
    reason: String,
}

/// One event of the last day.
#[derive(Debug, Serialize)]
pub struct HistoryRow {
    time: String,
    result: String,
    problem: bool,
    rule: String,
    name: String,
    action: String,
    detail: String,
}

/// The page for `filters` over `snapshot`.
pub fn view(snapshot: &Snapshot, filters: &Filters) -> View {
    let local = |at: Timestamp| at.to_zoned(snapshot.zone.clone()).strftime("%a %Y-%m-%d %H:%M").to_string();
    let machines: BTreeMap<&str, &Machine> = snapshot.machines.iter().map(|m| (m.key.as_str(), m)).collect();
    let kept: Vec<&Machine> = snapshot.machines.iter().filter(|machine| filters.keeps(machine)).collect();

    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for machine in &kept {
        *states.entry(state_of(machine)).or_default() += 1;
    }
    let listed: Vec<&&Machine> =
        kept.iter().filter(|machine| filters.state.is_empty() || state_of(machine) == filters.state).collect();
    let pages = listed.len().div_ceil(PAGE_SIZE).max(1);
    let page = filters.page.unwrap_or(1).clamp(1, pages);
    let fleet = listed
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|machine| MachineRow {
            name: machine.name.clone(),
            workspace: machine.workspace.clone(),
            owner: machine.owner.clone().unwrap_or_default(),
            kind: machine.kind.clone(),
            state: state_of(machine),
            size: machine.size.clone().unwrap_or_default(),
        })
        .collect();

    let upcoming: Vec<&Upcoming> = snapshot
        .upcoming
        .iter()
        .filter(|row| machines.get(row.key.as_str()).is_some_and(|machine| filters.keeps(machine)))
        .collect();
    let mut summary: BTreeMap<(Timestamp, &str), SummaryRow> = BTreeMap::new();
    for row in &upcoming {
        let entry = summary.entry((row.at, row.rule.as_str())).or_insert_with(|| SummaryRow {
            when: local(row.at),
            rule: row.rule.clone(),
            action: row.action.clone(),
            act: 0,
            skip: 0,
        });
        if row.decision == "act" {
            entry.act += 1;
        } else {
            entry.skip += 1;
        }
    }
    let upcoming_rows = upcoming
        .iter()
        .take(DETAIL_ROWS)
        .map(|row| UpcomingRow {
            when: local(row.at),
            rule: row.rule.clone(),
            name: machines.get(row.key.as_str()).map(|m| m.name.clone()).unwrap_or_default(),
            action: row.action.clone(),
            decision: row.decision,
            reason: row.reason.clone().unwrap_or_default(),
        })
        .collect();

    let history: Vec<&EventRecord> = snapshot
        .history
        .iter()
        .filter(|record| {
            let key = record.event.target_id.as_deref().map(str::to_lowercase).unwrap_or_default();
            // Events without a target (a missed occurrence) and about computes gone since are shown unfiltered.
            machines.get(key.as_str()).is_none_or(|machine| filters.keeps(machine))
        })
        .collect();
    let mut ordered = history.clone();
    // Problems first, then the most recent first.
    ordered.sort_by_key(|record| (!record.event.kind.is_problem(), std::cmp::Reverse(record.id)));
    let history_rows = ordered
        .iter()
        .take(DETAIL_ROWS)
        .map(|record| {
            let event = &record.event;
            let detail = [event.error_code.as_deref(), event.error_message.as_deref(), event.reason.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            HistoryRow {
                time: local(event.time),
                result: event.kind.to_string(),
                problem: event.kind.is_problem(),
                rule: event.rule.clone().unwrap_or_default(),
                name: event.target_name.clone().unwrap_or_default(),
                action: event.action.clone().unwrap_or_default(),
                detail: match (&event.occurrence, detail.is_empty()) {
                    (Some(occurrence), true) => format!("occurrence {}", rfc3339(occurrence)),
                    _ => detail,
                },
            }
        })
        .collect();

    let (chart, hours, cost) = chart(snapshot, filters);
    let distinct = |pick: &dyn Fn(&Machine) -> Option<String>| {
        let mut values: Vec<String> = snapshot.machines.iter().filter_map(pick).collect();
        values.sort();
        values.dedup();
        values
    };
    View {
        generated: local(snapshot.taken),
        zone: snapshot.zone.iana_name().unwrap_or("UTC").to_owned(),
        filters: FilterView {
            workspace: filters.workspace.clone(),
            owner: filters.owner.clone(),
            kind: filters.kind.clone(),
            state: filters.state.clone(),
            workspaces: distinct(&|m| Some(m.workspace.clone())),
            owners: distinct(&|m| m.owner.clone()),
            kinds: distinct(&|m| Some(m.kind.clone())),
            state_choices: distinct(&|m| Some(state_of(m))),
        },
        states: states
            .into_iter()
            .map(|(state, count)| {
                let link = Filters { state: state.clone(), page: None, ..filters.clone() }.link(1);
                Count { state, count, link }
            })
            .collect(),
        fleet_total: listed.len(),
        fleet,
        page,
        pages,
        previous: (page > 1).then(|| filters.link(page - 1)),
        next: (page < pages).then(|| filters.link(page + 1)),
        upcoming_summary: summary.into_values().collect(),
        upcoming: upcoming_rows,
        upcoming_total: upcoming.len(),
        history_problems: history.iter().filter(|record| record.event.kind.is_problem()).count(),
        history_total: history.len(),
        history: history_rows,
        chart,
        saved_cost: format!("{cost:.2}"),
        saved_hours: format!("{hours:.1}"),
        currency: snapshot.currency.clone(),
        problems: snapshot.problems.clone(),
        not_counted: autostop_engine::savings::NOT_COUNTED,
    }
}

/// The chart's SVG over the last [`CHART_DAYS`] local days (cost per workspace and day), with the hours and cost
/// it shows in all.
fn chart(snapshot: &Snapshot, filters: &Filters) -> (String, f64, f64) {
    let today = snapshot.taken.to_zoned(snapshot.zone.clone()).date();
    let first = today.checked_sub(jiff::Span::new().days(CHART_DAYS - 1)).unwrap_or(today);
    let mut days: BTreeMap<jiff::civil::Date, BTreeMap<String, f64>> = BTreeMap::new();
    for offset in 0..CHART_DAYS {
        if let Ok(day) = first.checked_add(jiff::Span::new().days(offset)) {
            days.insert(day, BTreeMap::new());
        }
    }
    let (mut hours, mut cost) = (0.0, 0.0);
    for (date, piece) in by_day(&snapshot.stretches, &snapshot.zone) {
        let Some(known) = snapshot.priced.get(&piece.target_id.to_lowercase()) else { continue };
        let owner_ok = filters.owner.is_empty() || known.owner.as_deref() == Some(filters.owner.as_str());
        let workspace_ok = filters.workspace.is_empty() || known.workspace == filters.workspace;
        let Some(values) = days.get_mut(&date) else { continue };
        if !(owner_ok && workspace_ok) {
            continue;
        }
        hours += piece.hours();
        let value = piece.hours() * known.hourly.unwrap_or(0.0);
        cost += value;
        *values.entry(known.workspace.clone()).or_default() += value;
    }
    let days: Vec<_> = days.into_iter().collect();
    (stacked_bars(&days, &snapshot.currency), hours, cost)
}

fn state_of(machine: &Machine) -> String {
    machine.state.clone().unwrap_or_else(|| "Unknown".to_owned())
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn url_encode(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10,000 instances over 4 workspaces and 2 owners, each with a decision at one of two instants.
    fn large() -> Snapshot {
        let taken: Timestamp = "2026-03-02T12:00:00Z".parse().expect("instant");
        let machines: Vec<Machine> = (0..10_000)
            .map(|i| Machine {
                key: format!("/x/ws-{}/computes/ci-{i}", i % 4),
                name: format!("ci-{i}"),
                workspace: format!("ws-{}", i % 4),
                owner: Some(format!("owner-{}@contoso.com", i % 2)),
                kind: "ComputeInstance".to_owned(),
                state: Some(if i % 3 == 0 { "Stopped" } else { "Running" }.to_owned()),
                size: Some("STANDARD_DS3_V2".to_owned()),
            })
            .collect();
        let upcoming = machines
            .iter()
            .enumerate()
            .map(|(i, machine)| Upcoming {
                at: taken + jiff::SignedDuration::from_hours(if i % 2 == 0 { 8 } else { 20 }),
                rule: if i % 2 == 0 { "evening-stop" } else { "night-stop" }.to_owned(),
                key: machine.key.clone(),
                action: "stop".to_owned(),
                decision: if machine.state.as_deref() == Some("Running") { "act" } else { "skip" },
                reason: (machine.state.as_deref() == Some("Stopped")).then(|| "already Stopped".to_owned()),
            })
            .collect();
        Snapshot {
            taken,
            zone: TimeZone::UTC,
            machines,
            upcoming,
            history: Vec::new(),
            stretches: Vec::new(),
            priced: BTreeMap::new(),
            currency: "USD".to_owned(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn a_fleet_of_ten_thousand_is_paged_and_summarised_and_filters_narrow_every_table() {
        let snapshot = large();
        let all = view(&snapshot, &Filters::default());
        assert_eq!((all.fleet.len(), all.fleet_total, all.pages), (PAGE_SIZE, 10_000, 100));
        assert_eq!(all.upcoming.len(), DETAIL_ROWS);
        assert_eq!(all.upcoming_total, 10_000);
        // Two instants, two rules: the summary has two rows whose counts add up to everything.
        let summary: Vec<(&str, usize, usize)> =
            all.upcoming_summary.iter().map(|row| (row.rule.as_str(), row.act, row.skip)).collect();
        assert_eq!(summary, [("evening-stop", 3333, 1667), ("night-stop", 3333, 1667)]);
        let states: Vec<(&str, usize)> = all.states.iter().map(|count| (count.state.as_str(), count.count)).collect();
        assert_eq!(states, [("Running", 6666), ("Stopped", 3334)]);
        assert_eq!(all.next.as_deref(), Some("?page=2"));
        assert!(all.previous.is_none());

        let filters =
            Filters { workspace: "ws-1".to_owned(), state: "Stopped".to_owned(), page: Some(9), ..Filters::default() };
        let narrowed = view(&snapshot, &filters);
        // ws-1 holds i ≡ 1 (mod 4); Stopped is i ≡ 0 (mod 3): i ≡ 9 (mod 12), 833 of them, 9 pages.
        assert_eq!((narrowed.fleet_total, narrowed.pages, narrowed.page), (833, 9, 9));
        assert_eq!(narrowed.fleet.len(), 33);
        assert!(narrowed.fleet.iter().all(|row| row.workspace == "ws-1" && row.state == "Stopped"));
        assert_eq!(narrowed.previous.as_deref(), Some("?workspace=ws-1&state=Stopped&page=8"));
        // The next actions follow the workspace filter (not the state one): 2,500 instances of ws-1.
        assert_eq!(narrowed.upcoming_total, 2500);

        let html = super::super::render(&all).expect("renders");
        assert!(html.len() < 400_000, "the page stays small: {} bytes", html.len());
        assert_eq!(html.matches("<tr><th scope=\"row\">ci-").count(), PAGE_SIZE);
    }
}
