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
    self, EnvDiff, EnvModel, EnvStatus, FileChange, OutputRisk, Risk,
};
use blueprint_emit::{LOCK_FILE, LOCK_VERSION, Lock, sha256_hex};
use serde::Serialize;
use std::collections::BTreeMap;
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
        return Ok(Side::default());
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
    })
}

fn read_models(lock: &Lock, path: &str) -> Result<BTreeMap<String, EnvModel>, DiffError> {
    lock.models
        .iter()
        .map(|(dir, v)| {
            serde_json::from_value::<EnvModel>(v.clone())
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
    Ok((
        Side {
            models,
            files,
            review: None,
        },
        drift,
    ))
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
            },
        );
    }
    let mut other_files = Vec::new();
    let paths: std::collections::BTreeSet<&String> =
        before.files.keys().chain(after.files.keys()).collect();
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
                let u = review::unexplained_output(path, change);
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

/// Whether an environment was removed (its files are what removal deletes).
#[must_use]
pub fn removed(e: &EnvReport) -> bool {
    e.intent.status == EnvStatus::Removed
}
