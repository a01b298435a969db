//! Embeds every template under `blueprints/` so the binary carries its own blueprint set.

#![allow(clippy::disallowed_methods)] // a build script reads its environment and writes OUT_DIR
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Every `*.j2` file under `dir`, with its name relative to `root` (`/`-separated).
fn walk(dir: &Path, root: &Path, found: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, root, found);
        } else if path.extension().and_then(|e| e.to_str()) == Some("j2")
            && let Ok(rel) = path.strip_prefix(root)
        {
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            found.push((name, path));
        }
    }
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("../../blueprints");
    // `include_str!` in OUT_DIR needs absolute paths; `..` removed for readable errors.
    let root = root.canonicalize().unwrap_or(root);
    // A directory is watched whole: any file added, changed or removed under it reruns this.
    println!("cargo::rerun-if-changed={}", root.display());
    let mut found = Vec::new();
    walk(&root, &root, &mut found);
    found.sort();
    let mut out = String::from(
        "/// The embedded blueprint set: (template name, source), sorted by name.\npub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &found {
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("blueprints.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
