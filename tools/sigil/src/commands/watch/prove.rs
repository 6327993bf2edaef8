//! The state of the watched keys at one height, each value checked against a header signed by
//! the trusted validators, all against the same header.

use std::collections::BTreeMap;

use borsh::BorshDeserialize;
use sigil_core::block::Header;
use sigil_core::limits::MAX_PROOF_KEYS_PER_REQUEST;
use sigil_core::proof::ProofError;
use sigil_core::state::ValidatorSet;
use sigil_core::types::{Hash, Height, decode};

use crate::client::{Client, node_code};

/// A proof the node gave that does not hold: the watch reports it and prints no event.
#[derive(Debug)]
pub struct NotVerified {
    pub reason: String,
    /// The proof is signed by another validator set than the trusted one (the set may have
    /// changed: worth following the chain's handoffs once).
    pub other_set: bool,
}

impl std::fmt::Display for NotVerified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for NotVerified {}

/// The error of a node's answer that does not hold.
pub(super) fn lie(reason: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(NotVerified {
        reason: reason.into(),
        other_set: false,
    })
}

/// Values proven at one height, with the header and signatures that prove them.
#[derive(Debug)]
pub struct Proven {
    pub header: Header,
    pub block_hash: Hash,
    pub validator_set: Hash,
    pub signatures: usize,
    values: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Proven {
    /// The proven value of `key`, decoded; `what` names it in errors.
    pub fn get<T: BorshDeserialize>(&self, key: &[u8], what: &str) -> anyhow::Result<Option<T>> {
        let Some(value) = self.values.get(key) else {
            // A key this watch did not ask for: a bug here, not a lie there.
            anyhow::bail!(
                "internal: {what} was not proven at height {}",
                self.header.height
            );
        };
        value
            .as_deref()
            .map(decode)
            .transpose()
            .map_err(|e| lie(format!("the proven value of {what} does not decode: {e}")))
    }

    pub fn has(&self, key: &[u8]) -> bool {
        self.values.contains_key(key)
    }
}

/// What the node said about a height.
pub enum Fetched {
    Proven(Box<Proven>),
    /// The height is not final yet.
    NotFinal,
    /// The node no longer keeps the state of that height.
    Pruned,
}

/// Proves `keys` at `height` (adding to `into`, whose header they must share, when given).
pub async fn prove(
    client: &Client,
    chain_id: &str,
    trusted: &ValidatorSet,
    keys: &[Vec<u8>],
    height: Height,
    into: Option<Proven>,
) -> anyhow::Result<Fetched> {
    let mut proven = into;
    for chunk in keys.chunks(MAX_PROOF_KEYS_PER_REQUEST) {
        let proofs = match client.proofs_at(chunk, height).await {
            Ok(proofs) => proofs,
            Err(e) if node_code(&e) == Some("height_not_final") => return Ok(Fetched::NotFinal),
            Err(e) if node_code(&e) == Some("height_pruned") => return Ok(Fetched::Pruned),
            Err(e) => return Err(e),
        };
        if proofs.len() != chunk.len() {
            return Err(lie(format!(
                "the node answered {} proofs for {} keys",
                proofs.len(),
                chunk.len()
            )));
        }
        for (key, proof) in chunk.iter().zip(proofs) {
            if proof.key != *key {
                return Err(lie(ProofError::OtherKey {
                    what: format!("key {}", hex::encode(key)),
                }
                .to_string()));
            }
            let value = match proof.verify(chain_id, trusted) {
                Ok(value) => value.map(<[u8]>::to_vec),
                Err(e) => {
                    return Err(anyhow::Error::new(NotVerified {
                        other_set: matches!(e, ProofError::UntrustedSet { .. }),
                        reason: e.to_string(),
                    }));
                }
            };
            if proof.header.height != height {
                return Err(lie(format!(
                    "the node proved height {} when height {height} was asked (an old state could hide a change)",
                    proof.header.height
                )));
            }
            match proven.as_ref().map(|p| p.header == proof.header) {
                None => {
                    proven = Some(Proven {
                        block_hash: proof.header.hash(),
                        validator_set: proof.validators.hash(),
                        signatures: proof.commit.signatures.len(),
                        header: proof.header,
                        values: BTreeMap::new(),
                    })
                }
                Some(false) => {
                    return Err(lie(format!(
                        "the node proved height {height} against two different headers"
                    )));
                }
                Some(true) => {}
            }
            proven
                .as_mut()
                .expect("set above")
                .values
                .insert(key.clone(), value);
        }
    }
    match proven {
        Some(proven) => Ok(Fetched::Proven(Box::new(proven))),
        None => anyhow::bail!("internal: nothing to prove at height {height}"),
    }
}
