//! `blueprint diff`: what a change of the plants does, at two linked levels — the intent (each
//! changed field of each plant environment's resolved model, with its origin and risk class)
//! and the output (each generated file added, changed or deleted, with line counts), each file
//! listed under the environment whose directory holds it.
//!
//! The "before" side is either the plants at a git revision, compiled and rendered in memory
//! ([`Before::Git`]), or what OUT holds: the models recorded in `blueprint.lock` and the files
//! on disk, whose hashes are checked against the lock (a mismatch is drift, a hand edit).

use crate::build::{Options, build};
use blueprint_compiler::Input;
use blueprint_compiler::fleet::ReviewPolicy;
use blueprint_compiler::review::{
    self, EnvDiff, EnvModel, EnvStatus, FileChange, IntentChange, OutputRisk, Risk,
};
use blueprint_emit::{LOCK_FILE, LOCK_VERSION, Lock, sha256_hex};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The version of the JSON shape of [`Report`] (docs/review.md).
pub const REPORT_VERSION: u32 = 1;

/// One side of the comparison: resolved models by output directory, and generated files.
#[derive(Debug, Default)]
pub struct Side {
    /// Models by directory (`plants/<plant>/<env>`, `clusters/<cluster>/platform`).
    pub models: BTreeMap<String, EnvModel>,
    /// Generated files by path relative to OUT.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The fleet's `[review]` policy (a compiled side whose fleet has the table; the lock
    /// does not record it).
    pub review: Option<ReviewPolicy>,
    /// What generated it (`blueprint <version>`): this binary for a compiled side, the lock's
    /// generator for OUT.
    pub generator: String,
}

/// A generated file whose bytes on disk are not those the lock recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Path relative to OUT.
    pub path: String,
    /// sha256 the lock recorded.
    pub locked: String,
    /// sha256 of the file on disk; `None` when it is missing.
    pub actual: Option<String>,
}

/// One generated file that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    /// Path relative to OUT.
    pub path: String,
    /// Added, changed or deleted.
    pub change: FileChange,
    /// Lines only after.
    pub added_lines: usize,
    /// Lines only before.
    pub removed_lines: usize,
    /// The class of the change: an output rule's, or the environment's intent when none
    /// applies, or `unexplained-output` for a file no change explains.
    pub risk: Risk,
    /// The rule that classified it (`intent` when its environment's changes do).
    pub rule: String,
    /// One line.
    pub reason: String,
}

/// One plant environment that changed, with the files it caused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvReport {
    /// The intent level.
    #[serde(flatten)]
    pub intent: EnvDiff,
    /// Its directory (`plants/<plant>/<env>`).
    pub dir: String,
    /// The generated files under its directories (`<dir>/`, `terraform/<dir>/`) and its
    /// plant's runbook that differ.
    pub files: Vec<FileDiff>,
    /// Who must approve it: the forge handles `[review]` maps its class to, `owner` being
    /// the plant's owner team (empty without a policy).
    pub approvers: Vec<String>,
    /// What caused which of its files: each edit (or written value) with the fields it
    /// changed and the files it changed (see [`attribute`]).
    pub causes: Vec<Cause>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// What was compared with: `git <commit>` or `blueprint.lock`.
    pub base: String,
    /// The highest class of everything below; `none` when the output is byte-identical.
    pub risk: Risk,
    /// Changed plant environments, highest class first, then by plant and environment.
    pub envs: Vec<EnvReport>,
    /// Changed files no plant environment's directory holds (clusters, modules, Argo CD root).
    pub other_files: Vec<FileDiff>,
    /// Hand edits found in OUT (only without a git base).
    pub drift: Vec<Drift>,
    /// Who must approve the whole change: the union of the environments' approvers and, for
    /// other files and drift, the groups of their class (empty without a policy).
    pub approvers: Vec<String>,
}

impl Report {
    /// Whether anything differs (for `--exit-code`).
    #[must_use]
    pub fn has_changes(&self) -> bool {
        !self.envs.is_empty() || !self.other_files.is_empty() || !self.drift.is_empty()
    }
}

/// Why a side could not be produced.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiffError {
    /// The plants at the base revision do not compile.
    #[error("the plants at {base} do not compile ({errors} errors)")]
    #[diagnostic(
        code(blueprint::diff_base),
        help("compare with a revision whose plants pass `blueprint check`, or without --base")
    )]
    BaseFails {
        /// The revision.
        base: String,
        /// How many errors.
        errors: usize,
    },
    /// OUT has no lock to compare with.
    #[error("{0} has no blueprint.lock to compare with")]
    #[diagnostic(
        code(blueprint::diff_lock),
        help("run `blueprint build` first, or compare with a git revision: --base origin/main")
    )]
    NoLock(String),
    /// The lock is of an older format without models.
    #[error("{path} is a version {version} lock, without the resolved models diff compares")]
    #[diagnostic(
        code(blueprint::diff_lock),
        help("rebuild once with this blueprint, or compare with a git revision: --base REF")
    )]
    OldLock {
        /// The lock.
        path: String,
        /// Its version.
        version: u32,
    },
    /// Reading OUT failed.
    #[error(transparent)]
    #[diagnostic(code(blueprint::output))]
    Emit(#[from] blueprint_emit::EmitError),
    /// A model in the lock does not read back.
    #[error("{path}: model {dir} does not read back: {why}")]
    #[diagnostic(
        code(blueprint::diff_lock),
        help("rebuild once with this blueprint, or compare with a git revision")
    )]
    BadModel {
        /// The lock.
        path: String,
        /// The model's directory.
        dir: String,
        /// serde's message.
        why: String,
    },
}

/// The side a set of inputs compiles and renders to (an empty side for no plant file at all);
/// the build, with its findings, when they do not compile, render or verify.
pub fn side_of(inputs: &[Input], options: &Options) -> Result<Side, Box<crate::build::Built>> {
    if inputs.iter().all(|i| i.is_fleet) {
        return Ok(Side {
            generator: crate::build::generator(),
            ..Side::default()
        });
    }
    let built = build(inputs, options);
    if built.failed() {
        return Err(Box::new(built));
    }
    let models = read_models(&built.lock, "").unwrap_or_default();
    Ok(Side {
        models,
        files: built.files,
        review: built
            .compilation
            .fleet
            .as_ref()
            .and_then(|f| f.review.clone()),
        generator: crate::build::generator(),
    })
}

fn read_models(lock: &Lock, path: &str) -> Result<BTreeMap<String, EnvModel>, DiffError> {
    lock.models
        .iter()
        .map(|(dir, v)| {
            serde_json::from_str::<EnvModel>(v.json())
                .map(|m| (dir.clone(), m))
                .map_err(|e| DiffError::BadModel {
                    path: path.to_string(),
                    dir: dir.clone(),
                    why: e.to_string(),
                })
        })
        .collect()
}

/// The side OUT holds: the lock's models and the files it lists as they are on disk, with
/// every file whose bytes are not the locked ones reported as drift.
pub fn side_of_out(out: &Path) -> Result<(Side, Vec<Drift>), DiffError> {
    let lock_path = out.join(LOCK_FILE);
    let shown = lock_path.display().to_string();
    let lock =
        Lock::read(&lock_path)?.ok_or_else(|| DiffError::NoLock(out.display().to_string()))?;
    if lock.version < LOCK_VERSION {
        return Err(DiffError::OldLock {
            path: shown,
            version: lock.version,
        });
    }
    let models = read_models(&lock, &shown)?;
    let (files, drift) = read_locked_files(out, &lock)?;
    Ok((
        Side {
            models,
            files,
            review: None,
            generator: lock.generator.clone(),
        },
        drift,
    ))
}

/// The hand edits in OUT: files whose bytes are not those its lock (of any version) records.
/// None when OUT has no lock.
pub fn drift_of(out: &Path) -> Result<Vec<Drift>, DiffError> {
    match Lock::read(&out.join(LOCK_FILE))? {
        Some(lock) => Ok(read_locked_files(out, &lock)?.1),
        None => Ok(Vec::new()),
    }
}

/// Generated files by path relative to OUT.
type Files = BTreeMap<String, Vec<u8>>;

/// The files a lock lists as they are on disk, and those that differ from it.
fn read_locked_files(out: &Path, lock: &Lock) -> Result<(Files, Vec<Drift>), DiffError> {
    let mut files = BTreeMap::new();
    let mut drift = Vec::new();
    for (path, locked) in &lock.files {
        match std::fs::read(out.join(path)) {
            Ok(bytes) => {
                let actual = sha256_hex(&bytes);
                if &actual != locked {
                    drift.push(Drift {
                        path: path.clone(),
                        locked: locked.clone(),
                        actual: Some(actual),
                    });
                }
                files.insert(path.clone(), bytes);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => drift.push(Drift {
                path: path.clone(),
                locked: locked.clone(),
                actual: None,
            }),
            Err(e) => {
                return Err(DiffError::Emit(blueprint_emit::EmitError::Io {
                    action: "cannot read",
                    path: out.join(path),
                    source: e,
                }));
            }
        }
    }
    Ok((files, drift))
}

fn utf8(v: Option<&Vec<u8>>) -> Option<&str> {
    v.and_then(|v| std::str::from_utf8(v).ok())
}

/// Lines only after and only before.
fn line_counts(before: &[u8], after: &[u8]) -> (usize, usize) {
    let (b, a) = (
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after),
    );
    let diff = similar::TextDiff::from_lines(b.as_ref(), a.as_ref());
    let (mut added, mut removed) = (0, 0);
    for op in diff.ops() {
        for change in diff.iter_changes(op) {
            match change.tag() {
                similar::ChangeTag::Insert => added += 1,
                similar::ChangeTag::Delete => removed += 1,
                similar::ChangeTag::Equal => {}
            }
        }
    }
    (added, removed)
}

/// What a model directory owns among the generated files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Owner {
    /// `plants/<plant>/<env>` or `clusters/<cluster>/platform`.
    dir: String,
    /// The plant.
    plant: String,
    /// The cluster the environment has to itself (tenancy `dedicated-cluster` or
    /// `dedicated-environment` on either side):
    /// its `clusters/<cluster>/` files are the environment's too.
    cluster: Option<String>,
}

impl Owner {
    fn of(dir: &str, m: &EnvModel) -> Self {
        let value = |field: &str| {
            m.rows
                .iter()
                .find(|r| r.field == field)
                .map(|r| r.value.as_str())
        };
        Owner {
            dir: dir.to_string(),
            plant: m.plant.clone(),
            cluster: matches!(
                value("tenancy"),
                Some("dedicated-cluster" | "dedicated-environment")
            )
            .then(|| value("namespace").map(str::to_string))
            .flatten(),
        }
    }

    /// Whether a generated file is this environment's: under `<dir>/`, `terraform/<dir>/` or
    /// its own cluster's `clusters/<cluster>/`, or its plant's runbook (`runbooks/<plant>.md`,
    /// shared by the plant's environments: each changed one lists it).
    fn owns(&self, path: &str) -> bool {
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
        };
        under(&self.dir)
            || path.strip_prefix("terraform/").is_some_and(|p| {
                p.strip_prefix(self.dir.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            })
            || self
                .cluster
                .as_ref()
                .is_some_and(|c| under(&format!("clusters/{c}")))
            || (self.dir.starts_with("plants/") && path == format!("runbooks/{}.md", self.plant))
    }
}

/// Compares two sides.
#[must_use]
pub fn compare(base: String, before: &Side, after: &Side, drift: Vec<Drift>) -> Report {
    let before_models: Vec<EnvModel> = before.models.values().cloned().collect();
    let after_models: Vec<EnvModel> = after.models.values().cloned().collect();
    let intents = review::diff_intent(&before_models, &after_models);
    // What each model directory (either side) owns.
    let mut owners: Vec<Owner> = before
        .models
        .iter()
        .chain(&after.models)
        .map(|(d, m)| Owner::of(d, m))
        .collect();
    owners.sort();
    owners.dedup();
    let dir_of = |plant: &str, env: &str| {
        after
            .models
            .iter()
            .chain(&before.models)
            .find(|(_, m)| m.plant == plant && m.env == env)
            .map(|(d, _)| d.clone())
    };
    let mut envs: BTreeMap<String, EnvReport> = BTreeMap::new();
    for intent in intents {
        let Some(dir) = dir_of(&intent.plant, &intent.env) else {
            continue;
        };
        envs.insert(
            dir.clone(),
            EnvReport {
                intent,
                dir,
                files: Vec::new(),
                approvers: Vec::new(),
                causes: Vec::new(),
            },
        );
    }
    let mut other_files = Vec::new();
    let paths: BTreeSet<&String> = before.files.keys().chain(after.files.keys()).collect();
    for path in paths {
        let (b, a) = (before.files.get(path), after.files.get(path));
        let change = match (b, a) {
            (None, Some(_)) => FileChange::Added,
            (Some(_), None) => FileChange::Deleted,
            (Some(x), Some(y)) if x != y => FileChange::Changed,
            _ => continue,
        };
        let (added_lines, removed_lines) = line_counts(
            b.map_or(&[][..], Vec::as_slice),
            a.map_or(&[][..], Vec::as_slice),
        );
        let rule = review::classify_output(path, change, utf8(b), utf8(a));
        let mut explained: Vec<&str> = owners
            .iter()
            .filter(|o| o.owns(path) && envs.contains_key(&o.dir))
            .map(|o| o.dir.as_str())
            .collect();
        explained.dedup();
        let file = |risk: Risk, rule: String, reason: String| FileDiff {
            path: path.clone(),
            change,
            added_lines,
            removed_lines,
            risk,
            rule,
            reason,
        };
        let diff = match (rule, explained.first()) {
            (Some(OutputRisk { risk, rule, reason }), _) => file(risk, rule.into(), reason),
            (None, Some(dir)) => {
                let e = &envs[*dir].intent;
                file(e.risk, "intent".into(), e.reason.clone())
            }
            (None, None) => {
                let u = if before.generator == after.generator {
                    review::unexplained_output(path, change)
                } else {
                    review::template_output(path, &before.generator, &after.generator)
                };
                file(u.risk, u.rule.into(), u.reason)
            }
        };
        if explained.is_empty() {
            other_files.push(diff);
        } else {
            for dir in explained {
                if let Some(e) = envs.get_mut(dir) {
                    e.files.push(diff.clone());
                }
            }
        }
    }
    let mut envs: Vec<EnvReport> = envs.into_values().collect();
    for e in &mut envs {
        platform_wording(e);
        e.causes = causes_by_location(e);
        class_by_cause(e);
        // An output rule can raise the environment's class (a deleted volume, a middleware).
        if let Some(top) = e.files.iter().max_by_key(|f| f.risk)
            && top.risk > e.intent.risk
        {
            e.intent.risk = top.risk;
            e.intent.reason = format!("{}; {}", top.reason, e.intent.reason);
        }
    }
    envs.sort_by(|a, b| {
        b.intent
            .risk
            .cmp(&a.intent.risk)
            .then_with(|| a.intent.plant.cmp(&b.intent.plant))
            .then_with(|| a.intent.env.cmp(&b.intent.env))
    });
    let risk = envs
        .iter()
        .map(|e| e.intent.risk)
        .chain(other_files.iter().map(|f| f.risk))
        .chain((!drift.is_empty()).then_some(Risk::High))
        .max()
        .unwrap_or(Risk::None);
    let mut approvers: Vec<String> = Vec::new();
    // The base's policy and owners when it has them, as a forge reads CODEOWNERS from the base
    // branch: a change does not choose its own reviewers.
    if let Some(policy) = before.review.as_ref().or(after.review.as_ref()) {
        // A shared cluster's platform (`clusters/<cluster>/platform`) has no owner team.
        let owner_team = |dir: &str| {
            if !dir.starts_with("plants/") {
                return None;
            }
            before
                .models
                .get(dir)
                .or_else(|| after.models.get(dir))
                .and_then(|m| m.rows.iter().find(|r| r.field == "owner.team"))
                .map(|r| r.value.clone())
        };
        for e in &mut envs {
            e.approvers = policy.approvers(e.intent.risk, owner_team(&e.dir).as_deref());
        }
        // Files no environment owns and drift have no owner team: the class's other groups.
        let shared = other_files
            .iter()
            .map(|f| f.risk)
            .chain((!drift.is_empty()).then_some(Risk::High))
            .max()
            .unwrap_or(Risk::None);
        let all = envs
            .iter()
            .flat_map(|e| e.approvers.iter().cloned())
            .chain(policy.approvers(shared, None));
        for h in all {
            if !approvers.contains(&h) {
                approvers.push(h);
            }
        }
    }
    Report {
        version: REPORT_VERSION,
        base,
        risk,
        envs,
        other_files,
        drift,
        approvers,
    }
}

/// A shared cluster's platform (`clusters/<cluster>/platform`) is compiled as a plant named
/// after the cluster; added or removed, it is said to be the platform, not a plant.
fn platform_wording(e: &mut EnvReport) {
    let Some(cluster) = e
        .dir
        .strip_prefix("clusters/")
        .and_then(|d| d.strip_suffix("/platform"))
    else {
        return;
    };
    let reason = match e.intent.status {
        EnvStatus::Added => format!("new shared platform of cluster {cluster}"),
        EnvStatus::Removed => format!("shared platform of cluster {cluster} removed"),
        EnvStatus::Changed => return,
    };
    if let Some(first) = e
        .intent
        .changes
        .iter_mut()
        .find(|c| c.field == "environment")
    {
        first.reason.clone_from(&reason);
    }
    e.intent.reason = match e.intent.changes.len() {
        0 | 1 => reason,
        n => format!(
            "{reason}; {} more change{}",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    };
}

/// Whether an environment was removed (its files are what removal deletes).
#[must_use]
pub fn removed(e: &EnvReport) -> bool {
    e.intent.status == EnvStatus::Removed
}

/// An edit of an input file: one run of changed lines (a hunk without context).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// The input file, as findings name it.
    pub file: String,
    /// Its first line after the change, from 1 (for lines only removed, the line that now
    /// stands where they were).
    pub line: usize,
    /// Lines only after.
    pub added_lines: usize,
    /// Lines only before.
    pub removed_lines: usize,
}

/// How a [`Cause`]'s files were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attribution {
    /// The environment's changes have one cause (one edit, or one written value, or the
    /// environment added or removed): every file of the environment is its.
    Sole,
    /// The edit was applied alone to the base revision and compiled: these are the fields and
    /// files it changes by itself.
    Replayed,
    /// Not split: edits that compile only together (a tenancy and the network it needs), or
    /// files only the edits together change, or, without a git base, an environment whose
    /// changes were written in several places (the lock holds no plant file to replay).
    Combined,
}

/// One cause of an environment's changes: the edit(s), the changed fields they made and the
/// generated files they changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// How its files were found.
    pub attribution: Attribution,
    /// The input edits (only with a git base).
    pub edits: Vec<Edit>,
    /// The environment's changed fields it made, in the order of the environment's changes.
    pub fields: Vec<String>,
    /// The environment's changed files it changed (paths, as in the environment's `files`).
    pub files: Vec<String>,
}

/// The causes of an environment's changes without the input files: one [`Attribution::Sole`]
/// cause when the environment was added or removed or its changes trace to at most one
/// written place (a line of a plant or fleet file; values derived from it and tier defaults
/// it selects follow it), else one [`Attribution::Combined`] cause.
fn causes_by_location(e: &EnvReport) -> Vec<Cause> {
    let written: BTreeSet<(&str, u32)> = e
        .intent
        .changes
        .iter()
        .filter_map(|c| c.location.as_ref())
        .filter(|l| !l.file.starts_with("<embedded>"))
        .map(|l| (l.file.as_str(), l.line))
        .collect();
    let attribution = if e.intent.status != EnvStatus::Changed || written.len() <= 1 {
        Attribution::Sole
    } else {
        Attribution::Combined
    };
    vec![Cause {
        attribution,
        edits: Vec::new(),
        fields: e.intent.changes.iter().map(|c| c.field.clone()).collect(),
        files: e.files.iter().map(|f| f.path.clone()).collect(),
    }]
}

/// A hunk of an input file and the text of the file with only that hunk applied.
struct Hunk {
    edit: Edit,
    /// The base's text with this hunk alone applied.
    alone: Vec<u8>,
    /// The text after the change with this hunk alone undone.
    without: Vec<u8>,
}

/// The hunks (runs of changed lines) from `before` to `after`; `None` when either is not
/// UTF-8.
fn hunks(file: &str, before: &[u8], after: &[u8]) -> Option<Vec<Hunk>> {
    let (b, a) = (
        std::str::from_utf8(before).ok()?,
        std::str::from_utf8(after).ok()?,
    );
    let old: Vec<&str> = b.split_inclusive('\n').collect();
    let new: Vec<&str> = a.split_inclusive('\n').collect();
    let diff = similar::TextDiff::from_slices(&old, &new);
    let mut out = Vec::new();
    for group in diff.grouped_ops(0) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let o = first.old_range().start..last.old_range().end;
        let n = first.new_range().start..last.new_range().end;
        let mut alone = String::with_capacity(b.len() + a.len() / 8);
        for l in old[..o.start]
            .iter()
            .chain(&new[n.clone()])
            .chain(&old[o.end..])
        {
            alone.push_str(l);
        }
        let mut without = String::with_capacity(a.len());
        for l in new[..n.start]
            .iter()
            .chain(&old[o.clone()])
            .chain(&new[n.end..])
        {
            without.push_str(l);
        }
        out.push(Hunk {
            edit: Edit {
                file: file.to_string(),
                line: n.start + 1,
                added_lines: n.len(),
                removed_lines: o.len(),
            },
            alone: alone.into_bytes(),
            without: without.into_bytes(),
        });
    }
    Some(out)
}

/// At most this many edits are replayed for one plant; beyond, its environments' files are
/// not split ([`Attribution::Combined`]).
const MAX_REPLAYS: usize = 24;

/// Links each changed environment's files to the edits that caused them, when the plant files
/// of both sides are at hand (a git base). An environment whose plant and fleet files differ
/// by one edit gets that edit as its sole cause. With several, each edit is replayed: applied
/// alone to the base's fleet and plant file, compiled and rendered (the other plants left out:
/// a plant's own files do not depend on them, and both renderings being of the same inputs
/// but one edit keeps the comparison exact). The fields and files an edit changes by itself are
/// its; what only the edits together change, and edits that do not compile alone, form one
/// combined cause.
pub fn attribute(report: &mut Report, before: &[Input], after: &[Input], options: &Options) {
    let text_of = |inputs: &[Input], path: &str| {
        inputs
            .iter()
            .find(|i| i.path == path)
            .map(|i| i.bytes.clone())
    };
    let fleets: BTreeSet<&str> = before
        .iter()
        .chain(after)
        .filter(|i| i.is_fleet)
        .map(|i| i.path.as_str())
        .collect();
    // Hunks by input file: `None` when it is on one side only or not UTF-8.
    let mut by_file: BTreeMap<String, Option<Vec<Hunk>>> = BTreeMap::new();
    // Per plant file: its changed environments and the inputs that can cause their changes.
    let mut plants: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, e) in report.envs.iter().enumerate() {
        if e.intent.status == EnvStatus::Changed {
            plants.entry(e.intent.file.clone()).or_default().push(i);
        }
    }
    for (plant_file, envs) in plants {
        let sources: Vec<String> = fleets
            .iter()
            .map(|s| (*s).to_string())
            .chain(std::iter::once(plant_file.clone()))
            .collect();
        for s in &sources {
            by_file.entry(s.clone()).or_insert_with(|| {
                match (text_of(before, s), text_of(after, s)) {
                    (Some(b), Some(a)) => hunks(s, &b, &a),
                    (None, None) => Some(Vec::new()),
                    _ => None,
                }
            });
        }
        let edits: Option<Vec<&Hunk>> = sources
            .iter()
            .map(|s| by_file.get(s).and_then(Option::as_ref))
            .try_fold(Vec::new(), |mut all, h| {
                all.extend(h?);
                Some(all)
            });
        let Some(edits) = edits else {
            continue; // a file on one side only (moved or renamed): not split
        };
        let total = edits.len();
        if total == 1 {
            for &i in &envs {
                let e = &mut report.envs[i];
                e.causes = vec![Cause {
                    attribution: Attribution::Sole,
                    edits: vec![edits[0].edit.clone()],
                    fields: e.intent.changes.iter().map(|c| c.field.clone()).collect(),
                    files: e.files.iter().map(|f| f.path.clone()).collect(),
                }];
            }
            continue;
        }
        if total == 0 || total > MAX_REPLAYS {
            continue;
        }
        let base: Vec<Input> = before
            .iter()
            .filter(|i| sources.contains(&i.path))
            .cloned()
            .collect();
        let Ok(base_side) = side_of(&base, options) else {
            continue;
        };
        // `inputs` with one file's text replaced.
        let with = |inputs: &[Input], file: &str, bytes: &[u8]| -> Vec<Input> {
            inputs
                .iter()
                .map(|i| {
                    if i.path == file {
                        Input {
                            bytes: bytes.to_vec(),
                            ..i.clone()
                        }
                    } else {
                        i.clone()
                    }
                })
                .collect()
        };
        let replays: Vec<(&Hunk, Option<Side>)> = edits
            .iter()
            .map(|h| {
                (
                    *h,
                    side_of(&with(&base, &h.edit.file, &h.alone), options).ok(),
                )
            })
            .collect();
        // Each edit undone from the change: whether an edit that changes nothing alone is
        // needed by what the edits change together.
        let now: Vec<Input> = after
            .iter()
            .filter(|i| sources.contains(&i.path))
            .cloned()
            .collect();
        let Ok(now_side) = side_of(&now, options) else {
            continue;
        };
        let omissions: Vec<Option<Side>> = edits
            .iter()
            .map(|h| side_of(&with(&now, &h.edit.file, &h.without), options).ok())
            .collect();
        let sides = Sides {
            base: &base_side,
            now: &now_side,
            replays: &replays,
            omissions: &omissions,
        };
        for &i in &envs {
            let e = &mut report.envs[i];
            e.causes = split(e, &sides);
            class_by_cause(e);
        }
    }
}

/// A file the environment's intent classifies (rule `intent`) takes the class of the causes
/// that change it: the highest change among their fields, instead of the environment's.
fn class_by_cause(e: &mut EnvReport) {
    for f in &mut e.files {
        if f.rule != "intent" {
            continue;
        }
        let top = e
            .causes
            .iter()
            .filter(|c| c.files.contains(&f.path))
            .flat_map(|c| &c.fields)
            .filter_map(|field| e.intent.changes.iter().find(|c| &c.field == field))
            .fold(None, |best: Option<&IntentChange>, c| match best {
                Some(b) if b.risk >= c.risk => Some(b),
                _ => Some(c),
            });
        if let Some(top) = top {
            f.risk = top.risk;
            f.reason.clone_from(&top.reason);
        }
    }
}

/// What [`split`] compares: the base and the change rendered from the plant's own inputs,
/// each edit applied alone to the base, and each edit undone from the change (`None` where
/// that does not compile).
struct Sides<'a> {
    base: &'a Side,
    now: &'a Side,
    replays: &'a [(&'a Hunk, Option<Side>)],
    omissions: &'a [Option<Side>],
}

/// The causes of one environment from the replays of its edits.
fn split(e: &EnvReport, sides: &Sides<'_>) -> Vec<Cause> {
    let (base, replays) = (sides.base, sides.replays);
    let model = |side: &Side| {
        side.models
            .values()
            .find(|m| m.plant == e.intent.plant && m.env == e.intent.env)
            .cloned()
    };
    let base_model: Vec<EnvModel> = model(base).into_iter().collect();
    let mut causes = Vec::new();
    // Edits that do not compile alone, and those that change nothing of this environment
    // alone but without which the change is another for it: they cause the rest together.
    let mut together = Vec::new();
    // Values only: undoing an edit moves the lines of what follows it.
    let values = |m: Option<EnvModel>| -> Vec<(String, String)> {
        m.map(|m| m.rows.into_iter().map(|r| (r.field, r.value)).collect())
            .unwrap_or_default()
    };
    let now_values = values(model(sides.now));
    let needed = |k: usize| match sides.omissions.get(k).and_then(Option::as_ref) {
        None => true,
        Some(without) => {
            values(model(without)) != now_values
                || e.files
                    .iter()
                    .any(|f| without.files.get(&f.path) != sides.now.files.get(&f.path))
        }
    };
    for (k, (hunk, side)) in replays.iter().enumerate() {
        let Some(side) = side else {
            together.push(hunk.edit.clone());
            continue;
        };
        let changed: BTreeSet<String> =
            review::diff_intent(&base_model, &model(side).into_iter().collect::<Vec<_>>())
                .into_iter()
                .flat_map(|d| d.changes.into_iter().map(|c| c.field))
                .collect();
        let fields: Vec<String> = e
            .intent
            .changes
            .iter()
            .filter(|c| changed.contains(&c.field))
            .map(|c| c.field.clone())
            .collect();
        let files: Vec<String> = e
            .files
            .iter()
            .filter(|f| base.files.get(&f.path) != side.files.get(&f.path))
            .map(|f| f.path.clone())
            .collect();
        if fields.is_empty() {
            // The edit changes nothing of this environment alone: it is another environment's
            // (its changes to a file they share, the plant's runbook, are listed there), only
            // a comment, or part of what the edits change together.
            if needed(k) {
                together.push(hunk.edit.clone());
            }
            continue;
        }
        causes.push(Cause {
            attribution: Attribution::Replayed,
            edits: vec![hunk.edit.clone()],
            fields,
            files,
        });
    }
    let covered = |pick: fn(&Cause) -> &Vec<String>, x: &String| {
        causes.iter().any(|c: &Cause| pick(c).contains(x))
    };
    let fields: Vec<String> = e
        .intent
        .changes
        .iter()
        .map(|c| c.field.clone())
        .filter(|f| !covered(|c| &c.fields, f))
        .collect();
    let files: Vec<String> = e
        .files
        .iter()
        .map(|f| f.path.clone())
        .filter(|p| !covered(|c| &c.files, p))
        .collect();
    if !fields.is_empty() || !files.is_empty() {
        // The edits that bear on this environment: those that change something of it alone,
        // and those it needs together.
        let mut edits: Vec<Edit> = causes.iter().flat_map(|c| c.edits.clone()).collect();
        edits.extend(together);
        if edits.is_empty() {
            edits = replays.iter().map(|(h, _)| h.edit.clone()).collect();
        }
        edits.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        causes.push(Cause {
            attribution: Attribution::Combined,
            edits,
            fields,
            files,
        });
    }
    causes
}
