//! Zone files for import: parsed with hickory's zone parser, then grouped by registered name
//! (the label directly under a chain TLD), leaving out the SOA and the TLD's own NS and glue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::txt::Parser;
use sigil_core::name::{self, Placement};
use sigil_core::records::{DEFAULT_TTL_SECS, Record, validate_set};

/// A zone's records, ready to register.
#[derive(Debug, Default)]
pub struct ZoneNames {
    /// Each registrable name with its records, in name order.
    pub names: BTreeMap<String, Vec<Record>>,
    /// Names (or owner names outside the chain) that cannot be registered, with the reason.
    pub failed: Vec<(String, String)>,
    /// Records left out on purpose: SOA, and the TLD's own NS records and their glue.
    pub skipped_records: usize,
}

/// Reads and groups the zone file at `path`; `origin` applies when the file has no `$ORIGIN`.
pub fn read(path: &Path, origin: &str, tlds: &[String]) -> anyhow::Result<ZoneNames> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the zone file {}", path.display()))?;
    parse(&text, path, origin, tlds)
}

/// Parses and groups zone file text read from `path` (named in errors and `$INCLUDE`s).
pub fn parse(text: &str, path: &Path, origin: &str, tlds: &[String]) -> anyhow::Result<ZoneNames> {
    // Records before any `$TTL` get the ledger's default TTL, as `--set` records do.
    let text = format!("$TTL {DEFAULT_TTL_SECS}\n{text}");
    let origin = Name::from_ascii(origin)
        .with_context(|| format!("--origin `{origin}` is not a domain name"))?;
    let (_, rrsets) = Parser::new(text, Some(path.to_path_buf()), Some(origin))
        .parse()
        .map_err(|e| anyhow::anyhow!("{} is not a valid zone file: {e}", path.display()))?;
    let records = rrsets
        .values()
        .flat_map(|set| set.records_without_rrsigs())
        .map(|r| (owner(&r.name), r.ttl, r.data.clone()));
    Ok(group(records, tlds))
}

/// Groups zone records (owner name, TTL, data) by the name they belong to.
pub fn group(
    records: impl IntoIterator<Item = (String, u32, RData)>,
    tlds: &[String],
) -> ZoneNames {
    let records: Vec<(String, u32, RData)> = records.into_iter().collect();
    // The TLD's own name servers: their addresses in the zone are glue, not names to register.
    let glue: BTreeSet<String> = records
        .iter()
        .filter(|(owner, _, _)| matches!(name::place(owner, tlds), Placement::Tld(_)))
        .filter_map(|(_, _, data)| match data {
            RData::NS(ns) => Some(self::owner(&ns.0)),
            _ => None,
        })
        .collect();
    let mut out = ZoneNames::default();
    let mut bad: BTreeMap<String, String> = BTreeMap::new();
    for (owner, ttl, data) in records {
        let rtype = data.record_type();
        if rtype == RecordType::SOA
            || matches!(name::place(&owner, tlds), Placement::Tld(_))
            || (glue.contains(&owner) && matches!(rtype, RecordType::A | RecordType::AAAA))
        {
            out.skipped_records += 1;
            continue;
        }
        let Placement::Under { name, host, .. } = name::place(&owner, tlds) else {
            bad.entry(owner.clone()).or_insert_with(|| {
                format!(
                    "`{owner}` is not under a top-level domain of this chain ({})",
                    tlds.join(", ")
                )
            });
            continue;
        };
        let name = match name::registrable(name, tlds) {
            Ok(name) => name,
            Err(e) => {
                bad.entry(name.to_string()).or_insert_with(|| e.to_string());
                continue;
            }
        };
        if bad.contains_key(&name) {
            continue;
        }
        match Record::new(host, ttl, &data) {
            Ok(record) => out.names.entry(name).or_default().push(record),
            Err(e) => {
                out.names.remove(&name);
                bad.insert(name, format!("record `{owner} {ttl} {rtype} {data}`: {e}"));
            }
        }
    }
    out.names
        .retain(|name, records| match validate_set(records) {
            Ok(()) => true,
            Err(e) => {
                bad.insert(name.clone(), e.to_string());
                false
            }
        });
    out.failed = bad.into_iter().collect();
    out
}

/// A domain name in the lowercase, dot-free-at-the-end form the ledger uses.
fn owner(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlds() -> Vec<String> {
        vec!["sigil".into()]
    }

    fn parse(text: &str) -> ZoneNames {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("z.zone");
        std::fs::write(&path, text).unwrap();
        read(&path, "sigil.", &tlds()).unwrap()
    }

    #[test]
    fn groups_the_benchmark_zone() {
        let zone = parse(
            "$ORIGIN sigil.\n$TTL 300\n@ SOA ns1.sigil. admin.sigil. 1 3600 600 86400 300\n@ NS ns1.sigil.\n\
             ns1 A 127.0.0.1\n\
             na0 A 10.0.0.0\nna0 AAAA fd00::0:0\nna0 TXT \"bench 0\"\n\
             _443._tcp.na0 TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\
             nb1 A 10.0.0.1\nwww.nb1 600 A 10.0.0.2\n",
        );
        assert_eq!(zone.skipped_records, 3, "SOA, the TLD's NS and its glue");
        assert!(zone.failed.is_empty(), "{:?}", zone.failed);
        assert_eq!(
            zone.names.keys().collect::<Vec<_>>(),
            ["na0.sigil", "nb1.sigil"]
        );
        let mut na0: Vec<String> = zone.names["na0.sigil"]
            .iter()
            .map(Record::to_string)
            .collect();
        na0.sort();
        assert_eq!(na0.len(), 4);
        assert_eq!(na0[0], "@ 300 A 10.0.0.0");
        assert!(
            na0[3].starts_with("_443._tcp 300 TLSA 3 1 1 0123"),
            "{na0:?}"
        );
        let nb1: Vec<String> = zone.names["nb1.sigil"]
            .iter()
            .map(Record::to_string)
            .collect();
        assert!(nb1.contains(&"www 600 A 10.0.0.2".to_string()), "{nb1:?}");
    }

    #[test]
    fn reports_what_cannot_be_registered() {
        let zone = parse(
            "$ORIGIN sigil.\n\
             good A 192.0.2.1\n\
             example.com. A 192.0.2.2\n\
             bad A 192.0.2.3\nbad CNAME other.sigil.\n\
             odd A 192.0.2.4\nodd HINFO \"a\" \"b\"\n",
        );
        assert_eq!(zone.names.keys().collect::<Vec<_>>(), ["good.sigil"]);
        let failed: BTreeMap<_, _> = zone.failed.iter().cloned().collect();
        assert!(
            failed["example.com"].contains("not under a top-level domain"),
            "{failed:?}"
        );
        assert!(failed["bad.sigil"].contains("CNAME"), "{failed:?}");
        assert!(failed["odd.sigil"].contains("HINFO"), "{failed:?}");
    }

    #[test]
    fn defaults_apply_without_dollar_origin_and_ttl() {
        let zone = parse("plain A 192.0.2.1\n$TTL 60\nplain AAAA 2001:db8::1\n");
        assert_eq!(zone.names.keys().collect::<Vec<_>>(), ["plain.sigil"]);
        let mut records: Vec<String> = zone.names["plain.sigil"]
            .iter()
            .map(Record::to_string)
            .collect();
        records.sort();
        assert_eq!(records, ["@ 300 A 192.0.2.1", "@ 60 AAAA 2001:db8::1"]);
    }

    #[test]
    fn relative_targets_hang_from_the_origin() {
        let zone = parse(
            "$ORIGIN shop.sigil.\n@ A 192.0.2.1\nalias CNAME www\n@ MX 10 mail\nwww A 192.0.2.2\n\
             _sip._tcp SRV 10 60 5060 sip\nfar CNAME other.net.\n",
        );
        let mut records: Vec<String> = zone.names["shop.sigil"]
            .iter()
            .map(Record::to_string)
            .collect();
        records.sort();
        assert_eq!(
            records,
            [
                "@ 300 A 192.0.2.1",
                "@ 300 MX 10 mail.shop.sigil.",
                "_sip._tcp 300 SRV 10 60 5060 sip.shop.sigil.",
                "alias 300 CNAME www.shop.sigil.",
                "far 300 CNAME other.net.",
                "www 300 A 192.0.2.2",
            ]
        );
    }

    #[test]
    fn a_broken_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("z.zone");
        std::fs::write(&path, "$ORIGIN sigil.\nx A\n").unwrap();
        let err = read(&path, "sigil.", &tlds()).unwrap_err().to_string();
        assert!(err.contains("not a valid zone file"), "{err}");
    }
}
