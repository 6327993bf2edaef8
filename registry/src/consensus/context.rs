//! The consensus types Malachite is generic over: heights, addresses (our ed25519 keys), a
//! proposed block header as the value, proposals, proposal parts, votes, the validator set
//! with round-robin proposer selection, timeouts, and the ed25519 signing scheme.

use std::fmt;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_app_channel::app::types::core::{
    self as mc, LinearTimeouts, NilOrVal, Round, SignedExtension, VoteType, VotingPower,
};
use ref_cast::RefCast;
use sigil_core::block::Header;
use sigil_core::state::{Validator, ValidatorSet};
use sigil_core::types::{Hash, Keypair, PublicKey, Signature};

/// A consensus height: the height of the block being decided.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's address is its ed25519 public key. The key's type is the core's and the
/// engine's `Address` trait is Malachite's, so the engine gets this transparent wrapper.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize, RefCast,
)]
#[repr(transparent)]
pub struct Address(pub PublicKey);

impl Address {
    /// The address of `key`, borrowed (the engine's validators hand out `&Address`).
    pub fn of(key: &PublicKey) -> &Address {
        Address::ref_cast(key)
    }
}

impl std::ops::Deref for Address {
    type Target = PublicKey;
    fn deref(&self) -> &PublicKey {
        &self.0
    }
}

impl From<PublicKey> for Address {
    fn from(key: PublicKey) -> Address {
        Address(key)
    }
}

impl PartialEq<PublicKey> for Address {
    fn eq(&self, other: &PublicKey) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Address> for PublicKey {
    fn eq(&self, other: &Address) -> bool {
        *self == other.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl mc::Address for Address {}

/// The value consensus decides on: a block header. Its id is the header hash, the same hash a
/// `block::Commit` names; the transactions travel in the proposal parts and are kept by the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockValue {
    id: Hash,
    header: Arc<Header>,
}

impl BlockValue {
    pub fn new(header: Header) -> BlockValue {
        BlockValue {
            id: header.hash(),
            header: Arc::new(header),
        }
    }

    pub fn header(&self) -> &Header {
        &self.header
    }
}

impl PartialOrd for BlockValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BlockValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl mc::Value for BlockValue {
    type Id = Hash;

    fn id(&self) -> Hash {
        self.id
    }
}

impl BorshSerialize for BlockValue {
    fn serialize<W: borsh::io::Write>(&self, writer: &mut W) -> borsh::io::Result<()> {
        self.header.as_ref().serialize(writer)
    }
}

impl BorshDeserialize for BlockValue {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        Header::deserialize_reader(reader).map(BlockValue::new)
    }
}

/// A proposal for a value at a height and round, by the round's proposer.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    pub height: Height,
    pub round: Round,
    pub value: BlockValue,
    pub pol_round: Round,
    pub proposer: Address,
}

impl mc::Proposal<SigilContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockValue {
        &self.value
    }

    fn take_value(self) -> BlockValue {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// One message of a streamed proposal: `Init`, then the borsh-encoded block in `Data` chunks,
/// then `Fin` with the proposer's signature over the digest of everything before it. `Init` is
/// signed by the proposer it names and bound to the peer that publishes the stream, so it
/// checks on arrival (`signing::init_signing_bytes`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ProposalPart {
    Init {
        height: Height,
        round: Round,
        proposer: Address,
        pol_round: Round,
        signature: Signature,
    },
    Data(Vec<u8>),
    Fin {
        signature: Signature,
    },
}

impl mc::ProposalPart<SigilContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init { .. })
    }

    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin { .. })
    }
}

/// A prevote or precommit. No vote extensions.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    pub vote_type: VoteType,
    pub height: Height,
    pub round: Round,
    pub value: NilOrVal<Hash>,
    pub validator: Address,
}

impl mc::Vote<SigilContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<Hash> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<Hash> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        self.vote_type
    }

    fn validator_address(&self) -> &Address {
        &self.validator
    }

    fn extension(&self) -> Option<&SignedExtension<SigilContext>> {
        None
    }

    fn take_extension(&mut self) -> Option<SignedExtension<SigilContext>> {
        None
    }

    fn extend(self, _extension: SignedExtension<SigilContext>) -> Self {
        self
    }
}

impl mc::Validator<SigilContext> for Validator {
    fn address(&self) -> &Address {
        Address::of(&self.key)
    }

    fn public_key(&self) -> &PublicKey {
        &self.key
    }

    fn voting_power(&self) -> VotingPower {
        self.power
    }
}

impl mc::ValidatorSet<SigilContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> VotingPower {
        self.total_power()
    }

    fn get_by_address(&self, address: &Address) -> Option<&Validator> {
        self.validators.iter().find(|v| v.key == *address)
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// ed25519 over our own key and signature types; verification is `verify_strict`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519;

/// A signing key that consensus can clone (it is shared, never copied out).
#[derive(Clone)]
pub struct SharedKey(pub Arc<Keypair>);

impl mc::SigningScheme for Ed25519 {
    type DecodingError = String;
    type Signature = Signature;
    type PublicKey = PublicKey;
    type PrivateKey = SharedKey;

    fn decode_signature(bytes: &[u8]) -> Result<Signature, String> {
        let arr: [u8; 64] = bytes
            .try_into()
            .map_err(|_| format!("a signature is 64 bytes, not {}", bytes.len()))?;
        Ok(Signature(arr))
    }

    fn encode_signature(signature: &Signature) -> Vec<u8> {
        signature.0.to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, String> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("a public key is 32 bytes, not {}", bytes.len()))?;
        Ok(PublicKey(arr))
    }

    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.0.to_vec()
    }
}

/// Timeouts for blocks every ~500 ms on a fast network: a round that stalls is abandoned
/// within about two seconds, and later rounds wait longer.
pub fn default_timeouts() -> LinearTimeouts {
    use std::time::Duration;
    let propose = Duration::from_millis(1500);
    let prevote = Duration::from_millis(500);
    let precommit = Duration::from_millis(500);
    LinearTimeouts {
        propose,
        propose_delta: Duration::from_millis(500),
        prevote,
        prevote_delta: Duration::from_millis(250),
        precommit,
        precommit_delta: Duration::from_millis(250),
        rebroadcast: propose + prevote + precommit,
        max_timeout: Duration::from_secs(30),
    }
}

/// The Malachite context of the Sigil chain.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigilContext;

impl mc::Context for SigilContext {
    type Address = Address;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockValue;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = Ed25519;

    /// Round-robin over the validators in their canonical (genesis) order by height + round.
    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        assert!(
            !validator_set.validators.is_empty(),
            "consensus needs at least one validator"
        );
        let n = validator_set.validators.len() as u64;
        let round = u64::from(round.as_u32().unwrap_or(0));
        let index = height.0.wrapping_add(round) % n;
        &validator_set.validators[index as usize]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockValue,
        pol_round: Round,
        address: Address,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<Hash>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<Hash>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
        }
    }
}
