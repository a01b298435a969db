//! `blueprint init NAME [--tier] [--tenancy] [--image] [--dir]`: scaffold a plant that passes
//! `check`; `blueprint init --fleet [--dir]`: write out the embedded default fleet.
//!
//! The scaffold comes from `blueprint_compiler::scaffold`, which also compiles the directory
//! without and with it; if it brings any new error (in its own file or elsewhere, such as a
//! cluster's capacity), nothing is written and the new findings are shown. This
//! command reads the directory, finds the schema for the editor comment and writes the file.

use crate::out::{errln, outln};
use blueprint_compiler::scaffold::{self, Options, Refusal};
use std::path::{Component, Path, PathBuf};

/// Where the schema sits, relative to the plants directory: the nearest
/// `schemas/plant.v1.json` in `dir` or above it.
fn schema_path(dir: &Path) -> Option<String> {
    const SCHEMA: &str = "schemas/plant.v1.json";
    let absolute = std::path::absolute(dir).ok()?;
    // `dir` may not exist yet, so `..` is resolved by name rather than by the file system.
    let mut normal = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let mut up = String::new();
    for ancestor in normal.ancestors() {
        if ancestor.join(SCHEMA).is_file() {
            return Some(format!("{up}{SCHEMA}"));
        }
        up.push_str("../");
    }
    None
}

pub(crate) fn run(dir: &Path, name: &str, tier: &str, tenancy: &str, image: Option<&str>) -> u8 {
    let path = dir.join(format!("{name}.yaml"));
    if path.exists() {
        errln!(
            "error: {} already exists; init never overwrites a plant file",
            path.display()
        );
        return 2;
    }
    let inputs = if dir.exists() {
        match blueprint_cli::walk::read_inputs(dir) {
            Ok(i) => i,
            Err(e) => return super::fail(e),
        }
    } else {
        Vec::new()
    };
    let existing = blueprint_compiler::compile(&inputs);
    let schema = schema_path(dir);
    let options = Options {
        name,
        tier,
        tenancy,
        image,
        schema: schema.as_deref(),
    };
    let text = match scaffold::plant(&existing, &options) {
        Ok(text) => text,
        Err(Refusal::Usage(e)) => {
            errln!("error: {e}");
            return 2;
        }
        Err(Refusal::BrokenFleet) => {
            errln!(
                "error: the fleet file in {} has errors; run `blueprint check {}` first",
                dir.display(),
                dir.display()
            );
            return 1;
        }
    };
    let display = blueprint_cli::walk::display(&path);
    let c = scaffold::check(&inputs, &display, &text);
    if c.has_errors() {
        super::print_findings(&c.map, &c.diagnostics, crate::OutputFormat::Text);
        errln!(
            "error: the scaffold for `{name}` would not pass check here (the findings above are \
             the ones it would add); nothing written"
        );
        return 1;
    }
    let hint = format!("edit it, then run `blueprint check {}`", dir.display());
    write_new(dir, &path, &text, &hint)
}

/// `blueprint init --fleet`: the embedded default fleet as `DIR/fleet.toml`, never overwriting.
pub(crate) fn write_fleet(dir: &Path) -> u8 {
    // `check DIR` needs a plant file, which a new directory does not have yet.
    let hint = format!(
        "edit it, then add a plant with `blueprint init NAME --dir {}` and run `blueprint check {}`",
        dir.display(),
        dir.display()
    );
    write_new(
        dir,
        &dir.join("fleet.toml"),
        blueprint_compiler::fleet::DEFAULT_FLEET,
        &hint,
    )
}

/// Creates `path` (and `dir`) with `text`; an existing file is never overwritten (exit 2).
fn write_new(dir: &Path, path: &Path, text: &str, hint: &str) -> u8 {
    if let Err(e) = std::fs::create_dir_all(dir) {
        errln!("error: cannot create {}: {e}", dir.display());
        return 2;
    }
    #[allow(clippy::disallowed_methods)]
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    match written {
        Ok(()) => {
            outln!("wrote {}; {hint}", path.display());
            0
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            errln!(
                "error: {} already exists; init never overwrites it",
                path.display()
            );
            2
        }
        Err(e) => {
            errln!("error: cannot write {}: {e}", path.display());
            2
        }
    }
}
