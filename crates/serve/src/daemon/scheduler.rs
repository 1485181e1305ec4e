//! The loop: sleep until the [`Agenda`] says an evaluation is due, evaluate, remember; follow while another
//! replica leads; reload the configuration on request.

use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::{mpsc, watch};

use super::super::metrics::Metrics;
use super::super::retention::Retention;
use super::super::{Evaluate as _, LastStore, Load, Window};
use super::agenda::{self, Agenda};
use super::evaluation::RunEnd;
use super::{Clock, DaemonOptions};
use crate::signals::Control;
use autostop_state::election::Role;

/// The daemon's loop and all it holds.
pub(super) struct Scheduler<L: Load, S, C> {
    pub(super) loader: L,
    pub(super) store: S,
    pub(super) engine: Arc<L::Engine>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) clock: C,
    pub(super) options: DaemonOptions,
    /// This replica's role from the election; `None` without one: it always leads.
    pub(super) role: Option<watch::Receiver<Role>>,
    pub(super) retention: Retention,
}

impl<L: Load, S: LastStore, C: Clock> Scheduler<L, S, C> {
    /// Runs until shutdown. Fails when "last evaluated" cannot be read at start, or the election ends.
    pub(super) async fn run(mut self, mut controls: mpsc::Receiver<Control>) -> anyhow::Result<()> {
        let last = self.store.load_last().await.context("reading the last evaluated instant")?;
        let mut agenda = Agenda::new(last);
        loop {
            if !self.leads() {
                if !self.follow(&mut controls).await? {
                    return Ok(());
                }
                let stored = match self.store.load_last().await {
                    Ok(stored) => stored,
                    Err(err) => {
                        tracing::error!(error = format!("{err:#}"), "cannot read the last evaluated instant");
                        None
                    }
                };
                agenda.take_over(stored, self.clock.now());
                continue;
            }
            let now = self.clock.now();
            let wake = agenda.wake(now, |last| self.engine.next_occurrence(last));
            self.metrics.set_schedule(agenda.last, wake);
            if wake.is_some_and(|wake| wake <= now) {
                let window = Window { last: agenda.last, now };
                match self.evaluate(window, &mut controls).await {
                    RunEnd::Evaluated { recheck } => {
                        agenda.evaluated(now, recheck, self.options.retry_after_error);
                        if let Err(err) = self.store.save_last(now).await {
                            tracing::error!(error = format!("{err:#}"), "could not record the last evaluated instant");
                        }
                        self.retention.after_evaluation(&self.engine, &self.metrics, now).await;
                    }
                    RunEnd::Failed => agenda.failed(now, self.options.retry_after_error),
                    RunEnd::Stop => return Ok(()),
                    RunEnd::Deposed => {
                        // What the interrupted evaluation left is for the next leader to report.
                        let role = self.role.as_ref().map(|role| role.borrow().clone());
                        self.metrics.set_role(role.as_ref());
                    }
                }
                continue;
            }
            if wake.is_none() {
                tracing::info!("no rule ever fires: waiting for a reload or shutdown");
            }
            let sleep = agenda::sleep(wake, now, self.options.max_sleep);
            let mut role = self.role.clone();
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                () = until_role(&mut role, false) => {}
                control = controls.recv() => if !self.obey(control) {
                    return Ok(());
                },
            }
        }
    }

    /// Whether this replica may evaluate now.
    fn leads(&self) -> bool {
        self.role.as_ref().is_none_or(|role| role.borrow().leads())
    }

    /// Waits, serving reloads, until this replica leads (`true`) or shutdown comes (`false`).
    async fn follow(&mut self, controls: &mut mpsc::Receiver<Control>) -> anyhow::Result<bool> {
        tracing::info!("following: evaluating only once this replica holds the leader lease");
        self.metrics.set_schedule(None, None);
        loop {
            let mut role = self.role.clone();
            if role.as_ref().is_some_and(|role| role.has_changed().is_err()) {
                anyhow::bail!("the leader election ended while the daemon runs");
            }
            tokio::select! {
                () = until_role(&mut role, true) => return Ok(true),
                control = controls.recv() => if !self.obey(control) {
                    return Ok(false);
                },
            }
        }
    }

    /// Between evaluations: reloads on request; `false` on shutdown (`None`: the controls are closed, which
    /// means shutdown too).
    fn obey(&mut self, control: Option<Control>) -> bool {
        match control {
            Some(Control::Reload) => {
                self.reload();
                true
            }
            Some(Control::Shutdown) | None => {
                tracing::info!("shutting down");
                false
            }
        }
    }

    /// Builds a new engine from the configuration; an invalid one keeps the old engine.
    pub(super) fn reload(&mut self) {
        match self.loader.load() {
            Ok(engine) => {
                self.engine = Arc::new(engine);
                self.metrics.record_reload(true);
                tracing::info!("configuration reloaded");
            }
            Err(err) => {
                self.metrics.record_reload(false);
                tracing::error!(error = format!("{err:#}"), "configuration reload failed: keeping the previous one");
            }
        }
    }
}

/// Completes once this replica leads (`leads`) or follows (`!leads`); never without an election, nor once the
/// election has ended.
pub(super) async fn until_role(role: &mut Option<watch::Receiver<Role>>, leads: bool) {
    if let Some(role) = role
        && role.wait_for(|role| role.leads() == leads).await.is_ok()
    {
        return;
    }
    std::future::pending().await
}
