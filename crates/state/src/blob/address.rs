//! Where a Blob state lives, read from the URL `--state` gives: the container, the optional name prefix inside
//! it, and a container SAS when the URL carries one. Pure: no I/O.
//!
//! Two forms are accepted, both `https://` only:
//! - production style, `https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]` (any host with a dot that is
//!   not an IP address: sovereign clouds, private endpoints, custom domains);
//! - path style, `https://HOST[:PORT]/ACCOUNT/CONTAINER[/PREFIX]`, when the host is an IP address or has no dot
//!   (`127.0.0.1`, `localhost`), as Azurite and Azure Stack serve it.
//!
//! A query string is a SAS: it is a secret, kept out of [`BlobAddress::location`] and of every `Debug` output.

use std::fmt;

use url::{Host, Url};

/// A parsed Blob state URL.
#[derive(Clone, PartialEq, Eq)]
pub struct BlobAddress {
    /// The container's URL, with the SAS query when there is one.
    container: Url,
    /// The blob name prefix (empty, or ending in `/`).
    prefix: String,
    /// Whether `container` carries a SAS.
    has_sas: bool,
}

impl fmt::Debug for BlobAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobAddress")
            .field("location", &self.location())
            .field("sas", &if self.has_sas { "[REDACTED]" } else { "none" })
            .finish()
    }
}

/// Why a URL is not a Blob state location. Messages never contain the query string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "state URL {shown}: {problem} (expected https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX], or \
     https://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX] for an IP address or a host without a dot)"
)]
pub struct AddressError {
    /// The URL without its query string.
    pub shown: String,
    /// What is wrong with it.
    pub problem: String,
}

impl BlobAddress {
    /// Whether `text` is meant as a URL rather than a file path (it starts with a scheme).
    pub fn looks_like_url(text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    }

    /// Parses a Blob state URL.
    pub fn parse(text: &str) -> Result<BlobAddress, AddressError> {
        let shown = text.split(['?', '#']).next().unwrap_or_default().to_owned();
        let fail = |problem: &str| AddressError { shown: shown.clone(), problem: problem.to_owned() };
        let url = Url::parse(text).map_err(|err| fail(&format!("not a URL ({err})")))?;
        if url.scheme() != "https" {
            return Err(fail("the scheme must be https (the state holds credentials' results and owners' names)"));
        }
        if url.fragment().is_some() {
            return Err(fail("a fragment (#...) has no meaning here"));
        }
        let host = url.host().ok_or_else(|| fail("no host"))?;
        let path_style = match host {
            Host::Ipv4(_) | Host::Ipv6(_) => true,
            Host::Domain(name) => !name.contains('.'),
        };
        let segments: Vec<&str> =
            url.path_segments().map(|s| s.filter(|s| !s.is_empty()).collect()).unwrap_or_default();
        let skip = usize::from(path_style);
        if segments.len() <= skip {
            return Err(fail(if path_style {
                "no account and container in the path"
            } else {
                "no container in the path"
            }));
        }
        let container = segments[skip];
        if !valid_container(container) {
            return Err(fail(&format!(
                "container {container:?} is not a valid name (3 to 63 lowercase letters, digits and single hyphens)"
            )));
        }
        let prefix: String = segments[skip + 1..].iter().map(|segment| format!("{segment}/")).collect();
        let mut container_url = url.clone();
        container_url.set_path(&segments[..=skip].join("/"));
        let has_sas = url.query().is_some_and(|query| !query.is_empty());
        if !has_sas {
            container_url.set_query(None);
        }
        Ok(BlobAddress { container: container_url, prefix, has_sas })
    }

    /// The container's URL, with its SAS if any: for building clients only, never for messages.
    pub(crate) fn container_url(&self) -> &Url {
        &self.container
    }

    /// The blob name prefix every state blob starts with (empty, or ending in `/`).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the URL carries a SAS (then no token is sent).
    pub fn has_sas(&self) -> bool {
        self.has_sas
    }

    /// The URL as messages show it: container and prefix, without the SAS.
    pub fn location(&self) -> String {
        let mut url = self.container.clone();
        url.set_query(None);
        format!(
            "{}{}{}",
            url.as_str().trim_end_matches('/'),
            if self.prefix.is_empty() { "" } else { "/" },
            self.prefix
        )
        .trim_end_matches('/')
        .to_owned()
    }
}

/// Azure's container naming rule.
fn valid_container(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_style_with_prefix() {
        let address = BlobAddress::parse("https://acct.blob.core.windows.net/state/team/a").expect("valid");
        assert_eq!(address.container_url().as_str(), "https://acct.blob.core.windows.net/state");
        assert_eq!(address.prefix(), "team/a/");
        assert_eq!(address.location(), "https://acct.blob.core.windows.net/state/team/a");
        assert!(!address.has_sas());
    }

    #[test]
    fn path_style_for_an_ip_or_a_dotless_host() {
        let address = BlobAddress::parse("https://127.0.0.1:10000/devstoreaccount1/autostop").expect("valid");
        assert_eq!(address.container_url().as_str(), "https://127.0.0.1:10000/devstoreaccount1/autostop");
        assert_eq!(address.prefix(), "");
        assert_eq!(address.location(), "https://127.0.0.1:10000/devstoreaccount1/autostop");
        let local = BlobAddress::parse("https://localhost:1/acct/cont/p/").expect("valid");
        assert_eq!(local.prefix(), "p/");
    }

    #[test]
    fn a_sas_is_kept_for_requests_and_hidden_everywhere_else() {
        let text = "https://acct.blob.core.windows.net/state?sv=2026-04-06&sig=s3cr3t";
        let address = BlobAddress::parse(text).expect("valid");
        assert!(address.has_sas());
        assert_eq!(address.container_url().query(), Some("sv=2026-04-06&sig=s3cr3t"));
        assert!(!address.location().contains("s3cr3t"));
        assert!(!format!("{address:?}").contains("s3cr3t"));
        let err = BlobAddress::parse("http://acct.blob.core.windows.net/state?sig=s3cr3t").expect_err("http");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let problem = |text: &str| BlobAddress::parse(text).expect_err(text).problem;
        assert!(problem("http://a.blob.core.windows.net/c1c").starts_with("the scheme must be https"));
        assert_eq!(problem("https://a.blob.core.windows.net/"), "no container in the path");
        assert_eq!(problem("https://127.0.0.1:1/devstoreaccount1"), "no account and container in the path");
        assert!(problem("https://a.blob.core.windows.net/Bad_Name").starts_with("container \"Bad_Name\""));
    }
}
