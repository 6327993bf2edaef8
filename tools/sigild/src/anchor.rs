//! The node's DNSSEC trust anchor on the HTTP API (`GET /v1/dns/anchor`): the DNSKEY and DS
//! records of its zone key at each top-level domain, what `sigil dns anchor` prints.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::routing::get;
use sigil_core::api::{DnsAnchor, ZoneAnchor};
use sigil_resolver::{ZONE_KEY_FILE, ZoneKey};

/// The zone key in the data folder `data`, made there on first start.
pub fn zone_key(data: &Path) -> anyhow::Result<Arc<ZoneKey>> {
    let key = ZoneKey::load_or_create(&data.join(ZONE_KEY_FILE))?;
    Ok(Arc::new(key))
}

/// The anchor of `key` at each of `tlds`.
pub fn anchor(key: &ZoneKey, tlds: &[String]) -> anyhow::Result<DnsAnchor> {
    let mut zones = Vec::with_capacity(tlds.len());
    for tld in tlds {
        let (zone, dnskey, ds) = key
            .anchor(tld)
            .with_context(|| format!("no trust anchor for `{tld}`"))?;
        zones.push(ZoneAnchor {
            zone,
            key_tag: key.key_tag(),
            dnskey,
            ds,
        });
    }
    Ok(DnsAnchor { zones })
}

/// The route serving `anchor`.
pub fn router<S: Clone + Send + Sync + 'static>(anchor: DnsAnchor) -> axum::Router<S> {
    let anchor = Arc::new(anchor);
    axum::Router::new().route(
        "/v1/dns/anchor",
        get(move || {
            let anchor = anchor.clone();
            async move { Json(anchor.as_ref().clone()) }
        }),
    )
}
