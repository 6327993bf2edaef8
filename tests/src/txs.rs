//! Transactions built, signed and submitted by hand over the HTTP API, as a rogue client that
//! does not use the `sigil` CLI would.

use sigil_core::tx::{Op, Transaction};
use sigil_core::types::Keypair;

use crate::{api_get, api_post};

/// Longest [`submit_final`] waits for finality.
const FINAL_WAIT_MS: u64 = 30_000;

/// Signs `op` with `key` at its next nonce and submits it to the node at `api`; the answer's
/// status line and body.
pub fn submit(api: &str, chain_id: &str, key: &Keypair, op: Op) -> (String, serde_json::Value) {
    let account = api_get(api, &format!("/v1/accounts/{}", key.public()));
    let tx = Transaction {
        chain_id: chain_id.to_string(),
        signer: key.public(),
        nonce: account["next_nonce"].as_u64().expect("next_nonce"),
        op,
        stamp: 0,
    }
    .sign(key);
    api_post(
        api,
        "/v1/txs",
        &serde_json::json!({ "tx": hex::encode(tx.to_bytes()) }),
    )
}

/// Submits `op` and waits until it is final and applied; its height. Panics if it is refused
/// or fails.
pub fn submit_final(api: &str, chain_id: &str, key: &Keypair, op: Op) -> u64 {
    let (status, body) = submit(api, chain_id, key, op);
    assert!(
        status.contains("202"),
        "submission refused: {status} {body}"
    );
    let id = body["id"].as_str().expect("id");
    let done = api_get(api, &format!("/v1/txs/{id}?wait_ms={FINAL_WAIT_MS}"));
    assert_eq!(
        done["status"], "final",
        "the transaction did not apply: {done}"
    );
    done["height"].as_u64().expect("height")
}
