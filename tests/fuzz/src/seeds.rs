//! The seed corpora, generated from real encodings of the world (its transactions, blocks,
//! proofs, DNS queries for its names) and from certificates made by rcgen; written to
//! `tests/fuzz/corpus/<target>/` by the ignored test `write_seed_corpus` (see README.md here).

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, SignedMessage, ValidatorProof, Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{Keypair as NetworkKeypair, PeerId};
use malachitebft_sync::{ValueRequest, ValueResponse};
use serde_json::json;
use sigil_core::block::{Block, Commit, Handoff};
use sigil_core::paging::Page;
use sigil_core::records::Record;
use sigil_core::state::keys;
use sigil_core::tx::Op;
use sigil_core::types::{Hash, encode};
use sigil_registry::consensus::codec::SigilCodec;
use sigil_registry::consensus::context::{
    Address, BlockValue, Height, Proposal, ProposalPart, SigilContext, Vote,
};
use sigil_registry::net::{CommittedHeader, Request as ClientRequest, Response as ClientResponse};

use crate::world::{NAMES, World, tx, world};

/// Every target's seeds, by target name.
pub fn generate() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let world = world();
    vec![
        ("tx", txs(world)),
        (
            "block",
            world.blocks.iter().map(|(b, _)| encode(b)).collect(),
        ),
        ("consensus", consensus(world)),
        ("p2p", p2p(world)),
        ("dns", dns()),
        ("zone", zone()),
        ("record", records()),
        ("cert", certs()),
        ("light_proofs", light_proofs(world)),
        ("light_handoffs", light_handoffs(world)),
        ("tree_proof", tree_proofs(world)),
        ("api", api(world)),
    ]
}

fn txs(world: &World) -> Vec<Vec<u8>> {
    world
        .blocks
        .iter()
        .flat_map(|(b, _)| &b.txs)
        .map(|t| t.to_bytes())
        .collect()
}

fn last(world: &World) -> &(Block, Commit) {
    world.blocks.last().expect("the world has blocks")
}

fn tagged(kind: u8, bytes: impl AsRef<[u8]>) -> Vec<u8> {
    [&[kind][..], bytes.as_ref()].concat()
}

fn consensus(world: &World) -> Vec<Vec<u8>> {
    let (block, commit) = last(world);
    let header = &block.header;
    let key = &world.validator;
    let address = Address(key.public());
    let signature = commit.signatures[0].signature;
    let height = Height(header.height);
    let id = header.hash();
    let vote = |vote_type, value| {
        SignedMessage::new(
            Vote {
                vote_type,
                height,
                round: Round::new(0),
                value,
                validator: address,
            },
            signature,
        )
    };
    let block_bytes = encode(block);
    let init = ProposalPart::Init {
        height,
        round: Round::new(0),
        proposer: address,
        pol_round: Round::Nil,
        signature,
    };
    let polka = PolkaCertificate::<SigilContext> {
        height,
        round: Round::new(0),
        value_id: id,
        polka_signatures: vec![PolkaSignature::new(address, signature)],
    };
    let peer = NetworkKeypair::ed25519_from_bytes([9; 32])
        .expect("a network key")
        .public()
        .to_peer_id();
    let peer = PeerId::from_bytes(&peer.to_bytes()).expect("a peer id");
    let mut stream_id = header.height.to_be_bytes().to_vec();
    stream_id.extend_from_slice(&0u32.to_be_bytes());
    let stream = StreamId::new(Bytes::from(stream_id));
    let enc = |kind: u8, bytes: Bytes| tagged(kind, bytes);
    let codec = SigilCodec;
    vec![
        enc(0, codec.encode(&init).unwrap()),
        enc(
            0,
            codec
                .encode(&ProposalPart::Data(block_bytes.clone()))
                .unwrap(),
        ),
        enc(0, codec.encode(&ProposalPart::Fin { signature }).unwrap()),
        enc(
            1,
            codec
                .encode(&SignedConsensusMsg::<SigilContext>::Vote(vote(
                    VoteType::Prevote,
                    NilOrVal::Val(id),
                )))
                .unwrap(),
        ),
        enc(
            1,
            codec
                .encode(&SignedConsensusMsg::<SigilContext>::Proposal(
                    SignedMessage::new(
                        Proposal {
                            height,
                            round: Round::new(0),
                            value: BlockValue::new(header.clone()),
                            pol_round: Round::Nil,
                            proposer: address,
                        },
                        signature,
                    ),
                ))
                .unwrap(),
        ),
        enc(
            2,
            codec
                .encode(&LivenessMsg::<SigilContext>::Vote(vote(
                    VoteType::Precommit,
                    NilOrVal::Nil,
                )))
                .unwrap(),
        ),
        enc(
            2,
            codec
                .encode(&LivenessMsg::<SigilContext>::PolkaCertificate(
                    polka.clone(),
                ))
                .unwrap(),
        ),
        enc(
            3,
            codec
                .encode(&StreamMessage::new(
                    stream.clone(),
                    0,
                    StreamContent::Data(init.clone()),
                ))
                .unwrap(),
        ),
        enc(
            3,
            codec
                .encode(&StreamMessage::<ProposalPart>::new(
                    stream,
                    2,
                    StreamContent::Fin,
                ))
                .unwrap(),
        ),
        enc(
            4,
            codec
                .encode(&ProposedValue::<SigilContext> {
                    height,
                    round: Round::new(0),
                    valid_round: Round::Nil,
                    proposer: address,
                    value: BlockValue::new(header.clone()),
                    validity: Validity::Valid,
                })
                .unwrap(),
        ),
        enc(5, codec.encode(&polka).unwrap()),
        enc(
            6,
            codec
                .encode(&Status::<SigilContext> {
                    peer_id: peer,
                    tip_height: height,
                    history_min_height: Height(1),
                })
                .unwrap(),
        ),
        enc(
            7,
            codec
                .encode(&Request::<SigilContext>::ValueRequest(ValueRequest::new(
                    Height(1)..=height,
                )))
                .unwrap(),
        ),
        enc(
            8,
            codec
                .encode(&ValidatorProof::<SigilContext>::new(
                    key.public().0.to_vec(),
                    peer.to_bytes(),
                    signature,
                ))
                .unwrap(),
        ),
        enc(
            9,
            codec
                .encode(&Response::<SigilContext>::ValueResponse(
                    ValueResponse::new(
                        height,
                        vec![RawDecidedValue::new(
                            Bytes::from(block_bytes),
                            ExtendedCommitCertificate {
                                height,
                                round: Round::new(0),
                                value_id: id,
                                commit_signatures: vec![ExtendedCommitSignature::new(
                                    address, signature, None,
                                )],
                            },
                        )],
                    ),
                ))
                .unwrap(),
        ),
    ]
}

fn frame(kind: u8, bytes: Vec<u8>) -> Vec<u8> {
    let len = u32::try_from(bytes.len()).expect("a small message");
    [&[kind][..], &len.to_le_bytes(), &bytes].concat()
}

fn p2p(world: &World) -> Vec<Vec<u8>> {
    let (block, commit) = last(world);
    let proof = world
        .ledger
        .prove(&keys::name("shop.sigil"))
        .expect("a proof");
    vec![
        frame(0, encode(&ClientRequest::Header { height: 2 })),
        frame(
            0,
            encode(&ClientRequest::NameProof {
                name: "shop.sigil".into(),
            }),
        ),
        frame(
            1,
            encode(&ClientResponse::Header(Some(CommittedHeader {
                header: block.header.clone(),
                commit: Some(commit.clone()),
            }))),
        ),
        frame(1, encode(&ClientResponse::NameProof(proof))),
        frame(1, encode(&ClientResponse::Refused("busy".into()))),
    ]
}

/// A DNS query for `name` of type `qtype`, with an OPT record (`edns`: payload size and DO
/// bit) when asked: the bytes a stub resolver sends.
pub fn query(id: u16, name: &str, qtype: u16, edns: Option<(u16, bool)>) -> Vec<u8> {
    let mut out = id.to_be_bytes().to_vec();
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    if let Some((payload, dnssec_ok)) = edns {
        out.push(0); // root owner
        out.extend_from_slice(&41u16.to_be_bytes());
        out.extend_from_slice(&payload.to_be_bytes());
        out.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
    }
    out
}

fn dns() -> Vec<Vec<u8>> {
    const A: u16 = 1;
    const NS: u16 = 2;
    const CNAME: u16 = 5;
    const SOA: u16 = 6;
    const MX: u16 = 15;
    const TXT: u16 = 16;
    const AAAA: u16 = 28;
    const SRV: u16 = 33;
    const TLSA: u16 = 52;
    const CAA: u16 = 257;
    const ANY: u16 = 255;
    let questions: [(&str, u16); 17] = [
        ("shop.sigil", A),
        ("shop.sigil", AAAA),
        ("SHOP.sigil", MX),
        ("shop.sigil", TXT),
        ("shop.sigil", CAA),
        ("shop.sigil", ANY),
        ("www.shop.sigil", A),
        ("alias.shop.sigil", CNAME),
        ("alias.shop.sigil", A),
        ("_443._tcp.shop.sigil", TLSA),
        ("_sip._tcp.shop.sigil", SRV),
        ("host.sub.deleg.sigil", A),
        ("missing.sigil", A),
        ("sigil", SOA),
        ("sigil", NS),
        ("ns1.sigil", A),
        ("example.com", A),
    ];
    questions
        .iter()
        .enumerate()
        .map(|(i, (name, qtype))| {
            let edns = match i % 3 {
                0 => None,
                1 => Some((1232, false)),
                _ => Some((4096, true)),
            };
            tagged((i % 2) as u8, query(0x1000 + i as u16, name, *qtype, edns))
        })
        .collect()
}

/// The world's names as a zone file would hold them, one file per name and one for all.
fn zone() -> Vec<Vec<u8>> {
    let head = "$ORIGIN sigil.\n$TTL 300\n@ SOA ns1.sigil. admin.sigil. 1 3600 600 86400 300\n\
                @ NS ns1.sigil.\nns1 A 127.0.0.1\n";
    let lines = |name: &str, records: &[&str]| -> String {
        let label = name.trim_end_matches(".sigil");
        records
            .iter()
            .map(|text| {
                let record = Record::parse(text).expect("a world record");
                let shown = record.to_string();
                let (host, rest) = shown.split_once(' ').expect("host and data");
                let owner = if host == "@" {
                    label.to_string()
                } else {
                    format!("{host}.{label}")
                };
                format!("{owner} {rest}\n")
            })
            .collect()
    };
    let mut out: Vec<Vec<u8>> = NAMES
        .iter()
        .filter(|(_, records)| !records.is_empty())
        .map(|(name, records)| format!("{head}{}", lines(name, records)).into_bytes())
        .collect();
    let all: String = NAMES.iter().map(|(n, r)| lines(n, r)).collect();
    out.push(format!("{head}{all}").into_bytes());
    out
}

/// The world's record texts, and each record as it shows.
fn records() -> Vec<Vec<u8>> {
    NAMES
        .iter()
        .flat_map(|(_, records)| records.iter())
        .flat_map(|text| {
            let shown = Record::parse(text).expect("a world record").to_string();
            [text.as_bytes().to_vec(), shown.into_bytes()]
        })
        .collect()
}

/// A CA and a leaf for `shop.sigil` it signed: PEM chain, DER, and DER chain.
fn certs() -> Vec<Vec<u8>> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("a CA");
    let leaf_key = KeyPair::generate().expect("a leaf key");
    let leaf = CertificateParams::new(vec!["shop.sigil".into(), "*.shop.sigil".into()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("a leaf");
    vec![
        format!("{}{}", leaf.pem(), ca.pem()).into_bytes(),
        leaf.der().to_vec(),
        [leaf.der().as_ref(), ca.der().as_ref()].concat(),
    ]
}

fn proofs(world: &World) -> Vec<sigil_core::proof::StateProof> {
    ["shop.sigil", "none.sigil", "sigil"]
        .iter()
        .map(|name| world.ledger.prove(&keys::name(name)).expect("a proof"))
        .collect()
}

fn light_proofs(world: &World) -> Vec<Vec<u8>> {
    let proofs = proofs(world);
    let mut out: Vec<Vec<u8>> = proofs
        .iter()
        .map(|p| json!({ "proofs": [p] }).to_string().into_bytes())
        .collect();
    out.push(json!({ "proofs": proofs }).to_string().into_bytes());
    out
}

fn light_handoffs(world: &World) -> Vec<Vec<u8>> {
    let (block, commit) = last(world);
    let handoff = Handoff {
        header: block.header.clone(),
        commit: commit.clone(),
        validators: world.ledger.validators().expect("validators"),
    };
    let page = |items: Vec<Handoff>, next_cursor: Option<String>| {
        serde_json::to_vec(&Page { items, next_cursor }).expect("a page shows as JSON")
    };
    vec![
        page(vec![handoff.clone()], None),
        page(vec![handoff.clone(), handoff], Some("3".into())),
        page(vec![], None),
    ]
}

fn tree_proofs(world: &World) -> Vec<Vec<u8>> {
    proofs(world).into_iter().map(|p| p.proof).collect()
}

fn api(world: &World) -> Vec<Vec<u8>> {
    let (block, _) = last(world);
    let fresh = |nonce| {
        let commitment = Hash([nonce as u8; 32]);
        hex::encode(tx(&world.owner, nonce, Op::NameCommit { commitment }).to_bytes())
    };
    let first = block.txs.first().map(|t| t.id()).unwrap_or(Hash::ZERO);
    let body = |value: serde_json::Value| value.to_string().into_bytes();
    vec![
        tagged(0, body(json!({ "tx": fresh(world.next_nonce) }))),
        tagged(
            1,
            body(json!({ "txs": [fresh(world.next_nonce + 1), fresh(world.next_nonce + 2)] })),
        ),
        tagged(
            2,
            format!(
                "key={}&key={}&height=3",
                hex::encode(keys::name("shop.sigil")),
                hex::encode(keys::name("none.sigil"))
            ),
        ),
        tagged(3, "names/shop.sigil"),
        tagged(3, "names/shop.sigil/history?limit=2&order=asc"),
        tagged(3, "names/shop.sigil/proof"),
        tagged(3, "blocks/2"),
        tagged(3, "validators/changes?limit=5"),
        tagged(3, format!("txs/{first}")),
        tagged(3, format!("accounts/{}", world.owner.public())),
        tagged(3, "status"),
    ]
}
