//! A small, strict parser of the Prometheus text exposition format (0.0.4), for tests only.
//!
//! Only counters, gauges and untyped families are known (autostop exposes no histogram or summary). It checks
//! the rules a scraper enforces: metric and label names, `# TYPE` before a family's samples, each
//! family in one group, label value escapes (`\\`, `\"`, `\n` only), float values, no duplicate series,
//! non-negative counters, and a final line feed. It is shared by the unit tests of `serve::metrics` and the
//! end-to-end tests of `serve`.

use std::collections::{BTreeMap, HashMap, HashSet};

/// A parsed exposition: each family's type and every sample.
#[derive(Debug, Default)]
pub struct Exposition {
    kinds: HashMap<String, String>,
    samples: HashMap<(String, BTreeMap<String, String>), f64>,
}

impl Exposition {
    /// The type of a family (`counter`, `gauge`, ...), if declared.
    pub fn kind(&self, name: &str) -> Option<&str> {
        self.kinds.get(name).map(String::as_str)
    }

    /// The value of the series with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.samples.get(&(name.to_owned(), labels)).copied()
    }
}

fn valid_name(name: &str, colon: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'));
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

fn parse_labels(text: &str, line_no: usize) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or_else(|| format!("line {line_no}: label without '='"))?;
        let name = rest[..eq].trim();
        if !valid_name(name, false) {
            return Err(format!("line {line_no}: invalid label name {name:?}"));
        }
        rest = rest[eq + 1..].trim_start();
        rest = rest.strip_prefix('"').ok_or_else(|| format!("line {line_no}: label value must be quoted"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("line {line_no}: unterminated label value")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("line {line_no}: invalid escape {other:?} in label value")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("line {line_no}: duplicate label {name:?}"));
        }
        rest = rest[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("line {line_no}: expected ',' or '}}' after a label"));
        }
    }
}

fn parse_value(text: &str, line_no: usize) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if text.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')) => {
            text.parse().map_err(|_| format!("line {line_no}: invalid value {text:?}"))
        }
        _ => Err(format!("line {line_no}: invalid value {text:?}")),
    }
}

/// Parses an exposition, failing on the first rule it breaks (the message names the line).
pub fn parse(text: &str) -> Result<Exposition, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the exposition must end with a line feed".to_owned());
    }
    let mut out = Exposition::default();
    let mut helped = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            let keyword = words.next().unwrap_or_default();
            if keyword != "HELP" && keyword != "TYPE" {
                continue;
            }
            let name = words.next().unwrap_or_default();
            if !valid_name(name, true) {
                return Err(format!("line {line_no}: invalid metric name {name:?}"));
            }
            if keyword == "HELP" {
                if !helped.insert(name.to_owned()) {
                    return Err(format!("line {line_no}: second HELP for {name}"));
                }
                continue;
            }
            let kind = words.next().unwrap_or_default();
            if !matches!(kind, "counter" | "gauge" | "untyped") {
                return Err(format!("line {line_no}: invalid type {kind:?}"));
            }
            if out.kinds.insert(name.to_owned(), kind.to_owned()).is_some() {
                return Err(format!("line {line_no}: second TYPE for {name}"));
            }
            if finished.contains(name) || current.as_deref() == Some(name) {
                return Err(format!("line {line_no}: TYPE for {name} after its samples"));
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| format!("line {line_no}: sample without a value"))?;
        let name = &line[..name_end];
        if !valid_name(name, true) {
            return Err(format!("line {line_no}: invalid metric name {name:?}"));
        }
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(after) => parse_labels(after, line_no)?,
            None => (BTreeMap::new(), &line[name_end..]),
        };
        let mut fields = rest.split_whitespace();
        let value = parse_value(fields.next().unwrap_or_default(), line_no)?;
        if let Some(timestamp) = fields.next() {
            timestamp.parse::<i64>().map_err(|_| format!("line {line_no}: invalid timestamp {timestamp:?}"))?;
        }
        if fields.next().is_some() {
            return Err(format!("line {line_no}: trailing text after the value"));
        }
        let family = name.to_owned();
        let kind =
            out.kinds.get(&family).ok_or_else(|| format!("line {line_no}: sample of {family} before its TYPE"))?;
        if kind == "counter" && value.is_sign_negative() {
            return Err(format!("line {line_no}: negative counter {name}"));
        }
        if current.as_deref() != Some(family.as_str()) {
            if finished.contains(&family) {
                return Err(format!("line {line_no}: samples of {family} are not in one group"));
            }
            if let Some(previous) = current.replace(family.clone()) {
                finished.insert(previous);
            }
        }
        if out.samples.insert((name.to_owned(), labels), value).is_some() {
            return Err(format!("line {line_no}: duplicate series of {name}"));
        }
    }
    Ok(out)
}
