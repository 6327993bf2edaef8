//! A state value with everything needed to check it without trusting the node that served it:
//! the tree proof, the header whose state root it is checked against, the header's commit
//! certificate, and the validator set that signed it.

use borsh::{BorshDeserialize, BorshSerialize};
use jmt::{KeyHash, SimpleHasher};
use serde::{Deserialize, Serialize};

use crate::block::{Commit, CommitError, Header};
use crate::state::ValidatorSet;
use crate::types::{Hash, Height, decode};

/// blake3 as the tree's hash function.
#[derive(Clone)]
pub struct Blake3Hasher(blake3::Hasher);

impl SimpleHasher for Blake3Hasher {
    fn new() -> Self {
        Blake3Hasher(blake3::Hasher::new())
    }
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finalize(self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }
}

/// A proof that a key has a value, or has none, under a state root.
pub type Proof = jmt::proof::SparseMerkleProof<Blake3Hasher>;

/// The tree's hash of a state key.
pub fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<Blake3Hasher>(key)
}

/// Checks `proof` that `key` has `value` (or, for `None`, no value) under `root`.
pub fn verify(
    root: &Hash,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &Proof,
) -> Result<(), ProofError> {
    proof
        .verify(jmt::RootHash(root.0), key_hash(key), value)
        .map_err(|e| ProofError::TreeMismatch(e.to_string()))
}

/// Why a proof is not believed: the step of the chain of trust that failed, said once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the proof is for chain `{got}`, not `{expected}`")]
    WrongChain { expected: String, got: String },
    #[error("the proof is signed by validator set {signed_by}, not the trusted set {trusted}")]
    UntrustedSet { signed_by: Hash, trusted: Hash },
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error("the tree proof does not decode: {0}")]
    TreeUndecodable(String),
    #[error("the tree proof does not match the signed state root: {0}")]
    TreeMismatch(String),
    #[error("the node answered with a proof of another key than {what}")]
    OtherKey { what: String },
    #[error("the proven value of {what} does not decode: {detail}")]
    Undecodable { what: String, detail: String },
    #[error("the validator change at height {height} is not signed by the trusted set: {cause}")]
    HandoffUnsigned { height: Height, cause: CommitError },
    #[error(
        "the block at height {height} hands over to set {named}, not to the set {offered} offered with it"
    )]
    HandoffMismatch {
        height: Height,
        named: Hash,
        offered: Hash,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct StateProof {
    #[serde(with = "hex_bytes")]
    pub key: Vec<u8>,
    #[serde(with = "hex_opt")]
    pub value: Option<Vec<u8>>,
    /// The encoded tree proof.
    #[serde(with = "hex_bytes")]
    pub proof: Vec<u8>,
    pub header: Header,
    pub commit: Commit,
    pub validators: ValidatorSet,
}

/// The proof of a name's certificate entry (or its absence) and the proof of the name's entry
/// against the same header (whether the certificate speaks for the name depends on both).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertProof {
    pub cert: StateProof,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<StateProof>,
}

impl StateProof {
    /// Checks the whole chain of trust against validators the caller already trusts: the
    /// validator set is the trusted one, its commit finalizes the header, and the tree proof
    /// shows the value (or its absence) under the header's state root. Returns the proven value.
    pub fn verify(
        &self,
        chain_id: &str,
        trusted: &ValidatorSet,
    ) -> Result<Option<&[u8]>, ProofError> {
        if self.header.chain_id != chain_id {
            return Err(ProofError::WrongChain {
                expected: chain_id.to_string(),
                got: self.header.chain_id.clone(),
            });
        }
        if self.validators != *trusted {
            return Err(ProofError::UntrustedSet {
                signed_by: self.validators.hash(),
                trusted: trusted.hash(),
            });
        }
        self.commit.verify(&self.header, &self.validators)?;
        let proof: Proof =
            decode(&self.proof).map_err(|e| ProofError::TreeUndecodable(e.to_string()))?;
        verify(
            &self.header.state_root,
            &self.key,
            self.value.as_deref(),
            &proof,
        )?;
        Ok(self.value.as_deref())
    }

    /// The one way a client reads a proven entry: the proof is of `key`, it holds against the
    /// trusted validators ([`StateProof::verify`]), and its value decodes as `T`; `None`: the
    /// key is proven absent. `what` names the entry in errors (e.g. "the name `example.sigil`").
    pub fn verify_entry<T: BorshDeserialize>(
        &self,
        key: &[u8],
        what: &str,
        chain_id: &str,
        trusted: &ValidatorSet,
    ) -> Result<Option<T>, ProofError> {
        if self.key != key {
            return Err(ProofError::OtherKey {
                what: what.to_string(),
            });
        }
        self.verify(chain_id, trusted)?
            .map(decode)
            .transpose()
            .map_err(|e| ProofError::Undecodable {
                what: what.to_string(),
                detail: e.to_string(),
            })
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(<String as Deserialize>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod hex_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        <Option<String> as Deserialize>::deserialize(d)?
            .map(|s| hex::decode(s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// The proof age clients accept unless told otherwise: a few minutes, many block intervals.
pub const DEFAULT_MAX_PROOF_AGE_SECS: u64 = 300;

/// How far a proof's block time may run ahead of the client's clock (clocks differ a little).
pub const MAX_FUTURE_SKEW_SECS: u64 = 60;

/// Why a proof's block cannot vouch for the present: too old, or claiming a time ahead of the
/// client's clock (with such a time it would look fresh for as long as it claims).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unfresh {
    #[error(
        "stale: the proof is of block {height}, {age_secs} s old (more than {max_age_secs} s); the node may be hiding newer blocks; ask another node"
    )]
    Stale {
        height: u64,
        age_secs: u64,
        max_age_secs: u64,
    },
    #[error(
        "from the future: block {height} claims a time {ahead_secs} s ahead of this machine's clock, so the proof's age cannot be judged; check this clock, or ask another node"
    )]
    FromTheFuture { height: u64, ahead_secs: u64 },
}

/// The one freshness rule of every client: refuses block `height`, stamped `block_time_ms`,
/// when it is more than `max_age_secs` older than
/// `now_ms` (unix milliseconds, the client's clock), or more than [`MAX_FUTURE_SKEW_SECS`]
/// ahead of it. The chain makes a block every interval, so an old proof means a node that
/// withholds the chain's newer state.
pub fn check_fresh(
    height: u64,
    block_time_ms: u64,
    now_ms: u64,
    max_age_secs: u64,
) -> Result<(), Unfresh> {
    let ahead_secs = block_time_ms.saturating_sub(now_ms) / 1000;
    if ahead_secs > MAX_FUTURE_SKEW_SECS {
        return Err(Unfresh::FromTheFuture { height, ahead_secs });
    }
    let age_secs = now_ms.saturating_sub(block_time_ms) / 1000;
    if age_secs > max_age_secs {
        return Err(Unfresh::Stale {
            height,
            age_secs,
            max_age_secs,
        });
    }
    Ok(())
}
