//! The Azure Functions custom handler: answers the host's readiness probe, its timer invocations and the
//! HTTP-trigger invocations of the owners' notice links.
//!
//! The host owns the timer (one frequent timer, `0 */5 * * * *` by default, serves every rule in every time zone:
//! nothing here relies on `WEBSITE_TIME_ZONE`, which Linux Consumption plans ignore) and runs one invocation at a
//! time across scale-out; this handler also serialises invocations within the process. Each `POST /{function}`
//! evaluates `(ScheduleStatus.Last, now]` — the engine's catch-up limit when there is no `Last` — and answers
//! `{"Outputs":{},"Logs":[..],"ReturnValue":null}`: 200 for a clean evaluation, 500 when anything failed, was
//! lost (missed, interrupted), stayed unconfirmed or could not be read, or the evaluation itself failed, so the
//! host records a failed invocation; 400 for a body that is not a timer's. The engine keeps its own "last
//! evaluated" in its state store; the timer's `ScheduleStatus.Last` is used only when that store has none.
//!
//! An invocation whose `Data` holds an HTTP request (`Url`, `Method`: the links function `functions init` writes,
//! see [`super::http_trigger`]) is answered by the same link handler as the daemon's ([`Links::answer`]), outside
//! the timer's one-at-a-time lock: the page goes back in `Outputs.res`, with HTTP 200 to the host.
//!
//! Retention (`[state] keep`): after an evaluation the handler starts a prune of the audit log in the background
//! when one is due, and answers without waiting for it ([`super::retention`], [`Cadence::Shared`]). The host may
//! end work left after an answer (it scales in and recycles instances), so whether a prune is due is read from
//! the state, where each prune records how far it went: at most once a day whatever the number of instances, and
//! a prune cut short is due again at the next invocation on any instance. A failed prune never fails an
//! invocation: it is logged at once, and each later invocation's `Logs` carries it (`retention problem: ...`)
//! until a prune works.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use autostop_notify::POSTPONE_PATH;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Json;
use axum::routing::{get, post};
use jiff::Timestamp;
use tokio::sync::{Mutex, mpsc};

use super::daemon::RECORD_WAIT;
use super::http_trigger::{HttpInvocation, http_response, parse_http_invocation};
use super::links::Links;
use super::retention::{Cadence, PruneReport, Retention};
use super::server::ServerLimits;
use super::timer::{InvokeResponse, parse_invocation};
use super::{Evaluate, Load, Window};
use crate::signals::Control;
use autostop_engine::interrupt::{Interrupt, Stage};

/// How the custom handler runs.
#[derive(Debug, Clone)]
pub struct FunctionsOptions {
    /// `FUNCTIONS_CUSTOMHANDLER_PORT`: the handler listens on 127.0.0.1 at this port (0: any free port, announced
    /// in the `custom handler listening` log line).
    pub port: u16,
    /// How long shutdown waits for the invocation in flight.
    pub shutdown_grace: Duration,
    /// Limits on the HTTP connections.
    pub http: ServerLimits,
    /// The notice links' handler, for HTTP-trigger invocations (`None`: they are answered 404).
    pub links: Option<Arc<Links>>,
}

struct Handler<E> {
    engine: RwLock<Arc<E>>,
    run: Mutex<()>,
    interrupt: Interrupt,
    links: Option<Arc<Links>>,
    retention: Mutex<Retention>,
    prune_problem: Arc<PruneProblem>,
}

/// Why the last prune of the audit log failed, until one works or the state says none is due.
#[derive(Debug, Default)]
struct PruneProblem(std::sync::Mutex<Option<String>>);

impl PruneProblem {
    fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn set(&self, problem: Option<String>) {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = problem;
    }
}

impl PruneReport for PruneProblem {
    fn record_prune(&self, problem: Option<String>) {
        self.set(problem);
    }

    fn record_not_due(&self) {
        self.set(None);
    }
}

/// Serves the Functions host until shutdown; SIGHUP reloads the configuration as in the daemon.
pub async fn run_functions<L: Load>(
    loader: L,
    options: FunctionsOptions,
    controls: mpsc::Receiver<Control>,
) -> anyhow::Result<()> {
    let engine = loader.load().context("loading the configuration")?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port)))
        .await
        .with_context(|| format!("binding FUNCTIONS_CUSTOMHANDLER_PORT {}", options.port))?;
    // The bound address, so that port 0 (any free port) can be found from the log.
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "custom handler listening");
    serve(listener, loader, engine, options, controls).await
}

/// Serves the host on a bound listener with a loaded engine.
async fn serve<L: Load>(
    listener: tokio::net::TcpListener,
    loader: L,
    engine: L::Engine,
    options: FunctionsOptions,
    mut controls: mpsc::Receiver<Control>,
) -> anyhow::Result<()> {
    let shutdown_grace = options.shutdown_grace;
    let (interrupt_tx, interrupt) = Interrupt::pair();
    let handler = Arc::new(Handler {
        engine: RwLock::new(Arc::new(engine)),
        run: Mutex::new(()),
        interrupt,
        links: options.links,
        retention: Mutex::new(Retention::new(Cadence::Shared)),
        prune_problem: Arc::default(),
    });

    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(super::server::serve(listener, router(handler.clone()), options.http, async {
        let _ = shutdown_rx.await;
    }));
    let finished = loop {
        tokio::select! {
            finished = &mut server => break Some(finished),
            control = controls.recv() => match control {
                Some(Control::Reload) => reload(&loader, &handler),
                Some(Control::Shutdown) | None => break None,
            },
        }
    };
    let finished = match finished {
        Some(finished) => finished,
        None => {
            tracing::info!(grace = ?shutdown_grace, "shutting down: finishing the invocation in flight");
            let _ = interrupt_tx.send(Stage::Stopping);
            let _ = shutdown_tx.send(());
            match tokio::time::timeout(shutdown_grace, &mut server).await {
                Ok(finished) => finished,
                Err(_) => {
                    tracing::warn!("shutdown grace expired: recording the invocation in flight as interrupted");
                    let _ = interrupt_tx.send(Stage::Abandoning);
                    match tokio::time::timeout(RECORD_WAIT, &mut server).await {
                        Ok(finished) => finished,
                        Err(_) => {
                            tracing::warn!("the engine did not stop: leaving the invocation in flight unrecorded");
                            server.abort();
                            return Ok(());
                        }
                    }
                }
            }
        }
    };
    handler.retention.lock().await.finish(shutdown_grace).await;
    finished.context("the custom handler task failed")
}

fn reload<L: Load>(loader: &L, handler: &Handler<L::Engine>) {
    match loader.load() {
        Ok(engine) => {
            *handler.engine.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(engine);
            tracing::info!("configuration reloaded");
        }
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "configuration reload failed: keeping the previous one")
        }
    }
}

fn router<E: Evaluate>(handler: Arc<Handler<E>>) -> Router {
    Router::new().route("/", get(ready)).route("/{function}", post(invoke::<E>)).with_state(handler)
}

/// The host's readiness probe.
async fn ready() -> StatusCode {
    StatusCode::OK
}

async fn invoke<E: Evaluate>(
    State(handler): State<Arc<Handler<E>>>,
    Path(function): Path<String>,
    body: Bytes,
) -> (StatusCode, Json<InvokeResponse>) {
    match parse_http_invocation(&body) {
        Ok(Some(request)) => {
            return (StatusCode::OK, Json(answer_link(handler.links.as_deref(), &function, request).await));
        }
        Ok(None) => {}
        Err(err) => {
            tracing::error!(function, error = %err, "refusing the invocation");
            return (StatusCode::BAD_REQUEST, Json(InvokeResponse::logs(vec![err.to_string()])));
        }
    }
    let timer = match parse_invocation(&body) {
        Ok(timer) => timer,
        Err(err) => {
            tracing::error!(function, error = %err, "refusing the invocation");
            return (StatusCode::BAD_REQUEST, Json(InvokeResponse::logs(vec![err.to_string()])));
        }
    };
    let _one_at_a_time = handler.run.lock().await;
    let engine = handler.engine.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    let now = Timestamp::now();
    // A Last in the future (clock skew between host and handler) leaves nothing to do rather than a reversed window.
    let window = Window { last: timer.last.map(|last| last.min(now)), now };
    let window_text = match window.last {
        Some(last) => format!("({last}, {now}]"),
        None => format!("(catch-up limit, {now}]"),
    };
    tracing::info!(function, binding = timer.binding, past_due = timer.is_past_due, window = window_text, "invoked");
    match engine.evaluate(window, handler.interrupt.clone()).await {
        Ok(evaluation) => {
            let status = if evaluation.is_clean() { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
            for line in &evaluation.lines {
                tracing::info!(function, "{line}");
            }
            // In the background: the answer never waits for a prune, nor fails for one.
            handler.retention.lock().await.after_evaluation(&engine, &handler.prune_problem, now).await;
            let mut logs = evaluation.lines;
            logs.extend(evaluation.problems.iter().map(|problem| format!("problem: {problem}")));
            logs.extend(handler.prune_problem.get().map(|problem| format!("retention problem: {problem}")));
            logs.push(format!(
                "window {window_text}: {} attempted, {} succeeded, {} failed",
                evaluation.attempted, evaluation.succeeded, evaluation.failed
            ));
            (status, Json(InvokeResponse::logs(logs)))
        }
        Err(err) => {
            let line = format!("window {window_text}: evaluation failed: {err:#}");
            tracing::error!(function, "{line}");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(InvokeResponse::logs(vec![line])))
        }
    }
}

/// Answers an HTTP-trigger invocation with the link handler: only on a path ending in [`POSTPONE_PATH`] (the
/// route `functions init` gives the links function), else 404. The query (it holds the link's signature) is never
/// logged.
async fn answer_link(links: Option<&Links>, function: &str, request: HttpInvocation) -> InvokeResponse {
    let not_found = |line: String| {
        tracing::warn!(function, "{line}");
        let html = "<!doctype html><html><body><h1>Not found</h1></body></html>".to_owned();
        http_response(StatusCode::NOT_FOUND, html, vec![line])
    };
    let Some(links) = links else {
        return not_found(format!("{} {}: this handler serves no notice links", request.method, request.path));
    };
    if !request.path.ends_with(POSTPONE_PATH) {
        return not_found(format!(
            "{} {}: not a notice link path (expected one ending in {POSTPONE_PATH})",
            request.method, request.path
        ));
    }
    let Ok(method) = Method::from_bytes(request.method.as_bytes()) else {
        return not_found(format!("{:?}: not an HTTP method", request.method));
    };
    let answer = links.answer(&method, &request.query).await;
    let line = format!("notice link {method} {}: {}", request.path, answer.status.as_u16());
    tracing::info!(function, status = answer.status.as_u16(), "notice link answered");
    http_response(answer.status, answer.html, vec![line])
}

#[cfg(test)]
mod tests {
    use super::super::fakes::{Behaviour, FakeEngine, ts};
    use super::*;

    const LIMIT: Duration = Duration::from_secs(30);

    struct Host {
        url: String,
        client: reqwest::Client,
        controls: mpsc::Sender<Control>,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    }

    async fn start(engine: FakeEngine) -> Host {
        start_with(engine, || anyhow::bail!("reload refused in this test")).await
    }

    async fn start_with<L: Load<Engine = FakeEngine>>(engine: FakeEngine, loader: L) -> Host {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (controls, rx) = mpsc::channel(8);
        let options = FunctionsOptions { port: 0, shutdown_grace: LIMIT, http: ServerLimits::default(), links: None };
        let task = tokio::spawn(serve(listener, loader, engine, options, rx));
        Host { url, client: reqwest::Client::new(), controls, task }
    }

    impl Host {
        async fn invoke(&self, body: String) -> (u16, serde_json::Value) {
            let request = self.client.post(format!("{}/autostop", self.url)).body(body).send();
            let response = tokio::time::timeout(LIMIT, request).await.expect("answer in time").expect("answer");
            let status = response.status().as_u16();
            let json = tokio::time::timeout(LIMIT, response.json()).await.expect("body in time").expect("json body");
            (status, json)
        }

        async fn stop(self) {
            self.controls.send(Control::Shutdown).await.expect("handler alive");
            let ended = tokio::time::timeout(LIMIT, self.task).await.expect("handler stops").expect("task");
            ended.expect("handler ends cleanly");
        }
    }

    fn payload(status: &str, past_due: bool) -> String {
        format!(
            r#"{{"Data":{{"timer":{{"Schedule":{{"AdjustForDST":true}},"ScheduleStatus":{status},"IsPastDue":{past_due}}}}},"Metadata":{{}}}}"#
        )
    }

    #[tokio::test]
    async fn the_readiness_probe_answers() {
        let (engine, _windows) = FakeEngine::new(&[], Behaviour::Succeed);
        let host = start(engine).await;
        let probe = tokio::time::timeout(LIMIT, host.client.get(&host.url).send()).await.expect("in time");
        assert_eq!(probe.expect("answer").status().as_u16(), 200);
        host.stop().await;
    }

    #[tokio::test]
    async fn an_invocation_evaluates_from_last_and_answers_the_host_shape() {
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Succeed);
        let host = start(engine).await;
        let status = r#"{"Last":"2026-01-05T21:55:00.0123+00:00","Next":"2026-01-05T22:00:00+00:00","LastUpdated":"2026-01-05T21:55:00.0123+00:00"}"#;
        let (code, json) = host.invoke(payload(status, true)).await;
        assert_eq!(code, 200, "{json}");
        let window = windows.try_recv().expect("one evaluation");
        assert_eq!(window.last, Some(ts("2026-01-05T21:55:00.0123Z")));
        assert_eq!(json["Outputs"], serde_json::json!({}));
        assert_eq!(json["ReturnValue"], serde_json::Value::Null);
        let logs = json["Logs"].as_array().expect("Logs is an array");
        assert_eq!(logs[0], "succeeded: stop ci-1 (rule nightly at 2026-01-05T22:00:00Z)");
        assert!(logs[1].as_str().is_some_and(|line| line.ends_with("1 attempted, 1 succeeded, 0 failed")), "{json}");
        host.stop().await;
    }

    #[tokio::test]
    async fn a_null_status_leaves_the_window_to_the_catch_up_limit() {
        let (engine, mut windows) = FakeEngine::new(&[], Behaviour::Succeed);
        let host = start(engine).await;
        let (code, json) = host.invoke(payload("null", false)).await;
        assert_eq!(code, 200, "{json}");
        assert_eq!(windows.try_recv().expect("one evaluation").last, None);
        host.stop().await;
    }

    #[tokio::test]
    async fn any_problem_or_an_evaluation_error_is_a_500() {
        let status = r#"{"Last":"2026-01-05T21:55:00+00:00"}"#;
        // An unreadable scope attempts nothing, and is still a failure the host must record.
        for behaviour in [Behaviour::FailActions, Behaviour::Error, Behaviour::UnreadableScope] {
            let (mut engine, _windows) = FakeEngine::new(&[], behaviour);
            // An occurrence inside any window up to now, so that the failing engine attempts something.
            engine.occurrences = vec![ts("2026-01-05T22:00:00Z")];
            let host = start(engine).await;
            let (code, json) = host.invoke(payload(status, false)).await;
            assert_eq!(code, 500, "{behaviour:?}: {json}");
            assert!(!json["Logs"].as_array().expect("Logs").is_empty(), "{json}");
            host.stop().await;
        }
    }

    #[tokio::test]
    async fn a_failed_prune_never_fails_an_invocation_and_shows_in_the_later_ones_until_the_hour_is_up() {
        use std::sync::atomic::Ordering;
        let (mut engine, _windows) = FakeEngine::new(&[], Behaviour::Succeed);
        engine.prune_failure =
            Some("[state] keep: cannot prune the events before 2026-01-01T00:00:00Z: disk I/O error");
        let prunes = engine.prunes.clone();
        let host = start(engine).await;
        let (code, json) = host.invoke(payload("null", false)).await;
        assert_eq!(code, 200, "{json}");
        // The prune runs after the answer; a later invocation reports its failure, and does not try again yet.
        let deadline = tokio::time::Instant::now() + LIMIT;
        let shown = loop {
            let (code, json) = host.invoke(payload("null", false)).await;
            assert_eq!(code, 200, "a failed prune failed the invocation: {json}");
            let logs = json["Logs"].as_array().expect("Logs").clone();
            if let Some(line) = logs.iter().filter_map(|line| line.as_str()).find(|line| line.starts_with("retention"))
            {
                break line.to_owned();
            }
            assert!(tokio::time::Instant::now() < deadline, "the failed prune is never shown: {json}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(
            shown.starts_with("retention problem: [state] keep: cannot prune") && shown.ends_with("disk I/O error"),
            "{shown}"
        );
        assert_eq!(prunes.load(Ordering::SeqCst), 1, "tried again within the hour");
        host.stop().await;
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_timer_is_a_400_naming_what_was_found() {
        let (engine, mut windows) = FakeEngine::new(&[], Behaviour::Succeed);
        let host = start(engine).await;
        let (code, json) = host.invoke(r#"{"Data":{"req":{}},"Metadata":{}}"#.to_owned()).await;
        assert_eq!(code, 400);
        assert!(json["Logs"][0].as_str().is_some_and(|line| line.contains("found bindings [req]")), "{json}");
        assert!(windows.try_recv().is_err(), "no evaluation for a bad body");
        host.stop().await;
    }

    #[tokio::test]
    async fn an_http_invocation_is_answered_in_the_http_output_and_never_evaluates() {
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::Succeed);
        let host = start(engine).await;
        // No link handler in this host: a link is not found, in the function's HTTP output, with 200 to the host.
        let body = r#"{"Data":{"req":{"Url":"https://app.azurewebsites.net/api/owners/postpone?sig=00","Method":"GET","Query":{},"Headers":{}}},"Metadata":{}}"#;
        let (code, json) = host.invoke(body.to_owned()).await;
        assert_eq!(code, 200, "{json}");
        assert_eq!(json["Outputs"]["res"]["statusCode"], 404, "{json}");
        assert!(json["Logs"][0].as_str().is_some_and(|line| !line.contains("sig=")), "the query is logged: {json}");
        let (code, json) = host.invoke(r#"{"Data":{"req":{"Url":"/relative","Method":"GET"}}}"#.to_owned()).await;
        assert_eq!(code, 400, "{json}");
        assert!(json["Logs"][0].as_str().is_some_and(|line| line.starts_with("Data.req.Url: expected")), "{json}");
        assert!(windows.try_recv().is_err(), "an HTTP invocation evaluated the rules");
        host.stop().await;
    }

    #[tokio::test]
    async fn shutdown_interrupts_the_invocation_in_flight_which_still_answers() {
        let (engine, mut windows) = FakeEngine::new(&["2026-01-05T22:00:00Z"], Behaviour::WaitForInterrupt);
        let host = start(engine).await;
        let request = host.client.post(format!("{}/autostop", host.url)).body(payload("null", false)).send();
        let in_flight = tokio::spawn(request);
        tokio::time::timeout(LIMIT, windows.recv()).await.expect("evaluation started").expect("engine alive");
        host.controls.send(Control::Shutdown).await.expect("handler alive");
        let response = tokio::time::timeout(LIMIT, in_flight).await.expect("answer in time").expect("task");
        let json: serde_json::Value = response.expect("answer").json().await.expect("json");
        assert_eq!(json["Logs"][0], "interrupted: stop ci-1 (rule nightly at 2026-01-05T22:00:00Z)");
        tokio::time::timeout(LIMIT, host.task).await.expect("handler stops").expect("task").expect("clean end");
    }

    #[tokio::test]
    async fn reload_swaps_the_engine_and_a_rejected_reload_keeps_it() {
        let (old, mut old_windows) = FakeEngine::new(&[], Behaviour::Succeed);
        let (new, mut new_windows) = FakeEngine::new(&[], Behaviour::Succeed);
        let loads = std::sync::Mutex::new(vec![Ok(new), Err(anyhow::anyhow!("autostop.toml:1:1: bad"))]);
        let (loaded_tx, mut loaded) = mpsc::unbounded_channel();
        let loader = move || {
            let _ = loaded_tx.send(());
            loads.lock().expect("lock").pop().unwrap_or_else(|| anyhow::bail!("no more test engines"))
        };
        let host = start_with(old, loader).await;

        // The first reload is rejected: the old engine still answers.
        host.controls.send(Control::Reload).await.expect("handler alive");
        tokio::time::timeout(LIMIT, loaded.recv()).await.expect("reloaded in time").expect("loader alive");
        host.invoke(payload("null", false)).await;
        assert!(old_windows.try_recv().is_ok() && new_windows.try_recv().is_err(), "the old engine must answer");

        // The second one is accepted: the new engine answers.
        host.controls.send(Control::Reload).await.expect("handler alive");
        tokio::time::timeout(LIMIT, loaded.recv()).await.expect("reloaded in time").expect("loader alive");
        host.invoke(payload("null", false)).await;
        assert!(new_windows.try_recv().is_ok() && old_windows.try_recv().is_err(), "the new engine must answer");
        host.stop().await;
    }
}
