//! Tests of the live fleet: transitions through their transient states, refusals, failures, the rendered-JSON
//! cache and case-insensitive lookups.

use std::time::Duration;

use super::*;

const WALL: &str = "2024-07-24T08:42:28.0000000+00:00";

fn world() -> World {
    World::new(Fleet::sample(), WALL)
}

fn index(world: &World, name: &str) -> usize {
    let sub = "00000000-0000-4000-8000-000000000001";
    world.compute(sub, "ML-RESEARCH", "research-ws", name).expect("compute exists")
}

const SECOND: Duration = Duration::from_secs(1);

fn at(w: &mut World, index: usize, now: Duration) -> &ComputeEntry {
    w.settle(index, now, WALL);
    w.compute_at(index)
}

#[test]
fn stop_moves_through_stopping_to_stopped() {
    let mut w = world();
    let i = index(&w, "alice-ci");
    let accepted = w.begin(i, Action::Stop, Duration::ZERO, 10 * SECOND, false, WALL).expect("accepted");
    assert_eq!(at(&mut w, i, 5 * SECOND).spec.state, "Stopping");
    let status = w.operation_status(&accepted.subscription, &accepted.operation_id, 5 * SECOND, WALL).unwrap();
    assert_eq!((status.status, status.percent_complete), ("InProgress", 50.0));
    assert_eq!(at(&mut w, i, 10 * SECOND).spec.state, "Stopped");
    let status = w.operation_status(&accepted.subscription, &accepted.operation_id, 10 * SECOND, WALL).unwrap();
    assert_eq!(status.status, "Succeeded");
    assert_eq!(at(&mut w, i, 10 * SECOND).last_operation.status, "Succeeded");
}

#[test]
fn end_time_is_fixed_when_the_operation_finishes() {
    let mut w = world();
    let i = index(&w, "alice-ci");
    let accepted = w.begin(i, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
    let poll = |w: &mut World, now, wall| w.operation_status(&accepted.subscription, &accepted.operation_id, now, wall);
    assert_eq!(poll(&mut w, Duration::ZERO, WALL).unwrap().end_time, None, "no end time while in progress");
    let first = "2024-07-24T08:42:30.0000000+00:00";
    assert_eq!(poll(&mut w, SECOND, first).unwrap().end_time.as_deref(), Some(first));
    let later = "2024-07-24T08:50:00.0000000+00:00";
    assert_eq!(poll(&mut w, 60 * SECOND, later).unwrap().end_time.as_deref(), Some(first), "fixed at completion");
}

#[test]
fn start_and_restart_end_running_and_job_running_can_stop() {
    let mut w = world();
    let bob = index(&w, "bob-ci");
    w.begin(bob, Action::Start, Duration::ZERO, SECOND, false, WALL).expect("start accepted");
    assert_eq!(at(&mut w, bob, Duration::ZERO).spec.state, "Starting");
    assert_eq!(at(&mut w, bob, SECOND).spec.state, "Running");
    w.begin(bob, Action::Restart, SECOND, SECOND, false, WALL).expect("restart accepted");
    assert_eq!(at(&mut w, bob, SECOND).spec.state, "Restarting");
    assert_eq!(at(&mut w, bob, 2 * SECOND).spec.state, "Running");
    let carol = index(&w, "carol-gpu");
    w.begin(carol, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("stop of JobRunning accepted");
}

#[test]
fn refusals_name_the_state() {
    let mut w = world();
    let bob = index(&w, "bob-ci");
    let err = w.begin(bob, Action::Stop, Duration::ZERO, SECOND, false, WALL).unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (400, "StopComputeInstanceOnlyAllowedInRunningState"));
    assert!(err.message.contains("'Stopped'"), "{}", err.message);
    let alice = index(&w, "alice-ci");
    let err = w.begin(alice, Action::Start, Duration::ZERO, SECOND, false, WALL).unwrap_err();
    assert_eq!(err.code, "StartComputeInstanceOnlyAllowedInStoppedState");
    w.begin(alice, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
    let err = w.begin(alice, Action::Start, Duration::ZERO, SECOND, false, WALL).unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (409, "Conflict"));
    let cluster = index(&w, "batch-cluster");
    let err = w.begin(cluster, Action::Stop, Duration::ZERO, SECOND, false, WALL).unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (400, "BadRequest"));
}

#[test]
fn failed_operation_returns_to_the_old_state() {
    let mut w = world();
    assert_eq!(w.fail_next_operation("ALICE-CI"), 1);
    let i = index(&w, "alice-ci");
    let accepted = w.begin(i, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
    let status = w.operation_status(&accepted.subscription, &accepted.operation_id, SECOND, WALL).unwrap();
    assert_eq!(status.status, "Failed");
    assert!(status.error.is_some());
    let entry = at(&mut w, i, SECOND);
    assert_eq!((entry.spec.state.as_str(), entry.last_operation.status.as_str()), ("Running", "StopFailed"));
    let again = w.begin(i, Action::Stop, SECOND, SECOND, false, WALL).expect("accepted");
    let status = w.operation_status(&again.subscription, &again.operation_id, 2 * SECOND, WALL).unwrap();
    assert_eq!(status.status, "Succeeded", "only the next operation fails");
}

#[test]
fn rendered_json_is_forgotten_on_every_change() {
    let mut w = world();
    let i = index(&w, "alice-ci");
    let remember = |w: &mut World| w.remember_rendered(i, "cached".to_owned());
    remember(&mut w);
    assert_eq!(w.rendered(i), Some("cached"));
    w.begin(i, Action::Stop, Duration::ZERO, SECOND, false, WALL).expect("accepted");
    assert_eq!(w.rendered(i), None, "begin");
    remember(&mut w);
    w.settle(i, SECOND, WALL);
    assert_eq!(w.rendered(i), None, "settle");
    remember(&mut w);
    w.settle(i, 2 * SECOND, WALL);
    assert_eq!(w.rendered(i), Some("cached"), "nothing changed");
    w.set_state(i, "JobRunning", WALL);
    assert_eq!(w.rendered(i), None, "set_state");
}

#[test]
fn complete_operations_finishes_everything_now() {
    let mut w = world();
    let i = index(&w, "alice-ci");
    w.begin(i, Action::Stop, Duration::ZERO, 3600 * SECOND, false, WALL).expect("accepted");
    w.complete_operations(SECOND, WALL);
    assert_eq!(at(&mut w, i, SECOND).spec.state, "Stopped");
}

#[test]
fn lookups_are_case_insensitive_and_404s_name_the_thing() {
    let w = world();
    let sub = "00000000-0000-4000-8000-000000000001";
    assert!(w.compute(&sub.to_uppercase(), "ml-research", "RESEARCH-WS", "Alice-CI").is_ok());
    assert_eq!(w.subscription("nope").unwrap_err().code, "SubscriptionNotFound");
    assert_eq!(w.workspaces_in_group(sub, "nope").unwrap_err().code, "ResourceGroupNotFound");
    let err = w.workspace(sub, "ml-research", "nope").unwrap_err();
    assert!(err.message.contains("workspaces/nope"), "{}", err.message);
    let err = w.compute(sub, "ml-research", "research-ws", "ghost").unwrap_err();
    assert!(err.message.contains("computes/ghost"), "{}", err.message);
    let id = format!(
        "/SUBSCRIPTIONS/{sub}/resourcegroups/ml-research/providers/{PROVIDER}/workspaces/research-ws/computes/bob-ci"
    );
    assert!(w.compute_by_id(&id).is_some());
}
