//! The command line of `sigil`: global flags, commands and their arguments (parsing only).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sigil_ca_bridge::DEFAULT_MAX_PROOF_AGE_SECS;

/// Where the node's HTTP API listens by default (`sigild`'s default `--api-listen`).
pub const DEFAULT_NODE: &str = "http://127.0.0.1:8645";

/// Heading of the flags every command takes.
const GLOBAL: &str = "Global options";

/// Import batch size: names committed together before their reveals.
pub const DEFAULT_IMPORT_BATCH: u64 = 1000;
/// Import batches in flight at once: committed or revealed, not yet final.
pub const DEFAULT_IMPORT_IN_FLIGHT: u64 = 8;

/// The Sigil command-line client: keys, names, proofs and the chain.
#[derive(Debug, Parser)]
#[command(
    name = "sigil",
    version,
    after_help = "Start a development node with `cargo run --release --bin sigild -- --dev`, \
                  create a key with `sigil key new alice`, then `sigil name register example.sigil --a 192.0.2.8`."
)]
pub struct Cli {
    /// URL of the node's HTTP API.
    #[arg(long, global = true, env = "SIGIL_NODE", help_heading = GLOBAL, value_name = "URL", default_value = DEFAULT_NODE)]
    pub node: String,

    /// Folder holding signing keys, pending registrations and pinned validator sets
    /// [default: `sigil/keys` under the user's data directory].
    #[arg(long, global = true, env = "SIGIL_KEYSTORE", help_heading = GLOBAL, value_name = "DIR")]
    pub keystore: Option<PathBuf>,

    /// Key to sign with: its name in the keystore, or the path of a PEM key file (e.g. a
    /// validator's `validator.pem`) [default: the keystore key the chain asks for (a name's
    /// owner, an identity's key, a validator...), or for a new name the keystore's only key].
    #[arg(long, global = true, env = "SIGIL_KEY", help_heading = GLOBAL, value_name = "NAME|FILE")]
    pub key: Option<String>,

    /// Print one JSON document on stdout instead of readable text (and no progress display).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and inspect signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Register, change, transfer, renew and inspect names.
    #[command(subcommand)]
    Name(NameCommand),
    /// Bind X.509 certificates to names, revoke them, and verify them against the ledger.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Check what the ledger says without trusting the node that says it.
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Inspect the chain.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Where a transaction stands on the node.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Identities: an online key that signs day to day and an offline key kept cold.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Companies: a registered name with an admin identity and share classes.
    #[command(subcommand)]
    Company(CompanyCommand),
    /// A company's shareholders: issue, revoke and re-key them (the admin), show one.
    #[command(subcommand)]
    Holder(HolderCommand),
    /// Shares: issue and redeem (the admin), transfer (the sending holder), history.
    #[command(subcommand)]
    Shares(SharesCommand),
    /// The register of shareholders of a company, now or at any height, as a table or CSV.
    Captable(CaptableArgs),
    /// Equity offerings: raise a round from the company's holders, all or nothing.
    #[command(subcommand)]
    Offering(OfferingCommand),
    /// Run a network of validators on this machine, one `sigild` process each.
    #[command(subcommand)]
    Localnet(LocalnetCommand),
    /// The validator set and its governance: validators vote to add or remove a validator.
    #[command(subcommand)]
    Validators(ValidatorsCommand),
    /// The node's DNS server: the trust anchor of its DNSSEC-signed answers.
    #[command(subcommand)]
    Dns(DnsCommand),
    /// Follow the chain and print one line per proven change to watched names, identities,
    /// companies and holders (resumes where it stopped; state kept in the keystore).
    #[command(after_help = WATCH_HELP)]
    Watch(WatchArgs),
}

const WATCH_HELP: &str = "\
Events: a name registered, its records changed, transferred, renewed, its expiry approaching \
(with an estimated date) or passed; a certificate registered (by the owner or an authorized \
issuer) or revoked for a watched name or host; an identity bound to a watched name; an identity \
registered, its online key rotated, recovered, suspended or revoked; a company created or \
changed; a holder issued, re-keyed or revoked (each one of a --company, or only the --holder \
ids in it), and a --holder's shares moved.

Every event is derived from the difference of two states of the watched item, each proven \
against a header signed by the trusted validators (as `sigil proof` checks them). A proof that \
does not hold ends the watch with an error (exit 1): nothing unproven is printed. A company's \
holders that changed are found in its register log on the node (not proven: a node can hide a \
change there, never forge one), then each one's entry is proven; watch a holder with --holder to \
be sure of it.

The last height seen and each item's proven state are kept in <keystore>/watch/<chain>.json, \
written atomically after each block: a restart resumes at the next height, and prints nothing \
twice (an event printed just before a crash, before its block was saved, is printed again).

With --json, each event is one JSON object on its own line.

--exec runs `sh -c CMD` once per event with the event as one JSON line on its standard input \
(its standard output goes to sigil's standard error). When the command fails, or outlives \
--exec-timeout (it is then killed), its event is kept in the state file and given again, in \
order and before newer events, at later blocks (after a pause that doubles up to a minute, and \
after a restart) until the command succeeds; the watch stops (exit 2) rather than drop one if \
1000 events wait.";

/// What `sigil watch` follows.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Names to watch: a registered name (`example.sigil`: its records, owner, expiry,
    /// certificates and binding) or a host under one (`www.example.sigil`: the host's records
    /// and the certificates that cover it, and its name's owner and expiry).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// An identity to watch (repeatable): its keys, suspension and revocation.
    #[arg(long = "identity", value_name = "ID")]
    pub identities: Vec<String>,
    /// A company to watch (repeatable), by id (`acme`) or name (`acme.sigil`): its entry,
    /// every holder it issues, re-keys or revokes, and the --holder ids in it.
    #[arg(long = "company", value_name = "COMPANY")]
    pub companies: Vec<String>,
    /// A holder id to watch in every --company (repeatable): issued, re-keyed, revoked, shares
    /// moved.
    #[arg(long = "holder", value_name = "ID", requires = "companies")]
    pub holders: Vec<String>,
    /// Warn when a watched name expires within this many blocks [default: about 30 days of
    /// blocks at the chain's block interval].
    #[arg(long, value_name = "BLOCKS", value_parser = whole)]
    pub expiry_warning_blocks: Option<u64>,
    /// Run `sh -c CMD` per event, the event as JSON on its standard input.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Longest one --exec command may run before it is killed (and its event given again).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = positive)]
    pub exec_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum DnsCommand {
    /// Print the trust anchor of the node's DNSSEC-signed answers: the DNSKEY and DS records
    /// of its zone key at each top-level domain, in zone-file form, for a validating resolver
    /// (unbound's `trust-anchor:`). Each node signs with a key of its own, made in its data
    /// folder: anchor the node you run and route the TLD to it.
    Anchor,
}

#[derive(Debug, Subcommand)]
pub enum ValidatorsCommand {
    /// The validators deciding the next block, pending votes, and every past change.
    List,
    /// Vote, as a validator (`--key path/to/validator.pem`), to add a validator. The change is
    /// made once validators with more than two thirds of the power have voted for it.
    ProposeAdd {
        /// The new validator's public key (64 hex digits, as `sigild` prints it).
        #[arg(value_name = "PUBKEY")]
        validator: String,
        /// Its voting power: a positive whole number.
        #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = positive)]
        power: u64,
    },
    /// Vote, as a validator, to remove a validator.
    ProposeRemove {
        /// The public key of the validator to remove.
        #[arg(value_name = "PUBKEY")]
        validator: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a new ed25519 key (PKCS#8 PEM, readable by `openssl pkey`).
    New {
        /// Name of the key in the keystore (letters, digits, `.`, `_`, `-`).
        name: String,
    },
    /// List the keys of the keystore with their public keys.
    List,
    /// Print the public key (hex) of a key.
    Show {
        /// Name of the key in the keystore.
        name: String,
    },
    /// Copy an ed25519 key from a PKCS#8 PEM file (e.g. from `openssl genpkey -algorithm
    /// ed25519`, or a node's `validator.pem`) into the keystore.
    Import {
        /// Name of the key in the keystore (letters, digits, `.`, `_`, `-`).
        name: String,
        /// The PEM file to copy.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum NameCommand {
    /// Register a name: commit, wait the chain's reveal delay, reveal; resumes after a crash.
    Register(RegisterArgs),
    /// Change a name's records: replace host+type sets, delete some, or start from none.
    Update(UpdateArgs),
    /// Give a name to another key.
    Transfer {
        /// The name, e.g. `example.sigil`.
        name: String,
        /// The new owner: a public key in hex, or the name of a key in the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        to: String,
    },
    /// Extend a name's expiry by the chain's name lifetime.
    Renew {
        /// The name, e.g. `example.sigil`.
        name: String,
    },
    /// Show a name's owner, expiry, records and history (exit 1 if it is not registered).
    Show {
        /// The name, e.g. `example.sigil`.
        name: String,
    },
    /// Show the changes of a name: registrations, updates, transfers, renewals.
    History {
        /// The name, e.g. `example.sigil`.
        name: String,
        #[command(flatten)]
        listing: ListingArgs,
    },
    /// Register every name of a DNS zone file, in batches.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The name to register, e.g. `example.sigil`.
    pub name: String,
    #[command(flatten)]
    pub records: RecordFlags,
}

/// How record hosts and targets are read, said under the help of the commands that take them.
const RELATIVE_NAMES: &str = "Hosts and target names are relative to the name, as in a zone file: on example.sigil, \
                  `--cname www` points at www.example.sigil, `--mx \"10 mail\"` at mail.example.sigil, \
                  and `--set \"alias CNAME www\"` does the same for alias.example.sigil. A name with a trailing \
                  dot (`--cname www.other.net.`) or ending in the chain's top-level domain (`other.sigil`) is \
                  absolute; without the dot, `www.other.net` would be www.other.net.example.sigil. An absolute \
                  HOST (`www.example.sigil`) must be the name or below it.";

/// Shortcut flags for the records of the name itself, plus `--set` for anything else.
/// Hosts and target names are read as in a zone file whose origin is the name: `www` is
/// `www.NAME`, `@` is the name itself, and a trailing dot makes a name absolute
/// (`mail.other.net.`).
#[derive(Debug, Default, Clone, Args)]
#[command(after_help = RELATIVE_NAMES)]
pub struct RecordFlags {
    /// An IPv4 address of the name (repeatable).
    #[arg(long = "a", value_name = "IP")]
    pub a: Vec<Ipv4Addr>,
    /// An IPv6 address of the name (repeatable).
    #[arg(long = "aaaa", value_name = "IP")]
    pub aaaa: Vec<Ipv6Addr>,
    /// A TXT string of the name (repeatable).
    #[arg(long = "txt", value_name = "TEXT")]
    pub txt: Vec<String>,
    /// Make the name an alias of TARGET (no other records may sit at the name then); TARGET is
    /// relative to the name unless it ends with a dot.
    #[arg(long = "cname", value_name = "TARGET")]
    pub cname: Option<String>,
    /// A mail exchanger as "PREFERENCE HOST", e.g. "10 mail" (mail.NAME) or "10 mx.other.net."
    /// (repeatable).
    #[arg(long = "mx", value_name = "PREF HOST")]
    pub mx: Vec<String>,
    /// A name server that serves the name: relative to the name unless it ends with a dot
    /// (repeatable).
    #[arg(long = "ns", value_name = "HOST")]
    pub ns: Vec<String>,
    /// Any record as "HOST [TTL] TYPE DATA", e.g. "www A 192.0.2.8" or "@ 600 MX 10 mail";
    /// HOST and names in DATA are relative to the name (`@` for the name itself) unless they end
    /// with a dot; TTL is in seconds [default: 300] (repeatable).
    #[arg(long = "set", value_name = "RECORD")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
#[command(after_help = RELATIVE_NAMES)]
pub struct UpdateArgs {
    /// The name to change, e.g. `example.sigil`.
    pub name: String,
    /// A record as "HOST [TTL] TYPE DATA"; replaces every record of that host and type
    /// (several --set of one host and type make up its new set); HOST and names in DATA are
    /// relative to the name unless they end with a dot (repeatable).
    #[arg(long = "set", value_name = "RECORD")]
    pub set: Vec<String>,
    /// Delete the records of "HOST TYPE" (or every record of "HOST") (repeatable).
    #[arg(long = "delete", value_name = "HOST [TYPE]")]
    pub delete: Vec<String>,
    /// Start from no records: the name keeps only what --set gives it.
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A zone file in standard (RFC 1035) syntax; its names must sit directly under a TLD of the chain.
    pub zonefile: PathBuf,
    /// Names committed together before their reveals.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_IMPORT_BATCH,
          value_parser = clap::value_parser!(u64).range(1..=sigil_core::limits::MAX_PENDING_PER_SIGNER as u64))]
    pub batch: u64,
    /// Batches in flight at once: the next batch's commits are sent while earlier batches
    /// wait for their reveal delay and finality (1: one batch after another).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_IMPORT_IN_FLIGHT,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub in_flight: u64,
    /// Origin for relative names when the file has no `$ORIGIN` [default: the chain's first TLD].
    #[arg(long, value_name = "DOMAIN")]
    pub origin: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Bind a certificate to a name (as its owner, or as an issuer the owner authorized).
    Register {
        /// The registered name, e.g. `example.sigil`.
        name: String,
        /// The certificate: PEM or DER, alone or followed by its issuers.
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Register it even if it has expired or is not valid yet (refused otherwise).
        #[arg(long)]
        force: bool,
    },
    /// Bind many certificates at once (an issuer's batch); each goes to the registered name
    /// its DNS names lie under.
    Batch {
        /// Certificate files (PEM or DER), one certificate or chain each.
        #[arg(required = true, value_name = "FILE")]
        certs: Vec<PathBuf>,
        /// Register them even if some have expired or are not valid yet (refused otherwise).
        #[arg(long)]
        force: bool,
    },
    /// Check a certificate against the ledger, with a proof checked against the validators:
    /// exit 0 if it is registered, active, valid now and for the name; exit 1 with the reason.
    Verify(CertVerifyArgs),
    /// Revoke a certificate for good.
    Revoke {
        /// The name the certificate is bound to, e.g. `example.sigil`.
        name: String,
        #[command(flatten)]
        which: CertChoice,
        /// Why (RFC 5280): unspecified, key-compromise, ca-compromise, affiliation-changed,
        /// superseded, cessation-of-operation, privilege-withdrawn, aa-compromise.
        #[arg(long, value_name = "REASON", default_value = "unspecified")]
        reason: String,
    },
    /// Every certificate ever bound to a name, with its status, and the name's certificate history.
    List {
        /// The name, e.g. `example.sigil`.
        name: String,
    },
    /// Let an issuer key (a CA) register and revoke certificates of a name (owner only).
    Authorize {
        /// The name, e.g. `example.sigil`.
        name: String,
        /// The issuer: a public key in hex, or the name of a key in the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        issuer: String,
    },
    /// Withdraw an issuer's authorization (owner only); what it registered stays.
    Deauthorize {
        /// The name, e.g. `example.sigil`.
        name: String,
        /// The issuer: a public key in hex, or the name of a key in the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        issuer: String,
    },
    /// Connect with TLS and check the certificate the server presents against the ledger
    /// (exit 1 if the server's certificate is refused, with the reason; exit 2 if no
    /// connection could be made).
    Fetch {
        /// The server's name and port, e.g. `example.sigil:443`. A name under the chain's
        /// top-level domains is resolved by the node (its A and AAAA records on the ledger);
        /// other names by the system's resolver.
        target: String,
        /// Connect to this address instead of resolving the name, e.g. `127.0.0.1:8443`.
        #[arg(long, value_name = "ADDR")]
        connect: Option<String>,
        /// Refuse a proof of a block older than this (a node replaying old proofs could hide
        /// a revocation).
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_PROOF_AGE_SECS, allow_negative_numbers = true, value_parser = whole)]
        max_age: u64,
    },
}

/// A certificate, by its file or by its fingerprint.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct CertChoice {
    /// The certificate file: PEM or DER, alone or followed by its issuers.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The certificate's SHA-256 fingerprint (64 hex digits, colons allowed, as
    /// `openssl x509 -fingerprint -sha256` prints it).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
}

#[derive(Debug, Args)]
pub struct CertVerifyArgs {
    /// The certificate file: PEM or DER, alone or followed by its issuers.
    #[arg(
        value_name = "FILE",
        required_unless_present = "sha256",
        conflicts_with = "sha256"
    )]
    pub file: Option<PathBuf>,
    /// The certificate's SHA-256 fingerprint instead of its file.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// The name the certificate must be valid for, e.g. `example.sigil` or `www.example.sigil`;
    /// only the certificate's entry under the registered name it lies under counts.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Refuse a proof of a block older than this (a node replaying old proofs could hide a
    /// revocation).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_PROOF_AGE_SECS, allow_negative_numbers = true, value_parser = whole)]
    pub max_age: u64,
}

/// How old the block of a certificate proof may be, by default.

#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Fetch and verify the proof of a name (exit 1 if it does not verify or is too old).
    Name {
        /// The name, e.g. `example.sigil`.
        name: String,
        /// Refuse a proof of a block older than this (a node replaying old proofs could hide
        /// a newer owner or records).
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_PROOF_AGE_SECS, allow_negative_numbers = true, value_parser = whole)]
        max_age: u64,
    },
    /// Fetch and verify the proof of a holder's balance of a class (exit 1 if it does not
    /// verify, is too old, or the holder does not exist).
    Balance {
        /// The company, e.g. `acme.sigil`.
        company: String,
        #[arg(long, value_name = "CLASS")]
        class: String,
        #[arg(long, value_name = "ID")]
        holder: String,
        /// Refuse a proof of a block older than this (a node replaying old proofs could hide
        /// later transfers).
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_PROOF_AGE_SECS, allow_negative_numbers = true, value_parser = whole)]
        max_age: u64,
    },
    /// Fetch and verify the proof of an identity: its keys, whether it is suspended or revoked
    /// (exit 1 if it does not verify, is too old, or there is no such identity).
    Identity {
        /// The identity's id, e.g. `acme-admin`.
        id: String,
        /// Refuse a proof of a block older than this (a node replaying old proofs could hide a
        /// rotation or a revocation).
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_PROOF_AGE_SECS, allow_negative_numbers = true, value_parser = whole)]
        max_age: u64,
    },
    /// Check a holder's subscription to an offering (its shares and state) against the
    /// validator-signed header.
    Subscription {
        /// The company, e.g. `acme.sigil`.
        company: String,
        offering: String,
        #[arg(long, value_name = "ID")]
        holder: String,
        /// Refuse a proof of a block older than this.
        #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_PROOF_AGE_SECS, allow_negative_numbers = true, value_parser = whole)]
        max_age: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Register an identity; signed by the offline key if it is in the keystore, else the online one.
    Register {
        /// The identity's id (a-z, 0-9, `-`, `_`, `.`), e.g. `acme-admin`.
        id: String,
        /// The online key: a public key in hex or a key of the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        online: String,
        /// The offline key: a public key in hex or a key of the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        offline: String,
    },
    /// Suspend the identity (signed by either key): its online key signs nothing from now on,
    /// until the offline key rotates or recovers it. What to do when the online key is stolen.
    Suspend { id: String },
    /// Replace the online key (signed by the offline key); lifts a suspension.
    Rotate {
        id: String,
        /// The new online key: a public key in hex or a key of the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        online: String,
    },
    /// Replace both keys (signed by the current offline key); lifts a suspension.
    Recover {
        id: String,
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        online: String,
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        offline: String,
    },
    /// Revoke the identity for good (signed by its offline key only).
    Revoke { id: String },
    /// Bind the identity to a name or a host below it (signed by the name's owner, with the
    /// identity's consent signed by its online key: both keys must be in the keystore); DNS then
    /// serves its key as TXT at `_sigil-key.NAME`.
    Bind {
        id: String,
        /// E.g. `alice.example.sigil`.
        name: String,
    },
    /// Show an identity's keys and the history of every key with the heights it was valid at.
    Show { id: String },
}

#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// Create a company listed under a registered name (signed by the name's owner, with the
    /// admin identity's consent signed by its online key).
    Create {
        /// The name to list it under, e.g. `acme.sigil`.
        name: String,
        /// Id of the identity whose online key administers the company.
        #[arg(long, value_name = "ID")]
        admin: String,
        /// A share class, e.g. `common` (repeatable).
        #[arg(long = "class", value_name = "CLASS", required = true)]
        classes: Vec<String>,
        /// The register's id, for good (a-z, 0-9, `-`, `_`) [default: the name's first label].
        #[arg(long, value_name = "ID")]
        id: Option<String>,
    },
    /// Replace the company's admin identity (signed by the current admin's offline key, or,
    /// once that identity is revoked for good, by the key that listed the company; with the new
    /// admin's consent).
    Admin {
        /// The company: its id or the name it is listed under.
        company: String,
        /// Id of the new admin identity.
        #[arg(long, value_name = "ID")]
        admin: String,
    },
    /// List the company under another name (signed by that name's owner, with the admin's
    /// consent); its register moves with it.
    Move {
        /// The company: its id or the name it is listed under.
        company: String,
        /// The name to list it under.
        name: String,
    },
    /// Show a company: its id, the name it is listed under (and whether the listing still
    /// counts), its admin and its share classes with their totals.
    Show {
        /// The company's id or the name it is listed under.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HolderCommand {
    /// Add a verified shareholder (signed by the admin's online key, found in the keystore).
    Issue {
        company: String,
        #[arg(long, value_name = "ID")]
        holder: String,
        /// The holder's key: a public key in hex or a key of the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        key: String,
        /// Hash (64 hex digits) of the holder's off-ledger data; only the hash is recorded.
        #[arg(long, value_name = "HEX")]
        attr_hash: Option<String>,
    },
    /// Revoke a shareholder: its key signs nothing more and it receives nothing.
    Revoke {
        company: String,
        #[arg(long, value_name = "ID")]
        holder: String,
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Give a shareholder a new key (recovery of a lost key; reinstates a revoked holder).
    Rotate {
        company: String,
        #[arg(long, value_name = "ID")]
        holder: String,
        /// The new key: a public key in hex or a key of the keystore.
        #[arg(long, value_name = "PUBKEY_OR_KEYNAME")]
        key: String,
    },
    /// Show a shareholder: key, status, balances with the shares an offering's lock-up holds
    /// (and from which height they move), key history.
    Show {
        company: String,
        #[arg(long, value_name = "ID")]
        holder: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SharesCommand {
    /// Create shares of a class for a holder (the admin).
    Issue {
        company: String,
        #[arg(long, value_name = "CLASS")]
        class: String,
        #[arg(long, value_name = "HOLDER")]
        to: String,
        /// How many shares: a positive whole number.
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive)]
        amount: u64,
    },
    /// Move shares between two holders (signed by the sending holder's key, found in the keystore).
    Transfer {
        company: String,
        #[arg(long, value_name = "CLASS")]
        class: String,
        #[arg(long, value_name = "HOLDER")]
        from: String,
        #[arg(long, value_name = "HOLDER")]
        to: String,
        /// How many shares: a positive whole number.
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive)]
        amount: u64,
    },
    /// Cancel shares a holder has (the admin): a buy-back or redemption.
    Redeem {
        company: String,
        #[arg(long, value_name = "CLASS")]
        class: String,
        #[arg(long, value_name = "HOLDER")]
        from: String,
        /// How many shares: a positive whole number.
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = positive)]
        amount: u64,
    },
    /// Every change concerning a holder, with its balance after each movement.
    History {
        company: String,
        #[arg(long, value_name = "ID")]
        holder: String,
        #[command(flatten)]
        listing: ListingArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum OfferingCommand {
    /// Open an offering (the company admin's online key). With `--platform` it waits for that
    /// platform's approval before it takes subscriptions.
    Open {
        company: String,
        /// The offering's id, e.g. `seed-2027`.
        #[arg(long, value_name = "ID")]
        id: String,
        #[arg(long, value_name = "CLASS")]
        class: String,
        /// Confirmed shares the round needs; below it, nothing is issued.
        #[arg(long, value_name = "N", value_parser = whole)]
        shares_min: u64,
        /// Most shares the round issues.
        #[arg(long, value_name = "N", value_parser = whole)]
        shares_max: u64,
        /// Most shares one investor may subscribe.
        #[arg(long, value_name = "N", value_parser = whole)]
        investor_max: u64,
        /// Most investors (at most 5,000: the close issues to all of them in one block).
        #[arg(long, value_name = "N")]
        max_investors: u32,
        /// Blocks the offering takes subscriptions for, from its opening.
        #[arg(long, value_name = "N", value_parser = whole)]
        closes_in_blocks: u64,
        /// The terms (the contract): only its SHA-256 goes on the ledger.
        #[arg(long, value_name = "FILE")]
        terms: std::path::PathBuf,
        /// The identity of the crowdfunding platform that must approve the offering.
        #[arg(long, value_name = "IDENTITY")]
        platform: Option<String>,
        /// Blocks after the close during which the issued shares cannot be transferred.
        #[arg(long, value_name = "N", value_parser = whole, default_value_t = 0)]
        lockup_blocks: u64,
        /// The price per share as the terms state it (not interpreted), e.g. "1.00 EUR".
        #[arg(long, value_name = "TEXT")]
        price: Option<String>,
    },
    /// Approve a proposed offering (the platform identity's online key): it opens.
    Approve { company: String, offering: String },
    /// Subscribe (the holder's key): the signature covers the terms' hash.
    Subscribe {
        company: String,
        offering: String,
        #[arg(long, value_name = "ID")]
        holder: String,
        #[arg(long, value_name = "N", value_parser = whole)]
        shares: u64,
    },
    /// Withdraw a subscription while the offering takes subscriptions (the holder's key).
    Withdraw {
        company: String,
        offering: String,
        #[arg(long, value_name = "ID")]
        holder: String,
    },
    /// Record that a subscriber's payment arrived (the admin's or the platform's online key).
    Confirm {
        company: String,
        offering: String,
        #[arg(long, value_name = "ID")]
        holder: String,
    },
    /// Close an offering once its deadline passed or its maximum is confirmed (any key).
    Close { company: String, offering: String },
    /// The terms hash, status, totals and every subscription with its state.
    Show {
        company: String,
        offering: String,
        /// Print the subscriptions as CSV (holder, shares, state, paid, refund_owed).
        #[arg(long)]
        csv: bool,
    },
    /// The company's offerings.
    List { company: String },
}

/// How much of a history to list (all of it, oldest first, by default).
#[derive(Debug, Clone, Copy, Args)]
pub struct ListingArgs {
    /// List at most this many changes (a note says when there are more).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub limit: Option<usize>,
    /// Newest changes first.
    #[arg(long)]
    pub newest_first: bool,
}

#[derive(Debug, Args)]
pub struct CaptableArgs {
    /// The company, e.g. `acme.sigil`.
    pub company: String,
    /// The register as it was at this height [default: the last final block].
    #[arg(long, value_name = "HEIGHT", allow_negative_numbers = true, value_parser = whole)]
    pub at: Option<u64>,
    /// Print CSV (holder, key, status, attr_hash, one column per class) instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// The chain's id, tip, state root, validators and mempool.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// Pending, final (with its block), failed (with the reason), evicted from the mempool
    /// (with the reason: send it again), or unknown to the node. Exit 1 unless pending or
    /// final.
    Status {
        /// The transaction id (hex), as the command that sent it printed.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LocalnetCommand {
    /// Create the network on first use, start every node that is not running, and print
    /// where each one listens.
    Up(LocalnetUpArgs),
    /// Lay out a full node (no validator key) that follows the chain, add it to the network,
    /// and start it; it syncs every block and serves DNS and the API like any node.
    AddNode {
        /// The network's folder.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_LOCALNET_DIR)]
        dir: PathBuf,
        /// First of the 4 loopback ports the node takes [default: after the last node's].
        #[arg(long, value_name = "PORT")]
        base_port: Option<u16>,
    },
    /// Height, tip age, addresses and validators of every node.
    Status {
        /// The network's folder.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_LOCALNET_DIR)]
        dir: PathBuf,
    },
    /// Stop every node (SIGTERM) and wait for them to exit.
    Down {
        /// The network's folder.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_LOCALNET_DIR)]
        dir: PathBuf,
    },
}

/// Where `sigil localnet` keeps a network unless told otherwise.
const DEFAULT_LOCALNET_DIR: &str = "localnet";

#[derive(Debug, Args)]
pub struct LocalnetUpArgs {
    /// Validators of a new network [default: 4]; an existing network starts as it is.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub validators: Option<usize>,
    /// The network's folder: one subfolder per node with its key, genesis, config and log.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_LOCALNET_DIR)]
    pub dir: PathBuf,
    /// First of the loopback ports a new network takes (4 per node: DNS, API, p2p, consensus).
    #[arg(long, value_name = "PORT", default_value_t = 26600)]
    pub base_port: u16,
    /// Least time between blocks of a new network, in milliseconds; 0 decides blocks as fast
    /// as the validators agree [default: 500].
    #[arg(long, value_name = "MS", allow_negative_numbers = true, value_parser = whole)]
    pub block_interval_ms: Option<u64>,
}

/// A bad number as echoed in an error: cut to a short prefix.
fn shown(input: &str) -> String {
    const SHOWN_CHARS: usize = 24;
    if input.chars().count() <= SHOWN_CHARS {
        return input.to_string();
    }
    let prefix: String = input.chars().take(SHOWN_CHARS).collect();
    format!("{prefix}… ({} bytes)", input.len())
}

/// `--amount`, `--power`: a whole number from 1 up.
fn positive(input: &str) -> Result<u64, String> {
    match input.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "`{}` is not an amount: amounts are positive whole numbers (1 to {}), e.g. 100",
            shown(input),
            u64::MAX
        )),
    }
}

/// Heights, seconds and milliseconds: a whole number from 0 up.
fn whole(input: &str) -> Result<u64, String> {
    input.trim().parse::<u64>().map_err(|_| {
        format!(
            "`{}` is not a whole number from 0 to {}",
            shown(input),
            u64::MAX
        )
    })
}

/// Counts (`--limit`, `--validators`): a whole number from 0 up.
fn count(input: &str) -> Result<usize, String> {
    input.trim().parse::<usize>().map_err(|_| {
        format!(
            "`{}` is not a count: a whole number from 0 to {}",
            shown(input),
            usize::MAX
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = Cli::try_parse_from([
            "sigil",
            "name",
            "register",
            "x.sigil",
            "--a",
            "192.0.2.1",
            "--a",
            "192.0.2.2",
            "--json",
            "--node",
            "http://h:1",
            "--set",
            "www A 192.0.2.3",
        ])
        .unwrap();
        assert!(cli.json);
        assert_eq!(cli.node, "http://h:1");
        let Command::Name(NameCommand::Register(args)) = cli.command else {
            panic!("parsed {:?}", cli.command)
        };
        assert_eq!(args.records.a.len(), 2);
        assert_eq!(args.records.set, ["www A 192.0.2.3"]);
    }

    #[test]
    fn holder_key_is_the_holders_key() {
        let cli = Cli::try_parse_from([
            "sigil",
            "holder",
            "issue",
            "acme.sigil",
            "--holder",
            "h-0001",
            "--key",
            "h1",
        ])
        .unwrap();
        let Command::Holder(HolderCommand::Issue { key, holder, .. }) = cli.command else {
            panic!("parsed {:?}", cli.command)
        };
        assert_eq!((key.as_str(), holder.as_str()), ("h1", "h-0001"));
    }
}
