//! The configuration exactly as written: serde structs that keep every value's position. No meaning yet; see
//! `validate` for that.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The keys a raw table accepts, so that every unknown key can be reported before serde stops at the first.
pub(crate) trait Keys {
    /// The table's own keys.
    const KEYS: &'static [&'static str];
    /// Inline tables inside it, with their keys.
    const NESTED: &'static [(&'static str, &'static [&'static str])] = &[];
}

/// The keys of `select` and `exclude`.
const SELECTOR_KEYS: &[&str] = &["names", "tags", "sizes"];

impl Keys for RawDefaults {
    const KEYS: &'static [&'static str] = &["timezone", "catch_up"];
}

impl Keys for RawAzure {
    const KEYS: &'static [&'static str] = &["cloud", "arm_endpoint", "credential", "api_version"];
}

impl Keys for RawNotify {
    const KEYS: &'static [&'static str] = &["public_url", "owner_domain"];
}

impl Keys for RawState {
    const KEYS: &'static [&'static str] = &["keep", "leader"];
}

impl Keys for RawTags {
    const KEYS: &'static [&'static str] = &["opt_out", "snooze_until", "rule", "owner"];
}

impl Keys for RawIdleShutdown {
    const KEYS: &'static [&'static str] = &["max"];
}

impl Keys for RawCalendar {
    const KEYS: &'static [&'static str] = &["name", "file", "dates"];
}

impl Keys for RawChannel {
    const KEYS: &'static [&'static str] =
        &["name", "kind", "url", "smtp", "from", "to", "username_env", "password_env"];
}

impl Keys for RawScope {
    const KEYS: &'static [&'static str] = &["subscription", "resource_group", "workspace", "kinds"];
}

impl Keys for RawRule {
    const KEYS: &'static [&'static str] = &[
        "name",
        "action",
        "schedule",
        "timezone",
        "catch_up",
        "select",
        "exclude",
        "force",
        "skip_on",
        "restart_owner_stopped",
        "notify",
        "kinds",
    ];
    const NESTED: &'static [(&'static str, &'static [&'static str])] =
        &[("select", SELECTOR_KEYS), ("exclude", SELECTOR_KEYS), ("notify", &["before", "channels"])];
}

/// `[defaults]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub timezone: Option<Spanned<String>>,
    pub catch_up: Option<Spanned<String>>,
}

/// `[azure]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAzure {
    pub cloud: Option<Spanned<String>>,
    pub arm_endpoint: Option<Spanned<String>>,
    pub credential: Option<Spanned<String>>,
    pub api_version: Option<Spanned<String>>,
}

/// `[notify]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    pub public_url: Option<Spanned<String>>,
    pub owner_domain: Option<Spanned<String>>,
}

/// `[state]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawState {
    pub keep: Option<Spanned<String>>,
    #[serde(default)]
    pub leader: bool,
}

/// `[tags]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTags {
    pub opt_out: Option<Spanned<String>>,
    pub snooze_until: Option<Spanned<String>>,
    pub rule: Option<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
}

/// `[idle_shutdown]`: the longest idle shutdown compute instances may keep.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdleShutdown {
    pub max: Spanned<String>,
}

/// One `[[calendars]]`: a name and either an iCalendar file or a list of dates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCalendar {
    pub name: Spanned<String>,
    pub file: Option<Spanned<String>>,
    pub dates: Option<Vec<Spanned<String>>>,
}

/// One `[[scopes]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScope {
    pub subscription: Spanned<String>,
    pub resource_group: Option<Spanned<String>>,
    pub workspace: Option<Spanned<String>>,
    pub kinds: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One `[[rules]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub name: Spanned<String>,
    pub action: Spanned<String>,
    pub schedule: Spanned<String>,
    pub timezone: Option<Spanned<String>>,
    pub catch_up: Option<Spanned<String>>,
    pub select: Option<Spanned<RawSelector>>,
    pub exclude: Option<Spanned<RawSelector>>,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub skip_on: Vec<Spanned<String>>,
    #[serde(default)]
    pub restart_owner_stopped: bool,
    pub notify: Option<Spanned<RawRuleNotify>>,
    pub kinds: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A rule's `notify` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleNotify {
    pub before: Spanned<String>,
    pub channels: Vec<Spanned<String>>,
}

/// One `[[channels]]`: `url` for the webhook kinds (webhook, teams, slack); `smtp`, `from`, `to` and the
/// credentials' variable names for `email`. Which keys a kind takes is checked in `validate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChannel {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub url: Option<Spanned<String>>,
    pub smtp: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<RawRecipients>>,
    pub username_env: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
}

/// An e-mail channel's `to`: `"owner"`, or a list of addresses.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "to: expected \"owner\" or a list of e-mail addresses")]
pub(crate) enum RawRecipients {
    One(String),
    Many(Vec<String>),
}

/// A rule's `select` or `exclude` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSelector {
    #[serde(default)]
    pub names: Vec<Spanned<String>>,
    #[serde(default)]
    pub tags: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub sizes: Vec<Spanned<String>>,
}
