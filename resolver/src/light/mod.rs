//! The light resolver: answers chain names only from state proven against validators it
//! trusts, fetched from peers' HTTP APIs. It keeps the newest header it verified (refreshed
//! in the background, saved in its data folder), a snapshot of the keys proven at that
//! header, and fetches the proofs of the keys an answer lacks at the snapshot's height.
//! Anything it cannot prove is answered SERVFAIL with an Extended DNS Error saying why.

mod metrics;
mod peers;
pub mod snapshot;
mod status;
pub mod trust;
mod unproven;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use sigil_core::block::{Genesis, follow_handoffs};
use sigil_core::limits::MAX_PROOF_KEYS_PER_REQUEST;
use sigil_core::proof::{StateProof, check_fresh};
use sigil_core::read::{NameReader, WrittenKeys};
use sigil_core::state::{CertEntry, IdentityEntry, NameEntry, keys};
use sigil_core::time::now_ms;
use sigil_core::types::Height;
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::answer::{Answer, Validity, answer_tracked};
use crate::limits::{
    MAX_PEER_REQUESTS, MAX_PROOF_ROUNDS, MAX_PROVING_QUESTIONS, MIN_REFRESH_INTERVAL, REFRESH_REUSE,
};
use metrics::LightMetrics;
use peers::{PeerError, Peers};
use snapshot::{Round, Snapshot};
use trust::{TrustState, VerifiedHeader};

pub use metrics::LightRegistry;
pub use trust::TrustFileError;
use unproven::Failures;
pub use unproven::Unproven;

/// How a light resolver is set up.
#[derive(Debug, Clone)]
pub struct LightConfig {
    /// Base URLs of the peers' HTTP APIs, asked in this order.
    pub peers: Vec<String>,
    pub genesis: Genesis,
    /// Where the trust state is kept.
    pub data: PathBuf,
    /// Answers are refused once the newest verified header is older than this.
    pub max_age_secs: u64,
}

/// What a question over the light resolver's snapshot came to without fetching.
pub enum Attempt {
    /// Not a chain name: forward it.
    Outside,
    /// Answered from proven state alone (with what it was computed from, unless it is a
    /// failure not to be cached).
    Answered(Answer, Option<Validity>),
    /// Proofs must be fetched first (or the header refreshed): answer it with
    /// [`Light::prove_answer`].
    NeedsProofs,
}

/// The light resolver's state.
pub struct Light {
    chain_id: String,
    tlds: Arc<[String]>,
    data: PathBuf,
    max_age_secs: u64,
    peers: Peers,
    trust: Mutex<TrustState>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Time of the snapshot's header (0: none), read on every UDP batch.
    header_time_ms: AtomicU64,
    /// One refresh at a time; the last one's end and outcome, reused for a moment so that a
    /// burst of questions while the peers are down makes one attempt.
    refresh: tokio::sync::Mutex<Option<(Instant, Result<(), Unproven>)>>,
    /// Questions waiting for proofs (beyond them, SERVFAIL at once), and requests to peers
    /// under way: a flood of uncached names costs the peers a bounded load.
    proving: Semaphore,
    requests: Semaphore,
    metrics: LightMetrics,
}

/// Why a light resolver cannot start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Trust(#[from] TrustFileError),
    #[error("cannot set up the HTTP client for the peers: {0}")]
    Client(String),
}

impl Light {
    /// The light resolver of `config`, starting from the trust saved in its data folder, or
    /// from the genesis' validators.
    pub fn open(config: LightConfig) -> Result<Light, OpenError> {
        let trust = TrustState::load(&config.data, &config.genesis)?;
        let peers = Peers::new(&config.peers).map_err(OpenError::Client)?;
        let snapshot = trust.newest.as_ref().map(|newest| {
            Arc::new(Snapshot::new(
                newest.header.clone(),
                newest.commit.clone(),
                newest.signed_by.clone(),
            ))
        });
        let time = snapshot.as_ref().map_or(0, |s| s.header.time_ms);
        Ok(Light {
            chain_id: config.genesis.chain_id().to_string(),
            tlds: config.genesis.params.tlds.clone().into(),
            data: config.data,
            max_age_secs: config.max_age_secs,
            peers,
            trust: Mutex::new(trust),
            snapshot: RwLock::new(snapshot),
            header_time_ms: AtomicU64::new(time),
            refresh: tokio::sync::Mutex::new(None),
            proving: Semaphore::new(MAX_PROVING_QUESTIONS),
            requests: Semaphore::new(MAX_PEER_REQUESTS),
            metrics: LightMetrics::default(),
        })
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.snapshot
            .read()
            .expect("snapshot lock poisoned")
            .clone()
    }

    /// Height of the newest verified header (0: none).
    pub fn trusted_height(&self) -> Height {
        self.current().map_or(0, |s| s.height())
    }

    /// Sets the metrics' trusted height and header age to what they are now (before a scrape).
    fn read_gauges(&self) {
        let time = self.header_time_ms.load(Ordering::Relaxed);
        self.metrics
            .trusted_height
            .set(self.trusted_height().try_into().unwrap_or(i64::MAX));
        let age_ms = if time == 0 {
            0
        } else {
            now_ms().saturating_sub(time)
        };
        self.metrics.header_age.set(age_ms as f64 / 1000.0);
    }

    /// Whether the newest verified header is within `--max-age` now.
    pub fn is_fresh(&self) -> bool {
        let time = self.header_time_ms.load(Ordering::Relaxed);
        time != 0 && self.freshness(0, time).is_ok()
    }

    fn freshness(&self, height: Height, time_ms: u64) -> Result<(), Unproven> {
        check_fresh(height, time_ms, now_ms(), self.max_age_secs)
            .map_err(|e| Unproven::Stale(e.to_string()))
    }

    /// Answers `qname` from the snapshot alone if it is fresh and holds every key needed.
    pub fn attempt(&self, qname: &Name, qtype: RecordType) -> Attempt {
        if outside(qname, &self.tlds) {
            return Attempt::Outside;
        }
        let Some(snapshot) = self.current().filter(|_| self.is_fresh()) else {
            return Attempt::NeedsProofs;
        };
        let time_ms = snapshot.header.time_ms;
        let round = Round::new(snapshot, self.tlds.clone());
        let result = answer_tracked(&round, qname, qtype);
        if !round.missing().is_empty() {
            return Attempt::NeedsProofs;
        }
        match result {
            Ok(Some((answer, mut validity))) => {
                // A cached copy holds no longer than its shortest TTL, nor past the moment
                // its header grows older than --max-age.
                let now_secs = (now_ms() / 1000) as i64;
                let shortest_ttl = answer
                    .answers
                    .iter()
                    .chain(&answer.authority)
                    .chain(&answer.additionals)
                    .map(|r| i64::from(r.ttl))
                    .min();
                let stale_at = (time_ms / 1000) as i64 + self.max_age_secs as i64;
                validity.until_secs = validity
                    .until_secs
                    .min(stale_at)
                    .min(shortest_ttl.map_or(i64::MAX, |ttl| now_secs + ttl));
                Attempt::Answered(answer, Some(validity))
            }
            Ok(None) => Attempt::Outside,
            Err(error) => {
                warn!(%qname, %qtype, %error, "proven state does not make an answer");
                Attempt::Answered(Answer::empty(ResponseCode::ServFail), None)
            }
        }
    }

    /// Answers `qname` (a chain name) from proven state, fetching the proofs it lacks: a
    /// bounded number of rounds, each fetching every key the last one found missing.
    pub async fn prove_answer(&self, qname: &Name, qtype: RecordType) -> Answer {
        match self.prove(qname, qtype).await {
            Ok(answer) => answer,
            Err(unproven) => {
                info!(%qname, %qtype, reason = ?unproven, "answer not proven");
                unproven.answer()
            }
        }
    }

    async fn prove(&self, qname: &Name, qtype: RecordType) -> Result<Answer, Unproven> {
        let _waiting = self.proving.try_acquire().map_err(|_| Unproven::Busy)?;
        for _ in 0..MAX_PROOF_ROUNDS {
            let snapshot = self.fresh_snapshot().await?;
            let round = Round::new(snapshot.clone(), self.tlds.clone());
            let result = answer_tracked(&round, qname, qtype);
            let missing = round.missing();
            if missing.is_empty() {
                return Ok(match result {
                    Ok(Some((answer, _))) => answer,
                    Ok(None) => Answer::empty(ResponseCode::Refused),
                    Err(error) => {
                        warn!(%qname, %qtype, %error, "proven state does not make an answer");
                        Answer::empty(ResponseCode::ServFail)
                    }
                });
            }
            self.fetch(&snapshot, &missing).await?;
        }
        Err(Unproven::TooManyRounds)
    }

    /// The current snapshot if its header is fresh; else a refresh first.
    async fn fresh_snapshot(&self) -> Result<Arc<Snapshot>, Unproven> {
        if let Some(snapshot) = self.current()
            && self
                .freshness(snapshot.height(), snapshot.header.time_ms)
                .is_ok()
        {
            return Ok(snapshot);
        }
        self.refresh().await?;
        let snapshot = self.current().ok_or(Unproven::NotReady)?;
        self.freshness(snapshot.height(), snapshot.header.time_ms)?;
        Ok(snapshot)
    }

    /// Fetches and verifies the proofs of `keys` at the snapshot's header into it, asking
    /// the peers in order until one answers with proofs that verify.
    async fn fetch(&self, snapshot: &Snapshot, keys: &[Vec<u8>]) -> Result<(), Unproven> {
        let mut failures = Failures::default();
        for peer in self.peers.order() {
            let mut all = true;
            for chunk in keys.chunks(MAX_PROOF_KEYS_PER_REQUEST) {
                let _request = self.requests.acquire().await.map_err(|_| Unproven::Busy)?;
                let outcome = match self
                    .peers
                    .proofs(peer, chunk, Some(snapshot.height()))
                    .await
                {
                    Ok(proofs) => check_proofs(&self.chain_id, snapshot, chunk, &proofs),
                    Err(e) => Err(e),
                };
                self.metrics.proofs(&outcome, chunk.len());
                if let Err(e) = outcome {
                    failures.note(&self.peers, peer, e);
                    all = false;
                    break;
                }
            }
            if all {
                self.peers.answered(peer);
                return Ok(());
            }
        }
        Err(failures.into_unproven(&self.peers))
    }

    /// Gets the peers' newest header, verified against the trusted set (following validator
    /// changes through their handoffs), and makes it the snapshot's if it is newer. One
    /// refresh at a time; a burst of callers shares the last outcome for a moment.
    pub async fn refresh(&self) -> Result<(), Unproven> {
        let mut last = self.refresh.lock().await;
        if let Some((at, outcome)) = &*last
            && at.elapsed() < REFRESH_REUSE
        {
            return outcome.clone();
        }
        let outcome = self.refresh_now().await;
        *last = Some((Instant::now(), outcome.clone()));
        outcome
    }

    async fn refresh_now(&self) -> Result<(), Unproven> {
        // Any key serves to get a header; the TLD's own name entry, absent, is a small one.
        let key = keys::name(self.tlds.first().map_or("", String::as_str));
        let mut failures = Failures::default();
        for peer in self.peers.order() {
            let outcome = match self
                .peers
                .proofs(peer, std::slice::from_ref(&key), None)
                .await
            {
                Ok(proofs) => self.adopt(peer, &key, proofs).await,
                Err(e) => Err(e),
            };
            self.metrics.header(&outcome);
            match outcome {
                Ok(()) => {
                    self.peers.answered(peer);
                    return Ok(());
                }
                Err(e) => failures.note(&self.peers, peer, e),
            }
        }
        // A header verified earlier that is still fresh serves, whatever the peers say now.
        if self.is_fresh() {
            return Ok(());
        }
        Err(failures.into_unproven(&self.peers))
    }

    /// Verifies the tip proof `proofs` of `key` from `peer` and adopts its header if newer.
    async fn adopt(
        &self,
        peer: usize,
        key: &[u8],
        proofs: Vec<StateProof>,
    ) -> Result<(), PeerError> {
        let [proof] = <[StateProof; 1]>::try_from(proofs)
            .map_err(|p| PeerError::Bogus(format!("answered {} proofs for 1 key", p.len())))?;
        if proof.key != key {
            return Err(PeerError::Bogus("answered the proof of another key".into()));
        }
        let trusted = self
            .trust
            .lock()
            .expect("trust lock poisoned")
            .validators
            .clone();
        let (signed_by, next) = if proof.validators == trusted {
            (trusted, None)
        } else {
            // The validators changed since: follow the peer's handoffs from the trusted set,
            // each signed by the set before it, as the CLI does.
            let handoffs = self.peers.handoffs(peer).await?;
            let reached = follow_handoffs(&self.chain_id, &trusted, &handoffs)
                .map_err(|e| PeerError::Bogus(e.to_string()))?;
            if reached != proof.validators {
                return Err(PeerError::Bogus(format!(
                    "the header is signed by validator set {}, but the validator changes it reports lead from the trusted set {} only to set {}",
                    proof.validators.hash(),
                    trusted.hash(),
                    reached.hash()
                )));
            }
            (reached.clone(), Some(reached))
        };
        proof
            .verify(&self.chain_id, &signed_by)
            .map_err(|e| PeerError::Bogus(e.to_string()))?;
        let header = &proof.header;
        let ahead_ms = header.time_ms.saturating_sub(now_ms());
        if ahead_ms / 1000 > sigil_core::proof::MAX_FUTURE_SKEW_SECS {
            return Err(PeerError::Bogus(format!(
                "header {} claims a time {} s ahead of this clock",
                header.height,
                ahead_ms / 1000
            )));
        }
        // A header older than --max-age cannot vouch for the present: the peer lags, or
        // replays old proofs; the next peer is asked.
        let fresh = check_fresh(header.height, header.time_ms, now_ms(), self.max_age_secs)
            .map_err(|e| PeerError::Stale(e.to_string()));
        let current = self.current();
        if current
            .as_ref()
            .is_some_and(|c| c.height() >= header.height)
        {
            if next.is_some() {
                self.save_trust(next, None);
            }
            return fresh; // nothing newer (the peer may lag): the newer header stays
        }
        // An unchanged state root keeps what was proven, and the cached answers with it.
        let snapshot = Arc::new(match &current {
            Some(current) => current.next(header.clone(), proof.commit.clone(), signed_by.clone()),
            None => Snapshot::new(header.clone(), proof.commit.clone(), signed_by.clone()),
        });
        snapshot.insert(proof.key.clone(), proof.value.clone());
        *self.snapshot.write().expect("snapshot lock poisoned") = Some(snapshot);
        self.header_time_ms.store(header.time_ms, Ordering::Relaxed);
        self.save_trust(
            next,
            Some(VerifiedHeader {
                header: header.clone(),
                commit: proof.commit.clone(),
                signed_by,
            }),
        );
        fresh
    }

    /// Keeps a newly reached validator set and the newest header in the data folder.
    fn save_trust(
        &self,
        validators: Option<sigil_core::state::ValidatorSet>,
        newest: Option<VerifiedHeader>,
    ) {
        let mut trust = self.trust.lock().expect("trust lock poisoned");
        if let Some(set) = validators {
            info!(set = %set.hash(), "following the validators to a new set");
            trust.validators = set;
        }
        if newest.is_some() {
            trust.newest = newest;
        }
        if let Err(e) = trust.save(&self.data) {
            warn!(error = %e, "cannot save what the light resolver trusts; a restart will fetch it again");
        }
    }

    /// Refreshes the header in the background every quarter of `--max-age` (at least every
    /// second), until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let every = Duration::from_secs(self.max_age_secs / 4).max(MIN_REFRESH_INTERVAL);
        let mut ticker = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = self.refresh().await {
                warn!(reason = ?e, "cannot refresh the trusted header");
            }
        }
    }
}

/// Checks that `proofs` prove exactly `keys`, in order, against the snapshot's header and the
/// set that signed it, and keeps their values in the snapshot: all of them, or none when one
/// fails.
fn check_proofs(
    chain_id: &str,
    snapshot: &Snapshot,
    keys: &[Vec<u8>],
    proofs: &[StateProof],
) -> Result<(), PeerError> {
    if proofs.len() != keys.len() {
        return Err(PeerError::Bogus(format!(
            "answered {} proofs for {} keys",
            proofs.len(),
            keys.len()
        )));
    }
    for (key, proof) in keys.iter().zip(proofs) {
        if proof.key != *key {
            return Err(PeerError::Bogus(format!(
                "answered the proof of key {} for key {}",
                hex::encode(&proof.key),
                hex::encode(key)
            )));
        }
        if proof.header != snapshot.header {
            return Err(PeerError::Bogus(format!(
                "answered a proof against another header than the verified one at height {}",
                snapshot.height()
            )));
        }
        proof
            .verify(chain_id, &snapshot.signed_by)
            .map_err(|e| PeerError::Bogus(e.to_string()))?;
    }
    for proof in proofs {
        snapshot.insert(proof.key.clone(), proof.value.clone());
    }
    Ok(())
}

fn outside(qname: &Name, tlds: &[String]) -> bool {
    let mut name = qname.to_lowercase();
    name.set_fqdn(false);
    let spelling = name.to_ascii();
    let spelling = spelling.trim_end_matches('.');
    matches!(
        sigil_core::name::place(spelling, tlds),
        sigil_core::name::Placement::Outside
    )
}

impl NameReader for Light {
    fn tip_height(&self) -> Height {
        self.trusted_height()
    }

    fn tlds(&self) -> &[String] {
        &self.tlds
    }

    /// Nothing, when the state root has not changed since `height` (so the answer cache
    /// keeps its answers across headers of a quiet chain); unknown otherwise: a header gives
    /// no list of the keys its block wrote, and any proven key may have changed.
    fn keys_written_since(&self, height: Height) -> Option<Vec<WrittenKeys>> {
        self.current()
            .filter(|snapshot| snapshot.unchanged_since(height))
            .map(|_| Vec::new())
    }

    // The answers are computed over a `Round` of the snapshot, never through these; they
    // serve readers that want one proven value, and say so when it is not proven.
    fn name_entry(&self, name: &str) -> sigil_core::Result<Option<NameEntry>> {
        self.proven(|round| round.name_entry(name))
    }

    fn active_certs(&self, name: &str) -> sigil_core::Result<Vec<CertEntry>> {
        self.proven(|round| round.active_certs(name))
    }

    fn bound_identity(&self, name: &str) -> sigil_core::Result<Option<IdentityEntry>> {
        self.proven(|round| round.bound_identity(name))
    }
}

impl Light {
    fn proven<T>(
        &self,
        read: impl FnOnce(&Round) -> sigil_core::Result<T>,
    ) -> sigil_core::Result<T> {
        let snapshot = self
            .current()
            .ok_or_else(|| sigil_core::Error::Invalid("no verified header yet".into()))?;
        let round = Round::new(snapshot, self.tlds.clone());
        let value = read(&round)?;
        if round.missing().is_empty() {
            Ok(value)
        } else {
            Err(sigil_core::Error::Invalid(
                "not proven yet at the trusted header".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests;
