//! The notice as a Microsoft Teams message: an Adaptive Card (version 1.4, the highest Teams Workflows webhooks
//! accept) in the `{"type":"message","attachments":[...]}` envelope that both Workflows webhooks and the legacy
//! incoming webhooks read. Each instance is a container with its name, workspace and owner, and `Action.OpenUrl`
//! buttons for its signed links (they open the link's confirmation page; nothing acts on that GET).
//!
//! Teams refuses a message over 28 KB (and clients report failures somewhat below it), so the whole envelope is
//! kept under [`MAX_BYTES`]: the instances that do not fit are left out and a last line says how many. Pure.

use serde_json::{Value, json};

use crate::notice::{Notice, NoticeInstance};

/// The most bytes of JSON a card is allowed, well under Teams' 28 KB limit.
pub const MAX_BYTES: usize = 24 * 1024;

/// Room kept for the closing "N more" line.
const SUMMARY_RESERVE: usize = 512;

/// The card's version: Teams Workflows refuse cards above 1.4.
pub const CARD_VERSION: &str = "1.4";

/// The MIME type of an Adaptive Card attachment.
pub const CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// The message to POST for `notice`: at most [`MAX_BYTES`] of JSON.
pub fn message(notice: &Notice) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": format!("autostop: {}", notice.headline()),
        "weight": "Bolder",
        "size": "Medium",
        "wrap": true,
    })];
    body.push(json!({
        "type": "TextBlock",
        "text": "An owner may postpone their instance's stop or skip it this time:",
        "wrap": true,
    }));
    let mut used = envelope(body.clone()).to_string().len() + SUMMARY_RESERVE;
    let mut listed = 0;
    for instance in &notice.instances {
        let item = container(instance);
        let size = item.to_string().len() + 1;
        if used + size > MAX_BYTES {
            break;
        }
        used += size;
        body.push(item);
        listed += 1;
    }
    let left_out = notice.instances.len() - listed;
    if left_out > 0 {
        body.push(json!({
            "type": "TextBlock",
            "text": format!(
                "…and {left_out} more instance(s) not listed: a Teams message is limited to 28 KB. Their owners can \
                 see the coming stop on autostop's status page."
            ),
            "wrap": true,
            "isSubtle": true,
        }));
    }
    envelope(body)
}

/// The envelope around a card whose body is `body`.
fn envelope(body: Vec<Value>) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": CONTENT_TYPE,
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": CARD_VERSION,
                "body": body,
            },
        }],
    })
}

/// One instance: what it is, and a button per link.
fn container(instance: &NoticeInstance) -> Value {
    let owner = instance.owner.as_deref().unwrap_or("no owner");
    let mut actions: Vec<Value> = instance
        .postpone
        .iter()
        .map(|link| json!({"type": "Action.OpenUrl", "title": format!("Postpone {}", link.label), "url": link.url}))
        .collect();
    actions.push(json!({"type": "Action.OpenUrl", "title": "Skip this stop", "url": instance.skip_url}));
    json!({
        "type": "Container",
        "separator": true,
        "items": [
            {"type": "TextBlock", "text": format!("**{}** in {} ({owner})", instance.name, instance.workspace), "wrap": true},
            {"type": "ActionSet", "actions": actions},
        ],
    })
}
