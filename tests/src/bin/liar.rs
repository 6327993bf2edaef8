//! A lying peer: an HTTP proxy on loopback in front of a node's API that forwards every request
//! and rewrites the state proofs of the answers as its mode says (`sigil_tests::liar::Mode`).
//!
//! `liar --upstream http://HOST:PORT --listen 127.0.0.1:0 --mode MODE [--learn PATH]...`
//! prints its bound address on the first line of stdout. A state proof is any JSON object with
//! the fields `key`, `value`, `proof`, `header`, `commit` and `validators`, wherever it appears
//! in an answer (a certificate's answer holds two, a batch an array), so no route is special
//! but `/v1/status` (a rogue signer reports its set, a replayer its first answer) and
//! `/v1/validators/changes` (a rogue signer appends a handoff to its set). `--learn PATH` reads
//! the node's answer to PATH at start, so that an other-key liar has other keys to serve.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sigil_core::api::ChainStatus;
use sigil_core::block::{Commit, Handoff, Header};
use sigil_core::proof::StateProof;
use sigil_core::state::{
    CertEntry, HolderEntry, IdentityEntry, NameEntry, Subscription, ValidatorSet,
};
use sigil_core::time::now_ms;
use sigil_core::types::{Hash, Keypair, decode, encode};
use sigil_tests::liar::Mode;

/// Largest request or answer body the proxy carries (the node's answers are far smaller).
const MAX_BODY: usize = 64 << 20;
/// The address a changed A record points to (TEST-NET-3).
const FORGED_ADDRESS: [u8; 4] = [203, 0, 113, 66];
/// The shares a changed balance or subscription gains.
const FORGED_SHARES: u64 = 1_000;

/// The fields that make a JSON object a state proof.
const PROOF_FIELDS: [&str; 6] = ["key", "value", "proof", "header", "commit", "validators"];

struct Args {
    upstream: String,
    listen: String,
    mode: Mode,
    learn: Vec<String>,
}

fn args() -> Args {
    let mut args = Args {
        upstream: String::new(),
        listen: "127.0.0.1:0".into(),
        mode: Mode::Honest,
        learn: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--upstream" => args.upstream = value.trim_end_matches('/').to_string(),
            "--listen" => args.listen = value,
            "--mode" => {
                args.mode = Mode::parse(&value).unwrap_or_else(|| panic!("unknown mode {value}"))
            }
            "--learn" => args.learn.push(value),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!args.upstream.is_empty(), "--upstream is required");
    args
}

struct Liar {
    mode: Mode,
    upstream: String,
    http: reqwest::Client,
    /// The key that is no validator: it signs a rogue signer's commits, and is the key a
    /// changed value names.
    rogue: Keypair,
    /// The set of that key alone.
    rogue_set: ValidatorSet,
    /// By key, other-key: the last proof seen of each key; replay-old: the first.
    seen: Mutex<BTreeMap<Vec<u8>, StateProof>>,
    /// replay-old: the node's first answer to `/v1/status`.
    kept_status: Mutex<Option<Upstream>>,
}

/// An answer of the node.
#[derive(Clone)]
struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

#[tokio::main]
async fn main() {
    let args = args();
    let rogue = Keypair::generate();
    let liar = Arc::new(Liar {
        mode: args.mode,
        upstream: args.upstream,
        http: reqwest::Client::new(),
        rogue_set: ValidatorSet::equal_power([rogue.public()]),
        rogue,
        seen: Mutex::new(BTreeMap::new()),
        kept_status: Mutex::new(None),
    });
    for path in &args.learn {
        let answer = liar
            .get(path)
            .await
            .unwrap_or_else(|e| panic!("learn {path}: {e}"));
        let mut json: Value = serde_json::from_slice(&answer.body)
            .unwrap_or_else(|e| panic!("learn {path}: not JSON ({e})"));
        let learned = liar.learn(&mut json);
        assert!(learned > 0, "learn {path}: the answer holds no proof");
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", args.listen));
    println!("{}", listener.local_addr().expect("bound address"));
    let app = Router::new().fallback(handle).with_state(liar);
    axum::serve(listener, app).await.expect("serve");
}

async fn handle(State(liar): State<Arc<Liar>>, request: Request) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    if liar.mode == Mode::ReplayOld
        && target == "/v1/status"
        && let Some(kept) = liar.kept_status.lock().expect("lock").clone()
    {
        return respond(kept);
    }
    let answer = match liar.forward(&target, request).await {
        Ok(answer) => answer,
        Err(e) => return failure(format!("liar: the upstream node failed: {e}")),
    };
    let Ok(mut json) = serde_json::from_slice::<Value>(&answer.body) else {
        return respond(answer);
    };
    match liar.lie(&target, &mut json).await {
        Ok(false) => respond(answer),
        Ok(true) => respond(Upstream {
            body: Bytes::from(json.to_string()),
            ..answer
        }),
        Err(e) => failure(format!("liar: {e}")),
    }
}

impl Liar {
    async fn forward(&self, target: &str, request: Request) -> Result<Upstream, String> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|e| e.to_string())?;
        let mut upstream = self
            .http
            .request(parts.method, format!("{}{target}", self.upstream))
            .body(body);
        if let Some(kind) = parts.headers.get(header::CONTENT_TYPE) {
            upstream = upstream.header(header::CONTENT_TYPE, kind);
        }
        let answer = upstream.send().await.map_err(|e| e.to_string())?;
        let status = answer.status();
        let mut headers = answer.headers().clone();
        for hop in [
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::CONNECTION,
        ] {
            headers.remove(hop);
        }
        let body = answer.bytes().await.map_err(|e| e.to_string())?;
        let answer = Upstream {
            status,
            headers,
            body,
        };
        if self.mode == Mode::ReplayOld && target == "/v1/status" && status.is_success() {
            self.kept_status
                .lock()
                .expect("lock")
                .get_or_insert_with(|| answer.clone());
        }
        Ok(answer)
    }

    async fn get(&self, target: &str) -> Result<Upstream, String> {
        let request = Request::get(target)
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        self.forward(target, request).await
    }

    /// Rewrites the answer to `target`; `true` if anything changed.
    async fn lie(&self, target: &str, json: &mut Value) -> Result<bool, String> {
        let path = target.split('?').next().unwrap_or_default();
        match self.mode {
            Mode::Honest => Ok(false),
            Mode::ReplayOld => {
                let mut kept = self.seen.lock().expect("lock");
                proofs(json, &mut |p| {
                    *p = kept
                        .entry(p.key.clone())
                        .or_insert_with(|| p.clone())
                        .clone();
                    Ok(())
                })
            }
            Mode::ChangedValue => proofs(json, &mut |p| {
                if let Some(value) = &p.value {
                    p.value = Some(self.changed(&p.key, value));
                }
                Ok(())
            }),
            Mode::FalseAbsence => proofs(json, &mut |p| {
                p.value = None;
                Ok(())
            }),
            Mode::ForgedLog => {
                if !(path.starts_with("/v1/companies/") && path.ends_with("/register")) {
                    return Ok(false);
                }
                let mut forged = false;
                for item in json["items"].as_array_mut().into_iter().flatten() {
                    if let Some(holder) = item["change"].get_mut("holder") {
                        *holder = Value::from("forged");
                        forged = true;
                    }
                }
                Ok(forged)
            }
            Mode::OtherKey => {
                self.learn(json);
                let seen = self.seen.lock().expect("lock");
                proofs(json, &mut |p| {
                    *p = other_key(&seen, &p.key).cloned().ok_or_else(|| {
                        format!(
                            "no proof of another key like `{}` seen yet; start the liar with --learn",
                            String::from_utf8_lossy(&p.key)
                        )
                    })?;
                    Ok(())
                })
            }
            Mode::RogueSigner | Mode::RogueProofs => {
                if self.mode == Mode::RogueSigner && path == "/v1/status" {
                    json["validators"] =
                        serde_json::to_value(&self.rogue_set).expect("a set serializes");
                    return Ok(true);
                }
                if self.mode == Mode::RogueSigner && path == "/v1/validators/changes" {
                    return self.forge_handoff(target, json).await;
                }
                proofs(json, &mut |p| {
                    p.header.validators_hash = self.rogue_set.hash();
                    p.header.next_validators_hash = self.rogue_set.hash();
                    p.header.proposer = self.rogue.public();
                    p.commit = Commit::sign(&p.header, 0, &self.rogue);
                    p.validators = self.rogue_set.clone();
                    Ok(())
                })
            }
        }
    }

    /// Remembers the proofs in `json`; returns how many there are.
    fn learn(&self, json: &mut Value) -> usize {
        let mut seen = self.seen.lock().expect("lock");
        let mut n = 0;
        let _ = proofs(json, &mut |p| {
            seen.insert(p.key.clone(), p.clone());
            n += 1;
            Ok(())
        });
        n
    }

    /// `value` of `key` altered as an attacker would, still decoding as the key's kind of entry.
    fn changed(&self, key: &[u8], value: &[u8]) -> Vec<u8> {
        let liar = self.rogue.public();
        let kind = kind(key);
        let typed = match kind {
            b"name/" => decode::<NameEntry>(value).ok().map(|mut entry| {
                match entry
                    .records
                    .iter_mut()
                    .find(|r| r.rtype == 1 && r.rdata != FORGED_ADDRESS)
                {
                    Some(a) => a.rdata = FORGED_ADDRESS.to_vec(),
                    None => entry.owner = liar,
                }
                encode(&entry)
            }),
            b"cert/" => decode::<CertEntry>(value).ok().map(|mut entry| {
                if entry.revoked.take().is_none() {
                    entry.owner = liar;
                }
                encode(&entry)
            }),
            b"identity/" => decode::<IdentityEntry>(value).ok().map(|mut entry| {
                entry.online_key = liar;
                encode(&entry)
            }),
            b"holder/" => decode::<HolderEntry>(value).ok().map(|mut entry| {
                entry.key = liar;
                encode(&entry)
            }),
            b"balance/" => decode::<u64>(value)
                .ok()
                .map(|shares| encode(&(shares + FORGED_SHARES))),
            b"subscription/" => decode::<Subscription>(value).ok().map(|mut entry| {
                entry.shares += FORGED_SHARES;
                encode(&entry)
            }),
            _ => None,
        };
        typed.unwrap_or_else(|| {
            let mut flipped = value.to_vec();
            if let Some(last) = flipped.last_mut() {
                *last ^= 1;
            }
            flipped
        })
    }

    /// Appends to the last page of the validator changes a handoff from the node's validators
    /// to the rogue set, signed by the rogue key alone.
    async fn forge_handoff(&self, target: &str, json: &mut Value) -> Result<bool, String> {
        let last_oldest_first = json["next_cursor"].is_null() && !target.contains("order=desc");
        let Some(items) = json["items"].as_array_mut().filter(|_| last_oldest_first) else {
            return Ok(false);
        };
        let status = self.get("/v1/status").await?;
        let status: ChainStatus = serde_json::from_slice(&status.body)
            .map_err(|e| format!("the node's status does not parse: {e}"))?;
        let header = Header {
            chain_id: status.chain_id,
            height: status.tip.height,
            time_ms: now_ms(),
            prev_hash: status.tip.hash,
            tx_root: Hash::ZERO,
            state_root: status.tip.state_root,
            validators_hash: status.validators.hash(),
            next_validators_hash: self.rogue_set.hash(),
            proposer: self.rogue.public(),
        };
        let handoff = Handoff {
            commit: Commit::sign(&header, 0, &self.rogue),
            header,
            validators: self.rogue_set.clone(),
        };
        items.push(serde_json::to_value(&handoff).expect("a handoff serializes"));
        Ok(true)
    }
}

/// The kind of a state key: its prefix up to the first `/` (`name/`), or the whole key.
fn kind(key: &[u8]) -> &[u8] {
    key.iter()
        .position(|&b| b == b'/')
        .map_or(key, |end| &key[..=end])
}

/// A seen proof of another key of `key`'s kind, preferring one of a key that has a value.
fn other_key<'a>(seen: &'a BTreeMap<Vec<u8>, StateProof>, key: &[u8]) -> Option<&'a StateProof> {
    let mut others = seen
        .iter()
        .filter(|(k, _)| k.as_slice() != key && kind(k) == kind(key))
        .map(|(_, p)| p);
    let first = others.clone().next();
    others.find(|p| p.value.is_some()).or(first)
}

/// Calls `f` on every state proof in `json`, in place; `true` if there was any.
fn proofs(
    json: &mut Value,
    f: &mut dyn FnMut(&mut StateProof) -> Result<(), String>,
) -> Result<bool, String> {
    let is_proof = json
        .as_object()
        .is_some_and(|o| PROOF_FIELDS.iter().all(|f| o.contains_key(*f)));
    if is_proof && let Ok(mut proof) = serde_json::from_value::<StateProof>(json.clone()) {
        f(&mut proof)?;
        *json = serde_json::to_value(&proof).expect("a proof serializes");
        return Ok(true);
    }
    let mut any = false;
    match json {
        Value::Object(fields) => {
            for value in fields.values_mut() {
                any |= proofs(value, f)?;
            }
        }
        Value::Array(items) => {
            for value in items {
                any |= proofs(value, f)?;
            }
        }
        _ => {}
    }
    Ok(any)
}

fn respond(answer: Upstream) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}

/// A 502 with the node API's error shape, so that a client says what went wrong.
fn failure(message: String) -> Response {
    let body = serde_json::json!({ "error": { "code": "liar", "message": message } });
    let mut response = (StatusCode::BAD_GATEWAY, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use sigil_core::records::Record;
    use sigil_core::state::keys;

    use super::*;

    const CHAIN: &str = "sigil-test";

    fn liar(mode: Mode) -> Liar {
        let rogue = Keypair::generate();
        Liar {
            mode,
            upstream: "http://127.0.0.1:9".into(),
            http: reqwest::Client::new(),
            rogue_set: ValidatorSet::equal_power([rogue.public()]),
            rogue,
            seen: Mutex::new(BTreeMap::new()),
            kept_status: Mutex::new(None),
        }
    }

    /// A proof of `name`'s entry (with one A record) signed by `validator`; its tree proof is
    /// not checked here.
    fn name_proof(name: &str, validator: &Keypair) -> Value {
        let set = ValidatorSet::equal_power([validator.public()]);
        let entry = NameEntry {
            name: name.into(),
            owner: validator.public(),
            records: vec![Record {
                host: String::new(),
                ttl: 300,
                rtype: 1,
                rdata: vec![192, 0, 2, 7],
            }],
            registered_at: 1,
            updated_at: 1,
            expires_at: 1_000,
        };
        let header = Header {
            chain_id: CHAIN.into(),
            height: 5,
            time_ms: 1,
            prev_hash: Hash::ZERO,
            tx_root: Hash::ZERO,
            state_root: Hash::ZERO,
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
            proposer: validator.public(),
        };
        let proof = StateProof {
            key: keys::name(name),
            value: Some(encode(&entry)),
            proof: Vec::new(),
            commit: Commit::sign(&header, 0, validator),
            header,
            validators: set,
        };
        serde_json::to_value(&proof).unwrap()
    }

    fn parse(json: &Value) -> StateProof {
        serde_json::from_value(json.clone()).unwrap()
    }

    #[tokio::test]
    async fn a_batch_answer_gets_each_proof_swapped_for_another_keys() {
        let validator = Keypair::generate();
        let (a, b) = (
            name_proof("a.sigil", &validator),
            name_proof("b.sigil", &validator),
        );
        let mut batch = serde_json::json!({ "proofs": [a, b] });
        assert!(
            liar(Mode::OtherKey)
                .lie("/v1/proofs", &mut batch)
                .await
                .unwrap()
        );
        let keys: Vec<Vec<u8>> = batch["proofs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| parse(p).key)
            .collect();
        assert_eq!(keys, [keys::name("b.sigil"), keys::name("a.sigil")]);
        // Alone, with nothing else seen, there is nothing to serve instead.
        let mut alone = name_proof("a.sigil", &validator);
        let fresh = liar(Mode::OtherKey);
        let refused = fresh.lie("/v1/names/a.sigil/proof", &mut alone).await;
        assert!(refused.unwrap_err().contains("--learn"));
    }

    #[tokio::test]
    async fn nested_proofs_are_changed_and_still_decode() {
        let validator = Keypair::generate();
        let mut answer = serde_json::json!({
            "cert": name_proof("a.sigil", &validator),
            "name": name_proof("a.sigil", &validator),
        });
        let liar = liar(Mode::ChangedValue);
        assert!(liar.lie("/v1/x", &mut answer).await.unwrap());
        for field in ["cert", "name"] {
            let entry: NameEntry = decode(&parse(&answer[field]).value.unwrap()).unwrap();
            assert_eq!(entry.records[0].rdata, FORGED_ADDRESS);
        }
        // An answer without a proof is left alone.
        let mut status = serde_json::json!({ "tip": { "height": 3 }, "items": [] });
        assert!(!liar.lie("/v1/status", &mut status).await.unwrap());
    }

    #[tokio::test]
    async fn a_replay_serves_the_first_proof_of_each_key_whatever_the_request() {
        let validator = Keypair::generate();
        let liar = liar(Mode::ReplayOld);
        let mut first = serde_json::json!({ "proofs": [name_proof("a.sigil", &validator)] });
        assert!(liar.lie("/v1/proofs?key=61", &mut first).await.unwrap());
        let old = parse(&first["proofs"][0]).header;
        let newer = |name: &str| {
            let mut proof = parse(&name_proof(name, &validator));
            proof.header.height = 9;
            serde_json::to_value(&proof).unwrap()
        };
        let mut later = serde_json::json!({ "proofs": [newer("a.sigil"), newer("b.sigil")] });
        assert!(
            liar.lie("/v1/proofs?key=61&key=62&height=9", &mut later)
                .await
                .unwrap()
        );
        let heights: Vec<u64> = later["proofs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| parse(p).header.height)
            .collect();
        assert_eq!(heights, [old.height, 9]);
    }

    #[tokio::test]
    async fn a_false_absence_drops_the_value() {
        let mut answer = name_proof("a.sigil", &Keypair::generate());
        let liar = liar(Mode::FalseAbsence);
        assert!(
            liar.lie("/v1/names/a.sigil/proof", &mut answer)
                .await
                .unwrap()
        );
        assert_eq!(parse(&answer).value, None);
    }

    #[tokio::test]
    async fn rogue_proofs_are_self_consistent_and_signed_by_no_validator() {
        let validator = Keypair::generate();
        let honest = ValidatorSet::equal_power([validator.public()]);
        let mut answer = name_proof("a.sigil", &validator);
        let liar = liar(Mode::RogueProofs);
        assert!(
            liar.lie("/v1/names/a.sigil/proof", &mut answer)
                .await
                .unwrap()
        );
        let proof = parse(&answer);
        proof
            .commit
            .verify(&proof.header, &proof.validators)
            .unwrap();
        assert_eq!(proof.validators, liar.rogue_set);
        assert!(matches!(
            proof.verify(CHAIN, &honest),
            Err(sigil_core::proof::ProofError::UntrustedSet { .. })
        ));
    }
}
