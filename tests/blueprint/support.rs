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

/// Reads `base/plants` with the CLI's walk (sorted, any depth, hidden entries skipped), with
/// paths shown relative to `base`.
pub(crate) fn read_inputs(base: &Path, plants: &str) -> Vec<Input> {
    let mut inputs =
        blueprint_cli::walk::read_inputs(&base.join(plants)).expect("readable test dir");
    let prefix = format!("{}/", base.to_string_lossy().replace('\\', "/"));
    for input in &mut inputs {
        input.path = input
            .path
            .strip_prefix(&prefix)
            .expect("under base")
            .to_string();
    }
    inputs
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
