//! Delivering notices: one [`Parcel`] to one channel, over HTTP (webhook, Teams, Slack) or SMTP (e-mail). The
//! content comes from `autostop_notify` (pure); this is the I/O. Every channel trusts the same roots as the rest
//! of autostop (the platform's, plus `SSL_CERT_FILE`), every send is bounded by [`SEND_TIMEOUT`], and an error
//! names what failed but never a webhook URL or an SMTP password.

mod http;
mod smtp;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use autostop_notify::{Parcel, To};
use autostop_policy::config::{Channel, ChannelKind};

/// How long one channel has to take a message (connection, TLS, the whole exchange).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// What sending needs, built once per evaluation.
pub struct Couriers {
    http: reqwest::Client,
    /// The PEM text of `SSL_CERT_FILE`, for SMTP's TLS.
    extra_roots: Option<Vec<u8>>,
}

impl Couriers {
    /// The HTTP client and the trust roots, from `SSL_CERT_FILE` when set.
    pub fn new() -> anyhow::Result<Couriers> {
        let roots = std::env::var_os(autostop_azure::SSL_CERT_FILE).map(PathBuf::from);
        let http = autostop_azure::http_client_with(&autostop_azure::HttpClientOptions {
            extra_roots_pem: roots.clone(),
            connect_timeout: SEND_TIMEOUT,
            read_timeout: SEND_TIMEOUT,
        })
        .context("notices: the HTTP client")?;
        let extra_roots = match roots {
            Some(path) => Some(std::fs::read(&path).with_context(|| format!("notices: reading {}", path.display()))?),
            None => None,
        };
        Ok(Couriers { http, extra_roots })
    }

    /// Sends `parcel` to `channel`. The error says what failed, never the channel's URL or a password.
    pub async fn send(&self, channel: &Channel, parcel: &Parcel) -> Result<(), String> {
        let sending = async {
            match (&channel.kind, &parcel.to) {
                (_, To::Nobody(undeliverable)) => Err(undeliverable.to_string()),
                (ChannelKind::Webhook(url), _) => {
                    let body = serde_json::to_value(&parcel.notice).map_err(|err| err.to_string())?;
                    http::post(&self.http, url.expose(), &body, http::Answer::Success).await
                }
                (ChannelKind::Teams(url), _) => {
                    let body = autostop_notify::teams::message(&parcel.notice);
                    http::post(&self.http, url.expose(), &body, http::Answer::Teams).await
                }
                (ChannelKind::Slack(url), _) => {
                    let body = autostop_notify::slack::message(&parcel.notice);
                    http::post(&self.http, url.expose(), &body, http::Answer::Slack).await
                }
                (ChannelKind::Email(email), To::Addresses(to)) => {
                    let digest = autostop_notify::email::digest(&parcel.notice);
                    smtp::send(email, to, &digest, self.extra_roots.as_deref()).await
                }
                (ChannelKind::Email(_), To::Endpoint) => Err("an e-mail channel needs addresses".to_owned()),
            }
        };
        tokio::time::timeout(SEND_TIMEOUT, sending)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())))
    }
}
