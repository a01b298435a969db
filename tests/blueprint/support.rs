//! Helpers shared by the test modules: reading a directory like the CLI does, and running
//! `check` on it.

use blueprint_compiler::{Compilation, Input, compile};
use std::path::{Path, PathBuf};

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable test dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if blueprint_syntax::Format::of_path(&p.to_string_lossy()).is_some() {
            out.push(p);
        }
    }
}

/// Reads `base/plants` (sorted, any depth) with paths shown relative to `base`.
pub(crate) fn read_inputs(base: &Path, plants: &str) -> Vec<Input> {
    let dir = base.join(plants);
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files
        .into_iter()
        .map(|p| Input {
            path: p
                .strip_prefix(base)
                .expect("under base")
                .to_string_lossy()
                .replace('\\', "/"),
            bytes: std::fs::read(&p).expect("readable"),
            is_fleet: p == dir.join("fleet.toml"),
        })
        .collect()
}

/// Compiles `base/plants` and returns the compilation and its human output.
pub(crate) fn check_dir(base: &Path) -> (Compilation, String) {
    let c = compile(&read_inputs(base, "plants"));
    let out = blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false);
    (c, out)
}

/// `code path:line:col` of every finding.
pub(crate) fn findings(c: &Compilation) -> Vec<String> {
    c.diagnostics
        .iter()
        .map(|d| match &d.primary {
            Some(l) => format!("{} {}", d.code, c.map.location(l.span)),
            None => d.code.to_string(),
        })
        .collect()
}
