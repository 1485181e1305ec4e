//! The savings ledger, with numbers worked out by hand in the comments: stretches from confirmed stops to the
//! next sign of life, clipped to the period, priced per instance, grouped, and split by local day.

use std::collections::BTreeMap;

use autostop_policy::savings::{GroupBy, Observation, Period, Priced, Sign, by_day, ledger, stopped_stretches};
use jiff::Timestamp;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|err| panic!("test timestamp {text}: {err}"))
}

fn stopped(at: &str, id: &str, rule: &str) -> Observation {
    Observation { at: ts(at), target_id: id.to_owned(), sign: Sign::Stopped { rule: Some(rule.to_owned()) } }
}

fn running(at: &str, id: &str) -> Observation {
    Observation { at: ts(at), target_id: id.to_owned(), sign: Sign::Running }
}

/// The period: 1 March 00:00 UTC to 4 March 00:00 UTC (72 hours).
fn period() -> Period {
    Period { since: ts("2026-03-01T00:00:00Z"), until: ts("2026-03-04T00:00:00Z") }
}

fn hours(stretches: &[autostop_policy::savings::Stretch]) -> Vec<(String, f64)> {
    stretches.iter().map(|stretch| (stretch.target_id.clone(), stretch.hours())).collect()
}

#[test]
fn a_stretch_runs_from_a_confirmed_stop_to_the_next_sign_of_life_clipped_to_the_period() {
    let observations = [
        // a: stopped before the period (28 Feb 20:00), started 1 Mar 08:00: 8 hours inside the period.
        stopped("2026-02-28T20:00:00Z", "A", "evening"),
        running("2026-03-01T08:00:00Z", "a"),
        // a: stopped 1 Mar 20:00, seen running again when the next stop found it running on 2 Mar 20:00 (24 h);
        // that stop starts a new stretch which lasts to the end of the period (28 h).
        stopped("2026-03-01T20:00:00Z", "a", "evening"),
        stopped("2026-03-02T20:00:00Z", "a", "evening"),
        // b: never stopped, only started: nothing.
        running("2026-03-02T08:00:00Z", "b"),
        // c: stopped after the period ends: nothing.
        stopped("2026-03-04T01:00:00Z", "c", "evening"),
    ];
    let mut shuffled = observations.to_vec();
    shuffled.reverse();
    let stretches = stopped_stretches(&shuffled, period());
    assert_eq!(hours(&stretches), [("A".to_owned(), 8.0), ("a".to_owned(), 24.0), ("a".to_owned(), 28.0)]);
    assert_eq!(stretches[0].from, period().since, "clipped at the start");
    assert_eq!(stretches[2].to, period().until, "open stretches end with the period");
}

#[test]
fn the_ledger_prices_hours_by_instance_and_groups_them_with_unpriced_hours_apart() {
    let observations = [
        // gpu-1: 10 h stopped at 3.06/h = 30.60
        stopped("2026-03-01T10:00:00Z", "/x/gpu-1", "evening"),
        running("2026-03-01T20:00:00Z", "/x/gpu-1"),
        // cpu-1: 20 h at 0.096/h = 1.92
        stopped("2026-03-02T00:00:00Z", "/x/cpu-1", "night"),
        running("2026-03-02T20:00:00Z", "/x/cpu-1"),
        // cpu-2: 6 h at 0.096/h = 0.576, same owner as cpu-1
        stopped("2026-03-03T18:00:00Z", "/x/cpu-2", "evening"),
        // gone-1: deleted since: 2 h unpriced
        stopped("2026-03-03T00:00:00Z", "/x/gone-1", "evening"),
        running("2026-03-03T02:00:00Z", "/x/gone-1"),
    ];
    let priced = |name: &str, workspace: &str, owner: &str, size: &str, hourly: f64| Priced {
        name: name.to_owned(),
        workspace: workspace.to_owned(),
        owner: Some(owner.to_owned()),
        size: Some(size.to_owned()),
        hourly: Some(hourly),
    };
    let instances = BTreeMap::from([
        ("/x/gpu-1".to_owned(), priced("gpu-1", "ws-vision", "alice@contoso.com", "Standard_NC6s_v3", 3.06)),
        ("/x/cpu-1".to_owned(), priced("cpu-1", "ws-tabular", "bob@contoso.com", "Standard_D2s_v3", 0.096)),
        ("/x/cpu-2".to_owned(), priced("cpu-2", "ws-vision", "bob@contoso.com", "Standard_D2s_v3", 0.096)),
    ]);
    let stretches = stopped_stretches(&observations, period());

    let by_instance = ledger(&stretches, &instances, GroupBy::Instance);
    let lines: Vec<(&str, f64, f64, f64)> = by_instance
        .lines
        .iter()
        .map(|line| (line.key.as_str(), line.hours, round(line.cost), line.unpriced_hours))
        .collect();
    assert_eq!(
        lines,
        [
            ("gpu-1", 10.0, 30.6, 0.0),
            ("cpu-1", 20.0, 1.92, 0.0),
            ("cpu-2", 6.0, 0.58, 0.0),
            ("/x/gone-1", 2.0, 0.0, 2.0)
        ]
    );
    // 10 + 20 + 6 + 2 = 38 h; 30.60 + 1.92 + 0.576 = 33.096
    assert_eq!(by_instance.hours, 38.0);
    assert_eq!(round(by_instance.cost), 33.10);
    assert_eq!(by_instance.unpriced_hours, 2.0);

    let by_owner = ledger(&stretches, &instances, GroupBy::Owner);
    let owners: Vec<(&str, f64)> = by_owner.lines.iter().map(|line| (line.key.as_str(), round(line.cost))).collect();
    // bob: 1.92 + 0.576 = 2.496
    assert_eq!(owners, [("alice@contoso.com", 30.6), ("bob@contoso.com", 2.5), ("(unknown)", 0.0)]);

    let by_workspace = ledger(&stretches, &instances, GroupBy::Workspace);
    let workspaces: Vec<(&str, f64)> = by_workspace.lines.iter().map(|line| (line.key.as_str(), line.hours)).collect();
    assert_eq!(workspaces, [("ws-vision", 16.0), ("ws-tabular", 20.0), ("(unknown)", 2.0)]);

    let by_rule = ledger(&stretches, &instances, GroupBy::Rule);
    let rules: Vec<(&str, f64)> = by_rule.lines.iter().map(|line| (line.key.as_str(), line.hours)).collect();
    // evening: 10 + 6 + 2 = 18 h (31.176); night: 20 h (1.92)
    assert_eq!(rules, [("evening", 18.0), ("night", 20.0)]);

    let by_size = ledger(&stretches, &instances, GroupBy::Size);
    let sizes: Vec<(&str, f64)> = by_size.lines.iter().map(|line| (line.key.as_str(), line.hours)).collect();
    assert_eq!(sizes, [("Standard_NC6s_v3", 10.0), ("Standard_D2s_v3", 26.0), ("(unknown)", 2.0)]);
}

#[test]
fn stretches_split_at_local_midnights_across_a_daylight_saving_change() {
    // Berlin springs forward on 29 March 2026: that local day has 23 hours.
    let observations = [stopped("2026-03-28T19:00:00Z", "a", "evening"), running("2026-03-30T06:00:00Z", "a")];
    let period = Period { since: ts("2026-03-28T00:00:00Z"), until: ts("2026-04-01T00:00:00Z") };
    let stretches = stopped_stretches(&observations, period);
    let zone = jiff::tz::TimeZone::get("Europe/Berlin").expect("zone");
    let days: Vec<(String, f64)> =
        by_day(&stretches, &zone).iter().map(|(date, piece)| (date.to_string(), piece.hours())).collect();
    // 28th 20:00 CET to midnight: 4 h; the 29th: 23 h; the 30th to 08:00 CEST: 8 h. 35 h in all.
    assert_eq!(days, [("2026-03-28".to_owned(), 4.0), ("2026-03-29".to_owned(), 23.0), ("2026-03-30".to_owned(), 8.0)]);
    assert_eq!(stretches[0].hours(), 35.0);
}

#[test]
fn an_empty_ledger_totals_positive_zero() {
    let empty = ledger(&[], &BTreeMap::new(), GroupBy::Owner);
    assert!(empty.lines.is_empty());
    for total in [empty.hours, empty.cost, empty.unpriced_hours] {
        assert!(total == 0.0 && total.is_sign_positive(), "{total:?}");
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
