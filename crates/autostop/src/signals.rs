//! What the outside world asks of a running process: shut down, or reload the configuration.
//!
//! Unix signals are turned into [`Control`] messages on a channel, so the loops never touch signals directly and
//! tests drive them by sending messages. [`Interrupt`] is how a loop (the daemon, the Functions handler, or
//! `run` through [`interrupt_on_signals`]) tells the engine that shutdown has begun.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

/// A request to a running loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// SIGTERM or SIGINT: finish or interrupt the run in flight, then exit. A second one exits at once.
    Shutdown,
    /// SIGHUP: read the configuration again; an invalid one keeps the old one.
    Reload,
}

/// How far shutdown has gone, as the loops tell the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// No shutdown requested.
    Running,
    /// Shutdown requested: start nothing new, let what is in flight finish.
    Stopping,
    /// The grace period is over: stop following what is in flight and record it as interrupted.
    Abandoning,
}

/// Tells the engine that shutdown has begun (start no new operation, record the rest as interrupted) and, once the
/// grace period is over, that operations still in flight must be recorded as interrupted and left.
#[derive(Debug, Clone)]
pub struct Interrupt(watch::Receiver<Stage>);

impl Interrupt {
    /// A new interrupt and the sender that moves it through the stages.
    pub(crate) fn pair() -> (watch::Sender<Stage>, Interrupt) {
        let (tx, rx) = watch::channel(Stage::Running);
        (tx, Interrupt(rx))
    }

    /// True once shutdown has been requested: start no new operation.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow() >= Stage::Stopping
    }

    /// Completes once the grace period is over (never, if it never is): stop following operations in flight and
    /// record them as interrupted.
    pub async fn abandoned(&self) {
        let mut stage = self.0.clone();
        if stage.wait_for(|stage| *stage >= Stage::Abandoning).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Spawns a task that turns SIGTERM and SIGINT into [`Control::Shutdown`] and SIGHUP into [`Control::Reload`].
///
/// Must be called inside a Tokio runtime. The task ends when the receiver is dropped.
pub fn forward_signals(tx: mpsc::Sender<Control>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            let control = tokio::select! {
                _ = term.recv() => Control::Shutdown,
                _ = int.recv() => Control::Shutdown,
                _ = hup.recv() => Control::Reload,
            };
            if tx.send(control).await.is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// For a one-shot evaluation (`autostop run`): SIGTERM or SIGINT asks the engine to send nothing new and let what
/// is in flight finish; after `grace` (or at a second signal) what is still followed is left to a later
/// evaluation to confirm. Must be called inside a Tokio runtime.
pub fn interrupt_on_signals(grace: Duration) -> std::io::Result<Interrupt> {
    let (controls_tx, mut controls) = mpsc::channel(4);
    forward_signals(controls_tx)?;
    let (stage, interrupt) = Interrupt::pair();
    tokio::spawn(async move {
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let grace_over = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                control = controls.recv() => match control {
                    Some(Control::Shutdown) if deadline.is_none() => {
                        eprintln!("autostop: shutting down: sending nothing new, letting operations in flight finish for up to {grace:?}");
                        deadline = Some(tokio::time::Instant::now() + grace);
                        let _ = stage.send(Stage::Stopping);
                    }
                    Some(Control::Shutdown) => {
                        eprintln!("autostop: second shutdown request: leaving operations in flight to a later evaluation");
                        let _ = stage.send(Stage::Abandoning);
                        break;
                    }
                    Some(Control::Reload) => {}
                    None => break,
                },
                () = grace_over => {
                    eprintln!("autostop: shutdown grace expired: leaving operations in flight to a later evaluation");
                    let _ = stage.send(Stage::Abandoning);
                    break;
                }
            }
        }
        // Keep the stage alive for the engine to read until the process ends.
        std::future::pending::<()>().await;
    });
    Ok(interrupt)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn every_clone_sees_each_stage() {
        let (tx, interrupt) = Interrupt::pair();
        let clone = interrupt.clone();
        assert!(!interrupt.is_requested() && !clone.is_requested());
        tx.send(Stage::Stopping).expect("receiver alive");
        assert!(interrupt.is_requested() && clone.is_requested());
        tx.send(Stage::Abandoning).expect("receiver alive");
        tokio::time::timeout(Duration::from_secs(10), clone.abandoned()).await.expect("abandoned seen");
        assert!(interrupt.is_requested());
    }

    #[test]
    fn a_dropped_sender_is_not_a_request() {
        let (tx, interrupt) = Interrupt::pair();
        drop(tx);
        assert!(!interrupt.is_requested());
    }
}
