//! A ledger in memory driven block by block, and signers that keep their own nonces: the
//! harness of the identity and shareholder tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::error::{Error, TxError};
use sigil_core::records::Record;
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::tx::{Consent, Op, SignedTx, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair, PublicKey};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::{Batch, MemStore, Store};

pub const CHAIN: &str = "test-chain";
pub const REVEAL_MIN: u64 = 1;

pub type Outcomes = Vec<Result<(), TxError>>;

pub struct Chain {
    pub ledger: Ledger,
    pub validator: Keypair,
    nonces: HashMap<PublicKey, u64>,
}

impl Chain {
    pub fn new() -> Chain {
        Chain::with_store(Arc::new(MemStore::default()))
    }

    /// A chain over `store`.
    pub fn with_store(store: Arc<dyn Store>) -> Chain {
        let validator = Keypair::generate();
        let genesis = Genesis {
            genesis_time_ms: 0,
            params: ChainParams {
                chain_id: CHAIN.into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: REVEAL_MIN,
                reveal_max_blocks: 10,
                name_ttl_blocks: 100_000,
                grace_blocks: 10,
                block_interval_ms: 10,
                work: Default::default(),
            },
            validators: ValidatorSet::equal_power([validator.public()]),
        };
        let ledger = Ledger::open(store, genesis, 1000).unwrap();
        Chain {
            ledger,
            validator,
            nonces: HashMap::new(),
        }
    }

    /// Signs `op` with `key` and its next nonce.
    pub fn tx(&mut self, key: &Keypair, op: Op) -> SignedTx {
        let nonce = self.nonces.entry(key.public()).or_insert(0);
        let tx = Transaction {
            chain_id: CHAIN.into(),
            signer: key.public(),
            nonce: *nonce,
            stamp: 0,
            op,
        };
        *nonce += 1;
        tx.sign(key)
    }

    /// Executes and commits a block; `Err` if the block itself is invalid.
    pub fn try_block(&self, txs: Vec<SignedTx>) -> Result<Outcomes, Error> {
        let prepared = self.ledger.prepare(&txs)?;
        let outcomes = prepared.execution.outcomes.clone();
        let header = self.ledger.header(&prepared, self.validator.public(), 0)?;
        let commit = Commit::sign(&header, 0, &self.validator);
        self.ledger
            .commit(prepared, Block { header, txs }, commit)?;
        Ok(outcomes)
    }

    pub fn block(&self, txs: Vec<SignedTx>) -> Outcomes {
        self.try_block(txs).unwrap()
    }

    /// One transaction in its own block: its outcome.
    pub fn run(&mut self, key: &Keypair, op: Op) -> Result<(), TxError> {
        let tx = self.tx(key, op);
        self.block(vec![tx]).pop().unwrap()
    }

    /// One transaction that must apply.
    pub fn ok(&mut self, key: &Keypair, op: Op) {
        let kind = op.kind();
        if let Err(e) = self.run(key, op) {
            panic!("{kind} failed: {e}");
        }
    }

    pub fn height(&self) -> u64 {
        self.ledger.tip().height
    }

    /// Registers `name` to `owner` (commit, wait, reveal).
    pub fn register_name(&mut self, owner: &Keypair, name: &str) {
        let salt = Hash([7; 32]);
        let commitment = name_commitment(name, &salt, &owner.public());
        self.ok(owner, Op::NameCommit { commitment });
        let records = vec![Record::parse("@ A 192.0.2.7").unwrap()];
        self.ok(
            owner,
            Op::NameRegister {
                name: name.into(),
                salt,
                records,
            },
        );
    }
}

/// An identity's two keys.
pub struct Identity {
    pub id: String,
    pub online: Keypair,
    pub offline: Keypair,
}

impl Identity {
    pub fn new(id: &str) -> Identity {
        Identity {
            id: id.into(),
            online: Keypair::generate(),
            offline: Keypair::generate(),
        }
    }

    pub fn register_op(&self) -> Op {
        Op::IdentityRegister {
            id: self.id.clone(),
            online_key: self.online.public(),
            offline_key: self.offline.public(),
        }
    }
}

impl Chain {
    /// `identity`'s consent, by its online key `key`, to `purpose` about `subject` in a
    /// transaction of `sender`, valid for the next 100 blocks.
    pub fn consent(
        &self,
        key: &Keypair,
        purpose: &str,
        identity: &str,
        subject: &[&str],
        sender: &Keypair,
    ) -> Consent {
        let until = self.height() + 100;
        Consent::sign(
            key,
            CHAIN,
            purpose,
            identity,
            subject,
            &sender.public(),
            until,
        )
    }
}

/// The operation creating company `id` under `name`, sent by `owner`, with `admin`'s consent.
pub fn company_op(
    chain: &Chain,
    id: &str,
    name: &str,
    owner: &Keypair,
    admin: &Identity,
    classes: &[&str],
) -> Op {
    Op::CompanyRegister {
        id: id.into(),
        name: name.into(),
        admin: admin.id.clone(),
        classes: classes.iter().map(|c| c.to_string()).collect(),
        consent: chain.consent(
            &admin.online,
            "company-register",
            &admin.id,
            &[id, name],
            owner,
        ),
    }
}

/// A company `name` (its id is the first label of the name) owned by a fresh key with admin
/// identity `admin` and `classes`.
pub fn company(chain: &mut Chain, name: &str, admin: &Identity, classes: &[&str]) -> Keypair {
    let owner = Keypair::generate();
    chain.register_name(&owner, name);
    chain.ok(&admin.offline, admin.register_op());
    let id = name.split('.').next().unwrap();
    let op = company_op(chain, id, name, &owner, admin, classes);
    chain.ok(&owner, op);
    owner
}

pub fn issue_holder_op(company: &str, holder: &str, key: &Keypair) -> Op {
    Op::HolderIssue {
        company: company.into(),
        holder: holder.into(),
        key: key.public(),
        attr_hash: None,
    }
}

pub fn issue_op(company: &str, class: &str, to: &str, amount: u64) -> Op {
    Op::SharesIssue {
        company: company.into(),
        class: class.into(),
        to: to.into(),
        amount,
    }
}

pub fn transfer_op(company: &str, class: &str, from: &str, to: &str, amount: u64) -> Op {
    Op::SharesTransfer {
        company: company.into(),
        class: class.into(),
        from: from.into(),
        to: to.into(),
        amount,
    }
}

/// A memory store that counts what it is asked to read: entries and bytes (keys and values)
/// returned by every read.
#[derive(Default)]
pub struct CountingStore {
    inner: MemStore,
    entries: AtomicU64,
    bytes: AtomicU64,
}

impl CountingStore {
    /// Entries and bytes read since the last call.
    pub fn take_reads(&self) -> (u64, u64) {
        (
            self.entries.swap(0, Ordering::SeqCst),
            self.bytes.swap(0, Ordering::SeqCst),
        )
    }

    fn count<'a>(&self, read: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) {
        for (key, value) in read {
            self.entries.fetch_add(1, Ordering::SeqCst);
            self.bytes
                .fetch_add((key.len() + value.len()) as u64, Ordering::SeqCst);
        }
    }
}

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

impl Store for CountingStore {
    fn get(&self, key: &[u8]) -> sigil_registry::Result<Option<Vec<u8>>> {
        let value = self.inner.get(key)?;
        if let Some(v) = &value {
            self.count([(key, v.as_slice())]);
        }
        Ok(value)
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> sigil_registry::Result<Entries> {
        let entries = self.inner.scan(start, end, limit)?;
        self.count(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        Ok(entries)
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> sigil_registry::Result<Entries> {
        let entries = self.inner.scan_rev(start, end, limit)?;
        self.count(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
        Ok(entries)
    }

    fn last_in(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> sigil_registry::Result<Option<(Vec<u8>, Vec<u8>)>> {
        let entry = self.inner.last_in(start, end)?;
        if let Some((k, v)) = &entry {
            self.count([(k.as_slice(), v.as_slice())]);
        }
        Ok(entry)
    }

    fn apply(&self, batch: Batch) -> sigil_registry::Result<()> {
        self.inner.apply(batch)
    }

    fn flush(&self) -> sigil_registry::Result<()> {
        self.inner.flush()
    }

    fn size_on_disk(&self) -> sigil_registry::Result<u64> {
        Ok(0)
    }
}
