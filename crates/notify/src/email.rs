//! The notice as an e-mail: a subject, a plain-text body and an HTML body (escaped) listing each instance with
//! its signed links (they open the link's confirmation page; nothing acts on that GET), and who receives it.
//!
//! Who: a channel with `to = "owner"` sends one digest per owner with only that owner's instances
//! ([`Notice::by_owner`]). An owner (the creator's user name Azure gives, else an Entra object id; a VM's owner
//! tag) is mailed at its own value when that is an e-mail address; an object id (a GUID) is not deliverable
//! (autostop does not look people up); any other value is mailed at `OWNER@owner_domain` when `[notify]
//! owner_domain` is set, else it is not deliverable ([`Undeliverable`]).
//! A channel with fixed addresses sends one digest of every instance to them. Pure.

use std::fmt::Write as _;

use thiserror::Error;

use crate::notice::Notice;

/// One e-mail's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// Why an owner's digest cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Undeliverable {
    /// Instances whose owner Azure does not say.
    #[error("instances without an owner cannot be mailed to their owner")]
    NoOwner,
    /// An owner that is an Entra object id: Azure gave no user name, and autostop does not look people up.
    #[error("owner {0} is an Entra object id, not an e-mail address (Azure gave no user name)")]
    ObjectId(String),
    /// An owner that is not an e-mail address, with no domain to complete it.
    #[error("owner {0:?} is not an e-mail address and [notify] owner_domain is not set")]
    NotAnAddress(String),
}

/// The address `owner`'s digest goes to (see the module's documentation).
pub fn owner_address(owner: Option<&str>, owner_domain: Option<&str>) -> Result<String, Undeliverable> {
    let owner = owner.ok_or(Undeliverable::NoOwner)?;
    if owner.contains('@') {
        return Ok(owner.to_owned());
    }
    if is_guid(owner) {
        return Err(Undeliverable::ObjectId(owner.to_owned()));
    }
    match owner_domain {
        Some(domain) => Ok(format!("{owner}@{domain}")),
        None => Err(Undeliverable::NotAnAddress(owner.to_owned())),
    }
}

/// Whether `text` is a GUID (`8-4-4-4-12` hexadecimal digits), as Entra object ids are.
fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The e-mail for `notice`.
pub fn digest(notice: &Notice) -> Digest {
    let subject = format!("autostop: {}", notice.headline());
    let mut text = format!(
        "{}.\nAn owner may postpone their instance's stop or skip it this time: each link opens a page that asks \
         before it changes anything.\n",
        notice.headline()
    );
    let mut html = format!(
        "<!DOCTYPE html>\n<html><body>\n<p><strong>{}</strong>.</p>\n<p>An owner may postpone their instance's \
         stop or skip it this time: each link opens a page that asks before it changes anything.</p>\n<ul>\n",
        escape(&notice.headline())
    );
    for instance in &notice.instances {
        let owner = instance.owner.as_deref().unwrap_or("no owner");
        let _ = write!(text, "\n{} in {} ({owner})\n", instance.name, instance.workspace);
        let _ = write!(
            html,
            "<li><strong>{}</strong> in {} ({}):",
            escape(&instance.name),
            escape(&instance.workspace),
            escape(owner)
        );
        let links = instance
            .postpone
            .iter()
            .map(|link| (format!("postpone {} (until {})", link.label, link.until), &link.url))
            .chain([("skip this stop".to_owned(), &instance.skip_url)]);
        for (label, url) in links {
            let _ = writeln!(text, "  {label}: {url}");
            let _ = write!(html, " <a href=\"{}\">{}</a>", escape(url), escape(&label));
        }
        html.push_str("</li>\n");
    }
    html.push_str("</ul>\n</body></html>\n");
    Digest { subject, text, html }
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
