//! Reading a plants directory: a sorted, deterministic walk at any depth.

use blueprint_compiler::Input;
use blueprint_syntax::{Format, MAX_FILE_BYTES};
use std::io::Read;
use std::path::{Path, PathBuf};

/// An I/O failure (exit 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum WalkError {
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

fn display(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), WalkError> {
    let entries = std::fs::read_dir(dir).map_err(|source| WalkError::Dir {
        path: display(dir),
        source,
    })?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for e in entries {
        let e = e.map_err(|source| WalkError::Dir {
            path: display(dir),
            source,
        })?;
        paths.push(e.path());
    }
    paths.sort();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if depth < 16 {
                collect(&p, out, depth + 1)?;
            }
        } else if Format::of_path(&name).is_some() {
            out.push(p);
        }
    }
    Ok(())
}

/// Most input files one run reads (a plant is one file; 10 000 plants is a very large group).
const MAX_FILES: usize = 10_000;
/// Most input bytes one run reads, which bounds memory to a few hundred MiB (docs/performance.md).
const MAX_TOTAL_BYTES: usize = 8 * 1024 * 1024;

/// Reads a plants directory that must hold at least one plant file.
pub(crate) fn read_plants(dir: &Path) -> Result<Vec<Input>, WalkError> {
    let inputs = read_inputs(dir)?;
    if inputs.iter().all(|i| i.is_fleet) {
        return Err(WalkError::Empty { path: display(dir) });
    }
    Ok(inputs)
}

/// Reads every plant file under `dir` (sorted) and `dir/fleet.toml` if present. Files over the
/// size limit are read only up to it plus one byte, so they are refused without being loaded.
pub(crate) fn read_inputs(dir: &Path) -> Result<Vec<Input>, WalkError> {
    let mut paths = Vec::new();
    collect(dir, &mut paths, 0)?;
    let fleet = dir.join("fleet.toml");
    if paths.len() > MAX_FILES {
        return Err(WalkError::TooMuch {
            path: display(dir),
            limit: format!("{MAX_FILES} input files"),
        });
    }
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
