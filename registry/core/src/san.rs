//! DNS names of certificates (subject alternative names): their canonical spelling, wildcard
//! matching (RFC 6125: `*` is a whole leftmost label and stands for exactly one label), and
//! which names of the chain a certificate bound to a registered name may carry.

use crate::error::SanError;
use crate::name::{self, Placement, place};

/// The canonical spelling of a certificate's DNS name: lowercase A-labels without the trailing
/// dot, with an optional leading `*.` wildcard label.
pub fn normalize(input: &str) -> Result<String, SanError> {
    let bad = |detail: String| SanError::Invalid {
        san: input.to_string(),
        detail,
    };
    let (wildcard, base) = match input.trim().strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, input.trim()),
    };
    if base.contains('*') {
        return Err(bad(
            "`*` may only be the whole leftmost label (`*.example.sigil`)".into(),
        ));
    }
    let base = name::normalize(base, false).map_err(|e| bad(e.to_string()))?;
    Ok(if wildcard { format!("*.{base}") } else { base })
}

/// The name a SAN stands for without its wildcard label (`*.a.sigil` → `a.sigil`).
pub fn base(san: &str) -> &str {
    san.strip_prefix("*.").unwrap_or(san)
}

/// Whether `san` (canonical) names `host` (lowercase, no trailing dot): equal, or a wildcard
/// whose `*` stands for exactly the first label of `host`.
pub fn matches(san: &str, host: &str) -> bool {
    match san.strip_prefix("*.") {
        None => san == host,
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(label, parent)| !label.is_empty() && parent == rest),
    }
}

/// Whether `host` is `name` or a subname of it.
pub fn within(host: &str, name: &str) -> bool {
    host == name
        || host
            .strip_suffix(name)
            .is_some_and(|head| head.ends_with('.'))
}

/// Checks the SANs of a certificate to be bound to the registered `name` (normalized): every
/// SAN canonical; SANs under the chain's TLDs all within `name` (a certificate bound to a
/// name speaks for that name only) and no wildcard over a whole TLD; at least one SAN within
/// `name`. Names outside the chain's TLDs are allowed and kept, but the ledger vouches for
/// none of them.
pub fn check_for_name(sans: &[String], name: &str, tlds: &[String]) -> Result<(), SanError> {
    if sans.is_empty() {
        return Err(SanError::None {
            name: name.to_string(),
        });
    }
    let mut covers = false;
    for san in sans {
        let canonical = normalize(san)?;
        if canonical != *san {
            return Err(SanError::NotCanonical {
                san: san.clone(),
                canonical,
            });
        }
        match place(base(san), tlds) {
            Placement::Outside => {}
            Placement::Tld(tld) => {
                return Err(SanError::WholeTld {
                    san: san.clone(),
                    tld: tld.to_string(),
                });
            }
            Placement::Under { .. } if within(base(san), name) => covers = true,
            Placement::Under { name: other, .. } => {
                return Err(SanError::OtherName {
                    san: san.clone(),
                    name: name.to_string(),
                    other: other.to_string(),
                });
            }
        }
    }
    if !covers {
        return Err(SanError::NotCovered {
            name: name.to_string(),
            sans: sans.join(", "),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlds() -> Vec<String> {
        vec!["sigil".into()]
    }

    #[test]
    fn normalizes_and_refuses_bad_wildcards() {
        assert_eq!(
            normalize("WWW.Example.Sigil.").unwrap(),
            "www.example.sigil"
        );
        assert_eq!(normalize("*.Example.sigil").unwrap(), "*.example.sigil");
        assert!(normalize("w*.example.sigil").is_err());
        assert!(normalize("*.*.example.sigil").is_err());
        assert!(normalize("www.*.sigil").is_err());
        assert!(normalize("").is_err());
        assert!(normalize("a..b").is_err());
    }

    #[test]
    fn wildcards_match_exactly_one_label() {
        assert!(matches("example.sigil", "example.sigil"));
        assert!(!matches("example.sigil", "www.example.sigil"));
        assert!(matches("*.example.sigil", "www.example.sigil"));
        assert!(!matches("*.example.sigil", "example.sigil"));
        assert!(!matches("*.example.sigil", "a.b.example.sigil"));
        assert!(!matches("*.example.sigil", "wwwexample.sigil"));
    }

    #[test]
    fn within_respects_label_boundaries() {
        assert!(within("example.sigil", "example.sigil"));
        assert!(within("a.example.sigil", "example.sigil"));
        assert!(!within("badexample.sigil", "example.sigil"));
        assert!(!within("sigil", "example.sigil"));
    }

    #[test]
    fn sans_must_cover_the_name_and_stay_inside_it() {
        let ok = |sans: &[&str]| {
            let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
            check_for_name(&sans, "example.sigil", &tlds())
        };
        assert_eq!(ok(&["example.sigil"]), Ok(()));
        assert_eq!(ok(&["www.example.sigil", "example.com"]), Ok(()));
        assert_eq!(ok(&["*.example.sigil"]), Ok(()));
        assert!(matches!(ok(&[]), Err(SanError::None { .. })));
        assert!(matches!(
            ok(&["example.com"]),
            Err(SanError::NotCovered { .. })
        ));
        assert!(matches!(
            ok(&["example.sigil", "other.sigil"]),
            Err(SanError::OtherName { .. })
        ));
        assert!(matches!(ok(&["*.sigil"]), Err(SanError::WholeTld { .. })));
        assert!(matches!(
            ok(&["Example.sigil"]),
            Err(SanError::NotCanonical { .. })
        ));
    }
}
