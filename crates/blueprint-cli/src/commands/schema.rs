//! `blueprint schema [plant|fleet] [--write DIR]`.

use crate::out::{errln, out, outln};
use blueprint_syntax::schema::{fleet_schema, plant_schema, to_pretty};
use std::path::Path;

/// Which schema to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Which {
    /// Plant files.
    Plant,
    /// fleet.toml.
    Fleet,
}

pub(crate) fn run(which: Which, write: Option<&Path>) -> u8 {
    if let Some(dir) = write {
        for (name, v) in [
            ("plant.v1.json", plant_schema()),
            ("fleet.v1.json", fleet_schema()),
        ] {
            let path = dir.join(name);
            #[allow(clippy::disallowed_methods)]
            if let Err(e) = std::fs::write(&path, to_pretty(&v)) {
                errln!("error: cannot write {}: {e}", path.display());
                return 2;
            }
            outln!("wrote {}", path.display());
        }
        return 0;
    }
    let v = match which {
        Which::Plant => plant_schema(),
        Which::Fleet => fleet_schema(),
    };
    out!("{}", to_pretty(&v));
    0
}
