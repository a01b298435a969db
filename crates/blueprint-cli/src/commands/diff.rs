//! `blueprint diff [DIR] [--out OUT] [--base REF | --lock] [--format text|markdown|json]
//! [--exit-code]`.
//!
//! Exit 0 (or, with `--exit-code`, 1 when anything differs), 1 when the current plants have
//! findings, 2 for usage and I/O failures or a base that does not compile.

use crate::out::{errln, out};
use blueprint_cli::build::Options;
use blueprint_cli::diff::{self, Attribution, Cause, DiffError, EnvReport, FileDiff, Report};
use blueprint_compiler::review::{EnvStatus, FileChange, Risk};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    /// For the terminal (coloured on a terminal unless NO_COLOR).
    Text,
    /// To paste as a pull-request comment (under GitHub's 65 536 characters).
    Markdown,
    /// For bots (docs/review.md).
    Json,
}

/// Arguments of `diff`.
pub(crate) struct Args<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) out: &'a Path,
    pub(crate) base: Option<&'a str>,
    pub(crate) lock: bool,
    pub(crate) format: DiffFormat,
    pub(crate) exit_code: bool,
    pub(crate) jobs: usize,
}

/// GitHub refuses comments longer than this.
const COMMENT_LIMIT: usize = 65_536;

pub(crate) fn run(a: &Args<'_>) -> u8 {
    // OUT is read (its lock and files), never written, but one inside DIR would be read as
    // plants, and one around it is a layout `build` refuses.
    if let Err(code) = super::out_apart_from_dir(a.dir, a.out) {
        return code;
    }
    let options = Options {
        threads: a.jobs,
        dir: Some(blueprint_cli::walk::display(a.dir)),
        ..Options::default()
    };
    let inputs = match blueprint_cli::walk::read_plants(a.dir) {
        Ok(i) => i,
        Err(e) => return super::fail(e),
    };
    let after = match diff::side_of(&inputs, &options) {
        Ok(s) => s,
        Err(built) => {
            super::print_findings(
                &built.compilation.map,
                &built.compilation.diagnostics,
                crate::OutputFormat::Text,
            );
            errln!("the plants have errors: nothing to compare");
            return 1;
        }
    };
    // The base: a revision given, or (unless --lock) the merge base with the default branch;
    // OUT's lock outside git.
    let revision = match (a.base, a.lock) {
        (Some(rev), _) => match blueprint_cli::gitbase::resolve(a.dir, rev) {
            Ok(c) => Some((rev.to_string(), c)),
            Err(e) => return super::fail(e),
        },
        (None, false) => blueprint_cli::gitbase::default_base(a.dir)
            .map(|(branch, c)| (format!("merge-base of {branch} and HEAD"), c)),
        (None, true) => None,
    };
    let (base, before, drift, before_inputs) = match revision {
        Some((rev, commit)) => {
            let inputs = match blueprint_cli::gitbase::read_inputs_at(a.dir, &commit) {
                Ok(i) => i,
                Err(e) => return super::fail(e),
            };
            let short: String = commit.chars().take(12).collect();
            // Hand edits in OUT are reported against any base, when OUT has a lock.
            let drift = match diff::drift_of(a.out) {
                Ok(d) => d,
                Err(e) => return super::fail(e),
            };
            match diff::side_of(&inputs, &options) {
                Ok(s) => (format!("git {rev} ({short})"), s, drift, Some(inputs)),
                Err(built) => {
                    return super::fail(DiffError::BaseFails {
                        base: format!("{rev} ({short})"),
                        errors: built.compilation.diagnostics.len(),
                    });
                }
            }
        }
        None => match diff::side_of_out(a.out) {
            Ok((s, drift)) => (
                format!("{}/blueprint.lock", a.out.display()),
                s,
                drift,
                None,
            ),
            Err(e) => return super::fail(e),
        },
    };
    let mut report = diff::compare(base, &before, &after, drift);
    if let Some(before_inputs) = &before_inputs {
        diff::attribute(&mut report, before_inputs, &inputs, &options);
    }
    match a.format {
        DiffFormat::Json => out!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
        DiffFormat::Markdown => out!("{}", markdown(&report)),
        DiffFormat::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            out!("{}", text(&report, color));
        }
    }
    u8::from(a.exit_code && report.has_changes())
}

fn change_mark(c: FileChange) -> &'static str {
    match c {
        FileChange::Added => "A",
        FileChange::Changed => "M",
        FileChange::Deleted => "D",
    }
}

fn lines(f: &FileDiff) -> String {
    match (f.added_lines, f.removed_lines) {
        (0, 0) => String::new(),
        (a, 0) => format!("+{a}"),
        (0, r) => format!("−{r}"),
        (a, r) => format!("+{a} −{r}"),
    }
}

fn status(e: &EnvReport) -> &'static str {
    match e.intent.status {
        EnvStatus::Added => "added",
        EnvStatus::Removed => "removed",
        EnvStatus::Changed => "changed",
    }
}

fn files_summary(files: &[FileDiff]) -> String {
    let count = |c: FileChange| files.iter().filter(|f| f.change == c).count();
    let added: usize = files.iter().map(|f| f.added_lines).sum();
    let removed: usize = files.iter().map(|f| f.removed_lines).sum();
    format!(
        "{} files: {} added, {} changed, {} deleted (+{added} −{removed} lines)",
        files.len(),
        count(FileChange::Added),
        count(FileChange::Changed),
        count(FileChange::Deleted)
    )
}

/// What a cause is, in one line: its edits (or, from the lock, what kind of change it is) and
/// the fields it changed.
fn cause_label(e: &EnvReport, c: &Cause) -> String {
    // `file:13 (+1 −2), :42 (+3)`: the file is named once for its run of edits.
    let edits: Vec<String> = c
        .edits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let lines = match (d.added_lines, d.removed_lines) {
                (a, 0) => format!("+{a}"),
                (0, r) => format!("−{r}"),
                (a, r) => format!("+{a} −{r}"),
            };
            let same_file = i > 0 && c.edits[i - 1].file == d.file;
            let file = if same_file { "" } else { d.file.as_str() };
            format!("{file}:{} ({lines})", d.line)
        })
        .collect();
    let what = match (c.attribution, edits.is_empty()) {
        (_, true) if e.intent.status != EnvStatus::Changed => format!("environment {}", status(e)),
        (Attribution::Combined, true) => {
            "values written in several places (not split without --base)".to_string()
        }
        (_, true) => "one written value".to_string(),
        (Attribution::Replayed, false) => format!("{} alone", edits.join(", ")),
        (Attribution::Combined, false) if edits.len() > 1 => {
            format!("{} together", edits.join(", "))
        }
        (_, false) => edits.join(", "),
    };
    if e.intent.status != EnvStatus::Changed {
        return what;
    }
    format!("{what} → {}", c.fields.join(", "))
}

/// Whether the environment's files are split among causes (its total is then worth a line).
fn several_causes(e: &EnvReport) -> bool {
    e.causes.iter().filter(|c| !c.files.is_empty()).count() > 1
        || (e.causes.is_empty() && !e.files.is_empty())
}

/// A cause's files, as the environment lists them.
fn cause_files<'a>(e: &'a EnvReport, c: &Cause) -> Vec<&'a FileDiff> {
    e.files
        .iter()
        .filter(|f| c.files.contains(&f.path))
        .collect()
}

fn painted(risk: Risk, color: bool) -> String {
    let code = match risk {
        Risk::High => "1;31",
        Risk::Medium => "33",
        Risk::Low => "36",
        Risk::None => "2",
    };
    if color {
        format!("\x1b[{code}m{:<6}\x1b[0m", risk.as_str())
    } else {
        format!("{:<6}", risk.as_str())
    }
}

/// The terminal report.
fn text(r: &Report, color: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "compared with {}: {} plant environments change, risk {}",
        r.base,
        r.envs.len(),
        r.risk.as_str()
    );
    if !r.has_changes() {
        let _ = writeln!(s, "no change: the output is byte-identical");
        return s;
    }
    if !r.approvers.is_empty() {
        let _ = writeln!(s, "approvers: {}", r.approvers.join(", "));
    }
    let _ = writeln!(s);
    for e in &r.envs {
        let _ = writeln!(
            s,
            "{} {}/{} ({}): {}",
            painted(e.intent.risk, color),
            e.intent.plant,
            e.intent.env,
            status(e),
            e.intent.reason
        );
    }
    for e in &r.envs {
        let _ = writeln!(
            s,
            "\n{}/{} — {} ({})",
            e.intent.plant,
            e.intent.env,
            e.intent.risk.as_str(),
            e.intent.file
        );
        if !e.approvers.is_empty() {
            let _ = writeln!(s, "  approvers: {}", e.approvers.join(", "));
        }
        for c in &e.intent.changes {
            let before = c.before.as_deref().unwrap_or("(none)");
            let after = c.after.as_deref().unwrap_or("(none)");
            let _ = writeln!(
                s,
                "  {} {}: {before} → {after}  [{}] {}",
                painted(c.risk, color),
                c.field,
                c.rule,
                c.reason
            );
            if let Some(from) = &c.after_from.as_ref().or(c.before_from.as_ref()) {
                let _ = writeln!(s, "         from {from}");
            }
        }
        if several_causes(e) {
            let _ = writeln!(s, "  {}", files_summary(&e.files));
        }
        for c in &e.causes {
            let files = cause_files(e, c);
            if files.is_empty() {
                let _ = writeln!(s, "  ← {}: no file by itself", cause_label(e, c));
                continue;
            }
            let files: Vec<FileDiff> = files.into_iter().cloned().collect();
            let _ = writeln!(s, "  ← {}: {}", cause_label(e, c), files_summary(&files));
            for f in &files {
                file_line(&mut s, f, color);
            }
        }
    }
    if !r.other_files.is_empty() {
        let _ = writeln!(s, "\nother files — {}", files_summary(&r.other_files));
        for f in &r.other_files {
            file_line(&mut s, f, color);
        }
    }
    if !r.drift.is_empty() {
        let _ = writeln!(s, "\nhand edits in OUT (drift):");
        for d in &r.drift {
            let _ = writeln!(
                s,
                "  {}: lock {}, on disk {}",
                d.path,
                d.locked,
                d.actual.as_deref().unwrap_or("(missing)")
            );
        }
    }
    s
}

fn file_line(s: &mut String, f: &FileDiff, color: bool) {
    let _ = write!(s, "    {} {} ({})", change_mark(f.change), f.path, lines(f));
    if f.rule != "intent" {
        let _ = write!(
            s,
            "  {} [{}] {}",
            painted(f.risk, color).trim_end(),
            f.rule,
            f.reason
        );
    }
    s.push('\n');
}

fn md_cell(v: &str) -> String {
    v.replace('|', "\\|").replace('\n', " ")
}

/// Forge handles as code, so a pasted comment does not notify (ping) every team it names.
fn md_handles(h: &[String]) -> String {
    if h.is_empty() {
        return "—".to_string();
    }
    h.iter()
        .map(|x| format!("`{}`", md_cell(x)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One environment's collapsible section: fields, then (unless `with_files` is off) files.
fn md_env(e: &EnvReport, with_fields: bool, with_files: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<details><summary><b>{}/{}</b> — {} — {}</summary>\n",
        md_cell(&e.intent.plant),
        md_cell(&e.intent.env),
        e.intent.risk.as_str(),
        md_cell(&e.intent.reason)
    );
    if with_fields {
        let _ = writeln!(s, "| field | before | after | risk | rule | origin |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for c in &e.intent.changes {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | `{}` | {} |",
                md_cell(&c.field),
                md_cell(c.before.as_deref().unwrap_or("—")),
                md_cell(c.after.as_deref().unwrap_or("—")),
                c.risk.as_str(),
                c.rule,
                md_cell(
                    c.after_from
                        .as_deref()
                        .or(c.before_from.as_deref())
                        .unwrap_or("")
                )
            );
        }
        s.push('\n');
    }
    if several_causes(e) {
        let _ = writeln!(s, "{}\n", files_summary(&e.files));
    }
    for c in &e.causes {
        let files: Vec<FileDiff> = cause_files(e, c).into_iter().cloned().collect();
        let summary = if files.is_empty() {
            "no file by itself".to_string()
        } else {
            files_summary(&files)
        };
        let _ = writeln!(s, "← {}: {summary}\n", md_cell(&cause_label(e, c)));
        if with_files && !files.is_empty() {
            for f in &files {
                let _ = write!(
                    s,
                    "- `{}` `{}` ({})",
                    change_mark(f.change),
                    f.path,
                    lines(f)
                );
                if f.rule != "intent" {
                    let _ = write!(
                        s,
                        " — {} `{}`: {}",
                        f.risk.as_str(),
                        f.rule,
                        md_cell(&f.reason)
                    );
                }
                s.push('\n');
            }
            s.push('\n');
        }
    }
    s.push_str("</details>\n\n");
    s
}

/// The pull-request comment: a summary table, then a collapsible section per environment,
/// kept under GitHub's limit by leaving out detail of the lowest classes first.
fn markdown(r: &Report) -> String {
    let mut head = String::new();
    let _ = writeln!(
        head,
        "### blueprint diff: risk **{}**\n\nCompared with `{}`.\n",
        r.risk.as_str(),
        md_cell(&r.base)
    );
    if !r.has_changes() {
        head.push_str("No change: the output is byte-identical.\n");
        return head;
    }
    if !r.approvers.is_empty() {
        let _ = writeln!(head, "Approvers: {}\n", md_handles(&r.approvers));
    }
    let _ = writeln!(
        head,
        "| plant | env | risk | what changed | files | approvers |"
    );
    let _ = writeln!(head, "|---|---|---|---|---|---|");
    for e in &r.envs {
        let _ = writeln!(
            head,
            "| {} | {} | {} | {} ({}) | {} | {} |",
            md_cell(&e.intent.plant),
            md_cell(&e.intent.env),
            e.intent.risk.as_str(),
            md_cell(&e.intent.reason),
            status(e),
            e.files.len(),
            md_handles(&e.approvers)
        );
    }
    head.push('\n');
    let mut tail = String::new();
    if !r.other_files.is_empty() {
        let _ = writeln!(
            tail,
            "<details><summary>Other files — {}</summary>\n",
            files_summary(&r.other_files)
        );
        for f in &r.other_files {
            let _ = writeln!(
                tail,
                "- `{}` `{}` ({}) — {} `{}`: {}",
                change_mark(f.change),
                f.path,
                lines(f),
                f.risk.as_str(),
                f.rule,
                md_cell(&f.reason)
            );
        }
        tail.push_str("\n</details>\n\n");
    }
    if !r.drift.is_empty() {
        let _ = writeln!(tail, "**Hand edits in OUT (drift):**\n");
        for d in &r.drift {
            let _ = writeln!(
                tail,
                "- `{}`: lock `{}`, on disk `{}`",
                d.path,
                d.locked,
                d.actual.as_deref().unwrap_or("missing")
            );
        }
        tail.push('\n');
    }
    // Detail levels per environment: 2 fields and files, 1 fields only, 0 the summary line.
    let mut level: Vec<u8> = vec![2; r.envs.len()];
    // Lowest class first, and among equals the last ones first.
    let mut order: Vec<usize> = (0..r.envs.len()).collect();
    order.sort_by(|x, y| {
        r.envs[*x]
            .intent
            .risk
            .cmp(&r.envs[*y].intent.risk)
            .then(y.cmp(x))
    });
    let render = |level: &[u8]| -> String {
        let mut body = String::new();
        for (e, l) in r.envs.iter().zip(level) {
            body.push_str(&md_env(e, *l >= 1, *l >= 2));
        }
        body
    };
    // Room for the note below and for what a bot puts around the comment (a marker to find
    // it again, a header): 1 KiB.
    let note_room = 1024;
    let mut body = render(&level);
    let mut left_out = 0;
    'shrink: for target in [1u8, 0] {
        for &i in &order {
            if head.len() + body.len() + tail.len() + note_room <= COMMENT_LIMIT {
                break 'shrink;
            }
            if level[i] > target {
                level[i] = target;
                left_out += 1;
                body = render(&level);
            }
        }
    }
    let mut s = head;
    s.push_str(&body);
    s.push_str(&tail);
    if left_out > 0 {
        let _ = writeln!(
            s,
            "_Detail of the lowest-risk environments was left out to stay under GitHub's comment \
             limit ({left_out} sections shortened); `blueprint diff` shows it all._"
        );
    }
    s
}
