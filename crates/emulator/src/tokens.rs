//! Bearer tokens: minting JWT-shaped access tokens and remembering what was issued and until when.
//!
//! Real clients (azureml-core, the Azure CLI) decode `tid` and `exp` from the payload, so tokens are
//! `base64url(header).base64url(payload).base64url(signature)`; the signature is random bytes, since nothing but
//! this emulator ever checks a token. Pure: the current time is passed in as unix seconds.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

/// Who a token is for and about.
pub(crate) struct Claims<'a> {
    /// `aud`: the resource, e.g. `https://management.azure.com`.
    pub audience: &'a str,
    /// `tid`: the tenant.
    pub tenant_id: &'a str,
    /// `appid`: the client (application) id.
    pub app_id: &'a str,
    /// `oid`: the principal's object id.
    pub object_id: &'a str,
}

/// What the emulator remembers about a token it issued.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    /// Expiry, unix seconds.
    pub expires_at: i64,
    /// The `aud` claim.
    pub audience: String,
    /// The `oid` claim (named in 403 messages, as ARM does).
    pub object_id: String,
}

/// Why a presented token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Never issued by this emulator.
    Unknown,
    /// Issued, but past its expiry (unix seconds).
    Expired { expired_at: i64 },
}

/// The tokens issued so far.
#[derive(Default)]
pub(crate) struct Tokens {
    issued: HashMap<String, Issued>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("issued", &self.issued.len()).finish()
    }
}

impl Tokens {
    /// Mints a token valid for `lifetime_secs` from `now` and remembers it.
    pub fn mint(&mut self, claims: &Claims<'_>, now: i64, lifetime_secs: i64) -> (String, Issued) {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": "autostop-emulator"});
        let expires_at = now + lifetime_secs;
        let payload = json!({
            "aud": claims.audience,
            "iss": format!("https://sts.windows.net/{}/", claims.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": expires_at,
            "appid": claims.app_id,
            "appidacr": "1",
            "idp": format!("https://sts.windows.net/{}/", claims.tenant_id),
            "oid": claims.object_id,
            "sub": claims.object_id,
            "tid": claims.tenant_id,
            "ver": "1.0",
            "uti": uuid::Uuid::new_v4().simple().to_string(),
        });
        let signature: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        let issued =
            Issued { expires_at, audience: claims.audience.to_owned(), object_id: claims.object_id.to_owned() };
        self.issued.insert(token.clone(), issued.clone());
        (token, issued)
    }

    /// Checks a presented token at `now`.
    pub fn check(&self, token: &str, now: i64) -> Result<&Issued, Rejection> {
        let issued = self.issued.get(token).ok_or(Rejection::Unknown)?;
        if issued.expires_at <= now {
            return Err(Rejection::Expired { expired_at: issued.expires_at });
        }
        Ok(issued)
    }

    /// Makes one token stop being accepted at `at` (if that is earlier than its expiry); its claims still
    /// advertise the original `exp` (a fault: a token that expires early).
    pub fn cap_expiry(&mut self, token: &str, at: i64) {
        if let Some(issued) = self.issued.get_mut(token) {
            issued.expires_at = issued.expires_at.min(at);
        }
    }

    /// Makes every token issued so far expire at `now` (a fault: clients must fetch a new one).
    pub fn expire_all(&mut self, now: i64) {
        for issued in self.issued.values_mut() {
            issued.expires_at = issued.expires_at.min(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: Claims<'static> =
        Claims { audience: "https://management.azure.com", tenant_id: "t", app_id: "a", object_id: "o" };

    #[test]
    fn token_is_jwt_shaped_with_the_claims() {
        let mut tokens = Tokens::default();
        let (token, issued) = tokens.mint(&CLAIMS, 1_000, 3_600);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url")).expect("json");
        assert_eq!(payload["tid"], "t");
        assert_eq!(payload["appid"], "a");
        assert_eq!(payload["oid"], "o");
        assert_eq!(payload["aud"], "https://management.azure.com");
        assert_eq!(payload["exp"], 4_600);
        assert_eq!(payload["iat"], 1_000);
        assert_eq!(issued.expires_at, 4_600);
    }

    #[test]
    fn debug_shows_no_token() {
        let mut tokens = Tokens::default();
        let (token, _) = tokens.mint(&CLAIMS, 1_000, 10);
        let debug = format!("{tokens:?}");
        assert!(!debug.contains(&token) && debug.contains("issued: 1"), "{debug}");
    }

    #[test]
    fn check_knows_unknown_valid_and_expired() {
        let mut tokens = Tokens::default();
        let (token, _) = tokens.mint(&CLAIMS, 1_000, 10);
        assert!(tokens.check(&token, 1_009).is_ok());
        assert_eq!(tokens.check(&token, 1_010).unwrap_err(), Rejection::Expired { expired_at: 1_010 });
        assert_eq!(tokens.check("nope", 1_000).unwrap_err(), Rejection::Unknown);
        let (second, _) = tokens.mint(&CLAIMS, 1_000, 3_600);
        tokens.expire_all(1_500);
        assert_eq!(tokens.check(&second, 1_500).unwrap_err(), Rejection::Expired { expired_at: 1_500 });
        let (third, _) = tokens.mint(&CLAIMS, 2_000, 3_600);
        tokens.cap_expiry(&third, 2_001);
        assert!(tokens.check(&third, 2_000).is_ok());
        assert_eq!(tokens.check(&third, 2_001).unwrap_err(), Rejection::Expired { expired_at: 2_001 });
    }
}
