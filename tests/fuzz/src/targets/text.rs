//! Text and certificate input a user hands the CLI: `--set` record text, zone files for
//! import, and PEM/DER certificate chains.

use std::path::Path;

use sigil_ca_bridge::judge::registered_name;
use sigil_ca_bridge::parse::parse_chain;
use sigil_core::records::{Origin, Record, validate_set};

use crate::world::TLD;
use crate::zone;

/// `--set` text for `shop.sigil` and record text as it travels in JSON: whatever parses
/// shows as text that parses back to the same record.
pub fn record(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tlds = [TLD.to_string()];
    let origin = Origin {
        name: "shop.sigil",
        tlds: &tlds,
    };
    for parsed in [Record::parse_at(text, origin), Record::parse(text)] {
        let Ok(record) = parsed else {
            continue;
        };
        if let Err(e) = validate_set(std::slice::from_ref(&record)) {
            panic!("`{text}` parses, but the ledger refuses the record: {e}");
        }
        let shown = record.to_string();
        let back = Record::parse(&shown)
            .unwrap_or_else(|e| panic!("`{shown}`, shown from `{text}`, does not parse: {e}"));
        assert_eq!(back, record, "`{shown}` parses to another record");
    }
}

/// A zone file for `sigil import`, parsed and grouped by registered name (`$INCLUDE` left out:
/// it reads the named file, which is the user's own).
pub fn zone(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.to_ascii_lowercase().contains("include") {
        return;
    }
    let tlds = [TLD.to_string()];
    let Ok(names) = zone::parse(text, Path::new("fuzz.zone"), "sigil.", &tlds) else {
        return;
    };
    for (name, records) in &names.names {
        assert!(validate_set(records).is_ok(), "{name}'s records were kept");
        assert!(
            registered_name(name, &tlds).is_ok(),
            "`{name}` is registrable"
        );
    }
}

/// A certificate file (PEM or DER chain) as `sigil cert register` and the CA bridge read it.
pub fn cert(data: &[u8]) {
    let Ok(chain) = parse_chain(data) else {
        return;
    };
    let tlds = [TLD.to_string()];
    for cert in &chain {
        let _ = cert.facts("shop.sigil");
        for san in &cert.sans {
            let _ = registered_name(san.trim_start_matches("*."), &tlds);
        }
    }
}
