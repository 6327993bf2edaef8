//! Trusted validator sets, pinned per chain on first contact (`<keystore>/chains/<chain>.json`)
//! and compared with what the node reports on every later proof check; validator changes are
//! followed through the handoffs the chain reports, each checked against the set before it.

use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sigil_core::api::ChainStatus;
use sigil_core::block::follow_handoffs;
use sigil_core::state::ValidatorSet;
use sigil_core::types::Hash;

use crate::client::Client;
use crate::keystore::{Keystore, write_private_replace};

/// What is remembered of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub chain_id: String,
    pub genesis_hash: Hash,
    pub validators: ValidatorSet,
}

/// The outcome of checking a node's chain against the pin.
#[derive(Debug)]
pub enum Trust {
    /// The set to verify proofs against; `first_contact` when it was pinned just now.
    Trusted {
        validators: ValidatorSet,
        first_contact: bool,
        file: PathBuf,
    },
    /// The node's chain differs from the pinned one: nothing it proves can be believed.
    Mismatch { reason: String },
}

/// The chains pinned in `keystore` other than `except`, by name, sorted.
pub fn pinned_chains(keystore: &Keystore, except: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(keystore.dir().join("chains")) else {
        return Vec::new();
    };
    let mut chains: Vec<String> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let chain = name.strip_suffix(".json")?;
            (chain != except).then(|| format!("`{chain}`"))
        })
        .collect();
    chains.sort();
    chains
}

/// Checks the chain `status` describes against its pin, pinning it on first contact; when
/// the validators differ from the pinned ones, follows the node's validator changes (read
/// through `client`) from the pinned set.
pub async fn check(
    keystore: &Keystore,
    status: &ChainStatus,
    client: &Client,
) -> anyhow::Result<Trust> {
    let chain_id = &status.chain_id;
    if chain_id.is_empty()
        || !chain_id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        || chain_id.starts_with('.')
    {
        anyhow::bail!(
            "the node reports chain id `{chain_id}`, which cannot name a file; is it a Sigil node?"
        );
    }
    let file = keystore
        .dir()
        .join("chains")
        .join(format!("{chain_id}.json"));
    let reported = Pin {
        chain_id: chain_id.clone(),
        genesis_hash: status.genesis_hash,
        validators: status.validators.clone(),
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            keystore.private_dir(Some("chains"))?;
            let json = serde_json::to_string_pretty(&reported).expect("a pin serializes");
            write_private_replace(&file, json.as_bytes())?;
            return Ok(Trust::Trusted {
                validators: reported.validators,
                first_contact: true,
                file,
            });
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let pinned: Pin = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is damaged; delete it to trust the node's validators again",
            file.display()
        )
    })?;
    let reason = if pinned.genesis_hash != reported.genesis_hash {
        Some(format!(
            "the node's chain `{chain_id}` has genesis {}, but the chain pinned in {} has genesis {}; \
             the node serves a different chain under the same id",
            reported.genesis_hash,
            file.display(),
            pinned.genesis_hash
        ))
    } else if pinned.validators != reported.validators {
        // Validators change by governance: follow the chain's handoffs from the pinned set,
        // each signed by the set before it, and pin the set they lead to.
        let handoffs = client.handoffs().await?;
        match follow_handoffs(chain_id, &pinned.validators, &handoffs) {
            Ok(set) if set == reported.validators => {
                let json = serde_json::to_string_pretty(&reported).expect("a pin serializes");
                write_private_replace(&file, json.as_bytes())?;
                None
            }
            outcome => Some(format!(
                "the node reports validator set {} for chain `{chain_id}`, but {} pins set {} and {}; \
                 if the validators really changed, delete that file to trust the new set",
                reported.validators.hash(),
                file.display(),
                pinned.validators.hash(),
                match outcome {
                    Ok(set) => format!(
                        "the validator changes it reports lead only to set {}",
                        set.hash()
                    ),
                    Err(e) => e.to_string(),
                }
            )),
        }
    } else {
        None
    };
    Ok(match reason {
        Some(reason) => Trust::Mismatch { reason },
        None => Trust::Trusted {
            validators: reported.validators,
            first_contact: false,
            file,
        },
    })
}
