//! Long-running power operations (start / stop / restart): the handle `begin` returns, the polling options, what
//! one poll found ([`Polled`]), and the pure reading of each poll's answer (no I/O here; the client polls, one
//! step at a time with [`crate::ArmClient::poll`] or to the end with [`crate::ArmClient::wait`]).

use crate::models::{WireError, decode_arm_error, decode_operation_status};
use crate::power::PowerAction;
use crate::target::TargetId;
use std::str::FromStr;
use std::time::Duration;
use url::Url;

/// Reading an action's name is here, next to the crate's error, so that `power` depends on nothing.
impl FromStr for PowerAction {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, crate::Error> {
        [PowerAction::Start, PowerAction::Stop, PowerAction::Restart]
            .into_iter()
            .find(|a| a.verb().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                crate::ErrorKind::InvalidInput {
                    what: "power action",
                    input: s.to_string(),
                    expected: "one of start, stop, restart".into(),
                }
                .into()
            })
    }
}

/// How the status of an operation is polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusHeader {
    /// `Azure-AsyncOperation`: the body carries `{"status": ...}`.
    AsyncOperation,
    /// `Location`: 202 while running, 200/204 when done.
    Location,
}

/// A long-running operation ARM accepted (202): what to poll, for which compute and action.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The target it runs on.
    pub target: TargetId,
    /// The action requested.
    pub action: PowerAction,
    /// The status URL, verbatim from the 202.
    pub status_url: Url,
    /// Which header the status URL came from.
    pub header: StatusHeader,
    /// The `Retry-After` of the 202, if any.
    pub retry_after: Option<Duration>,
}

impl Operation {
    /// The delay before the first poll: the 202's `Retry-After`, else the first default delay, never past the
    /// deadline.
    pub fn first_delay(&self, options: &PollOptions) -> Duration {
        next_delay(self.retry_after, options, 0).min(options.deadline)
    }
}

/// What one poll of an operation found ([`crate::ArmClient::poll`]). An operation that ended `Failed` or
/// `Canceled`, an answer that cannot be read and the deadline are the poll's `Err`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polled {
    /// Still running: poll again after this delay (ARM's `Retry-After`, else the default delay for the polls so
    /// far; never past the deadline).
    Running {
        /// How long to wait before the next poll.
        after: Duration,
    },
    /// Succeeded: the target can be read back.
    Succeeded,
}

/// How [`crate::ArmClient::wait`] and [`crate::ArmClient::poll`] poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollOptions {
    /// The delay before the first poll when ARM sends no `Retry-After` (the default, 2 s, is the Azure SDK for
    /// JavaScript's polling interval); it doubles after each poll that finds the operation still running, up to
    /// `default_delay`. Quick operations are seen done quickly; long ones (Azure ML stops take minutes) cost few
    /// polls, which matters when thousands share a subscription's read budget.
    pub first_delay: Duration,
    /// The longest delay between polls when ARM sends no `Retry-After`.
    pub default_delay: Duration,
    /// The longest the whole wait may take before it gives up with a deadline error.
    pub deadline: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            first_delay: Duration::from_secs(2),
            default_delay: Duration::from_secs(5),
            deadline: Duration::from_secs(30 * 60),
        }
    }
}

/// What one poll said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PollStep {
    /// Still running (the status as ARM spelled it).
    Running(String),
    /// Succeeded.
    Succeeded,
    /// Ended `Failed` or `Canceled`, with ARM's error if any.
    Ended { status: String, code: Option<String>, message: Option<String> },
    /// The answer could not be understood.
    Unreadable(String),
}

/// Reads one poll's answer: the status code and body of a status URL.
pub(crate) fn read_poll(header: StatusHeader, status: u16, body: &[u8]) -> PollStep {
    match header {
        StatusHeader::Location => match status {
            202 => PollStep::Running("Accepted".into()),
            200 | 201 | 204 => PollStep::Succeeded,
            other => PollStep::Unreadable(format!("expected 200, 202 or 204, found HTTP {other}")),
        },
        StatusHeader::AsyncOperation => {
            let wire = match decode_operation_status(body) {
                Ok(wire) => wire,
                Err(message) => return PollStep::Unreadable(message),
            };
            let s = wire.status;
            if s.eq_ignore_ascii_case("Succeeded") {
                PollStep::Succeeded
            } else if s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled") {
                let (code, message) = match wire.error {
                    Some(WireError { code, message }) => (code, message),
                    None => (None, None),
                };
                PollStep::Ended { status: s, code, message }
            } else {
                PollStep::Running(s)
            }
        }
    }
}

/// Reads an ARM error body, for a poll that answered an error status.
pub(crate) fn poll_error(body: &[u8]) -> (Option<String>, Option<String>) {
    decode_arm_error(body).map(|e| (e.code, e.message)).unwrap_or((None, None))
}

/// The delay before poll number `polls` (0 for the first): ARM's `Retry-After` when it sent one, else
/// `first_delay` doubled per earlier poll, at most `default_delay`.
pub(crate) fn next_delay(retry_after: Option<Duration>, options: &PollOptions, polls: u32) -> Duration {
    retry_after.unwrap_or_else(|| {
        options.first_delay.saturating_mul(2u32.saturating_pow(polls.min(16))).min(options.default_delay)
    })
}

/// The delay before the next poll of an operation that poll number `polls` (0 for the first) found still running,
/// the answer's `Retry-After` header being `retry_after`, with `remaining` left before the deadline.
pub(crate) fn after_running(
    retry_after: Option<&str>,
    options: &PollOptions,
    polls: u32,
    remaining: Duration,
) -> Duration {
    next_delay(parse_retry_after(retry_after), options, polls.saturating_add(1)).min(remaining)
}

/// Parses a `Retry-After` value given in seconds. HTTP dates are not used by ARM for operations; they read as
/// absent so the default delay applies.
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_operation_statuses() {
        let read = |body: &str| read_poll(StatusHeader::AsyncOperation, 200, body.as_bytes());
        assert_eq!(read(r#"{"status":"InProgress"}"#), PollStep::Running("InProgress".into()));
        assert_eq!(read(r#"{"status":"Succeeded","percentComplete":100.0}"#), PollStep::Succeeded);
        assert_eq!(
            read(r#"{"status":"Failed","error":{"code":"UserError","message":"no quota"}}"#),
            PollStep::Ended {
                status: "Failed".into(),
                code: Some("UserError".into()),
                message: Some("no quota".into())
            }
        );
        assert_eq!(
            read(r#"{"status":"Canceled"}"#),
            PollStep::Ended { status: "Canceled".into(), code: None, message: None }
        );
        assert_eq!(read(r#"{"status":"Finalizing"}"#), PollStep::Running("Finalizing".into()));
        assert!(matches!(read("not json"), PollStep::Unreadable(_)));
    }

    #[test]
    fn location_statuses() {
        assert_eq!(read_poll(StatusHeader::Location, 202, b""), PollStep::Running("Accepted".into()));
        assert_eq!(read_poll(StatusHeader::Location, 204, b""), PollStep::Succeeded);
        assert!(matches!(read_poll(StatusHeader::Location, 500, b""), PollStep::Unreadable(_)));
    }

    #[test]
    fn retry_after_wins_over_the_default_delay() {
        let options = PollOptions {
            first_delay: Duration::from_millis(7),
            default_delay: Duration::from_millis(7),
            deadline: Duration::from_secs(1),
        };
        assert_eq!(next_delay(parse_retry_after(Some(" 3 ")), &options, 0), Duration::from_secs(3));
        assert_eq!(next_delay(parse_retry_after(None), &options, 0), Duration::from_millis(7));
        assert_eq!(next_delay(parse_retry_after(Some("soon")), &options, 3), Duration::from_millis(7));
    }

    #[test]
    fn without_retry_after_the_delay_doubles_up_to_the_default() {
        let options = PollOptions::default();
        let delays = (0..6).map(|polls| next_delay(None, &options, polls).as_secs()).collect::<Vec<_>>();
        assert_eq!(delays, [2, 4, 5, 5, 5, 5]);
        assert_eq!(next_delay(None, &options, u32::MAX), Duration::from_secs(5), "no overflow");
    }

    #[test]
    fn the_delay_after_a_running_poll_honours_retry_after_and_the_deadline() {
        let options = PollOptions::default();
        let long = Duration::from_secs(600);
        assert_eq!(after_running(Some("7"), &options, 0, long), Duration::from_secs(7), "Retry-After wins");
        assert_eq!(after_running(None, &options, 0, long), Duration::from_secs(4), "the first poll doubles 2 s");
        assert_eq!(after_running(None, &options, 5, long), Duration::from_secs(5), "at most the default delay");
        assert_eq!(after_running(Some("60"), &options, 0, Duration::from_secs(3)), Duration::from_secs(3));
        assert_eq!(after_running(None, &options, u32::MAX, long), Duration::from_secs(5), "no overflow");
    }

    #[test]
    fn the_first_delay_is_the_202_s_retry_after_else_the_first_default() {
        let target: TargetId = "/subscriptions/9e223dbe-3399-4e19-88eb-0975f02ac87f/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-1/computes/ci-1"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut operation = Operation {
            target,
            action: PowerAction::Stop,
            status_url: Url::parse("https://arm.test/status/op").unwrap_or_else(|e| panic!("{e}")),
            header: StatusHeader::AsyncOperation,
            retry_after: None,
        };
        let options = PollOptions::default();
        assert_eq!(operation.first_delay(&options), Duration::from_secs(2));
        operation.retry_after = Some(Duration::from_secs(9));
        assert_eq!(operation.first_delay(&options), Duration::from_secs(9));
        let short = PollOptions { deadline: Duration::from_secs(1), ..options };
        assert_eq!(operation.first_delay(&short), Duration::from_secs(1), "never past the deadline");
    }

    #[test]
    fn actions_parse_and_name_their_permission() -> Result<(), crate::Error> {
        assert_eq!("STOP".parse::<PowerAction>()?, PowerAction::Stop);
        assert_eq!(
            PowerAction::Restart.permission(),
            "Microsoft.MachineLearningServices/workspaces/computes/restart/action"
        );
        assert!("pause".parse::<PowerAction>().is_err());
        Ok(())
    }
}
