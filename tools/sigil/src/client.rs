//! The node's HTTP API (`/v1`) as typed calls, with errors that name the node and what to do.

use std::time::Duration;

use anyhow::Context;
use serde::de::DeserializeOwned;
use sigil_core::api::{
    AccountInfo, BalanceProof, CertInfo, ChainStatus, DnsAnchor, HolderInfo, IdentityInfo,
    NameCerts, NameInfo, OfferingInfo, SubmitBatchRequest, SubmitBatchResponse, SubmitResponse,
};
use sigil_core::block::Handoff;
use sigil_core::captable::CapTable;
use sigil_core::limits::{API_HEAD_TIMEOUT_MS, MAX_PAGE_ITEMS};
use sigil_core::paging::{Cursor, Page};
use sigil_core::proof::{CertProof, StateProof};
use sigil_core::state::NameEvent;
use sigil_core::state::{CompanyEntry, CompanyEvent, HolderEvent, OfferingEntry, Subscription};
use sigil_core::tx::SignedTx;
use sigil_core::types::{Hash, Height, PublicKey};

/// Longest a single request may take; above the node's longest long-poll (60 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Times a read refused for its rate is asked again before the refusal is reported.
const RATE_RETRIES: u32 = 60;
/// The pause before asking again when the node gives no `Retry-After`...
const RATE_PAUSE: Duration = Duration::from_secs(1);
/// ...and the longest one whatever it gives.
const MAX_RATE_PAUSE: Duration = Duration::from_secs(10);

/// Which part of a history to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listing {
    pub newest_first: bool,
    /// Entries at most; `None`: the whole history.
    pub limit: Option<usize>,
}

impl From<crate::args::ListingArgs> for Listing {
    fn from(args: crate::args::ListingArgs) -> Listing {
        Listing {
            newest_first: args.newest_first,
            limit: args.limit,
        }
    }
}

/// Entries of a history, read page by page.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// The history goes on past the listing's limit.
    pub more: bool,
}

/// An error answer of the node: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone)]
pub struct NodeError {
    pub code: String,
    pub message: String,
    /// The work stamp bits the node asks for, when it refused for too little work.
    pub required_bits: Option<u32>,
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the node refused: {} ({})", self.message, self.code)
    }
}

impl std::error::Error for NodeError {}

/// The node could not be reached or did not answer in time: worth asking again later.
#[derive(Debug, Clone)]
pub struct Unreachable(pub String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// Whether `e` says the node could not be reached (rather than what it answered).
pub fn is_unreachable(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Unreachable>().is_some()
}

/// The node's error code of `e`, if `e` is an error answer of the node.
pub fn node_code(e: &anyhow::Error) -> Option<&str> {
    e.downcast_ref::<NodeError>().map(|n| n.code.as_str())
}

/// The stamp bits the node asked for, if it refused a transaction for too little work.
pub fn required_bits(e: &anyhow::Error) -> Option<u32> {
    e.downcast_ref::<NodeError>().and_then(|n| n.required_bits)
}

pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(node: &str) -> anyhow::Result<Client> {
        let url = reqwest::Url::parse(node).map_err(|e| {
            anyhow::anyhow!(
                "--node `{node}` is not a URL ({e}); give one such as http://127.0.0.1:8645"
            )
        })?;
        match url.scheme() {
            "http" => {}
            "https" => anyhow::bail!(
                "--node `{node}`: sigild serves its API over plain HTTP, not HTTPS; use http://{}",
                url.host_str()
                    .map(|h| match url.port() {
                        Some(p) => format!("{h}:{p}"),
                        None => h.to_string(),
                    })
                    .unwrap_or_else(|| "127.0.0.1:8645".into())
            ),
            _ => anyhow::bail!(
                "--node `{node}` is not an http:// URL; give one such as http://127.0.0.1:8645"
            ),
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // The node closes a connection that sends no request for API_HEAD_TIMEOUT_MS; one
            // kept idle that long (a long import between two requests) would fail on reuse.
            .pool_idle_timeout(Duration::from_millis(API_HEAD_TIMEOUT_MS / 2))
            .user_agent(concat!("sigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Client {
            http,
            base: node.trim_end_matches('/').to_string(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn status(&self) -> anyhow::Result<ChainStatus> {
        self.get("/v1/status").await
    }

    /// The trust anchor of the node's DNSSEC-signed DNS answers.
    pub async fn dns_anchor(&self) -> anyhow::Result<DnsAnchor> {
        self.get("/v1/dns/anchor").await
    }

    /// Submits a signed transaction; returns its id once the node has queued it.
    pub async fn submit(&self, stx: &SignedTx) -> anyhow::Result<Hash> {
        let body = serde_json::json!({ "tx": hex::encode(stx.to_bytes()) });
        let response = self
            .http
            .post(self.url("/v1/txs"))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let answer: SubmitResponse = self.read(response).await?;
        Ok(answer.id)
    }

    /// Submits `txs` in one request (`POST /v1/txs/batch`): the ids of those admitted (the
    /// first ones, in order) and the node's refusal of the next, if one was refused.
    pub async fn submit_batch(
        &self,
        txs: &[SignedTx],
    ) -> anyhow::Result<(Vec<Hash>, Option<anyhow::Error>)> {
        let body = SubmitBatchRequest {
            txs: txs.iter().map(|stx| hex::encode(stx.to_bytes())).collect(),
        };
        let response = self
            .http
            .post(self.url("/v1/txs/batch"))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let answer: SubmitBatchResponse = self.read(response).await?;
        let refused = answer.refused.map(|e| {
            NodeError {
                code: e.code,
                message: e.message,
                required_bits: e.required_bits,
            }
            .into()
        });
        Ok((answer.accepted, refused))
    }

    /// The status of a transaction, waiting up to `wait_ms` for it to leave the mempool.
    pub async fn tx_status(&self, id: &Hash, wait_ms: u64) -> anyhow::Result<SubmitResponse> {
        self.get(&format!("/v1/txs/{id}?wait_ms={wait_ms}")).await
    }

    pub async fn account(&self, key: &PublicKey) -> anyhow::Result<AccountInfo> {
        self.get(&format!("/v1/accounts/{key}")).await
    }

    /// A name's entry, or `None` if it is not registered.
    pub async fn name(&self, name: &str) -> anyhow::Result<Option<NameInfo>> {
        match self.get(&format!("/v1/names/{name}")).await {
            Ok(info) => Ok(Some(info)),
            Err(e) if node_code(&e) == Some("name_not_found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every change of the validator set, oldest first, read page by page.
    pub async fn handoffs(&self) -> anyhow::Result<Vec<Handoff>> {
        Ok(self
            .pages("/v1/validators/changes", Listing::default())
            .await?
            .items)
    }

    pub async fn history(&self, name: &str, listing: Listing) -> anyhow::Result<Listed<NameEvent>> {
        self.pages(&format!("/v1/names/{name}/history"), listing)
            .await
    }

    /// Reads a paged history (`path` takes `?limit&order&cursor`) page by page, up to the
    /// listing's limit.
    pub async fn pages<T: DeserializeOwned>(
        &self,
        path: &str,
        listing: Listing,
    ) -> anyhow::Result<Listed<T>> {
        let order = if listing.newest_first { "desc" } else { "asc" };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let wanted = listing
                .limit
                .map_or(MAX_PAGE_ITEMS, |l| l.saturating_sub(items.len()))
                .min(MAX_PAGE_ITEMS);
            if wanted == 0 {
                return Ok(Listed { items, more: true });
            }
            let mut url = format!("{path}?limit={wanted}&order={order}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Page<T> = self.get(&url).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(Listed { items, more: false }),
            }
        }
    }

    pub async fn proof(&self, name: &str) -> anyhow::Result<StateProof> {
        self.get(&format!("/v1/names/{name}/proof")).await
    }

    /// The entry of a name's certificate, or `None` if it is not registered for the name.
    pub async fn cert(&self, name: &str, sha256: &Hash) -> anyhow::Result<Option<CertInfo>> {
        self.get_optional(
            &format!("/v1/names/{name}/certs/{sha256}"),
            "cert_not_found",
        )
        .await
    }

    /// An identity with its whole history, or `None` if there is none.
    pub async fn identity(&self, id: &str) -> anyhow::Result<Option<IdentityInfo>> {
        let info: Option<IdentityInfo> = self
            .get_optional(&format!("/v1/identities/{id}"), "identity_not_found")
            .await?;
        let Some(mut info) = info else {
            return Ok(None);
        };
        // The answer carries the first page; read on where it stops.
        while let Some(cursor) = info.history_next_cursor.take() {
            let page: Page<sigil_core::state::IdentityEvent> = self
                .get(&format!(
                    "/v1/identities/{id}/history?limit={MAX_PAGE_ITEMS}&cursor={cursor}"
                ))
                .await?;
            info.history.extend(page.items);
            info.history_next_cursor = page.next_cursor;
        }
        Ok(Some(info))
    }

    /// A company, or `None` if the name is not one.
    pub async fn company(&self, name: &str) -> anyhow::Result<Option<CompanyEntry>> {
        self.get_optional(&format!("/v1/companies/{name}"), "company_not_found")
            .await
    }

    /// A holder with its balances, or `None` if the company has no such holder.
    pub async fn holder(&self, company: &str, holder: &str) -> anyhow::Result<Option<HolderInfo>> {
        self.get_optional(
            &format!("/v1/companies/{company}/holders/{holder}"),
            "holder_not_found",
        )
        .await
    }

    /// An offering (terms, status, totals) without its subscriptions, or `None` if there is
    /// none.
    pub async fn offering(
        &self,
        company: &str,
        offering: &str,
    ) -> anyhow::Result<Option<OfferingInfo>> {
        self.get_optional(
            &format!("/v1/companies/{company}/offerings/{offering}?subscriptions=0"),
            "offering_not_found",
        )
        .await
    }

    /// An offering with every subscription, read page by page, or `None` if there is none.
    pub async fn offering_in_full(
        &self,
        company: &str,
        offering: &str,
    ) -> anyhow::Result<Option<OfferingInfo>> {
        let Some(mut info) = self
            .get_optional::<OfferingInfo>(
                &format!("/v1/companies/{company}/offerings/{offering}"),
                "offering_not_found",
            )
            .await?
        else {
            return Ok(None);
        };
        // The answer carries the first page; read on where it stops.
        while let Some(cursor) = info.subscriptions_next_cursor.take() {
            let page: Page<Subscription> = self
                .get(&format!(
                    "/v1/companies/{company}/offerings/{offering}/subscriptions?limit={MAX_PAGE_ITEMS}&cursor={cursor}"
                ))
                .await?;
            info.subscriptions.extend(page.items);
            info.subscriptions_next_cursor = page.next_cursor;
        }
        Ok(Some(info))
    }

    /// Every offering of a company, read page by page.
    pub async fn offerings(&self, company: &str) -> anyhow::Result<Listed<OfferingEntry>> {
        self.pages(
            &format!("/v1/companies/{company}/offerings"),
            Listing::default(),
        )
        .await
    }

    pub async fn holder_history(
        &self,
        company: &str,
        holder: &str,
        listing: Listing,
    ) -> anyhow::Result<Listed<HolderEvent>> {
        self.pages(
            &format!("/v1/companies/{company}/holders/{holder}/history"),
            listing,
        )
        .await
    }

    /// One page of the register log of `company`, oldest first, from `cursor` on.
    pub async fn register_log_page(
        &self,
        company: &str,
        cursor: &Cursor,
    ) -> anyhow::Result<Page<CompanyEvent>> {
        self.get(&format!(
            "/v1/companies/{company}/register?limit={MAX_PAGE_ITEMS}&order=asc&cursor={cursor}"
        ))
        .await
    }

    /// The register of `company` at `at` (the tip if `None`).
    pub async fn cap_table(&self, company: &str, at: Option<u64>) -> anyhow::Result<CapTable> {
        self.get(&cap_table_path(company, at, "json")).await
    }

    /// The register of `company` at `at` as CSV, made by the node.
    pub async fn cap_table_csv(&self, company: &str, at: Option<u64>) -> anyhow::Result<String> {
        let response = self
            .http
            .get(self.url(&cap_table_path(company, at, "csv")))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if response.status().is_success() {
            return response.text().await.map_err(|e| self.unreachable(e));
        }
        self.read::<serde_json::Value>(response).await?;
        anyhow::bail!("the node answered the CSV request with a JSON document")
    }

    pub async fn balance_proof(
        &self,
        company: &str,
        holder: &str,
        class: &str,
    ) -> anyhow::Result<BalanceProof> {
        self.get(&format!(
            "/v1/companies/{company}/holders/{holder}/balances/{class}/proof"
        ))
        .await
    }

    /// The proof of an identity's entry (or of its absence).
    pub async fn identity_proof(&self, id: &str) -> anyhow::Result<StateProof> {
        self.get(&format!("/v1/identities/{id}/proof")).await
    }

    pub async fn subscription_proof(
        &self,
        company: &str,
        offering: &str,
        holder: &str,
    ) -> anyhow::Result<StateProof> {
        self.get(&format!(
            "/v1/companies/{company}/offerings/{offering}/subscriptions/{holder}/proof"
        ))
        .await
    }

    /// `get`, with the error answer `absent` meaning `None`.
    async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
        absent: &str,
    ) -> anyhow::Result<Option<T>> {
        match self.get(path).await {
            Ok(value) => Ok(Some(value)),
            Err(e) if node_code(&e) == Some(absent) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The proof of a name's certificate (present or absent) and of the name.
    pub async fn cert_proof(&self, name: &str, sha256: &Hash) -> anyhow::Result<CertProof> {
        self.get(&format!("/v1/names/{name}/certs/{sha256}/proof"))
            .await
    }

    /// Every certificate ever bound to a name, and its certificate history.
    pub async fn name_certs(&self, name: &str) -> anyhow::Result<NameCerts> {
        self.get(&format!("/v1/names/{name}/certs")).await
    }

    /// The proofs of `keys` (at most `MAX_PROOF_KEYS_PER_REQUEST`), all against the header at
    /// `height`; not verified here.
    pub async fn proofs_at(
        &self,
        keys: &[Vec<u8>],
        height: Height,
    ) -> anyhow::Result<Vec<StateProof>> {
        #[derive(serde::Deserialize)]
        struct Proofs {
            proofs: Vec<StateProof>,
        }
        let mut path = String::from("/v1/proofs?");
        for key in keys {
            path.push_str("key=");
            path.push_str(&hex::encode(key));
            path.push('&');
        }
        path.push_str(&format!("height={height}"));
        let answer: Proofs = self.get(&path).await?;
        Ok(answer.proofs)
    }

    /// Waits up to `wait_ms` for the block at `height` to be final; whether it is.
    pub async fn wait_block(&self, height: Height, wait_ms: u64) -> anyhow::Result<bool> {
        let block: Option<serde::de::IgnoredAny> = self
            .get_optional(
                &format!("/v1/blocks/{height}?wait_ms={wait_ms}"),
                "block_not_found",
            )
            .await?;
        Ok(block.is_some())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A read; a refusal for asking too often is waited out (as long as the node's
    /// `Retry-After` says, a bounded number of times), since a read can always be asked again.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let mut refused = 0;
        loop {
            let response = self
                .http
                .get(self.url(path))
                .send()
                .await
                .map_err(|e| self.unreachable(e))?;
            let wait = retry_after(&response);
            match self.read(response).await {
                Err(e) if node_code(&e) == Some("rate_limited") && refused < RATE_RETRIES => {
                    refused += 1;
                    tokio::time::sleep(wait).await;
                }
                answer => return answer,
            }
        }
    }

    /// Decodes a success, or turns an error answer into a `NodeError`.
    async fn read<T: DeserializeOwned>(&self, response: reqwest::Response) -> anyhow::Result<T> {
        let status = response.status();
        let url = response.url().to_string();
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        if status.is_success() {
            return serde_json::from_slice(&body).with_context(|| {
                format!(
                    "the node at {} sent an answer this sigil does not understand for {url}; are the node and the CLI the same version?",
                    self.base
                )
            });
        }
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Inner,
        }
        #[derive(serde::Deserialize)]
        struct Inner {
            code: String,
            message: String,
            #[serde(default)]
            required_bits: Option<u32>,
        }
        match serde_json::from_slice::<Envelope>(&body) {
            Ok(envelope) => Err(NodeError {
                code: envelope.error.code,
                message: envelope.error.message,
                required_bits: envelope.error.required_bits,
            }
            .into()),
            Err(_) => anyhow::bail!(
                "{url} answered HTTP {status}: {}; is {} a Sigil node?",
                String::from_utf8_lossy(&body[..body.len().min(200)]).trim(),
                self.base
            ),
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> anyhow::Error {
        // The innermost cause says what happened ("Connection refused"); the outer layers
        // only repeat the URL.
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail = s.to_string();
            source = s.source();
        }
        anyhow::Error::new(Unreachable(if e.is_timeout() {
            format!(
                "the node at {} did not answer in time ({detail}); check that it is running and not overloaded",
                self.base
            )
        } else {
            format!(
                "cannot reach the node at {}: {detail}; is sigild running? start it with \
                 `cargo run --release --bin sigild -- --dev` (or pass --node URL)",
                self.base
            )
        }))
    }
}

/// How long a refused read waits: the node's `Retry-After` in seconds, bounded.
fn retry_after(response: &reqwest::Response) -> Duration {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map_or(RATE_PAUSE, |secs| {
            Duration::from_secs(secs).min(MAX_RATE_PAUSE)
        })
}

fn cap_table_path(company: &str, at: Option<u64>, format: &str) -> String {
    match at {
        Some(height) => format!("/v1/companies/{company}/captable?format={format}&at={height}"),
        None => format!("/v1/companies/{company}/captable?format={format}"),
    }
}
