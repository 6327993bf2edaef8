//! Sync groups: blocks committed without a flush are invisible to every reader of the ledger
//! until the group is flushed, the store then holds exactly what committing them one by one
//! writes, and a ledger reopened before the flush (a crash) is at the last flushed block.

use std::sync::Arc;

use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::read::NameReader;
use sigil_core::records::Record;
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::tx::{Op, SignedTx, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::ledger::Ledger;
use sigil_registry::store::{MemStore, Store};

const CHAIN: &str = "group-chain";

fn validator() -> Keypair {
    Keypair::from_signing_key(ed25519_dalek::SigningKey::from_bytes(&[9; 32]))
}

fn genesis() -> Genesis {
    Genesis {
        genesis_time_ms: 0,
        params: ChainParams {
            chain_id: CHAIN.into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: 1,
            reveal_max_blocks: 10,
            name_ttl_blocks: 100_000,
            grace_blocks: 10,
            block_interval_ms: 10,
            work: Default::default(),
        },
        validators: ValidatorSet::equal_power([validator().public()]),
    }
}

/// A ledger over `store` that prunes tree versions older than 2 blocks, so groups delete too.
fn open(store: &Arc<MemStore>) -> Ledger {
    Ledger::open(store.clone(), genesis(), 2).unwrap()
}

fn signed(key: &Keypair, nonce: u64, op: Op) -> SignedTx {
    Transaction {
        chain_id: CHAIN.into(),
        signer: key.public(),
        nonce,
        stamp: 0,
        op,
    }
    .sign(key)
}

/// Blocks in which users commit to names and register them a block later.
fn blocks(users: &[Keypair], count: usize) -> Vec<Vec<SignedTx>> {
    let salt = Hash([4; 32]);
    let name = |u: usize, b: usize| format!("u{u}-b{b}.sigil");
    (0..count)
        .map(|b| {
            let mut txs = Vec::new();
            for (u, key) in users.iter().enumerate() {
                let nonce = 2 * b as u64;
                let commitment = name_commitment(&name(u, b), &salt, &key.public());
                if b > 0 {
                    txs.push(signed(
                        key,
                        nonce - 1,
                        Op::NameRegister {
                            name: name(u, b - 1),
                            salt,
                            records: vec![Record::parse("@ A 192.0.2.9").unwrap()],
                        },
                    ));
                }
                txs.push(signed(key, nonce, Op::NameCommit { commitment }));
            }
            txs
        })
        .collect()
}

/// Executes `txs` on the ledger's head and commits the block, flushed or to the group.
fn commit(ledger: &Ledger, txs: &[SignedTx], flushed: bool) {
    let prepared = ledger.prepare(txs).unwrap();
    assert!(prepared.execution.outcomes.iter().all(Result::is_ok));
    let header = ledger.header(&prepared, validator().public(), 0).unwrap();
    let commit = Commit::sign(&header, 0, &validator());
    let block = Block {
        header,
        txs: txs.to_vec(),
    };
    if flushed {
        ledger.commit(prepared, block, commit).unwrap();
    } else {
        ledger.commit_unflushed(prepared, block, commit).unwrap();
    }
}

fn everything(store: &MemStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.scan(&[], &[0xff; 40], usize::MAX).unwrap()
}

#[test]
fn a_group_is_invisible_until_flushed_then_stored_as_blocks_one_by_one() {
    let users: Vec<Keypair> = (0..3).map(|_| Keypair::generate()).collect();
    let blocks = blocks(&users, 12);

    let one_by_one = Arc::new(MemStore::default());
    let reference = open(&one_by_one);
    for txs in &blocks {
        commit(&reference, txs, true);
    }

    let grouped = Arc::new(MemStore::default());
    let ledger = open(&grouped);
    for txs in &blocks[..4] {
        commit(&ledger, txs, true);
    }
    let flushed = ledger.tip();
    for txs in &blocks[4..] {
        commit(&ledger, txs, false);
    }
    // Executed on the group (each block's roots checked against the reference's), but nothing
    // a client reads has moved: tip, blocks, receipts, names.
    assert_eq!(ledger.head(), reference.tip());
    assert_eq!(ledger.tip(), flushed);
    assert_eq!(ledger.group_size().0, 8);
    assert!(ledger.block(5).unwrap().is_none());
    let registered_in_group = ledger.name_entry("u0-b5.sigil").unwrap();
    assert!(registered_in_group.is_none());
    let tx = blocks[6][0].id();
    assert!(ledger.receipt(&tx).unwrap().is_none());
    assert!(reference.receipt(&tx).unwrap().is_some());

    // A crash now: the store reopens at the last flushed block, consistent.
    let reopened = open(&grouped);
    assert_eq!(reopened.tip(), flushed);
    drop(reopened);

    let tips = ledger.subscribe();
    assert!(ledger.flush_group().unwrap());
    assert!(tips.has_changed().unwrap());
    assert_eq!(ledger.tip(), reference.tip());
    assert_eq!(ledger.group_size(), (0, 0));
    assert!(!ledger.flush_group().unwrap(), "nothing left to flush");
    assert!(ledger.name_entry("u0-b5.sigil").unwrap().is_some());
    assert_eq!(everything(&grouped), everything(&one_by_one));
    assert_eq!(open(&grouped).tip(), reference.tip());
}
