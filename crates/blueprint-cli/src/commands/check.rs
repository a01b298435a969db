//! `blueprint check [DIR]`.

use crate::OutputFormat;
use crate::out::errln;
use blueprint_diagnostics::Severity;
use std::path::Path;

pub(crate) fn run(dir: &Path, format: OutputFormat, deny_warnings: bool) -> u8 {
    let (c, files) = match super::compile_dir_counted(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if format == OutputFormat::Text {
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        errln!(
            "checked {}: {}, {} resolved, {}",
            dir.display(),
            plural(files, "plant file"),
            plural(c.plants.len(), "environment"),
            if c.fleet.as_ref().is_some_and(|f| f.embedded) {
                "embedded default fleet"
            } else {
                "fleet.toml"
            },
        );
    }
    super::print_findings(&c.map, &c.diagnostics, format);
    let failing = c
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error || deny_warnings);
    u8::from(failing)
}
