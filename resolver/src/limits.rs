//! The resolver's limits in one place: CNAME chains, ledger reads per answer, message sizes,
//! timeouts and caches.

use std::time::Duration;

/// CNAMEs followed inside the chain's names for one query (RFC 1034 leaves the bound to us).
pub const MAX_CNAME_HOPS: usize = 8;

/// TTL of the TXT record at `_sigil-key.<name>` (the bound identity's key): short, since a
/// rotation or revocation must reach clients soon.
pub const IDENTITY_KEY_TTL_SECS: u32 = 60;

/// Names read from the ledger for one answer beyond the query's own chain of CNAMEs: other
/// names whose addresses are given as glue for a referral.
pub const MAX_GLUE_NAMES: usize = 4;

/// Largest UDP response we send, whatever a client's EDNS buffer says (DNS Flag Day 2020:
/// 1232 bytes avoids IP fragmentation); larger answers get TC and are fetched over TCP.
pub const MAX_UDP_PAYLOAD_BYTES: u16 = 1232;

/// UDP response size for a client that sent no EDNS (RFC 1035 section 4.2.1).
pub const MIN_UDP_PAYLOAD_BYTES: u16 = 512;

/// A TCP connection that sends no request for this long is closed.
pub const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections open at once on each of the TCP and TLS listeners; more are closed as soon as
/// they are accepted.
pub const MAX_TCP_CONNECTIONS: usize = 1_024;

/// How long a DNS over TLS or HTTPS client may take to finish its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest DNS over HTTPS query, in bytes (a POST body or a decoded `dns` parameter): a
/// question with its EDNS options and padding (RFC 8467) fits many times over, and it bounds
/// what each HTTP/2 stream makes us hold.
pub const MAX_DOH_QUERY_BYTES: usize = 4_096;

/// Longest DNS over HTTPS request head (URI and headers), in bytes: a GET's base64url query with
/// room to spare (hyper takes no less than 8 KiB).
pub const MAX_DOH_HEAD_BYTES: usize = 16 * 1024;

/// A DNS over HTTPS connection that sends nothing for this long is closed (as DNS over TCP).
pub const DOH_IDLE_TIMEOUT: Duration = TCP_IDLE_TIMEOUT;

/// How long one DNS over HTTPS request may take to arrive whole (headers and body).
pub const DOH_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP/2 streams one DNS over HTTPS connection may have open at once; with
/// `MAX_DOH_CONNECTIONS` and `MAX_DOH_QUERY_BYTES` it bounds the query bytes held at once
/// (16 MiB, and as much again in HTTP/2 receive windows).
pub const MAX_DOH_STREAMS: u32 = 32;

/// DNS over HTTPS connections open at once; more are closed as soon as they are accepted.
pub const MAX_DOH_CONNECTIONS: usize = 128;

/// How long one upstream attempt may take before the next is tried.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_millis(800);

/// Attempts per upstream query (across the configured servers).
pub const UPSTREAM_ATTEMPTS: usize = 2;

/// How long a forwarded question may wait for the upstream resolvers in all, retries
/// included, before the client gets SERVFAIL: below the 2 s a stub such as kdig waits.
pub const UPSTREAM_DEADLINE: Duration = Duration::from_millis(1800);

/// How long a question the upstream resolvers failed to answer is answered SERVFAIL without
/// asking them again (RFC 2308 section 7 allows up to five minutes; a few seconds spare a
/// dead upstream without hiding its recovery).
pub const UPSTREAM_FAILURE_TTL: Duration = Duration::from_secs(5);

/// Failed upstream questions remembered at once.
pub const UPSTREAM_FAILURE_ENTRIES: u64 = 4_096;

/// Upstream answers (positive and negative) kept in the forwarding cache.
pub const UPSTREAM_CACHE_ENTRIES: u64 = 8_192;

/// Times binding UDP and TCP on one free port is tried when the listen port is 0.
pub const BIND_ATTEMPTS: usize = 16;

/// TTL of the synthesized SOA, and the negative-caching TTL it announces (RFC 2308).
pub const NEGATIVE_TTL_SECS: u32 = 60;

/// TTL of the synthesized NS record at a top-level domain's apex.
pub const TLD_NS_TTL_SECS: u32 = 3600;

/// TTL of the TLSA records derived from registered certificates: short, so that a revocation
/// reaches caches soon after the block that makes it.
pub const CERT_TLSA_TTL_SECS: u32 = 60;

/// Default bound of the answer cache (encoded answers to chain names), in bytes.
pub const DEFAULT_ANSWER_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Bytes an answer cache entry costs beyond its key, response and subjects (the cache's own
/// bookkeeping, allocations): what its weight adds so that the bound is in real memory.
pub const ANSWER_CACHE_ENTRY_OVERHEAD_BYTES: usize = 160;

/// Names and identities changed by recent blocks the answer cache remembers one by one; past
/// that it starts over empty.
pub const MAX_CHANGED_SUBJECTS: usize = 100_000;

/// Threads receiving UDP queries, at most (one per core the process may run on, up to this).
pub const MAX_UDP_THREADS: usize = 8;

/// How often a UDP thread waiting for a query checks whether the server is stopping.
pub const UDP_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Largest UDP datagram read.
pub const MAX_UDP_REQUEST_BYTES: usize = 65_535;

/// Registered names read per page when the resolver lists them into its index of names
/// (8 bytes each in the index, about 16 with the table's room).
pub const NAME_LIST_PAGE: usize = 10_000;

/// Times a listing of the registered names is tried when blocks go by faster than it.
pub const NAME_LISTING_ATTEMPTS: usize = 3;

/// Datagrams a UDP thread receives with one system call (and answers with one), at most.
pub const UDP_BATCH: usize = 32;

/// Rounds of proof fetches one light answer may take: each fetches every key the last
/// computation found missing (a name, then its certificates or identity binding, then the
/// identity, CNAME targets and glue names).
pub const MAX_PROOF_ROUNDS: usize = 8;

/// Questions a light resolver proves at once; more are answered SERVFAIL at once (a flood
/// of uncached names must not queue without bound).
pub const MAX_PROVING_QUESTIONS: usize = 256;

/// Requests a light resolver has under way to its peers at once.
pub const MAX_PEER_REQUESTS: usize = 8;

/// Proven keys a light resolver keeps at one header; past it, it starts over.
pub const MAX_SNAPSHOT_KEYS: usize = 100_000;

/// A light resolver refreshes its header at least this far apart.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// A refresh's outcome is shared by the questions that ask for one this soon after it.
pub const REFRESH_REUSE: Duration = Duration::from_millis(500);

/// How long a light resolver waits to connect to a peer, and for its whole answer.
pub const PEER_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const PEER_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer read from a peer (32 proofs with their headers, commits and sets).
pub const MAX_PEER_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Pages of validator changes read from a peer, at most.
pub const MAX_HANDOFF_PAGES: usize = 100;

/// A peer caught serving what does not verify is not asked for this long, doubled each
/// time in a row, up to [`SET_ASIDE_MAX`].
pub const SET_ASIDE_FIRST: Duration = Duration::from_secs(5);
pub const SET_ASIDE_MAX: Duration = Duration::from_secs(300);

/// Default response rate limit on UDP (`--rrl-responses-per-second`): answers of our own per
/// second to one source prefix, with a burst of as many. Counted per prefix alone (not per
/// prefix and name, as BIND counts), so it is set above what a script asking hundreds of
/// names in a row needs, while bounding what a spoofed flood reflects at one victim to about
/// 1 MB/s per node (answers fit in 1232 bytes; slipped ones are no larger than the query).
pub const DEFAULT_RRL_RESPONSES_PER_SECOND: u32 = 1_000;

/// Source prefix length one rate-limit bucket covers: an IPv4 /24, an IPv6 /56 (what one
/// site or customer holds, so that a client cannot escape the limit by changing address).
pub const RRL_IPV4_PREFIX: u8 = 24;
pub const RRL_IPV6_PREFIX: u8 = 56;

/// Of the responses over the limit, every `RRL_SLIP`th is sent truncated (TC=1, no records)
/// so that a real client behind a spoofed-upon prefix retries over TCP; the others are
/// dropped. 2, as BIND and Knot default to: a truncated reply is no larger than the query.
pub const RRL_SLIP: u32 = 2;

/// Source prefixes the rate limiter tracks at once (about 40 bytes each). When it is full,
/// prefixes idle long enough to be back at a full bucket are forgotten (no sooner than
/// `RRL_SWEEP_INTERVAL` apart); until room is made, new prefixes share one bucket.
pub const RRL_MAX_PREFIXES: usize = 65_536;

/// How often at most a full rate-limit table is swept for idle prefixes.
pub const RRL_SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Questions forwarded to the upstream resolvers at once (each may wait up to
/// `UPSTREAM_DEADLINE`); more are answered SERVFAIL at once, with an Extended DNS Error, so
/// that a flood of outside names against a dead upstream holds no more than this many tasks.
pub const MAX_FORWARDS_IN_FLIGHT: usize = 256;

/// Ledger reads for TCP, DNS over TLS and DNS over HTTPS answers running at once on the
/// blocking thread pool (off the async workers); more queries wait their turn.
pub const MAX_BLOCKING_READS: usize = 16;

/// DNSSEC (`dnssec`): a signature's inception lies this far in the past (clocks of
/// validators that run behind still accept it) ...
pub const SIGNATURE_INCEPTION_SKEW_SECS: u32 = 3600;
/// ... and its expiration this far ahead of the moment it is made: bounded, so that a
/// signature captured once cannot be replayed for long after the ledger changed.
pub const SIGNATURE_VALIDITY_SECS: u32 = 2 * 86400;
/// A signed answer is served from the answer cache for at most this long after it was
/// signed, then signed again: well before its signatures expire (validators clamp TTLs to
/// what is left).
pub const SIGNATURE_REFRESH_SECS: i64 = 86400;
/// TTL of the zone key's DNSKEY record at each top-level domain's apex.
pub const DNSKEY_TTL_SECS: u32 = 3600;
