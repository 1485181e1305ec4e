//! `[[rules]]`: each rule's action, schedule, zone, catch-up, selectors, calendars to skip on and notices,
//! falling back on `[defaults]`.

use std::ops::Range;

use autostop_schedule::{Field, Schedule};
use toml::Spanned;

use super::super::raw::{RawRule, RawRuleNotify};
use super::super::{NamedCalendar, Rule, RuleNotify};
use super::scopes::kinds;
use super::selector::selector;
use super::{Collector, Fallbacks, UniqueNames, duration, zone};
use crate::eligibility::Action;
use crate::selector::Selector;

/// Reads `[[rules]]`: each with a well-formed name, unique ignoring case.
pub(super) fn rules(raw: Vec<Spanned<RawRule>>, defaults: &Fallbacks<'_>, errors: &mut Collector<'_>) -> Vec<Rule> {
    let mut names = UniqueNames::new("rules", "rule");
    let mut rules = Vec::new();
    for rule in raw {
        let rule = rule.into_inner();
        let name = rule.name.get_ref().clone();
        // A rule with a bad name is still checked, so that all its errors show at once.
        let admitted = names.admit(&rule.name, errors);
        if let Some(rule) = one_rule(rule, &name, defaults, errors).filter(|_| admitted) {
            rules.push(rule);
        }
    }
    rules
}

/// A rule's `notify`: a stop rule only, a positive `before`, channels that `[[channels]]` declares.
fn rule_notify(
    raw: Spanned<RawRuleNotify>,
    name: &str,
    action: Option<Action>,
    defaults: &Fallbacks<'_>,
    errors: &mut Collector<'_>,
) -> Option<RuleNotify> {
    let span = raw.span();
    let raw = raw.into_inner();
    if action == Some(Action::Start) {
        errors.at(&span, format!("rule {name}: notify: only stop rules send notices (an owner answers a coming stop)"));
        return None;
    }
    if !defaults.public_url_written {
        errors.at(
            &span,
            format!(
                "rule {name}: notify: [notify] public_url is not set: notices carry links to it (the URL `autostop \
                 serve` is reached at from the owners' browsers)"
            ),
        );
    }
    let before = duration(&raw.before, &format!("rule {name}: notify.before"), errors);
    let before = before.filter(|before| {
        let positive = before.is_positive();
        if !positive {
            errors.at(
                &raw.before.span(),
                format!("rule {name}: notify.before: expected a positive duration such as 30m"),
            );
        }
        positive
    });
    let mut channels = Vec::new();
    for channel in &raw.channels {
        match defaults.channels.iter().find(|known| known.name.eq_ignore_ascii_case(channel.get_ref())) {
            Some(known) => channels.push(known.name.clone()),
            None => errors.at(
                &channel.span(),
                format!("rule {name}: notify.channels: no [[channels]] entry is named {:?}", channel.get_ref()),
            ),
        }
    }
    if channels.len() != raw.channels.len() || !defaults.public_url_written {
        return None;
    }
    Some(RuleNotify { before: before?, channels })
}

fn one_rule(raw: RawRule, name: &str, defaults: &Fallbacks<'_>, errors: &mut Collector<'_>) -> Option<Rule> {
    let action = match raw.action.get_ref().as_str() {
        "stop" => Some(Action::Stop),
        "start" => Some(Action::Start),
        other => {
            errors.at(&raw.action.span(), format!("rule {name}: action: expected stop or start, found {other:?}"));
            None
        }
    };
    let schedule = Schedule::parse(raw.schedule.get_ref())
        .map_err(|err| {
            let at = schedule_error_span(&raw.schedule, &err, errors);
            errors.at(&at, format!("rule {name}: schedule {:?}: {err}", raw.schedule.get_ref()));
        })
        .ok();
    let zone = match &raw.timezone {
        Some(zone_name) => zone(zone_name, &format!("rule {name}: timezone"), errors),
        None => defaults.zone.cloned(),
    };
    let catch_up = match &raw.catch_up {
        Some(text) => duration(text, &format!("rule {name}: catch_up"), errors),
        None => defaults.catch_up,
    };
    let select = match raw.select {
        Some(select) => selector(select.into_inner(), &format!("rule {name}: select"), errors),
        None => Some(Selector::default()),
    };
    let exclude = match raw.exclude {
        Some(exclude) => {
            let span = exclude.span();
            let exclude = selector(exclude.into_inner(), &format!("rule {name}: exclude"), errors);
            if exclude.as_ref().is_some_and(Selector::is_empty) {
                errors.at(&span, format!("rule {name}: exclude: expected names, tags or sizes, found an empty table (it would exclude everything)"));
                return None;
            }
            Some(exclude?)
        }
        None => None,
    };
    let skip_on = skip_on(raw.skip_on, name, defaults, errors);
    let notify = match raw.notify {
        None => Some(None),
        Some(notify) => rule_notify(notify, name, action, defaults, errors).map(Some),
    };
    let kinds = raw.kinds.map(|written| kinds(written, &format!("rule {name}: kinds"), errors));
    Some(Rule {
        name: name.to_owned(),
        action: action?,
        schedule: schedule?,
        zone: zone?,
        catch_up: catch_up?,
        select: select?,
        exclude,
        force: raw.force,
        skip_on: skip_on?,
        restart_owner_stopped: raw.restart_owner_stopped,
        notify: notify?,
        kinds: match kinds {
            Some(kinds) => Some(kinds?),
            None => None,
        },
    })
}

/// The calendars named by a rule's `skip_on`. A name that no `[[calendars]]` entry declares is an error at that
/// name; a declared calendar that could not be read is dropped (its own error explains it).
fn skip_on(
    names: Vec<Spanned<String>>,
    rule: &str,
    defaults: &Fallbacks<'_>,
    errors: &mut Collector<'_>,
) -> Option<Vec<NamedCalendar>> {
    let mut ok = true;
    let mut calendars = Vec::new();
    for name in names {
        let wanted = name.get_ref();
        if let Some(found) = defaults.calendars.iter().find(|named| named.name.eq_ignore_ascii_case(wanted)) {
            calendars.push(found.clone());
            continue;
        }
        ok = false;
        if !defaults.declared.iter().any(|declared| declared.eq_ignore_ascii_case(wanted)) {
            let expected = if defaults.declared.is_empty() {
                "a calendar declared in [[calendars]], and there is none".to_owned()
            } else {
                format!("one of {}", defaults.declared.join(", "))
            };
            errors.at(&name.span(), format!("rule {rule}: skip_on: unknown calendar {wanted:?}: expected {expected}"));
        }
    }
    ok.then_some(calendars)
}

/// Points a schedule error at the field it concerns when the string is written verbatim, else at the string.
fn schedule_error_span(
    schedule: &Spanned<String>,
    err: &autostop_schedule::Error,
    errors: &Collector<'_>,
) -> Range<usize> {
    let text = schedule.get_ref();
    let located = err.field().and_then(|field| {
        let start = errors.verbatim_start(&schedule.span(), text)?;
        let order = [Field::Second, Field::Minute, Field::Hour, Field::Day, Field::Month, Field::DayOfWeek];
        let index = order.iter().position(|known| *known == field)?;
        let words: Vec<&str> = text.split_whitespace().collect();
        // The 5-field form has no seconds: its first field is the minute.
        let index = if words.len() == 5 { index.checked_sub(1)? } else { index };
        let word = words.get(index)?;
        let offset = word.as_ptr() as usize - text.as_ptr() as usize;
        Some(start + offset..start + offset + word.len())
    });
    located.unwrap_or_else(|| schedule.span())
}
