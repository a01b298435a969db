//! `blueprint explain PLANT [--env ENV]`.

use crate::OutputFormat;
use blueprint_compiler::explain;
use std::path::Path;

pub(crate) fn run(dir: &Path, plant: &str, env: Option<&str>, format: OutputFormat) -> u8 {
    let c = match super::compile_dir(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let found: Vec<_> = c
        .plants
        .iter()
        .filter(|p| p.name.value == plant && env.is_none_or(|e| p.env == e))
        .collect();
    if found.is_empty() {
        if !c.diagnostics.is_empty() {
            super::print_findings(&c.map, &c.diagnostics, OutputFormat::Text);
        }
        let known: Vec<_> = c
            .plants
            .iter()
            .map(|p| format!("{}/{}", p.name.value, p.env))
            .collect();
        eprintln!(
            "error: no resolved plant `{plant}`{} in {}{}",
            env.map(|e| format!(" in environment `{e}`"))
                .unwrap_or_default(),
            dir.display(),
            if known.is_empty() {
                String::new()
            } else {
                format!("\n  known: {}", known.join(", "))
            }
        );
        return 1;
    }
    match format {
        OutputFormat::Json => print!("{}", explain::json(&c.map, &found)),
        OutputFormat::Text => {
            let texts: Vec<String> = found.iter().map(|p| explain::text(&c.map, p)).collect();
            print!("{}", texts.join("\n"));
        }
    }
    0
}
