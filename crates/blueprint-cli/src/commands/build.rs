//! `blueprint build [DIR] [--out OUT] [--check] [--force] [--allow-destroy]`.

use crate::OutputFormat;
use crate::out::{errln, outln};
use blueprint_cli::build::{Options, build_into};
use blueprint_emit::Stager;
use std::io::IsTerminal;
use std::path::Path;

/// Arguments of `build`.
pub(crate) struct Args<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) out: &'a Path,
    pub(crate) check: bool,
    pub(crate) force: bool,
    pub(crate) allow_destroy: bool,
    pub(crate) max_deletions: usize,
    pub(crate) blueprints: Option<&'a Path>,
    pub(crate) jobs: usize,
    pub(crate) format: OutputFormat,
}

pub(crate) fn run(a: &Args<'_>) -> u8 {
    let progress = std::io::stderr().is_terminal() && a.format == OutputFormat::Text;
    if let Err(code) = super::out_apart_from_dir(a.dir, a.out) {
        return code;
    }
    let inputs = match blueprint_cli::walk::read_plants(a.dir) {
        Ok(i) => i,
        Err(e) => return super::fail(e),
    };
    let templates = match a.blueprints {
        Some(dir) => match blueprint_cli::walk::read_templates(dir) {
            Ok(t) => Some(t),
            Err(e) => return super::fail(e),
        },
        None => None,
    };
    // OUT is held for this build (a second one is refused), then an interrupted build is
    // finished or rolled back before this one reads OUT. `--check` stages nothing.
    let stager = if a.check {
        None
    } else {
        match Stager::new(a.out) {
            Ok(s) => Some(s),
            Err(e) => return super::fail(crate::commands::EmitFailure(e)),
        }
    };
    if stager.is_some() {
        let recovered = blueprint_emit::recover(a.out);
        match recovered {
            Ok(blueprint_emit::Recovery::Clean) => {}
            Ok(blueprint_emit::Recovery::RolledBack) => errln!(
                "{}: an interrupted build had not committed; its staging was discarded",
                a.out.display()
            ),
            Ok(blueprint_emit::Recovery::RolledForward) => errln!(
                "{}: an interrupted build had committed; it was finished",
                a.out.display()
            ),
            Err(e) => {
                // OUT as it was: a directory this build created goes again.
                if let Some(s) = stager {
                    let _ = s.discard();
                }
                return super::fail(crate::commands::EmitFailure(e));
            }
        }
    }
    if progress {
        crate::out::err!("building {} input files…\r", inputs.len());
    }
    let built = build_into(
        &inputs,
        &Options {
            threads: a.jobs,
            templates,
            dir: Some(blueprint_cli::walk::display(a.dir)),
            out: Some(a.out.to_path_buf()),
        },
        stager.as_ref(),
    );
    if progress {
        crate::out::err!("\x1b[2K");
    }
    let discard = |stager: Option<Stager>| {
        if let Some(s) = stager
            && let Err(e) = s.discard()
        {
            errln!("{}: {e}", a.out.display());
        }
    };
    let c = &built.compilation;
    // A clean build says so in its summary line; findings (warnings too) are printed first.
    if !c.diagnostics.is_empty() || a.format == OutputFormat::Json {
        super::print_findings(&c.map, &c.diagnostics, a.format);
    }
    if let Some(e) = built.io_error {
        discard(stager);
        return super::fail(crate::commands::EmitFailure(e));
    }
    if built.failed() {
        discard(stager);
        errln!("nothing written to {}", a.out.display());
        return 1;
    }
    let files = built.entries.len();
    let mut strays = match blueprint_cli::build::strays(a.out, &built.entries) {
        Ok(s) => s,
        Err(e) => {
            discard(stager);
            return super::fail(crate::commands::EmitFailure(e));
        }
    };
    let plan = match blueprint_emit::plan_entries(a.out, built.entries, built.lock) {
        Ok(p) => p,
        Err(e) => {
            discard(stager);
            return super::fail(crate::commands::EmitFailure(e));
        }
    };
    // A file the previous build wrote and this one does not is the plan's to delete.
    strays.retain(|p| !plan.delete.contains(p));
    if a.check {
        if plan.is_current() && strays.is_empty() && !a.out.join(blueprint_emit::TXN_DIR).exists() {
            errln!("{} is current: {files} files", a.out.display());
            return 0;
        }
        for (path, _) in &plan.write {
            outln!("differs: {path}");
        }
        if plan.lock_changes {
            outln!("differs: {}", blueprint_emit::LOCK_FILE);
        }
        for path in &plan.delete {
            outln!("would delete: {path}");
        }
        for h in &plan.hand_edited {
            outln!(
                "edited by hand: {} (expected sha256 {}, found {})",
                h.path,
                h.expected,
                h.found
            );
        }
        for path in &strays {
            outln!("not generated: {path}");
        }
        let mut fix = vec!["run `blueprint build`".to_string()];
        if !plan.hand_edited.is_empty() {
            fix = vec![
                "restore the files edited by hand, or run `blueprint build --force` to overwrite them"
                    .to_string(),
            ];
        }
        if !strays.is_empty() {
            fix.push(format!(
                "remove the files blueprint did not generate from {}'s generated directories (Argo CD and Terraform would apply them)",
                a.out.display()
            ));
        }
        errln!(
            "{} is not what the plants compile to: {}",
            a.out.display(),
            fix.join("; ")
        );
        return 1;
    }
    for path in &strays {
        errln!("warning: not generated by blueprint, left as it is: {path}");
    }
    let destroys = blueprint_cli::build::stateful_deletions(&plan);
    let too_many = plan.delete.len() > a.max_deletions;
    if (!destroys.is_empty() || too_many) && !a.allow_destroy {
        discard(stager);
        for p in &destroys {
            errln!("would delete stateful object: {p}");
        }
        if too_many {
            for p in &plan.delete {
                errln!("would delete: {p}");
            }
            errln!(
                "refusing to delete {} generated files (more than --max-deletions {}); nothing written. Check that the plants directory is complete, then rerun with --allow-destroy",
                plan.delete.len(),
                a.max_deletions
            );
        }
        if !destroys.is_empty() {
            errln!(
                "refusing to delete stateful objects; nothing written. Take a verified final backup, then rerun with --allow-destroy"
            );
        }
        return 1;
    }
    match blueprint_emit::apply(a.out, plan, a.force) {
        Ok(s) => {
            errln!(
                "{}: {} written, {} unchanged, {} deleted",
                a.out.display(),
                s.written,
                s.unchanged,
                s.deleted
            );
            0
        }
        Err(refused @ blueprint_emit::EmitError::Refused { .. }) => {
            discard(stager);
            errln!("{refused}");
            errln!("nothing written: restore those files, or rerun with --force to overwrite them");
            1
        }
        Err(e) => super::fail(crate::commands::EmitFailure(e)),
    }
}
