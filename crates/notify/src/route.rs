//! Which messages a channel receives for one notice, and the key each is claimed under so that it goes exactly
//! once: webhook, Teams and Slack channels one message (`notice:CHANNEL`); an e-mail channel with fixed addresses
//! one digest to them (`notice:CHANNEL`); an e-mail channel with `to = "owner"` one digest per owner with only
//! that owner's instances (`notice:CHANNEL:OWNER`, `-` for instances without an owner), never one per instance.
//! Pure.

use autostop_policy::config::{Channel, ChannelKind, Recipients};

use crate::email::{Undeliverable, owner_address};
use crate::notice::Notice;

/// One message for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    /// What it is claimed and recorded under (the claim's target id).
    pub target: String,
    /// Who receives it.
    pub to: To,
    /// What it says.
    pub notice: Notice,
}

/// Who receives a parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// The channel's own endpoint (a webhook URL).
    Endpoint,
    /// These e-mail addresses.
    Addresses(Vec<String>),
    /// Nobody: the owner cannot be mailed.
    Nobody(Undeliverable),
}

/// The parcels `channel` receives for `notice`; `owner_domain` completes owners that are not addresses.
pub fn parcels(channel: &Channel, notice: &Notice, owner_domain: Option<&str>) -> Vec<Parcel> {
    let whole = |to| Parcel { target: format!("notice:{}", channel.name), to, notice: notice.clone() };
    match &channel.kind {
        ChannelKind::Webhook(_) | ChannelKind::Teams(_) | ChannelKind::Slack(_) => vec![whole(To::Endpoint)],
        ChannelKind::Email(email) => match &email.to {
            Recipients::Addresses(addresses) => vec![whole(To::Addresses(addresses.clone()))],
            Recipients::Owners => notice
                .by_owner()
                .into_iter()
                .map(|(owner, notice)| Parcel {
                    target: format!("notice:{}:{}", channel.name, owner.as_deref().unwrap_or("-")),
                    to: match owner_address(owner.as_deref(), owner_domain) {
                        Ok(address) => To::Addresses(vec![address]),
                        Err(undeliverable) => To::Nobody(undeliverable),
                    },
                    notice,
                })
                .collect(),
        },
    }
}
