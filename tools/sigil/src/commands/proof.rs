//! `sigil proof name`: fetch a name's state proof and check it against the pinned validators,
//! so the answer holds even if the node lies, and that its block is recent (a node replaying an
//! old proof could hide a newer state).

use serde::Serialize;
use sigil_core::block::Header;
use sigil_core::proof::{StateProof, check_fresh};
use sigil_core::state::{NameEntry, keys};
use sigil_core::time::now_ms;
use sigil_core::types::{Hash, Height};

use super::{Ctx, normalize};
use crate::output::{Exit, table, zone_lines};

#[derive(Serialize)]
struct Proven {
    name: String,
    chain_id: String,
    verified: bool,
    /// Why the proof did not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<ProvenAt>,
    /// Whether the name is registered at the proven height (entry expired or not).
    #[serde(skip_serializing_if = "Option::is_none")]
    registered: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<NameEntry>,
}

/// The block a proof is anchored in.
#[derive(Serialize)]
struct ProvenAt {
    height: Height,
    block_hash: Hash,
    state_root: Hash,
    validator_set: Hash,
    signatures: usize,
}

/// Refuses a proof whose block is older than `max_age_secs` or from the future, by this
/// machine's clock (the rule every client applies, [`check_fresh`]).
pub(super) fn fresh(header: &Header, max_age_secs: u64) -> Result<(), String> {
    check_fresh(header.height, header.time_ms, now_ms(), max_age_secs).map_err(|e| e.to_string())
}

pub async fn name(ctx: &Ctx, input: &str, max_age_secs: u64) -> anyhow::Result<Exit> {
    let name = normalize(input)?;
    let client = ctx.client()?;
    let status = client.status().await?;
    let mut result = Proven {
        name: name.clone(),
        chain_id: status.chain_id.clone(),
        verified: false,
        error: None,
        at: None,
        registered: None,
        active: None,
        entry: None,
    };
    let trusted = match super::trusted(ctx, &status).await? {
        Ok(validators) => validators,
        Err(reason) => return Ok(failed(ctx, result, reason)),
    };
    let proof = client.proof(&name).await?;
    let checked = check(&proof, &name, &status.chain_id, &trusted)
        .and_then(|entry| fresh(&proof.header, max_age_secs).map(|()| entry));
    match checked {
        Err(reason) => Ok(failed(ctx, result, reason)),
        Ok(entry) => {
            result.verified = true;
            result.at = Some(ProvenAt {
                height: proof.header.height,
                block_hash: proof.header.hash(),
                state_root: proof.header.state_root,
                validator_set: proof.validators.hash(),
                signatures: proof.commit.signatures.len(),
            });
            result.registered = Some(entry.is_some());
            result.active = entry.as_ref().map(|e| e.is_active_at(proof.header.height));
            result.entry = entry;
            ctx.out.emit(&result, human);
            Ok(Exit::Ok)
        }
    }
}

/// Verifies `proof` and that it is about `name`; returns the proven entry or its absence.
fn check(
    proof: &StateProof,
    name: &str,
    chain_id: &str,
    trusted: &sigil_core::state::ValidatorSet,
) -> Result<Option<NameEntry>, String> {
    let entry: Option<NameEntry> = proof
        .verify_entry(
            &keys::name(name),
            &format!("the name `{name}`"),
            chain_id,
            trusted,
        )
        .map_err(|e| e.to_string())?;
    if let Some(entry) = &entry
        && entry.name != name
    {
        return Err(format!(
            "the proven entry is of `{}`, not `{name}`",
            entry.name
        ));
    }
    Ok(entry)
}

fn failed(ctx: &Ctx, mut result: Proven, reason: String) -> Exit {
    result.error = Some(reason);
    let what = format!("the proof of {}", result.name);
    not_verified(
        ctx,
        &result,
        &what,
        result.error.as_deref().unwrap_or_default(),
    )
}

/// Reports a proof that does not hold: `result` (its error already set) as JSON, or one line
/// saying which proof (`what`) from which node, and why. Exit 1: nothing was verified.
pub(super) fn not_verified<T: Serialize>(ctx: &Ctx, result: &T, what: &str, reason: &str) -> Exit {
    ctx.out.emit(result, |_| {
        format!(
            "NOT VERIFIED: {what} from {} does not hold: {reason}",
            ctx.node
        )
    });
    Exit::Negative
}

fn human(r: &Proven) -> String {
    let at = r.at.as_ref().expect("a verified proof has its block");
    let anchor = vec![
        vec![
            "block".to_string(),
            format!("height {}, hash {}", at.height, at.block_hash),
        ],
        vec!["state root".into(), at.state_root.to_string()],
        vec![
            "signed by".into(),
            format!(
                "{} trusted validator signature(s), set {}",
                at.signatures, at.validator_set
            ),
        ],
    ];
    let Some(entry) = &r.entry else {
        return format!(
            "verified: {} is not registered (proven absent)\n{}",
            r.name,
            table(&anchor, "  ")
        );
    };
    let state = if r.active == Some(true) {
        format!("active, expires at height {}", entry.expires_at)
    } else {
        format!("expired at height {}", entry.expires_at)
    };
    let mut facts = vec![
        vec!["owner".to_string(), entry.owner.to_string()],
        vec!["status".into(), state],
    ];
    facts.extend(anchor);
    let mut text = format!(
        "verified: {} is registered\n{}",
        r.name,
        table(&facts, "  ")
    );
    text.push_str("records\n");
    if entry.records.is_empty() {
        text.push_str("  (none)\n");
    } else {
        text.push_str(&zone_lines(&entry.name, &entry.records, "  "));
    }
    text
}
