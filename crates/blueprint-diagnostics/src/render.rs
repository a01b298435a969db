//! Human (rustc-like) and JSON rendering of findings.

use crate::{Diagnostic, Label, Severity, SourceMap};
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

/// Counts of a run's findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
}

impl Summary {
    /// Counts the findings.
    #[must_use]
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        Self {
            errors,
            warnings: diagnostics.len() - errors,
        }
    }
}

/// The part of a file shown for some labels: whole lines, and where they start.
struct Excerpt<'a> {
    path: &'a str,
    text: &'a str,
    first_line: usize,
    offset: usize,
    labels: Vec<(&'a Label, bool)>,
}

fn excerpts<'a>(map: &'a SourceMap, d: &'a Diagnostic) -> Vec<Excerpt<'a>> {
    let mut out: Vec<Excerpt<'a>> = Vec::new();
    let labels = d
        .primary
        .iter()
        .map(|l| (l, true))
        .chain(d.secondary.iter().map(|l| (l, false)));
    for (label, primary) in labels {
        let file = map.file(label.span.file);
        let lc = file.line_col(label.span.start);
        let start = file.line_start(lc.line).unwrap_or(0) as usize;
        let end = file.text[start..]
            .find('\n')
            .map_or(file.text.len(), |n| start + n);
        // Extend an existing excerpt of the same file when the line is adjacent or inside.
        if let Some(ex) = out.iter_mut().find(|e| {
            e.path == file.path && start >= e.offset && start <= e.offset + e.text.len() + 1
        }) {
            if end > ex.offset + ex.text.len() {
                ex.text = &file.text[ex.offset..end];
            }
            ex.labels.push((label, primary));
            continue;
        }
        out.push(Excerpt {
            path: &file.path,
            text: &file.text[start..end],
            first_line: lc.line as usize,
            offset: start,
            labels: vec![(label, primary)],
        });
    }
    out
}

/// Renders findings the way rustc does, with a closing summary line.
#[must_use]
pub fn render_human(map: &SourceMap, diagnostics: &[Diagnostic], color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let title = d.full_message();
        let mut group = Group::with_title(level.primary_title(title.as_str()).id(d.code.0));
        for ex in excerpts(map, d) {
            // A carriage return (CRLF files) is shown as a space: same byte length, so spans hold.
            let mut snippet = Snippet::source(ex.text.replace('\r', " "))
                .line_start(ex.first_line)
                .path(ex.path);
            for (label, primary) in &ex.labels {
                // Spans are clamped to the excerpt and to character boundaries.
                let mut s = (label.span.start as usize)
                    .saturating_sub(ex.offset)
                    .min(ex.text.len());
                while !ex.text.is_char_boundary(s) {
                    s -= 1;
                }
                let mut e = (label.span.end as usize)
                    .saturating_sub(ex.offset)
                    .min(ex.text.len());
                while !ex.text.is_char_boundary(e) {
                    e += 1;
                }
                // A span over several lines is shown on its first line only.
                if let Some(nl) = ex.text[s..].find('\n') {
                    e = e.min(s + nl);
                }
                let kind = if *primary {
                    AnnotationKind::Primary
                } else {
                    AnnotationKind::Context
                };
                let ann = kind.span(s..e.max(s));
                snippet = snippet.annotation(if label.message.is_empty() {
                    ann
                } else {
                    ann.label(label.message.as_str())
                });
            }
            group = group.element(snippet);
        }
        for note in &d.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        out.push_str(&renderer.render(&[group]));
        out.push_str("\n\n");
    }
    let s = Summary::of(diagnostics);
    out.push_str(&summary_line(s));
    out.push('\n');
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary_line(s: Summary) -> String {
    match (s.errors, s.warnings) {
        (0, 0) => "no findings".to_string(),
        (e, 0) => format!("{} found", plural(e, "error")),
        (0, w) => format!("{} found", plural(w, "warning")),
        (e, w) => format!("{} and {} found", plural(e, "error"), plural(w, "warning")),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLabel<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonDiagnostic<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<JsonLabel<'a>>,
    related: Vec<JsonLabel<'a>>,
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    scope: &'a [String],
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary,
}

fn json_label<'a>(map: &'a SourceMap, l: &'a Label) -> JsonLabel<'a> {
    let file = map.file(l.span.file);
    let start = file.line_col(l.span.start);
    let end = file.line_col(l.span.end);
    JsonLabel {
        file: &file.path,
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        message: &l.message,
    }
}

/// Renders findings as the stable JSON document described in `docs/diagnostics-json.md`.
#[must_use]
pub fn render_json(map: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let report = JsonReport {
        version: 1,
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.0,
                severity: d.severity,
                message: &d.message,
                location: d.primary.as_ref().map(|l| json_label(map, l)),
                related: d.secondary.iter().map(|l| json_label(map, l)).collect(),
                notes: &d.notes,
                help: d.help.as_deref(),
                scope: &d.scopes,
            })
            .collect(),
        summary: Summary::of(diagnostics),
    };
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_else(|e| {
        format!("{{\"version\":1,\"error\":\"cannot serialise diagnostics: {e}\"}}")
    });
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Diagnostic, Span, codes};

    #[test]
    fn human_output_points_at_the_value_with_a_caret_and_help() {
        let mut map = SourceMap::new();
        let f = map.add("plants/lyon.yaml", "recovery:\n    rpo: 30s\n");
        let d = Diagnostic::new(codes::RPO_NEEDS_STANDBY, "rpo 30s is too tight")
            .at(Span::new(f, 19, 22), "requested here")
            .help("set rpo to 60s or more");
        let out = render_human(&map, &[d], false);
        assert!(out.contains("error[BP2001]: rpo 30s is too tight"), "{out}");
        assert!(out.contains("--> plants/lyon.yaml:2:10"), "{out}");
        assert!(out.contains("^^^ requested here"), "{out}");
        assert!(out.contains("help: set rpo to 60s or more"), "{out}");
        assert!(out.ends_with("1 error found\n"), "{out}");
    }
}
