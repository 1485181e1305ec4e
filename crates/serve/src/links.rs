//! The notice links' endpoint, `GET` and `POST` on [`POSTPONE_PATH`]. `GET` only shows what the link would do
//! (to which instance, when) with a button: link previews and mail scanners fetch links, and must change nothing.
//! Only the `POST` from that page keeps the owner's choice (with its audit event). A link whose signature does
//! not match is refused with 403, one whose stop has come with 410, one missing a field with 400; a refused
//! `POST` is recorded in the audit log. The signing key is `AUTOSTOP_LINK_KEY`, else one generated once and kept
//! in the state store; never logged.
//!
//! One handler, [`Links::answer`], for both ways a request arrives: the daemon's own HTTP server ([`Links::router`])
//! and the Azure Functions host's HTTP-trigger invocations (`super::functions`). The rules it reads follow the
//! configuration: a reload that is accepted hands its configuration over with [`Links::follow`].

use std::sync::{Arc, PoisonError, RwLock};

use autostop_notify::{Link, LinkError, LinkKey, LinkQuery, POSTPONE_PATH};
use autostop_policy::{Action, Choice, Config};
use autostop_state::{ClaimKey, Event, EventKind, Postponement, StateStore};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jiff::{Timestamp, Zoned};
use tokio::sync::OnceCell;

use autostop_engine::evaluation::Wakeups;

/// What the link handler needs: the state, the rules (for their zones), and where the signing key comes from.
pub struct Links {
    store: Arc<dyn StateStore>,
    wakeups: Wakeups,
    config: RwLock<Arc<Config>>,
    given_key: Option<Vec<u8>>,
    key: OnceCell<LinkKey>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").field("store", &self.store.location()).finish_non_exhaustive()
    }
}

/// The answer to a request on a link: a status and an HTML page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The page.
    pub html: String,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, Html(self.html)).into_response()
    }
}

impl Links {
    /// A handler over `store` for the rules of `config`, signing with `given_key` (from `AUTOSTOP_LINK_KEY`) when
    /// set, else with the key kept in the state; the new time of each postponed stop goes to `wakeups`.
    pub fn new(store: Arc<dyn StateStore>, config: Config, given_key: Option<Vec<u8>>, wakeups: Wakeups) -> Links {
        Links { store, wakeups, config: RwLock::new(Arc::new(config)), given_key, key: OnceCell::new() }
    }

    /// From now on, links are read against `config` (a reloaded configuration, once accepted).
    pub fn follow(&self, config: Config) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }

    /// The router serving [`POSTPONE_PATH`] in the daemon.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new().route(POSTPONE_PATH, get(serve_link).post(serve_link)).with_state(self)
    }

    /// Answers `method` on the link whose query string (what follows `?`, still percent-encoded) is `query`:
    /// `GET` (and `HEAD`) show the confirmation page, `POST` acts; anything else is 405.
    pub async fn answer(&self, method: &Method, query: &str) -> Answer {
        let query = match LinkQuery::parse(query) {
            Ok(query) => query,
            Err(err) => return Refusal::Link(err).answer(),
        };
        match *method {
            Method::GET | Method::HEAD => self.show(&query, Timestamp::now()).await,
            Method::POST => self.choose(&query, Timestamp::now()).await,
            _ => Answer {
                status: StatusCode::METHOD_NOT_ALLOWED,
                html: page("Not allowed", "<p>Open the link in a browser.</p>"),
            },
        }
    }

    async fn key(&self) -> anyhow::Result<&LinkKey> {
        self.key
            .get_or_try_init(|| async {
                if let Some(given) = &self.given_key {
                    return Ok(LinkKey::new(given));
                }
                let generated = LinkKey::generate()?;
                let stored = self.store.link_signing_key(&generated).await?;
                Ok(LinkKey::new(&stored))
            })
            .await
    }

    /// The link, checked, with the zoned occurrence of its stop rule (in the configuration followed now).
    async fn check(&self, query: &LinkQuery, now: Timestamp) -> Result<(Link, Zoned), Refusal> {
        let key = self.key().await.map_err(Refusal::Internal)?;
        let link = Link::verify(query, key, now).map_err(Refusal::Link)?;
        let config = self.config.read().unwrap_or_else(PoisonError::into_inner).clone();
        let rule = config.rule(&link.rule).filter(|rule| rule.action == Action::Stop).ok_or(Refusal::NoRule)?;
        let occurrence = link.occurrence.to_zoned(rule.zone.time_zone().clone());
        Ok((link, occurrence))
    }

    /// `GET`: what the link would do, and a button. Changes nothing.
    async fn show(&self, query: &LinkQuery, now: Timestamp) -> Answer {
        let (link, occurrence) = match self.check(query, now).await {
            Ok(checked) => checked,
            Err(refusal) => return refusal.answer(),
        };
        let name = escape(target_name(&link.target_id));
        let when = occurrence.strftime("%Y-%m-%d %H:%M %Z").to_string();
        let effect = match link.choice.until(&occurrence) {
            Some(until) => {
                format!("will stop at <b>{}</b> instead", escape(&until.strftime("%Y-%m-%d %H:%M %Z").to_string()))
            }
            None => "will <b>not</b> be stopped this time".to_owned(),
        };
        let body = format!(
            "<p>Rule <b>{rule}</b> stops <b>{name}</b> at {when}. With this link it {effect}.</p>\
             <p><small>{id}</small></p>\
             <form method=\"post\"><button type=\"submit\">{button}</button></form>",
            rule = escape(&link.rule),
            when = escape(&when),
            id = escape(&link.target_id),
            button = if link.choice == Choice::Skip {
                "Skip this stop".to_owned()
            } else {
                format!("Postpone {}", escape(&link.choice.label()))
            },
        );
        let title = if link.choice == Choice::Skip { "Skip the stop of" } else { "Postpone the stop of" };
        Answer { status: StatusCode::OK, html: page(&format!("{title} {name}"), &body) }
    }

    /// `POST`: keeps the owner's choice and records it; a refused link is recorded too.
    async fn choose(&self, query: &LinkQuery, now: Timestamp) -> Answer {
        let (link, occurrence) = match self.check(query, now).await {
            Ok(checked) => checked,
            Err(refusal) => {
                let event = Event {
                    rule: Some(query.rule.clone()),
                    target_id: Some(query.target.clone()),
                    target_name: Some(target_name(&query.target).to_owned()),
                    action: Some("stop".to_owned()),
                    reason: Some(format!("notice link {} refused: {}", query.choice, refusal.reason())),
                    ..Event::new(now, EventKind::LinkRefused)
                };
                if let Err(err) = self.store.record(&event).await {
                    tracing::error!(error = %err, "cannot record a refused notice link");
                }
                return refusal.answer();
            }
        };
        let key =
            ClaimKey { rule: link.rule.clone(), occurrence: occurrence.clone(), target_id: link.target_id.clone() };
        match self.store.claims_of(&link.rule, link.occurrence).await {
            Ok(claims) if claims.iter().any(|claim| claim.key == key) => {
                let body = "<p>Too late: this stop has already been handled.</p>";
                return Answer { status: StatusCode::CONFLICT, html: page("Too late", body) };
            }
            Ok(_) => {}
            Err(err) => return Refusal::Internal(err.into()).answer(),
        }
        let until = link.choice.until(&occurrence);
        let name = target_name(&link.target_id).to_owned();
        let reason = match &until {
            Some(until) => {
                format!("postponed by its owner until {} ({})", until.strftime("%H:%M"), link.choice.label())
            }
            None => "skipped by its owner for this occurrence (skip)".to_owned(),
        };
        let postponement = Postponement {
            key: key.clone(),
            target_name: name.clone(),
            choice: link.choice.label(),
            until: until.as_ref().map(Zoned::timestamp),
            made_at: now,
        };
        let event = Event {
            rule: Some(link.rule.clone()),
            occurrence: Some(occurrence.clone()),
            target_id: Some(link.target_id.clone()),
            target_name: Some(name.clone()),
            action: Some("stop".to_owned()),
            reason: Some(reason.clone()),
            ..Event::new(now, EventKind::Postponed)
        };
        if let Err(err) = self.store.postpone(&postponement, &event).await {
            tracing::error!(error = %err, rule = %link.rule, target = %link.target_id, "cannot keep a postponement");
            return Refusal::Internal(err.into()).answer();
        }
        self.wakeups.add(postponement.until);
        tracing::info!(rule = %link.rule, target = %link.target_id, choice = %link.choice.label(), "an owner answered a notice");
        Answer {
            status: StatusCode::OK,
            html: page("Done", &format!("<p>{}: {}.</p>", escape(&name), escape(&reason))),
        }
    }
}

/// Why a link is not acted on.
enum Refusal {
    Link(LinkError),
    NoRule,
    Internal(anyhow::Error),
}

impl Refusal {
    fn answer(&self) -> Answer {
        let (status, text) = match self {
            Refusal::Link(LinkError::Tampered) => (StatusCode::FORBIDDEN, "This link is not valid.".to_owned()),
            Refusal::Link(LinkError::Malformed(_)) => {
                (StatusCode::BAD_REQUEST, "This link is incomplete: copy all of it from the notice.".to_owned())
            }
            Refusal::Link(err @ LinkError::Expired { .. }) => {
                (StatusCode::GONE, format!("This link has expired: {err}."))
            }
            Refusal::NoRule => (StatusCode::GONE, "The rule this link is about is no longer configured.".to_owned()),
            Refusal::Link(LinkError::NoRandomness) | Refusal::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "autostop cannot check this link now; try again later.".to_owned())
            }
        };
        Answer { status, html: page("Link refused", &format!("<p>{}</p>", escape(&text))) }
    }

    fn reason(&self) -> String {
        match self {
            Refusal::Link(err) => err.to_string(),
            Refusal::NoRule => "the link's rule is no longer a configured stop rule".to_owned(),
            Refusal::Internal(err) => format!("{err:#}"),
        }
    }
}

/// The daemon's route: the method and raw query string handed to [`Links::answer`].
async fn serve_link(State(links): State<Arc<Links>>, method: Method, RawQuery(query): RawQuery) -> Answer {
    links.answer(&method, query.as_deref().unwrap_or_default()).await
}

/// The compute's name: the last segment of its id.
fn target_name(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">\
         <title>autostop: {title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
