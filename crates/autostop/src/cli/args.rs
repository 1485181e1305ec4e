//! Arguments several verbs share: how to reach Azure, which part of it to look at, and how to print.

use clap::Args;

pub use crate::connect::AzureArgs;
pub use crate::output::OutputFormat;

/// Where to look for compute instances.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// Subscription id to look in (repeatable, or comma-separated).
    #[arg(long = "subscription", short = 's', env = "AZURE_SUBSCRIPTION_ID", value_delimiter = ',')]
    pub subscriptions: Vec<String>,

    /// Resource group to look in (all resource groups of the subscriptions when absent).
    #[arg(long, short = 'g')]
    pub resource_group: Option<String>,

    /// Workspace to look in (all workspaces of the scope when absent; compute instances only).
    #[arg(long, short = 'w')]
    pub workspace: Option<String>,

    /// Kind of target: compute-instance, vm or vmss (repeatable; default compute-instance).
    #[arg(long = "kind", value_name = "KIND", value_parser = parse_kind)]
    pub kinds: Vec<autostop_policy::Kind>,

    /// The tag that names the owner of a VM or scale set.
    #[arg(long, value_name = "TAG", default_value = "owner")]
    pub owner_tag: String,
}

fn parse_kind(text: &str) -> Result<autostop_policy::Kind, String> {
    autostop_policy::Kind::parse(text).ok_or_else(|| format!("expected compute-instance, vm or vmss, found {text:?}"))
}

impl ScopeArgs {
    /// Validates the scope: at least one subscription, each a well-formed id, and well-formed names.
    pub fn scope(&self) -> Result<autostop_engine::discover::Scope, crate::UsageError> {
        let usage = |err: autostop_azure::Error| crate::UsageError(err.to_string());
        if let Some(group) = &self.resource_group {
            autostop_azure::validate_resource_group(group).map_err(usage)?;
        }
        if let Some(workspace) = &self.workspace {
            autostop_azure::validate_workspace_name(workspace).map_err(usage)?;
        }
        if self.subscriptions.is_empty() {
            return Err(crate::UsageError(
                "no subscription given: pass --subscription ID (or set AZURE_SUBSCRIPTION_ID)".into(),
            ));
        }
        let subscriptions =
            self.subscriptions.iter().map(|id| id.trim().parse().map_err(usage)).collect::<Result<Vec<_>, _>>()?;
        let mut kinds = self.kinds.clone();
        kinds.dedup();
        if kinds.is_empty() {
            kinds.push(autostop_policy::Kind::ComputeInstance);
        }
        Ok(autostop_engine::discover::Scope {
            kinds,
            owner_tag: self.owner_tag.clone(),
            subscriptions,
            resource_group: self.resource_group.clone(),
            workspace: self.workspace.clone(),
        })
    }
}

/// Where the configuration and the state (audit log, claims) are: the arguments of the policy verbs (`plan`,
/// `run`).
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Config file (default: $AUTOSTOP_CONFIG, else ./autostop.toml).
    #[arg(long, short = 'c', value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,
    /// State: audit log, claims, window. A path is an SQLite file (default: $XDG_STATE_HOME/autostop/audit.db,
    /// else ~/.local/state/autostop/audit.db); https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX] is Blob
    /// Storage, shared by every process that names it.
    #[arg(long, env = "AUTOSTOP_STATE", value_name = "PATH|URL")]
    pub state: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub azure: AzureArgs,
}

impl PolicyArgs {
    /// The config file to read.
    pub fn config_path(&self) -> std::path::PathBuf {
        autostop_policy::config::config_path(self.config.as_deref(), |name| std::env::var_os(name))
    }

    /// The state store to use.
    pub fn state(&self) -> anyhow::Result<crate::store::StateLocation> {
        crate::store::StateLocation::resolve(self.state.as_deref())
    }
}

/// Reads an instant: RFC 3339 (`2026-03-02T20:00:00+09:00`), or a local date-time (`2026-03-02T20:00:00`) read
/// in `zone`. `flag` names the option in the error.
pub fn parse_instant(text: &str, zone: &jiff::tz::TimeZone, flag: &str) -> Result<jiff::Timestamp, crate::UsageError> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Ok(instant);
    }
    text.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|civil| civil.to_zoned(zone.clone()).ok())
        .map(|zoned| zoned.timestamp())
        .ok_or_else(|| {
            crate::UsageError(format!(
                "{flag}: expected an RFC 3339 instant (2026-03-02T20:00:00Z) or a local date-time \
                 (2026-03-02T20:00:00), found {text:?}"
            ))
        })
}
