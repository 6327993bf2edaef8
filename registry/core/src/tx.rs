//! Transactions: the signed envelope (chain id, signer, nonce, operation), its canonical
//! signing bytes and id, and the stateless checks done before a transaction reaches a block.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::cert::{CertFacts, RevocationReason};
use crate::error::TxError;
use crate::limits::MAX_TX_BYTES;
use crate::records::Record;
use crate::state::OfferingTerms;
use crate::types::{Hash, Height, Keypair, PublicKey, Signature, decode, encode};

/// Domain separator of transaction signatures, so they can never be mistaken for another message.
const TX_SIGNING_DOMAIN: &[u8] = b"sigil/tx/v1";
/// Domain separator of work stamps, so work done for anything else never counts here.
const STAMP_DOMAIN: &[u8] = b"sigil/stamp/v1";
/// Stamps tried between two progress reports of [`Transaction::find_stamp`].
const STAMP_REPORT_EVERY: u64 = 1 << 16;
/// Most leading zero bits a stamp can be asked for (a blake3 hash has 256).
pub const MAX_WORK_BITS: u32 = 64;

/// The work a chain asks of a transaction, in leading zero bits of its stamp hash (each bit
/// doubles the expected number of hashes). Fixed at genesis; zero asks for nothing.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct WorkParams {
    /// Bits of a transaction that creates state entries: a signer's first transaction (its
    /// nonce entry), a name commitment, a registration of anything. A transaction creating
    /// `n` entries (a certificate batch) adds `ceil(log2 n)` bits, so it costs about `n` times
    /// as much.
    #[serde(default)]
    pub create_bits: u32,
    /// Bits of a transaction that only changes entries that exist (an update, a transfer, a
    /// renewal, a revocation, a rotation).
    #[serde(default)]
    pub update_bits: u32,
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Step one of registration: publishes `blake3(name ‖ salt ‖ owner)` without revealing the name.
    NameCommit { commitment: Hash },
    /// Step two: reveals the name and salt of an earlier commit by the same key.
    NameRegister {
        name: String,
        salt: Hash,
        records: Vec<Record>,
    },
    /// Replaces every record of a name (owner only).
    NameUpdate { name: String, records: Vec<Record> },
    /// Gives a name to another key (owner only).
    NameTransfer { name: String, new_owner: PublicKey },
    /// Extends a name's expiry by the chain's name lifetime (owner only, until the grace period ends).
    NameRenew { name: String },
    /// Creates an identity with an online key (signs day to day) and an offline key (kept
    /// cold); signed by either of them.
    IdentityRegister {
        id: String,
        online_key: PublicKey,
        offline_key: PublicKey,
    },
    /// Replaces an identity's online key (signed by its offline key).
    IdentityRotate {
        id: String,
        new_online_key: PublicKey,
    },
    /// Replaces both keys of an identity (signed by its offline key).
    IdentityRecover {
        id: String,
        new_online_key: PublicKey,
        new_offline_key: PublicKey,
    },
    /// Revokes an identity for good (signed by its offline key only: the online key may only
    /// suspend, see `IdentitySuspend`).
    IdentityRevoke { id: String },
    /// Binds an identity to a name: `_sigil-key.<name>` serves its online key. Signed by the
    /// name's owner, with the identity's consent (its online key's signature).
    IdentityBind {
        id: String,
        name: String,
        consent: Consent,
    },
    /// Creates company `id` (its register's id, for good; no `.`) listed under a registered
    /// name, with an admin identity and share classes. Signed by the name's owner, with the
    /// admin identity's consent.
    CompanyRegister {
        id: String,
        name: String,
        admin: String,
        classes: Vec<String>,
        consent: Consent,
    },
    /// Adds a verified shareholder with its key and an optional hash of its off-ledger data
    /// (company admin only).
    HolderIssue {
        company: String,
        holder: String,
        key: PublicKey,
        attr_hash: Option<Hash>,
    },
    /// Revokes a shareholder: its key signs nothing more and it can receive nothing (admin only).
    HolderRevoke {
        company: String,
        holder: String,
        reason: String,
    },
    /// Gives a shareholder a new key (and reinstates it if revoked): the admin's recovery of a
    /// lost key.
    HolderRotate {
        company: String,
        holder: String,
        new_key: PublicKey,
    },
    /// Creates new shares of a class in a holder's account (admin only).
    SharesIssue {
        company: String,
        class: String,
        to: String,
        amount: u64,
    },
    /// Moves shares of a class between two active holders (signed by the `from` holder's key).
    SharesTransfer {
        company: String,
        class: String,
        from: String,
        to: String,
        amount: u64,
    },
    /// Cancels shares of a class held by a holder (admin only): a buy-back or redemption.
    SharesRedeem {
        company: String,
        class: String,
        from: String,
        amount: u64,
    },
    /// Authorizes an issuer key (a CA) to register and revoke certificates of a name (owner only).
    CertIssuerAuthorize { name: String, issuer: PublicKey },
    /// Withdraws an issuer's authorization (owner only); certificates it registered stay.
    CertIssuerRevoke { name: String, issuer: PublicKey },
    /// Binds a certificate, by its hashes and facts, to a name (owner or authorized issuer).
    CertRegister { cert: CertFacts },
    /// Binds up to `MAX_CERTS_PER_BATCH` certificates at once, all or none (a CA's batch).
    CertRegisterBatch { certs: Vec<CertFacts> },
    /// Revokes a name's certificate for good with an RFC 5280 reason (the name's owner or an
    /// authorized issuer). The same hash under another name is another entry, untouched.
    CertRevoke {
        name: String,
        cert_sha256: Hash,
        reason: RevocationReason,
    },
    /// A validator's vote for a change of the validator set. The change takes effect in the
    /// block where validators with more than two thirds of the voting power have voted for it,
    /// and the new set decides the blocks after that one.
    ValidatorVote { change: ValidatorChange },
    /// Suspends an identity (signed by either key): its online key signs nothing from this
    /// height on, until the offline key rotates or recovers it.
    IdentitySuspend { id: String },
    /// Replaces a company's admin identity (`company`: its id or the name it is listed under).
    /// Signed by the current admin identity's offline key or, once that identity is revoked for
    /// good, by the key that listed the company; with the new admin's consent.
    CompanyAdmin {
        company: String,
        admin: String,
        consent: Consent,
    },
    /// Lists a company under another name (its register moves with it; the old name's listing
    /// ends). Signed by the new name's owner, with the company admin's consent.
    CompanyMove {
        company: String,
        name: String,
        consent: Consent,
    },
    /// Opens (or, if the terms name a platform, proposes) an equity offering of `company`:
    /// signed by the admin identity's online key (ADR 0009).
    OfferingOpen {
        company: String,
        offering: String,
        terms: Box<OfferingTerms>,
    },
    /// The platform's approval of a proposed offering, which opens it: signed by the platform
    /// identity's online key, over the terms' hash.
    OfferingApprove {
        company: String,
        offering: String,
        terms_sha256: Hash,
    },
    /// A holder's subscription (its signature of the contract, whose hash it carries): signed
    /// by the holder's key. Replaces the amount of its pending subscription.
    OfferingSubscribe {
        company: String,
        offering: String,
        holder: String,
        shares: u64,
        terms_sha256: Hash,
    },
    /// Withdraws a subscription while the offering takes subscriptions: signed by the holder's
    /// key (or the admin's, for a revoked holder).
    OfferingWithdraw {
        company: String,
        offering: String,
        holder: String,
    },
    /// Records that a subscriber's payment arrived: signed by the admin or the platform.
    OfferingConfirm {
        company: String,
        offering: String,
        holder: String,
    },
    /// Closes an offering once its deadline passed or its maximum is confirmed (anyone):
    /// issues every confirmed subscription if they reach the minimum, nothing otherwise.
    OfferingClose { company: String, offering: String },
}

/// An identity's consent to be named in another key's transaction: its online key's signature
/// over [`consent_message`], valid until a height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Consent {
    /// The last height the consent may be used at.
    pub until: Height,
    pub signature: Signature,
}

/// Domain separator of consent signatures.
const CONSENT_DOMAIN: &[u8] = b"sigil/consent/v1";

/// What an identity signs to consent: the chain, the purpose (`bind`, `company-admin`,
/// `company-move`), the identity, the subject (name, company), the key that will send the
/// transaction, and the last height it may be used at. Nothing of it can be replayed for
/// another purpose, subject, sender or chain.
pub fn consent_message(
    chain_id: &str,
    purpose: &str,
    identity: &str,
    subject: &[&str],
    sender: &PublicKey,
    until: Height,
) -> Vec<u8> {
    let mut bytes = CONSENT_DOMAIN.to_vec();
    bytes.extend(encode(&(
        chain_id, purpose, identity, subject, sender, until,
    )));
    bytes
}

impl Consent {
    /// Signs a consent with the identity's online key.
    pub fn sign(
        key: &Keypair,
        chain_id: &str,
        purpose: &str,
        identity: &str,
        subject: &[&str],
        sender: &PublicKey,
        until: Height,
    ) -> Consent {
        let message = consent_message(chain_id, purpose, identity, subject, sender, until);
        Consent {
            until,
            signature: key.sign(&message),
        }
    }
}

/// A change of the validator set, as validators vote for it.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ValidatorChange {
    /// Adds `key` with `power` votes.
    Add { key: PublicKey, power: u64 },
    /// Removes `key` from the set.
    Remove { key: PublicKey },
}

impl ValidatorChange {
    /// The change's id: votes for the same change count together.
    pub fn id(&self) -> Hash {
        Hash::of(&encode(self))
    }

    /// The validator the change is about.
    pub fn key(&self) -> PublicKey {
        match self {
            ValidatorChange::Add { key, .. } | ValidatorChange::Remove { key } => *key,
        }
    }
}

impl std::fmt::Display for ValidatorChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidatorChange::Add { key, power } => write!(f, "add {key} with power {power}"),
            ValidatorChange::Remove { key } => write!(f, "remove {key}"),
        }
    }
}

impl Op {
    /// A short name for the operation, as shown in histories.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::NameCommit { .. } => "commit",
            Op::NameRegister { .. } => "register",
            Op::NameUpdate { .. } => "update",
            Op::NameTransfer { .. } => "transfer",
            Op::NameRenew { .. } => "renew",
            Op::ValidatorVote { .. } => "validator-vote",
            Op::CertIssuerAuthorize { .. } => "authorize-issuer",
            Op::CertIssuerRevoke { .. } => "deauthorize-issuer",
            Op::CertRegister { .. } => "cert-register",
            Op::CertRegisterBatch { .. } => "cert-register-batch",
            Op::CertRevoke { .. } => "cert-revoke",
            Op::IdentityRegister { .. } => "identity-register",
            Op::IdentityRotate { .. } => "identity-rotate",
            Op::IdentityRecover { .. } => "identity-recover",
            Op::IdentityRevoke { .. } => "identity-revoke",
            Op::IdentityBind { .. } => "identity-bind",
            Op::CompanyRegister { .. } => "company-register",
            Op::HolderIssue { .. } => "holder-issue",
            Op::HolderRevoke { .. } => "holder-revoke",
            Op::HolderRotate { .. } => "holder-rotate",
            Op::SharesIssue { .. } => "shares-issue",
            Op::SharesTransfer { .. } => "shares-transfer",
            Op::SharesRedeem { .. } => "shares-redeem",
            Op::IdentitySuspend { .. } => "identity-suspend",
            Op::CompanyAdmin { .. } => "company-admin",
            Op::CompanyMove { .. } => "company-move",
            Op::OfferingOpen { .. } => "offering-open",
            Op::OfferingApprove { .. } => "offering-approve",
            Op::OfferingSubscribe { .. } => "offering-subscribe",
            Op::OfferingWithdraw { .. } => "offering-withdraw",
            Op::OfferingConfirm { .. } => "offering-confirm",
            Op::OfferingClose { .. } => "offering-close",
        }
    }

    /// How many state entries the operation may create (0 for one that only changes entries
    /// that exist). Prices its work stamp; see [`WorkParams`].
    pub fn created_entries(&self) -> u64 {
        match self {
            Op::NameCommit { .. }
            | Op::NameRegister { .. }
            | Op::IdentityRegister { .. }
            | Op::IdentityBind { .. }
            | Op::CompanyRegister { .. }
            | Op::HolderIssue { .. }
            | Op::SharesIssue { .. }
            | Op::SharesTransfer { .. }
            | Op::CertIssuerAuthorize { .. }
            | Op::CertRegister { .. }
            | Op::CompanyMove { .. }
            | Op::OfferingOpen { .. }
            | Op::ValidatorVote { .. } => 1,
            // A subscription, its slot, and the balance and lock its close may create: the
            // subscriber pays for what the close writes for it (ADR 0009).
            Op::OfferingSubscribe { .. } => 4,
            Op::CertRegisterBatch { certs } => certs.len().max(1) as u64,
            Op::NameUpdate { .. }
            | Op::NameTransfer { .. }
            | Op::NameRenew { .. }
            | Op::IdentityRotate { .. }
            | Op::IdentityRecover { .. }
            | Op::IdentityRevoke { .. }
            | Op::HolderRevoke { .. }
            | Op::HolderRotate { .. }
            | Op::SharesRedeem { .. }
            | Op::CertIssuerRevoke { .. }
            | Op::CertRevoke { .. }
            | Op::IdentitySuspend { .. }
            | Op::CompanyAdmin { .. }
            | Op::OfferingApprove { .. }
            | Op::OfferingWithdraw { .. }
            | Op::OfferingConfirm { .. }
            | Op::OfferingClose { .. } => 0,
        }
    }

    /// The name this operation touches, if it names one (a company is a name).
    pub fn name(&self) -> Option<&str> {
        match self {
            Op::NameCommit { .. }
            | Op::ValidatorVote { .. }
            | Op::CertRegisterBatch { .. }
            | Op::IdentityRegister { .. }
            | Op::IdentityRotate { .. }
            | Op::IdentityRecover { .. }
            | Op::IdentityRevoke { .. }
            | Op::IdentitySuspend { .. } => None,
            Op::NameRegister { name, .. }
            | Op::NameUpdate { name, .. }
            | Op::NameTransfer { name, .. }
            | Op::NameRenew { name }
            | Op::IdentityBind { name, .. }
            | Op::CompanyRegister { name, .. }
            | Op::CertIssuerAuthorize { name, .. }
            | Op::CertIssuerRevoke { name, .. }
            | Op::CertRevoke { name, .. }
            | Op::CompanyMove { name, .. } => Some(name),
            Op::HolderIssue { company, .. }
            | Op::HolderRevoke { company, .. }
            | Op::HolderRotate { company, .. }
            | Op::SharesIssue { company, .. }
            | Op::SharesTransfer { company, .. }
            | Op::SharesRedeem { company, .. }
            | Op::CompanyAdmin { company, .. }
            | Op::OfferingOpen { company, .. }
            | Op::OfferingApprove { company, .. }
            | Op::OfferingSubscribe { company, .. }
            | Op::OfferingWithdraw { company, .. }
            | Op::OfferingConfirm { company, .. }
            | Op::OfferingClose { company, .. } => Some(company),
            Op::CertRegister { cert } => Some(&cert.name),
        }
    }
}

/// The commitment of a name registration: `blake3("sigil/commit/v1" ‖ name ‖ salt ‖ owner)`.
pub fn name_commitment(name: &str, salt: &Hash, owner: &PublicKey) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"sigil/commit/v1");
    h.update(&encode(&(name, salt, owner)));
    Hash(*h.finalize().as_bytes())
}

/// The part of a transaction that is signed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Transaction {
    pub chain_id: String,
    pub signer: PublicKey,
    /// Must equal the number of transactions this signer already has in blocks.
    pub nonce: u64,
    pub op: Op,
    /// Work stamp: prices the transaction in computation, since the chain has no currency.
    /// Zero where the chain asks for no work.
    pub stamp: u64,
}

impl Transaction {
    /// The bytes a signature covers: a domain separator and the canonical encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut bytes = TX_SIGNING_DOMAIN.to_vec();
        bytes.extend(encode(self));
        bytes
    }

    /// The stamp hasher primed with everything the stamp covers but the stamp itself: the
    /// domain tag and the canonical encoding of (chain id, signer, nonce, operation). A
    /// transaction's encoding ends with its stamp, so these are its bytes without it.
    fn stamp_prefix(&self) -> blake3::Hasher {
        let mut h = blake3::Hasher::new();
        h.update(STAMP_DOMAIN);
        h.update(&encode(&(
            &self.chain_id,
            &self.signer,
            self.nonce,
            &self.op,
        )));
        h
    }

    /// The work the stamp proves: leading zero bits of
    /// `blake3("sigil/stamp/v1" ‖ encode(chain_id, signer, nonce, op) ‖ stamp as u64 LE)`.
    pub fn work_bits(&self) -> u32 {
        stamp_bits(&self.stamp_prefix(), self.stamp)
    }

    /// The bits the chain asks of this transaction: `create_bits` (plus `ceil(log2 n)` for
    /// `n` new entries, unless `create_bits` is 0) if it creates state entries, a signer's first transaction included
    /// (it creates the signer's nonce entry); `update_bits` otherwise.
    pub fn required_bits(&self, work: &WorkParams) -> u32 {
        let created = self.op.created_entries();
        let bits = if created == 0 && self.nonce > 0 {
            work.update_bits
        } else if work.create_bits == 0 {
            // A chain that asks nothing asks nothing of batches either.
            0
        } else {
            let extra = u64::BITS - created.max(1).saturating_sub(1).leading_zeros();
            work.create_bits.saturating_add(extra)
        };
        bits.min(MAX_WORK_BITS)
    }

    /// Checks the stamp against what the chain asks ([`Transaction::required_bits`]).
    pub fn check_work(&self, work: &WorkParams) -> Result<(), TxError> {
        let required = self.required_bits(work);
        if required == 0 {
            return Ok(());
        }
        let got = self.work_bits();
        if got < required {
            return Err(TxError::InsufficientWork { required, got });
        }
        Ok(())
    }

    /// Searches the stamp that gives at least `bits` bits of work and sets it. `progress`
    /// hears the number of stamps tried every so often and stops the search by returning
    /// `false`; then the stamp is left as it was and `false` is returned. The search starts at
    /// the current stamp, so a stamp that already suffices is kept. Expected cost: `2^bits`
    /// hashes.
    pub fn find_stamp(&mut self, bits: u32, mut progress: impl FnMut(u64) -> bool) -> bool {
        let bits = bits.min(MAX_WORK_BITS);
        let prefix = self.stamp_prefix();
        let mut stamp = self.stamp;
        let mut tried = 0u64;
        while stamp_bits(&prefix, stamp) < bits {
            stamp = stamp.wrapping_add(1);
            tried += 1;
            if tried.is_multiple_of(STAMP_REPORT_EVERY) && !progress(tried) {
                return false;
            }
        }
        self.stamp = stamp;
        true
    }

    pub fn sign(self, key: &Keypair) -> SignedTx {
        assert_eq!(
            self.signer,
            key.public(),
            "a transaction must be signed by its own signer"
        );
        let signature = key.sign(&self.signing_bytes());
        SignedTx {
            tx: self,
            signature,
        }
    }
}

/// Leading zero bits of the stamp hash of `stamp` after `prefix`.
fn stamp_bits(prefix: &blake3::Hasher, stamp: u64) -> u32 {
    let mut h = prefix.clone();
    h.update(&stamp.to_le_bytes());
    leading_zero_bits(h.finalize().as_bytes())
}

/// Leading zero bits of a hash, read as a big-endian number.
pub fn leading_zero_bits(hash: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        bits += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    bits
}

/// A transaction and its signature, as submitted and as stored in blocks.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SignedTx {
    pub tx: Transaction,
    pub signature: Signature,
}

impl SignedTx {
    /// The transaction id: blake3 of the canonical encoding of the signed transaction.
    pub fn id(&self) -> Hash {
        Hash::of(&self.to_bytes())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a submitted transaction, refusing oversized or malformed input.
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedTx, TxError> {
        if bytes.len() > MAX_TX_BYTES {
            return Err(TxError::TooLarge {
                bytes: bytes.len(),
                max: MAX_TX_BYTES,
            });
        }
        decode(bytes).map_err(|e| TxError::Malformed(e.to_string()))
    }

    /// Checks that need no state: size, chain id and signature.
    pub fn check_stateless(&self, chain_id: &str) -> Result<(), TxError> {
        self.check_envelope(chain_id)?;
        if !self.signature_holds() {
            return Err(TxError::BadSignature {
                signer: self.tx.signer,
            });
        }
        Ok(())
    }

    /// The stateless checks but the signature: size and chain id. With a signature that
    /// holds, this is [`SignedTx::check_stateless`].
    pub fn check_envelope(&self, chain_id: &str) -> Result<(), TxError> {
        let bytes = borsh::object_length(self).map_err(|e| TxError::Malformed(e.to_string()))?;
        if bytes > MAX_TX_BYTES {
            return Err(TxError::TooLarge {
                bytes,
                max: MAX_TX_BYTES,
            });
        }
        if self.tx.chain_id != chain_id {
            return Err(TxError::WrongChain {
                expected: chain_id.to_string(),
                got: self.tx.chain_id.clone(),
            });
        }
        Ok(())
    }

    /// Whether the signature is the signer's over the transaction (`verify_strict`).
    pub fn signature_holds(&self) -> bool {
        self.tx
            .signer
            .verify(&self.tx.signing_bytes(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: &Keypair, chain: &str) -> SignedTx {
        Transaction {
            chain_id: chain.into(),
            signer: key.public(),
            nonce: 0,
            stamp: 0,
            op: Op::NameCommit {
                commitment: Hash::ZERO,
            },
        }
        .sign(key)
    }

    #[test]
    fn signature_binds_chain_and_content() {
        let key = Keypair::generate();
        let tx = sample(&key, "sigil-dev");
        assert_eq!(tx.check_stateless("sigil-dev"), Ok(()));
        assert!(matches!(
            tx.check_stateless("other"),
            Err(TxError::WrongChain { .. })
        ));
        let mut moved = tx.clone();
        moved.tx.chain_id = "other".into();
        assert!(matches!(
            moved.check_stateless("other"),
            Err(TxError::BadSignature { .. })
        ));
        let mut renonced = tx.clone();
        renonced.tx.nonce = 1;
        assert!(matches!(
            renonced.check_stateless("sigil-dev"),
            Err(TxError::BadSignature { .. })
        ));
        assert_eq!(SignedTx::from_bytes(&tx.to_bytes()).unwrap(), tx);
        assert!(SignedTx::from_bytes(&tx.to_bytes()[1..]).is_err());
    }

    #[test]
    fn stamp_covers_the_transaction_and_is_found_before_signing() {
        let key = Keypair::generate();
        let work = WorkParams {
            create_bits: 10,
            update_bits: 4,
        };
        let mut tx = sample(&key, "sigil-dev").tx;
        assert_eq!(tx.required_bits(&work), 10);
        if tx.work_bits() < 10 {
            assert!(matches!(
                tx.check_work(&work),
                Err(TxError::InsufficientWork { required: 10, .. })
            ));
        }
        let mut reports = 0;
        assert!(tx.find_stamp(10, |_| {
            reports += 1;
            true
        }));
        assert!(tx.work_bits() >= 10);
        assert_eq!(tx.check_work(&work), Ok(()));
        // The signature covers the stamp: it cannot be swapped after signing.
        let signed = tx.clone().sign(&key);
        assert_eq!(signed.check_stateless("sigil-dev"), Ok(()));
        let mut swapped = signed.clone();
        swapped.tx.stamp ^= 1;
        assert!(swapped.check_stateless("sigil-dev").is_err());
        // The stamp is bound to the content: another nonce needs its own.
        let mut other = tx.clone();
        other.nonce = 7;
        other.op = Op::NameRenew {
            name: "a.sigil".into(),
        };
        assert_eq!(other.required_bits(&work), 4);
        // A search can be stopped.
        let mut hard = sample(&key, "sigil-dev").tx;
        assert!(!hard.find_stamp(60, |tried| tried < (1 << 17)));
        assert_eq!(hard.stamp, 0);
        // Zero bits ask nothing.
        assert_eq!(
            sample(&key, "c").tx.check_work(&WorkParams::default()),
            Ok(())
        );
        assert_eq!(leading_zero_bits(&[0; 32]), 256);
        let mut h = [0u8; 32];
        h[1] = 0x10;
        assert_eq!(leading_zero_bits(&h), 11);
    }

    #[test]
    fn commitment_depends_on_every_part() {
        let a = PublicKey([1; 32]);
        let b = PublicKey([2; 32]);
        let c = name_commitment("x.sigil", &Hash::ZERO, &a);
        assert_ne!(c, name_commitment("y.sigil", &Hash::ZERO, &a));
        assert_ne!(c, name_commitment("x.sigil", &Hash([1; 32]), &a));
        assert_ne!(c, name_commitment("x.sigil", &Hash::ZERO, &b));
    }
}
