//! `blueprint explain PATH[#FIELD]`: the plant, environment and template behind a generated
//! file, and for a field the chain of resolved values down to where each was written
//! (`blueprint_compiler::provenance`). The tree is built in memory, nothing is written.

use crate::OutputFormat;
use crate::out::{errln, out};
use blueprint_cli::build::{Options, build};
use blueprint_compiler::explain::{self, Row};
use blueprint_compiler::lower::Scope;
use blueprint_compiler::provenance::{self, Link};
use serde::Serialize;
use std::path::Path;

/// The top-level directories of a generated tree.
const TOP: &[&str] = &["plants/", "clusters/", "terraform/", "runbooks/", "argocd/"];

/// Whether the `PLANT` argument of `explain` is a generated path: it has a `#FIELD`, or it
/// starts with a top-level directory of the tree and has 3 components or more, or a last
/// component with a `.` (plant and environment names have none, so `lyon/prod` stays a plant).
pub(crate) fn is_path(arg: &str) -> bool {
    arg.contains('#')
        || (TOP.iter().any(|t| arg.starts_with(t))
            && (arg.split('/').count() >= 3
                || arg.rsplit('/').next().is_some_and(|l| l.contains('.'))))
}

#[derive(Serialize)]
struct Recorded {
    field: &'static str,
    source: String,
    transform: provenance::Transform,
}

#[derive(Serialize)]
struct Traced {
    source: String,
    transform: provenance::Transform,
    /// How the value was written (the transform, or the lowering rule for rates).
    written: String,
    chain: Link,
}

#[derive(Serialize)]
struct Field {
    selector: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<Traced>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Serialize)]
struct Report {
    path: String,
    template: String,
    plant: Option<String>,
    env: Option<String>,
    platform: bool,
    cluster: Option<String>,
    source: Option<String>,
    recorded: Vec<Recorded>,
    field: Option<Field>,
}

pub(crate) fn run(dir: &Path, arg: &str, env: Option<&str>, format: OutputFormat) -> u8 {
    if let Some(e) = env {
        errln!("error: `--env {e}` is for `explain PLANT`; a generated path names its environment");
        return 2;
    }
    let (path, selector) = match arg.split_once('#') {
        Some((p, f)) => (p.trim_start_matches("./"), Some(f)),
        None => (arg.trim_start_matches("./"), None),
    };
    if selector == Some("") {
        errln!("error: `{arg}`: no field after `#`");
        return 2;
    }
    let inputs = match blueprint_cli::walk::read_plants(dir) {
        Ok(i) => i,
        Err(e) => return super::super::fail(e),
    };
    let built = build(
        &inputs,
        &Options {
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            templates: None,
            out: None,
            dir: Some(blueprint_cli::walk::display(dir)),
        },
    );
    let c = &built.compilation;
    let Some(ir) = built.ir.as_ref().filter(|_| !built.failed()) else {
        super::super::print_findings(&c.map, &c.diagnostics, OutputFormat::Text);
        errln!(
            "error: the plants in {} do not build; `blueprint check {}` shows why",
            dir.display(),
            dir.display()
        );
        return 1;
    };
    let Some(output) = ir.outputs.iter().find(|o| o.path == path) else {
        let paths: Vec<&str> = ir.outputs.iter().map(|o| o.path.as_str()).collect();
        let hint = blueprint_syntax::decode::suggest(path, &paths)
            .map(|s| format!("; did you mean `{s}`?"))
            .or_else(|| {
                // The generated files of the nearest existing directory.
                let mut d = path;
                while let Some((parent, _)) = d.rsplit_once('/') {
                    let under: Vec<&str> = paths
                        .iter()
                        .copied()
                        .filter(|p| p.starts_with(&format!("{parent}/")))
                        .collect();
                    if !under.is_empty() {
                        let shown = under.iter().take(8).copied().collect::<Vec<_>>().join(", ");
                        let more = if under.len() > 8 { ", …" } else { "" };
                        return Some(format!("\n  generated under {parent}/: {shown}{more}"));
                    }
                    d = parent;
                }
                None
            })
            .unwrap_or_default();
        errln!(
            "error: `{path}` is not a file the plants in {} generate{hint}",
            dir.display()
        );
        return 2;
    };
    let (ctx, cluster) = match output.scope {
        Scope::Plant(i) => (ir.plants.get(i), None),
        Scope::Cluster(i) => (None, ir.clusters.get(i).map(|c| c.name.clone())),
        Scope::Fleet => (None, None),
    };
    let resolved = ctx.and_then(|p| {
        let list = if p.platform { &c.platforms } else { &c.plants };
        list.iter()
            .find(|r| r.name.value == p.name && r.env == p.env)
    });
    let rows: Vec<Row> = resolved
        .map(|r| explain::rows(&c.map, r))
        .unwrap_or_default();
    let mut report = Report {
        path: path.to_string(),
        template: output.template.clone(),
        plant: ctx.map(|p| p.name.clone()),
        env: ctx.map(|p| p.env.clone()),
        platform: ctx.is_some_and(|p| p.platform),
        cluster,
        source: ctx.map(|p| p.file.clone()),
        recorded: provenance::entries_for(path)
            .into_iter()
            .map(|m| Recorded {
                field: m.entry.field,
                source: m.source,
                transform: m.entry.transform,
            })
            .collect(),
        field: None,
    };
    if let Some(selector) = selector {
        let text = built
            .files
            .get(path)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let value = match provenance::field_value(path, &text, selector) {
            Ok(Some(v)) => v,
            Ok(None) => {
                errln!("error: `{path}` has no field `{selector}`");
                if !report.recorded.is_empty() {
                    let fields: Vec<&str> = report.recorded.iter().map(|r| r.field).collect();
                    errln!("  fields with recorded provenance: {}", fields.join(", "));
                }
                return 2;
            }
            Err(e) => {
                errln!("error: {e}");
                return 2;
            }
        };
        let found = provenance::lookup(path, selector)
            .and_then(|m| provenance::row(&rows, &m).map(|r| (m, r)));
        let (traced, note) = match found {
            Some((m, row)) => {
                match provenance::check(m.entry.transform, &row.value, &value, &output.item) {
                    Ok(written) => (
                        Some(Traced {
                            source: m.source.clone(),
                            transform: m.entry.transform,
                            written,
                            chain: provenance::chain(&rows, row),
                        }),
                        None,
                    ),
                    Err(why) => {
                        errln!(
                            "error: `{path}#{selector}` is recorded as {} but {why}; this is a blueprint bug",
                            m.source
                        );
                        return 1;
                    }
                }
            }
            None => (None, Some(no_provenance(&report))),
        };
        report.field = Some(Field {
            selector: selector.to_string(),
            value,
            provenance: traced,
            note,
        });
    }
    match format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report).unwrap_or_default();
            s.push('\n');
            out!("{s}");
        }
        OutputFormat::Text => out!("{}", text(&report)),
    }
    0
}

fn produced_by(r: &Report) -> String {
    match (&r.plant, &r.env, &r.cluster) {
        (Some(p), Some(e), _) if r.platform => {
            format!("the shared platform of cluster {p}, environment {e}")
        }
        (Some(p), Some(e), _) => format!("plant {p}, environment {e}"),
        (_, _, Some(c)) => format!("cluster {c}"),
        _ => "the fleet".into(),
    }
}

fn no_provenance(r: &Report) -> String {
    format!(
        "no provenance recorded for this field; the file was produced by template {} from {}",
        r.template,
        produced_by(r)
    )
}

fn text(r: &Report) -> String {
    let mut s = format!("{}\n  from {}", r.path, produced_by(r));
    if let Some(src) = &r.source {
        s.push_str(&format!(" ({src})"));
    }
    s.push_str(&format!("\n  template {}\n", r.template));
    let Some(f) = &r.field else {
        if r.recorded.is_empty() {
            s.push_str("  no field of this file has recorded provenance\n");
        } else {
            s.push_str("  fields with recorded provenance (explain PATH#FIELD):\n");
            for e in &r.recorded {
                s.push_str(&format!("    {} ← {}\n", e.field, e.source));
            }
        }
        return s;
    };
    s.push_str(&format!("{} = {}\n", f.selector, f.value));
    match &f.provenance {
        Some(t) => {
            if t.transform != provenance::Transform::Same {
                s.push_str(&format!("  written as {}\n", t.written));
            }
            link(&mut s, &t.chain, 1);
        }
        None => s.push_str(&format!("  {}\n", f.note.as_deref().unwrap_or_default())),
    }
    s
}

fn link(s: &mut String, l: &Link, depth: usize) {
    let how = match l.row.origin {
        "plant" | "overlay" => format!("written at {}", l.row.from),
        _ => l.row.from.clone(),
    };
    s.push_str(&format!(
        "{}← {} {}, {how}\n",
        "  ".repeat(depth),
        l.row.field,
        l.row.value
    ));
    for i in &l.inputs {
        link(s, i, depth + 1);
    }
}
