//! The node's HTTP API over the world's ledger: JSON bodies of the submit routes, and the
//! query strings and paths of the reading routes. A bad request is a 4xx, never a 5xx or a
//! panic.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::world::world;

/// The routes, by the first byte of the input.
pub const API_KINDS: u8 = 4;

pub fn api(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let (method, uri, body) = match kind % API_KINDS {
        0 => (Method::POST, "/v1/txs".to_string(), rest.to_vec()),
        1 => (Method::POST, "/v1/txs/batch".to_string(), rest.to_vec()),
        2 => {
            let Ok(query) = std::str::from_utf8(rest) else {
                return;
            };
            (Method::GET, format!("/v1/proofs?{query}"), Vec::new())
        }
        _ => {
            let Ok(path) = std::str::from_utf8(rest) else {
                return;
            };
            (Method::GET, format!("/v1/{path}"), Vec::new())
        }
    };
    let Ok(request) = Request::builder()
        .method(method)
        .uri(&uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
    else {
        return; // not a URI a client could send
    };
    let world = world();
    let response = world
        .runtime
        .block_on(world.router.clone().oneshot(request))
        .expect("the router always answers");
    let status = response.status();
    assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "{uri} answered {status}"
    );
}
