//! The library half of `blueprint`: the directory walk and the build pipeline short of writing,
//! shared by the binary, the tests and the benchmarks.
//!
//! The binary (`src/main.rs`) holds the subcommands; everything here reads the disk and nothing
//! prints.

pub mod build;
pub mod diff;
pub mod gitbase;
pub mod walk;
