//! Diagnostics of blueprint: what every finding is made of and how it is shown.
//!
//! 1. [`SourceMap`] owns the text of every input file and turns byte offsets into
//!    line and column.
//! 2. [`Diagnostic`] is one finding: a stable [`Code`] from the one table in [`codes`], a
//!    [`Severity`], a one-line message, a primary [`Label`] on the offending span, more labels
//!    when another place is involved, and a `help` line.
//! 3. [`render_human`] prints findings like rustc does; [`render_json`] prints the documented,
//!    stable JSON shape (`docs/diagnostics-json.md`).
//!
//! This crate knows nothing about plants.

pub mod codes;
mod render;
mod source;

pub use codes::{Code, CodeInfo};
pub use render::{Summary, render_human, render_json};
pub use source::{FileId, LineCol, SourceFile, SourceMap, Span};

use std::fmt;

/// A value quoted in a message, cut to `max` characters (`…` marks the cut): the span already
/// shows where it is, and a message must stay one line.
#[must_use]
pub fn shorten(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max).collect();
    cut.push('…');
    cut
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input cannot be built; `check` exits 1.
    Error,
    /// The input builds, but something deserves attention; exit 1 with `--deny-warnings`.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A span with a short text shown under it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is there (may be empty).
    pub message: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Stable code from [`codes::ALL`].
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One line: what is wrong.
    pub message: String,
    /// The offending value; `None` only for findings about the run as a whole.
    pub primary: Option<Label>,
    /// Other places involved (the first definition of a duplicate, say).
    pub secondary: Vec<Label>,
    /// Extra lines shown as `note:` (arithmetic, for example).
    pub notes: Vec<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// Where the finding holds, when the same input is checked several times (the
    /// environments of a plant). Findings equal but for their scopes are merged.
    pub scopes: Vec<String>,
}

impl Diagnostic {
    /// A finding with the code's default severity.
    #[must_use]
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.info().severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
            scopes: Vec::new(),
        }
    }

    /// Sets the primary span and its label.
    #[must_use]
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(Label {
            span,
            message: label.into(),
        });
        self
    }

    /// Adds a second place.
    #[must_use]
    pub fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: label.into(),
        });
        self
    }

    /// Adds a note line.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a scope (an environment name) the finding holds in.
    #[must_use]
    pub fn in_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// The message with its scopes: `… (environments prod, staging)`.
    #[must_use]
    pub fn full_message(&self) -> String {
        match self.scopes.as_slice() {
            [] => self.message.clone(),
            [one] => format!("{} (environment {one})", self.message),
            many => format!("{} (environments {})", self.message, many.join(", ")),
        }
    }

    /// Overrides the severity.
    #[must_use]
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The key findings are sorted by: file, offset, code, then message.
    fn sort_key(&self, map: &SourceMap) -> (String, u32, &'static str, String) {
        match &self.primary {
            Some(label) => (
                map.file(label.span.file).path.clone(),
                label.span.start,
                self.code.0,
                self.message.clone(),
            ),
            None => (String::new(), 0, self.code.0, self.message.clone()),
        }
    }
}

/// Sorts findings by file, position and code, drops exact duplicates (the same problem seen
/// once per environment) and merges findings that differ only in their scopes.
pub fn sort_and_dedup(diagnostics: &mut Vec<Diagnostic>, map: &SourceMap) {
    diagnostics.sort_by_cached_key(|d| d.sort_key(map));
    let mut out: Vec<Diagnostic> = Vec::with_capacity(diagnostics.len());
    for d in diagnostics.drain(..) {
        let key = d.sort_key(map);
        let same = out
            .iter_mut()
            .rev()
            .take_while(|o| o.sort_key(map) == key)
            .find(|o| {
                o.severity == d.severity
                    && o.primary == d.primary
                    && o.secondary == d.secondary
                    && o.notes == d.notes
                    && o.help == d.help
            });
        match same {
            Some(o) => {
                for s in d.scopes {
                    if !o.scopes.contains(&s) {
                        o.scopes.push(s);
                    }
                }
            }
            None => out.push(d),
        }
    }
    for d in &mut out {
        // prod first, then the others by name.
        d.scopes.sort_by_key(|s| (s != "prod", s.clone()));
    }
    *diagnostics = out;
}
