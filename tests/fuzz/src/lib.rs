//! Fuzz targets over every decoder of untrusted input (issue 16), one body per target shared by
//! the smoke test (`tests/smoke.rs`: the seed corpus and seeded mutations, in `cargo test`) and
//! the coverage-guided runs of cargo-fuzz (`libfuzzer/`). See `README.md` here.

pub mod mutate;
pub mod seeds;
pub mod targets;
pub mod world;

/// The CLI's zone file reader (a module of the `sigil` binary), included as it is.
#[path = "../../../tools/sigil/src/zone.rs"]
pub mod zone;
