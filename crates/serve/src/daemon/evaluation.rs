//! One evaluation under the daemon's controls: the engine runs while shutdown requests and the loss of the leader
//! lease wind it down stage by stage ([`next_stage`]), and its result becomes a [`RunEnd`] for the loop.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::super::{Evaluate as _, LastStore, Load, Window};
use super::scheduler::{Scheduler, until_role};
use super::{Clock, RECORD_WAIT};
use crate::signals::Control;
use autostop_engine::interrupt::{Interrupt, Stage};

/// How one evaluation ended, as the loop sees it.
pub(super) enum RunEnd {
    /// The window was evaluated: remember its end. `recheck`: it left problems or actions to confirm, so evaluate
    /// again after the retry pause even if no occurrence is due.
    Evaluated { recheck: bool },
    /// The evaluation returned an error: try again after a pause, with the same start.
    Failed,
    /// Shutdown came: exit (an interrupted window is not remembered, so a restart evaluates it again).
    Stop,
    /// The leader lease was lost during it: follow (the window is not remembered; the next leader evaluates it).
    Deposed,
}

impl RunEnd {
    /// How an evaluation ends that `returned` (`None`: it was left without returning), given whether shutdown
    /// came or the lease was lost during it: those win over what it returned.
    fn after(returned: Option<RunEnd>, shutting_down: bool, deposed: bool) -> RunEnd {
        if shutting_down {
            RunEnd::Stop
        } else if deposed {
            RunEnd::Deposed
        } else {
            returned.unwrap_or(RunEnd::Stop)
        }
    }
}

/// The stage that follows `stage` when the engine is told to wind down further, and how long it gets there;
/// `None` after [`Stage::Abandoning`]: leave without waiting any longer.
fn next_stage(stage: Stage, grace: Duration) -> Option<(Stage, Duration)> {
    match stage {
        Stage::Running => Some((Stage::Stopping, grace)),
        Stage::Stopping => Some((Stage::Abandoning, RECORD_WAIT)),
        Stage::Abandoning => None,
    }
}

/// How far the engine has been told to wind down, and when it is told the next stage.
struct WindDown {
    tell: watch::Sender<Stage>,
    stage: Stage,
    deadline: Option<Instant>,
    grace: Duration,
}

impl WindDown {
    /// Tells the engine the next stage and starts its deadline; `false` when there is none: leave now.
    fn escalate(&mut self) -> bool {
        let Some((stage, wait)) = next_stage(self.stage, self.grace) else {
            return false;
        };
        self.stage = stage;
        self.deadline = Some(Instant::now() + wait);
        let _ = self.tell.send(stage);
        true
    }
}

impl<L: Load, S: LastStore, C: Clock> Scheduler<L, S, C> {
    /// Runs one evaluation while listening to controls.
    pub(super) async fn evaluate(&mut self, window: Window, controls: &mut mpsc::Receiver<Control>) -> RunEnd {
        let (tell, interrupt) = Interrupt::pair();
        let engine = self.engine.clone();
        let run = async move { engine.evaluate(window, interrupt).await };
        tokio::pin!(run);
        let mut wind_down =
            WindDown { tell, stage: Stage::Running, deadline: None, grace: self.options.shutdown_grace };
        let mut controls_open = true;
        let mut shutting_down = false;
        let mut deposed = false;
        let mut role = self.role.clone();
        let result = loop {
            tokio::select! {
                result = &mut run => break Some(result),
                () = until_role(&mut role, false), if !deposed && wind_down.stage == Stage::Running => {
                    tracing::error!("lost the leader lease during an evaluation: sending nothing new");
                    deposed = true;
                    wind_down.escalate();
                }
                control = controls.recv(), if controls_open => match control {
                    Some(Control::Reload) => self.reload(),
                    Some(Control::Shutdown) | None => {
                        shutting_down = true;
                        controls_open = control.is_some();
                        match wind_down.stage {
                            Stage::Running => tracing::info!(
                                grace = ?self.options.shutdown_grace,
                                "shutting down: finishing the run in flight"
                            ),
                            Stage::Stopping => {
                                tracing::warn!("second shutdown request: recording the run in flight as interrupted")
                            }
                            Stage::Abandoning => {
                                tracing::warn!("third shutdown request: leaving the run in flight unrecorded")
                            }
                        }
                        if !wind_down.escalate() {
                            break None;
                        }
                    }
                },
                _ = sleep_until(wind_down.deadline) => {
                    if wind_down.stage == Stage::Abandoning {
                        tracing::warn!("the engine did not stop: leaving the run in flight unrecorded");
                    } else {
                        tracing::warn!("shutdown grace expired: recording the run in flight as interrupted");
                    }
                    if !wind_down.escalate() {
                        break None;
                    }
                }
            }
        };
        let returned = result.map(|result| match result {
            Ok(evaluation) => {
                let interrupted = shutting_down || deposed;
                for line in &evaluation.lines {
                    tracing::info!(window_end = %window.now, "{line}");
                }
                tracing::info!(
                    window_start = window.last.map(|last| last.to_string()),
                    window_end = %window.now,
                    attempted = evaluation.attempted,
                    succeeded = evaluation.succeeded,
                    failed = evaluation.failed,
                    interrupted,
                    "evaluated"
                );
                self.metrics.record_evaluation(&evaluation, window.now, interrupted);
                for problem in &evaluation.problems {
                    tracing::error!(window_end = %window.now, "{problem}");
                }
                RunEnd::Evaluated { recheck: !evaluation.is_clean() || evaluation.unconfirmed_open > 0 }
            }
            Err(err) => {
                tracing::error!(error = format!("{err:#}"), window_end = %window.now, "evaluation failed");
                self.metrics.record_error(&format!("{err:#}"));
                RunEnd::Failed
            }
        });
        RunEnd::after(returned, shutting_down, deposed)
    }
}

/// Completes at `deadline`; never without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_winds_the_engine_down_one_stage_further_until_it_is_left() {
        let grace = Duration::from_secs(30);
        assert_eq!(next_stage(Stage::Running, grace), Some((Stage::Stopping, grace)));
        assert_eq!(next_stage(Stage::Stopping, grace), Some((Stage::Abandoning, RECORD_WAIT)));
        assert_eq!(next_stage(Stage::Abandoning, grace), None);
    }

    #[test]
    fn shutdown_and_the_loss_of_the_lease_win_over_what_the_evaluation_returned() {
        let evaluated = || Some(RunEnd::Evaluated { recheck: false });
        assert!(matches!(RunEnd::after(evaluated(), false, false), RunEnd::Evaluated { recheck: false }));
        assert!(matches!(RunEnd::after(Some(RunEnd::Failed), false, false), RunEnd::Failed));
        assert!(matches!(RunEnd::after(evaluated(), true, true), RunEnd::Stop));
        assert!(matches!(RunEnd::after(Some(RunEnd::Failed), false, true), RunEnd::Deposed));
        assert!(matches!(RunEnd::after(None, false, true), RunEnd::Deposed));
        assert!(matches!(RunEnd::after(None, true, false), RunEnd::Stop));
    }
}
