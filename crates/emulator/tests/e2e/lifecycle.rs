//! Starting and stopping: the environment a client needs, the CA file, port 0, shutdown, bad options.

use std::collections::BTreeMap;

use autostop_emulator::{Emulator, Error, Fleet, Options};

use crate::util::{Harness, within};

#[tokio::test]
async fn env_names_everything_a_client_needs_and_the_ca_file_is_written() {
    let h = Harness::sample().await;
    let e = &h.emulator;
    let env: BTreeMap<String, String> = e.env().into_iter().collect();
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "AUTOSTOP_ARM_ENDPOINT",
            "AZURE_AUTHORITY_HOST",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_TENANT_ID",
            "NODE_EXTRA_CA_CERTS",
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE"
        ]
    );
    let shell: BTreeMap<String, String> = e.shell_env().into_iter().collect();
    assert_eq!(
        shell["AZURE_SUBSCRIPTION_ID"], "00000000-0000-4000-8000-000000000001",
        "the fleet's first subscription"
    );
    assert_eq!(shell["HTTPS_PROXY"], e.base_url(), "MSAL's instance discovery goes through the emulator");
    assert_eq!(shell["NO_PROXY"], "127.0.0.1,localhost");
    assert_eq!(shell.len(), env.len() + 3, "the shell gets the client environment, the subscription, the proxy");
    assert_eq!(env["REQUESTS_CA_BUNDLE"], env["SSL_CERT_FILE"]);
    assert_eq!(env["NODE_EXTRA_CA_CERTS"], env["SSL_CERT_FILE"]);
    assert_eq!(env["AUTOSTOP_ARM_ENDPOINT"], e.base_url());
    assert_eq!(env["AZURE_AUTHORITY_HOST"], e.base_url());
    assert!(e.base_url().starts_with("https://127.0.0.1:") && !e.base_url().ends_with(":0"), "{}", e.base_url());
    let written = std::fs::read_to_string(&env["SSL_CERT_FILE"]).expect("CA file exists");
    assert_eq!(written, e.ca_pem());
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    let debug = format!("{e:?} {:?}", e.control());
    assert!(!debug.contains(e.client_secret()), "{debug}");
}

#[tokio::test]
async fn shutdown_closes_the_port_and_removes_its_own_ca_dir() {
    let h = Harness::sample().await;
    let url = h.url("/subscriptions?api-version=2022-12-01");
    let ca_path = h.emulator.ca_path().to_owned();
    within(h.emulator.shutdown()).await;
    assert!(within(h.http.get(&url).send()).await.is_err(), "nothing listens after shutdown");
    assert!(!ca_path.exists(), "the temp CA dir is removed");
}

#[tokio::test]
async fn a_given_ca_dir_is_kept() {
    let dir = std::env::temp_dir().join(format!("autostop-emulator-kept-{}", uuid::Uuid::new_v4().simple()));
    let emulator =
        within(Emulator::start(Options { ca_dir: Some(dir.clone()), ..Options::default() })).await.expect("starts");
    assert_eq!(emulator.ca_path(), dir.join("ca.pem"));
    within(emulator.shutdown()).await;
    let kept = dir.join("ca.pem").exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(kept, "a CA dir the caller chose is theirs to remove");
}

#[tokio::test]
async fn bad_options_are_refused_naming_them() {
    let zero = within(Emulator::start(Options { page_size: 0, ..Options::default() })).await;
    assert!(matches!(zero, Err(Error::InvalidOption { name: "page_size", .. })), "{zero:?}");
    let mut fleet = Fleet::sample();
    fleet.subscriptions.push(fleet.subscriptions[0].clone());
    let twice = within(Emulator::start(Options { fleet, ..Options::default() })).await;
    let message = twice.expect_err("duplicate subscription").to_string();
    assert!(message.contains("appears twice"), "{message}");
}
