//! `blueprint check [DIR]`.

use crate::OutputFormat;
use blueprint_diagnostics::Severity;
use std::path::Path;

pub(crate) fn run(dir: &Path, format: OutputFormat, deny_warnings: bool) -> u8 {
    let c = match super::compile_dir(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    super::print_findings(&c.map, &c.diagnostics, format);
    let failing = c
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error || deny_warnings);
    u8::from(failing)
}
