//! Record sets from the command line: the apex shortcut flags (`--a`, `--mx`, ...), `--set`
//! records, and the merge of `--set` / `--delete` / `--clear` into a name's current records.

use anyhow::Context;
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{RData, RecordType};
use sigil_core::error::shown;
use sigil_core::records::{
    DEFAULT_TTL_SECS, Origin, Record, host_at, parse_type, split_txt, validate_set,
};

use crate::args::RecordFlags;

/// The records a registration of `origin.name` starts with: the shortcut flags at the name
/// itself, then `--set`. Relative hosts and targets are relative to the name.
pub fn from_flags(flags: &RecordFlags, origin: Origin<'_>) -> anyhow::Result<Vec<Record>> {
    let mut records = Vec::new();
    for ip in &flags.a {
        records.push(apex(&RData::A(A(*ip)))?);
    }
    for ip in &flags.aaaa {
        records.push(apex(&RData::AAAA(AAAA(*ip)))?);
    }
    for text in &flags.txt {
        records.push(apex(&RData::TXT(TXT::new(split_txt(text))))?);
    }
    if let Some(target) = &flags.cname {
        records.push(apex_text(RecordType::CNAME, target, "--cname", origin)?);
    }
    for mx in &flags.mx {
        records.push(apex_text(RecordType::MX, mx, "--mx", origin)?);
    }
    for ns in &flags.ns {
        records.push(apex_text(RecordType::NS, ns, "--ns", origin)?);
    }
    records.extend(parse_sets(&flags.set, origin)?);
    let records = dedup(records);
    check(&records)?;
    Ok(records)
}

/// Changes asked of `name update`.
#[derive(Debug, Default)]
pub struct Edits {
    pub clear: bool,
    /// Host and type (`None`: every type) whose records go.
    pub delete: Vec<(String, Option<RecordType>)>,
    pub set: Vec<Record>,
}

impl Edits {
    pub fn parse(
        set: &[String],
        delete: &[String],
        clear: bool,
        origin: Origin<'_>,
    ) -> anyhow::Result<Edits> {
        if set.is_empty() && delete.is_empty() && !clear {
            anyhow::bail!(
                "nothing to change; give --set \"HOST [TTL] TYPE DATA\", --delete \"HOST TYPE\" or --clear"
            );
        }
        Ok(Edits {
            clear,
            delete: delete
                .iter()
                .map(|d| parse_delete(d, origin))
                .collect::<anyhow::Result<_>>()?,
            set: parse_sets(set, origin)?,
        })
    }

    /// Applies the edits to `current`: clear, then deletions, then each `--set` host+type
    /// replaces what was there (several `--set` of one host+type accumulate).
    pub fn apply(&self, name: &str, current: &[Record]) -> anyhow::Result<Vec<Record>> {
        let mut records: Vec<Record> = if self.clear {
            Vec::new()
        } else {
            current.to_vec()
        };
        for (host, rtype) in &self.delete {
            let before = records.len();
            records.retain(|r| !(r.host == *host && rtype.is_none_or(|t| r.record_type() == t)));
            if records.len() == before && !self.clear {
                let what = match rtype {
                    Some(t) => format!("{} {t}", host_text(host)),
                    None => host_text(host).to_string(),
                };
                anyhow::bail!(
                    "--delete \"{what}\" matches no record of `{name}`; see its records with `sigil name show {name}`"
                );
            }
        }
        let replaced: Vec<(&str, u16)> = self
            .set
            .iter()
            .map(|r| (r.host.as_str(), r.rtype))
            .collect();
        records.retain(|r| !replaced.contains(&(r.host.as_str(), r.rtype)));
        records.extend(self.set.iter().cloned());
        let mut records = dedup(records);
        // Group by host and type for readable listings; order within a set is kept.
        records.sort_by(|a, b| (&a.host, a.rtype).cmp(&(&b.host, b.rtype)));
        check(&records)?;
        Ok(records)
    }
}

/// Parses `--set` values for the name `origin`, naming the one that is wrong.
pub fn parse_sets(sets: &[String], origin: Origin<'_>) -> anyhow::Result<Vec<Record>> {
    sets.iter()
        .map(|text| {
            Record::parse_at(text, origin).with_context(|| format!("--set \"{}\"", shown(text)))
        })
        .collect()
}

/// Parses a `--delete` value: `HOST TYPE` or `HOST`.
fn parse_delete(text: &str, origin: Origin<'_>) -> anyhow::Result<(String, Option<RecordType>)> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let (host, rtype) = match tokens[..] {
        [host] => (host, None),
        [host, rtype] => (host, Some(rtype)),
        _ => anyhow::bail!(
            "--delete \"{}\" is not of the form \"HOST TYPE\" or \"HOST\" (e.g. \"www A\", \"@ MX\")",
            shown(text)
        ),
    };
    let context = || format!("--delete \"{}\"", shown(text));
    let host = host_at(host, origin).with_context(context)?;
    let rtype = rtype.map(parse_type).transpose().with_context(context)?;
    Ok((host, rtype))
}

fn apex(rdata: &RData) -> anyhow::Result<Record> {
    Ok(Record::new("", DEFAULT_TTL_SECS, rdata)?)
}

fn apex_text(
    rtype: RecordType,
    data: &str,
    flag: &str,
    origin: Origin<'_>,
) -> anyhow::Result<Record> {
    Record::from_text_at("", DEFAULT_TTL_SECS, rtype, data, origin)
        .with_context(|| format!("{flag} \"{}\"", shown(data)))
}

/// Drops repeated records (same host, type, TTL and data), keeping the first.
fn dedup(records: Vec<Record>) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::with_capacity(records.len());
    for r in records {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// The checks the ledger applies to a whole set, before anything is signed.
fn check(records: &[Record]) -> anyhow::Result<()> {
    validate_set(records).context("the records cannot be stored")
}

fn host_text(host: &str) -> &str {
    if host.is_empty() { "@" } else { host }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "x.sigil";

    fn tlds() -> Vec<String> {
        vec!["sigil".into()]
    }

    fn texts(records: &[Record]) -> Vec<String> {
        records.iter().map(Record::to_string).collect()
    }

    #[test]
    fn shortcut_flags_make_apex_records() {
        let flags = RecordFlags {
            a: vec!["192.0.2.8".parse().unwrap()],
            aaaa: vec!["2001:db8::8".parse().unwrap()],
            txt: vec!["hello world".into(), "x".repeat(300)],
            mx: vec!["10 mail".into()],
            ns: vec!["ns1.other.net.".into()],
            set: vec!["www 600 A 192.0.2.9".into(), "www 600 A 192.0.2.9".into()],
            ..RecordFlags::default()
        };
        let records = from_flags(
            &flags,
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        let t = texts(&records);
        assert_eq!(t[0], "@ 300 A 192.0.2.8");
        assert_eq!(t[1], "@ 300 AAAA 2001:db8::8");
        assert_eq!(t[2], "@ 300 TXT \"hello world\"");
        let RData::TXT(long) = records[3].rdata().unwrap() else {
            panic!()
        };
        assert_eq!(
            long.txt_data.len(),
            2,
            "300 bytes are split into two strings"
        );
        assert_eq!(t[4], "@ 300 MX 10 mail.x.sigil.");
        assert_eq!(t[5], "@ 300 NS ns1.other.net.");
        assert_eq!(t[6], "www 600 A 192.0.2.9");
        assert_eq!(records.len(), 7, "the repeated --set is kept once");
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let flags = RecordFlags {
            mx: vec!["mail.example.sigil".into()],
            ..RecordFlags::default()
        };
        assert!(
            format!(
                "{:#}",
                from_flags(
                    &flags,
                    Origin {
                        name: NAME,
                        tlds: &tlds()
                    }
                )
                .unwrap_err()
            )
            .contains("--mx \"mail.example.sigil\"")
        );
        let flags = RecordFlags {
            set: vec!["www A 300.1.1.1".into()],
            ..RecordFlags::default()
        };
        assert!(
            format!(
                "{:#}",
                from_flags(
                    &flags,
                    Origin {
                        name: NAME,
                        tlds: &tlds()
                    }
                )
                .unwrap_err()
            )
            .contains("--set \"www A 300.1.1.1\"")
        );
        let flags = RecordFlags {
            cname: Some("other.sigil".into()),
            a: vec!["192.0.2.1".parse().unwrap()],
            ..RecordFlags::default()
        };
        assert!(
            format!(
                "{:#}",
                from_flags(
                    &flags,
                    Origin {
                        name: NAME,
                        tlds: &tlds()
                    }
                )
                .unwrap_err()
            )
            .contains("CNAME")
        );
    }

    #[test]
    fn single_values_refuse_extra_words_and_absolute_hosts_stay_inside() {
        let origin = Origin {
            name: NAME,
            tlds: &tlds(),
        };
        let flags = RecordFlags {
            cname: Some("x y".into()),
            ..RecordFlags::default()
        };
        let err = format!("{:#}", from_flags(&flags, origin).unwrap_err());
        assert!(
            err.contains("--cname \"x y\"") && err.contains("2 value(s)"),
            "{err}"
        );
        let flags = RecordFlags {
            set: vec!["www.other.sigil A 192.0.2.1".into()],
            ..RecordFlags::default()
        };
        let err = format!("{:#}", from_flags(&flags, origin).unwrap_err());
        assert!(err.contains("outside `x.sigil`"), "{err}");
        let edits = Edits::parse(&[], &["www.x.sigil A".into()], false, origin).unwrap();
        assert_eq!(edits.delete[0].0, "www");
    }

    #[test]
    fn set_replaces_a_host_and_type_and_accumulates() {
        let current = parse_sets(
            &[
                "@ A 192.0.2.1".into(),
                "@ A 192.0.2.2".into(),
                "www A 192.0.2.3".into(),
                "@ TXT old".into(),
            ],
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        let edits = Edits::parse(
            &["@ A 198.51.100.1".into(), "@ 60 A 198.51.100.2".into()],
            &[],
            false,
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        let t = texts(&edits.apply("x.sigil", &current).unwrap());
        assert_eq!(
            t,
            [
                "@ 300 A 198.51.100.1",
                "@ 60 A 198.51.100.2",
                "@ 300 TXT \"old\"",
                "www 300 A 192.0.2.3"
            ]
        );
    }

    #[test]
    fn delete_and_clear() {
        let current = parse_sets(
            &[
                "@ A 192.0.2.1".into(),
                "www A 192.0.2.3".into(),
                "www AAAA 2001:db8::1".into(),
            ],
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        let edits = Edits::parse(
            &[],
            &["www A".into()],
            false,
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        assert_eq!(
            texts(&edits.apply("x.sigil", &current).unwrap()),
            ["@ 300 A 192.0.2.1", "www 300 AAAA 2001:db8::1"]
        );
        let edits = Edits::parse(
            &[],
            &["WWW".into()],
            false,
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        assert_eq!(
            texts(&edits.apply("x.sigil", &current).unwrap()),
            ["@ 300 A 192.0.2.1"]
        );
        let edits = Edits::parse(
            &[],
            &["mail MX".into()],
            false,
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        let err = edits.apply("x.sigil", &current).unwrap_err().to_string();
        assert!(
            err.contains("matches no record") && err.contains("sigil name show x.sigil"),
            "{err}"
        );
        let edits = Edits::parse(
            &["@ TXT fresh".into()],
            &[],
            true,
            Origin {
                name: NAME,
                tlds: &tlds(),
            },
        )
        .unwrap();
        assert_eq!(
            texts(&edits.apply("x.sigil", &current).unwrap()),
            ["@ 300 TXT \"fresh\""]
        );
        assert!(
            Edits::parse(
                &[],
                &[],
                false,
                Origin {
                    name: NAME,
                    tlds: &tlds()
                }
            )
            .is_err()
        );
        assert!(
            Edits::parse(
                &[],
                &["www A extra".into()],
                false,
                Origin {
                    name: NAME,
                    tlds: &tlds()
                }
            )
            .is_err()
        );
        assert!(
            Edits::parse(
                &[],
                &["www SOA".into()],
                false,
                Origin {
                    name: NAME,
                    tlds: &tlds()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn txt_splits_on_character_boundaries() {
        let parts = split_txt(&"é".repeat(200));
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), "é".repeat(200));
    }
}
