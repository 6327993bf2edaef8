//! The HTTP JSON API under `/v1`: submit signed transactions, follow their status, read names,
//! identities, companies (cap tables at any height, as JSON or CSV, holders, histories in
//! pages) and their proofs, blocks and the chain's status. Keys never reach the node. Serve it
//! with [`crate::http::serve`], which bounds what each client may cost.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::error::Error;
use crate::evidence::{self, Equivocation};
use crate::http::{HttpLimits, RateLimiter, guard, limit_rate};
use crate::ledger::StoredBlock;
use crate::mempool::MempoolError;
use crate::metrics::ProofKind;
use crate::node::Node;
use sigil_core::api::{
    AccountInfo, BalanceProof, CertInfo, CertNames, ChainStatus, ClassBalance, ErrorBody,
    HolderInfo, IdentityInfo, NameCerts, NameInfo, OfferingInfo, SubmitBatchRequest,
    SubmitBatchResponse, SubmitRequest, SubmitResponse, TxStatus,
};
use sigil_core::block::Handoff;
use sigil_core::captable::CapTable;
use sigil_core::error::TxError;
use sigil_core::limits::{
    MAX_API_BODY_BYTES, MAX_CERT_NAMES_LISTED, MAX_PAGE_ITEMS, MAX_PROOF_KEY_BYTES,
    MAX_PROOF_KEYS_PER_REQUEST, MAX_SUBMIT_BATCH_TXS,
};
use sigil_core::name;
use sigil_core::paging::{Order, Page, PageRequest};
use sigil_core::proof::{CertProof, StateProof};
use sigil_core::read::NameReader;
use sigil_core::state::{
    CertEntry, CertEvent, CompanyEntry, CompanyEvent, HolderEvent, IdentityEvent, NameEvent,
    OfferingEntry, Subscription, balance, check_id, keys, locked, next_nonce, pending_at,
    slot_of_cursor,
};
use sigil_core::tx::SignedTx;
use sigil_core::types::{Hash, Height, PublicKey};

/// Longest a client may ask `GET /v1/txs/{id}` to wait for finality.
const MAX_WAIT_MS: u64 = 60_000;

/// The API with the default limits.
pub fn router(node: Arc<Node>) -> Router {
    router_with(node, &HttpLimits::default())
}

/// The API with its request deadlines and its per-client rate on expensive endpoints.
pub fn router_with(node: Arc<Node>, limits: &HttpLimits) -> Router {
    let costly = from_fn_with_state(
        RateLimiter::new(limits.expensive_per_sec, limits.expensive_burst),
        limit_rate,
    );
    Router::new()
        .route("/v1/status", get(status).layer(costly.clone()))
        .route("/v1/txs", post(submit))
        .route("/v1/txs/batch", post(submit_batch))
        .route("/v1/txs/{id}", get(tx_status))
        .route("/v1/accounts/{key}", get(account))
        .route("/v1/names/{name}", get(name_entry))
        .route(
            "/v1/names/{name}/history",
            get(name_history).layer(costly.clone()),
        )
        .route(
            "/v1/names/{name}/cert-history",
            get(name_cert_history).layer(costly.clone()),
        )
        .route(
            "/v1/names/{name}/proof",
            get(name_proof).layer(costly.clone()),
        )
        .route("/v1/proofs", get(proofs).layer(costly.clone()))
        .route(
            "/v1/blocks",
            get(crate::explorer::recent_blocks).layer(costly.clone()),
        )
        .route("/v1/blocks/{height}", get(block).layer(costly.clone()))
        .route("/v1/evidence", get(evidence_list).layer(costly.clone()))
        .route(
            "/v1/validators/changes",
            get(validator_changes).layer(costly.clone()),
        )
        .route("/v1/certs/{sha256}", get(cert_names).layer(costly.clone()))
        .route("/v1/certs/{sha256}/proof", get(cert_moved))
        .route(
            "/v1/names/{name}/certs",
            get(name_certs).layer(costly.clone()),
        )
        .route("/v1/names/{name}/certs/{sha256}", get(cert_entry))
        .route(
            "/v1/names/{name}/certs/{sha256}/proof",
            get(cert_proof).layer(costly.clone()),
        )
        .route("/v1/identities/{id}", get(identity).layer(costly.clone()))
        .route(
            "/v1/identities/{id}/history",
            get(identity_history).layer(costly.clone()),
        )
        .route(
            "/v1/identities/{id}/proof",
            get(identity_proof).layer(costly.clone()),
        )
        .route("/v1/companies/{name}", get(company))
        .route(
            "/v1/companies/{name}/captable",
            get(cap_table).layer(costly.clone()),
        )
        .route(
            "/v1/companies/{name}/register",
            get(register_log).layer(costly.clone()),
        )
        .route("/v1/companies/{name}/holders/{holder}", get(holder))
        .route(
            "/v1/companies/{name}/holders/{holder}/history",
            get(holder_history).layer(costly.clone()),
        )
        .route(
            "/v1/companies/{name}/holders/{holder}/balances/{class}/proof",
            get(balance_proof).layer(costly.clone()),
        )
        .route(
            "/v1/companies/{name}/offerings",
            get(offering_list).layer(costly.clone()),
        )
        .route(
            "/v1/companies/{name}/offerings/{offering}",
            get(offering).layer(costly.clone()),
        )
        .route(
            "/v1/companies/{name}/offerings/{offering}/subscriptions",
            get(offering_subscriptions).layer(costly.clone()),
        )
        .route(
            "/v1/companies/{name}/offerings/{offering}/subscriptions/{holder}/proof",
            get(subscription_proof).layer(costly),
        )
        .route("/metrics", get(crate::metrics::scrape))
        .merge(crate::explorer::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint; see the README for the /v1 API",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_API_BODY_BYTES))
        .layer(from_fn_with_state(Arc::new(limits.clone()), guard))
        .with_state(node)
}

/// An error answer: `{"error": {"code": ..., "message": ...}}` with a fitting status, and
/// `"required_bits"` when a transaction needs a bigger work stamp.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    required_bits: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            required_bits: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(bits) = self.required_bits {
            error["required_bits"] = bits.into();
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        tracing::error!(error = %e, "API request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl From<sigil_core::Error> for ApiError {
    fn from(e: sigil_core::Error) -> ApiError {
        Error::from(e).into()
    }
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> ApiError {
        let status = match e {
            TxError::WrongChain { .. }
            | TxError::BadSignature { .. }
            | TxError::BadNonce { .. }
            | TxError::InsufficientWork { .. }
            | TxError::Malformed(_) => StatusCode::BAD_REQUEST,
            TxError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            TxError::NameTaken { .. }
            | TxError::NameInGrace { .. }
            | TxError::DuplicateCommit { .. }
            | TxError::AlreadyVoted { .. }
            | TxError::CertExists { .. }
            | TxError::CertAlreadyRevoked { .. }
            | TxError::IssuerAlreadyAuthorized { .. }
            | TxError::IdentityTaken { .. }
            | TxError::CompanyExists { .. }
            | TxError::OfferingExists { .. }
            | TxError::HolderExists { .. } => StatusCode::CONFLICT,
            TxError::NotOwner { .. }
            | TxError::NotAValidator { .. }
            | TxError::NotCertAuthority { .. }
            | TxError::WrongSigner { .. }
            | TxError::KeyRotatedOut { .. }
            | TxError::IdentityRevoked { .. }
            | TxError::NotOfferingAuthority { .. }
            | TxError::HolderRevoked { .. } => StatusCode::FORBIDDEN,
            TxError::NameNotFound { .. }
            | TxError::CertNotFound { .. }
            | TxError::IdentityNotFound { .. }
            | TxError::CompanyNotFound { .. }
            | TxError::HolderNotFound { .. }
            | TxError::OfferingNotFound { .. }
            | TxError::SubscriptionNotFound { .. }
            | TxError::UnknownClass { .. } => StatusCode::NOT_FOUND,
            TxError::InvalidId { .. }
            | TxError::BadClasses { .. }
            | TxError::BadReason { .. }
            | TxError::BadOffering { .. } => StatusCode::BAD_REQUEST,
            // Well-formed, but refused by the state it would apply to.
            TxError::InvalidName(_)
            | TxError::InvalidRecord(_)
            | TxError::NoCommit { .. }
            | TxError::RevealTooEarly { .. }
            | TxError::RevealTooLate { .. }
            | TxError::RenewTooEarly { .. }
            | TxError::NameExpired { .. }
            | TxError::BadValidatorChange { .. }
            | TxError::InvalidSan(_)
            | TxError::TooManySans { .. }
            | TxError::CertBadWindow { .. }
            | TxError::IssuerNotAuthorized { .. }
            | TxError::TooManyCerts { .. }
            | TxError::BatchSize { .. }
            | TxError::SameKeys { .. }
            | TxError::KeyReused { .. }
            | TxError::KeyHistoryFull { .. }
            | TxError::AmountZero
            | TxError::AmountOverflow { .. }
            | TxError::InsufficientBalance { .. }
            | TxError::SameHolder { .. }
            | TxError::IdentitySuspended { .. }
            | TxError::NoConsent { .. }
            | TxError::CompanyIdTaken { .. }
            | TxError::InvalidCompanyId { .. }
            | TxError::NameHasCompany { .. }
            | TxError::NotCompanyAuthority { .. }
            | TxError::TooManyVotes { .. }
            | TxError::OfferingStatus { .. }
            | TxError::TermsMismatch { .. }
            | TxError::OfferingFull { .. }
            | TxError::TooManyInvestors { .. }
            | TxError::OfferingSlotsFull { .. }
            | TxError::InvestorMax { .. }
            | TxError::SubscriptionState { .. }
            | TxError::CloseTooEarly { .. }
            | TxError::OfferingCloseBusy { .. }
            | TxError::SharesLocked { .. }
            // A batch is refused as a whole, whatever refused one of its certificates.
            | TxError::InBatch { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<MempoolError> for ApiError {
    fn from(e: MempoolError) -> ApiError {
        let required_bits = e.required_bits();
        let code = e.code();
        let mut answer = match e {
            MempoolError::Invalid(tx) => tx.into(),
            MempoolError::Duplicate(_) | MempoolError::DevChainValidators => {
                ApiError::new(StatusCode::CONFLICT, code, e.to_string())
            }
            MempoolError::MoreWork { .. } | MempoolError::TooManyPending { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, e.to_string())
            }
            MempoolError::Internal(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, e.to_string())
            }
        };
        answer.required_bits = required_bits;
        answer
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

type ApiResult<T> = Result<Json<T>, ApiError>;

async fn status(State(node): State<Arc<Node>>) -> ApiResult<ChainStatus> {
    let ledger = node.ledger();
    Ok(Json(ChainStatus {
        chain_id: ledger.params().chain_id.clone(),
        genesis_hash: ledger.genesis().hash(),
        tip: ledger.tip(),
        params: ledger.params().clone(),
        validators: ledger.validators()?,
        last_validator_change: ledger.last_validator_change()?.map(|c| c.height),
        pending_validator_changes: pending_at(&ledger.latest(), ledger.tip().height + 1)?,
        mempool_txs: node.mempool().len(),
        mempool_bytes: node.mempool().bytes(),
        network: node.network_status(),
        consensus: node.activity().round(),
        sync: node.metrics().sync_progress(ledger.tip().height),
        mempool_recheck: node.activity().recheck(),
        light: None,
    }))
}

async fn submit(
    State(node): State<Arc<Node>>,
    Json(req): Json<SubmitRequest>,
) -> Result<(StatusCode, Json<SubmitResponse>), ApiError> {
    let bytes =
        hex::decode(req.tx.trim()).map_err(|e| bad_request(format!("`tx` is not hex: {e}")))?;
    let stx = SignedTx::from_bytes(&bytes)?;
    let id = tokio::task::spawn_blocking(move || node.submit(stx))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    Ok((
        StatusCode::ACCEPTED,
        Json(SubmitResponse {
            id,
            status: TxStatus::Pending,
        }),
    ))
}

/// Several transactions, admitted in order until one is refused: one request instead of one a
/// transaction (an import sends thousands). Each costs what its own submission would.
async fn submit_batch(
    State(node): State<Arc<Node>>,
    Json(req): Json<SubmitBatchRequest>,
) -> Result<(StatusCode, Json<SubmitBatchResponse>), ApiError> {
    if req.txs.len() > MAX_SUBMIT_BATCH_TXS {
        return Err(bad_request(format!(
            "{} transactions in one batch; send at most {MAX_SUBMIT_BATCH_TXS}",
            req.txs.len()
        )));
    }
    let txs = req
        .txs
        .iter()
        .enumerate()
        .map(|(i, hex_tx)| {
            let bytes = hex::decode(hex_tx.trim())
                .map_err(|e| bad_request(format!("`txs[{i}]` is not hex: {e}")))?;
            Ok(SignedTx::from_bytes(&bytes)?)
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let (accepted, refused) = tokio::task::spawn_blocking(move || node.submit_batch(txs))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let refused = refused.map(|e| {
        let e = ApiError::from(e);
        ErrorBody {
            code: e.code.to_string(),
            message: e.message,
            required_bits: e.required_bits,
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(SubmitBatchResponse { accepted, refused }),
    ))
}

#[derive(Debug, Deserialize)]
struct WaitQuery {
    /// Wait up to this many milliseconds for the transaction to leave the mempool.
    wait_ms: Option<u64>,
}

async fn tx_status(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<SubmitResponse> {
    let id: Hash = id.parse().map_err(bad_request)?;
    let mut tips = node.subscribe();
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(q.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    loop {
        let status = node.tx_status(&id)?;
        if status != TxStatus::Pending || tokio::time::Instant::now() >= deadline {
            return Ok(Json(SubmitResponse { id, status }));
        }
        // Wake on the next final block, or at the deadline.
        let _ = tokio::time::timeout_at(deadline, tips.changed()).await;
    }
}

async fn account(State(node): State<Arc<Node>>, Path(key): Path<String>) -> ApiResult<AccountInfo> {
    let key: PublicKey = key.parse().map_err(bad_request)?;
    let final_nonce = next_nonce(&node.ledger().latest(), &key)?;
    let next_nonce = node.mempool().pending_nonce(&key).unwrap_or(final_nonce);
    Ok(Json(AccountInfo {
        key,
        next_nonce,
        final_nonce,
    }))
}

fn parse_name(node: &Node, input: &str) -> Result<String, ApiError> {
    name::registrable(input, node.ledger().tlds()).map_err(|e| ApiError::from(TxError::from(e)))
}

async fn name_entry(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
) -> ApiResult<NameInfo> {
    let name = parse_name(&node, &input)?;
    let height = node.ledger().tip().height;
    match node.ledger().name_entry(&name)? {
        Some(entry) => Ok(Json(NameInfo {
            active: entry.is_active_at(height),
            entry,
            height,
        })),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "name_not_found",
            format!("name `{name}` is not registered"),
        )),
    }
}

/// `?limit=N&cursor=C&order=asc|desc` of a history request.
#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    order: Option<String>,
}

impl PageQuery {
    fn request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest {
            limit: self.limit,
            order: match &self.order {
                Some(order) => order.parse().map_err(bad_request)?,
                None => Order::Asc,
            },
            cursor: self
                .cursor
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(bad_request)?,
        })
    }
}

/// Runs a history read on a blocking thread.
async fn read_page<T: Send + 'static>(
    read: impl FnOnce() -> crate::Result<Page<T>> + Send + 'static,
) -> ApiResult<Page<T>> {
    let page = tokio::task::spawn_blocking(read).await.map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })??;
    Ok(Json(page))
}

async fn name_history(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<NameEvent>> {
    let name = parse_name(&node, &input)?;
    let request = q.request()?;
    let ledger = node.ledger().clone();
    read_page(move || ledger.name_history_page(&name, &request)).await
}

/// The validator set's changes, each with the block and commit that made it, paged.
async fn validator_changes(
    State(node): State<Arc<Node>>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<Handoff>> {
    let request = q.request()?;
    let ledger = node.ledger().clone();
    read_page(move || ledger.handoffs_page(&request)).await
}

async fn name_cert_history(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<CertEvent>> {
    let name = parse_name(&node, &input)?;
    let request = q.request()?;
    let ledger = node.ledger().clone();
    read_page(move || ledger.cert_history_page(&name, &request)).await
}

async fn name_proof(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
) -> ApiResult<StateProof> {
    let name = parse_name(&node, &input)?;
    prove(&node, ProofKind::Name, keys::name(&name)).await
}

async fn block(
    State(node): State<Arc<Node>>,
    Path(height): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<StoredBlock> {
    let height: Height = height
        .parse()
        .map_err(|_| bad_request(format!("`{height}` is not a block height")))?;
    let mut tips = node.subscribe();
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(q.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    loop {
        if let Some(b) = node.ledger().block(height)? {
            return Ok(Json(b));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "block_not_found",
                format!(
                    "no block at height {height}; the tip is {}",
                    node.ledger().tip().height
                ),
            ));
        }
        // Wake on the next final block, or at the deadline.
        let _ = tokio::time::timeout_at(deadline, tips.changed()).await;
    }
}

/// Equivocation seen by this node's consensus engine, oldest first.
async fn evidence_list(State(node): State<Arc<Node>>) -> ApiResult<Vec<Equivocation>> {
    Ok(Json(evidence::list(node.ledger().store(), 1000)?))
}

fn cert_info(node: &Node, entry: CertEntry) -> Result<CertInfo, ApiError> {
    let height = node.ledger().tip().height;
    let name = node.ledger().name_entry(&entry.facts.name)?;
    Ok(CertInfo {
        active: entry.standing(name.as_ref(), height) == sigil_core::state::LedgerStanding::Active,
        entry,
        height,
    })
}

fn parse_sha256(input: &str) -> Result<Hash, ApiError> {
    input.parse().map_err(|e: String| {
        bad_request(format!(
            "{e}; give the certificate's SHA-256 as 64 hex digits"
        ))
    })
}

async fn cert_entry(
    State(node): State<Arc<Node>>,
    Path((name, sha256)): Path<(String, String)>,
) -> ApiResult<CertInfo> {
    let name = parse_name(&node, &name)?;
    let sha256 = parse_sha256(&sha256)?;
    match node.ledger().cert_entry(&name, &sha256)? {
        Some(entry) => Ok(Json(cert_info(&node, entry)?)),
        None => Err(TxError::CertNotFound {
            cert_sha256: sha256,
            name,
        }
        .into()),
    }
}

async fn cert_proof(
    State(node): State<Arc<Node>>,
    Path((name, sha256)): Path<(String, String)>,
) -> ApiResult<CertProof> {
    let name = parse_name(&node, &name)?;
    let sha256 = parse_sha256(&sha256)?;
    node.metrics().proof_requested(ProofKind::Cert);
    node.wait_past_handoff(HANDOFF_WAIT).await?;
    let ledger = node.ledger().clone();
    let proof = tokio::task::spawn_blocking(move || ledger.prove_cert(&name, &sha256))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    Ok(Json(proof))
}

/// Where a certificate stands under every name it was registered under: a certificate counts
/// only under a name, so this finds the names (from the store's index) for a fingerprint.
async fn cert_names(
    State(node): State<Arc<Node>>,
    Path(sha256): Path<String>,
) -> ApiResult<CertNames> {
    let sha256 = parse_sha256(&sha256)?;
    let height = node.ledger().tip().height;
    let mut certs = Vec::new();
    for name in node.ledger().cert_names(&sha256, MAX_CERT_NAMES_LISTED)? {
        if let Some(entry) = node.ledger().cert_entry(&name, &sha256)? {
            certs.push(cert_info(&node, entry)?);
        }
    }
    Ok(Json(CertNames {
        cert_sha256: sha256,
        height,
        certs,
    }))
}

/// The proof route of the time when a certificate hash was global: a proof is of a
/// certificate under a name, so it says where to ask instead.
async fn cert_moved() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "a certificate is proven under a name: ask /v1/names/{name}/certs/{sha256}/proof (GET /v1/certs/{sha256} lists its names)",
    )
}

fn not_found(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, code, message)
}

fn parse_id(what: &'static str, id: &str) -> Result<(), ApiError> {
    check_id(what, id).map_err(ApiError::from)
}

/// Longest a proof waits for the first block a new validator set signed
/// ([`Node::wait_past_handoff`]); after it, the proof is of the tip as it is.
const HANDOFF_WAIT: Duration = Duration::from_secs(10);

/// `GET /v1/proofs?key=HEX&key=HEX...[&height=H]`: one proof per key, in the order asked, all
/// against one header (height `H`, or the tip), for light clients that read many keys at
/// one height.
async fn proofs(
    State(node): State<Arc<Node>>,
    RawQuery(query): RawQuery,
) -> ApiResult<serde_json::Value> {
    let (keys, height) = parse_proof_query(query.as_deref().unwrap_or(""))?;
    node.metrics().proof_requested(ProofKind::Keys);
    let ledger = node.ledger().clone();
    if let Some(height) = height {
        let provable = ledger.provable_heights();
        if !provable.contains(&height) {
            let (status, code) = if height > *provable.end() {
                (StatusCode::NOT_FOUND, "height_not_final")
            } else {
                (StatusCode::GONE, "height_pruned")
            };
            return Err(ApiError::new(
                status,
                code,
                format!(
                    "this node proves heights {}..={}, not {height}; ask for a height in that range (or none for the tip)",
                    provable.start(),
                    provable.end()
                ),
            ));
        }
    } else {
        node.wait_past_handoff(HANDOFF_WAIT).await?;
    }
    let proofs = tokio::task::spawn_blocking(move || {
        let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        ledger.prove_keys(&keys, height)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(Json(json!({ "proofs": proofs })))
}

/// The keys (hex, at least one, at most [`MAX_PROOF_KEYS_PER_REQUEST`]) and the optional
/// height of a `GET /v1/proofs` query.
fn parse_proof_query(query: &str) -> Result<(Vec<Vec<u8>>, Option<Height>), ApiError> {
    let mut keys = Vec::new();
    let mut height = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (field, value) = pair.split_once('=').unwrap_or((pair, ""));
        match field {
            "key" => {
                if keys.len() == MAX_PROOF_KEYS_PER_REQUEST {
                    return Err(bad_request(format!(
                        "at most {MAX_PROOF_KEYS_PER_REQUEST} keys per request; split the request"
                    )));
                }
                let key = hex::decode(value)
                    .ok()
                    .filter(|k| !k.is_empty() && k.len() <= MAX_PROOF_KEY_BYTES)
                    .ok_or_else(|| {
                        bad_request(format!(
                            "key `{value}` is not a state key: give 1 to {MAX_PROOF_KEY_BYTES} bytes in hex"
                        ))
                    })?;
                keys.push(key);
            }
            "height" if height.is_none() => {
                height = Some(
                    value
                        .parse()
                        .map_err(|_| bad_request(format!("`{value}` is not a block height")))?,
                );
            }
            _ => {
                return Err(bad_request(format!(
                    "unknown or repeated query field `{field}`; give key=HEX (repeatable) and at most one height=H"
                )));
            }
        }
    }
    if keys.is_empty() {
        return Err(bad_request("give at least one key=HEX to prove"));
    }
    Ok((keys, height))
}

/// Proves `key` at the tip on a blocking thread.
async fn prove(node: &Node, kind: ProofKind, key: Vec<u8>) -> ApiResult<StateProof> {
    node.metrics().proof_requested(kind);
    node.wait_past_handoff(HANDOFF_WAIT).await?;
    let ledger = node.ledger().clone();
    let proof = tokio::task::spawn_blocking(move || ledger.prove(&key))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    Ok(Json(proof))
}

async fn name_certs(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
) -> ApiResult<NameCerts> {
    let name = parse_name(&node, &input)?;
    let height = node.ledger().tip().height;
    let page = node
        .ledger()
        .cert_history_page(&name, &PageRequest::all_first())?;
    let history = page.items;
    let mut certs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for event in &history {
        if let Some(hash) = event.cert_sha256
            && seen.insert(hash)
            && let Some(entry) = node.ledger().cert_entry(&name, &hash)?
        {
            certs.push(cert_info(&node, entry)?);
        }
    }
    Ok(Json(NameCerts {
        name,
        height,
        certs,
        history,
        history_next_cursor: page.next_cursor,
    }))
}

async fn identity(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> ApiResult<IdentityInfo> {
    parse_id("identity", &id)?;
    let ledger = node.ledger();
    let height = ledger.tip().height;
    let Some(entry) = ledger.identity(&id)? else {
        return Err(TxError::IdentityNotFound { id }.into());
    };
    let history = ledger.identity_history_page(&id, &PageRequest::all_first())?;
    Ok(Json(IdentityInfo {
        entry,
        history: history.items,
        history_next_cursor: history.next_cursor,
        height,
    }))
}

async fn identity_history(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<IdentityEvent>> {
    parse_id("identity", &id)?;
    let request = q.request()?;
    if node.ledger().identity(&id)?.is_none() {
        return Err(TxError::IdentityNotFound { id }.into());
    }
    let ledger = node.ledger().clone();
    read_page(move || ledger.identity_history_page(&id, &request)).await
}

async fn identity_proof(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> ApiResult<StateProof> {
    parse_id("identity", &id)?;
    prove(&node, ProofKind::Identity, keys::identity(&id)).await
}

/// The company `input` names: its id, or a name whose current owner lists it.
fn company_of(node: &Node, input: &str) -> Result<CompanyEntry, ApiError> {
    node.ledger().company(input)?.ok_or_else(|| {
        TxError::CompanyNotFound {
            name: input.to_string(),
        }
        .into()
    })
}

async fn company(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
) -> ApiResult<CompanyEntry> {
    Ok(Json(company_of(&node, &input)?))
}

#[derive(Debug, Deserialize)]
struct CapTableQuery {
    /// The height of the register [default: the tip].
    at: Option<Height>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

async fn cap_table(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
    Query(q): Query<CapTableQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(bad_request(format!(
                "format `{other}` is not known; use `json` or `csv`"
            )));
        }
    };
    let company = company_of(&node, &input)?;
    let tip = node.ledger().tip().height;
    let at = q.at.unwrap_or(tip);
    if at > tip {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "future_height",
            format!("height {at} is not final yet; the tip is {tip}"),
        ));
    }
    let ledger = node.ledger().clone();
    let name = company.id.clone();
    let table: Option<CapTable> = tokio::task::spawn_blocking(move || ledger.cap_table(&name, at))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    let Some(table) = table else {
        return Err(not_found(
            "company_not_found",
            format!(
                "`{}` was not a company yet at height {at}; it was created at height {}",
                company.id, company.created_at
            ),
        ));
    };
    if csv {
        Ok((
            [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            table.to_csv(),
        )
            .into_response())
    } else {
        Ok(Json(table).into_response())
    }
}

async fn holder(
    State(node): State<Arc<Node>>,
    Path((input, holder)): Path<(String, String)>,
) -> ApiResult<HolderInfo> {
    let company = company_of(&node, &input)?;
    parse_id("holder", &holder)?;
    let ledger = node.ledger();
    let height = ledger.tip().height;
    let Some(entry) = ledger.holder(&company.id, &holder)? else {
        return Err(TxError::HolderNotFound {
            company: company.id,
            holder,
        }
        .into());
    };
    let state = ledger.latest();
    let balances = company
        .classes
        .iter()
        .map(|c| {
            Ok(ClassBalance {
                class: c.name.clone(),
                balance: balance(&state, &company.id, &c.name, &holder)?,
                locks: locked(&state, height, &company.id, &c.name, &holder)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Json(HolderInfo {
        entry,
        balances,
        height,
    }))
}

async fn holder_history(
    State(node): State<Arc<Node>>,
    Path((input, holder)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<HolderEvent>> {
    let company = company_of(&node, &input)?;
    parse_id("holder", &holder)?;
    let request = q.request()?;
    if node.ledger().holder(&company.id, &holder)?.is_none() {
        return Err(TxError::HolderNotFound {
            company: company.id,
            holder,
        }
        .into());
    }
    let ledger = node.ledger().clone();
    read_page(move || ledger.holder_history_page(&company.id, &holder, &request)).await
}

async fn register_log(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<CompanyEvent>> {
    let company = company_of(&node, &input)?;
    let request = q.request()?;
    let ledger = node.ledger().clone();
    read_page(move || ledger.register_log_page(&company.id, &request)).await
}

async fn balance_proof(
    State(node): State<Arc<Node>>,
    Path((input, holder, class)): Path<(String, String, String)>,
) -> ApiResult<BalanceProof> {
    let company = company_of(&node, &input)?;
    parse_id("holder", &holder)?;
    if !company.classes.iter().any(|c| c.name == class) {
        return Err(TxError::UnknownClass {
            class,
            classes: company.class_names(),
            company: company.id,
        }
        .into());
    }
    let holder_key = keys::holder(&company.id, &holder);
    let balance_key = keys::balance(&company.id, &class, &holder);
    node.metrics().proof_requested(ProofKind::Balance);
    node.wait_past_handoff(HANDOFF_WAIT).await?;
    let ledger = node.ledger().clone();
    let mut proofs =
        tokio::task::spawn_blocking(move || ledger.prove_keys(&[&holder_key, &balance_key], None))
            .await
            .map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })??;
    let balance = proofs.pop().expect("two proofs for two keys");
    let holder = proofs.pop().expect("two proofs for two keys");
    Ok(Json(BalanceProof { holder, balance }))
}

async fn offering_entry(
    node: &Node,
    input: &str,
    offering: &str,
) -> Result<(CompanyEntry, OfferingEntry), ApiError> {
    let company = company_of(node, input)?;
    parse_id("offering", offering)?;
    match node.ledger().offering(&company.id, offering)? {
        Some(entry) => Ok((company, entry)),
        None => Err(TxError::OfferingNotFound {
            company: company.id,
            offering: offering.to_string(),
        }
        .into()),
    }
}

/// A company's offerings (their entries, as `sigil offering list` prints them), a page at a
/// time.
async fn offering_list(
    State(node): State<Arc<Node>>,
    Path(input): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<OfferingEntry>> {
    let company = company_of(&node, &input)?;
    let request = q.request()?;
    let ledger = node.ledger().clone();
    read_page(move || ledger.offerings_page(&company.id, &request)).await
}

/// `?subscriptions=N` of an offering request: how many subscriptions its first page holds
/// (0: the offering alone, for a client that needs only its terms).
#[derive(Debug, Deserialize)]
struct FirstPageQuery {
    subscriptions: Option<usize>,
}

/// An offering with the first page of its subscriptions.
async fn offering(
    State(node): State<Arc<Node>>,
    Path((input, offering)): Path<(String, String)>,
    Query(query): Query<FirstPageQuery>,
) -> ApiResult<OfferingInfo> {
    let first_page = query.subscriptions.unwrap_or(MAX_PAGE_ITEMS);
    if first_page > MAX_PAGE_ITEMS {
        return Err(bad_request(format!(
            "subscriptions={first_page} is more than a page holds; ask at most {MAX_PAGE_ITEMS}"
        )));
    }
    let (_, entry) = offering_entry(&node, &input, &offering).await?;
    let ledger = node.ledger().clone();
    let height = ledger.tip().height;
    let (entry, page) = tokio::task::spawn_blocking(move || {
        let page = match first_page {
            0 => Page {
                items: Vec::new(),
                next_cursor: None,
            },
            n => ledger.subscriptions_page(&entry, None, Some(n), Order::Asc)?,
        };
        Ok::<_, Error>((entry, page))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(Json(OfferingInfo {
        entry,
        subscriptions: page.items,
        subscriptions_next_cursor: page.next_cursor,
        height,
    }))
}

/// An offering's subscriptions in subscription order, a page at a time.
async fn offering_subscriptions(
    State(node): State<Arc<Node>>,
    Path((input, offering)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<Subscription>> {
    let request = q.request()?;
    let after = match &request.cursor {
        None => None,
        Some(cursor) => Some(slot_of_cursor(cursor).ok_or_else(|| {
            bad_request(format!(
                "cursor `{cursor}` is not one of this list; pass back a `next_cursor` as it was given"
            ))
        })?),
    };
    let (_, entry) = offering_entry(&node, &input, &offering).await?;
    let ledger = node.ledger().clone();
    read_page(move || ledger.subscriptions_page(&entry, after, request.limit, request.order)).await
}

/// The proof of a holder's subscription to an offering (or of its absence).
async fn subscription_proof(
    State(node): State<Arc<Node>>,
    Path((input, offering, holder)): Path<(String, String, String)>,
) -> ApiResult<StateProof> {
    let (company, _) = offering_entry(&node, &input, &offering).await?;
    parse_id("holder", &holder)?;
    prove(
        &node,
        ProofKind::Subscription,
        keys::subscription(&company.id, &offering, &holder),
    )
    .await
}
