//! What a light resolver trusts, kept in its data folder: the chain, the validator set it
//! reached from the genesis set through verified handoffs, and the newest header it verified
//! with its commit and signers. Written whole to a temporary file, synced, and renamed over
//! the old one, so a crash leaves the old state or the new one.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sigil_core::block::{Commit, Genesis, Header};
use sigil_core::state::ValidatorSet;
use sigil_core::types::Hash;

/// File name of the trust state in the data folder.
pub const TRUST_FILE: &str = "light-trust.json";

/// The newest verified header, its commit, and the set that signed it (the trusted set, or
/// the one before it when the header hands over to a new set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedHeader {
    pub header: Header,
    pub commit: Commit,
    pub signed_by: ValidatorSet,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustState {
    pub chain_id: String,
    pub genesis_hash: Hash,
    /// The validator set proofs are checked against.
    pub validators: ValidatorSet,
    pub newest: Option<VerifiedHeader>,
}

/// Why the saved trust cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustFileError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is damaged ({detail}); delete it to start again from the genesis' validators")]
    Damaged { path: PathBuf, detail: String },
    /// `saved` and `given` name each chain: its id and genesis hash.
    #[error(
        "{path} trusts chain {saved}, not chain {given} of the given genesis file; use another --data folder"
    )]
    OtherChain {
        path: PathBuf,
        saved: String,
        given: String,
    },
    #[error("cannot write {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

impl TrustState {
    /// Trust from the genesis alone: its validators, no header yet.
    pub fn from_genesis(genesis: &Genesis) -> TrustState {
        TrustState {
            chain_id: genesis.chain_id().to_string(),
            genesis_hash: genesis.hash(),
            validators: genesis.validators.clone(),
            newest: None,
        }
    }

    /// The trust saved in `dir` for the chain of `genesis`, or the genesis' own when none
    /// was saved.
    pub fn load(dir: &Path, genesis: &Genesis) -> Result<TrustState, TrustFileError> {
        let path = dir.join(TRUST_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TrustState::from_genesis(genesis));
            }
            Err(cause) => return Err(TrustFileError::Read { path, cause }),
        };
        let saved: TrustState =
            serde_json::from_str(&text).map_err(|e| TrustFileError::Damaged {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        if saved.chain_id != genesis.chain_id() || saved.genesis_hash != genesis.hash() {
            return Err(TrustFileError::OtherChain {
                path,
                saved: format!("`{}` (genesis {})", saved.chain_id, saved.genesis_hash),
                given: format!("`{}` (genesis {})", genesis.chain_id(), genesis.hash()),
            });
        }
        Ok(saved)
    }

    /// Writes the state to `dir` atomically: a synced temporary file renamed over the old
    /// one, and the folder synced.
    pub fn save(&self, dir: &Path) -> Result<(), TrustFileError> {
        let path = dir.join(TRUST_FILE);
        serde_json::to_vec_pretty(self)
            .map_err(std::io::Error::other)
            .and_then(|json| sigil_core::durable::replace(&path, &json))
            .map_err(|cause| TrustFileError::Write { path, cause })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigil_core::block::tx_root;
    use sigil_core::state::ChainParams;
    use sigil_core::types::Keypair;

    fn genesis(chain: &str) -> (Genesis, Keypair) {
        let key = Keypair::generate();
        let params = ChainParams {
            chain_id: chain.into(),
            tlds: vec!["sigil".into()],
            reveal_min_blocks: 1,
            reveal_max_blocks: 10,
            name_ttl_blocks: 100,
            grace_blocks: 10,
            block_interval_ms: 1000,
            work: Default::default(),
        };
        let genesis = Genesis {
            genesis_time_ms: 1,
            params,
            validators: ValidatorSet::equal_power([key.public()]),
        };
        (genesis, key)
    }

    #[test]
    fn saved_trust_comes_back_whole_and_only_for_its_chain() {
        let dir = std::env::temp_dir().join(format!("sigil-trust-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (g, key) = genesis("light-test");
        // Nothing saved: the genesis' set, no header.
        let fresh = TrustState::load(&dir, &g).unwrap();
        assert_eq!(fresh, TrustState::from_genesis(&g));
        let header = Header {
            chain_id: "light-test".into(),
            height: 7,
            time_ms: 42,
            prev_hash: Hash::ZERO,
            tx_root: tx_root(&[]),
            state_root: Hash([3; 32]),
            validators_hash: g.validators.hash(),
            next_validators_hash: g.validators.hash(),
            proposer: key.public(),
        };
        let mut state = fresh.clone();
        state.newest = Some(VerifiedHeader {
            commit: Commit::sign(&header, 0, &key),
            header,
            signed_by: g.validators.clone(),
        });
        state.save(&dir).unwrap();
        assert_eq!(TrustState::load(&dir, &g).unwrap(), state);
        assert!(!dir.join(format!("{TRUST_FILE}.tmp")).exists());
        // Another chain's genesis does not get this trust.
        let (other, _) = genesis("other-chain");
        let err = TrustState::load(&dir, &other).unwrap_err();
        assert!(matches!(err, TrustFileError::OtherChain { .. }), "{err}");
        // A damaged file says so instead of trusting anything.
        fs::write(dir.join(TRUST_FILE), b"{not json").unwrap();
        let err = TrustState::load(&dir, &g).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }
}
