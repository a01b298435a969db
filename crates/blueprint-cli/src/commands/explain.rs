//! `blueprint explain PLANT[/ENV] [--env ENV]`, and `blueprint explain PATH[#FIELD]` for a
//! generated file ([`path`]).
//!
//! Prints every resolved environment asked for. A plant or environment no plant file names is
//! a usage error (exit 2); an environment that is named but did not resolve is reported with
//! the findings that stopped it (exit 1), after the environments that did resolve.

use crate::OutputFormat;
use crate::out::{errln, out};
use blueprint_compiler::explain;
use std::collections::BTreeSet;
use std::path::Path;

mod path;

/// Prod first, then the other environments by name.
fn env_order(env: &str) -> (bool, String) {
    (env != "prod", env.to_string())
}

pub(crate) fn run(dir: &Path, plant: &str, env: Option<&str>, format: OutputFormat) -> u8 {
    if path::is_path(plant) {
        return path::run(dir, plant, env, format);
    }
    // `lyon/prod` is accepted as well as `lyon --env prod`.
    let (plant, env) = match (plant.split_once('/'), env) {
        (Some((p, e)), None) => (p, Some(e)),
        (Some((p, e)), Some(other)) if e == other => (p, Some(e)),
        (Some(_), Some(other)) => {
            errln!("error: `{plant}` names an environment and `--env {other}` another; give one");
            return 2;
        }
        (None, e) => (plant, e),
    };
    let c = match super::compile_dir(dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let fleet_path = blueprint_cli::walk::display(&dir.join("fleet.toml"));
    let mine: Vec<&blueprint_compiler::Declared> =
        c.declared.iter().filter(|d| d.name == plant).collect();
    let files: BTreeSet<&str> = mine.iter().map(|d| d.file.as_str()).collect();
    let mut envs: Vec<&str> = mine
        .iter()
        .flat_map(|d| d.envs.iter().map(String::as_str))
        .collect();
    envs.sort_by_key(|e| env_order(e));
    envs.dedup();
    if envs.is_empty() {
        let mut names: Vec<&str> = c
            .plants
            .iter()
            .map(|p| p.name.value.as_str())
            .chain(c.declared.iter().map(|d| d.name.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        let hint = match blueprint_syntax::decode::suggest(plant, &names) {
            Some(s) if s != plant => format!("; did you mean `{s}`?"),
            _ => String::new(),
        };
        errln!(
            "error: no plant `{plant}` in {}{hint}\n  plants: {}",
            dir.display(),
            names.join(", ")
        );
        if c.has_errors() {
            errln!(
                "  some files have errors; `blueprint check {}` shows them",
                dir.display()
            );
        }
        return 2;
    }
    if let Some(e) = env
        && !envs.contains(&e)
    {
        let hint = match blueprint_syntax::decode::suggest(e, &envs) {
            Some(s) if s != e => format!("; did you mean `{s}`?"),
            _ => String::new(),
        };
        errln!(
            "error: plant `{plant}` has no environment `{e}`{hint}\n  environments of `{plant}`: {}",
            envs.join(", ")
        );
        return 2;
    }
    let mut found: Vec<_> = c
        .plants
        .iter()
        .filter(|p| p.name.value == plant && env.is_none_or(|e| p.env == e))
        .collect();
    found.sort_by_key(|p| env_order(&p.env));
    match format {
        OutputFormat::Json => out!("{}", explain::json(&c.map, &found)),
        OutputFormat::Text => {
            let texts: Vec<String> = found.iter().map(|p| explain::text(&c.map, p)).collect();
            out!("{}", texts.join("\n"));
        }
    }
    let missing: Vec<String> = envs
        .iter()
        .filter(|e| env.is_none_or(|w| w == **e) && !found.iter().any(|p| p.env == **e))
        .map(|e| format!("`{e}`"))
        .collect();
    if missing.is_empty() {
        return 0;
    }
    // The findings of this plant's files and of the fleet, not those of other plants.
    let own: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| {
            d.primary.as_ref().is_none_or(|l| {
                let path = c.map.file(l.span.file).path.as_str();
                files.contains(path) || path == fleet_path || path.starts_with("<embedded>/")
            })
        })
        .cloned()
        .collect();
    super::print_findings(&c.map, &own, OutputFormat::Text);
    let shown: Vec<&str> = found.iter().map(|p| p.env.as_str()).collect();
    errln!(
        "error: `{plant}` did not resolve in {} {}; the findings above say why{}",
        if missing.len() == 1 {
            "environment"
        } else {
            "environments"
        },
        missing.join(", "),
        if shown.is_empty() {
            String::new()
        } else {
            format!(" (shown: {})", shown.join(", "))
        }
    );
    1
}
