//! cargo-fuzz binary of the `light_proofs` target (tests/fuzz/src/targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sigil_fuzz::targets::light_proofs(data));
