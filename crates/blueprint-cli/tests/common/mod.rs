//! Helpers of the CLI test binaries: running `blueprint`, scratch directories.

#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a test's reader does with one of `blueprint`'s output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Reads it to the end.
    Drains,
    /// Closes it before `blueprint` writes anything, so every write meets a closed pipe.
    ClosesAtOnce,
    /// Reads one line, then closes it (`| head -1`).
    ReadsOneLine,
}

/// Reads `pipe` as `reader` says, on a thread; returns what was read.
pub fn read_pipe(
    pipe: impl Read + Send + 'static,
    reader: Reader,
) -> std::thread::JoinHandle<std::io::Result<String>> {
    if reader == Reader::ClosesAtOnce {
        drop(pipe);
        return std::thread::spawn(|| Ok(String::new()));
    }
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        match reader {
            Reader::ReadsOneLine => {
                std::io::BufReader::new(pipe).read_until(b'\n', &mut bytes)?;
            }
            _ => {
                let mut pipe = pipe;
                pipe.read_to_end(&mut bytes)?;
            }
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    })
}

/// Runs `blueprint` with its stdout and stderr read as given and returns its exit code and
/// what was read of each. A run that has not ended after a minute is killed and fails the
/// test, so a walk that loops fails instead of hanging.
pub fn run_reading(
    args: &[&str],
    cwd: &Path,
    stdout: Reader,
    stderr: Reader,
) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_blueprint"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let out = read_pipe(child.stdout.take().unwrap(), stdout);
    let err = read_pipe(child.stderr.take().unwrap(), stderr);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().expect("kills");
            panic!("`blueprint {}` still running after 60s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (
        status.code().unwrap_or(-1),
        out.join().unwrap().expect("stdout"),
        err.join().unwrap().expect("stderr"),
    )
}

/// Runs `blueprint` and returns its exit code, stdout and stderr.
pub fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    run_reading(args, cwd, Reader::Drains, Reader::Drains)
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("blueprint-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn arg(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }

    /// `text` with this directory's path replaced by `[TMP]`.
    pub fn filter(&self, text: &str) -> String {
        text.replace(&self.arg(), "[TMP]")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies the directory `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs git in `dir` with a fixed identity and clock (commit ids are reproducible) and no
/// user or system configuration.
pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "board")
        .env("GIT_AUTHOR_EMAIL", "board@example.com")
        .env("GIT_COMMITTER_NAME", "board")
        .env("GIT_COMMITTER_EMAIL", "board@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {}", args.join(" "));
}

/// Replaces the first `from` in the file with `to`; `from` must be there.
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: {from}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}
