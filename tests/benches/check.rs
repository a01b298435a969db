//! `cargo bench -p blueprint-tests --bench check`: time and peak memory of `check` on generated
//! fleets of 100, 1 000 and (with `BLUEPRINT_BENCH_N=...`) other sizes. Figures: docs/performance.md.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::time::Instant;

fn main() {
    let sizes: Vec<usize> = std::env::var("BLUEPRINT_BENCH_N")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1000]);
    for n in sizes {
        let inputs = blueprint_tests::fleetgen::inputs(n);
        let bytes: usize = inputs.iter().map(|i| i.bytes.len()).sum();
        let mut best = f64::MAX;
        let mut findings = 0;
        for _ in 0..5 {
            let start = Instant::now();
            let c = blueprint_compiler::compile(&inputs);
            best = best.min(start.elapsed().as_secs_f64());
            findings = c.diagnostics.len();
            assert_eq!(
                c.plants.len(),
                n * 2,
                "every generated plant resolves in prod and staging"
            );
        }
        println!(
            "check {n:>5} plants ({:.1} MiB of input): best of 5 {:.1} ms, {findings} findings, peak RSS so far {}",
            bytes as f64 / 1_048_576.0,
            best * 1000.0,
            blueprint_tests::peak_rss()
        );
    }
}
