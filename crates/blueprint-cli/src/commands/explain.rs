//! `blueprint explain PLANT[/ENV] [--env ENV]`.

use crate::OutputFormat;
use blueprint_compiler::explain;
use std::path::Path;

pub(crate) fn run(dir: &Path, plant: &str, env: Option<&str>, format: OutputFormat) -> u8 {
    // `lyon/prod` is accepted as well as `lyon --env prod`.
    let (plant, env) = match (plant.split_once('/'), env) {
        (Some((p, e)), None) => (p, Some(e)),
        (Some((p, e)), Some(other)) if e == other => (p, Some(e)),
        (Some(_), Some(other)) => {
            eprintln!(
                "error: `{plant}` names an environment and `--env {other}` another; give one"
            );
            return 2;
        }
        (None, e) => (plant, e),
    };
    let c = match super::compile_dir(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut found: Vec<_> = c
        .plants
        .iter()
        .filter(|p| p.name.value == plant && env.is_none_or(|e| p.env == e))
        .collect();
    // prod first, then the other environments by name.
    found.sort_by_key(|p| (p.env != "prod", p.env.clone()));
    if found.is_empty() {
        if !c.diagnostics.is_empty() {
            super::print_findings(&c.map, &c.diagnostics, OutputFormat::Text);
        }
        let mut names: Vec<&str> = c.plants.iter().map(|p| p.name.value.as_str()).collect();
        names.dedup();
        let hint = match blueprint_syntax::decode::suggest(plant, &names) {
            Some(s) if s != plant => format!("; did you mean `{s}`?"),
            _ => String::new(),
        };
        let envs: Vec<&str> = c
            .plants
            .iter()
            .filter(|p| p.name.value == plant)
            .map(|p| p.env.as_str())
            .collect();
        let known = if envs.is_empty() {
            format!("plants: {}", names.join(", "))
        } else {
            format!("environments of `{plant}`: {}", envs.join(", "))
        };
        eprintln!(
            "error: no resolved plant `{plant}`{} in {}{hint}\n  {known}",
            env.map(|e| format!(" in environment `{e}`"))
                .unwrap_or_default(),
            dir.display(),
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
