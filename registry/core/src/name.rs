//! Name normalization: lowercase IDNA A-labels within DNS length limits, and the split of a
//! query name into its registered name and the host below it.

use crate::error::{NameError, shown};
use crate::limits::{MAX_LABEL_BYTES, MAX_NAME_BYTES};

/// Normalizes a domain name: trailing dot removed, lowercased, Unicode labels turned into
/// A-labels (IDNA), each label checked for length and characters. `allow_underscore` admits
/// labels such as `_443` and `_tcp` used by TLSA and SRV owner names.
pub fn normalize(input: &str, allow_underscore: bool) -> Result<String, NameError> {
    let trimmed = input.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|e| NameError::Idna {
            name: shown(trimmed),
            detail: e.to_string(),
        })?
    };
    if ascii.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong {
            name: shown(&ascii),
            max: MAX_NAME_BYTES,
        });
    }
    for label in ascii.split('.') {
        check_label(&ascii, label, allow_underscore)?;
    }
    Ok(ascii)
}

/// The Unicode form of a normalized name that has internationalized labels (`xn--bcher-kva.sigil`
/// gives `bücher.sigil`); `None` for a plain ASCII name or labels that do not decode.
pub fn unicode(ascii: &str) -> Option<String> {
    if !ascii.split('.').any(|l| l.starts_with("xn--")) {
        return None;
    }
    match idna::domain_to_unicode(ascii) {
        (unicode, Ok(())) if unicode != ascii => Some(unicode),
        _ => None,
    }
}

fn check_label(name: &str, label: &str, allow_underscore: bool) -> Result<(), NameError> {
    if label.is_empty() {
        return Err(NameError::EmptyLabel { name: shown(name) });
    }
    if label.len() > MAX_LABEL_BYTES {
        return Err(NameError::LabelTooLong {
            name: shown(name),
            label: label.to_string(),
        });
    }
    let ok_char = |c: u8| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || (allow_underscore && c == b'_')
    };
    if !label.bytes().all(ok_char) || label.starts_with('-') || label.ends_with('-') {
        return Err(NameError::BadLabel {
            name: shown(name),
            label: label.to_string(),
        });
    }
    Ok(())
}

/// Normalizes a name that can be registered: exactly one label directly under one of `tlds`.
pub fn registrable(input: &str, tlds: &[String]) -> Result<String, NameError> {
    let name = normalize(input, false)?;
    match name.split_once('.') {
        Some((_, tld)) if tlds.iter().any(|t| t == tld) => Ok(name),
        _ => Err(NameError::NotRegistrable {
            name,
            tlds: tlds.join(", "),
            first_tld: tlds.first().cloned().unwrap_or_default(),
        }),
    }
}

/// The label of every top-level domain's own name server name (`ns1.sigil`), which its apex NS
/// record and its SOA name. Nodes answer it themselves; no one may register it.
pub const TLD_NAME_SERVER_LABEL: &str = "ns1";

/// The name server name of top-level domain `tld`: `ns1.<tld>`.
pub fn tld_name_server(tld: &str) -> String {
    format!("{TLD_NAME_SERVER_LABEL}.{tld}")
}

/// Whether the registered name `name` (lowercase, no trailing dot) is the name server name of
/// its top-level domain `tld`.
pub fn is_tld_name_server(name: &str, tld: &str) -> bool {
    name.len() == TLD_NAME_SERVER_LABEL.len() + 1 + tld.len()
        && name.starts_with(TLD_NAME_SERVER_LABEL)
        && name.as_bytes()[TLD_NAME_SERVER_LABEL.len()] == b'.'
        && name.ends_with(tld)
}

/// Refuses a normalized registrable name that no one may register: its top-level domain's
/// own name server name.
pub fn check_not_reserved(name: &str) -> Result<(), NameError> {
    match name.split_once('.') {
        Some((TLD_NAME_SERVER_LABEL, tld)) => Err(NameError::Reserved {
            name: name.to_string(),
            tld: tld.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Normalizes a record's host, relative to its registered name: `@` or empty is the name
/// itself; anything else is one or more labels (underscores allowed).
pub fn host(input: &str) -> Result<String, NameError> {
    let h = input.trim();
    if h.is_empty() || h == "@" {
        return Ok(String::new());
    }
    normalize(h, true)
}

/// Where a (normalized, dot-free at the end) query name sits in the chain's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement<'a> {
    /// The top-level domain itself, e.g. `sigil`.
    Tld(&'a str),
    /// A registered name (`example.sigil`) and the host below it (`""` or `www`).
    Under {
        name: &'a str,
        host: &'a str,
        tld: &'a str,
    },
    /// Outside every top-level domain of the chain.
    Outside,
}

/// Splits a lowercase query name (no trailing dot) against the chain's top-level domains.
pub fn place<'a>(qname: &'a str, tlds: &[String]) -> Placement<'a> {
    for tld in tlds {
        if qname == tld {
            return Placement::Tld(qname);
        }
        if let Some(rest) = qname
            .strip_suffix(tld.as_str())
            .and_then(|r| r.strip_suffix('.'))
        {
            if rest.is_empty() {
                continue;
            }
            let (host, label_start) = match rest.rfind('.') {
                Some(i) => (&rest[..i], i + 1),
                None => ("", 0),
            };
            return Placement::Under {
                name: &qname[label_start..],
                host,
                tld: &qname[qname.len() - tld.len()..],
            };
        }
    }
    Placement::Outside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlds() -> Vec<String> {
        vec!["sigil".to_string()]
    }

    #[test]
    fn the_tld_name_server_name_is_reserved() {
        assert_eq!(tld_name_server("sigil"), "ns1.sigil");
        assert!(is_tld_name_server("ns1.sigil", "sigil"));
        for other in [
            "ns1.test",
            "ns2.sigil",
            "ns1x.sigil",
            "xns1.sigil",
            "ns1sigil",
        ] {
            assert!(!is_tld_name_server(other, "sigil"), "{other}");
        }
        let name = registrable("NS1.sigil.", &tlds()).unwrap();
        assert!(matches!(
            check_not_reserved(&name),
            Err(NameError::Reserved { ref tld, .. }) if tld == "sigil"
        ));
        assert_eq!(check_not_reserved("ns2.sigil"), Ok(()));
        assert_eq!(check_not_reserved("example.sigil"), Ok(()));
    }

    #[test]
    fn lowercases_and_strips_the_dot() {
        assert_eq!(normalize("Example.SIGIL.", false).unwrap(), "example.sigil");
    }

    #[test]
    fn unicode_becomes_an_a_label() {
        assert_eq!(
            registrable("bücher.sigil", &tlds()).unwrap(),
            "xn--bcher-kva.sigil"
        );
    }

    #[test]
    fn a_labels_read_back_as_unicode() {
        assert_eq!(
            unicode("xn--bcher-kva.sigil").as_deref(),
            Some("bücher.sigil")
        );
        assert_eq!(unicode("example.sigil"), None);
        assert_eq!(unicode("xn--zz.sigil"), None);
    }

    #[test]
    fn refuses_bad_names() {
        assert!(matches!(
            normalize("a..sigil", false),
            Err(NameError::EmptyLabel { .. })
        ));
        assert!(matches!(
            normalize("-a.sigil", false),
            Err(NameError::BadLabel { .. })
        ));
        assert!(matches!(
            normalize("a_b.sigil", false),
            Err(NameError::BadLabel { .. })
        ));
        assert!(matches!(
            normalize(&format!("{}.sigil", "a".repeat(64)), false),
            Err(NameError::LabelTooLong { .. })
        ));
        let long = vec!["abcdefghij"; 26].join(".");
        assert!(matches!(
            normalize(&long, false),
            Err(NameError::TooLong { .. })
        ));
        assert!(matches!(
            registrable("a.b.sigil", &tlds()),
            Err(NameError::NotRegistrable { .. })
        ));
        assert!(matches!(
            registrable("example.com", &tlds()),
            Err(NameError::NotRegistrable { .. })
        ));
        assert_eq!(host("_443._tcp").unwrap(), "_443._tcp");
        assert_eq!(host("@").unwrap(), "");
    }

    #[test]
    fn places_query_names() {
        let t = tlds();
        assert_eq!(place("sigil", &t), Placement::Tld("sigil"));
        assert_eq!(
            place("example.sigil", &t),
            Placement::Under {
                name: "example.sigil",
                host: "",
                tld: "sigil"
            }
        );
        assert_eq!(
            place("a.www.example.sigil", &t),
            Placement::Under {
                name: "example.sigil",
                host: "a.www",
                tld: "sigil"
            }
        );
        assert_eq!(place("example.com", &t), Placement::Outside);
        assert_eq!(place("xsigil", &t), Placement::Outside);
    }
}
