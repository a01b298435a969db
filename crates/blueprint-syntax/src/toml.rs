//! TOML into the same [`Node`] tree as YAML, with spans; duplicate keys are reported as such.

use crate::node::{Key, Node, NodeKind};
use crate::{Limits, Parsed};
use blueprint_diagnostics::{Diagnostic, FileId, Span, codes};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

struct Converter<'a> {
    file: FileId,
    text: &'a str,
    limits: &'a Limits,
    nodes: usize,
    diagnostics: Vec<Diagnostic>,
}

impl Converter<'_> {
    fn span(&self, r: std::ops::Range<usize>) -> Span {
        Span::new(self.file, r.start, r.end)
    }

    /// The first character of a range (an opening `[` or `{`).
    fn first_char(&self, r: std::ops::Range<usize>) -> Span {
        crate::char_span(self.file, self.text, r.start)
    }

    /// Converts a value that, if it is an array or a table, is at nesting level `level` (the
    /// document's root table is level 1, as a YAML file's top-level mapping). `at` is where it
    /// was written: its own place when inline (`[…]`, `{…}`), else the key naming it in a table
    /// header or a dotted key (`inline` is false).
    fn value(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        level: usize,
        at: Span,
        inline: bool,
    ) -> Option<Node> {
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
        let container = matches!(v.get_ref(), DeValue::Array(_) | DeValue::Table(_));
        if container && level > self.limits.max_depth {
            self.diagnostics
                .push(crate::too_deep(at, self.limits.max_depth));
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
                    // The tables of an array of tables (`[[name]]`) are written at its key.
                    let item_at = if inline {
                        self.first_char(item.span())
                    } else {
                        at
                    };
                    out.push(self.value(item, level + 1, item_at, inline)?);
                }
                NodeKind::Seq(out)
            }
            DeValue::Table(t) => return self.table(t, span, level),
        };
        Some(Node { span, kind })
    }

    fn table(&mut self, t: &DeTable<'_>, span: Span, level: usize) -> Option<Node> {
        let mut entries = Vec::with_capacity(t.len());
        for (k, v) in t {
            let key = Key {
                name: k.get_ref().to_string(),
                span: self.span(k.span()),
            };
            // A value written after its key is inline; a table or an array of tables named
            // by a header or a dotted key spans from the header (before the key) or the key.
            let inline = v.span().start > k.span().start;
            let at = if inline {
                self.first_char(v.span())
            } else {
                key.span
            };
            let value = self.value(v, level + 1, at, inline)?;
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
        let mut too_deep_reported = false;
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
                // The parser's own limit (80 levels, some without a place): blueprint's is
                // lower, so the first level too deep is found in the text.
                if !too_deep_reported {
                    too_deep_reported = true;
                    let span = too_deep_at(text, limits.max_depth)
                        .map_or(span, |at| crate::char_span(file, text, at));
                    diagnostics.push(crate::too_deep(span, limits.max_depth));
                }
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
        text,
        limits,
        nodes: 0,
        diagnostics: Vec::new(),
    };
    let span = Span::new(file, 0, text.len());
    let root = c.table(doc.get_ref(), span, 1);
    Parsed {
        root,
        diagnostics: c.diagnostics,
    }
}

/// An inline array or table open while [`too_deep_at`] reads, with its level.
enum Open {
    Array(usize),
    Table(usize),
}

/// The first table or array of TOML `text` at a level past `max_depth` (the root table is
/// level 1): a key of a table header (`[a.b.c]`: `a` is level 2; the last key of `[[…]]` is an
/// array and the table in it), a dotted key's table (`a.b = 1` under a header of level L: `a`
/// is L + 1), or an inline array or table. Read lexically, without the tree the parser could not
/// build; a table reached through an earlier array of tables counts one level.
fn too_deep_at(text: &str, max_depth: usize) -> Option<usize> {
    walk(text.as_bytes(), max_depth).err()
}

/// [`too_deep_at`]'s reader: `Err` holds the place of the first level too deep.
fn walk(b: &[u8], max_depth: usize) -> Result<(), usize> {
    let mut i = 0;
    let mut table = 1;
    let mut open: Vec<Open> = Vec::new();
    while i < b.len() {
        let before = i;
        i = skip_space(b, i, true);
        let Some(&c) = b.get(i) else { break };
        match open.last() {
            None if c == b'[' => {
                let array = b.get(i + 1) == Some(&b'[');
                i += if array { 2 } else { 1 };
                let mut level = 1;
                loop {
                    i = skip_space(b, i, false);
                    let key = i;
                    i = skip_key(b, i);
                    level += 1;
                    i = skip_space(b, i, false);
                    let last = b.get(i) != Some(&b'.');
                    if last && array {
                        level += 1;
                    }
                    if level > max_depth {
                        return Err(key);
                    }
                    if last {
                        break;
                    }
                    i += 1;
                }
                table = level;
                i = skip_line(b, i);
            }
            None => {
                let (next, level) = key_path(b, i, table, max_depth)?;
                i = value(b, next, level, max_depth, &mut open)?;
                if open.is_empty() {
                    i = skip_line(b, i);
                }
            }
            Some(&Open::Array(level)) => match c {
                b']' => {
                    open.pop();
                    i += 1;
                }
                b',' => i += 1,
                _ => i = value(b, i, level + 1, max_depth, &mut open)?,
            },
            Some(&Open::Table(level)) => match c {
                b'}' => {
                    open.pop();
                    i += 1;
                }
                b',' => i += 1,
                _ => {
                    let (next, level) = key_path(b, i, level, max_depth)?;
                    i = value(b, next, level, max_depth, &mut open)?;
                }
            },
        }
        if open.is_empty() && before < i && matches!(b.get(i - 1), Some(b']' | b'}')) {
            i = skip_line(b, i);
        }
        if i == before {
            i += 1;
        }
    }
    Ok(())
}

/// Reads a dotted key at `i` whose first table would be at level `base` + 1, and the `=`
/// after it: where the value starts and the level it has if it is an array or a table.
fn key_path(
    b: &[u8],
    mut i: usize,
    base: usize,
    max_depth: usize,
) -> Result<(usize, usize), usize> {
    let mut level = base;
    loop {
        i = skip_space(b, i, false);
        let key = i;
        i = skip_key(b, i);
        i = skip_space(b, i, false);
        if b.get(i) != Some(&b'.') {
            break;
        }
        level += 1;
        if level > max_depth {
            return Err(key);
        }
        i += 1;
    }
    if b.get(i) == Some(&b'=') {
        i += 1;
    }
    Ok((i, level + 1))
}

/// Reads one value at `i` of nesting level `level`: a scalar is skipped, an inline array or
/// table is opened (pushed on `open`).
fn value(
    b: &[u8],
    i: usize,
    level: usize,
    max_depth: usize,
    open: &mut Vec<Open>,
) -> Result<usize, usize> {
    let i = skip_space(b, i, false);
    Ok(match b.get(i) {
        Some(b'[' | b'{') if level > max_depth => return Err(i),
        Some(b'[') => {
            open.push(Open::Array(level));
            i + 1
        }
        Some(b'{') => {
            open.push(Open::Table(level));
            i + 1
        }
        Some(b'"' | b'\'') => skip_string(b, i),
        _ => (i..b.len())
            .find(|&j| matches!(b[j], b',' | b']' | b'}' | b'\n' | b'\r' | b'#'))
            .unwrap_or(b.len()),
    })
}

/// Past spaces and tabs, and with `lines` also past line breaks and comments.
fn skip_space(b: &[u8], mut i: usize, lines: bool) -> usize {
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' => i += 1,
            b'\n' | b'\r' if lines => i += 1,
            b'#' if lines => i = skip_line(b, i),
            _ => break,
        }
    }
    i
}

/// Past the rest of the line (a comment, or what follows a header or a value).
fn skip_line(b: &[u8], i: usize) -> usize {
    (i..b.len())
        .find(|&j| b[j] == b'\n')
        .map_or(b.len(), |j| j + 1)
}

/// Past one key: quoted, or bare up to a space, `.`, `=` or `]`.
fn skip_key(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"' | b'\'') => skip_string(b, i),
        _ => (i..b.len())
            .find(|&j| {
                matches!(
                    b[j],
                    b' ' | b'\t' | b'.' | b'=' | b']' | b'\n' | b'\r' | b'#'
                )
            })
            .unwrap_or(b.len()),
    }
}

/// Past a string starting at `i` (`"…"`, `'…'`, or their multi-line forms `"""…"""`, `\'\'\'…\'\'\'`).
fn skip_string(b: &[u8], i: usize) -> usize {
    let quote = b[i];
    let multi = b.get(i..i + 3) == Some(&[quote; 3][..]);
    let mut j = i + if multi { 3 } else { 1 };
    while let Some(&c) = b.get(j) {
        if c == b'\\' && quote == b'"' {
            j += 2;
        } else if c == quote && (!multi || b.get(j..j + 3) == Some(&[quote; 3][..])) {
            // A multi-line string may end with up to two more quotes (`""""`).
            let mut end = j + if multi { 3 } else { 1 };
            while multi && b.get(end) == Some(&quote) && end < j + 5 {
                end += 1;
            }
            return end;
        } else if !multi && (c == b'\n' || c == b'\r') {
            return j;
        } else {
            j += 1;
        }
    }
    b.len()
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

    /// The one finding of `text`: code, line and column (from 1), message.
    fn only(text: &str) -> (&'static str, usize, usize, String) {
        let p = parse_text(text);
        assert!(p.root.is_none());
        assert_eq!(p.diagnostics.len(), 1, "{:?}", p.diagnostics);
        let d = &p.diagnostics[0];
        assert!(d.help.as_deref().unwrap_or("").contains("flatten"), "{d:?}");
        let at = d.primary.as_ref().expect("a place").span.start as usize;
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        (d.code.0, line, column, d.message.clone())
    }

    /// The column (from 1) of the `n`th (from 1) match of `what` on the last line of `text`.
    fn nth_column(text: &str, what: &str, n: usize) -> usize {
        let line = text.trim_end().rsplit('\n').next().unwrap_or_default();
        line.match_indices(what)
            .nth(n - 1)
            .map(|(i, _)| i + 1)
            .expect("written")
    }

    #[test]
    fn nesting_is_reported_at_the_first_level_too_deep_whoever_noticed() {
        // The root table is level 1 and `[odoo]` level 2, as a YAML file's top-level mapping
        // and `odoo:`: the 23rd bracket is level 25, below the parser's own limit (80) or past
        // it, where the level is found in the text.
        for depth in [23, 24, 30, 79, 80, 81, 300, 10_000] {
            let arrays = format!(
                "[odoo]\nusers = {}{}\n",
                "[".repeat(depth),
                "]".repeat(depth)
            );
            let tables = format!(
                "[odoo]\nusers = {}1{}\n",
                "{b = ".repeat(depth),
                "}".repeat(depth)
            );
            let mixed = format!(
                "[odoo]\nusers = {}1{}\n",
                "[{b = ".repeat(depth),
                "}]".repeat(depth)
            );
            for text in [arrays, tables, mixed] {
                // The 24th bracket of the file, `[odoo]`'s being the first.
                let at = text
                    .match_indices(['[', '{'])
                    .nth(23)
                    .map(|(i, _)| i)
                    .expect("written");
                let column = at - "[odoo]\n".len() + 1;
                let (code, line, col, message) = only(&text);
                assert_eq!(
                    (code, line, col),
                    ("BP0007", 2, column),
                    "{depth}: {text:.40}"
                );
                assert_eq!(message, "nesting deeper than 24 levels");
            }
        }
        // 22 levels under `[odoo]` are accepted.
        let text = format!("[odoo]\nusers = {}1{}\n", "[".repeat(22), "]".repeat(22));
        assert!(parse_text(&text).diagnostics.is_empty());
    }

    #[test]
    fn keys_of_a_table_header_or_a_dotted_key_are_levels() {
        for keys in [24, 30, 79, 80, 81, 10_000] {
            // `[a.….a]`: the first key is level 2, so the 24th is level 25.
            let text = format!("x = 1\n[{}]\n", vec!["a"; keys].join("."));
            assert_eq!(
                only(&text),
                (
                    "BP0007",
                    2,
                    nth_column(&text, "a", 24),
                    "nesting deeper than 24 levels".into()
                )
            );
            // `[[a.….a]]`: the last key is an array and a table, two levels.
            let text = format!("x = 1\n[[{}]]\n", vec!["a"; keys].join("."));
            assert_eq!(
                only(&text).1..=only(&text).2,
                2..=nth_column(&text, "a", 24)
            );
            // `a.….a = 1` under `[odoo]` (level 2): the first key is level 3.
            let text = format!("[odoo]\n{} = 1\n", vec!["a"; keys].join("."));
            assert_eq!(
                only(&text).1..=only(&text).2,
                2..=nth_column(&text, "a", 23)
            );
        }
        let text = format!("x = 1\n[[{}]]\n", vec!["a"; 23].join("."));
        assert_eq!(
            only(&text).1..=only(&text).2,
            2..=nth_column(&text, "a", 23)
        );
        for text in [
            format!("x = 1\n[{}]\n", vec!["a"; 23].join(".")),
            format!("[odoo]\n{} = 1\n", vec!["a"; 22].join(".")),
        ] {
            assert!(parse_text(&text).diagnostics.is_empty(), "{text}");
        }
    }

    #[test]
    fn the_text_read_for_levels_skips_strings_and_comments() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let text = format!(
            "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n\"q.[[[\" = \"[[[[{{{{\"\nm = \"\"\"\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n\"\"\"\nl = '[[[['\n[t.\"u.v\"]\nw = [1, [2], {{y = [3]}}, \"]]]\"] # ]]]]]\n[odoo]\nusers = {deep}\n"
        );
        assert_eq!(
            only(&text).1..=only(&text).2,
            10..=nth_column(&text, "[", 23)
        );
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
