//! Invariants of blueprint on arbitrary input, as functions a fuzzer or a property test calls.
//!
//! - [`fuzz_parse`]: any bytes, read as a YAML and as a TOML file, through `read_source`,
//!   `parse` and `decode` (plant and fleet): no panic, every finding located inside its file
//!   and rendered, no internal error.
//! - [`fuzz_pipeline`]: any bytes, cut into a plants directory by [`split_files`], through the
//!   whole build short of writing ([`pipeline`]): no panic, no BP9001, and a fleet that compiles
//!   without error builds with every file rendered and verified (no BP9002, no BP9003).
//!
//! Each function panics, naming the broken invariant, when blueprint breaks one: that is how
//! cargo-fuzz (`fuzz/`) and the property tests (`blueprint/properties.rs`) see a failure.

use blueprint_compiler::Input;
use blueprint_diagnostics::{Diagnostic, Severity, SourceMap};
use blueprint_syntax::doc::{FleetDoc, PlantDoc};
use blueprint_syntax::{Format, Limits};

/// Most files [`split_files`] makes of one input, so one fuzz input stays quick to build.
pub const MAX_FILES: usize = 16;

/// What the pipeline made of a plants directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Compiling found errors: the codes of every finding, in order.
    Refused(Vec<String>),
    /// Compiled without error and built: how many files were rendered and verified.
    Built(usize),
}

/// Reads `bytes` as a plant or fleet file in YAML and in TOML (read, parse, decode) and
/// checks the findings (see the module doc). Panics when an invariant breaks.
pub fn fuzz_parse(bytes: &[u8]) {
    for (path, format) in [
        ("plants/fuzz.yaml", Format::Yaml),
        ("plants/fuzz.toml", Format::Toml),
    ] {
        let mut map = SourceMap::new();
        let mut diagnostics = Vec::new();
        let (id, parse) = blueprint_syntax::read_source(&mut map, path, bytes, &mut diagnostics);
        if parse {
            let parsed = blueprint_syntax::parse(&map, id, format, &Limits::default());
            diagnostics.extend(parsed.diagnostics);
            if let Some(root) = parsed.root {
                let _ = blueprint_syntax::decode::<PlantDoc>(&root, &mut diagnostics);
                let _ = blueprint_syntax::decode::<FleetDoc>(&root, &mut diagnostics);
            }
        }
        for d in &diagnostics {
            assert!(
                d.primary.is_some(),
                "{path}: a finding of the syntax stage has no location: {d:?}"
            );
        }
        check_findings(&map, &diagnostics, path);
    }
}

/// Cuts `bytes` into a plants directory ([`split_files`]) and runs [`pipeline`] on it.
pub fn fuzz_pipeline(bytes: &[u8]) {
    let _ = pipeline(&split_files(bytes));
}

/// Builds `inputs` in memory (compile, lower, render, verify; nothing is written), checks the
/// invariants (see the module doc) and returns what came of it. Panics, with the findings and
/// the inputs, when an invariant breaks.
#[must_use]
pub fn pipeline(inputs: &[Input]) -> Outcome {
    let built = blueprint_cli::build::build(inputs, &blueprint_cli::build::Options::default());
    let c = &built.compilation;
    let shown = || {
        format!(
            "{}\ninputs:\n{}",
            blueprint_diagnostics::render_human(&c.map, &c.diagnostics, false),
            show_inputs(inputs)
        )
    };
    check_findings(&c.map, &c.diagnostics, "the plants directory");
    assert!(
        !c.diagnostics.iter().any(|d| d.code.0 == "BP9001"),
        "internal error (BP9001):\n{}",
        shown()
    );
    let compiled_clean = !c
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error && !d.code.0.starts_with("BP9"));
    match &built.ir {
        None => {
            assert!(
                !compiled_clean,
                "no finding of severity error, yet nothing was lowered:\n{}",
                shown()
            );
            Outcome::Refused(c.diagnostics.iter().map(|d| d.code.0.to_string()).collect())
        }
        Some(ir) => {
            assert!(
                !built.failed(),
                "the plants compile without error but their build fails (a template or the verification of a generated file):\n{}",
                shown()
            );
            assert!(
                !built.files.is_empty(),
                "a build without files:\n{}",
                shown()
            );
            assert_eq!(
                built.files.len(),
                ir.outputs.len(),
                "every output is rendered and verified:\n{}",
                shown()
            );
            Outcome::Built(built.files.len())
        }
    }
}

/// Checks what any stage's findings must be: each label inside its file and on character
/// boundaries (or the renderers would cut a character), no BP9001, and both renderings work.
fn check_findings(map: &SourceMap, diagnostics: &[Diagnostic], what: &str) {
    for d in diagnostics {
        assert!(d.code.0 != "BP9001", "{what}: internal error: {d:?}");
        for label in d.primary.iter().chain(&d.secondary) {
            let file = map.files().nth(label.span.file.0 as usize).map(|(_, f)| f);
            let Some(file) = file else {
                panic!("{what}: a finding points into no file of the run: {d:?}");
            };
            let (start, end) = (label.span.start as usize, label.span.end as usize);
            assert!(
                start <= end
                    && end <= file.text.len()
                    && file.text.is_char_boundary(start)
                    && file.text.is_char_boundary(end),
                "{what}: span {start}..{end} is not a range of characters of {} ({} bytes): {d:?}",
                file.path,
                file.text.len()
            );
        }
    }
    let _ = blueprint_diagnostics::render_human(map, diagnostics, false);
    let _ = blueprint_diagnostics::render_human(map, diagnostics, true);
    let _ = blueprint_diagnostics::render_json(map, diagnostics);
}

/// Cuts fuzz bytes into at most [`MAX_FILES`] input files: parts separated by NUL bytes, each
/// `NAME\nCONTENT`. The name keeps only `[a-z0-9._-]` (at most 40 of them); `fleet.toml` as the
/// first part is the directory's fleet file, later ones sit in a subdirectory (as a plant file
/// would); a name that is no `*.yaml`, `*.yml` or `*.toml` gets `.yaml`. [`join_files`] is the
/// inverse, for seeds.
#[must_use]
pub fn split_files(bytes: &[u8]) -> Vec<Input> {
    let mut inputs: Vec<Input> = Vec::new();
    for (i, part) in bytes.split(|&b| b == 0).take(MAX_FILES).enumerate() {
        let (name, content) = match part.iter().position(|&b| b == b'\n') {
            Some(n) => (&part[..n], &part[n + 1..]),
            None => (part, &[][..]),
        };
        let mut name: String = name
            .iter()
            .map(|&b| char::from(b.to_ascii_lowercase()))
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(40)
            .collect();
        if !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".toml")) {
            name.push_str(".yaml");
        }
        let is_fleet = i == 0 && name == "fleet.toml";
        let mut path = format!("plants/{name}");
        if (name == "fleet.toml" && !is_fleet) || inputs.iter().any(|x| x.path == path) {
            path = format!("plants/d{i}/{name}");
        }
        inputs.push(Input {
            path,
            bytes: content.to_vec(),
            is_fleet,
        });
    }
    inputs
}

/// The bytes [`split_files`] cuts into these files (names as `split_files` keeps them): a seed
/// for the pipeline fuzzer, or a failing property case to replay under it.
#[must_use]
pub fn join_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, content)) in files.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(content);
    }
    out
}

/// Every input as `==> path <==` and its text, for failure messages.
#[must_use]
pub fn show_inputs(inputs: &[Input]) -> String {
    inputs
        .iter()
        .map(|i| {
            format!(
                "==> {}{} <==\n{}\n",
                i.path,
                if i.is_fleet { " (fleet)" } else { "" },
                String::from_utf8_lossy(&i.bytes)
            )
        })
        .collect()
}
