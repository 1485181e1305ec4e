//! The lower bounds of the fleet and list scenarios: the shortest wall time ARM's per-subscription token buckets
//! and the request latency allow for the job. Pure arithmetic, no clock.
//!
//! Per subscription the job needs at least: one page of the workspace list per `page_size` workspaces, one page of
//! the compute list per `page_size` computes of each workspace, one POST per running instance (a write), and one
//! operation-status GET per POST to see it end (a read). A bucket of burst `B` refilling at `r` per second lets
//! `n` requests through no sooner than `max(0, n - B) / r` seconds. Subscriptions have their own buckets and run
//! in parallel, so the slowest one decides. The last POST still needs its round trip, the operation's own
//! duration and one more round trip to be seen done; nothing can be sent before the token, workspace-list and
//! compute-list round trips (for VMs, the token and VM-list round trips). Hence
//!
//! ```text
//! bound = max( max(3L, (W - Bw) / rw) + 2L + D ,  3L + (R - Br) / rr + L )
//! ```
//!
//! with `L` the latency of one request, `D` the operation's real duration, `W`/`R` the writes/reads of one
//! subscription and `Bw, rw, Br, rr` the buckets.

use std::time::Duration;

use crate::fleet::Shape;

/// ARM's per-subscription token buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Buckets {
    /// Reads allowed at once.
    pub read_burst: f64,
    /// Reads added per second.
    pub read_refill_per_s: f64,
    /// Writes allowed at once.
    pub write_burst: f64,
    /// Writes added per second.
    pub write_refill_per_s: f64,
}

impl Default for Buckets {
    /// ARM's documented defaults per subscription and region: reads 250 burst, 25/s; writes 200 burst, 10/s.
    fn default() -> Self {
        Buckets { read_burst: 250.0, read_refill_per_s: 25.0, write_burst: 200.0, write_refill_per_s: 10.0 }
    }
}

/// What the bound needs beyond the fleet's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// The buckets.
    pub buckets: Buckets,
    /// The latency the emulator adds to every request.
    pub latency: Duration,
    /// How long one stop operation takes in real time.
    pub operation: Duration,
    /// Items per page of a list (the emulator's page size).
    pub page_size: usize,
}

/// The bound and the numbers it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    /// Reads one subscription needs.
    pub reads_per_subscription: usize,
    /// Writes one subscription needs.
    pub writes_per_subscription: usize,
    /// Seconds the write bucket holds the last POST back.
    pub write_wait_s: f64,
    /// Seconds the read bucket holds the last read back.
    pub read_wait_s: f64,
    /// The bound, in seconds.
    pub seconds: f64,
    /// The formula with the numbers put in, for the report.
    pub explanation: String,
}

/// Seconds before the `n`th request gets through a bucket of `burst` refilling at `refill` per second.
fn bucket_wait(n: usize, burst: f64, refill: f64) -> f64 {
    if refill <= 0.0 {
        return if n as f64 <= burst { 0.0 } else { f64::INFINITY };
    }
    ((n as f64 - burst) / refill).max(0.0)
}

/// What one subscription of a stop job needs, whatever the kinds of its targets.
struct StopJob {
    /// List pages read before the targets are known.
    pages: usize,
    /// How the pages are counted, for the explanation.
    pages_text: String,
    /// POSTs (one per running target).
    writes: usize,
    /// Round trips that must come before the first POST (the token and the first pages).
    lead: u32,
}

/// The lower bound for stopping every running instance of `shape` under `conditions`: the first POST needs the
/// token, workspace-list and compute-list round trips (`lead` = 3).
pub fn fleet_bound(shape: &Shape, conditions: &Conditions) -> Bound {
    let page = conditions.page_size.max(1);
    let workspace_pages = shape.workspaces_per_subscription.div_ceil(page).max(1);
    let compute_pages = shape.workspaces_per_subscription * shape.instances_per_workspace.div_ceil(page).max(1);
    let job = StopJob {
        pages: workspace_pages + compute_pages,
        pages_text: format!("{workspace_pages} + {compute_pages} list pages"),
        writes: shape.running_per_subscription(),
        lead: 3,
    };
    stop_bound(&job, conditions)
}

/// The lower bound for stopping every running instance of `shape` and, in each subscription, `running_vms` of
/// its `vms` VMs (the `mixed` scenario). A deallocation is an ARM write like an instance's stop and is followed
/// by its own poll, so `W` counts both kinds of POST and `R` adds the VM-list pages; the first VM POST can go
/// after the token and the first VM page (`lead` = 2).
pub fn mixed_bound(shape: &Shape, vms: usize, running_vms: usize, conditions: &Conditions) -> Bound {
    let page = conditions.page_size.max(1);
    let workspace_pages = shape.workspaces_per_subscription.div_ceil(page).max(1);
    let compute_pages = shape.workspaces_per_subscription * shape.instances_per_workspace.div_ceil(page).max(1);
    let vm_pages = vms.div_ceil(page).max(1);
    let job = StopJob {
        pages: workspace_pages + compute_pages + vm_pages,
        pages_text: format!("{workspace_pages} + {compute_pages} + {vm_pages} (VMs) list pages"),
        writes: shape.running_per_subscription() + running_vms.min(vms),
        lead: 2,
    };
    stop_bound(&job, conditions)
}

/// The lower bound of a stop job under `conditions`:
/// `max(max(lead L, (W-Bw)/rw) + 2L + D, lead L + (R-Br)/rr + L)`.
fn stop_bound(job: &StopJob, conditions: &Conditions) -> Bound {
    let writes = job.writes;
    let reads = job.pages + writes;
    let b = conditions.buckets;
    let latency = conditions.latency.as_secs_f64();
    let operation = conditions.operation.as_secs_f64();
    let lead = f64::from(job.lead) * latency;
    let write_wait = bucket_wait(writes, b.write_burst, b.write_refill_per_s);
    let read_wait = bucket_wait(reads, b.read_burst, b.read_refill_per_s);
    let write_path = lead.max(write_wait) + 2.0 * latency + operation;
    let read_path = lead + read_wait + latency;
    let seconds = write_path.max(read_path);
    let n = job.lead;
    let explanation = format!(
        "per subscription: W = {writes} POSTs, R = {} + {writes} polls = {reads} reads; buckets Bw={} rw={}/s, \
         Br={} rr={}/s; L = {latency:.3} s, D = {operation:.3} s; bound = max(max({n}L, (W-Bw)/rw) + 2L + D, {n}L + \
         (R-Br)/rr + L) = max(max({lead:.3}, {write_wait:.3}) + {:.3} + {operation:.3}, {lead:.3} + \
         {read_wait:.3} + {latency:.3}) = {seconds:.3} s",
        job.pages_text,
        b.write_burst,
        b.write_refill_per_s,
        b.read_burst,
        b.read_refill_per_s,
        2.0 * latency,
    );
    Bound {
        reads_per_subscription: reads,
        writes_per_subscription: writes,
        write_wait_s: write_wait,
        read_wait_s: read_wait,
        seconds,
        explanation,
    }
}

/// The lower bound for listing every compute of `shape` under `conditions` (the `list` scenario): the token, the
/// workspace-list pages and one workspace's compute-list pages follow each other (each page's `nextLink` comes
/// with the page before), workspaces and subscriptions go in parallel, and the read bucket lets the `R` reads of a
/// subscription through no sooner than `(R - Br) / rr`:
///
/// ```text
/// bound = max( (1 + workspace pages + pages of one workspace) L ,  L + (R - Br)/rr + L )
/// ```
pub fn list_bound(shape: &Shape, conditions: &Conditions) -> Bound {
    let page = conditions.page_size.max(1);
    let workspace_pages = shape.workspaces_per_subscription.div_ceil(page).max(1);
    let pages_per_workspace = shape.instances_per_workspace.div_ceil(page).max(1);
    let reads = workspace_pages + shape.workspaces_per_subscription * pages_per_workspace;
    let b = conditions.buckets;
    let latency = conditions.latency.as_secs_f64();
    let read_wait = bucket_wait(reads, b.read_burst, b.read_refill_per_s);
    let chain = (1 + workspace_pages + pages_per_workspace) as f64 * latency;
    let seconds = chain.max(2.0 * latency + read_wait);
    let explanation = format!(
        "per subscription: R = {workspace_pages} workspace page(s) + {} compute pages = {reads} reads, Br={} \
         rr={}/s; L = {latency:.3} s; bound = max((1 + {workspace_pages} + {pages_per_workspace}) L, 2L + \
         (R-Br)/rr) = max({chain:.3}, {:.3}) = {seconds:.3} s",
        reads - workspace_pages,
        b.read_burst,
        b.read_refill_per_s,
        2.0 * latency + read_wait,
    );
    Bound {
        reads_per_subscription: reads,
        writes_per_subscription: 0,
        write_wait_s: 0.0,
        read_wait_s: read_wait,
        seconds,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue_fleet() -> Shape {
        Shape {
            subscriptions: 10,
            workspaces_per_subscription: 10,
            instances_per_workspace: 100,
            running_per_workspace: 60,
        }
    }

    fn conditions(latency_ms: u64, operation_ms: u64) -> Conditions {
        Conditions {
            buckets: Buckets::default(),
            latency: Duration::from_millis(latency_ms),
            operation: Duration::from_millis(operation_ms),
            page_size: 100,
        }
    }

    #[test]
    fn issue_fleet_is_bound_by_the_write_bucket() {
        let bound = fleet_bound(&issue_fleet(), &conditions(20, 500));
        assert_eq!(bound.writes_per_subscription, 600);
        assert_eq!(bound.reads_per_subscription, 1 + 10 + 600);
        assert!((bound.write_wait_s - 40.0).abs() < 1e-9, "{}", bound.write_wait_s);
        assert!((bound.read_wait_s - 14.44).abs() < 1e-9, "{}", bound.read_wait_s);
        assert!((bound.seconds - (40.0 + 0.04 + 0.5)).abs() < 1e-9, "{}", bound.seconds);
        assert!(bound.explanation.contains("W = 600"), "{}", bound.explanation);
    }

    #[test]
    fn a_fleet_inside_the_bursts_is_bound_by_latency_and_the_operation() {
        let small = Shape {
            subscriptions: 1,
            workspaces_per_subscription: 1,
            instances_per_workspace: 20,
            running_per_workspace: 10,
        };
        let bound = fleet_bound(&small, &conditions(20, 1000));
        assert_eq!((bound.write_wait_s, bound.read_wait_s), (0.0, 0.0));
        assert!((bound.seconds - (0.06 + 0.04 + 1.0)).abs() < 1e-9, "{}", bound.seconds);
    }

    #[test]
    fn a_listing_is_bound_by_its_chain_of_pages_or_the_read_bucket() {
        let mut c = conditions(20, 0);
        c.page_size = 50;
        let bound = list_bound(&issue_fleet(), &c);
        assert_eq!((bound.reads_per_subscription, bound.writes_per_subscription), (1 + 10 * 2, 0));
        assert!((bound.seconds - 4.0 * 0.02).abs() < 1e-9, "token, workspaces, two pages: {}", bound.seconds);
        let crowded = Shape { workspaces_per_subscription: 400, ..issue_fleet() };
        let bound = list_bound(&crowded, &c);
        assert!((bound.read_wait_s - (8.0 + 800.0 - 250.0) / 25.0).abs() < 1e-9, "{}", bound.read_wait_s);
        assert!((bound.seconds - (0.04 + bound.read_wait_s)).abs() < 1e-9, "{}", bound.seconds);
    }

    #[test]
    fn pages_are_counted_per_workspace() {
        let mut c = conditions(0, 0);
        c.page_size = 30;
        let bound = fleet_bound(&issue_fleet(), &c);
        assert_eq!(bound.reads_per_subscription, 1 + 10 * 4 + 600);
    }

    #[test]
    fn a_mixed_fleet_counts_both_kinds_of_post_and_the_vm_pages() {
        let shape = Shape { workspaces_per_subscription: 5, ..issue_fleet() };
        let bound = mixed_bound(&shape, 500, 300, &conditions(20, 2000));
        assert_eq!(bound.writes_per_subscription, 300 + 300);
        assert_eq!(bound.reads_per_subscription, 1 + 5 + 5 + 600);
        assert!((bound.write_wait_s - 40.0).abs() < 1e-9, "{}", bound.write_wait_s);
        assert!((bound.seconds - (40.0 + 0.04 + 2.0)).abs() < 1e-9, "{}", bound.seconds);
        assert!(bound.explanation.contains("5 (VMs) list pages"), "{}", bound.explanation);
        let few = mixed_bound(&Shape { running_per_workspace: 0, ..shape }, 10, 1, &conditions(20, 2000));
        assert!((few.seconds - (0.04 + 0.04 + 2.0)).abs() < 1e-9, "token and a VM page first: {}", few.seconds);
    }
}
