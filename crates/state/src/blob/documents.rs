//! The JSON documents a Blob state stores, and their conversion to and from the state's values. Pure.
//!
//! Instants are milliseconds since 1970 (UTC); occurrences keep their zone as RFC 9557 text
//! (`2026-03-02T20:00:00+09:00[Asia/Tokyo]`). Field names are camelCase. Unknown fields are ignored, so that a
//! newer autostop may add some.

use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};

use crate::claim::{Claim, ClaimKey, ClaimStatus};
use crate::event::{Event, EventKind};
use crate::owner::Owner;
use crate::pending::Pending;
use crate::postponement::Postponement;
use crate::price::CachedPrice;
use crate::run::{RunId, RunRecord, RunStatus};

/// Why a stored document could not be read back: what, and what was found.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub what: &'static str,
    pub expected: &'static str,
    pub found: String,
}

fn unreadable(what: &'static str, expected: &'static str, found: impl Into<String>) -> Unreadable {
    Unreadable { what, expected, found: found.into() }
}

fn timestamp(what: &'static str, ms: i64) -> Result<Timestamp, Unreadable> {
    Timestamp::from_millisecond(ms).map_err(|_| unreadable(what, "milliseconds since 1970", ms.to_string()))
}

fn zoned(what: &'static str, text: &str) -> Result<Zoned, Unreadable> {
    text.parse().map_err(|_| unreadable(what, "an RFC 9557 zoned date-time", text))
}

/// A claim's document (`claims/...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClaimDoc {
    pub rule: String,
    pub occurrence: String,
    pub target_id: String,
    pub target_name: String,
    pub action: String,
    pub run: String,
    pub claimed_ms: i64,
    pub sent_ms: Option<i64>,
    pub status: String,
    pub updated_ms: i64,
    /// The transactions of the moves this claim made: an event line whose `txn` is listed belongs to the history.
    #[serde(default)]
    pub txns: Vec<String>,
}

impl ClaimDoc {
    /// The document of a claim just taken.
    pub fn new(claim: &crate::claim::NewClaim) -> ClaimDoc {
        ClaimDoc {
            rule: claim.key.rule.clone(),
            occurrence: claim.key.occurrence.to_string(),
            target_id: claim.key.target_id.clone(),
            target_name: claim.target_name.clone(),
            action: claim.action.clone(),
            run: claim.run.0.clone(),
            claimed_ms: claim.at.as_millisecond(),
            sent_ms: None,
            status: ClaimStatus::Claimed.as_str().to_owned(),
            updated_ms: claim.at.as_millisecond(),
            txns: Vec::new(),
        }
    }

    /// Its status.
    pub fn status(&self) -> Result<ClaimStatus, Unreadable> {
        self.status.parse().map_err(|()| {
            unreadable(
                "claim status",
                "claimed, sent, accepted, succeeded, failed, unconfirmed or interrupted",
                &self.status,
            )
        })
    }

    /// The claim it describes.
    pub fn to_claim(&self) -> Result<Claim, Unreadable> {
        Ok(Claim {
            key: ClaimKey {
                rule: self.rule.clone(),
                occurrence: zoned("claim occurrence", &self.occurrence)?,
                target_id: self.target_id.clone(),
            },
            target_name: self.target_name.clone(),
            action: self.action.clone(),
            run: RunId(self.run.clone()),
            claimed_at: timestamp("claim time", self.claimed_ms)?,
            sent_at: self.sent_ms.map(|ms| timestamp("claim send time", ms)).transpose()?,
            status: self.status()?,
            updated_at: timestamp("claim update time", self.updated_ms)?,
        })
    }
}

/// A run's document (`runs/...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunDoc {
    pub started_ms: i64,
    pub window_after_ms: Option<i64>,
    pub window_until_ms: Option<i64>,
    pub host: String,
    pub pid: u32,
    pub heartbeat_ms: i64,
    pub finished_ms: Option<i64>,
    pub status: Option<String>,
}

impl RunDoc {
    /// The run it describes.
    pub fn to_record(&self, id: &RunId) -> Result<RunRecord, Unreadable> {
        let status = self
            .status
            .as_deref()
            .map(|text| {
                text.parse::<RunStatus>()
                    .map_err(|()| unreadable("run status", "succeeded, some-failed or interrupted", text))
            })
            .transpose()?;
        Ok(RunRecord {
            id: id.clone(),
            started: timestamp("run start", self.started_ms)?,
            heartbeat: timestamp("run heartbeat", self.heartbeat_ms)?,
            finished: self.finished_ms.map(|ms| timestamp("run end", ms)).transpose()?,
            status,
            owner: Some(Owner { host: self.host.clone(), pid: self.pid }),
        })
    }
}

/// A pending occurrence's document (`pending/...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PendingDoc {
    pub rule: String,
    pub occurrence: String,
    pub since_ms: i64,
    pub cause: String,
}

impl PendingDoc {
    /// The document of `pending`.
    pub fn new(pending: &Pending) -> PendingDoc {
        PendingDoc {
            rule: pending.rule.clone(),
            occurrence: pending.occurrence.to_string(),
            since_ms: pending.since.as_millisecond(),
            cause: pending.cause.clone(),
        }
    }

    /// The pending occurrence it describes.
    pub fn to_pending(&self) -> Result<Pending, Unreadable> {
        Ok(Pending {
            rule: self.rule.clone(),
            occurrence: zoned("pending occurrence", &self.occurrence)?,
            since: timestamp("pending since", self.since_ms)?,
            cause: self.cause.clone(),
        })
    }
}

/// An owner's postponement of one stop (`postponements/...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostponementDoc {
    pub rule: String,
    pub occurrence: String,
    pub target_id: String,
    pub target_name: String,
    pub choice: String,
    pub until_ms: Option<i64>,
    pub made_ms: i64,
}

impl PostponementDoc {
    /// The document of `postponement`.
    pub fn new(postponement: &Postponement) -> PostponementDoc {
        PostponementDoc {
            rule: postponement.key.rule.clone(),
            occurrence: postponement.key.occurrence.to_string(),
            target_id: postponement.key.target_id.clone(),
            target_name: postponement.target_name.clone(),
            choice: postponement.choice.clone(),
            until_ms: postponement.until.map(Timestamp::as_millisecond),
            made_ms: postponement.made_at.as_millisecond(),
        }
    }

    /// The postponement it describes.
    pub fn to_postponement(&self) -> Result<Postponement, Unreadable> {
        Ok(Postponement {
            key: ClaimKey {
                rule: self.rule.clone(),
                occurrence: zoned("postponed occurrence", &self.occurrence)?,
                target_id: self.target_id.clone(),
            },
            target_name: self.target_name.clone(),
            choice: self.choice.clone(),
            until: self.until_ms.map(|ms| timestamp("postponed until", ms)).transpose()?,
            made_at: timestamp("postponement made", self.made_ms)?,
        })
    }
}

/// When autostop last sent a stop to one target (`last-stops/...`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LastStopDoc {
    pub target_key: String,
    pub sent_ms: i64,
}

impl LastStopDoc {
    /// When the stop was sent.
    pub fn sent(&self) -> Result<Timestamp, Unreadable> {
        timestamp("stop sent", self.sent_ms)
    }
}

/// A "last evaluated" cell (`windows/...`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WindowDoc {
    pub at_ms: i64,
}

impl WindowDoc {
    /// The instant it holds.
    pub fn at(self) -> Result<Timestamp, Unreadable> {
        timestamp("last evaluated instant", self.at_ms)
    }
}

/// The cached prices of one currency (`prices/...`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PricesDoc {
    pub prices: Vec<PriceDoc>,
}

/// One cached price.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PriceDoc {
    pub region: String,
    pub size: String,
    pub hourly: f64,
    pub fetched_ms: i64,
}

impl PricesDoc {
    /// The prices it holds, in `currency`.
    pub fn to_prices(&self, currency: &str) -> Result<Vec<CachedPrice>, Unreadable> {
        let price = |doc: &PriceDoc| {
            Ok(CachedPrice {
                region: doc.region.clone(),
                size: doc.size.clone(),
                currency: currency.to_owned(),
                hourly: doc.hourly,
                fetched: timestamp("price fetched", doc.fetched_ms)?,
            })
        };
        self.prices.iter().map(price).collect()
    }

    /// Replaces (or adds) the price of the same region and size, compared ignoring case.
    pub fn put(&mut self, price: &CachedPrice) {
        self.prices.retain(|doc| {
            !(doc.region.eq_ignore_ascii_case(&price.region) && doc.size.eq_ignore_ascii_case(&price.size))
        });
        self.prices.push(PriceDoc {
            region: price.region.clone(),
            size: price.size.clone(),
            hourly: price.hourly,
            fetched_ms: price.fetched.as_millisecond(),
        });
    }
}

/// One line of the audit log (`events/YYYY-MM-DD.jsonl`). `txn` and `claim` are set on an event recorded with
/// a claim's move: it belongs to the history only if that claim's document lists `txn` (the line is written
/// before the move, which may then lose its compare-and-set or never happen).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventLine {
    pub time_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
}

impl EventLine {
    /// The line of `event`, bound to a claim's move when `txn` is given (its id, and the claim's blob).
    pub fn new(event: &Event, txn: Option<(&str, &str)>) -> EventLine {
        EventLine {
            time_ms: event.time.as_millisecond(),
            run: event.run.as_ref().map(|run| run.0.clone()),
            kind: event.kind.as_str().to_owned(),
            rule: event.rule.clone(),
            occurrence: event.occurrence.as_ref().map(ToString::to_string),
            target_id: event.target_id.clone(),
            target_name: event.target_name.clone(),
            action: event.action.clone(),
            reason: event.reason.clone(),
            error_code: event.error_code.clone(),
            error_message: event.error_message.clone(),
            txn: txn.map(|(txn, _)| txn.to_owned()),
            claim: txn.map(|(_, claim)| claim.to_owned()),
        }
    }

    /// The line as stored: compact JSON and a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// The event it records.
    pub fn to_event(&self) -> Result<Event, Unreadable> {
        let kind = self.kind.parse::<EventKind>().map_err(|()| {
            unreadable(
                "event kind",
                "succeeded, accepted, failed, skipped, missed, interrupted or unconfirmed",
                &self.kind,
            )
        })?;
        Ok(Event {
            time: timestamp("event time", self.time_ms)?,
            run: self.run.clone().map(RunId),
            kind,
            rule: self.rule.clone(),
            occurrence: self.occurrence.as_deref().map(|text| zoned("rule occurrence", text)).transpose()?,
            target_id: self.target_id.clone(),
            target_name: self.target_name.clone(),
            action: self.action.clone(),
            reason: self.reason.clone(),
            error_code: self.error_code.clone(),
            error_message: self.error_message.clone(),
        })
    }
}

/// Reads a JSON document, or says what it held.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, Unreadable> {
    serde_json::from_slice(bytes).map_err(|err| Unreadable {
        what,
        expected: "autostop's JSON document",
        found: format!("{err}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(200)])),
    })
}
