//! Any bytes as the choices of the valid-fleet generator (`blueprint_tests::plantgen`): the
//! generated fleet compiles without error and builds with every file verified.
#![no_main]

use blueprint_tests::fuzz::{Outcome, pipeline};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let generated = blueprint_tests::plantgen::generate(data);
    if let Outcome::Refused(codes) = pipeline(&generated.inputs) {
        panic!(
            "a generated fleet is refused ({codes:?}):\n{}",
            blueprint_tests::fuzz::show_inputs(&generated.inputs)
        );
    }
});
