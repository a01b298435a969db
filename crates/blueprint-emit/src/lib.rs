//! The only writer under OUT (DESIGN §6): what blueprint owns there is replaced as a whole or
//! not at all, and nothing else is touched.
//!
//! 1. [`recover`] finishes or rolls back a build that was interrupted (`kill -9`, power loss):
//!    every build calls it first, so no one has to clean up by hand.
//! 2. [`Stager`] stages each rendered file that differs from OUT in `OUT/.blueprint-txn/` as
//!    the build produces it; a failed build discards the staging, leaving OUT as it was.
//! 3. [`plan_entries`] compares the rendered files (their sha256, and where staged, their
//!    staging) with OUT and with `blueprint.lock` (the files the previous build wrote and their
//!    sha256): what to write, what is unchanged (and so keeps its mtime), what to prune, which
//!    generated files were edited by hand, and which paths would overwrite a file blueprint
//!    does not own.
//! 4. [`apply`] writes through a journal: what is not staged yet is staged, then the journal
//!    is committed with one atomic rename, then each staged file is renamed over its target
//!    and pruned files are removed, and `blueprint.lock` last. Before the commit the old tree
//!    is intact and recovery (or the failing build itself) discards the staging; after it,
//!    recovery replays the journal, whose steps are idempotent, to the new tree.

#![allow(clippy::disallowed_methods)] // this crate is the writer the lint keeps everyone else from being

mod lock;
mod txn;

pub use lock::{LOCK_VERSION, Lock, Model, sha256_hex};
pub use txn::{Recovery, recover};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Name of the lock file at the top of OUT.
pub const LOCK_FILE: &str = "blueprint.lock";
/// Directory of an unfinished transaction at the top of OUT.
pub const TXN_DIR: &str = ".blueprint-txn";

/// A failure of the environment or a refusal to write (the CLI exits 2 or 1).
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// Reading or writing OUT failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `blueprint.lock` is not a lock blueprint wrote.
    #[error("{path} is not a blueprint lock file: {why}")]
    BadLock {
        /// Where.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A rendered path that cannot be written safely (a bug in the templates).
    #[error("refusing to write outside the output tree: `{0}`")]
    BadPath(String),
    /// Another build holds OUT (it is writing it): this one writes nothing.
    #[error("{} is being written by another blueprint build; nothing was written", .0.display())]
    Busy(PathBuf),
    /// Generated files were edited by hand, or rendered paths would overwrite files
    /// blueprint does not own; nothing was written.
    #[error("{}", refusal_text(.hand_edited, .unowned))]
    Refused {
        /// Generated files whose content is not what blueprint wrote.
        hand_edited: Vec<HandEdit>,
        /// Paths to be written that hold a file blueprint did not write.
        unowned: Vec<String>,
    },
}

fn refusal_text(hand_edited: &[HandEdit], unowned: &[String]) -> String {
    let mut lines = Vec::new();
    for h in hand_edited {
        lines.push(format!(
            "{} was edited by hand (expected sha256 {}, found {})",
            h.path, h.expected, h.found
        ));
    }
    for u in unowned {
        lines.push(format!("{u} exists and was not written by blueprint"));
    }
    lines.join("\n")
}

/// A generated file whose content changed since blueprint wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandEdit {
    /// Path relative to OUT.
    pub path: String,
    /// The sha256 blueprint wrote.
    pub expected: String,
    /// The sha256 found, or `deleted`.
    pub found: String,
}

/// What a build changes in OUT.
#[derive(Debug, Default)]
pub struct Plan {
    /// Files to write (new or changed), sorted by path, with their content (`None` when the
    /// build did not keep it: `build --check`, which writes nothing).
    pub write: Vec<(String, Option<Payload>)>,
    /// Files already as rendered: not rewritten, their mtime stays.
    pub unchanged: Vec<String>,
    /// Files the previous build wrote and this one does not produce.
    pub delete: Vec<String>,
    /// Generated files edited by hand since the previous build.
    pub hand_edited: Vec<HandEdit>,
    /// Rendered paths that would overwrite a file blueprint does not own.
    pub unowned: Vec<String>,
    /// The lock this build writes.
    pub lock: Lock,
    /// Whether the lock on disk differs from [`Plan::lock`].
    pub lock_changes: bool,
}

impl Plan {
    /// Whether OUT already is what the plants compile to (`build --check`).
    #[must_use]
    pub fn is_current(&self) -> bool {
        self.write.is_empty()
            && self.delete.is_empty()
            && self.hand_edited.is_empty()
            && !self.lock_changes
    }
}

/// Counts of an applied plan: the one line a build ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files written.
    pub written: usize,
    /// Files left as they were.
    pub unchanged: usize,
    /// Files pruned.
    pub deleted: usize,
}

/// Checks that a rendered path stays inside OUT and is not one of blueprint's own.
fn check_path(path: &str) -> Result<(), EmitError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.contains('\0'))
        || path == LOCK_FILE
        || path.split('/').next() == Some(TXN_DIR);
    if bad {
        Err(EmitError::BadPath(path.to_string()))
    } else {
        Ok(())
    }
}

pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EmitError {
    let path = path.to_path_buf();
    move |source| EmitError::Io {
        action,
        path,
        source,
    }
}

/// The sha256 of a file on disk, `None` when it does not exist.
pub fn file_sha(path: &Path) -> Result<Option<String>, EmitError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(sha256_hex(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read", path)(e)),
    }
}

/// The content of a file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// The bytes, staged when the plan is applied.
    Bytes(Vec<u8>),
    /// Already staged by a [`Stager`] under this name.
    Staged(String),
}

/// A file a build produced, as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// sha256 of the new content.
    pub sha: String,
    /// sha256 of the file in OUT when the producer already read it (`Some(None)`: absent);
    /// `None`: the plan reads it.
    pub disk: Option<Option<String>>,
    /// The content, when the file may need writing.
    pub payload: Option<Payload>,
}

/// Compares the files a build produced with OUT and its lock. `lock` is the new lock without
/// its `files` (they are filled in here from `entries`).
pub fn plan_entries(
    out: &Path,
    entries: BTreeMap<String, Entry>,
    mut lock: Lock,
) -> Result<Plan, EmitError> {
    for path in entries.keys() {
        check_path(path)?;
    }
    let old = Lock::read(&out.join(LOCK_FILE))?;
    let none = BTreeMap::new();
    let owned = old.as_ref().map_or(&none, |l| &l.files);
    let mut p = Plan::default();
    lock.files = entries
        .iter()
        .map(|(path, e)| (path.clone(), e.sha.clone()))
        .collect();
    // Each file on disk is read at most once: here, or by the producer of its entry.
    let mut on_disk: BTreeMap<String, Option<String>> = BTreeMap::new();
    let disk = |path: &str| -> Result<Option<String>, EmitError> {
        match entries.get(path).and_then(|e| e.disk.clone()) {
            Some(known) => Ok(known),
            None => file_sha(&out.join(path)),
        }
    };
    for (path, expected) in owned {
        let found = disk(path)?;
        on_disk.insert(path.clone(), found.clone());
        match found {
            Some(found) if &found == expected => {}
            // Edited into exactly what this build renders: nothing is lost.
            Some(found) if lock.files.get(path) == Some(&found) => {}
            Some(found) => p.hand_edited.push(HandEdit {
                path: path.clone(),
                expected: expected.clone(),
                found,
            }),
            None => p.hand_edited.push(HandEdit {
                path: path.clone(),
                expected: expected.clone(),
                found: "deleted".into(),
            }),
        }
        if !entries.contains_key(path) {
            p.delete.push(path.clone());
        }
    }
    let mut found_new = Vec::with_capacity(entries.len());
    for path in entries.keys() {
        found_new.push(match on_disk.remove(path) {
            Some(found) => found,
            None => disk(path)?,
        });
    }
    for ((path, entry), found) in entries.into_iter().zip(found_new) {
        match (&found, owned.get(&path)) {
            (Some(found), _) if *found == entry.sha => p.unchanged.push(path),
            (Some(_), None) => {
                p.unowned.push(path.clone());
                p.write.push((path, entry.payload));
            }
            _ => p.write.push((path, entry.payload)),
        }
    }
    p.lock_changes = old.as_ref() != Some(&lock);
    p.lock = lock;
    Ok(p)
}

/// Stages files in `OUT/.blueprint-txn/stage/` while a build renders them, so that a build
/// never holds the whole tree in memory. Until [`apply`] commits, OUT is the old tree: a
/// failed build calls [`Stager::discard`], a killed one is rolled back by [`recover`].
///
/// A stager holds OUT for its build: an exclusive `flock` on the OUT directory, taken when it
/// is made and released when it is dropped (or the process dies, `kill -9` included), so two
/// builds never write one OUT at once: the second gets [`EmitError::Busy`]. Make it before
/// [`recover`]: a running build's staging is not an interrupted one's.
#[derive(Debug)]
pub struct Stager {
    out: PathBuf,
    /// The outermost of OUT and its ancestors that did not exist yet: the stager created them
    /// and [`Stager::discard`] removes them when nothing else was put in them.
    created: Option<PathBuf>,
    /// The open OUT directory, locked.
    _held: std::fs::File,
}

impl Stager {
    /// Creates OUT if needed and locks it for this build; [`EmitError::Busy`] when another
    /// build holds it.
    pub fn new(out: &Path) -> Result<Self, EmitError> {
        let created = out
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        std::fs::create_dir_all(out).map_err(io("cannot create", out))?;
        let held = std::fs::File::open(out).map_err(io("cannot open", out))?;
        match rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Err(EmitError::Busy(out.to_path_buf())),
            Err(e) => {
                return Err(EmitError::Io {
                    action: "cannot lock",
                    path: out.to_path_buf(),
                    source: e.into(),
                });
            }
        }
        Ok(Self {
            out: out.to_path_buf(),
            created,
            _held: held,
        })
    }

    /// Stages `bytes` under `name` (unique within the build).
    pub fn stage(&self, name: &str, bytes: &[u8]) -> Result<(), EmitError> {
        let stage = self.out.join(TXN_DIR).join("stage");
        std::fs::create_dir_all(&stage).map_err(io("cannot create", &stage))?;
        txn::write_plain(&stage.join(name), bytes).map(drop)
    }

    /// Removes what was staged, and OUT and the parents the build created (when nothing else
    /// was put in them): OUT is left exactly as it was.
    pub fn discard(self) -> Result<(), EmitError> {
        let txn = self.out.join(TXN_DIR);
        if txn.exists() {
            std::fs::remove_dir_all(&txn).map_err(io("cannot remove", &txn))?;
        }
        if let Some(created) = &self.created {
            for dir in self.out.ancestors() {
                if std::fs::remove_dir(dir).is_err() || dir == created {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Applies a plan all or nothing. Refuses (and writes nothing) when files were edited by hand
/// or unowned files would be overwritten, unless `force`.
pub fn apply(out: &Path, plan: Plan, force: bool) -> Result<Summary, EmitError> {
    if !force && (!plan.hand_edited.is_empty() || !plan.unowned.is_empty()) {
        return Err(EmitError::Refused {
            hand_edited: plan.hand_edited,
            unowned: plan.unowned,
        });
    }
    let summary = Summary {
        written: plan.write.len(),
        unchanged: plan.unchanged.len(),
        deleted: plan.delete.len(),
    };
    if plan.write.is_empty() && plan.delete.is_empty() && !plan.lock_changes {
        // Nothing to write; what the stager may have staged (files equal to OUT's) goes.
        let txn = out.join(TXN_DIR);
        if txn.exists() {
            std::fs::remove_dir_all(&txn).map_err(io("cannot remove", &txn))?;
        }
        return Ok(summary);
    }
    let mut write = Vec::with_capacity(plan.write.len());
    for (path, payload) in plan.write {
        match payload {
            Some(p) => write.push((path, p)),
            None => return Err(EmitError::BadPath(format!("{path} (no content to write)"))),
        }
    }
    txn::run(out, write, plan.delete, &plan.lock)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::testing::{CrashAt, crash};
    use std::fs;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        entries
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    fn lock() -> Lock {
        Lock {
            version: 1,
            generator: "blueprint test".into(),
            ..Lock::default()
        }
    }

    /// [`plan_entries`] for files held in memory, staged when the plan is applied.
    fn plan(out: &Path, files: BTreeMap<String, Vec<u8>>, lock: Lock) -> Result<Plan, EmitError> {
        let entries = files
            .into_iter()
            .map(|(path, bytes)| {
                let entry = Entry {
                    sha: sha256_hex(&bytes),
                    disk: None,
                    payload: Some(Payload::Bytes(bytes)),
                };
                (path, entry)
            })
            .collect();
        plan_entries(out, entries, lock)
    }

    fn build(out: &Path, entries: &[(&str, &str)], force: bool) -> Result<Summary, EmitError> {
        recover(out)?;
        apply(out, plan(out, files(entries), lock())?, force)
    }

    /// Every file under `out` (but the lock) with its content, sorted.
    fn tree(out: &Path) -> Vec<(String, String)> {
        fn walk(base: &Path, dir: &Path, acc: &mut Vec<(String, String)>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(base, &p, acc);
                } else {
                    let rel = p
                        .strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    if rel != LOCK_FILE {
                        acc.push((rel, fs::read_to_string(&p).unwrap()));
                    }
                }
            }
        }
        let mut acc = Vec::new();
        walk(out, out, &mut acc);
        acc.sort();
        acc
    }

    const V1: &[(&str, &str)] = &[
        ("plants/lyon/prod/a.yaml", "a1\n"),
        ("plants/lyon/prod/b.yaml", "b1\n"),
        ("runbooks/lyon.md", "r1\n"),
    ];
    const V2: &[(&str, &str)] = &[
        ("plants/lyon/prod/a.yaml", "a2\n"),
        ("runbooks/lyon.md", "r1\n"),
        ("plants/paris/prod/c.yaml", "c2\n"),
    ];

    /// Stages each file as a streaming build does (only those that differ from OUT).
    fn staged_build(out: &Path, entries: &[(&str, &str)]) -> Result<Summary, EmitError> {
        let stager = Stager::new(out)?;
        recover(out)?;
        let mut map = BTreeMap::new();
        for (n, (path, content)) in entries.iter().enumerate() {
            let sha = sha256_hex(content.as_bytes());
            let disk = file_sha(&out.join(path))?;
            let payload = if disk.as_deref() == Some(sha.as_str()) {
                None
            } else {
                stager.stage(&format!("o{n}"), content.as_bytes())?;
                Some(Payload::Staged(format!("o{n}")))
            };
            let disk = Some(disk);
            map.insert(path.to_string(), Entry { sha, disk, payload });
        }
        apply(out, plan_entries(out, map, lock())?, false)
    }

    #[test]
    fn staged_files_are_applied_like_rendered_ones() {
        let out = tempfile::tempdir().unwrap();
        let s = staged_build(out.path(), &[("a/x.yaml", "one\n"), ("b.yaml", "two\n")]).unwrap();
        assert_eq!(s.written, 2);
        let s = staged_build(out.path(), &[("a/x.yaml", "one\n"), ("b.yaml", "2\n")]).unwrap();
        assert_eq!((s.written, s.unchanged), (1, 1));
        assert_eq!(
            tree(out.path()),
            [
                ("a/x.yaml".into(), "one\n".into()),
                ("b.yaml".into(), "2\n".into())
            ]
        );
        assert!(!out.path().join(TXN_DIR).exists(), "no staging is left");
        let s = staged_build(out.path(), &[("a/x.yaml", "one\n"), ("b.yaml", "2\n")]).unwrap();
        assert_eq!((s.written, s.unchanged), (0, 2));
        assert!(
            !out.path().join(TXN_DIR).exists(),
            "nothing staged for a no-op"
        );
    }

    #[test]
    fn one_stager_holds_out_at_a_time() {
        let out = tempfile::tempdir().unwrap();
        let first = Stager::new(out.path()).unwrap();
        match Stager::new(out.path()) {
            Err(EmitError::Busy(p)) => assert_eq!(p, out.path()),
            other => panic!("a second stager must be refused: {other:?}"),
        }
        drop(first);
        Stager::new(out.path()).expect("free again once the first is dropped");
    }

    #[test]
    fn a_discarded_stager_leaves_out_exactly_as_it_was() {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        let stager = Stager::new(&out).unwrap();
        stager.stage("o0", b"x").unwrap();
        assert!(out.join(TXN_DIR).exists());
        stager.discard().unwrap();
        assert!(!out.exists(), "an OUT the build created is removed again");
        // …and so are the parents it created, up to the first that existed.
        let deep = parent.path().join("a/b/out");
        let stager = Stager::new(&deep).unwrap();
        stager.stage("o0", b"x").unwrap();
        stager.discard().unwrap();
        assert!(!parent.path().join("a").exists());
        assert!(parent.path().exists());
        build(&out, &[("a.yaml", "a\n")], false).unwrap();
        let before = tree(&out);
        let stager = Stager::new(&out).unwrap();
        stager.stage("o0", b"x").unwrap();
        stager.discard().unwrap();
        assert_eq!(tree(&out), before);
        assert!(!out.join(TXN_DIR).exists());
    }

    #[test]
    fn a_first_build_writes_every_file_and_the_lock() {
        let out = tempfile::tempdir().unwrap();
        let s = build(out.path(), V1, false).unwrap();
        assert_eq!(
            s,
            Summary {
                written: 3,
                unchanged: 0,
                deleted: 0
            }
        );
        assert_eq!(tree(out.path()).len(), 3);
        let lock = Lock::read(&out.path().join(LOCK_FILE)).unwrap().unwrap();
        assert_eq!(lock.files["runbooks/lyon.md"], sha256_hex(b"r1\n"));
        assert!(!out.path().join(TXN_DIR).exists());
    }

    #[test]
    fn a_rebuild_without_changes_writes_nothing_and_keeps_mtimes() {
        let out = tempfile::tempdir().unwrap();
        build(out.path(), V1, false).unwrap();
        let before = fs::metadata(out.path().join("runbooks/lyon.md"))
            .unwrap()
            .modified()
            .unwrap();
        let p = plan(out.path(), files(V1), lock()).unwrap();
        assert!(p.is_current());
        let s = apply(out.path(), p, false).unwrap();
        assert_eq!(
            s,
            Summary {
                written: 0,
                unchanged: 3,
                deleted: 0
            }
        );
        let after = fs::metadata(out.path().join("runbooks/lyon.md"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn files_no_longer_rendered_are_pruned_with_the_directories_they_leave_empty() {
        let out = tempfile::tempdir().unwrap();
        build(
            out.path(),
            &[
                ("plants/old/prod/x.yaml", "x\n"),
                ("runbooks/lyon.md", "r\n"),
            ],
            false,
        )
        .unwrap();
        let s = build(out.path(), &[("runbooks/lyon.md", "r\n")], false).unwrap();
        assert_eq!(
            s,
            Summary {
                written: 0,
                unchanged: 1,
                deleted: 1
            }
        );
        assert!(!out.path().join("plants").exists());
    }

    #[test]
    fn files_blueprint_does_not_own_are_never_touched_or_overwritten() {
        let out = tempfile::tempdir().unwrap();
        fs::write(out.path().join("README.md"), "ours\n").unwrap();
        build(out.path(), V1, false).unwrap();
        build(out.path(), V2, false).unwrap();
        assert_eq!(
            fs::read_to_string(out.path().join("README.md")).unwrap(),
            "ours\n"
        );
        // A rendered path over a file blueprint did not write is refused.
        fs::create_dir_all(out.path().join("clusters")).unwrap();
        fs::write(out.path().join("clusters/x.yaml"), "hand-made\n").unwrap();
        let err = build(out.path(), &[("clusters/x.yaml", "generated\n")], false).unwrap_err();
        assert!(
            matches!(&err, EmitError::Refused { unowned, .. } if unowned == &["clusters/x.yaml".to_string()]),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(out.path().join("clusters/x.yaml")).unwrap(),
            "hand-made\n"
        );
    }

    #[test]
    fn a_hand_edited_file_stops_the_build_with_both_hashes_unless_forced() {
        let out = tempfile::tempdir().unwrap();
        build(out.path(), V1, false).unwrap();
        fs::write(out.path().join("plants/lyon/prod/b.yaml"), "b-edited\n").unwrap();
        let err = build(out.path(), V2, false).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("plants/lyon/prod/b.yaml was edited by hand"),
            "{text}"
        );
        assert!(
            text.contains(&sha256_hex(b"b1\n")) && text.contains(&sha256_hex(b"b-edited\n")),
            "{text}"
        );
        // Nothing was written.
        assert_eq!(
            fs::read_to_string(out.path().join("plants/lyon/prod/a.yaml")).unwrap(),
            "a1\n"
        );
        let s = build(out.path(), V2, true).unwrap();
        assert_eq!(s.deleted, 1);
        assert_eq!(
            tree(out.path()),
            vec![
                ("plants/lyon/prod/a.yaml".into(), "a2\n".into()),
                ("plants/paris/prod/c.yaml".into(), "c2\n".into()),
                ("runbooks/lyon.md".into(), "r1\n".into()),
            ]
        );
    }

    #[test]
    fn a_build_failing_before_its_commit_leaves_out_as_it_was() {
        let out = tempfile::tempdir().unwrap();
        build(out.path(), V1, false).unwrap();
        let old = tree(out.path());
        let old_lock = fs::read(out.path().join(LOCK_FILE)).unwrap();
        recover(out.path()).unwrap();
        let stager = Stager::new(out.path()).unwrap();
        stager.stage("o0", b"a2\n").unwrap();
        let entry = |sha: &str, name: &str| Entry {
            sha: sha256_hex(sha.as_bytes()),
            disk: None,
            payload: Some(Payload::Staged(name.into())),
        };
        let entries = BTreeMap::from([
            ("plants/lyon/prod/a.yaml".to_string(), entry("a2\n", "o0")),
            // Never staged: the build must fail before its commit.
            ("plants/paris/prod/c.yaml".to_string(), entry("c2\n", "o1")),
        ]);
        let p = plan_entries(out.path(), entries, lock()).unwrap();
        assert_eq!(p.write.len(), 2);
        let err = apply(out.path(), p, false).unwrap_err();
        assert!(matches!(err, EmitError::Io { .. }), "{err}");
        assert_eq!(tree(out.path()), old);
        assert_eq!(fs::read(out.path().join(LOCK_FILE)).unwrap(), old_lock);
        assert!(!out.path().join(TXN_DIR).exists(), "no staging is left");
    }

    #[test]
    fn a_build_interrupted_before_its_commit_leaves_the_old_tree() {
        let out = tempfile::tempdir().unwrap();
        build(out.path(), V1, false).unwrap();
        let old = tree(out.path());
        let old_lock = fs::read(out.path().join(LOCK_FILE)).unwrap();
        let p = plan(out.path(), files(V2), lock()).unwrap();
        crash(
            out.path(),
            p.write,
            p.delete,
            &p.lock,
            CrashAt::WhileStaging,
        )
        .unwrap();
        assert!(out.path().join(TXN_DIR).exists(), "something was staged");
        assert_eq!(recover(out.path()).unwrap(), Recovery::RolledBack);
        assert_eq!(tree(out.path()), old);
        assert_eq!(fs::read(out.path().join(LOCK_FILE)).unwrap(), old_lock);
        assert!(!out.path().join(TXN_DIR).exists());
    }

    #[test]
    fn a_build_interrupted_after_its_commit_is_finished_by_the_next_run() {
        let clean = tempfile::tempdir().unwrap();
        build(clean.path(), V1, false).unwrap();
        build(clean.path(), V2, false).unwrap();
        let expected = tree(clean.path());
        let expected_lock = fs::read(clean.path().join(LOCK_FILE)).unwrap();
        // Crash after every possible number of applied steps (and one more).
        for applied in 0..=5 {
            let out = tempfile::tempdir().unwrap();
            build(out.path(), V1, false).unwrap();
            let p = plan(out.path(), files(V2), lock()).unwrap();
            // 2 writes, 1 deletion and the lock: 4 steps.
            assert_eq!((p.write.len(), p.delete.len()), (2, 1));
            crash(
                out.path(),
                p.write,
                p.delete,
                &p.lock,
                CrashAt::AfterCommit { applied },
            )
            .unwrap();
            // The next build recovers first, then finds nothing left to do.
            let s = build(out.path(), V2, false).unwrap();
            assert_eq!(s.written, 0, "after {applied} steps");
            assert_eq!(tree(out.path()), expected, "after {applied} steps");
            assert_eq!(fs::read(out.path().join(LOCK_FILE)).unwrap(), expected_lock);
            assert!(!out.path().join(TXN_DIR).exists());
        }
    }

    #[test]
    fn paths_outside_the_tree_or_over_blueprints_own_files_are_refused() {
        let out = tempfile::tempdir().unwrap();
        for bad in [
            "../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "blueprint.lock",
            ".blueprint-txn/x",
            "a\\b",
            "",
        ] {
            let err = plan(out.path(), files(&[(bad, "x")]), lock()).unwrap_err();
            assert!(matches!(err, EmitError::BadPath(_)), "{bad}");
        }
    }
}
