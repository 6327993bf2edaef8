//! Reading a history in pages straight from the store: the scan behind the API's paged
//! histories (the page and cursor types are the core's, `sigil_core::paging`).

use borsh::BorshDeserialize;
use sigil_core::limits::{DEFAULT_PAGE_ITEMS, MAX_PAGE_ITEMS};
use sigil_core::paging::{Cursor, Order, Page, PageRequest};
use sigil_core::types::decode;

use crate::error::{Error, Result};
use crate::store::{Store, prefix_end};

/// Reads one page of the entries under `prefix`, decoded as `T` (`what` names them in errors).
pub fn read_page<T: BorshDeserialize>(
    store: &dyn Store,
    prefix: &[u8],
    request: &PageRequest,
    what: &'static str,
) -> Result<Page<T>> {
    let limit = request
        .limit
        .unwrap_or(DEFAULT_PAGE_ITEMS)
        .clamp(1, MAX_PAGE_ITEMS);
    let end = prefix_end(prefix);
    let position = |cursor: &Cursor| [prefix, cursor.as_bytes()].concat();
    let mut entries = match request.order {
        Order::Asc => {
            // The smallest key after the cursor's is the cursor's followed by a zero byte.
            let start = match &request.cursor {
                Some(c) => [position(c), vec![0]].concat(),
                None => prefix.to_vec(),
            };
            store.scan(&start, &end, limit + 1)?
        }
        Order::Desc => {
            let stop = match &request.cursor {
                Some(c) => position(c),
                None => end,
            };
            store.scan_rev(prefix, &stop, limit + 1)?
        }
    };
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next_cursor = match entries.last() {
        Some((key, _)) if more => Some(Cursor::new(key[prefix.len()..].to_vec()).to_string()),
        _ => None,
    };
    let items = entries
        .into_iter()
        .map(|(_, value)| decode(&value).map_err(|e| Error::corrupt(what, e)))
        .collect::<Result<Vec<T>>>()?;
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, MemStore};
    use sigil_core::paging::Order;
    use sigil_core::types::encode;

    fn store_of(n: u32) -> MemStore {
        let store = MemStore::default();
        let mut batch = Batch::default();
        for i in 0..n {
            batch.put([b"h/".as_slice(), &i.to_be_bytes()].concat(), encode(&i));
        }
        // A neighbour that must never show up.
        batch.put(b"i/".to_vec(), encode(&u32::MAX));
        store.apply(batch).unwrap();
        store
    }

    fn walk(store: &MemStore, order: Order, limit: usize) -> Vec<u32> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let request = PageRequest {
                limit: Some(limit),
                order,
                cursor,
            };
            let page: Page<u32> = read_page(store, b"h/", &request, "test").unwrap();
            assert!(page.items.len() <= limit);
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c.parse().unwrap()),
                None => return all,
            }
        }
    }

    #[test]
    fn pages_cover_every_entry_once_in_either_order() {
        let store = store_of(25);
        let asc: Vec<u32> = (0..25).collect();
        let desc: Vec<u32> = (0..25).rev().collect();
        for limit in [1, 7, 25, 100] {
            assert_eq!(walk(&store, Order::Asc, limit), asc);
            assert_eq!(walk(&store, Order::Desc, limit), desc);
        }
        assert!(walk(&store_of(0), Order::Desc, 5).is_empty());
    }
}
