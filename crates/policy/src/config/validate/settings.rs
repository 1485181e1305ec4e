//! The single-table sections: `[azure]`, `[notify]`, `[tags]` and `[idle_shutdown]`.

use jiff::SignedDuration;
use toml::Spanned;

use super::super::raw::{RawAzure, RawNotify, RawTags};
use super::super::{AzureSettings, CLOUDS, CREDENTIALS, NotifySettings};
use super::{Collector, duration, one_of};
use crate::tags::TagNames;

/// `[idle_shutdown] max`: a duration within Azure's bounds, 15 minutes to 3 days.
pub(super) fn idle_maximum(text: &Spanned<String>, errors: &mut Collector<'_>) -> Option<SignedDuration> {
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

/// `[notify]`: the `public_url` notices link to (http or https, no query) and the `owner_domain`.
pub(super) fn notify(raw: RawNotify, errors: &mut Collector<'_>) -> NotifySettings {
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

/// `[azure]`: the cloud, the credential, and an ARM endpoint (https) and API version (a date) that override them.
pub(super) fn azure(raw: RawAzure, errors: &mut Collector<'_>) -> AzureSettings {
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

/// `[tags]`: the tag names autostop reads and writes, each a valid Azure tag name; a bad one keeps its default.
pub(super) fn tags(raw: RawTags, errors: &mut Collector<'_>) -> TagNames {
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
pub(super) fn tag_name_ok(name: &str) -> bool {
    (1..=512).contains(&name.chars().count()) && !name.contains(['<', '>', '%', '&', '\\', '?', '/'])
}
