//! The names of the blobs that hold a Blob state, under the state's prefix. Pure: names only.
//!
//! ```text
//! claims/RULE/OCCURRENCE_MS/TARGET   one JSON document per claim (the truth about it)
//! open/RULE/OCCURRENCE_MS/TARGET     an empty marker: the claim may still be open (an index, pruned lazily)
//! runs/RUN_ID                        one JSON document per run, with its heartbeat
//! pending/RULE/OCCURRENCE_MS         one JSON document per pending occurrence
//! windows/KEY                        "last evaluated" cells: JSON documents moved forward only
//! events/YYYY-MM-DD.jsonl            the audit log: one append blob per UTC day, one JSON line per event
//! prices/CURRENCY                    the cached hourly prices in one currency: one JSON document
//! ```
//!
//! RULE, TARGET (lowercased, as target ids compare) and KEY are base64url without padding, so that any rule
//! name or ARM id makes a valid, unambiguous blob name.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;

use crate::claim::ClaimKey;

/// The blob names of one state, all under `prefix`.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
}

/// How events are numbered: the day's number since 1970 above this many bits, the line's byte offset in its
/// day's blob below.
const OFFSET_BITS: u32 = 40;

fn encode(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

impl Layout {
    /// The layout under `prefix` (empty, or ending in `/`).
    pub fn new(prefix: &str) -> Layout {
        Layout { prefix: prefix.to_owned() }
    }

    fn claim_suffix(key: &ClaimKey) -> String {
        format!("{}/{}/{}", encode(&key.rule), key.occurrence.timestamp().as_millisecond(), encode(&key.target_key()))
    }

    /// The document of a claim.
    pub fn claim(&self, key: &ClaimKey) -> String {
        format!("{}claims/{}", self.prefix, Self::claim_suffix(key))
    }

    /// The prefix of every claim on one occurrence of one rule.
    pub fn claims_of(&self, rule: &str, occurrence: Timestamp) -> String {
        format!("{}claims/{}/{}/", self.prefix, encode(rule), occurrence.as_millisecond())
    }

    /// The "may be open" marker of a claim.
    pub fn open_marker(&self, key: &ClaimKey) -> String {
        format!("{}open/{}", self.prefix, Self::claim_suffix(key))
    }

    /// The prefix of every open marker.
    pub fn open_markers(&self) -> String {
        format!("{}open/", self.prefix)
    }

    /// The claim document an open marker points to.
    pub fn claim_of_marker(&self, marker: &str) -> Option<String> {
        marker.strip_prefix(&self.open_markers()).map(|suffix| format!("{}claims/{suffix}", self.prefix))
    }

    /// The document of a run.
    pub fn run(&self, id: &str) -> String {
        format!("{}runs/{id}", self.prefix)
    }

    /// The document of a pending occurrence.
    pub fn pending(&self, rule: &str, occurrence: Timestamp) -> String {
        format!("{}pending/{}/{}", self.prefix, encode(rule), occurrence.as_millisecond())
    }

    /// The prefix of every pending occurrence.
    pub fn all_pending(&self) -> String {
        format!("{}pending/", self.prefix)
    }

    /// The document of an owner's postponement of one stop (keyed as the stop's claim).
    pub fn postponement(&self, key: &ClaimKey) -> String {
        format!("{}postponements/{}", self.prefix, Self::claim_suffix(key))
    }

    /// The prefix of every postponement.
    pub fn all_postponements(&self) -> String {
        format!("{}postponements/", self.prefix)
    }

    /// The document of when autostop last sent a stop to one target.
    pub fn last_stop(&self, target_key: &str) -> String {
        format!("{}last-stops/{}", self.prefix, encode(target_key))
    }

    /// The prefix of every last-stop document.
    pub fn all_last_stops(&self) -> String {
        format!("{}last-stops/", self.prefix)
    }

    /// The blob the leader lease of `serve --ha` is taken on; it holds the leader's identity.
    pub fn leader(&self) -> String {
        format!("{}leader", self.prefix)
    }

    /// The key that signs notice links (its raw bytes).
    pub fn link_signing_key(&self) -> String {
        format!("{}secrets/link-signing-key", self.prefix)
    }

    /// A "last evaluated" cell.
    pub fn window(&self, key: &str) -> String {
        format!("{}windows/{}", self.prefix, encode(key))
    }

    /// The cached prices in `currency` (upper case, as currency codes are written).
    pub fn prices(&self, currency: &str) -> String {
        format!("{}prices/{}", self.prefix, encode(&currency.to_uppercase()))
    }

    /// The prefix of the audit log's day blobs.
    pub fn events(&self) -> String {
        format!("{}events/", self.prefix)
    }

    /// The audit log blob of the UTC day of `time`.
    pub fn events_of_day(&self, time: Timestamp) -> String {
        format!("{}{}.jsonl", self.events(), time.to_zoned(jiff::tz::TimeZone::UTC).date())
    }

    /// The UTC day of an audit log blob, from its name.
    pub fn day_of_events(&self, name: &str) -> Option<jiff::civil::Date> {
        name.strip_prefix(&self.events())?.strip_suffix(".jsonl")?.parse().ok()
    }
}

/// The id of the event whose line starts at `offset` in the blob of `day`: increasing with the day, then with
/// the position in it.
pub(crate) fn event_id(day: jiff::civil::Date, offset: u64) -> i64 {
    let days = day.since(jiff::civil::date(1970, 1, 1)).map(|span| i64::from(span.get_days())).unwrap_or(0);
    (days << OFFSET_BITS) | i64::try_from(offset & ((1 << OFFSET_BITS) - 1)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_prefixed() {
        let layout = Layout::new("team/");
        let key = ClaimKey {
            rule: "evening stop".to_owned(),
            occurrence: "2026-03-02T20:00:00+09:00[Asia/Tokyo]".parse().expect("zoned"),
            target_id: "/subscriptions/S/x".to_owned(),
        };
        let claim = layout.claim(&key);
        assert_eq!(claim, "team/claims/ZXZlbmluZyBzdG9w/1772449200000/L3N1YnNjcmlwdGlvbnMvcy94");
        assert!(claim.starts_with(&layout.claims_of("evening stop", key.occurrence.timestamp())));
        assert_eq!(layout.claim_of_marker(&layout.open_marker(&key)).as_deref(), Some(claim.as_str()));
        let day = layout.events_of_day("2026-03-02T23:59:59Z".parse().expect("ts"));
        assert_eq!(day, "team/events/2026-03-02.jsonl");
        assert_eq!(layout.day_of_events(&day), Some(jiff::civil::date(2026, 3, 2)));
    }

    #[test]
    fn event_ids_increase_with_day_then_offset() {
        let monday = jiff::civil::date(2026, 3, 2);
        let tuesday = jiff::civil::date(2026, 3, 3);
        assert!(event_id(monday, 10) < event_id(monday, 11));
        assert!(event_id(monday, 1 << 30) < event_id(tuesday, 0));
    }
}
