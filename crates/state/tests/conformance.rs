//! One suite for the [`StateStore`] trait, run on every backend: an SQLite file, and a Blob container on a real
//! Azurite (HTTPS, bearer tokens). Each case states a guarantee of the trait's documentation; a backend passes
//! only if it keeps all of them. "Processes" are separate store instances on the same state. Also the Blob
//! state's leader lease (`serve --ha`), which only that backend has.

mod common;

#[path = "common/azurite.rs"]
mod azurite;
#[path = "../../../tests/testenv.rs"]
mod testenv;

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use autostop_state::{
    Acquired, BlobAddress, BlobStore, CachedPrice, ClaimKey, ClaimOutcome, ClaimStatus, Event, EventKind, HistoryQuery,
    LeaderIdentity, LeaseDuration, NewClaim, NewRun, Owner, Pending, Postponement, Renewed, RunId, RunStatus,
    SqliteStore, StateStore, Transition,
};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use jiff::{Timestamp, Zoned};

/// The longest one case may take.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Opens one more handle on a state, as another process would.
type Opener = Arc<dyn Fn() -> Arc<dyn StateStore> + Send + Sync>;

fn ts(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

fn zoned(text: &str) -> Zoned {
    text.parse().expect("test zoned date-time")
}

fn sqlite(name: &str) -> Opener {
    let path = common::fresh_dir(&format!("conformance-{name}")).join("audit.db");
    Arc::new(move || Arc::new(SqliteStore::open(&path).expect("open the SQLite state")) as Arc<dyn StateStore>)
}

/// Tokens Azurite accepts (see `azurite::storage_token`).
#[derive(Debug)]
struct TestCredential;

#[async_trait::async_trait]
impl TokenCredential for TestCredential {
    async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        assert_eq!(scopes, ["https://storage.azure.com/.default"], "the Blob client asks for the storage scope");
        let now = Timestamp::now().as_second();
        let expires = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(AccessToken::new(azurite::storage_token(now, 3600), expires))
    }
}

/// One Azurite for the whole test binary (it dies with the process).
fn azurite() -> &'static azurite::Azurite {
    static AZURITE: OnceLock<azurite::Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| {
        azurite::Azurite::start(&std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance-azurite"))
    })
}

/// Opens the Blob state of the case `name` (a container of its own on the shared Azurite).
fn blob_store(name: &str) -> BlobStore {
    let azurite = azurite();
    let container = format!("c-{}", name.replace('_', "-"));
    let address = BlobAddress::parse(&azurite.url(&container[..container.len().min(63)], "state/a"))
        .expect("a valid Azurite URL");
    let client = autostop_azure::http_client(Some(&azurite.ca_pem)).expect("an HTTP client trusting Azurite's CA");
    let options = autostop_azure::client_options(client);
    let credential: Arc<dyn TokenCredential> = Arc::new(TestCredential);
    BlobStore::open(&address, Some(credential), options).expect("open the Blob state")
}

fn blob(name: &str) -> Opener {
    let name = name.to_owned();
    Arc::new(move || Arc::new(blob_store(&name)) as Arc<dyn StateStore>)
}

async fn bounded<F: Future<Output = ()>>(case: F) {
    tokio::time::timeout(CASE_TIMEOUT, case).await.expect("the case finishes in time");
}

fn key(target: &str) -> ClaimKey {
    ClaimKey {
        rule: "evening stop".to_owned(),
        occurrence: zoned("2026-03-02T20:00:00+09:00[Asia/Tokyo]"),
        target_id: format!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/computes/{target}"
        ),
    }
}

async fn begin(store: &dyn StateStore, at: &str) -> RunId {
    store
        .begin_run(&NewRun {
            started: ts(at),
            window_after: None,
            window_until: Some(ts(at)),
            owner: Owner::this_process(),
        })
        .await
        .expect("begin a run")
}

fn new_claim(key: &ClaimKey, run: &RunId, at: &str) -> NewClaim {
    NewClaim {
        key: key.clone(),
        target_name: "ci-1".to_owned(),
        action: "stop".to_owned(),
        run: run.clone(),
        at: ts(at),
    }
}

fn event(kind: EventKind, time: &str, target: &str) -> Event {
    let key = key(target);
    Event {
        rule: Some(key.rule),
        occurrence: Some(key.occurrence),
        target_id: Some(key.target_id),
        target_name: Some(target.to_owned()),
        action: Some("stop".to_owned()),
        ..Event::new(ts(time), kind)
    }
}

/// Of many concurrent claims on one key, from as many processes, exactly one wins; the others see its holder.
async fn claims_are_won_once(open: Opener) {
    let first = open();
    let key = key("ci-1");
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = open();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let run = begin(&*store, "2026-03-02T11:00:00Z").await;
            let outcome = store.claim(&new_claim(&key, &run, &format!("2026-03-02T11:00:0{i}Z"))).await.expect("claim");
            (run, outcome)
        }));
    }
    let mut winners = Vec::new();
    let mut held_by = Vec::new();
    for task in tasks {
        let (run, outcome) = task.await.expect("claim task");
        match outcome {
            ClaimOutcome::Won => winners.push(run),
            ClaimOutcome::Held(claim) => held_by.push(claim.run),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of 10 concurrent claims wins");
    assert!(held_by.iter().all(|run| *run == winners[0]), "the losers see the winner: {held_by:?} vs {winners:?}");
    let claims = first.claims_of(&key.rule, key.occurrence.timestamp()).await.expect("claims_of");
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].run, winners[0]);
    assert_eq!(claims[0].status, ClaimStatus::Claimed);
    // Target ids compare case-insensitively: the same claim.
    let upper = ClaimKey { target_id: key.target_id.to_uppercase(), ..key.clone() };
    let other = begin(&*first, "2026-03-02T11:01:00Z").await;
    assert!(matches!(
        first.claim(&new_claim(&upper, &other, "2026-03-02T11:01:00Z")).await.expect("claim"),
        ClaimOutcome::Held(_)
    ));
}

/// A transition moves a claim only from an expected status, once, with its event; a claim interrupted before
/// sending may be taken again, one sent may not.
async fn transitions_are_compare_and_set(open: Opener) {
    let store = open();
    let run = begin(&*store, "2026-03-02T11:00:00Z").await;
    let key = key("ci-1");
    assert_eq!(store.claim(&new_claim(&key, &run, "2026-03-02T11:00:00Z")).await.expect("claim"), ClaimOutcome::Won);
    let to_sent = Transition {
        key: &key,
        from: &[ClaimStatus::Claimed],
        to: ClaimStatus::Sent,
        at: ts("2026-03-02T11:00:01Z"),
        event: None,
    };
    assert!(store.transition(&to_sent).await.expect("move to sent"));
    assert!(!store.transition(&to_sent).await.expect("move again"), "a second move from claimed finds it sent");
    let accepted = Event { run: Some(run.clone()), ..event(EventKind::Accepted, "2026-03-02T11:00:02Z", "ci-1") };
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = open();
        let key = key.clone();
        let accepted = accepted.clone();
        tasks.push(tokio::spawn(async move {
            let transition = Transition {
                key: &key,
                from: &[ClaimStatus::Sent],
                to: ClaimStatus::Accepted,
                at: ts("2026-03-02T11:00:02Z"),
                event: Some(&accepted),
            };
            store.transition(&transition).await.expect("concurrent move")
        }));
    }
    let mut moved = 0;
    for task in tasks {
        moved += usize::from(task.await.expect("move task"));
    }
    assert_eq!(moved, 1, "exactly one of concurrent moves from sent happens");
    let history = store.history(&HistoryQuery::default()).await.expect("history");
    let events: Vec<Event> = history.into_iter().map(|record| record.event).collect();
    assert_eq!(events, vec![accepted], "the event of the one move that happened, once");
    let missing = key_for_missing();
    let absent = Transition {
        key: &missing,
        from: &ClaimStatus::ALL,
        to: ClaimStatus::Failed,
        at: ts("2026-03-02T11:00:03Z"),
        event: None,
    };
    assert!(!store.transition(&absent).await.expect("move a missing claim"));

    // Interrupted before sending: taken again by another run. Interrupted after sending: held.
    let quiet = self::key("ci-2");
    assert_eq!(store.claim(&new_claim(&quiet, &run, "2026-03-02T11:00:00Z")).await.expect("claim"), ClaimOutcome::Won);
    let interrupt = |key| Transition {
        key,
        from: &ClaimStatus::OPEN,
        to: ClaimStatus::Interrupted,
        at: ts("2026-03-02T11:00:04Z"),
        event: None,
    };
    assert!(store.transition(&interrupt(&quiet)).await.expect("interrupt"));
    assert!(store.transition(&interrupt(&key)).await.expect("interrupt a sent claim"));
    let later = begin(&*store, "2026-03-02T12:00:00Z").await;
    assert_eq!(
        store.claim(&new_claim(&quiet, &later, "2026-03-02T12:00:00Z")).await.expect("retake"),
        ClaimOutcome::Won
    );
    assert!(matches!(
        store.claim(&new_claim(&key, &later, "2026-03-02T12:00:00Z")).await.expect("claim sent"),
        ClaimOutcome::Held(_)
    ));
    let claims = store.claims_of(&key.rule, key.occurrence.timestamp()).await.expect("claims_of");
    let summary: Vec<(String, ClaimStatus, bool)> =
        claims.iter().map(|claim| (claim.target_name.clone(), claim.status, claim.run == later)).collect();
    assert_eq!(claims.len(), 2);
    assert_eq!(claims[0].status, ClaimStatus::Interrupted, "{summary:?}");
    assert!(claims[0].sent_at.is_some());
    assert_eq!((claims[1].status, claims[1].run.clone()), (ClaimStatus::Claimed, later), "{summary:?}");
}

fn key_for_missing() -> ClaimKey {
    ClaimKey { rule: "never claimed".to_owned(), ..key("nobody") }
}

/// Open claims are listed oldest first until their outcome is final, across processes.
async fn open_claims_until_final(open: Opener) {
    let store = open();
    let run = begin(&*store, "2026-03-02T11:00:00Z").await;
    for (target, at) in [("b", "2026-03-02T11:00:02Z"), ("a", "2026-03-02T11:00:01Z"), ("c", "2026-03-02T11:00:03Z")] {
        assert_eq!(store.claim(&new_claim(&key(target), &run, at)).await.expect("claim"), ClaimOutcome::Won);
    }
    let done = Transition {
        key: &key("b"),
        from: &ClaimStatus::OPEN,
        to: ClaimStatus::Succeeded,
        at: ts("2026-03-02T11:01:00Z"),
        event: None,
    };
    assert!(store.transition(&done).await.expect("finish b"));
    let other = open();
    for _ in 0..2 {
        let open_claims = other.open_claims().await.expect("open claims");
        let names: Vec<String> =
            open_claims.iter().map(|claim| claim.key.target_id.rsplit('/').next().unwrap_or("").to_owned()).collect();
        assert_eq!(names, ["a", "c"], "open claims, oldest first (listed twice: pruning changes nothing)");
    }
}

/// Every field of an event comes back; history filters by time and target and keeps the most recent `limit`.
async fn events_round_trip(open: Opener) {
    let store = open();
    let run = begin(&*store, "2026-03-02T11:00:00Z").await;
    let failed = Event {
        run: Some(run.clone()),
        reason: Some("because \"quoted\"\nand a new line".to_owned()),
        error_code: Some("OperationNotAllowed".to_owned()),
        error_message: Some("the compute is busy — ünïcode".to_owned()),
        ..event(EventKind::Failed, "2026-03-02T11:00:01.250Z", "ci-1")
    };
    let missed = Event {
        rule: Some("morning-start".to_owned()),
        occurrence: Some(zoned("2026-03-01T08:00:00+01:00[Europe/Berlin]")),
        reason: Some("older than the catch-up limit".to_owned()),
        ..Event::new(ts("2026-03-02T11:00:02Z"), EventKind::Missed)
    };
    let next_day = event(EventKind::Succeeded, "2026-03-03T09:00:00Z", "ci-2");
    let first = store.record(&failed).await.expect("record failure");
    let second = store.record(&missed).await.expect("record miss");
    let third = open().record(&next_day).await.expect("record from another process");
    assert!(first < second && second < third, "ids increase: {first} {second} {third}");
    let all = open().history(&HistoryQuery::default()).await.expect("history");
    assert_eq!(all.iter().map(|record| record.id).collect::<Vec<_>>(), [first, second, third]);
    assert_eq!(
        all.into_iter().map(|record| record.event).collect::<Vec<_>>(),
        [failed.clone(), missed.clone(), next_day.clone()]
    );
    let since = store
        .history(&HistoryQuery { since: Some(ts("2026-03-02T11:00:02Z")), ..Default::default() })
        .await
        .expect("since");
    assert_eq!(since.into_iter().map(|record| record.event).collect::<Vec<_>>(), [missed.clone(), next_day.clone()]);
    let target =
        store.history(&HistoryQuery { target: Some("CI-1".to_owned()), ..Default::default() }).await.expect("target");
    assert_eq!(target.into_iter().map(|record| record.event).collect::<Vec<_>>(), [failed]);
    let limited = store.history(&HistoryQuery { limit: Some(2), ..Default::default() }).await.expect("limit");
    assert_eq!(limited.into_iter().map(|record| record.event).collect::<Vec<_>>(), [missed, next_day]);
}

/// The window moves forward only, whoever moves it.
async fn window_never_moves_back(open: Opener) {
    let store = open();
    assert_eq!(store.last_evaluated("schedule").await.expect("read"), None);
    assert_eq!(
        store.advance_last_evaluated("schedule", ts("2026-03-02T11:00:00Z")).await.expect("advance"),
        ts("2026-03-02T11:00:00Z")
    );
    assert_eq!(
        open().advance_last_evaluated("schedule", ts("2026-03-02T10:00:00Z")).await.expect("back"),
        ts("2026-03-02T11:00:00Z")
    );
    let mut tasks = Vec::new();
    for minute in 10..20 {
        let store = open();
        tasks.push(tokio::spawn(async move {
            store.advance_last_evaluated("schedule", ts(&format!("2026-03-02T12:{minute}:00Z"))).await.expect("advance")
        }));
    }
    for task in tasks {
        task.await.expect("advance task");
    }
    assert_eq!(
        store.last_evaluated("schedule").await.expect("read"),
        Some(ts("2026-03-02T12:19:00Z")),
        "the latest wins"
    );
    assert_eq!(store.last_evaluated("other key").await.expect("read"), None, "keys are separate");
}

/// Pending occurrences keep their first `since`, take the latest cause, and go when cleared.
async fn pending_occurrences(open: Opener) {
    let store = open();
    let first = Pending {
        rule: "evening stop".to_owned(),
        occurrence: zoned("2026-03-02T20:00:00+09:00[Asia/Tokyo]"),
        since: ts("2026-03-02T11:00:00Z"),
        cause: "workspace w: 503".to_owned(),
    };
    let earlier = Pending {
        rule: "morning".to_owned(),
        occurrence: zoned("2026-03-02T08:00:00+01:00[Europe/Berlin]"),
        ..first.clone()
    };
    store.keep_pending(&first).await.expect("keep");
    store.keep_pending(&earlier).await.expect("keep");
    let again = Pending { since: ts("2026-03-02T12:00:00Z"), cause: "workspace w: 429".to_owned(), ..first.clone() };
    open().keep_pending(&again).await.expect("keep again");
    let expected_first = Pending { cause: again.cause.clone(), ..first.clone() };
    assert_eq!(store.pending().await.expect("pending"), [earlier.clone(), expected_first]);
    store.clear_pending(&first.rule, first.occurrence.timestamp()).await.expect("clear");
    store.clear_pending(&first.rule, first.occurrence.timestamp()).await.expect("clear twice");
    assert_eq!(open().pending().await.expect("pending"), [earlier]);
}

/// Runs are recorded with their owner, heartbeat and end; an unknown run is `None`.
async fn runs_with_heartbeats(open: Opener) {
    let store = open();
    let run = begin(&*store, "2026-03-02T11:00:00Z").await;
    let other = begin(&*open(), "2026-03-02T11:00:00Z").await;
    assert_ne!(run, other, "two runs started at once get distinct ids");
    store.heartbeat(&run, ts("2026-03-02T11:00:30Z")).await.expect("heartbeat");
    let record = open().run(&run).await.expect("read run").expect("the run exists");
    assert_eq!(record.heartbeat, ts("2026-03-02T11:00:30Z"));
    assert_eq!(record.owner, Some(Owner::this_process()));
    assert_eq!((record.finished, record.status), (None, None));
    assert!(!record.is_over(ts("2026-03-02T11:01:00Z"), jiff::SignedDuration::from_secs(60)));
    assert!(record.is_over(ts("2026-03-02T11:02:00Z"), jiff::SignedDuration::from_secs(60)), "a stale heartbeat");
    store.finish_run(&run, ts("2026-03-02T11:01:00Z"), RunStatus::SomeFailed).await.expect("finish");
    let record = store.run(&run).await.expect("read run").expect("the run exists");
    assert_eq!((record.finished, record.status), (Some(ts("2026-03-02T11:01:00Z")), Some(RunStatus::SomeFailed)));
    assert_eq!(store.run(&RunId("12345".to_owned())).await.expect("read unknown run"), None);
}

/// Retention deletes old events only: claims and pending occurrences stay, the history says from when it is
/// complete, and it never moves back.
async fn retention_prunes_old_events_only(open: Opener) {
    let store = open();
    let run = begin(&*store, "2026-03-01T10:00:00Z").await;
    let old = event(EventKind::Succeeded, "2026-03-01T10:00:00Z", "ci-1");
    let recent = event(EventKind::Succeeded, "2026-03-03T10:00:00Z", "ci-2");
    store.record(&old).await.expect("record");
    store.record(&recent).await.expect("record");
    let key = key("ci-1");
    assert_eq!(store.claim(&new_claim(&key, &run, "2026-03-01T10:00:00Z")).await.expect("claim"), ClaimOutcome::Won);
    let pending = Pending {
        rule: "evening stop".to_owned(),
        occurrence: zoned("2026-03-01T20:00:00+09:00[Asia/Tokyo]"),
        since: ts("2026-03-01T11:00:00Z"),
        cause: "503".to_owned(),
    };
    store.keep_pending(&pending).await.expect("keep");
    assert_eq!(store.pruned_before().await.expect("pruned_before"), None);
    assert!(store.prune_events(ts("2026-03-02T12:00:00Z")).await.expect("prune") >= 1);
    let left: Vec<Event> =
        open().history(&HistoryQuery::default()).await.expect("history").into_iter().map(|r| r.event).collect();
    assert_eq!(left, [recent], "only the old event is gone");
    let complete_from = store.pruned_before().await.expect("pruned_before").expect("pruned");
    assert!(
        complete_from > ts("2026-03-01T10:00:00Z") && complete_from <= ts("2026-03-02T12:00:00Z"),
        "{complete_from}"
    );
    assert_eq!(
        store.claims_of(&key.rule, key.occurrence.timestamp()).await.expect("claims").len(),
        1,
        "claims are kept"
    );
    assert_eq!(store.pending().await.expect("pending"), [pending], "pending occurrences are kept");
    store.prune_events(ts("2026-02-01T00:00:00Z")).await.expect("prune less");
    assert_eq!(store.pruned_before().await.expect("pruned_before"), Some(complete_from), "never moves back");
}

/// Prices are cached per currency; a price fetched again replaces the one of the same region and size, whatever
/// the case of either; another currency is another cache.
async fn prices_are_cached_per_currency(open: Opener) {
    let price = |region: &str, size: &str, currency: &str, hourly: f64, fetched: &str| CachedPrice {
        region: region.to_owned(),
        size: size.to_owned(),
        currency: currency.to_owned(),
        hourly,
        fetched: ts(fetched),
    };
    let store = open();
    assert!(store.cached_prices("USD").await.expect("read").is_empty(), "nothing cached yet");
    store
        .store_prices(&[
            price("eastus", "Standard_D2s_v3", "USD", 0.096, "2026-03-01T00:00:00Z"),
            price("eastus", "Standard_D2s_v3", "EUR", 0.0883, "2026-03-01T00:00:00Z"),
            price("japaneast", "Standard_DS3_v2", "USD", 0.351, "2026-03-01T00:00:00Z"),
        ])
        .await
        .expect("store");
    open()
        .store_prices(&[price("EastUS", "STANDARD_D2S_V3", "USD", 0.1, "2026-03-02T00:00:00Z")])
        .await
        .expect("store again");
    // (region, size, hourly, fetched), compared ignoring case and order.
    let seen = |prices: Vec<CachedPrice>| {
        let mut rows: Vec<(String, String, String, f64, Timestamp)> = prices
            .into_iter()
            .map(|p| (p.region.to_lowercase(), p.size.to_lowercase(), p.currency.to_uppercase(), p.hourly, p.fetched))
            .collect();
        rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        rows
    };
    let row = |region: &str, size: &str, currency: &str, hourly: f64, fetched: &str| {
        (region.to_owned(), size.to_owned(), currency.to_owned(), hourly, ts(fetched))
    };
    assert_eq!(
        seen(open().cached_prices("usd").await.expect("read")),
        [
            row("eastus", "standard_d2s_v3", "USD", 0.1, "2026-03-02T00:00:00Z"),
            row("japaneast", "standard_ds3_v2", "USD", 0.351, "2026-03-01T00:00:00Z"),
        ]
    );
    assert_eq!(
        seen(store.cached_prices("EUR").await.expect("read")),
        [row("eastus", "standard_d2s_v3", "EUR", 0.0883, "2026-03-01T00:00:00Z")]
    );
    assert!(store.cached_prices("JPY").await.expect("read").is_empty());
}

/// An owner's postponement is kept per stop (a later choice replaces an earlier one) with its audit event; the
/// link signing key is stored once and the same for every caller; the last stop sent to each target is kept.
async fn owners_postponements_link_key_and_stops_sent(open: Opener) {
    let store = open();
    let late = key("ci-1");
    let postponement = Postponement {
        key: late.clone(),
        target_name: "ci-1".to_owned(),
        choice: "+1h".to_owned(),
        until: Some(ts("2026-03-02T12:00:00Z")),
        made_at: ts("2026-03-02T10:40:00Z"),
    };
    let recorded =
        Event { reason: Some("postponed".to_owned()), ..event(EventKind::Postponed, "2026-03-02T10:40:00Z", "ci-1") };
    store.postpone(&postponement, &recorded).await.expect("postpone");
    let skipped = Postponement {
        key: key("ci-2"),
        target_name: "ci-2".to_owned(),
        choice: "skip".to_owned(),
        until: None,
        ..postponement.clone()
    };
    store.postpone(&skipped, &event(EventKind::Postponed, "2026-03-02T10:41:00Z", "ci-2")).await.expect("skip");
    let later =
        Postponement { choice: "+2h".to_owned(), until: Some(ts("2026-03-02T13:00:00Z")), ..postponement.clone() };
    open().postpone(&later, &event(EventKind::Postponed, "2026-03-02T10:42:00Z", "ci-1")).await.expect("again");
    assert_eq!(store.postponements(ts("2026-03-02T00:00:00Z")).await.expect("list"), [later, skipped]);
    assert!(store.postponements(ts("2026-03-03T00:00:00Z")).await.expect("list").is_empty());
    let kinds = store.history(&HistoryQuery::default()).await.expect("history");
    assert_eq!(kinds.iter().filter(|record| record.event.kind == EventKind::Postponed).count(), 3);

    let first = store.link_signing_key(b"first key, thirty-two bytes long").await.expect("key");
    let second = open().link_signing_key(b"other key, thirty-two bytes long").await.expect("key again");
    assert_eq!(
        (first.as_slice(), second.as_slice()),
        (&b"first key, thirty-two bytes long"[..], &b"first key, thirty-two bytes long"[..])
    );

    let run = begin(store.as_ref(), "2026-03-02T10:59:00Z").await;
    store.claim(&new_claim(&late, &run, "2026-03-02T11:00:00Z")).await.expect("claim");
    let sent = Transition {
        key: &late,
        from: &[ClaimStatus::Claimed],
        to: ClaimStatus::Sent,
        at: ts("2026-03-02T11:00:01Z"),
        event: None,
    };
    assert!(store.transition(&sent).await.expect("send"));
    let stops = open().last_stops_sent().await.expect("stops sent");
    assert_eq!(stops.get(&late.target_key()), Some(&ts("2026-03-02T11:00:01Z")), "{stops:?}");
    assert_eq!(stops.len(), 1, "{stops:?}");
}

/// The leader lease of `serve --ha` (Blob only): one holder at a time, named in the lease blob; released, or
/// expired when not renewed, it goes to the next asker, and the former holder's renewal then says it is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_lease_is_held_by_one_until_released_or_expired() {
    bounded(async {
        let (a, b) = (blob_store("leader_lease"), blob_store("leader_lease"));
        let (a, b) = (a.leader_lease(LeaseDuration::MIN), b.leader_lease(LeaseDuration::MIN));
        let identity = |host: &str| LeaderIdentity { host: host.to_owned(), pid: 1, listen: format!("{host}:9464") };
        let Acquired::Leading(first) = a.acquire(&identity("a")).await.expect("acquire") else {
            panic!("the first asker leads");
        };
        assert_eq!(b.acquire(&identity("b")).await.expect("acquire"), Acquired::HeldBy(Some(identity("a"))));
        assert_eq!(a.renew(&first).await.expect("renew"), Renewed::Held);

        a.release(&first).await.expect("release");
        let Acquired::Leading(second) = b.acquire(&identity("b")).await.expect("acquire") else {
            panic!("a released lease goes to the next asker at once");
        };
        assert!(matches!(a.renew(&first).await.expect("renew"), Renewed::Lost(_)), "the old lease is not ours");
        a.release(&first).await.expect("releasing a lease that is no longer ours is no error");
        assert_eq!(a.acquire(&identity("a")).await.expect("acquire"), Acquired::HeldBy(Some(identity("b"))));

        // b stops renewing: once its lease has run out, a takes it, and b's renewal says so.
        tokio::time::sleep(LeaseDuration::MIN.get() + Duration::from_secs(1)).await;
        assert!(matches!(a.acquire(&identity("a")).await.expect("acquire"), Acquired::Leading(_)));
        let lost = b.renew(&second).await.expect("renew");
        assert!(matches!(&lost, Renewed::Lost(code) if code.contains("409")), "{lost:?}");
    })
    .await;
}

macro_rules! conformance {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::bounded(super::$case(super::$backend(stringify!($case)))).await;
                }
            )*
        }
    };
}

conformance!(sqlite: claims_are_won_once, transitions_are_compare_and_set, open_claims_until_final, events_round_trip, window_never_moves_back, pending_occurrences, runs_with_heartbeats, retention_prunes_old_events_only, prices_are_cached_per_currency, owners_postponements_link_key_and_stops_sent);
conformance!(blob: claims_are_won_once, transitions_are_compare_and_set, open_claims_until_final, events_round_trip, window_never_moves_back, pending_occurrences, runs_with_heartbeats, retention_prunes_old_events_only, prices_are_cached_per_currency, owners_postponements_link_key_and_stops_sent);
