//! The plant files of a directory as they were at a git revision (`diff --base REF`), read
//! through the git command line from the object database: the working tree, the index and
//! HEAD are never touched.
//!
//! The files are chosen and ordered as [`crate::walk::read_inputs`] chooses them on disk (input
//! extensions, no hidden entries, sorted by path components, the same limits), and named as it
//! names them (`DIR/relative/path`), so a finding or an origin reads the same on both sides.
//! Only regular files count: a symbolic link stored in git is not followed.

use crate::walk::{MAX_FILES, MAX_TOTAL_BYTES, display};
use blueprint_compiler::Input;
use blueprint_syntax::{Format, MAX_FILE_BYTES};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why the files at a revision could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GitError {
    /// git could not be started.
    #[error("cannot run git: {0}")]
    #[diagnostic(
        code(blueprint::git),
        help("`--base` reads the plants from git: install git or drop `--base`")
    )]
    Spawn(std::io::Error),
    /// git refused: not a repository, an unknown revision, …
    #[error("git {args}: {message}")]
    #[diagnostic(
        code(blueprint::git),
        help(
            "give a revision of the repository that holds the plants directory, e.g. `--base origin/main`"
        )
    )]
    Failed {
        /// The arguments given to git.
        args: String,
        /// What git said.
        message: String,
    },
    /// More files or bytes than one run reads.
    #[error("{path} at {rev} holds more than {limit}")]
    #[diagnostic(
        code(blueprint::input_limit),
        help("split the fleet into several plants directories")
    )]
    TooMuch {
        /// The plants directory.
        path: String,
        /// The revision.
        rev: String,
        /// The limit passed.
        limit: String,
    },
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(GitError::Spawn)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// The default base of `diff` (DESIGN §2): the merge base of HEAD and the default branch —
/// origin's HEAD, else the first of `origin/main`, `origin/master`, `main`, `master` that
/// exists — as (branch, commit). `None` outside a git work tree, or when it has no such branch
/// or no commit in common with it.
#[must_use]
pub fn default_base(dir: &Path) -> Option<(String, String)> {
    let text = |v: Vec<u8>| String::from_utf8_lossy(&v).trim().to_string();
    git(dir, &["rev-parse", "--is-inside-work-tree"]).ok()?;
    let origin_head = git(
        dir,
        &["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"],
    )
    .ok()
    .map(text)
    .filter(|b| !b.is_empty());
    let branch = origin_head
        .into_iter()
        .chain(["origin/main", "origin/master", "main", "master"].map(String::from))
        .find(|b| resolve(dir, b).is_ok())?;
    let commit = git(dir, &["merge-base", "--end-of-options", &branch, "HEAD"])
        .ok()
        .map(text)?;
    Some((branch, commit))
}

/// The commit `rev` names, in the repository that holds `dir`.
pub fn resolve(dir: &Path, rev: &str) -> Result<String, GitError> {
    let spec = format!("{rev}^{{commit}}");
    let out = git(dir, &["rev-parse", "--verify", "--end-of-options", &spec])?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// One blob under the plants directory at the revision.
struct Entry {
    /// Path relative to the plants directory.
    rel: PathBuf,
    /// The blob's object id.
    oid: String,
}

/// Parses `git ls-tree -r -z --full-name` output: `<mode> <type> <oid>\t<path>\0`, keeping the
/// regular files of an input format whose path (relative to `prefix`) has no hidden component.
fn entries(listing: &[u8], prefix: &str) -> Vec<Entry> {
    let mut found = Vec::new();
    for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        let (Some(mode), Some(kind), Some(oid)) = (meta.next(), meta.next(), meta.next()) else {
            continue;
        };
        if kind != "blob" || !(mode == "100644" || mode == "100755") {
            continue;
        }
        let Some(rel) = path.strip_prefix(prefix) else {
            continue;
        };
        let rel = PathBuf::from(rel);
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if hidden || Format::of_path(&name).is_none() {
            continue;
        }
        found.push(Entry {
            rel,
            oid: oid.to_string(),
        });
    }
    // As the walk orders them: by path components.
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    found
}

/// Reads the blobs with one `git cat-file --batch`, each cut at the size limit plus one byte
/// (so an oversized file is refused by the compiler, as on disk).
fn blobs(dir: &Path, oids: &[&str]) -> Result<Vec<Vec<u8>>, GitError> {
    let failed = |message: String| GitError::Failed {
        args: "cat-file --batch".into(),
        message,
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GitError::Spawn)?;
    let mut request = String::new();
    for oid in oids {
        request.push_str(oid);
        request.push('\n');
    }
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| failed("no stdin".into()))?;
    // Written from another thread: git answers while it reads, and a full pipe would block both.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| failed("no stdout".into()))?;
    let mut reader = BufReader::new(stdout);
    let mut out = Vec::with_capacity(oids.len());
    for oid in oids {
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .map_err(|e| failed(e.to_string()))?;
        let size: usize = header
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| failed(format!("unexpected answer for {oid}: {}", header.trim())))?;
        let mut bytes = vec![0; size];
        reader
            .read_exact(&mut bytes)
            .map_err(|e| failed(e.to_string()))?;
        let mut newline = [0u8; 1];
        reader
            .read_exact(&mut newline)
            .map_err(|e| failed(e.to_string()))?;
        bytes.truncate(MAX_FILE_BYTES + 1);
        out.push(bytes);
    }
    let _ = writer.join();
    let status = child.wait().map_err(GitError::Spawn)?;
    if !status.success() {
        return Err(failed(format!("exit {status}")));
    }
    Ok(out)
}

/// The inputs of `dir` at revision `rev` (a commit id from [`resolve`]). A directory that did
/// not exist at the revision has no inputs.
pub fn read_inputs_at(dir: &Path, rev: &str) -> Result<Vec<Input>, GitError> {
    let prefix = String::from_utf8_lossy(&git(dir, &["rev-parse", "--show-prefix"])?)
        .trim_end_matches('\n')
        .to_string();
    let listing = git(dir, &["ls-tree", "-r", "-z", "--full-name", rev, "--", "."])?;
    let found = entries(&listing, &prefix);
    let too_much = |limit: String| GitError::TooMuch {
        path: display(dir),
        rev: rev.to_string(),
        limit,
    };
    if found.len() > MAX_FILES {
        return Err(too_much(format!("{MAX_FILES} input files")));
    }
    let oids: Vec<&str> = found.iter().map(|e| e.oid.as_str()).collect();
    let contents = blobs(dir, &oids)?;
    let mut total = 0usize;
    let mut inputs = Vec::with_capacity(found.len());
    for (entry, bytes) in found.iter().zip(contents) {
        total += bytes.len();
        if total > MAX_TOTAL_BYTES {
            return Err(too_much("8 MiB of input files".into()));
        }
        inputs.push(Input {
            path: display(&dir.join(&entry.rel)),
            is_fleet: entry.rel == Path::new("fleet.toml"),
            bytes,
        });
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_keeps_regular_input_files_under_the_prefix_in_walk_order() {
        let listing = b"100644 blob aaa\tplants/z.yaml\0\
            100644 blob bbb\tplants/a/b.toml\0\
            100644 blob ccc\tplants/a.yaml\0\
            120000 blob ddd\tplants/link.yaml\0\
            100644 blob eee\tplants/.hidden/x.yaml\0\
            100644 blob fff\tplants/README.md\0\
            100755 blob ggg\tplants/fleet.toml\0\
            100644 blob hhh\tother/x.yaml\0";
        let got: Vec<(String, String)> = entries(listing, "plants/")
            .into_iter()
            .map(|e| (e.rel.display().to_string(), e.oid))
            .collect();
        let want = [
            ("a/b.toml", "bbb"),
            ("a.yaml", "ccc"),
            ("fleet.toml", "ggg"),
            ("z.yaml", "aaa"),
        ];
        assert_eq!(
            got,
            want.map(|(p, o)| (p.to_string(), o.to_string())).to_vec()
        );
    }
}
