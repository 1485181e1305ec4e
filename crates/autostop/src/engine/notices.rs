//! Notices: before a stop rule's occurrence (its `notify.before`), one digest per (rule, occurrence, channel) is
//! POSTed to each of its channels, listing the instances the stop will concern with the owners' links. Exactly
//! once through a claim on (`rule`, occurrence, `notice:CHANNEL`); a failed POST is recorded `failed` (a problem)
//! and its claim left `interrupted` without a send time, so the next evaluation before the occurrence takes it
//! again. Sent after the evaluation's own actions: a slow or broken channel never delays a stop. A channel's URL
//! is never printed: errors name the channel.

use std::time::Duration;

use autostop_notify::{LinkKey, Notice};
use autostop_policy::{Config, Due, Instance, Occurrences, StateFacts};
use autostop_state::{ClaimKey, ClaimOutcome, ClaimStatus, Event, EventKind, NewClaim, RunId, Transition, rfc3339};
use jiff::{Timestamp, Zoned};

use super::{Actor, RunOutcome, RunReport};

/// How long a channel has to answer.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The action name notices are claimed and recorded under.
pub const NOTIFY_ACTION: &str = "notify";

/// Sends every notice due at `now` that was not sent yet, recording each outcome in `report`. `Err` only for a
/// state error.
pub async fn send_due(
    actor: &Actor,
    config: &Config,
    run: &RunId,
    (instances, facts): (&[Instance], &StateFacts),
    now: Timestamp,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let due = config.notices_due(now);
    if due.is_empty() {
        return Ok(());
    }
    let http = reqwest::Client::builder().timeout(SEND_TIMEOUT).build()?;
    for (rule, occurrence) in due {
        let Some(notify) = &rule.notify else { continue };
        let only = Occurrences {
            due: vec![Due { rule: rule.name.clone(), occurrence: occurrence.clone(), only: None }],
            ..Occurrences::default()
        };
        let plan = autostop_policy::plan_due(instances, config, facts, only, now);
        let stopping: Vec<&Instance> = plan.actions.iter().map(|action| &action.target).collect();
        if stopping.is_empty() {
            continue;
        }
        for channel in &notify.channels {
            let Some(channel) = config.channels.iter().find(|known| &known.name == channel) else { continue };
            let key = ClaimKey {
                rule: rule.name.clone(),
                occurrence: occurrence.clone(),
                target_id: format!("notice:{}", channel.name),
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
            let result = send(actor, config, &http, (&rule.name, &occurrence), &stopping, channel.url.expose()).await;
            let (kind, status, reason, error) = match result {
                Ok(()) => {
                    let reason = format!("notice of {} instance(s) sent to channel {}", stopping.len(), channel.name);
                    (EventKind::Succeeded, ClaimStatus::Succeeded, Some(reason), None)
                }
                Err(error) => {
                    let error =
                        format!("notice to channel {} failed: {error}; the next evaluation retries", channel.name);
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
                id: None,
                name: Some(channel.name.clone()),
                action: NOTIFY_ACTION.to_owned(),
                result: kind,
                reason,
                error,
            });
        }
    }
    Ok(())
}

/// POSTs the notice; the error names what failed, never the URL.
async fn send(
    actor: &Actor,
    config: &Config,
    http: &reqwest::Client,
    (rule, occurrence): (&str, &Zoned),
    stopping: &[&Instance],
    url: &str,
) -> Result<(), String> {
    let public_url =
        config.notify.public_url.as_deref().ok_or("[notify] public_url is not set: links cannot be made")?;
    let key = link_key(actor).await.map_err(|err| format!("{err:#}"))?;
    let notice = Notice::new(rule, occurrence, stopping, public_url, &key);
    let response = http.post(url).json(&notice).send().await.map_err(|err| err.without_url().to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the channel answered HTTP {}", status.as_u16()));
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
