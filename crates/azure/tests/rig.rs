//! A running emulator with what the tests need around it: an HTTP client trusting its CA, environment lookups,
//! and ARM clients built exactly as the binary builds them.

use autostop_azure::{
    ArmClient, ArmClientOptions, CredentialKind, CredentialOptions, PollOptions, TokenCredential, client_options,
    credential, http_client,
};
use autostop_emulator::{Compute, Emulator, Fleet, Options, ResourceGroup, Subscription, Workspace};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

pub const SUB: &str = "11111111-2222-4333-8444-555555555555";
pub const RG: &str = "rg-paging";
pub const WS: &str = "ws-paging";

/// One workspace with `instances` compute instances named `ci-0`, `ci-1`, ... (even ones Running, odd Stopped).
pub fn fleet(instances: usize) -> Fleet {
    let computes = (0..instances)
        .map(|i| Compute {
            name: format!("ci-{i}"),
            compute_type: "ComputeInstance".into(),
            state: if i % 2 == 0 { "Running" } else { "Stopped" }.into(),
            vm_size: "STANDARD_DS3_V2".into(),
            tags: BTreeMap::from([("index".to_string(), i.to_string())]),
            owner: Some(format!("user{i}@contoso.com")),
            ..Default::default()
        })
        .collect();
    Fleet {
        subscriptions: vec![Subscription {
            id: SUB.into(),
            resource_groups: vec![ResourceGroup {
                name: RG.into(),
                workspaces: vec![Workspace { name: WS.into(), location: "eastus".into(), computes }],
                ..Default::default()
            }],
        }],
    }
}

pub fn workspace_id() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}")
}

pub fn compute_id(name: &str) -> String {
    format!("{}/computes/{name}", workspace_id())
}

pub fn poll() -> PollOptions {
    PollOptions {
        first_delay: Duration::from_millis(20),
        default_delay: Duration::from_millis(20),
        deadline: Duration::from_secs(30),
    }
}

pub struct Rig {
    pub emulator: Emulator,
    pub http: reqwest::Client,
}

impl Rig {
    /// The emulator with `fleet`, `page_size` items per page, and transitions that only end when told to.
    pub async fn start(fleet: Fleet, page_size: usize) -> Rig {
        Rig::start_with(Options { fleet, page_size, transition: Duration::from_secs(3600), ..Default::default() }).await
    }

    /// The emulator with these options.
    pub async fn start_with(options: Options) -> Rig {
        let emulator = crate::fake::within(Emulator::start(options)).await.unwrap_or_else(|e| panic!("emulator: {e}"));
        let http = http_client(Some(emulator.ca_path())).unwrap_or_else(|e| panic!("http client: {e}"));
        Rig { emulator, http }
    }

    /// The emulator's environment (tenant, client, secret, authority host, ARM endpoint, CA file), with `extra`
    /// added and `remove` taken away, as a lookup.
    pub fn env(&self, extra: &[(&str, &str)], remove: &[&str]) -> impl Fn(&str) -> Option<String> + use<> {
        let mut vars: HashMap<String, String> = self.emulator.env().into_iter().collect();
        for name in remove {
            vars.remove(*name);
        }
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        move |name| vars.get(name).cloned()
    }

    pub fn credential(
        &self,
        kind: Option<CredentialKind>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(CredentialKind, Arc<dyn TokenCredential>), autostop_azure::Error> {
        let options =
            CredentialOptions { kind, client_options: client_options(self.http.clone()), ..Default::default() };
        credential(options, env)
    }

    pub fn arm(&self, credential: Arc<dyn TokenCredential>) -> ArmClient {
        self.arm_with(credential, |_| {})
    }

    /// An ARM client on the emulator with options adjusted by `adjust` (retries, throttle...).
    pub fn arm_with(
        &self,
        credential: Arc<dyn TokenCredential>,
        adjust: impl FnOnce(&mut ArmClientOptions),
    ) -> ArmClient {
        let mut options = ArmClientOptions { client_options: client_options(self.http.clone()), ..Default::default() };
        adjust(&mut options);
        ArmClient::new(&self.emulator.arm_endpoint(), credential, Some(options)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The client secret credential of the emulator's environment.
    pub fn client_secret(&self) -> Arc<dyn TokenCredential> {
        let (kind, credential) = self.credential(None, self.env(&[], &[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kind, CredentialKind::ClientSecret);
        credential
    }

    /// An ARM client with the client secret credential of the emulator's environment.
    pub fn client_secret_arm(&self) -> ArmClient {
        self.arm(self.client_secret())
    }
}
