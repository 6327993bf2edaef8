//! Histories are served whole, page by page, and a cap table at any height costs a snapshot and
//! a bounded replay: with more than 10,000 changes (the old silent cut of every history), every
//! change is listed oldest or newest first, the register log rebuilds the same cap table as the
//! snapshots at every height, and reading a cap table at the tip reads far fewer log entries
//! than the history holds.

mod support;

use std::sync::Arc;

use sigil_core::captable::CapTable;
use sigil_core::limits::{MAX_PAGE_ITEMS, REGISTER_SNAPSHOT_EVENTS};
use sigil_core::paging::{Order, Page, PageRequest};
use sigil_core::state::CompanyEvent;
use sigil_core::types::Keypair;
use support::{Chain, CountingStore, Identity, company, issue_holder_op, issue_op, transfer_op};

const ACME: &str = "acme.sigil";
/// The company's register id (the ledger's queries take it; operations take the name too).
const ACME_ID: &str = "acme";
/// More than the 10,000 entries histories used to stop at.
const TRANSFERS: usize = 10_050;
const PER_BLOCK: usize = 2_000;

/// Every entry of a paged history, following the cursors.
fn walk<T>(order: Order, mut read: impl FnMut(&PageRequest) -> Page<T>) -> Vec<T> {
    let mut all = Vec::new();
    let mut request = PageRequest {
        limit: Some(MAX_PAGE_ITEMS),
        order,
        cursor: None,
    };
    loop {
        let page = read(&request);
        assert!(page.items.len() <= MAX_PAGE_ITEMS);
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor.parse().unwrap()),
            None => return all,
        }
    }
}

#[test]
fn long_histories_are_paged_whole_and_cap_tables_come_from_snapshots() {
    let store = Arc::new(CountingStore::default());
    let mut chain = Chain::with_store(store.clone());
    let admin = Identity::new("acme-admin");
    company(&mut chain, ACME, &admin, &["common"]);
    let (h1, h2) = (Keypair::generate(), Keypair::generate());
    chain.ok(&admin.online, issue_holder_op(ACME, "h-1", &h1));
    chain.ok(&admin.online, issue_holder_op(ACME, "h-2", &h2));
    chain.ok(&admin.online, issue_op(ACME, "common", "h-1", 1_000_000));
    let mut sent = 0;
    while sent < TRANSFERS {
        let n = PER_BLOCK.min(TRANSFERS - sent);
        let txs = (0..n)
            .map(|_| chain.tx(&h1, transfer_op(ACME, "common", "h-1", "h-2", 1)))
            .collect();
        assert!(chain.block(txs).iter().all(Result::is_ok));
        sent += n;
    }
    let ledger = &chain.ledger;
    let tip = ledger.tip().height;

    // The holder's whole history, oldest first and newest first.
    let asc = walk(Order::Asc, |r| {
        ledger.holder_history_page(ACME_ID, "h-2", r).unwrap()
    });
    assert_eq!(asc.len(), 1 + TRANSFERS, "issued, then every transfer");
    assert_eq!(asc.last().unwrap().balance_after, Some(TRANSFERS as u64));
    let mut desc = walk(Order::Desc, |r| {
        ledger.holder_history_page(ACME_ID, "h-2", r).unwrap()
    });
    desc.reverse();
    assert_eq!(desc, asc);

    // The register log, whole, and the cap table from snapshots at every height agrees with a
    // replay of the whole log.
    let log: Vec<CompanyEvent> = walk(Order::Asc, |r| {
        ledger.register_log_page(ACME_ID, r).unwrap()
    });
    assert_eq!(log.len(), 1 + 2 + 1 + TRANSFERS);
    let first = log[0].height;
    for height in (first.saturating_sub(1)..=tip).chain([tip + 5]) {
        let expected = CapTable::replay(&log, height.min(tip));
        assert_eq!(
            ledger.cap_table(ACME_ID, height).unwrap(),
            expected,
            "cap table at height {height}"
        );
    }
    let table = ledger.cap_table(ACME_ID, tip).unwrap().unwrap();
    let balances: Vec<u64> = table.holders.iter().map(|h| h.balances[0]).collect();
    assert_eq!(balances, [1_000_000 - TRANSFERS as u64, TRANSFERS as u64]);

    // Its cost: a snapshot and fewer log entries than a snapshot interval, not the history.
    store.take_reads();
    ledger.cap_table(ACME_ID, tip).unwrap().unwrap();
    let (entries, _) = store.take_reads();
    assert!(
        entries <= REGISTER_SNAPSHOT_EVENTS + 2,
        "a cap table read {entries} store entries for a log of {} changes",
        log.len()
    );
}

#[test]
fn a_cursor_continues_where_the_page_stopped_and_the_last_page_has_none() {
    let mut chain = Chain::new();
    let admin = Identity::new("acme-admin");
    company(&mut chain, ACME, &admin, &["common"]);
    let h1 = Keypair::generate();
    chain.ok(&admin.online, issue_holder_op(ACME, "h-1", &h1));
    for _ in 0..5 {
        chain.ok(&admin.online, issue_op(ACME, "common", "h-1", 10));
    }
    let ledger = &chain.ledger;
    let page = |order, limit, cursor: Option<&str>| {
        ledger
            .holder_history_page(
                ACME_ID,
                "h-1",
                &PageRequest {
                    limit: Some(limit),
                    order,
                    cursor: cursor.map(|c| c.parse().unwrap()),
                },
            )
            .unwrap()
    };
    let first = page(Order::Desc, 2, None);
    let balances = |p: &Page<sigil_core::state::HolderEvent>| -> Vec<Option<u64>> {
        p.items.iter().map(|e| e.balance_after).collect()
    };
    assert_eq!(balances(&first), [Some(50), Some(40)]);
    let second = page(Order::Desc, 2, first.next_cursor.as_deref());
    assert_eq!(balances(&second), [Some(30), Some(20)]);
    let third = page(Order::Desc, 2, second.next_cursor.as_deref());
    assert_eq!(balances(&third), [Some(10), None]);
    assert_eq!(third.next_cursor, None);
    let all = page(Order::Asc, 6, None);
    assert_eq!(all.items.len(), 6);
    assert_eq!(all.next_cursor, None, "no cursor when nothing is left");
}

#[test]
fn a_store_of_another_format_is_refused_before_anything_is_decoded() {
    use sigil_registry::error::Error;
    use sigil_registry::ledger::{Ledger, STORE_FORMAT};
    use sigil_registry::store::{Batch, MemStore, Store};

    let store = Arc::new(MemStore::default());
    let chain = Chain::with_store(store.clone());
    let genesis = chain.ledger.genesis().clone();
    drop(chain);
    // An older version's folder: no format recorded (format 1), format 2, or format 3 (the
    // state tree's earlier layout); and a newer one. Their genesis is not this version's
    // encoding either.
    for (format, found) in [
        (None, 1),
        (Some(2u32), 2),
        (Some(3), 3),
        (Some(STORE_FORMAT + 1), STORE_FORMAT + 1),
    ] {
        let mut batch = Batch::default();
        match format {
            Some(f) => batch.put(b"mFormat".to_vec(), f.to_be_bytes().to_vec()),
            None => batch.delete(b"mFormat".to_vec()),
        }
        batch.put(b"mGenesis".to_vec(), b"an older genesis encoding".to_vec());
        store.apply(batch).unwrap();
        let err = Ledger::open(store.clone(), genesis.clone(), 1000)
            .err()
            .expect("refused");
        assert!(
            matches!(err, Error::IncompatibleStore { found: f, reads } if f == found && reads == STORE_FORMAT),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains(&format!("store format {found}")), "{text}");
        assert!(text.contains("new empty --data folder"), "{text}");
    }
}
