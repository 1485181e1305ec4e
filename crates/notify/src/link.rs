//! Signed notice links. A link names one stop — the instance, the rule, the occurrence — and one choice (`+1h`,
//! `+2h`, `+4h`, `skip`); it carries an HMAC-SHA256 over those and its expiry, which is the occurrence itself: a
//! link is good only for its instance and occurrence, and only until that occurrence has come. Pure: `now` is
//! passed in.
//!
//! The link is a URL under `[notify] public_url`: `{public_url}/owners/postpone?target=..&rule=..&occurrence=..
//! &choice=..&expires=..&sig=..`, the occurrence and expiry in Unix milliseconds, the signature in hex.

use std::fmt;

use autostop_policy::Choice;
use aws_lc_rs::hmac;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The path links are served under, below `public_url`.
pub const POSTPONE_PATH: &str = "/owners/postpone";

/// What the MAC covers first: the format's name and version, so a signature never means anything else.
const DOMAIN: &str = "autostop-link-v1";

/// The key links are signed with. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct LinkKey(hmac::Key);

impl LinkKey {
    /// A key from its bytes.
    pub fn new(bytes: &[u8]) -> LinkKey {
        LinkKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// 32 fresh random bytes for a new key (to be stored, then used through [`LinkKey::new`]).
    pub fn generate() -> Result<[u8; 32], LinkError> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| LinkError::NoRandomness)?;
        Ok(bytes)
    }
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

/// One stop and one choice, as a link carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The instance's ARM id.
    pub target_id: String,
    /// The stop rule.
    pub rule: String,
    /// The occurrence whose stop the link moves.
    pub occurrence: Timestamp,
    /// What the owner chooses.
    pub choice: Choice,
    /// The link is refused from this instant on (the occurrence).
    pub expires: Timestamp,
}

/// A link's query string, as it arrives (nothing checked yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkQuery {
    /// The instance's ARM id.
    pub target: String,
    /// The stop rule.
    pub rule: String,
    /// The occurrence, Unix milliseconds.
    pub occurrence: i64,
    /// `+1h`, `+2h`, `+4h` or `skip`.
    pub choice: String,
    /// The expiry, Unix milliseconds.
    pub expires: i64,
    /// HMAC-SHA256 of the rest, hex.
    pub sig: String,
}

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match what the link says (tampered with, or signed with another key).
    #[error("the link's signature does not match what it says")]
    Tampered,
    /// The occurrence the link is about has come (or passed).
    #[error("the link expired at {expires}: its stop's time has come")]
    Expired {
        /// When it expired.
        expires: Timestamp,
    },
    /// The system gave no random bytes for a new key.
    #[error("cannot generate a link signing key: no randomness from the system")]
    NoRandomness,
    /// The query string is not a link's (a field missing, or not a number where one is expected).
    #[error("the link is incomplete: {0}")]
    Malformed(String),
}

impl LinkQuery {
    /// Reads a link's query string (what follows `?`, still percent-encoded), as it arrives; nothing is checked
    /// but its shape.
    pub fn parse(query: &str) -> Result<LinkQuery, LinkError> {
        serde_urlencoded::from_str(query).map_err(|err| LinkError::Malformed(err.to_string()))
    }
}

impl Link {
    /// The link for `choice` of the stop of `target_id` by `rule` at `occurrence`, expiring at the occurrence.
    pub fn new(target_id: &str, rule: &str, occurrence: Timestamp, choice: Choice) -> Link {
        Link { target_id: target_id.to_owned(), rule: rule.to_owned(), occurrence, choice, expires: occurrence }
    }

    /// The full URL under `public_url`, signed with `key`.
    pub fn url(&self, public_url: &str, key: &LinkKey) -> String {
        let query = LinkQuery {
            target: self.target_id.clone(),
            rule: self.rule.clone(),
            occurrence: self.occurrence.as_millisecond(),
            choice: self.choice.label(),
            expires: self.expires.as_millisecond(),
            sig: hex(hmac::sign(&key.0, self.message().as_bytes()).as_ref()),
        };
        // Strings and integers always encode.
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        format!("{}{POSTPONE_PATH}?{query}", public_url.trim_end_matches('/'))
    }

    /// Checks a link that arrived: its signature first (403 when it fails), then its expiry at `now` (410).
    pub fn verify(query: &LinkQuery, key: &LinkKey, now: Timestamp) -> Result<Link, LinkError> {
        let instant = |ms: i64| Timestamp::from_millisecond(ms).map_err(|_| LinkError::Tampered);
        let link = Link {
            target_id: query.target.clone(),
            rule: query.rule.clone(),
            occurrence: instant(query.occurrence)?,
            choice: Choice::parse(&query.choice).ok_or(LinkError::Tampered)?,
            expires: instant(query.expires)?,
        };
        let sig = unhex(&query.sig).ok_or(LinkError::Tampered)?;
        hmac::verify(&key.0, link.message().as_bytes(), &sig).map_err(|_| LinkError::Tampered)?;
        // A link is never good after its occurrence, whatever expiry it was signed with.
        let expires = link.expires.min(link.occurrence);
        if now >= expires {
            return Err(LinkError::Expired { expires });
        }
        Ok(link)
    }

    /// What the MAC covers: every field, one per line (no field holds a newline that changes its meaning: the
    /// id and rule are compared as written, the target id case-insensitively as ARM does).
    fn message(&self) -> String {
        format!(
            "{DOMAIN}\n{}\n{}\n{}\n{}\n{}",
            self.target_id.to_ascii_lowercase(),
            self.rule,
            self.occurrence.as_millisecond(),
            self.choice.label(),
            self.expires.as_millisecond()
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/computes/ci-1";

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn query_of(url: &str) -> LinkQuery {
        LinkQuery::parse(url.split_once('?').map(|(_, query)| query).unwrap()).unwrap()
    }

    #[test]
    fn a_link_verifies_until_its_occurrence_and_not_after() {
        let key = LinkKey::new(b"0123456789abcdef0123456789abcdef");
        let occurrence = ts("2026-03-02T11:00:00Z");
        let link = Link::new(ID, "evening-stop", occurrence, Choice::parse("+1h").unwrap());
        let url = link.url("https://autostop.example.com/", &key);
        assert!(url.starts_with("https://autostop.example.com/owners/postpone?target=%2Fsubscriptions"), "{url}");
        let query = query_of(&url);
        assert_eq!(Link::verify(&query, &key, ts("2026-03-02T10:59:59Z")), Ok(link));
        assert_eq!(Link::verify(&query, &key, occurrence), Err(LinkError::Expired { expires: occurrence }));
    }

    #[test]
    fn a_changed_field_or_another_key_is_refused_as_tampered() {
        let key = LinkKey::new(b"0123456789abcdef0123456789abcdef");
        let occurrence = ts("2026-03-02T11:00:00Z");
        let query = query_of(&Link::new(ID, "evening-stop", occurrence, Choice::Skip).url("http://x", &key));
        let before = ts("2026-03-02T10:00:00Z");
        let changed = [
            LinkQuery { target: ID.replace("ci-1", "ci-2"), ..query.clone() },
            LinkQuery { rule: "other".into(), ..query.clone() },
            LinkQuery { occurrence: query.occurrence + 3_600_000, ..query.clone() },
            LinkQuery { choice: "+4h".into(), ..query.clone() },
            LinkQuery { expires: query.expires + 1, ..query.clone() },
            LinkQuery { sig: "zz".into(), ..query.clone() },
        ];
        for tampered in changed {
            assert_eq!(Link::verify(&tampered, &key, before), Err(LinkError::Tampered), "{tampered:?}");
        }
        let other = LinkKey::new(b"another key entirely, 32 bytes!!");
        assert_eq!(Link::verify(&query, &other, before), Err(LinkError::Tampered));
        // The id compares case-insensitively, as ARM ids do.
        let upper = LinkQuery { target: ID.to_uppercase(), ..query.clone() };
        assert!(Link::verify(&upper, &key, before).is_ok());
        assert_eq!(format!("{key:?}"), "LinkKey(..)");
    }

    #[test]
    fn a_query_without_every_field_is_malformed() {
        let err = LinkQuery::parse("target=x&rule=r&occurrence=1&choice=skip&sig=00").expect_err("no expires");
        assert!(matches!(&err, LinkError::Malformed(text) if text.contains("expires")), "{err}");
        let err = LinkQuery::parse("target=x&rule=r&occurrence=soon&choice=skip&expires=1&sig=00").expect_err("text");
        assert!(matches!(err, LinkError::Malformed(_)), "{err}");
    }
}
