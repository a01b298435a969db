//! `cargo bench -p blueprint-cli --bench hostile`: the hostile-input corpus on the release
//! binary, every case held to its targets — at most one second of CPU and 256 MiB of memory
//! (DESIGN §6, hostile input contained) — besides its expected finding or acceptance. Prints
//! one line per case and writes them to `target/hostile-corpus.txt` (docs/reliability.md
//! quotes the figures); exits 1 when a case fails.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods, // the report file is the benchmark's own output
    missing_docs
)]

#[path = "../tests/hostile_corpus.rs"]
mod corpus;

fn main() {
    let started = std::time::Instant::now();
    let (report, failures) = corpus::run_all_targeted();
    print!("{report}");
    let cases = report.lines().count() + failures.len();
    let (mut worst_cpu, mut worst_rss) = (0.0_f64, 0_u64);
    for line in report.lines() {
        // `ok   cat/case: exit N, 0.12s CPU, 34 MiB`
        let figures = line.rsplit(": ").next().unwrap_or_default();
        for part in figures.split(", ") {
            if let Some(cpu) = part.strip_suffix("s CPU") {
                worst_cpu = worst_cpu.max(cpu.parse().unwrap_or(0.0));
            }
            if let Some(mib) = part.strip_suffix(" MiB") {
                worst_rss = worst_rss.max(mib.parse().unwrap_or(0));
            }
        }
    }
    let summary = format!(
        "{cases} cases, {} failed; worst {worst_cpu:.2}s CPU, {worst_rss} MiB (targets {}s, {} MiB); {:.0}s in all\n",
        failures.len(),
        corpus::TARGETS.0,
        corpus::TARGETS.1 / 1024,
        started.elapsed().as_secs_f64()
    );
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::write(
        target.join("hostile-corpus.txt"),
        format!("{report}{summary}"),
    );
    print!("{summary}");
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("FAIL {f}");
        }
        std::process::exit(1);
    }
}
