//! Schedules as the Azure Functions timer trigger reads them: NCRONTAB (5 or 6 fields, NCrontab's semantics) and
//! TimeSpan intervals, evaluated in any IANA or Windows time zone with the Functions host's daylight-saving rule;
//! and holiday [`Calendar`]s (iCalendar files or lists of dates) that tell on which local dates a rule rests.
//!
//! Pure: no clock, no environment, no file or network access. The instant to count from is always an argument,
//! `%NAME%` references are resolved through a lookup the caller passes, and the zone database is the one bundled
//! into the binary by `jiff`.
//!
//! ```
//! use autostop_schedule::{Schedule, Zone};
//!
//! let weekday_mornings = Schedule::parse("0 30 9 * * 1-5").unwrap();
//! let tokyo = Zone::parse("Tokyo Standard Time").unwrap();
//! let from: jiff::Timestamp = "2026-01-02T00:00:00Z".parse().unwrap(); // a Friday, 09:00 in Tokyo
//! let next: Vec<String> = weekday_mornings
//!     .occurrences(from, "2026-01-06T00:00:00Z".parse().unwrap(), tokyo.time_zone())
//!     .map(|z| z.to_string())
//!     .collect();
//! assert_eq!(next, ["2026-01-02T09:30:00+09:00[Asia/Tokyo]", "2026-01-05T09:30:00+09:00[Asia/Tokyo]"]);
//! assert_eq!(weekday_mornings.describe(), "at 09:30 on Monday through Friday");
//! ```
#![deny(missing_docs)]

mod calendar;
mod civil;
mod cron;
mod describe;
mod error;
mod field;
mod schedule;
mod settings;
mod timespan;
mod windows_zones;
mod zone;
mod zoned;

pub use calendar::{Calendar, CalendarError, Holiday};
pub use error::{Error, Field};
pub use schedule::Schedule;
pub use settings::resolve_app_settings;
pub use zone::Zone;
