//! Time-zone names as users and Azure write them: IANA names (any case) and the Windows names Azure uses
//! (`Tokyo Standard Time`), resolved against the zone database bundled in the binary. An unknown name gets the
//! closest known names as suggestions. Pure: no system zone files are read.

use std::fmt;

use jiff::tz::TimeZone;

use crate::error::{Error, ErrorKind};
use crate::windows_zones::WINDOWS_TO_IANA;

/// How many names an unknown-zone error suggests.
const SUGGESTIONS: usize = 3;

/// A resolved time zone: its IANA name and its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Resolves an IANA name (`Europe/Berlin`, case-insensitive) or a Windows name (`W. Europe Standard Time`).
    ///
    /// ```
    /// let zone = autostop_schedule::Zone::parse("Tokyo Standard Time").unwrap();
    /// assert_eq!(zone.name(), "Asia/Tokyo");
    /// let err = autostop_schedule::Zone::parse("Europe/Berln").unwrap_err();
    /// assert!(err.to_string().contains("Europe/Berlin"));
    /// ```
    pub fn parse(name: &str) -> Result<Zone, Error> {
        let trimmed = name.trim();
        let windows = || WINDOWS_TO_IANA.iter().find(|(windows, _)| windows.eq_ignore_ascii_case(trimmed));
        let found = match jiff::tz::db().get(trimmed) {
            Ok(tz) if !trimmed.is_empty() => Some((tz, trimmed)),
            _ => windows().and_then(|(_, iana)| Some((jiff::tz::db().get(iana).ok()?, *iana))),
        };
        if let Some((tz, asked)) = found {
            let name = tz.iana_name().unwrap_or(asked).to_owned();
            return Ok(Zone { name, tz });
        }
        Err(Error::new(ErrorKind::UnknownZone { name: name.to_owned(), suggestions: closest_names(trimmed) }))
    }

    /// The UTC zone.
    pub fn utc() -> Zone {
        Zone { name: "UTC".to_owned(), tz: TimeZone::UTC }
    }

    /// The IANA name of the zone (`Asia/Tokyo`, `UTC`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's rules, for [`crate::Schedule::next_after`] and [`crate::Schedule::occurrences`].
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl std::str::FromStr for Zone {
    type Err = Error;

    fn from_str(name: &str) -> Result<Zone, Error> {
        Zone::parse(name)
    }
}

/// The known names (IANA and Windows) closest to `wanted` by edit distance, ignoring case; an IANA name also
/// counts as close when its last part (`Berlin` in `Europe/Berlin`) is.
fn closest_names(wanted: &str) -> Vec<String> {
    let wanted = wanted.to_ascii_lowercase();
    let iana = jiff::tz::db().available().map(|name| name.as_str().to_owned()).collect::<Vec<_>>();
    let windows = WINDOWS_TO_IANA.iter().map(|(windows, _)| (*windows).to_owned());
    let mut scored: Vec<(usize, String)> = iana
        .into_iter()
        .chain(windows)
        .map(|name| {
            let lower = name.to_ascii_lowercase();
            let last = lower.rsplit('/').next().unwrap_or(&lower);
            (edit_distance(&wanted, &lower).min(edit_distance(&wanted, last)), name)
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(SUGGESTIONS).map(|(_, name)| name).collect()
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_windows_name_maps_to_a_bundled_zone() {
        // "UTC" is an IANA name as well as a Windows one; the IANA reading wins and is the same zone.
        for (windows, iana) in WINDOWS_TO_IANA.iter().filter(|(windows, _)| *windows != "UTC") {
            let zone = Zone::parse(windows).unwrap_or_else(|e| panic!("{windows}: {e}"));
            assert_eq!(zone.name(), *iana, "{windows}");
        }
    }

    #[test]
    fn iana_names_any_case() {
        assert_eq!(Zone::parse("europe/berlin").unwrap().name(), "Europe/Berlin");
        assert_eq!(Zone::parse("UTC").unwrap().name(), "UTC");
        assert_eq!(Zone::parse("pacific standard time").unwrap().name(), "America/Los_Angeles");
    }

    #[test]
    fn unknown_zone_suggests_the_closest() {
        let err = Zone::parse("Europe/Berln").unwrap_err();
        assert!(err.is_unknown_zone());
        assert_eq!(err.suggestions().first().map(String::as_str), Some("Europe/Berlin"));
        assert!(Zone::parse("Berlin").unwrap_err().suggestions().contains(&"Europe/Berlin".to_owned()));
        assert_eq!(Zone::parse("Tokyo Standrd Time").unwrap_err().suggestions()[0], "Tokyo Standard Time");
        assert_eq!(
            Zone::parse("Mars/Olympus").unwrap_err().to_string().split("; closest: ").count(),
            2,
            "the message lists the closest names"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
