//! `sigil name update|transfer|renew`: the owner's changes to a registered name.

use serde::Serialize;
use sigil_core::api::{ChainStatus, NameInfo};
use sigil_core::limits::MAX_NAME_TERMS_AHEAD;
use sigil_core::records::{Origin, Record};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Height, Keypair, PublicKey};

use super::{Ctx, registrable};
use crate::args::UpdateArgs;
use crate::client::Client;
use crate::output::{Exit, name_forms, zone_lines};
use crate::progress::Progress;
use crate::recordset::Edits;
use crate::sender::{Sender, wait_final};
use crate::when::{Clock, Dated};

#[derive(Serialize)]
struct Updated {
    name: String,
    /// The name's Unicode form, when it has internationalized labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode: Option<String>,
    changed: bool,
    height: Option<Height>,
    tx: Option<Hash>,
    records: Vec<Record>,
}

pub async fn update(ctx: &Ctx, args: UpdateArgs) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(&args.name, &status)?;
    let origin = Origin {
        name: &name,
        tlds: &status.params.tlds,
    };
    let edits = Edits::parse(&args.set, &args.delete, args.clear, origin)?;
    let (key_name, key) = ctx.owner_key(&client, &name).await?;
    let current = owned(&client, &name, &key, &key_name, false)
        .await?
        .entry
        .records;
    let records = edits.apply(&name, &current)?;
    if records == current {
        ctx.out.note(format!(
            "the records of `{name}` already are as asked; nothing sent"
        ));
        let same = Updated {
            unicode: sigil_core::name::unicode(&name),
            name,
            changed: false,
            height: None,
            tx: None,
            records,
        };
        ctx.out.emit(&same, |u| {
            format!(
                "{} unchanged\n{}",
                name_forms(&u.name),
                zone_lines(&u.name, &u.records, "  ")
            )
        });
        return Ok(Exit::Ok);
    }
    let op = Op::NameUpdate {
        name: name.clone(),
        records: records.clone(),
    };
    let (height, tx) = send_and_wait(
        ctx,
        &client,
        &key,
        &status,
        op,
        &format!("the update of `{name}`"),
    )
    .await?;
    let done = Updated {
        unicode: sigil_core::name::unicode(&name),
        name,
        changed: true,
        height: Some(height),
        tx: Some(tx),
        records,
    };
    ctx.out.emit(&done, |u| {
        let mut text = format!("updated {} at height {}\n", name_forms(&u.name), height);
        if u.records.is_empty() {
            text.push_str("it has no records now\n");
        } else {
            text.push_str("records:\n");
            text.push_str(&zone_lines(&u.name, &u.records, "  "));
        }
        text
    });
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Transferred {
    name: String,
    /// The name's Unicode form, when it has internationalized labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode: Option<String>,
    from: PublicKey,
    to: PublicKey,
    height: Height,
    tx: Hash,
}

pub async fn transfer(ctx: &Ctx, name: &str, to: &str) -> anyhow::Result<Exit> {
    let new_owner = recipient(ctx, to)?;
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(name, &status)?;
    let (key_name, key) = ctx.owner_key(&client, &name).await?;
    owned(&client, &name, &key, &key_name, false).await?;
    if new_owner == key.public() {
        anyhow::bail!(
            "`{name}` already belongs to {new_owner} (your key `{key_name}`); give --to another key"
        );
    }
    let op = Op::NameTransfer {
        name: name.clone(),
        new_owner,
    };
    let (height, tx) = send_and_wait(
        ctx,
        &client,
        &key,
        &status,
        op,
        &format!("the transfer of `{name}`"),
    )
    .await?;
    let done = Transferred {
        unicode: sigil_core::name::unicode(&name),
        name,
        from: key.public(),
        to: new_owner,
        height,
        tx,
    };
    ctx.out.emit(&done, |t| {
        format!(
            "transferred {} to {} at height {}",
            name_forms(&t.name),
            t.to,
            t.height
        )
    });
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Renewed {
    name: String,
    /// The name's Unicode form, when it is an internationalized name.
    #[serde(skip_serializing_if = "Option::is_none")]
    unicode: Option<String>,
    height: Height,
    expires_at: Height,
    /// The date of `expires_at`, estimated.
    expires: Dated,
    tx: Hash,
}

pub async fn renew(ctx: &Ctx, name: &str) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let name = registrable(name, &status)?;
    let (key_name, key) = ctx.owner_key(&client, &name).await?;
    let info = owned(&client, &name, &key, &key_name, true).await?;
    let grace_until = info.entry.expires_at + status.params.grace_blocks;
    if info.height >= grace_until {
        anyhow::bail!(
            "`{name}` expired at height {} and its grace period ended at height {grace_until}; \
             register it again with `sigil name register {name}`",
            info.entry.expires_at
        );
    }
    check_renewable(&name, info.entry.expires_at, &status)?;
    let op = Op::NameRenew { name: name.clone() };
    let (height, tx) = send_and_wait(
        ctx,
        &client,
        &key,
        &status,
        op,
        &format!("the renewal of `{name}`"),
    )
    .await?;
    let expires_at = match client.name(&name).await? {
        Some(now) => now.entry.expires_at,
        None => info.entry.expires_at.max(height) + status.params.name_ttl_blocks,
    };
    let clock = Clock::of(&client.status().await?);
    let done = Renewed {
        unicode: sigil_core::name::unicode(&name),
        name,
        height,
        expires_at,
        expires: clock.dated(expires_at),
        tx,
    };
    ctx.out.emit(&done, |r| {
        format!(
            "renewed {} at height {}; it now expires at {}",
            name_forms(&r.name),
            r.height,
            clock.height(r.expires_at)
        )
    });
    Ok(Exit::Ok)
}

/// Refuses a renewal the chain would refuse as too early: one may carry a name's expiry at
/// most [`MAX_NAME_TERMS_AHEAD`] lifetimes past the height it lands at (the next block at the
/// earliest). Says the cap and from when the name can be renewed.
fn check_renewable(name: &str, expires_at: Height, status: &ChainStatus) -> anyhow::Result<()> {
    let ttl = status.params.name_ttl_blocks;
    let next = status.tip.height + 1;
    let renewable_from = expires_at.saturating_sub(ttl.saturating_mul(MAX_NAME_TERMS_AHEAD - 1));
    if next >= renewable_from {
        return Ok(());
    }
    let clock = Clock::of(status);
    anyhow::bail!(
        "`{name}` already runs until {}; a renewal may carry a name at most {MAX_NAME_TERMS_AHEAD} \
         lifetimes ({MAX_NAME_TERMS_AHEAD} x {ttl} blocks, {}) ahead of the current height, so \
         `{name}` can be renewed from {} on, {} from now",
        clock.height(expires_at),
        clock.span(ttl.saturating_mul(MAX_NAME_TERMS_AHEAD)),
        clock.height(renewable_from),
        clock.span(renewable_from - next + 1)
    )
}

/// The entry of `name` if `key` owns it (and it is active, unless `expired_ok`), else an error
/// that says whose it is and what to do.
async fn owned(
    client: &Client,
    name: &str,
    key: &Keypair,
    key_name: &str,
    expired_ok: bool,
) -> anyhow::Result<NameInfo> {
    let Some(info) = client.name(name).await? else {
        anyhow::bail!("`{name}` is not registered; register it with `sigil name register {name}`");
    };
    if info.entry.owner != key.public() {
        anyhow::bail!(
            "`{name}` belongs to {}, not to your key `{key_name}` ({}); sign with the owner's key (--key NAME)",
            info.entry.owner,
            key.public()
        );
    }
    if !info.active && !expired_ok {
        anyhow::bail!(
            "`{name}` expired at height {}; renew it first with `sigil name renew {name}`",
            info.entry.expires_at
        );
    }
    Ok(info)
}

/// Sends one operation and waits until it is final, showing the step on a terminal.
pub(super) async fn send_and_wait(
    ctx: &Ctx,
    client: &Client,
    key: &Keypair,
    status: &ChainStatus,
    op: Op,
    what: &str,
) -> anyhow::Result<(Height, Hash)> {
    let progress = Progress::spinner(&ctx.out);
    progress.step(format!("sending {what}"));
    let mut sender = Sender::new(client, key, status, &progress).await?;
    let stx = sender.send(op).await?;
    progress.step(format!("waiting for {what} to be final"));
    let height = wait_final(client, &stx.id(), what).await?;
    progress.finish();
    Ok((height, stx.id()))
}

/// `--to`: a public key in hex, or the name of a key in the keystore.
fn recipient(ctx: &Ctx, to: &str) -> anyhow::Result<PublicKey> {
    if to.len() == 64 && to.bytes().all(|c| c.is_ascii_hexdigit()) {
        return to.parse().map_err(|e: String| anyhow::anyhow!("--to {e}"));
    }
    if crate::keystore::check_key_name(to).is_ok() && ctx.keystore.list()?.iter().any(|k| k == to) {
        return Ok(ctx.keystore.load(to)?.public());
    }
    let keys = ctx.keystore.list().unwrap_or_default();
    anyhow::bail!(
        "--to `{to}` is neither a public key (64 hex digits) nor a key in {} ({}); \
         ask the new owner for `sigil key show NAME`",
        ctx.keystore.dir().display(),
        if keys.is_empty() {
            "it has none".to_string()
        } else {
            format!("keys: {}", keys.join(", "))
        }
    )
}
