//! `sigil validators list|propose-add|propose-remove`: the validator set and the votes that
//! change it.

use serde::Serialize;
use sigil_core::api::ChainStatus;
use sigil_core::block::Handoff;
use sigil_core::tx::{Op, ValidatorChange};
use sigil_core::types::{Hash, Height, PublicKey};

use super::Ctx;
use super::name::send_and_wait;
use crate::output::{Exit, table};

/// A change as given on the command line, before its key is parsed.
pub enum Proposal {
    Add(String, u64),
    Remove(String),
}

#[derive(Serialize)]
struct Voted {
    change: ValidatorChange,
    tx: Hash,
    height: Height,
    /// Whether the change was made (enough votes), or the vote is waiting for others.
    applied: bool,
    /// Validators whose votes for the change still count (empty once it is applied).
    votes: Vec<PublicKey>,
    /// The height from which this vote no longer counts, if the change is still pending.
    expires_at: Option<Height>,
    /// Voting power of those votes, and of the whole set they were cast in.
    voted_power: u64,
    total_power: u64,
    validators_hash: Hash,
}

pub async fn propose(ctx: &Ctx, proposal: Proposal) -> anyhow::Result<Exit> {
    let parse = |key: &str| -> anyhow::Result<PublicKey> {
        key.parse()
            .map_err(|e: String| anyhow::anyhow!("`{key}` is not a public key: {e}"))
    };
    let change = match proposal {
        Proposal::Add(key, power) => ValidatorChange::Add {
            key: parse(&key)?,
            power,
        },
        Proposal::Remove(key) => ValidatorChange::Remove { key: parse(&key)? },
    };
    let client = ctx.client()?;
    let status = client.status().await?;
    let set = status.validators.clone();
    let must_sign: Vec<_> = set
        .validators
        .iter()
        .map(|v| (v.key, format!("a validator of chain `{}`", status.chain_id)))
        .collect();
    let (_, key) = ctx.signer(&must_sign)?;
    if set.power_of(&key.public()).is_none() {
        anyhow::bail!(
            "{} is not a validator of chain `{}`; vote with a validator's key: --key path/to/validator.pem",
            key.public(),
            status.chain_id
        );
    }
    let op = Op::ValidatorVote {
        change: change.clone(),
    };
    let (height, tx) = send_and_wait(
        ctx,
        &client,
        &key,
        &status,
        op,
        &format!("the vote to {change}"),
    )
    .await?;
    let after = client.status().await?;
    let pending = after
        .pending_validator_changes
        .iter()
        .find(|p| p.change == change);
    let member = after.validators.power_of(&change.key()).is_some();
    let applied = matches!(change, ValidatorChange::Add { .. }) == member;
    let votes: Vec<PublicKey> = match pending {
        Some(p) => p.votes.iter().map(|v| v.validator).collect(),
        None => Vec::new(),
    };
    let expires_at = pending.and_then(|p| {
        p.votes
            .iter()
            .find(|v| v.validator == key.public())
            .map(|v| v.expires_at)
    });
    let voted = Voted {
        voted_power: votes.iter().filter_map(|v| set.power_of(v)).sum(),
        total_power: set.total_power(),
        change,
        tx,
        height,
        applied,
        votes,
        expires_at,
        validators_hash: after.validators.hash(),
    };
    ctx.out.emit(&voted, |v| {
        if v.applied {
            format!(
                "the validators agreed: {} (final at height {}); the new set {} decides from the next block",
                v.change, v.height, v.validators_hash
            )
        } else {
            format!(
                "vote to {} recorded at height {}: {} of {} voting power so far; more than two thirds is needed, \
                 so the other validators run the same command with their keys before the vote expires at height {}",
                v.change,
                v.height,
                v.voted_power,
                v.total_power,
                v.expires_at.map_or("?".to_string(), |h| h.to_string())
            )
        }
    });
    Ok(Exit::Ok)
}

pub async fn list(ctx: &Ctx) -> anyhow::Result<Exit> {
    let client = ctx.client()?;
    let status = client.status().await?;
    let handoffs = client.handoffs().await?;
    ctx.out
        .emit(&Listing::of(&status, &handoffs), Listing::human);
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Listing<'a> {
    chain_id: &'a str,
    height: Height,
    validators: &'a sigil_core::state::ValidatorSet,
    validators_hash: Hash,
    pending: &'a [sigil_core::state::PendingChange],
    changes: Vec<ChangeMade>,
}

#[derive(Serialize)]
struct ChangeMade {
    height: Height,
    validators_hash: Hash,
    validators: usize,
}

impl<'a> Listing<'a> {
    fn of(status: &'a ChainStatus, handoffs: &[Handoff]) -> Listing<'a> {
        Listing {
            chain_id: &status.chain_id,
            height: status.tip.height,
            validators: &status.validators,
            validators_hash: status.validators.hash(),
            pending: &status.pending_validator_changes,
            changes: handoffs
                .iter()
                .map(|h| ChangeMade {
                    height: h.header.height,
                    validators_hash: h.validators.hash(),
                    validators: h.validators.validators.len(),
                })
                .collect(),
        }
    }

    fn human(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .validators
            .validators
            .iter()
            .map(|v| vec![v.key.to_string(), format!("power {}", v.power)])
            .collect();
        let mut text = format!(
            "chain {} at height {}: {} validator(s), set {}\n{}",
            self.chain_id,
            self.height,
            rows.len(),
            self.validators_hash,
            table(&rows, "  ")
        );
        if self.pending.is_empty() {
            text.push_str("no pending votes\n");
        } else {
            text.push_str("pending votes\n");
            let rows: Vec<Vec<String>> = self
                .pending
                .iter()
                .map(|p| {
                    let expiry = p.votes.iter().map(|v| v.expires_at).min().unwrap_or(0);
                    vec![
                        p.change.to_string(),
                        format!("{} vote(s)", p.votes.len()),
                        format!("first expires at height {expiry}"),
                    ]
                })
                .collect();
            text.push_str(&table(&rows, "  "));
        }
        if !self.changes.is_empty() {
            text.push_str("changes\n");
            let rows: Vec<Vec<String>> = self
                .changes
                .iter()
                .map(|c| {
                    vec![
                        format!("height {}", c.height),
                        format!("{} validator(s)", c.validators),
                        format!("set {}", c.validators_hash),
                    ]
                })
                .collect();
            text.push_str(&table(&rows, "  "));
        }
        text
    }
}
