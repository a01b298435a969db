//! Reusing what the previous build wrote: a file is a pure function of the template set, its
//! context and the generator, so when the key of an output (a sha256 over those) is the one
//! `blueprint.lock` recorded for its path, and the file in OUT still has the sha256 the lock
//! recorded, its bytes are what rendering would give again, already verified. Only the
//! outputs whose inputs changed are rendered and verified: a no-op rebuild and a one-plant
//! change cost little more than reading OUT.

use blueprint_compiler::lower::{Ir, Scope};
use blueprint_emit::{LOCK_FILE, Lock, sha256_hex};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn json_digest<T: serde::Serialize + ?Sized>(value: &T) -> String {
    sha256_hex(&serde_json::to_vec(value).unwrap_or_default())
}

/// The key of every output of `ir`, in the order of `ir.outputs`.
pub(super) fn keys(ir: &Ir, templates: &[(&str, &str)]) -> Vec<String> {
    // The whole template set, not only the output's template: one may include or import
    // another, so any change to the set renders everything again.
    let set: BTreeMap<&str, String> = templates
        .iter()
        .map(|(name, source)| (*name, sha256_hex(source.as_bytes())))
        .collect();
    let set = json_digest(&set);
    let fleet = json_digest(&ir.fleet);
    let plants: Vec<String> = ir.plants.iter().map(json_digest).collect();
    let clusters: Vec<String> = ir
        .clusters
        .iter()
        .map(|c| {
            let members: Vec<&String> = c.plants.iter().filter_map(|&i| plants.get(i)).collect();
            json_digest(&(json_digest(c), members))
        })
        .collect();
    let generator = super::generator();
    ir.outputs
        .iter()
        .map(|o| {
            let scope = match o.scope {
                Scope::Fleet => String::new(),
                Scope::Plant(i) => plants.get(i).cloned().unwrap_or_default(),
                Scope::Cluster(i) => clusters.get(i).cloned().unwrap_or_default(),
            };
            json_digest(&(
                &generator,
                &o.template,
                &set,
                &fleet,
                scope,
                &o.item,
                &o.check,
            ))
        })
        .collect()
}

/// The previous build's lock and where its files are.
pub(super) struct Previous {
    out: PathBuf,
    lock: Option<Lock>,
}

impl Previous {
    /// Reads OUT's lock; without one (or an unreadable one, or while an interrupted build
    /// waits to be finished or rolled back) nothing is reused.
    pub(super) fn read(out: Option<&Path>) -> Self {
        let lock = out
            .filter(|o| !o.join(blueprint_emit::TXN_DIR).exists())
            .and_then(|o| Lock::read(&o.join(LOCK_FILE)).ok().flatten());
        Self {
            out: out.map(Path::to_path_buf).unwrap_or_default(),
            lock,
        }
    }

    /// The file at `path` as the previous build wrote it, when its key is `key` and nobody
    /// changed it since.
    /// Returns the bytes and their sha256.
    pub(super) fn bytes(&self, path: &str, key: &str) -> Option<(Vec<u8>, String)> {
        let lock = self.lock.as_ref()?;
        if lock.keys.get(path).map(String::as_str) != Some(key) {
            return None;
        }
        let bytes = std::fs::read(self.out.join(path)).ok()?;
        let sha = sha256_hex(&bytes);
        (lock.files.get(path) == Some(&sha)).then_some((bytes, sha))
    }
}
