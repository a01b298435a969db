//! Support shared by the test binary and the benchmarks: a deterministic generator of N-plant
//! fleets (`fleetgen`) and the invariants the property tests and the fuzz targets (`fuzz/`)
//! check on arbitrary input (`fuzz`). The tests themselves live in `blueprint/` (one test
//! binary).

pub mod fleetgen;
pub mod fuzz;
pub mod plantgen;

/// The process's peak resident set size (Linux `VmHWM`, e.g. `41236 kB`), or `?` elsewhere.
#[must_use]
#[allow(clippy::disallowed_methods)]
pub fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}
