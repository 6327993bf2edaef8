//! `sigil identity register|suspend|rotate|recover|revoke|bind|show`: Certcoin identities, each
//! signed by the key the ledger asks for, found in the keystore by its public key; an identity's
//! consent to be named by another key is signed by its online key, also from the keystore; and
//! `sigil proof identity`, an identity's keys checked against the pinned validators.

use serde::Serialize;
use sigil_core::api::{ChainStatus, IdentityInfo};
use sigil_core::state::{IdentityEntry, check_id, keys};
use sigil_core::tx::{Consent, Op};
use sigil_core::types::{Hash, Height, Keypair, PublicKey};

use super::name::send_and_wait;
use super::{Ctx, normalize};
use crate::args::IdentityCommand;
use crate::output::{Exit, table};
use crate::when::Clock;

#[derive(Serialize)]
struct Done {
    id: String,
    action: &'static str,
    height: Height,
    tx: Hash,
    signer: PublicKey,
}

pub async fn run(ctx: &Ctx, cmd: IdentityCommand) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let (id, action, key, op) = match cmd {
        IdentityCommand::Show { id } => return show(ctx, &id).await,
        IdentityCommand::Register {
            id,
            online,
            offline,
        } => {
            let online_key = public_key(ctx, "--online", &online)?;
            let offline_key = public_key(ctx, "--offline", &offline)?;
            // Either key may register it; the offline one is preferred.
            let key = ctx
                .signer(&[
                    (offline_key, format!("the offline key of `{id}`")),
                    (online_key, format!("the online key of `{id}`")),
                ])?
                .1;
            let op = Op::IdentityRegister {
                id: id.clone(),
                online_key,
                offline_key,
            };
            (id, "registered", key, op)
        }
        IdentityCommand::Rotate { id, online } => {
            let info = existing(ctx, &id).await?;
            let new_online_key = public_key(ctx, "--online", &online)?;
            let key = signer(
                ctx,
                &info.entry.offline_key,
                &format!("the offline key of `{id}`"),
            )?;
            let op = Op::IdentityRotate {
                id: id.clone(),
                new_online_key,
            };
            (id, "rotated", key, op)
        }
        IdentityCommand::Recover {
            id,
            online,
            offline,
        } => {
            let info = existing(ctx, &id).await?;
            let new_online_key = public_key(ctx, "--online", &online)?;
            let new_offline_key = public_key(ctx, "--offline", &offline)?;
            let key = signer(
                ctx,
                &info.entry.offline_key,
                &format!("the offline key of `{id}`"),
            )?;
            let op = Op::IdentityRecover {
                id: id.clone(),
                new_online_key,
                new_offline_key,
            };
            (id, "recovered", key, op)
        }
        IdentityCommand::Suspend { id } => {
            let info = existing(ctx, &id).await?;
            let key = ctx
                .signer(&[
                    (info.entry.online_key, format!("the online key of `{id}`")),
                    (info.entry.offline_key, format!("the offline key of `{id}`")),
                ])?
                .1;
            (id.clone(), "suspended", key, Op::IdentitySuspend { id })
        }
        IdentityCommand::Revoke { id } => {
            let info = existing(ctx, &id).await?;
            let key = signer(
                ctx,
                &info.entry.offline_key,
                &format!(
                    "the offline key of `{id}` (only it revokes for good; the online key may suspend)"
                ),
            )?;
            (id.clone(), "revoked", key, Op::IdentityRevoke { id })
        }
        IdentityCommand::Bind { id, name } => {
            let name = normalize(&name)?;
            let registered = match sigil_core::name::place(&name, &status.params.tlds) {
                sigil_core::name::Placement::Under { name, .. } => name.to_string(),
                _ => anyhow::bail!(
                    "`{name}` is not below a top-level domain of this chain ({})",
                    status.params.tlds.join(", ")
                ),
            };
            let Some(owner) = client.name(&registered).await? else {
                anyhow::bail!(
                    "`{registered}` is not registered; register it with `sigil name register {registered}`"
                );
            };
            let key = signer(
                ctx,
                &owner.entry.owner,
                &format!("the owner of `{registered}`"),
            )?;
            let identity = existing(ctx, &id).await?;
            let consent = consent(ctx, &status, &identity, "bind", &[&name], &key.public())?;
            (
                id.clone(),
                "bound",
                key,
                Op::IdentityBind { id, name, consent },
            )
        }
    };
    let what = format!("the {} of identity `{id}`", op.kind());
    let (height, tx) = send_and_wait(ctx, &client, &key, &status, op, &what).await?;
    let done = Done {
        id,
        action,
        height,
        tx,
        signer: key.public(),
    };
    ctx.out.emit(&done, |d| {
        format!("identity {} {} at height {}", d.id, d.action, d.height)
    });
    Ok(Exit::Ok)
}

/// Blocks ahead of the tip an identity's consent stays valid for (below the chain's limit).
const CONSENT_BLOCKS: u64 = 1_000;

/// The identity's consent to `purpose` about `subject` in a transaction of `sender`, signed by
/// its online key from the keystore.
pub fn consent(
    ctx: &Ctx,
    status: &ChainStatus,
    identity: &IdentityInfo,
    purpose: &str,
    subject: &[&str],
    sender: &PublicKey,
) -> anyhow::Result<Consent> {
    let e = &identity.entry;
    // The consent is the identity's, not the transaction's signer: `--key` does not choose it.
    let (_, online) = ctx.keystore.signer(
        None,
        &[(
            e.online_key,
            format!("identity `{}`'s consent, with its online key", e.id),
        )],
    )?;
    let until = status.tip.height + CONSENT_BLOCKS;
    Ok(Consent::sign(
        &online,
        &status.chain_id,
        purpose,
        &e.id,
        subject,
        sender,
        until,
    ))
}

async fn existing(ctx: &Ctx, id: &str) -> anyhow::Result<IdentityInfo> {
    ctx.client()?.identity(id).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "identity `{id}` does not exist; register it with `sigil identity register {id} --online KEY --offline KEY`"
        )
    })
}

async fn show(ctx: &Ctx, id: &str) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let clock = Clock::of(&client.status().await?);
    let Some(info) = client.identity(id).await? else {
        ctx.out.emit(
            &serde_json::json!({ "id": id, "registered": false }),
            |_| format!(
                "identity `{id}` is not registered; register it with `sigil identity register {id} --online KEY --offline KEY`"
            ),
        );
        return Ok(Exit::Negative);
    };
    ctx.out.emit(&info, |i| {
        let e = &i.entry;
        let status = match (e.revoked_at, e.suspended_at) {
            (Some(h), _) => format!("revoked at {}", clock.height(h)),
            (None, Some(h)) => format!(
                "suspended at {} (the offline key lifts it: `sigil identity rotate {}`)",
                clock.height(h),
                e.id
            ),
            (None, None) => "active".to_string(),
        };
        let facts = vec![
            vec!["online key".to_string(), e.online_key.to_string()],
            vec!["offline key".into(), e.offline_key.to_string()],
            vec!["status".into(), status],
            vec!["registered".into(), clock.height(e.registered_at)],
        ];
        let mut keys = vec![vec![
            "ROLE".to_string(),
            "KEY".into(),
            "VALID FROM".into(),
            "VALID UNTIL".into(),
        ]];
        for p in &e.keys {
            keys.push(vec![
                p.role.as_str().to_string(),
                p.key.to_string(),
                p.from.to_string(),
                p.until.map_or("(current)".to_string(), |u| u.to_string()),
            ]);
        }
        let mut history = vec![vec![
            "HEIGHT".to_string(),
            "DATE (UTC)".into(),
            "ACTION".into(),
            "TX".into(),
        ]];
        for ev in &i.history {
            let action = match &ev.name {
                Some(name) => format!("{} {name}", ev.action),
                None => ev.action.clone(),
            };
            history.push(vec![
                ev.height.to_string(),
                clock.date(ev.height),
                action,
                ev.tx.to_string(),
            ]);
        }
        format!(
            "identity {}\n{}key history (valid from a height until, not including, another)\n{}history\n{}",
            e.id,
            table(&facts, "  "),
            table(&keys, "  "),
            table(&history, "  ")
        )
    });
    Ok(Exit::Ok)
}

/// A public key given as 64 hex digits or as the name of a keystore key.
pub fn public_key(ctx: &Ctx, flag: &str, value: &str) -> anyhow::Result<PublicKey> {
    if value.len() == 64 && value.bytes().all(|c| c.is_ascii_hexdigit()) {
        return value
            .parse()
            .map_err(|e: String| anyhow::anyhow!("{flag} {e}"));
    }
    if crate::keystore::check_key_name(value).is_ok()
        && ctx.keystore.list()?.iter().any(|k| k == value)
    {
        return Ok(ctx.keystore.load(value)?.public());
    }
    anyhow::bail!(
        "{flag} `{value}` is neither a public key (64 hex digits) nor a key in {}; \
         create it with `sigil key new {value}` or ask its holder for `sigil key show NAME`",
        ctx.keystore.dir().display()
    )
}

/// The key that must sign: `--key` if given (the ledger judges it), else the keystore key
/// whose public key is `expected`.
pub fn signer(ctx: &Ctx, expected: &PublicKey, who: &str) -> anyhow::Result<Keypair> {
    Ok(ctx.signer(&[(*expected, who.to_string())])?.1)
}

/// What `sigil proof identity` found.
#[derive(Serialize)]
struct ProvenIdentity {
    id: String,
    chain_id: String,
    verified: bool,
    /// Why the proof did not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<Height>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<Hash>,
    /// The identity's entry; `None` when proven absent (or not verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<IdentityEntry>,
}

/// `sigil proof identity`: an identity's keys and standing, checked against the pinned
/// validators and fresh. Exit 1 if it is proven absent or does not verify.
pub async fn proof(ctx: &Ctx, id: &str, max_age_secs: u64) -> anyhow::Result<Exit> {
    check_id("identity", id)?;
    let client = ctx.client()?;
    let status = client.status().await?;
    let mut result = ProvenIdentity {
        id: id.to_string(),
        chain_id: status.chain_id.clone(),
        verified: false,
        error: None,
        height: None,
        block_hash: None,
        identity: None,
    };
    let checked = match super::trusted(ctx, &status).await? {
        Err(reason) => Err(reason),
        Ok(trusted) => {
            let proof = client.identity_proof(id).await?;
            proof
                .verify_entry::<IdentityEntry>(
                    &keys::identity(id),
                    &format!("identity `{id}`"),
                    &status.chain_id,
                    &trusted,
                )
                .map_err(|e| e.to_string())
                .and_then(|entry| match entry {
                    Some(e) if e.id != id => Err(format!(
                        "the proven entry is of identity `{}`, not `{id}`",
                        e.id
                    )),
                    entry => Ok(entry),
                })
                .and_then(|entry| {
                    super::proof::fresh(&proof.header, max_age_secs)?;
                    Ok((entry, proof.header.height, proof.header.hash()))
                })
        }
    };
    let (entry, height, block_hash) = match checked {
        Ok(checked) => checked,
        Err(reason) => {
            result.error = Some(reason);
            let reason = result.error.as_deref().unwrap_or_default();
            let what = format!("the proof of identity `{id}`");
            return Ok(super::proof::not_verified(ctx, &result, &what, reason));
        }
    };
    result.verified = true;
    result.height = Some(height);
    result.block_hash = Some(block_hash);
    let exit = if entry.is_some() {
        Exit::Ok
    } else {
        Exit::Negative
    };
    result.identity = entry;
    ctx.out.emit(&result, |r| {
        let anchor =
            format!("at height {height} (block {block_hash}, signed by the trusted validators)");
        let Some(e) = &r.identity else {
            return format!(
                "verified: there is no identity `{}` (proven absent) {anchor}",
                r.id
            );
        };
        let standing = match (e.revoked_at, e.suspended_at) {
            (Some(h), _) => format!("revoked at height {h}"),
            (None, Some(h)) => format!("suspended at height {h}"),
            (None, None) => "active".to_string(),
        };
        let facts = vec![
            vec!["online key".to_string(), e.online_key.to_string()],
            vec!["offline key".into(), e.offline_key.to_string()],
            vec!["status".into(), standing],
        ];
        format!(
            "verified: identity {} {anchor}\n{}",
            e.id,
            table(&facts, "  ")
        )
    });
    Ok(exit)
}
