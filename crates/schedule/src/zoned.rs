//! Occurrences of a cron expression in a time zone, with daylight saving as the Azure Functions host does it.
//! Pure: the zone rules come from `jiff`'s bundled database; no clock is read.
//!
//! The timeline of a zone is a sequence of *segments*: spans between two offset transitions, each with one UTC
//! offset, where wall-clock time and real time move together. A wall-clock time belongs to the segment whose
//! civil range holds it; [`Rule`] says which wall-clock times each segment *owns*, and that is the whole DST rule:
//!
//! - [`Rule::Interval`] (a `*`, `-` or `/` in second, minute or hour): every segment owns its whole civil range.
//!   The repeated hour of a fall-back day belongs to two segments, so the schedule runs through both copies; the
//!   skipped hour of a spring-forward day belongs to none, so nothing runs in it.
//! - [`Rule::FixedTime`]: after a fall-back transition the repeated wall-clock times belong to the earlier segment
//!   only (a fixed time fires once, at the first instant); after a spring-forward transition the skipped wall-clock
//!   times belong to the later segment, shifted forward by the size of the gap (02:30 fires at 03:30).

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::civil::Civil;
use crate::cron::Cron;

/// How a schedule treats the wall-clock times a DST transition repeats or skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Fixed times of day: once on fall-back days (first instant), shifted forward out of a spring-forward gap.
    FixedTime,
    /// Intervals: through both copies of a repeated hour, nothing in a skipped hour.
    Interval,
}

/// A span of real time with one UTC offset. All values in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// The transition that starts the segment (`None`: the zone's beginning of time).
    start: Option<i64>,
    /// The next transition (exclusive; `None`: no later transition).
    end: Option<i64>,
    /// The offset in force during the segment.
    offset: i64,
    /// The offset in force just before `start` (equal to `offset` when there is no start).
    previous: i64,
}

impl Segment {
    fn contains(&self, instant: i64) -> bool {
        self.start.is_none_or(|s| s <= instant) && self.end.is_none_or(|e| instant < e)
    }

    /// The earliest wall-clock time this segment owns in its own offset, and, for a fixed-time schedule after a
    /// spring-forward transition, the skipped civil range `[from, to)` it also owns (read in the previous offset).
    fn owned(&self, rule: Rule) -> (Option<i64>, Option<(i64, i64)>) {
        let Some(start) = self.start else { return (None, None) };
        match rule {
            Rule::Interval => (Some(start + self.offset), None),
            Rule::FixedTime if self.offset >= self.previous => {
                (Some(start + self.offset), Some((start + self.previous, start + self.offset)))
            }
            Rule::FixedTime => (Some(start + self.previous), None),
        }
    }
}

fn offset_at(tz: &TimeZone, instant: i64) -> Option<i64> {
    Some(i64::from(tz.to_offset(Timestamp::from_second(instant).ok()?).seconds()))
}

/// The segment holding `instant`.
fn segment_at(tz: &TimeZone, instant: i64) -> Option<Segment> {
    let ts = Timestamp::from_second(instant).ok()?;
    let offset = i64::from(tz.to_offset(ts).seconds());
    let after = Timestamp::from_second(instant + 1).unwrap_or(Timestamp::MAX);
    let start = tz.preceding(after).next().map(|t| t.timestamp().as_second());
    let previous = match start {
        Some(s) => offset_at(tz, s - 1).unwrap_or(offset),
        None => offset,
    };
    let end = tz.following(ts).next().map(|t| t.timestamp().as_second());
    Some(Segment { start, end, offset, previous })
}

/// The segment after `segment`, if the zone has another transition.
fn segment_after(tz: &TimeZone, segment: &Segment) -> Option<Segment> {
    let start = segment.end?;
    let ts = Timestamp::from_second(start).ok()?;
    let offset = i64::from(tz.to_offset(ts).seconds());
    let end = tz.following(ts).next().map(|t| t.timestamp().as_second());
    Some(Segment { start: Some(start), end, offset, previous: segment.offset })
}

/// Walks a zone's timeline forward, finding occurrences of one cron expression. It remembers the segment it is in
/// and its last civil search, so enumerating a window costs one cheap search per occurrence.
#[derive(Debug, Clone)]
pub(crate) struct Cursor {
    cron: Cron,
    rule: Rule,
    tz: TimeZone,
    segment: Option<Segment>,
    /// The last civil search: nothing matches in `[from, found)`, and `found` matches (`None`: nothing after).
    memo: Option<(Civil, Option<Civil>)>,
}

impl Cursor {
    pub fn new(cron: Cron, rule: Rule, tz: TimeZone) -> Cursor {
        Cursor { cron, rule, tz, segment: None, memo: None }
    }

    /// The first matching wall-clock time at or after `from` (in civil seconds), through the memo.
    fn search(&mut self, from: i64) -> Option<i64> {
        let from = Civil::from_epoch_seconds(from);
        if let Some((memo_from, found)) = self.memo
            && memo_from <= from
            && found.is_none_or(|found| from <= found)
        {
            return found.map(Civil::epoch_seconds);
        }
        let found = self.cron.next_match(from);
        self.memo = Some((from, found));
        found.map(Civil::epoch_seconds)
    }

    /// The first occurrence at or after `instant` (seconds since the epoch), or `None` if there is none before the
    /// end of the supported range (year 9999).
    pub fn first_at_or_after(&mut self, instant: i64) -> Option<i64> {
        let mut segment = match self.segment {
            Some(segment) if segment.contains(instant) => segment,
            _ => segment_at(&self.tz, instant)?,
        };
        let mut lower = instant;
        loop {
            self.segment = Some(segment);
            let (owned_from, gap) = segment.owned(self.rule);
            let from = owned_from.map_or(lower + segment.offset, |o| o.max(lower + segment.offset));
            let normal = self.search(from);
            let mut best = normal
                .map(|civil| civil - segment.offset)
                .filter(|instant| segment.end.is_none_or(|end| *instant < end));
            if let Some((gap_from, gap_to)) = gap {
                let from = gap_from.max(lower + segment.previous);
                if from < gap_to
                    && let Some(civil) = self.search(from).filter(|civil| *civil < gap_to)
                {
                    let shifted = civil - segment.previous;
                    best = Some(best.map_or(shifted, |b| b.min(shifted)));
                }
            }
            if best.is_some() {
                return best;
            }
            let next = segment_after(&self.tz, &segment)?;
            // Nothing matches at or after `from` in wall-clock time: only a fall-back into repeated wall-clock
            // times that an interval schedule runs through can still hold an occurrence.
            if normal.is_none() && (self.rule == Rule::FixedTime || next.offset >= segment.offset) {
                return None;
            }
            lower = next.start?;
            segment = next;
        }
    }
}
