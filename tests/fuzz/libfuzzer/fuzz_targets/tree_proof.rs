//! cargo-fuzz binary of the `tree_proof` target (tests/fuzz/src/targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sigil_fuzz::targets::tree_proof(data));
