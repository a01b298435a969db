//! The library half of `blueprint`: the directory walk, shared by the binary and the tests.
//!
//! The binary (`src/main.rs`) holds the subcommands; everything here reads the disk and nothing
//! prints.

pub mod walk;
