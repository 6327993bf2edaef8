//! Raising a round with real processes: `sigild --dev` and the `sigil offering` commands open
//! an offering with a platform, lock-up and price, approve it, subscribe, withdraw, confirm (a
//! holder's own confirmation refused), close early once the maximum is confirmed, and check the
//! terms hash against the file, the subscriptions as CSV, the list, the cap table and the
//! lock-up's transfer error, and a subscription proof.

use sha2::{Digest, Sha256};
use sigil_tests::{Node, ok, ok_json};

#[test]
fn raise_a_round_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    for key in [
        "owner",
        "admin-on",
        "admin-off",
        "portal-on",
        "portal-off",
        "h1",
        "h2",
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
    for (id, on, off) in [
        ("acme-admin", "admin-on", "admin-off"),
        ("portal", "portal-on", "portal-off"),
    ] {
        ok(sigil(&[
            "identity",
            "register",
            id,
            "--online",
            on,
            "--offline",
            off,
        ]));
    }
    ok(sigil(&[
        "company",
        "create",
        "acme.sigil",
        "--admin",
        "acme-admin",
        "--class",
        "common",
    ]));
    for (holder, key) in [("h-0001", "h1"), ("h-0002", "h2")] {
        ok(sigil(&[
            "holder",
            "issue",
            "acme.sigil",
            "--holder",
            holder,
            "--key",
            key,
        ]));
    }
    let terms = dir.path().join("terms.pdf");
    std::fs::write(&terms, b"the terms of the seed round").unwrap();
    let expected_hash = hex::encode(Sha256::digest(b"the terms of the seed round"));
    ok(sigil(&[
        "offering",
        "open",
        "acme.sigil",
        "--id",
        "seed-2027",
        "--class",
        "common",
        "--shares-min",
        "100",
        "--shares-max",
        "500",
        "--investor-max",
        "400",
        "--max-investors",
        "10",
        "--closes-in-blocks",
        "100000",
        "--terms",
        terms.to_str().unwrap(),
        "--platform",
        "portal",
        "--lockup-blocks",
        "100000",
        "--price",
        "1.00 EUR",
    ]));
    let refused = |args: &[&str], needle: &str| {
        let out = sigil(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    let subscribe = |holder: &str, shares: &str| {
        vec![
            "offering",
            "subscribe",
            "acme.sigil",
            "seed-2027",
            "--holder",
            holder,
            "--shares",
            shares,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| sigil(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // Not open before the platform approves.
    let out = run(subscribe("h-0001", "300"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("approves"));
    ok(sigil(&["offering", "approve", "acme.sigil", "seed-2027"]));
    ok(run(subscribe("h-0001", "300")));
    ok(run(subscribe("h-0002", "150")));
    ok(sigil(&[
        "offering",
        "withdraw",
        "acme.sigil",
        "seed-2027",
        "--holder",
        "h-0002",
    ]));
    ok(run(subscribe("h-0002", "200")));
    refused(
        &[
            "--key",
            "h1",
            "offering",
            "confirm",
            "acme.sigil",
            "seed-2027",
            "--holder",
            "h-0001",
        ],
        "may not confirm a payment",
    );
    ok(sigil(&[
        "--key",
        "portal-on",
        "offering",
        "confirm",
        "acme.sigil",
        "seed-2027",
        "--holder",
        "h-0001",
    ]));
    refused(
        &[
            "--key",
            "owner",
            "offering",
            "close",
            "acme.sigil",
            "seed-2027",
        ],
        "close it after height",
    );
    ok(sigil(&[
        "--key",
        "admin-on",
        "offering",
        "confirm",
        "acme.sigil",
        "seed-2027",
        "--holder",
        "h-0002",
    ]));
    ok(sigil(&[
        "--key",
        "owner",
        "offering",
        "close",
        "acme.sigil",
        "seed-2027",
    ]));

    let shown = ok_json(sigil(&[
        "--json",
        "offering",
        "show",
        "acme.sigil",
        "seed-2027",
    ]));
    assert_eq!(shown["status"], "funded", "{shown}");
    assert_eq!(shown["issued"], 500);
    assert_eq!(shown["terms"]["terms_sha256"], expected_hash.as_str());
    assert_eq!(shown["terms"]["price"], "1.00 EUR");
    let human = ok(sigil(&["offering", "show", "acme.sigil", "seed-2027"]));
    assert!(human.contains(&expected_hash), "{human}");
    let csv = ok(sigil(&[
        "offering",
        "show",
        "acme.sigil",
        "seed-2027",
        "--csv",
    ]));
    assert_eq!(
        csv,
        "holder,shares,state,paid,refund_owed\nh-0001,300,issued,true,false\nh-0002,200,issued,true,false\n"
    );
    let list = ok(sigil(&["offering", "list", "acme"]));
    assert!(
        list.contains("seed-2027") && list.contains("funded"),
        "{list}"
    );
    let table = ok(sigil(&["captable", "acme.sigil", "--csv"]));
    assert!(
        table.contains("h-0001") && table.contains(",300"),
        "{table}"
    );
    let history = ok(sigil(&[
        "shares",
        "history",
        "acme.sigil",
        "--holder",
        "h-0002",
    ]));
    assert!(history.contains("by offering seed-2027"), "{history}");
    // A subscription proven against the validator-signed header; an absent one exits 1.
    let proven = ok_json(sigil(&[
        "--json",
        "proof",
        "subscription",
        "acme.sigil",
        "seed-2027",
        "--holder",
        "h-0002",
    ]));
    assert_eq!(proven["verified"], true, "{proven}");
    assert_eq!(proven["subscription"]["shares"], 200);
    assert_eq!(proven["subscription"]["state"], "issued");
    let absent = sigil(&[
        "--json",
        "proof",
        "subscription",
        "acme.sigil",
        "seed-2027",
        "--holder",
        "h-9999",
    ]);
    assert_eq!(absent.status.code(), Some(1));
    // The lock-up: the error says from which height the shares move.
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
        "locked by an offering's lock-up",
    );
}
