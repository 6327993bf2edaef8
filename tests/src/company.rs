//! A company set up through the `sigil` CLI, as the company and offering tests start: the keys,
//! the name `acme.sigil`, the admin identity `acme-admin`, the company and its holders.

use std::process::Output;

use crate::ok;

/// The company's name.
pub const NAME: &str = "acme.sigil";
/// The company's admin identity, with online key `admin-on` and offline key `admin-off`.
pub const ADMIN: &str = "acme-admin";

/// What [`create`] sets up beside the name owner's key `owner` and the admin's two keys.
pub struct Setup<'a> {
    /// Share classes of the company, in order.
    pub classes: &'a [&'a str],
    /// Holders issued at once: (holder id, name of its key in the keystore).
    pub holders: &'a [(&'a str, &'a str)],
    /// Further keys the test needs, created in the keystore too.
    pub keys: &'a [&'a str],
}

/// Creates the keys `owner`, `admin-on`, `admin-off`, every holder's key and `setup.keys`;
/// registers [`NAME`] with `owner`, the identity [`ADMIN`], the company with `setup.classes`
/// (its id is `acme`), and issues `setup.holders`. `sigil` runs one CLI command against a node
/// with the test's keystore.
pub fn create(sigil: impl Fn(&[&str]) -> Output, setup: &Setup<'_>) {
    let holder_keys = setup.holders.iter().map(|(_, key)| *key);
    for key in ["owner", "admin-on", "admin-off"]
        .into_iter()
        .chain(holder_keys)
        .chain(setup.keys.iter().copied())
    {
        ok(sigil(&["key", "new", key]));
    }
    ok(sigil(&[
        "--key",
        "owner",
        "name",
        "register",
        NAME,
        "--a",
        "192.0.2.7",
    ]));
    identity(&sigil, ADMIN, "admin-on", "admin-off");
    let mut create = vec!["company", "create", NAME, "--admin", ADMIN];
    for class in setup.classes {
        create.extend(["--class", class]);
    }
    // The name's owner key is found in the keystore; no --key needed.
    ok(sigil(&create));
    for (holder, key) in setup.holders {
        ok(sigil(&[
            "holder", "issue", NAME, "--holder", holder, "--key", key,
        ]));
    }
}

/// Registers identity `id` with the keystore's keys `online` and `offline`.
pub fn identity(sigil: impl Fn(&[&str]) -> Output, id: &str, online: &str, offline: &str) {
    ok(sigil(&[
        "identity",
        "register",
        id,
        "--online",
        online,
        "--offline",
        offline,
    ]));
}

/// Asserts that a command was refused by the node: exit 2, `needle` in its message.
pub fn refused(output: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
}
