//! `cargo bench -p blueprint-tests --bench build`: `build` of a generated fleet (default 1 000
//! plants × 2 environments; `BLUEPRINT_BENCH_N=...` for others) into a fresh OUT, beside a plain
//! copy of the same tree on the same file system; then a no-op rebuild and a rebuild with one
//! plant changed. Peak memory is the process's `VmHWM` right after the full build. Figures:
//! docs/performance.md.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use blueprint_cli::build::{Options, build_into};
use std::path::Path;
use std::time::Instant;

/// One `blueprint build` as the command runs it: recover, compile, render, verify and stage,
/// plan, apply.
fn one_build(inputs: &[blueprint_compiler::Input], out: &Path, threads: usize) -> (f64, String) {
    let start = Instant::now();
    let stager = blueprint_emit::Stager::new(out).unwrap();
    blueprint_emit::recover(out).unwrap();
    let built = build_into(
        inputs,
        &Options {
            threads,
            out: Some(out.to_path_buf()),
            ..Default::default()
        },
        Some(&stager),
    );
    assert!(!built.failed(), "the generated fleet builds clean");
    assert!(built.io_error.is_none());
    let rendered = start.elapsed().as_secs_f64();
    let plan = blueprint_emit::plan_entries(out, built.entries, built.lock).unwrap();
    let planned = start.elapsed().as_secs_f64();
    let s = blueprint_emit::apply(out, plan, false).unwrap();
    let total = start.elapsed().as_secs_f64();
    (
        total,
        format!(
            "{} written, {} unchanged, {} deleted; compile+render+verify {:.0} ms, plan {:.0} ms, write {:.0} ms",
            s.written,
            s.unchanged,
            s.deleted,
            rendered * 1000.0,
            (planned - rendered) * 1000.0,
            (total - planned) * 1000.0
        ),
    )
}

/// Copies every file under `from` to `to` (what `cp -r` does), in seconds.
fn plain_copy(from: &Path, to: &Path) -> (f64, usize) {
    fn walk(from: &Path, to: &Path, n: &mut usize) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &target, n);
            } else {
                std::fs::copy(e.path(), &target).unwrap();
                *n += 1;
            }
        }
    }
    let start = Instant::now();
    let mut n = 0;
    walk(from, to, &mut n);
    (start.elapsed().as_secs_f64(), n)
}

fn main() {
    let n: usize = std::env::var("BLUEPRINT_BENCH_N")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1000);
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut inputs = blueprint_tests::fleetgen::inputs(n);
    let dir = std::env::temp_dir().join(format!("blueprint-bench-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("out");
    let (full, summary) = one_build(&inputs, &out, threads);
    let rss = blueprint_tests::peak_rss();
    let (copy, files) = plain_copy(&out, &dir.join("copy"));
    let (noop, noop_summary) = one_build(&inputs, &out, threads);
    let plant = inputs
        .iter_mut()
        .find(|i| !i.is_fleet)
        .expect("a plant file");
    let text = String::from_utf8(plant.bytes.clone()).unwrap();
    let changed = text.replacen("users: ", "users: 1", 1);
    assert_ne!(text, changed, "the generated plant names its users");
    plant.bytes = changed.into_bytes();
    let (one, one_summary) = one_build(&inputs, &out, threads);
    println!("build of {n} plants × 2 environments on {threads} threads ({files} files)");
    println!("  full build        {:>8.0} ms  ({summary})", full * 1000.0);
    println!(
        "  plain copy        {:>8.0} ms  (the same tree, cp -r on the same file system)",
        copy * 1000.0
    );
    println!("  full / copy       {:>8.2}×", full / copy);
    println!(
        "  no-op rebuild     {:>8.0} ms  ({noop_summary})",
        noop * 1000.0
    );
    println!(
        "  one plant changed {:>8.0} ms  ({one_summary})",
        one * 1000.0
    );
    println!("  peak RSS after the full build: {rss}");
    let _ = std::fs::remove_dir_all(&dir);
}
