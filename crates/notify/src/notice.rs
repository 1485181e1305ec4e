//! The notice a channel receives before a stop: one digest per (rule, occurrence, channel), listing every
//! instance the stop concerns with the links its owner may answer with. The JSON is a contract:
//! `{"rule","action","occurrence","instances":[{"id","name","owner","workspace","postpone":[{"label","until","url"}],
//! "skip_url"}]}`. Pure: building it signs links, nothing else.

use std::collections::BTreeMap;

use autostop_policy::{Choice, Instance};
use jiff::Zoned;
use serde::Serialize;

use crate::link::{Link, LinkKey};

/// One notice, as POSTed to a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// The stop rule.
    pub rule: String,
    /// Always `stop`.
    pub action: String,
    /// The occurrence, RFC 3339 with the rule's offset.
    pub occurrence: String,
    /// The occurrence for people: `2026-03-02 20:00 +09:00` (not part of the JSON).
    #[serde(skip)]
    pub when: String,
    /// The instances it will stop.
    pub instances: Vec<NoticeInstance>,
}

/// One instance of a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeInstance {
    /// The ARM id.
    pub id: String,
    /// The compute's name.
    pub name: String,
    /// Its owner, when Azure says.
    pub owner: Option<String>,
    /// Its workspace.
    pub workspace: String,
    /// The links that postpone its stop.
    pub postpone: Vec<PostponeLink>,
    /// The link that skips its stop for this occurrence.
    pub skip_url: String,
}

/// One postponement link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostponeLink {
    /// `+1h`, `+2h`, `+4h`.
    pub label: String,
    /// The new time, RFC 3339 with the rule's offset.
    pub until: String,
    /// The signed link.
    pub url: String,
}

impl Notice {
    /// The notice of `rule`'s stop at `occurrence` of `instances`, with links under `public_url` signed by `key`.
    pub fn new(rule: &str, occurrence: &Zoned, instances: &[&Instance], public_url: &str, key: &LinkKey) -> Notice {
        let at = occurrence.timestamp();
        let instances = instances
            .iter()
            .map(|instance| {
                let url = |choice| Link::new(&instance.id, rule, at, choice).url(public_url, key);
                let postpone = Choice::ALL
                    .into_iter()
                    .filter_map(|choice| {
                        let until = choice.until(occurrence)?;
                        Some(PostponeLink { label: choice.label(), until: rfc3339(&until), url: url(choice) })
                    })
                    .collect();
                NoticeInstance {
                    id: instance.id.clone(),
                    name: instance.name.clone(),
                    owner: instance.owner.clone(),
                    workspace: instance.workspace.clone(),
                    postpone,
                    skip_url: url(Choice::Skip),
                }
            })
            .collect();
        Notice {
            rule: rule.to_owned(),
            action: "stop".to_owned(),
            occurrence: rfc3339(occurrence),
            when: occurrence.strftime("%Y-%m-%d %H:%M %:z").to_string(),
            instances,
        }
    }

    /// One line saying what the notice is about: `evening-stop stops 2 instances at 2026-03-02 20:00 +09:00`.
    pub fn headline(&self) -> String {
        let count = self.instances.len();
        let noun = if count == 1 { "instance" } else { "instances" };
        format!("{} stops {count} {noun} at {}", self.rule, self.when)
    }

    /// The notice split by owner: one notice per distinct owner (`None`: instances without one) holding only that
    /// owner's instances, in the order of their owners (no owner last).
    pub fn by_owner(&self) -> Vec<(Option<String>, Notice)> {
        let mut owners: BTreeMap<Option<&str>, Vec<NoticeInstance>> = BTreeMap::new();
        for instance in &self.instances {
            owners.entry(instance.owner.as_deref()).or_default().push(instance.clone());
        }
        let mut split: Vec<(Option<String>, Notice)> = owners
            .into_iter()
            .map(|(owner, instances)| (owner.map(str::to_owned), Notice { instances, ..self.clone() }))
            .collect();
        // `None` sorts first in a map; nobody's instances go last.
        let unowned = usize::from(split.first().is_some_and(|(owner, _)| owner.is_none()));
        split.rotate_left(unowned);
        split
    }
}

fn rfc3339(zoned: &Zoned) -> String {
    zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}
