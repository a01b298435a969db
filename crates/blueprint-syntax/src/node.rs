//! The spanned value tree both YAML and TOML are read into before typed decoding.

use blueprint_diagnostics::Span;

/// A mapping key and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key was written.
    pub span: Span,
}

/// One value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value was written.
    pub span: Span,
    /// What it is.
    pub kind: NodeKind,
}

/// The shapes a value can take.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A mapping or table, in source order, keys unique.
    Map(Vec<(Key, Node)>),
    /// A sequence or array.
    Seq(Vec<Node>),
    /// A string (quoted, or a plain YAML scalar that is no other type).
    Str(String),
    /// An integer; `raw` is the text as written.
    Int {
        /// The value.
        value: i64,
        /// The text as written.
        raw: String,
    },
    /// A floating-point number; `raw` is the text as written.
    Float {
        /// The text as written (`17.0`).
        raw: String,
    },
    /// `true` or `false`.
    Bool(bool),
    /// `null`, `~` or an empty value.
    Null,
}

impl Node {
    /// What kind of value this is, for messages ("a number", "a list").
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Map(_) => "a mapping".into(),
            NodeKind::Seq(_) => "a list".into(),
            NodeKind::Str(s) => format!("the string {:?}", blueprint_diagnostics::shorten(s, 60)),
            NodeKind::Int { raw, .. } => format!("the number {raw}"),
            NodeKind::Float { raw } => format!("the number {raw}"),
            NodeKind::Bool(b) => format!("the boolean {b}"),
            NodeKind::Null => "an empty value".into(),
        }
    }

    /// The entries, if this is a mapping.
    #[must_use]
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value under `key`, if this is a mapping that has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// The key entry (with its span) under `key`.
    #[must_use]
    pub fn get_key(&self, key: &str) -> Option<&Key> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k)
    }

    /// The string value, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Deep-merges `overlay` onto `self`: mappings merge key by key, everything else
    /// (lists included) is replaced by the overlay's value.
    #[must_use]
    pub fn merged(&self, overlay: &Node) -> Node {
        match (&self.kind, &overlay.kind) {
            (NodeKind::Map(base), NodeKind::Map(over)) => {
                let mut out: Vec<(Key, Node)> = base.clone();
                // An index by key keeps a merge of many keys linear.
                let mut index: std::collections::BTreeMap<String, usize> = out
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k.name.clone(), i))
                    .collect();
                for (k, v) in over {
                    if let Some(&i) = index.get(&k.name) {
                        let slot = &mut out[i];
                        slot.1 = slot.1.merged(v);
                        slot.0 = k.clone();
                    } else {
                        index.insert(k.name.clone(), out.len());
                        out.push((k.clone(), v.clone()));
                    }
                }
                Node {
                    span: self.span,
                    kind: NodeKind::Map(out),
                }
            }
            _ => overlay.clone(),
        }
    }

    /// The tree as JSON (to validate it against a JSON Schema). Floats that JSON cannot hold
    /// become `null`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Map(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
            NodeKind::Seq(s) => Value::Array(s.iter().map(Node::to_json).collect()),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Int { value, .. } => Value::from(*value),
            NodeKind::Float { raw } => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Null => Value::Null,
        }
    }

    /// Number of nodes in this tree.
    #[must_use]
    pub fn count(&self) -> usize {
        1 + match &self.kind {
            NodeKind::Map(m) => m.iter().map(|(_, v)| v.count()).sum(),
            NodeKind::Seq(s) => s.iter().map(Node::count).sum(),
            _ => 0,
        }
    }
}
