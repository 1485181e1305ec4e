//! A rule's `select` and `exclude` tables: name and size globs, and tag names with the values they must have.

use std::collections::BTreeMap;

use toml::Spanned;

use super::super::raw::RawSelector;
use super::Collector;
use super::settings::tag_name_ok;
use crate::selector::{Glob, Selector};

/// Reads a selector under `key` (e.g. `rule nightly: select`); `None` when one of its patterns or tags is bad.
pub(super) fn selector(raw: RawSelector, key: &str, errors: &mut Collector<'_>) -> Option<Selector> {
    let mut ok = true;
    let mut globs = |patterns: Vec<Spanned<String>>, field: &str| -> Vec<Glob> {
        patterns
            .into_iter()
            .filter_map(|pattern| {
                Glob::new(pattern.get_ref())
                    .map_err(|err| {
                        ok = false;
                        errors.at(&pattern.span(), format!("{key}.{field}: {err}"));
                    })
                    .ok()
            })
            .collect()
    };
    let names = globs(raw.names, "names");
    let sizes = globs(raw.sizes, "sizes");
    let mut tags = BTreeMap::new();
    for (tag, value) in raw.tags {
        if !tag_name_ok(tag.get_ref()) {
            ok = false;
            errors.at(
                &tag.span(),
                format!("{key}.tags: expected a tag name without <>%&\\?/, found {:?}", tag.get_ref()),
            );
            continue;
        }
        tags.insert(tag.into_inner(), value.into_inner());
    }
    ok.then_some(Selector { names, tags, sizes })
}
