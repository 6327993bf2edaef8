//! DNS records as the ledger keeps them: a host relative to the registered name, a TTL, a type
//! and the RDATA in canonical wire form (uncompressed, lowercase names), parsed and checked with
//! hickory-proto so the CLI, zone import and the resolver share one reading of record syntax.

use borsh::{BorshDeserialize, BorshSerialize};
use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{
    BinDecoder, BinEncodable, BinEncoder, NameEncoding, Restrict,
};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::RecordError;
use crate::limits::{
    MAX_RDATA_BYTES, MAX_RECORDS_BYTES_PER_NAME, MAX_RECORDS_PER_NAME, MAX_TTL_SECS,
};
use crate::name;

/// TTL given to records that do not state one.
pub const DEFAULT_TTL_SECS: u32 = 300;

/// The record types a name may carry.
pub const SUPPORTED_TYPES: [RecordType; 10] = [
    RecordType::A,
    RecordType::AAAA,
    RecordType::CNAME,
    RecordType::TXT,
    RecordType::MX,
    RecordType::SRV,
    RecordType::NS,
    RecordType::DS,
    RecordType::CAA,
    RecordType::TLSA,
];

/// One DNS record of a registered name.
#[derive(Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Record {
    /// Labels below the registered name, lowercase; empty for the name itself.
    pub host: String,
    pub ttl: u32,
    /// The DNS type code (1 = A, 28 = AAAA, ...).
    pub rtype: u16,
    /// RDATA in canonical wire form.
    pub rdata: Vec<u8>,
}

impl Record {
    /// Builds a record from parsed RDATA, canonicalizing it and checking type, size and TTL.
    pub fn new(host: &str, ttl: u32, rdata: &RData) -> Result<Record, RecordError> {
        let host = name::host(host).map_err(|source| RecordError::BadHost {
            host: host.to_string(),
            source,
        })?;
        let rtype = rdata.record_type();
        if !SUPPORTED_TYPES.contains(&rtype) {
            return Err(RecordError::UnsupportedType {
                rtype: rtype.to_string(),
            });
        }
        if ttl > MAX_TTL_SECS {
            return Err(RecordError::TtlTooLarge {
                ttl,
                max: MAX_TTL_SECS,
            });
        }
        let mut bytes = Vec::new();
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_name_encoding(NameEncoding::UncompressedLowercase);
        rdata.emit(&mut encoder).map_err(|e| RecordError::BadData {
            rtype: rtype.to_string(),
            data: rdata.to_string(),
            detail: e.to_string(),
        })?;
        if bytes.len() > MAX_RDATA_BYTES {
            return Err(RecordError::TooLarge {
                bytes: bytes.len(),
                max: MAX_RDATA_BYTES,
            });
        }
        Ok(Record {
            host,
            ttl,
            rtype: u16::from(rtype),
            rdata: bytes,
        })
    }

    /// Parses `HOST [TTL] TYPE DATA`, e.g. `www A 192.0.2.8`, `@ 600 MX 10 mail.example.sigil`,
    /// `_443._tcp TLSA 3 1 1 ab12...`. Names in DATA are absolute (a trailing dot is optional).
    pub fn parse(text: &str) -> Result<Record, RecordError> {
        let syntax = || RecordError::Syntax {
            text: text.to_string(),
        };
        let tokens: Vec<&str> = text.split_whitespace().take(3).collect();
        let (host, ttl, type_token, skip) = match tokens[..] {
            [host, ttl, rtype] if ttl.parse::<u32>().is_ok() => {
                (host, ttl.parse().unwrap_or(0), rtype, 3)
            }
            [host, rtype, ..] => (host, DEFAULT_TTL_SECS, rtype, 2),
            _ => return Err(syntax()),
        };
        let rtype = parse_type(type_token)?;
        let data = after_tokens(text, skip)
            .filter(|d| !d.is_empty())
            .ok_or_else(syntax)?;
        Record::from_text(host, ttl, rtype, data)
    }

    /// Builds a record from a host, TTL, type and DATA in zone-file syntax.
    pub fn from_text(
        host: &str,
        ttl: u32,
        rtype: RecordType,
        data: &str,
    ) -> Result<Record, RecordError> {
        if !SUPPORTED_TYPES.contains(&rtype) {
            return Err(RecordError::UnsupportedType {
                rtype: rtype.to_string(),
            });
        }
        let rdata = RData::try_from_str(rtype, data).map_err(|e| RecordError::BadData {
            rtype: rtype.to_string(),
            data: data.to_string(),
            detail: e.to_string(),
        })?;
        Record::new(host, ttl, &rdata)
    }

    pub fn record_type(&self) -> RecordType {
        RecordType::from(self.rtype)
    }

    /// Decodes the RDATA. Stored records were validated on the way in, so this only fails on a
    /// damaged database.
    pub fn rdata(&self) -> Result<RData, RecordError> {
        let mut decoder = BinDecoder::new(&self.rdata);
        RData::read(
            &mut decoder,
            self.record_type(),
            Restrict::new(self.rdata.len() as u16),
        )
        .map_err(|e| RecordError::BadData {
            rtype: self.record_type().to_string(),
            data: hex::encode(&self.rdata),
            detail: e.to_string(),
        })
    }

    /// The host as written in record text: `@` for the name itself.
    pub fn host_or_apex(&self) -> &str {
        if self.host.is_empty() {
            "@"
        } else {
            &self.host
        }
    }

    /// Wire bytes this record costs in the per-name budget.
    fn budget_bytes(&self) -> usize {
        self.host.len() + 10 + self.rdata.len()
    }
}

/// The text after the first `n` whitespace-separated tokens.
fn after_tokens(text: &str, n: usize) -> Option<&str> {
    let mut rest = text.trim();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace)?;
        rest = rest[end..].trim_start();
    }
    Some(rest)
}

/// Parses a record type mnemonic, refusing types the ledger does not carry.
pub fn parse_type(text: &str) -> Result<RecordType, RecordError> {
    let rtype: RecordType =
        text.to_ascii_uppercase()
            .parse()
            .map_err(|_| RecordError::UnsupportedType {
                rtype: text.to_string(),
            })?;
    if SUPPORTED_TYPES.contains(&rtype) {
        Ok(rtype)
    } else {
        Err(RecordError::UnsupportedType {
            rtype: text.to_string(),
        })
    }
}

/// Checks a whole record set of one name: each record re-validated from its wire form, the
/// count and byte budgets, and that a CNAME stands alone at its host.
pub fn validate_set(records: &[Record]) -> Result<(), RecordError> {
    if records.len() > MAX_RECORDS_PER_NAME {
        return Err(RecordError::TooMany {
            count: records.len(),
            max: MAX_RECORDS_PER_NAME,
        });
    }
    let bytes: usize = records.iter().map(Record::budget_bytes).sum();
    if bytes > MAX_RECORDS_BYTES_PER_NAME {
        return Err(RecordError::SetTooLarge {
            bytes,
            max: MAX_RECORDS_BYTES_PER_NAME,
        });
    }
    for r in records {
        if r.rdata.len() > MAX_RDATA_BYTES {
            return Err(RecordError::TooLarge {
                bytes: r.rdata.len(),
                max: MAX_RDATA_BYTES,
            });
        }
        // Re-encoding what decodes must give the same bytes: only canonical RDATA is stored.
        let canonical = Record::new(&r.host, r.ttl, &r.rdata()?)?;
        if canonical != *r {
            return Err(RecordError::BadData {
                rtype: r.record_type().to_string(),
                data: hex::encode(&r.rdata),
                detail: "not in canonical form (lowercase host and names, no compression)".into(),
            });
        }
        if r.record_type() == RecordType::CNAME
            && records.iter().filter(|o| o.host == r.host).count() > 1
        {
            return Err(RecordError::CnameConflict {
                host: r.host_or_apex().to_string(),
            });
        }
    }
    Ok(())
}

/// TXT data in zone-file form: every character-string quoted, `"` and `\\` escaped, so the text
/// parses back to the same strings (hickory's own display joins them without separators).
fn quoted_txt(rdata: &RData) -> Option<String> {
    let RData::TXT(txt) = rdata else { return None };
    let quoted = txt.txt_data.iter().map(|bytes| {
        let text = String::from_utf8_lossy(bytes);
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    });
    Some(quoted.collect::<Vec<_>>().join(" "))
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rdata() {
            Ok(rdata) if rdata.record_type() == RecordType::TXT => write!(
                f,
                "{} {} TXT {}",
                self.host_or_apex(),
                self.ttl,
                quoted_txt(&rdata).unwrap_or_default()
            ),
            Ok(rdata) => write!(
                f,
                "{} {} {} {}",
                self.host_or_apex(),
                self.ttl,
                self.record_type(),
                rdata
            ),
            Err(_) => write!(
                f,
                "{} {} {} \\# {}",
                self.host_or_apex(),
                self.ttl,
                self.rtype,
                hex::encode(&self.rdata)
            ),
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Record({self})")
    }
}

/// Records travel in JSON as their text form, `HOST TTL TYPE DATA`.
impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as Deserialize>::deserialize(d)?;
        Record::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_readme_examples() {
        let a = Record::parse("www A 192.0.2.8").unwrap();
        assert_eq!(
            (a.host.as_str(), a.ttl, a.record_type()),
            ("www", DEFAULT_TTL_SECS, RecordType::A)
        );
        assert_eq!(a.rdata, vec![192, 0, 2, 8]);
        let mx = Record::parse("@ 600 MX 10 Mail.Example.sigil").unwrap();
        assert_eq!((mx.host.as_str(), mx.ttl), ("", 600));
        assert_eq!(mx.to_string(), "@ 600 MX 10 mail.example.sigil.");
        let txt = Record::parse(r#"@ TXT "hello world""#).unwrap();
        assert_eq!(txt.to_string(), r#"@ 300 TXT "hello world""#);
        let two = Record::parse(r#"@ TXT "a b" "" "q\"uote""#).unwrap();
        assert_eq!(Record::parse(&two.to_string()).unwrap(), two, "{two}");
        let tlsa = Record::parse(&format!("_443._tcp TLSA 3 1 1 {}", "ab".repeat(32))).unwrap();
        assert_eq!(tlsa.host, "_443._tcp");
        // A host that repeats the type's mnemonic still parses its data correctly.
        let odd = Record::parse("a A 192.0.2.9").unwrap();
        assert_eq!(
            (odd.host.as_str(), odd.rdata.clone()),
            ("a", vec![192, 0, 2, 9])
        );
    }

    #[test]
    fn text_round_trips() {
        for text in [
            "www 300 A 192.0.2.8",
            "@ 300 AAAA 2001:db8::7",
            "@ 300 MX 10 mail.example.sigil.",
            "sub 300 NS ns1.other.net.",
            "sub 300 DS 12345 13 2 CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD",
            "_sip._tcp 300 SRV 10 60 5060 sip.example.sigil.",
            "@ 300 CAA 0 issue \"ca.example.net\"",
        ] {
            let r = Record::parse(text).unwrap();
            assert_eq!(r.to_string(), text);
            assert_eq!(Record::parse(&r.to_string()).unwrap(), r);
        }
    }

    #[test]
    fn refuses_bad_records() {
        assert!(matches!(
            Record::parse("www"),
            Err(RecordError::Syntax { .. })
        ));
        assert!(matches!(
            Record::parse("www A"),
            Err(RecordError::Syntax { .. })
        ));
        assert!(matches!(
            Record::parse("www SOA x"),
            Err(RecordError::UnsupportedType { .. })
        ));
        assert!(matches!(
            Record::parse("www A 300.1.1.1"),
            Err(RecordError::BadData { .. })
        ));
        assert!(matches!(
            Record::parse("w..w A 1.2.3.4"),
            Err(RecordError::BadHost { .. })
        ));
        assert!(matches!(
            Record::parse("www 9999999 A 1.2.3.4"),
            Err(RecordError::TtlTooLarge { .. })
        ));
        let big = format!(
            "@ TXT {}",
            vec![format!("\"{}\"", "x".repeat(200)); 6].join(" ")
        );
        assert!(matches!(
            Record::parse(&big),
            Err(RecordError::TooLarge { .. })
        ));
    }

    #[test]
    fn checks_the_set() {
        let cname = Record::parse("www CNAME example.sigil").unwrap();
        let a = Record::parse("www A 192.0.2.1").unwrap();
        assert!(validate_set(std::slice::from_ref(&cname)).is_ok());
        assert!(matches!(
            validate_set(&[cname, a.clone()]),
            Err(RecordError::CnameConflict { .. })
        ));
        assert!(matches!(
            validate_set(&vec![a.clone(); MAX_RECORDS_PER_NAME + 1]),
            Err(RecordError::TooMany { .. })
        ));
        let mut upper = a;
        upper.host = "WWW".into();
        assert!(validate_set(&[upper]).is_err());
    }
}
