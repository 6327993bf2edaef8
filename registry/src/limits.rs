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
/// Largest encoded transaction accepted by the node.
pub const MAX_TX_BYTES: usize = 16 * 1024;
/// Transactions one block may hold.
pub const MAX_TXS_PER_BLOCK: usize = 5_000;
/// Transactions the mempool holds before it refuses new ones.
pub const MAX_MEMPOOL_TXS: usize = 50_000;
/// Transactions one signer may have pending at once.
pub const MAX_PENDING_PER_SIGNER: usize = 10_000;
/// Largest HTTP request body the API reads.
pub const MAX_API_BODY_BYTES: usize = 64 * 1024;
/// Longest chain id.
pub const MAX_CHAIN_ID_BYTES: usize = 64;
/// Largest TTL a record may ask for (one week).
pub const MAX_TTL_SECS: u32 = 7 * 24 * 3600;
/// Largest borsh-encoded block a proposer builds or a validator accepts.
pub const MAX_BLOCK_BYTES: usize = 4 * 1024 * 1024;
/// Block bytes carried by one proposal part.
pub const PROPOSAL_PART_BYTES: usize = 64 * 1024;
/// Largest consensus message (vote, proposal, proposal part, certificate) the codec accepts.
pub const MAX_CONSENSUS_MESSAGE_BYTES: usize = 1024 * 1024;
/// Largest block-sync response the codec accepts.
pub const MAX_SYNC_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Blocks one block-sync response carries at most.
pub const MAX_SYNC_BLOCKS_PER_RESPONSE: u64 = 16;
/// Proposal streams a validator reassembles at once.
pub const MAX_PROPOSAL_STREAMS: usize = 64;
