//! Reads the azure-cli VCR cassettes under `testdata/azure-api/compute/recordings` (YAML): each interaction's
//! method, URI, response status, headers and body. Only the YAML these files use is read: block mappings,
//! `- value` header lists, plain or single-quoted scalars, and double-quoted bodies folded over several lines.

use std::collections::BTreeMap;

/// One recorded request and its response.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub method: String,
    pub uri: String,
    pub status: u16,
    /// Response headers, names lowercase.
    pub headers: BTreeMap<String, String>,
    /// The response body as text (empty when none).
    pub body: String,
}

/// The interactions of a cassette, in order.
pub fn read(path: &str) -> Vec<Interaction> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read cassette {path}: {err}"));
    let lines: Vec<&str> = text.lines().collect();
    let mut interactions = Vec::new();
    let mut current: Option<Interaction> = None;
    let mut in_response = false;
    let mut section = "";
    let mut header: Option<String> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line == "- request:" {
            interactions.extend(current.take());
            current = Some(Interaction {
                method: String::new(),
                uri: String::new(),
                status: 0,
                headers: BTreeMap::new(),
                body: String::new(),
            });
            in_response = false;
            continue;
        }
        let Some(interaction) = current.as_mut() else { continue };
        let indent = line.len() - line.trim_start().len();
        let content = line.trim_start();
        match indent {
            2 if content == "response:" => in_response = true,
            4 => {
                section = content.trim_end_matches(':').split(':').next().unwrap_or_default();
                if let Some(value) = content.strip_prefix("method: ") {
                    interaction.method = value.to_owned();
                } else if let Some(value) = content.strip_prefix("uri: ") {
                    interaction.uri = value.to_owned();
                }
            }
            6 if in_response && section == "body" => {
                if let Some(value) = content.strip_prefix("string: ") {
                    let (body, next) = scalar(value, &lines, i);
                    interaction.body = body;
                    i = next;
                }
            }
            6 if in_response && section == "headers" && !content.starts_with("- ") => {
                header = Some(content.trim_end_matches(':').to_ascii_lowercase());
            }
            6 if in_response && section == "headers" => {
                if let Some(name) = header.take() {
                    let (value, next) = scalar(&content[2..], &lines, i);
                    interaction.headers.insert(name, value);
                    i = next;
                }
            }
            6 if in_response && section == "status" => {
                if let Some(code) = content.strip_prefix("code: ") {
                    interaction.status = code.trim().parse().unwrap_or_else(|_| panic!("{path}: status {code}"));
                }
            }
            _ => {}
        }
    }
    interactions.extend(current);
    interactions
}

/// Reads a scalar that starts with `first` (continuing on `lines[next..]` when double-quoted over several lines);
/// returns its value and the index of the line after it.
fn scalar(first: &str, lines: &[&str], mut next: usize) -> (String, usize) {
    if let Some(quoted) = first.strip_prefix('\'') {
        return (quoted.strip_suffix('\'').unwrap_or(quoted).replace("''", "'"), next);
    }
    let Some(rest) = first.strip_prefix('"') else {
        return (first.to_owned(), next);
    };
    let mut folded = String::new();
    let mut piece = rest.to_owned();
    loop {
        if let Some(end) = closing_quote(&piece) {
            folded.push_str(&piece[..end]);
            return (unescape(&folded), next);
        }
        // A line break inside a double-quoted scalar folds into one space, unless escaped with `\`.
        match piece.strip_suffix('\\').filter(|_| trailing_backslashes(&piece) % 2 == 1) {
            Some(joined) => folded.push_str(joined),
            None => {
                folded.push_str(&piece);
                folded.push(' ');
            }
        }
        let line = lines.get(next).unwrap_or_else(|| panic!("unterminated double-quoted scalar"));
        next += 1;
        piece = line.trim_start().to_owned();
    }
}

fn trailing_backslashes(text: &str) -> usize {
    text.chars().rev().take_while(|&c| c == '\\').count()
}

/// The byte index of the first unescaped `"`.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(index),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}
