//! Azurite, the Azure Storage emulator, as the Blob state's tests meet it: `azurite-blob` installed by
//! `.ci/setup` under `.test-env/azurite`, started on a free loopback port with HTTPS (a CA and a leaf
//! certificate for 127.0.0.1 generated here) and `--oauth basic` (bearer tokens checked for issuer, audience and
//! lifetime), stopped when dropped or when the test process ends. A missing Azurite fails the test, saying how
//! to install it: it never skips.
//!
//! Shared by the state crate's tests and the binary's (`#[path]`); needs `rcgen` and `tokio`.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The account Azurite serves by default.
pub const ACCOUNT: &str = "devstoreaccount1";

/// How long Azurite may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `azurite-blob`.
pub struct Azurite {
    /// The port its blob service listens on (127.0.0.1).
    pub port: u16,
    /// The PEM file of the CA its certificate is signed by (for `SSL_CERT_FILE`).
    pub ca_pem: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root exists")
}

/// The installed `azurite-blob` (installed by `.ci/setup.d/azurite.sh` on first use).
pub fn binary() -> PathBuf {
    crate::testenv::ensure("azurite");
    let path = repository_root().join(".test-env/azurite/node_modules/.bin/azurite-blob");
    assert!(path.exists(), "Azurite is not at {} after .ci/setup.d/azurite.sh", path.display());
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free loopback port").port()
}

/// Writes a fresh CA (`ca.pem`) and a certificate it signs for 127.0.0.1 (`cert.pem`, with the chain, and
/// `key.pem`) into `dir`.
fn certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.distinguished_name.push(DnType::CommonName, "autostop test Azurite CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("leaf parameters");
    leaf_params.distinguished_name.push(DnType::CommonName, "azurite");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf certificate");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write ca.pem");
    std::fs::write(dir.join("cert.pem"), format!("{}{}", leaf_cert.pem(), ca_cert.pem())).expect("write cert.pem");
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).expect("write key.pem");
}

impl Azurite {
    /// Starts `azurite-blob`, keeping blobs in memory, with its files under `dir` (created, emptied first), and
    /// waits until it listens.
    pub fn start(dir: &Path) -> Azurite {
        if dir.exists() {
            std::fs::remove_dir_all(dir).expect("clear the Azurite directory");
        }
        std::fs::create_dir_all(dir).expect("create the Azurite directory");
        certificates(dir);
        let mut azurite = Azurite { port: free_port(), ca_pem: dir.join("ca.pem"), dir: dir.to_owned(), child: None };
        azurite.launch();
        azurite
    }

    fn launch(&mut self) {
        let binary = binary();
        let (dir, port) = (self.dir.clone(), self.port);
        // A shell in between holds Azurite's lifetime to ours: it kills Azurite when its standard input closes,
        // which happens when this process ends, however it ends.
        let child = Command::new("sh")
            .arg("-c")
            // Azurite's SIGTERM handler waits for idle keep-alive connections to close: SIGKILL after a grace.
            .arg(r#""$0" "$@" & child=$!; read _ignored; kill $child 2>/dev/null; sleep 1; kill -9 $child 2>/dev/null; wait $child"#)
            .arg(&binary)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--cert")
            .arg(dir.join("cert.pem"))
            .arg("--key")
            .arg(dir.join("key.pem"))
            .args(["--oauth", "basic", "--skipApiVersionCheck", "--inMemoryPersistence", "--disableTelemetry"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).expect("Azurite's stderr file"))
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            let stderr = || std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            let exited = self.child.as_mut().and_then(|child| child.try_wait().ok().flatten());
            assert!(exited.is_none(), "Azurite exited ({exited:?}) before listening on {address}: {}", stderr());
            assert!(
                Instant::now() < deadline,
                "Azurite did not listen on {address} within {START_TIMEOUT:?}: {}",
                stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The path-style URL of `container` (and `prefix`, if not empty) on this Azurite.
    pub fn url(&self, container: &str, prefix: &str) -> String {
        let base = format!("https://127.0.0.1:{}/{ACCOUNT}/{container}", self.port);
        if prefix.is_empty() { base } else { format!("{base}/{prefix}") }
    }

    /// Stops Azurite and waits until it no longer listens.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            assert!(Instant::now() < deadline, "Azurite still listens on {address} after being stopped");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

/// A JWT such as Entra issues for Blob Storage, with what `--oauth basic` checks: an `iss` under
/// `https://sts.windows.net/`, `aud` `https://storage.azure.com`, and `nbf`/`iat`/`exp` around now. Unsigned:
/// Azurite does not check signatures.
pub fn storage_token(now_secs: i64, lifetime_secs: i64) -> String {
    use base64::Engine as _;
    let b64 = |json: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string());
    let tenant = "00000000-0000-0000-0000-0000000000aa";
    format!(
        "{}.{}.{}",
        b64(serde_json::json!({"typ": "JWT", "alg": "RS256"})),
        b64(serde_json::json!({
            "aud": "https://storage.azure.com",
            "iss": format!("https://sts.windows.net/{tenant}/"),
            "iat": now_secs - 60,
            "nbf": now_secs - 60,
            "exp": now_secs + lifetime_secs,
            "oid": "00000000-0000-0000-0000-0000000000bb",
            "tid": tenant,
        })),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b"unsigned")
    )
}
