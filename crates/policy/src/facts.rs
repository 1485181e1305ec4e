//! What the plan needs from the state, read by the engine and passed in (the plan reads no state itself): when
//! autostop last stopped each target, and owners' postponements of coming stops.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp, Zoned};

use crate::instance::Instance;

/// What an owner may answer to a coming stop from a notice link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Move the stop this much later.
    Postpone(SignedDuration),
    /// No stop for this occurrence.
    Skip,
}

impl Choice {
    /// Every choice a notice offers, in the order shown.
    pub const ALL: [Choice; 4] = [
        Choice::Postpone(SignedDuration::from_hours(1)),
        Choice::Postpone(SignedDuration::from_hours(2)),
        Choice::Postpone(SignedDuration::from_hours(4)),
        Choice::Skip,
    ];

    /// The longest a stop can be postponed.
    pub const LONGEST: SignedDuration = SignedDuration::from_hours(4);

    /// The label links and the audit log use: `+1h`, `+2h`, `+4h`, `skip`.
    pub fn label(self) -> String {
        match self {
            Choice::Postpone(by) => format!("+{}h", by.as_hours()),
            Choice::Skip => "skip".to_owned(),
        }
    }

    /// The choice a label names, if it is one of [`Choice::ALL`].
    pub fn parse(label: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|choice| choice.label() == label)
    }

    /// When the stop of `occurrence` is due after this choice; `None` for a skip.
    pub fn until(self, occurrence: &Zoned) -> Option<Zoned> {
        match self {
            Choice::Postpone(by) => occurrence.checked_add(by).ok(),
            Choice::Skip => None,
        }
    }
}

/// An owner's answer to one coming stop, as the plan reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postponed {
    /// The stop rule.
    pub rule: String,
    /// Its occurrence.
    pub occurrence: Timestamp,
    /// The target's ARM id, in lowercase.
    pub target_key: String,
    /// When the stop is due now; `None` when the owner skipped it.
    pub until: Option<Timestamp>,
}

/// What the plan needs from the state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateFacts {
    /// For each target (its ARM id in lowercase), when autostop last sent it a stop that Azure may have acted on.
    pub autostop_stops: BTreeMap<String, Timestamp>,
    /// Owners' answers to coming stops.
    pub postponements: Vec<Postponed>,
}

impl StateFacts {
    /// When autostop last sent `instance` a stop, if it ever did.
    pub fn autostop_stop(&self, instance: &Instance) -> Option<Timestamp> {
        self.autostop_stops.get(&instance.id.to_ascii_lowercase()).copied()
    }

    /// The owner's answer to the stop of `instance` by `rule` at `occurrence`, if they gave one.
    pub fn postponement(&self, rule: &str, occurrence: Timestamp, instance: &Instance) -> Option<&Postponed> {
        let key = instance.id.to_ascii_lowercase();
        self.postponements.iter().find(|p| p.rule == rule && p.occurrence == occurrence && p.target_key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_read_back_from_their_labels_and_move_the_stop() {
        let labels: Vec<String> = Choice::ALL.into_iter().map(Choice::label).collect();
        assert_eq!(labels, ["+1h", "+2h", "+4h", "skip"]);
        for choice in Choice::ALL {
            assert_eq!(Choice::parse(&choice.label()), Some(choice));
        }
        assert_eq!(Choice::parse("+3h"), None);
        let occurrence: Zoned = "2026-03-02T20:00:00+09:00[Asia/Tokyo]".parse().unwrap();
        let until = Choice::parse("+2h").unwrap().until(&occurrence).unwrap();
        assert_eq!(until.to_string(), "2026-03-02T22:00:00+09:00[Asia/Tokyo]");
        assert_eq!(Choice::Skip.until(&occurrence), None);
    }
}
