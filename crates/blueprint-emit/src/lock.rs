//! `blueprint.lock`: what the last build wrote, from what, with which generator.

use crate::{EmitError, io};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The lock file: generator, input digests, the sha256 of every file written, and each plant's
/// resolved model (what `diff` compares with outside git). Serialised as pretty JSON (its
/// maps sorted by path), with a final newline, so it diffs well in review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Format version of this file.
    pub version: u32,
    /// `blueprint <version>`.
    pub generator: String,
    /// sha256 of every input file, by path.
    pub inputs: BTreeMap<String, String>,
    /// sha256 of every file written, by path relative to OUT.
    pub files: BTreeMap<String, String>,
    /// Each plant environment's resolved model as `explain` shows it (`plant`, `env`, `file`
    /// and `rows` of field, value, origin), by its directory (`plants/<plant>/<env>`,
    /// `clusters/<cluster>/platform`). Version 1 held the lowered contexts instead.
    pub models: BTreeMap<String, Model>,
    /// For every file written, the sha256 of what it was rendered from (generator, template,
    /// context): a later build reuses a file whose key did not change.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

/// The format version [`Lock::version`] is written with: 2 since `models` holds the resolved
/// models with their origins.
pub const LOCK_VERSION: u32 = 2;

/// Lowercase hex sha256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One resolved model as JSON text, kept as written: serialised once when the build makes it
/// (not through a tree of values) and written into the lock verbatim, one row per line, so a
/// fleet of large plants does not make the lock slow to write and a changed value is one
/// changed line. Equal when the texts are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Model(Box<serde_json::value::RawValue>);

impl Model {
    /// A model from its JSON text; `None` when the text is not JSON.
    #[must_use]
    pub fn from_json(text: String) -> Option<Self> {
        serde_json::value::RawValue::from_string(text)
            .ok()
            .map(Self)
    }

    /// The JSON text.
    #[must_use]
    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl Eq for Model {}

impl Lock {
    /// The bytes written to `blueprint.lock`.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = serde_json::to_string_pretty(self)
            .expect("a lock is strings and JSON values under string keys: it always serialises");
        s.push('\n');
        s.into_bytes()
    }

    /// Reads a lock; `None` when OUT has none yet.
    pub fn read(path: &Path) -> Result<Option<Self>, EmitError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("cannot read", path)(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| EmitError::BadLock {
                path: path.to_path_buf(),
                why: e.to_string(),
            })
    }
}
