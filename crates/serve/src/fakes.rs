//! Test fakes of the engine, the loader and the store, shared by the daemon and custom handler tests.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::{ActionResult, Evaluate, Evaluation, Interrupt, LastStore, Window};

/// How the fake engine behaves inside `evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Returns at once: one succeeded stop per occurrence in the window.
    Succeed,
    /// Returns at once: one failed stop per occurrence in the window.
    FailActions,
    /// Returns an error.
    Error,
    /// Returns at once, having attempted nothing, with a problem (a scope that could not be read).
    UnreadableScope,
    /// Waits for the interrupt, then returns with every action interrupted.
    WaitForInterrupt,
    /// Follows its operations until told to abandon them, then returns with every action interrupted.
    FollowUntilAbandoned,
    /// Never returns.
    Hang,
}

/// An engine with fixed occurrences that reports each window it is asked to evaluate.
pub struct FakeEngine {
    pub occurrences: Vec<Timestamp>,
    pub behaviour: Behaviour,
    pub seen: mpsc::UnboundedSender<Window>,
    /// What [`Evaluate::prune_when_due`] answers: always due, pruning one event, or failing with this text.
    pub prune_failure: Option<&'static str>,
    /// How many times [`Evaluate::prune_when_due`] was called.
    pub prunes: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeEngine {
    /// An engine and the receiver of the windows it evaluates.
    pub fn new(occurrences: &[&str], behaviour: Behaviour) -> (Self, mpsc::UnboundedReceiver<Window>) {
        let (seen, rx) = mpsc::unbounded_channel();
        let occurrences = occurrences.iter().map(|text| ts(text)).collect();
        (FakeEngine { occurrences, behaviour, seen, prune_failure: None, prunes: Arc::default() }, rx)
    }

    fn due(&self, window: Window) -> Vec<Timestamp> {
        self.occurrences
            .iter()
            .copied()
            .filter(|at| window.last.is_none_or(|last| *at > last) && *at <= window.now)
            .collect()
    }
}

impl Evaluate for FakeEngine {
    async fn evaluate(&self, window: Window, interrupt: Interrupt) -> anyhow::Result<Evaluation> {
        let _ = self.seen.send(window);
        let due = self.due(window);
        let result = match self.behaviour {
            Behaviour::Succeed => ActionResult::Succeeded,
            Behaviour::FailActions => ActionResult::Failed,
            Behaviour::Error => anyhow::bail!("the state store failed: disk full"),
            Behaviour::UnreadableScope => {
                let problem = "discovery: cannot list the workspaces of subscription s: 503".to_owned();
                return Ok(Evaluation { problems: vec![problem], ..Evaluation::default() });
            }
            Behaviour::WaitForInterrupt => {
                while !interrupt.is_requested() {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                ActionResult::Interrupted
            }
            Behaviour::FollowUntilAbandoned => {
                interrupt.abandoned().await;
                ActionResult::Interrupted
            }
            Behaviour::Hang => std::future::pending().await,
        };
        let mut evaluation = Evaluation::default();
        for at in &due {
            evaluation.lines.push(format!("{}: stop ci-1 (rule nightly at {at})", result.as_str()));
            *evaluation.actions.entry(("nightly".to_owned(), result)).or_default() += 1;
            match result {
                ActionResult::Succeeded => {
                    evaluation.attempted += 1;
                    evaluation.succeeded += 1;
                }
                ActionResult::Failed => {
                    evaluation.attempted += 1;
                    evaluation.failed += 1;
                    evaluation.problems.push("a stop failed".to_owned());
                }
                _ => {}
            }
        }
        evaluation.instances_by_state.insert("Running".to_owned(), 1);
        Ok(evaluation)
    }

    fn next_occurrence(&self, after: Timestamp) -> Option<Timestamp> {
        self.occurrences.iter().copied().filter(|at| *at > after).min()
    }

    /// No retention configured.
    async fn prune(&self, _now: Timestamp) -> anyhow::Result<Option<super::Pruned>> {
        Ok(None)
    }

    async fn prune_when_due(
        &self,
        now: Timestamp,
        _every: jiff::SignedDuration,
    ) -> anyhow::Result<Option<super::Pruned>> {
        self.prunes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match self.prune_failure {
            Some(failure) => anyhow::bail!("{failure}"),
            None => Ok(Some(super::Pruned { before: now, deleted: 1 })),
        }
    }
}

/// A store in memory, counting saves.
#[derive(Clone, Default)]
pub struct MemoryStore {
    pub last: Arc<Mutex<Option<Timestamp>>>,
    pub saves: Arc<Mutex<usize>>,
}

impl MemoryStore {
    pub fn with_last(last: &str) -> Self {
        let store = MemoryStore::default();
        *store.last.lock().expect("lock") = Some(ts(last));
        store
    }

    pub fn last(&self) -> Option<Timestamp> {
        *self.last.lock().expect("lock")
    }

    pub fn saves(&self) -> usize {
        *self.saves.lock().expect("lock")
    }
}

impl LastStore for MemoryStore {
    async fn load_last(&self) -> anyhow::Result<Option<Timestamp>> {
        Ok(self.last())
    }

    async fn save_last(&self, at: Timestamp) -> anyhow::Result<()> {
        *self.last.lock().expect("lock") = Some(at);
        *self.saves.lock().expect("lock") += 1;
        Ok(())
    }
}

pub fn ts(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|err| panic!("test timestamp {text}: {err}"))
}
