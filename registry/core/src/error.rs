//! The core's error types: a failure under the state machine (a reader's storage, damaged
//! data), invalid input, and the typed reasons a transaction is rejected.

use crate::types::{Hash, Height, PublicKey};

/// Result alias for operations of the state machine and its readers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of the state machine's inputs: the storage under a reader, damaged data, input
/// that cannot be used. The node's own error wraps this one and adds its store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage under a reader failed (the node's store), with its own message.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "stored data is corrupt ({what}): {detail}; the data folder is damaged, restore it from a backup or resync"
    )]
    Corrupt { what: &'static str, detail: String },
    #[error("state tree error: {0}")]
    Tree(String),
    #[error("{0}")]
    Invalid(String),
    #[error("transaction {index} of the block is invalid: {error}")]
    InvalidTx { index: usize, error: TxError },
}

impl Error {
    pub fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
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
    #[error(
        "`{name}` is reserved: it is the name server name of the top-level domain `{tld}` (its SOA and NS records name it), answered by every node; choose another name"
    )]
    Reserved { name: String, tld: String },
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
    #[error("TTL `{ttl}` is invalid: a TTL is a whole number of seconds from 0 to {max}")]
    BadTtl { ttl: String, max: u32 },
    /// `data` is the input as `shown` cuts it.
    #[error("bad {rtype} data `{data}`: {detail}")]
    BadData {
        rtype: String,
        data: String,
        detail: String,
    },
    #[error("bad record host `{host}`: {cause}")]
    BadHost { host: String, cause: NameError },
    #[error(
        "host `{host}` is outside `{name}`: a record of `{name}` sits at the name or below it; write the host relative to the name (`www`), or absolute with a trailing dot (`www.{name}.`)"
    )]
    HostOutside { host: String, name: String },
    #[error(
        "{rtype} record data of {bytes} bytes is larger than the limit of {max} bytes per record"
    )]
    TooLarge {
        rtype: String,
        bytes: usize,
        max: usize,
    },
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

/// Input echoed in a message: whole when short, else its first characters and its length, so
/// that a 70 KB value does not flood the terminal.
pub fn shown(input: &str) -> String {
    /// Characters of the input kept.
    const SHOWN_CHARS: usize = 60;
    if input.chars().count() <= SHOWN_CHARS {
        return input.to_string();
    }
    let prefix: String = input.chars().take(SHOWN_CHARS).collect();
    format!("{prefix}… ({} bytes)", input.len())
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
    InvalidName(NameError),
    #[error("invalid record: {0}")]
    InvalidRecord(RecordError),
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
    InvalidSan(SanError),
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
    #[error("offering terms are invalid: {reason}")]
    BadOffering { reason: String },
    #[error("company `{company}` already has an offering `{offering}`; choose another id")]
    OfferingExists { company: String, offering: String },
    #[error(
        "company `{company}` has no offering `{offering}`; `sigil offering list {company}` lists them"
    )]
    OfferingNotFound { company: String, offering: String },
    #[error("offering `{offering}` of `{company}` is {status}: {why}")]
    OfferingStatus {
        company: String,
        offering: String,
        status: String,
        why: String,
    },
    #[error(
        "the terms hash {got} is not the one of offering `{offering}` ({expected}); check your copy of the terms with `sha256sum` and `sigil offering show`"
    )]
    TermsMismatch {
        offering: String,
        expected: Hash,
        got: Hash,
    },
    #[error(
        "offering `{offering}` has {remaining} shares left, fewer than the {asked} asked; subscribe for at most {remaining}"
    )]
    OfferingFull {
        offering: String,
        remaining: u64,
        asked: u64,
    },
    #[error("offering `{offering}` already has its maximum of {max} investors")]
    TooManyInvestors { offering: String, max: u32 },
    #[error(
        "offering `{offering}` has had {max} subscribers, the most one offering may enumerate at its close; no new holder may subscribe"
    )]
    OfferingSlotsFull { offering: String, max: u32 },
    #[error(
        "offering `{offering}` takes at most {max} shares per investor, fewer than the {asked} asked"
    )]
    InvestorMax {
        offering: String,
        max: u64,
        asked: u64,
    },
    #[error("holder `{holder}` has no subscription to offering `{offering}`")]
    SubscriptionNotFound { offering: String, holder: String },
    #[error("the subscription of `{holder}` to offering `{offering}` is {state}: {why}")]
    SubscriptionState {
        offering: String,
        holder: String,
        state: String,
        why: String,
    },
    #[error("{signer} may not {action} in offering `{offering}`: {needed}")]
    NotOfferingAuthority {
        offering: String,
        action: &'static str,
        signer: PublicKey,
        needed: String,
    },
    #[error(
        "offering `{offering}` takes subscriptions until height {closes_at} and has {confirmed} of its {shares_max} maximum shares confirmed; close it after height {closes_at} or once the maximum is confirmed"
    )]
    CloseTooEarly {
        offering: String,
        closes_at: Height,
        confirmed: u64,
        shares_max: u64,
    },
    #[error(
        "an offering was already closed in block {height}; one close applies per block, send it again"
    )]
    OfferingCloseBusy { height: Height },
    #[error(
        "holder `{holder}` of `{company}` has {locked} of its {balance} `{class}` shares locked by an offering's lock-up; {transferable} may move now, the {amount} asked from height {until}"
    )]
    SharesLocked {
        company: String,
        holder: String,
        class: String,
        balance: u64,
        locked: u64,
        transferable: u64,
        amount: u64,
        until: Height,
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

// Causes are said in the message, not chained again as `source()` (see `Error`).
impl From<NameError> for TxError {
    fn from(e: NameError) -> Self {
        TxError::InvalidName(e)
    }
}

impl From<RecordError> for TxError {
    fn from(e: RecordError) -> Self {
        TxError::InvalidRecord(e)
    }
}

impl From<SanError> for TxError {
    fn from(e: SanError) -> Self {
        TxError::InvalidSan(e)
    }
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
            TxError::BadOffering { .. } => "bad_offering",
            TxError::OfferingExists { .. } => "offering_exists",
            TxError::OfferingNotFound { .. } => "offering_not_found",
            TxError::OfferingStatus { .. } => "offering_status",
            TxError::TermsMismatch { .. } => "terms_mismatch",
            TxError::OfferingFull { .. } => "offering_full",
            TxError::TooManyInvestors { .. } => "too_many_investors",
            TxError::OfferingSlotsFull { .. } => "offering_slots_full",
            TxError::InvestorMax { .. } => "investor_max",
            TxError::SubscriptionNotFound { .. } => "subscription_not_found",
            TxError::SubscriptionState { .. } => "subscription_state",
            TxError::NotOfferingAuthority { .. } => "not_offering_authority",
            TxError::CloseTooEarly { .. } => "close_too_early",
            TxError::OfferingCloseBusy { .. } => "offering_close_busy",
            TxError::SharesLocked { .. } => "shares_locked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_input_is_cut_with_its_length() {
        assert_eq!(shown("www A 192.0.2.1"), "www A 192.0.2.1");
        let long = "é".repeat(1000);
        let cut = shown(&long);
        assert!(
            cut.starts_with(&"é".repeat(60)) && cut.ends_with("… (2000 bytes)"),
            "{cut}"
        );
    }
}
