//! Strict, bounded reading of plant and fleet files.
//!
//! 1. [`read_source`] checks the bytes (size, UTF-8, NUL, byte-order mark) and registers the
//!    text in the [`SourceMap`].
//! 2. [`parse`] turns YAML or TOML text into one spanned [`Node`] tree, refusing duplicate keys,
//!    YAML 1.1 look-alikes, anchors, aliases, tags, several documents, deep nesting and too
//!    many values (`BP0xxx`).
//! 3. [`decode()`] reads a tree into the raw documents of [`doc`] (`PlantDoc`, `FleetDoc`):
//!    unknown keys (with the nearest known one), missing keys and wrong types are reported, all
//!    of them, each at its span; a document of the other kind (a fleet file among the plants)
//!    gets one finding saying where it belongs. Parsing and decoding each report at most
//!    [`MAX_FINDINGS_PER_FILE`] findings per file, then one saying the rest were left out.
//! 4. [`schema`] derives the JSON Schemas of plant and fleet files from the same types.
//!
//! Types mirror the file: no defaults and no meaning live here. This crate is handed bytes;
//! it never opens files.

pub mod decode;
pub mod doc;
mod node;
pub mod schema;
mod toml;
mod yaml;

pub use decode::{Cx, Decode, NamedMap, Spanned};
pub use node::{Key, Node, NodeKind};

use blueprint_diagnostics::{Diagnostic, FileId, SourceMap, Span, codes};

/// Largest input file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Most findings [`parse`] or [`decode()`] reports for one file; one more finding says the rest
/// were left out, so a file of garbage yields a readable report, not thousands of lines.
pub const MAX_FINDINGS_PER_FILE: usize = 100;

/// Bounds on what one file may contain.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of mappings and lists.
    pub max_depth: usize,
    /// Most values (nodes) in one file.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 24,
            max_nodes: 20_000,
        }
    }
}

/// The two input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `*.yaml`, `*.yml`.
    Yaml,
    /// `*.toml`.
    Toml,
}

impl Format {
    /// The format of a file name, if it is an input file.
    #[must_use]
    pub fn of_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Format::Yaml)
        } else if lower.ends_with(".toml") {
            Some(Format::Toml)
        } else {
            None
        }
    }
}

/// A parsed tree (absent when the file could not be read) and the findings of parsing it.
#[derive(Debug)]
pub struct Parsed {
    /// The document's root.
    pub root: Option<Node>,
    /// Findings.
    pub diagnostics: Vec<Diagnostic>,
}

/// Registers `bytes` under `path` and checks that they are a plain UTF-8 text file of
/// acceptable size. Returns the file id and whether the text may be parsed.
pub fn read_source(
    map: &mut SourceMap,
    path: &str,
    bytes: &[u8],
    diagnostics: &mut Vec<Diagnostic>,
) -> (FileId, bool) {
    if bytes.len() > MAX_FILE_BYTES {
        let id = map.add(path, String::new());
        diagnostics.push(
            Diagnostic::new(
                codes::FILE_TOO_LARGE,
                format!("{path} is larger than 1 MiB, the limit for input files"),
            )
            .at(Span::new(id, 0, 0), "file refused before parsing")
            .help("a plant file is a few kilobytes: split this file or remove generated content"),
        );
        return (id, false);
    }
    let text = String::from_utf8_lossy(bytes).into_owned();
    let id = map.add(path, text);
    let text = &map.file(id).text;
    let not_text = |offset: usize, what: &str, help: &str| {
        // The span covers the whole character at `offset` of the (lossy) text.
        let end = (offset + 1..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        Diagnostic::new(codes::NOT_UTF8_TEXT, format!("{path} {what}"))
            .at(Span::new(id, offset, end), "here")
            .help(help.to_string())
    };
    if let Err(e) = std::str::from_utf8(bytes) {
        diagnostics.push(not_text(
            e.valid_up_to(),
            "is not valid UTF-8",
            "save the file as UTF-8 (without a byte-order mark)",
        ));
        return (id, false);
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        diagnostics.push(not_text(
            0,
            "starts with a byte-order mark",
            "save the file as UTF-8 without a byte-order mark",
        ));
        return (id, false);
    }
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        diagnostics.push(not_text(
            nul,
            "contains a NUL byte",
            "remove the NUL byte; plant files are plain text",
        ));
        return (id, false);
    }
    (id, true)
}

/// Parses a registered file's text.
#[must_use]
pub fn parse(map: &SourceMap, file: FileId, format: Format, limits: &Limits) -> Parsed {
    let text = &map.file(file).text;
    let mut parsed = match format {
        Format::Yaml => yaml::parse(text, file, limits),
        Format::Toml => toml::parse(text, file, limits),
    };
    cap_findings(&mut parsed.diagnostics, file);
    parsed
}

/// Decodes a tree into a document type, collecting every finding (at most
/// [`MAX_FINDINGS_PER_FILE`]). A top-level document of another known kind (a fleet file where a
/// plant is expected, or the converse) gets one finding saying where it belongs, and is not read.
pub fn decode<T: Decode>(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<T> {
    let mut cx = Cx::new();
    let out = match T::KIND.and_then(|kind| doc::misplaced_kind(node, kind)) {
        Some(d) => {
            cx.report(d);
            None
        }
        None => T::decode(node, &mut cx),
    };
    cap_findings(&mut cx.diagnostics, node.span.file);
    diagnostics.append(&mut cx.diagnostics);
    out
}

/// Keeps the first [`MAX_FINDINGS_PER_FILE`] findings of one file and, when there were more,
/// adds one finding at the start of `file` saying so. The same finding whichever decoding of the
/// file cut, so repeated decodings (one per environment) deduplicate to one.
fn cap_findings(findings: &mut Vec<Diagnostic>, file: FileId) {
    if findings.len() <= MAX_FINDINGS_PER_FILE {
        return;
    }
    findings.truncate(MAX_FINDINGS_PER_FILE);
    findings.push(
        Diagnostic::new(
            codes::TOO_DEEP_OR_LARGE,
            format!(
                "more than {MAX_FINDINGS_PER_FILE} problems in this file; the rest are not shown"
            ),
        )
        .at(Span::new(file, 0, 0), "in this file")
        .help("fix the problems shown and check again; the next ones are then reported"),
    );
}

/// Whether a parser's error message is about its own nesting (recursion) limit. Matching the
/// text is the only signal: neither `saphyr-parser` ("recursion limit exceeded") nor `toml`
/// ("cannot recurse further; max recursion depth met") gives the error a kind.
fn is_nesting_limit(message: &str) -> bool {
    message.contains("recurs") || message.contains("depth")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{FleetDoc, PlantDoc};

    /// Parses `text` as the file `path`, with room for `max_nodes` values.
    fn parse_text(path: &str, text: &str, max_nodes: usize) -> Parsed {
        let mut map = SourceMap::new();
        let id = map.add(path, text.to_string());
        let format = Format::of_path(path).expect("an input file name");
        let limits = Limits {
            max_nodes,
            ..Limits::default()
        };
        parse(&map, id, format, &limits)
    }

    fn is_cap(d: &Diagnostic) -> bool {
        d.code == codes::TOO_DEEP_OR_LARGE
            && d.message == "more than 100 problems in this file; the rest are not shown"
            && d.primary.as_ref().map(|l| (l.span.start, l.span.end)) == Some((0, 0))
            && d.help.is_some()
    }

    #[test]
    fn both_parsers_nesting_limit_messages_are_recognised() {
        assert!(is_nesting_limit("recursion limit exceeded"));
        assert!(is_nesting_limit(
            "cannot recurse further; max recursion depth met"
        ));
        assert!(!is_nesting_limit("invalid string, expected `\"`"));
    }

    #[test]
    fn parsing_stops_reporting_after_one_hundred_problems_and_says_so() {
        let text: String = (0..300).map(|i| format!("k{i}: yes\n")).collect();
        let p = parse_text("plants/x.yaml", &text, Limits::default().max_nodes);
        assert_eq!(p.diagnostics.len(), MAX_FINDINGS_PER_FILE + 1);
        assert!(
            p.diagnostics[..MAX_FINDINGS_PER_FILE]
                .iter()
                .all(|d| d.code == codes::YAML11_BOOLEAN)
        );
        assert!(is_cap(&p.diagnostics[MAX_FINDINGS_PER_FILE]));
    }

    #[test]
    fn a_file_with_exactly_one_hundred_problems_shows_them_all() {
        let text: String = (0..100).map(|i| format!("k{i}: yes\n")).collect();
        let p = parse_text("plants/x.yaml", &text, Limits::default().max_nodes);
        assert_eq!(p.diagnostics.len(), MAX_FINDINGS_PER_FILE);
        assert!(!p.diagnostics.iter().any(is_cap));
    }

    #[test]
    fn ten_thousand_unknown_keys_give_one_hundred_findings_and_one_saying_so() {
        let text: String = (0..10_000).map(|i| format!("unknown{i}: 1\n")).collect();
        let p = parse_text("plants/x.yaml", &text, 100_000);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let root = p.root.expect("parsed");
        let mut first = Vec::new();
        assert!(decode::<PlantDoc>(&root, &mut first).is_some());
        assert_eq!(first.len(), MAX_FINDINGS_PER_FILE + 1);
        assert!(
            first[..MAX_FINDINGS_PER_FILE]
                .iter()
                .all(|d| d.code == codes::UNKNOWN_KEY)
        );
        assert!(is_cap(&first[MAX_FINDINGS_PER_FILE]));
        // Decoding again (once per environment) yields the same findings, so they deduplicate.
        let mut again = Vec::new();
        let _ = decode::<PlantDoc>(&root, &mut again);
        assert_eq!(first, again);
    }

    #[test]
    fn a_fleet_file_among_the_plants_gets_one_finding_saying_where_it_belongs() {
        let text = "apiVersion = \"blueprint/v1\"\nkind = \"Fleet\"\n\n[organization]\nname = \"acme\"\n\n[cloud]\nprovider = \"aws\"\n";
        let p = parse_text("plants/lyon/fleet.toml", text, Limits::default().max_nodes);
        let root = p.root.expect("parsed");
        let mut diags = Vec::new();
        assert!(decode::<PlantDoc>(&root, &mut diags).is_none());
        assert_eq!(diags.len(), 1, "{diags:?}");
        let d = &diags[0];
        assert_eq!(d.code, codes::UNSUPPORTED_VERSION);
        assert_eq!(d.message, "`kind` must be `Plant` here, found `Fleet`");
        assert_eq!(
            d.help.as_deref(),
            Some(
                "a fleet.toml belongs directly in the plants directory (DIR/fleet.toml), not in a subdirectory"
            )
        );
        let kind_at = text.find("\"Fleet\"").expect("written");
        assert_eq!(
            d.primary.as_ref().map(|l| l.span.start as usize),
            Some(kind_at)
        );
    }

    #[test]
    fn a_plant_in_the_fleet_files_place_gets_one_finding_saying_where_it_belongs() {
        let text =
            "apiVersion = \"blueprint/v1\"\nkind = \"Plant\"\nname = \"lyon\"\ntier = \"basic\"\n";
        let p = parse_text("plants/fleet.toml", text, Limits::default().max_nodes);
        let root = p.root.expect("parsed");
        let mut diags = Vec::new();
        assert!(decode::<FleetDoc>(&root, &mut diags).is_none());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].code, codes::UNSUPPORTED_VERSION);
        assert_eq!(
            diags[0].message,
            "`kind` must be `Fleet` here, found `Plant`"
        );
        assert!(
            diags[0]
                .help
                .as_deref()
                .is_some_and(|h| h.contains("not as DIR/fleet.toml")),
            "{:?}",
            diags[0]
        );
    }

    #[test]
    fn an_unknown_kind_is_decoded_as_usual_with_a_suggestion() {
        let p = parse_text(
            "plants/x.yaml",
            "apiVersion: blueprint/v1\nkind: Plnat\nname: x\nsurprise: 1\n",
            Limits::default().max_nodes,
        );
        let root = p.root.expect("parsed");
        let mut diags = Vec::new();
        let _ = decode::<PlantDoc>(&root, &mut diags);
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [codes::UNKNOWN_KEY, codes::UNSUPPORTED_VERSION]);
        assert_eq!(diags[1].help.as_deref(), Some("did you mean `Plant`?"));
    }
}
