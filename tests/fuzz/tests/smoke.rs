//! The fuzz smoke run (CI): every target over its checked-in seed corpus and the found crashes,
//! then a fixed number of deterministic mutations of those seeds, failing on any panic. A smoke
//! run only: the coverage-guided search is cargo-fuzz's (`tests/fuzz/README.md`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use sigil_fuzz::mutate::{Rng, mutate};
use sigil_fuzz::seeds;
use sigil_fuzz::targets::TARGETS;

/// Mutations per target (`SIGIL_FUZZ_MUTATIONS` overrides): seconds each in a debug build.
const MUTATIONS: u64 = 20_000;

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target)
}

/// The files of `tests/fuzz/<kind>/<target>/`, in name order.
fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir(kind, target)) else {
        return Vec::new();
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("a corpus file reads"))
        })
        .collect();
    files.sort();
    files
}

/// Runs `body` on `input`; on a panic, saves the input for cargo-fuzz and says where.
fn run(target: &str, body: fn(&[u8]), what: &str, input: &[u8]) -> Result<(), String> {
    if catch_unwind(AssertUnwindSafe(|| body(input))).is_ok() {
        return Ok(());
    }
    let path = std::env::temp_dir().join(format!(
        "sigil-fuzz-{target}-{}",
        &blake3::hash(input).to_hex()[..16]
    ));
    let saved = std::fs::write(&path, input).is_ok();
    Err(format!(
        "target `{target}` panicked on {what} ({} bytes{}); reproduce with \
         `cargo fuzz run --fuzz-dir tests/fuzz/libfuzzer --sanitizer none {target} {}`",
        input.len(),
        if saved { ", saved" } else { ", not saved" },
        path.display()
    ))
}

fn smoke(target: &str) {
    let body = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .expect("a target of that name");
    let seeds = inputs("corpus", target);
    assert!(
        !seeds.is_empty(),
        "no seed corpus in {}; write it with the ignored test write_seed_corpus",
        dir("corpus", target).display()
    );
    let mut failures = Vec::new();
    let found = inputs("regressions", target);
    for (name, input) in seeds.iter().chain(&found) {
        failures.extend(run(target, body, &format!("file {name}"), input).err());
    }
    let pool: Vec<Vec<u8>> = seeds.into_iter().map(|(_, bytes)| bytes).collect();
    let mut rng = Rng::new(
        target
            .bytes()
            .fold(16, |h, b| h.wrapping_mul(31) ^ u64::from(b)),
    );
    let mut last = pool[0].clone();
    let mutations = std::env::var("SIGIL_FUZZ_MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(MUTATIONS);
    for i in 0..mutations {
        // Half the time the last mutant again: a few edits deep.
        let base = if rng.below(2) == 0 {
            last.clone()
        } else {
            pool[rng.below(pool.len())].clone()
        };
        last = mutate(&mut rng, &base, &pool);
        if let Err(e) = run(target, body, &format!("mutation {i}"), &last) {
            failures.push(e);
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

macro_rules! smoke_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                smoke(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_smoke_test() {
            let tested = [$(stringify!($name)),*];
            for (name, _) in TARGETS {
                assert!(tested.contains(name), "target `{name}` has no smoke test");
            }
        }
    };
}

smoke_tests!(
    tx,
    block,
    consensus,
    p2p,
    dns,
    zone,
    record,
    cert,
    light_proofs,
    light_handoffs,
    tree_proof,
    api
);

/// Runs `target` on the input in `tests/fuzz/regressions/<target>/<file>`.
fn regression(target: &str, file: &str) {
    let (_, body) = TARGETS.iter().find(|(name, _)| *name == target).unwrap();
    let input = std::fs::read(dir("regressions", target).join(file)).unwrap();
    body(&input);
}

/// Found by this smoke run: `@ 300 CAA 0 i\#ssue "..."` parsed into a record whose RDATA does
/// not read back (so the ledger refused it and DNS could not serve it); `Record::new` now
/// refuses it.
#[test]
fn regression_record_caa_tag_that_does_not_read_back() {
    regression("record", "caa-tag-that-does-not-read-back");
}

/// Found by this smoke run: a CAA value with a `"` showed as `"ing""`, which does not parse
/// back; `Record`'s display now escapes it.
#[test]
fn regression_record_caa_value_with_a_quote() {
    regression("record", "caa-value-with-a-quote");
}

/// Found by cargo-fuzz: `@ TXT\x0b;6T MX 10 sDl"` parsed into a TXT of no string (the rest is a
/// comment), shown as `@ 300 TXT `, which does not parse; such TXT data is now refused.
#[test]
fn regression_record_txt_of_only_a_comment() {
    regression("record", "txt-of-only-a-comment");
}

/// Found by cargo-fuzz: `lisub NS ns70example\310\221EEEE\.EEE.et.t\.n.`, a target name whose
/// label holds both a non-ASCII letter and an escaped dot, showed with the dot unescaped (a
/// Unicode label is shown decoded, and hickory does not escape it there), so the text named
/// another record.
#[test]
fn regression_record_ns_target_label_with_an_escaped_dot_and_unicode() {
    regression("record", "ns-target-label-with-an-escaped-dot-and-unicode");
}

/// Found by cargo-fuzz: a query whose question name is a compression pointer into the header
/// (`!.\000.`, class 0x84c9) got a reply that does not parse.
#[test]
fn regression_dns_question_name_pointing_into_the_header() {
    regression("dns", "question-name-pointing-into-the-header");
}

/// Found by cargo-fuzz: a transaction carrying an OPT record (type 41), which hickory decodes
/// but cannot show; `Record`'s display failed, so the transaction's JSON panicked. Unsupported
/// types are refused by the ledger, but a record must always show (generic form, RFC 3597).
#[test]
fn regression_tx_opt_record_that_hickory_cannot_show() {
    regression("tx", "opt-record-that-hickory-cannot-show");
}

/// Found by cargo-fuzz: `b DS 8 90 0 9`, half a byte of digest, was read as a DS with none,
/// shown as `b 300 DS 8 90 0 `, which does not parse; a DS without a digest is refused.
#[test]
fn regression_record_ds_digest_of_one_hex_digit() {
    regression("record", "ds-digest-of-one-hex-digit");
}

/// Found by cargo-fuzz: a question name of 256 bytes with its root label, one more than a name
/// may have, was answered from the index of registered names with an NXDOMAIN no client could
/// read; such a query now takes the full path, which drops it as not a DNS message.
#[test]
fn regression_dns_question_name_of_256_bytes() {
    regression("dns", "question-name-of-256-bytes");
}

/// Found by cargo-fuzz after the fix above: seventeen questions, the later ones compressed; only
/// the first name was checked. Every name of the question section is now.
#[test]
fn regression_dns_seventeen_questions_with_pointers() {
    regression("dns", "seventeen-questions-with-pointers");
}

/// Writes the seed corpora from the world (run after changing an encoding):
/// `cargo test --workspace --test fuzz_smoke -- --ignored write_seed_corpus`.
#[test]
#[ignore]
fn write_seed_corpus() {
    for (target, inputs) in seeds::generate() {
        let dir = dir("corpus", target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for input in inputs {
            let name = &blake3::hash(&input).to_hex()[..16];
            std::fs::write(dir.join(name), &input).unwrap();
        }
    }
}
