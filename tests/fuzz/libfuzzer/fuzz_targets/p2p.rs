//! cargo-fuzz binary of the `p2p` target (tests/fuzz/src/targets).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sigil_fuzz::targets::p2p(data));
