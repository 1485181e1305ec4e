//! Leader election of `autostop serve --ha`: replicas sharing a Blob state take turns holding its leader lease,
//! and only the holder evaluates and acts; the others serve `/healthz`, `/metrics`, the status page and the
//! owners' links, and try to take the lease every few seconds.
//!
//! [`elect`] is the loop (its I/O goes through [`Lease`]); [`Term`] is the pure arithmetic of a lease held:
//! when to renew, when it must be taken for lost. A lease runs, for the service, from when it received the
//! acquisition or renewal; here it is counted from when the request was *sent*, so this process always believes
//! its lease ends before the service ends it. A leader renews every third of the lease; a renewal that fails for
//! a reason other than losing the lease is tried again every second until the term ends, and then the leader
//! steps down (loudly: log, `/healthz`, `autostop_leader`). The claims, not the lease, keep actions from being
//! done twice when two replicas believe they lead for a moment (`docs/adr/0007-blob-state.md`).

use std::future::Future;
use std::time::Duration;

use crate::{Acquired, Error, LeaderIdentity, LeaderLease, LeaseId, Renewed};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

/// What this replica is, as the election last found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// It holds the lease: it evaluates and acts.
    Leader,
    /// Another replica leads (whom the lease blob names, if known), or nobody could be asked.
    Follower {
        /// The leader, as it wrote itself into the lease blob.
        leader: Option<LeaderIdentity>,
        /// Why this replica is not leading when it should hear about it: the storage could not be reached, or
        /// it lost the lease it held (kept until it leads again).
        problem: Option<String>,
    },
}

impl Role {
    /// Whether this replica may evaluate.
    pub fn leads(&self) -> bool {
        matches!(self, Role::Leader)
    }
}

/// The service calls the election makes (the Blob lease in production, a fake in tests).
pub trait Lease: Send + Sync + 'static {
    /// Tries to take the lease, writing `me` into it when taken.
    fn acquire(&self, me: &LeaderIdentity) -> impl Future<Output = Result<Acquired, Error>> + Send;
    /// Renews the lease held.
    fn renew(&self, lease: &LeaseId) -> impl Future<Output = Result<Renewed, Error>> + Send;
    /// Gives the lease back.
    fn release(&self, lease: &LeaseId) -> impl Future<Output = Result<(), Error>> + Send;
}

impl Lease for LeaderLease {
    async fn acquire(&self, me: &LeaderIdentity) -> Result<Acquired, Error> {
        LeaderLease::acquire(self, me).await
    }

    async fn renew(&self, lease: &LeaseId) -> Result<Renewed, Error> {
        LeaderLease::renew(self, lease).await
    }

    async fn release(&self, lease: &LeaseId) -> Result<(), Error> {
        LeaderLease::release(self, lease).await
    }
}

/// How often the election asks the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a lease lasts without renewal.
    pub lease: Duration,
    /// A leader renews this long after its last renewal was sent: a third of the lease.
    pub renew_every: Duration,
    /// A renewal that failed (the service could not be reached) is tried again this much later, within the term.
    pub renew_retry: Duration,
    /// A follower tries to take the lease this often: a fifth of the lease, at most 5 s.
    pub acquire_every: Duration,
}

impl Timing {
    /// The timing for a lease of `lease`.
    pub fn for_lease(lease: Duration) -> Timing {
        Timing {
            lease,
            renew_every: lease / 3,
            renew_retry: Duration::from_secs(1).min(lease / 15),
            acquire_every: Duration::from_secs(5).min(lease / 5),
        }
    }
}

/// A lease held: until when this process may believe it leads. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// When the last successful acquisition or renewal was sent.
    sent: Instant,
    timing: Timing,
}

/// What a leader does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Renew at this instant.
    RenewAt(Instant),
    /// The term is over without a renewal: step down now.
    StepDown,
}

impl Term {
    /// A term from an acquisition or renewal sent at `sent` that succeeded.
    pub fn from(sent: Instant, timing: Timing) -> Term {
        Term { sent, timing }
    }

    /// When the service may end the lease at the earliest (as this process counts).
    pub fn ends(&self) -> Instant {
        self.sent + self.timing.lease
    }

    /// When to renew after the renewal sent at `self.sent` succeeded.
    pub fn renew_at(&self) -> Instant {
        self.sent + self.timing.renew_every
    }

    /// After a renewal that could not reach the service at `now`: try again soon, unless the term is over.
    pub fn after_failed_renewal(&self, now: Instant) -> Next {
        let retry = now + self.timing.renew_retry;
        if retry >= self.ends() { Next::StepDown } else { Next::RenewAt(retry) }
    }
}

/// Runs the election until `stop` fires (or its sender is dropped), publishing this replica's role on `role`.
/// On stop, a leader releases the lease at once, so that another replica takes over without waiting for it to
/// expire.
pub async fn elect<L: Lease>(
    lease: L,
    me: LeaderIdentity,
    timing: Timing,
    role: watch::Sender<Role>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut held: Option<(LeaseId, Term)> = None;
    // Why this replica last stopped leading, if it lost its lease: said on /healthz until it leads again.
    let mut lost: Option<String> = None;
    let mut wake = Instant::now();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep_until(wake) => {}
        }
        let sent = Instant::now();
        match held.take() {
            None => match lease.acquire(&me).await {
                Ok(Acquired::Leading(id)) => {
                    tracing::info!(lease = ?timing.lease, "took the leader lease: this replica evaluates and acts");
                    let term = Term::from(sent, timing);
                    wake = term.renew_at();
                    held = Some((id, term));
                    lost = None;
                    role.send_replace(Role::Leader);
                }
                Ok(Acquired::HeldBy(leader)) => {
                    let problem = lost.clone();
                    role.send_if_modified(|current| {
                        let new = Role::Follower { leader, problem };
                        let changed = *current != new;
                        if changed {
                            if let Role::Follower { leader: Some(leader), .. } = &new {
                                tracing::info!(host = %leader.host, pid = leader.pid, listen = %leader.listen, "following");
                            }
                            *current = new;
                        }
                        changed
                    });
                    wake = sent + timing.acquire_every;
                }
                Err(err) => {
                    let message = format!("cannot ask for the leader lease: {err:#}");
                    tracing::error!("{message}");
                    let problem = Some(lost.as_ref().map_or(message.clone(), |lost| format!("{lost}; {message}")));
                    role.send_replace(Role::Follower { leader: None, problem });
                    wake = sent + timing.acquire_every;
                }
            },
            Some((id, term)) => {
                // Never wait on the service past the term: by then the lease may be someone else's.
                let answer = tokio::time::timeout_at(term.ends(), lease.renew(&id)).await;
                let reason = match answer {
                    Ok(Ok(Renewed::Held)) => {
                        let term = Term::from(sent, timing);
                        held = Some((id, term));
                        wake = term.renew_at();
                        continue;
                    }
                    Ok(Ok(Renewed::Lost(code))) => format!("the service says it is no longer ours ({code})"),
                    Ok(Err(err)) => match term.after_failed_renewal(Instant::now()) {
                        Next::RenewAt(at) => {
                            tracing::warn!(error = format!("{err:#}"), "cannot renew the leader lease: trying again");
                            held = Some((id, term));
                            wake = at;
                            continue;
                        }
                        Next::StepDown => format!("it could not be renewed before it ran out ({err:#})"),
                    },
                    Err(_) => "it could not be renewed before it ran out (no answer)".to_owned(),
                };
                let problem = format!("lost the leader lease: {reason}; this replica stopped evaluating and follows");
                tracing::error!("{problem}");
                lost = Some(problem.clone());
                role.send_replace(Role::Follower { leader: None, problem: Some(problem) });
                wake = Instant::now() + timing.acquire_every;
            }
        }
    }
    if let Some((id, _)) = held {
        role.send_replace(Role::Follower { leader: None, problem: None });
        match tokio::time::timeout(timing.renew_every, lease.release(&id)).await {
            Ok(Ok(())) => tracing::info!("released the leader lease"),
            Ok(Err(err)) => {
                tracing::error!(error = format!("{err:#}"), "cannot release the leader lease: it expires by itself")
            }
            Err(_) => tracing::error!("no answer to the release of the leader lease: it expires by itself"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::*;

    const TIMING: Duration = Duration::from_secs(15);

    #[test]
    fn a_leader_renews_every_third_of_the_lease_and_steps_down_before_the_service_ends_it() {
        let timing = Timing::for_lease(TIMING);
        assert_eq!(timing.renew_every, Duration::from_secs(5));
        assert_eq!(timing.acquire_every, Duration::from_secs(3));
        assert_eq!(Timing::for_lease(Duration::from_secs(60)).acquire_every, Duration::from_secs(5));
        let start = Instant::now();
        let term = Term::from(start, timing);
        assert_eq!(term.renew_at(), start + Duration::from_secs(5));
        assert_eq!(term.ends(), start + TIMING);
        assert_eq!(
            term.after_failed_renewal(start + Duration::from_secs(6)),
            Next::RenewAt(start + Duration::from_secs(7))
        );
        assert_eq!(term.after_failed_renewal(start + Duration::from_secs(14)), Next::StepDown);
    }

    /// A lease service played from a script: each call takes the next answer of its kind.
    #[derive(Clone, Default)]
    struct Scripted {
        acquires: Arc<Mutex<VecDeque<Result<Acquired, Error>>>>,
        renewals: Arc<Mutex<VecDeque<Result<Renewed, Error>>>>,
        released: Arc<Mutex<Vec<LeaseId>>>,
    }

    fn next<T>(answers: &Mutex<VecDeque<Result<T, Error>>>) -> Result<T, Error> {
        let exhausted =
            || Error::Blob { location: "fake".into(), operation: "answer", message: "no more answers".into() };
        answers.lock().expect("lock").pop_front().unwrap_or_else(|| Err(exhausted()))
    }

    impl Lease for Scripted {
        async fn acquire(&self, _me: &LeaderIdentity) -> Result<Acquired, Error> {
            next(&self.acquires)
        }

        async fn renew(&self, _lease: &LeaseId) -> Result<Renewed, Error> {
            next(&self.renewals)
        }

        async fn release(&self, lease: &LeaseId) -> Result<(), Error> {
            self.released.lock().expect("lock").push(lease.clone());
            Ok(())
        }
    }

    fn me() -> LeaderIdentity {
        LeaderIdentity { host: "here".to_owned(), pid: 1, listen: "127.0.0.1:9464".to_owned() }
    }

    fn other() -> LeaderIdentity {
        LeaderIdentity { host: "there".to_owned(), pid: 2, listen: "10.0.0.2:9464".to_owned() }
    }

    struct Running {
        role: watch::Receiver<Role>,
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<()>,
    }

    fn start(lease: Scripted) -> Running {
        let (tx, role) = watch::channel(Role::Follower { leader: None, problem: None });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(elect(lease, me(), Timing::for_lease(TIMING), tx, stopped));
        Running { role, stop, task }
    }

    const LIMIT: Duration = Duration::from_secs(600);

    async fn role_where(running: &mut Running, wanted: impl Fn(&Role) -> bool) -> (Role, Instant) {
        let role = tokio::time::timeout(LIMIT, running.role.wait_for(|role| wanted(role)))
            .await
            .expect("role in time")
            .expect("election alive")
            .clone();
        (role, Instant::now())
    }

    async fn stop(running: Running) {
        let _ = running.stop.send(());
        tokio::time::timeout(LIMIT, running.task).await.expect("stops in time").expect("task");
    }

    #[tokio::test(start_paused = true)]
    async fn a_follower_names_its_leader_then_takes_over_when_the_lease_is_free() {
        let lease = Scripted::default();
        lease.acquires.lock().expect("lock").extend([
            Ok(Acquired::HeldBy(Some(other()))),
            Ok(Acquired::HeldBy(Some(other()))),
            Ok(Acquired::Leading(LeaseId::from("ours".to_owned()))),
        ]);
        lease.renewals.lock().expect("lock").extend((0..3).map(|_| Ok(Renewed::Held)));
        let begin = Instant::now();
        let mut running = start(lease.clone());
        let (following, _) =
            role_where(&mut running, |role| matches!(role, Role::Follower { leader: Some(_), .. })).await;
        assert_eq!(following, Role::Follower { leader: Some(other()), problem: None });
        let (_, took) = role_where(&mut running, Role::leads).await;
        assert_eq!(took - begin, Duration::from_secs(6), "two tries 3 s apart, then the third takes it");
        tokio::time::sleep(Duration::from_secs(16)).await;
        assert!(running.role.borrow().leads(), "renewed every 5 s, it still leads past one lease period");
        stop(running).await;
        assert_eq!(*lease.released.lock().expect("lock"), vec![LeaseId::from("ours".to_owned())], "released on stop");
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_whose_lease_is_taken_steps_down_at_once_and_says_so_until_it_leads_again() {
        let lease = Scripted::default();
        lease.acquires.lock().expect("lock").extend([
            Ok(Acquired::Leading(LeaseId::from("first".to_owned()))),
            Ok(Acquired::HeldBy(Some(other()))),
            Ok(Acquired::Leading(LeaseId::from("second".to_owned()))),
        ]);
        lease.renewals.lock().expect("lock").push_back(Ok(Renewed::Lost("HTTP 409 LeaseIdMismatch".to_owned())));
        let mut running = start(lease.clone());
        let (_, took) = role_where(&mut running, Role::leads).await;
        let (lost, at) = role_where(&mut running, |role| !role.leads()).await;
        assert_eq!(at - took, Duration::from_secs(5), "found at the first renewal");
        let Role::Follower { problem: Some(problem), .. } = lost else { panic!("no problem: {lost:?}") };
        assert!(problem.starts_with("lost the leader lease: the service says") && problem.contains("409"), "{problem}");
        let (following, _) =
            role_where(&mut running, |role| matches!(role, Role::Follower { leader: Some(_), .. })).await;
        assert!(
            matches!(&following, Role::Follower { problem: Some(problem), .. } if problem.starts_with("lost the leader lease")),
            "the loss stays on /healthz while following: {following:?}"
        );
        role_where(&mut running, Role::leads).await;
        stop(running).await;
        assert_eq!(*lease.released.lock().expect("lock"), vec![LeaseId::from("second".to_owned())]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_that_cannot_reach_the_service_leads_until_its_term_ends_and_not_a_moment_longer() {
        let lease = Scripted::default();
        lease.acquires.lock().expect("lock").push_back(Ok(Acquired::Leading(LeaseId::from("ours".to_owned()))));
        // Every renewal fails: the script has no answers, so each says "no more answers".
        let mut running = start(lease.clone());
        let (_, took) = role_where(&mut running, Role::leads).await;
        let (lost, at) = role_where(&mut running, |role| !role.leads()).await;
        assert!(at - took < TIMING, "stepped down after {:?}, past the lease", at - took);
        assert!(at - took >= TIMING - Duration::from_secs(1), "stepped down early, after {:?}", at - took);
        assert!(
            matches!(&lost, Role::Follower { problem: Some(problem), .. } if problem.contains("could not be renewed"))
        );
        stop(running).await;
        assert!(lease.released.lock().expect("lock").is_empty(), "a lease given up is not released again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_follower_that_cannot_reach_the_service_says_so() {
        let lease = Scripted::default();
        let mut running = start(lease);
        let (role, _) = role_where(&mut running, |role| matches!(role, Role::Follower { problem: Some(_), .. })).await;
        assert!(matches!(&role, Role::Follower { problem: Some(problem), .. } if problem.starts_with("cannot ask")));
        stop(running).await;
    }
}
