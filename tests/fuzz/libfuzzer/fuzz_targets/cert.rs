//! cargo-fuzz binary of the `cert` target (tests/fuzz/src/targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sigil_fuzz::targets::cert(data));
