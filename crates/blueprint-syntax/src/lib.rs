//! Strict, bounded reading of plant and fleet files.
//!
//! 1. [`read_source`] checks the bytes (size, UTF-8, NUL, byte-order mark, bare carriage
//!    returns, bidirectional controls) and registers the text in the [`SourceMap`].
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
    /// Deepest nesting of mappings and lists (tables and arrays), the top level being level 1
    /// in YAML and TOML alike.
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
        let (what, help) = if looks_like_utf16(bytes) {
            (
                "is not valid UTF-8: it looks like UTF-16",
                "save the file as UTF-8 without a byte-order mark, e.g. `iconv -f UTF-16 -t UTF-8`",
            )
        } else {
            (
                "is not valid UTF-8",
                "save the file as UTF-8 (without a byte-order mark)",
            )
        };
        diagnostics.push(not_text(e.valid_up_to(), what, help));
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
    if let Some(offset) = not_plain_text(bytes) {
        let c = text[offset..].chars().next().unwrap_or_default();
        let (what, help) = match c {
            '\0' if looks_like_utf16(bytes) => (
                "contains NUL bytes: it looks like UTF-16".to_string(),
                "save the file as UTF-8 without a byte-order mark, e.g. `iconv -f UTF-16 -t UTF-8`"
                    .to_string(),
            ),
            '\0' => (
                "contains a NUL byte".to_string(),
                "remove the NUL byte; plant files are plain text".to_string(),
            ),
            '\r' => (
                "has a bare carriage return (CR) line ending".to_string(),
                "save the file with LF (or CRLF) line endings: git diff, cat and TOML do not \
                 read a bare CR as a line break"
                    .to_string(),
            ),
            _ => (
                format!(
                    "contains the bidirectional control character U+{:04X} ({})",
                    u32::from(c),
                    bidi_name(c)
                ),
                format!(
                    "remove it: it reorders how the text around it is displayed, so a reviewer \
                     does not see what blueprint reads (Trojan Source, CVE-2021-42574); inside a \
                     quoted value, write it as the escape \"\\u{:04X}\"",
                    u32::from(c)
                ),
            ),
        };
        diagnostics.push(not_text(offset, &what, &help));
        return (id, false);
    }
    (id, true)
}

/// The first character of a file that may not appear in a plant or fleet file: a NUL, a
/// carriage return that does not start a CRLF pair (old Mac line endings: one line to git, `cat`
/// and TOML, several to YAML), or a bidirectional control character (Trojan Source), anywhere,
/// comments and quoted values included. Read as bytes (valid UTF-8): a 1 MiB file stays quick.
fn not_plain_text(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = bytes[from..]
        .iter()
        .position(|&b| matches!(b, 0 | b'\r' | 0xE2))
    {
        let at = from + i;
        let bad = match bytes[at] {
            0 => true,
            b'\r' => bytes.get(at + 1) != Some(&b'\n'),
            // U+202A..U+202E are E2 80 AA..AE, U+2066..U+2069 are E2 81 A6..A9.
            _ => matches!(
                bytes.get(at + 1..at + 3),
                Some([0x80, 0xAA..=0xAE] | [0x81, 0xA6..=0xA9])
            ),
        };
        if bad {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The name of a bidirectional control character: the embedding, override and isolate
/// controls of the Unicode bidirectional algorithm, the characters of CVE-2021-42574 (the set
/// rustc refuses in source and comments).
fn bidi_name(c: char) -> &'static str {
    match c {
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        _ => "POP DIRECTIONAL ISOLATE",
    }
}

/// Whether bytes that are not plain UTF-8 look like UTF-16: a UTF-16 byte-order mark (`FF FE`
/// or `FE FF`), or NUL bytes in a quarter or more of the first 1024 bytes (the high or low
/// half of every ASCII character).
fn looks_like_utf16(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let head = &bytes[..bytes.len().min(1024)];
    head.len() >= 2 && head.iter().filter(|&&b| b == 0).count() * 4 >= head.len()
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

/// The finding for a mapping, list or table nested deeper than `max_depth` levels (the
/// document's top level is level 1), at the first one too deep: the same in YAML and TOML,
/// whether blueprint's limit or the parser's own (far larger) one noticed it first.
fn too_deep(span: Span, max_depth: usize) -> Diagnostic {
    Diagnostic::new(
        codes::TOO_DEEP_OR_LARGE,
        format!("nesting deeper than {max_depth} levels"),
    )
    .at(span, "too deep")
    .help("plant and fleet files need only a few levels; flatten this value")
}

/// The span of the character at byte `offset` of `text` (empty at the end of the text).
fn char_span(file: FileId, text: &str, offset: usize) -> Span {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let len = text[offset..].chars().next().map_or(0, char::len_utf8);
    Span::new(file, offset, offset + len)
}

/// Whether a parser's error message is about its own nesting (recursion) limit. Matching the
/// text is the only signal: neither `saphyr-parser` ("recursion limit exceeded") nor `toml`
/// ("cannot recurse further; max recursion depth met", and "recursion limit" for a long dotted
/// key) gives the error a kind.
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

    /// A finding as (code, line, column, message, help).
    type Found = (String, u32, u32, String, String);

    /// Whether `bytes`, read as the file `path`, may be parsed, and the findings.
    fn read(path: &str, bytes: &[u8]) -> (bool, Vec<Found>) {
        let mut map = SourceMap::new();
        let mut diags = Vec::new();
        let (id, ok) = read_source(&mut map, path, bytes, &mut diags);
        let found = diags
            .iter()
            .map(|d| {
                let at = d.primary.as_ref().expect("a place").span.start;
                let lc = map.file(id).line_col(at);
                (
                    d.code.0.to_string(),
                    lc.line,
                    lc.column,
                    d.message.clone(),
                    d.help.clone().unwrap_or_default(),
                )
            })
            .collect();
        (ok, found)
    }

    #[test]
    fn a_bare_carriage_return_is_refused_at_the_first_one_and_crlf_is_accepted() {
        for path in ["plants/x.yaml", "plants/x.toml"] {
            let (ok, found) = read(path, b"a: 1\r\nb: 2\rc: 3\r");
            assert!(!ok);
            assert_eq!(found.len(), 1, "{found:?}");
            let (code, line, column, message, help) = &found[0];
            assert_eq!((code.as_str(), *line, *column), ("BP0002", 2, 5));
            assert_eq!(
                message,
                &format!("{path} has a bare carriage return (CR) line ending")
            );
            assert!(help.contains("LF"), "{help}");
            // At the very end too, and CRLF (and a CR before a CRLF's CR) as written.
            assert_eq!(read(path, b"a: 1\r").1[0].2, 5);
            assert_eq!(read(path, b"a: 1\r\r\n").1[0].2, 5);
            assert_eq!(read(path, b"a: 1\r\nb: 2\r\n"), (true, Vec::new()));
        }
    }

    #[test]
    fn bidi_controls_are_refused_anywhere_and_their_escapes_are_text() {
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            for text in [
                format!("tier: standard  # {c}critical\n"),
                format!("name: \"ly{c}on\"\n"),
                format!("na{c}me = \"lyon\"\n"),
            ] {
                let (ok, found) = read("plants/x.yaml", text.as_bytes());
                assert!(!ok, "{text:?}");
                let (code, line, column, message, help) = &found[0];
                let column_of_c = text.chars().position(|x| x == c).expect("written") + 1;
                assert_eq!(
                    (code.as_str(), *line, *column as usize),
                    ("BP0002", 1, column_of_c)
                );
                assert!(
                    message.contains(&format!(
                        "contains the bidirectional control character U+{:04X} (",
                        u32::from(c)
                    )),
                    "{message}"
                );
                assert!(help.contains("CVE-2021-42574"), "{help}");
            }
        }
        assert_eq!(
            read("plants/x.yaml", "a: 1 # \u{202E}\n".as_bytes()).1[0].3,
            "plants/x.yaml contains the bidirectional control character U+202E (RIGHT-TO-LEFT OVERRIDE)"
        );
        // Escapes are ASCII; neighbouring characters, zero-width ones and right-to-left text
        // are left to the rules of the values they are in.
        for text in [
            "name: \"\\u202E\"\n",
            "a: \"\u{2029}\u{202F}\u{2065}\u{206A}\u{200B}\u{200F}\"\n",
            "displayName: \"ליון\"\n",
        ] {
            assert_eq!(
                read("plants/x.yaml", text.as_bytes()),
                (true, Vec::new()),
                "{text}"
            );
        }
    }

    #[test]
    fn the_first_character_that_is_not_plain_text_is_the_one_reported() {
        let (_, found) = read("plants/x.yaml", "a: 1 # \u{2066}\rb: \0\n".as_bytes());
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].1, found[0].2), (1, 8));
        let (_, found) = read("plants/x.yaml", b"a: \0 # \r");
        assert_eq!(found[0].3, "plants/x.yaml contains a NUL byte");
    }

    #[test]
    fn a_utf16_file_is_said_to_look_like_utf16() {
        let text = "apiVersion: blueprint/v1\nkind: Plant\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        for (bytes, what) in [
            (
                [&[0xFF, 0xFE][..], &le].concat(),
                "is not valid UTF-8: it looks like UTF-16",
            ),
            (
                [&[0xFE, 0xFF][..], &be].concat(),
                "is not valid UTF-8: it looks like UTF-16",
            ),
            (le.clone(), "contains NUL bytes: it looks like UTF-16"),
            (be, "contains NUL bytes: it looks like UTF-16"),
        ] {
            let (ok, found) = read("plants/x.yaml", &bytes);
            assert!(!ok);
            let (code, line, column, message, help) = &found[0];
            assert_eq!(code, "BP0002");
            assert_eq!(message, &format!("plants/x.yaml {what}"));
            assert!(help.contains("iconv -f UTF-16 -t UTF-8"), "{help}");
            assert!(*line == 1 && *column <= 2, "{found:?}");
        }
        // Latin-1 and a stray NUL are not UTF-16.
        let (_, found) = read("plants/x.yaml", b"name: caf\xE9\n");
        assert_eq!(found[0].3, "plants/x.yaml is not valid UTF-8");
        assert_eq!(
            found[0].4,
            "save the file as UTF-8 (without a byte-order mark)"
        );
        let (_, found) = read("plants/x.yaml", b"apiVersion: blue\0print/v1\n");
        assert_eq!(found[0].3, "plants/x.yaml contains a NUL byte");
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
