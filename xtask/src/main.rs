//! `cargo xtask`: project tasks that are programs rather than tests. Today one: `cargo xtask bench`.
//!
//! `cargo xtask bench [--scenario recipe|fleet|fleet-100k|run|run-100k|mixed|list|status|schedule|all[,...]]` builds `autostop` in release, runs each scenario
//! against the local emulator, prints a table and writes `target/bench/results.json` (see `bench/README.md`).

mod bench;
mod bound;
mod emulator;
mod fleet;
mod measure;
mod python;
mod status_page;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask bench [--scenario recipe|fleet|fleet-100k|run|run-100k|mixed|list|status|schedule|all[,...]] [--autostop-args \"ARGS\"]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.split_first() {
        Some((task, rest)) if task == measure::MEASURE_TASK => {
            return match measure::measure_child(rest) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("xtask {task}: {err:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Some((task, rest)) if task == "bench" => bench::Selection::parse(rest),
        Some((task, _)) if task == "-h" || task == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some((task, _)) => Err(format!("unknown task '{task}'; expected 'bench'")),
        None => Err("no task given; expected 'bench'".to_owned()),
    };
    let selection = match parsed {
        Ok(selection) => selection,
        Err(message) => {
            eprintln!("xtask: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match bench::run(&selection) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}
