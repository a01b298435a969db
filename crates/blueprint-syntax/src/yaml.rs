//! Strict YAML: one document, no anchors, aliases or tags, unique keys, YAML 1.2 core types,
//! YAML 1.1 look-alikes refused, depth and node count capped.
//!
//! Built on `saphyr-parser`'s event stream (the parser under `serde-saphyr`), so every node keeps
//! its span and every problem of a file is collected, not only the first one serde would report.

use crate::node::{Key, Node, NodeKind};
use crate::{Limits, Parsed};
use blueprint_diagnostics::{Diagnostic, FileId, Span, codes};
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};
use std::collections::HashMap;

/// Character index → byte offset (the parser counts characters).
struct Offsets {
    table: Option<Vec<u32>>,
}

impl Offsets {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            return Self { table: None };
        }
        let mut table: Vec<u32> = text
            .char_indices()
            .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        table.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        Self { table: Some(table) }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index,
            Some(t) => t.get(char_index).or(t.last()).map_or(0, |&b| b as usize),
        }
    }
}

enum Frame {
    Map {
        start: usize,
        entries: Vec<(Key, Node)>,
        /// Each key of `entries` and where it was written, so a duplicate is found in O(1).
        seen: HashMap<String, Span>,
        pending: Option<Key>,
    },
    Seq {
        start: usize,
        items: Vec<Node>,
    },
}

struct Builder<'a> {
    file: FileId,
    offsets: Offsets,
    limits: &'a Limits,
    diagnostics: Vec<Diagnostic>,
    stack: Vec<Frame>,
    nodes: usize,
}

const YAML11_BOOLEANS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

fn is_int(s: &str) -> bool {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s);
    !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(d, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match d.find(['e', 'E']) {
        Some(i) => (&d[..i], Some(&d[i + 1..])),
        None => (d, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(is_int);
    mantissa_ok && exponent_ok && (d.contains('.') || exponent.is_some())
}

impl Builder<'_> {
    fn span(&self, s: YSpan) -> Span {
        Span::new(
            self.file,
            self.offsets.byte(s.start.index()),
            self.offsets.byte(s.end.index()),
        )
    }

    fn error(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Resolves a plain scalar with the YAML 1.2 core schema, refusing YAML 1.1 look-alikes.
    fn plain(&mut self, text: &str, span: Span) -> NodeKind {
        match text {
            "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
            "true" | "True" | "TRUE" => return NodeKind::Bool(true),
            "false" | "False" | "FALSE" => return NodeKind::Bool(false),
            _ => {}
        }
        if YAML11_BOOLEANS.contains(&text) {
            self.error(
                Diagnostic::new(
                    codes::YAML11_BOOLEAN,
                    format!("`{text}` is a boolean in YAML 1.1 and a string in YAML 1.2"),
                )
                .at(span, "ambiguous plain value")
                .help(format!(
                    "write `true` or `false` for a boolean, or quote it (\"{text}\") for text"
                )),
            );
            return NodeKind::Str(text.to_string());
        }
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
        {
            self.error(
                Diagnostic::new(
                    codes::YAML11_BOOLEAN,
                    format!(
                        "`{text}` is an octal number in YAML 1.1 and a decimal one in YAML 1.2"
                    ),
                )
                .at(span, "ambiguous plain value")
                .help(format!(
                    "drop the leading zero for a number, or quote it (\"{text}\") for text"
                )),
            );
            return NodeKind::Str(text.to_string());
        }
        if is_int(text) {
            return match text.parse::<i64>() {
                Ok(value) => NodeKind::Int {
                    value,
                    raw: text.to_string(),
                },
                Err(_) => NodeKind::Float {
                    raw: text.to_string(),
                },
            };
        }
        if let Some(hex) = text.strip_prefix("0x")
            && let Ok(value) = i64::from_str_radix(hex, 16)
        {
            return NodeKind::Int {
                value,
                raw: text.to_string(),
            };
        }
        if let Some(oct) = text.strip_prefix("0o")
            && let Ok(value) = i64::from_str_radix(oct, 8)
        {
            return NodeKind::Int {
                value,
                raw: text.to_string(),
            };
        }
        if is_float(text) {
            return NodeKind::Float {
                raw: text.to_string(),
            };
        }
        NodeKind::Str(text.to_string())
    }

    /// Attaches a finished node to its parent; returns the root when the stack is empty.
    fn attach(&mut self, node: Node) -> Option<Node> {
        let mut finding = None;
        let out = match self.stack.last_mut() {
            None => Some(node),
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                None
            }
            Some(Frame::Map {
                entries,
                seen,
                pending,
                ..
            }) => {
                if let Some(key) = pending.take() {
                    if let Some(&first) = seen.get(&key.name) {
                        finding = Some(
                            Diagnostic::new(
                                codes::DUPLICATE_KEY,
                                format!("key `{}` appears twice in this mapping", key.name),
                            )
                            .at(key.span, "duplicate key")
                            .also(first, "first written here")
                            .help(
                                "keep one of the two entries; YAML does not merge duplicate keys",
                            ),
                        );
                    } else {
                        seen.insert(key.name.clone(), key.span);
                        entries.push((key, node));
                    }
                } else {
                    // This node is a key.
                    let span = node.span;
                    let name = match node.kind {
                        NodeKind::Str(name) => name,
                        NodeKind::Int { raw, .. } | NodeKind::Float { raw } => raw,
                        NodeKind::Bool(b) => b.to_string(),
                        NodeKind::Null | NodeKind::Map(_) | NodeKind::Seq(_) => {
                            finding = Some(
                                Diagnostic::new(codes::SYNTAX, "mapping keys must be plain text")
                                    .at(span, "not a text key")
                                    .help("write the key as a word, e.g. `name:`"),
                            );
                            String::new()
                        }
                    };
                    *pending = Some(Key { name, span });
                }
                None
            }
        };
        if let Some(d) = finding {
            self.error(d);
        }
        out
    }

    fn check_props(&mut self, anchor: usize, tag: bool, span: Span) -> bool {
        if anchor != 0 || tag {
            let what = if anchor != 0 {
                "anchors (`&name`)"
            } else {
                "tags (`!!type`, `!name`)"
            };
            self.error(
                Diagnostic::new(codes::YAML_REFERENCE, format!("{what} are not allowed in plant and fleet files"))
                    .at(span, "here")
                    .help("write the value out in full; use `defaults` in fleet.toml or environment overlays to share settings"),
            );
            return false;
        }
        true
    }

    fn push(&mut self, frame: Frame, span: Span) -> bool {
        if self.stack.len() >= self.limits.max_depth {
            self.error(
                Diagnostic::new(
                    codes::TOO_DEEP_OR_LARGE,
                    format!("nesting deeper than {} levels", self.limits.max_depth),
                )
                .at(span, "too deep")
                .help("plant and fleet files need only a few levels; flatten this value"),
            );
            return false;
        }
        self.stack.push(frame);
        true
    }

    fn count(&mut self, span: Span) -> bool {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            self.error(
                Diagnostic::new(
                    codes::TOO_DEEP_OR_LARGE,
                    format!("more than {} values in one file", self.limits.max_nodes),
                )
                .at(span, "limit reached here")
                .help("split the input: one plant per file"),
            );
            return false;
        }
        true
    }
}

/// Parses YAML text into a [`Node`] tree.
pub(crate) fn parse(text: &str, file: FileId, limits: &Limits) -> Parsed {
    let mut b = Builder {
        file,
        offsets: Offsets::new(text),
        limits,
        diagnostics: Vec::new(),
        stack: Vec::new(),
        nodes: 0,
    };
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, yspan) = match next {
            Ok(ev) => ev,
            Err(e) => {
                let m = e.marker();
                let at = b.offsets.byte(m.index());
                let d = if crate::is_nesting_limit(e.info()) {
                    Diagnostic::new(
                        codes::TOO_DEEP_OR_LARGE,
                        format!("nesting too deep: {}", e.info()),
                    )
                    .at(Span::new(file, at, at + 1), "too deep")
                    .help("plant and fleet files need only a few levels; flatten this value")
                } else {
                    Diagnostic::new(codes::SYNTAX, format!("YAML syntax error: {}", e.info()))
                        .at(Span::new(file, at, at + 1), "here")
                        .help("fix the YAML syntax; a linter such as yamllint shows the same position")
                };
                b.error(d);
                return Parsed {
                    root: None,
                    diagnostics: b.diagnostics,
                };
            }
        };
        let span = b.span(yspan);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    b.error(
                        Diagnostic::new(codes::MULTIPLE_DOCUMENTS, "a second YAML document in the same file")
                            .at(span, "second document starts here")
                            .help("put one plant in each file; remove the `---` separator and move the rest to its own file"),
                    );
                    return Parsed {
                        root: None,
                        diagnostics: b.diagnostics,
                    };
                }
            }
            Event::Alias(_) => {
                b.error(
                    Diagnostic::new(codes::YAML_REFERENCE, "aliases (`*name`) are not allowed in plant and fleet files")
                        .at(span, "alias")
                        .help("write the value out in full; use `defaults` in fleet.toml or environment overlays to share settings"),
                );
                return Parsed {
                    root: None,
                    diagnostics: b.diagnostics,
                };
            }
            Event::Scalar(value, style, anchor, tag) => {
                if !b.check_props(anchor, tag.is_some(), span) || !b.count(span) {
                    return Parsed {
                        root: None,
                        diagnostics: b.diagnostics,
                    };
                }
                let in_key_position =
                    matches!(b.stack.last(), Some(Frame::Map { pending: None, .. }));
                if in_key_position && style == ScalarStyle::Plain && value == "<<" {
                    b.error(
                        Diagnostic::new(codes::YAML_REFERENCE, "merge keys (`<<`) are not allowed")
                            .at(span, "merge key")
                            .help("write the keys out in full"),
                    );
                    return Parsed {
                        root: None,
                        diagnostics: b.diagnostics,
                    };
                }
                let kind = if style == ScalarStyle::Plain && !in_key_position {
                    b.plain(&value, span)
                } else {
                    NodeKind::Str(value.into_owned())
                };
                if let Some(r) = b.attach(Node { span, kind }) {
                    root = Some(r);
                }
            }
            Event::SequenceStart(anchor, tag) => {
                if !b.check_props(anchor, tag.is_some(), span)
                    || !b.count(span)
                    || !b.push(
                        Frame::Seq {
                            start: span.start as usize,
                            items: Vec::new(),
                        },
                        span,
                    )
                {
                    return Parsed {
                        root: None,
                        diagnostics: b.diagnostics,
                    };
                }
            }
            Event::MappingStart(anchor, tag) => {
                if !b.check_props(anchor, tag.is_some(), span)
                    || !b.count(span)
                    || !b.push(
                        Frame::Map {
                            start: span.start as usize,
                            entries: Vec::new(),
                            seen: HashMap::new(),
                            pending: None,
                        },
                        span,
                    )
                {
                    return Parsed {
                        root: None,
                        diagnostics: b.diagnostics,
                    };
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match b.stack.pop() {
                    Some(Frame::Seq { start, items }) => Node {
                        span: Span::new(file, start, (span.end as usize).max(start)),
                        kind: NodeKind::Seq(items),
                    },
                    Some(Frame::Map { start, entries, .. }) => Node {
                        span: Span::new(file, start, (span.end as usize).max(start)),
                        kind: NodeKind::Map(entries),
                    },
                    None => continue,
                };
                if let Some(r) = b.attach(node) {
                    root = Some(r);
                }
            }
        }
    }
    Parsed {
        root,
        diagnostics: b.diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Parsed {
        parse(text, FileId(0), &Limits::default())
    }

    #[test]
    fn a_duplicate_among_ten_thousand_keys_is_found_once_with_its_first_place() {
        let mut text: String = (0..10_000).map(|i| format!("key{i}: {i}\n")).collect();
        let first = text.find("key5000:").expect("written");
        let again = text.len();
        text.push_str("key5000: 1\n");
        let limits = Limits {
            max_nodes: 100_000,
            ..Limits::default()
        };
        let p = parse(&text, FileId(0), &limits);
        assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
        let d = &p.diagnostics[0];
        assert_eq!(d.code, codes::DUPLICATE_KEY);
        assert_eq!(
            d.primary.as_ref().map(|l| l.span.start as usize),
            Some(again)
        );
        assert_eq!(
            d.secondary.first().map(|l| l.span.start as usize),
            Some(first)
        );
        let root = p.root.expect("parsed");
        assert_eq!(root.as_map().map(<[_]>::len), Some(10_000));
    }

    #[test]
    fn the_same_key_in_two_mappings_is_not_a_duplicate() {
        let p = parse_text("a:\n  x: 1\nb:\n  x: 2\n  y:\n    x: 3\n");
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    }

    #[test]
    fn an_integer_beyond_i64_is_kept_as_written() {
        let p = parse_text("users: -99999999999999999999999\n");
        let root = p.root.expect("parsed");
        assert_eq!(
            root.get("users").map(|n| &n.kind),
            Some(&NodeKind::Float {
                raw: "-99999999999999999999999".into()
            })
        );
    }
}
