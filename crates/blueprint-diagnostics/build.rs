//! Embeds every `docs/rules/BPxxxx.md` page so `blueprint rules CODE` works from the binary.

#![allow(clippy::disallowed_methods)] // a build script reads its environment and writes OUT_DIR
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&manifest).join("../../docs/rules");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut pages: Vec<(String, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.extension().and_then(|e| e.to_str()) == Some("md") && stem.starts_with("BP") {
                println!("cargo::rerun-if-changed={}", path.display());
                let abs = path.canonicalize().unwrap_or(path.clone());
                pages.push((stem.to_string(), abs.display().to_string()));
            }
        }
    }
    pages.sort();
    let mut out = String::from(
        "/// Explanation pages embedded from docs/rules, sorted by code.\npub(crate) static PAGES: &[(&str, &str)] = &[\n",
    );
    for (code, path) in &pages {
        let _ = writeln!(out, "    ({code:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out_dir).join("pages.rs"), out) {
        panic!("cannot write the embedded rule pages: {e}");
    }
}
