//! The leader lease of `autostop serve --ha`: a Blob lease (`x-ms-lease-action: acquire|renew|release`, the
//! holder named by `x-ms-lease-id`) on one well-known blob, `leader` under the state's prefix. The service lets
//! one lease be active on a blob at a time and ends it by itself when its holder stops renewing it, which is
//! what elects one leader among replicas sharing a Blob state. The holder writes who it is (host, pid, listen
//! address) into the blob, under its lease, so that the others can say whom they follow.
//!
//! This module only talks to the service: when to renew, when to give up and what a replica then does is the
//! election's business (`crate::election`). The lease is not what keeps actions from being
//! done twice: the claims are (`docs/adr/0007-blob-state.md`).

use std::sync::Arc;
use std::time::Duration;

use azure_core::http::{RequestContent, StatusCode};
use azure_storage_blob::models::{
    BlobClientAcquireLeaseOptions, BlobClientAcquireLeaseResultHeaders as _, BlockBlobClientUploadOptions,
};
use serde::{Deserialize, Serialize};

use crate::blob::container::{Condition, Container};
use crate::error::Error;

/// How long a lease lasts without renewal: Blob Storage accepts 15 to 60 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseDuration(Duration);

/// A lease duration Blob Storage does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lease duration {found:?}: expected whole seconds from 15s to 60s (what Blob Storage accepts)")]
pub struct LeaseDurationError {
    /// The duration asked for.
    pub found: Duration,
}

impl LeaseDuration {
    /// The shortest lease Blob Storage grants.
    pub const MIN: LeaseDuration = LeaseDuration(Duration::from_secs(15));
    /// The longest finite lease Blob Storage grants, and the default.
    pub const MAX: LeaseDuration = LeaseDuration(Duration::from_secs(60));

    /// A duration of whole seconds from 15 s to 60 s.
    pub fn new(duration: Duration) -> Result<LeaseDuration, LeaseDurationError> {
        if duration.subsec_nanos() != 0 || duration < Self::MIN.0 || duration > Self::MAX.0 {
            return Err(LeaseDurationError { found: duration });
        }
        Ok(LeaseDuration(duration))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    fn seconds(self) -> i32 {
        i32::try_from(self.0.as_secs()).unwrap_or(60)
    }
}

impl Default for LeaseDuration {
    fn default() -> Self {
        LeaseDuration::MAX
    }
}

/// Who holds the lease, as the holder wrote it into the lease blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderIdentity {
    /// The leader's host name.
    pub host: String,
    /// Its process id on that host.
    pub pid: u32,
    /// Where it serves `/healthz`, `/metrics` and the status page.
    pub listen: String,
}

/// The id of a lease this process holds (`x-ms-lease-id`). Not a secret: it lets its holder renew and release,
/// and only a writer of the container can use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseId(String);

impl From<String> for LeaseId {
    fn from(id: String) -> LeaseId {
        LeaseId(id)
    }
}

/// What an acquisition gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The lease is ours, for a lease duration from when the request was sent.
    Leading(LeaseId),
    /// Another process holds it: whom it says it is (`None` while it has not written it yet, or if it cannot be
    /// read).
    HeldBy(Option<LeaderIdentity>),
}

/// What a renewal gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewed {
    /// Still ours, for a lease duration from when the request was sent.
    Held,
    /// No longer ours (it expired and was taken, or was broken): what the service said (status and error code).
    Lost(String),
}

/// The leader lease on a Blob state.
#[derive(Debug, Clone)]
pub struct LeaderLease {
    container: Arc<Container>,
    blob: String,
    duration: LeaseDuration,
}

impl LeaderLease {
    pub(crate) fn new(container: Arc<Container>, blob: String, duration: LeaseDuration) -> LeaderLease {
        LeaderLease { container, blob, duration }
    }

    /// How long the lease lasts without renewal.
    pub fn duration(&self) -> LeaseDuration {
        self.duration
    }

    /// Tries to take the lease (creating its blob first if needed) and, when it is ours, writes `me` into it.
    /// An error means the service could not be asked or refused for another reason: the lease is not ours.
    pub async fn acquire(&self, me: &LeaderIdentity) -> Result<Acquired, Error> {
        const OPERATION: &str = "acquire the leader lease";
        let blob = self.container.blob_client(&self.blob);
        let proposed = uuid::Uuid::new_v4().to_string();
        let mut created = false;
        let response = loop {
            let options =
                BlobClientAcquireLeaseOptions { proposed_lease_id: Some(proposed.clone()), ..Default::default() };
            match blob.acquire_lease(self.duration.seconds(), Some(options)).await {
                Ok(response) => break response,
                Err(err) if err.http_status() == Some(StatusCode::Conflict) => {
                    return Ok(Acquired::HeldBy(self.holder().await?));
                }
                // The first replica ever: the blob (and maybe the container) to lease does not exist yet. A
                // creation that finds it already there lost a race that is fine to lose.
                Err(err) if err.http_status() == Some(StatusCode::NotFound) && !created => {
                    self.container.put(&self.blob, Vec::new(), Condition::Absent, OPERATION).await?;
                    created = true;
                }
                Err(err) => return Err(self.container.failed(OPERATION, &err)),
            }
        };
        let id = LeaseId(response.lease_id().ok().flatten().unwrap_or(proposed));
        let identity = serde_json::to_vec(me).unwrap_or_default();
        let options = BlockBlobClientUploadOptions {
            blob_content_type: Some("application/json".to_owned()),
            lease_id: Some(id.0.clone()),
            ..Default::default()
        };
        if let Err(err) = blob.upload(RequestContent::from(identity), Some(options)).await {
            let error = self.container.failed("write the leader's identity into its lease blob", &err);
            // Not leading without saying so: give the lease back (if that fails too, it expires by itself).
            let _ = self.release(&id).await;
            return Err(error);
        }
        Ok(Acquired::Leading(id))
    }

    /// Renews a lease this process holds.
    pub async fn renew(&self, lease: &LeaseId) -> Result<Renewed, Error> {
        match self.container.blob_client(&self.blob).renew_lease(lease.0.clone(), None).await {
            Ok(_) => Ok(Renewed::Held),
            Err(err) if is_not_ours(&err) => Ok(Renewed::Lost(self.container.describe(&err))),
            Err(err) => Err(self.container.failed("renew the leader lease", &err)),
        }
    }

    /// Gives the lease back at once, so that another replica can take it without waiting for it to expire. A
    /// lease that is no longer ours is already given back.
    pub async fn release(&self, lease: &LeaseId) -> Result<(), Error> {
        match self.container.blob_client(&self.blob).release_lease(lease.0.clone(), None).await {
            Ok(_) => Ok(()),
            Err(err) if is_not_ours(&err) => Ok(()),
            Err(err) => Err(self.container.failed("release the leader lease", &err)),
        }
    }

    /// Who the lease blob says holds the lease (`None`: nothing readable written yet).
    pub async fn holder(&self) -> Result<Option<LeaderIdentity>, Error> {
        let found = self.container.get(&self.blob, "read who holds the leader lease").await?;
        Ok(found.and_then(|(bytes, _)| serde_json::from_slice(&bytes).ok()))
    }
}

/// Whether a lease call failed because the lease is not (or no longer) ours: 409
/// (`LeaseIdMismatchWithLeaseOperation`, `LeaseNotPresentWithLeaseOperation`...) or 412 (`LeaseLost`).
fn is_not_ours(err: &azure_core::Error) -> bool {
    matches!(err.http_status(), Some(StatusCode::Conflict | StatusCode::PreconditionFailed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_lasts_whole_seconds_from_15_to_60() {
        assert_eq!(LeaseDuration::new(Duration::from_secs(15)).map(LeaseDuration::get), Ok(Duration::from_secs(15)));
        assert_eq!(LeaseDuration::new(Duration::from_secs(60)).map(LeaseDuration::seconds), Ok(60));
        assert_eq!(LeaseDuration::default(), LeaseDuration::MAX);
        for bad in [Duration::from_secs(14), Duration::from_secs(61), Duration::from_millis(20_500), Duration::ZERO] {
            let err = LeaseDuration::new(bad).expect_err("out of range");
            assert!(err.to_string().contains("expected whole seconds from 15s to 60s"), "{err}");
        }
    }

    #[test]
    fn the_identity_is_camel_case_json() {
        let me = LeaderIdentity { host: "node-1".to_owned(), pid: 42, listen: "10.0.0.4:9464".to_owned() };
        let text = serde_json::to_string(&me).expect("serialises");
        assert_eq!(text, r#"{"host":"node-1","pid":42,"listen":"10.0.0.4:9464"}"#);
        assert_eq!(serde_json::from_str::<LeaderIdentity>(&text).expect("parses"), me);
    }
}
