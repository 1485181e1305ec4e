//! Faults on demand: 5xx answers, dropped connections, operations that end `Failed` or run slow, and tokens that
//! stop working before their advertised expiry.
//!
//! Rates draw from a seeded generator (the same request order gives the same faults); one-shot counts (the next
//! N requests) make tests deterministic. Pure: no clock, no I/O.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Fault settings of a run (all off by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Fraction (0..=1) of ARM requests answered 500 `InternalServerError`.
    pub server_error_rate: f64,
    /// Fraction (0..=1) of ARM requests dropped without an answer: their connection closed (HTTP/1.1), their
    /// stream reset (HTTP/2).
    pub drop_rate: f64,
    /// Fraction (0..=1) of accepted operations that end `Failed`.
    pub failed_operation_rate: f64,
    /// Fraction (0..=1) of accepted operations that take `slow_operation_factor` times the transition time.
    pub slow_operation_rate: f64,
    /// How much longer a slow operation takes (at least 1).
    pub slow_operation_factor: u32,
    /// When set, tokens stop being accepted this long after issue (in milliseconds, rounded up to whole seconds),
    /// whatever lifetime they advertise.
    pub token_early_expiry_ms: Option<u64>,
    /// Seed of the generator behind the rates.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            server_error_rate: 0.0,
            drop_rate: 0.0,
            failed_operation_rate: 0.0,
            slow_operation_rate: 0.0,
            slow_operation_factor: 10,
            token_early_expiry_ms: None,
            seed: 0x5eed,
        }
    }
}

impl Faults {
    /// The early expiry as a duration.
    pub fn token_early_expiry(&self) -> Option<Duration> {
        self.token_early_expiry_ms.map(Duration::from_millis)
    }
}

/// What happens to one ARM request before it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestFault {
    /// Serve it.
    None,
    /// Answer 500.
    ServerError,
    /// Answer nothing: close the connection (HTTP/1.1) or reset the stream (HTTP/2).
    Drop,
}

/// What happens to one accepted operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct OperationFault {
    /// It ends `Failed`.
    pub fail: bool,
    /// It takes this many times the transition time (1 = normal).
    pub slowdown: u32,
}

/// Fault settings plus the generator and the one-shot counters.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    rng: u64,
    next_server_errors: usize,
    next_drops: usize,
}

impl FaultState {
    /// Faults as configured.
    pub fn new(faults: Faults) -> FaultState {
        let rng = faults.seed;
        FaultState { faults, rng, next_server_errors: 0, next_drops: 0 }
    }

    /// The settings in force.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the settings (the generator restarts from the new seed; one-shot counts are kept).
    pub fn set(&mut self, faults: Faults) {
        self.rng = faults.seed;
        self.faults = faults;
    }

    /// The next `count` ARM requests get 500.
    pub fn server_errors(&mut self, count: usize) {
        self.next_server_errors += count;
    }

    /// The next `count` ARM requests get their connection dropped.
    pub fn drops(&mut self, count: usize) {
        self.next_drops += count;
    }

    /// Decides the fate of one ARM request: one-shots first, then the rates.
    pub fn on_request(&mut self) -> RequestFault {
        if self.next_drops > 0 {
            self.next_drops -= 1;
            return RequestFault::Drop;
        }
        if self.next_server_errors > 0 {
            self.next_server_errors -= 1;
            return RequestFault::ServerError;
        }
        let (drop_rate, error_rate) = (self.faults.drop_rate, self.faults.server_error_rate);
        if self.chance(drop_rate) {
            RequestFault::Drop
        } else if self.chance(error_rate) {
            RequestFault::ServerError
        } else {
            RequestFault::None
        }
    }

    /// Decides the fate of one accepted operation.
    pub fn on_operation(&mut self) -> OperationFault {
        let (fail_rate, slow_rate) = (self.faults.failed_operation_rate, self.faults.slow_operation_rate);
        let fail = self.chance(fail_rate);
        let slowdown = if self.chance(slow_rate) { self.faults.slow_operation_factor.max(1) } else { 1 };
        OperationFault { fail, slowdown }
    }

    /// True with probability `rate` (no draw when the rate is 0, so unset faults do not disturb the sequence).
    fn chance(&mut self, rate: f64) -> bool {
        if rate.is_nan() || rate <= 0.0 {
            return false;
        }
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_happens_by_default() {
        let mut state = FaultState::new(Faults::default());
        assert!((0..1000).all(|_| state.on_request() == RequestFault::None));
        assert!((0..1000).all(|_| state.on_operation() == OperationFault { fail: false, slowdown: 1 }));
    }

    #[test]
    fn one_shots_come_first_and_run_out() {
        let mut state = FaultState::new(Faults::default());
        state.server_errors(2);
        state.drops(1);
        let seen: Vec<RequestFault> = (0..4).map(|_| state.on_request()).collect();
        assert_eq!(
            seen,
            [RequestFault::Drop, RequestFault::ServerError, RequestFault::ServerError, RequestFault::None]
        );
    }

    #[test]
    fn rates_are_roughly_honoured_and_repeatable() {
        let faults = Faults { server_error_rate: 0.25, ..Faults::default() };
        let run = || {
            let mut state = FaultState::new(faults.clone());
            (0..4000).map(|_| state.on_request()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run(), "same seed, same faults");
        let errors = first.iter().filter(|f| **f == RequestFault::ServerError).count();
        assert!((800..1200).contains(&errors), "{errors} of 4000 at 25%");
        let mut always =
            FaultState::new(Faults { failed_operation_rate: 1.0, slow_operation_rate: 1.0, ..Faults::default() });
        assert_eq!(always.on_operation(), OperationFault { fail: true, slowdown: 10 });
    }
}
