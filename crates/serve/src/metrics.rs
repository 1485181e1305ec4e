//! The daemon's counters and gauges, exposed in the OpenMetrics text format by `prometheus-client`.
//!
//! Updated after each evaluation and reload; read by `/metrics` and `/healthz`. No I/O here.
//!
//! Adding a labelled metric, e.g. lost actions by rule:
//! 1. the labels: `#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)] struct RuleLabels { rule: String }`
//!    (or an existing labels struct);
//! 2. a field `lost: Family<RuleLabels, Counter>` (or `Family<_, Gauge>`) and `lost: Family::default()` in
//!    [`Metrics::default`], with `registry.register("autostop_lost_actions", "Help text", metrics.lost.clone())`
//!    there (a counter's name without `_total`);
//! 3. `self.lost.get_or_create(&RuleLabels { rule }).inc()` (or `.set(..)`) in the `record_*` method that knows it.
//!
//! Names: OpenMetrics names a counter's family without the `_total` suffix and its samples with it, so a counter
//! is registered as `autostop_runs` and scraped as `autostop_runs_total{..}` (the series Prometheus stores keep
//! the names of the former 0.0.4 exposition; only the `# HELP` and `# TYPE` lines name the family without
//! `_total`).

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Evaluation;
use autostop_state::election::Role;

/// The `Content-Type` of the OpenMetrics text exposition format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How a run ended, the label of `autostop_runs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunOutcome {
    Success,
    SomeFailed,
    Error,
    Interrupted,
}

impl RunOutcome {
    const ALL: [RunOutcome; 4] =
        [RunOutcome::Success, RunOutcome::SomeFailed, RunOutcome::Error, RunOutcome::Interrupted];

    fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::SomeFailed => "some_failed",
            RunOutcome::Error => "error",
            RunOutcome::Interrupted => "interrupted",
        }
    }
}

/// `autostop_runs_total{outcome}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// `autostop_actions_total{rule, result}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    rule: String,
    result: &'static str,
}

/// `autostop_notices_total{channel, result}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoticeLabels {
    channel: String,
    result: &'static str,
}

/// `autostop_instances{state}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// `autostop_config_reloads_total{result}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    result: &'static str,
}

/// `autostop_event_prunes_total{result}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PruneLabels {
    result: &'static str,
}

/// `autostop_saved_cost_total{currency}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CurrencyLabels {
    currency: String,
}

/// The one series of a family without labels: an instant gauge is a family so that it can be absent until known.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NoLabels {}

/// An instant in Unix seconds, absent until known.
type InstantGauge = Family<NoLabels, Gauge<f64, AtomicU64>>;

/// What `/healthz` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// The end of the last evaluated window.
    pub last_evaluated: Option<Timestamp>,
    /// When the daemon will next evaluate.
    pub next_occurrence: Option<Timestamp>,
    /// The end of the last window evaluated without errors or failed actions.
    pub last_success: Option<Timestamp>,
    /// What the last evaluation left for someone to hear about; empty when it was clean.
    pub problems: Vec<String>,
    /// This replica's role under leader election (`--ha`); `None` without one.
    pub role: Option<Role>,
    /// Why the last prune of the audit log (`[state] keep`) failed, until one succeeds.
    pub retention_problem: Option<String>,
}

impl Health {
    /// Everything someone must hear about: the last evaluation's problems, the election's and retention's.
    pub fn all_problems(&self) -> Vec<String> {
        let election = match &self.role {
            Some(Role::Follower { problem, .. }) => problem.clone(),
            _ => None,
        };
        self.problems.iter().cloned().chain(election).chain(self.retention_problem.clone()).collect()
    }
}

/// The daemon's metrics, shared between the loop (writer) and the HTTP endpoints (readers).
///
/// The metrics are atomics; the lock around [`Health`] is also held while recording and rendering, so a scrape
/// never sees half an evaluation.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    health: Mutex<Health>,
    runs: Family<OutcomeLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    notices: Family<NoticeLabels, Counter>,
    instances: Family<StateLabels, Gauge>,
    arm_requests: Counter,
    arm_retries: Counter,
    arm_throttled: Counter,
    reloads: Family<ReloadLabels, Counter>,
    problems: Gauge,
    problem_evaluations: Counter,
    last_success: InstantGauge,
    last_evaluated: InstantGauge,
    next_occurrence: InstantGauge,
    saved_hours: Counter<f64, AtomicU64>,
    saved_cost: Family<CurrencyLabels, Counter<f64, AtomicU64>>,
    leader: Gauge,
    prunes: Family<PruneLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Metrics {
            registry: Registry::default(),
            health: Mutex::default(),
            runs: Family::default(),
            actions: Family::default(),
            notices: Family::default(),
            instances: Family::default(),
            arm_requests: Counter::default(),
            arm_retries: Counter::default(),
            arm_throttled: Counter::default(),
            reloads: Family::default(),
            problems: Gauge::default(),
            problem_evaluations: Counter::default(),
            last_success: InstantGauge::default(),
            last_evaluated: InstantGauge::default(),
            next_occurrence: InstantGauge::default(),
            saved_hours: Counter::default(),
            saved_cost: Family::default(),
            leader: Gauge::default(),
            prunes: Family::default(),
        };
        let registry = &mut metrics.registry;
        // Help texts have no final period: the encoder adds one.
        registry.register("autostop_runs", "Evaluations run, by outcome", metrics.runs.clone());
        registry.register("autostop_actions", "Actions, skips and misses, by rule and result", metrics.actions.clone());
        registry.register(
            "autostop_notices",
            "Notices sent to channels before a stop, by channel and result",
            metrics.notices.clone(),
        );
        registry.register(
            "autostop_last_success_timestamp_seconds",
            "End of the last window evaluated without errors or failed actions, in Unix seconds",
            metrics.last_success.clone(),
        );
        registry.register(
            "autostop_last_evaluated_timestamp_seconds",
            "End of the last evaluated window, in Unix seconds",
            metrics.last_evaluated.clone(),
        );
        registry.register(
            "autostop_next_occurrence_timestamp_seconds",
            "Next scheduled evaluation, in Unix seconds",
            metrics.next_occurrence.clone(),
        );
        registry.register(
            "autostop_instances",
            "Compute instances seen by the last evaluation that discovered any, by state",
            metrics.instances.clone(),
        );
        registry.register(
            "autostop_arm_requests",
            "Requests sent to Azure Resource Manager",
            metrics.arm_requests.clone(),
        );
        registry.register(
            "autostop_arm_retries",
            "Azure Resource Manager requests that were retries",
            metrics.arm_retries.clone(),
        );
        registry.register(
            "autostop_arm_throttled",
            "Azure Resource Manager answers that were 429 Too Many Requests",
            metrics.arm_throttled.clone(),
        );
        registry.register(
            "autostop_problems",
            "What the last evaluation left for someone to hear about (failed, missed, interrupted or unconfirmed \
             actions, unreadable scopes, state errors); 0 after a clean evaluation, and /healthz answers 503 while \
             it is not",
            metrics.problems.clone(),
        );
        registry.register(
            "autostop_problem_evaluations",
            "Evaluations that left problems or failed",
            metrics.problem_evaluations.clone(),
        );
        registry.register(
            "autostop_config_reloads",
            "Configuration reloads (SIGHUP), by result",
            metrics.reloads.clone(),
        );
        registry.register(
            "autostop_saved_hours",
            "Hours compute instances spent stopped by autostop (confirmed stops), over the audit log",
            metrics.saved_hours.clone(),
        );
        registry.register(
            "autostop_saved_cost",
            "Pay-as-you-go cost of those hours (compute only: disks still bill), by currency",
            metrics.saved_cost.clone(),
        );
        registry.register(
            "autostop_leader",
            "1 while this daemon evaluates and acts (always without --ha; under --ha while it holds the leader \
             lease), 0 while it follows",
            metrics.leader.clone(),
        );
        registry.register(
            "autostop_event_prunes",
            "Prunes of the audit log ([state] keep), by result",
            metrics.prunes.clone(),
        );
        // Every outcome and reload result is shown from the start, at zero.
        for outcome in RunOutcome::ALL {
            let _ = metrics.runs.get_or_create(&OutcomeLabels { outcome: outcome.as_str() });
        }
        for result in ["accepted", "rejected"] {
            let _ = metrics.reloads.get_or_create(&ReloadLabels { result });
        }
        for result in ["succeeded", "failed"] {
            let _ = metrics.prunes.get_or_create(&PruneLabels { result });
        }
        metrics
    }
}

impl Metrics {
    fn health_lock(&self) -> std::sync::MutexGuard<'_, Health> {
        // A poisoned lock only means a panic elsewhere while counting: the values are still usable.
        self.health.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records an evaluation of the window ending at `now` that returned; `interrupted`: shutdown came during it.
    pub fn record_evaluation(&self, evaluation: &Evaluation, now: Timestamp, interrupted: bool) {
        let mut health = self.health_lock();
        let outcome = if interrupted {
            RunOutcome::Interrupted
        } else if !evaluation.is_clean() {
            RunOutcome::SomeFailed
        } else {
            RunOutcome::Success
        };
        self.runs.get_or_create(&OutcomeLabels { outcome: outcome.as_str() }).inc();
        for ((rule, result), count) in &evaluation.actions {
            self.actions.get_or_create(&ActionLabels { rule: rule.clone(), result: result.as_str() }).inc_by(*count);
        }
        for ((channel, result), count) in &evaluation.notices {
            let labels = NoticeLabels { channel: channel.clone(), result: result.as_str() };
            self.notices.get_or_create(&labels).inc_by(*count);
        }
        // An evaluation with no rule due discovers nothing: keep what the last discovery saw.
        if !evaluation.instances_by_state.is_empty() {
            self.instances.clear();
            for (state, count) in &evaluation.instances_by_state {
                let count = i64::try_from(*count).unwrap_or(i64::MAX);
                self.instances.get_or_create(&StateLabels { state: state.clone() }).set(count);
            }
        }
        self.arm_requests.inc_by(evaluation.arm.requests);
        self.arm_retries.inc_by(evaluation.arm.retries);
        self.arm_throttled.inc_by(evaluation.arm.throttled);
        if outcome == RunOutcome::Success {
            health.last_success = Some(now);
            set_instant(&self.last_success, Some(now));
        }
        // Health follows the latest evaluation: a clean one clears what an earlier one reported.
        health.problems = evaluation.problems.clone();
        if interrupted && health.problems.is_empty() {
            health.problems.push("the last evaluation was interrupted by shutdown".to_owned());
        }
        self.set_problems(&health.problems);
    }

    fn set_problems(&self, problems: &[String]) {
        self.problems.set(i64::try_from(problems.len()).unwrap_or(i64::MAX));
        if !problems.is_empty() {
            self.problem_evaluations.inc();
        }
    }

    /// Records an evaluation that returned an error (the state store failed: nothing more was sent).
    pub fn record_error(&self, error: &str) {
        let mut health = self.health_lock();
        self.runs.get_or_create(&OutcomeLabels { outcome: RunOutcome::Error.as_str() }).inc();
        health.problems = vec![format!("the evaluation failed: {error}")];
        self.set_problems(&health.problems);
    }

    /// Records this replica's role: `None` without leader election (it always evaluates). A replica that stops
    /// leading drops what its last evaluation reported: the leader reports from now on.
    pub fn set_role(&self, role: Option<&Role>) {
        let mut health = self.health_lock();
        let leads = role.is_none_or(Role::leads);
        self.leader.set(i64::from(leads));
        if !leads {
            health.problems.clear();
            self.problems.set(0);
        }
        health.role = role.cloned();
    }

    /// Records a prune of the audit log: `None` when it worked, else why it failed (shown until one works).
    pub fn record_prune(&self, problem: Option<String>) {
        let mut health = self.health_lock();
        let result = if problem.is_some() { "failed" } else { "succeeded" };
        self.prunes.get_or_create(&PruneLabels { result }).inc();
        health.retention_problem = problem;
    }

    /// Records a configuration reload and whether it was accepted.
    pub fn record_reload(&self, accepted: bool) {
        let _health = self.health_lock();
        let result = if accepted { "accepted" } else { "rejected" };
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }

    /// Records where the schedule stands: the end of the last evaluated window and the next wake-up.
    pub fn set_schedule(&self, last_evaluated: Option<Timestamp>, next_occurrence: Option<Timestamp>) {
        let mut health = self.health_lock();
        health.last_evaluated = last_evaluated;
        health.next_occurrence = next_occurrence;
        set_instant(&self.last_evaluated, last_evaluated);
        set_instant(&self.next_occurrence, next_occurrence);
    }

    /// Records the savings ledger over the whole audit log: hours stopped by autostop and their cost. The
    /// counters follow the ledger up, never down (a lower total, e.g. after a price cut, leaves them as they are).
    pub fn record_savings(&self, hours: f64, cost: f64, currency: &str) {
        let _health = self.health_lock();
        let raise = |counter: &Counter<f64, AtomicU64>, total: f64| {
            let by = total - counter.get();
            if by > 0.0 {
                counter.inc_by(by);
            }
        };
        raise(&self.saved_hours, hours);
        raise(&self.saved_cost.get_or_create(&CurrencyLabels { currency: currency.to_owned() }), cost);
    }

    /// What `/healthz` shows.
    pub fn health(&self) -> Health {
        self.health_lock().clone()
    }

    /// The metrics in the OpenMetrics text exposition format, `# EOF` included.
    pub fn render(&self) -> String {
        let _health = self.health_lock();
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Sets an instant gauge to `at` in Unix seconds, or removes its series when `at` is unknown.
fn set_instant(gauge: &InstantGauge, at: Option<Timestamp>) {
    match at {
        Some(at) => {
            gauge.get_or_create(&NoLabels {}).set(at.as_millisecond() as f64 / 1000.0);
        }
        None => {
            gauge.clear();
        }
    }
}

#[cfg(test)]
#[path = "../tests/support/openmetrics.rs"]
mod openmetrics;

#[cfg(test)]
mod tests {
    use super::super::{ActionResult, ArmStats};
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
        evaluation.notices.insert(("ml-team".to_owned(), ActionResult::Failed), 1);
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
        let parsed = openmetrics::parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
        let value = |name: &str, labels: &[(&str, &str)]| parsed.value(name, labels);

        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(parsed.kind("autostop_runs").as_deref(), Some("counter"));
        assert_eq!(parsed.kind("autostop_instances").as_deref(), Some("gauge"));
        assert_eq!(parsed.kind("autostop_last_success_timestamp_seconds").as_deref(), Some("gauge"));
        assert_eq!(value("autostop_runs_total", &[("outcome", "some_failed")]), Some(2.0));
        assert_eq!(value("autostop_runs_total", &[("outcome", "error")]), Some(1.0));
        assert_eq!(value("autostop_runs_total", &[("outcome", "success")]), Some(1.0));
        let rule = "nightly \"stop\"\\\nall";
        assert_eq!(value("autostop_actions_total", &[("rule", rule), ("result", "succeeded")]), Some(4.0));
        assert_eq!(value("autostop_actions_total", &[("rule", rule), ("result", "failed")]), Some(2.0));
        assert_eq!(value("autostop_actions_total", &[("rule", "morning"), ("result", "skipped")]), Some(8.0));
        assert_eq!(value("autostop_notices_total", &[("channel", "ml-team"), ("result", "failed")]), Some(2.0));
        assert_eq!(value("autostop_instances", &[("state", "Running")]), Some(5.0));
        assert_eq!(value("autostop_arm_requests_total", &[]), Some(20.0));
        assert_eq!(value("autostop_arm_retries_total", &[]), Some(4.0));
        assert_eq!(value("autostop_arm_throttled_total", &[]), Some(2.0));
        assert_eq!(value("autostop_config_reloads_total", &[("result", "rejected")]), Some(1.0));
        assert_eq!(value("autostop_last_evaluated_timestamp_seconds", &[]), Some(at.as_second() as f64));
        // The runs with a failed action are not successes; the clean one is.
        assert_eq!(value("autostop_last_success_timestamp_seconds", &[]), Some(at.as_second() as f64));
        assert_eq!(value("autostop_next_occurrence_timestamp_seconds", &[]), None);
        // The last evaluation failed: one problem now; three evaluations had problems (two, then the error).
        assert_eq!(value("autostop_problems", &[]), Some(1.0));
        assert_eq!(value("autostop_problem_evaluations_total", &[]), Some(3.0));
        assert_eq!(value("autostop_saved_hours_total", &[]), Some(0.0), "no ledger computed yet");

        metrics.record_savings(42.5, 3.84, "EUR");
        // A lower total (a price cut) leaves the counters where they were; a higher one raises them.
        metrics.record_savings(40.0, 3.0, "EUR");
        metrics.record_savings(44.0, 3.84, "EUR");
        let parsed = openmetrics::parse(&metrics.render()).expect("valid");
        assert_eq!(parsed.kind("autostop_saved_cost").as_deref(), Some("counter"));
        assert_eq!(parsed.value("autostop_saved_hours_total", &[]), Some(44.0));
        assert_eq!(parsed.value("autostop_saved_cost_total", &[("currency", "EUR")]), Some(3.84));
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
        let parsed = openmetrics::parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
        assert_eq!(parsed.value("autostop_last_success_timestamp_seconds", &[]), Some(first.as_second() as f64));
        assert_eq!(parsed.value("autostop_instances", &[("state", "Running")]), None, "no discovery, no instances");
        assert_eq!(parsed.value("autostop_runs_total", &[("outcome", "interrupted")]), Some(1.0));
        assert_eq!(metrics.health().last_success, Some(first));
    }

    #[test]
    fn every_family_is_shown_from_the_start_and_instants_only_once_known() {
        let metrics = Metrics::default();
        let text = metrics.render();
        let parsed = openmetrics::parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
        for outcome in ["success", "some_failed", "error", "interrupted"] {
            assert_eq!(parsed.value("autostop_runs_total", &[("outcome", outcome)]), Some(0.0), "{text}");
        }
        assert_eq!(parsed.value("autostop_config_reloads_total", &[("result", "accepted")]), Some(0.0));
        assert_eq!(parsed.value("autostop_arm_throttled_total", &[]), Some(0.0));
        assert_eq!(parsed.value("autostop_last_evaluated_timestamp_seconds", &[]), None, "{text}");

        let at: Timestamp = "2026-01-05T22:00:00.250Z".parse().expect("timestamp");
        metrics.set_schedule(None, Some(at));
        let parsed = openmetrics::parse(&metrics.render()).expect("valid");
        assert_eq!(parsed.value("autostop_next_occurrence_timestamp_seconds", &[]), Some(1_767_650_400.25));
        metrics.set_schedule(None, None);
        let parsed = openmetrics::parse(&metrics.render()).expect("valid");
        assert_eq!(parsed.value("autostop_next_occurrence_timestamp_seconds", &[]), None, "an unknown instant");
    }

    #[test]
    fn the_role_and_the_prunes_show_in_the_gauge_the_counters_and_the_health() {
        let metrics = Metrics::default();
        metrics.set_role(None);
        let value = |metrics: &Metrics, name: &str, labels: &[(&str, &str)]| {
            openmetrics::parse(&metrics.render()).expect("valid").value(name, labels)
        };
        assert_eq!(value(&metrics, "autostop_leader", &[]), Some(1.0), "without election a daemon always leads");
        assert_eq!(metrics.health().role, None);
        let at: Timestamp = "2026-01-05T22:00:00Z".parse().expect("timestamp");
        metrics.record_evaluation(&evaluation(), at, false);
        let lost = "lost the leader lease: no answer".to_owned();
        metrics.set_role(Some(&Role::Follower { leader: None, problem: Some(lost.clone()) }));
        assert_eq!(value(&metrics, "autostop_leader", &[]), Some(0.0));
        assert_eq!(metrics.health().all_problems(), vec![lost], "the leader reports evaluations from now on");

        metrics.set_role(Some(&Role::Leader));
        metrics.record_prune(Some("[state] keep: cannot prune".to_owned()));
        assert_eq!(metrics.health().all_problems(), vec!["[state] keep: cannot prune".to_owned()]);
        metrics.record_prune(None);
        assert!(metrics.health().all_problems().is_empty(), "a prune that works clears the failure");
        assert_eq!(value(&metrics, "autostop_event_prunes_total", &[("result", "failed")]), Some(1.0));
        assert_eq!(value(&metrics, "autostop_event_prunes_total", &[("result", "succeeded")]), Some(1.0));
        assert_eq!(value(&metrics, "autostop_leader", &[]), Some(1.0));
    }

    /// The check the tests rely on can fail: the independent parser refuses what a scraper refuses.
    #[test]
    fn the_parser_rejects_what_an_openmetrics_scraper_rejects() {
        let bad = [
            ("no EOF", "# TYPE a counter\na_total 1\n"),
            ("split family", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{l=\"x\"} 2\n# EOF\n"),
            ("unclosed labels", "# TYPE a gauge\na{l=\"x\" 1\n# EOF\n"),
            ("text after EOF", "# TYPE a gauge\na 1\n# EOF\na 2\n"),
            ("bad value", "# TYPE a gauge\na 1x\n# EOF\n"),
            ("duplicate series", "# TYPE a gauge\na{l=\"x\"} 1\na{l=\"x\"} 2\n# EOF\n"),
            ("bad label name", "# TYPE a gauge\na{1l=\"x\"} 1\n# EOF\n"),
            ("counter without _total", "# TYPE a counter\na 1\n# EOF\n"),
        ];
        for (what, text) in bad {
            assert!(openmetrics::parse(text).is_err(), "{what} was accepted: {text:?}");
        }
    }
}
