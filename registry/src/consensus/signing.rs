//! What each consensus message signs. A precommit for a block signs exactly
//! `block::vote_bytes(chain_id, height, round, block_hash)`, so a Malachite commit certificate
//! is a `block::Commit` as it stands; prevotes, nil precommits, proposals, proposal parts and
//! validator proofs sign their own domain-separated bytes, all bound to the chain id.

use std::sync::Arc;

use async_trait::async_trait;
use malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_signing::{Error as SigningError, Signer, VerificationResult, Verifier};

use super::context::{Height, Proposal, SigilContext, Vote};
use super::withhold::{WITHHOLD_ENV, Withhold};
use crate::signatures::SignatureCache;
use sigil_core::block::vote_bytes;
use sigil_core::types::{Hash, Keypair, PublicKey, Signature, encode};

const PREVOTE_DOMAIN: &[u8] = b"sigil/prevote/v1";
const NIL_PRECOMMIT_DOMAIN: &[u8] = b"sigil/precommit-nil/v1";
const PROPOSAL_DOMAIN: &[u8] = b"sigil/proposal/v1";
const PARTS_DOMAIN: &[u8] = b"sigil/proposal-parts/v1";
const INIT_DOMAIN: &[u8] = b"sigil/proposal-init/v1";
const EXTENSION_DOMAIN: &[u8] = b"sigil/vote-extension/v1";
const VALIDATOR_PROOF_DOMAIN: &[u8] = b"sigil/validator-proof/v1";

/// The bytes a vote signs; `None` for a vote without a round, which nobody may sign.
pub fn vote_signing_bytes(chain_id: &str, vote: &Vote) -> Option<Vec<u8>> {
    let round = vote.round.as_u32()?;
    let height = vote.height.0;
    Some(match (&vote.vote_type, &vote.value) {
        (VoteType::Precommit, NilOrVal::Val(block_hash)) => {
            vote_bytes(chain_id, height, round, block_hash)
        }
        (VoteType::Precommit, NilOrVal::Nil) => {
            [NIL_PRECOMMIT_DOMAIN, &encode(&(chain_id, height, round))].concat()
        }
        (VoteType::Prevote, value) => {
            let value: Option<Hash> = match value {
                NilOrVal::Nil => None,
                NilOrVal::Val(id) => Some(*id),
            };
            [PREVOTE_DOMAIN, &encode(&(chain_id, height, round, value))].concat()
        }
    })
}

/// The bytes a proposal signs.
pub fn proposal_signing_bytes(chain_id: &str, proposal: &Proposal) -> Vec<u8> {
    let fields = (
        chain_id,
        proposal.height.0,
        proposal.round.as_i64(),
        proposal.value.header().hash(),
        proposal.pol_round.as_i64(),
        proposal.proposer,
    );
    [PROPOSAL_DOMAIN, &encode(&fields)].concat()
}

/// The bytes the proposer signs in a stream's `Fin`: the blake3 digest of every part before it.
pub fn parts_signing_bytes(chain_id: &str, height: Height, round: Round, digest: &Hash) -> Vec<u8> {
    [
        PARTS_DOMAIN,
        &encode(&(chain_id, height.0, round.as_i64(), digest)),
    ]
    .concat()
}

/// The bytes the proposer signs in a stream's `Init`: whose proposal for which height and
/// round, published by which consensus peer (`author`, its peer id bytes), so a stranger can
/// neither forge an `Init` nor replay one under its own peer id.
pub fn init_signing_bytes(
    chain_id: &str,
    height: Height,
    round: Round,
    pol_round: Round,
    proposer: &PublicKey,
    author: &[u8],
) -> Vec<u8> {
    let fields = (
        chain_id,
        height.0,
        round.as_i64(),
        pol_round.as_i64(),
        proposer,
        author,
    );
    [INIT_DOMAIN, &encode(&fields)].concat()
}

fn extension_signing_bytes(chain_id: &str, scope: &VoteExtensionScope<SigilContext>) -> Vec<u8> {
    let fields = (
        chain_id,
        scope.height.0,
        scope.round.as_i64(),
        scope.value_id,
        scope.validator_address,
    );
    [EXTENSION_DOMAIN, &encode(&fields)].concat()
}

fn proof_signing_bytes(chain_id: &str, public_key: &[u8], peer_id: &[u8]) -> Vec<u8> {
    [
        VALIDATOR_PROOF_DOMAIN,
        &encode(&chain_id),
        &ValidatorProof::<SigilContext>::signing_bytes(public_key, peer_id),
    ]
    .concat()
}

/// Signs consensus messages with a validator's key for one chain.
#[derive(Clone)]
pub struct SigilSigner {
    chain_id: String,
    key: Arc<Keypair>,
    /// The vote a test asked this validator never to sign (`SIGIL_WITHHOLD`).
    withhold: Option<Withhold>,
}

impl SigilSigner {
    pub fn new(chain_id: String, key: Arc<Keypair>) -> SigilSigner {
        SigilSigner {
            chain_id,
            key,
            withhold: None,
        }
    }

    /// The same signer, withholding the vote `hook` names (a test hook; see [`Withhold`]).
    pub fn withholding(self, hook: Option<Withhold>) -> SigilSigner {
        SigilSigner {
            withhold: hook,
            ..self
        }
    }

    pub fn public(&self) -> PublicKey {
        self.key.public()
    }
}

#[async_trait]
impl Signer<SigilContext> for SigilSigner {
    async fn sign_vote(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<SigilContext, Vote>, SigningError> {
        if let Some(hook) = self.withhold
            && hook.applies(vote.vote_type, vote.height.0)
        {
            tracing::warn!(%hook, round = %vote.round, "withholding this vote on purpose ({WITHHOLD_ENV}): this validator's consensus stops here");
            std::future::pending::<()>().await;
        }
        let bytes = vote_signing_bytes(&self.chain_id, &vote)
            .ok_or_else(|| SigningError::from_source("a vote without a round cannot be signed"))?;
        let signature = self.key.sign(&bytes);
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<SigilContext, Proposal>, SigningError> {
        let signature = self
            .key
            .sign(&proposal_signing_bytes(&self.chain_id, &proposal));
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<SigilContext>,
        extension: (),
    ) -> Result<SignedMessage<SigilContext, ()>, SigningError> {
        let signature = self
            .key
            .sign(&extension_signing_bytes(&self.chain_id, &scope));
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<SigilContext>, SigningError> {
        let signature = self
            .key
            .sign(&proof_signing_bytes(&self.chain_id, &public_key, &peer_id));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

/// Checks consensus signatures of one chain with ed25519 `verify_strict`, remembering the ones
/// that hold in the node's signature memory (so committing a block does not verify its
/// certificate's signatures again).
#[derive(Clone)]
pub struct SigilVerifier {
    chain_id: String,
    remembered: Arc<SignatureCache>,
}

impl SigilVerifier {
    pub fn new(chain_id: String, remembered: Arc<SignatureCache>) -> SigilVerifier {
        SigilVerifier {
            chain_id,
            remembered,
        }
    }

    fn verdict(
        &self,
        key: &PublicKey,
        message: &[u8],
        signature: &Signature,
    ) -> VerificationResult {
        VerificationResult::from_bool(self.remembered.check_signature(key, message, signature))
    }
}

#[async_trait]
impl Verifier<SigilContext> for SigilVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(match vote_signing_bytes(&self.chain_id, vote) {
            Some(bytes) => self.verdict(public_key, &bytes, signature),
            None => VerificationResult::Invalid,
        })
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let bytes = proposal_signing_bytes(&self.chain_id, proposal);
        Ok(self.verdict(public_key, &bytes, signature))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<SigilContext>,
        _extension: &(),
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let bytes = extension_signing_bytes(&self.chain_id, scope);
        Ok(self.verdict(public_key, &bytes, signature))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<SigilContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(key) = proof.decoded_public_key() else {
            return Ok(VerificationResult::Invalid);
        };
        let bytes = proof_signing_bytes(&self.chain_id, &proof.public_key, &proof.peer_id);
        Ok(self.verdict(&key, &bytes, &proof.signature))
    }
}
