//! DNS records as the ledger keeps them: a host relative to the registered name, a TTL, a type
//! and the RDATA in canonical wire form (uncompressed, lowercase names), parsed and checked with
//! hickory-proto so the CLI, zone import and the resolver share one reading of record syntax.

use borsh::{BorshDeserialize, BorshSerialize};
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::rdata::{CNAME, MX, NS, SRV, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{
    BinDecoder, BinEncodable, BinEncoder, NameEncoding, Restrict,
};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{RecordError, shown};
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

/// Longest character-string of a TXT record (DNS wire format); longer text is split.
pub const TXT_STRING_BYTES: usize = 255;

/// Where record text is read, as in a zone file whose origin is the registered name: relative
/// hosts and target names hang from `name`; a host or target with a trailing dot is absolute,
/// and so is a host ending in one of the chain's `tlds`.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The registered name, normalized (`example.sigil`).
    pub name: &'a str,
    pub tlds: &'a [String],
}

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
        let host = name::host(host).map_err(|cause| RecordError::BadHost {
            host: shown(host),
            cause,
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
        // A DS is a digest of the child's key: without one it shows as text that does not parse
        // (found by cargo-fuzz: `DS 8 90 0 9`, half a byte of digest, read as none).
        if let RData::DNSSEC(DNSSECRData::DS(ds)) = rdata
            && ds.digest().is_empty()
        {
            return Err(RecordError::BadData {
                rtype: rtype.to_string(),
                data: shown(&rdata.to_string()),
                detail: "it has no digest; give the digest in hexadecimal, as `sigil dns anchor` or `dnssec-dsfromkey` prints it".into(),
            });
        }
        // Long text is refused for its size before the encoder refuses it for its buffer.
        if let RData::TXT(txt) = rdata {
            let bytes = txt.txt_data.iter().map(|s| s.len() + 1).sum::<usize>();
            if bytes > MAX_RDATA_BYTES {
                return Err(RecordError::TooLarge {
                    rtype: rtype.to_string(),
                    bytes,
                    max: MAX_RDATA_BYTES,
                });
            }
        }
        let mut bytes = Vec::new();
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_name_encoding(NameEncoding::UncompressedLowercase);
        rdata.emit(&mut encoder).map_err(|e| RecordError::BadData {
            rtype: rtype.to_string(),
            data: shown(&rdata.to_string()),
            detail: e.to_string(),
        })?;
        if bytes.len() > MAX_RDATA_BYTES {
            return Err(RecordError::TooLarge {
                rtype: rtype.to_string(),
                bytes: bytes.len(),
                max: MAX_RDATA_BYTES,
            });
        }
        let record = Record {
            host,
            ttl,
            rtype: u16::from(rtype),
            rdata: bytes,
        };
        // What the encoder wrote must read back (a CAA tag such as `i\#ssue` does not), or the
        // record would pass here and be refused by `validate_set`, and never be served.
        record.rdata().map_err(|e| RecordError::BadData {
            rtype: rtype.to_string(),
            data: shown(&rdata.to_string()),
            detail: match e {
                RecordError::BadData { detail, .. } => format!("it does not read back: {detail}"),
                other => other.to_string(),
            },
        })?;
        // The name it points at must show as text that names it again: hickory shows a
        // Unicode label decoded and does not escape what it holds, so a label with a dot in
        // it would show as two (found by cargo-fuzz), and records travel as text.
        if let Some(target) = target_name(rdata)
            && Name::from_utf8(target.to_string()).ok().as_ref() != Some(target)
        {
            return Err(RecordError::BadData {
                rtype: rtype.to_string(),
                data: shown(&rdata.to_string()),
                detail: format!(
                    "the name `{}` does not show as text that names it again (a label holding a dot, or a character that stands for one); write it without",
                    shown(&target.to_string())
                ),
            });
        }
        Ok(record)
    }

    /// Parses `HOST [TTL] TYPE DATA`, e.g. `www A 192.0.2.8`, `@ 600 MX 10 mail.example.sigil.`,
    /// `_443._tcp TLSA 3 1 1 ab12...`, as records travel (in JSON): HOST is relative to the
    /// registered name and names in DATA are absolute (a trailing dot is optional).
    pub fn parse(text: &str) -> Result<Record, RecordError> {
        Record::parse_in(text, None)
    }

    /// Parses `HOST [TTL] TYPE DATA` as a user writes it for the name `origin` (`--set`):
    /// relative hosts and target names are relative to the name, as in a zone file.
    pub fn parse_at(text: &str, origin: Origin<'_>) -> Result<Record, RecordError> {
        Record::parse_in(text, Some(origin))
    }

    fn parse_in(text: &str, origin: Option<Origin<'_>>) -> Result<Record, RecordError> {
        let syntax = || RecordError::Syntax { text: shown(text) };
        let tokens: Vec<&str> = text.split_whitespace().take(3).collect();
        // A TTL is a number; a type never starts with a digit or a sign.
        let (host, ttl, type_token, skip) = match tokens[..] {
            [host, ttl, rtype] if looks_like_ttl(ttl) => (host, parse_ttl(ttl)?, rtype, 3),
            [_, ttl] if looks_like_ttl(ttl) => return Err(syntax()),
            [host, rtype, ..] => (host, DEFAULT_TTL_SECS, rtype, 2),
            _ => return Err(syntax()),
        };
        let rtype = parse_type(type_token)?;
        let data = after_tokens(text, skip)
            .filter(|d| !d.is_empty())
            .ok_or_else(syntax)?;
        Record::from_text_in(host, ttl, rtype, data, origin)
    }

    /// Builds a record from a host, TTL, type and DATA in zone-file syntax, names in DATA
    /// absolute.
    pub fn from_text(
        host: &str,
        ttl: u32,
        rtype: RecordType,
        data: &str,
    ) -> Result<Record, RecordError> {
        Record::from_text_in(host, ttl, rtype, data, None)
    }

    /// `from_text` for the name `origin`: relative host and target names hang from it.
    pub fn from_text_at(
        host: &str,
        ttl: u32,
        rtype: RecordType,
        data: &str,
        origin: Origin<'_>,
    ) -> Result<Record, RecordError> {
        Record::from_text_in(host, ttl, rtype, data, Some(origin))
    }

    fn from_text_in(
        host: &str,
        ttl: u32,
        rtype: RecordType,
        data: &str,
        origin: Option<Origin<'_>>,
    ) -> Result<Record, RecordError> {
        if !SUPPORTED_TYPES.contains(&rtype) {
            return Err(RecordError::UnsupportedType {
                rtype: shown(&rtype.to_string()),
            });
        }
        let bad_data = |detail: String| RecordError::BadData {
            rtype: rtype.to_string(),
            data: shown(data),
            detail,
        };
        let mut data = data.to_string();
        if let Some((count, what)) = arity(rtype) {
            let tokens: Vec<&str> = data.split_whitespace().collect();
            if tokens.len() != count {
                return Err(bad_data(format!(
                    "{rtype} data is {what}, but this has {} value(s)",
                    tokens.len()
                )));
            }
            if let Some(origin) = origin {
                // `@` stands for the name itself, as in a zone file.
                let at = format!("{}.", origin.name);
                data = tokens
                    .iter()
                    .map(|t| if *t == "@" { at.as_str() } else { t })
                    .collect::<Vec<_>>()
                    .join(" ");
            }
        }
        let rdata = RData::try_from_str(rtype, &data).map_err(|e| bad_data(e.to_string()))?;
        // `;` starts a comment: `TXT ;x` is a TXT of no string, which shows as text that does
        // not parse (found by cargo-fuzz).
        if matches!(&rdata, RData::TXT(txt) if txt.txt_data.is_empty()) {
            return Err(bad_data("TXT data needs at least one string".into()));
        }
        let rdata = split_txt_rdata(rdata);
        match origin {
            None => Record::new(host, ttl, &rdata),
            Some(origin) => {
                let rdata = anchor(rdata, origin)?;
                Record::new(&host_at(host, origin)?, ttl, &rdata)
            }
        }
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

/// How many whitespace-separated values the DATA of a type has, and what they are, for the
/// types with a fixed count (others, such as TXT or TLSA, may spread over several).
fn arity(rtype: RecordType) -> Option<(usize, &'static str)> {
    Some(match rtype {
        RecordType::A => (1, "one IPv4 address"),
        RecordType::AAAA => (1, "one IPv6 address"),
        RecordType::CNAME => (1, "one target name"),
        RecordType::NS => (1, "one name server"),
        RecordType::MX => (2, "a preference and a mail host (`10 mail`)"),
        RecordType::SRV => (4, "priority, weight, port and target (`10 60 5060 sip`)"),
        _ => return None,
    })
}

/// Whether a token stands where a TTL may be: record types never start with a digit or sign.
fn looks_like_ttl(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
}

/// A TTL as written: whole seconds from 0 to the ledger's limit.
fn parse_ttl(token: &str) -> Result<u32, RecordError> {
    match token.parse::<u32>() {
        Ok(ttl) if ttl <= MAX_TTL_SECS && !token.starts_with('+') => Ok(ttl),
        _ => Err(RecordError::BadTtl {
            ttl: shown(token),
            max: MAX_TTL_SECS,
        }),
    }
}

/// A record's host as a user writes it for the name `origin`: `@` or empty is the name,
/// a relative host lies below it, and an absolute one (trailing dot, or ending in one of the
/// chain's TLDs) must be the name or below it; returned relative to the name.
pub fn host_at(input: &str, origin: Origin<'_>) -> Result<String, RecordError> {
    let trimmed = input.trim();
    let full = name::host(trimmed).map_err(|cause| RecordError::BadHost {
        host: shown(trimmed),
        cause,
    })?;
    let in_tld = origin.tlds.iter().any(|t| {
        full == *t
            || full
                .strip_suffix(t.as_str())
                .is_some_and(|r| r.ends_with('.'))
    });
    if !(trimmed.ends_with('.') || in_tld) {
        return Ok(full);
    }
    if full == origin.name {
        return Ok(String::new());
    }
    match full
        .strip_suffix(origin.name)
        .and_then(|r| r.strip_suffix('.'))
    {
        Some(host) if !host.is_empty() => Ok(host.to_string()),
        _ => Err(RecordError::HostOutside {
            host: shown(trimmed),
            name: origin.name.to_string(),
        }),
    }
}

/// Makes the relative names of CNAME, NS, MX and SRV data absolute under the name `origin`;
/// a name ending in one of the chain's TLDs is already absolute (`mail.example.sigil`, never
/// `mail.example.sigil.example.sigil`).
fn anchor(rdata: RData, origin: Origin<'_>) -> Result<RData, RecordError> {
    let rtype = rdata.record_type();
    let Origin { name: origin, tlds } = origin;
    let under = |mut name: Name| -> Result<Name, RecordError> {
        if name.is_fqdn() {
            return Ok(name);
        }
        let text = name.to_string();
        let last = text.rsplit('.').next().unwrap_or_default();
        if tlds.iter().any(|t| t.eq_ignore_ascii_case(last)) {
            name.set_fqdn(true);
            return Ok(name);
        }
        Name::from_ascii(format!("{origin}."))
            .and_then(|o| name.append_domain(&o))
            .map_err(|e| RecordError::BadData {
                rtype: rtype.to_string(),
                data: shown(&text),
                detail: format!("`{text}` under `{origin}` is not a valid name: {e}"),
            })
    };
    Ok(match rdata {
        RData::CNAME(CNAME(n)) => RData::CNAME(CNAME(under(n)?)),
        RData::NS(NS(n)) => RData::NS(NS(under(n)?)),
        RData::MX(mx) => RData::MX(MX::new(mx.preference, under(mx.exchange)?)),
        RData::SRV(srv) => RData::SRV(SRV::new(
            srv.priority,
            srv.weight,
            srv.port,
            under(srv.target)?,
        )),
        other => other,
    })
}

/// Splits text into TXT character-strings of at most 255 bytes, on character boundaries.
pub fn split_txt(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if current.len() + c.len_utf8() > TXT_STRING_BYTES {
            parts.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    parts.push(current);
    parts
}

/// TXT data with every string longer than a character-string can hold split into several,
/// as `--txt` does; the record's size limit still applies to the whole.
fn split_txt_rdata(rdata: RData) -> RData {
    let RData::TXT(txt) = &rdata else {
        return rdata;
    };
    if txt.txt_data.iter().all(|s| s.len() <= TXT_STRING_BYTES) {
        return rdata;
    }
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for s in txt.txt_data.iter() {
        match std::str::from_utf8(s) {
            Ok(text) => parts.extend(split_txt(text).into_iter().map(String::into_bytes)),
            Err(_) => parts.extend(s.chunks(TXT_STRING_BYTES).map(<[u8]>::to_vec)),
        }
    }
    RData::TXT(TXT::from_bytes(parts.iter().map(Vec::as_slice).collect()))
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
    let unsupported = || RecordError::UnsupportedType { rtype: shown(text) };
    let rtype: RecordType = text
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| unsupported())?;
    if SUPPORTED_TYPES.contains(&rtype) {
        Ok(rtype)
    } else {
        Err(unsupported())
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
                rtype: r.record_type().to_string(),
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
    Some(
        txt.txt_data
            .iter()
            .map(|bytes| quoted(bytes))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The name a record of a supported type points at, if it points at one.
fn target_name(rdata: &RData) -> Option<&Name> {
    match rdata {
        RData::CNAME(CNAME(name)) | RData::NS(NS(name)) => Some(name),
        RData::MX(mx) => Some(&mx.exchange),
        RData::SRV(srv) => Some(&srv.target),
        _ => None,
    }
}

/// A character-string quoted for zone-file text, `"` and `\\` escaped.
fn quoted(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Never fails (records travel as text, and a failing display panics in `to_string`): data
/// hickory cannot show (found by cargo-fuzz: an OPT record decoded from a transaction) shows in
/// the generic form of RFC 3597, as data that does not decode does.
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
            // hickory shows a CAA value quoted but not escaped (found by the fuzz smoke run).
            Ok(RData::CAA(caa)) => write!(
                f,
                "{} {} CAA {} {} {}",
                self.host_or_apex(),
                self.ttl,
                caa.flags(),
                caa.tag,
                quoted(&caa.value)
            ),
            Ok(rdata) => {
                let mut data = String::new();
                match fmt::Write::write_fmt(&mut data, format_args!("{rdata}")) {
                    Ok(()) => write!(
                        f,
                        "{} {} {} {data}",
                        self.host_or_apex(),
                        self.ttl,
                        self.record_type()
                    ),
                    Err(_) => self.fmt_generic(f),
                }
            }
            Err(_) => self.fmt_generic(f),
        }
    }
}

impl Record {
    /// `HOST TTL TYPEnn \# LENGTH HEX`: the generic form of RFC 3597.
    fn fmt_generic(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} TYPE{} \\# {} {}",
            self.host_or_apex(),
            self.ttl,
            self.rtype,
            self.rdata.len(),
            hex::encode(&self.rdata)
        )
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
    fn rdata_that_does_not_read_back_is_refused() {
        // Found by the fuzz smoke run (tests/fuzz): hickory writes this CAA tag but cannot read it.
        let err = Record::parse(r#"@ CAA 0 i\#ssue "letsencrypt.org""#).unwrap_err();
        assert!(err.to_string().contains("does not read back"), "{err}");
    }

    #[test]
    fn a_caa_value_with_quotes_shows_as_text_that_parses_back() {
        // Found by the fuzz smoke run (tests/fuzz): hickory shows it as `"ing""`.
        let caa = Record::parse(r#"@ CAA 0 issue ing""#).unwrap();
        assert_eq!(Record::parse(&caa.to_string()).unwrap(), caa, "{caa}");
    }

    #[test]
    fn a_txt_of_only_a_comment_is_refused() {
        // Found by cargo-fuzz (tests/fuzz): it showed as `@ 300 TXT `, which does not parse.
        let err = Record::parse("@ TXT ;6T MX 10").unwrap_err();
        assert!(err.to_string().contains("at least one string"), "{err}");
    }

    #[test]
    fn a_ds_without_a_digest_is_refused() {
        // Found by cargo-fuzz (tests/fuzz): half a byte of digest was read as none, and the
        // record showed as `b 300 DS 8 90 0 `, which does not parse.
        for text in ["b DS 8 90 0 9", "b DS 8 90 0"] {
            match Record::parse(text) {
                Err(err) => assert!(err.to_string().contains("digest"), "{text}: {err}"),
                Ok(record) => panic!("{text} was taken as {record}"),
            }
        }
    }

    #[test]
    fn a_record_hickory_cannot_show_shows_in_the_generic_form() {
        // Found by cargo-fuzz (tests/fuzz): an OPT record decoded from a transaction; hickory's
        // display of it fails, and `to_string` panicked.
        let opt = Record {
            host: String::new(),
            ttl: 300,
            rtype: 41,
            rdata: vec![0xc0, 0x80, 0, 0],
        };
        assert_eq!(opt.to_string(), "@ 300 TYPE41 \\# 4 c0800000");
        assert!(validate_set(&[opt]).is_err());
    }

    #[test]
    fn a_target_name_that_does_not_show_as_itself_is_refused() {
        // Found by cargo-fuzz (tests/fuzz): a Unicode label holding an escaped dot showed as
        // two labels, so its text named another record.
        for text in [
            "sub NS ns70exampleȑEEEE\\.EEE.et.",
            "@ MX 10 bücher\\.mail.example.",
            "@ CNAME aȑ\\.b.example.",
            "_sip._tcp SRV 10 60 5060 ȑ\\.b.example.",
        ] {
            let err = Record::parse(text).unwrap_err();
            assert!(
                err.to_string().contains("does not show as text"),
                "{text}: {err}"
            );
        }
        // A Unicode name without one, or a dot escaped in an ASCII label, shows as itself.
        for text in [
            "sub 300 NS ns1.bücher.example.",
            "sub 300 NS a\\.b.example.",
        ] {
            let record = Record::parse(text).unwrap();
            assert_eq!(
                Record::parse(&record.to_string()).unwrap(),
                record,
                "{text}"
            );
        }
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
            Err(RecordError::BadTtl { .. })
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

    fn origin() -> (String, Vec<String>) {
        ("example.sigil".into(), vec!["sigil".into(), "test".into()])
    }

    fn at(text: &str) -> Result<Record, RecordError> {
        let (name, tlds) = origin();
        Record::parse_at(
            text,
            Origin {
                name: &name,
                tlds: &tlds,
            },
        )
    }

    #[test]
    fn targets_are_relative_to_the_name() {
        for (text, stored) in [
            ("alias CNAME www", "alias 300 CNAME www.example.sigil."),
            (
                "alias CNAME www.other.net.",
                "alias 300 CNAME www.other.net.",
            ),
            ("alias CNAME @", "alias 300 CNAME example.sigil."),
            ("@ MX 10 mail", "@ 300 MX 10 mail.example.sigil."),
            (
                "@ MX 10 mail.example.sigil",
                "@ 300 MX 10 mail.example.sigil.",
            ),
            ("alias CNAME other.test", "alias 300 CNAME other.test."),
            (
                "alias CNAME www.other.net",
                "alias 300 CNAME www.other.net.example.sigil.",
            ),
            (
                "@ MX 10 mail.example.sigil.",
                "@ 300 MX 10 mail.example.sigil.",
            ),
            ("sub NS ns1", "sub 300 NS ns1.example.sigil."),
            (
                "_sip._tcp SRV 10 60 5060 sip",
                "_sip._tcp 300 SRV 10 60 5060 sip.example.sigil.",
            ),
        ] {
            assert_eq!(at(text).unwrap().to_string(), stored, "{text}");
        }
        // Records as they travel keep absolute names.
        assert_eq!(
            Record::parse("alias CNAME www").unwrap().to_string(),
            "alias 300 CNAME www."
        );
    }

    #[test]
    fn absolute_hosts_must_be_the_name_or_below() {
        assert_eq!(at("www.example.sigil A 192.0.2.1").unwrap().host, "www");
        assert_eq!(
            at("a.www.example.sigil. A 192.0.2.1").unwrap().host,
            "a.www"
        );
        assert_eq!(at("Example.Sigil A 192.0.2.1").unwrap().host, "");
        assert_eq!(at("www.sub A 192.0.2.1").unwrap().host, "www.sub");
        for text in [
            "www.other.sigil A 192.0.2.1",
            "www. A 192.0.2.1",
            "sigil A 192.0.2.1",
            "x.example.test A 192.0.2.1",
            "xexample.sigil A 192.0.2.1",
        ] {
            let err = at(text).unwrap_err();
            assert!(
                matches!(err, RecordError::HostOutside { .. }),
                "{text}: {err}"
            );
            assert!(err.to_string().contains("outside `example.sigil`"), "{err}");
        }
    }

    #[test]
    fn extra_values_are_refused() {
        for text in [
            "@ CNAME x y",
            "@ A 192.0.2.1 192.0.2.2",
            "@ MX 10 mail extra",
            "@ MX mail",
            "@ NS a b",
            "_s._tcp SRV 1 2 3 t u",
        ] {
            let err = at(text).unwrap_err();
            assert!(
                matches!(err, RecordError::BadData { .. }) && err.to_string().contains("value(s)"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn bad_ttls_say_so() {
        for text in [
            "www -5 A 1.2.3.4",
            "www 1h A 1.2.3.4",
            "www 4294967296 A 1.2.3.4",
            "www 604801 A 1.2.3.4",
        ] {
            let err = Record::parse(text).unwrap_err();
            assert!(matches!(err, RecordError::BadTtl { .. }), "{text}: {err}");
            assert!(
                err.to_string()
                    .contains(&format!("from 0 to {MAX_TTL_SECS}")),
                "{err}"
            );
        }
        assert_eq!(Record::parse("www 0 A 1.2.3.4").unwrap().ttl, 0);
    }

    #[test]
    fn long_txt_strings_are_split_and_the_limit_is_per_record() {
        let long = "x".repeat(600);
        let r = at(&format!("@ TXT \"{long}\"")).unwrap();
        let RData::TXT(txt) = r.rdata().unwrap() else {
            panic!()
        };
        assert_eq!(txt.txt_data.len(), 3);
        assert_eq!(txt.txt_data.concat(), long.as_bytes());
        let huge = "y".repeat(70_000);
        let err = at(&format!("@ TXT \"{huge}\"")).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, RecordError::TooLarge { .. }), "{message}");
        assert!(
            message.contains(&format!("limit of {MAX_RDATA_BYTES} bytes per record")),
            "{message}"
        );
        let err = Record::parse(&format!("www A {huge}"))
            .unwrap_err()
            .to_string();
        assert!(err.len() < 400 && err.contains("(70000 bytes)"), "{err}");
    }

    #[test]
    fn a_bad_host_says_its_cause_once() {
        let err = Record::parse("a.b..c A 192.0.2.1").unwrap_err();
        assert_eq!(std::error::Error::source(&err).map(|s| s.to_string()), None);
        assert_eq!(err.to_string().matches("empty label").count(), 1, "{err}");
    }
}
