//! TOML into the same [`Node`] tree as YAML, with spans; duplicate keys are reported as such.

use crate::node::{Key, Node, NodeKind};
use crate::{Limits, Parsed};
use blueprint_diagnostics::{Diagnostic, FileId, Span, codes};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

struct Converter<'a> {
    file: FileId,
    limits: &'a Limits,
    nodes: usize,
    diagnostics: Vec<Diagnostic>,
}

impl Converter<'_> {
    fn span(&self, r: std::ops::Range<usize>) -> Span {
        Span::new(self.file, r.start, r.end)
    }

    fn value(&mut self, v: &Spanned<DeValue<'_>>, depth: usize) -> Option<Node> {
        let span = self.span(v.span());
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            self.diagnostics.push(
                Diagnostic::new(
                    codes::TOO_DEEP_OR_LARGE,
                    format!("more than {} values in one file", self.limits.max_nodes),
                )
                .at(span, "limit reached here")
                .help("split the input: one plant per file"),
            );
            return None;
        }
        if depth > self.limits.max_depth {
            self.diagnostics.push(
                Diagnostic::new(
                    codes::TOO_DEEP_OR_LARGE,
                    format!("nesting deeper than {} levels", self.limits.max_depth),
                )
                .at(span, "too deep")
                .help("plant and fleet files need only a few levels; flatten this value"),
            );
            return None;
        }
        let kind = match v.get_ref() {
            DeValue::String(s) => NodeKind::Str(s.to_string()),
            DeValue::Integer(i) => {
                // `as_str` is the digits alone (no `0x`, no `_`); `Display` adds the prefix back.
                let raw = i.to_string();
                match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(value) => NodeKind::Int { value, raw },
                    // Too large for i64: kept as written, as YAML does.
                    Err(_) => NodeKind::Float { raw },
                }
            }
            DeValue::Float(f) => NodeKind::Float {
                raw: f.as_str().to_string(),
            },
            DeValue::Boolean(b) => NodeKind::Bool(*b),
            DeValue::Datetime(d) => NodeKind::Str(d.to_string()),
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value(item, depth + 1)?);
                }
                NodeKind::Seq(out)
            }
            DeValue::Table(t) => return self.table(t, span, depth),
        };
        Some(Node { span, kind })
    }

    fn table(&mut self, t: &DeTable<'_>, span: Span, depth: usize) -> Option<Node> {
        let mut entries = Vec::with_capacity(t.len());
        for (k, v) in t {
            let key = Key {
                name: k.get_ref().to_string(),
                span: self.span(k.span()),
            };
            let value = self.value(v, depth + 1)?;
            entries.push((key, value));
        }
        Some(Node {
            span,
            kind: NodeKind::Map(entries),
        })
    }
}

/// Parses TOML text into a [`Node`] tree.
pub(crate) fn parse(text: &str, file: FileId, limits: &Limits) -> Parsed {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut diagnostics: Vec<Diagnostic> = Vec::new();
        // Keys inside a table header that was itself a duplicate are not reported again.
        let mut skip_until_header_after: Option<usize> = None;
        for e in &errors {
            let r = e.span().unwrap_or(0..1);
            let span = Span::new(
                file,
                r.start,
                r.end.max(r.start + 1).min(text.len().max(r.start)),
            );
            let message = e.message().trim().to_string();
            if crate::is_nesting_limit(&message) {
                diagnostics.push(
                    Diagnostic::new(
                        codes::TOO_DEEP_OR_LARGE,
                        format!("nesting too deep: {message}"),
                    )
                    .at(span, "too deep")
                    .help("plant and fleet files need only a few levels; flatten this value"),
                );
                continue;
            }
            if !message.contains("duplicate key") {
                diagnostics.push(
                    Diagnostic::new(codes::SYNTAX, format!("TOML syntax error: {message}"))
                        .at(span, "here")
                        .help("fix the TOML syntax (https://toml.io); strings need quotes"),
                );
                continue;
            }
            let line = line_at(text, r.start);
            let header = line.trim_start().starts_with('[');
            if let Some(after) = skip_until_header_after
                && !header
                && !text[after..r.start]
                    .lines()
                    .skip(1)
                    .any(|l| l.trim_start().starts_with('['))
            {
                continue;
            }
            let key = text
                .get(r.clone())
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_string();
            let mut d = if header {
                skip_until_header_after = Some(r.start);
                Diagnostic::new(
                    codes::DUPLICATE_KEY,
                    format!("table `[{key}]` is defined twice"),
                )
                .at(span, "second definition")
            } else {
                Diagnostic::new(
                    codes::DUPLICATE_KEY,
                    format!("key `{key}` appears twice in its table"),
                )
                .at(span, "duplicate key")
            };
            if let Some(first) = first_definition(text, r.start, &key, header) {
                d = d.also(
                    Span::new(file, first, first + key.len()),
                    "first written here",
                );
            }
            diagnostics
                .push(d.help("keep one of the two entries; TOML does not merge duplicate keys"));
        }
        return Parsed {
            root: None,
            diagnostics,
        };
    }
    let mut c = Converter {
        file,
        limits,
        nodes: 0,
        diagnostics: Vec::new(),
    };
    let span = Span::new(file, 0, text.len());
    let root = c.table(doc.get_ref(), span, 0);
    Parsed {
        root,
        diagnostics: c.diagnostics,
    }
}

fn line_at(text: &str, offset: usize) -> &str {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    &text[start..end]
}

/// Where `key` was first written before `before`: the same table header, or the same key in
/// the same table (the lines since the last header).
fn first_definition(text: &str, before: usize, key: &str, header: bool) -> Option<usize> {
    let head = &text[..before.min(text.len())];
    let mut offset = 0;
    let mut found = None;
    for line in head.split_inclusive('\n') {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        if t.starts_with('[') {
            let name = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            if header && name == key {
                found = Some(offset + indent + t.find(name).unwrap_or(0));
            } else if !header {
                found = None;
            }
        } else if !header {
            let name = t.split('=').next().unwrap_or("").trim().trim_matches('"');
            if t.contains('=') && name == key && found.is_none() {
                found = Some(offset + indent + t.find(name).unwrap_or(0));
            }
        }
        offset += line.len();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use blueprint_diagnostics::FileId;

    fn parse_text(text: &str) -> Parsed {
        parse(text, FileId(0), &Limits::default())
    }

    #[test]
    fn nesting_past_the_toml_recursion_limit_is_too_deep_not_a_syntax_error() {
        for text in [
            format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
            format!("a = {}1{}\n", "{b = ".repeat(300), "}".repeat(300)),
        ] {
            let p = parse_text(&text);
            assert!(p.root.is_none());
            assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
            let d = &p.diagnostics[0];
            assert_eq!(d.code, codes::TOO_DEEP_OR_LARGE, "{d:?}");
            assert!(d.message.starts_with("nesting too deep"), "{d:?}");
            assert!(d.help.as_deref().unwrap_or("").contains("flatten"), "{d:?}");
        }
    }

    #[test]
    fn integers_keep_their_base_and_those_beyond_i64_are_kept_as_written() {
        let p = parse_text(
            "big = 99999999999999999999999\nhex = 0xFF\nbighex = 0xFFFF_FFFF_FFFF_FFFF_FF\nneg = -5\n",
        );
        let root = p.root.expect("parsed");
        let kind = |key: &str| root.get(key).map(|n| n.kind.clone());
        let float = |raw: &str| Some(NodeKind::Float { raw: raw.into() });
        let int = |value: i64, raw: &str| {
            Some(NodeKind::Int {
                value,
                raw: raw.into(),
            })
        };
        assert_eq!(kind("big"), float("99999999999999999999999"));
        assert_eq!(kind("hex"), int(255, "0xFF"));
        assert_eq!(kind("bighex"), float("0xFFFFFFFFFFFFFFFFFF"));
        assert_eq!(kind("neg"), int(-5, "-5"));
    }
}
