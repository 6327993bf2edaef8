//! `sigil dns anchor`: the trust anchor of the node's DNSSEC-signed DNS answers.

use super::Ctx;
use crate::output::Exit;

pub async fn anchor(ctx: &Ctx) -> anyhow::Result<Exit> {
    let anchor = ctx.client()?.dns_anchor().await?;
    ctx.out.emit(&anchor, |a| {
        let mut lines = String::new();
        for zone in &a.zones {
            lines.push_str(&format!("{}\n{}\n", zone.dnskey, zone.ds));
        }
        lines.trim_end().to_string()
    });
    Ok(Exit::Ok)
}
