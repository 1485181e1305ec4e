//! How an emulator run is set up: fleet, address, paging, timings and the credentials it accepts.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::compute_limits::ComputeLimits;
use crate::faults::Faults;
use crate::fleet::Fleet;
use crate::throttle::ThrottleOptions;

/// Settings of one emulator run. `Default` gives 127.0.0.1:0, the sample fleet, pages of 50, 2-second transitions,
/// 1-hour tokens, fresh random tenant / client / secret / identity-header values, a CA in a fresh temp dir, no
/// throttling, no latency, no faults and real time (`time_scale` 1).
#[derive(Clone)]
pub struct Options {
    /// What the emulator serves.
    pub fleet: Fleet,
    /// Where to listen (port 0: any free port; the bound URL is [`crate::Emulator::base_url`]).
    pub bind: SocketAddr,
    /// Items per page of list responses (at least 1); lists longer than this carry a `nextLink`.
    pub page_size: usize,
    /// How long Starting / Stopping / Restarting last, and so the operation.
    pub transition: Duration,
    /// The one tenant the token endpoint knows.
    pub tenant_id: String,
    /// The one client (service principal) id the token endpoint knows.
    pub client_id: String,
    /// That client's secret.
    pub client_secret: String,
    /// The App Service managed identity secret (`IDENTITY_HEADER`, sent back as `X-IDENTITY-HEADER`).
    pub identity_header: String,
    /// Where to write `ca.pem`; a fresh temp dir (removed on shutdown) when `None`.
    pub ca_dir: Option<PathBuf>,
    /// Lifetime of issued access tokens.
    pub token_lifetime: Duration,
    /// ARM throttling (per-subscription token buckets); `None` serves every request. When on, the Compute RP's
    /// policies ([`Options::compute_limits`]) are enforced too (429 + `Retry-After`); they are counted and reported
    /// in `x-ms-ratelimit-remaining-resource` either way.
    pub throttle: Option<ThrottleOptions>,
    /// The Compute RP's own policies (requests per resource per 3 minutes, per subscription per 30 minutes).
    pub compute_limits: ComputeLimits,
    /// Real time added to every request (except the `/_emulator/` management path).
    pub latency: Duration,
    /// Faults to inject.
    pub faults: Faults,
    /// How much faster than real time the emulated clock runs (transitions, bucket refill); e.g. 60 makes a
    /// 2-minute transition take 2 real seconds. Values that are not finite and positive count as 1.
    pub time_scale: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            fleet: Fleet::sample(),
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            page_size: 50,
            transition: Duration::from_secs(2),
            tenant_id: uuid::Uuid::new_v4().to_string(),
            client_id: uuid::Uuid::new_v4().to_string(),
            client_secret: format!("emu~{}", uuid::Uuid::new_v4().simple()),
            identity_header: uuid::Uuid::new_v4().simple().to_string(),
            ca_dir: None,
            token_lifetime: Duration::from_secs(3600),
            throttle: None,
            compute_limits: ComputeLimits::default(),
            latency: Duration::ZERO,
            faults: Faults::default(),
            time_scale: 1.0,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("bind", &self.bind)
            .field("page_size", &self.page_size)
            .field("transition", &self.transition)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("identity_header", &"<redacted>")
            .field("ca_dir", &self.ca_dir)
            .field("token_lifetime", &self.token_lifetime)
            .field("throttle", &self.throttle)
            .field("compute_limits", &self.compute_limits)
            .field("latency", &self.latency)
            .field("faults", &self.faults)
            .field("time_scale", &self.time_scale)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let options = Options::default();
        let text = format!("{options:?}");
        assert!(!text.contains(&options.client_secret), "{text}");
        assert!(!text.contains(&options.identity_header), "{text}");
        assert!(text.contains(&options.client_id));
    }
}
