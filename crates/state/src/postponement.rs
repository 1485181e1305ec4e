//! Postponements: an owner's answer, from a notice link, to one coming stop of one instance — move it to a later
//! time (`+1h`, `+2h`, `+4h`) or skip it. Kept per (rule, occurrence, target), the key of the stop's claim, so
//! the stop done at the later time is still that occurrence's, done once.

use jiff::Timestamp;

use crate::claim::ClaimKey;

/// One owner's choice for one stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postponement {
    /// The stop it concerns: rule, occurrence and target (the claim key the stop is taken under).
    pub key: ClaimKey,
    /// The target's name, for people.
    pub target_name: String,
    /// The choice as the link said it: `+1h`, `+2h`, `+4h` or `skip`.
    pub choice: String,
    /// When the stop is due now; `None` when the owner skipped it.
    pub until: Option<Timestamp>,
    /// When the owner made the choice.
    pub made_at: Timestamp,
}
