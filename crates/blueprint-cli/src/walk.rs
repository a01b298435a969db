//! Reading a plants directory: a sorted, deterministic walk at any depth that reads nothing
//! outside the directory and nothing but regular files.
//!
//! - The entries of each directory are visited in order of their names, a subdirectory where
//!   its name sorts, so the same tree always gives the same inputs in the same order.
//! - Hidden entries (names starting with `.`: `.git`, editor swap files) are skipped.
//! - Only `*.yaml`, `*.yml` and `*.toml` regular files are read; other entries (a named pipe, a
//!   socket, a device, a file of another type) are never opened. `DIR/fleet.toml` is the fleet
//!   file: when it exists it must be a regular file (a directory, a pipe or a link to nothing is
//!   refused, never replaced by the embedded default fleet).
//! - A symbolic link is resolved first, and refused (exit 2, naming the link and its target)
//!   when it leads outside DIR and would be read or walked (a link to a directory, or named like
//!   an input file): a plant file linked to `/proc/self/environ` or `../../secrets.yaml` is never
//!   opened. Inside DIR, a link to a regular file is read like the file (under the link's name);
//!   a link to a directory is not followed, so `plants/a -> .` cannot loop; a link to nothing or
//!   to itself is an error when it is named like an input file. Without followed directory links
//!   the depth is bounded by the file system, so the walk has no depth limit of its own.
//! - Every file is opened without following a link and without blocking, and read only when
//!   the opened file is a regular file: a file swapped for a pipe or a link after the walk looked
//!   at it is refused, not read.
//! - Names are shown as they are (`plants/france\lyon.yaml` is not `plants/france/lyon.yaml`).
//!   A name that cannot be shown as it is — not UTF-8, or holding a control character (a line
//!   break, a tab, an escape) or a character that reorders or hides text (bidirectional
//!   controls, zero-width spaces, the BOM) — is refused when it is an input file or a directory
//!   the walk enters: findings, the lock and runbooks name inputs by their path.
//! - One run reads at most [`MAX_FILES`] files and [`MAX_TOTAL_BYTES`]; the walk stops as soon
//!   as either is passed, before anything is compiled.

use blueprint_compiler::Input;
use blueprint_syntax::{Format, MAX_FILE_BYTES};
use std::ffi::OsStr;
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
    /// A symbolic link leads outside the directory walked.
    #[error("{path} is a symbolic link to {target}, outside {dir}: refused, not read")]
    #[diagnostic(
        code(blueprint::link_outside),
        help(
            "keep every input inside {dir}: copy the file in, or make the link point under it. A link out of it would let a change of the repository make CI read any file the runner can"
        )
    )]
    LinkOutside {
        /// The link.
        path: String,
        /// What the link says, and where it resolves when that differs.
        target: String,
        /// The plants directory.
        dir: String,
    },
    /// An input is not a regular file.
    #[error("{path} is {what}, not a regular file: refused, not read")]
    #[diagnostic(
        code(blueprint::not_a_file),
        help(
            "DIR/fleet.toml is the fleet file and plant files are regular files: replace it with one (`blueprint init --fleet` writes the default fleet to edit), or move it out of the plants directory"
        )
    )]
    NotRegular {
        /// Path.
        path: String,
        /// What it is instead ("a directory", "a named pipe"…).
        what: String,
    },
    /// A name that cannot be shown as it is.
    #[error("the name of {path} {why}: refused, not read")]
    #[diagnostic(
        code(blueprint::file_name),
        help(
            "rename it: findings, blueprint.lock and runbooks name every input by its path, which must be UTF-8 without control, bidirectional or zero-width characters"
        )
    )]
    BadName {
        /// Path, with the offending characters escaped (`\n`, `\u{202e}`).
        path: String,
        /// What is wrong with it.
        why: String,
    },
}

/// A path as inputs are named: as it is, with `/` separators (on Windows, where `\` is a
/// separator, it becomes `/`; on Unix `\` is a character of a name and stays).
pub fn display(p: &Path) -> String {
    let s = p.to_string_lossy();
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s.into_owned()
    }
}

/// Whether a character of a name cannot be shown as it is: a control character (line breaks,
/// tabs, escapes), a line or paragraph separator, or a character that reorders or hides text
/// (bidirectional controls, zero-width spaces, the BOM). The Markdown code span of a runbook
/// refuses the same characters.
fn is_unshowable(c: char) -> bool {
    blueprint_render::is_invisible_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` for a message: each character [`is_unshowable`] escaped (`\n`, `\u{202e}`), the rest
/// as it is.
fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unshowable(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`display`] for a message, with unshowable characters escaped.
fn shown_path(p: &Path) -> String {
    shown(&display(p))
}

/// The name of an entry that will be read or walked, if it can be shown as it is.
fn check_name<'a>(name: &'a OsStr, path: &Path) -> Result<&'a str, WalkError> {
    let Some(text) = name.to_str() else {
        return Err(WalkError::BadName {
            path: shown_path(path),
            why: "is not UTF-8".into(),
        });
    };
    match text.chars().find(|&c| is_unshowable(c)) {
        Some(c) => Err(WalkError::BadName {
            path: shown_path(path),
            why: format!(
                "holds U+{:04X} ({})",
                u32::from(c),
                if c.is_control() {
                    "a control character"
                } else {
                    "a character that reorders, hides or breaks text"
                }
            ),
        }),
        None => Ok(text),
    }
}

/// Most input files one run reads (a plant is one file; 10 000 plants is a very large group).
pub const MAX_FILES: usize = 10_000;
/// Most input bytes one run reads, which bounds memory to a few hundred MiB (docs/performance.md).
pub const MAX_TOTAL_BYTES: usize = 8 * 1024 * 1024;

/// What a file-system entry is, in words.
#[cfg(unix)]
fn kind_words(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_file() {
        "a regular file"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// What a file-system entry is, in words.
#[cfg(not(unix))]
fn kind_words(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_file() {
        "a regular file"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// An input file found by the walk.
#[derive(Debug)]
struct Found {
    /// The path shown (the entry's: a link's own name, not its target's).
    path: PathBuf,
    /// The path opened: the entry, or a link's resolved target (inside DIR, with no link left
    /// in it).
    open: PathBuf,
}

/// What one walk reads.
struct Walk<'a> {
    /// The directory as given (paths are shown under it).
    dir: &'a Path,
    /// The directory resolved: every input must resolve under it.
    root: PathBuf,
    /// The directory in words, for messages ("the plants directory plants").
    words: String,
    /// Whether a file name is one to read.
    wanted: fn(&str) -> bool,
    /// `DIR/fleet.toml`, which must be a regular file when it exists.
    fleet: Option<PathBuf>,
    /// Most files to find.
    max_files: usize,
}

impl Walk<'_> {
    /// The files to read under the directory, sorted depth-first.
    fn collect(&self) -> Result<Vec<Found>, WalkError> {
        let too_many = || WalkError::TooMuch {
            path: shown_path(self.dir),
            limit: format!("{} input files", self.max_files),
        };
        /// What is still to visit.
        enum Next {
            Dir(PathBuf),
            File(Found),
        }
        let mut out = Vec::new();
        let mut files = 0usize;
        // Entries still to visit, the next one last: a directory's entries are pushed in
        // reverse order of their names, so they are visited in order, each subdirectory in its
        // place.
        let mut stack = vec![Next::Dir(self.dir.to_path_buf())];
        while let Some(next) = stack.pop() {
            let path = match next {
                Next::File(found) => {
                    out.push(found);
                    continue;
                }
                Next::Dir(path) => path,
            };
            let read_err = |source| WalkError::Dir {
                path: shown_path(&path),
                source,
            };
            let mut entries = Vec::new();
            // Input files of this directory: too many is known before the directory is read
            // whole (a million files), whatever else it holds.
            let mut inputs = 0usize;
            for entry in std::fs::read_dir(&path).map_err(read_err)? {
                let entry = entry.map_err(read_err)?;
                // The entry's own type: a link is a link, not what it points to.
                let kind = entry.file_type().map_err(read_err)?;
                let name = entry.file_name();
                if kind.is_file()
                    && !name.as_encoded_bytes().starts_with(b".")
                    && (self.wanted)(&name.to_string_lossy())
                {
                    inputs += 1;
                    if files + inputs > self.max_files {
                        return Err(too_many());
                    }
                }
                entries.push((name, kind));
            }
            // Sorted before anything is looked at, so the first problem reported is the same
            // on every machine.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut found = Vec::new();
            for (name, kind) in entries {
                if name.as_encoded_bytes().starts_with(b".") {
                    continue;
                }
                let entry = path.join(&name);
                let is_fleet = self.fleet.as_ref() == Some(&entry);
                let wanted = (self.wanted)(&name.to_string_lossy());
                let file = if kind.is_symlink() {
                    self.follow(&name, &entry, wanted, is_fleet)?
                } else if kind.is_dir() && !is_fleet {
                    check_name(&name, &entry)?;
                    found.push(Next::Dir(entry));
                    None
                } else if kind.is_file() && wanted {
                    check_name(&name, &entry)?;
                    Some(Found {
                        path: entry.clone(),
                        open: entry,
                    })
                } else if is_fleet {
                    return Err(WalkError::NotRegular {
                        path: shown_path(&entry),
                        what: kind_words(kind).to_string(),
                    });
                } else {
                    // Not an input, never opened: a README, a named pipe, a socket.
                    None
                };
                if let Some(file) = file {
                    files += 1;
                    if files > self.max_files {
                        return Err(too_many());
                    }
                    found.push(Next::File(file));
                }
            }
            stack.extend(found.into_iter().rev());
        }
        Ok(out)
    }

    /// A symbolic link: resolved, refused when it leads out of the directory and would be read
    /// or walked, read when it leads to a wanted regular file inside it, else skipped (a link
    /// to a directory is not followed).
    fn follow(
        &self,
        name: &OsStr,
        link: &Path,
        wanted: bool,
        is_fleet: bool,
    ) -> Result<Option<Found>, WalkError> {
        let unreadable = |source| WalkError::File {
            path: shown_path(link),
            source,
        };
        let resolved = match std::fs::canonicalize(link) {
            Ok(r) => r,
            // A link to nothing, or to itself: reading it is an error when it would be read.
            Err(source) if wanted || is_fleet => return Err(unreadable(source)),
            Err(_) => return Ok(None),
        };
        let meta = std::fs::metadata(&resolved).map_err(unreadable)?;
        if !resolved.starts_with(&self.root) {
            if !(wanted || is_fleet || meta.is_dir()) {
                // Never read nor walked: a README linked from elsewhere.
                return Ok(None);
            }
            let written = std::fs::read_link(link).map_or_else(|_| String::new(), |t| display(&t));
            let resolved = display(&resolved);
            let target = if written == resolved || written.is_empty() {
                shown(&resolved)
            } else {
                format!("{} ({})", shown(&written), shown(&resolved))
            };
            return Err(WalkError::LinkOutside {
                path: shown_path(link),
                target,
                dir: self.words.clone(),
            });
        }
        if meta.is_file() && wanted {
            check_name(name, link)?;
            return Ok(Some(Found {
                path: link.to_path_buf(),
                open: resolved,
            }));
        }
        if is_fleet {
            return Err(WalkError::NotRegular {
                path: shown_path(link),
                what: format!("a symbolic link to {}", kind_words(meta.file_type())),
            });
        }
        Ok(None)
    }
}

/// The directory a walk starts from, resolved (links and `..` taken away).
fn resolve_root(dir: &Path) -> Result<PathBuf, WalkError> {
    std::fs::canonicalize(dir).map_err(|source| WalkError::Dir {
        path: shown_path(dir),
        source,
    })
}

/// Opens `path` for reading without following a link in its last component and without
/// blocking (a named pipe opens at once instead of waiting for a writer).
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// Reads a found file, at most `limit` bytes: only once the opened file is known to be a
/// regular file.
fn read_found(found: &Found, limit: Option<u64>) -> Result<Vec<u8>, WalkError> {
    let failed = |source| WalkError::File {
        path: shown_path(&found.path),
        source,
    };
    let file = open_nonblocking(&found.open).map_err(failed)?;
    let meta = file.metadata().map_err(failed)?;
    if !meta.is_file() {
        return Err(WalkError::NotRegular {
            path: shown_path(&found.path),
            what: kind_words(meta.file_type()).to_string(),
        });
    }
    let mut bytes = Vec::new();
    match limit {
        Some(limit) => file.take(limit).read_to_end(&mut bytes),
        None => (&file).read_to_end(&mut bytes),
    }
    .map_err(failed)?;
    Ok(bytes)
}

/// Reads a plants directory that must hold at least one plant file.
pub fn read_plants(dir: &Path) -> Result<Vec<Input>, WalkError> {
    let inputs = read_inputs(dir)?;
    if inputs.iter().all(|i| i.is_fleet) {
        return Err(WalkError::Empty {
            path: shown_path(dir),
        });
    }
    Ok(inputs)
}

/// Reads every plant file under `dir` (sorted) and `dir/fleet.toml` if present. Files over the
/// size limit are read only up to it plus one byte, so they are refused without being loaded.
pub fn read_inputs(dir: &Path) -> Result<Vec<Input>, WalkError> {
    let fleet = dir.join("fleet.toml");
    let walk = Walk {
        dir,
        root: resolve_root(dir)?,
        words: format!("the plants directory {}", shown_path(dir)),
        wanted: |name| Format::of_path(name).is_some(),
        fleet: Some(fleet.clone()),
        max_files: MAX_FILES,
    };
    let found = walk.collect()?;
    let mut total = 0usize;
    let mut inputs = Vec::with_capacity(found.len());
    for f in found {
        let bytes = read_found(&f, Some(MAX_FILE_BYTES as u64 + 1))?;
        total += bytes.len();
        if total > MAX_TOTAL_BYTES {
            return Err(WalkError::TooMuch {
                path: shown_path(dir),
                limit: "8 MiB of input files".into(),
            });
        }
        inputs.push(Input {
            is_fleet: f.path == fleet,
            path: display(&f.path),
            bytes,
        });
    }
    Ok(inputs)
}

/// Reads a template set (`--blueprints DIR`): every `*.j2` file under DIR, named by its path
/// relative to DIR with `/` separators (`kubernetes/namespace.yaml.j2`), sorted by name. The
/// walk is the plants directory's: hidden entries skipped, directory links not followed, no
/// link out of DIR, only regular files read.
pub fn read_templates(dir: &Path) -> Result<Vec<(String, String)>, WalkError> {
    let walk = Walk {
        dir,
        root: resolve_root(dir)?,
        words: format!("the template directory {}", shown_path(dir)),
        wanted: |name| name.ends_with(".j2"),
        fleet: None,
        max_files: MAX_FILES,
    };
    let mut templates = Vec::new();
    for f in walk.collect()? {
        let bytes = read_found(&f, None)?;
        let text = String::from_utf8(bytes).map_err(|e| WalkError::File {
            path: shown_path(&f.path),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let rel = f.path.strip_prefix(dir).unwrap_or(&f.path);
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        templates.push((rel, text));
    }
    Ok(templates)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("blueprint-walk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_are_shown_as_they_are() {
        assert_eq!(
            display(Path::new("plants/france\\lyon.yaml")),
            if cfg!(windows) {
                "plants/france/lyon.yaml"
            } else {
                "plants/france\\lyon.yaml"
            }
        );
        assert_eq!(
            display(Path::new("plants/lyon|prod.yaml")),
            "plants/lyon|prod.yaml"
        );
        // In messages, what cannot be shown is escaped, the rest is left.
        assert_eq!(shown("a\nb\u{202e}c\\d|e"), "a\\nb\\u{202e}c\\d|e");
    }

    /// A file that is not a regular file when it is opened (a pipe swapped in after the walk
    /// looked) is refused at once: opening does not wait for a writer, nothing is read.
    #[cfg(unix)]
    #[test]
    fn a_pipe_met_when_reading_is_refused_without_blocking() {
        let dir = scratch("fifo");
        let fifo = dir.join("lyon.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let found = Found {
            path: PathBuf::from("plants/lyon.yaml"),
            open: fifo,
        };
        let err = read_found(&found, Some(10)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "plants/lyon.yaml is a named pipe, not a regular file: refused, not read"
        );
        // A link in place of the file is not followed either.
        let target = dir.join("target.yaml");
        std::fs::write(&target, "name: x\n").unwrap();
        let link = dir.join("link.yaml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let found = Found {
            path: PathBuf::from("plants/link.yaml"),
            open: link,
        };
        assert!(matches!(
            read_found(&found, None),
            Err(WalkError::File { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn the_walk_is_sorted_and_its_first_problem_is_the_first_in_order() {
        let dir = scratch("order");
        for name in ["b.yaml", "a", "a.yaml", "c.toml", "notes.md"] {
            if name == "a" {
                std::fs::create_dir_all(dir.join("a")).unwrap();
                std::fs::write(dir.join("a/z.yml"), "").unwrap();
            } else {
                std::fs::write(dir.join(name), "").unwrap();
            }
        }
        let found: Vec<String> = read_inputs(&dir)
            .unwrap()
            .into_iter()
            .map(|i| i.path.rsplit_once("order-").unwrap().1.to_string())
            .map(|p| p.split_once('/').unwrap().1.to_string())
            .collect();
        assert_eq!(found, ["a/z.yml", "a.yaml", "b.yaml", "c.toml"]);
        // Two links out of DIR: the one first in order is named.
        std::os::unix::fs::symlink("/etc/hostname", dir.join("y.yaml")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("x.yaml")).unwrap();
        for _ in 0..3 {
            let err = read_inputs(&dir).unwrap_err().to_string();
            assert!(
                err.contains("x.yaml is a symbolic link to /etc/passwd"),
                "{err}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
