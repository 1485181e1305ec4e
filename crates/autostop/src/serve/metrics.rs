//! The daemon's counters and gauges, and their Prometheus text exposition (format 0.0.4), written by hand.
//!
//! Updated after each evaluation and reload; read by `/metrics` and `/healthz`. No I/O here.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use jiff::Timestamp;

use super::{ActionResult, ArmStats, Evaluation};

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How a run ended, the label of `autostop_runs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RunOutcome {
    Success,
    SomeFailed,
    Error,
    Interrupted,
}

impl RunOutcome {
    fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::SomeFailed => "some_failed",
            RunOutcome::Error => "error",
            RunOutcome::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    runs: BTreeMap<RunOutcome, u64>,
    actions: BTreeMap<(String, ActionResult), u64>,
    notices: BTreeMap<(String, ActionResult), u64>,
    instances_by_state: BTreeMap<String, u64>,
    arm: ArmStats,
    reloads: BTreeMap<bool, u64>,
    last_success: Option<Timestamp>,
    last_evaluated: Option<Timestamp>,
    next_occurrence: Option<Timestamp>,
    problems: Vec<String>,
}

/// What `/healthz` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The end of the last evaluated window.
    pub last_evaluated: Option<Timestamp>,
    /// When the daemon will next evaluate.
    pub next_occurrence: Option<Timestamp>,
    /// The end of the last window evaluated without errors or failed actions.
    pub last_success: Option<Timestamp>,
    /// What the last evaluation left for someone to hear about; empty when it was clean.
    pub problems: Vec<String>,
}

/// The daemon's metrics, shared between the loop (writer) and the HTTP endpoints (readers).
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means a panic elsewhere while counting: the counts are still usable.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut state)
    }

    /// Records an evaluation of the window ending at `now` that returned; `interrupted`: shutdown came during it.
    pub fn record_evaluation(&self, evaluation: &Evaluation, now: Timestamp, interrupted: bool) {
        self.with(|state| {
            let outcome = if interrupted {
                RunOutcome::Interrupted
            } else if !evaluation.is_clean() {
                RunOutcome::SomeFailed
            } else {
                RunOutcome::Success
            };
            *state.runs.entry(outcome).or_default() += 1;
            for (key, count) in &evaluation.actions {
                *state.actions.entry(key.clone()).or_default() += count;
            }
            for (key, count) in &evaluation.notices {
                *state.notices.entry(key.clone()).or_default() += count;
            }
            // An evaluation with no rule due discovers nothing: keep what the last discovery saw.
            if !evaluation.instances_by_state.is_empty() {
                state.instances_by_state = evaluation.instances_by_state.clone();
            }
            state.arm.requests += evaluation.arm.requests;
            state.arm.retries += evaluation.arm.retries;
            state.arm.throttled += evaluation.arm.throttled;
            if outcome == RunOutcome::Success {
                state.last_success = Some(now);
            }
            // Health follows the latest evaluation: a clean one clears what an earlier one reported.
            state.problems = evaluation.problems.clone();
            if interrupted && state.problems.is_empty() {
                state.problems.push("the last evaluation was interrupted by shutdown".to_owned());
            }
        });
    }

    /// Records an evaluation that returned an error (the state store failed: nothing more was sent).
    pub fn record_error(&self, error: &str) {
        self.with(|state| {
            *state.runs.entry(RunOutcome::Error).or_default() += 1;
            state.problems = vec![format!("the evaluation failed: {error}")];
        });
    }

    /// Records a configuration reload and whether it was accepted.
    pub fn record_reload(&self, accepted: bool) {
        self.with(|state| *state.reloads.entry(accepted).or_default() += 1);
    }

    /// Records where the schedule stands: the end of the last evaluated window and the next wake-up.
    pub fn set_schedule(&self, last_evaluated: Option<Timestamp>, next_occurrence: Option<Timestamp>) {
        self.with(|state| {
            state.last_evaluated = last_evaluated;
            state.next_occurrence = next_occurrence;
        });
    }

    /// What `/healthz` shows.
    pub fn health(&self) -> Health {
        self.with(|state| Health {
            last_evaluated: state.last_evaluated,
            next_occurrence: state.next_occurrence,
            last_success: state.last_success,
            problems: state.problems.clone(),
        })
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let families = self.with(|state| families(state));
        render(&families)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    samples: Vec<Sample>,
}

struct Sample {
    labels: Vec<(&'static str, String)>,
    value: f64,
}

impl Sample {
    fn plain(value: f64) -> Self {
        Sample { labels: Vec::new(), value }
    }
}

fn seconds(at: Option<Timestamp>) -> Vec<Sample> {
    at.map(|at| Sample::plain(at.as_millisecond() as f64 / 1000.0)).into_iter().collect()
}

fn families(state: &State) -> Vec<Family> {
    let runs = [RunOutcome::Success, RunOutcome::SomeFailed, RunOutcome::Error, RunOutcome::Interrupted]
        .into_iter()
        .map(|outcome| Sample {
            labels: vec![("outcome", outcome.as_str().to_owned())],
            value: state.runs.get(&outcome).copied().unwrap_or(0) as f64,
        })
        .collect();
    let actions = state
        .actions
        .iter()
        .map(|((rule, result), count)| Sample {
            labels: vec![("rule", rule.clone()), ("result", result.as_str().to_owned())],
            value: *count as f64,
        })
        .collect();
    let notices = state
        .notices
        .iter()
        .map(|((channel, result), count)| Sample {
            labels: vec![("channel", channel.clone()), ("result", result.as_str().to_owned())],
            value: *count as f64,
        })
        .collect();
    let instances = state
        .instances_by_state
        .iter()
        .map(|(name, count)| Sample { labels: vec![("state", name.clone())], value: *count as f64 })
        .collect();
    let reloads = [(true, "accepted"), (false, "rejected")]
        .into_iter()
        .map(|(accepted, label)| Sample {
            labels: vec![("result", label.to_owned())],
            value: state.reloads.get(&accepted).copied().unwrap_or(0) as f64,
        })
        .collect();
    vec![
        Family {
            name: "autostop_runs_total",
            help: "Evaluations run, by outcome.",
            kind: Kind::Counter,
            samples: runs,
        },
        Family {
            name: "autostop_actions_total",
            help: "Actions, skips and misses, by rule and result.",
            kind: Kind::Counter,
            samples: actions,
        },
        Family {
            name: "autostop_notices_total",
            help: "Notices sent to channels before a stop, by channel and result.",
            kind: Kind::Counter,
            samples: notices,
        },
        Family {
            name: "autostop_last_success_timestamp_seconds",
            help: "End of the last window evaluated without errors or failed actions, in Unix seconds.",
            kind: Kind::Gauge,
            samples: seconds(state.last_success),
        },
        Family {
            name: "autostop_last_evaluated_timestamp_seconds",
            help: "End of the last evaluated window, in Unix seconds.",
            kind: Kind::Gauge,
            samples: seconds(state.last_evaluated),
        },
        Family {
            name: "autostop_next_occurrence_timestamp_seconds",
            help: "Next scheduled evaluation, in Unix seconds.",
            kind: Kind::Gauge,
            samples: seconds(state.next_occurrence),
        },
        Family {
            name: "autostop_instances",
            help: "Compute instances seen by the last evaluation that discovered any, by state.",
            kind: Kind::Gauge,
            samples: instances,
        },
        Family {
            name: "autostop_arm_requests_total",
            help: "Requests sent to Azure Resource Manager.",
            kind: Kind::Counter,
            samples: vec![Sample::plain(state.arm.requests as f64)],
        },
        Family {
            name: "autostop_arm_retries_total",
            help: "Azure Resource Manager requests that were retries.",
            kind: Kind::Counter,
            samples: vec![Sample::plain(state.arm.retries as f64)],
        },
        Family {
            name: "autostop_arm_throttled_total",
            help: "Azure Resource Manager answers that were 429 Too Many Requests.",
            kind: Kind::Counter,
            samples: vec![Sample::plain(state.arm.throttled as f64)],
        },
        Family {
            name: "autostop_config_reloads_total",
            help: "Configuration reloads (SIGHUP), by result.",
            kind: Kind::Counter,
            samples: reloads,
        },
    ]
}

/// Escapes a label value: backslash, double quote and line feed.
fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let kind = match family.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        // Help texts are constants without backslashes or line feeds, so they need no escaping.
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for sample in &family.samples {
            out.push_str(family.name);
            if !sample.labels.is_empty() {
                out.push('{');
                for (i, (name, value)) in sample.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(name);
                    out.push_str("=\"");
                    escape_label(value, &mut out);
                    out.push('"');
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", sample.value);
        }
    }
    out
}

#[cfg(test)]
#[path = "../../tests/support/prometheus.rs"]
mod prometheus;

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation() -> Evaluation {
        let mut evaluation = Evaluation {
            attempted: 3,
            succeeded: 2,
            failed: 1,
            problems: vec!["stop ci-1 (nightly at 2026-01-05T22:00:00+00:00): failed".to_owned()],
            ..Evaluation::default()
        };
        evaluation.actions.insert(("nightly \"stop\"\\\nall".to_owned(), ActionResult::Succeeded), 2);
        evaluation.actions.insert(("nightly \"stop\"\\\nall".to_owned(), ActionResult::Failed), 1);
        evaluation.actions.insert(("morning".to_owned(), ActionResult::Skipped), 4);
        evaluation.instances_by_state.insert("Running".to_owned(), 5);
        evaluation.instances_by_state.insert("Stopped".to_owned(), 2);
        evaluation.arm = ArmStats { requests: 10, retries: 2, throttled: 1 };
        evaluation
    }

    #[test]
    fn exposition_parses_strictly_and_carries_the_counts() {
        let metrics = Metrics::default();
        let at: Timestamp = "2026-01-05T22:00:00Z".parse().expect("timestamp");
        metrics.record_evaluation(&evaluation(), at, false);
        metrics.record_evaluation(&evaluation(), at, false);
        // A later evaluation that discovered nothing leaves the instance gauges as they were.
        metrics.record_evaluation(&Evaluation::default(), at, false);
        assert!(metrics.health().problems.is_empty(), "a clean evaluation clears the health problems");
        metrics.record_error("the state store is full");
        assert_eq!(metrics.health().problems, vec!["the evaluation failed: the state store is full".to_owned()]);
        metrics.record_reload(false);
        metrics.set_schedule(Some(at), None);

        let text = metrics.render();
        let parsed = prometheus::parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
        let value = |name: &str, labels: &[(&str, &str)]| parsed.value(name, labels);

        assert_eq!(parsed.kind("autostop_runs_total"), Some("counter"));
        assert_eq!(parsed.kind("autostop_instances"), Some("gauge"));
        assert_eq!(value("autostop_runs_total", &[("outcome", "some_failed")]), Some(2.0));
        assert_eq!(value("autostop_runs_total", &[("outcome", "error")]), Some(1.0));
        assert_eq!(value("autostop_runs_total", &[("outcome", "success")]), Some(1.0));
        let rule = "nightly \"stop\"\\\nall";
        assert_eq!(value("autostop_actions_total", &[("rule", rule), ("result", "succeeded")]), Some(4.0));
        assert_eq!(value("autostop_actions_total", &[("rule", rule), ("result", "failed")]), Some(2.0));
        assert_eq!(value("autostop_actions_total", &[("rule", "morning"), ("result", "skipped")]), Some(8.0));
        assert_eq!(value("autostop_instances", &[("state", "Running")]), Some(5.0));
        assert_eq!(value("autostop_arm_requests_total", &[]), Some(20.0));
        assert_eq!(value("autostop_arm_retries_total", &[]), Some(4.0));
        assert_eq!(value("autostop_arm_throttled_total", &[]), Some(2.0));
        assert_eq!(value("autostop_config_reloads_total", &[("result", "rejected")]), Some(1.0));
        assert_eq!(value("autostop_last_evaluated_timestamp_seconds", &[]), Some(at.as_second() as f64));
        // The runs with a failed action are not successes; the clean one is.
        assert_eq!(value("autostop_last_success_timestamp_seconds", &[]), Some(at.as_second() as f64));
        assert_eq!(value("autostop_next_occurrence_timestamp_seconds", &[]), None);
    }

    #[test]
    fn a_clean_run_sets_the_last_success_and_an_interrupted_one_does_not() {
        let metrics = Metrics::default();
        let first: Timestamp = "2026-01-05T22:00:00Z".parse().expect("timestamp");
        let second: Timestamp = "2026-01-05T23:00:00Z".parse().expect("timestamp");
        let clean = Evaluation { attempted: 1, succeeded: 1, ..Evaluation::default() };
        metrics.record_evaluation(&clean, first, false);
        metrics.record_evaluation(&clean, second, true);

        let text = metrics.render();
        let parsed = prometheus::parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
        assert_eq!(parsed.value("autostop_last_success_timestamp_seconds", &[]), Some(first.as_second() as f64));
        assert_eq!(parsed.value("autostop_instances", &[("state", "Running")]), None, "no discovery, no instances");
        assert_eq!(parsed.value("autostop_runs_total", &[("outcome", "interrupted")]), Some(1.0));
        assert_eq!(metrics.health().last_success, Some(first));
    }

    #[test]
    fn the_strict_parser_rejects_what_prometheus_rejects() {
        let bad = [
            ("no type line", "autostop_x 1\n"),
            ("bad escape", "# TYPE a counter\na{l=\"\\t\"} 1\n"),
            ("bad value", "# TYPE a counter\na 1x\n"),
            ("no final newline", "# TYPE a counter\na 1"),
            ("split family", "# TYPE a counter\n# TYPE b counter\na 1\nb 1\na{l=\"x\"} 2\n"),
            ("duplicate series", "# TYPE a counter\na{l=\"x\"} 1\na{l=\"x\"} 2\n"),
            ("bad label name", "# TYPE a counter\na{1l=\"x\"} 1\n"),
            ("negative counter", "# TYPE a counter\na -1\n"),
        ];
        for (what, text) in bad {
            assert!(prometheus::parse(text).is_err(), "{what} was accepted: {text:?}");
        }
    }
}
