//! `sigil offering`: equity offerings (ADR 0009). The admin opens, the platform approves, each
//! holder subscribes over the terms' hash with its own key, the admin or the platform confirms
//! payments, anyone closes; `show` prints the terms hash, the totals and every subscription.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sigil_core::api::OfferingInfo;
use sigil_core::state::{CompanyEntry, OfferingTerms, Subscription, keys};
use sigil_core::tx::Op;
use sigil_core::types::{Hash, Height, Keypair};

use super::Ctx;
use super::company::{admin_key, company_of, send};
use super::identity::signer;
use crate::args::OfferingCommand;
use crate::client::Client;
use crate::output::{Exit, table};

/// The SHA-256 of the terms file, as `sha256sum` prints it.
fn terms_hash(path: &std::path::Path) -> anyhow::Result<Hash> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read the terms {}: {e}", path.display()))?;
    Ok(Hash(Sha256::digest(&bytes).into()))
}

/// The offering alone; with every one of its subscriptions if `in_full`.
async fn offering_of(
    client: &Client,
    company: &CompanyEntry,
    offering: &str,
    in_full: bool,
) -> anyhow::Result<OfferingInfo> {
    let info = if in_full {
        client.offering_in_full(&company.id, offering).await?
    } else {
        client.offering(&company.id, offering).await?
    };
    info.ok_or_else(|| {
        anyhow::anyhow!(
            "`{}` has no offering `{offering}`; `sigil offering list {}` lists them",
            company.id,
            company.id
        )
    })
}

/// The key of holder `holder` of `company`, from the keystore (or `--key`).
async fn holder_key(
    ctx: &Ctx,
    client: &Client,
    company: &CompanyEntry,
    holder: &str,
) -> anyhow::Result<Keypair> {
    let Some(info) = client.holder(&company.id, holder).await? else {
        anyhow::bail!(
            "`{}` has no holder `{holder}`; check --holder with `sigil captable {}`",
            company.id,
            company.id
        );
    };
    signer(
        ctx,
        &info.entry.key,
        &format!("the key of holder `{holder}` of `{}`", company.id),
    )
}

/// The online key of identity `id`, from the keystore (or `--key`).
async fn identity_key(ctx: &Ctx, client: &Client, id: &str, role: &str) -> anyhow::Result<Keypair> {
    let Some(identity) = client.identity(id).await? else {
        anyhow::bail!("the {role} identity `{id}` does not exist");
    };
    signer(
        ctx,
        &identity.entry.online_key,
        &format!("the online key of `{id}`, the {role}"),
    )
}

pub async fn run(ctx: &Ctx, cmd: OfferingCommand) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    match cmd {
        OfferingCommand::Open {
            company,
            id,
            class,
            shares_min,
            shares_max,
            investor_max,
            max_investors,
            closes_in_blocks,
            terms,
            platform,
            lockup_blocks,
            price,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let terms_sha256 = terms_hash(&terms)?;
            let admin = admin_key(ctx, &client, &company, true).await?;
            let summary = match &platform {
                Some(p) => format!(
                    "offering {id} of {} proposed (terms sha256 {terms_sha256}); it opens when `{p}` approves it",
                    company.id
                ),
                None => format!(
                    "offering {id} of {} open (terms sha256 {terms_sha256})",
                    company.id
                ),
            };
            let op = Op::OfferingOpen {
                company: company.id.clone(),
                offering: id,
                terms: Box::new(OfferingTerms {
                    class,
                    terms_sha256,
                    shares_min,
                    shares_max,
                    investor_max,
                    max_investors,
                    closes_in_blocks,
                    lockup_blocks,
                    price,
                    platform,
                }),
            };
            send(ctx, &client, &status, company.id, &admin, op, summary).await
        }
        OfferingCommand::Approve { company, offering } => {
            let company = company_of(&client, &status, &company).await?;
            let info = offering_of(&client, &company, &offering, false).await?;
            let Some(platform) = info.entry.terms.platform.clone() else {
                anyhow::bail!("offering `{offering}` names no platform: it needs no approval");
            };
            let key = identity_key(ctx, &client, &platform, "platform").await?;
            let summary = format!(
                "offering {offering} of {} approved by {platform}",
                company.id
            );
            let op = Op::OfferingApprove {
                company: company.id.clone(),
                offering,
                terms_sha256: info.entry.terms.terms_sha256,
            };
            send(ctx, &client, &status, company.id, &key, op, summary).await
        }
        OfferingCommand::Subscribe {
            company,
            offering,
            holder,
            shares,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let info = offering_of(&client, &company, &offering, false).await?;
            let key = holder_key(ctx, &client, &company, &holder).await?;
            let terms_sha256 = info.entry.terms.terms_sha256;
            let summary = format!(
                "{holder} subscribed {shares} shares in offering {offering} of {} (terms sha256 {terms_sha256})",
                company.id
            );
            let op = Op::OfferingSubscribe {
                company: company.id.clone(),
                offering,
                holder,
                shares,
                terms_sha256,
            };
            send(ctx, &client, &status, company.id, &key, op, summary).await
        }
        OfferingCommand::Withdraw {
            company,
            offering,
            holder,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let key = holder_key(ctx, &client, &company, &holder).await?;
            let summary = format!(
                "{holder} withdrew from offering {offering} of {}",
                company.id
            );
            let op = Op::OfferingWithdraw {
                company: company.id.clone(),
                offering,
                holder,
            };
            send(ctx, &client, &status, company.id, &key, op, summary).await
        }
        OfferingCommand::Confirm {
            company,
            offering,
            holder,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let info = offering_of(&client, &company, &offering, false).await?;
            // The admin's or the platform's online key, whichever the keystore (or --key) has.
            let mut must_sign = Vec::new();
            for (id, role) in [
                (Some(company.admin.clone()), "admin"),
                (info.entry.terms.platform.clone(), "platform"),
            ] {
                let Some(id) = id else { continue };
                if let Some(identity) = client.identity(&id).await? {
                    must_sign.push((
                        identity.entry.online_key,
                        format!("the online key of `{id}`, the {role}"),
                    ));
                }
            }
            let (_, key) = ctx.signer(&must_sign)?;
            let summary = format!(
                "payment of {holder} confirmed in offering {offering} of {}",
                company.id
            );
            let op = Op::OfferingConfirm {
                company: company.id.clone(),
                offering,
                holder,
            };
            send(ctx, &client, &status, company.id, &key, op, summary).await
        }
        OfferingCommand::Close { company, offering } => {
            let company = company_of(&client, &status, &company).await?;
            let (_, key) = ctx.keystore.select(ctx.key.as_deref())?;
            let summary = format!("offering {offering} of {} closed", company.id);
            let op = Op::OfferingClose {
                company: company.id.clone(),
                offering: offering.clone(),
            };
            let exit = send(ctx, &client, &status, company.id.clone(), &key, op, summary).await?;
            if !ctx.out.is_json() {
                let info = offering_of(&client, &company, &offering, false).await?;
                eprintln!(
                    "offering {offering} is {}: {} shares issued",
                    info.entry.status.as_str(),
                    info.entry.issued
                );
            }
            Ok(exit)
        }
        OfferingCommand::Show {
            company,
            offering,
            csv,
        } => {
            let company = company_of(&client, &status, &company).await?;
            let info = offering_of(&client, &company, &offering, true).await?;
            if csv {
                print!("{}", subscriptions_csv(&info));
                return Ok(Exit::Ok);
            }
            ctx.out.emit(&info, show);
            Ok(Exit::Ok)
        }
        OfferingCommand::List { company } => {
            let company = company_of(&client, &status, &company).await?;
            let listed = client.offerings(&company.id).await?;
            let mut rows = vec![vec![
                "OFFERING".to_string(),
                "STATUS".into(),
                "CLASS".into(),
                "CONFIRMED".into(),
                "MAX".into(),
            ]];
            for e in &listed.items {
                rows.push(vec![
                    e.offering.clone(),
                    e.status.as_str().into(),
                    e.terms.class.clone(),
                    e.confirmed.to_string(),
                    e.terms.shares_max.to_string(),
                ]);
            }
            ctx.out.emit(&listed.items, |_| {
                format!("offerings of {}\n{}", company.id, table(&rows, "  "))
            });
            Ok(Exit::Ok)
        }
    }
}

fn subscriptions_csv(info: &OfferingInfo) -> String {
    let mut out = String::from("holder,shares,state,paid,refund_owed\n");
    for s in &info.subscriptions {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            s.holder,
            s.shares,
            s.state.as_str(),
            s.paid,
            s.refund_owed()
        ));
    }
    out
}

fn show(info: &OfferingInfo) -> String {
    let e = &info.entry;
    let t = &e.terms;
    let opt = |h: Option<u64>| h.map_or("-".to_string(), |h| h.to_string());
    let rows = vec![
        vec!["status".to_string(), e.status.as_str().to_string()],
        vec!["terms sha256".into(), t.terms_sha256.to_string()],
        vec!["class".into(), t.class.clone()],
        vec![
            "shares".into(),
            format!(
                "{} to {}, at most {} per investor",
                t.shares_min, t.shares_max, t.investor_max
            ),
        ],
        vec![
            "price".into(),
            t.price.clone().unwrap_or_else(|| "-".into()),
        ],
        vec![
            "platform".into(),
            t.platform.clone().unwrap_or_else(|| "-".into()),
        ],
        vec!["opened at".into(), opt(e.opened_at)],
        vec!["subscriptions until".into(), opt(e.closes_at)],
        vec!["closed at".into(), opt(e.closed_at)],
        vec![
            "lock-up".into(),
            format!("{} blocks after the close", t.lockup_blocks),
        ],
        vec![
            "investors".into(),
            format!("{} of at most {}", e.investors, t.max_investors),
        ],
        vec!["subscribed".into(), e.subscribed.to_string()],
        vec!["confirmed".into(), e.confirmed.to_string()],
        vec!["issued".into(), e.issued.to_string()],
    ];
    let mut subs = vec![vec![
        "HOLDER".to_string(),
        "SHARES".into(),
        "STATE".into(),
        "REFUND OWED".into(),
    ]];
    for s in &info.subscriptions {
        subs.push(vec![
            s.holder.clone(),
            s.shares.to_string(),
            s.state.as_str().into(),
            if s.refund_owed() {
                "yes".into()
            } else {
                String::new()
            },
        ]);
    }
    format!(
        "offering {} of {}\n{}\n\n{}",
        e.offering,
        e.company,
        table(&rows, "  "),
        table(&subs, "  ")
    )
}

/// What `sigil proof subscription` found.
#[derive(Serialize)]
struct ProvenSubscription {
    company: String,
    offering: String,
    holder: String,
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The subscription, `None` if proven absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription: Option<Subscription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<Height>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_hash: Option<Hash>,
}

/// `sigil proof subscription`: a holder's subscription (shares, state, whether paid), checked
/// against the pinned validators and fresh. Exit 1 if it is proven absent or does not verify.
pub async fn proof_subscription(
    ctx: &Ctx,
    company: &str,
    offering: &str,
    holder: &str,
    max_age_secs: u64,
) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let company = company_of(&client, &status, company).await?.id;
    let mut result = ProvenSubscription {
        company: company.clone(),
        offering: offering.to_string(),
        holder: holder.to_string(),
        verified: false,
        error: None,
        subscription: None,
        height: None,
        block_hash: None,
    };
    let checked = match super::trusted(ctx, &status).await? {
        Err(reason) => Err(reason),
        Ok(trusted) => {
            let proof = client
                .subscription_proof(&company, offering, holder)
                .await?;
            proof
                .verify_entry::<Subscription>(
                    &keys::subscription(&company, offering, holder),
                    &format!("the subscription of `{holder}` to `{offering}` of `{company}`"),
                    &status.chain_id,
                    &trusted,
                )
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    super::proof::fresh(&proof.header, max_age_secs)?;
                    Ok((s, proof.header.height, proof.header.hash()))
                })
        }
    };
    match checked {
        Err(reason) => {
            result.error = Some(reason);
            let reason = result.error.as_deref().unwrap_or_default();
            Ok(super::proof::not_verified(
                ctx,
                &result,
                "the subscription proof",
                reason,
            ))
        }
        Ok((subscription, height, block_hash)) => {
            result.verified = true;
            result.height = Some(height);
            result.block_hash = Some(block_hash);
            let exit = if subscription.is_some() {
                Exit::Ok
            } else {
                Exit::Negative
            };
            result.subscription = subscription;
            ctx.out.emit(&result, |r| match &r.subscription {
                Some(s) => format!(
                    "verified: {} subscribed {} shares in offering {} of {}, {}{} at height {height} (block {block_hash}, signed by the trusted validators)",
                    r.holder,
                    s.shares,
                    r.offering,
                    r.company,
                    s.state.as_str(),
                    if s.paid { ", paid" } else { "" }
                ),
                None => format!(
                    "verified: {} has no subscription to offering {} of {} at height {height} (proven absent; block {block_hash})",
                    r.holder, r.offering, r.company
                ),
            });
            Ok(exit)
        }
    }
}
