//! From raw sections to a [`Config`]: gives each value its meaning and records every problem with its position.
//!
//! This module reads the sections in order and hands each to the module named for it: [`settings`] for the
//! single tables (`[azure]`, `[notify]`, `[tags]`, `[idle_shutdown]`), [`scopes`], [`calendars`], [`channels`]
//! (with each kind's keys) and [`rules`] (with their [`selector`]s). It also holds the value checks they share:
//! time zones, durations, fixed choices and entry names.

mod calendars;
mod channels;
mod rules;
mod scopes;
mod selector;
mod settings;

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::Path;

use autostop_schedule::Zone;
use jiff::SignedDuration;
use toml::Spanned;

use super::error::Collector;
use super::{Channel, Config, DEFAULT_CATCH_UP, Defaults, NamedCalendar, RawConfig, StateSettings};
use crate::duration::parse_duration;

/// How calendar files are found and read.
pub(super) struct Files<'a> {
    /// The config file's directory, which relative `file` paths start from.
    pub directory: &'a Path,
    /// Reads one file.
    pub read: &'a dyn Fn(&Path) -> io::Result<String>,
}

/// Validates every section; `None` only when an error was recorded.
pub(super) fn validate(
    raw: RawConfig,
    root: Range<usize>,
    files: &Files<'_>,
    errors: &mut Collector<'_>,
) -> Option<Config> {
    let defaults = raw.defaults.unwrap_or_default();
    let timezone = match &defaults.timezone {
        Some(name) => zone(name, "defaults.timezone", errors),
        None => Some(Zone::utc()),
    };
    let catch_up = match &defaults.catch_up {
        Some(text) => duration(text, "defaults.catch_up", errors),
        None => Some(DEFAULT_CATCH_UP),
    };
    let azure = settings::azure(raw.azure.unwrap_or_default(), errors);
    let raw_notify = raw.notify.unwrap_or_default();
    let public_url_written = raw_notify.public_url.is_some();
    let notify = settings::notify(raw_notify, errors);
    let state = raw.state.unwrap_or_default();
    let leader = state.leader;
    let keep = state.keep.and_then(|text| {
        let keep = duration(&text, "state.keep", errors)?;
        if keep < SignedDuration::from_hours(24) {
            errors.at(&text.span(), format!("state.keep: expected at least 1d, found {:?}", text.get_ref()));
            return None;
        }
        Some(keep)
    });
    let tags = settings::tags(raw.tags.unwrap_or_default(), errors);
    let scopes = scopes::scopes(raw.scopes, root, errors);
    let declared: Vec<String> =
        raw.calendars.iter().map(|calendar| calendar.get_ref().name.get_ref().clone()).collect();
    let calendars = calendars::calendars(raw.calendars, files, errors);
    // Rules are checked even when the defaults are bad; a rule that needs a bad default is dropped silently,
    // since the default's own error already explains it. Likewise for a calendar that could not be read.
    let channels = channels::channels(raw.channels, errors);
    let fallbacks = Fallbacks {
        zone: timezone.as_ref(),
        catch_up,
        calendars: &calendars,
        declared: &declared,
        channels: &channels,
        public_url_written,
    };
    let rules = rules::rules(raw.rules, &fallbacks, errors);
    let idle_shutdown = match raw.idle_shutdown {
        Some(section) => Some(settings::idle_maximum(&section.max, errors)?),
        None => None,
    };
    let defaults = Defaults { timezone: timezone?, catch_up: catch_up? };
    Some(Config {
        defaults,
        azure,
        notify,
        channels,
        state: StateSettings { keep, leader },
        tags,
        scopes,
        calendars,
        rules,
        idle_shutdown,
    })
}

/// What a rule inherits from `[defaults]`, when those are valid, and the calendars it may name.
struct Fallbacks<'a> {
    zone: Option<&'a Zone>,
    catch_up: Option<SignedDuration>,
    /// The calendars that were read.
    calendars: &'a [NamedCalendar],
    /// Every calendar name written, read or not.
    declared: &'a [String],
    /// The channels that were read.
    channels: &'a [Channel],
    /// Whether `[notify] public_url` is written (valid or not: a bad one has its own error).
    public_url_written: bool,
}

fn zone(name: &Spanned<String>, key: &str, errors: &mut Collector<'_>) -> Option<Zone> {
    Zone::parse(name.get_ref()).map_err(|err| errors.at(&name.span(), format!("{key}: {err}"))).ok()
}

fn duration(text: &Spanned<String>, key: &str, errors: &mut Collector<'_>) -> Option<SignedDuration> {
    parse_duration(text.get_ref()).map_err(|err| errors.at(&text.span(), format!("{key}: {err}"))).ok()
}

/// Checks `value` is one of `allowed`.
fn one_of(value: &Spanned<String>, key: &str, allowed: &[&str], errors: &mut Collector<'_>) -> Option<String> {
    if allowed.contains(&value.get_ref().as_str()) {
        return Some(value.get_ref().clone());
    }
    errors.at(&value.span(), format!("{key}: expected one of {}, found {:?}", allowed.join(", "), value.get_ref()));
    None
}

/// Whether `name`, the name of a `[[LIST]]` entry, is letters, digits, '-', '_' or '.'; reports it when not.
fn well_formed_name(name: &Spanned<String>, list: &str, errors: &mut Collector<'_>) -> bool {
    let text = name.get_ref();
    let ok = !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        errors.at(&name.span(), format!("{list}.name: expected letters, digits, '-', '_' or '.', found {text:?}"));
    }
    ok
}

/// The names of the entries of one list (`[[rules]]`, `[[calendars]]`) so far: each well formed and unique,
/// ignoring case; a duplicate is reported with where the name was first written.
struct UniqueNames {
    /// The list, as messages name it: `rules`, `calendars`.
    list: &'static str,
    /// One entry, as messages name it: `rule`, `calendar`.
    entry: &'static str,
    /// Each name admitted, folded to lower case, with where it is written.
    first: HashMap<String, Range<usize>>,
}

impl UniqueNames {
    fn new(list: &'static str, entry: &'static str) -> UniqueNames {
        UniqueNames { list, entry, first: HashMap::new() }
    }

    /// Whether `name` is well formed and not taken yet (then it is taken); reports it when not.
    fn admit(&mut self, name: &Spanned<String>, errors: &mut Collector<'_>) -> bool {
        if !well_formed_name(name, self.list, errors) {
            return false;
        }
        let text = name.get_ref();
        let folded = text.to_ascii_lowercase();
        if let Some(first) = self.first.get(&folded) {
            let (line, column) = errors.line_column(first.start);
            let (list, entry) = (self.list, self.entry);
            errors.at(
                &name.span(),
                format!(
                    "{list}.name: duplicate {entry} name {text:?}, first defined at {line}:{column} (names must be \
                     unique, ignoring case)"
                ),
            );
            return false;
        }
        self.first.insert(folded, name.span());
        true
    }
}
