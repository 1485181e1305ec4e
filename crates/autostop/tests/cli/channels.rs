//! Notice channels through the binary, against real receivers on 127.0.0.1: a Teams Workflows-like and a Slack
//! incoming-webhook-like HTTP receiver (they answer as those services do: `202`, `ok`, throttling in a 200's body,
//! `no_service`), and a real SMTP server (aiosmtpd, `tests/python/smtp_server.py`, installed by `.ci/setup` into
//! `.test-env/python`) with a certificate from a CA of the test's own, over STARTTLS and implicit TLS, with AUTH
//! checked by the server against credentials autostop reads from its environment; an SMTP server that is down
//! until the next evaluation, and one that does not offer STARTTLS (and would take the credentials in clear text).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use autostop_emulator::Compute;
use autostop_notify::{Link, LinkKey, LinkQuery};
use tokio::io::AsyncBufReadExt as _;

use crate::util::*;

/// The signing key autostop is given, and the test checks links with.
const LINK_KEY: &str = "a link key of at least thirty-two bytes, for channel tests";
const PUBLIC_URL: &str = "https://autostop.example.com";

/// The instant of a run before the 20:00 stop, in the rule's zone.
fn at(text: &str) -> jiff::Timestamp {
    text.parse().expect("an RFC 3339 instant")
}

/// Checks that `url` is a link under the public URL, signed with [`LINK_KEY`], good at `now`; its instance id.
fn signed_target(url: &str, now: jiff::Timestamp) -> String {
    assert!(url.starts_with(&format!("{PUBLIC_URL}/owners/postpone?")), "not a notice link: {url}");
    let parsed = reqwest::Url::parse(url).expect("a URL");
    let pairs: BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
    let field = |name: &str| pairs.get(name).cloned().unwrap_or_else(|| panic!("{name} missing from {url}"));
    let number = |name: &str| field(name).parse::<i64>().unwrap_or_else(|_| panic!("{name} in {url}"));
    let query = LinkQuery {
        target: field("target"),
        rule: field("rule"),
        occurrence: number("occurrence"),
        choice: field("choice"),
        expires: number("expires"),
        sig: field("sig"),
    };
    let link =
        Link::verify(&query, &LinkKey::new(LINK_KEY.as_bytes()), now).unwrap_or_else(|err| panic!("{url}: {err}"));
    assert_eq!(link.rule, "evening-stop");
    link.target_id
}

fn owned(name: &str, owner: Option<&str>) -> Compute {
    Compute { owner: owner.map(str::to_owned), ..compute(name, "ComputeInstance", "Running") }
}

/// The outcomes of a run's notices, by claim target: `(result, reason or error)`.
fn notices(run: &Run) -> BTreeMap<String, (String, String)> {
    let rows = run.json();
    rows.as_array()
        .expect("an array")
        .iter()
        .filter(|row| row["action"] == "notify")
        .map(|row| {
            let said = row["reason"].as_str().or(row["error"].as_str()).unwrap_or_default().to_owned();
            (row["id"].as_str().unwrap_or_default().to_owned(), (row["result"].as_str().unwrap().to_owned(), said))
        })
        .collect()
}

/// What a receiver keeps: each body, by path.
type Kept = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// An HTTP receiver on 127.0.0.1 that answers like Teams and Slack: the first request to each path fails the way
/// that service fails (Teams' legacy connector: 200 with the throttling message in the body; Slack: 404
/// `no_service`), later ones succeed (Teams Workflows: 202 empty; Slack: 200 `ok`) and are kept.
async fn receiver() -> (String, Kept) {
    let kept: Kept = Arc::new(Mutex::new(Vec::new()));
    let seen: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let handler = {
        let kept = kept.clone();
        move |uri: axum::http::Uri, axum::Json(body): axum::Json<serde_json::Value>| {
            let (kept, seen) = (kept.clone(), seen.clone());
            async move {
                let path = uri.path().to_owned();
                let count = {
                    let mut seen = seen.lock().unwrap();
                    let count = seen.entry(path.clone()).or_default();
                    *count += 1;
                    *count
                };
                let teams = path.starts_with("/teams/");
                use axum::http::StatusCode;
                match (teams, count) {
                    (true, 1) => (StatusCode::OK, "Microsoft Teams endpoint returned HTTP error 429".to_owned()),
                    (false, 1) => (StatusCode::NOT_FOUND, "no_service".to_owned()),
                    (true, _) => {
                        kept.lock().unwrap().push((path, body));
                        (StatusCode::ACCEPTED, String::new())
                    }
                    (false, _) => {
                        kept.lock().unwrap().push((path, body));
                        (StatusCode::OK, "ok".to_owned())
                    }
                }
            }
        }
    };
    let router = axum::Router::new()
        .route("/teams/SECRET-TEAMS-TOKEN", axum::routing::post(handler.clone()))
        .route("/slack/SECRET-SLACK-TOKEN", axum::routing::post(handler));
    // Bound synchronously: nothing to wait for.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, kept)
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_and_slack_block_kit_with_signed_links_once_after_a_failure() {
    let (base, kept) = receiver().await;
    let emulator = emulator(fleet(vec![
        compute("run-1", "ComputeInstance", "Running"),
        owned("run-2", Some("bob@example.com")),
        compute("run-stopped", "ComputeInstance", "Stopped"),
    ]))
    .await;
    let channels = format!(
        r#"
[[channels]]
name = "teams"
kind = "teams"
url = "{base}/teams/SECRET-TEAMS-TOKEN"

[[channels]]
name = "slack"
kind = "slack"
url = "{base}/slack/SECRET-SLACK-TOKEN"
"#
    );
    let notify = format!("public_url = \"{PUBLIC_URL}\"");
    let setup = setup(&notice_config(&notify, &channels, r#"select = { names = ["run-*"] }"#, &["teams", "slack"]))
        .env("AUTOSTOP_LINK_KEY", LINK_KEY);
    let run_at = |now: &'static str| setup.run_at(&emulator, now);

    // Both services refuse the first time, each in its own way: recorded, loudly, without the URLs.
    let first = run_at("2026-03-02T19:30:10+09:00").await;
    assert_eq!(first.code, 1, "{first:#?}");
    let outcomes = notices(&first);
    assert_eq!(outcomes["notice:teams"].0, "failed", "{outcomes:#?}");
    assert!(
        outcomes["notice:teams"].1.contains("HTTP 200: Microsoft Teams endpoint returned HTTP error 429"),
        "{outcomes:#?}"
    );
    assert_eq!(outcomes["notice:slack"].0, "failed", "{outcomes:#?}");
    assert!(outcomes["notice:slack"].1.contains("HTTP 404: no_service"), "{outcomes:#?}");
    assert!(kept.lock().unwrap().is_empty());

    // Retried by the next evaluation, then never again.
    let second = run_at("2026-03-02T19:35:10+09:00").await;
    assert_eq!(second.code, 0, "{second:#?}");
    let outcomes = notices(&second);
    assert_eq!(outcomes.keys().collect::<Vec<_>>(), ["notice:slack", "notice:teams"], "{outcomes:#?}");
    assert!(outcomes.values().all(|(result, _)| result == "succeeded"), "{outcomes:#?}");
    let third = run_at("2026-03-02T19:40:10+09:00").await;
    assert_eq!(third.code, 0, "{third:#?}");
    assert_eq!(third.json(), serde_json::json!([]), "once per rule, occurrence and channel");
    let received = kept.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "{received:#?}");
    let now = at("2026-03-02T19:35:10+09:00");

    // Teams: the message envelope around an Adaptive Card 1.4; a container per instance with OpenUrl buttons.
    let teams = &received.iter().find(|(path, _)| path.starts_with("/teams/")).expect("a Teams message").1;
    assert_eq!(teams["type"], "message");
    let attachment = &teams["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &attachment["content"];
    assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")), "{card:#}");
    let body = card["body"].as_array().unwrap();
    assert!(body[0]["text"].as_str().unwrap().contains("evening-stop stops 2 instances at 2026-03-02 20:00 +09:00"));
    let containers: Vec<&serde_json::Value> = body.iter().filter(|item| item["type"] == "Container").collect();
    assert_eq!(containers.len(), 2, "{card:#}");
    for (container, name) in containers.iter().zip(["run-1", "run-2"]) {
        let items = container["items"].as_array().unwrap();
        assert!(items[0]["text"].as_str().unwrap().contains(name), "{container:#}");
        let actions = items[1]["actions"].as_array().unwrap();
        let titles: Vec<&str> = actions.iter().map(|action| action["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Postpone +1h", "Postpone +2h", "Postpone +4h", "Skip this stop"]);
        for action in actions {
            assert_eq!(action["type"], "Action.OpenUrl");
            assert_eq!(signed_target(action["url"].as_str().unwrap(), now), id(name));
        }
    }
    assert!(
        body[0]["text"].as_str().is_some()
            && containers[1]["items"][0]["text"].as_str().unwrap().contains("bob@example.com")
    );

    // Slack: a fallback text, a header section, then a section and an actions block of link buttons per instance.
    let slack = &received.iter().find(|(path, _)| path.starts_with("/slack/")).expect("a Slack message").1;
    assert!(slack["text"].as_str().unwrap().contains("evening-stop stops 2 instances"), "{slack:#}");
    let blocks = slack["blocks"].as_array().unwrap();
    let types: Vec<&str> = blocks.iter().map(|block| block["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["section", "section", "actions", "section", "actions"], "{slack:#}");
    for (index, name) in [(1, "run-1"), (3, "run-2")] {
        assert!(blocks[index]["text"]["text"].as_str().unwrap().contains(&format!("*{name}*")), "{slack:#}");
        let buttons = blocks[index + 1]["elements"].as_array().unwrap();
        assert_eq!(buttons.len(), 4, "{slack:#}");
        for button in buttons {
            assert_eq!(button["type"], "button");
            assert_eq!(signed_target(button["url"].as_str().unwrap(), now), id(name));
        }
    }

    let history = setup.cli(&emulator, &["history", "-o", "json"]).run().await;
    for output in [&first.stdout, &first.stderr, &second.stdout, &second.stderr, &history.stdout] {
        assert!(!output.contains("SECRET-"), "a webhook URL leaked: {output}");
    }
}

/// The venv's Python, where `.ci/setup.d/python.sh` installs aiosmtpd (pinned in tests/python/requirements.txt).
fn python() -> PathBuf {
    crate::testenv::ensure("python");
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.test-env/python/bin/python");
    assert!(python.exists(), "{} is missing after .ci/setup.d/python.sh", python.display());
    python
}

/// A CA of the test's own, a server certificate it signed for 127.0.0.1, and the trust roots autostop is given
/// (the emulator's CA and the test's, in one `SSL_CERT_FILE`), in a temporary folder the SMTP servers write to.
struct SmtpTls {
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    roots: PathBuf,
}

fn smtp_tls(emulator: &autostop_emulator::Emulator) -> SmtpTls {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CommonName, "autostop test SMTP CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "autostop test SMTP server");
    let cert = params.signed_by(&key, &issuer).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tls = SmtpTls {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        roots: dir.path().join("roots.pem"),
        dir,
    };
    std::fs::write(&tls.cert, cert.pem()).unwrap();
    std::fs::write(&tls.key, key.serialize_pem()).unwrap();
    std::fs::write(&tls.roots, format!("{}\n{}", emulator.ca_pem(), ca.pem())).unwrap();
    tls
}

const SMTP_USER: &str = "autostop-notices";
const SMTP_PASSWORD: &str = "s3cret-Pa55word-for-the-smtp-tests";
const WRONG_PASSWORD: &str = "wrong-Pa55word-for-the-smtp-tests";

/// A running `smtp_server.py` (killed when dropped), the folder it writes messages to and its port.
struct SmtpServer {
    _child: tokio::process::Child,
    out: PathBuf,
    port: u16,
}

impl SmtpServer {
    /// `smtp_server.py --security SECURITY` on `port` (0: a free one), writing to the folder `name` beside the
    /// certificates.
    async fn start(security: &str, tls: &SmtpTls, name: &str, port: u16) -> SmtpServer {
        let out = tls.dir.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/smtp_server.py");
        let mut child = tokio::process::Command::new(python())
            .arg(script)
            .args(["--security", security, "--port", &port.to_string(), "--out"])
            .arg(&out)
            .arg("--cert")
            .arg(&tls.cert)
            .arg("--key")
            .arg(&tls.key)
            .env("SMTP_SERVER_USER", SMTP_USER)
            .env("SMTP_SERVER_PASSWORD", SMTP_PASSWORD)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP server starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(TIMEOUT, lines.next_line())
            .await
            .expect("the SMTP server says its port in time")
            .expect("its output")
            .expect("a line saying its port");
        let ready: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        let port = ready["port"].as_u64().expect("a port") as u16;
        SmtpServer { _child: child, out, port }
    }

    /// The verbs of the commands it received, in order.
    fn commands(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.out.join("commands.log")).unwrap_or_default();
        log.lines().map(str::to_owned).collect()
    }

    /// The messages it kept, in arrival order.
    fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        files.iter().map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()).collect()
    }
}

/// A `[[channels]]` entry of kind `email`: `smtp` its server's URL, `to` the TOML value of its `to`, with the
/// credentials in `NOTICE_SMTP_USER` and `NOTICE_SMTP_PASSWORD`.
fn email_channel(name: &str, smtp: &str, to: &str) -> String {
    format!(
        r#"
[[channels]]
name = "{name}"
kind = "email"
smtp = "{smtp}"
from = "autostop@example.com"
to = {to}
username_env = "NOTICE_SMTP_USER"
password_env = "NOTICE_SMTP_PASSWORD"
"#
    )
}

/// A [`Setup`] for e-mail notices: `config`, the link key, the trust roots in `roots` (the emulator's CA and the
/// SMTP server's) and the right SMTP credentials.
fn smtp_setup(config: &str, roots: &Path) -> Setup {
    setup(config)
        .env("AUTOSTOP_LINK_KEY", LINK_KEY)
        .env("SSL_CERT_FILE", roots)
        .env("NOTICE_SMTP_USER", SMTP_USER)
        .env("NOTICE_SMTP_PASSWORD", SMTP_PASSWORD)
}

/// Every notice link in a plain-text body.
fn links_in(text: &str) -> Vec<&str> {
    text.split_whitespace().filter(|word| word.starts_with(PUBLIC_URL)).collect()
}

#[tokio::test]
async fn email_sends_one_digest_per_owner_over_starttls_and_one_to_fixed_addresses_over_tls_exactly_once() {
    let emulator = emulator(fleet(vec![
        owned("alice-1", Some("alice@example.com")),
        owned("alice-2", Some("alice@example.com")),
        owned("bob-1", Some("bob")),
        owned("nobody-1", None),
    ]))
    .await;
    let tls = smtp_tls(&emulator);
    let starttls = SmtpServer::start("starttls", &tls, "starttls", 0).await;
    let implicit = SmtpServer::start("tls", &tls, "tls", 0).await;
    let channels = [
        email_channel("owners", &format!("smtp://127.0.0.1:{}", starttls.port), r#""owner""#),
        email_channel(
            "ops",
            &format!("smtps://127.0.0.1:{}", implicit.port),
            r#"["ops@example.com", "lead@example.com"]"#,
        ),
    ];
    let notify = format!("public_url = \"{PUBLIC_URL}\"\nowner_domain = \"example.org\"");
    let setup = smtp_setup(&notice_config(&notify, &channels.join("\n"), "", &["owners", "ops"]), &tls.roots);
    let cli = |args: &[&str], password: &str| setup.cli(&emulator, args).env("NOTICE_SMTP_PASSWORD", password);
    let run_at = |now: &'static str, password: &str| cli(&["run", "--now", now, "-o", "json"], password).run();

    // The servers refuse the wrong password (AUTH is theirs to check): every digest fails and is recorded, the
    // owner that cannot be mailed (no owner at all) once and for good.
    let first = run_at("2026-03-02T19:30:10+09:00", WRONG_PASSWORD).await;
    assert_eq!(first.code, 1, "{first:#?}");
    let mut outcomes = notices(&first);
    assert!(outcomes.values().all(|(result, _)| result == "failed"), "{outcomes:#?}");
    for target in ["notice:ops", "notice:owners:alice@example.com", "notice:owners:bob"] {
        let (_, error) = outcomes.remove(target).unwrap_or_else(|| panic!("no {target}: {first:#?}"));
        assert!(error.contains("535"), "the server's refusal: {error}");
        assert!(error.contains("the next evaluation retries"), "{error}");
    }
    // Azure gives no user name for nobody-1, only the assigned user's Entra object id: not an address.
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    let (target, (_, error)) = outcomes.pop_first().unwrap();
    assert!(target.starts_with("notice:owners:") && target.len() == "notice:owners:".len() + 36, "{target}");
    assert!(
        error.contains("is an Entra object id, not an e-mail address") && error.contains("not deliverable"),
        "{error}"
    );
    assert!(starttls.messages().is_empty() && implicit.messages().is_empty());

    // With the right password: one digest per owner and one to the fixed addresses; then nothing more.
    let second = run_at("2026-03-02T19:35:10+09:00", SMTP_PASSWORD).await;
    assert_eq!(second.code, 0, "{second:#?}");
    let outcomes = notices(&second);
    let targets: Vec<&str> = outcomes.keys().map(String::as_str).collect();
    assert_eq!(targets, ["notice:ops", "notice:owners:alice@example.com", "notice:owners:bob"], "{outcomes:#?}");
    assert!(outcomes.values().all(|(result, _)| result == "succeeded"), "{outcomes:#?}");
    assert!(outcomes["notice:owners:bob"].1.contains("bob@example.org"), "owner_domain completes bob: {outcomes:#?}");
    let third = run_at("2026-03-02T19:40:10+09:00", SMTP_PASSWORD).await;
    assert_eq!(third.code, 0, "{third:#?}");
    assert_eq!(third.json(), serde_json::json!([]), "one message per channel and owner per occurrence");

    let now = at("2026-03-02T19:35:10+09:00");
    let owners = starttls.messages();
    assert_eq!(owners.len(), 2, "{owners:#?}");
    let mut by_recipient = BTreeMap::new();
    for message in &owners {
        assert_eq!(message["tls"], true, "STARTTLS before anything: {message:#}");
        assert_eq!(message["authenticated_as"], SMTP_USER);
        assert_eq!(message["mail_from"], "autostop@example.com");
        assert_eq!(message["content_type"], "multipart/alternative");
        let rcpt = message["rcpt_tos"].as_array().unwrap();
        assert_eq!(rcpt.len(), 1, "{message:#}");
        by_recipient.insert(rcpt[0].as_str().unwrap().to_owned(), message);
    }
    let expected = [("alice@example.com", vec!["alice-1", "alice-2"]), ("bob@example.org", vec!["bob-1"])];
    for (recipient, names) in expected {
        let message = by_recipient[recipient];
        assert_eq!(message["to"], recipient);
        let count = names.len();
        let noun = if count == 1 { "instance" } else { "instances" };
        let subject = format!("autostop: evening-stop stops {count} {noun} at 2026-03-02 20:00 +09:00");
        assert_eq!(message["subject"], subject.as_str());
        let text = message["text"].as_str().expect("a plain-text body");
        let html = message["html"].as_str().expect("an HTML body");
        let links = links_in(text);
        assert_eq!(links.len(), 4 * count, "four links per instance: {text}");
        let targets: std::collections::BTreeSet<String> = links.iter().map(|url| signed_target(url, now)).collect();
        let wanted: std::collections::BTreeSet<String> = names.iter().map(|name| id(name)).collect();
        assert_eq!(targets, wanted, "only this owner's instances: {text}");
        for other in ["alice-1", "bob-1", "nobody-1"].iter().filter(|name| !names.contains(name)) {
            assert!(!text.contains(other) && !html.contains(other), "{other} is not {recipient}'s: {text}");
        }
        assert_eq!(html.matches(&format!("<a href=\"{PUBLIC_URL}/owners/postpone?")).count(), 4 * count, "{html}");
    }

    let ops = implicit.messages();
    assert_eq!(ops.len(), 1, "{ops:#?}");
    assert_eq!(ops[0]["rcpt_tos"], serde_json::json!(["ops@example.com", "lead@example.com"]));
    assert_eq!((ops[0]["tls"].as_bool(), ops[0]["authenticated_as"].as_str()), (Some(true), Some(SMTP_USER)));
    let text = ops[0]["text"].as_str().unwrap();
    for name in ["alice-1", "alice-2", "bob-1", "nobody-1"] {
        assert!(text.contains(name), "the fixed addresses get every instance: {text}");
    }

    let history = cli(&["history", "-o", "json"], SMTP_PASSWORD).run().await;
    for output in [&first.stdout, &first.stderr, &second.stdout, &second.stderr, &history.stdout] {
        assert!(!output.contains(WRONG_PASSWORD) && !output.contains(SMTP_PASSWORD), "a password leaked: {output}");
    }
}

/// An emulator whose one instance to stop is run-1.
async fn one_instance() -> autostop_emulator::Emulator {
    emulator(fleet(vec![owned("run-1", Some("alice@example.com"))])).await
}

/// A [`Setup`] whose `evening-stop` notifies one e-mail channel, `ops`, on `smtp` (its server's URL), to a fixed
/// address.
fn ops_channel(tls: &SmtpTls, smtp: &str) -> Setup {
    let channel = email_channel("ops", smtp, r#"["ops@example.com"]"#);
    let notify = format!("public_url = \"{PUBLIC_URL}\"");
    smtp_setup(&notice_config(&notify, &channel, "", &["ops"]), &tls.roots)
}

/// The results of the notice events in the audit log, in order.
async fn notice_history(emulator: &autostop_emulator::Emulator, setup: &Setup) -> Vec<(String, String)> {
    let history = setup.cli(emulator, &["history", "-o", "json"]).run().await;
    assert_eq!(history.code, 0, "{history:#?}");
    let events = history.json();
    let said = |event: &serde_json::Value| {
        event["errorMessage"].as_str().or(event["reason"].as_str()).unwrap_or_default().to_owned()
    };
    let notices = events.as_array().expect("an array").iter().filter(|event| event["action"] == "notify");
    notices.map(|event| (event["result"].as_str().unwrap_or_default().to_owned(), said(event))).collect()
}

#[tokio::test]
async fn a_digest_for_an_smtp_server_that_is_down_fails_and_the_next_evaluation_sends_it_once_it_is_up() {
    // Nothing listens on the channel's port until the server starts there, after the first evaluation.
    let emulator = one_instance().await;
    let tls = smtp_tls(&emulator);
    let port = free_port();
    let setup = ops_channel(&tls, &format!("smtp://127.0.0.1:{port}"));

    let first = setup.run_at(&emulator, "2026-03-02T19:30:10+09:00").await;
    assert_eq!(first.code, 1, "{first:#?}");
    let (result, error) = notices(&first).remove("notice:ops").unwrap_or_else(|| panic!("no notice: {first:#?}"));
    assert_eq!(result, "failed", "{first:#?}");
    assert!(error.contains(&format!("SMTP 127.0.0.1:{port}: Connection error: Connection refused")), "{error}");
    assert_eq!(error.matches("refused").count(), 1, "each cause once: {error}");
    assert!(error.contains("the next evaluation retries"), "{error}");

    let server = SmtpServer::start("starttls", &tls, "starttls", port).await;
    assert_eq!(server.port, port);
    let second = setup.run_at(&emulator, "2026-03-02T19:35:10+09:00").await;
    assert_eq!(second.code, 0, "{second:#?}");
    assert_eq!(notices(&second).get("notice:ops").map(|(result, _)| result.as_str()), Some("succeeded"), "{second:#?}");
    let third = setup.run_at(&emulator, "2026-03-02T19:40:10+09:00").await;
    assert_eq!(third.code, 0, "{third:#?}");
    assert_eq!(third.json(), serde_json::json!([]), "once per rule, occurrence and channel");

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["rcpt_tos"], serde_json::json!(["ops@example.com"]));
    assert_eq!((messages[0]["tls"].as_bool(), messages[0]["authenticated_as"].as_str()), (Some(true), Some(SMTP_USER)));
    assert!(messages[0]["text"].as_str().is_some_and(|text| text.contains("run-1")), "{messages:#?}");
    let results: Vec<String> = notice_history(&emulator, &setup).await.into_iter().map(|(result, _)| result).collect();
    assert_eq!(results, ["failed", "succeeded"]);
}

#[tokio::test]
async fn an_smtp_channel_refuses_a_server_that_does_not_offer_starttls_and_never_sends_it_the_credentials() {
    // The server offers AUTH in clear text and would take the password: a client that did not insist on
    // STARTTLS would hand it over.
    let emulator = one_instance().await;
    let tls = smtp_tls(&emulator);
    let server = SmtpServer::start("plain", &tls, "plain", 0).await;
    let setup = ops_channel(&tls, &format!("smtp://127.0.0.1:{}", server.port));

    // Refused at each evaluation (the next one retries), never sent.
    for now in ["2026-03-02T19:30:10+09:00", "2026-03-02T19:35:10+09:00"] {
        let run = setup.run_at(&emulator, now).await;
        assert_eq!(run.code, 1, "{run:#?}");
        let (result, error) = notices(&run).remove("notice:ops").unwrap_or_else(|| panic!("no notice: {run:#?}"));
        assert_eq!(result, "failed", "{run:#?}");
        assert!(error.contains("the server does not offer STARTTLS"), "the reason names what is missing: {error}");
        assert!(error.contains("neither the credentials nor the message were sent"), "{error}");
        assert!(!run.stdout.contains(SMTP_PASSWORD) && !run.stderr.contains(SMTP_PASSWORD), "{run:#?}");
    }
    let commands = server.commands();
    assert!(commands.iter().any(|verb| verb == "EHLO"), "autostop never reached the server: {commands:?}");
    assert!(!commands.iter().any(|verb| verb == "AUTH" || verb == "MAIL"), "sent in clear text: {commands:?}");
    assert!(server.messages().is_empty());
    let history = notice_history(&emulator, &setup).await;
    assert_eq!(history.len(), 2, "{history:#?}");
    for (result, error) in &history {
        assert_eq!(result, "failed", "{history:#?}");
        assert!(error.contains("the server does not offer STARTTLS"), "{history:#?}");
    }
}

#[tokio::test]
async fn check_refuses_notices_without_a_public_url_and_a_bad_channel_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("autostop.toml");
    let text = r#"[[channels]]
name = "mail"
kind = "email"
smtp = "smtp://notices:SECRET-IN-URL@mail.example.com"
from = "autostop@example.com"
to = "owner"

[[scopes]]
subscription = "00000000-0000-0000-0000-000000000001"

[[rules]]
name = "evening-stop"
action = "stop"
schedule = "0 0 20 * * *"
notify = { before = "30m", channels = ["mail"] }
"#;
    std::fs::write(&config, text).unwrap();
    let check = Cli::bare(&["check", "--config", config.to_str().unwrap()]).run().await;
    assert_eq!(check.code, 2, "{check:#?}");
    let path = config.display().to_string();
    assert!(
        check.stderr.contains(&format!("{path}:4:8: channel mail: smtp: expected smtp://HOST[:PORT]")),
        "{check:#?}"
    );
    assert!(
        check.stderr.contains(&format!("{path}:15:10: rule evening-stop: notify: [notify] public_url is not set")),
        "{check:#?}"
    );
    assert!(!check.stderr.contains("SECRET") && !check.stdout.contains("SECRET"), "{check:#?}");
}
