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

/// An example fleet built in memory (nothing is written): its IR and its rendered files as
/// text by output path.
pub(crate) struct Example {
    /// Its name under `examples/`.
    pub(crate) name: &'static str,
    /// The IR it was rendered from.
    pub(crate) ir: blueprint_compiler::lower::Ir,
    /// The rendered files.
    pub(crate) files: std::collections::BTreeMap<String, String>,
}

/// The example fleet `name`, built once per test process; panics with the findings when the
/// build fails.
pub(crate) fn example(name: &str) -> &'static Example {
    static BUILT: [std::sync::OnceLock<Example>; EXAMPLES.len()] =
        [const { std::sync::OnceLock::new() }; EXAMPLES.len()];
    let i = EXAMPLES
        .iter()
        .position(|e| *e == name)
        .unwrap_or_else(|| panic!("{name} is not in EXAMPLES"));
    BUILT[i].get_or_init(|| {
        let built = build_ok(&read_inputs(&root().join("examples").join(name), "plants"));
        Example {
            name: EXAMPLES[i],
            ir: built.ir.expect("a built example has an IR"),
            files: built
                .files
                .into_iter()
                .map(|(p, b)| (p, String::from_utf8(b).expect("UTF-8 output")))
                .collect(),
        }
    })
}

/// Calls `f` with every plant environment `keep` selects in every example fleet, and the
/// example; returns how many there were, and fails when there was none (a check over no plant
/// proves nothing).
pub(crate) fn each_example_plant(
    keep: impl Fn(&blueprint_compiler::lower::PlantCtx) -> bool,
    mut f: impl FnMut(&Example, &blueprint_compiler::lower::PlantCtx),
) -> usize {
    let mut n = 0;
    for name in EXAMPLES {
        let e = example(name);
        for p in e.ir.plants.iter().filter(|p| keep(p)) {
            n += 1;
            f(e, p);
        }
    }
    assert!(n > 0, "no plant environment of the examples to check");
    n
}

/// Where the filestore backup of a plant environment (or shared platform) goes in its repo1
/// bucket, as DESIGN §4.3 and the generated files agree: `filestore/<plant>/<env>/`, or
/// `filestore/platform/<cluster>/` for a shared platform.
pub(crate) fn filestore_prefix(p: &blueprint_compiler::lower::PlantCtx) -> String {
    if p.platform {
        format!(
            "filestore/platform/{}/",
            p.cluster
                .as_deref()
                .expect("a shared platform has a cluster")
        )
    } else {
        format!("filestore/{}/{}/", p.name, p.env)
    }
}
