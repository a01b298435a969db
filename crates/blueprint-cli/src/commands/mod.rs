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
