//! Notices: before a stop rule's occurrence (its `notify.before`), each of its channels receives the digest of the
//! instances the stop will concern with the owners' links: one message per webhook, Teams or Slack channel, one
//! e-mail per owner (or one to the fixed addresses) per e-mail channel (see `autostop_notify::route`). Exactly once
//! through a claim on (`rule`, occurrence, `notice:CHANNEL[:OWNER]`); a failed send is recorded `failed` (a
//! problem) and its claim left `interrupted` without a send time, so the next evaluation before the occurrence
//! takes it again. An owner that cannot be mailed is recorded `failed` once (its claim `failed`: retrying cannot
//! help until the configuration changes). Sent after the evaluation's own actions: a slow or broken channel never
//! delays a stop. A channel's URL and SMTP password are never printed: errors name the channel.

use std::sync::Arc;

use anyhow::Context as _;
use autostop_notify::{LinkKey, Notice, To, parcels};
use autostop_policy::{Config, Due, Instance, Occurrences, StateFacts};
use autostop_state::{ClaimKey, ClaimOutcome, ClaimStatus, Event, EventKind, NewClaim, RunId, Transition, rfc3339};
use jiff::Timestamp;

use super::{Actor, RunOutcome, RunReport};
use crate::deliver::Couriers;

/// The action name notices are claimed and recorded under.
pub const NOTIFY_ACTION: &str = "notify";

/// Sends every notice due at `now` that was not sent yet, recording each outcome in `report`. `Err` for a state
/// error, or when the channels cannot be set up at all (an unreadable `SSL_CERT_FILE`).
pub async fn send_due(
    actor: &Actor,
    config: &Config,
    run: &RunId,
    (instances, facts): (&[Arc<Instance>], &StateFacts),
    now: Timestamp,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let due = config.notices_due(now);
    if due.is_empty() {
        return Ok(());
    }
    let couriers = Couriers::new()?;
    for (rule, occurrence) in due {
        let Some(notify) = &rule.notify else { continue };
        let only = Occurrences {
            due: vec![Due { rule: rule.name.clone(), occurrence: occurrence.clone(), only: None }],
            ..Occurrences::default()
        };
        let plan = autostop_policy::plan_due(instances, config, facts, only, now);
        let stopping: Vec<&Instance> = plan.actions.iter().map(|action| action.target.as_ref()).collect();
        if stopping.is_empty() {
            continue;
        }
        // Checked by the configuration: a rule with `notify` needs a public URL.
        let public_url = config.notify.public_url.as_deref().context("[notify] public_url is not set")?;
        let notice = Notice::new(&rule.name, &occurrence, &stopping, public_url, &link_key(actor).await?);
        for channel in &notify.channels {
            let Some(channel) = config.channels.iter().find(|known| &known.name == channel) else { continue };
            for parcel in parcels(channel, &notice, config.notify.owner_domain.as_deref()) {
                let key = ClaimKey {
                    rule: rule.name.clone(),
                    occurrence: occurrence.clone(),
                    target_id: parcel.target.clone(),
                };
                let claim = NewClaim {
                    key: key.clone(),
                    target_name: channel.name.clone(),
                    action: NOTIFY_ACTION.to_owned(),
                    run: run.clone(),
                    at: Timestamp::now(),
                };
                if let ClaimOutcome::Held(_) = actor.store.claim(&claim).await? {
                    continue;
                }
                let whom = match &parcel.to {
                    To::Addresses(addresses) => format!(" for {}", addresses.join(", ")),
                    To::Endpoint | To::Nobody(_) => String::new(),
                };
                let count = parcel.notice.instances.len();
                let (kind, status, reason, error) = match couriers.send(channel, &parcel).await {
                    Ok(()) => {
                        let reason = format!("notice of {count} instance(s) sent to channel {}{whom}", channel.name);
                        (EventKind::Succeeded, ClaimStatus::Succeeded, Some(reason), None)
                    }
                    Err(error) if matches!(parcel.to, To::Nobody(_)) => {
                        let error = format!(
                            "notice of {count} instance(s) to channel {} not deliverable: {error}",
                            channel.name
                        );
                        (EventKind::Failed, ClaimStatus::Failed, None, Some(error))
                    }
                    Err(error) => {
                        let error = format!(
                            "notice to channel {}{whom} failed: {error}; the next evaluation retries",
                            channel.name
                        );
                        (EventKind::Failed, ClaimStatus::Interrupted, None, Some(error))
                    }
                };
                let event = Event {
                    run: Some(run.clone()),
                    rule: Some(rule.name.clone()),
                    occurrence: Some(occurrence.clone()),
                    target_id: Some(key.target_id.clone()),
                    target_name: Some(channel.name.clone()),
                    action: Some(NOTIFY_ACTION.to_owned()),
                    reason: reason.clone(),
                    error_message: error.clone(),
                    ..Event::new(Timestamp::now(), kind)
                };
                let at = Timestamp::now();
                let transition =
                    Transition { key: &key, from: &[ClaimStatus::Claimed], to: status, at, event: Some(&event) };
                actor.store.transition(&transition).await?;
                report.outcomes.push(RunOutcome {
                    kind: None,
                    rule: rule.name.clone(),
                    occurrence: rfc3339(&occurrence),
                    id: Some(key.target_id.clone()),
                    name: Some(channel.name.clone()),
                    action: NOTIFY_ACTION.to_owned(),
                    result: kind,
                    reason,
                    error,
                });
            }
        }
    }
    Ok(())
}

/// The key links are signed with: the one given (`AUTOSTOP_LINK_KEY`), else the one kept in the state.
async fn link_key(actor: &Actor) -> anyhow::Result<LinkKey> {
    if let Some(given) = &actor.options.link_key {
        return Ok(LinkKey::new(given));
    }
    let generated = LinkKey::generate()?;
    Ok(LinkKey::new(&actor.store.link_signing_key(&generated).await?))
}
