//! What a light resolver reads from a peer's API and believes only once verified: state
//! proofs (JSON, with the tree proof inside), validator handoffs, and the tree proof itself.

use serde::Deserialize;
use sigil_core::block::{Handoff, follow_handoffs};
use sigil_core::paging::Page;
use sigil_core::proof::{Proof, StateProof, check_fresh, verify};
use sigil_core::state::{NameEntry, ValidatorSet, keys};
use sigil_core::types::decode;

use crate::world::{CHAIN_ID, world};

/// The answer of `/v1/proofs`, as the light resolver reads it.
#[derive(Deserialize)]
struct ProofsAnswer {
    proofs: Vec<StateProof>,
}

fn trusted() -> ValidatorSet {
    world().ledger.validators().expect("the world's validators")
}

/// A peer's proofs answer: each proof checked against the world's validators as the light
/// resolver checks it, and the proven value read as a name entry.
pub fn light_proofs(data: &[u8]) {
    let Ok(answer) = serde_json::from_slice::<ProofsAnswer>(data) else {
        return;
    };
    let trusted = trusted();
    for proof in &answer.proofs {
        let _ = check_fresh(proof.header.height, proof.header.time_ms, 0, 60);
        if proof.verify(CHAIN_ID, &trusted).is_ok() {
            let _ = proof.verify_entry::<NameEntry>(&proof.key, "the name", CHAIN_ID, &trusted);
        }
    }
}

/// A peer's page of validator changes, followed from the world's validators.
pub fn light_handoffs(data: &[u8]) {
    let Ok(page) = serde_json::from_slice::<Page<Handoff>>(data) else {
        return;
    };
    let _ = follow_handoffs(CHAIN_ID, &trusted(), &page.items);
}

/// An encoded tree proof checked against the world's state root for `shop.sigil`'s entry,
/// present and absent.
pub fn tree_proof(data: &[u8]) {
    let Ok(proof) = decode::<Proof>(data) else {
        return;
    };
    let world = world();
    let root = world.ledger.tip().state_root;
    let key = keys::name("shop.sigil");
    let _ = verify(&root, &key, Some(b"not the entry"), &proof);
    let _ = verify(&root, &key, None, &proof);
    let _ = verify(&root, &keys::name("none.sigil"), None, &proof);
}
