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

/// Builds `examples/<name>/plants` in memory (compile, lower, render, verify; nothing is
/// written) and returns the rendered files as text by output path. Panics with the findings
/// when the build fails.
pub(crate) fn build_example(name: &str) -> std::collections::BTreeMap<String, String> {
    let base = root().join("examples").join(name);
    build_inputs(&read_inputs(&base, "plants"))
}

/// Builds inputs in memory (nothing is written); panics with the findings on failure.
pub(crate) fn build_ok(inputs: &[Input]) -> blueprint_cli::build::Built {
    let built = blueprint_cli::build::build(inputs, &blueprint_cli::build::Options::default());
    assert!(
        !built.failed(),
        "build failed:\n{}",
        blueprint_diagnostics::render_human(
            &built.compilation.map,
            &built.compilation.diagnostics,
            false
        )
    );
    built
}

/// Builds inputs in memory and returns the rendered files; panics with the findings on failure.
pub(crate) fn build_inputs(inputs: &[Input]) -> std::collections::BTreeMap<String, String> {
    build_ok(inputs)
        .files
        .into_iter()
        .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8 output")))
        .collect()
}

/// Every example fleet's name.
pub(crate) const EXAMPLES: &[&str] = &[
    "critical-managed",
    "manufacturing-group",
    "quickstart",
    "shared-warehouses",
];

/// A rendered YAML file parsed back by the verifier's strict parser, as JSON; panics naming
/// the file when it does not parse.
pub(crate) fn yaml(path: &str, text: &str) -> serde_json::Value {
    blueprint_verify::parse_back(path, text)
        .unwrap_or_else(|problems| panic!("{path}: {problems:?}"))
}
