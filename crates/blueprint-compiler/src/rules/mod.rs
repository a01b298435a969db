//! Rules that judge resolved values. Plant rules (BP1xxx) and policy (BP4xxx) run where each
//! value is resolved, in `resolve/`; here are the recovery rules (BP2xxx), which need the
//! whole backup plan, and the fleet-wide rules (BP3xxx, generated names).

pub(crate) mod fleet;
pub(crate) mod recovery;

pub(crate) use fleet::{check_fleet, unique_names};
