//! The emulator's clock: emulated time since start, running `time_scale` times faster than real time.
//!
//! Transitions and operations are measured on this clock, so a benchmark can run a 2-minute stop in 2 seconds.

use std::time::{Duration, Instant};

/// Emulated time since the emulator started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Instant,
    scale: f64,
}

impl Clock {
    /// A clock starting now; `scale` below or equal to zero, or not finite, counts as 1.
    pub fn new(scale: f64) -> Clock {
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        Clock { origin: Instant::now(), scale }
    }

    /// Emulated time elapsed since start.
    pub fn now(&self) -> Duration {
        self.origin.elapsed().mul_f64(self.scale)
    }

    /// The real duration that lasts `emulated` on this clock.
    pub fn real(&self, emulated: Duration) -> Duration {
        emulated.div_f64(self.scale)
    }
}

/// The wall clock, as ARM prints times: `2024-07-24T08:42:28.3934092+00:00`.
pub(crate) fn arm_timestamp(at: jiff::Timestamp) -> String {
    format!("{}.{:07}+00:00", at.strftime("%Y-%m-%dT%H:%M:%S"), at.subsec_nanosecond() / 100)
}

/// The wall clock now, in unix seconds.
pub(crate) fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_converts_emulated_to_real() {
        let clock = Clock::new(60.0);
        assert_eq!(clock.real(Duration::from_secs(120)), Duration::from_secs(2));
        assert_eq!(Clock::new(0.0).real(Duration::from_secs(3)), Duration::from_secs(3));
        assert_eq!(Clock::new(f64::NAN).real(Duration::from_secs(3)), Duration::from_secs(3));
    }

    #[test]
    fn timestamps_look_like_arm() {
        let at: jiff::Timestamp = "2024-07-24T08:42:28.3934092Z".parse().expect("timestamp");
        assert_eq!(arm_timestamp(at), "2024-07-24T08:42:28.3934092+00:00");
    }
}
