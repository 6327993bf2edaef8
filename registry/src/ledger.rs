//! The ledger on disk: genesis, blocks, their headers, receipts, histories and register
//! snapshots beside the state tree, all in one store. Every block is committed as one atomic
//! batch (block, header, tree nodes, stale index, values, receipts, histories, snapshots, new
//! tip) and flushed before it is reported final. On open, the tip block's hash, commit and
//! state root are checked against what the tree holds, and a store written by an older version
//! is brought to the current format.

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::block::{Block, Commit, Genesis, Handoff, Header, tx_root};
use crate::captable::CapTable;
use crate::error::{Error, Result};
use crate::paging::{Page, PageRequest, read_page};
use crate::proof::{CertProof, StateProof};
use crate::read::NameReader;
use crate::state::{
    BlockExecution, CertEntry, CertEvent, ChainParams, CompanyEntry, CompanyEvent, HolderEntry,
    HolderEvent, IdentityEntry, IdentityEvent, NameEntry, NameEvent, StateRead, ValidatorSet,
    ValidatorSetChange, active_certs, cert_history_prefix, execute_block, history_prefix,
    holder_history_prefix, identity_history_prefix, index, keys, register_log_prefix,
};
use crate::store::{Batch, Store, prefix_end};
use crate::tree::StateTree;
use crate::tx::SignedTx;
use crate::types::{Hash, Height, PublicKey, decode, encode};

/// Store key prefixes of the ledger (the tree's own start with `t`).
mod prefix {
    pub const BLOCK: &[u8] = b"cB";
    /// A block's header with its commit, by height: what a header or a proof reads.
    pub const HEADER: &[u8] = b"cD";
    pub const RECEIPT: &[u8] = b"cR";
    pub const TIP: &[u8] = b"mTip";
    pub const GENESIS: &[u8] = b"mGenesis";
    /// The store's format version (absent: version 1, before headers and snapshots).
    pub const FORMAT: &[u8] = b"mFormat";
}

/// The store format this version writes and the only one it reads. 2 added a header per
/// height and register snapshots; 3 is the encoding of issue 9 (work stamps in transactions,
/// commitments keyed by committer, certificate entries keyed by name), which no earlier
/// format's blocks or state decode to.
pub const STORE_FORMAT: u32 = 3;

/// Tree entries pruned at most per block, so a commit batch stays small.
const PRUNE_ENTRIES_PER_BLOCK: usize = 10_000;

impl Prepared {
    /// The validator set the block hands over to, if its execution changed the set.
    pub fn next_validators_hash(&self) -> Result<Option<Hash>> {
        match self.execution.writes.get(keys::VALIDATORS) {
            Some(Some(bytes)) => {
                let set: ValidatorSet =
                    decode(bytes).map_err(|e| Error::corrupt("validator set", e))?;
                Ok(Some(set.hash()))
            }
            _ => Ok(None),
        }
    }
}

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

/// The last final block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    pub height: Height,
    pub hash: Hash,
    pub state_root: Hash,
    pub time_ms: u64,
}

impl Tip {
    fn of(header: &Header) -> Tip {
        Tip {
            height: header.height,
            hash: header.hash(),
            state_root: header.state_root,
            time_ms: header.time_ms,
        }
    }
}

/// A block executed on the current tip, ready to be committed.
pub struct Prepared {
    pub height: Height,
    pub state_root: Hash,
    pub tx_root: Hash,
    pub execution: BlockExecution,
    base: Hash,
    batch: Batch,
}

pub struct Ledger {
    store: Arc<dyn Store>,
    genesis: Genesis,
    tlds: Vec<String>,
    /// The last final block; subscribers see every new one.
    tip: watch::Sender<Tip>,
    prune_window_blocks: u64,
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
                    return Err(Error::Invalid(format!(
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
            store,
            genesis,
            tlds,
            tip: watch::Sender::new(tip),
            prune_window_blocks: prune_window_blocks.max(1),
        })
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    pub fn params(&self) -> &ChainParams {
        &self.genesis.params
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

    /// One page of the validator set's changes, each with the block and commit that made it,
    /// for light clients that trust an older set.
    pub fn handoffs_page(&self, page: &PageRequest) -> Result<Page<Handoff>> {
        let changes: Page<ValidatorSetChange> = read_page(
            self.store(),
            index::VALIDATOR_CHANGES,
            page,
            "validator change",
        )?;
        let items = changes
            .items
            .into_iter()
            .map(|change| {
                let stored = self.header_at(change.height)?.ok_or_else(|| {
                    Error::corrupt("header", format!("header {} missing", change.height))
                })?;
                let commit = stored.commit.ok_or_else(|| {
                    Error::corrupt("header", format!("block {} has no commit", change.height))
                })?;
                Ok(Handoff {
                    header: stored.header,
                    commit,
                    validators: change.validators,
                })
            })
            .collect::<Result<Vec<Handoff>>>()?;
        Ok(Page {
            items,
            next_cursor: changes.next_cursor,
        })
    }

    /// Executes `txs` as the block after the tip and computes its state root.
    pub fn prepare(&self, txs: &[SignedTx]) -> Result<Prepared> {
        let tip = self.tip();
        let height = tip.height + 1;
        let execution = execute_block(&self.latest(), self.params(), height, txs)?;
        let mut batch = Batch::default();
        let state_root =
            StateTree::new(self.store.as_ref()).update(height, &execution.writes, &mut batch)?;
        Ok(Prepared {
            height,
            state_root,
            tx_root: tx_root(txs),
            execution,
            base: tip.hash,
            batch,
        })
    }

    /// The header of a prepared block, proposed by `proposer` at `time_ms`.
    pub fn header(&self, prepared: &Prepared, proposer: PublicKey, time_ms: u64) -> Result<Header> {
        let tip = self.tip();
        let validators_hash = self.validators()?.hash();
        let next_validators_hash = prepared.next_validators_hash()?.unwrap_or(validators_hash);
        Ok(Header {
            chain_id: self.params().chain_id.clone(),
            height: prepared.height,
            time_ms: time_ms.max(tip.time_ms),
            prev_hash: prepared.base,
            tx_root: prepared.tx_root,
            state_root: prepared.state_root,
            validators_hash,
            next_validators_hash,
            proposer,
        })
    }

    /// Commits a prepared block with its commit certificate: one atomic batch, flushed, then the
    /// new tip becomes visible.
    pub fn commit(&self, prepared: Prepared, block: Block, commit: Commit) -> Result<()> {
        let header = &block.header;
        let tip = self.tip();
        let mismatch = |what: &str| {
            Error::Invalid(format!(
                "block {} does not match its execution: {what}",
                header.height
            ))
        };
        if prepared.base != tip.hash
            || header.prev_hash != tip.hash
            || header.height != tip.height + 1
        {
            return Err(mismatch("it does not extend the current tip"));
        }
        if header.state_root != prepared.state_root {
            return Err(mismatch("state root"));
        }
        if header.tx_root != tx_root(&block.txs) || header.tx_root != prepared.tx_root {
            return Err(mismatch("transaction root"));
        }
        commit
            .verify(header, &self.validators()?)
            .map_err(Error::Invalid)?;

        let Prepared {
            height,
            execution,
            mut batch,
            ..
        } = prepared;
        for (index, (stx, outcome)) in block.txs.iter().zip(&execution.outcomes).enumerate() {
            let receipt = Receipt {
                height,
                index: index as u32,
                error: outcome.as_ref().err().map(|e| e.to_string()),
            };
            batch.put([prefix::RECEIPT, &stx.id().0].concat(), encode(&receipt));
        }
        crate::snapshots::index_block(self.store.as_ref(), height, &execution.index, &mut batch)?;
        for (key, value) in execution.index {
            batch.put(key, value);
        }
        if height > self.prune_window_blocks {
            StateTree::new(self.store.as_ref()).prune(
                height - self.prune_window_blocks,
                PRUNE_ENTRIES_PER_BLOCK,
                &mut batch,
            )?;
        }
        let new_tip = Tip::of(header);
        batch.put(
            header_key(height),
            encode(&StoredHeader {
                header: header.clone(),
                commit: Some(commit.clone()),
            }),
        );
        batch.put(
            block_key(height),
            encode(&StoredBlock {
                block,
                commit: Some(commit),
            }),
        );
        batch.put(prefix::TIP.to_vec(), height.to_be_bytes().to_vec());
        self.store.apply(batch)?;
        self.store.flush()?;
        self.tip.send_replace(new_tip);
        Ok(())
    }

    pub fn block(&self, height: Height) -> Result<Option<StoredBlock>> {
        read_block(self.store.as_ref(), height)
    }

    /// The header at `height` with its commit, without reading the block's transactions.
    pub fn header_at(&self, height: Height) -> Result<Option<StoredHeader>> {
        match self.store.get(&header_key(height))? {
            Some(bytes) => Ok(Some(
                decode(&bytes).map_err(|e| Error::corrupt("header", e))?,
            )),
            None => Ok(None),
        }
    }

    pub fn receipt(&self, tx: &Hash) -> Result<Option<Receipt>> {
        match self.store.get(&[prefix::RECEIPT, &tx.0].concat())? {
            Some(bytes) => Ok(Some(
                decode(&bytes).map_err(|e| Error::corrupt("receipt", e))?,
            )),
            None => Ok(None),
        }
    }

    /// Every change to `name`, oldest first, at most `limit`.
    pub fn name_history(&self, name: &str, limit: usize) -> Result<Vec<NameEvent>> {
        let start = history_prefix(name);
        let end = prefix_end(&start);
        self.store
            .scan(&start, &end, limit)?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt("name history", e)))
            .collect()
    }

    /// One page of the changes to `name`.
    pub fn name_history_page(&self, name: &str, page: &PageRequest) -> Result<Page<NameEvent>> {
        read_page(self.store(), &history_prefix(name), page, "name history")
    }

    /// One page of the changes to the certificates of `name`.
    pub fn cert_history_page(&self, name: &str, page: &PageRequest) -> Result<Page<CertEvent>> {
        read_page(
            self.store(),
            &cert_history_prefix(name),
            page,
            "certificate history",
        )
    }

    /// One page of the changes to identity `id`.
    pub fn identity_history_page(
        &self,
        id: &str,
        page: &PageRequest,
    ) -> Result<Page<IdentityEvent>> {
        read_page(
            self.store(),
            &identity_history_prefix(id),
            page,
            "identity history",
        )
    }

    /// One page of the changes concerning `holder` of `company`.
    pub fn holder_history_page(
        &self,
        company: &str,
        holder: &str,
        page: &PageRequest,
    ) -> Result<Page<HolderEvent>> {
        read_page(
            self.store(),
            &holder_history_prefix(company, holder),
            page,
            "holder history",
        )
    }

    /// One page of the changes of `company`'s register.
    pub fn register_log_page(
        &self,
        company: &str,
        page: &PageRequest,
    ) -> Result<Page<CompanyEvent>> {
        read_page(
            self.store(),
            &register_log_prefix(company),
            page,
            "register log",
        )
    }

    /// Every change to the certificates of `name` (registrations, revocations, issuers),
    /// oldest first, at most `limit`.
    pub fn cert_history(&self, name: &str, limit: usize) -> Result<Vec<CertEvent>> {
        self.scan_index(&cert_history_prefix(name), limit, "certificate history")
    }

    /// The certificate of `name` with this SHA-256 at the tip, revoked or not.
    pub fn cert_entry(&self, name: &str, cert_sha256: &Hash) -> Result<Option<CertEntry>> {
        self.latest().get_decoded(&keys::cert(name, cert_sha256))
    }

    /// Index entries under `prefix`, decoded, oldest first, at most `limit`.
    fn scan_index<T: BorshDeserialize>(
        &self,
        prefix: &[u8],
        limit: usize,
        what: &'static str,
    ) -> Result<Vec<T>> {
        self.store
            .scan(prefix, &prefix_end(prefix), limit)?
            .into_iter()
            .map(|(_, v)| decode(&v).map_err(|e| Error::corrupt(what, e)))
            .collect()
    }

    pub fn identity(&self, id: &str) -> Result<Option<IdentityEntry>> {
        self.latest().get_decoded(&keys::identity(id))
    }

    /// Every change to identity `id`, oldest first, at most `limit`.
    pub fn identity_history(&self, id: &str, limit: usize) -> Result<Vec<IdentityEvent>> {
        self.scan_index(&identity_history_prefix(id), limit, "identity history")
    }

    /// The company `input` names: its id, or a name whose current owner lists it.
    pub fn company(&self, input: &str) -> Result<Option<CompanyEntry>> {
        let latest = self.latest();
        match crate::state::company_id(&latest, &self.tlds, input)? {
            Some(id) => latest.get_decoded(&keys::company(&id)),
            None => Ok(None),
        }
    }

    pub fn holder(&self, company: &str, holder: &str) -> Result<Option<HolderEntry>> {
        self.latest().get_decoded(&keys::holder(company, holder))
    }

    /// Every change concerning `holder` of `company`, oldest first, at most `limit`.
    pub fn holder_history(
        &self,
        company: &str,
        holder: &str,
        limit: usize,
    ) -> Result<Vec<HolderEvent>> {
        self.scan_index(
            &holder_history_prefix(company, holder),
            limit,
            "holder history",
        )
    }

    /// The register of `company` at `height` (at most the tip), from its latest snapshot at
    /// or before that height and the log after it; `None` if the company did not exist then.
    pub fn cap_table(&self, company: &str, height: Height) -> Result<Option<CapTable>> {
        let height = height.min(self.tip().height);
        crate::snapshots::cap_table(self.store(), company, height)
    }

    /// The value of a state key at the tip with everything needed to check it without trusting
    /// this node: the tree proof, the tip header, its commit and the validator set.
    pub fn prove(&self, key: &[u8]) -> Result<StateProof> {
        let mut proofs = self.prove_keys(&[key])?;
        Ok(proofs.pop().expect("one proof per key"))
    }

    /// The proof of the certificate of `name` with this SHA-256 (or of its absence) and of the
    /// name's entry, both at the same tip.
    pub fn prove_cert(&self, name: &str, cert_sha256: &Hash) -> Result<CertProof> {
        let mut proofs = self.prove_keys(&[&keys::cert(name, cert_sha256), &keys::name(name)])?;
        let name = proofs.pop();
        let cert = proofs.pop().expect("two proofs for two keys");
        Ok(CertProof { cert, name })
    }

    /// Proofs of several keys, all against the same tip header (so that facts which depend on
    /// each other, such as a certificate and its name, are read at one height).
    pub fn prove_keys(&self, keys: &[&[u8]]) -> Result<Vec<StateProof>> {
        let tip = self.tip();
        let stored = self.header_at(tip.height)?.ok_or_else(|| {
            Error::corrupt("header", format!("tip header {} missing", tip.height))
        })?;
        let commit = stored.commit.ok_or_else(|| {
            Error::Invalid("the chain has no final block yet; wait for height 1".into())
        })?;
        let validators = self.validators_deciding(tip.height)?;
        let tree = StateTree::new(self.store.as_ref());
        keys.iter()
            .map(|key| {
                let (value, proof) = tree.get_with_proof(key, tip.height)?;
                Ok(StateProof {
                    key: key.to_vec(),
                    value,
                    proof: encode(&proof),
                    header: stored.header.clone(),
                    commit: commit.clone(),
                    validators: validators.clone(),
                })
            })
            .collect()
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
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get_latest(key)
    }
}

impl NameReader for Ledger {
    fn tip_height(&self) -> Height {
        self.tip.borrow().height
    }

    fn tlds(&self) -> &[String] {
        &self.tlds
    }

    fn name_entry(&self, name: &str) -> Result<Option<NameEntry>> {
        self.latest().get_decoded(&keys::name(name))
    }

    fn active_certs(&self, name: &str) -> Result<Vec<CertEntry>> {
        let latest = self.latest();
        active_certs(&latest, name)?
            .iter()
            .map(|hash| {
                latest.get_decoded(&keys::cert(name, hash))?.ok_or_else(|| {
                    Error::corrupt("certificate", format!("{hash} listed but missing"))
                })
            })
            .collect()
    }

    fn bound_identity(&self, name: &str) -> Result<Option<IdentityEntry>> {
        // The binding counts under the owner who made it, the registered name's current one.
        let registered = match crate::name::place(name, &self.tlds) {
            crate::name::Placement::Under { name, .. } => name,
            _ => return Ok(None),
        };
        let Some(entry) = self.name_entry(registered)? else {
            return Ok(None);
        };
        match self
            .latest()
            .get_decoded::<String>(&keys::identity_binding(name, &entry.owner))?
        {
            Some(id) => self.identity(&id),
            None => Ok(None),
        }
    }
}
