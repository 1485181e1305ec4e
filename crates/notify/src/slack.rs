//! The notice as a Slack message for an incoming webhook: Block Kit `blocks` with a plain `text` fallback (what
//! notifications show). A header section, then per instance a section (name, workspace, owner) and an `actions`
//! block of link buttons (the signed links; they open the link's confirmation page, nothing acts on that GET).
//!
//! Slack's limits are kept rather than failed: at most [`MAX_BLOCKS`] blocks (instances past them are counted in
//! a last block), section text at most [`MAX_TEXT`] characters (shortened with `…`), and a button whose URL is
//! longer than [`MAX_URL`] is left out (said in the section). Text is escaped for `mrkdwn` (`&`, `<`, `>`). Pure.

use serde_json::{Value, json};

use crate::notice::{Notice, NoticeInstance};

/// Blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Characters in a section's text.
pub const MAX_TEXT: usize = 3000;
/// Characters in a button's URL.
pub const MAX_URL: usize = 3000;

/// The message to POST for `notice`.
pub fn message(notice: &Notice) -> Value {
    let header = format!(
        "*autostop*: {}. An owner may postpone their instance's stop or skip it this time.",
        escape(&notice.headline())
    );
    let mut blocks = vec![section(&header)];
    // Two blocks per instance; when not all fit, one block is kept for the count of those left out.
    let room = MAX_BLOCKS - blocks.len();
    let listed = if 2 * notice.instances.len() <= room { notice.instances.len() } else { (room - 1) / 2 };
    for instance in &notice.instances[..listed] {
        blocks.extend(instance_blocks(instance));
    }
    let left_out = notice.instances.len() - listed;
    if left_out > 0 {
        let text = format!(
            "…and {left_out} more instance(s) not listed: a Slack message holds at most {MAX_BLOCKS} blocks. Their \
             owners can see the coming stop on autostop's status page."
        );
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}));
    }
    json!({"text": format!("autostop: {}", notice.headline()), "blocks": blocks})
}

/// A section and its buttons (no `actions` block when no button is left: Slack refuses an empty one).
fn instance_blocks(instance: &NoticeInstance) -> Vec<Value> {
    let mut buttons: Vec<(String, String, &str)> = instance
        .postpone
        .iter()
        .map(|link| {
            (
                format!("Postpone {}", link.label),
                format!("postpone-{}", link.label.trim_start_matches('+')),
                link.url.as_str(),
            )
        })
        .collect();
    buttons.push(("Skip this stop".to_owned(), "skip".to_owned(), &instance.skip_url));
    let too_long = buttons.iter().filter(|(_, _, url)| url.chars().count() > MAX_URL).count();
    let owner = instance.owner.as_deref().unwrap_or("no owner");
    let mut text = format!("*{}* in {} ({})", escape(&instance.name), escape(&instance.workspace), escape(owner));
    if too_long > 0 {
        text.push_str(&format!(
            "\n{too_long} link(s) left out: longer than Slack's {MAX_URL} characters (shorten [notify] public_url)"
        ));
    }
    let elements: Vec<Value> = buttons
        .into_iter()
        .filter(|(_, _, url)| url.chars().count() <= MAX_URL)
        .map(|(title, action_id, url)| {
            json!({"type": "button", "text": {"type": "plain_text", "text": title}, "url": url, "action_id": action_id})
        })
        .collect();
    let mut blocks = vec![section(&text)];
    if !elements.is_empty() {
        blocks.push(json!({"type": "actions", "elements": elements}));
    }
    blocks
}

/// A `mrkdwn` section, its text cut to [`MAX_TEXT`] characters.
fn section(text: &str) -> Value {
    let text = if text.chars().count() > MAX_TEXT {
        let mut cut: String = text.chars().take(MAX_TEXT - 1).collect();
        cut.push('…');
        cut
    } else {
        text.to_owned()
    };
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// Escapes the three characters Slack's `mrkdwn` gives a meaning to.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
