//! Blocks: the header (with the state root after the block), the transactions, and the commit
//! certificate of more than two thirds of the validators' voting power.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::proof::ProofError;
use crate::state::{ChainParams, ValidatorSet};
use crate::tx::SignedTx;
use crate::types::{Hash, Height, Keypair, PublicKey, Signature, encode};

const HEADER_DOMAIN: &[u8] = b"sigil/header/v1";
const VOTE_DOMAIN: &[u8] = b"sigil/commit-vote/v1";
const TX_ROOT_DOMAIN: &[u8] = b"sigil/tx-root/v1";

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Header {
    pub chain_id: String,
    pub height: Height,
    /// Proposer's clock, milliseconds since the Unix epoch; informative only, never read by the state machine.
    pub time_ms: u64,
    pub prev_hash: Hash,
    pub tx_root: Hash,
    /// Root of the state tree after this block's transactions.
    pub state_root: Hash,
    pub validators_hash: Hash,
    pub next_validators_hash: Hash,
    pub proposer: PublicKey,
}

impl Header {
    pub fn hash(&self) -> Hash {
        Hash::of(&[HEADER_DOMAIN, &encode(self)].concat())
    }
}

/// blake3 over the ids of a block's transactions, in order.
pub fn tx_root(txs: &[SignedTx]) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(TX_ROOT_DOMAIN);
    for tx in txs {
        h.update(&tx.id().0);
    }
    Hash(*h.finalize().as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Block {
    pub header: Header,
    pub txs: Vec<SignedTx>,
}

/// One validator's signature of a block.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitSig {
    pub validator: PublicKey,
    pub signature: Signature,
}

/// Proof that a block is final: signatures of more than two thirds of the voting power.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Commit {
    pub height: Height,
    pub round: u32,
    pub block_hash: Hash,
    pub signatures: Vec<CommitSig>,
}

/// The bytes a validator signs to commit a block: chain id, height and round bind it to one place.
pub fn vote_bytes(chain_id: &str, height: Height, round: u32, block_hash: &Hash) -> Vec<u8> {
    [VOTE_DOMAIN, &encode(&(chain_id, height, round, block_hash))].concat()
}

impl Commit {
    /// A commit signed by one validator (the single-validator chain).
    pub fn sign(header: &Header, round: u32, key: &Keypair) -> Commit {
        let block_hash = header.hash();
        let signature = key.sign(&vote_bytes(
            &header.chain_id,
            header.height,
            round,
            &block_hash,
        ));
        Commit {
            height: header.height,
            round,
            block_hash,
            signatures: vec![CommitSig {
                validator: key.public(),
                signature,
            }],
        }
    }

    /// Checks that this commit finalizes `header` under `validators`: right block, the validator
    /// set the header names, distinct known signers, valid signatures, more than 2/3 of the power.
    pub fn verify(&self, header: &Header, validators: &ValidatorSet) -> Result<(), CommitError> {
        self.verify_with(header, validators, |key, message, signature| {
            key.verify(message, signature)
        })
    }

    /// [`Commit::verify`] with each signature judged by `holds`, which must give
    /// `verify_strict`'s verdict (a node answers it from the signatures its consensus engine
    /// has verified already, and verifies the others).
    pub fn verify_with(
        &self,
        header: &Header,
        validators: &ValidatorSet,
        holds: impl Fn(&PublicKey, &[u8], &Signature) -> bool,
    ) -> Result<(), CommitError> {
        if self.height != header.height || self.block_hash != header.hash() {
            return Err(CommitError::OtherBlock {
                block_hash: self.block_hash,
                height: self.height,
            });
        }
        if validators.hash() != header.validators_hash {
            return Err(CommitError::OtherSet {
                offered: validators.hash(),
                named: header.validators_hash,
            });
        }
        let message = vote_bytes(&header.chain_id, self.height, self.round, &self.block_hash);
        let mut seen = Vec::new();
        let mut power: u128 = 0;
        for sig in &self.signatures {
            let Some(p) = validators.power_of(&sig.validator) else {
                return Err(CommitError::NotAValidator(sig.validator));
            };
            if seen.contains(&sig.validator) {
                return Err(CommitError::SignedTwice(sig.validator));
            }
            if !holds(&sig.validator, &message, &sig.signature) {
                return Err(CommitError::BadSignature(sig.validator));
            }
            seen.push(sig.validator);
            power += u128::from(p);
        }
        let total = u128::from(validators.total_power());
        if power * 3 <= total * 2 {
            return Err(CommitError::NotEnoughPower { power, total });
        }
        Ok(())
    }
}

/// Why a commit certificate does not finalize a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("the commit is for block {block_hash} at height {height}, not this header")]
    OtherBlock { block_hash: Hash, height: Height },
    #[error("the validator set {offered} is not the one the header names ({named})")]
    OtherSet { offered: Hash, named: Hash },
    #[error("{0} signed the commit but is not a validator")]
    NotAValidator(PublicKey),
    #[error("{0} signed the commit twice")]
    SignedTwice(PublicKey),
    #[error("the commit signature of {0} is invalid")]
    BadSignature(PublicKey),
    #[error("the commit carries {power} of {total} voting power, not more than two thirds")]
    NotEnoughPower { power: u128, total: u128 },
}

/// A change of the validator set as a light client checks it: the block that made it, that
/// block's commit by the old set, and the new set its header hands over to.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Handoff {
    pub header: Header,
    pub commit: Commit,
    pub validators: ValidatorSet,
}

/// Follows `handoffs` (oldest first) from the `trusted` set: each one counts only if the set
/// trusted so far signed its block and its header names the new set. Returns the last set
/// reached; handoffs from other sets (older ones, or another chain's) are skipped.
pub fn follow_handoffs(
    chain_id: &str,
    trusted: &ValidatorSet,
    handoffs: &[Handoff],
) -> Result<ValidatorSet, ProofError> {
    let mut current = trusted.clone();
    for handoff in handoffs {
        let header = &handoff.header;
        if header.chain_id != chain_id || header.validators_hash != current.hash() {
            continue;
        }
        handoff
            .commit
            .verify(header, &current)
            .map_err(|cause| ProofError::HandoffUnsigned {
                height: header.height,
                cause,
            })?;
        if handoff.validators.hash() != header.next_validators_hash {
            return Err(ProofError::HandoffMismatch {
                height: header.height,
                named: header.next_validators_hash,
                offered: handoff.validators.hash(),
            });
        }
        current = handoff.validators.clone();
    }
    Ok(current)
}

/// Everything that defines a chain at height 0.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Genesis {
    pub genesis_time_ms: u64,
    pub params: ChainParams,
    pub validators: ValidatorSet,
}

impl Genesis {
    pub fn chain_id(&self) -> &str {
        &self.params.chain_id
    }

    pub fn hash(&self) -> Hash {
        Hash::of(&encode(self))
    }
}

/// The last final block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    pub height: Height,
    pub hash: Hash,
    pub state_root: Hash,
    pub time_ms: u64,
}

impl Tip {
    /// The tip whose last block has `header`.
    pub fn of(header: &Header) -> Tip {
        Tip {
            height: header.height,
            hash: header.hash(),
            state_root: header.state_root,
            time_ms: header.time_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(validators: &ValidatorSet) -> Header {
        Header {
            chain_id: "c".into(),
            height: 5,
            time_ms: 0,
            prev_hash: Hash::ZERO,
            tx_root: tx_root(&[]),
            state_root: Hash::ZERO,
            validators_hash: validators.hash(),
            next_validators_hash: validators.hash(),
            proposer: validators.validators[0].key,
        }
    }

    #[test]
    fn commit_needs_more_than_two_thirds() {
        let keys: Vec<Keypair> = (0..4).map(|_| Keypair::generate()).collect();
        let set = ValidatorSet::equal_power(keys.iter().map(Keypair::public));
        let h = header(&set);
        let mut commit = Commit::sign(&h, 0, &keys[0]);
        commit
            .signatures
            .extend(Commit::sign(&h, 0, &keys[1]).signatures);
        assert!(
            commit
                .verify(&h, &set)
                .unwrap_err()
                .to_string()
                .contains("not more than two thirds")
        );
        commit
            .signatures
            .extend(Commit::sign(&h, 0, &keys[2]).signatures);
        assert_eq!(commit.verify(&h, &set), Ok(()));
        let mut twice = commit.clone();
        twice.signatures[1] = twice.signatures[0].clone();
        assert!(twice.verify(&h, &set).is_err());
        let mut other = h.clone();
        other.state_root = Hash([1; 32]);
        assert!(commit.verify(&other, &set).is_err());
        // Signatures bind the chain id: the same votes do not finalize a header of another chain.
        let mut other_chain = h.clone();
        other_chain.chain_id = "d".into();
        let mut moved = commit.clone();
        moved.block_hash = other_chain.hash();
        assert!(
            moved
                .verify(&other_chain, &set)
                .unwrap_err()
                .to_string()
                .contains("invalid")
        );
    }
}
