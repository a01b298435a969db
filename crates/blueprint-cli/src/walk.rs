//! Reading a plants directory: a sorted, deterministic walk at any depth.
//!
//! - The entries of each directory are visited in order of their names, a subdirectory where
//!   its name sorts, so the same tree always gives the same inputs in the same order.
//! - Hidden entries (names starting with `.`: `.git`, editor swap files) are skipped.
//! - Symbolic links to directories are not followed, so `plants/a -> .` cannot loop; a link to
//!   a file is read like the file. Without links the depth is bounded by the file system, so
//!   the walk has no depth limit of its own.
//! - Only `*.yaml`, `*.yml` and `*.toml` files are read; `DIR/fleet.toml` is the fleet file.
//! - One run reads at most [`MAX_FILES`] files and [`MAX_TOTAL_BYTES`]; the walk stops as soon
//!   as either is passed, before anything is compiled.

use blueprint_compiler::Input;
use blueprint_syntax::{Format, MAX_FILE_BYTES};
use std::io::Read;
use std::path::{Path, PathBuf};

/// An I/O failure (exit 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WalkError {
    /// The directory is missing or unreadable.
    #[error("cannot read plants directory {path}: {source}")]
    #[diagnostic(
        code(blueprint::io),
        help(
            "pass the directory holding plant files, e.g. `blueprint check examples/quickstart/plants`"
        )
    )]
    Dir {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The directory holds no plant file.
    #[error("no plant files (*.yaml, *.yml, *.toml) under {path}")]
    #[diagnostic(
        code(blueprint::no_plants),
        help(
            "pass the directory holding plant files, or scaffold one with `blueprint init NAME --dir {path}`"
        )
    )]
    Empty {
        /// Path.
        path: String,
    },
    /// The directory holds more input than one run accepts.
    #[error("{path} holds more than {limit}; one run checks at most that much")]
    #[diagnostic(
        code(blueprint::too_much_input),
        help(
            "check the plants directory, not a directory that contains it (generated trees, vendored files)"
        )
    )]
    TooMuch {
        /// Path.
        path: String,
        /// The limit, in words.
        limit: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(blueprint::io))]
    File {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// A path as inputs are named: with `/` separators.
pub fn display(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// Most input files one run reads (a plant is one file; 10 000 plants is a very large group).
pub const MAX_FILES: usize = 10_000;
/// Most input bytes one run reads, which bounds memory to a few hundred MiB (docs/performance.md).
pub const MAX_TOTAL_BYTES: usize = 8 * 1024 * 1024;

/// Whether a directory entry is an input file: a regular file, or a link that does not lead to
/// a directory or a special file (a dangling link is kept, so reading it reports the problem).
fn is_input_file(entry: &std::fs::DirEntry, kind: std::fs::FileType) -> bool {
    Format::of_path(&entry.file_name().to_string_lossy()).is_some()
        && (kind.is_file()
            || (kind.is_symlink()
                && std::fs::metadata(entry.path()).map_or(true, |target| target.is_file())))
}

/// The input files under `dir`, sorted depth-first, without following directory links.
fn collect(dir: &Path) -> Result<Vec<PathBuf>, WalkError> {
    let too_many = || WalkError::TooMuch {
        path: display(dir),
        limit: format!("{MAX_FILES} input files"),
    };
    let mut out = Vec::new();
    let mut found = 0usize;
    // Entries still to visit, the next one last: a directory's entries are pushed in reverse
    // order of their names, so they are visited in order, each subdirectory in its place.
    let mut stack: Vec<(PathBuf, bool)> = vec![(dir.to_path_buf(), true)];
    while let Some((path, is_dir)) = stack.pop() {
        if !is_dir {
            out.push(path);
            continue;
        }
        let read_err = |source| WalkError::Dir {
            path: display(&path),
            source,
        };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&path).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            // The entry's own type: a link is a link, not what it points to.
            let kind = entry.file_type().map_err(read_err)?;
            if kind.is_dir() {
                entries.push((entry.path(), true));
            } else if is_input_file(&entry, kind) {
                found += 1;
                if found > MAX_FILES {
                    return Err(too_many());
                }
                entries.push((entry.path(), false));
            }
        }
        entries.sort();
        stack.extend(entries.into_iter().rev());
    }
    Ok(out)
}

/// Reads a plants directory that must hold at least one plant file.
pub fn read_plants(dir: &Path) -> Result<Vec<Input>, WalkError> {
    let inputs = read_inputs(dir)?;
    if inputs.iter().all(|i| i.is_fleet) {
        return Err(WalkError::Empty { path: display(dir) });
    }
    Ok(inputs)
}

/// Reads every plant file under `dir` (sorted) and `dir/fleet.toml` if present. Files over the
/// size limit are read only up to it plus one byte, so they are refused without being loaded.
pub fn read_inputs(dir: &Path) -> Result<Vec<Input>, WalkError> {
    let paths = collect(dir)?;
    let fleet = dir.join("fleet.toml");
    let mut total = 0usize;
    let mut inputs = Vec::with_capacity(paths.len());
    for p in paths {
        let path = display(&p);
        let file = std::fs::File::open(&p).map_err(|source| WalkError::File {
            path: path.clone(),
            source,
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| WalkError::File {
                path: path.clone(),
                source,
            })?;
        total += bytes.len();
        if total > MAX_TOTAL_BYTES {
            return Err(WalkError::TooMuch {
                path: display(dir),
                limit: "8 MiB of input files".into(),
            });
        }
        inputs.push(Input {
            is_fleet: p == fleet,
            path,
            bytes,
        });
    }
    Ok(inputs)
}

/// Reads a template set (`--blueprints DIR`): every `*.j2` file under DIR, named by its path
/// relative to DIR with `/` separators (`kubernetes/namespace.yaml.j2`), sorted by name.
pub fn read_templates(dir: &Path) -> Result<Vec<(String, String)>, WalkError> {
    fn visit(dir: &Path, root: &Path, found: &mut Vec<(String, String)>) -> Result<(), WalkError> {
        let unreadable = |source| WalkError::Dir {
            path: dir.display().to_string(),
            source,
        };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(unreadable)?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).map_err(|source| WalkError::Dir {
                path: path.display().to_string(),
                source,
            })?;
            if meta.is_dir() {
                visit(&path, root, found)?;
            } else if name.ends_with(".j2") {
                let text = std::fs::read_to_string(&path).map_err(|source| WalkError::Dir {
                    path: path.display().to_string(),
                    source,
                })?;
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((rel, text));
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    visit(dir, dir, &mut found)?;
    Ok(found)
}
