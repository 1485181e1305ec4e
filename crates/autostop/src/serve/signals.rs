//! What the outside world asks of a running process: shut down, or reload the configuration.
//!
//! Unix signals are turned into [`Control`] messages on a channel, so the loops never touch signals directly and
//! tests drive them by sending messages. [`Interrupt`] is how a loop tells the engine that shutdown has begun.

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

/// Tells the engine that shutdown has begun: start no new operation, record the rest as interrupted.
#[derive(Debug, Clone)]
pub struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    /// A new interrupt and the sender that requests it.
    pub(crate) fn pair() -> (watch::Sender<bool>, Interrupt) {
        let (tx, rx) = watch::channel(false);
        (tx, Interrupt(rx))
    }

    /// True once shutdown has been requested.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupt_is_seen_by_every_clone() {
        let (tx, interrupt) = Interrupt::pair();
        let clone = interrupt.clone();
        assert!(!interrupt.is_requested() && !clone.is_requested());
        tx.send(true).expect("receiver alive");
        assert!(interrupt.is_requested() && clone.is_requested());
    }

    #[test]
    fn a_dropped_sender_is_not_a_request() {
        let (tx, interrupt) = Interrupt::pair();
        drop(tx);
        assert!(!interrupt.is_requested());
    }
}
