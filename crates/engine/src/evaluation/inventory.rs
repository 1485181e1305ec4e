//! The inventory the plan reads: every configured scope discovered concurrently, each compute once, with the
//! errors that kept part of the scopes from being read. I/O only; it decides nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use autostop_azure::ArmClient;
use autostop_policy::{Config, Instance};
use futures::stream::{self, StreamExt};

use crate::discover::{Scope, discover};

/// How many scopes are discovered at once.
const CONCURRENCY: usize = 8;

/// What discovery of the configured scopes found.
#[derive(Debug, Default)]
pub struct Found {
    /// Each compute once, in scope order; shared with the plans made from them.
    pub instances: Vec<Arc<Instance>>,
    /// Listings that failed, each with the part of the scope it concerns.
    pub errors: Vec<String>,
    /// Computes Azure listed that this client cannot act on (e.g. a name it cannot address), with why.
    pub unhandled: Vec<autostop_azure::Unhandled>,
    /// Each target's Azure region, by lowercase ARM id (for pricing).
    pub locations: BTreeMap<String, String>,
}

/// Discovers the configured scopes.
pub async fn inventory(client: &ArmClient, config: &Config) -> Found {
    let mut found = Found::default();
    let mut scopes = Vec::new();
    for scope in &config.scopes {
        match scope.subscription.parse() {
            Ok(subscription) => scopes.push(Scope {
                kinds: scope.kinds.clone(),
                owner_tag: config.tags.owner.clone(),
                subscriptions: vec![subscription],
                resource_group: scope.resource_group.clone(),
                workspace: scope.workspace.clone(),
            }),
            Err(err) => found.errors.push(format!("scope {}: {err}", scope.subscription)),
        }
    }
    let inventories = stream::iter(scopes)
        .map(|scope| async move { discover(client, &scope).await })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut seen = BTreeSet::new();
    for inventory in inventories {
        found.errors.extend(inventory.errors.iter().map(|err| format!("{err:#}")));
        found.unhandled.extend(inventory.unhandled.iter().cloned());
        found.locations.extend(inventory.locations);
        for target in inventory.targets {
            if seen.insert(target.id.to_lowercase()) {
                found.instances.push(Arc::new(target));
            }
        }
    }
    found
}
