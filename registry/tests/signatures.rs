//! Signatures checked once: a block executes the same whether its transactions' signatures
//! were verified before (at admission, by gossip, in an earlier execution) or not, and a
//! proposal's unseen transactions are verified when it arrives.

mod support;

use sigil_core::block::tx_root;
use sigil_core::error::{Error, TxError};
use sigil_core::tx::{Op, SignedTx};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::Error as NodeError;
use support::{CHAIN, Chain};

/// `count` name commitments, each by a fresh signer at nonce 0.
fn commitments(chain: &mut Chain, count: usize) -> Vec<SignedTx> {
    (0..count)
        .map(|i| {
            let key = Keypair::generate();
            chain.tx(
                &key,
                Op::NameCommit {
                    commitment: Hash::of(&i.to_be_bytes()),
                },
            )
        })
        .collect()
}

/// The same transaction (signer, nonce, operation) with a signature that does not hold.
fn forged(stx: &SignedTx) -> SignedTx {
    let mut forged = stx.clone();
    forged.signature.0[0] ^= 1;
    forged
}

/// Why preparing `txs` as the next block fails, if it does.
fn invalid_tx(chain: &Chain, txs: &[SignedTx]) -> Option<(usize, TxError)> {
    match chain.ledger.prepare(txs) {
        Ok(_) => None,
        Err(NodeError::Core(Error::InvalidTx { index, error })) => Some((index, error)),
        Err(e) => panic!("preparing failed otherwise: {e}"),
    }
}

#[test]
fn a_forged_copy_of_a_verified_transaction_fails_its_block_as_an_unseen_one_does() {
    let mut chain = Chain::new();
    let txs = commitments(&mut chain, 100);
    let mut block = txs.clone();
    block[70] = forged(&txs[70]);
    let bad = TxError::BadSignature {
        signer: txs[70].tx.signer,
    };
    let expected = Some((70, bad.clone()));

    // Nothing seen yet: the forged signature is verified and fails.
    assert!(chain.ledger.signatures().is_empty());
    assert_eq!(invalid_tx(&chain, &block), expected);
    // The 99 good ones were verified on the way and are remembered; the forged one is not.
    assert!(!chain.ledger.signatures().knows(&block[70].id()));
    // The genuine transaction admitted (same signer, nonce and operation): the forged copy
    // fails the same way, at the same place.
    chain
        .ledger
        .signatures()
        .check(&txs[70], CHAIN)
        .expect("the genuine signature holds");
    assert!(chain.ledger.signatures().knows(&txs[70].id()));
    assert_eq!(invalid_tx(&chain, &block), expected);
    assert_eq!(invalid_tx(&chain, &block[70..71]), Some((0, bad.clone())));
    // Admission refuses the forged one too, remembered genuine copy or not.
    assert_eq!(chain.ledger.signatures().check(&block[70], CHAIN), Err(bad));
    // The genuine block applies.
    assert!(chain.block(txs).iter().all(Result::is_ok));
}

#[test]
fn a_proposal_with_unseen_transactions_is_verified_and_executes_as_a_seen_one() {
    let mut chain = Chain::new();
    let txs = commitments(&mut chain, 300);
    // Seen nowhere: every signature is verified on arrival (in parallel), and executing gives
    // what executing the same block with every signature remembered gives.
    assert!(chain.ledger.signatures().is_empty());
    let unseen = chain.ledger.prepare(&txs).unwrap();
    assert!(txs.iter().all(|t| chain.ledger.signatures().knows(&t.id())));
    let seen = chain.ledger.prepare(&txs).unwrap();
    assert_eq!(unseen.state_root, seen.state_root);
    assert_eq!(unseen.tx_root, tx_root(&txs));
    assert_eq!(unseen.execution.outcomes, seen.execution.outcomes);
    assert_eq!(unseen.execution.writes, seen.execution.writes);

    // A peer's proposal mixing seen transactions with unseen ones, one of them forged far
    // into the block: refused, the forged one named.
    let mut more = commitments(&mut chain, 200);
    let signer = more[150].tx.signer;
    more[150] = forged(&more[150]);
    let proposal: Vec<SignedTx> = txs.iter().cloned().chain(more).collect();
    assert_eq!(
        invalid_tx(&chain, &proposal),
        Some((450, TxError::BadSignature { signer }))
    );
    assert!(chain.block(txs).iter().all(Result::is_ok));
}
