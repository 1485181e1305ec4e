//! Sending a digest over SMTP with lettre: STARTTLS (required: a server that does not offer it is an error) or
//! TLS from the first byte, the server's certificate checked against the platform's roots plus `SSL_CERT_FILE`,
//! and AUTH with the user name and password read from the environment variables the channel names. One message
//! to all of its recipients, plain text and HTML alternatives.

use autostop_notify::email::Digest;
use autostop_policy::config::{EmailChannel, SmtpSecurity};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends `digest` from the channel's `from` to `to`.
pub async fn send(
    email: &EmailChannel,
    to: &[String],
    digest: &Digest,
    extra_roots: Option<&[u8]>,
) -> Result<(), String> {
    let mailbox = |address: &str| address.parse::<Mailbox>().map_err(|err| format!("address {address:?}: {err}"));
    let mut message = Message::builder().from(mailbox(&email.from)?).subject(&digest.subject);
    for address in to {
        message = message.to(mailbox(address)?);
    }
    let message = message
        .multipart(MultiPart::alternative_plain_html(digest.text.clone(), digest.html.clone()))
        .map_err(|err| format!("the message: {err}"))?;

    let server = &email.server;
    let mut tls = TlsParameters::builder(server.host.clone());
    if let Some(pem) = extra_roots {
        let roots =
            Certificate::from_pem(pem).map_err(|err| format!("SSL_CERT_FILE: {:#}", anyhow::Error::new(err)))?;
        tls = tls.add_root_certificate(roots);
    }
    let tls = tls.build_rustls().map_err(|err| format!("TLS settings: {:#}", anyhow::Error::new(err)))?;
    let tls = match server.security {
        SmtpSecurity::StartTls => Tls::Required(tls),
        SmtpSecurity::ImplicitTls => Tls::Wrapper(tls),
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.as_str())
        .port(server.port)
        .tls(tls)
        .timeout(Some(super::SEND_TIMEOUT));
    if let Some(variables) = &email.credentials {
        let read = |name: &str| {
            std::env::var(name)
                .map_err(|_| format!("the SMTP credentials: environment variable {name} is not set (or not UTF-8)"))
        };
        transport = transport.credentials(Credentials::new(read(&variables.username)?, read(&variables.password)?));
    }
    transport.build().send(message).await.map(drop).map_err(|err| {
        let at = format!("SMTP {}:{}", server.host, server.port);
        if server.security == SmtpSecurity::StartTls && err.is_client() && err.to_string().contains("STARTTLS") {
            return format!(
                "{at}: the server does not offer STARTTLS, which an smtp:// channel requires: neither the \
                 credentials nor the message were sent (use smtps:// for a server that is TLS from the first byte)"
            );
        }
        format!("{at}: {}", describe(&err))
    })
}

/// lettre's error, each cause once: its text already ends with its source's, so only the causes below that are
/// added.
fn describe(err: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let mut text = err.to_string();
    let mut cause = err.source().and_then(|source| source.source());
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}
