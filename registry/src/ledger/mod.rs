//! The ledger on disk: genesis, blocks, their headers, receipts, histories and register
//! snapshots beside the state tree, all in one store. Every block is committed in one atomic
//! batch (block, header, tree nodes, stale index, values, receipts, histories, snapshots, new
//! tip), alone or with the other blocks of a sync group, and flushed before it is reported
//! final. On open, the tip block's hash, commit and state root are checked against what the
//! tree holds, and a store written by an older version is brought to the current format.

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

mod apply;
mod group;
mod proofs;
mod queries;
mod undecided;
mod validity;
mod written;

#[cfg(test)]
pub(crate) use undecided::undecided_key;
pub use undecided::{KeptProposal, stored_proposals};

use crate::error::{Error, Result};
use crate::prefixes::ledger as prefix;
use crate::signatures::SignatureCache;
use crate::store::{Batch, Store, prefix_end};
use crate::tree::StateTree;
use sigil_core::block::{Block, Commit, Genesis, Header, Tip, tx_root};
use sigil_core::state::{
    BlockExecution, ChainParams, StateRead, ValidatorSet, ValidatorSetChange, index, keys,
};
use sigil_core::types::{Hash, Height, PublicKey, decode, encode};

/// The store format this version writes and the only one it reads. 2 added a header per
/// height and register snapshots; 3 is the encoding of issue 9 (work stamps in transactions,
/// commitments keyed by committer, certificate entries keyed by name), which no earlier
/// format's blocks or state decode to; 4 is the state tree's compact layout (values at the tip
/// stored once, keyed by key hash, earlier values kept with the version that replaced them,
/// one list of stale entries per version), which format 3's tree entries do not read as.
pub const STORE_FORMAT: u32 = 4;

/// Tree entries pruned at most per block, so a commit batch stays small.
const PRUNE_ENTRIES_PER_BLOCK: usize = 10_000;

/// A block with the commit that made it final (none for genesis).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct StoredBlock {
    pub block: Block,
    pub commit: Option<Commit>,
}

/// A block's header with the commit that made it final (none for genesis), stored apart from
/// the block so that reading a header never reads the block's transactions.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct StoredHeader {
    pub header: Header,
    pub commit: Option<Commit>,
}

/// Where a final transaction landed and whether its operation applied.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    pub height: Height,
    pub index: u32,
    /// `None`: applied. `Some(reason)`: final but failed, with no effect but its nonce.
    pub error: Option<String>,
}

/// A block executed on the current tip, ready to be committed.
pub struct Prepared {
    pub height: Height,
    pub state_root: Hash,
    pub tx_root: Hash,
    pub execution: BlockExecution,
    base: Hash,
    batch: Batch,
    /// The transactions' ids, in block order (for their receipts).
    tx_ids: Vec<Hash>,
}

pub struct Ledger {
    store: Arc<dyn Store>,
    genesis: Genesis,
    tlds: Vec<String>,
    /// The last final block; subscribers see every new one.
    tip: watch::Sender<Tip>,
    prune_window_blocks: u64,
    /// Signatures already verified, shared with admission and gossip.
    signatures: Arc<SignatureCache>,
    /// The keys the last blocks wrote, for the resolver's answer cache.
    recent_writes: written::RecentWrites,
    /// Blocks applied and not yet flushed (block sync applies several per flush).
    group: group::GroupStore,
}

impl Ledger {
    /// Opens the ledger in `store`, writing genesis on first use. Refuses a store that holds
    /// another chain or whose tip does not match its state tree.
    pub fn open(
        store: Arc<dyn Store>,
        genesis: Genesis,
        prune_window_blocks: u64,
    ) -> Result<Ledger> {
        let tip = match store.get(prefix::GENESIS)? {
            None => write_genesis(store.as_ref(), &genesis)?,
            Some(bytes) => {
                // The format first: nothing else in a folder of another format decodes.
                check_format(store.as_ref())?;
                let stored: Genesis = decode(&bytes).map_err(|e| Error::corrupt("genesis", e))?;
                if stored != genesis {
                    return Err(Error::invalid(format!(
                        "the data folder holds chain `{}` (genesis {}), not `{}` (genesis {}); use another --data folder",
                        stored.chain_id(),
                        stored.hash(),
                        genesis.chain_id(),
                        genesis.hash()
                    )));
                }
                check_tip(store.as_ref(), &genesis)?
            }
        };
        let tlds = genesis.params.tlds.clone();
        Ok(Ledger {
            group: group::GroupStore::new(store.clone()),
            store,
            genesis,
            tlds,
            recent_writes: written::RecentWrites::new(tip.height),
            tip: watch::Sender::new(tip),
            prune_window_blocks: prune_window_blocks.max(1),
            signatures: Arc::new(SignatureCache::default()),
        })
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    pub fn params(&self) -> &ChainParams {
        &self.genesis.params
    }

    /// The signatures this node has verified: admission and gossip check through it, so a
    /// block's execution verifies only the ones not seen before.
    pub fn signatures(&self) -> &Arc<SignatureCache> {
        &self.signatures
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn tip(&self) -> Tip {
        self.tip.borrow().clone()
    }

    /// A receiver that sees every new final tip.
    pub fn subscribe(&self) -> watch::Receiver<Tip> {
        self.tip.subscribe()
    }

    /// State after the last final block.
    pub fn latest(&self) -> Latest<'_> {
        Latest(StateTree::new(self.store.as_ref()))
    }

    /// The validators of the next block.
    pub fn validators(&self) -> Result<ValidatorSet> {
        self.latest()
            .get_decoded(keys::VALIDATORS)?
            .ok_or_else(|| Error::corrupt("validator set", "missing from state"))
    }

    /// The validator set that decides block `height` (at least 1): the genesis set, or the set
    /// of the last change made by a block before `height`.
    pub fn validators_deciding(&self, height: Height) -> Result<ValidatorSet> {
        validators_deciding(self.store.as_ref(), &self.genesis, height)
    }

    /// Every change of the validator set, oldest first.
    pub fn validator_changes(&self) -> Result<Vec<ValidatorSetChange>> {
        validator_changes(self.store.as_ref())
    }

    /// The latest change of the validator set, if any (one read, whatever the history).
    pub fn last_validator_change(&self) -> Result<Option<ValidatorSetChange>> {
        let start = index::VALIDATOR_CHANGES;
        self.store
            .last_in(start, &prefix_end(start))?
            .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt("validator change", e)))
            .transpose()
    }
}

fn block_key(height: Height) -> Vec<u8> {
    [prefix::BLOCK, &height.to_be_bytes()].concat()
}

fn header_key(height: Height) -> Vec<u8> {
    [prefix::HEADER, &height.to_be_bytes()].concat()
}

/// Refuses a store written in another format than [`STORE_FORMAT`] (no format recorded:
/// format 1, before headers and snapshots).
fn check_format(store: &dyn Store) -> Result<()> {
    let found = match store.get(prefix::FORMAT)? {
        Some(bytes) => u32::from_be_bytes(
            bytes
                .try_into()
                .map_err(|_| Error::corrupt("store format", "not 4 bytes"))?,
        ),
        None => 1,
    };
    if found != STORE_FORMAT {
        return Err(Error::IncompatibleStore {
            found,
            reads: STORE_FORMAT,
        });
    }
    Ok(())
}

fn read_block(store: &dyn Store, height: Height) -> Result<Option<StoredBlock>> {
    match store.get(&block_key(height))? {
        Some(bytes) => Ok(Some(
            decode(&bytes).map_err(|e| Error::corrupt("block", e))?,
        )),
        None => Ok(None),
    }
}

/// Height 0: parameters and validators in the tree, the genesis block, the tip.
fn write_genesis(store: &dyn Store, genesis: &Genesis) -> Result<Tip> {
    let mut batch = Batch::default();
    let writes = [
        (keys::PARAMS.to_vec(), Some(encode(&genesis.params))),
        (keys::VALIDATORS.to_vec(), Some(encode(&genesis.validators))),
    ]
    .into_iter()
    .collect();
    let state_root = StateTree::new(store).update(0, &writes, &mut batch)?;
    let validators_hash = genesis.validators.hash();
    let header = Header {
        chain_id: genesis.chain_id().to_string(),
        height: 0,
        time_ms: genesis.genesis_time_ms,
        prev_hash: Hash::ZERO,
        tx_root: tx_root(&[]),
        state_root,
        validators_hash,
        next_validators_hash: validators_hash,
        proposer: genesis
            .validators
            .validators
            .first()
            .map(|v| v.key)
            .unwrap_or(PublicKey([0; 32])),
    };
    let tip = Tip::of(&header);
    batch.put(
        header_key(0),
        encode(&StoredHeader {
            header: header.clone(),
            commit: None,
        }),
    );
    batch.put(
        block_key(0),
        encode(&StoredBlock {
            block: Block {
                header,
                txs: Vec::new(),
            },
            commit: None,
        }),
    );
    batch.put(prefix::GENESIS.to_vec(), encode(genesis));
    batch.put(prefix::FORMAT.to_vec(), STORE_FORMAT.to_be_bytes().to_vec());
    batch.put(prefix::TIP.to_vec(), 0u64.to_be_bytes().to_vec());
    store.apply(batch)?;
    store.flush()?;
    Ok(tip)
}

/// The read-back half of the paired check: the tip block must be intact, finalized by its
/// commit, and its state root must be the tree's root at that height.
fn check_tip(store: &dyn Store, genesis: &Genesis) -> Result<Tip> {
    let bytes = store
        .get(prefix::TIP)?
        .ok_or_else(|| Error::corrupt("tip", "missing"))?;
    let height = Height::from_be_bytes(
        bytes
            .try_into()
            .map_err(|_| Error::corrupt("tip", "not 8 bytes"))?,
    );
    let stored = read_block(store, height)?
        .ok_or_else(|| Error::corrupt("block", format!("tip block {height} missing")))?;
    let header = &stored.block.header;
    if header.height != height || header.tx_root != tx_root(&stored.block.txs) {
        return Err(Error::corrupt(
            "block",
            format!("block {height} does not match its own header"),
        ));
    }
    let root = StateTree::new(store).root(height)?;
    if root != header.state_root {
        return Err(Error::corrupt(
            "state",
            format!(
                "tree root {root} at height {height} differs from the block's {}",
                header.state_root
            ),
        ));
    }
    if let Some(commit) = &stored.commit {
        let validators = validators_deciding(store, genesis, height)?;
        commit
            .verify(header, &validators)
            .map_err(|e| Error::corrupt("commit", e))?;
    }
    Ok(Tip::of(header))
}

fn validator_changes(store: &dyn Store) -> Result<Vec<ValidatorSetChange>> {
    let start = index::VALIDATOR_CHANGES;
    store
        .scan(start, &prefix_end(start), usize::MAX)?
        .into_iter()
        .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt("validator change", e)))
        .collect()
}

fn validators_deciding(
    store: &dyn Store,
    genesis: &Genesis,
    height: Height,
) -> Result<ValidatorSet> {
    Ok(validator_changes(store)?
        .into_iter()
        .take_while(|change| change.height < height)
        .last()
        .map_or_else(|| genesis.validators.clone(), |change| change.validators))
}

/// State at the tip, read from the latest-value index.
pub struct Latest<'a>(StateTree<'a>);

impl StateRead for Latest<'_> {
    fn get(&self, key: &[u8]) -> sigil_core::Result<Option<Vec<u8>>> {
        Ok(self.0.get_latest(key)?)
    }
}
