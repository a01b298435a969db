//! Support shared by the test binary and the benchmarks: a deterministic generator of N-plant
//! fleets (`fleetgen`). The tests themselves live in `blueprint/` (one test binary).

pub mod fleetgen;
