//! ARM throttling as ARM does it: a token bucket per subscription for reads and another for writes, answered 429
//! with `Retry-After` when empty, and the remaining budget sent in `x-ms-ratelimit-remaining-subscription-*`.
//!
//! Pure: `now` (emulated time since start) is passed in; no clock is read here.

use std::collections::HashMap;
use std::time::Duration;

/// Bucket sizes and refill rates. `Default` is ARM's: reads 250 burst, 25/s; writes 200 burst, 10/s.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleOptions {
    /// Read bucket capacity.
    pub read_burst: u32,
    /// Read tokens added per second.
    pub read_refill_per_second: f64,
    /// Write bucket capacity.
    pub write_burst: u32,
    /// Write tokens added per second.
    pub write_refill_per_second: f64,
}

impl Default for ThrottleOptions {
    fn default() -> ThrottleOptions {
        ThrottleOptions {
            read_burst: 250,
            read_refill_per_second: 25.0,
            write_burst: 200,
            write_refill_per_second: 10.0,
        }
    }
}

/// Which budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Budget {
    /// GETs.
    Read,
    /// POSTs (start, stop, restart).
    Write,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Admission {
    /// Served; this many whole tokens are left.
    Allowed {
        /// Whole tokens left in the bucket.
        remaining: u64,
    },
    /// Refused; a token will be available after this (emulated) wait.
    Throttled {
        /// Time until the next token.
        retry_after: Duration,
    },
}

/// One token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    capacity: f64,
    refill_per_second: f64,
    tokens: f64,
    updated: Duration,
}

impl Bucket {
    fn full(capacity: u32, refill_per_second: f64, now: Duration) -> Bucket {
        let capacity = f64::from(capacity.max(1));
        Bucket { capacity, refill_per_second: refill_per_second.max(0.0), tokens: capacity, updated: now }
    }

    fn take(&mut self, now: Duration) -> Admission {
        let elapsed = now.saturating_sub(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.refill_per_second).min(self.capacity);
        self.updated = self.updated.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Admission::Allowed { remaining: self.tokens.floor() as u64 };
        }
        let retry_after = if self.refill_per_second > 0.0 {
            Duration::from_secs_f64((1.0 - self.tokens) / self.refill_per_second)
        } else {
            Duration::from_secs(3600)
        };
        Admission::Throttled { retry_after }
    }
}

/// All buckets of a run, created full on first use.
#[derive(Debug)]
pub(crate) struct Throttle {
    options: ThrottleOptions,
    buckets: HashMap<(String, Budget), Bucket>,
}

impl Throttle {
    /// Buckets sized by `options`.
    pub fn new(options: ThrottleOptions) -> Throttle {
        Throttle { options, buckets: HashMap::new() }
    }

    /// Spends one token of `subscription`'s `budget` at `now`, if there is one.
    pub fn admit(&mut self, subscription: &str, budget: Budget, now: Duration) -> Admission {
        let options = self.options;
        self.buckets
            .entry((subscription.to_ascii_lowercase(), budget))
            .or_insert_with(|| match budget {
                Budget::Read => Bucket::full(options.read_burst, options.read_refill_per_second, now),
                Budget::Write => Bucket::full(options.write_burst, options.write_refill_per_second, now),
            })
            .take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: ThrottleOptions =
        ThrottleOptions { read_burst: 3, read_refill_per_second: 2.0, write_burst: 1, write_refill_per_second: 0.5 };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn burst_then_throttled_with_retry_after() {
        let mut t = Throttle::new(SMALL);
        let now = Duration::ZERO;
        assert_eq!(t.admit("s", Budget::Read, now), Admission::Allowed { remaining: 2 });
        assert_eq!(t.admit("s", Budget::Read, now), Admission::Allowed { remaining: 1 });
        assert_eq!(t.admit("s", Budget::Read, now), Admission::Allowed { remaining: 0 });
        assert_eq!(t.admit("s", Budget::Read, now), Admission::Throttled { retry_after: ms(500) });
    }

    #[test]
    fn refill_follows_elapsed_time_and_caps_at_burst() {
        let mut t = Throttle::new(SMALL);
        for _ in 0..3 {
            t.admit("s", Budget::Read, Duration::ZERO);
        }
        assert_eq!(t.admit("s", Budget::Read, ms(500)), Admission::Allowed { remaining: 0 });
        assert!(matches!(t.admit("s", Budget::Read, ms(500)), Admission::Throttled { .. }));
        assert_eq!(t.admit("s", Budget::Read, Duration::from_secs(100)), Admission::Allowed { remaining: 2 });
    }

    #[test]
    fn buckets_are_per_subscription_and_budget() {
        let mut t = Throttle::new(SMALL);
        assert_eq!(t.admit("s1", Budget::Write, Duration::ZERO), Admission::Allowed { remaining: 0 });
        assert_eq!(t.admit("S1", Budget::Write, Duration::ZERO), Admission::Throttled { retry_after: ms(2000) });
        assert_eq!(t.admit("s2", Budget::Write, Duration::ZERO), Admission::Allowed { remaining: 0 });
        assert_eq!(t.admit("s1", Budget::Read, Duration::ZERO), Admission::Allowed { remaining: 2 });
    }

    #[test]
    fn defaults_are_arms() {
        let mut t = Throttle::new(ThrottleOptions::default());
        let granted =
            (0..300).filter(|_| matches!(t.admit("s", Budget::Read, Duration::ZERO), Admission::Allowed { .. }));
        assert_eq!(granted.count(), 250);
        let writes =
            (0..300).filter(|_| matches!(t.admit("s", Budget::Write, Duration::ZERO), Admission::Allowed { .. }));
        assert_eq!(writes.count(), 200);
        assert_eq!(t.admit("s", Budget::Read, Duration::from_secs(1)), Admission::Allowed { remaining: 24 });
    }
}
