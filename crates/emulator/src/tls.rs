//! The emulator's certificates: a fresh CA and a server certificate it signs for `127.0.0.1`, `localhost` and
//! Entra's login host (served only through the emulator's own proxy tunnel, see `login_proxy`).
//!
//! rustls clients reject a self-signed certificate used directly as a server certificate, so the CA is separate
//! and is what clients trust (its PEM is written to a file for `SSL_CERT_FILE`). No network here.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::Error;

/// A generated CA and the TLS server configuration whose certificate it signed.
pub(crate) struct Certificates {
    /// The CA certificate in PEM, for clients to trust.
    pub ca_pem: String,
    /// The rustls server configuration (aws-lc-rs provider, ALPN `h2` and `http/1.1`).
    pub server_config: Arc<ServerConfig>,
}

/// Generates a CA and a leaf certificate for `127.0.0.1`, `localhost` and the login host.
pub(crate) fn generate() -> Result<Certificates, Error> {
    let tls = |what: &str, err: &dyn std::fmt::Display| Error::Tls { reason: format!("{what}: {err}") };

    let ca_key = KeyPair::generate().map_err(|e| tls("generating the CA key", &e))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| tls("CA parameters", &e))?;
    ca_params.distinguished_name.push(DnType::CommonName, "autostop emulator CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(|e| tls("signing the CA certificate", &e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(|e| tls("generating the server key", &e))?;
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned(), crate::login_proxy::LOGIN_HOST.to_owned()];
    let mut leaf_params = CertificateParams::new(names).map_err(|e| tls("server certificate parameters", &e))?;
    leaf_params.distinguished_name.push(DnType::CommonName, "autostop emulator");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(|e| tls("signing the server certificate", &e))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut server_config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls("choosing TLS versions", &e))?
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
        .map_err(|e| tls("loading the server certificate", &e))?;
    // What Azure's front doors offer: HTTP/2 to clients that ask for it, HTTP/1.1 to the others (and to clients
    // that send no ALPN at all). rustls picks the first of these the client also offers.
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

    Ok(Certificates { ca_pem: ca_cert.pem(), server_config: Arc::new(server_config) })
}
