//! Share transfers applied per second on one node, recorded in BENCHMARKS.md:
//!
//! `cargo bench -p sigil-registry --bench shares -- [BLOCKS] [PER_BLOCK]`: blocks of signed
//! `SharesTransfer` transactions, each from a different holder of one company to the next
//! holder, through `Ledger::prepare` + `commit` on sled (signature checks, holder key and
//! balance checks, two balance writes, register log and two holder histories, tree update, one
//! flushed batch per block).

use std::sync::Arc;
use std::time::Instant;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::tx::{Consent, Op, SignedTx, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::{SledStore, Store};

const COMPANY: &str = "acme.sigil";

struct Bench {
    ledger: Ledger,
    validator: Keypair,
}

impl Bench {
    fn block(&self, txs: Vec<SignedTx>) -> f64 {
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

fn tx(key: &Keypair, nonce: u64, op: Op) -> SignedTx {
    Transaction {
        chain_id: "bench".into(),
        signer: key.public(),
        nonce,
        stamp: 0,
        op,
    }
    .sign(key)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let blocks = args.first().copied().unwrap_or(20);
    let per_block = args.get(1).copied().unwrap_or(5_000);

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
    let bench = Bench {
        ledger: Ledger::open(store, genesis, 100_000).unwrap(),
        validator,
    };

    // A company with one holder per transfer of a block, each holding shares.
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
    let holders: Vec<Keypair> = (0..per_block).map(|_| Keypair::generate()).collect();
    let holder = |i: usize| format!("h-{i}");
    let mut admin_nonce = 0;
    let mut admin = |op: Op| {
        admin_nonce += 1;
        tx(&online, admin_nonce - 1, op)
    };
    let issue_holders = holders
        .iter()
        .enumerate()
        .map(|(i, key)| {
            admin(Op::HolderIssue {
                company: COMPANY.into(),
                holder: holder(i),
                key: key.public(),
                attr_hash: None,
            })
        })
        .collect();
    bench.block(issue_holders);
    let issue_shares = (0..per_block)
        .map(|i| {
            admin(Op::SharesIssue {
                company: COMPANY.into(),
                class: "common".into(),
                to: holder(i),
                amount: 1_000_000,
            })
        })
        .collect();
    bench.block(issue_shares);

    let mut busy = 0.0;
    for b in 0..blocks {
        let txs = holders
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let op = Op::SharesTransfer {
                    company: COMPANY.into(),
                    class: "common".into(),
                    from: holder(i),
                    to: holder((i + 1) % per_block),
                    amount: 1 + (b % 7) as u64,
                };
                tx(key, b as u64, op)
            })
            .collect();
        busy += bench.block(txs);
    }
    let total = blocks * per_block;
    println!(
        "shares: {total} transfers in {blocks} blocks of {per_block} ({per_block} holders): {:.0} applied/s (signature checks, execution, tree, histories, flushed batch)",
        total as f64 / busy
    );
}
