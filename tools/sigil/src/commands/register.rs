//! `sigil name register`: commit, wait the chain's reveal delay, reveal, wait for finality;
//! the salt is saved first so a run after a crash resumes the reveal.

use serde::Serialize;
use sigil_core::api::ChainStatus;
use sigil_core::api::TxStatus;
use sigil_core::records::{Origin, Record};
use sigil_core::tx::{Op, name_commitment};
use sigil_core::types::{Hash, Height};

use super::{Ctx, registrable};
use crate::args::RegisterArgs;
use crate::client::{Client, node_code};
use crate::output::{Exit, name_forms, zone_lines};
use crate::pending::{self, Pending};
use crate::progress::Progress;
use crate::recordset;
use crate::sender::{Sender, wait_final, wait_height};
use crate::when::Clock;

/// Reveals retried when the node still finds them early (the tip moved less than expected).
const EARLY_REVEAL_RETRIES: u32 = 10;

#[derive(Serialize)]
struct Registered {
    name: String,
    /// The name's Unicode form, when it has internationalized labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode: Option<String>,
    owner: String,
    key: String,
    commit_height: Option<Height>,
    height: Height,
    expires_at: Height,
    tx: Option<Hash>,
    records: Vec<Record>,
}

pub async fn run(ctx: &Ctx, args: RegisterArgs) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(&args.name, &status)?;
    // Refused before anything is committed, as the chain would refuse the reveal.
    sigil_core::name::check_not_reserved(&name)?;
    let origin = Origin {
        name: &name,
        tlds: &status.params.tlds,
    };
    let records = recordset::from_flags(&args.records, origin)?;
    // A registration under way goes on with the key that committed it; a new one takes
    // `--key` or the keystore's only key.
    let under_way = pending::load(&ctx.keystore, &name)?
        .filter(|p| p.chain_id == status.chain_id && ctx.key.is_none());
    let (key_name, key) = match under_way {
        Some(p) => ctx
            .signer(&[(p.owner, format!("the key that committed `{name}`"))])
            .or_else(|_| ctx.signing_key())?,
        None => ctx.signing_key()?,
    };
    let progress = Progress::spinner(&ctx.out);
    progress.step(format!("checking {name}"));

    let saved = pending::load(&ctx.keystore, &name)?
        .filter(|p| p.chain_id == status.chain_id && p.owner == key.public());
    if let Some(info) = client.name(&name).await? {
        let entry = &info.entry;
        let ours = entry.owner == key.public();
        if info.active && ours && saved.is_some() {
            // An earlier run revealed but stopped before it could clean up.
            pending::remove(&ctx.keystore, &name)?;
            progress.finish();
            let done = Registered {
                unicode: sigil_core::name::unicode(&name),
                name,
                owner: entry.owner.to_string(),
                key: key_name,
                commit_height: None,
                height: entry.registered_at,
                expires_at: entry.expires_at,
                tx: None,
                records: entry.records.clone(),
            };
            emit(ctx, &status, &done);
            return Ok(Exit::Ok);
        }
        if info.active && ours {
            anyhow::bail!(
                "`{name}` is already registered to your key `{key_name}` (expires at height {}); change its \
                 records with `sigil name update {name} --set ...` or extend it with `sigil name renew {name}`",
                entry.expires_at
            );
        }
        if info.active {
            pending::remove(&ctx.keystore, &name)?;
            anyhow::bail!(
                "`{name}` is already registered (owner {}, expires at height {}); choose another name",
                entry.owner,
                entry.expires_at
            );
        }
        let grace_until = entry.expires_at + status.params.grace_blocks;
        if info.height < grace_until {
            if ours {
                anyhow::bail!(
                    "`{name}` expired at height {} and is in your grace period until height {grace_until}; \
                     keep it with `sigil name renew {name}`",
                    entry.expires_at
                );
            }
            anyhow::bail!(
                "`{name}` expired at height {} but only its owner may renew it until height {grace_until}; \
                 try again after that height",
                entry.expires_at
            );
        }
    }

    let mut sender = Sender::new(&client, &key, &status, &progress).await?;
    let resumed = match saved {
        Some(saved) => resume(ctx, &client, &mut sender, &status, saved, &progress).await?,
        None => None,
    };
    let (salt, commit_height) = match resumed {
        Some(resumed) => resumed,
        None => {
            let salt = random_salt()?;
            progress.step(format!("committing {name}"));
            let height = commit(ctx, &client, &mut sender, &status, &name, salt).await?;
            (salt, height)
        }
    };

    let earliest = commit_height + status.params.reveal_min_blocks;
    wait_height(&client, earliest.saturating_sub(1), |left| {
        progress.step(format!(
            "waiting {left} block{} before reveal",
            if left == 1 { "" } else { "s" }
        ))
    })
    .await?;
    progress.step(format!("revealing {name}"));
    let op = Op::NameRegister {
        name: name.clone(),
        salt,
        records: records.clone(),
    };
    let mut early = 0;
    let reveal = loop {
        match sender.send(op.clone()).await {
            Ok(stx) => break stx,
            Err(e) if node_code(&e) == Some("reveal_too_early") && early < EARLY_REVEAL_RETRIES => {
                early += 1;
                let tip = client.status().await?.tip.height;
                wait_height(&client, tip + 1, |_| {}).await?;
            }
            // Past its window the commitment is pruned: the node finds none.
            Err(e) if matches!(node_code(&e), Some("reveal_too_late" | "no_commit")) => {
                pending::remove(&ctx.keystore, &name)?;
                return Err(e.context(format!(
                    "run `sigil name register {name}` again to commit anew"
                )));
            }
            Err(e) => return Err(e),
        }
    };
    let height = wait_final(
        &client,
        &reveal.id(),
        &format!("the registration of `{name}`"),
    )
    .await?;
    progress.step(format!("final at height {height}"));
    pending::remove(&ctx.keystore, &name)?;
    progress.finish();
    let done = Registered {
        unicode: sigil_core::name::unicode(&name),
        name,
        owner: key.public().to_string(),
        key: key_name,
        commit_height: Some(commit_height),
        height,
        expires_at: height + status.params.name_ttl_blocks,
        tx: Some(reveal.id()),
        records,
    };
    emit(ctx, &status, &done);
    Ok(Exit::Ok)
}

/// Sends the commit of `name` with `salt`, saving both first; returns the commit's height.
async fn commit(
    ctx: &Ctx,
    client: &Client,
    sender: &mut Sender<'_>,
    status: &ChainStatus,
    name: &str,
    salt: Hash,
) -> anyhow::Result<Height> {
    let owner = sender.public();
    let commitment = name_commitment(name, &salt, &owner);
    let stx = sender
        .send_with(Op::NameCommit { commitment }, |stx| {
            pending::save(
                &ctx.keystore,
                &Pending {
                    chain_id: status.chain_id.clone(),
                    name: name.to_string(),
                    owner,
                    salt,
                    commit_tx: stx.id(),
                },
            )
        })
        .await?;
    wait_final(client, &stx.id(), &format!("the commit of `{name}`")).await
}

/// Picks up a saved registration: the salt and commit height if its commit is (or becomes)
/// final and can still be revealed, `None` to start over.
async fn resume(
    ctx: &Ctx,
    client: &Client,
    sender: &mut Sender<'_>,
    status: &ChainStatus,
    saved: Pending,
    progress: &Progress,
) -> anyhow::Result<Option<(Hash, Height)>> {
    let name = &saved.name;
    let height = match client.tx_status(&saved.commit_tx, 0).await?.status {
        TxStatus::Final { height } => height,
        TxStatus::Pending => {
            progress.step(format!("waiting for the earlier commit of {name}"));
            wait_final(client, &saved.commit_tx, &format!("the commit of `{name}`")).await?
        }
        TxStatus::Failed { error, .. } => {
            progress.println(format!(
                "sigil: the earlier commit of `{name}` failed ({error}); committing again"
            ));
            return Ok(None);
        }
        TxStatus::Unknown | TxStatus::Evicted { .. } => {
            progress.println(format!(
                "sigil: the earlier commit of `{name}` never reached a block; sending it again"
            ));
            progress.step(format!("committing {name}"));
            let height = commit(ctx, client, sender, status, name, saved.salt).await?;
            return Ok(Some((saved.salt, height)));
        }
    };
    // The reveal lands in the next block at the earliest.
    if status.tip.height + 1 > height + status.params.reveal_max_blocks {
        progress.println(format!(
            "sigil: the earlier commit of `{name}` at height {height} has expired; committing again"
        ));
        return Ok(None);
    }
    progress.println(format!(
        "sigil: resuming the registration of `{name}` committed at height {height}"
    ));
    Ok(Some((saved.salt, height)))
}

pub(super) fn random_salt() -> anyhow::Result<Hash> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt)
        .map_err(|e| anyhow::anyhow!("the operating system's random source failed: {e}"))?;
    Ok(Hash(salt))
}

fn emit(ctx: &Ctx, status: &ChainStatus, done: &Registered) {
    let clock = Clock::of(status);
    ctx.out.emit(done, |d| {
        let mut text = format!(
            "registered {} at {} to key `{}` ({})\nexpires at {} unless renewed\n",
            name_forms(&d.name),
            clock.height(d.height),
            d.key,
            d.owner,
            clock.height(d.expires_at)
        );
        if d.records.is_empty() {
            text.push_str(&format!(
                "no records yet; add some with `sigil name update {} --set \"HOST TYPE DATA\"`\n",
                d.name
            ));
        } else {
            text.push_str("records:\n");
            text.push_str(&zone_lines(&d.name, &d.records, "  "));
        }
        text
    });
}
