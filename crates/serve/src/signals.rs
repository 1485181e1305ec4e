//! What the outside world asks of a running process: shut down, or reload the configuration.
//!
//! Unix signals are turned into [`Control`] messages on a channel, so the loops never touch signals directly and
//! tests drive them by sending messages. [`Interrupt`] (`autostop_engine::interrupt`) is how a loop (the daemon,
//! the Functions handler, or `run` through [`interrupt_on_signals`]) tells the engine that shutdown has begun.

use std::time::Duration;

use autostop_engine::interrupt::{Interrupt, Stage};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// A request to a running loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// SIGTERM or SIGINT: finish or interrupt the run in flight, then exit. A second one exits at once.
    Shutdown,
    /// SIGHUP: read the configuration again; an invalid one keeps the old one.
    Reload,
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
