//! Any bytes as a plants directory (NUL-separated `NAME\nCONTENT` files, the first one named
//! `fleet.toml` being the fleet): compile and build without a panic or BP9001, and a fleet
//! that compiles without error builds with every file verified
//! (`blueprint_tests::fuzz::fuzz_pipeline`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    blueprint_tests::fuzz::fuzz_pipeline(data);
});
