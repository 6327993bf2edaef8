//! Identities, companies and shareholders with real processes: `sigild --dev` and the `sigil`
//! CLI create a company, issue holders and shares, transfer, revoke, rotate, check the cap
//! table (now, at an earlier height, as CSV), a holder's history, a balance proof, and the
//! `_sigil-key` TXT record of a bound identity over DNS.

use hickory_proto::rr::RecordType;
use sigil_tests::dns::{Transport, answers, query};
use sigil_tests::{Node, ok, ok_json};

#[test]
fn company_holders_shares_cap_table_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    let public = |name: &str| ok(sigil(&["key", "show", name])).trim().to_string();
    for key in [
        "owner",
        "admin-on",
        "admin-off",
        "h1",
        "h2",
        "h1-new",
        "admin-on2",
    ] {
        ok(sigil(&["key", "new", key]));
    }

    ok(sigil(&[
        "--key",
        "owner",
        "name",
        "register",
        "acme.sigil",
        "--a",
        "192.0.2.7",
    ]));
    ok(sigil(&[
        "identity",
        "register",
        "acme-admin",
        "--online",
        "admin-on",
        "--offline",
        "admin-off",
    ]));
    // The name's owner key is found in the keystore; no --key needed.
    ok(sigil(&[
        "company",
        "create",
        "acme.sigil",
        "--admin",
        "acme-admin",
        "--class",
        "common",
        "--class",
        "preferred-a",
    ]));
    ok(sigil(&[
        "holder",
        "issue",
        "acme.sigil",
        "--holder",
        "h-0001",
        "--key",
        "h1",
    ]));
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
