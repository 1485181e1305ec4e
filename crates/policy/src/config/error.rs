//! Configuration errors, each located at a line and column of the file: `path:line:column: message`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user named it.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters; 0 when the error concerns a whole line (a line of a calendar file).
    pub column: usize,
    /// What is wrong: names the input, says what was expected and what was found.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            0 => write!(f, "{}:{}: {}", self.path.display(), self.line, self.message),
            column => write!(f, "{}:{}:{}: {}", self.path.display(), self.line, column, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration file (and the calendar files it names), in file order; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The problems, sorted by position.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        write!(f, "{count} error{} in the configuration", if count == 1 { "" } else { "s" })?;
        for error in &self.errors {
            write!(f, "\n{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors against one source text, turning byte offsets into lines and columns.
pub(crate) struct Collector<'a> {
    path: &'a Path,
    source: &'a str,
    errors: Vec<ConfigError>,
}

impl<'a> Collector<'a> {
    pub(crate) fn new(path: &'a Path, source: &'a str) -> Collector<'a> {
        Collector { path, source, errors: Vec::new() }
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = self.source.get(..offset.min(self.source.len())).unwrap_or(self.source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let column = before.get(line_start..).map_or(0, |text| text.chars().count()) + 1;
        (line, column)
    }

    /// Where the text of the string literal at `span` starts, when the literal is written verbatim (`"value"` or
    /// `'value'`, no escapes), so that a position inside the value maps to a position in the file.
    pub(crate) fn verbatim_start(&self, span: &Range<usize>, value: &str) -> Option<usize> {
        let literal = self.source.get(span.clone())?;
        let inner = literal.get(1..literal.len().checked_sub(1)?)?;
        (inner == value && (literal.starts_with('"') || literal.starts_with('\''))).then_some(span.start + 1)
    }

    /// Records `message` at the start of `span`.
    pub(crate) fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let (line, column) = self.line_column(span.start);
        self.errors.push(ConfigError { path: self.path.to_owned(), line, column, message: message.into() });
    }

    /// Records `message` about line `line` of another file (a calendar the configuration names).
    pub(crate) fn in_file(&mut self, path: &Path, line: usize, message: impl Into<String>) {
        self.errors.push(ConfigError { path: path.to_owned(), line, column: 0, message: message.into() });
    }

    /// Records a TOML parse or shape error (at its own span, else the start of the file), prefixed with
    /// `context` (such as `rules[2]`) when there is one.
    pub(crate) fn toml(&mut self, error: &toml::de::Error, context: Option<&str>) {
        let span = error.span().unwrap_or(0..0);
        let message = error.message().trim_end();
        match context {
            Some(context) => self.at(&span, format!("{context}: {message}")),
            None => self.at(&span, message.to_owned()),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors recorded, in file order. Called only after something was refused; should nothing have been
    /// recorded, an internal error says so rather than returning an empty list.
    pub(crate) fn into_errors(mut self) -> ConfigErrors {
        if self.errors.is_empty() {
            self.at(&(0..0), "internal error: the configuration was refused without a reason");
        }
        // The configuration's own errors first, then each other file's, each in line order.
        let own = self.path.to_owned();
        self.errors.sort_by(|a, b| {
            (a.path != own, &a.path, a.line, a.column).cmp(&(b.path != own, &b.path, b.line, b.column))
        });
        ConfigErrors { errors: self.errors }
    }
}
