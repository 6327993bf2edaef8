//! `POST /v1/txs/batch` on a real dev node: transactions are admitted in order until one is
//! refused, the answer lists the admitted ids and says why the next one was refused (as its
//! own submission would), nothing after it is admitted, and a batch over the count bound is
//! refused whole.

use sigil_core::limits::MAX_SUBMIT_BATCH_TXS;
use sigil_core::tx::{Op, Transaction};
use sigil_core::types::{Hash, Keypair};
use sigil_tests::{Node, api_get, api_post};

fn commit(chain_id: &str, key: &Keypair, nonce: u64) -> String {
    let tx = Transaction {
        chain_id: chain_id.to_string(),
        signer: key.public(),
        nonce,
        stamp: 0,
        op: Op::NameCommit {
            commitment: Hash::of(&nonce.to_le_bytes()),
        },
    };
    hex::encode(tx.sign(key).to_bytes())
}

#[test]
fn a_batch_is_admitted_in_order_until_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("data"), &[]);
    let key = Keypair::generate();
    let chain = node.chain_id.as_str();

    // Nonces 0, 1, then 3 (out of sequence), then 2: two admitted, the third refused, the
    // fourth not tried.
    let txs = [0, 1, 3, 2].map(|n| commit(chain, &key, n));
    let (status, answer) = api_post(
        &node.api,
        "/v1/txs/batch",
        &serde_json::json!({ "txs": txs }),
    );
    assert!(status.contains("202"), "{status}: {answer}");
    let accepted = answer["accepted"].as_array().expect("accepted");
    assert_eq!(accepted.len(), 2, "{answer}");
    assert_eq!(answer["refused"]["code"], "bad_nonce", "{answer}");
    for id in accepted {
        let known = api_get(&node.api, &format!("/v1/txs/{}", id.as_str().unwrap()));
        assert_ne!(known["status"], "unknown", "{known}");
    }
    let account = api_get(&node.api, &format!("/v1/accounts/{}", key.public()));
    assert_eq!(account["next_nonce"], 2, "{account}");

    // The rest goes in a second batch; with no refusal the answer has none.
    let (status, answer) = api_post(
        &node.api,
        "/v1/txs/batch",
        &serde_json::json!({ "txs": [commit(chain, &key, 2), commit(chain, &key, 3)] }),
    );
    assert!(status.contains("202"), "{status}: {answer}");
    assert_eq!(answer["accepted"].as_array().map(Vec::len), Some(2));
    assert!(answer.get("refused").is_none(), "{answer}");

    // Over the count bound: refused whole, before anything is decoded.
    let many = vec![""; MAX_SUBMIT_BATCH_TXS + 1];
    let (status, answer) = api_post(
        &node.api,
        "/v1/txs/batch",
        &serde_json::json!({ "txs": many }),
    );
    assert!(status.contains("400"), "{status}: {answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("at most {MAX_SUBMIT_BATCH_TXS}")),
        "{answer}"
    );
}
