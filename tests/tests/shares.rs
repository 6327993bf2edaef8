//! Identities, companies and shareholders with real processes: `sigild --dev` and the `sigil`
//! CLI create a company, issue holders and shares, transfer, revoke, rotate, check the cap
//! table (now, at an earlier height, as CSV), a holder's history, a balance proof, and the
//! `_sigil-key` TXT record of a bound identity over DNS; and the attacks on identities and
//! companies over the network: a stolen online key, a binding without consent, a sold name.

use hickory_proto::rr::RecordType;
use sigil_core::tx::{Consent, Op, Transaction};
use sigil_core::types::Keypair;
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::{Node, api_get, api_post, company, ok, ok_json};

#[test]
fn company_holders_shares_cap_table_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    let public = |name: &str| ok(sigil(&["key", "show", name])).trim().to_string();
    company::create(
        sigil,
        &company::Setup {
            classes: &["common", "preferred-a"],
            holders: &[("h-0001", "h1")],
            keys: &["h2", "h1-new", "admin-on2"],
        },
    );
    let attr = "ab".repeat(32);
    let h2 = public("h2");
    ok(sigil(&[
        "holder",
        "issue",
        "acme.sigil",
        "--holder",
        "h-0002",
        "--key",
        &h2,
        "--attr-hash",
        &attr,
    ]));
    ok(sigil(&[
        "shares",
        "issue",
        "acme.sigil",
        "--class",
        "common",
        "--to",
        "h-0001",
        "--amount",
        "1000000",
    ]));
    let sent = ok_json(sigil(&[
        "--json",
        "shares",
        "transfer",
        "acme.sigil",
        "--class",
        "common",
        "--from",
        "h-0001",
        "--to",
        "h-0002",
        "--amount",
        "2500",
    ]));
    let transferred_at = sent["height"].as_u64().unwrap();

    // Clear refusals, exit 2, with the node's reason.
    let refused = |args: &[&str], needle: &str| {
        let out = sigil(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    refused(
        &[
            "shares",
            "transfer",
            "acme.sigil",
            "--class",
            "common",
            "--from",
            "h-0001",
            "--to",
            "h-0002",
            "--amount",
            "999999999",
        ],
        "fewer than",
    );
    refused(
        &[
            "shares",
            "transfer",
            "acme.sigil",
            "--class",
            "series-z",
            "--from",
            "h-0001",
            "--to",
            "h-0002",
            "--amount",
            "1",
        ],
        "no share class `series-z`",
    );
    refused(
        &[
            "--key",
            "h2",
            "shares",
            "transfer",
            "acme.sigil",
            "--class",
            "common",
            "--from",
            "h-0001",
            "--to",
            "h-0002",
            "--amount",
            "1",
        ],
        "must be signed by its holder key",
    );

    ok(sigil(&[
        "holder",
        "revoke",
        "acme.sigil",
        "--holder",
        "h-0001",
        "--reason",
        "lost-key",
    ]));
    refused(
        &[
            "shares",
            "transfer",
            "acme.sigil",
            "--class",
            "common",
            "--from",
            "h-0001",
            "--to",
            "h-0002",
            "--amount",
            "1",
        ],
        "was revoked",
    );
    // The admin gives h-0001 a new key: the new key signs, the old one is void.
    ok(sigil(&[
        "holder",
        "rotate",
        "acme.sigil",
        "--holder",
        "h-0001",
        "--key",
        "h1-new",
    ]));
    refused(
        &[
            "--key",
            "h1",
            "shares",
            "transfer",
            "acme.sigil",
            "--class",
            "common",
            "--from",
            "h-0001",
            "--to",
            "h-0002",
            "--amount",
            "1",
        ],
        "only until height",
    );
    ok(sigil(&[
        "shares",
        "transfer",
        "acme.sigil",
        "--class",
        "common",
        "--from",
        "h-0001",
        "--to",
        "h-0002",
        "--amount",
        "500",
    ]));

    let table = ok_json(sigil(&["--json", "captable", "acme.sigil"]));
    let holders = table["holders"].as_array().unwrap();
    assert_eq!(holders.len(), 2);
    assert_eq!(holders[0]["holder"], "h-0001");
    assert_eq!(holders[0]["balances"], serde_json::json!([997000, 0]));
    assert_eq!(holders[0]["key"], public("h1-new"));
    assert_eq!(holders[1]["balances"], serde_json::json!([3000, 0]));
    assert_eq!(holders[1]["attr_hash"], attr);
    assert_eq!(table["classes"][0]["outstanding"], 1000000);

    let then = ok_json(sigil(&[
        "--json",
        "captable",
        "acme.sigil",
        "--at",
        &transferred_at.to_string(),
    ]));
    assert_eq!(then["height"], transferred_at);
    assert_eq!(
        then["holders"][0]["balances"],
        serde_json::json!([997500, 0])
    );
    assert_eq!(then["holders"][0]["key"], public("h1"));

    let csv = ok(sigil(&["captable", "acme.sigil", "--csv"]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "holder,key,status,attr_hash,common,preferred-a".to_string(),
            format!("h-0001,{},active,,997000,0", public("h1-new")),
            format!("h-0002,{h2},active,{attr},3000,0"),
        ]
    );
    let human = ok(sigil(&["captable", "acme.sigil"]));
    assert!(
        human.contains("h-0002") && human.contains("3000"),
        "{human}"
    );

    let history = ok_json(sigil(&[
        "--json",
        "shares",
        "history",
        "acme.sigil",
        "--holder",
        "h-0002",
    ]));
    let after: Vec<serde_json::Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["balance_after"].clone())
        .collect();
    assert_eq!(after, [serde_json::Value::Null, 2500.into(), 3000.into()]);

    let proven = ok_json(sigil(&[
        "--json",
        "proof",
        "balance",
        "acme.sigil",
        "--class",
        "common",
        "--holder",
        "h-0002",
    ]));
    assert_eq!(proven["verified"], true);
    assert_eq!(proven["balance"], 3000);
    // A holder that does not exist is proven absent, not "0 shares" (exit 1).
    let absent = sigil(&[
        "--json",
        "proof",
        "balance",
        "acme.sigil",
        "--class",
        "common",
        "--holder",
        "h-9999",
    ]);
    assert_eq!(absent.status.code(), Some(1));
    let absent: serde_json::Value = serde_json::from_slice(&absent.stdout).unwrap();
    assert_eq!(absent["holder_exists"], false);
    assert!(absent.get("balance").is_none(), "{absent}");

    // A bound identity's key over DNS, following a rotation.
    ok(sigil(&["identity", "bind", "acme-admin", "acme.sigil"]));
    let key_txt = |key: &str| format!("v=sigil-key1; id=acme-admin; k=ed25519; p={key}");
    for transport in [Transport::Udp, Transport::Tcp] {
        let txt = query(
            node.dns,
            "_sigil-key.acme.sigil.",
            RecordType::TXT,
            transport,
        );
        assert_eq!(answers(&txt), [key_txt(&public("admin-on"))]);
    }
    ok(sigil(&[
        "identity",
        "rotate",
        "acme-admin",
        "--online",
        "admin-on2",
    ]));
    let txt = query(
        node.dns,
        "_sigil-key.acme.sigil.",
        RecordType::TXT,
        Transport::Udp,
    );
    assert_eq!(answers(&txt), [key_txt(&public("admin-on2"))]);
    let shown = ok_json(sigil(&["--json", "identity", "show", "acme-admin"]));
    let periods = shown["keys"].as_array().unwrap();
    assert_eq!(periods.len(), 3);
    assert_eq!(periods[0]["key"], public("admin-on"));
    assert!(periods[0]["until"].is_u64());
    assert!(periods[2]["until"].is_null());
    let human = ok(sigil(&["identity", "show", "acme-admin"]));
    assert!(human.contains("key history"), "{human}");
    // The admin's old online key is out: the CLI signs with the new one it finds.
    ok(sigil(&[
        "shares",
        "issue",
        "acme.sigil",
        "--class",
        "preferred-a",
        "--to",
        "h-0002",
        "--amount",
        "10",
    ]));
    refused(
        &[
            "--key",
            "admin-on",
            "shares",
            "issue",
            "acme.sigil",
            "--class",
            "common",
            "--to",
            "h-0002",
            "--amount",
            "1",
        ],
        "only until height",
    );
}

/// A key of a `sigil` keystore, read from its PKCS#8 file: what a rogue holding the file signs
/// raw transactions with.
fn keystore_key(keystore: &std::path::Path, name: &str) -> Keypair {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let pem = std::fs::read_to_string(keystore.join(format!("{name}.pem"))).unwrap();
    Keypair::from_signing_key(ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap())
}

#[test]
fn stolen_online_keys_unconsented_bindings_and_sold_names_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("data"), &[]);
    let owner_ks = dir.path().join("owner");
    let thief_ks = dir.path().join("thief");
    let rogue_ks = dir.path().join("rogue");
    let buyer_ks = dir.path().join("buyer");
    let owner = |args: &[&str]| node.sigil(&owner_ks, args);
    let public = |ks: &std::path::Path, name: &str| {
        ok(node.sigil(ks, &["key", "show", name]))
            .trim()
            .to_string()
    };
    company::create(
        owner,
        &company::Setup {
            classes: &["common"],
            holders: &[("h-0001", "h1")],
            keys: &["admin-on2"],
        },
    );
    ok(owner(&[
        "shares",
        "issue",
        "acme.sigil",
        "--class",
        "common",
        "--to",
        "h-0001",
        "--amount",
        "1000",
    ]));
    ok(owner(&["identity", "bind", "acme-admin", "acme.sigil"]));
    let key_txt = |key: &str| format!("v=sigil-key1; id=acme-admin; k=ed25519; p={key}");
    let served = |name: &str| {
        answers(&query(
            node.dns,
            &format!("_sigil-key.{name}."),
            RecordType::TXT,
            Transport::Udp,
        ))
    };
    assert_eq!(
        served("acme.sigil"),
        [key_txt(&public(&owner_ks, "admin-on"))]
    );

    // The refusals of the node, exit 2, with its reason.
    let refused = |out: std::process::Output, needle: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
    };

    // A thief copies the online key only: it cannot revoke the identity for good...
    std::fs::create_dir_all(&thief_ks).unwrap();
    std::fs::copy(owner_ks.join("admin-on.pem"), thief_ks.join("admin-on.pem")).unwrap();
    let thief = |args: &[&str]| node.sigil(&thief_ks, args);
    refused(
        thief(&["--key", "admin-on", "identity", "revoke", "acme-admin"]),
        "must be signed by its offline key",
    );
    // ... it can only suspend it, after which the stolen key signs nothing.
    ok(thief(&["identity", "suspend", "acme-admin"]));
    refused(
        thief(&[
            "--key",
            "admin-on",
            "shares",
            "issue",
            "acme.sigil",
            "--class",
            "common",
            "--to",
            "h-0001",
            "--amount",
            "1",
        ]),
        "suspended",
    );
    assert!(served("acme.sigil").is_empty());
    let shown = ok_json(owner(&["--json", "identity", "show", "acme-admin"]));
    assert!(shown["suspended_at"].is_u64(), "{shown}");
    // The owner recovers with the offline key through the CLI.
    ok(owner(&[
        "identity",
        "rotate",
        "acme-admin",
        "--online",
        "admin-on2",
    ]));
    let shown = ok_json(owner(&["--json", "identity", "show", "acme-admin"]));
    assert!(shown["suspended_at"].is_null(), "{shown}");
    assert!(shown["revoked_at"].is_null(), "{shown}");
    assert_eq!(
        served("acme.sigil"),
        [key_txt(&public(&owner_ks, "admin-on2"))]
    );
    ok(owner(&[
        "shares",
        "issue",
        "acme.sigil",
        "--class",
        "common",
        "--to",
        "h-0001",
        "--amount",
        "1",
    ]));

    // A rogue name owner cannot bind someone else's identity to its name: its CLI has no
    // consent to give, and a raw transaction with a forged one is refused by the node.
    ok(node.sigil(&rogue_ks, &["key", "new", "evil"]));
    ok(node.sigil(
        &rogue_ks,
        &[
            "--key",
            "evil",
            "name",
            "register",
            "evil.sigil",
            "--a",
            "192.0.2.66",
        ],
    ));
    let out = node.sigil(&rogue_ks, &["identity", "bind", "acme-admin", "evil.sigil"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("consent"));
    let evil = keystore_key(&rogue_ks, "evil");
    let status = api_get(&node.api, "/v1/status");
    let chain_id = status["chain_id"].as_str().unwrap().to_string();
    let height = status["tip"]["height"].as_u64().unwrap();
    let account = api_get(&node.api, &format!("/v1/accounts/{}", evil.public()));
    let nonce = account["next_nonce"].as_u64().unwrap();
    let forged = Consent::sign(
        &evil,
        &chain_id,
        "bind",
        "acme-admin",
        &["evil.sigil"],
        &evil.public(),
        height + 100,
    );
    let stx = Transaction {
        chain_id,
        signer: evil.public(),
        nonce,
        stamp: 0,
        op: Op::IdentityBind {
            id: "acme-admin".into(),
            name: "evil.sigil".into(),
            consent: forged,
        },
    }
    .sign(&evil);
    let (status_line, body) = api_post(
        &node.api,
        "/v1/txs",
        &serde_json::json!({ "tx": hex::encode(stx.to_bytes()) }),
    );
    assert!(!status_line.contains(" 202 "), "{status_line} {body}");
    assert_eq!(body["error"]["code"], "no_consent", "{body}");
    assert!(served("evil.sigil").is_empty());

    // The name is sold: the old admin no longer speaks for it, the register stays its holders'.
    ok(node.sigil(&buyer_ks, &["key", "new", "buyer"]));
    ok(node.sigil(&buyer_ks, &["key", "new", "buyer-on"]));
    ok(node.sigil(&buyer_ks, &["key", "new", "buyer-off"]));
    let buyer = public(&buyer_ks, "buyer");
    ok(owner(&[
        "--key",
        "owner",
        "name",
        "transfer",
        "acme.sigil",
        "--to",
        &buyer,
    ]));
    let out = owner(&[
        "shares",
        "issue",
        "acme.sigil",
        "--class",
        "common",
        "--to",
        "h-0001",
        "--amount",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a company id nor a name"));
    let shown = ok_json(owner(&["--json", "company", "show", "acme"]));
    assert_eq!(shown["id"], "acme");
    assert_eq!(shown["name"], "acme.sigil");
    assert_eq!(shown["listed"], false);
    assert_eq!(shown["name_owner"], buyer.as_str());
    let human = ok(owner(&["company", "show", "acme"]));
    assert!(human.contains("NOT listed"), "{human}");
    let table = ok_json(owner(&["--json", "captable", "acme"]));
    assert_eq!(table["holders"][0]["balances"], serde_json::json!([1001]));
    // The buyer starts a company of its own under the name.
    let buyer_cli = |args: &[&str]| node.sigil(&buyer_ks, args);
    ok(buyer_cli(&[
        "identity",
        "register",
        "buyer-admin",
        "--online",
        "buyer-on",
        "--offline",
        "buyer-off",
    ]));
    refused(
        buyer_cli(&[
            "company",
            "create",
            "acme.sigil",
            "--admin",
            "buyer-admin",
            "--class",
            "common",
        ]),
        "is taken",
    );
    ok(buyer_cli(&[
        "company",
        "create",
        "acme.sigil",
        "--admin",
        "buyer-admin",
        "--class",
        "common",
        "--id",
        "acme-two",
    ]));
    let shown = ok_json(buyer_cli(&["--json", "company", "show", "acme.sigil"]));
    assert_eq!(shown["id"], "acme-two");
    assert_eq!(shown["listed"], true);
    // The old company moves to another name of its side, its register intact.
    ok(owner(&[
        "--key",
        "owner",
        "name",
        "register",
        "acme-holdings.sigil",
        "--a",
        "192.0.2.8",
    ]));
    ok(owner(&["company", "move", "acme", "acme-holdings.sigil"]));
    let shown = ok_json(owner(&["--json", "company", "show", "acme-holdings.sigil"]));
    assert_eq!(shown["id"], "acme");
    assert_eq!(shown["listed"], true);
    let table = ok_json(owner(&["--json", "captable", "acme-holdings.sigil"]));
    assert_eq!(table["holders"][0]["balances"], serde_json::json!([1001]));
}
