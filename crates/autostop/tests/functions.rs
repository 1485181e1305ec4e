//! End-to-end test of the Azure Functions custom handler, playing the Functions host: `functions init` writes the
//! app folder, the binary is started the way its host.json says with `FUNCTIONS_CUSTOMHANDLER_PORT` (0: it binds a
//! free port and names it in its log), probed with `GET /` until ready, then sent the timer payload three times (no
//! status; `Last` and `IsPastDue`; an action ARM refuses, which must fail the invocation); the answers and the
//! instances' states in the emulator are checked.

#[path = "support/unattended.rs"]
mod unattended;

use std::path::Path;
use std::time::Duration;

use autostop_emulator::{Emulator, Options, actions};
use jiff::Timestamp;
use serde_json::json;
use unattended::{
    Process, TIMEOUT, closed_within, compute, config_with_rules, id, idle_connection, occurrence_in, wait_for_state,
    workspace_fleet,
};

async fn emulator() -> Emulator {
    let fleet =
        workspace_fleet(vec![compute("run-1", "Running"), compute("run-2", "Running"), compute("idle-1", "Running")]);
    let options = Options { fleet, transition: Duration::from_millis(300), ..Default::default() };
    tokio::time::timeout(TIMEOUT, Emulator::start(options)).await.expect("emulator starts in time").expect("emulator")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()))
}

/// The address the handler bound (it is given port 0, so it picks a free one and names it in its log).
async fn listening_addr(handler: &mut Process) -> String {
    let listening = handler.wait_for_log(|line| line["message"] == "custom handler listening").await;
    let addr = listening["addr"].as_str().expect("the listening line names addr").to_owned();
    assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "not a bound address: {addr}");
    addr
}

/// Starts the handler in the app folder as the host does (its `host.json` given): `defaultExecutablePath` (the
/// built binary, placed there) with `arguments`, `FUNCTIONS_CUSTOMHANDLER_PORT` and `env`; returns it with the
/// address it bound.
async fn start_as_host(
    emulator: &Emulator,
    app: &Path,
    host: &serde_json::Value,
    env: &[(&str, &str)],
) -> (Process, String) {
    let description = &host["customHandler"]["description"];
    let executable = app.join(description["defaultExecutablePath"].as_str().expect("defaultExecutablePath"));
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_autostop"), &executable).expect("place the binary");
    let arguments: Vec<&str> =
        description["arguments"].as_array().expect("arguments").iter().map(|a| a.as_str().expect("text")).collect();
    // Port 0: the handler binds any free port and names it in its log, so no port is picked here and reused.
    let env: Vec<(&str, &str)> =
        [("FUNCTIONS_CUSTOMHANDLER_PORT", "0")].into_iter().chain(env.iter().copied()).collect();
    let mut handler = Process::spawn(emulator, app, &arguments, &env, Some(&executable));
    let addr = listening_addr(&mut handler).await;
    (handler, addr)
}

fn timer_payload(status: serde_json::Value, past_due: bool) -> serde_json::Value {
    json!({
        "Data": { "timer": { "Schedule": { "AdjustForDST": true }, "ScheduleStatus": status, "IsPastDue": past_due } },
        "Metadata": { "sys": { "MethodName": "autostop-timer", "UtcNow": Timestamp::now().to_string() } }
    })
}

async fn invoke(client: &reqwest::Client, url: &str, payload: &serde_json::Value) -> (u16, serde_json::Value) {
    let request = client.post(url).json(payload).send();
    let response = tokio::time::timeout(TIMEOUT, request).await.expect("answer in time").expect("answer");
    let status = response.status().as_u16();
    let body = tokio::time::timeout(TIMEOUT, response.json()).await.expect("body in time").expect("JSON body");
    (status, body)
}

fn logs_mention(body: &serde_json::Value, name: &str) -> bool {
    body["Logs"].as_array().is_some_and(|logs| logs.iter().any(|line| line.as_str().is_some_and(|l| l.contains(name))))
}

#[tokio::test]
async fn the_functions_host_runs_the_handler_that_functions_init_writes() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let app = dir.path().join("app");

    // run-1's rule fires in a moment, run-2's a little later, idle-1's after that (and its stop will be refused).
    let first = occurrence_in(Duration::from_secs(2));
    let second = first.checked_add(jiff::SignedDuration::from_secs(4)).expect("in range");
    let third = second.checked_add(jiff::SignedDuration::from_secs(4)).expect("in range");
    let config = config_with_rules(
        dir.path(),
        &[("first", "stop", "run-1", first), ("second", "stop", "run-2", second), ("third", "stop", "idle-1", third)],
    );

    let init = functions_init(&["--config".as_ref(), config.as_os_str(), "--out".as_ref(), app.as_os_str()]).await;
    assert!(init.status.success(), "functions init failed: {}", String::from_utf8_lossy(&init.stderr));

    // The folder the host deploys.
    let host = read_json(&app.join("host.json"));
    let function = read_json(&app.join("autostop-timer/function.json"));
    let settings = read_json(&app.join("local.settings.json"));
    assert_eq!(function["bindings"][0]["type"], "timerTrigger");
    assert_eq!(function["bindings"][0]["schedule"], "0 */5 * * * *");
    assert_eq!(settings["Values"]["FUNCTIONS_WORKER_RUNTIME"], "Custom");
    assert!(app.join("autostop.toml").is_file() && app.join("README.md").is_file());
    read_json(&app.join("autostop-role.json"));

    let (mut handler, addr) = start_as_host(&emulator, &app, &host, &[]).await;

    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let probe = tokio::time::timeout(TIMEOUT, client.get(&base).send()).await.expect("probe answered in time");
        if probe.is_ok_and(|response| response.status().is_success()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the handler never answered GET /");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // First invocation: no status (first run), so the window reaches back by the catch-up limit.
    while Timestamp::now() <= first {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = format!("{base}/autostop-timer");
    // The host's Last is when the previous invocation fired: now, before it is sent.
    let last = Timestamp::now();
    let (code, body) = invoke(&client, &url, &timer_payload(serde_json::Value::Null, false)).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["Outputs"], json!({}));
    assert_eq!(body["ReturnValue"], serde_json::Value::Null);
    assert!(logs_mention(&body, "run-1"), "{body}");
    wait_for_state(&emulator, &id("run-1"), &["Stopping", "Stopped"]).await;
    let invoked = handler.wait_for_log(|line| line["message"] == "invoked").await;
    assert_eq!(invoked["past_due"], false, "{invoked}");

    // Second invocation, past due, with Last as older hosts send it (no offset: UTC).
    while Timestamp::now() <= second {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last_text = last.to_zoned(jiff::tz::TimeZone::UTC).datetime().to_string();
    let status = json!({ "Last": last_text, "Next": second.to_string(), "LastUpdated": last_text });
    let last = Timestamp::now();
    let (code, body) = invoke(&client, &url, &timer_payload(status, true)).await;
    assert_eq!(code, 200, "{body}");
    assert!(logs_mention(&body, "run-2"), "{body}");
    assert!(!body.to_string().contains(emulator.client_secret()), "a secret reached the host: {body}");
    // run-1 was only accepted by the first invocation (no following under the host's time limit): this one
    // confirms it by reading it back, and does not act on it again.
    let logs = body["Logs"].as_array().expect("Logs").iter().filter_map(|line| line.as_str()).collect::<Vec<_>>();
    let run_1 = logs.iter().filter(|line| line.contains("run-1")).collect::<Vec<_>>();
    assert_eq!(run_1.len(), 1, "{body}");
    assert!(run_1[0].contains("succeeded: confirmed by reading the target back"), "{body}");
    wait_for_state(&emulator, &id("run-2"), &["Stopping", "Stopped"]).await;

    // Third invocation: its only action is refused by ARM, so every attempt failed and the host must see a failure.
    emulator.control().deny(&id("idle-1"), actions::COMPUTE_STOP);
    while Timestamp::now() <= third {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = json!({ "Last": last.to_string(), "Next": third.to_string(), "LastUpdated": last.to_string() });
    let (code, body) = invoke(&client, &url, &timer_payload(status, false)).await;
    assert_eq!(code, 500, "{body}");
    assert!(logs_mention(&body, "idle-1"), "{body}");
    assert_eq!(emulator.control().state(&id("idle-1")).as_deref(), Some("Running"));

    let exit = handler.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    exit.assert_never_wrote(emulator.client_secret());
    let invoked = exit.logs.iter().filter(|line| line["message"] == "invoked").collect::<Vec<_>>();
    assert_eq!(invoked.len(), 3, "every invocation is logged: {:#?}", exit.logs);
    assert_eq!(invoked[1]["past_due"], true);
}

async fn functions_init(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let init = tokio::process::Command::new(env!("CARGO_BIN_EXE_autostop"))
        .args(["functions", "init"])
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(TIMEOUT, init).await.expect("init in time").expect("init runs")
}

#[tokio::test]
async fn functions_init_refuses_a_bad_config_and_a_folder_in_use_as_usage_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("autostop.toml");
    std::fs::write(&config, "[defaults]\ntimezone = \"Mars/Olympus\"\n").expect("write config");
    let out = dir.path().join("app");
    let output = functions_init(&["--config".as_ref(), config.as_os_str(), "--out".as_ref(), out.as_os_str()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("autostop.toml:2:"), "the error names the line: {stderr}");
    assert!(!out.join("host.json").exists(), "nothing is written for a bad config");

    let at = occurrence_in(Duration::from_secs(3600));
    let config = config_with_rules(dir.path(), &[("evening", "stop", "run-1", at)]);
    std::fs::create_dir_all(&out).expect("out dir");
    std::fs::write(out.join("keep.txt"), "mine").expect("a file in the way");
    let output = functions_init(&["--config".as_ref(), config.as_os_str(), "--out".as_ref(), out.as_os_str()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --force to overwrite"), "{stderr}");
    assert!(!out.join("host.json").exists());
}

#[tokio::test]
async fn functions_init_copies_the_calendar_files_beside_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=YEARLY\r\n\
               SUMMARY:New Year\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    std::fs::create_dir(dir.path().join("calendars")).expect("calendar dir");
    std::fs::write(dir.path().join("calendars/holidays.ics"), ics).expect("write calendar");
    let text = "[[calendars]]\nname = \"holidays\"\nfile = \"calendars/holidays.ics\"\n\n[[scopes]]\n\
                subscription = \"00000000-0000-0000-0000-000000000001\"\n\n[[rules]]\nname = \"start\"\n\
                action = \"start\"\nschedule = \"0 0 8 * * *\"\nskip_on = [\"holidays\"]\n";
    let config = dir.path().join("autostop.toml");
    std::fs::write(&config, text).expect("write config");
    let out = dir.path().join("app");
    let output = functions_init(&["--config".as_ref(), config.as_os_str(), "--out".as_ref(), out.as_os_str()]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(out.join("calendars/holidays.ics")).expect("copied"), ics);

    // A calendar outside the config's folder cannot travel with the app: refused before anything is written.
    std::fs::create_dir(dir.path().join("conf")).expect("conf dir");
    let elsewhere = dir.path().join("conf/autostop.toml");
    std::fs::write(&elsewhere, text.replace("calendars/holidays.ics", "../outside.ics")).expect("write config");
    std::fs::write(dir.path().join("outside.ics"), ics).expect("write calendar");
    let other = dir.path().join("app2");
    let output =
        functions_init(&["--config".as_ref(), elsewhere.as_os_str(), "--out".as_ref(), other.as_os_str()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("calendar holidays: file ../outside.ics: expected a path inside the config's folder"),
        "{stderr}"
    );
    assert!(!other.join("host.json").exists());
}

#[tokio::test]
async fn the_handler_closes_a_connection_that_sends_no_header_after_the_timeout_from_the_environment() {
    let emulator = emulator().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config_with_rules(dir.path(), &[("later", "stop", "run-1", occurrence_in(Duration::from_secs(3600)))]);
    let env = [("FUNCTIONS_CUSTOMHANDLER_PORT", "0"), ("AUTOSTOP_HTTP_HEADER_TIMEOUT", "1s")];
    let args = ["serve", "--config", config.to_str().expect("utf-8 path")];
    let mut handler = Process::spawn(&emulator, dir.path(), &args, &env, None);
    let addr = listening_addr(&mut handler).await;

    let mut silent = idle_connection(&addr).await;
    assert!(closed_within(&mut silent, TIMEOUT).await, "a connection that sends nothing is kept open");

    let probe = tokio::time::timeout(TIMEOUT, reqwest::get(format!("http://{addr}/"))).await;
    assert!(probe.expect("in time").is_ok_and(|response| response.status().is_success()), "GET / still answers");
    let exit = handler.terminate().await;
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}

/// The signing key the handler is given, and the test signs its links with.
const LINK_KEY: &str = "a link key of at least thirty-two bytes, for tests only";

/// The host's invocation of the links function for `method` on `url`, shaped as the host sends it (the
/// custom-handler request payload: `Data.req` with `Url`, `Method`, `Query`, `Headers`, `Params`, `Identities`).
fn http_payload(method: &str, url: &str) -> serde_json::Value {
    let query: serde_json::Map<String, serde_json::Value> = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_owned(), json!(value)))
        .collect();
    json!({
        "Data": { "req": {
            "Url": url,
            "Method": method,
            "Query": serde_json::Value::Object(query).to_string(),
            "Headers": { "Accept": ["text/html"], "User-Agent": ["Mozilla/5.0"] },
            "Params": {},
            "Identities": "[]"
        } },
        "Metadata": { "sys": { "MethodName": "autostop-links", "UtcNow": Timestamp::now().to_string() } }
    })
}

/// `autostop ARGS` against the emulator, in `dir` with the state under it, as the handler started there.
async fn autostop(emulator: &Emulator, dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_autostop"));
    command.args(args).env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", dir);
    command.env("XDG_STATE_HOME", dir.join("state")).kill_on_drop(true);
    for (key, value) in emulator.env() {
        command.env(key, value);
    }
    let output = tokio::time::timeout(TIMEOUT, command.output()).await.expect("in time").expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "autostop {args:?} failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| panic!("autostop {args:?}: not JSON ({err}): {stderr}"))
}

fn results(history: &serde_json::Value) -> Vec<&str> {
    history.as_array().expect("an array").iter().filter_map(|event| event["result"].as_str()).collect()
}

#[tokio::test]
async fn the_links_function_that_functions_init_writes_shows_postpones_and_refuses_links_as_the_host_invokes_it() {
    use autostop_notify::{Link, LinkKey};
    let emulator = emulator().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let app = dir.path().join("app");
    let occurrence = occurrence_in(Duration::from_secs(3600));
    let config = config_with_rules(dir.path(), &[("evening", "stop", "run-1", occurrence)]);
    let public_url = "https://autostop-test.azurewebsites.net/api";
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}\n[notify]\npublic_url = \"{public_url}\"\n")).expect("write config");

    let init = functions_init(&["--config".as_ref(), config.as_os_str(), "--out".as_ref(), app.as_os_str()]).await;
    assert!(init.status.success(), "functions init failed: {}", String::from_utf8_lossy(&init.stderr));
    let printed = String::from_utf8_lossy(&init.stdout);
    assert!(printed.contains(&format!("notice links will point to {public_url}/owners/postpone")), "{printed}");

    // Both functions, each with the bindings the host needs.
    let timer = read_json(&app.join("autostop-timer/function.json"));
    assert_eq!(timer["bindings"].as_array().map(Vec::len), Some(1), "{timer}");
    assert_eq!(timer["bindings"][0]["type"], "timerTrigger");
    let links = read_json(&app.join("autostop-links/function.json"));
    let bindings = links["bindings"].as_array().expect("bindings");
    assert_eq!(bindings.len(), 2, "{links}");
    let trigger = bindings.iter().find(|binding| binding["direction"] == "in").expect("an input binding");
    assert_eq!(trigger["type"], "httpTrigger");
    assert_eq!(trigger["name"], "req");
    assert_eq!(trigger["authLevel"], "anonymous");
    assert_eq!(trigger["route"], "owners/postpone");
    assert_eq!(trigger["methods"], json!(["get", "post"]));
    let output = bindings.iter().find(|binding| binding["direction"] == "out").expect("an output binding");
    assert_eq!((output["type"].as_str(), output["name"].as_str()), (Some("http"), Some("res")), "{links}");
    let host = read_json(&app.join("host.json"));
    assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], false, "the handler reads invocation payloads");
    let readme = std::fs::read_to_string(app.join("README.md")).expect("README");
    assert!(readme.contains("`autostop-links/function.json`") && !readme.contains("{{"), "{readme}");

    let (handler, addr) = start_as_host(&emulator, &app, &host, &[("AUTOSTOP_LINK_KEY", LINK_KEY)]).await;
    let client = reqwest::Client::new();
    let function = format!("http://{addr}/autostop-links");

    let key = LinkKey::new(LINK_KEY.as_bytes());
    let late = Link::new(&id("run-1"), "evening", occurrence, autostop_policy::Choice::parse("+1h").expect("choice"))
        .url(public_url, &key);
    assert!(late.starts_with(&format!("{public_url}/owners/postpone?")), "{late}");
    let until = (occurrence + jiff::SignedDuration::from_hours(1)).to_zoned(jiff::tz::TimeZone::UTC);
    let until = until.strftime("%H:%M").to_string();

    // GET: the confirmation page in Outputs.res, HTTP 200 to the host; nothing changes.
    let (code, body) = invoke(&client, &function, &http_payload("GET", &late)).await;
    assert_eq!(code, 200, "{body}");
    let res = &body["Outputs"]["res"];
    assert_eq!(res["statusCode"], 200, "{body}");
    assert_eq!(res["headers"]["Content-Type"], "text/html; charset=utf-8", "{body}");
    let page = res["body"].as_str().expect("an HTML body");
    assert!(page.contains("run-1") && page.contains("<form method=\"post\">") && page.contains(&until), "{page}");
    assert!(!body.to_string().contains("sig="), "the signature is echoed: {body}");
    let history = autostop(&emulator, &app, &["history", "-o", "json"]).await;
    assert!(!results(&history).contains(&"postponed"), "GET changed something: {history:#}");

    // A tampered link: 403, and its POST recorded; another path: 404.
    let tampered = late.replace("choice=%2B1h", "choice=%2B4h");
    assert_ne!(tampered, late);
    let (code, body) = invoke(&client, &function, &http_payload("POST", &tampered)).await;
    assert_eq!((code, body["Outputs"]["res"]["statusCode"].as_u64()), (200, Some(403)), "{body}");
    let elsewhere = late.replace("/owners/postpone?", "/owners/other?");
    let (_, body) = invoke(&client, &function, &http_payload("GET", &elsewhere)).await;
    assert_eq!(body["Outputs"]["res"]["statusCode"], 404, "{body}");

    // POST from the page: postponed, recorded; the plan shows it.
    let (code, body) = invoke(&client, &function, &http_payload("POST", &late)).await;
    assert_eq!((code, body["Outputs"]["res"]["statusCode"].as_u64()), (200, Some(200)), "{body}");
    let page = body["Outputs"]["res"]["body"].as_str().expect("an HTML body");
    assert!(page.contains(&format!("postponed by its owner until {until} (+1h)")), "{page}");
    let history = autostop(&emulator, &app, &["history", "-o", "json"]).await;
    let results = results(&history);
    assert_eq!(results.iter().filter(|result| **result == "postponed").count(), 1, "{history:#}");
    assert_eq!(results.iter().filter(|result| **result == "link-refused").count(), 1, "{history:#}");
    let config = app.join("autostop.toml");
    let config = config.to_str().expect("utf-8 path");
    let plan = autostop(&emulator, &app, &["plan", "--config", config, "--window", "2h", "-o", "json"]).await;
    let row = plan.as_array().expect("rows").iter().find(|row| row["name"] == "run-1").expect("run-1 planned");
    assert_eq!(row["code"], "postponed", "{plan:#}");
    assert_eq!(row["reason"], format!("postponed by its owner until {until}"), "{plan:#}");

    let exit = handler.terminate().await;
    assert_eq!(exit.code, Some(0), "{exit:?}");
    exit.assert_never_wrote(LINK_KEY);
    let signature = late.rsplit("sig=").next().expect("a signature");
    exit.assert_never_wrote(signature);
    // GET, the tampered POST and the POST (the other path never reached the link handler).
    let answered = exit.logs.iter().filter(|line| line["message"] == "notice link answered").count();
    assert_eq!(answered, 3, "{:#?}", exit.logs);
}
