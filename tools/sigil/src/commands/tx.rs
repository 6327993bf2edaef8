//! `sigil tx status`: where a transaction stands on the node.

use sigil_core::api::TxStatus;
use sigil_core::types::Hash;

use super::Ctx;
use crate::output::Exit;

pub async fn status(ctx: &Ctx, id: &str) -> anyhow::Result<Exit> {
    let id: Hash = id
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("`{id}` is not a transaction id (64 hex digits): {e}"))?;
    let client = ctx.client()?;
    let answer = client.tx_status(&id, 0).await?;
    let exit = match answer.status {
        TxStatus::Pending | TxStatus::Final { .. } => Exit::Ok,
        _ => Exit::Negative,
    };
    ctx.out.emit(&answer, |a| match &a.status {
        TxStatus::Pending => format!("{}: pending", a.id),
        TxStatus::Final { height } => format!("{}: final in block {height}", a.id),
        TxStatus::Failed { height, error } => {
            format!("{}: failed in block {height}: {error}", a.id)
        }
        TxStatus::Evicted { reason } => format!("{}: evicted: {reason}", a.id),
        TxStatus::Unknown => format!("{}: unknown to this node", a.id),
    });
    Ok(exit)
}
