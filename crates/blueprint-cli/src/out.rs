//! Every byte the command line prints goes through here: [`out!`]/[`outln!`] to stdout and
//! [`err!`]/[`errln!`] to stderr, written with `std::io::Write` instead of `print!`, which
//! panics when the stream is closed (`blueprint rules | head -1`).
//!
//! A stream the reader closed (`BrokenPipe`) is quietly given up: later writes to it are
//! skipped and the command keeps the exit code it computed. Any other write failure (a full
//! disk behind `>`) is reported on stderr once and makes the exit code at least 2 ([`exit_code`]).

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Where a write goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Standard output: models, JSON, listings.
    Out,
    /// Standard error: findings for people, progress, errors.
    Err,
}

/// Set once a write to stdout failed; nothing more is written to it.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// Set once a write to stderr failed; nothing more is written to it.
static STDERR_GONE: AtomicBool = AtomicBool::new(false);
/// Set when a write failed for another reason than a closed pipe.
static FAILED: AtomicBool = AtomicBool::new(false);

fn gone(stream: Stream) -> &'static AtomicBool {
    match stream {
        Stream::Out => &STDOUT_GONE,
        Stream::Err => &STDERR_GONE,
    }
}

fn try_write(stream: Stream, args: fmt::Arguments<'_>) -> io::Result<()> {
    match stream {
        Stream::Out => {
            let mut w = io::stdout().lock();
            w.write_fmt(args)?;
            w.flush()
        }
        Stream::Err => {
            let mut w = io::stderr().lock();
            w.write_fmt(args)?;
            w.flush()
        }
    }
}

/// Writes `args` to `stream`; never panics. Used by the macros.
pub(crate) fn write(stream: Stream, args: fmt::Arguments<'_>) {
    if gone(stream).load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = try_write(stream, args) {
        gone(stream).store(true, Ordering::Relaxed);
        if e.kind() != io::ErrorKind::BrokenPipe {
            FAILED.store(true, Ordering::Relaxed);
            if stream == Stream::Out {
                write(
                    Stream::Err,
                    format_args!("error: cannot write to stdout: {e}\n"),
                );
            }
        }
    }
}

/// The exit code to end with: the command's, or at least 2 if output could not be written for
/// another reason than its reader having gone.
pub(crate) fn exit_code(code: u8) -> u8 {
    if FAILED.load(Ordering::Relaxed) {
        code.max(2)
    } else {
        code
    }
}

/// `print!` that stops quietly when stdout is closed.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Out, format_args!($($arg)*))
    };
}

/// `println!` that stops quietly when stdout is closed.
macro_rules! outln {
    () => {
        $crate::out::write($crate::out::Stream::Out, format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Out, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that stops quietly when stderr is closed.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Err, format_args!($($arg)*))
    };
}

/// `eprintln!` that stops quietly when stderr is closed.
macro_rules! errln {
    () => {
        $crate::out::write($crate::out::Stream::Err, format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write($crate::out::Stream::Err, format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {err, errln, out, outln};
