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

/// Whether `s` is one or more digits of `radix`, nothing else (no sign, no `_`).
fn all_digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_digit(radix))
}

/// Whether `s` is `[1-9][0-9_]*(:[0-5]?[0-9])+`, optionally followed by `.[0-9_]*`: a YAML 1.1
/// base-60 number (`1:30` is 90), text in YAML 1.2.
fn is_sexagesimal(s: &str) -> bool {
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let mut parts = whole.split(':');
    let head = parts.next().unwrap_or_default();
    let mut sixties = 0;
    let parts_ok = parts.all(|p| {
        sixties += 1;
        (1..=2).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || p.as_bytes()[0] <= b'5')
    });
    head.starts_with(|c: char| matches!(c, '1'..='9'))
        && head.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && sixties > 0
        && parts_ok
        && fraction.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
}

/// A plain value that YAML 1.1 and YAML 1.2 (core schema) read differently as a number, with
/// the message and help of its finding: integers with a leading zero (octal in 1.1, decimal in
/// 1.2), `0o` octals (a number in 1.2 only), and the YAML 1.1 forms that are text in 1.2: `0b`
/// binary, `_` separators, signed or separated hexadecimal, base 60 (`1:30`).
fn yaml11_number(text: &str) -> Option<(String, String)> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let quote = |what: &str| format!("{what}, or quote it (\"{text}\") for text");
    if unsigned.len() > 1 && unsigned.starts_with('0') && all_digits(unsigned, 10) {
        return Some((
            format!("`{text}` is an octal number in YAML 1.1 and a decimal one in YAML 1.2"),
            quote("drop the leading zero for a number"),
        ));
    }
    if let Some(octal) = text.strip_prefix("0o")
        && all_digits(octal, 8)
    {
        let value = u128::from_str_radix(octal, 8).map_or_else(|_| "it".into(), |v| v.to_string());
        return Some((
            format!("`{text}` is an octal number in YAML 1.2 and text in YAML 1.1"),
            quote(&format!("write {value} in decimal for a number")),
        ));
    }
    let separated = |digits: &str, radix: u32| {
        digits.starts_with(|c: char| c.is_digit(radix))
            && digits.chars().all(|c| c == '_' || c.is_digit(radix))
    };
    let (kind, fix) = if unsigned.strip_prefix("0b").is_some_and(|d| separated(d, 2)) {
        ("a binary number", "write it in decimal for a number")
    } else if unsigned
        .strip_prefix("0x")
        .is_some_and(|d| separated(d, 16) && (d.contains('_') || unsigned.len() < text.len()))
    {
        ("a hexadecimal number", "write it in decimal for a number")
    } else if separated(unsigned, 10) && unsigned.contains('_') {
        ("a number", "drop the `_` for a number")
    } else if is_sexagesimal(unsigned) {
        ("a base-60 number", "write it in decimal for a number")
    } else {
        return None;
    };
    Some((
        format!("`{text}` is {kind} in YAML 1.1 and text in YAML 1.2"),
        quote(fix),
    ))
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
        if let Some((message, help)) = yaml11_number(text) {
            self.error(
                Diagnostic::new(codes::YAML11_BOOLEAN, message)
                    .at(span, "ambiguous plain value")
                    .help(help),
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
        // YAML 1.2 core hexadecimal: `0x` and hex digits, no sign (YAML 1.1 reads it alike).
        if let Some(hex) = text.strip_prefix("0x")
            && all_digits(hex, 16)
        {
            return match i64::from_str_radix(hex, 16) {
                Ok(value) => NodeKind::Int {
                    value,
                    raw: text.to_string(),
                },
                Err(_) => NodeKind::Float {
                    raw: text.to_string(),
                },
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
            self.error(crate::too_deep(span, self.limits.max_depth));
            return false;
        }
        self.stack.push(frame);
        true
    }

    /// The finding for the parser's error `info`, noticed at byte `at`, the last event having
    /// ended at `after` (`last_plain`: its place, if it was a plain scalar). The parser reports
    /// where it noticed a problem, which is not always where the problem is: a tab in
    /// indentation, a key without a space after its colon, a flow collection past its own
    /// nesting limit are found in the text and shown there.
    fn scan_error(
        &self,
        text: &str,
        info: &str,
        at: usize,
        after: usize,
        last_plain: Option<(usize, usize)>,
    ) -> Diagnostic {
        let file = self.file;
        let here = |at: usize| crate::char_span(file, text, at);
        if crate::is_nesting_limit(info) {
            let at = flow_too_deep(text, after, at, self.stack.len(), self.limits.max_depth)
                .unwrap_or(at);
            return crate::too_deep(here(at), self.limits.max_depth);
        }
        if info.contains("unknown anchor") {
            return alias(here(at));
        }
        if info.contains("tab") {
            let at = indenting_tab(text, at).unwrap_or(at);
            return Diagnostic::new(
                codes::SYNTAX,
                "YAML syntax error: a tab used for indentation",
            )
            .at(here(at), "tab")
            .help("indent with spaces: YAML does not allow tabs in indentation");
        }
        // A key without a space after its colon (`users:60`) is text, and the parser notices
        // on a later line: the key it waited for a `:` after is stale, or the text ran on into
        // the next key's `:`.
        let expected_colon = info.contains("simple key expect ':'");
        let ran_on = info.contains("mapping values are not allowed");
        let key = if expected_colon {
            unfinished_key(text, after, at)
        } else if ran_on {
            // `users:60` as the first entry of a block runs on into the next line's text, and
            // the parser stops at that line's `:`: the key is a line of that plain scalar.
            last_plain.and_then(|(start, end)| colon_word(text, start, end))
        } else {
            None
        };
        if let Some(key) = key {
            let line = &text[key..text[key..]
                .find(['\n', '\r'])
                .map_or(text.len(), |n| key + n)];
            let word = line.split([' ', '\t']).next().unwrap_or_default();
            let shown = blueprint_diagnostics::shorten(word, 40);
            match word.split_once(':') {
                Some((name, value)) if !name.is_empty() && !value.is_empty() => {
                    return Diagnostic::new(
                        codes::SYNTAX,
                        format!("YAML syntax error: no space after the colon in `{shown}`"),
                    )
                    .at(here(key), "not a key: one text value")
                    .help(format!(
                        "write a space after the colon: `{}: {}`",
                        blueprint_diagnostics::shorten(name, 30),
                        blueprint_diagnostics::shorten(value, 30)
                    ));
                }
                _ if expected_colon => {
                    return Diagnostic::new(
                        codes::SYNTAX,
                        format!(
                            "YAML syntax error: `{shown}` is neither `key: value` nor a list item"
                        ),
                    )
                    .at(here(key), "no `: ` after this key")
                    .help("write `key: value`, with a space after the colon");
                }
                _ => {}
            }
        }
        Diagnostic::new(codes::SYNTAX, format!("YAML syntax error: {info}"))
            .at(here(at), "here")
            .help("fix the YAML syntax; a linter such as yamllint shows the same position")
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

/// The finding for an alias (`*name`), whether or not its anchor exists.
fn alias(span: Span) -> Diagnostic {
    Diagnostic::new(
        codes::YAML_REFERENCE,
        "aliases (`*name`) are not allowed in plant and fleet files",
    )
    .at(span, "alias")
    .help("write the value out in full; use `defaults` in fleet.toml or environment overlays to share settings")
}

/// The lines of `text` from the one holding byte `from` on, each with its offset and without
/// its line break.
fn lines_from(text: &str, from: usize) -> impl Iterator<Item = (usize, &str)> {
    let start = text[..from.min(text.len())]
        .rfind(['\n', '\r'])
        .map_or(0, |i| i + 1);
    let mut offset = start;
    text[start..].split_inclusive('\n').map(move |line| {
        let at = offset;
        offset += line.len();
        (at, line.trim_end_matches(['\n', '\r']))
    })
}

/// Where the indentation of a line ends: after spaces and tabs.
fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// The tab the parser complained about near `at`: `at` itself, a tab in the indentation of
/// `at`'s line, or one in the indentation of the next line with content (a plain or block
/// scalar's continuation). Tabs on blank lines are allowed and skipped.
fn indenting_tab(text: &str, at: usize) -> Option<usize> {
    if text[at.min(text.len())..].starts_with('\t') {
        return Some(at);
    }
    for (i, (start, line)) in lines_from(text, at).enumerate() {
        let indent = &line[..indentation(line)];
        if let Some(tab) = indent.find('\t')
            && (i == 0 || indent.len() < line.len())
        {
            return Some(start + tab);
        }
        if i > 0 && indent.len() < line.len() {
            return None;
        }
    }
    None
}

/// The key the parser expected a `:` after ("simple key expect ':'", noticed on a later line
/// at `at`): the first line content after the last event (`after`), past list indicators and
/// comments.
fn unfinished_key(text: &str, after: usize, at: usize) -> Option<usize> {
    for (start, line) in lines_from(text, after) {
        if start >= at {
            return None;
        }
        let mut content = indentation(line);
        while line[content..].starts_with("- ") || line[content..].starts_with("-\t") {
            content += 1;
            content += indentation(&line[content..]);
        }
        let key = start + content;
        if key < after || content == line.len() || line[content..].starts_with('#') {
            continue;
        }
        return (key < at).then_some(key);
    }
    None
}

/// The first line content of the plain scalar at `start..end` whose first word holds a colon
/// between two other characters (`users:60`), if the scalar spans several lines.
fn colon_word(text: &str, start: usize, end: usize) -> Option<usize> {
    let scalar = text.get(start..end)?;
    if !scalar.contains('\n') {
        return None;
    }
    lines_from(text, start)
        .take_while(|&(line, _)| line < end)
        .map(|(line, content)| {
            line.max(start) + indentation(&text[line.max(start)..line + content.len()])
        })
        .find(|&at| {
            let word = text[at..]
                .split([' ', '\t', '\n', '\r'])
                .next()
                .unwrap_or_default();
            word.split_once(':')
                .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())
        })
}

/// The first flow collection (`[`, `{`) between `after` and `at` that opens a level past
/// `max_depth`, `depth` levels being open at `after`. The parser's own flow limit (255 levels)
/// is far past blueprint's, and while a flow collection may still turn out to be a key the
/// parser reports nothing of it, so the level is counted here. Quoted scalars and comments are
/// skipped.
fn flow_too_deep(
    text: &str,
    after: usize,
    at: usize,
    mut depth: usize,
    max_depth: usize,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let end = at.min(bytes.len());
    let mut i = after;
    while i < end {
        let starts_token = i == 0
            || matches!(
                bytes[i - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':'
            );
        match bytes[i] {
            b'[' | b'{' => {
                if depth >= max_depth {
                    return Some(i);
                }
                depth += 1;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' if starts_token => {
                i += 1;
                while i < end && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if starts_token => {
                i += 1;
                while i < end && !(bytes[i] == b'\'' && bytes.get(i + 1) != Some(&b'\'')) {
                    i += if bytes[i] == b'\'' { 2 } else { 1 };
                }
            }
            b'#' if starts_token => {
                while i < end && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
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
    // Where the last event ended (a syntax error lies after it), and the last event's place if
    // it was a plain scalar.
    let mut after = 0usize;
    let mut last_plain: Option<(usize, usize)> = None;
    while let Some(next) = parser.next_event() {
        let (event, yspan) = match next {
            Ok(ev) => ev,
            Err(e) => {
                let at = b.offsets.byte(e.marker().index());
                let d = b.scan_error(text, e.info(), at, after, last_plain);
                b.error(d);
                return Parsed {
                    root: None,
                    diagnostics: b.diagnostics,
                };
            }
        };
        let span = b.span(yspan);
        after = after.max(span.end as usize);
        last_plain = match &event {
            Event::Scalar(_, ScalarStyle::Plain, ..) => Some((span.start as usize, after)),
            _ => None,
        };
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
                b.error(alias(span));
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

    /// Line and column (from 1, in characters) of a byte offset.
    fn line_col(text: &str, offset: usize) -> (usize, usize) {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[start..].chars().count() + 1)
    }

    /// The one finding of `text`: code, line, column, message, help.
    fn only(text: &str) -> (&'static str, usize, usize, String, String) {
        let p = parse_text(text);
        assert_eq!(p.diagnostics.len(), 1, "{text:?}: {:?}", p.diagnostics);
        let d = &p.diagnostics[0];
        let (line, column) = line_col(
            text,
            d.primary.as_ref().expect("a place").span.start as usize,
        );
        (
            d.code.0,
            line,
            column,
            d.message.clone(),
            d.help.clone().unwrap_or_default(),
        )
    }

    #[test]
    fn numbers_yaml_1_1_and_1_2_read_differently_are_refused() {
        for (value, message, help) in [
            (
                "0o17",
                "`0o17` is an octal number in YAML 1.2 and text in YAML 1.1",
                "write 15 in decimal for a number, or quote it (\"0o17\") for text",
            ),
            (
                "0755",
                "`0755` is an octal number in YAML 1.1 and a decimal one in YAML 1.2",
                "drop the leading zero for a number, or quote it (\"0755\") for text",
            ),
            (
                "0b101",
                "`0b101` is a binary number in YAML 1.1 and text in YAML 1.2",
                "write it in decimal for a number, or quote it (\"0b101\") for text",
            ),
            (
                "-0x1BB",
                "`-0x1BB` is a hexadecimal number in YAML 1.1 and text in YAML 1.2",
                "write it in decimal for a number, or quote it (\"-0x1BB\") for text",
            ),
            (
                "0x1_BB",
                "`0x1_BB` is a hexadecimal number in YAML 1.1 and text in YAML 1.2",
                "write it in decimal for a number, or quote it (\"0x1_BB\") for text",
            ),
            (
                "100_000",
                "`100_000` is a number in YAML 1.1 and text in YAML 1.2",
                "drop the `_` for a number, or quote it (\"100_000\") for text",
            ),
            (
                "1:30",
                "`1:30` is a base-60 number in YAML 1.1 and text in YAML 1.2",
                "write it in decimal for a number, or quote it (\"1:30\") for text",
            ),
            (
                "190:20:30.15",
                "`190:20:30.15` is a base-60 number in YAML 1.1 and text in YAML 1.2",
                "write it in decimal for a number, or quote it (\"190:20:30.15\") for text",
            ),
        ] {
            let text = format!("odoo:\n  users: {value}\n");
            let p = parse_text(&text);
            let found = only(&text);
            assert_eq!(
                (
                    found.0,
                    found.1,
                    found.2,
                    found.3.as_str(),
                    found.4.as_str()
                ),
                ("BP0005", 2, 10, message, help),
                "{value}"
            );
            // Read as the text it is in YAML 1.2 or 1.1, so nothing else is reported.
            let root = p.root.expect("parsed");
            let users = root.get("odoo").and_then(|o| o.get("users")).expect("kept");
            assert_eq!(users.kind, NodeKind::Str(value.into()));
        }
    }

    #[test]
    fn numbers_both_yaml_versions_read_alike_are_accepted() {
        let p = parse_text(
            "a: 0x1BB\nb: 0o9\nc: 0x-5\nd: 12:60\ne: 1e3\nf: 0xFFFFFFFFFFFFFFFFFF\ng: 0\nh: -7\n",
        );
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let root = p.root.expect("parsed");
        let kind = |k: &str| root.get(k).map(|n| n.kind.clone()).expect("kept");
        let int = |value: i64, raw: &str| NodeKind::Int {
            value,
            raw: raw.into(),
        };
        assert_eq!(kind("a"), int(443, "0x1BB"));
        // Text in both versions: `0o` needs octal digits, hexadecimal has no sign inside, a
        // base-60 part stops at 59.
        assert_eq!(kind("b"), NodeKind::Str("0o9".into()));
        assert_eq!(kind("c"), NodeKind::Str("0x-5".into()));
        assert_eq!(kind("d"), NodeKind::Str("12:60".into()));
        assert_eq!(kind("e"), NodeKind::Float { raw: "1e3".into() });
        assert_eq!(
            kind("f"),
            NodeKind::Float {
                raw: "0xFFFFFFFFFFFFFFFFFF".into()
            }
        );
        assert_eq!(kind("g"), int(0, "0"));
        assert_eq!(kind("h"), int(-7, "-7"));
    }

    #[test]
    fn an_alias_is_refused_whether_or_not_its_anchor_exists() {
        for text in ["a: 1\nb: *nowhere\n", "a: [1, *nowhere]\n"] {
            let (code, line, column, message, _) = only(text);
            let alias = text.find('*').expect("written");
            assert_eq!(
                (code, (line, column)),
                ("BP0006", line_col(text, alias)),
                "{text}"
            );
            assert_eq!(
                message,
                "aliases (`*name`) are not allowed in plant and fleet files"
            );
        }
    }

    #[test]
    fn a_tab_in_indentation_is_reported_at_the_tab() {
        for text in [
            // After a plain value (the parser notices at that value), a quoted one, a key, a
            // list; a tab before spaces; a block scalar's content.
            "odoo:\n  image: registry/odoo\n\tusers: 60\n",
            "odoo:\n  image: \"registry/odoo\"\n\tusers: 60\n",
            "odoo:\n\tusers: 60\n",
            "odoo:\n  users: 1\n\t  modules: 60\n",
            "odoo:\n  modules:\n\t- sale\n",
            "odoo:\n  description: |\n\tsome text\n",
            "odoo:\n  users: 1\n  \tmodules: 60\n",
        ] {
            let (code, line, column, message, help) = only(text);
            let tab = text.find('\t').expect("written");
            assert_eq!(
                (code, (line, column)),
                ("BP0003", line_col(text, tab)),
                "{text:?}"
            );
            assert_eq!(message, "YAML syntax error: a tab used for indentation");
            assert!(help.contains("indent with spaces"), "{help}");
        }
        // Tabs on a blank line, or separating a value, are whitespace.
        let p = parse_text("odoo:\n  users: 1\n\t\n  modules:\n  -\tsale\n");
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    }

    #[test]
    fn a_key_without_a_space_after_its_colon_is_reported_at_the_key() {
        for text in [
            // The parser notices on the next key's line, or when the text runs on into it.
            "odoo:\n  version: \"18.0\"\n  users:60\n  modules: []\n",
            "odoo:\n  users:60\n  modules: []\n",
            "odoo:\n  version: \"18.0\"\n  # the peak\n\n  users:60\n  modules: []\n",
            "a: 1\nusers:60\nb: 2\n",
        ] {
            let (code, line, column, message, help) = only(text);
            let key = text.find("users:60").expect("written");
            assert_eq!(
                (code, (line, column)),
                ("BP0003", line_col(text, key)),
                "{text:?}"
            );
            assert_eq!(
                message,
                "YAML syntax error: no space after the colon in `users:60`"
            );
            assert_eq!(help, "write a space after the colon: `users: 60`");
        }
        let text = "odoo:\n  users: 1\n  modules\n  edition: community\n";
        let (code, line, column, message, _) = only(text);
        assert_eq!((code, line, column), ("BP0003", 3, 3));
        assert_eq!(
            message,
            "YAML syntax error: `modules` is neither `key: value` nor a list item"
        );
        // `: ` inside a plain value stays where the parser saw it, at the second colon.
        let text = "name: lyon\ndisplayName: Lyon: stamping\n";
        let (code, line, column, message, _) = only(text);
        assert_eq!((code, line, column), ("BP0003", 2, 18));
        assert!(
            message.contains("mapping values are not allowed"),
            "{message}"
        );
    }

    #[test]
    fn flow_nesting_is_reported_at_the_first_level_too_deep_whoever_noticed() {
        // The top-level mapping and `odoo` are levels 1 and 2, so the 23rd bracket is the 25th
        // level: blueprint's own count notices below the parser's limit (255 flow levels), the
        // text is read past it.
        for depth in [23, 30, 254, 255, 256, 10_000] {
            for (open, close) in [("[", "]"), ("{k: ", "}"), ("[{k: ", "}]")] {
                let text = format!(
                    "odoo:\n  users: {}1{}\n",
                    open.repeat(depth),
                    close.repeat(depth)
                );
                let level25 = text
                    .match_indices(['[', '{'])
                    .nth(22)
                    .map(|(i, _)| i)
                    .expect("written");
                let (code, line, column, message, _) = only(&text);
                assert_eq!(
                    (code, (line, column)),
                    ("BP0007", line_col(&text, level25)),
                    "{depth} {open}"
                );
                assert_eq!(message, "nesting deeper than 24 levels");
            }
        }
        // Brackets inside quoted text and comments are not levels.
        let text = format!(
            "odoo: # [[[[[[[[[[\n  users: [\"[[[[[[[[[[\", '{{{{{{{{{{', {}]\n",
            "[".repeat(10_000)
        );
        // `users: [` is level 3, so the 22nd bracket of the run after the quoted items is 25.
        let level25 = text.rfind("', ").expect("written") + 3 + 21;
        let (code, line, column, ..) = only(&text);
        assert_eq!((code, (line, column)), ("BP0007", line_col(&text, level25)));
        // Within the limit nothing is reported.
        let text = format!("odoo:\n  users: {}1{}\n", "[".repeat(22), "]".repeat(22));
        assert!(parse_text(&text).diagnostics.is_empty());
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
