//! The emulator as an HTTPS proxy for Entra's public login host, so that MSAL-based clients work offline with only
//! their environment set.
//!
//! MSAL (Python and JS) sends instance discovery to `https://login.microsoftonline.com/common/discovery/instance`
//! for any authority host it does not know, whatever the authority. With `HTTPS_PROXY` pointing at the emulator
//! (and `NO_PROXY` covering 127.0.0.1), that request arrives here as `CONNECT login.microsoftonline.com:443`: the
//! emulator accepts it and serves the tunnel itself, over TLS with a certificate its CA signed for that name, so
//! instance discovery gets the emulator's answer (which sends the client on to the emulator's own OpenID
//! configuration). Any other `CONNECT` is refused with 403, so nothing leaves the machine. Pure decisions here; the
//! server does the I/O.

/// The one host the emulator stands in for.
pub(crate) const LOGIN_HOST: &str = "login.microsoftonline.com";

/// What the proxy does with a `CONNECT` to `authority` (`host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Accept and serve the tunnel as the login host.
    Serve,
    /// Refuse with 403 and this message.
    Refuse(String),
}

/// Decides a `CONNECT` request's fate.
pub(crate) fn connect(authority: &str) -> Verdict {
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "443"));
    if host.eq_ignore_ascii_case(LOGIN_HOST) && port == "443" {
        Verdict::Serve
    } else {
        Verdict::Refuse(format!(
            "The autostop Azure emulator proxies only {LOGIN_HOST}:443 (MSAL's instance discovery), not \
             '{authority}': nothing leaves this machine. Add the host to NO_PROXY to reach it directly."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_login_host_on_443_is_served() {
        assert_eq!(connect("login.microsoftonline.com:443"), Verdict::Serve);
        assert_eq!(connect("LOGIN.microsoftonline.com:443"), Verdict::Serve);
        assert!(matches!(connect("login.microsoftonline.com:8443"), Verdict::Refuse(_)));
        assert!(matches!(connect("pypi.org:443"), Verdict::Refuse(m) if m.contains("'pypi.org:443'")));
        assert!(matches!(connect("management.azure.com:443"), Verdict::Refuse(_)));
    }
}
