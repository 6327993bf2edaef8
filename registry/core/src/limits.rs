//! Every bound the ledger enforces, in one place.

/// Longest domain name in presentation form, without the trailing dot (RFC 1035).
pub const MAX_NAME_BYTES: usize = 253;
/// Longest single label (RFC 1035).
pub const MAX_LABEL_BYTES: usize = 63;
/// Records one registered name may carry, apex and subnames together.
pub const MAX_RECORDS_PER_NAME: usize = 64;
/// Largest RDATA of one record, in wire bytes.
pub const MAX_RDATA_BYTES: usize = 1024;
/// Largest record set of one name, in wire bytes (RDATA plus owner names).
pub const MAX_RECORDS_BYTES_PER_NAME: usize = 8 * 1024;
/// DNS names (subject alternative names) one registered certificate may carry.
pub const MAX_CERT_SANS: usize = 100;
/// Certificates one name may have registered and not revoked at once.
pub const MAX_ACTIVE_CERTS_PER_NAME: usize = 64;
/// Certificates one batch registration may carry.
pub const MAX_CERTS_PER_BATCH: usize = 64;
/// Largest encoded transaction accepted by the node.
pub const MAX_TX_BYTES: usize = 16 * 1024;
/// Transactions one block may hold.
pub const MAX_TXS_PER_BLOCK: usize = 5_000;
/// Transactions the mempool holds; when full, only more work than the least pending gets in.
pub const MAX_MEMPOOL_TXS: usize = 20_000;
/// Ids of signed transactions whose signature a node remembers as verified (about 100 bytes
/// each): a full default mempool and a few blocks' worth, so that admission, proposing,
/// validating and committing check each signature once.
pub const SIGNATURE_CACHE_IDS: usize = MAX_MEMPOOL_TXS + 4 * MAX_TXS_PER_BLOCK;
/// Below this many signatures to check, a block's are checked on the calling thread alone.
pub const PARALLEL_VERIFY_MIN: usize = 64;
/// Bytes of transactions the mempool holds (the pending state they write comes on top).
pub const MAX_MEMPOOL_BYTES: usize = 32 * 1024 * 1024;
/// Transactions one signer may have pending at once, whatever the pool holds.
pub const MAX_PENDING_PER_SIGNER: usize = 1_000;
/// Transactions one signer may have pending while the pool has room no one else needs: past
/// [`MAX_PENDING_PER_SIGNER`] it borrows room, admitted only while the whole pool stays under
/// the pressure threshold ([`MEMPOOL_PRESSURE_PERMILLE`]); borrowed transactions do not count
/// towards the work the node asks of others, and are the first evicted (newest first) when
/// the pool is full. A block's worth, so one key (an import) can fill blocks on an idle node.
pub const MAX_PENDING_PER_SIGNER_BORROWING: usize = MAX_TXS_PER_BLOCK;
/// Bytes of transactions one signer may have pending at once.
pub const MAX_PENDING_BYTES_PER_SIGNER: usize = 2 * 1024 * 1024;
/// Fill (of count or bytes, in thousandths) above which the mempool asks more work than the
/// chain does: one more stamp bit at the threshold, and one more per step above it.
pub const MEMPOOL_PRESSURE_PERMILLE: usize = 500;
pub const MEMPOOL_PRESSURE_STEP_PERMILLE: usize = 62;
/// Evicted transaction ids the mempool remembers (newest kept), so their status says why they
/// left: about 100 bytes each in memory.
pub const MAX_EVICTED_REMEMBERED: usize = 10_000;
/// Transactions one `POST /v1/txs/batch` may carry (the body bound usually binds first).
pub const MAX_SUBMIT_BATCH_TXS: usize = 1_000;
/// Largest HTTP request body the API reads.
pub const MAX_API_BODY_BYTES: usize = 64 * 1024;
/// Longest chain id.
pub const MAX_CHAIN_ID_BYTES: usize = 64;
/// Validators a set may hold.
pub const MAX_VALIDATORS: usize = 100;
/// Pending validator changes (voted for by some, not yet enough) one validator may have a live
/// vote in: a validator that votes for many changes blocks only its own further votes. All
/// pending changes together stay under `MAX_VALIDATORS * MAX_PENDING_VOTES_PER_VALIDATOR`.
pub const MAX_PENDING_VOTES_PER_VALIDATOR: usize = 8;
/// Blocks a validator's vote counts for; then it expires (about 14 hours at one block a second).
pub const VALIDATOR_VOTE_TTL_BLOCKS: u64 = 50_000;
/// How far ahead of the current height an identity's consent (to a binding, to be a
/// company's admin) may stay valid.
pub const MAX_CONSENT_BLOCKS: u64 = 10_000;
/// Largest voting power of one validator (sums of powers stay far from overflow).
pub const MAX_VALIDATOR_POWER: u64 = 1 << 32;
/// How many name lifetimes (`name_ttl_blocks`) ahead of the current height a renewal may carry
/// a name's expiry: with 2, a name can be renewed once less than one lifetime remains, so no
/// one holds a name for decades by renewing it over and over in advance.
pub const MAX_NAME_TERMS_AHEAD: u64 = 2;
/// Largest TTL a record may ask for (one week).
pub const MAX_TTL_SECS: u32 = 7 * 24 * 3600;
/// Longest identity, holder or share class id.
pub const MAX_ID_BYTES: usize = 64;
/// Share classes one company may have.
pub const MAX_SHARE_CLASSES: usize = 16;
/// Keys an identity or a holder may have had (each rotation or recovery adds to its history).
pub const MAX_KEY_HISTORY: usize = 256;
/// Longest reason given for a holder's revocation.
pub const MAX_REASON_BYTES: usize = 256;
/// Investors one equity offering may have (ADR 0009): a close issues to at most this many.
/// A close does about the work of one share transfer per subscriber, so a maximal close costs
/// about one full block of transfers (measured in BENCHMARKS.md).
pub const MAX_OFFERING_INVESTORS: u32 = MAX_TXS_PER_BLOCK as u32;
/// Subscription slots of one offering: each holder that ever subscribed keeps one (withdrawing
/// and subscribing again reuses it), and a close reads them all.
pub const MAX_OFFERING_SLOTS: u32 = 2 * MAX_OFFERING_INVESTORS;
/// Longest subscription period of an offering, in blocks.
pub const MAX_OFFERING_BLOCKS: u64 = 10_000_000;
/// Longest lock-up of shares issued by an offering, in blocks.
pub const MAX_LOCKUP_BLOCKS: u64 = 100_000_000;
/// Longest price text of an offering (the ledger does not interpret it).
pub const MAX_PRICE_BYTES: usize = 64;
/// Running lock-ups one holder may have in one class; beyond, the two earliest merge.
pub const MAX_HOLDER_LOCKS: usize = 8;
/// Register changes after which a company's register is snapshotted again (or more, when the
/// register has more holders than this): a cap table at any height replays fewer changes than
/// this or than its holders, whatever the length of the company's history.
pub const REGISTER_SNAPSHOT_EVENTS: u64 = 1_000;
/// Entries of a history one API page holds by default, and at most.
pub const DEFAULT_PAGE_ITEMS: usize = 100;
pub const MAX_PAGE_ITEMS: usize = 1_000;
/// State keys one `GET /v1/proofs` request may ask to prove (each proof carries the header,
/// commit and validator set, a few KB with many validators): what one light answer needs,
/// with room to spare.
pub const MAX_PROOF_KEYS_PER_REQUEST: usize = 32;
/// Longest state key `GET /v1/proofs` proves (the longest key the state machine writes is
/// far shorter: a few names and hashes).
pub const MAX_PROOF_KEY_BYTES: usize = 1024;
/// Longest history cursor (a store key suffix) a client may pass back.
pub const MAX_CURSOR_BYTES: usize = 512;

// HTTP API (`api`, `http`).

/// Connections the API serves at once, and from one client address (an IPv6 client is its
/// /64 network).
pub const MAX_API_CONNECTIONS: usize = 1_024;
pub const MAX_API_CONNECTIONS_PER_CLIENT: usize = 64;
/// How long a client has to send a request's head (the request line and headers), and its
/// body; an idle kept-alive connection is closed after the head timeout too.
pub const API_HEAD_TIMEOUT_MS: u64 = 10_000;
pub const API_BODY_TIMEOUT_MS: u64 = 10_000;
/// How long one request may take in the node, long polls (at most 60 s) included.
pub const API_REQUEST_TIMEOUT_MS: u64 = 75_000;
/// How long a write to a client may make no progress before the connection is closed.
pub const API_WRITE_STALL_MS: u64 = 30_000;
/// Expensive requests (status, blocks, cap tables, histories, proofs) one client address may
/// make per second, and the burst it may save up.
pub const API_EXPENSIVE_PER_SEC: u32 = 20;
pub const API_EXPENSIVE_BURST: u32 = 100;
/// Client addresses whose request rate is tracked at once.
pub const MAX_API_RATE_CLIENTS: usize = 16_384;

// Peer-to-peer network (`net`).

/// Largest gossipsub frame: one transaction plus the message envelope and signature.
pub const MAX_GOSSIP_FRAME_BYTES: usize = MAX_TX_BYTES + 4 * 1024;
/// Largest client request on the wire (a height or a name).
pub const MAX_REQUEST_BYTES: usize = 1024;
/// Largest client response on the wire (a header with its commit, or a proof with its validator set).
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Client requests one peer may make per second, and the burst it may save up.
pub const PEER_REQUESTS_PER_SEC: u32 = 20;
pub const PEER_REQUEST_BURST: u32 = 50;
/// Gossip messages one peer may send per second, and the burst it may save up.
pub const PEER_GOSSIP_PER_SEC: u32 = 500;
pub const PEER_GOSSIP_BURST: u32 = 2_000;
/// Messages over its rate a peer may send within one window before it is disconnected.
pub const PEER_MAX_DROPPED_PER_WINDOW: u32 = 500;
pub const PEER_RATE_WINDOW_SECS: u64 = 10;
/// How long a misbehaving peer is kept off.
pub const PEER_BAN_SECS: u64 = 600;
/// Peers banned at once; the oldest ban is forgotten first.
pub const MAX_BANNED_PEERS: usize = 10_000;
/// Established connections the node keeps at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Client requests served at once (each reads the store on a blocking thread).
pub const MAX_SERVING_REQUESTS: usize = 64;
/// Concurrent request-response streams on one connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 16;
/// How long a client request waits for its response.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Inbound gossiped transactions queued for the node before new ones are ignored.
pub const INBOUND_TX_QUEUE: usize = 4_096;
/// Commands queued for the network task.
pub const NET_COMMAND_QUEUE: usize = 256;
/// Re-dial back-off for bootstrap peers: first wait and cap.
pub const REDIAL_MIN_MS: u64 = 500;
pub const REDIAL_MAX_MS: u64 = 60_000;
/// Largest borsh-encoded block a proposer builds or a validator accepts.
pub const MAX_BLOCK_BYTES: usize = 4 * 1024 * 1024;
/// Block bytes carried by one proposal part.
pub const PROPOSAL_PART_BYTES: usize = 64 * 1024;
/// Largest consensus message (vote, proposal, proposal part, certificate) the codec accepts.
pub const MAX_CONSENSUS_MESSAGE_BYTES: usize = 1024 * 1024;
/// Largest block-sync response the codec accepts.
pub const MAX_SYNC_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Blocks one block-sync response carries at most (and a node behind asks for at once).
pub const MAX_SYNC_BLOCKS_PER_RESPONSE: u64 = 64;
/// Block bytes after which a block-sync response takes no more blocks (it always carries at
/// least one); below the engine's 10 MiB response limit.
pub const SYNC_RESPONSE_BUDGET_BYTES: usize = 8 * 1024 * 1024;
/// Synced blocks a node catching up applies at most before one flush makes them durable and
/// final together (none is reported final before it).
pub const MAX_SYNC_GROUP_BLOCKS: usize = 256;
/// Bytes a sync group writes at most (held in memory until its flush); checked after each block.
pub const MAX_SYNC_GROUP_BYTES: usize = 32 * 1024 * 1024;
/// Longest a synced block waits for its group's flush, in milliseconds.
pub const SYNC_GROUP_MAX_AGE_MS: u64 = 1_000;
/// A sync group is flushed when no synced block followed its last one for this long, in
/// milliseconds (the node has caught up, or waits for the next response).
pub const SYNC_GROUP_IDLE_MS: u64 = 50;
/// Proposal streams one publisher (the gossip source) may have open at once; a new one
/// expires its oldest. An honest proposer has one or two in flight.
pub const MAX_PROPOSAL_STREAMS_PER_PEER: usize = 4;
/// Streams whose signed `Init` has not arrived yet (parts out of order), all peers together;
/// the oldest expires first, so they can never crowd out a stream whose `Init` checked.
pub const MAX_UNCHECKED_PROPOSAL_STREAMS: usize = 64;
/// Bytes a stream may hold before its `Init` arrives and checks.
pub const MAX_UNCHECKED_STREAM_BYTES: usize = 2 * PROPOSAL_PART_BYTES;
/// Streams with a checked `Init` naming one validator as proposer, at once; beyond it the
/// stream for the furthest height is dropped, so one validator only ever crowds out itself.
pub const MAX_PROPOSAL_STREAMS_PER_PROPOSER: usize = 4;
/// Heights ahead of the next one for which proposals are reassembled and kept (a validator a
/// little behind keeps what it will need); parts and stored proposals beyond are dropped.
pub const MAX_PROPOSAL_HEIGHTS_AHEAD: u64 = 8;
/// Rounds ahead of the current round (of the next height; of round 0 for later heights) for
/// which proposals are reassembled.
pub const MAX_PROPOSAL_ROUNDS_AHEAD: u32 = 8;
/// Different proposals kept per (height, round, proposer): the honest one, and a second to
/// show a double-signer's equivocation.
pub const MAX_PROPOSALS_PER_ROUND_PROPOSER: usize = 2;
/// How far ahead of a validator's clock a proposed block's time may be. Block times only move
/// forward, so one far-future time would stamp every later block; clients judge a proof's
/// freshness by it.
pub const MAX_CLOCK_DRIFT_MS: u64 = 5_000;

// Explorer (`registry/src/explorer.rs`).

/// Most recent blocks one `GET /v1/blocks` returns, each with its transactions' summaries.
pub const MAX_RECENT_BLOCKS: u64 = 20;
/// Names `GET /v1/certs/{sha256}` lists for one certificate (anyone may register the same
/// certificate under names they own, so the list is bounded).
pub const MAX_CERT_NAMES_LISTED: usize = 100;
