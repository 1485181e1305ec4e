//! Gathers what the status page shows, at one instant, for the configuration the daemon last loaded (at start,
//! or at an accepted SIGHUP reload): the fleet from ARM, the next 24 hours' timeline, the last day of the audit
//! log and the savings, priced. I/O only; [`super::view`] decides what to show.

use std::collections::BTreeSet;

use anyhow::Context as _;
use autostop_policy::savings::{GroupBy, Ledger, Period, ledger};
use autostop_policy::{Config, Window, timeline};
use autostop_state::{HistoryQuery, StateStore};
use jiff::{SignedDuration, Timestamp};

use autostop_engine::savings::PriceSource;

use super::Connect;
use super::view::{CHART_DAYS, Machine, Snapshot, Upcoming};

/// How far ahead the next actions look.
const AHEAD: SignedDuration = SignedDuration::from_hours(24);
/// How far back the history looks.
const BEHIND: SignedDuration = SignedDuration::from_hours(24);
/// The most events of the last day read (the most recent ones).
const HISTORY_LIMIT: usize = 20_000;

/// The snapshot at `now`, and the ledger over the whole audit log (for `/metrics`).
pub async fn gather(
    config: &Config,
    connect: &Connect,
    store: &dyn StateStore,
    prices: &PriceSource,
    now: Timestamp,
) -> anyhow::Result<(Snapshot, Ledger)> {
    let client = connect(config)?;
    let autostop_engine::evaluation::Found { instances, errors, locations, .. } =
        autostop_engine::evaluation::inventory(&client, config).await;
    let until = now.checked_add(AHEAD).context("the next 24 hours are past the year 9999")?;
    let timeline = timeline(&instances, config, Window { after: now, until }, &autostop_policy::StateFacts::default());
    let upcoming = timeline
        .steps
        .iter()
        .flat_map(autostop_policy::Step::decisions)
        .map(|decision| Upcoming {
            at: decision.at,
            rule: decision.rule.to_owned(),
            key: decision.target.id.to_lowercase(),
            action: decision.action.to_string(),
            decision: if decision.skip.is_some() { "skip" } else { "act" },
            reason: decision.skip.map(ToString::to_string),
        })
        .collect();

    let since = now.checked_sub(BEHIND).unwrap_or(Timestamp::MIN);
    let history = store
        .history(&HistoryQuery { since: Some(since), limit: Some(HISTORY_LIMIT), ..Default::default() })
        .await
        .with_context(|| format!("reading the audit log {}", store.location()))?;

    let all_time = Period { since: Timestamp::MIN, until: now };
    let every_stretch = autostop_engine::savings::stretches(store, all_time).await?;
    let chart_since = now.checked_sub(SignedDuration::from_hours(24 * i64::from(CHART_DAYS + 1))).unwrap_or(now);
    let wanted: BTreeSet<String> = every_stretch.iter().map(|stretch| stretch.target_id.to_lowercase()).collect();
    let (priced, currency, price_problems) =
        autostop_engine::savings::priced(&instances, &locations, &wanted, prices, store, now).await?;
    let totals = ledger(&every_stretch, &priced, GroupBy::Rule);
    let stretches = every_stretch.into_iter().filter(|stretch| stretch.to > chart_since).collect();

    let machines = instances
        .iter()
        .map(|target| Machine {
            key: target.id.to_lowercase(),
            name: target.name.clone(),
            workspace: target.workspace.clone(),
            owner: target.owner.clone(),
            kind: target.compute_type.clone(),
            state: target.state.clone(),
            size: target.vm_size.clone(),
        })
        .collect();
    let snapshot = Snapshot {
        taken: now,
        zone: config.defaults.timezone.time_zone().clone(),
        machines,
        upcoming,
        history,
        stretches,
        priced,
        currency,
        problems: errors.into_iter().chain(price_problems).collect(),
    };
    Ok((snapshot, totals))
}
