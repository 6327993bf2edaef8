//! The HTTP API's requests and answers (`/v1`), shared by the node that serves them and the
//! clients that read them.

use serde::{Deserialize, Serialize};

use crate::block::Tip;
use crate::proof::StateProof;
use crate::state::{
    CertEntry, CertEvent, ChainParams, HolderEntry, IdentityEntry, IdentityEvent, Lock, NameEntry,
    OfferingEntry, PendingChange, Subscription, ValidatorSet,
};
use crate::types::{Hash, Height, PublicKey};

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Waiting in the mempool.
    Pending,
    /// In a final block and applied.
    Final { height: Height },
    /// In a final block, but its operation failed (only its nonce was used).
    Failed { height: Height, error: String },
    /// Left this node's mempool without reaching a block, for `reason` (which says what to do).
    Evicted { reason: String },
    /// Neither pending nor final on this node.
    Unknown,
}

/// A node's networking, as `/v1/status` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkStatus {
    /// This node's identity on our swarm.
    pub peer_id: String,
    pub p2p_listen: Vec<String>,
    /// Peers connected on our swarm.
    pub peers: Vec<String>,
    /// Where the consensus engine's swarm listens (validators only).
    pub consensus_listen: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChainStatus {
    pub chain_id: String,
    pub genesis_hash: Hash,
    pub tip: Tip,
    pub params: ChainParams,
    /// The validators that decide the next block.
    pub validators: ValidatorSet,
    /// The height of the block that made the latest change of the validator set (`None`:
    /// the genesis set decides). Clients that trust an older set read every change, paged,
    /// at `/v1/validators/changes`.
    #[serde(default)]
    pub last_validator_change: Option<Height>,
    /// Validator changes voted for by some validators, not yet by enough.
    #[serde(default)]
    pub pending_validator_changes: Vec<PendingChange>,
    pub mempool_txs: usize,
    /// Bytes of the pending transactions (the mempool is bounded by count and by bytes).
    #[serde(default)]
    pub mempool_bytes: usize,
    /// Listen addresses and peers; absent on a node without networking (`sigild --dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkStatus>,
    /// The height and round this node's consensus engine last started; absent without one.
    /// A round that keeps growing at one height is a chain that cannot agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consensus: Option<ConsensusRound>,
    /// The best tip a consensus peer announced lately and how far behind it this node is;
    /// absent until a peer announces one (and without a consensus engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncProgress>,
    /// What re-checking the pending transactions on the new state cost after the last block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mempool_recheck: Option<MempoolRecheck>,
    /// Present on a light resolver (`sigild --light`): the header it trusts and its peers.
    /// There `tip` is the newest header it verified, and `validators` the set it trusts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light: Option<LightStatus>,
}

/// How far a node is from its peers' tips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// The highest tip a peer announced in the last 30 s (its word, not a proof).
    pub peer_best_height: Height,
    /// How many blocks this node's tip is below it (0: caught up, or ahead).
    pub blocks_behind: u64,
}

/// What a light resolver trusts and whom it asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightStatus {
    /// Height of the newest header it verified (0: none yet).
    pub trusted_height: Height,
    /// Age of that header by its time, in seconds, when the status was read.
    pub trusted_age_secs: u64,
    /// Answers are refused (SERVFAIL) once the trusted header is older than this.
    pub max_age_secs: u64,
    /// Whether answers are proven fresh now (a header within `max_age_secs`).
    pub fresh: bool,
    pub peers: Vec<PeerStanding>,
}

/// How one peer of a light resolver stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStanding {
    pub url: String,
    /// `ok`, `unreachable` (its last request failed) or `set_aside` (caught serving what
    /// does not verify; not asked until `set_aside_secs` have passed).
    pub standing: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_aside_secs: Option<u64>,
    /// Why it is not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Where a node's consensus engine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusRound {
    pub height: Height,
    pub round: u32,
    /// The block proposed in this round, once this node holds it whole and has checked it.
    #[serde(default)]
    pub proposal: Option<Hash>,
}

/// The mempool's re-check after a block: the pending transactions applied again in order on
/// the new final state, those that no longer applied dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolRecheck {
    /// The block after which it ran.
    pub height: Height,
    /// Pending transactions re-checked.
    pub pending: usize,
    /// Of those, dropped.
    pub dropped: usize,
    /// How long it took, in microseconds (the mempool is locked meanwhile).
    pub micros: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The canonical encoding of a `SignedTx`, in hex.
    pub tx: String,
}

/// `POST /v1/txs/batch`: transactions admitted in order, as if submitted one after another.
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitBatchRequest {
    /// Canonical encodings of `SignedTx`s, in hex; at most
    /// [`MAX_SUBMIT_BATCH_TXS`](crate::limits::MAX_SUBMIT_BATCH_TXS).
    pub txs: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitBatchResponse {
    /// The ids of the first transactions of the request, admitted (pending), in order.
    pub accepted: Vec<Hash>,
    /// Why the next one was refused, as the answer to its own submission would say; the
    /// ones after it were not tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<ErrorBody>,
}

/// The `error` of an error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// The work stamp bits the node asks for, when it refused for too little work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_bits: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitResponse {
    pub id: Hash,
    #[serde(flatten)]
    pub status: TxStatus,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AccountInfo {
    pub key: PublicKey,
    /// Nonce of the signer's next transaction once everything pending is final.
    pub next_nonce: u64,
    /// Transactions of this signer in final blocks.
    pub final_nonce: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NameInfo {
    #[serde(flatten)]
    pub entry: NameEntry,
    /// Whether the name resolves at the current height.
    pub active: bool,
    pub height: Height,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CertInfo {
    #[serde(flatten)]
    pub entry: CertEntry,
    /// Whether the ledger has it active for its name at `height`: not revoked, the name active
    /// and still owned by the key it was registered under. The validity window is the
    /// client's to check.
    pub active: bool,
    pub height: Height,
}

/// Every certificate ever bound to a name, with its standing, and the name's certificate history.
#[derive(Debug, Serialize, Deserialize)]
pub struct NameCerts {
    pub name: String,
    pub height: Height,
    /// The certificates named in `history`.
    pub certs: Vec<CertInfo>,
    /// The first page of the name's certificate history, oldest first.
    pub history: Vec<CertEvent>,
    /// Where `/v1/names/{name}/cert-history` goes on; `None` when `history` is all of it.
    pub history_next_cursor: Option<String>,
}

/// The names a certificate was registered under, each with its standing there.
#[derive(Debug, Serialize, Deserialize)]
pub struct CertNames {
    pub cert_sha256: Hash,
    pub height: Height,
    /// In name order; empty when no name ever had it. At most `MAX_CERT_NAMES_LISTED`.
    pub certs: Vec<CertInfo>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IdentityInfo {
    #[serde(flatten)]
    pub entry: IdentityEntry,
    /// The first page of the identity's history, oldest first.
    pub history: Vec<IdentityEvent>,
    /// Where `GET /v1/identities/{id}/history` continues; `None` if `history` is all of it.
    #[serde(default)]
    pub history_next_cursor: Option<String>,
    pub height: Height,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct HolderInfo {
    #[serde(flatten)]
    pub entry: HolderEntry,
    /// Balance of each class of the company, in its class order.
    pub balances: Vec<ClassBalance>,
    pub height: Height,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ClassBalance {
    pub class: String,
    pub balance: u64,
    /// The running lock-ups of offerings on these shares, earliest first: each `amount` moves
    /// from height `until` on (ADR 0009).
    #[serde(default)]
    pub locks: Vec<Lock>,
}

/// A holder's balance of a class with the proof of the holder's entry at the same block: a
/// balance absent from the state is 0 for a holder, and nothing at all for a holder that does
/// not exist, which the holder's proof shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BalanceProof {
    pub holder: StateProof,
    pub balance: StateProof,
}

/// An offering with the first page of its subscriptions, as
/// `GET /v1/companies/{name}/offerings/{offering}` serves it (ADR 0009).
#[derive(Debug, Serialize, Deserialize)]
pub struct OfferingInfo {
    #[serde(flatten)]
    pub entry: OfferingEntry,
    /// The first page of its subscriptions in subscription order, withdrawn ones included.
    pub subscriptions: Vec<Subscription>,
    /// Where `GET .../offerings/{offering}/subscriptions` continues; `None` if
    /// `subscriptions` is all of them.
    #[serde(default)]
    pub subscriptions_next_cursor: Option<String>,
    pub height: Height,
}

/// The trust anchor of a node's DNSSEC-signed DNS answers (`GET /v1/dns/anchor`): its zone
/// key, one entry per top-level domain. Each node signs with a key of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnchor {
    pub zones: Vec<ZoneAnchor>,
}

/// The trust anchor of one zone (a top-level domain), as zone-file lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneAnchor {
    /// The zone's apex, e.g. `sigil.`.
    pub zone: String,
    pub key_tag: u16,
    /// `sigil. 3600 IN DNSKEY 257 3 15 <base64>`.
    pub dnskey: String,
    /// `sigil. 3600 IN DS <tag> 15 2 <SHA-256 hex>`.
    pub ds: String,
}
