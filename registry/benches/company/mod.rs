//! What the company benchmarks share: a one-validator ledger on sled that applies blocks, and a
//! registered company with an admin identity and many holders.

use std::sync::Arc;
use std::time::Instant;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::tx::{Consent, Op, SignedTx, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::{SledStore, Store};

/// The benchmarks' company name.
pub const COMPANY: &str = "acme.sigil";

/// A one-validator ledger on sled in a temporary folder.
pub struct Bench {
    pub ledger: Ledger,
    validator: Keypair,
    _dir: tempfile::TempDir,
}

impl Bench {
    pub fn start() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let validator = Keypair::generate();
        let genesis = Genesis {
            genesis_time_ms: 0,
            params: ChainParams {
                chain_id: "bench".into(),
                tlds: vec!["sigil".into()],
                reveal_min_blocks: 1,
                reveal_max_blocks: 100,
                name_ttl_blocks: 1_000_000,
                grace_blocks: 10,
                block_interval_ms: 500,
                work: Default::default(),
            },
            validators: ValidatorSet::equal_power([validator.public()]),
        };
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 64 << 20).unwrap());
        Bench {
            ledger: Ledger::open(store, genesis, 100_000).unwrap(),
            validator,
            _dir: dir,
        }
    }

    /// Applies `txs` as the next block (every one must succeed); returns the seconds it took.
    pub fn block(&self, txs: Vec<SignedTx>) -> f64 {
        let started = Instant::now();
        let prepared = self.ledger.prepare(&txs).unwrap();
        if let Some(e) = prepared
            .execution
            .outcomes
            .iter()
            .find_map(|o| o.clone().err())
        {
            panic!("a benchmark transaction failed: {e}");
        }
        let header = self
            .ledger
            .header(&prepared, self.validator.public(), 0)
            .unwrap();
        let commit = Commit::sign(&header, 0, &self.validator);
        self.ledger
            .commit(prepared, Block { header, txs }, commit)
            .unwrap();
        started.elapsed().as_secs_f64()
    }
}

pub fn tx(key: &Keypair, nonce: u64, op: Op) -> SignedTx {
    Transaction {
        chain_id: "bench".into(),
        signer: key.public(),
        nonce,
        stamp: 0,
        op,
    }
    .sign(key)
}

/// The holder id of the `i`th holder.
pub fn holder(i: usize) -> String {
    format!("h-{i}")
}

/// The company's admin identity, signing with its online key.
pub struct Admin {
    key: Keypair,
    nonce: u64,
}

impl Admin {
    /// `op` signed by the admin with its next nonce.
    pub fn sign(&mut self, op: Op) -> SignedTx {
        self.nonce += 1;
        tx(&self.key, self.nonce - 1, op)
    }
}

/// Registers [`COMPANY`] with one class `common` and an admin, then issues `holders` holders,
/// `per_block` to a block; returns the admin and the holders' keys.
pub fn company_with_holders(
    bench: &Bench,
    holders: usize,
    per_block: usize,
) -> (Admin, Vec<Keypair>) {
    let owner = Keypair::generate();
    let (online, offline) = (Keypair::generate(), Keypair::generate());
    let salt = Hash([1; 32]);
    let commitment = name_commitment(COMPANY, &salt, &owner.public());
    bench.block(vec![tx(&owner, 0, Op::NameCommit { commitment })]);
    bench.block(vec![
        tx(
            &owner,
            1,
            Op::NameRegister {
                name: COMPANY.into(),
                salt,
                records: vec![],
            },
        ),
        tx(
            &offline,
            0,
            Op::IdentityRegister {
                id: "admin".into(),
                online_key: online.public(),
                offline_key: offline.public(),
            },
        ),
    ]);
    bench.block(vec![tx(
        &owner,
        2,
        Op::CompanyRegister {
            id: "acme".into(),
            name: COMPANY.into(),
            admin: "admin".into(),
            classes: vec!["common".into()],
            consent: Consent::sign(
                &online,
                "bench",
                "company-register",
                "admin",
                &["acme", COMPANY],
                &owner.public(),
                100,
            ),
        },
    )]);
    let mut admin = Admin {
        key: online,
        nonce: 0,
    };
    let keys: Vec<Keypair> = (0..holders).map(|_| Keypair::generate()).collect();
    let issue: Vec<SignedTx> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            admin.sign(Op::HolderIssue {
                company: COMPANY.into(),
                holder: holder(i),
                key: key.public(),
                attr_hash: None,
            })
        })
        .collect();
    for chunk in issue.chunks(per_block.max(1)) {
        bench.block(chunk.to_vec());
    }
    (admin, keys)
}
