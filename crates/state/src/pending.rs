//! Pending occurrences: due occurrences of a rule that could not be fully evaluated because part of the scope
//! could not be read. Each later evaluation retries them while they are within their rule's catch-up limit;
//! past it they are recorded `missed` with the cause.

use jiff::{Timestamp, Zoned};

/// One pending occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The rule.
    pub rule: String,
    /// The occurrence, in the rule's zone.
    pub occurrence: Zoned,
    /// When it was first found pending.
    pub since: Timestamp,
    /// Why it could not be evaluated, last time it was tried.
    pub cause: String,
}
