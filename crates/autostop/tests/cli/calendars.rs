//! Holiday calendars through the binary: `check` reads them (and reports a bad line as `path:line: message`),
//! `plan` shows the holiday a rule rests on.

use crate::util::*;

const HOLIDAYS: &str = include_str!("../data/jp-holidays.ics");
const BAD_HOLIDAYS: &str = include_str!("../data/bad-holidays.ics");

/// A Tokyo config whose morning start rests on Japanese holidays; the calendar file sits beside it.
const CONFIG: &str = day_config!(
    defaults: "timezone = \"Asia/Tokyo\"",
    sections: "\n[[calendars]]\nname = \"jp-holidays\"\nfile = \"calendars/jp-holidays.ics\"\n",
    stop: "",
    start: "skip_on = [\"jp-holidays\"]",
);

/// A [`Setup`] of [`CONFIG`], with `calendars/jp-holidays.ics` beside it holding `ics`.
fn folder(ics: &str) -> Setup {
    let setup = setup(CONFIG);
    std::fs::create_dir(setup.dir.path().join("calendars")).unwrap();
    std::fs::write(setup.dir.path().join("calendars/jp-holidays.ics"), ics).unwrap();
    setup
}

#[tokio::test]
async fn check_reads_the_calendar_beside_the_config_and_reports_its_bad_line() {
    let setup = folder(HOLIDAYS);
    let (dir, config) = (setup.dir.path(), setup.config.to_str().unwrap());
    let good = Cli::bare(&["check", "--config", config]).run().await;
    assert_eq!(good.code, 0, "{good:#?}");
    assert!(good.stdout.contains("calendar jp-holidays: 2 event or dates"), "{good:#?}");
    assert!(
        good.stdout
            .contains("morning-start: start at 08:00 on Monday through Friday (Asia/Tokyo), except on jp-holidays"),
        "{good:#?}"
    );

    std::fs::write(dir.join("calendars/jp-holidays.ics"), BAD_HOLIDAYS).unwrap();
    let bad = Cli::bare(&["check", "--config", config]).run().await;
    assert_eq!(bad.code, 2, "{bad:#?}");
    let ics = dir.join("calendars/jp-holidays.ics").display().to_string();
    let line = bad.stderr.lines().next().unwrap_or_default();
    assert!(line.starts_with(&format!("{ics}:5: RRULE: ")), "{bad:#?}");
    assert!(bad.stderr.contains("1 error in "), "{bad:#?}");
}

#[tokio::test]
async fn plan_shows_the_holiday_the_morning_start_rests_on() {
    let emulator = emulator(fleet(vec![
        compute("plain-1", "ComputeInstance", "Running"),
        autostop_emulator::Compute {
            tags: [("autostart".to_owned(), "yes".to_owned())].into_iter().collect(),
            ..compute("morning-1", "ComputeInstance", "Stopped")
        },
    ]))
    .await;
    let setup = folder(HOLIDAYS);
    // From noon on Thursday 31 December 2026 (Tokyo) for a day: Friday 1 January is 元日.
    let args = ["plan", "--at", "2026-12-31T12:00:00", "--window", "24h"];
    let json = setup.cli(&emulator, &[&args[..], &["-o", "json"]].concat()).run().await;
    assert_eq!(json.code, 0, "{json:#?}");
    let rows = json.json();
    let morning = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "morning-1" && r["rule"] == "morning-start")
        .unwrap_or_else(|| panic!("no morning-start row: {rows:#}"));
    assert_eq!(morning["decision"], "skip", "{rows:#}");
    assert_eq!(morning["code"], "holiday", "{rows:#}");
    assert_eq!(morning["reason"], "holiday (jp-holidays: 元日)", "{rows:#}");
    assert_eq!(morning["occurrence"], "2027-01-01T08:00:00+09:00", "{rows:#}");
    assert_eq!(row(&rows, "plain-1")["decision"], "act", "the evening stop has no calendar: {rows:#}");

    let table = setup.cli(&emulator, &args).run().await;
    assert_eq!(table.code, 0, "{table:#?}");
    let line = table.stdout.lines().find(|line| line.contains("holiday (jp-holidays: 元日)")).unwrap_or_default();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words.get(1..7),
        Some(&["2027-01-01T08:00:00+09:00", "morning-start", "morning-1", "start", "skip", "holiday"][..]),
        "{table:#?}"
    );
}
