//! Offering subscriptions applied per second and the time to close an offering with many
//! subscribers on one node, recorded in BENCHMARKS.md:
//!
//! `cargo bench -p sigil-registry --bench offerings -- [SUBSCRIBERS] [PER_BLOCK]`: a company
//! with SUBSCRIBERS holders (default 10,000, the most one offering takes), one offering, a
//! signed `OfferingSubscribe` from every holder and an `OfferingConfirm` for each, PER_BLOCK
//! (default 5,000) to a block, then one `OfferingClose` that issues all of them in its block,
//! through `Ledger::prepare` + `commit` on sled.

use std::sync::Arc;
use std::time::Instant;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::state::{ChainParams, OfferingTerms, ValidatorSet};
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
    let subscribers = args.first().copied().unwrap_or(10_000);
    let per_block = args.get(1).copied().unwrap_or(5_000).max(1);

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
    let holders: Vec<Keypair> = (0..subscribers).map(|_| Keypair::generate()).collect();
    let holder = |i: usize| format!("h-{i}");
    let mut admin_nonce = 0;
    let mut admin = |op: Op| {
        admin_nonce += 1;
        tx(&online, admin_nonce - 1, op)
    };
    let issue_holders: Vec<SignedTx> = holders
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
    for chunk in issue_holders.chunks(per_block) {
        bench.block(chunk.to_vec());
    }
    let terms_sha256 = Hash([5; 32]);
    bench.block(vec![admin(Op::OfferingOpen {
        company: COMPANY.into(),
        offering: "seed".into(),
        terms: Box::new(OfferingTerms {
            class: "common".into(),
            terms_sha256,
            shares_min: 1,
            shares_max: 10 * subscribers as u64,
            investor_max: 10,
            max_investors: subscribers as u32,
            closes_in_blocks: 1_000_000,
            lockup_blocks: 1_000,
            price: Some("1.00 EUR".into()),
            platform: None,
        }),
    })]);

    let subscriptions: Vec<SignedTx> = holders
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let op = Op::OfferingSubscribe {
                company: COMPANY.into(),
                offering: "seed".into(),
                holder: holder(i),
                shares: 10,
                terms_sha256,
            };
            tx(key, 0, op)
        })
        .collect();
    let mut busy = 0.0;
    for chunk in subscriptions.chunks(per_block) {
        busy += bench.block(chunk.to_vec());
    }
    let confirms: Vec<SignedTx> = (0..subscribers)
        .map(|i| {
            admin(Op::OfferingConfirm {
                company: COMPANY.into(),
                offering: "seed".into(),
                holder: holder(i),
            })
        })
        .collect();
    let mut confirm_busy = 0.0;
    for chunk in confirms.chunks(per_block) {
        confirm_busy += bench.block(chunk.to_vec());
    }
    let close = tx(
        &owner,
        3,
        Op::OfferingClose {
            company: COMPANY.into(),
            offering: "seed".into(),
        },
    );
    let close_secs = bench.block(vec![close]);
    println!(
        "offerings: {subscribers} subscriptions in blocks of {per_block}: {:.0} applied/s; {subscribers} confirmations: {:.0} applied/s; close issuing to {subscribers} subscribers (with lock-ups) in one block: {:.2} s (execution, tree, register log and histories, flushed batch)",
        subscribers as f64 / busy,
        subscribers as f64 / confirm_busy,
        close_secs
    );
}
