//! The explorer: a web page served at `/` (HTML, CSS and script compiled into the binary,
//! nothing fetched from elsewhere, a strict Content-Security-Policy) that reads this node's
//! own API, and `GET /v1/blocks`, the recent blocks with their transactions, which it lists.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::node::Node;
use sigil_core::limits::MAX_RECENT_BLOCKS;
use sigil_core::types::{Hash, Height, PublicKey};

const PAGE: &str = include_str!("explorer/index.html");
const SCRIPT: &str = include_str!("explorer/app.js");
const STYLE: &str = include_str!("explorer/style.css");

/// Only this node's own script, style and API: no inline script, no other origin, no
/// framing. Names and records are rendered as text by the script, never as markup.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page and its two assets.
pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/explorer/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/explorer/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `?limit=N&before=H`: the `N` blocks below height `H` (default: up to the tip).
#[derive(Debug, Deserialize)]
pub struct RecentQuery {
    limit: Option<u64>,
    before: Option<Height>,
}

/// A block as the explorer lists it.
#[derive(Debug, Serialize, Deserialize)]
pub struct BlockSummary {
    pub height: Height,
    pub hash: Hash,
    pub time_ms: u64,
    pub proposer: PublicKey,
    pub txs: Vec<TxSummary>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TxSummary {
    pub id: Hash,
    pub signer: PublicKey,
    /// The operation's kind, as the transaction's JSON names it.
    pub op: String,
}

/// `GET /v1/blocks`: the most recent blocks, newest first, with their transactions.
pub async fn recent_blocks(
    State(node): State<Arc<Node>>,
    Query(q): Query<RecentQuery>,
) -> Result<Json<Vec<BlockSummary>>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if limit == 0 || limit > MAX_RECENT_BLOCKS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("limit={limit}: ask for 1 to {MAX_RECENT_BLOCKS} blocks"),
        ));
    }
    let ledger = node.ledger().clone();
    let top = q
        .before
        .map_or(ledger.tip().height, |h| h.saturating_sub(1))
        .min(ledger.tip().height);
    let blocks = tokio::task::spawn_blocking(move || {
        let mut blocks = Vec::new();
        let mut height = top;
        while blocks.len() < limit as usize && height > 0 {
            if let Some(stored) = ledger.block(height)? {
                let header = &stored.block.header;
                blocks.push(BlockSummary {
                    height,
                    hash: header.hash(),
                    time_ms: header.time_ms,
                    proposer: header.proposer,
                    txs: stored
                        .block
                        .txs
                        .iter()
                        .map(|stx| TxSummary {
                            id: stx.id(),
                            signer: stx.tx.signer,
                            op: op_kind(&stx.tx.op),
                        })
                        .collect(),
                });
            }
            height -= 1;
        }
        Ok::<_, crate::Error>(blocks)
    })
    .await
    .map_err(|e| crate::Error::invalid(format!("reading recent blocks failed: {e}")))??;
    Ok(Json(blocks))
}

/// The operation's kind, as its JSON form tags it (`name_commit`, `shares_issue`, ...).
fn op_kind(op: &sigil_core::tx::Op) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|json| json.get("op")?.as_str().map(str::to_string))
        .unwrap_or_else(|| String::from("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_named_by_its_tag() {
        let op = sigil_core::tx::Op::NameCommit {
            commitment: Hash::ZERO,
        };
        assert_eq!(op_kind(&op), "name_commit");
    }
}
