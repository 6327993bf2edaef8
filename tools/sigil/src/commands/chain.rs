//! `sigil chain status`: the chain's id, tip, state root, validators and mempool.

use super::Ctx;
use crate::output::{Exit, table};
use crate::when::{Clock, duration, utc};
use sigil_core::time::now_ms;

pub async fn status(ctx: &Ctx) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let clock = Clock::of(&status);
    ctx.out.emit(&status, |s| {
        let p = &s.params;
        let mut facts = vec![
            vec!["chain".to_string(), s.chain_id.clone()],
            vec!["genesis".into(), s.genesis_hash.to_string()],
            vec!["height".into(), s.tip.height.to_string()],
            vec!["tip hash".into(), s.tip.hash.to_string()],
            vec!["state root".into(), s.tip.state_root.to_string()],
            vec![
                "tip time".into(),
                format!(
                    "{} ({} ago)",
                    utc(s.tip.time_ms),
                    duration(now_ms().saturating_sub(s.tip.time_ms) / 1000)
                ),
            ],
            vec![
                "mempool".into(),
                format!("{} transaction(s)", s.mempool_txs),
            ],
            vec!["TLDs".into(), p.tlds.join(", ")],
            vec![
                "blocks".into(),
                format!(
                    "every {} ms or more; reveal {}..={} blocks after commit; names live {} blocks \
                     (about {}), grace {} blocks (about {})",
                    p.block_interval_ms,
                    p.reveal_min_blocks,
                    p.reveal_max_blocks,
                    p.name_ttl_blocks,
                    clock.span(p.name_ttl_blocks),
                    p.grace_blocks,
                    clock.span(p.grace_blocks)
                ),
            ],
        ];
        if let Some(c) = &s.consensus {
            facts.push(vec![
                "consensus".into(),
                format!("height {}, round {}", c.height, c.round),
            ]);
        }
        if let Some(sync) = &s.sync {
            facts.push(vec![
                "sync".into(),
                format!(
                    "{} block(s) behind the best tip a peer announced, {}",
                    sync.blocks_behind, sync.peer_best_height
                ),
            ]);
        }
        if let Some(r) = &s.mempool_recheck {
            facts.push(vec![
                "mempool recheck".into(),
                format!(
                    "{} transaction(s) re-checked after block {} in {:.1} ms, {} dropped",
                    r.pending,
                    r.height,
                    r.micros as f64 / 1000.0,
                    r.dropped
                ),
            ]);
        }
        if let Some(light) = &s.light {
            facts.push(vec![
                "light resolver".into(),
                format!(
                    "trusts header {} ({} s old, {}; max age {} s)",
                    light.trusted_height,
                    light.trusted_age_secs,
                    if light.fresh { "fresh" } else { "stale" },
                    light.max_age_secs
                ),
            ]);
            for peer in &light.peers {
                let mut standing = peer.standing.clone();
                if let Some(secs) = peer.set_aside_secs {
                    standing.push_str(&format!(" for {secs} s"));
                }
                if let Some(error) = &peer.last_error {
                    standing.push_str(&format!(": {error}"));
                }
                facts.push(vec![format!("peer {}", peer.url), standing]);
            }
        }
        let validators: Vec<Vec<String>> = s
            .validators
            .validators
            .iter()
            .map(|v| vec![v.key.to_string(), format!("power {}", v.power)])
            .collect();
        format!(
            "{}validators (set {})\n{}",
            table(&facts, ""),
            s.validators.hash(),
            table(&validators, "  ")
        )
    });
    Ok(Exit::Ok)
}
