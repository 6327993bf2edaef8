//! Offering subscriptions applied per second and the time to close an offering with many
//! subscribers on one node, recorded in BENCHMARKS.md:
//!
//! `cargo bench -p sigil-registry --bench offerings -- [SUBSCRIBERS] [PER_BLOCK]`: a company
//! with SUBSCRIBERS holders (default and at most `MAX_OFFERING_INVESTORS`, the most one
//! offering takes), one offering, a signed `OfferingSubscribe` from every holder and an
//! `OfferingConfirm` for each, PER_BLOCK (default 5,000) to a block, then one `OfferingClose`
//! that issues all of them in its block, through `Ledger::prepare` + `commit` on sled.

mod company;

use company::{Bench, COMPANY, company_with_holders, holder, tx};
use sigil_core::limits::MAX_OFFERING_INVESTORS;
use sigil_core::state::OfferingTerms;
use sigil_core::tx::{Op, SignedTx};
use sigil_core::types::{Hash, Keypair};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let subscribers = args
        .first()
        .copied()
        .unwrap_or(MAX_OFFERING_INVESTORS as usize);
    let per_block = args.get(1).copied().unwrap_or(5_000).max(1);

    let bench = Bench::start();
    let (mut admin, holders) = company_with_holders(&bench, subscribers, per_block);
    let terms_sha256 = Hash([5; 32]);
    bench.block(vec![admin.sign(Op::OfferingOpen {
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
            admin.sign(Op::OfferingConfirm {
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
    // Anyone may close an offering once it is due.
    let close = tx(
        &Keypair::generate(),
        0,
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
