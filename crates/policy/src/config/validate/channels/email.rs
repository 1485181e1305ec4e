//! The keys of an e-mail channel: the SMTP server, the sender, the recipients and the variables holding the
//! SMTP credentials.

use std::ops::Range;

use toml::Spanned;

use super::super::super::raw::RawRecipients;
use super::super::super::{CredentialVariables, Recipients, SmtpSecurity, SmtpServer};
use super::Collector;

/// `smtp = "smtp://HOST[:PORT]"` (STARTTLS, port 587 by default) or `"smtps://HOST[:PORT]"` (implicit TLS, 465);
/// nothing else: no user name or password in it, no path.
pub(super) fn smtp_server(smtp: &Spanned<String>, name: &str, errors: &mut Collector<'_>) -> Option<SmtpServer> {
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
pub(super) fn address(text: &Spanned<String>, key: &str, errors: &mut Collector<'_>) -> Option<String> {
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
pub(super) fn recipients(to: Spanned<RawRecipients>, name: &str, errors: &mut Collector<'_>) -> Option<Recipients> {
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
pub(super) fn credential_variables(
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
