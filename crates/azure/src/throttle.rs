//! A client-side mirror of ARM's per-subscription token buckets, so autostop stays inside the budget instead of
//! bouncing off 429s (pure: no clock, no I/O; `now` is passed in).
//!
//! ARM gives each subscription a bucket of reads and one of writes (defaults: reads 250 burst refilled at 25 per
//! second, writes 200 burst at 10 per second). [`Throttle::acquire`] reserves one request and says how long to wait
//! before sending it; the `x-ms-ratelimit-remaining-subscription-*` headers and 429 answers bring the mirror back
//! in line with what ARM counts (other clients share the same budget).
//!
//! The mirror cannot know when ARM's buckets started counting: ARM fills and refills its bucket from the moment the
//! first request *arrives*, the mirror from the moment that request is *reserved*, and requests do not all take
//! the same time to get there (queueing for a connection, the network, the server's own load). A request that
//! travels faster than the first one did finds ARM's bucket up to that difference behind the mirror's, and a
//! mirror that spends its budget to the last token then gets 429s. So the mirror counts no refill until ARM has
//! answered a request of the bucket (by then ARM's bucket exists and refills), and keeps a
//! [`ThrottleOptions::headroom`]: once a bucket is spent, each request goes that much later than the bare refill
//! rate allows. That delays the tail of a throttled job by one round trip and the headroom, once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Whether a request spends the read or the write budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Budget {
    /// GET (lists, reads, operation polls).
    Read,
    /// POST, PUT, PATCH, DELETE.
    Write,
}

impl Budget {
    /// The header in which ARM reports what is left of this budget.
    pub fn remaining_header(self) -> &'static str {
        match self {
            Budget::Read => "x-ms-ratelimit-remaining-subscription-reads",
            Budget::Write => "x-ms-ratelimit-remaining-subscription-writes",
        }
    }
}

/// The size and refill rate of one bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BucketSize {
    /// How many requests may go at once.
    pub burst: f64,
    /// How many requests come back per second.
    pub per_second: f64,
}

/// The buckets of every subscription.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ThrottleOptions {
    /// The read bucket (default 250 burst, 25 per second).
    pub reads: BucketSize,
    /// The write bucket (default 200 burst, 10 per second).
    pub writes: BucketSize,
    /// How much later than the bare refill rate a request goes once a bucket is spent: the difference in travel
    /// time between requests that the mirror tolerates (default [`DEFAULT_HEADROOM`]).
    pub headroom: Duration,
}

/// The default [`ThrottleOptions::headroom`]: more than the spread of request times measured against the
/// emulator on a loaded 2-core machine, and a small part of a second at ARM's latencies.
pub const DEFAULT_HEADROOM: Duration = Duration::from_millis(100);

impl Default for ThrottleOptions {
    fn default() -> Self {
        ThrottleOptions {
            reads: BucketSize { burst: 250.0, per_second: 25.0 },
            writes: BucketSize { burst: 200.0, per_second: 10.0 },
            headroom: DEFAULT_HEADROOM,
        }
    }
}

/// One token bucket. Tokens may go negative: that is the queue of reservations waiting for refill.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    size: BucketSize,
    /// Whether ARM has answered a request of this bucket yet. Until then its bucket may not exist (it is made
    /// when the first request arrives), so the mirror counts no refill: it refills from the first answer, by
    /// which time ARM's bucket surely refills too.
    answered: bool,
    /// Tokens a request leaves unspent once the bucket is spent: the headroom times the refill rate.
    reserve: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(size: BucketSize, headroom: Duration, now: Instant) -> Self {
        let reserve = headroom.as_secs_f64() * size.per_second;
        Bucket { size, answered: false, reserve, tokens: size.burst, at: now }
    }

    fn refill(&mut self, now: Instant) {
        if self.answered {
            let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.size.per_second).min(self.size.burst);
        }
        self.at = self.at.max(now);
    }

    /// How long until a reservation just made may go: until the balance is back to zero, plus the headroom once
    /// the burst is spent (a request from the burst itself goes at once while the balance stays above the reserve).
    fn wait(&self) -> Duration {
        let short = if self.tokens >= self.reserve { 0.0 } else { self.reserve - self.tokens };
        if short <= 0.0 || self.size.per_second <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(short / self.size.per_second)
        }
    }
}

/// The buckets of all subscriptions seen so far.
#[derive(Clone, Debug)]
pub struct Throttle {
    options: ThrottleOptions,
    buckets: HashMap<(String, Budget), Bucket>,
}

impl Throttle {
    /// Full buckets of these sizes for every subscription.
    pub fn new(options: ThrottleOptions) -> Self {
        Throttle { options, buckets: HashMap::new() }
    }

    fn bucket(&mut self, subscription: &str, budget: Budget, now: Instant) -> &mut Bucket {
        let size = match budget {
            Budget::Read => self.options.reads,
            Budget::Write => self.options.writes,
        };
        let headroom = self.options.headroom;
        let bucket = self
            .buckets
            .entry((subscription.to_ascii_lowercase(), budget))
            .or_insert_with(|| Bucket::new(size, headroom, now));
        bucket.refill(now);
        bucket
    }

    /// Reserves one request of `budget` in `subscription` at `now`; returns how long to wait before sending it.
    pub fn acquire(&mut self, subscription: &str, budget: Budget, now: Instant) -> Duration {
        let bucket = self.bucket(subscription, budget, now);
        bucket.tokens -= 1.0;
        bucket.wait()
    }

    /// ARM answered a request of this budget: from now on its bucket refills, and so does the mirror's.
    pub fn observe_answered(&mut self, subscription: &str, budget: Budget, now: Instant) {
        self.bucket(subscription, budget, now).answered = true;
    }

    /// ARM said `remaining` requests are left in this budget: never believe in more than that.
    pub fn observe_remaining(&mut self, subscription: &str, budget: Budget, remaining: u64, now: Instant) {
        let bucket = self.bucket(subscription, budget, now);
        bucket.answered = true;
        bucket.tokens = bucket.tokens.min(remaining as f64);
    }

    /// ARM answered 429 with `retry_after`: empty the bucket so that the next request goes after `retry_after`
    /// and the ones after it at the refill rate.
    pub fn observe_throttled(&mut self, subscription: &str, budget: Budget, retry_after: Duration, now: Instant) {
        let bucket = self.bucket(subscription, budget, now);
        bucket.answered = true;
        // ARM's own word on when the next token is there: no headroom on top of it.
        let debt = 1.0 + bucket.reserve - retry_after.as_secs_f64() * bucket.size.per_second;
        bucket.tokens = bucket.tokens.min(debt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ThrottleOptions {
        ThrottleOptions {
            reads: BucketSize { burst: 3.0, per_second: 1.0 },
            writes: BucketSize { burst: 2.0, per_second: 0.5 },
            headroom: Duration::ZERO,
        }
    }

    #[test]
    fn the_burst_goes_at_once_then_requests_are_spaced_by_the_refill_rate() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(small());
        let waits: Vec<Duration> = (0..5).map(|_| throttle.acquire("sub", Budget::Read, t0)).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2].map(Duration::from_secs));
        throttle.observe_answered("sub", Budget::Read, t0);
        // Two seconds later two tokens came back, both already promised to the queued requests.
        assert_eq!(throttle.acquire("sub", Budget::Read, t0 + Duration::from_secs(2)), Duration::from_secs(1));
    }

    #[test]
    fn once_spent_requests_go_one_headroom_later_than_the_refill_rate() {
        let t0 = Instant::now();
        let options = ThrottleOptions { headroom: Duration::from_millis(500), ..small() };
        let mut throttle = Throttle::new(options);
        // Reads: 3 burst, 1 per second, so a reserve of half a token.
        let waits: Vec<Duration> = (0..5).map(|_| throttle.acquire("sub", Budget::Read, t0)).collect();
        let ms = |n: u64| Duration::from_millis(n);
        assert_eq!(waits, [ms(0), ms(0), ms(500), ms(1500), ms(2500)]);
        // An idle bucket is full again: the burst goes at once up to the reserve.
        throttle.observe_answered("sub", Budget::Read, t0);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(throttle.acquire("sub", Budget::Read, later), Duration::ZERO);
    }

    #[test]
    fn nothing_refills_before_arm_has_answered() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(small());
        for _ in 0..3 {
            throttle.acquire("sub", Budget::Read, t0);
        }
        // Two seconds on, but no answer yet: ARM's bucket may have started only now, so no token came back.
        let t2 = t0 + Duration::from_secs(2);
        assert_eq!(throttle.acquire("sub", Budget::Read, t2), Duration::from_secs(1));
        throttle.observe_answered("sub", Budget::Read, t2);
        // From the answer on it refills: one second later the queued request's token is there, and one more.
        let t3 = t2 + Duration::from_secs(2);
        assert_eq!(throttle.acquire("sub", Budget::Read, t3), Duration::ZERO);
    }

    #[test]
    fn the_bucket_refills_up_to_its_burst_only() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(small());
        for _ in 0..3 {
            throttle.acquire("sub", Budget::Read, t0);
        }
        throttle.observe_answered("sub", Budget::Read, t0);
        let later = t0 + Duration::from_secs(3600);
        let waits: Vec<Duration> = (0..4).map(|_| throttle.acquire("sub", Budget::Read, later)).collect();
        assert_eq!(waits, [0, 0, 0, 1].map(Duration::from_secs));
    }

    #[test]
    fn reads_writes_and_subscriptions_have_separate_buckets() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(small());
        for _ in 0..3 {
            assert_eq!(throttle.acquire("a", Budget::Read, t0), Duration::ZERO);
        }
        assert_eq!(throttle.acquire("A", Budget::Read, t0), Duration::from_secs(1), "subscription ids ignore case");
        assert_eq!(throttle.acquire("b", Budget::Read, t0), Duration::ZERO);
        assert_eq!(throttle.acquire("a", Budget::Write, t0), Duration::ZERO);
        assert_eq!(throttle.acquire("a", Budget::Write, t0), Duration::ZERO);
        assert_eq!(throttle.acquire("a", Budget::Write, t0), Duration::from_secs(2));
    }

    #[test]
    fn remaining_headers_lower_the_balance_but_never_raise_it() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(small());
        throttle.observe_remaining("sub", Budget::Read, 11_998, t0);
        assert_eq!(throttle.acquire("sub", Budget::Read, t0), Duration::ZERO);
        throttle.observe_remaining("sub", Budget::Read, 0, t0);
        assert_eq!(throttle.acquire("sub", Budget::Read, t0), Duration::from_secs(1));
    }

    #[test]
    fn a_429_holds_everything_until_retry_after() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(ThrottleOptions::default());
        throttle.observe_throttled("sub", Budget::Write, Duration::from_secs(4), t0);
        // Retry-After is ARM's own count, so no headroom on top of it; then the refill rate (0.1 s apart).
        assert_eq!(throttle.acquire("sub", Budget::Write, t0), Duration::from_secs(4));
        assert_eq!(throttle.acquire("sub", Budget::Write, t0), Duration::from_secs_f64(4.1));
        assert_eq!(throttle.acquire("sub", Budget::Read, t0), Duration::ZERO, "reads are not held");
        let after = t0 + Duration::from_secs(5);
        assert_eq!(throttle.acquire("sub", Budget::Write, after), Duration::ZERO);
    }

    #[test]
    fn defaults_mirror_arm() {
        let options = ThrottleOptions::default();
        assert_eq!(options.reads, BucketSize { burst: 250.0, per_second: 25.0 });
        assert_eq!(options.writes, BucketSize { burst: 200.0, per_second: 10.0 });
        assert_eq!(options.headroom, DEFAULT_HEADROOM);
        assert_eq!(Budget::Write.remaining_header(), "x-ms-ratelimit-remaining-subscription-writes");
    }
}
