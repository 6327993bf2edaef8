//! Proofs from the ledger: state values at the tip with the tree proof, the tip header, its
//! commit and the validator set, for clients that trust no node.

use sigil_core::proof::{CertProof, StateProof};
use sigil_core::state::keys;
use sigil_core::types::{Hash, encode};

use super::Ledger;
use crate::error::{Error, Result};
use crate::tree::StateTree;

impl Ledger {
    /// The value of a state key at the tip with everything needed to check it without trusting
    /// this node: the tree proof, the tip header, its commit and the validator set.
    pub fn prove(&self, key: &[u8]) -> Result<StateProof> {
        let mut proofs = self.prove_keys(&[key])?;
        Ok(proofs.pop().expect("one proof per key"))
    }

    /// The proof of the certificate of `name` with this SHA-256 (or of its absence) and of the
    /// name's entry, both at the same tip.
    pub fn prove_cert(&self, name: &str, cert_sha256: &Hash) -> Result<CertProof> {
        let mut proofs = self.prove_keys(&[&keys::cert(name, cert_sha256), &keys::name(name)])?;
        let name = proofs.pop();
        let cert = proofs.pop().expect("two proofs for two keys");
        Ok(CertProof { cert, name })
    }

    /// Proofs of several keys, all against the same tip header (so that facts which depend on
    /// each other, such as a certificate and its name, are read at one height).
    pub fn prove_keys(&self, keys: &[&[u8]]) -> Result<Vec<StateProof>> {
        let tip = self.tip();
        let stored = self.header_at(tip.height)?.ok_or_else(|| {
            Error::corrupt("header", format!("tip header {} missing", tip.height))
        })?;
        let commit = stored
            .commit
            .ok_or_else(|| Error::invalid("the chain has no final block yet; wait for height 1"))?;
        let validators = self.validators_deciding(tip.height)?;
        let tree = StateTree::new(self.store.as_ref());
        keys.iter()
            .map(|key| {
                let (value, proof) = tree.get_with_proof(key, tip.height)?;
                Ok(StateProof {
                    key: key.to_vec(),
                    value,
                    proof: encode(&proof),
                    header: stored.header.clone(),
                    commit: commit.clone(),
                    validators: validators.clone(),
                })
            })
            .collect()
    }
}
