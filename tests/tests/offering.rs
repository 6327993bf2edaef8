//! Raising a round with real processes: `sigild --dev` and the `sigil offering` commands open
//! an offering with a platform, lock-up and price, approve it, subscribe, withdraw, confirm (a
//! holder's own confirmation refused), close early once the maximum is confirmed, and check the
//! terms hash against the file, the subscriptions as CSV, the list, the cap table and the
//! lock-up's transfer error, and a subscription proof. Then a round on four validators, each
//! step through another validator's API, with two holders racing for the last shares at the
//! same time through different validators: exactly the one that fits succeeds, the other's CLI
//! says the offering is full; all four agree on the offering and its subscriptions (read a page
//! at a time), and the holders see their locked shares.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sigil_tests::network::Network;
use sigil_tests::{Node, api_get, binary, company, ok, ok_json, sigil};

#[test]
fn raise_a_round_over_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let node = Node::start(&dir.path().join("data"), &[]);
    let sigil = |args: &[&str]| node.sigil(&keys, args);
    company::create(
        sigil,
        &company::Setup {
            classes: &["common"],
            holders: &[("h-0001", "h1"), ("h-0002", "h2")],
            keys: &["portal-on", "portal-off"],
        },
    );
    company::identity(sigil, "portal", "portal-on", "portal-off");
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
    company::refused(
        sigil(&[
            "--key",
            "h1",
            "offering",
            "confirm",
            "acme.sigil",
            "seed-2027",
            "--holder",
            "h-0001",
        ]),
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
    company::refused(
        sigil(&[
            "--key",
            "owner",
            "offering",
            "close",
            "acme.sigil",
            "seed-2027",
        ]),
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
    // The API gives the offering with as many subscriptions as asked, none for a client
    // that needs only the terms.
    let path = "/v1/companies/acme.sigil/offerings/seed-2027";
    let alone = api_get(&node.api, &format!("{path}?subscriptions=0"));
    assert_eq!(alone["subscriptions"], serde_json::json!([]), "{alone}");
    assert_eq!(alone["issued"], 500, "{alone}");
    let first = api_get(&node.api, &format!("{path}?subscriptions=1"));
    assert_eq!(first["subscriptions"].as_array().map(Vec::len), Some(1));
    assert!(first["subscriptions_next_cursor"].is_string(), "{first}");
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
    company::refused(
        sigil(&[
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
        ]),
        "locked by an offering's lock-up",
    );
}

/// Bound for a few block times on a loaded 2-core machine.
const BLOCKS: Duration = Duration::from_secs(60);

#[test]
fn a_round_on_four_validators_with_a_race_for_the_last_shares() {
    let net = Network::start(4);
    let keys = net.dir.path().join("keys");
    let cli = |i: usize| {
        let api = net.node(i).api.clone();
        let keys = keys.clone();
        move |args: &[&str]| sigil(&api, &keys, args)
    };
    company::create(
        cli(0),
        &company::Setup {
            classes: &["common"],
            holders: &[("h-0001", "h1"), ("h-0002", "h2"), ("h-0003", "h3")],
            keys: &["portal-on", "portal-off"],
        },
    );
    company::identity(cli(0), "portal", "portal-on", "portal-off");
    let terms = net.dir.path().join("terms.pdf");
    std::fs::write(&terms, b"the terms of the seed round").unwrap();
    // Each step through another validator's API.
    ok(cli(1)(&[
        "offering",
        "open",
        "acme.sigil",
        "--id",
        "seed-2027",
        "--class",
        "common",
        "--shares-min",
        "500",
        "--shares-max",
        "1000",
        "--investor-max",
        "600",
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
    ]));
    ok(cli(2)(&["offering", "approve", "acme.sigil", "seed-2027"]));
    let subscribe = |holder: &'static str, shares: &'static str| {
        [
            "offering",
            "subscribe",
            "acme.sigil",
            "seed-2027",
            "--holder",
            holder,
            "--shares",
            shares,
        ]
    };
    ok(cli(3)(&subscribe("h-0001", "400")));
    ok(cli(0)(&[
        "offering",
        "confirm",
        "acme.sigil",
        "seed-2027",
        "--holder",
        "h-0001",
    ]));

    // The race: 600 shares left, two holders ask for 350 each at the same time through
    // different validators. One fits; the other is refused as the offering is full.
    let racers: Vec<(&str, Child)> = [("h-0002", 1), ("h-0003", 2)]
        .into_iter()
        .map(|(holder, node)| {
            let child = Command::new(binary("sigil"))
                .args(["--node", &net.node(node).api, "--keystore"])
                .arg(&keys)
                .args(subscribe(holder, "350"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start sigil");
            (holder, child)
        })
        .collect();
    let outcomes: Vec<(&str, Output)> = racers
        .into_iter()
        .map(|(holder, child)| (holder, child.wait_with_output().expect("wait for sigil")))
        .collect();
    let (won, lost): (Vec<_>, Vec<_>) = outcomes.iter().partition(|(_, o)| o.status.success());
    assert_eq!(won.len(), 1, "exactly one racer fits: {outcomes:?}");
    let (winner, loser) = (won[0].0, lost[0].0);
    let stderr = String::from_utf8_lossy(&lost[0].1.stderr);
    assert_eq!(lost[0].1.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("has 250 shares left, fewer than the 350 asked"),
        "{stderr}"
    );
    // The loser takes what is left, the platform confirms both payments, and the offering,
    // fully confirmed, closes before its deadline.
    ok(cli(3)(&subscribe(loser, "250")));
    for holder in [winner, loser] {
        ok(cli(2)(&[
            "--key",
            "portal-on",
            "offering",
            "confirm",
            "acme.sigil",
            "seed-2027",
            "--holder",
            holder,
        ]));
    }
    let closed = ok_json(cli(1)(&[
        "--json",
        "--key",
        "owner",
        "offering",
        "close",
        "acme.sigil",
        "seed-2027",
    ]));
    let closed_at = closed["height"].as_u64().unwrap();

    // Every validator holds the same offering and subscriptions, the list paged one at a time.
    let path = "/v1/companies/acme/offerings/seed-2027";
    let mut seen = Vec::new();
    for i in 0..4 {
        net.wait_block(i, closed_at, BLOCKS);
        let mut shown = api_get(&net.node(i).api, path);
        shown.as_object_mut().unwrap().remove("height");
        let mut paged = Vec::new();
        let mut next = format!("{path}/subscriptions?limit=1");
        loop {
            let page = api_get(&net.node(i).api, &next);
            paged.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => next = format!("{path}/subscriptions?limit=1&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(paged, shown["subscriptions"].as_array().unwrap().clone());
        seen.push(shown);
    }
    for (i, shown) in seen.iter().enumerate().skip(1) {
        assert_eq!(shown, &seen[0], "node {i} disagrees with node 0");
    }
    let shown = &seen[0];
    assert_eq!(shown["status"], "funded", "{shown}");
    assert_eq!(shown["subscribed"], 1000);
    assert_eq!(shown["confirmed"], 1000);
    assert_eq!(shown["issued"], 1000);
    assert_eq!(shown["investors"], 3);
    let csv = ok(cli(3)(&[
        "offering",
        "show",
        "acme.sigil",
        "seed-2027",
        "--csv",
    ]));
    assert_eq!(
        csv,
        format!(
            "holder,shares,state,paid,refund_owed\nh-0001,400,issued,true,false\n{winner},350,issued,true,false\n{loser},250,issued,true,false\n"
        )
    );
    let listed = ok_json(cli(2)(&["--json", "offering", "list", "acme"]));
    assert_eq!(listed[0]["offering"], "seed-2027", "{listed}");
    assert_eq!(listed[0]["confirmed"], 1000, "{listed}");

    // The shares issued are locked until the lock-up's end, and the holder sees until when.
    let until = closed_at + 100_000;
    let holder = ok_json(cli(0)(&[
        "--json",
        "holder",
        "show",
        "acme.sigil",
        "--holder",
        "h-0001",
    ]));
    assert_eq!(holder["balances"][0]["balance"], 400, "{holder}");
    assert_eq!(
        holder["balances"][0]["locks"],
        serde_json::json!([{ "until": until, "amount": 400 }]),
        "{holder}"
    );
    let human = ok(cli(3)(&["holder", "show", "acme.sigil", "--holder", loser]));
    assert!(
        human.contains(&format!(
            "250 by an offering's lock-up, movable from height {until}"
        )),
        "{human}"
    );
    company::refused(
        cli(1)(&[
            "shares",
            "transfer",
            "acme.sigil",
            "--class",
            "common",
            "--from",
            "h-0001",
            "--to",
            winner,
            "--amount",
            "1",
        ]),
        "locked by an offering's lock-up",
    );
    net.assert_one_chain(net.height(0));
}
