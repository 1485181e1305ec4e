//! The Azure clouds autostop knows: their ARM endpoint, Entra authority host and ARM token scope (pure).

use crate::error::{Error, ErrorKind};
use std::fmt;
use std::str::FromStr;

/// An Azure cloud. The ARM endpoint can still be pointed elsewhere (`--arm-endpoint`); the token scope then stays
/// the cloud's ARM audience unless overridden in [`crate::ArmClientOptions::scope`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Azure public cloud (`management.azure.com`, `login.microsoftonline.com`).
    #[default]
    Public,
    /// Azure operated by 21Vianet (`management.chinacloudapi.cn`, `login.chinacloudapi.cn`).
    China,
    /// Azure US Government (`management.usgovcloudapi.net`, `login.microsoftonline.us`).
    UsGov,
}

impl Cloud {
    /// All clouds, in the order of their names in help texts.
    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::China, Cloud::UsGov];

    /// The name accepted by `--cloud`.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::China => "china",
            Cloud::UsGov => "usgov",
        }
    }

    /// The ARM endpoint, e.g. `https://management.azure.com`.
    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::China => "https://management.chinacloudapi.cn",
            Cloud::UsGov => "https://management.usgovcloudapi.net",
        }
    }

    /// The Entra ID authority host, e.g. `https://login.microsoftonline.com`.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::China => "https://login.chinacloudapi.cn",
            Cloud::UsGov => "https://login.microsoftonline.us",
        }
    }

    /// The token scope for ARM: the ARM audience followed by `/.default`.
    pub fn arm_scope(self) -> String {
        format!("{}/.default", self.arm_endpoint())
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cloud {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Cloud::ALL.into_iter().find(|cloud| cloud.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            ErrorKind::InvalidInput {
                what: "cloud",
                input: s.to_string(),
                expected: "one of public, china, usgov".into(),
            }
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for cloud in Cloud::ALL {
            assert_eq!(cloud.name().parse::<Cloud>().ok(), Some(cloud));
        }
        assert_eq!("USGov".parse::<Cloud>().ok(), Some(Cloud::UsGov));
    }

    #[test]
    fn unknown_cloud_is_named() {
        let err = "germany".parse::<Cloud>().err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("invalid cloud 'germany': expected one of public, china, usgov"));
    }

    #[test]
    fn scope_is_the_arm_audience() {
        assert_eq!(Cloud::Public.arm_scope(), "https://management.azure.com/.default");
        assert_eq!(Cloud::China.arm_scope(), "https://management.chinacloudapi.cn/.default");
        assert_eq!(Cloud::UsGov.authority_host(), "https://login.microsoftonline.us");
    }
}
