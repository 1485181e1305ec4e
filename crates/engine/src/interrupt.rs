//! How a loop (the daemon, the Functions handler, or `autostop run` on a signal) tells the engine that shutdown
//! has begun: an [`Interrupt`] moving through the [`Stage`]s, read by the engine between and during operations.

use tokio::sync::watch;

/// How far shutdown has gone, as the loops tell the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
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
    pub fn pair() -> (watch::Sender<Stage>, Interrupt) {
        let (tx, rx) = watch::channel(Stage::Running);
        (tx, Interrupt(rx))
    }

    /// True once shutdown has been requested: start no new operation.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow() >= Stage::Stopping
    }

    /// Completes once shutdown has been requested (never, if it never is): e.g. to stop listing what would only be
    /// recorded as interrupted.
    pub async fn requested(&self) {
        self.reached(Stage::Stopping).await;
    }

    /// Completes once the grace period is over (never, if it never is): stop following operations in flight and
    /// record them as interrupted.
    pub async fn abandoned(&self) {
        self.reached(Stage::Abandoning).await;
    }

    /// Completes once shutdown has gone as far as `wanted` (never, if it never does).
    async fn reached(&self, wanted: Stage) {
        let mut stage = self.0.clone();
        if stage.wait_for(|stage| *stage >= wanted).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
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
        tokio::time::timeout(Duration::from_secs(10), clone.requested()).await.expect("requested seen");
        let abandoned = tokio::time::timeout(Duration::from_millis(50), clone.abandoned()).await;
        assert!(abandoned.is_err(), "requested is not abandoned");
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
