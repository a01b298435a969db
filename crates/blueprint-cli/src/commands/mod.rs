//! One module per subcommand.

pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod diff;
pub(crate) mod explain;
pub(crate) mod init;
pub(crate) mod review_owners;
pub(crate) mod rules;
pub(crate) mod schema;

use crate::out::{err, errln, out};
use blueprint_compiler::Compilation;
use blueprint_diagnostics::{Diagnostic, SourceMap, render_human, render_json};
use std::io::IsTerminal;

/// Prints an environment failure through miette and returns exit code 2.
pub(crate) fn fail(e: impl miette::Diagnostic + Send + Sync + 'static) -> u8 {
    errln!("{:?}", miette::Report::new(e));
    2
}

/// Prints findings: text to stderr (coloured on a terminal unless NO_COLOR), JSON to stdout.
pub(crate) fn print_findings(
    map: &SourceMap,
    diagnostics: &[Diagnostic],
    format: crate::OutputFormat,
) {
    match format {
        crate::OutputFormat::Json => out!("{}", render_json(map, diagnostics)),
        crate::OutputFormat::Text => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            err!("{}", render_human(map, diagnostics, color));
        }
    }
}

/// Compiles a plants directory, or returns the exit code of an I/O failure.
pub(crate) fn compile_dir(dir: &std::path::Path) -> Result<Compilation, u8> {
    compile_dir_counted(dir).map(|(c, _)| c)
}

/// [`compile_dir`], with the number of plant files read.
pub(crate) fn compile_dir_counted(dir: &std::path::Path) -> Result<(Compilation, usize), u8> {
    let inputs = blueprint_cli::walk::read_plants(dir).map_err(fail)?;
    let files = inputs.iter().filter(|i| !i.is_fleet).count();
    Ok((blueprint_compiler::compile(&inputs), files))
}

/// OUT and DIR overlap (exit 2): refused before anything is read or written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(
    code(blueprint::out_overlaps_dir),
    help(
        "write the tree beside the plants directory, not in it or around it: e.g. `blueprint build plants --out gitops`"
    )
)]
pub(crate) struct OutOverlapsDir {
    message: String,
}

/// `path` as the file system will resolve it: absolute, the longest part that exists with its
/// links resolved, the rest (still to be created) with `.` and `..` taken lexically, as
/// `create_dir_all` creates it.
fn resolved(path: &std::path::Path) -> std::path::PathBuf {
    use std::path::{Component, PathBuf};
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let components: Vec<Component<'_>> = absolute.components().collect();
    for split in (0..=components.len()).rev() {
        let head: PathBuf = components[..split].iter().collect();
        let Ok(mut out) = std::fs::canonicalize(&head) else {
            continue;
        };
        for c in &components[split..] {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(name) => out.push(name),
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        return out;
    }
    absolute
}

/// Refuses an OUT that is DIR, is inside it (its generated files would be read as plant files
/// by the next run) or contains it (the tree would be written around, and under `plants/`
/// into, the plant files), before anything is read or written. Both are resolved first, so a
/// link or `..` does not hide the overlap.
pub(crate) fn out_apart_from_dir(dir: &std::path::Path, out: &std::path::Path) -> Result<(), u8> {
    let (d, o) = (resolved(dir), resolved(out));
    let shown_dir = blueprint_cli::walk::display(dir);
    let shown_out = blueprint_cli::walk::display(out);
    let message = if o == d {
        format!(
            "OUT {shown_out} is the plants directory {shown_dir}: the generated tree would be written among the plant files; nothing was read or written"
        )
    } else if o.starts_with(&d) {
        format!(
            "OUT {shown_out} is inside the plants directory {shown_dir}: its generated files would be read as plant files; nothing was read or written"
        )
    } else if d.starts_with(&o) {
        format!(
            "OUT {shown_out} contains the plants directory {shown_dir}: the generated tree (plants/, clusters/, terraform/…) would be written around the plant files, or among them; nothing was read or written"
        )
    } else {
        return Ok(());
    };
    Err(fail(OutOverlapsDir { message }))
}

/// A failure to read or write OUT (exit 2).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct EmitFailure(pub(crate) blueprint_emit::EmitError);

impl miette::Diagnostic for EmitFailure {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("blueprint::output"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(match self.0 {
            blueprint_emit::EmitError::Busy(_) => {
                "wait for the other build to finish (or stop it), then run this one again"
            }
            _ => "check that OUT is a writable directory on a file system with free space",
        }))
    }
}
