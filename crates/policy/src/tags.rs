//! Owner tags: how the owner of an instance steers autostop without touching the config. Pure.
//!
//! Three tags, whose names the config's `[tags]` section may change (defaults below):
//! - `autostop` = `off` opts the instance out of every rule (`on` is accepted and means the default: take part);
//! - `autostop-snooze-until` = an RFC 3339 instant (`2026-03-02T22:00:00+09:00`): no action before it. A past
//!   value is ignored, so a snooze expires by itself;
//! - `autostop-rule` = a rule name: only that rule applies to the instance, whatever the rules' selectors say
//!   (still only within the configured scopes).
//!
//! A value that cannot be read is a [`TagError`], which the plan reports as a skip: never silently ignored.

use jiff::Timestamp;

use crate::instance::Instance;

/// The names of the owner tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagNames {
    /// Opt-out tag: `off` keeps autostop away from the instance. Default `autostop`.
    pub opt_out: String,
    /// Snooze tag: an RFC 3339 instant before which nothing is done. Default `autostop-snooze-until`.
    pub snooze_until: String,
    /// Named-rule tag: the only rule that applies to the instance. Default `autostop-rule`.
    pub rule: String,
    /// The tag that names the owner of a VM or scale set (Azure ML computes say who created them). Default
    /// `owner`.
    pub owner: String,
}

impl Default for TagNames {
    fn default() -> TagNames {
        TagNames {
            opt_out: "autostop".to_owned(),
            snooze_until: "autostop-snooze-until".to_owned(),
            rule: "autostop-rule".to_owned(),
            owner: "owner".to_owned(),
        }
    }
}

/// An owner tag whose value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tag {tag} = {value:?} cannot be read: expected {expected}")]
pub struct TagError {
    /// The tag name.
    pub tag: String,
    /// The value found on the instance.
    pub value: String,
    /// What a readable value looks like.
    pub expected: &'static str,
}

impl TagNames {
    /// Whether the owner opted the instance out (`off`, any case). Absent or `on` means no.
    pub fn opted_out(&self, instance: &Instance) -> Result<bool, TagError> {
        let Some(value) = instance.tag(&self.opt_out) else {
            return Ok(false);
        };
        match value.trim() {
            v if v.eq_ignore_ascii_case("off") => Ok(true),
            v if v.eq_ignore_ascii_case("on") => Ok(false),
            _ => Err(TagError { tag: self.opt_out.clone(), value: value.to_owned(), expected: "off or on" }),
        }
    }

    /// The instant before which the owner wants nothing done, if the tag is set. Past instants are returned too:
    /// the caller compares with the action's time.
    pub fn snoozed_until(&self, instance: &Instance) -> Result<Option<Timestamp>, TagError> {
        let Some(value) = instance.tag(&self.snooze_until) else {
            return Ok(None);
        };
        value.trim().parse::<Timestamp>().map(Some).map_err(|_| TagError {
            tag: self.snooze_until.clone(),
            value: value.to_owned(),
            expected: "an RFC 3339 instant with an offset, such as 2026-03-02T22:00:00+09:00",
        })
    }

    /// The rule the owner chose for the instance, if any (whether it exists is for the plan to say).
    pub fn chosen_rule<'a>(&self, instance: &'a Instance) -> Option<&'a str> {
        instance.tag(&self.rule).map(str::trim)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn tagged(tags: &[(&str, &str)]) -> Instance {
        Instance {
            id: "/x/a".to_owned(),
            name: "a".to_owned(),
            subscription: "s".to_owned(),
            resource_group: "rg".to_owned(),
            workspace: "ws".to_owned(),
            compute_type: "ComputeInstance".to_owned(),
            state: Some("Running".to_owned()),
            vm_size: None,
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<BTreeMap<_, _>>(),
            ..Default::default()
        }
    }

    #[test]
    fn opt_out_reads_off_and_on_and_reports_anything_else() {
        let names = TagNames::default();
        assert_eq!(names.opted_out(&tagged(&[])), Ok(false));
        assert_eq!(names.opted_out(&tagged(&[("autostop", "off")])), Ok(true));
        assert_eq!(names.opted_out(&tagged(&[("AutoStop", " OFF ")])), Ok(true));
        assert_eq!(names.opted_out(&tagged(&[("autostop", "on")])), Ok(false));
        let err = names.opted_out(&tagged(&[("autostop", "maybe")])).unwrap_err();
        assert_eq!(err.to_string(), "tag autostop = \"maybe\" cannot be read: expected off or on");
    }

    #[test]
    fn snooze_reads_rfc3339_instants_and_reports_anything_else() {
        let names = TagNames::default();
        assert_eq!(names.snoozed_until(&tagged(&[])), Ok(None));
        let until = names.snoozed_until(&tagged(&[("autostop-snooze-until", "2026-03-02T22:00:00+09:00")]));
        assert_eq!(until, Ok(Some("2026-03-02T13:00:00Z".parse().expect("instant"))));
        for bad in ["tomorrow", "2026-03-02", "2026-03-02T22:00:00"] {
            let err = names.snoozed_until(&tagged(&[("autostop-snooze-until", bad)])).unwrap_err();
            assert_eq!(err.tag, "autostop-snooze-until");
            assert_eq!(err.value, bad);
        }
    }

    #[test]
    fn renamed_tags_are_read_under_their_new_names() {
        let names = TagNames {
            opt_out: "keep".into(),
            snooze_until: "nap".into(),
            rule: "policy".into(),
            owner: "owner".into(),
        };
        let target = tagged(&[("keep", "off"), ("autostop", "maybe"), ("policy", "night")]);
        assert_eq!(names.opted_out(&target), Ok(true));
        assert_eq!(names.chosen_rule(&target), Some("night"));
        assert_eq!(names.snoozed_until(&target), Ok(None));
    }
}
