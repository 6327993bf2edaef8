//! `sigil company|holder|shares|captable` and `sigil proof balance`: companies, their
//! shareholders and shares. Each operation is signed by the key the ledger asks for (the name's
//! owner, the admin identity's online key, the sending holder's key), found in the keystore.

use serde::Serialize;
use sigil_core::api::ChainStatus;
use sigil_core::captable::CapTable;
use sigil_core::state::{Change, CompanyEntry, CompanyEvent, HolderEntry, keys};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Height, Keypair, PublicKey};

use super::identity::{consent, public_key, signer};
use super::name::send_and_wait;
use super::{Ctx, registrable};
use crate::args::{CaptableArgs, CompanyCommand, HolderCommand, SharesCommand};
use crate::client::Client;
use crate::output::{Exit, table};

#[derive(Serialize)]
struct Done {
    company: String,
    action: String,
    height: Height,
    tx: Hash,
    signer: PublicKey,
}

/// Signs `op` with `key`, waits until final, prints `summary` and the height.
pub(super) async fn send(
    ctx: &Ctx,
    client: &Client,
    status: &ChainStatus,
    company: String,
    key: &Keypair,
    op: Op,
    summary: String,
) -> anyhow::Result<Exit> {
    let what = format!("the {} on `{company}`", op.kind());
    let (height, tx) = send_and_wait(ctx, client, key, status, op, &what).await?;
    let done = Done {
        company,
        action: summary,
        height,
        tx,
        signer: key.public(),
    };
    ctx.out
        .emit(&done, |d| format!("{} at height {}", d.action, d.height));
    Ok(Exit::Ok)
}

/// The company `input` names: its id, or a name its current owner lists a company under.
pub(super) async fn company_of(
    client: &Client,
    status: &ChainStatus,
    input: &str,
) -> anyhow::Result<CompanyEntry> {
    let input = if input.contains('.') {
        registrable(input, status)?
    } else {
        input.to_string()
    };
    client.company(&input).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "`{input}` is neither a company id nor a name a company is listed under by its owner; \
             create one with `sigil company create NAME --admin ID --class CLASS`"
        )
    })
}

/// A company as `sigil company show` prints it: whether its listing still counts.
#[derive(Serialize)]
struct CompanyView {
    #[serde(flatten)]
    company: CompanyEntry,
    /// Whether the company speaks for `name`: the name is still owned by the key that listed it.
    listed: bool,
    /// The name's owner now, if it is registered.
    name_owner: Option<PublicKey>,
}

/// The default id of a company listed under `name`: its first label.
fn default_id(name: &str) -> String {
    name.split('.').next().unwrap_or(name).to_string()
}

/// The admin identity's online key. `use_key_flag`: `--key` names the signer (it does not when
/// the command's own `--key` is the holder's key).
pub(super) async fn admin_key(
    ctx: &Ctx,
    client: &Client,
    company: &CompanyEntry,
    use_key_flag: bool,
) -> anyhow::Result<Keypair> {
    let Some(admin) = client.identity(&company.admin).await? else {
        anyhow::bail!(
            "the admin identity `{}` of `{}` does not exist",
            company.admin,
            company.id
        );
    };
    let who = format!(
        "the online key of `{}`, the admin of `{}`",
        company.admin, company.id
    );
    let must_sign = [(admin.entry.online_key, who)];
    if use_key_flag {
        return Ok(ctx.signer(&must_sign)?.1);
    }
    Ok(ctx.keystore.signer(None, &must_sign)?.1)
}

pub async fn company(ctx: &Ctx, cmd: CompanyCommand) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    match cmd {
        CompanyCommand::Create {
            name,
            admin,
            classes,
            id,
        } => {
            let name = registrable(&name, &status)?;
            let Some(info) = client.name(&name).await? else {
                anyhow::bail!(
                    "`{name}` is not registered; register it first with `sigil name register {name}`"
                );
            };
            let Some(identity) = client.identity(&admin).await? else {
                anyhow::bail!(
                    "identity `{admin}` does not exist; register it with `sigil identity register {admin} --online KEY --offline KEY`"
                );
            };
            let id = id.unwrap_or_else(|| default_id(&name));
            let key = signer(ctx, &info.entry.owner, &format!("the owner of `{name}`"))?;
            let consent = consent(
                ctx,
                &status,
                &identity,
                "company-register",
                &[&id, &name],
                &key.public(),
            )?;
            let summary = format!(
                "company {id} created under {name}, admin {admin}, classes {}",
                classes.join(", ")
            );
            let op = Op::CompanyRegister {
                id: id.clone(),
                name,
                admin,
                classes,
                consent,
            };
            send(ctx, &client, &status, id, &key, op, summary).await
        }
        CompanyCommand::Admin { company, admin } => {
            let company = company_of(&client, &status, &company).await?;
            let Some(current) = client.identity(&company.admin).await? else {
                anyhow::bail!("the admin identity `{}` does not exist", company.admin);
            };
            let Some(identity) = client.identity(&admin).await? else {
                anyhow::bail!(
                    "identity `{admin}` does not exist; register it with `sigil identity register {admin} --online KEY --offline KEY`"
                );
            };
            let key = match current.entry.revoked_at {
                None => signer(
                    ctx,
                    &current.entry.offline_key,
                    &format!(
                        "the offline key of `{}`, the admin of `{}`",
                        company.admin, company.id
                    ),
                )?,
                Some(_) => signer(
                    ctx,
                    &company.listed_by,
                    &format!(
                        "the key that listed `{}` under `{}` (its admin `{}` is revoked for good)",
                        company.id, company.name, company.admin
                    ),
                )?,
            };
            let consent = consent(
                ctx,
                &status,
                &identity,
                "company-admin",
                &[&company.id],
                &key.public(),
            )?;
            let summary = format!("company {} now has admin {admin}", company.id);
            let op = Op::CompanyAdmin {
                company: company.id.clone(),
                admin,
                consent,
            };
            send(ctx, &client, &status, company.id, &key, op, summary).await
        }
        CompanyCommand::Move { company, name } => {
            let company = company_of(&client, &status, &company).await?;
            let name = registrable(&name, &status)?;
            let Some(info) = client.name(&name).await? else {
                anyhow::bail!(
                    "`{name}` is not registered; register it first with `sigil name register {name}`"
                );
            };
            let Some(admin) = client.identity(&company.admin).await? else {
                anyhow::bail!("the admin identity `{}` does not exist", company.admin);
            };
            let key = signer(ctx, &info.entry.owner, &format!("the owner of `{name}`"))?;
            let consent = consent(
                ctx,
                &status,
                &admin,
                "company-move",
                &[&company.id, &name],
                &key.public(),
            )?;
            let summary = format!("company {} now listed under {name}", company.id);
            let op = Op::CompanyMove {
                company: company.id.clone(),
                name,
                consent,
            };
            send(ctx, &client, &status, company.id, &key, op, summary).await
        }
        CompanyCommand::Show { name } => {
            let company = company_of(&client, &status, &name).await?;
            let name_owner = client.name(&company.name).await?.map(|n| n.entry.owner);
            let view = CompanyView {
                listed: name_owner == Some(company.listed_by),
                name_owner,
                company,
            };
            ctx.out.emit(&view, |v| {
                let c = &v.company;
                let mut rows = vec![vec![
                    "CLASS".to_string(),
                    "ISSUED".into(),
                    "REDEEMED".into(),
                    "OUTSTANDING".into(),
                ]];
                for class in &c.classes {
                    rows.push(vec![
                        class.name.clone(),
                        class.issued.to_string(),
                        class.redeemed.to_string(),
                        class.outstanding().to_string(),
                    ]);
                }
                let listing = if v.listed {
                    format!("listed under {} (by its owner {})", c.name, c.listed_by)
                } else {
                    format!(
                        "NOT listed: {} was listed under {} by {}, which no longer owns it; the company \
                         does not speak for that name, its register is kept under id {}; move it with \
                         `sigil company move {} NAME`",
                        c.id, c.name, c.listed_by, c.id, c.id
                    )
                };
                format!(
                    "company {}\n  {listing}\n  admin: {}\n  created at height {}\n{}",
                    c.id,
                    c.admin,
                    c.created_at,
                    table(&rows, "  ")
                )
            });
            Ok(Exit::Ok)
        }
    }
}

pub async fn holder(ctx: &Ctx, cmd: HolderCommand) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    match cmd {
        HolderCommand::Issue {
            company,
            holder,
            key,
            attr_hash,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let holder_key = public_key(ctx, "--key", &key)?;
            let attr_hash = attr_hash
                .map(|h| {
                    h.parse::<Hash>()
                        .map_err(|e| anyhow::anyhow!("--attr-hash {e}"))
                })
                .transpose()?;
            let admin = admin_key(ctx, &client, &company, false).await?;
            let summary = format!(
                "holder {holder} of {} issued with key {holder_key}",
                company.id
            );
            let op = Op::HolderIssue {
                company: company.id.clone(),
                holder,
                key: holder_key,
                attr_hash,
            };
            send(ctx, &client, &status, company.id, &admin, op, summary).await
        }
        HolderCommand::Revoke {
            company,
            holder,
            reason,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let admin = admin_key(ctx, &client, &company, true).await?;
            let summary = format!("holder {holder} of {} revoked ({reason})", company.id);
            let op = Op::HolderRevoke {
                company: company.id.clone(),
                holder,
                reason,
            };
            send(ctx, &client, &status, company.id, &admin, op, summary).await
        }
        HolderCommand::Rotate {
            company,
            holder,
            key,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let new_key = public_key(ctx, "--key", &key)?;
            let admin = admin_key(ctx, &client, &company, false).await?;
            let summary = format!("holder {holder} of {} now has key {new_key}", company.id);
            let op = Op::HolderRotate {
                company: company.id.clone(),
                holder,
                new_key,
            };
            send(ctx, &client, &status, company.id, &admin, op, summary).await
        }
        HolderCommand::Show { company, holder } => {
            let company = company_of(&client, &status, &company).await?;
            let Some(info) = client.holder(&company.id, &holder).await? else {
                anyhow::bail!("`{}` has no holder `{holder}`", company.id);
            };
            ctx.out.emit(&info, |i| {
                let e = &i.entry;
                let state = match &e.revoked {
                    Some(r) => format!("revoked at height {} ({})", r.height, r.reason),
                    None => "active".to_string(),
                };
                let mut rows = vec![
                    vec!["key".to_string(), e.key.to_string()],
                    vec!["status".into(), state],
                    vec![
                        "attr hash".into(),
                        e.attr_hash.map_or("(none)".into(), |h| h.to_string()),
                    ],
                ];
                for b in &i.balances {
                    rows.push(vec![format!("{} shares", b.class), b.balance.to_string()]);
                    for lock in &b.locks {
                        rows.push(vec![
                            format!("{} locked", b.class),
                            format!(
                                "{} by an offering's lock-up, movable from height {}",
                                lock.amount, lock.until
                            ),
                        ]);
                    }
                }
                for p in &e.keys {
                    rows.push(vec![
                        "key history".into(),
                        format!(
                            "{} valid from {} until {}",
                            p.key,
                            p.from,
                            p.until.map_or("(current)".to_string(), |u| u.to_string())
                        ),
                    ]);
                }
                format!(
                    "holder {} of {}\n{}",
                    e.holder,
                    e.company,
                    table(&rows, "  ")
                )
            });
            Ok(Exit::Ok)
        }
    }
}

pub async fn shares(ctx: &Ctx, cmd: SharesCommand) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    match cmd {
        SharesCommand::Issue {
            company,
            class,
            to,
            amount,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let admin = admin_key(ctx, &client, &company, true).await?;
            let summary = format!("issued {amount} {class} shares of {} to {to}", company.id);
            let op = Op::SharesIssue {
                company: company.id.clone(),
                class,
                to,
                amount,
            };
            send(ctx, &client, &status, company.id, &admin, op, summary).await
        }
        SharesCommand::Transfer {
            company,
            class,
            from,
            to,
            amount,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let Some(sender) = client.holder(&company.id, &from).await? else {
                anyhow::bail!(
                    "`{}` has no holder `{from}`; check --from with `sigil captable {}`",
                    company.id,
                    company.id
                );
            };
            let key = signer(
                ctx,
                &sender.entry.key,
                &format!("the key of holder `{from}` of `{}`", company.id),
            )?;
            let summary = format!(
                "transferred {amount} {class} shares of {} from {from} to {to}",
                company.id
            );
            let op = Op::SharesTransfer {
                company: company.id.clone(),
                class,
                from,
                to,
                amount,
            };
            send(ctx, &client, &status, company.id, &key, op, summary).await
        }
        SharesCommand::Redeem {
            company,
            class,
            from,
            amount,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let admin = admin_key(ctx, &client, &company, true).await?;
            let summary = format!(
                "redeemed {amount} {class} shares of {} from {from}",
                company.id
            );
            let op = Op::SharesRedeem {
                company: company.id.clone(),
                class,
                from,
                amount,
            };
            send(ctx, &client, &status, company.id, &admin, op, summary).await
        }
        SharesCommand::History {
            company,
            holder,
            listing,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let listed = client
                .holder_history(&company.id, &holder, listing.into())
                .await?;
            if listed.more {
                crate::output::note_more(listed.items.len());
            }
            let history = listed.items;
            ctx.out.emit(&history, |events| {
                let mut rows = vec![vec![
                    "HEIGHT".to_string(),
                    "CHANGE".into(),
                    "BALANCE AFTER".into(),
                    "TX".into(),
                ]];
                for e in events {
                    rows.push(vec![
                        e.event.height.to_string(),
                        describe(&e.event),
                        e.balance_after.map_or(String::new(), |b| b.to_string()),
                        e.event.tx.to_string(),
                    ]);
                }
                format!(
                    "history of holder {holder} of {}\n{}",
                    company.id,
                    table(&rows, "  ")
                )
            });
            Ok(Exit::Ok)
        }
    }
}

/// One line for a change of the register.
fn describe(event: &CompanyEvent) -> String {
    match &event.change {
        Change::Created { admin, classes } => {
            format!("created, admin {admin}, classes {}", classes.join(", "))
        }
        Change::HolderIssued { holder, key, .. } => format!("holder {holder} issued, key {key}"),
        Change::HolderRevoked { holder, reason } => format!("holder {holder} revoked ({reason})"),
        Change::HolderRotated { holder, key } => format!("holder {holder} re-keyed to {key}"),
        Change::Issued { class, to, amount } => format!("issued {amount} {class} to {to}"),
        Change::Transferred {
            class,
            from,
            to,
            amount,
        } => format!("{from} sent {amount} {class} to {to}"),
        Change::Redeemed {
            class,
            from,
            amount,
        } => format!("redeemed {amount} {class} from {from}"),
        Change::AdminReplaced { admin } => format!("admin replaced by {admin}"),
        Change::Moved { name, owner } => format!("listed under {name} by its owner {owner}"),
        Change::Offering { offering, step } => format!("offering {offering}: {step}"),
        Change::OfferingIssued {
            offering,
            class,
            to,
            amount,
        } => format!("issued {amount} {class} to {to} by offering {offering}"),
    }
}

pub async fn captable(ctx: &Ctx, args: CaptableArgs) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let company = company_of(&client, &status, &args.company).await?;
    if args.csv {
        let csv = client.cap_table_csv(&company.id, args.at).await?;
        print!("{csv}");
        return Ok(Exit::Ok);
    }
    let cap: CapTable = client.cap_table(&company.id, args.at).await?;
    ctx.out.emit(&cap, |t| {
        let mut header = vec!["HOLDER".to_string(), "STATUS".into()];
        header.extend(t.classes.iter().map(|c| c.class.to_uppercase()));
        let mut rows = vec![header];
        for h in &t.holders {
            let mut row = vec![
                h.holder.clone(),
                if h.active { "active" } else { "revoked" }.to_string(),
            ];
            row.extend(h.balances.iter().map(u64::to_string));
            rows.push(row);
        }
        let mut total = vec!["(outstanding)".to_string(), String::new()];
        total.extend(t.classes.iter().map(|c| c.outstanding.to_string()));
        rows.push(total);
        format!(
            "cap table of {} at height {} (admin {})\n{}",
            t.company,
            t.height,
            t.admin,
            table(&rows, "  ")
        )
    });
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct ProvenBalance {
    company: String,
    class: String,
    holder: String,
    verified: bool,
    /// Whether the holder exists at the proven block (false: proven absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    holder_exists: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    balance: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<Height>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<Hash>,
}

/// `sigil proof balance`: a holder's balance, checked against the pinned validators, with the
/// holder's own entry proven at the same block (an absent balance is 0 only for a holder that
/// exists), and fresh.
pub async fn proof_balance(
    ctx: &Ctx,
    company: &str,
    class: &str,
    holder: &str,
    max_age_secs: u64,
) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    // The node maps a name to its company's id; the balance itself is proven.
    let company = company_of(&client, &status, company).await?.id;
    let mut result = ProvenBalance {
        company: company.clone(),
        class: class.to_string(),
        holder: holder.to_string(),
        verified: false,
        holder_exists: None,
        error: None,
        balance: None,
        height: None,
        block_hash: None,
    };
    let trusted = match super::trusted(ctx, &status).await? {
        Ok(validators) => validators,
        Err(reason) => return Ok(not_verified(ctx, result, reason)),
    };
    let answer = client.balance_proof(&company, holder, class).await?;
    let checked = (|| {
        let (holder_proof, proof) = (&answer.holder, &answer.balance);
        if holder_proof.header != proof.header {
            return Err(
                "the node proved the holder and the balance at different blocks".to_string(),
            );
        }
        let holder_entry: Option<HolderEntry> = holder_proof
            .verify_entry(
                &keys::holder(&company, holder),
                &format!("holder `{holder}` of `{company}`"),
                &status.chain_id,
                &trusted,
            )
            .map_err(|e| e.to_string())?;
        let balance: u64 = proof
            .verify_entry(
                &keys::balance(&company, class, holder),
                &format!("the `{class}` balance of holder `{holder}` of `{company}`"),
                &status.chain_id,
                &trusted,
            )
            .map_err(|e| e.to_string())?
            .unwrap_or(0);
        super::proof::fresh(&proof.header, max_age_secs)?;
        match holder_entry {
            None if balance == 0 => Ok(None),
            None => Err("the node proved a balance for a holder that does not exist".to_string()),
            Some(_) => Ok(Some(balance)),
        }
    })();
    let proof = &answer.balance;
    match checked {
        Err(reason) => Ok(not_verified(ctx, result, reason)),
        Ok(None) => {
            result.verified = true;
            result.holder_exists = Some(false);
            result.height = Some(proof.header.height);
            result.block_hash = Some(proof.header.hash());
            ctx.out.emit(&result, |r| {
                format!(
                    "verified: {} has no holder `{}` at height {} (proven absent; block {}, signed by the trusted validators)",
                    r.company,
                    r.holder,
                    proof.header.height,
                    proof.header.hash()
                )
            });
            Ok(Exit::Negative)
        }
        Ok(Some(balance)) => {
            result.verified = true;
            result.holder_exists = Some(true);
            result.balance = Some(balance);
            result.height = Some(proof.header.height);
            result.block_hash = Some(proof.header.hash());
            ctx.out.emit(&result, |r| {
                format!(
                    "verified: holder {} of {} has {} {} shares at height {} (block {}, signed by the trusted validators)",
                    r.holder,
                    r.company,
                    balance,
                    r.class,
                    proof.header.height,
                    proof.header.hash()
                )
            });
            Ok(Exit::Ok)
        }
    }
}

fn not_verified(ctx: &Ctx, mut result: ProvenBalance, reason: String) -> Exit {
    result.error = Some(reason);
    let reason = result.error.as_deref().unwrap_or_default();
    super::proof::not_verified(ctx, &result, "the balance proof", reason)
}
