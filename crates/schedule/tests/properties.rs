//! Property tests with a seeded generator (deterministic, no extra dependency): any input gives a value or an
//! error and never a panic; occurrences strictly increase; each one matches the expression; and around real DST
//! changes the occurrences equal an independent oracle built from jiff's own gap/fold resolution.

use autostop_schedule::{Schedule, Zone};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// SplitMix64: small, fast, good enough to spread test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const ZONES: [&str; 8] = [
    "UTC",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Pacific/Apia",
];

/// A random, valid field: `*`, a value, a range, a step, a list, names for month and day of week.
fn field(rng: &mut Rng, min: u64, max: u64, names: &[&str]) -> String {
    let value = |rng: &mut Rng| {
        let v = min + rng.below(max - min + 1);
        match names.get((v - min) as usize) {
            Some(name) if rng.below(3) == 0 => name[..1 + rng.below(name.len() as u64) as usize].to_owned(),
            _ => v.to_string(),
        }
    };
    let item = |rng: &mut Rng| match rng.below(6) {
        0 => "*".to_owned(),
        1 => format!("*/{}", rng.below(max + 2)),
        2 => format!("{}-{}", value(rng), value(rng)),
        3 => format!("{}/{}", value(rng), rng.below(12)),
        4 => format!("{}-{}/{}", value(rng), value(rng), 1 + rng.below(10)),
        _ => value(rng),
    };
    let count = 1 + rng.below(3);
    (0..count).map(|_| item(rng)).collect::<Vec<_>>().join(",")
}

fn expression(rng: &mut Rng, seconds: bool) -> String {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "june", "july", "aug", "sep", "oct", "nov", "dec"];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let mut fields = Vec::new();
    if seconds {
        fields.push(field(rng, 0, 59, &[]));
    }
    fields.push(field(rng, 0, 59, &[]));
    fields.push(field(rng, 0, 23, &[]));
    // Keep day-of-month and month loose most of the time so that occurrences are frequent.
    fields.push(if rng.below(4) == 0 { field(rng, 1, 31, &[]) } else { "*".to_owned() });
    fields.push(if rng.below(4) == 0 { field(rng, 1, 12, &MONTHS) } else { "*".to_owned() });
    fields.push(if rng.below(3) == 0 { field(rng, 0, 6, &DAYS) } else { "*".to_owned() });
    fields.join(" ")
}

#[test]
fn any_input_gives_a_value_or_an_error() {
    const PIECES: [&str; 24] = [
        "*",
        "/",
        "-",
        ",",
        " ",
        "  ",
        "0",
        "7",
        "59",
        "60",
        "99999999999999999999",
        "Mon",
        "J",
        "ju",
        ":",
        ".",
        "%",
        "24",
        "\t",
        "é",
        "?",
        "L",
        "#",
        "1.",
    ];
    let mut rng = Rng(1);
    let from: Timestamp = "2026-03-29T00:00:00Z".parse().expect("an instant");
    let berlin = Zone::parse("Europe/Berlin").expect("a zone");
    for round in 0..20_000 {
        let length = rng.below(14);
        let input: String = (0..length).map(|_| *rng.pick(&PIECES)).collect();
        let results =
            [Schedule::parse(&input), Schedule::parse_cron(&input, true), Schedule::parse_cron(&input, false)];
        for schedule in results.into_iter().flatten() {
            let _ = schedule.describe();
            let _ = schedule.to_string();
            let _ = schedule.next_after(from, berlin.time_zone());
        }
        if round % 1000 == 0 {
            // Unknown names are scored against every known name: a few dozen suffice here.
            let _ = Zone::parse(&input);
        }
        let _ = autostop_schedule::resolve_app_settings(&input, |_| None);
    }
}

#[test]
fn canonical_form_reads_back_as_the_same_schedule() {
    let mut rng = Rng(2);
    for _ in 0..2_000 {
        let seconds = rng.below(2) == 0;
        let expr = expression(&mut rng, seconds);
        let schedule = Schedule::parse_cron(&expr, seconds).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let again = Schedule::parse_cron(&schedule.to_string(), seconds).unwrap_or_else(|e| panic!("{schedule}: {e}"));
        assert_eq!(again.to_string(), schedule.to_string(), "{expr}");
    }
}

#[test]
fn occurrences_strictly_increase_and_match_the_expression() {
    let mut rng = Rng(3);
    for _ in 0..400 {
        let seconds = rng.below(2) == 0;
        let expr = expression(&mut rng, seconds);
        let schedule = Schedule::parse_cron(&expr, seconds).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let name = *rng.pick(&ZONES[..]);
        let zone = Zone::parse(name).expect("a zone");
        let from = Timestamp::from_second(1_500_000_000 + rng.below(400_000_000) as i64).expect("an instant");
        let mut previous = from;
        for occurrence in schedule.occurrences(from, Timestamp::MAX, zone.time_zone()).take(25) {
            assert!(occurrence.timestamp() > previous, "{expr} in {zone}: {occurrence} after {previous}");
            assert!(matches_or_shifted(&schedule, &occurrence), "{expr} in {zone}: {occurrence} does not match");
            previous = occurrence.timestamp();
        }
    }
}

/// Whether the occurrence matches its expression: by its own wall-clock time, or (fixed-time schedules) as a
/// wall-clock time skipped by a spring-forward gap and moved forward by the size of the gap.
fn matches_or_shifted(schedule: &Schedule, occurrence: &Zoned) -> bool {
    if schedule.matches(occurrence) {
        return true;
    }
    let tz = occurrence.time_zone();
    let Some(transition) = tz.preceding(occurrence.timestamp() + SignedDuration::from_secs(1)).next() else {
        return false;
    };
    let before = tz.to_offset(transition.timestamp() - SignedDuration::from_secs(1));
    let gap = SignedDuration::from_secs(i64::from(transition.offset().seconds() - before.seconds()));
    let in_shift = occurrence.timestamp().duration_since(transition.timestamp()) < gap;
    let skipped = (occurrence.datetime() - gap).to_zoned(TimeZone::UTC).expect("in range");
    schedule.is_fixed_time() && gap.is_positive() && in_shift && schedule.matches(&skipped)
}

#[test]
fn around_dst_changes_occurrences_equal_the_jiff_oracle() {
    let mut rng = Rng(4);
    let zones = ["Europe/Berlin", "America/Los_Angeles", "Australia/Lord_Howe", "Pacific/Chatham", "America/Sao_Paulo"];
    let mut fixed = 0;
    for round in 0..300 {
        // Every other case names fixed times of day, biased to the small hours where clocks change.
        let expr = if round % 2 == 0 {
            let minutes = (0..1 + rng.below(2)).map(|_| (rng.below(4) * 15).to_string()).collect::<Vec<_>>();
            let hours = (0..1 + rng.below(3)).map(|_| rng.below(5).to_string()).collect::<Vec<_>>();
            format!("{} {} * * *", minutes.join(","), hours.join(","))
        } else {
            expression(&mut rng, false)
        };
        let schedule = Schedule::parse_cron(&expr, false).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let name = *rng.pick(&zones[..]);
        let zone = Zone::parse(name).expect("a zone");
        let tz = zone.time_zone();
        let near = Timestamp::from_second(946_684_800 + rng.below(1_000_000_000) as i64).expect("an instant");
        let Some(transition) = tz.following(near).next() else { continue };
        let from = transition.timestamp() - SignedDuration::from_hours(3);
        let until = transition.timestamp() + SignedDuration::from_hours(3);
        fixed += usize::from(schedule.is_fixed_time());
        let ours: Vec<Timestamp> = schedule.occurrences(from, until, tz).map(|z| z.timestamp()).collect();
        assert_eq!(ours, oracle(&schedule, tz, from, until), "{expr} in {zone} around {}", transition.timestamp());
    }
    assert!(fixed >= 150, "only {fixed} fixed-time schedules were generated");
}

/// Every minute of wall-clock time around the window, resolved by jiff: a fixed-time schedule takes jiff's
/// "compatible" instant (the earlier one in a fold, shifted forward in a gap); an interval schedule takes every
/// instant a wall-clock time has (both in a fold, none in a gap).
fn oracle(schedule: &Schedule, tz: &TimeZone, from: Timestamp, until: Timestamp) -> Vec<Timestamp> {
    let start = from.to_zoned(tz.clone()).datetime() - 4.hours();
    let end = until.to_zoned(tz.clone()).datetime() + 4.hours();
    let mut found = Vec::new();
    let mut civil = start.with().second(0).subsec_nanosecond(0).build().expect("a minute");
    while civil <= end {
        if schedule.matches(&civil.to_zoned(TimeZone::UTC).expect("in range")) {
            let ambiguous = tz.to_ambiguous_timestamp(civil);
            if schedule.is_fixed_time() {
                found.push(ambiguous.compatible().expect("resolvable"));
            } else {
                match ambiguous.offset() {
                    AmbiguousOffset::Unambiguous { offset } => found.push(offset.to_timestamp(civil).expect("ok")),
                    AmbiguousOffset::Gap { .. } => {}
                    AmbiguousOffset::Fold { before, after } => {
                        found.push(before.to_timestamp(civil).expect("ok"));
                        found.push(after.to_timestamp(civil).expect("ok"));
                    }
                }
            }
        }
        civil += 1.minute();
    }
    found.retain(|t| from < *t && *t <= until);
    found.sort();
    found.dedup();
    found
}
