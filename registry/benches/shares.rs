//! Share transfers applied per second on one node, recorded in BENCHMARKS.md:
//!
//! `cargo bench -p sigil-registry --bench shares -- [BLOCKS] [PER_BLOCK]`: blocks of signed
//! `SharesTransfer` transactions, each from a different holder of one company to the next
//! holder, through `Ledger::prepare` + `commit` on sled (signature checks, holder key and
//! balance checks, two balance writes, register log and two holder histories, tree update, one
//! flushed batch per block).

mod company;

use company::{Bench, COMPANY, company_with_holders, holder, tx};
use sigil_core::tx::Op;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let blocks = args.first().copied().unwrap_or(20);
    let per_block = args.get(1).copied().unwrap_or(5_000);

    let bench = Bench::start();
    let (mut admin, holders) = company_with_holders(&bench, per_block, per_block);
    let issue_shares = (0..per_block)
        .map(|i| {
            admin.sign(Op::SharesIssue {
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
