//! Benchmark (not a test): next-occurrence throughput and a year of `0 */5 * * * *` enumerated in Europe/Berlin,
//! ours against the `croner` crate on the same expressions in the same run. Prints a table with the ratio
//! (croner time / our time: above 1 means we are faster) and writes `target/bench/schedule.json`.
//!
//! Run: `cargo bench -p autostop-schedule` (release build; a few seconds).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use autostop_schedule::{Schedule, Zone};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::{Timestamp, Zoned};

const ROUNDS: usize = 7;
const STARTS: usize = 20_000;
/// Expressions whose meaning is the same under NCrontab and croner (no day-of-month AND day-of-week, no name
/// prefixes), so both libraries do the same work.
const EXPRESSIONS: [&str; 5] = ["0 */5 * * * *", "0 30 9 * * 1-5", "15 10 2 1 * *", "0 0 */6 * * *", "0 0 12 29 2 *"];

struct Row {
    name: String,
    ours: Duration,
    croner: Duration,
    count: usize,
    disagreements: usize,
}

fn main() {
    let zone = Zone::parse("Europe/Berlin").expect("a bundled zone");
    let tz = zone.time_zone();
    let parser = CronParser::builder().seconds(Seconds::Required).build();
    let starts: Vec<Timestamp> = spread_starts();
    let mut rows = Vec::new();

    for expr in EXPRESSIONS {
        let ours = Schedule::parse(expr).expect("our parser accepts it");
        let theirs = parser.parse(expr).expect("croner accepts it");
        let zoned_starts: Vec<Zoned> = starts.iter().map(|t| t.to_zoned(tz.clone())).collect();
        let disagreements = starts
            .iter()
            .zip(&zoned_starts)
            .filter(|(t, z)| {
                let a = ours.next_after(**t, tz).map(|z| z.timestamp());
                let b = theirs.find_next_occurrence(*z, false).ok().map(|z| z.timestamp());
                a != b
            })
            .count();
        let ours_time = best_of(|| {
            for t in &starts {
                black_box(ours.next_after(black_box(*t), tz));
            }
        });
        let croner_time = best_of(|| {
            for z in &zoned_starts {
                let _ = black_box(theirs.find_next_occurrence(black_box(z), false));
            }
        });
        rows.push(Row {
            name: format!("next occurrence: {expr}"),
            ours: ours_time,
            croner: croner_time,
            count: starts.len(),
            disagreements,
        });
    }

    let year_from: Timestamp = "2026-01-01T00:00:00+01:00".parse().expect("an instant");
    let year_to: Timestamp = "2027-01-01T00:00:00+01:00".parse().expect("an instant");
    let every5 = Schedule::parse("0 */5 * * * *").expect("valid");
    let every5_croner: Cron = parser.parse("0 */5 * * * *").expect("valid");
    let ours_count = every5.occurrences(year_from, year_to, tz).count();
    let croner_count = croner_year(&every5_croner, year_from, year_to, tz);
    let ours_time = best_of(|| {
        black_box(every5.occurrences(year_from, year_to, tz).count());
    });
    let croner_time = best_of(|| {
        black_box(croner_year(&every5_croner, year_from, year_to, tz));
    });
    rows.push(Row {
        name: "a year of 0 */5 * * * * in Europe/Berlin".to_owned(),
        ours: ours_time,
        croner: croner_time,
        count: ours_count,
        disagreements: ours_count.abs_diff(croner_count),
    });

    print_table(&rows);
    write_json(&rows);
}

/// Start instants spread over 2026 (a fixed linear congruential walk, so every run measures the same work).
fn spread_starts() -> Vec<Timestamp> {
    let base = 1_767_225_600_i64; // 2026-01-01T00:00:00Z
    let mut state = 12_345_u64;
    (0..STARTS)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let offset = (state >> 33) % (365 * 86_400);
            Timestamp::from_second(base + offset as i64).expect("in range")
        })
        .collect()
}

fn croner_year(cron: &Cron, from: Timestamp, to: Timestamp, tz: &jiff::tz::TimeZone) -> usize {
    cron.iter_after(from.to_zoned(tz.clone())).take_while(|z| z.timestamp() <= to).count()
}

/// The fastest of several rounds (the least disturbed by other work on the machine).
fn best_of(mut work: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<44} {:>8} {:>12} {:>12} {:>7} {:>9}",
        "benchmark (best of 7 rounds)", "items", "ours", "croner", "ratio", "disagree"
    );
    for row in rows {
        println!(
            "{:<44} {:>8} {:>12} {:>12} {:>6.2}x {:>9}",
            row.name,
            row.count,
            format!("{:.2?}", row.ours),
            format!("{:.2?}", row.croner),
            ratio(row),
            row.disagreements
        );
    }
    println!("ratio = croner time / our time (above 1: ours is faster)");
}

fn ratio(row: &Row) -> f64 {
    row.croner.as_secs_f64() / row.ours.as_secs_f64().max(1e-12)
}

fn write_json(rows: &[Row]) {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let dir = target.join("bench");
    let json = serde_json::json!({
        "rounds": ROUNDS,
        "zone": "Europe/Berlin",
        "results": rows.iter().map(|row| serde_json::json!({
            "name": row.name,
            "items": row.count,
            "ours_ns": row.ours.as_nanos() as u64,
            "croner_ns": row.croner.as_nanos() as u64,
            "ratio": ratio(row),
            "disagreements": row.disagreements,
        })).collect::<Vec<_>>(),
    });
    let path = dir.join("schedule.json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, format!("{json:#}\n"))) {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}
