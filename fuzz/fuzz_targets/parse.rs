//! Any bytes as a YAML and a TOML plant or fleet file: read, parse and decode without a panic,
//! every finding located inside the file (`blueprint_tests::fuzz::fuzz_parse`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blueprint_tests::fuzz::fuzz_parse(data);
});
