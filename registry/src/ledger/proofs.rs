//! Proofs from the ledger: state values at the tip with the tree proof, the tip header, its
//! commit and the validator set, for clients that trust no node.

use sigil_core::proof::{CertProof, StateProof};
use sigil_core::state::keys;
use sigil_core::types::{Hash, Height, encode};

use super::Ledger;
use crate::error::{Error, Result};
use crate::tree::StateTree;

impl Ledger {
    /// The value of a state key at the tip with everything needed to check it without trusting
    /// this node: the tree proof, the tip header, its commit and the validator set.
    pub fn prove(&self, key: &[u8]) -> Result<StateProof> {
        let mut proofs = self.prove_keys(&[key], None)?;
        Ok(proofs.pop().expect("one proof per key"))
    }

    /// The proof of the certificate of `name` with this SHA-256 (or of its absence) and of the
    /// name's entry, both at the same tip.
    pub fn prove_cert(&self, name: &str, cert_sha256: &Hash) -> Result<CertProof> {
        let mut proofs =
            self.prove_keys(&[&keys::cert(name, cert_sha256), &keys::name(name)], None)?;
        let name = proofs.pop();
        let cert = proofs.pop().expect("two proofs for two keys");
        Ok(CertProof { cert, name })
    }

    /// The heights whose state this node can prove: from the oldest its prune window keeps
    /// (at least 1, the first final block) to the tip; empty before the first block.
    pub fn provable_heights(&self) -> std::ops::RangeInclusive<Height> {
        let tip = self.tip().height;
        tip.saturating_sub(self.prune_window_blocks).max(1)..=tip
    }

    /// Proofs of several keys, all against the same header (so that facts which depend on
    /// each other, such as a certificate and its name, are read at one height): the header at
    /// `height`, or the tip's when `None`. A height above the tip, or one whose tree versions
    /// are pruned (more than the prune window below the tip), is refused.
    pub fn prove_keys(&self, keys: &[&[u8]], height: Option<Height>) -> Result<Vec<StateProof>> {
        let tip = self.tip().height;
        let height = height.unwrap_or(tip);
        if !self.provable_heights().contains(&height) {
            return Err(Error::invalid(format!(
                "no state to prove at height {height}: this node proves heights {:?}",
                self.provable_heights()
            )));
        }
        let stored = self
            .header_at(height)?
            .ok_or_else(|| Error::corrupt("header", format!("header {height} missing")))?;
        let commit = stored
            .commit
            .ok_or_else(|| Error::invalid("the chain has no final block yet; wait for height 1"))?;
        let validators = self.validators_deciding(height)?;
        let tree = StateTree::new(self.store.as_ref());
        keys.iter()
            .map(|key| {
                let (value, proof) = tree.get_with_proof(key, height)?;
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
