//! The registry's error types: storage failures, invalid input, and the typed reasons a transaction is rejected.

use crate::types::{Hash, Height, PublicKey};

/// Result alias for registry operations that can fail in storage or decoding.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of the node's own machinery (storage, encoding, a damaged database).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("storage error: {0}")]
    Store(#[from] sled::Error),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "stored data is corrupt ({what}): {detail}; the data folder is damaged, restore it from a backup or resync"
    )]
    Corrupt { what: &'static str, detail: String },
    #[error(
        "this data folder was written by an incompatible version of sigild (store format {found}, this sigild reads format {reads}): start this sigild on a new empty --data folder and let it sync the chain from the network (on a development chain, delete the folder to start a new chain), or run the version that wrote the folder"
    )]
    IncompatibleStore { found: u32, reads: u32 },
    #[error("state tree error: {0}")]
    Tree(String),
    #[error("{0}")]
    Invalid(String),
    #[error("transaction {index} of the block is invalid: {error}")]
    InvalidTx { index: usize, error: TxError },
}

impl Error {
    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Error::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Why a name, a host or a record was refused. Messages name the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name `{name}` is longer than {max} bytes")]
    TooLong { name: String, max: usize },
    #[error("name `{name}` has an empty label")]
    EmptyLabel { name: String },
    #[error("label `{label}` in `{name}` is longer than 63 bytes")]
    LabelTooLong { name: String, label: String },
    #[error(
        "label `{label}` in `{name}` has a character other than a-z, 0-9 and `-` (or starts or ends with `-`)"
    )]
    BadLabel { name: String, label: String },
    #[error("`{name}` is not a valid internationalized name: {detail}")]
    Idna { name: String, detail: String },
    #[error(
        "`{name}` is not directly under a top-level domain of this chain ({tlds}); register `label.{first_tld}`"
    )]
    NotRegistrable {
        name: String,
        tlds: String,
        first_tld: String,
    },
}

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(
        "record `{text}` is not of the form `HOST [TTL] TYPE DATA` (for example `www A 192.0.2.8` or `@ MX 10 mail.example.sigil`)"
    )]
    Syntax { text: String },
    #[error(
        "record type `{rtype}` is not supported; use one of A, AAAA, CNAME, TXT, MX, SRV, NS, CAA, TLSA"
    )]
    UnsupportedType { rtype: String },
    #[error("bad {rtype} data `{data}`: {detail}")]
    BadData {
        rtype: String,
        data: String,
        detail: String,
    },
    #[error("bad record host `{host}`: {source}")]
    BadHost { host: String, source: NameError },
    #[error("record data of {bytes} bytes is larger than the limit of {max}")]
    TooLarge { bytes: usize, max: usize },
    #[error("{count} records is more than the limit of {max} per name")]
    TooMany { count: usize, max: usize },
    #[error("the records take {bytes} bytes, more than the limit of {max} per name")]
    SetTooLarge { bytes: usize, max: usize },
    #[error("`{host}` has a CNAME and other records; a CNAME must be the only record at its host")]
    CnameConflict { host: String },
    #[error("TTL {ttl} is larger than the limit of {max} seconds")]
    TtlTooLarge { ttl: u32, max: u32 },
}

/// Why the DNS names (subject alternative names) of a certificate were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SanError {
    #[error("certificate name `{san}` is not a valid DNS name: {detail}")]
    Invalid { san: String, detail: String },
    #[error(
        "certificate name `{san}` is not in canonical form; send `{canonical}` (lowercase A-labels, no trailing dot)"
    )]
    NotCanonical { san: String, canonical: String },
    #[error(
        "the certificate has no DNS names; a certificate for `{name}` must name it in its subject alternative names"
    )]
    None { name: String },
    #[error(
        "certificate name `{san}` covers the whole top-level domain `{tld}`; such a certificate cannot be bound to one name"
    )]
    WholeTld { san: String, tld: String },
    #[error(
        "certificate name `{san}` belongs to `{other}`, not to `{name}`; a certificate bound to `{name}` may only name `{name}`, its subnames and names outside the chain"
    )]
    OtherName {
        san: String,
        name: String,
        other: String,
    },
    #[error(
        "none of the certificate's names ({sans}) is `{name}` or under it; issue a certificate for `{name}`"
    )]
    NotCovered { name: String, sans: String },
}

/// Why a transaction was rejected. Each message says what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("transaction is for chain `{got}`, but this chain is `{expected}`; check --node")]
    WrongChain { expected: String, got: String },
    #[error("bad signature: the transaction was not signed by {signer}")]
    BadSignature { signer: PublicKey },
    #[error(
        "bad nonce {got} for {signer}: expected {expected}; fetch the account's nonce and sign again"
    )]
    BadNonce {
        signer: PublicKey,
        expected: u64,
        got: u64,
    },
    #[error(
        "the transaction's work stamp has {got} leading zero bits, but it needs {required}; compute the stamp for {required} bits and sign again (sigil does this itself)"
    )]
    InsufficientWork { required: u32, got: u32 },
    #[error("transaction of {bytes} bytes is larger than the limit of {max}")]
    TooLarge { bytes: usize, max: usize },
    #[error("transaction could not be decoded: {0}")]
    Malformed(String),
    #[error("invalid name: {0}")]
    InvalidName(#[from] NameError),
    #[error("invalid record: {0}")]
    InvalidRecord(#[from] RecordError),
    #[error(
        "name `{name}` is already registered (owner {owner}, expires at height {expires_at}); choose another name"
    )]
    NameTaken {
        name: String,
        owner: PublicKey,
        expires_at: Height,
    },
    #[error(
        "name `{name}` expired at height {expired_at} and is in its grace period until height {grace_until}; only its owner can renew it before then"
    )]
    NameInGrace {
        name: String,
        expired_at: Height,
        grace_until: Height,
    },
    #[error(
        "no commitment of this key matches this reveal of `{name}` (none was sent, or its reveal window passed and it was pruned); commit first (the CLI's `name register` does both)"
    )]
    NoCommit { name: String },
    #[error(
        "reveal of `{name}` too early: the commit is at height {committed_at}, reveal from height {earliest} on"
    )]
    RevealTooEarly {
        name: String,
        committed_at: Height,
        earliest: Height,
    },
    #[error(
        "reveal of `{name}` too late: the commit at height {committed_at} expired at height {latest}; commit again"
    )]
    RevealTooLate {
        name: String,
        committed_at: Height,
        latest: Height,
    },
    #[error("commitment {commitment} already exists; use a fresh salt")]
    DuplicateCommit { commitment: String },
    #[error(
        "`{name}` already runs until height {expires_at}; a renewal may carry a name at most {max_terms} lifetimes ahead, so renew it from height {renewable_from} on"
    )]
    RenewTooEarly {
        name: String,
        expires_at: Height,
        renewable_from: Height,
        max_terms: u64,
    },
    #[error("name `{name}` is not registered")]
    NameNotFound { name: String },
    #[error(
        "name `{name}` expired at height {expired_at}; renew it (owner, within the grace period) or register it again"
    )]
    NameExpired { name: String, expired_at: Height },
    #[error("{signer} is not the owner of `{name}` (the owner is {owner})")]
    NotOwner {
        name: String,
        owner: PublicKey,
        signer: PublicKey,
    },
    #[error(
        "{signer} is not a validator of the current set; only validators vote on validator changes (sign with a validator's key, e.g. its node's validator.pem)"
    )]
    NotAValidator { signer: PublicKey },
    #[error("{signer} has already voted to {change}; the other validators must vote for it too")]
    AlreadyVoted { signer: PublicKey, change: String },
    #[error("cannot {change}: {reason}")]
    BadValidatorChange { change: String, reason: String },
    #[error("invalid certificate: {0}")]
    InvalidSan(#[from] SanError),
    #[error("the certificate has {count} names, more than the limit of {max}")]
    TooManySans { count: usize, max: usize },
    #[error(
        "the certificate's validity window is empty (not before {not_before}, not after {not_after}, unix seconds)"
    )]
    CertBadWindow { not_before: i64, not_after: i64 },
    #[error(
        "certificate {cert_sha256} is already registered for `{name}`; a certificate is registered once per name, and a revoked one stays revoked"
    )]
    CertExists { cert_sha256: Hash, name: String },
    #[error(
        "certificate {cert_sha256} is not registered for `{name}`; check the fingerprint and the name (`sigil cert list {name}`)"
    )]
    CertNotFound { cert_sha256: Hash, name: String },
    #[error("certificate {cert_sha256} was already revoked at height {height}")]
    CertAlreadyRevoked { cert_sha256: Hash, height: Height },
    #[error(
        "{signer} may not manage the certificates of `{name}`: it is neither the owner ({owner}) nor an issuer the owner authorized (`sigil cert authorize {name} --issuer KEY`)"
    )]
    NotCertAuthority {
        name: String,
        owner: PublicKey,
        signer: PublicKey,
    },
    #[error("{issuer} is already an authorized certificate issuer of `{name}`")]
    IssuerAlreadyAuthorized { name: String, issuer: PublicKey },
    #[error("{issuer} is not an authorized certificate issuer of `{name}`")]
    IssuerNotAuthorized { name: String, issuer: PublicKey },
    #[error(
        "`{name}` already has {max} active certificates, the limit; revoke expired or superseded ones first (`sigil cert revoke {name} --sha256 HEX --reason superseded`)"
    )]
    TooManyCerts { name: String, max: usize },
    #[error("a batch of {count} certificates is outside the allowed 1 to {max}; split it")]
    BatchSize { count: usize, max: usize },
    #[error(
        "certificate {index} of the batch ({cert_sha256}): {error}; nothing of the batch was applied"
    )]
    InBatch {
        index: usize,
        cert_sha256: Hash,
        error: Box<TxError>,
    },
    #[error(
        "{what} `{id}` is not valid: use 1 to {max} bytes of a-z, 0-9, `-`, `_` or `.`, starting with a letter or digit"
    )]
    InvalidId {
        what: &'static str,
        id: String,
        max: usize,
    },
    #[error("identity `{id}` already exists; choose another id")]
    IdentityTaken { id: String },
    #[error(
        "identity `{id}` does not exist; register it first with `sigil identity register {id}`"
    )]
    IdentityNotFound { id: String },
    #[error(
        "identity `{id}` was revoked at height {revoked_at}; its keys sign nothing any more, register a new identity"
    )]
    IdentityRevoked { id: String, revoked_at: Height },
    #[error(
        "the online and the offline key of identity `{id}` must differ; give two distinct keys"
    )]
    SameKeys { id: String },
    #[error("{key} is already a key of `{owner}`; give a fresh key")]
    KeyReused { owner: String, key: PublicKey },
    #[error(
        "{key} was a key of `{owner}` only until height {valid_until}; it signs nothing after that, sign with the current key {current}"
    )]
    KeyRotatedOut {
        owner: String,
        key: PublicKey,
        valid_until: Height,
        current: PublicKey,
    },
    #[error(
        "this operation on `{owner}` must be signed by its {needed} key {expected}, not by {signer}"
    )]
    WrongSigner {
        owner: String,
        needed: &'static str,
        expected: PublicKey,
        signer: PublicKey,
    },
    #[error("the history of `{owner}` already holds {max} keys; register a new identity or holder")]
    KeyHistoryFull { owner: String, max: usize },
    #[error("name `{name}` is already a company; pick another name")]
    CompanyExists { name: String },
    #[error(
        "`{name}` is not a company; create it with `sigil company create {name} --admin ID --class CLASS`"
    )]
    CompanyNotFound { name: String },
    #[error("a company needs 1 to {max} share classes without repeats (got {count}: {classes})")]
    BadClasses {
        count: usize,
        max: usize,
        classes: String,
    },
    #[error("company `{company}` has no share class `{class}`; its classes are {classes}")]
    UnknownClass {
        company: String,
        class: String,
        classes: String,
    },
    #[error("holder `{holder}` already exists in `{company}`; choose another holder id")]
    HolderExists { company: String, holder: String },
    #[error(
        "`{company}` has no holder `{holder}`; the admin issues one with `sigil holder issue {company} --holder {holder} --key KEY`"
    )]
    HolderNotFound { company: String, holder: String },
    #[error(
        "holder `{holder}` of `{company}` was revoked at height {revoked_at} ({reason}); it can neither sign nor receive, the admin may reinstate it with `sigil holder rotate`"
    )]
    HolderRevoked {
        company: String,
        holder: String,
        revoked_at: Height,
        reason: String,
    },
    #[error("a revocation reason must be 1 to {max} bytes (got {bytes})")]
    BadReason { bytes: usize, max: usize },
    #[error("the amount must be more than zero")]
    AmountZero,
    #[error(
        "{amount} more `{class}` shares of `{company}` would overflow the 64-bit total ({total} now); issue fewer"
    )]
    AmountOverflow {
        company: String,
        class: String,
        amount: u64,
        total: u64,
    },
    #[error(
        "holder `{holder}` of `{company}` has {balance} `{class}` shares, fewer than the {amount} asked"
    )]
    InsufficientBalance {
        company: String,
        holder: String,
        class: String,
        balance: u64,
        amount: u64,
    },
    #[error("a transfer needs two different holders (got `{holder}` twice)")]
    SameHolder { holder: String },
    #[error(
        "identity `{id}` was suspended at height {suspended_at}: its online key signs nothing; its offline key lifts the suspension with `sigil identity rotate {id}` or `recover`"
    )]
    IdentitySuspended { id: String, suspended_at: Height },
    #[error(
        "identity `{id}` did not consent to {purpose}: {reason}; its online key must sign the consent (the CLI does when the key is in its keystore)"
    )]
    NoConsent {
        id: String,
        purpose: String,
        reason: String,
    },
    #[error("company id `{id}` is taken; choose another (`--id`)")]
    CompanyIdTaken { id: String },
    #[error(
        "a company id is 1 to {max} bytes of a-z, 0-9, `-` or `_`, starting with a letter or digit (no `.`, so it is never a name); got `{id}`"
    )]
    InvalidCompanyId { id: String, max: usize },
    #[error(
        "`{name}` already lists company `{company}` under its owner; move that company first (`sigil company move {company} OTHER-NAME`)"
    )]
    NameHasCompany { name: String, company: String },
    #[error("{signer} may not replace the admin of company `{company}`: {reason}")]
    NotCompanyAuthority {
        company: String,
        signer: PublicKey,
        reason: String,
    },
    #[error(
        "{signer} already has {max} pending validator changes it voted for; wait until one passes or its vote expires at height {expires_at}"
    )]
    TooManyVotes {
        signer: PublicKey,
        max: usize,
        expires_at: Height,
    },
}

impl TxError {
    /// A stable machine-readable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::WrongChain { .. } => "wrong_chain",
            TxError::BadSignature { .. } => "bad_signature",
            TxError::BadNonce { .. } => "bad_nonce",
            TxError::InsufficientWork { .. } => "insufficient_work",
            TxError::TooLarge { .. } => "too_large",
            TxError::Malformed(_) => "malformed",
            TxError::InvalidName(_) => "invalid_name",
            TxError::InvalidRecord(
                RecordError::TooLarge { .. }
                | RecordError::SetTooLarge { .. }
                | RecordError::TooMany { .. },
            ) => "record_too_large",
            TxError::InvalidRecord(_) => "invalid_record",
            TxError::NameTaken { .. } => "name_taken",
            TxError::NameInGrace { .. } => "name_in_grace",
            TxError::NoCommit { .. } => "no_commit",
            TxError::RevealTooEarly { .. } => "reveal_too_early",
            TxError::RevealTooLate { .. } => "reveal_too_late",
            TxError::DuplicateCommit { .. } => "duplicate_commit",
            TxError::RenewTooEarly { .. } => "renew_too_early",
            TxError::NameNotFound { .. } => "name_not_found",
            TxError::NameExpired { .. } => "name_expired",
            TxError::NotOwner { .. } => "not_owner",
            TxError::NotAValidator { .. } => "not_a_validator",
            TxError::AlreadyVoted { .. } => "already_voted",
            TxError::BadValidatorChange { .. } => "bad_validator_change",
            TxError::InvalidSan(_) => "invalid_san",
            TxError::TooManySans { .. } => "too_many_sans",
            TxError::CertBadWindow { .. } => "cert_bad_window",
            TxError::CertExists { .. } => "cert_exists",
            TxError::CertNotFound { .. } => "cert_not_found",
            TxError::CertAlreadyRevoked { .. } => "cert_already_revoked",
            TxError::NotCertAuthority { .. } => "not_cert_authority",
            TxError::IssuerAlreadyAuthorized { .. } => "issuer_already_authorized",
            TxError::IssuerNotAuthorized { .. } => "issuer_not_authorized",
            TxError::TooManyCerts { .. } => "too_many_certs",
            TxError::BatchSize { .. } => "batch_size",
            TxError::InBatch { error, .. } => error.code(),
            TxError::InvalidId { .. } => "invalid_id",
            TxError::IdentityTaken { .. } => "identity_taken",
            TxError::IdentityNotFound { .. } => "identity_not_found",
            TxError::IdentityRevoked { .. } => "identity_revoked",
            TxError::SameKeys { .. } => "same_keys",
            TxError::KeyReused { .. } => "key_reused",
            TxError::KeyRotatedOut { .. } => "key_rotated_out",
            TxError::WrongSigner { .. } => "wrong_signer",
            TxError::KeyHistoryFull { .. } => "key_history_full",
            TxError::CompanyExists { .. } => "company_exists",
            TxError::CompanyNotFound { .. } => "company_not_found",
            TxError::BadClasses { .. } => "bad_classes",
            TxError::UnknownClass { .. } => "unknown_class",
            TxError::HolderExists { .. } => "holder_exists",
            TxError::HolderNotFound { .. } => "holder_not_found",
            TxError::HolderRevoked { .. } => "holder_revoked",
            TxError::BadReason { .. } => "bad_reason",
            TxError::AmountZero => "amount_zero",
            TxError::AmountOverflow { .. } => "amount_overflow",
            TxError::InsufficientBalance { .. } => "insufficient_balance",
            TxError::SameHolder { .. } => "same_holder",
            TxError::IdentitySuspended { .. } => "identity_suspended",
            TxError::NoConsent { .. } => "no_consent",
            TxError::CompanyIdTaken { .. } => "company_id_taken",
            TxError::InvalidCompanyId { .. } => "invalid_company_id",
            TxError::NameHasCompany { .. } => "name_has_company",
            TxError::NotCompanyAuthority { .. } => "not_company_authority",
            TxError::TooManyVotes { .. } => "too_many_votes",
        }
    }
}
