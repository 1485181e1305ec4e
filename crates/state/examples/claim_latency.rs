//! What the Blob state adds to each action, against SQLite: `cargo run --release -p autostop-state --example
//! claim_latency [ACTIONS]` starts Azurite (installed by `.ci/setup`) on a loopback port with HTTPS and
//! `--oauth basic`, then for each backend performs ACTIONS (default 200) actions' worth of state changes one after
//! another, as the engine does for one target: take the claim, mark it sent, mark it accepted with its event.
//! Prints the median, 95th percentile and mean per action in milliseconds (see `bench/README.md`).

#[path = "../tests/common/azurite.rs"]
mod azurite;
#[path = "../../../tests/testenv.rs"]
mod testenv;

use std::sync::Arc;
use std::time::{Duration, Instant};

use autostop_state::{
    BlobAddress, BlobStore, ClaimKey, ClaimOutcome, ClaimStatus, Event, EventKind, NewClaim, NewRun, Owner,
    SqliteStore, StateStore, Transition,
};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use jiff::Timestamp;

/// Tokens Azurite's `--oauth basic` accepts (see `azurite::storage_token`).
#[derive(Debug)]
struct LocalToken;

#[async_trait::async_trait]
impl TokenCredential for LocalToken {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        let expires = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(AccessToken::new(azurite::storage_token(Timestamp::now().as_second(), 3600), expires))
    }
}

/// One action's state changes; returns how long they took.
async fn one_action(store: &dyn StateStore, run: &autostop_state::RunId, i: usize) -> Result<Duration, String> {
    let now = Timestamp::now();
    let key = ClaimKey {
        rule: "bench".to_owned(),
        occurrence: "2026-03-02T20:00:00+00:00[UTC]".parse().map_err(|err| format!("{err}"))?,
        target_id: format!("/subscriptions/s/resourceGroups/rg/providers/x/computes/inst-{i:05}"),
    };
    let started = Instant::now();
    let claim = NewClaim {
        key: key.clone(),
        target_name: format!("inst-{i:05}"),
        action: "stop".into(),
        run: run.clone(),
        at: now,
    };
    if store.claim(&claim).await.map_err(|err| err.to_string())? != ClaimOutcome::Won {
        return Err(format!("claim {i} was not won"));
    }
    let sent = Transition { key: &key, from: &[ClaimStatus::Claimed], to: ClaimStatus::Sent, at: now, event: None };
    store.transition(&sent).await.map_err(|err| err.to_string())?;
    let event = Event {
        run: Some(run.clone()),
        target_id: Some(key.target_id.clone()),
        ..Event::new(now, EventKind::Accepted)
    };
    let accepted =
        Transition { key: &key, from: &[ClaimStatus::Sent], to: ClaimStatus::Accepted, at: now, event: Some(&event) };
    store.transition(&accepted).await.map_err(|err| err.to_string())?;
    Ok(started.elapsed())
}

/// Runs `actions` actions on `store` and prints their latency.
async fn measure(name: &str, store: &dyn StateStore, actions: usize) -> Result<(), String> {
    let owner = Owner::this_process();
    let run = store
        .begin_run(&NewRun { started: Timestamp::now(), window_after: None, window_until: None, owner })
        .await
        .map_err(|err| err.to_string())?;
    let mut times = Vec::with_capacity(actions);
    for i in 0..actions {
        times.push(one_action(store, &run, i).await?);
    }
    times.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|time| ms(*time)).sum::<f64>() / times.len().max(1) as f64;
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    println!(
        "{name:<28} {actions:>6} actions   median {:>7.2} ms   p95 {:>7.2} ms   mean {:>7.2} ms",
        ms(times[times.len() / 2]),
        ms(p95),
        mean
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let actions: usize = match std::env::args().nth(1) {
        Some(text) => text.parse().map_err(|_| format!("ACTIONS: expected a positive number, found {text:?}"))?,
        None => 200,
    };
    if actions == 0 {
        return Err("ACTIONS: expected a positive number, found 0".into());
    }
    let dir = tempfile_dir()?;
    let sqlite = SqliteStore::open(&dir.join("audit.db")).map_err(|err| err.to_string())?;
    measure("sqlite (local file)", &sqlite, actions).await?;

    let azurite = azurite::Azurite::start(&dir.join("azurite"));
    let address = BlobAddress::parse(&azurite.url("bench", "")).map_err(|err| err.to_string())?;
    let client = autostop_azure::http_client(Some(&azurite.ca_pem)).map_err(|err| err.to_string())?;
    let credential: Arc<dyn TokenCredential> = Arc::new(LocalToken);
    let blob = BlobStore::open(&address, Some(credential), autostop_azure::client_options(client))
        .map_err(|err| err.to_string())?;
    measure("blob (Azurite, loopback)", &blob, actions).await?;
    Ok(())
}

/// A fresh directory under Cargo's target directory.
fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/claim-latency");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|err| format!("cannot clear {}: {err}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    Ok(dir)
}
