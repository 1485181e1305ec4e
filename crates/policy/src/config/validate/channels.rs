//! `[[channels]]`: where notices go. Each has a unique name and a `kind` with that kind's keys: a URL for
//! webhook, teams and slack; the keys of [`email`] for e-mail.

mod email;

use std::ops::Range;

use toml::Spanned;

use super::super::raw::RawChannel;
use super::super::{Channel, ChannelKind, EmailChannel, SecretUrl};
use super::{Collector, well_formed_name};
use email::{address, credential_variables, recipients, smtp_server};

/// Reads each `[[channels]]` entry: a unique name, a known `kind` and that kind's keys (see [`channel_kind`]).
pub(super) fn channels(raw: Vec<Spanned<RawChannel>>, errors: &mut Collector<'_>) -> Vec<Channel> {
    let mut channels: Vec<Channel> = Vec::new();
    for entry in raw {
        let entry_span = entry.span();
        let entry = entry.into_inner();
        let name = entry.name.get_ref().clone();
        if !well_formed_name(&entry.name, "channels", errors) {
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
