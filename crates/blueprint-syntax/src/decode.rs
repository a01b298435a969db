//! Typed decoding of a [`Node`] tree: every problem of a file is collected, each at its span.
//!
//! Records and choices are declared with [`record!`](crate::record) and
//! [`choice!`](crate::choice), which also derive their JSON Schema, so the schema and the
//! decoder share one list of keys.

use crate::MAX_FINDINGS_PER_FILE;
use crate::node::{Key, Node, NodeKind};
use blueprint_diagnostics::{Diagnostic, Span, codes};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

/// Longest list accepted anywhere in a plant or fleet file.
pub const MAX_LIST: usize = 256;

/// A value and the span it was written at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

/// A mapping from names the user chooses (environments, regions, clusters) to values.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMap<T>(pub Vec<(Key, T)>);

impl<T> Default for NamedMap<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> NamedMap<T> {
    /// The value under `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
    }

    /// The key entry under `name`.
    #[must_use]
    pub fn key(&self, name: &str) -> Option<&Key> {
        self.0.iter().find(|(k, _)| k.name == name).map(|(k, _)| k)
    }

    /// Entries in source order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &T)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<T: JsonSchema> JsonSchema for NamedMap<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let inner = generator.subschema_for::<T>();
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" },
            "additionalProperties": inner,
        })
    }
}

/// Decoding context: collects findings and knows where in the document it is.
#[derive(Debug, Default)]
pub struct Cx {
    /// Findings so far.
    pub diagnostics: Vec<Diagnostic>,
    path: Vec<(String, Span)>,
    /// The range the whole-number key being decoded accepts, when its record declares one.
    range: Option<(u32, u32)>,
}

/// A type that can be read from a [`Node`].
pub trait Decode: Sized {
    /// Reads the value, reporting problems to `cx`; `None` when it could not be read.
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self>;

    /// The value when the key is absent: `None` means the key is required.
    fn absent() -> Option<Self> {
        None
    }

    /// For a top-level document, the `kind` it declares (`Plant`, `Fleet`): [`decode`] refuses
    /// a document of another known kind before reading it. Set by `record!`'s `[kind = …]`.
    ///
    /// [`decode`]: crate::decode()
    const KIND: Option<&'static str> = None;
}

impl Cx {
    /// A fresh context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The dotted path of the value being decoded (`recovery.rpo`).
    #[must_use]
    pub fn path(&self) -> String {
        let mut out = String::new();
        for (k, _) in &self.path {
            if !out.is_empty() && !k.starts_with('[') {
                out.push('.');
            }
            out.push_str(k);
        }
        out
    }

    fn here(&self) -> String {
        let p = self.path();
        if p.is_empty() {
            "the top level".into()
        } else {
            format!("`{p}`")
        }
    }

    /// Reports a finding. Past [`MAX_FINDINGS_PER_FILE`] findings they are dropped (one more is
    /// kept, so [`decode`](crate::decode()) knows to say that some were left out).
    pub fn report(&mut self, d: Diagnostic) {
        if !self.is_full() {
            self.diagnostics.push(d);
        }
    }

    /// Whether further findings would be dropped, so building them can be skipped.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.diagnostics.len() > MAX_FINDINGS_PER_FILE
    }

    /// Reports a value of the wrong type.
    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        let (label, help) = match &node.kind {
            NodeKind::Int { raw, .. } | NodeKind::Float { raw }
                if expected.contains("text") || expected.contains("one of") =>
            {
                (
                    "a number, not text".to_string(),
                    format!(
                        "write it in quotes: \"{raw}\" (an unquoted {raw} is read as a number)"
                    ),
                )
            }
            NodeKind::Bool(b) if expected.contains("text") || expected.contains("one of") => (
                "a boolean, not text".to_string(),
                format!("write it in quotes: \"{b}\""),
            ),
            NodeKind::Str(s) if expected.contains("number") && s.trim().parse::<f64>().is_ok() => (
                "text, not a number".to_string(),
                format!("remove the quotes: {s}"),
            ),
            _ => ("wrong type".to_string(), format!("write {expected} here")),
        };
        let msg = format!(
            "{} must be {expected}, found {}",
            self.here(),
            node.describe()
        );
        self.report(
            Diagnostic::new(codes::WRONG_TYPE, msg)
                .at(node.span, label)
                .help(help),
        );
    }

    /// The entries of a mapping, or a wrong-type finding.
    pub fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        if let Some(m) = node.as_map() {
            return Some(m);
        }
        self.wrong_type(node, &format!("a mapping ({what})"));
        None
    }

    /// Reports every key of `entries` that is not in `known`, suggesting the nearest.
    pub fn unknown_keys(&mut self, entries: &[(Key, Node)], known: &[&str], what: &str) {
        for (k, _) in entries {
            if known.contains(&k.name.as_str()) {
                continue;
            }
            if self.is_full() {
                return;
            }
            let mut d = Diagnostic::new(
                codes::UNKNOWN_KEY,
                format!(
                    "unknown key `{}` in {}",
                    blueprint_diagnostics::shorten(&k.name, 60),
                    if self.path.is_empty() {
                        what.to_string()
                    } else {
                        self.here()
                    }
                ),
            )
            .at(k.span, "not a known key");
            d = match suggest(&k.name, known) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("known keys here: {}", known.join(", "))),
            };
            self.report(d);
        }
    }

    /// Decodes the value under `key` of the mapping `node`, or reports it missing.
    /// `known` are the record's keys: a missing key that an unknown key misspells (`pitr_window`
    /// for `pitrWindow`) is not reported again, the unknown key's finding already names it.
    pub fn field<T: Decode>(&mut self, node: &Node, key: &str, known: &[&str]) -> Option<T> {
        self.field_in(node, key, known, None)
    }

    /// [`field`](Self::field) for a whole-number key that accepts only `range` (`odoo.users`
    /// 1–100000): a number too large for any key is reported with the key's own range. The
    /// range itself is checked where the value is used.
    pub fn field_in<T: Decode>(
        &mut self,
        node: &Node,
        key: &str,
        known: &[&str],
        range: Option<(u32, u32)>,
    ) -> Option<T> {
        let entries = node.as_map()?;
        match entries.iter().find(|(k, _)| k.name == key) {
            Some((k, v)) => {
                self.path.push((k.name.clone(), k.span));
                let outer = std::mem::replace(&mut self.range, range);
                let out = T::decode(v, self);
                self.range = outer;
                self.path.pop();
                out
            }
            None => {
                let absent = T::absent();
                if absent.is_none() && !misspelt(entries, key, known) {
                    let (at, label) = match self.path.last() {
                        Some((name, span)) => (*span, format!("`{name}` has no `{key}`")),
                        None => (
                            Span {
                                end: node.span.start,
                                ..node.span
                            },
                            "in this file".to_string(),
                        ),
                    };
                    let full = if self.path.is_empty() {
                        key.to_string()
                    } else {
                        format!("{}.{key}", self.path())
                    };
                    self.report(
                        Diagnostic::new(
                            codes::MISSING_KEY,
                            format!("missing required key `{full}`"),
                        )
                        .at(at, label)
                        .help(format!(
                            "add `{key}`; `blueprint schema` lists every key and its type"
                        )),
                    );
                }
                absent
            }
        }
    }

    /// Runs `f` with `name` pushed on the path (for list items and map entries).
    pub fn within<R>(&mut self, name: String, span: Span, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push((name, span));
        let out = f(self);
        self.path.pop();
        out
    }
}

fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a key of `entries` that is not among `known` is a misspelling of `key` (its nearest
/// known key): then `key` is not missing, it is misspelt, and the unknown-key finding says so.
#[must_use]
pub fn misspelt(entries: &[(Key, Node)], key: &str, known: &[&str]) -> bool {
    entries
        .iter()
        .any(|(k, _)| !known.contains(&k.name.as_str()) && suggest(&k.name, known) == Some(key))
}

/// The known key nearest to `name`, if one is close enough to be a likely typo.
#[must_use]
pub fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let n = normalise(name);
    if let Some(exact) = known.iter().find(|k| normalise(k) == n) {
        return Some(exact);
    }
    known
        .iter()
        .map(|k| (strsim::levenshtein(&n, &normalise(k)), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min()
        .map(|(_, k)| k)
}

impl<T: Decode> Decode for Option<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(Some)
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: Decode> Decode for Spanned<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(|value| Spanned {
            value,
            span: node.span,
        })
    }
}

impl Decode for String {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if let Some(s) = node.as_str() {
            // Text reaches terminals, labels and generated files: control characters (ESC,
            // BEL, CR…) are refused; line breaks and tabs are text.
            if let Some(c) = s
                .chars()
                .find(|c| c.is_control() && *c != '\n' && *c != '\t')
            {
                let msg = format!(
                    "{} contains the control character U+{:04X}",
                    cx.here(),
                    u32::from(c)
                );
                cx.report(
                    Diagnostic::new(codes::WRONG_TYPE, msg)
                        .at(node.span, "control character")
                        .help("remove it; plant files hold plain text"),
                );
                return None;
            }
            return Some(s.to_string());
        }
        cx.wrong_type(node, "text");
        None
    }
}

impl Decode for bool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if let NodeKind::Bool(b) = node.kind {
            return Some(b);
        }
        cx.wrong_type(node, "`true` or `false`");
        None
    }
}

impl Decode for u32 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let raw = match &node.kind {
            NodeKind::Int { value, raw } => match u32::try_from(*value) {
                Ok(v) => return Some(v),
                Err(_) => raw,
            },
            // An integer too large for i64 is read as a float: still a whole number.
            NodeKind::Float { raw } if is_whole_number(raw) => raw,
            _ => {
                cx.wrong_type(node, "a whole number");
                return None;
            }
        };
        let (msg, help) = match cx.range {
            Some((min, max)) => (
                format!("{} must be from {min} to {max}, found {raw}", cx.here()),
                format!("use a number from {min} to {max}"),
            ),
            None => (
                format!(
                    "{} must be a whole number from 0 to {}, found {raw}",
                    cx.here(),
                    u32::MAX
                ),
                if raw.starts_with('-') {
                    "use a number of 0 or more".to_string()
                } else {
                    format!("use a number of at most {}", u32::MAX)
                },
            ),
        };
        cx.report(
            Diagnostic::new(codes::OUT_OF_RANGE, msg)
                .at(node.span, "out of range")
                .help(help),
        );
        None
    }
}

/// Whether a number as written (YAML or TOML) is an integer: digits with an optional sign,
/// `_` separators, or a `0x`/`0o`/`0b` prefix; not `1.5`, `1e3` or `inf`.
fn is_whole_number(raw: &str) -> bool {
    let body: String = raw.chars().filter(|c| *c != '_').collect();
    let body = body.strip_prefix(['-', '+']).unwrap_or(&body);
    let (digits, radix) = if let Some(d) = body.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = body.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = body.strip_prefix("0b") {
        (d, 2)
    } else {
        (body, 10)
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let NodeKind::Seq(items) = &node.kind else {
            cx.wrong_type(node, "a list");
            return None;
        };
        if items.len() > MAX_LIST {
            let msg = format!(
                "{} has {} entries; at most {MAX_LIST} are accepted",
                cx.here(),
                items.len()
            );
            cx.report(
                Diagnostic::new(codes::TOO_DEEP_OR_LARGE, msg)
                    .at(node.span, "list too long")
                    .help("split the plant, or group entries (one integration may list several peers)"),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let name = format!("[{i}]");
            match cx.within(name, item.span, |cx| T::decode(item, cx)) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

impl<T: Decode> Decode for NamedMap<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let entries = cx.map(node, "names to settings")?;
        let mut out = Vec::with_capacity(entries.len());
        let mut ok = true;
        for (k, v) in entries {
            match cx.within(k.name.clone(), k.span, |cx| T::decode(v, cx)) {
                Some(value) => out.push((k.clone(), value)),
                None => ok = false,
            }
        }
        ok.then_some(NamedMap(out))
    }
}

/// Reports a value outside a fixed set, suggesting the nearest choice.
pub fn invalid_choice(
    cx: &mut Cx,
    node: &Node,
    given: &str,
    choices: &[&str],
    code: blueprint_diagnostics::Code,
) {
    let list = choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let msg = format!(
        "{} must be one of {list}, found `{}`",
        cx.here(),
        blueprint_diagnostics::shorten(given, 60)
    );
    let help = match suggest(given, choices) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("use one of {list}"),
    };
    cx.report(
        Diagnostic::new(code, msg)
            .at(node.span, "not an allowed value")
            .help(help),
    );
}

/// Declares an enum read from one of a fixed set of strings.
#[macro_export]
macro_rules! choice {
    ($(#[$m:meta])* pub enum $name:ident $([code = $code:expr])? { $( $(#[$vm:meta])* $variant:ident = $text:literal ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, schemars::JsonSchema)]
        pub enum $name {
            $( $(#[$vm])* #[doc = concat!("`", $text, "`")] #[serde(rename = $text)] $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The texts of every value.
            pub const TEXTS: &'static [&'static str] = &[$($text),*];

            /// The text of this value as written in files.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::decode::Decode for $name {
            fn decode(node: &$crate::Node, cx: &mut $crate::decode::Cx) -> Option<Self> {
                let Some(s) = node.as_str() else {
                    let list = Self::TEXTS.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
                    cx.wrong_type(node, &format!("one of {list}"));
                    return None;
                };
                match s {
                    $( $text => Some($name::$variant), )*
                    other => {
                        #[allow(unused_mut, unused_assignments)]
                        let mut code = blueprint_diagnostics::codes::INVALID_CHOICE;
                        $( code = $code; )?
                        $crate::decode::invalid_choice(cx, node, other, Self::TEXTS, code);
                        None
                    }
                }
            }
        }
    };
}

/// Declares a record read from a mapping with exactly the listed keys. A top-level document
/// names its `kind` (`[kind = "Plant"]`), see [`Decode::KIND`]. A whole-number key may declare
/// the range it accepts (`=> "users" in 1..=100000`): it is in the JSON Schema, and a number
/// too large for any key is reported with it (see [`Cx::field_in`]).
#[macro_export]
macro_rules! record {
    (@range) => { None };
    (@range $min:literal, $max:literal) => { Some(($min, $max)) };
    ($(#[$m:meta])* pub struct $name:ident ($what:literal) $([kind = $kind:literal])? { $( $(#[$fm:meta])* pub $field:ident : $ty:ty => $key:literal $(in $min:literal ..= $max:literal)? ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( $(#[$fm])* $(#[schemars(range(min = $min, max = $max))])? #[serde(rename = $key)] pub $field: $ty, )*
        }

        impl $name {
            /// The keys this record accepts, as written in files.
            pub const KEYS: &'static [&'static str] = &[$($key),*];
        }

        impl $crate::decode::Decode for $name {
            $( const KIND: Option<&'static str> = Some($kind); )?

            fn decode(node: &$crate::Node, cx: &mut $crate::decode::Cx) -> Option<Self> {
                let entries = cx.map(node, $what)?;
                cx.unknown_keys(entries, Self::KEYS, $what);
                $( let $field = cx.field_in::<$ty>(node, $key, Self::KEYS, $crate::record!(@range $($min, $max)?)); )*
                Some(Self { $( $field: $field?, )* })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Odoo;
    use crate::{Format, Limits};
    use blueprint_diagnostics::SourceMap;

    /// The findings of decoding `odoo` of a file with the format of `path`.
    fn odoo_findings(path: &str, text: &str) -> Vec<Diagnostic> {
        let mut map = SourceMap::new();
        let id = map.add(path, text.to_string());
        let format = Format::of_path(path).expect("an input file name");
        let p = crate::parse(&map, id, format, &Limits::default());
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let root = p.root.expect("parsed");
        let mut cx = Cx::new();
        let _: Option<Odoo> = cx.field(&root, "odoo", &["odoo"]).flatten();
        cx.diagnostics
    }

    fn one(findings: &[Diagnostic]) -> (&str, &str, &str) {
        assert_eq!(findings.len(), 1, "{findings:?}");
        let d = &findings[0];
        (d.code.0, &d.message, d.help.as_deref().unwrap_or(""))
    }

    /// The findings of decoding `database` (whose `postgresVersion` declares no range).
    fn database_findings(path: &str, text: &str) -> Vec<Diagnostic> {
        let mut map = SourceMap::new();
        let id = map.add(path, text.to_string());
        let format = Format::of_path(path).expect("an input file name");
        let root = crate::parse(&map, id, format, &Limits::default())
            .root
            .expect("parsed");
        let mut cx = Cx::new();
        let _: Option<crate::doc::Database> = cx.field(&root, "database", &["database"]).flatten();
        cx.diagnostics
    }

    #[test]
    fn a_whole_number_beyond_i64_is_out_of_range_not_the_wrong_type() {
        let msg = "`odoo.users` must be from 1 to 100000, found 99999999999999999999999";
        for (path, text) in [
            ("x.yaml", "odoo:\n  users: 99999999999999999999999\n"),
            ("x.toml", "[odoo]\nusers = 99999999999999999999999\n"),
        ] {
            let f = odoo_findings(path, text);
            assert_eq!(
                one(&f),
                ("BP0014", msg, "use a number from 1 to 100000"),
                "{path}"
            );
        }
        let f = odoo_findings("x.toml", "[odoo]\nusers = 0xFFFF_FFFF_FFFF_FFFF_FF\n");
        assert_eq!(one(&f).0, "BP0014", "{f:?}");
        let f = odoo_findings("x.yaml", "odoo:\n  users: 4294967296\n");
        assert_eq!(one(&f).0, "BP0014");
        // A key without a range of its own says what any whole number may be.
        let f = database_findings(
            "x.yaml",
            "database:\n  postgresVersion: 99999999999999999999999\n",
        );
        assert_eq!(
            one(&f),
            (
                "BP0014",
                "`database.postgresVersion` must be a whole number from 0 to 4294967295, found 99999999999999999999999",
                "use a number of at most 4294967295"
            )
        );
    }

    #[test]
    fn a_number_beyond_every_integer_type_is_reported_with_its_keys_own_range() {
        for (path, text, found) in [
            (
                "x.yaml",
                "odoo:\n  users: 18446744073709551616\n",
                "18446744073709551616",
            ),
            (
                "x.toml",
                "[odoo]\nusers = 9223372036854775808\n",
                "9223372036854775808",
            ),
        ] {
            let f = odoo_findings(path, text);
            let msg = format!("`odoo.users` must be from 1 to 100000, found {found}");
            assert_eq!(
                one(&f),
                ("BP0014", msg.as_str(), "use a number from 1 to 100000"),
                "{path}"
            );
        }
        let mut map = SourceMap::new();
        let id = map.add(
            "x.yaml",
            "- name: erp\n  kind: bi\n  direction: inbound\n  protocol: https\n  peers: []\n  port: -5432\n".to_string(),
        );
        let root = crate::parse(&map, id, Format::Yaml, &Limits::default())
            .root
            .expect("parsed");
        let mut cx = Cx::new();
        let _ = cx.within("integrations".into(), root.span, |cx| {
            <Vec<crate::doc::Integration>>::decode(&root, cx)
        });
        assert_eq!(
            one(&cx.diagnostics),
            (
                "BP0014",
                "`integrations[0].port` must be from 1 to 65535, found -5432",
                "use a number from 1 to 65535"
            )
        );
        // The range is the JSON Schema's too.
        fn has_range(v: &serde_json::Value, max: u64) -> bool {
            match v {
                serde_json::Value::Object(o) => {
                    (o.get("minimum") == Some(&1.into()) && o.get("maximum") == Some(&max.into()))
                        || o.values().any(|v| has_range(v, max))
                }
                serde_json::Value::Array(a) => a.iter().any(|v| has_range(v, max)),
                _ => false,
            }
        }
        let schema = crate::schema::plant_schema();
        assert!(has_range(&schema, 100_000) && has_range(&schema, 65_535));
    }

    #[test]
    fn a_negative_whole_number_is_out_of_range() {
        for (path, text, found) in [
            ("x.yaml", "database:\n  postgresVersion: -3\n", "-3"),
            ("x.toml", "[database]\npostgresVersion = -3\n", "-3"),
            (
                "x.yaml",
                "database:\n  postgresVersion: -99999999999999999999999\n",
                "-99999999999999999999999",
            ),
        ] {
            let f = database_findings(path, text);
            let msg = format!(
                "`database.postgresVersion` must be a whole number from 0 to 4294967295, found {found}"
            );
            assert_eq!(
                one(&f),
                ("BP0014", msg.as_str(), "use a number of 0 or more"),
                "{path}"
            );
        }
        let f = odoo_findings("x.yaml", "odoo:\n  users: -3\n");
        assert_eq!(
            one(&f),
            (
                "BP0014",
                "`odoo.users` must be from 1 to 100000, found -3",
                "use a number from 1 to 100000"
            )
        );
    }

    #[test]
    fn fractions_and_text_are_still_the_wrong_type_for_a_whole_number() {
        for (path, text) in [
            ("x.yaml", "odoo:\n  users: 1.5\n"),
            ("x.yaml", "odoo:\n  users: 1e30\n"),
            ("x.yaml", "odoo:\n  users: .inf\n"),
            ("x.yaml", "odoo:\n  users: \"5\"\n"),
            ("x.toml", "[odoo]\nusers = 1.5\n"),
            ("x.toml", "[odoo]\nusers = inf\n"),
        ] {
            let f = odoo_findings(path, text);
            assert_eq!(one(&f).0, "BP0011", "{text}");
        }
    }

    #[test]
    fn integers_as_written_are_recognised_as_whole_numbers() {
        for raw in [
            "0",
            "-3",
            "+7",
            "1_000",
            "0xFF",
            "0o17",
            "0b101",
            "99999999999999999999",
        ] {
            assert!(is_whole_number(raw), "{raw}");
        }
        for raw in ["1.5", "1e3", "inf", "nan", "-", "0x", "0xZZ", "+"] {
            assert!(!is_whole_number(raw), "{raw}");
        }
    }

    #[test]
    fn a_context_keeps_one_finding_past_the_cap_and_drops_the_rest() {
        let mut cx = Cx::new();
        for i in 0..500 {
            assert_eq!(cx.is_full(), i > MAX_FINDINGS_PER_FILE);
            cx.report(Diagnostic::new(codes::UNKNOWN_KEY, format!("finding {i}")));
        }
        assert_eq!(cx.diagnostics.len(), MAX_FINDINGS_PER_FILE + 1);
        assert_eq!(cx.diagnostics[0].message, "finding 0");
    }
}

#[cfg(test)]
mod misspelling_tests {
    use super::*;
    use crate::{Format, Limits};
    use blueprint_diagnostics::SourceMap;

    #[test]
    fn a_misspelt_required_key_is_reported_once_as_unknown() {
        let mut map = SourceMap::new();
        let id = map.add(
            "o.toml",
            "[owner]\nteam = \"erp\"\nemial = \"erp@example.com\"\n",
        );
        let root = crate::parse(&map, id, Format::Toml, &Limits::default())
            .root
            .expect("parsed");
        let mut cx = Cx::new();
        let _: Option<crate::doc::Owner> = cx.field(&root, "owner", &["owner"]).flatten();
        let codes: Vec<&str> = cx.diagnostics.iter().map(|d| d.code.0).collect();
        assert_eq!(codes, ["BP0009"], "{:?}", cx.diagnostics);
        assert!(
            cx.diagnostics[0]
                .help
                .as_deref()
                .unwrap_or("")
                .contains("`email`")
        );
    }
}
