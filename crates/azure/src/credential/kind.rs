//! The kinds of credential autostop can use, and their `--credential` names.
//!
//! Vocabulary only, with no dependency on the rest of the crate, so that the crate's error can name a kind
//! without depending on the credential code (which depends on the error). Parsing a name, which can fail with
//! the crate's error, is in `select`.

use std::fmt;

/// The kinds of credential autostop can use, named as `--credential` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// `client-secret`: a service principal's secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`).
    ClientSecret,
    /// `workload-identity`: a federated token file (`AZURE_FEDERATED_TOKEN_FILE`, plus tenant and client id).
    WorkloadIdentity,
    /// `managed-identity`: App Service / Functions (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) or a VM's IMDS.
    ManagedIdentity,
    /// `azure-cli`: the Azure CLI's login (`az account get-access-token`).
    AzureCli,
}

impl CredentialKind {
    /// All kinds, in the automatic selection order.
    pub const ALL: [CredentialKind; 4] = [
        CredentialKind::ClientSecret,
        CredentialKind::WorkloadIdentity,
        CredentialKind::ManagedIdentity,
        CredentialKind::AzureCli,
    ];

    /// The `--credential` name.
    pub fn name(self) -> &'static str {
        match self {
            CredentialKind::ClientSecret => "client-secret",
            CredentialKind::WorkloadIdentity => "workload-identity",
            CredentialKind::ManagedIdentity => "managed-identity",
            CredentialKind::AzureCli => "azure-cli",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
