//! From raw sections to a [`Config`]: gives each value its meaning and records every problem with its position.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::ops::Range;
use std::path::Path;

use autostop_schedule::{Calendar, Field, Schedule, Zone};
use jiff::SignedDuration;
use toml::Spanned;

use super::error::Collector;
use super::raw::{
    RawAzure, RawCalendar, RawChannel, RawNotify, RawRecipients, RawRule, RawScope, RawSelector, RawTags,
};
use super::{
    AzureSettings, CLOUDS, CREDENTIALS, Config, DEFAULT_CATCH_UP, Defaults, NamedCalendar, NotifySettings, RawConfig,
    Rule, StateSettings,
};
use super::{
    Channel, ChannelKind, CredentialVariables, EmailChannel, Recipients, RuleNotify, SecretUrl, SmtpSecurity,
    SmtpServer,
};
use crate::duration::parse_duration;
use crate::eligibility::Action;
use crate::instance::{Kind, Scope};
use crate::selector::{Glob, Selector};
use crate::tags::TagNames;

/// How calendar files are found and read.
pub(super) struct Files<'a> {
    /// The config file's directory, which relative `file` paths start from.
    pub directory: &'a Path,
    /// Reads one file.
    pub read: &'a dyn Fn(&Path) -> io::Result<String>,
}

/// Validates every section; `None` only when an error was recorded.
pub(super) fn validate(
    raw: RawConfig,
    root: Range<usize>,
    files: &Files<'_>,
    errors: &mut Collector<'_>,
) -> Option<Config> {
    let defaults = raw.defaults.unwrap_or_default();
    let timezone = match &defaults.timezone {
        Some(name) => zone(name, "defaults.timezone", errors),
        None => Some(Zone::utc()),
    };
    let catch_up = match &defaults.catch_up {
        Some(text) => duration(text, "defaults.catch_up", errors),
        None => Some(DEFAULT_CATCH_UP),
    };
    let azure = azure(raw.azure.unwrap_or_default(), errors);
    let raw_notify = raw.notify.unwrap_or_default();
    let public_url_written = raw_notify.public_url.is_some();
    let notify = notify(raw_notify, errors);
    let state = raw.state.unwrap_or_default();
    let leader = state.leader;
    let keep = state.keep.and_then(|text| {
        let keep = duration(&text, "state.keep", errors)?;
        if keep < SignedDuration::from_hours(24) {
            errors.at(&text.span(), format!("state.keep: expected at least 1d, found {:?}", text.get_ref()));
            return None;
        }
        Some(keep)
    });
    let tags = tags(raw.tags.unwrap_or_default(), errors);
    let scopes = scopes(raw.scopes, root, errors);
    let declared: Vec<String> =
        raw.calendars.iter().map(|calendar| calendar.get_ref().name.get_ref().clone()).collect();
    let calendars = calendars(raw.calendars, files, errors);
    // Rules are checked even when the defaults are bad; a rule that needs a bad default is dropped silently,
    // since the default's own error already explains it. Likewise for a calendar that could not be read.
    let channels = channels(raw.channels, errors);
    let fallbacks = Fallbacks {
        zone: timezone.as_ref(),
        catch_up,
        calendars: &calendars,
        declared: &declared,
        channels: &channels,
        public_url_written,
    };
    let rules = rules(raw.rules, &fallbacks, errors);
    let idle_shutdown = match raw.idle_shutdown {
        Some(section) => Some(idle_maximum(&section.max, errors)?),
        None => None,
    };
    let defaults = Defaults { timezone: timezone?, catch_up: catch_up? };
    Some(Config {
        defaults,
        azure,
        notify,
        channels,
        state: StateSettings { keep, leader },
        tags,
        scopes,
        calendars,
        rules,
        idle_shutdown,
    })
}

/// What a rule inherits from `[defaults]`, when those are valid, and the calendars it may name.
struct Fallbacks<'a> {
    zone: Option<&'a Zone>,
    catch_up: Option<SignedDuration>,
    /// The calendars that were read.
    calendars: &'a [NamedCalendar],
    /// Every calendar name written, read or not.
    declared: &'a [String],
    /// The channels that were read.
    channels: &'a [Channel],
    /// Whether `[notify] public_url` is written (valid or not: a bad one has its own error).
    public_url_written: bool,
}

/// Reads each `[[channels]]` entry: a unique name, a known `kind` and that kind's keys (see [`channel_kind`]).
fn channels(raw: Vec<Spanned<RawChannel>>, errors: &mut Collector<'_>) -> Vec<Channel> {
    let mut channels: Vec<Channel> = Vec::new();
    for entry in raw {
        let entry_span = entry.span();
        let entry = entry.into_inner();
        let name = entry.name.get_ref().clone();
        if !rule_name_ok(&name) {
            errors.at(
                &entry.name.span(),
                format!("channels.name: expected letters, digits, '-', '_' or '.', found {name:?}"),
            );
            continue;
        }
        if channels.iter().any(|channel| channel.name.eq_ignore_ascii_case(&name)) {
            errors.at(
                &entry.name.span(),
                format!("channels.name: duplicate channel name {name:?} (names must be unique, ignoring case)"),
            );
            continue;
        }
        if let Some(kind) = channel_kind(entry, &name, entry_span, errors) {
            channels.push(Channel { name, kind });
        }
    }
    channels
}

/// The kinds `[[channels]] kind` accepts.
const CHANNEL_KINDS: &str = "webhook, teams, slack or email";

/// A channel's kind and its keys: `url` (http or https, never echoed back) for webhook, teams and slack;
/// `smtp`, `from`, `to` and optionally `username_env` with `password_env` for email. A key of another kind is
/// an error at that key.
fn channel_kind(entry: RawChannel, name: &str, span: Range<usize>, errors: &mut Collector<'_>) -> Option<ChannelKind> {
    let kind = entry.kind.get_ref().as_str();
    let email_keys = [
        ("smtp", entry.smtp.as_ref().map(Spanned::span)),
        ("from", entry.from.as_ref().map(Spanned::span)),
        ("to", entry.to.as_ref().map(Spanned::span)),
        ("username_env", entry.username_env.as_ref().map(Spanned::span)),
        ("password_env", entry.password_env.as_ref().map(Spanned::span)),
    ];
    let misplaced = |keys: &[(&str, Option<Range<usize>>)], errors: &mut Collector<'_>| {
        let mut ok = true;
        for (key, at) in keys {
            if let Some(at) = at {
                ok = false;
                errors.at(at, format!("channel {name}: {key}: not a key of kind = {kind:?}"));
            }
        }
        ok
    };
    match kind {
        "webhook" | "teams" | "slack" => {
            let fine = misplaced(&email_keys, errors);
            let Some(url) = entry.url else {
                errors.at(&span, format!("channel {name}: kind = {kind:?} needs url"));
                return None;
            };
            let url = channel_url(&url, name, errors);
            let url = url.filter(|_| fine)?;
            Some(match kind {
                "webhook" => ChannelKind::Webhook(url),
                "teams" => ChannelKind::Teams(url),
                _ => ChannelKind::Slack(url),
            })
        }
        "email" => {
            let fine = misplaced(&[("url", entry.url.as_ref().map(Spanned::span))], errors);
            let (Some(smtp), Some(from), Some(to)) = (entry.smtp, entry.from, entry.to) else {
                errors.at(&span, format!("channel {name}: kind = \"email\" needs smtp, from and to"));
                return None;
            };
            let server = smtp_server(&smtp, name, errors);
            let from = address(&from, &format!("channel {name}: from"), errors);
            let to = recipients(to, name, errors);
            let credentials = credential_variables(entry.username_env, entry.password_env, name, span, errors);
            let email = EmailChannel { server: server?, from: from?, to: to?, credentials: credentials? };
            fine.then_some(ChannelKind::Email(email))
        }
        other => {
            errors.at(&entry.kind.span(), format!("channel {name}: kind: expected {CHANNEL_KINDS}, found {other:?}"));
            None
        }
    }
}

/// A webhook's `url`: http or https. It may hold a secret, so it is never repeated in a message.
fn channel_url(url: &Spanned<String>, name: &str, errors: &mut Collector<'_>) -> Option<SecretUrl> {
    let text = url.get_ref();
    let host = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")).unwrap_or_default();
    if host.is_empty() || host.starts_with('/') || text.contains(char::is_whitespace) {
        errors.at(&url.span(), format!("channel {name}: url: expected an http:// or https:// URL"));
        return None;
    }
    Some(SecretUrl(text.clone()))
}

/// `smtp = "smtp://HOST[:PORT]"` (STARTTLS, port 587 by default) or `"smtps://HOST[:PORT]"` (implicit TLS, 465);
/// nothing else: no user name or password in it, no path.
fn smtp_server(smtp: &Spanned<String>, name: &str, errors: &mut Collector<'_>) -> Option<SmtpServer> {
    let text = smtp.get_ref();
    let expected = "expected smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT] (implicit TLS)";
    let mut refuse = |why: &str| errors.at(&smtp.span(), format!("channel {name}: smtp: {expected}, {why}"));
    let (security, rest, default_port) = if let Some(rest) = text.strip_prefix("smtps://") {
        (SmtpSecurity::ImplicitTls, rest, 465)
    } else if let Some(rest) = text.strip_prefix("smtp://") {
        (SmtpSecurity::StartTls, rest, 587)
    } else {
        refuse("found another scheme");
        return None;
    };
    if rest.contains('@') {
        // Whatever precedes the '@' may be a password: it is not repeated.
        refuse("found credentials in it (name them with username_env and password_env instead)");
        return None;
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let server = host_and_port(rest).and_then(|(host, port)| {
        let host_ok =
            !host.is_empty() && !host.contains(['/', '?', '#', '[', ']']) && !host.contains(char::is_whitespace);
        let port = match port {
            None => default_port,
            Some(port) => port.parse::<u16>().ok().filter(|port| *port > 0)?,
        };
        host_ok.then(|| SmtpServer { security, host: host.to_owned(), port })
    });
    if server.is_none() {
        refuse(&format!("found {text:?}"));
    }
    server
}

/// `HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`, split; `None` when it is none of these.
fn host_and_port(text: &str) -> Option<(&str, Option<&str>)> {
    match text.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            match after {
                "" => Some((host, None)),
                _ => Some((host, Some(after.strip_prefix(':')?))),
            }
        }
        None => Some(match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }),
    }
}

/// An e-mail address: `local@domain`, no spaces, no display name.
fn address(text: &Spanned<String>, key: &str, errors: &mut Collector<'_>) -> Option<String> {
    if address_ok(text.get_ref()) {
        return Some(text.get_ref().clone());
    }
    errors.at(
        &text.span(),
        format!("{key}: expected an e-mail address such as ops@example.com, found {:?}", text.get_ref()),
    );
    None
}

/// Whether `text` reads as `local@domain.tld`-like: one `@`, both sides non-empty, no whitespace or `<>,;"`.
pub(crate) fn address_ok(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !text.contains(char::is_whitespace)
        && !text.contains(['<', '>', ',', ';', '"'])
}

/// `to = "owner"` or `to = ["a@example.com", ...]` (at least one address).
fn recipients(to: Spanned<RawRecipients>, name: &str, errors: &mut Collector<'_>) -> Option<Recipients> {
    let span = to.span();
    let key = format!("channel {name}: to");
    match to.into_inner() {
        RawRecipients::One(owner) if owner == "owner" => Some(Recipients::Owners),
        RawRecipients::One(other) => {
            errors.at(&span, format!("{key}: expected \"owner\" or a list of addresses, found {other:?}"));
            None
        }
        RawRecipients::Many(addresses) if addresses.is_empty() => {
            errors.at(&span, format!("{key}: expected at least one address"));
            None
        }
        RawRecipients::Many(addresses) => {
            let bad: Vec<&String> = addresses.iter().filter(|address| !address_ok(address)).collect();
            if let Some(first) = bad.first() {
                errors.at(&span, format!("{key}: expected e-mail addresses such as ops@example.com, found {first:?}"));
                return None;
            }
            Some(Recipients::Addresses(addresses))
        }
    }
}

/// `username_env` and `password_env`: both or neither, each an environment variable's name.
fn credential_variables(
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    name: &str,
    span: Range<usize>,
    errors: &mut Collector<'_>,
) -> Option<Option<CredentialVariables>> {
    let variable = |value: &Spanned<String>, key: &str, errors: &mut Collector<'_>| {
        let text = value.get_ref();
        let ok = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            errors.at(
                &value.span(),
                format!("channel {name}: {key}: expected the name of an environment variable such as SMTP_PASSWORD, found {text:?}"),
            );
        }
        ok.then(|| text.clone())
    };
    match (username, password) {
        (None, None) => Some(None),
        (Some(username), Some(password)) => {
            let username = variable(&username, "username_env", errors);
            let password = variable(&password, "password_env", errors);
            Some(Some(CredentialVariables { username: username?, password: password? }))
        }
        _ => {
            errors.at(&span, format!("channel {name}: expected both username_env and password_env, or neither"));
            None
        }
    }
}

/// Reads each `[[calendars]]` entry: its name, and its `file` (reporting each bad line of it) or its `dates`.
fn calendars(raw: Vec<Spanned<RawCalendar>>, files: &Files<'_>, errors: &mut Collector<'_>) -> Vec<NamedCalendar> {
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut calendars = Vec::new();
    for entry in raw {
        let entry_span = entry.span();
        let entry = entry.into_inner();
        let name = entry.name.get_ref().clone();
        let key = format!("calendar {name}");
        if !rule_name_ok(&name) {
            errors.at(
                &entry.name.span(),
                format!("calendars.name: expected letters, digits, '-', '_' or '.', found {name:?}"),
            );
            continue;
        }
        if let Some(first) = seen.get(&name.to_ascii_lowercase()) {
            let (line, column) = errors.line_column(first.start);
            errors.at(
                &entry.name.span(),
                format!("calendars.name: duplicate calendar name {name:?}, first defined at {line}:{column} (names must be unique, ignoring case)"),
            );
            continue;
        }
        seen.insert(name.to_ascii_lowercase(), entry.name.span());
        let file = entry.file.as_ref().map(|file| std::path::PathBuf::from(file.get_ref()));
        let calendar = match (entry.file, entry.dates) {
            (Some(file), None) => calendar_file(&file, &key, files, errors),
            (None, Some(dates)) => listed_dates(dates, &key, errors),
            (Some(_), Some(_)) | (None, None) => {
                errors.at(
                    &entry_span,
                    format!("{key}: expected either file (an iCalendar file) or dates, not both or neither"),
                );
                None
            }
        };
        if let Some(calendar) = calendar {
            calendars.push(NamedCalendar { name, file, calendar });
        }
    }
    calendars
}

/// Reads and parses an iCalendar `file`, relative to the config's directory.
fn calendar_file(file: &Spanned<String>, key: &str, files: &Files<'_>, errors: &mut Collector<'_>) -> Option<Calendar> {
    let path = files.directory.join(file.get_ref());
    let text = (files.read)(&path)
        .map_err(|err| errors.at(&file.span(), format!("{key}: file: cannot read {}: {err}", path.display())))
        .ok()?;
    Calendar::from_ics(&text)
        .map_err(|problems| {
            for problem in problems {
                errors.in_file(&path, problem.line, problem.message);
            }
        })
        .ok()
}

/// A `dates` list: each `YYYY-MM-DD`.
fn listed_dates(dates: Vec<Spanned<String>>, key: &str, errors: &mut Collector<'_>) -> Option<Calendar> {
    let mut ok = true;
    let mut parsed = Vec::new();
    for date in dates {
        match jiff::civil::Date::strptime("%Y-%m-%d", date.get_ref()) {
            Ok(day) => parsed.push(day),
            Err(_) => {
                ok = false;
                errors.at(
                    &date.span(),
                    format!("{key}: dates: expected a date such as 2026-01-01, found {:?}", date.get_ref()),
                );
            }
        }
    }
    ok.then(|| Calendar::from_dates(parsed))
}

/// `[idle_shutdown] max`: a duration within Azure's bounds, 15 minutes to 3 days.
fn idle_maximum(text: &Spanned<String>, errors: &mut Collector<'_>) -> Option<SignedDuration> {
    let max = duration(text, "idle_shutdown.max", errors)?;
    if !(crate::idle::MIN_IDLE_SHUTDOWN..=crate::idle::MAX_IDLE_SHUTDOWN).contains(&max) {
        errors.at(
            &text.span(),
            format!("idle_shutdown.max: expected 15 minutes to 3 days (Azure's bounds), found {:?}", text.get_ref()),
        );
        return None;
    }
    Some(max)
}

fn zone(name: &Spanned<String>, key: &str, errors: &mut Collector<'_>) -> Option<Zone> {
    Zone::parse(name.get_ref()).map_err(|err| errors.at(&name.span(), format!("{key}: {err}"))).ok()
}

fn duration(text: &Spanned<String>, key: &str, errors: &mut Collector<'_>) -> Option<SignedDuration> {
    parse_duration(text.get_ref()).map_err(|err| errors.at(&text.span(), format!("{key}: {err}"))).ok()
}

/// Checks `value` is one of `allowed`.
fn one_of(value: &Spanned<String>, key: &str, allowed: &[&str], errors: &mut Collector<'_>) -> Option<String> {
    if allowed.contains(&value.get_ref().as_str()) {
        return Some(value.get_ref().clone());
    }
    errors.at(&value.span(), format!("{key}: expected one of {}, found {:?}", allowed.join(", "), value.get_ref()));
    None
}

fn notify(raw: RawNotify, errors: &mut Collector<'_>) -> NotifySettings {
    let public_url = raw.public_url.and_then(|url| {
        let text = url.get_ref();
        let host = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")).unwrap_or_default();
        if host.is_empty() || host.starts_with('/') || text.contains(char::is_whitespace) || text.contains(['?', '#']) {
            let message = format!("notify.public_url: expected an http:// or https:// URL, found {text:?}");
            errors.at(&url.span(), message);
            return None;
        }
        Some(text.trim_end_matches('/').to_owned())
    });
    let owner_domain = raw.owner_domain.and_then(|domain| {
        let text = domain.get_ref();
        let ok = !text.is_empty()
            && text.split('.').all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'));
        if !ok {
            errors.at(
                &domain.span(),
                format!("notify.owner_domain: expected a domain name such as example.com, found {text:?}"),
            );
        }
        ok.then(|| text.clone())
    });
    NotifySettings { public_url, owner_domain }
}

fn azure(raw: RawAzure, errors: &mut Collector<'_>) -> AzureSettings {
    let cloud = raw.cloud.and_then(|cloud| one_of(&cloud, "azure.cloud", &CLOUDS, errors));
    let credential =
        raw.credential.and_then(|credential| one_of(&credential, "azure.credential", &CREDENTIALS, errors));
    let arm_endpoint = raw.arm_endpoint.and_then(|endpoint| {
        let text = endpoint.get_ref();
        let host = text.strip_prefix("https://").unwrap_or_default();
        if host.is_empty() || host.starts_with('/') || text.contains(char::is_whitespace) {
            errors.at(&endpoint.span(), format!("azure.arm_endpoint: expected an https:// URL, found {text:?}"));
            return None;
        }
        Some(text.clone())
    });
    let api_version = raw.api_version.and_then(|version| {
        let text = version.get_ref();
        let date = text.strip_suffix("-preview").unwrap_or(text);
        if jiff::civil::Date::strptime("%Y-%m-%d", date).is_err() {
            errors.at(
                &version.span(),
                format!("azure.api_version: expected a date such as 2024-10-01 (optionally -preview), found {text:?}"),
            );
            return None;
        }
        Some(text.clone())
    });
    AzureSettings { cloud, arm_endpoint, credential, api_version }
}

fn tags(raw: RawTags, errors: &mut Collector<'_>) -> TagNames {
    let defaults = TagNames::default();
    let mut name = |value: Option<Spanned<String>>, key: &str, default: String| match value {
        None => default,
        Some(value) if tag_name_ok(value.get_ref()) => value.into_inner(),
        Some(value) => {
            errors.at(
                &value.span(),
                format!(
                    "tags.{key}: expected a tag name of 1 to 512 characters without <>%&\\?/, found {:?}",
                    value.get_ref()
                ),
            );
            default
        }
    };
    TagNames {
        opt_out: name(raw.opt_out, "opt_out", defaults.opt_out),
        snooze_until: name(raw.snooze_until, "snooze_until", defaults.snooze_until),
        rule: name(raw.rule, "rule", defaults.rule),
        owner: name(raw.owner, "owner", defaults.owner),
    }
}

/// Azure tag names: 1 to 512 characters, none of `<>%&\?/`.
fn tag_name_ok(name: &str) -> bool {
    (1..=512).contains(&name.chars().count()) && !name.contains(['<', '>', '%', '&', '\\', '?', '/'])
}

fn scopes(raw: Option<Vec<Spanned<RawScope>>>, root: Range<usize>, errors: &mut Collector<'_>) -> Vec<Scope> {
    let raw = match raw {
        Some(raw) => raw,
        None => {
            errors.at(&root, "no [[scopes]]: expected at least one, since autostop never acts outside its scopes");
            return Vec::new();
        }
    };
    raw.into_iter()
        .filter_map(|scope| {
            let scope = scope.into_inner();
            let subscription = scope.subscription.get_ref();
            if autostop_azure::validate_subscription_id(subscription).is_err() {
                errors.at(
                    &scope.subscription.span(),
                    format!(
                        "scopes.subscription: expected a subscription id such as 00000000-0000-0000-0000-000000000000, found {subscription:?}"
                    ),
                );
                return None;
            }
            let resource_group = scope
                .resource_group
                .and_then(|rg| azure_name(rg, "scopes.resource_group", autostop_azure::validate_resource_group, errors));
            let workspace = scope
                .workspace
                .and_then(|ws| azure_name(ws, "scopes.workspace", autostop_azure::validate_workspace_name, errors));
            let kinds = match scope.kinds {
                Some(written) => kinds(written, "scopes.kinds", errors)?,
                None => vec![Kind::ComputeInstance],
            };
            Some(Scope { kinds, subscription: subscription.clone(), resource_group, workspace })
        })
        .collect()
}

/// A `kinds` list: each one of compute-instance, vm, vmss, at least one, none twice.
fn kinds(written: Spanned<Vec<Spanned<String>>>, key: &str, errors: &mut Collector<'_>) -> Option<Vec<Kind>> {
    let mut kinds = Vec::new();
    let mut ok = true;
    for entry in written.get_ref() {
        match Kind::parse(entry.get_ref()) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(kind) => {
                ok = false;
                errors.at(&entry.span(), format!("{key}: {kind} is listed twice"));
            }
            None => {
                ok = false;
                errors.at(
                    &entry.span(),
                    format!("{key}: expected one of compute-instance, vm, vmss, found {:?}", entry.get_ref()),
                );
            }
        }
    }
    if ok && kinds.is_empty() {
        errors
            .at(&written.span(), format!("{key}: expected at least one kind (compute-instance, vm, vmss), found none"));
        return None;
    }
    ok.then_some(kinds)
}

/// A resource group or workspace name, checked by the Azure crate's validator for its kind (Azure's own naming
/// rule), so that the configuration accepts exactly the names the client can address.
fn azure_name(
    name: Spanned<String>,
    key: &str,
    validate: fn(&str) -> Result<(), autostop_azure::Error>,
    errors: &mut Collector<'_>,
) -> Option<String> {
    match validate(name.get_ref()) {
        Ok(()) => Some(name.into_inner()),
        Err(err) => {
            errors.at(&name.span(), format!("{key}: {err}"));
            None
        }
    }
}

fn rules(raw: Vec<Spanned<RawRule>>, defaults: &Fallbacks<'_>, errors: &mut Collector<'_>) -> Vec<Rule> {
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut rules = Vec::new();
    for rule in raw {
        let rule = rule.into_inner();
        let name_span = rule.name.span();
        let name = rule.name.get_ref().clone();
        let name_ok = rule_name_ok(&name);
        if !name_ok {
            errors.at(&name_span, format!("rules.name: expected letters, digits, '-', '_' or '.', found {name:?}"));
        } else if let Some(first) = seen.get(&name.to_ascii_lowercase()) {
            let (line, column) = errors.line_column(first.start);
            errors.at(
                &name_span,
                format!("rules.name: duplicate rule name {name:?}, first defined at {line}:{column} (names must be unique, ignoring case)"),
            );
        } else {
            seen.insert(name.to_ascii_lowercase(), name_span);
        }
        if let Some(rule) = one_rule(rule, &name, defaults, errors).filter(|_| name_ok) {
            rules.push(rule);
        }
    }
    rules
}

/// A rule's `notify`: a stop rule only, a positive `before`, channels that `[[channels]]` declares.
fn rule_notify(
    raw: Spanned<super::raw::RawRuleNotify>,
    name: &str,
    action: Option<Action>,
    defaults: &Fallbacks<'_>,
    errors: &mut Collector<'_>,
) -> Option<RuleNotify> {
    let span = raw.span();
    let raw = raw.into_inner();
    if action == Some(Action::Start) {
        errors.at(&span, format!("rule {name}: notify: only stop rules send notices (an owner answers a coming stop)"));
        return None;
    }
    if !defaults.public_url_written {
        errors.at(
            &span,
            format!(
                "rule {name}: notify: [notify] public_url is not set: notices carry links to it (the URL `autostop \
                 serve` is reached at from the owners' browsers)"
            ),
        );
    }
    let before = duration(&raw.before, &format!("rule {name}: notify.before"), errors);
    let before = before.filter(|before| {
        let positive = before.is_positive();
        if !positive {
            errors.at(
                &raw.before.span(),
                format!("rule {name}: notify.before: expected a positive duration such as 30m"),
            );
        }
        positive
    });
    let mut channels = Vec::new();
    for channel in &raw.channels {
        match defaults.channels.iter().find(|known| known.name.eq_ignore_ascii_case(channel.get_ref())) {
            Some(known) => channels.push(known.name.clone()),
            None => errors.at(
                &channel.span(),
                format!("rule {name}: notify.channels: no [[channels]] entry is named {:?}", channel.get_ref()),
            ),
        }
    }
    if channels.len() != raw.channels.len() || !defaults.public_url_written {
        return None;
    }
    Some(RuleNotify { before: before?, channels })
}

fn rule_name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn one_rule(raw: RawRule, name: &str, defaults: &Fallbacks<'_>, errors: &mut Collector<'_>) -> Option<Rule> {
    let action = match raw.action.get_ref().as_str() {
        "stop" => Some(Action::Stop),
        "start" => Some(Action::Start),
        other => {
            errors.at(&raw.action.span(), format!("rule {name}: action: expected stop or start, found {other:?}"));
            None
        }
    };
    let schedule = Schedule::parse(raw.schedule.get_ref())
        .map_err(|err| {
            let at = schedule_error_span(&raw.schedule, &err, errors);
            errors.at(&at, format!("rule {name}: schedule {:?}: {err}", raw.schedule.get_ref()));
        })
        .ok();
    let zone = match &raw.timezone {
        Some(zone_name) => zone(zone_name, &format!("rule {name}: timezone"), errors),
        None => defaults.zone.cloned(),
    };
    let catch_up = match &raw.catch_up {
        Some(text) => duration(text, &format!("rule {name}: catch_up"), errors),
        None => defaults.catch_up,
    };
    let select = match raw.select {
        Some(select) => selector(select.into_inner(), &format!("rule {name}: select"), errors),
        None => Some(Selector::default()),
    };
    let exclude = match raw.exclude {
        Some(exclude) => {
            let span = exclude.span();
            let exclude = selector(exclude.into_inner(), &format!("rule {name}: exclude"), errors);
            if exclude.as_ref().is_some_and(Selector::is_empty) {
                errors.at(&span, format!("rule {name}: exclude: expected names, tags or sizes, found an empty table (it would exclude everything)"));
                return None;
            }
            Some(exclude?)
        }
        None => None,
    };
    let skip_on = skip_on(raw.skip_on, name, defaults, errors);
    let notify = match raw.notify {
        None => Some(None),
        Some(notify) => rule_notify(notify, name, action, defaults, errors).map(Some),
    };
    let kinds = raw.kinds.map(|written| kinds(written, &format!("rule {name}: kinds"), errors));
    Some(Rule {
        name: name.to_owned(),
        action: action?,
        schedule: schedule?,
        zone: zone?,
        catch_up: catch_up?,
        select: select?,
        exclude,
        force: raw.force,
        skip_on: skip_on?,
        restart_owner_stopped: raw.restart_owner_stopped,
        notify: notify?,
        kinds: match kinds {
            Some(kinds) => Some(kinds?),
            None => None,
        },
    })
}

/// The calendars named by a rule's `skip_on`. A name that no `[[calendars]]` entry declares is an error at that
/// name; a declared calendar that could not be read is dropped (its own error explains it).
fn skip_on(
    names: Vec<Spanned<String>>,
    rule: &str,
    defaults: &Fallbacks<'_>,
    errors: &mut Collector<'_>,
) -> Option<Vec<NamedCalendar>> {
    let mut ok = true;
    let mut calendars = Vec::new();
    for name in names {
        let wanted = name.get_ref();
        if let Some(found) = defaults.calendars.iter().find(|named| named.name.eq_ignore_ascii_case(wanted)) {
            calendars.push(found.clone());
            continue;
        }
        ok = false;
        if !defaults.declared.iter().any(|declared| declared.eq_ignore_ascii_case(wanted)) {
            let expected = if defaults.declared.is_empty() {
                "a calendar declared in [[calendars]], and there is none".to_owned()
            } else {
                format!("one of {}", defaults.declared.join(", "))
            };
            errors.at(&name.span(), format!("rule {rule}: skip_on: unknown calendar {wanted:?}: expected {expected}"));
        }
    }
    ok.then_some(calendars)
}

/// Points a schedule error at the field it concerns when the string is written verbatim, else at the string.
fn schedule_error_span(
    schedule: &Spanned<String>,
    err: &autostop_schedule::Error,
    errors: &Collector<'_>,
) -> Range<usize> {
    let text = schedule.get_ref();
    let located = err.field().and_then(|field| {
        let start = errors.verbatim_start(&schedule.span(), text)?;
        let order = [Field::Second, Field::Minute, Field::Hour, Field::Day, Field::Month, Field::DayOfWeek];
        let index = order.iter().position(|known| *known == field)?;
        let words: Vec<&str> = text.split_whitespace().collect();
        // The 5-field form has no seconds: its first field is the minute.
        let index = if words.len() == 5 { index.checked_sub(1)? } else { index };
        let word = words.get(index)?;
        let offset = word.as_ptr() as usize - text.as_ptr() as usize;
        Some(start + offset..start + offset + word.len())
    });
    located.unwrap_or_else(|| schedule.span())
}

fn selector(raw: RawSelector, key: &str, errors: &mut Collector<'_>) -> Option<Selector> {
    let mut ok = true;
    let mut globs = |patterns: Vec<Spanned<String>>, field: &str| -> Vec<Glob> {
        patterns
            .into_iter()
            .filter_map(|pattern| {
                Glob::new(pattern.get_ref())
                    .map_err(|err| {
                        ok = false;
                        errors.at(&pattern.span(), format!("{key}.{field}: {err}"));
                    })
                    .ok()
            })
            .collect()
    };
    let names = globs(raw.names, "names");
    let sizes = globs(raw.sizes, "sizes");
    let mut tags = BTreeMap::new();
    for (tag, value) in raw.tags {
        if !tag_name_ok(tag.get_ref()) {
            ok = false;
            errors.at(
                &tag.span(),
                format!("{key}.tags: expected a tag name without <>%&\\?/, found {:?}", tag.get_ref()),
            );
            continue;
        }
        tags.insert(tag.into_inner(), value.into_inner());
    }
    ok.then_some(Selector { names, tags, sizes })
}
