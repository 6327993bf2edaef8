//! Pages of a history kept under one store prefix: at most a limit of entries, oldest or newest
//! first, from an opaque cursor, with the cursor of the next page whenever there is more.
//! (The node reads them from its store; these are the types both sides share.)

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_CURSOR_BYTES, MAX_PAGE_ITEMS};

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

impl Cursor {
    /// The cursor at the entry whose key, after the history's prefix, is `bytes`.
    pub fn new(bytes: Vec<u8>) -> Cursor {
        Cursor(bytes)
    }

    /// The key of the cursor's entry, after the history's prefix.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

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
    /// Entries at most (clamped to 1..=[`MAX_PAGE_ITEMS`];
    /// [`DEFAULT_PAGE_ITEMS`](crate::limits::DEFAULT_PAGE_ITEMS) if `None`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_cursors_are_refused() {
        assert!("zz".parse::<Cursor>().is_err());
        assert!("".parse::<Cursor>().is_err());
        assert!("00".repeat(MAX_CURSOR_BYTES + 1).parse::<Cursor>().is_err());
    }
}
