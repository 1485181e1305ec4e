//! The configuration file: TOML read into position-keeping raw structs, then validated into a [`Config`].
//! Pure: the caller reads the file and passes its text.
//!
//! Every problem is reported, not just the first, each as `path:line:column: message`: syntax errors (all that
//! the TOML parser recovers from; nothing else is checked then), every unknown key, the first shape error (wrong
//! type, missing key) of each section and of each `[[rules]]` / `[[scopes]]` entry, and every semantic problem
//! (bad schedule, pointing at the field at fault; unknown time zone, with the closest names; bad duration, name,
//! glob, subscription id or endpoint; duplicate rule name; no scope; unknown calendar in `skip_on`...).
//!
//! `[[calendars]]` name holiday calendars that rules skip (`skip_on = ["jp-holidays"]`): each has a `name` and
//! either `file` (an iCalendar file, relative to the config file's directory) or `dates` (`YYYY-MM-DD` strings).
//! The config's text is pure input; calendar files are read through the reader the caller passes to
//! [`Config::parse_with`], and each bad line of one is reported as `path:line: message`.
//!
//! `[[channels]]` name where notices go: `kind = "webhook"`, `"teams"` or `"slack"` with a `url`, or `"email"`
//! with `smtp`, `from`, `to` and optional `username_env` / `password_env` (the names of the environment variables
//! holding the SMTP credentials, which never appear in the file). A stop rule's `notify = { before = "30m",
//! channels = ["ml-team"] }` sends a digest of its coming stop to them, and needs `[notify] public_url` (the
//! digests' links point there). A channel's URL is never printed.
//!
//! Defaults when a key is absent: `defaults.timezone` = UTC, `defaults.catch_up` = [`DEFAULT_CATCH_UP`],
//! `force` = false, `restart_owner_stopped` = false, `select` = everything in scope, the owner tag names of [`TagNames::default`].

mod error;
mod raw;
mod starter;
mod validate;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use autostop_schedule::{Calendar, Holiday, Schedule, Zone};
use jiff::{SignedDuration, Timestamp, Zoned};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

pub use error::{ConfigError, ConfigErrors};
pub use starter::starter;

use crate::eligibility::Action;
use crate::instance::{Kind, Scope};
use crate::selector::Selector;
use crate::tags::TagNames;

/// The catch-up limit when the config sets none: a missed occurrence still runs if at most this late.
pub const DEFAULT_CATCH_UP: SignedDuration = SignedDuration::from_hours(1);
/// The environment variable naming the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "AUTOSTOP_CONFIG";
/// The config file used when neither `--config` nor [`CONFIG_ENV`] is given.
pub const DEFAULT_CONFIG_FILE: &str = "autostop.toml";

/// The clouds `[azure] cloud` accepts (the names the Azure crate's `Cloud` parses).
pub const CLOUDS: [&str; 3] = ["public", "china", "usgov"];
/// The credentials `[azure] credential` accepts (the names the Azure crate's `CredentialKind` parses).
pub const CREDENTIALS: [&str; 4] = ["client-secret", "workload-identity", "managed-identity", "azure-cli"];

/// Which config file to read: `--config PATH`, else `$AUTOSTOP_CONFIG`, else `./autostop.toml`.
pub fn config_path(flag: Option<&Path>, env: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    match (flag, env(CONFIG_ENV).filter(|value| !value.is_empty())) {
        (Some(path), _) => path.to_owned(),
        (None, Some(value)) => PathBuf::from(value),
        (None, None) => PathBuf::from(DEFAULT_CONFIG_FILE),
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `[defaults]`, resolved.
    pub defaults: Defaults,
    /// `[azure]`: how to reach Azure; every field optional (the command line and environment fill the rest).
    pub azure: AzureSettings,
    /// `[state]`: how long audit events are kept, and whether `serve` elects a leader.
    pub state: StateSettings,
    /// `[tags]`: the owner tag names.
    pub tags: TagNames,
    /// `[notify]`: how owners hear of coming stops and answer them.
    pub notify: NotifySettings,
    /// `[[channels]]`: where notices go, in file order; names are unique (ignoring case).
    pub channels: Vec<Channel>,
    /// `[[scopes]]`: where autostop may look and act; never empty.
    pub scopes: Vec<Scope>,
    /// `[[calendars]]`, in file order; names are unique (ignoring case).
    pub calendars: Vec<NamedCalendar>,
    /// `[[rules]]`, in file order; names are unique (ignoring case).
    pub rules: Vec<Rule>,
    /// `[idle_shutdown] max`: every compute instance in scope gets an idle shutdown of at most this, at every
    /// evaluation; `None` when the section is absent.
    pub idle_shutdown: Option<SignedDuration>,
}

/// `[state]`, resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateSettings {
    /// `keep`: audit events older than this are pruned after each evaluation (`None`: kept forever). Claims and
    /// pending occurrences are never pruned.
    pub keep: Option<SignedDuration>,
    /// `leader`: `autostop serve` takes part in leader election on its Blob state, as with `--ha`.
    pub leader: bool,
}

/// `[defaults]`, resolved.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// The time zone of rules that name none.
    pub timezone: Zone,
    /// The catch-up limit of rules that set none.
    pub catch_up: SignedDuration,
}

/// `[notify]`: how owners hear of coming stops and answer them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    /// The URL under which `autostop serve` is reached from the owners' browsers (notice links point there),
    /// `http://` or `https://`, without a trailing `/`.
    pub public_url: Option<String>,
    /// `owner_domain`: the domain an owner that is not an e-mail address is mailed at (`alice` becomes
    /// `alice@DOMAIN`) by the e-mail channels with `to = "owner"`; without it such an owner is not deliverable.
    pub owner_domain: Option<String>,
}

/// `[azure]`: overrides of how to reach Azure. Values are checked against the known names, kept as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AzureSettings {
    /// One of [`CLOUDS`].
    pub cloud: Option<String>,
    /// An `https://` ARM endpoint (sovereign clouds, the emulator).
    pub arm_endpoint: Option<String>,
    /// One of [`CREDENTIALS`].
    pub credential: Option<String>,
    /// The Machine Learning Services API version, `YYYY-MM-DD` with an optional `-preview`.
    pub api_version: Option<String>,
}

/// One `[[rules]]`, validated.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name (ignoring case), used in the audit log and by the named-rule owner tag.
    pub name: String,
    /// Stop or start.
    pub action: Action,
    /// The schedule, parsed (`schedule.source()` gives it as written).
    pub schedule: Schedule,
    /// The zone the schedule is read in.
    pub zone: Zone,
    /// How late a missed occurrence may still run.
    pub catch_up: SignedDuration,
    /// Which instances the rule is about (everything in scope when empty).
    pub select: Selector,
    /// Instances the rule leaves alone even when selected; never an empty selector.
    pub exclude: Option<Selector>,
    /// Whether a stop rule also stops instances running a job (`JobRunning`).
    pub force: bool,
    /// The calendars whose dates the rule rests on (`skip_on`), in the order written.
    pub skip_on: Vec<NamedCalendar>,
    /// Whether a start rule also starts instances their owner stopped since its previous occurrence
    /// (`restart_owner_stopped`; by default an owner's own stop is never undone).
    pub restart_owner_stopped: bool,
    /// `notify`: notices of this stop rule's coming occurrences, when set.
    pub notify: Option<RuleNotify>,
    /// The kinds of target the rule is about (`kinds`); `None` for every kind its scopes hold.
    pub kinds: Option<Vec<Kind>>,
}

/// A stop rule's `notify = { before = "30m", channels = ["ml-team"] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleNotify {
    /// How long before each occurrence the notice goes out.
    pub before: SignedDuration,
    /// The channels it goes to (names of `[[channels]]`), in the order written.
    pub channels: Vec<String>,
}

/// One `[[channels]]`: where notices go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// The name rules call it by.
    pub name: String,
    /// What it is and where it delivers.
    pub kind: ChannelKind,
}

/// The kinds of channel, with where each delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// `webhook`: an HTTP POST of the notice's JSON to the URL.
    Webhook(SecretUrl),
    /// `teams`: an Adaptive Card POSTed to a Teams Workflows (or legacy incoming-webhook) URL.
    Teams(SecretUrl),
    /// `slack`: a Block Kit message POSTed to a Slack incoming-webhook URL.
    Slack(SecretUrl),
    /// `email`: a digest sent over SMTP.
    Email(EmailChannel),
}

impl ChannelKind {
    /// The kind's name, as written in `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            ChannelKind::Webhook(_) => "webhook",
            ChannelKind::Teams(_) => "teams",
            ChannelKind::Slack(_) => "slack",
            ChannelKind::Email(_) => "email",
        }
    }
}

/// An `email` channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChannel {
    /// `smtp`: the server and how the connection is secured.
    pub server: SmtpServer,
    /// `from`: the sender's address.
    pub from: String,
    /// `to`: who receives the digests.
    pub to: Recipients,
    /// `username_env` / `password_env`: the names of the environment variables holding the SMTP credentials
    /// (`None`: no authentication).
    pub credentials: Option<CredentialVariables>,
}

/// `smtp = "smtp://host:587"` (STARTTLS, required) or `"smtps://host:465"` (TLS from the first byte).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// How the connection is secured; never plain text.
    pub security: SmtpSecurity,
    /// The host name (or IP address) the server's certificate must name.
    pub host: String,
    /// The port (587 for `smtp://`, 465 for `smtps://` when not written).
    pub port: u16,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: plain connection upgraded with STARTTLS, which the server must offer.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    ImplicitTls,
}

/// Who receives an `email` channel's digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    /// `to = "owner"`: one digest per owner, with only that owner's instances.
    Owners,
    /// `to = ["a@example.com", ...]`: one digest of every instance to these addresses.
    Addresses(Vec<String>),
}

/// The names of the environment variables holding an SMTP user name and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialVariables {
    /// `username_env`.
    pub username: String,
    /// `password_env`.
    pub password: String,
}

/// A URL that may carry a secret (a webhook's token): its `Debug` shows nothing of it, and it is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// The URL itself, to send to; never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretUrl(..)")
    }
}

/// A holiday calendar and the name rules call it by.
#[derive(Debug, Clone)]
pub struct NamedCalendar {
    /// The name `skip_on` uses.
    pub name: String,
    /// Its `file`, as written (relative to the config file's directory unless absolute); `None` for `dates`.
    pub file: Option<PathBuf>,
    /// Its dates.
    pub calendar: Calendar,
}

impl Rule {
    /// Whether the rule is about targets of `kind`.
    pub fn concerns(&self, kind: Kind) -> bool {
        self.kinds.as_ref().is_none_or(|kinds| kinds.contains(&kind))
    }

    /// The first of the rule's `skip_on` calendars that has a holiday on the local date of `occurrence` (in the
    /// rule's zone, which is the occurrence's), with that holiday.
    pub fn holiday(&self, occurrence: &Zoned) -> Option<(&str, Holiday)> {
        self.skip_on.iter().find_map(|named| Some((named.name.as_str(), named.calendar.holiday_at(occurrence)?)))
    }

    /// The rule's latest occurrence before `occurrence`, looked for up to four years back (`None` when there is
    /// none that recent).
    pub fn previous_occurrence(&self, occurrence: &Zoned) -> Option<Zoned> {
        let until = occurrence.timestamp().checked_sub(SignedDuration::from_secs(1)).ok()?;
        [1, 8, 32, 367, 4 * 366].into_iter().find_map(|days| {
            let after = until.checked_sub(SignedDuration::from_hours(24 * days)).unwrap_or(Timestamp::MIN);
            self.schedule.occurrences(after, until, occurrence.time_zone()).last()
        })
    }
}

impl Config {
    /// Parses and validates `source`, the text of the file at `path` (used only in messages). Reads no file: a
    /// calendar with a `file` is refused with an error at its `file` key; use [`Config::parse_with`] for those.
    pub fn parse(source: &str, path: &Path) -> Result<Config, ConfigErrors> {
        Config::parse_with(source, path, &|file: &Path| {
            Err(io::Error::new(io::ErrorKind::Unsupported, format!("{} is not read here", file.display())))
        })
    }

    /// Like [`Config::parse`], reading each calendar `file` through `read` (given the path resolved against the
    /// directory of `path`).
    pub fn parse_with(
        source: &str,
        path: &Path,
        read: &dyn Fn(&Path) -> io::Result<String>,
    ) -> Result<Config, ConfigErrors> {
        let mut errors = error::Collector::new(path, source);
        let (root, syntax) = DeTable::parse_recoverable(source);
        for error in &syntax {
            errors.toml(error, None);
        }
        if !errors.is_empty() {
            return Err(errors.into_errors());
        }
        let mut raw = RawConfig::default();
        let root_span = root.span();
        for (key, value) in root.into_inner() {
            match key.get_ref().as_ref() {
                "defaults" => raw.defaults = section(value, "[defaults]", &mut errors),
                "azure" => raw.azure = section(value, "[azure]", &mut errors),
                "notify" => raw.notify = section(value, "[notify]", &mut errors),
                "state" => raw.state = section(value, "[state]", &mut errors),
                "tags" => raw.tags = section(value, "[tags]", &mut errors),
                // `scopes = []` is no scope at all, which validation reports like a missing key.
                "scopes" if matches!(value.get_ref(), DeValue::Array(items) if items.is_empty()) => {}
                "scopes" => raw.scopes = Some(entries(value, "scopes", &mut errors)),
                "rules" => raw.rules = entries(value, "rules", &mut errors),
                "calendars" => raw.calendars = entries(value, "calendars", &mut errors),
                "channels" => raw.channels = entries(value, "channels", &mut errors),
                "idle_shutdown" => raw.idle_shutdown = section(value, "[idle_shutdown]", &mut errors),
                other => errors.at(
                    &key.span(),
                    format!(
                        "unknown key {other:?}: expected defaults, azure, notify, state, tags, calendars, channels, scopes, \
                         rules or idle_shutdown"
                    ),
                ),
            }
        }
        let files = validate::Files { directory: path.parent().unwrap_or(Path::new("")), read };
        match validate::validate(raw, root_span, &files, &mut errors) {
            Some(config) if errors.is_empty() => Ok(config),
            _ => Err(errors.into_errors()),
        }
    }

    /// The rule named `name`, ignoring case.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.name.eq_ignore_ascii_case(name))
    }

    /// The earliest occurrence of any rule strictly after `after`, with its rule (the first in the file on a tie);
    /// `None` when no rule ever fires again. For the daemon's sleep and for "next scheduled action" displays.
    pub fn next_occurrence(&self, after: Timestamp) -> Option<(&Rule, Zoned)> {
        self.rules
            .iter()
            .filter_map(|rule| rule.schedule.next_after(after, rule.zone.time_zone()).map(|next| (rule, next)))
            .min_by_key(|(_, next)| next.timestamp())
    }

    /// The stop rules whose notice is due at `now`: their next occurrence after `now` is at most their
    /// `notify.before` away. With that occurrence, in file order.
    pub fn notices_due(&self, now: Timestamp) -> Vec<(&Rule, Zoned)> {
        self.rules
            .iter()
            .filter_map(|rule| {
                let before = rule.notify.as_ref()?.before;
                let next = rule.schedule.next_after(now, rule.zone.time_zone())?;
                (next.timestamp().checked_sub(before).ok()? <= now).then_some((rule, next))
            })
            .collect()
    }

    /// The first instant strictly after `after` at which a rule's notice becomes due (for the daemon's sleep).
    pub fn next_notice(&self, after: Timestamp) -> Option<Timestamp> {
        self.rules
            .iter()
            .filter_map(|rule| {
                let before = rule.notify.as_ref()?.before;
                let next = rule.schedule.next_after(after.checked_add(before).ok()?, rule.zone.time_zone())?;
                next.timestamp().checked_sub(before).ok()
            })
            .min()
    }

    /// The longest catch-up limit of any rule (the default's when there are no rules): how far back a first
    /// evaluation, with no memory of a previous one, should look.
    pub fn longest_catch_up(&self) -> SignedDuration {
        self.rules.iter().map(|rule| rule.catch_up).max().unwrap_or(self.defaults.catch_up)
    }
}

/// The raw sections, as far as they could be read.
#[derive(Default)]
pub(crate) struct RawConfig {
    pub defaults: Option<raw::RawDefaults>,
    pub azure: Option<raw::RawAzure>,
    pub notify: Option<raw::RawNotify>,
    pub state: Option<raw::RawState>,
    pub tags: Option<raw::RawTags>,
    /// `None` when the file has no `scopes` key at all.
    pub scopes: Option<Vec<Spanned<raw::RawScope>>>,
    pub rules: Vec<Spanned<raw::RawRule>>,
    pub calendars: Vec<Spanned<raw::RawCalendar>>,
    pub channels: Vec<Spanned<raw::RawChannel>>,
    pub idle_shutdown: Option<raw::RawIdleShutdown>,
}

/// Deserializes one table section. Unknown keys are all reported and dropped first (so they do not hide each
/// other); then a shape error (wrong type, missing key) is recorded, prefixed with `context`, and the section
/// counts as absent.
fn section<T: serde::de::DeserializeOwned + raw::Keys>(
    mut value: Spanned<DeValue<'_>>,
    context: &str,
    errors: &mut error::Collector<'_>,
) -> Option<T> {
    drop_unknown_keys(value.get_mut(), T::KEYS, context, errors);
    if let DeValue::Table(table) = value.get_mut() {
        for (key, nested) in table.iter_mut() {
            if let Some((name, keys)) = T::NESTED.iter().find(|(name, _)| *name == key.get_ref().as_ref()) {
                drop_unknown_keys(nested.get_mut(), keys, &format!("{context}.{name}"), errors);
            }
        }
    }
    T::deserialize(ValueDeserializer::from(value)).map_err(|error| errors.toml(&error, Some(context))).ok()
}

/// Reports every key of `value` (when it is a table) that is not in `known`, and removes it.
fn drop_unknown_keys(value: &mut DeValue<'_>, known: &[&str], context: &str, errors: &mut error::Collector<'_>) {
    let DeValue::Table(table) = value else {
        return;
    };
    let unknown: Vec<_> =
        table.iter().map(|(key, _)| key).filter(|key| !known.contains(&key.get_ref().as_ref())).cloned().collect();
    for key in unknown {
        errors.at(
            &key.span(),
            format!("{context}: unknown key {:?}: expected one of {}", key.get_ref(), known.join(", ")),
        );
        table.remove(&key);
    }
}

/// Deserializes each entry of the array of tables `[[key]]` on its own, so one bad entry does not hide the
/// others. Errors name the entry as `key[N]`, counting from 1.
fn entries<T: serde::de::DeserializeOwned + raw::Keys>(
    value: Spanned<DeValue<'_>>,
    key: &str,
    errors: &mut error::Collector<'_>,
) -> Vec<Spanned<T>> {
    let span = value.span();
    let DeValue::Array(items) = value.into_inner() else {
        errors.at(&span, format!("{key}: expected an array of tables [[{key}]], found a single value"));
        return Vec::new();
    };
    items
        .into_iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let span = item.span();
            section::<T>(item, &format!("{key}[{}]", index + 1), errors).map(|entry| Spanned::new(span, entry))
        })
        .collect()
}
