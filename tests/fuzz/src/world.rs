//! The small ledger the targets run against: one validator, a few names with records of the
//! supported kinds, built from real transactions in real blocks in a memory store.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

use ed25519_dalek::SigningKey;
use sigil_core::block::{Block, Commit, Genesis};
use sigil_core::read::NameReader;
use sigil_core::records::Record;
use sigil_core::state::{ChainParams, ValidatorSet};
use sigil_core::tx::{Op, SignedTx, Transaction, name_commitment};
use sigil_core::types::{Hash, Keypair};
use sigil_registry::ledger::Ledger;
use sigil_registry::node::Node;
use sigil_registry::store::MemStore;
use sigil_resolver::handler::Handler;

pub const CHAIN_ID: &str = "fuzz-chain";
pub const TLD: &str = "sigil";

/// The names registered, with their records as `Record::parse` reads them.
pub const NAMES: &[(&str, &[&str])] = &[
    (
        "shop.sigil",
        &[
            "@ A 192.0.2.1",
            "@ AAAA 2001:db8::1",
            "@ 600 MX 10 mail.shop.sigil.",
            "@ TXT \"v=spf1 -all\" \"second string\"",
            "www A 192.0.2.2",
            "alias CNAME www.shop.sigil.",
            "_443._tcp TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "_sip._tcp SRV 10 60 5060 sip.shop.sigil.",
            "@ CAA 0 issue \"letsencrypt.org\"",
        ],
    ),
    ("deleg.sigil", &["sub NS ns1.example.net."]),
    ("bare.sigil", &[]),
];

/// The ledger, the node and DNS handler over it, and what built it (the seeds' source).
pub struct World {
    pub ledger: Arc<Ledger>,
    pub node: Arc<Node>,
    pub handler: Arc<Handler>,
    pub router: axum::Router,
    pub runtime: tokio::runtime::Runtime,
    pub validator: Keypair,
    pub owner: Keypair,
    /// Every block committed after genesis, with its commit.
    pub blocks: Vec<(Block, Commit)>,
    /// The owner's next nonce.
    pub next_nonce: u64,
}

/// The address queries come from.
pub const CLIENT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 5353);

/// The one world of this process, built on first use.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build)
}

pub fn key(seed: u8) -> Keypair {
    Keypair::from_signing_key(SigningKey::from_bytes(&[seed; 32]))
}

pub fn genesis(validator: &Keypair) -> Genesis {
    Genesis {
        genesis_time_ms: 0,
        params: ChainParams {
            chain_id: CHAIN_ID.into(),
            tlds: vec![TLD.into()],
            reveal_min_blocks: 1,
            reveal_max_blocks: 10,
            name_ttl_blocks: 1_000_000,
            grace_blocks: 10,
            block_interval_ms: 1000,
            work: Default::default(),
        },
        validators: ValidatorSet::equal_power([validator.public()]),
    }
}

/// A transaction of `owner` with `nonce`, signed.
pub fn tx(owner: &Keypair, nonce: u64, op: Op) -> SignedTx {
    Transaction {
        chain_id: CHAIN_ID.into(),
        signer: owner.public(),
        nonce,
        stamp: 0,
        op,
    }
    .sign(owner)
}

fn build() -> World {
    let validator = key(1);
    let owner = key(2);
    let ledger = Arc::new(
        Ledger::open(Arc::new(MemStore::default()), genesis(&validator), 1000)
            .expect("a memory ledger opens"),
    );
    let mut blocks = Vec::new();
    let mut block = |txs: Vec<SignedTx>| {
        let prepared = ledger.prepare(&txs).expect("the block executes");
        for outcome in &prepared.execution.outcomes {
            assert!(outcome.is_ok(), "a world transaction failed: {outcome:?}");
        }
        let time_ms = 1_700_000_000_000 + ledger.tip().height * 1000;
        let header = ledger
            .header(&prepared, validator.public(), time_ms)
            .expect("a header");
        let commit = Commit::sign(&header, 0, &validator);
        let block = Block { header, txs };
        ledger
            .commit(prepared, block.clone(), commit.clone())
            .expect("the block commits");
        blocks.push((block, commit));
    };
    let salt = Hash([7; 32]);
    let mut nonce = 0;
    let mut next = || {
        nonce += 1;
        nonce - 1
    };
    let commits = NAMES
        .iter()
        .map(|(name, _)| {
            let commitment = name_commitment(name, &salt, &owner.public());
            tx(&owner, next(), Op::NameCommit { commitment })
        })
        .collect();
    block(commits);
    block(vec![]);
    let reveals = NAMES
        .iter()
        .map(|(name, records)| {
            let records = records
                .iter()
                .map(|r| Record::parse(r).expect("a world record parses"))
                .collect();
            tx(
                &owner,
                next(),
                Op::NameRegister {
                    name: name.to_string(),
                    salt,
                    records,
                },
            )
        })
        .collect();
    block(reveals);
    block(vec![tx(
        &owner,
        next(),
        Op::NameRenew {
            name: "bare.sigil".into(),
        },
    )]);
    let next_nonce = next();
    let reader: Arc<dyn NameReader> = ledger.clone();
    let handler = Arc::new(Handler::new(reader, &[]).expect("a handler without upstreams"));
    let node = Node::new(ledger.clone(), key(1)).expect("the single validator's node");
    let router = sigil_registry::api::router(node.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    World {
        ledger,
        node,
        handler,
        router,
        runtime,
        validator,
        owner,
        blocks,
        next_nonce,
    }
}
