//! Strict, bounded reading of plant and fleet files.
//!
//! 1. [`read_source`] checks the bytes (size, UTF-8, NUL, byte-order mark) and registers the
//!    text in the [`SourceMap`].
//! 2. [`parse`] turns YAML or TOML text into one spanned [`Node`] tree, refusing duplicate keys,
//!    YAML 1.1 look-alikes, anchors, aliases, tags, several documents, deep nesting and too
//!    many values (`BP0xxx`).
//! 3. [`decode`] reads a tree into the raw documents of [`doc`] (`PlantDoc`, `FleetDoc`):
//!    unknown keys (with the nearest known one), missing keys and wrong types are reported, all
//!    of them, each at its span.
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
    match format {
        Format::Yaml => yaml::parse(text, file, limits),
        Format::Toml => toml::parse(text, file, limits),
    }
}

/// Decodes a tree into a document type, collecting every finding.
pub fn decode<T: Decode>(node: &Node, diagnostics: &mut Vec<Diagnostic>) -> Option<T> {
    let mut cx = Cx::new();
    let out = T::decode(node, &mut cx);
    diagnostics.append(&mut cx.diagnostics);
    out
}
