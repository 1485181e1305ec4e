//! Which instances a rule is about: names as globs (`*`, `?`), exact tag values, and VM sizes; and the same shape
//! for exclusions. Pure.
//!
//! A selector matches an instance when every criterion it sets matches: the name matches one of `names`, every
//! tag in `tags` is present with exactly that value (tag names compare case-insensitively, as Azure's do), and the
//! VM size matches one of `sizes`. Names and sizes compare case-insensitively. An empty selector matches
//! everything; that is what an absent `select` means, and why validation refuses an empty `exclude`.

use std::collections::BTreeMap;
use std::fmt;

use crate::instance::Instance;

/// A validated name pattern: letters, digits, `-`, `_`, `.`, with `*` (any run) and `?` (one character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
}

/// Why a name pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// The pattern is empty.
    #[error("expected a name or a glob such as \"ci-*\", found an empty string")]
    Empty,
    /// The pattern holds a character Azure names never contain (and which is not a wildcard).
    #[error("expected letters, digits, '-', '_', '.', '*' or '?' in {pattern:?}, found {found:?}")]
    BadCharacter {
        /// The pattern as given.
        pattern: String,
        /// The first character refused.
        found: char,
    },
}

impl Glob {
    /// Validates `pattern`.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '?');
        if let Some(found) = pattern.chars().find(|c| !allowed(*c)) {
            return Err(GlobError::BadCharacter { pattern: pattern.to_owned(), found });
        }
        Ok(Glob { pattern: pattern.to_owned() })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether `text` matches the whole pattern, ignoring ASCII case.
    pub fn matches(&self, text: &str) -> bool {
        let pattern: Vec<char> = self.pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
        let text: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
        // Iterative wildcard matching with one backtrack point: linear in practice, never recursive.
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == '?' || c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|c| *c == '*')
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

/// A set of criteria over instances; see the module docs for how they combine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// The name must match one of these (any name when empty).
    pub names: Vec<Glob>,
    /// Each of these tags must be present with exactly this value.
    pub tags: BTreeMap<String, String>,
    /// The VM size must match one of these (any size when empty; an unknown size never matches a non-empty list).
    pub sizes: Vec<Glob>,
}

impl Selector {
    /// Whether the selector sets no criterion at all (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.tags.is_empty() && self.sizes.is_empty()
    }

    /// Whether `instance` meets every criterion.
    pub fn matches(&self, instance: &Instance) -> bool {
        let name = self.names.is_empty() || self.names.iter().any(|glob| glob.matches(&instance.name));
        let tags = self.tags.iter().all(|(key, value)| instance.tag(key) == Some(value.as_str()));
        let size = self.sizes.is_empty()
            || instance.vm_size.as_deref().is_some_and(|size| self.sizes.iter().any(|glob| glob.matches(size)));
        name && tags && size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(pattern: &str) -> Glob {
        Glob::new(pattern).expect("valid test pattern")
    }

    #[test]
    fn globs_match_whole_names_ignoring_case() {
        let cases = [
            ("ci-*", "ci-1", true),
            ("ci-*", "CI-gpu", true),
            ("ci-*", "ci-", true),
            ("ci-*", "xci-1", false),
            ("ci-?", "ci-12", false),
            ("ci-?", "ci-1", true),
            ("*-gpu-*", "team-gpu-7", true),
            ("*-gpu-*", "team-cpu-7", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*", "", true),
            ("**x", "x", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(glob(pattern).matches(text), expected, "{pattern} vs {text}");
        }
    }

    #[test]
    fn glob_patterns_are_validated() {
        assert_eq!(Glob::new(""), Err(GlobError::Empty));
        let err = Glob::new("ci-[0-9]").unwrap_err();
        assert_eq!(err, GlobError::BadCharacter { pattern: "ci-[0-9]".into(), found: '[' });
        assert!(err.to_string().contains("'['"), "{err}");
    }

    fn instance(name: &str, size: Option<&str>, tags: &[(&str, &str)]) -> Instance {
        Instance {
            id: format!("/x/{name}"),
            name: name.to_owned(),
            subscription: "s".to_owned(),
            resource_group: "rg".to_owned(),
            workspace: "ws".to_owned(),
            compute_type: "ComputeInstance".to_owned(),
            state: Some("Running".to_owned()),
            vm_size: size.map(str::to_owned),
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn every_criterion_set_must_match() {
        let selector = Selector {
            names: vec![glob("ci-*"), glob("build-?")],
            tags: BTreeMap::from([("team".to_owned(), "research".to_owned())]),
            sizes: vec![glob("Standard_NC*")],
        };
        let cases = [
            (instance("ci-1", Some("Standard_NC6"), &[("Team", "research")]), true),
            (instance("build-2", Some("standard_nc24"), &[("team", "research")]), true),
            (instance("prod-1", Some("Standard_NC6"), &[("team", "research")]), false),
            (instance("ci-1", Some("Standard_DS3_v2"), &[("team", "research")]), false),
            (instance("ci-1", None, &[("team", "research")]), false),
            (instance("ci-1", Some("Standard_NC6"), &[("team", "Research")]), false),
            (instance("ci-1", Some("Standard_NC6"), &[]), false),
        ];
        for (target, expected) in cases {
            assert_eq!(selector.matches(&target), expected, "{target:?}");
        }
    }

    #[test]
    fn an_empty_selector_matches_everything() {
        assert!(Selector::default().is_empty());
        assert!(Selector::default().matches(&instance("anything", None, &[])));
    }
}
