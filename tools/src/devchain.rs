//! The files of a chain in a data folder: `genesis.json`, the validator's key
//! (`validator.pem`, PKCS#8) and the database (`db/`). `--dev` creates a single-validator
//! chain there on first start.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, EncodePrivateKey, KeypairBytes, spki::der::pem::LineEnding,
};
use sigil_core::block::Genesis;
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::time::now_ms;
use sigil_core::types::Keypair;

pub const GENESIS_FILE: &str = "genesis.json";
pub const VALIDATOR_KEY_FILE: &str = "validator.pem";
pub const DB_DIR: &str = "db";

/// Parameters of a development chain: short commit-reveal windows, half-second blocks,
/// names that live a year.
pub fn dev_params(chain_id: String) -> ChainParams {
    const BLOCKS_PER_DAY: u64 = 2 * 60 * 60 * 24;
    ChainParams {
        chain_id,
        tlds: vec!["sigil".to_string()],
        reveal_min_blocks: 2,
        reveal_max_blocks: 600,
        name_ttl_blocks: 365 * BLOCKS_PER_DAY,
        grace_blocks: 30 * BLOCKS_PER_DAY,
        block_interval_ms: 500,
        // No work stamps: a development chain stays fast.
        work: Default::default(),
    }
}

/// The chain in `dir`: its genesis and this node's validator key, if it is a validator.
pub struct ChainFiles {
    pub genesis: Genesis,
    pub validator: Option<Keypair>,
    pub db: PathBuf,
}

/// Whether `dir` already holds a chain.
pub fn exists(dir: &Path) -> bool {
    dir.join(GENESIS_FILE).exists()
}

/// Creates a single-validator development chain in `dir`.
pub fn create(dir: &Path) -> anyhow::Result<ChainFiles> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    let validator = Keypair::generate();
    let chain_id = format!("sigil-dev-{}", &validator.public().to_string()[..8]);
    let genesis = Genesis {
        genesis_time_ms: now_ms(),
        params: dev_params(chain_id),
        validators: ValidatorSet::equal_power([validator.public()]),
    };
    write_private(
        &dir.join(VALIDATOR_KEY_FILE),
        validator_pem(&validator)?.as_bytes(),
    )?;
    // Genesis last: its presence marks a complete chain folder.
    write_genesis(dir, &genesis)?;
    Ok(ChainFiles {
        genesis,
        validator: Some(validator),
        db: dir.join(DB_DIR),
    })
}

/// Writes `genesis.json` into `dir` atomically and durably.
pub fn write_genesis(dir: &Path, genesis: &Genesis) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(genesis)?;
    let path = dir.join(GENESIS_FILE);
    sigil_core::durable::replace(&path, json.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Loads the chain in `dir`, with the validator key if the folder has one (a full node has none).
pub fn load(dir: &Path) -> anyhow::Result<ChainFiles> {
    let genesis_path = dir.join(GENESIS_FILE);
    let text = fs::read_to_string(&genesis_path).with_context(|| {
        format!(
            "no chain in {}; start with --dev to create a development chain there",
            dir.display()
        )
    })?;
    let genesis: Genesis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid genesis file", genesis_path.display()))?;
    let key_path = dir.join(VALIDATOR_KEY_FILE);
    let validator = if key_path.exists() {
        let pem = fs::read_to_string(&key_path)
            .with_context(|| format!("cannot read the validator key {}", key_path.display()))?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            anyhow::anyhow!("{} is not a PKCS#8 ed25519 key: {e}", key_path.display())
        })?;
        // Not checked against the genesis set: validators join and leave by governance. A
        // development producer checks the current set itself (`Node::new`).
        Some(Keypair::from_signing_key(key))
    } else {
        None
    };
    Ok(ChainFiles {
        genesis,
        validator,
        db: dir.join(DB_DIR),
    })
}

/// PKCS#8 v1 (secret only): the form `openssl pkey` reads; the v2 form with the public key is refused by OpenSSL 3.
pub fn validator_pem(key: &Keypair) -> anyhow::Result<String> {
    Ok(KeypairBytes {
        secret_key: key.signing_key().to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .map_err(|e| anyhow::anyhow!("cannot encode the validator key: {e}"))?
    .to_string())
}

/// Creates a file readable by its owner only, whole and durably; an existing file is an error.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let created = sigil_core::durable::create_private(path, bytes)
        .with_context(|| format!("cannot create {}", path.display()))?;
    anyhow::ensure!(
        created,
        "cannot create {}: it exists already",
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_chain_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let created = create(dir.path()).unwrap();
        assert!(exists(dir.path()));
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.genesis, created.genesis);
        assert_eq!(
            loaded.validator.unwrap().public(),
            created.validator.unwrap().public()
        );
    }

    #[test]
    fn missing_chain_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path()).err().unwrap().to_string();
        assert!(err.contains("--dev"), "{err}");
    }
}
