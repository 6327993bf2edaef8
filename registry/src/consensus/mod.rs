//! Replication: the Malachite Tendermint engine (`arc-malachitebft-app-channel`) decides blocks
//! among the validators; this module defines the consensus types, codec and signatures and
//! drives the ledger from the engine's messages. See `docs/adr/0004-consensus-malachite.md`.

mod app;
mod assembly;
pub mod codec;
pub mod context;
pub mod crash;
mod hook;
pub mod miss;
pub mod signing;
pub mod stream;
pub mod tips;
pub mod withhold;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use malachitebft_app_channel::app::config::{
    ConsensusConfig as EngineConsensusConfig, NodeConfig, P2pConfig, ValueSyncConfig,
};
use malachitebft_app_channel::app::types::Keypair as NetworkKeypair;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use malachitebft_app_channel::{
    ConsensusContext, EngineHandle, NetworkContext, NetworkIdentity, RequestContext, Signer,
    SyncContext, WalContext, start_engine,
};
use tokio::task::JoinHandle;

pub use malachitebft_app_channel::app::net::Multiaddr;

use self::app::App;
use self::codec::SigilCodec;
use self::context::SigilContext;
use self::crash::CrashHook;
use self::miss::MissProposal;
use self::signing::{SigilSigner, SigilVerifier};
use self::tips::TipsCodec;
use self::withhold::Withhold;
use crate::error::{Error, Result};
use crate::node::Node;
use sigil_core::limits::MAX_SYNC_BLOCKS_PER_RESPONSE;
use sigil_core::types::Keypair;

/// How a validator or full node joins consensus.
#[derive(Debug, Clone)]
pub struct ConsensusConfig {
    /// A name for logs and metrics.
    pub moniker: String,
    /// Where the engine's libp2p swarm listens, e.g. `/ip4/0.0.0.0/tcp/26656`.
    pub listen: Multiaddr,
    /// The validators' (and other nodes') consensus addresses; the engine keeps connections
    /// to them.
    pub persistent_peers: Vec<Multiaddr>,
    /// The engine's write-ahead log file, in the node's data folder.
    pub wal_path: PathBuf,
    pub timeouts: LinearTimeouts,
    /// The engine swarm's identity (its peer id), kept by the node across restarts. `None`:
    /// derived from the validator key, or a fresh one each start on a full node.
    pub identity: Option<Arc<Keypair>>,
}

impl ConsensusConfig {
    /// Defaults for a validator with data in `data_dir`: WAL at `data_dir/consensus/wal`,
    /// timeouts for ~500 ms blocks. The time between blocks is the genesis's
    /// `block_interval_ms`.
    pub fn new(
        moniker: impl Into<String>,
        data_dir: &Path,
        listen: Multiaddr,
        persistent_peers: Vec<Multiaddr>,
    ) -> ConsensusConfig {
        ConsensusConfig {
            moniker: moniker.into(),
            listen,
            persistent_peers,
            wal_path: data_dir.join("consensus").join("wal"),
            timeouts: context::default_timeouts(),
            identity: None,
        }
    }
}

/// Block sync: peers announce their tip every [`SYNC_STATUS_INTERVAL`] (a node that missed a
/// block waits at most that long to learn it can fetch it), and a node behind asks for as many
/// blocks per request as a response carries, so a long catch-up is bound neither by request
/// round trips nor by the engine's per-peer request limit.
fn value_sync_config() -> ValueSyncConfig {
    ValueSyncConfig {
        status_update_interval: SYNC_STATUS_INTERVAL,
        batch_size: MAX_SYNC_BLOCKS_PER_RESPONSE as usize,
        ..ValueSyncConfig::default()
    }
}

const SYNC_STATUS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// The running engine and the loop that answers it.
pub struct ConsensusHandle {
    engine: EngineHandle,
    app: JoinHandle<Result<()>>,
}

impl ConsensusHandle {
    /// Stops the engine and its driver loop.
    pub fn stop(self) {
        self.engine.actor.stop(Some("node stopping".into()));
        self.engine.handle.abort();
        self.app.abort();
    }

    /// Waits until the driver loop ends (the engine stopped, or a store that cannot write
    /// stopped it) and returns its error, if any. Once it has returned, [`Self::stop`] is all
    /// that is left to call.
    pub async fn join(&mut self) -> Result<()> {
        (&mut self.app)
            .await
            .map_err(|e| Error::invalid(format!("the consensus driver panicked: {e}")))?
    }
}

/// What the engine reads from its node configuration.
struct EngineConfig {
    moniker: String,
    consensus: EngineConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }

    fn consensus(&self) -> &EngineConsensusConfig {
        &self.consensus
    }

    fn consensus_mut(&mut self) -> &mut EngineConsensusConfig {
        &mut self.consensus
    }

    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }

    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// Starts the engine over `node`'s ledger and mempool, and spawns the loop that answers it:
/// as validator `key`, or, with `None`, as a full node that votes on nothing and follows the
/// chain (blocks from proposals it sees and from sync, each stored with a commit that carries
/// more than two thirds of the validators' signatures). `node` must not run its own producer
/// (`Node::for_consensus`). Refuses to start on a damaged write-ahead log instead of replaying it.
pub async fn start(
    node: Arc<Node>,
    key: Option<Keypair>,
    config: ConsensusConfig,
) -> Result<ConsensusHandle> {
    check_wal(&config.wal_path)?;
    let chain_id = node.ledger().params().chain_id.clone();
    let remembered = node.ledger().signatures().clone();
    let key = key.map(Arc::new);
    let (identity, consensus_context, author) = match &key {
        Some(key) => {
            let address = key.public();
            let network_key = network_keypair(config.identity.as_deref().unwrap_or(key))?;
            let withhold = Withhold::from_env()?;
            if let Some(hook) = withhold {
                tracing::warn!(%hook, "test hook set: this validator will withhold that vote and go silent");
            }
            let signer = SigilSigner::new(chain_id.clone(), key.clone()).withholding(withhold);
            // ADR-006: prove to peers that this libp2p identity speaks for the validator key.
            let peer_id = network_key.public().to_peer_id().to_bytes();
            let proof = signer
                .sign_validator_proof(address.0.to_vec(), peer_id.clone())
                .await
                .map_err(|e| Error::invalid(format!("signing the validator proof failed: {e}")))?;
            let author = peer_id;
            let proof_bytes = SigilCodec
                .encode(&proof)
                .map_err(|e| Error::invalid(format!("encoding the validator proof failed: {e}")))?;
            (
                NetworkIdentity::new_validator(
                    config.moniker.clone(),
                    network_key,
                    address.to_string(),
                    proof_bytes,
                ),
                ConsensusContext::new_validator(
                    context::Address(address),
                    Box::new(SigilVerifier::new(chain_id.clone(), remembered.clone())),
                    Box::new(signer),
                ),
                author,
            )
        }
        None => {
            // A full node: an address outside the validator set, and no signer (the engine
            // never asks it to sign).
            let identity_key = config
                .identity
                .clone()
                .unwrap_or_else(|| Arc::new(Keypair::generate()));
            let network_key = network_keypair(&identity_key)?;
            let author = network_key.public().to_peer_id().to_bytes();
            (
                NetworkIdentity::new(config.moniker.clone(), network_key, None),
                ConsensusContext::new_full_node(
                    context::Address(identity_key.public()),
                    Box::new(SigilVerifier::new(chain_id.clone(), remembered.clone())),
                ),
                author,
            )
        }
    };

    let crash = CrashHook::from_env()?;
    if let Some(hook) = crash {
        tracing::warn!(%hook, "test hook set: this node will abort at that point");
    }
    let miss = MissProposal::from_env()?;
    if let Some(hook) = miss {
        tracing::warn!(%hook, "test hook set: this node will drop the proposals of that round");
    }
    let engine_config = EngineConfig {
        moniker: config.moniker.clone(),
        consensus: EngineConsensusConfig {
            p2p: P2pConfig {
                listen_addr: config.listen.clone(),
                persistent_peers: config.persistent_peers.clone(),
                ..P2pConfig::default()
            },
            ..EngineConsensusConfig::default()
        },
        value_sync: value_sync_config(),
    };
    let (channels, engine) = start_engine(
        SigilContext,
        engine_config,
        WalContext::new(config.wal_path.clone(), SigilCodec),
        NetworkContext::new(
            identity,
            TipsCodec {
                tips: node.metrics().peer_tips(),
            },
        ),
        consensus_context,
        SyncContext::new(SigilCodec),
        RequestContext::new(100),
    )
    .await
    .map_err(|e| Error::invalid(format!("starting the consensus engine failed: {e:#}")))?;

    let app = App::new(node, key, author, config.timeouts, crash, miss);
    let app = tokio::spawn(app.run(channels));
    Ok(ConsensusHandle { engine, app })
}

/// How many proposals for heights not yet final a node's store holds (what a restart
/// reloads); bounded by the height window and per-round limits in `limits`.
pub fn stored_proposals(store: &dyn crate::store::Store) -> Result<usize> {
    crate::ledger::stored_proposals(store)
}

fn network_keypair(key: &Keypair) -> Result<NetworkKeypair> {
    NetworkKeypair::ed25519_from_bytes(key.signing_key().to_bytes())
        .map_err(|e| Error::invalid(format!("the key is not a network key: {e}")))
}

/// Bytes of the write-ahead log's header (a version and a sequence), before its first entry.
const WAL_HEADER_BYTES: u64 = malachitebft_app_channel::app::wal::log::constants::HEADER_SIZE;

/// Reads and decodes the whole write-ahead log before the engine does: a truncated or corrupted
/// log, or an entry that passes its checksum but does not decode, makes
/// the node refuse to start with the file named (upstream issue #1434: the engine may hang).
///
/// A log shorter than its 12-byte header (version, sequence) is moved aside to `<log>.torn`
/// and the node starts on a fresh one: the engine writes that header, and syncs it, when it
/// creates the file, before any entry; restarting the log at a new height rewrites the
/// sequence in place and truncates to the header, never below it. So such a file comes from a
/// creation cut off (a crash, a full disk) and holds no entry, no vote to remember: it tells
/// no more than no file at all, as a log cut to exactly its header holds nothing either.
pub fn check_wal(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let len = std::fs::metadata(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?
        .len();
    if len > 0 && len < WAL_HEADER_BYTES {
        let torn = path.with_extension("torn");
        std::fs::rename(path, &torn).map_err(|e| {
            Error::invalid(format!(
                "the consensus write-ahead log {} is shorter than its header and cannot be moved aside to {} ({e}); move it aside and restart",
                path.display(),
                torn.display()
            ))
        })?;
        tracing::warn!(
            log = %path.display(),
            moved_to = %torn.display(),
            bytes = len,
            "the consensus write-ahead log is shorter than its {WAL_HEADER_BYTES}-byte header: its creation was cut off before any entry; moved aside, starting on a fresh log"
        );
        return Ok(());
    }
    let damaged = |e: std::io::Error| {
        Error::invalid(format!(
            "the consensus write-ahead log {} is damaged ({e}); move it aside and restart to rejoin consensus from the stored blocks",
            path.display()
        ))
    };
    let mut log = malachitebft_app_channel::app::wal::Log::open(path).map_err(damaged)?;
    // Every entry must pass its checksum and decode as the engine will decode it on replay.
    let entries = malachitebft_engine::wal::log_entries::<SigilContext, _>(&mut log, &SigilCodec)
        .map_err(|e| damaged(std::io::Error::other(e.to_string())))?;
    for entry in entries {
        entry.map_err(damaged)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use malachitebft_app_channel::app::wal::Log;

    #[test]
    fn a_log_entry_that_passes_its_checksum_but_does_not_decode_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        check_wal(&path).expect("no log yet is fine");
        let mut log = Log::open(&path).unwrap();
        log.flush().unwrap();
        drop(log);
        check_wal(&path).expect("an empty log is fine");

        let mut log = Log::open(&path).unwrap();
        // A well-framed entry (length and CRC right) whose bytes are no engine input.
        log.append([0xEE, 1, 2, 3]).unwrap();
        log.flush().unwrap();
        drop(log);
        let err = check_wal(&path).unwrap_err().to_string();
        assert!(
            err.contains("is damaged") && err.contains("move it aside"),
            "{err}"
        );
    }

    /// A log of one height: its header, at sequence `height`, and two entries.
    fn log_with_entries(path: &Path, height: u64) -> Vec<u8> {
        let mut log = Log::open(path).unwrap();
        log.reset(height).unwrap();
        for entry in [[0xEE, 1, 2, 3], [0xEE, 4, 5, 6]] {
            log.append(entry).unwrap();
        }
        log.flush().unwrap();
        drop(log);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_log_cut_inside_its_header_is_moved_aside_and_the_node_starts_on_a_fresh_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        let bytes = log_with_entries(&path, 7);
        assert!(bytes.len() as u64 > WAL_HEADER_BYTES);
        for cut in 0..WAL_HEADER_BYTES as usize {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            check_wal(&path).unwrap_or_else(|e| panic!("cut to {cut} bytes: {e}"));
            let torn = dir.path().join("wal.torn");
            if cut == 0 {
                // An empty file the engine fills with a header itself.
                assert!(path.exists());
            } else {
                assert!(!path.exists(), "cut to {cut} bytes: still in place");
                assert_eq!(std::fs::read(&torn).unwrap(), &bytes[..cut]);
                std::fs::remove_file(&torn).unwrap();
            }
            // The engine opens a fresh log there.
            let log = Log::open(&path).unwrap();
            assert_eq!(log.len(), 0, "cut to {cut} bytes");
            drop(log);
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn a_log_cut_past_its_header_is_kept_and_a_cut_into_an_entry_is_refused_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        let bytes = log_with_entries(&path, 7);
        let header = WAL_HEADER_BYTES as usize;
        // Just the header: a log restarted at its height with no entry yet.
        std::fs::write(&path, &bytes[..header]).unwrap();
        check_wal(&path).expect("a log of just its header is fine");
        assert_eq!(std::fs::read(&path).unwrap(), &bytes[..header]);
        // Past the header, every cut is judged by the entries as before: a partial first
        // entry is dropped (the engine truncates it too) and the log kept; one that leaves a
        // whole entry, well framed but no engine input, is refused with the file named.
        let first_entry_end = header + (bytes.len() - header) / 2;
        for cut in header + 1..bytes.len() {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            match check_wal(&path) {
                Ok(()) => assert!(cut < first_entry_end, "cut to {cut} bytes: accepted"),
                Err(e) => {
                    let err = e.to_string();
                    assert!(cut >= first_entry_end, "cut to {cut} bytes: {err}");
                    assert!(
                        err.contains("is damaged") && err.contains("move it aside"),
                        "cut to {cut} bytes: {err}"
                    );
                }
            }
            assert!(path.exists(), "cut to {cut} bytes: moved");
            assert!(!dir.path().join("wal.torn").exists(), "cut to {cut} bytes");
        }
    }
}
