//! Pages of a history kept under one store prefix: at most a limit of entries, oldest or newest
//! first, from an opaque cursor, with the cursor of the next page whenever there is more.

use borsh::BorshDeserialize;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{DEFAULT_PAGE_ITEMS, MAX_CURSOR_BYTES, MAX_PAGE_ITEMS};
use crate::store::{Store, prefix_end};
use crate::types::decode;

/// Which end of a history a page starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

impl std::str::FromStr for Order {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Order, String> {
        match s {
            "asc" => Ok(Order::Asc),
            "desc" => Ok(Order::Desc),
            other => Err(format!("order `{other}` is not known; use `asc` or `desc`")),
        }
    }
}

/// A position in a history: the key, after the history's prefix, of the last entry of the
/// previous page. Clients pass it back as it was given (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<u8>);

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Cursor, String> {
        let bytes = hex::decode(s).map_err(|e| {
            format!("cursor `{s}` is not hex ({e}); pass back a `next_cursor` as it was given")
        })?;
        if bytes.is_empty() || bytes.len() > MAX_CURSOR_BYTES {
            return Err(format!(
                "a cursor is 1 to {MAX_CURSOR_BYTES} bytes; pass back a `next_cursor` as it was given"
            ));
        }
        Ok(Cursor(bytes))
    }
}

/// Which page of a history to read.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Entries at most (clamped to 1..=[`MAX_PAGE_ITEMS`]; [`DEFAULT_PAGE_ITEMS`] if `None`).
    pub limit: Option<usize>,
    pub order: Order,
    /// Continue after this position; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// The first page, oldest first, of the largest size.
    pub fn all_first() -> PageRequest {
        PageRequest {
            limit: Some(MAX_PAGE_ITEMS),
            ..PageRequest::default()
        }
    }
}

/// One page of a history and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to read on; `None` when this page reaches the end of the history.
    pub next_cursor: Option<String>,
}

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
    let position = |cursor: &Cursor| [prefix, cursor.0.as_slice()].concat();
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
        Some((key, _)) if more => Some(Cursor(key[prefix.len()..].to_vec()).to_string()),
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
    use crate::types::encode;

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

    #[test]
    fn bad_cursors_are_refused() {
        assert!("zz".parse::<Cursor>().is_err());
        assert!("".parse::<Cursor>().is_err());
        assert!("00".repeat(MAX_CURSOR_BYTES + 1).parse::<Cursor>().is_err());
    }
}
