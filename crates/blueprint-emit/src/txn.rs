//! The journal that makes a build all or nothing.
//!
//! `OUT/.blueprint-txn/` holds `stage/<n>` (the new contents) and, once everything is staged and
//! synced, `journal.json` (the steps, committed by renaming `journal.json.tmp`). Without a
//! journal nothing under OUT was touched yet; with one, every step is idempotent, so replaying
//! it after a crash ends in the new tree.

use crate::{EmitError, LOCK_FILE, Lock, Payload, TXN_DIR, io};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One step of a committed transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Step {
    /// Rename `stage/<stage>` over `<path>`.
    Put { stage: String, path: String },
    /// Remove `<path>` and the directories it leaves empty.
    Delete { path: String },
}

/// What [`recover`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// No unfinished build.
    Clean,
    /// A build was interrupted before its commit: its staging was discarded; OUT is the old tree.
    RolledBack,
    /// A build was interrupted after its commit: its journal was replayed; OUT is the new tree.
    RolledForward,
}

/// Writes `bytes` to a new file at `path`; durable only once synced (see [`sync_under`]).
pub(crate) fn write_plain(path: &Path, bytes: &[u8]) -> Result<fs::File, EmitError> {
    let mut f = fs::File::create(path).map_err(io("cannot create", path))?;
    f.write_all(bytes).map_err(io("cannot write", path))?;
    Ok(f)
}

/// Writes `bytes` to a new file at `path` and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), EmitError> {
    write_plain(path, bytes)?
        .sync_all()
        .map_err(io("cannot sync", path))
}

/// Makes everything written under `root` durable. On Linux one `syncfs` flushes the file
/// system at once (data, names and directories), which costs one flush instead of one per
/// file; elsewhere each path `touched` lists is synced (a file it wrote, or a directory whose
/// entries it changed; those removed since are skipped), then `root` itself.
fn sync_under(root: &Path, touched: impl FnOnce() -> Vec<PathBuf>) -> Result<(), EmitError> {
    #[cfg(target_os = "linux")]
    {
        let _ = touched;
        let d = fs::File::open(root).map_err(io("cannot open", root))?;
        rustix::fs::syncfs(&d).map_err(|e| io("cannot sync", root)(e.into()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        for path in touched() {
            match fs::metadata(&path) {
                Ok(m) if m.is_dir() => sync_dir(&path),
                Ok(_) => fs::File::open(&path)
                    .and_then(|f| f.sync_all())
                    .map_err(io("cannot sync", &path))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot sync", &path)(e)),
            }
        }
        sync_dir(root);
        Ok(())
    }
}

/// The paths a replay of `steps` changes, for [`sync_under`]: the stage directory renames
/// leave, and the directory of every target with each ancestor up to OUT (a deletion may have
/// removed the ones it left empty, a rename may have created them).
fn touched_by(out: &Path, steps: &[Step]) -> Vec<PathBuf> {
    let mut dirs = std::collections::BTreeSet::new();
    dirs.insert(out.join(TXN_DIR).join("stage"));
    for step in steps {
        let (Step::Put { path, .. } | Step::Delete { path }) = step;
        let target = out.join(path);
        let mut dir = target.parent();
        while let Some(d) = dir.filter(|d| d.starts_with(out) && *d != out) {
            if !dirs.insert(d.to_path_buf()) {
                break;
            }
            dir = d.parent();
        }
    }
    dirs.into_iter().collect()
}

/// Syncs a directory so the renames in it survive a power loss (best effort where the
/// platform cannot open directories).
fn sync_dir(path: &Path) {
    if let Ok(d) = fs::File::open(path) {
        let _ = d.sync_all();
    }
}

/// Stages what is not staged yet, commits and applies one transaction. Callers [`recover`]
/// first; files a [`crate::Stager`] staged are in the stage directory already. A failure before
/// the commit removes the transaction directory (best effort): OUT is the old tree, with no
/// staging left behind.
pub(crate) fn run(
    out: &Path,
    write: Vec<(String, Payload)>,
    delete: Vec<String>,
    lock: &Lock,
) -> Result<(), EmitError> {
    let txn = out.join(TXN_DIR);
    if txn.join("journal.json").exists() {
        return Err(EmitError::BadLock {
            path: txn.join("journal.json"),
            why: "an interrupted build is unfinished: recover first".into(),
        });
    }
    let steps = match commit(&txn, write, delete, lock) {
        Ok(steps) => steps,
        Err(e) => {
            let _ = fs::remove_dir_all(&txn);
            return Err(e);
        }
    };
    replay(out, &steps)?;
    finish(out)
}

/// Stages, syncs and commits the journal of one transaction; returns its steps.
fn commit(
    txn: &Path,
    write: Vec<(String, Payload)>,
    delete: Vec<String>,
    lock: &Lock,
) -> Result<Vec<Step>, EmitError> {
    let stage = txn.join("stage");
    fs::create_dir_all(&stage).map_err(io("cannot create", &stage))?;
    let mut steps = Vec::with_capacity(write.len() + delete.len() + 1);
    for (n, (path, payload)) in write.into_iter().enumerate() {
        let name = match payload {
            Payload::Bytes(bytes) => {
                let name = format!("b{n}");
                write_plain(&stage.join(&name), &bytes)?;
                name
            }
            // A replay takes a missing stage file for one already moved: refuse it now.
            Payload::Staged(name) => {
                let staged = stage.join(&name);
                fs::metadata(&staged).map_err(io("cannot find staged", &staged))?;
                name
            }
        };
        steps.push(Step::Put { stage: name, path });
    }
    steps.extend(delete.into_iter().map(|path| Step::Delete { path }));
    write_plain(&stage.join("lock"), &lock.to_bytes())?;
    // The lock goes last: until it is replaced, the old lock still describes what is owned.
    steps.push(Step::Put {
        stage: "lock".into(),
        path: LOCK_FILE.into(),
    });
    // Every staged byte is durable before the journal that points at it.
    sync_under(txn, || {
        let mut touched: Vec<PathBuf> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Put { stage: name, .. } => Some(stage.join(name)),
                Step::Delete { .. } => None,
            })
            .collect();
        touched.push(stage.clone());
        touched
    })?;
    let journal = serde_json::to_vec_pretty(&steps).map_err(|e| EmitError::BadLock {
        path: txn.join("journal.json"),
        why: e.to_string(),
    })?;
    let tmp = txn.join("journal.json.tmp");
    write_synced(&tmp, &journal)?;
    // The commit point.
    fs::rename(&tmp, txn.join("journal.json")).map_err(io("cannot commit", txn))?;
    sync_dir(txn);
    Ok(steps)
}

/// Performs the steps; each is idempotent, so a replay after a crash is safe.
fn replay(out: &Path, steps: &[Step]) -> Result<(), EmitError> {
    let stage = out.join(TXN_DIR).join("stage");
    for step in steps {
        match step {
            Step::Put { stage: name, path } => {
                let from = stage.join(name);
                if !from.exists() {
                    continue; // already moved
                }
                let to = out.join(path);
                if let Some(parent) = to.parent() {
                    fs::create_dir_all(parent).map_err(io("cannot create", parent))?;
                }
                fs::rename(&from, &to).map_err(io("cannot replace", &to))?;
            }
            Step::Delete { path } => {
                let target = out.join(path);
                match fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io("cannot delete", &target)(e)),
                }
                // Remove the directories the deletion left empty, up to OUT.
                let mut dir = target.parent();
                while let Some(d) = dir {
                    if d == out || fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
            }
        }
    }
    // Every rename is durable before the journal that would replay it is removed.
    sync_under(out, || touched_by(out, steps))
}

fn finish(out: &Path) -> Result<(), EmitError> {
    let txn = out.join(TXN_DIR);
    fs::remove_dir_all(&txn).map_err(io("cannot remove", &txn))?;
    sync_dir(out);
    Ok(())
}

/// Finishes (after its commit) or discards (before it) a build that was interrupted.
pub fn recover(out: &Path) -> Result<Recovery, EmitError> {
    let txn = out.join(TXN_DIR);
    if !txn.exists() {
        return Ok(Recovery::Clean);
    }
    let journal = txn.join("journal.json");
    match fs::read(&journal) {
        Ok(bytes) => {
            let steps: Vec<Step> =
                serde_json::from_slice(&bytes).map_err(|e| EmitError::BadLock {
                    path: journal.clone(),
                    why: format!("unreadable journal: {e}"),
                })?;
            replay(out, &steps)?;
            finish(out)?;
            Ok(Recovery::RolledForward)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            finish(out)?;
            Ok(Recovery::RolledBack)
        }
        Err(e) => Err(io("cannot read", &journal)(e)),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Stops a transaction at a chosen point, as a crash would.
    use super::{Step, io, sync_dir, write_synced};
    use crate::{EmitError, LOCK_FILE, Lock, TXN_DIR};
    use std::path::Path;

    /// How far an interrupted build got.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum CrashAt {
        /// Some files staged, no journal.
        WhileStaging,
        /// Journal committed, `applied` steps performed.
        AfterCommit { applied: usize },
    }

    pub(crate) fn crash(
        out: &Path,
        write: Vec<(String, Option<crate::Payload>)>,
        delete: Vec<String>,
        lock: &Lock,
        at: CrashAt,
    ) -> Result<(), EmitError> {
        let txn = out.join(TXN_DIR);
        let stage = txn.join("stage");
        std::fs::create_dir_all(&stage).map_err(io("cannot create", &stage))?;
        let mut steps = Vec::new();
        for (n, (path, payload)) in write.into_iter().enumerate() {
            let Some(crate::Payload::Bytes(bytes)) = payload else {
                panic!("tests stage bytes");
            };
            write_synced(&stage.join(n.to_string()), &bytes)?;
            steps.push(Step::Put {
                stage: n.to_string(),
                path,
            });
            if matches!(at, CrashAt::WhileStaging) {
                return Ok(());
            }
        }
        steps.extend(delete.into_iter().map(|path| Step::Delete { path }));
        write_synced(&stage.join("lock"), &lock.to_bytes())?;
        steps.push(Step::Put {
            stage: "lock".into(),
            path: LOCK_FILE.into(),
        });
        let journal = serde_json::to_vec_pretty(&steps).expect("steps serialise");
        write_synced(&txn.join("journal.json"), &journal)?;
        sync_dir(&txn);
        if let CrashAt::AfterCommit { applied } = at {
            super::replay(out, &steps[..applied.min(steps.len())])?;
        }
        Ok(())
    }
}
