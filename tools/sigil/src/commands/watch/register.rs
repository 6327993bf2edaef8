//! Which holders a watched company issued, re-keyed or revoked between two heights: the node's
//! register log names them (a hint, not a proof); each one's entry is then proven, and a hint
//! the proven entry does not bear out stops the watch.

use std::collections::{BTreeMap, BTreeSet};

use sigil_core::limits::MAX_PAGE_ITEMS;
use sigil_core::state::{Change, log_cursor_at};
use sigil_core::types::Height;

use super::prove::lie;
use crate::client::Client;

/// Pages of a register log one block (one step of the watch) may take: past this many changes
/// the watch stops rather than miss a holder, and a node cannot make one step cost more.
pub const MAX_LOG_PAGES_PER_STEP: usize = 20;

/// The holders the register log of `company` says changed after `since` up to `height`, each
/// with the heights of its changes.
pub async fn hinted(
    client: &Client,
    company: &str,
    since: Height,
    height: Height,
) -> anyhow::Result<BTreeMap<String, BTreeSet<Height>>> {
    let mut hints: BTreeMap<String, BTreeSet<Height>> = BTreeMap::new();
    let mut cursor = log_cursor_at(since + 1);
    let mut last = since + 1;
    for _ in 0..MAX_LOG_PAGES_PER_STEP {
        let page = client.register_log_page(company, &cursor).await?;
        if page.items.len() > MAX_PAGE_ITEMS {
            return Err(lie(format!(
                "the node answered {} changes of the register log of `{company}` for a page of at most {MAX_PAGE_ITEMS}",
                page.items.len()
            )));
        }
        for event in page.items {
            if event.company != company || event.height < last {
                return Err(lie(format!(
                    "the node's register log of `{company}` is not that company's, oldest first from height {}: it gives a change of `{}` at height {} after one at height {last}",
                    since + 1,
                    event.company,
                    event.height
                )));
            }
            if event.height > height {
                return Ok(hints);
            }
            last = event.height;
            if let Change::HolderIssued { holder, .. }
            | Change::HolderRevoked { holder, .. }
            | Change::HolderRotated { holder, .. } = event.change
            {
                hints.entry(holder).or_default().insert(event.height);
            }
        }
        match page.next_cursor {
            Some(next) => {
                cursor = next.parse().map_err(|e: String| {
                    lie(format!(
                        "the node's register log of `{company}` gives a bad cursor: {e}"
                    ))
                })?
            }
            None => return Ok(hints),
        }
    }
    anyhow::bail!(
        "the register log of company `{company}` holds more than {} changes between heights {} and {height}, more than one step of the watch reads; watch its holders by --holder ID instead",
        MAX_LOG_PAGES_PER_STEP * MAX_PAGE_ITEMS,
        since + 1
    )
}
