//! The authoritative answer for a name under the chain's top-level domains, computed from a
//! `NameReader` alone: no sockets, no storage engine, one ledger read for a plain hit or miss.
//! At `_port._proto.host` it adds TLSA `3 1 1` and `3 0 1` records derived from the
//! certificates registered for the name (active, for `host`, within their validity window).
//! `_sigil-key.<name>` answers TXT with the current key of the identity bound to `<name>`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::rc::Rc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::tlsa::{CertUsage, Matching, Selector};
use hickory_proto::rr::rdata::{NS, SOA, TLSA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use sigil_core::name::{
    Placement, TLD_NAME_SERVER_LABEL, is_tld_name_server, place, tld_name_server,
};
use sigil_core::read::NameReader;
use sigil_core::records::Record as LedgerRecord;
use sigil_core::state::{IdentityEntry, NameEntry};
use sigil_core::types::Height;
use tracing::debug;

use crate::ede::Ede;
use crate::error::{Error, Result};
use crate::limits::{
    CERT_TLSA_TTL_SECS, IDENTITY_KEY_TTL_SECS, MAX_CNAME_HOPS, MAX_GLUE_NAMES, NEGATIVE_TTL_SECS,
    TLD_NS_TTL_SECS,
};

/// SOA timers of every top-level domain (seconds).
pub(crate) const SOA_REFRESH_SECS: i32 = 3600;
pub(crate) const SOA_RETRY_SECS: i32 = 600;
pub(crate) const SOA_EXPIRE_SECS: i32 = 86400;

/// A DNS answer without the header fields the client chose: what goes into each section, the
/// response code and the AA bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rcode: ResponseCode,
    /// The AA bit: set for everything but a referral to a delegated subname and forwarded
    /// answers.
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additionals: Vec<Record>,
    /// An Extended DNS Error saying why the answer failed (RFC 8914), sent to clients that
    /// speak EDNS.
    pub ede: Option<Ede>,
    /// Set on every answer computed from the chain's names (which a node with a zone key
    /// signs for clients that ask, see `dnssec`); `None` on forwarded and failed answers.
    pub dnssec: Option<Box<Dnssec>>,
}

/// What a DNSSEC-signed copy of a chain answer adds beside the signatures of its RRsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dnssec {
    /// NXDOMAIN or NODATA: the name the answer denies, to be covered by one NSEC record
    /// (RFC 9824, compact denial of existence).
    pub denial: Option<Denial>,
    /// A referral: the delegated name and its DS records (none: the NSEC at the cut says the
    /// delegation is insecure).
    pub cut: Option<(Name, Vec<Record>)>,
}

/// A name an answer denies: the types it holds, or `None` when it does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub owner: Name,
    pub types: Option<Vec<RecordType>>,
}

impl Answer {
    /// An empty, non-authoritative answer with `rcode` (REFUSED, SERVFAIL, ...), to be filled.
    pub fn empty(rcode: ResponseCode) -> Answer {
        Answer {
            rcode,
            authoritative: false,
            answers: vec![],
            authority: vec![],
            additionals: vec![],
            ede: None,
            dnssec: None,
        }
    }
}

/// What an answer was computed from, so that a cache knows when it no longer holds: the
/// registered names and identities it read, and the height and time at which something it
/// read changes on its own (a name expires, a certificate's validity window opens or closes).
/// The tip height it was computed at also appears as the serial of any SOA in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    /// The tip height the answer was computed at.
    pub height: Height,
    /// Registered names (e.g. `example.sigil`) whose entry, certificates or identity bindings
    /// were read, present or not.
    pub names: Vec<String>,
    /// Identities whose entries were read.
    pub identities: Vec<String>,
    /// The answer holds while the tip is below this height.
    pub until_height: Height,
    /// ... and while unix time (seconds) is below this.
    pub until_secs: i64,
}

/// The answer for `qname` and `qtype` when `qname` is a chain TLD or lies below one; `None`
/// when it is outside the chain's names (the caller forwards it). Names are compared
/// case-insensitively. An error means the ledger could not be read or holds a damaged record.
pub fn answer(reader: &dyn NameReader, qname: &Name, qtype: RecordType) -> Result<Option<Answer>> {
    Ok(answer_tracked(reader, qname, qtype)?.map(|(answer, _)| answer))
}

/// [`answer`] with what it was computed from.
pub fn answer_tracked(
    reader: &dyn NameReader,
    qname: &Name,
    qtype: RecordType,
) -> Result<Option<(Answer, Validity)>> {
    answer_tracked_as(reader, qname, qtype, None)
}

/// [`answer_tracked`] by a node that serves DNS on port 53 of address `own`, if it does: the
/// address of `ns1.<tld>`, the TLD's own name server name.
pub fn answer_tracked_as(
    reader: &dyn NameReader,
    qname: &Name,
    qtype: RecordType,
    own: Option<IpAddr>,
) -> Result<Option<(Answer, Validity)>> {
    let now_secs = (sigil_core::time::now_ms() / 1000) as i64;
    answer_at_as(reader, qname, qtype, now_secs, own)
}

/// [`answer_tracked`] at unix time `now_secs`, which decides which certificates are within
/// their validity window.
pub fn answer_at(
    reader: &dyn NameReader,
    qname: &Name,
    qtype: RecordType,
    now_secs: i64,
) -> Result<Option<(Answer, Validity)>> {
    answer_at_as(reader, qname, qtype, now_secs, None)
}

/// [`answer_at`] by a node serving DNS on port 53 of `own`: see [`answer_tracked_as`].
pub fn answer_at_as(
    reader: &dyn NameReader,
    qname: &Name,
    qtype: RecordType,
    now_secs: i64,
    own: Option<IpAddr>,
) -> Result<Option<(Answer, Validity)>> {
    let mut current = Target::new(qname);
    if matches!(place(&current.spelling, reader.tlds()), Placement::Outside) {
        return Ok(None);
    }
    let mut zone = Zone::new(reader, now_secs, own);
    let mut out = Answer {
        authoritative: true,
        dnssec: Some(Box::default()),
        ..Answer::empty(ResponseCode::NoError)
    };
    let mut visited = Vec::new();
    // Each pass answers one name; a CNAME hands over its target, which is answered in turn
    // while it stays inside the chain's names (RFC 1034 section 4.3.2, step 3a).
    while let Some(target) = zone.step(&current, qtype, &mut out)? {
        visited.push(current.spelling);
        if visited.contains(&target.spelling) || visited.len() > MAX_CNAME_HOPS {
            debug!(qname = %qname, target = %target.name, "CNAME chain loops or is too long; stopping");
            break;
        }
        if matches!(place(&target.spelling, reader.tlds()), Placement::Outside) {
            break; // the client follows a target outside the chain
        }
        current = target;
    }
    Ok(Some((out, zone.validity())))
}

/// A name being answered: its DNS form (lowercase, fully qualified) and its spelling as the
/// ledger writes names (no trailing dot).
struct Target {
    name: Name,
    spelling: String,
}

impl Target {
    fn new(name: &Name) -> Target {
        let mut name = name.to_lowercase();
        name.set_fqdn(true);
        let spelling = ledger_spelling(&name);
        Target { name, spelling }
    }
}

/// The ledger's spelling of a DNS name: lowercase labels joined by dots. A label the ledger can
/// never hold (anything but letters, digits, `-` and `_`) is written as `\` and its bytes in
/// hex, so it keeps its place between the dots but matches no stored name or host.
fn ledger_spelling(name: &Name) -> String {
    let mut out = String::with_capacity(name.len());
    for label in name.iter() {
        if !out.is_empty() {
            out.push('.');
        }
        if label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            out.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            out.push('\\');
            for b in label {
                let _ = write!(out, "{b:02x}");
            }
        }
    }
    out
}

/// Label under which a name's bound identity key is published.
pub const IDENTITY_KEY_LABEL: &str = "_sigil-key";

/// The TXT data of an identity's current key, DKIM-like: `v=sigil-key1; id=ID; k=ed25519; p=HEX`.
pub fn identity_key_txt(identity: &IdentityEntry) -> String {
    format!(
        "v=sigil-key1; id={}; k=ed25519; p={}",
        identity.id, identity.online_key
    )
}

/// The name whose identity key `host` under `name` asks for: `_sigil-key[.H]` asks for `[H.]name`.
fn identity_key_of(name: &str, host: &str) -> Option<String> {
    let rest = host.strip_prefix(IDENTITY_KEY_LABEL)?;
    if rest.is_empty() {
        Some(name.to_string())
    } else {
        rest.strip_prefix('.').map(|h| format!("{h}.{name}"))
    }
}

/// Whether `host` lies strictly below `ancestor`; both are relative to one registered name and
/// `""` is its apex.
fn is_below(host: &str, ancestor: &str) -> bool {
    if ancestor.is_empty() {
        return !host.is_empty();
    }
    host.len() > ancestor.len()
        && host.ends_with(ancestor)
        && host.as_bytes()[host.len() - ancestor.len() - 1] == b'.'
}

/// The topmost host at or above `host` that carries NS records: a zone cut, below which the
/// ledger only refers.
fn delegation<'e>(records: &'e [LedgerRecord], host: &str) -> Option<&'e str> {
    records
        .iter()
        .filter(|r| {
            r.record_type() == RecordType::NS && (r.host == host || is_below(host, &r.host))
        })
        .map(|r| r.host.as_str())
        .min_by_key(|h| h.len())
}

/// The absolute name of `host` under the registered `name`.
fn host_name(host: &str, name: &str) -> Result<Name> {
    if host.is_empty() {
        dns_name(name)
    } else {
        dns_name(&format!("{host}.{name}"))
    }
}

fn dns_name(spelling: &str) -> Result<Name> {
    Name::from_ascii(format!("{spelling}.")).map_err(|e| Error::BadName {
        name: spelling.to_string(),
        detail: e.to_string(),
    })
}

fn decode(name: &str, record: &LedgerRecord) -> Result<RData> {
    record.rdata().map_err(|cause| Error::Record {
        name: name.to_string(),
        cause,
    })
}

/// The service host of a TLSA owner name relative to a registered name: `www` for
/// `_443._tcp.www`, `""` for `_443._tcp`; `None` if `host` is not `_port._proto[.host]`.
fn tlsa_service(host: &str) -> Option<&str> {
    let mut labels = host.splitn(3, '.');
    let port = labels.next()?.strip_prefix('_')?;
    let proto = labels.next()?;
    let valid_port =
        !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    if !valid_port || !matches!(proto, "_tcp" | "_udp" | "_sctp") {
        return None;
    }
    Some(labels.next().unwrap_or(""))
}

/// The service host below a transport label: `www` for `_tcp.www`, `""` for `_tcp`; `None` if
/// `host` does not start with one. Such a node is the parent of every `_port` TLSA name.
fn tlsa_transport(host: &str) -> Option<&str> {
    let (proto, rest) = host.split_once('.').unwrap_or((host, ""));
    matches!(proto, "_tcp" | "_udp" | "_sctp").then_some(rest)
}

/// One answer's view of the chain's names: entries read at most once each.
struct Zone<'r> {
    reader: &'r dyn NameReader,
    tip: Height,
    now_secs: i64,
    entries: HashMap<String, Option<Rc<NameEntry>>>,
    glue_names_read: usize,
    /// Identities read, and when what was read changes on its own: see [`Validity`].
    identities: Vec<String>,
    until_height: Height,
    until_secs: i64,
    /// The address of `ns1.<tld>`: the node's own, when it serves DNS on port 53 there.
    own: Option<IpAddr>,
}

impl<'r> Zone<'r> {
    fn new(reader: &'r dyn NameReader, now_secs: i64, own: Option<IpAddr>) -> Zone<'r> {
        Zone {
            own,
            reader,
            tip: reader.tip_height(),
            now_secs,
            entries: HashMap::new(),
            glue_names_read: 0,
            identities: Vec::new(),
            until_height: Height::MAX,
            until_secs: i64::MAX,
        }
    }

    fn validity(self) -> Validity {
        let mut names: Vec<String> = self.entries.into_keys().collect();
        names.sort_unstable();
        Validity {
            height: self.tip,
            names,
            identities: self.identities,
            until_height: self.until_height,
            until_secs: self.until_secs,
        }
    }

    /// The entry of a registered name if it resolves at the tip (expired names do not).
    fn entry(&mut self, name: &str) -> Result<Option<Rc<NameEntry>>> {
        if let Some(entry) = self.entries.get(name) {
            return Ok(entry.clone());
        }
        // A label no stored name can have needs no read to know it is absent.
        let entry = if name.contains('\\') {
            None
        } else {
            self.reader
                .name_entry(name)?
                .filter(|e| e.is_active_at(self.tip))
                .map(Rc::new)
        };
        if let Some(entry) = &entry {
            self.until_height = self.until_height.min(entry.expires_at);
        }
        self.entries.insert(name.to_string(), entry.clone());
        Ok(entry)
    }

    /// Answers one name into `out`; returns the CNAME target to answer next, if any.
    fn step(
        &mut self,
        target: &Target,
        qtype: RecordType,
        out: &mut Answer,
    ) -> Result<Option<Target>> {
        match place(&target.spelling, self.reader.tlds()) {
            Placement::Outside => Ok(None),
            Placement::Tld(tld) => {
                self.tld_apex(tld, qtype, out)?;
                Ok(None)
            }
            Placement::Under { name, tld, .. } if is_tld_name_server(name, tld) => {
                self.own_name_server(target, tld, qtype, out)?;
                Ok(None)
            }
            Placement::Under { name, host, tld } => self.under(target, name, host, tld, qtype, out),
        }
    }

    /// The TLD's own name server name, `ns1.<tld>`, and the names below it: answered by the
    /// node, never from the ledger (the name is reserved; a registration made before it was
    /// must not take over the apex NS). Its address is the node's own when the node serves
    /// DNS on port 53 of a given address (the port an NS address implies); otherwise the name
    /// exists with no data (NODATA), since the node cannot know by which address and port a
    /// resolver reaches it, and a resolver that reaches it was given them (a stub or forward
    /// zone). Below it, NXDOMAIN.
    fn own_name_server(
        &self,
        target: &Target,
        tld: &str,
        qtype: RecordType,
        out: &mut Answer,
    ) -> Result<()> {
        if target.spelling.len() != TLD_NAME_SERVER_LABEL.len() + 1 + tld.len() {
            return self.negative(ResponseCode::NXDomain, tld, &target.name, None, out);
        }
        match self.own_address(&target.name, qtype) {
            Some(record) => out.answers.push(record),
            None => {
                let held = [RecordType::A, RecordType::AAAA]
                    .into_iter()
                    .filter(|&t| self.own_address(&target.name, t).is_some())
                    .collect();
                self.negative(ResponseCode::NoError, tld, &target.name, Some(held), out)?
            }
        }
        Ok(())
    }

    /// The node's own address as the `qtype` (A or AAAA) record of `owner`, if it has one of
    /// that family.
    fn own_address(&self, owner: &Name, qtype: RecordType) -> Option<Record> {
        let rdata = match (qtype, self.own?) {
            (RecordType::A, IpAddr::V4(v4)) => RData::A(v4.into()),
            (RecordType::AAAA, IpAddr::V6(v6)) => RData::AAAA(v6.into()),
            _ => return None,
        };
        Some(Record::from_rdata(owner.clone(), TLD_NS_TTL_SECS, rdata))
    }

    /// A top-level domain itself: its SOA and NS, nothing else.
    fn tld_apex(&self, tld: &str, qtype: RecordType, out: &mut Answer) -> Result<()> {
        let ns = || -> Result<Record> {
            Ok(Record::from_rdata(
                dns_name(tld)?,
                TLD_NS_TTL_SECS,
                RData::NS(NS(dns_name(&tld_name_server(tld))?)),
            ))
        };
        match qtype {
            // ANY gets one RRset (RFC 8482).
            RecordType::SOA | RecordType::ANY => out.answers.push(self.soa(tld)?),
            RecordType::NS => {
                out.answers.push(ns()?);
                // Its address, as NSD gives the address of a name server inside its zone.
                let server = dns_name(&tld_name_server(tld))?;
                for qtype in [RecordType::A, RecordType::AAAA] {
                    out.additionals.extend(self.own_address(&server, qtype));
                }
            }
            _ => {
                let held = vec![RecordType::SOA, RecordType::NS];
                self.negative(ResponseCode::NoError, tld, &dns_name(tld)?, Some(held), out)?
            }
        }
        Ok(())
    }

    /// A name below a top-level domain: the registered `name` and the `host` below it.
    fn under(
        &mut self,
        target: &Target,
        name: &str,
        host: &str,
        tld: &str,
        qtype: RecordType,
        out: &mut Answer,
    ) -> Result<Option<Target>> {
        let Some(entry) = self.entry(name)? else {
            self.negative(ResponseCode::NXDomain, tld, &target.name, None, out)?;
            return Ok(None);
        };
        let bound_identity = match identity_key_of(name, host) {
            Some(bound) => self.reader.bound_identity(&bound)?,
            None => None,
        };
        if let Some(identity) = &bound_identity {
            self.identities.push(identity.id.clone());
        }
        if let Some(identity) = bound_identity.filter(IdentityEntry::is_active) {
            if matches!(qtype, RecordType::TXT | RecordType::ANY) {
                let txt = TXT::new(vec![identity_key_txt(&identity)]);
                out.answers.push(Record::from_rdata(
                    target.name.clone(),
                    IDENTITY_KEY_TTL_SECS,
                    RData::TXT(txt),
                ));
            } else {
                let held = Some(vec![RecordType::TXT]);
                self.negative(ResponseCode::NoError, tld, &target.name, held, out)?;
            }
            return Ok(None);
        }
        if let Some(cut) = delegation(&entry.records, host) {
            // The DS set of a delegation lives on the parent's side of the cut: here.
            if !(qtype == RecordType::DS && host == cut) {
                self.referral(&entry, cut, out)?;
                return Ok(None);
            }
        }
        let at: Vec<&LedgerRecord> = entry.records.iter().filter(|r| r.host == host).collect();
        let derived = match tlsa_service(host) {
            Some(service) => self.derived_tlsa(&entry, service)?,
            None => Vec::new(),
        };
        if at.is_empty() && derived.is_empty() {
            // An empty non-terminal (`b` when `a.b` has records, `_tcp` when certificates give
            // `_443._tcp` its TLSA records) exists; anything else does not.
            let exists = host.is_empty()
                || entry.records.iter().any(|r| is_below(&r.host, host))
                || match tlsa_transport(host) {
                    Some(service) => !self.derived_tlsa(&entry, service)?.is_empty(),
                    None => false,
                };
            let (rcode, held) = if exists {
                (ResponseCode::NoError, Some(Vec::new()))
            } else {
                (ResponseCode::NXDomain, None)
            };
            self.negative(rcode, tld, &target.name, held, out)?;
            return Ok(None);
        }
        if !matches!(qtype, RecordType::CNAME | RecordType::ANY)
            && let Some(cname) = at.iter().find(|r| r.record_type() == RecordType::CNAME)
        {
            let rdata = decode(&target.spelling, cname)?;
            let next = match &rdata {
                RData::CNAME(next) => Target::new(&next.0),
                other => {
                    return Err(Error::BadName {
                        name: target.spelling.clone(),
                        detail: format!("CNAME record decodes as {}", other.record_type()),
                    });
                }
            };
            out.answers
                .push(Record::from_rdata(target.name.clone(), cname.ttl, rdata));
            return Ok(Some(next));
        }
        // ANY gets one RRset (RFC 8482): the first type at the name.
        let wanted = match (qtype, at.first()) {
            (RecordType::ANY, Some(first)) => first.record_type(),
            (RecordType::ANY, None) => RecordType::TLSA,
            _ => qtype,
        };
        let before = out.answers.len();
        let has_derived = !derived.is_empty();
        for r in at.iter().filter(|r| r.record_type() == wanted) {
            out.answers.push(Record::from_rdata(
                target.name.clone(),
                r.ttl,
                decode(&target.spelling, r)?,
            ));
        }
        if wanted == RecordType::TLSA {
            for rdata in derived {
                let record = Record::from_rdata(target.name.clone(), CERT_TLSA_TTL_SECS, rdata);
                if !out.answers[before..].iter().any(|r| r.data == record.data) {
                    out.answers.push(record);
                }
            }
        }
        if out.answers.len() == before {
            // The types the name holds; at a zone cut (asked for its DS set) only those of
            // the parent's side.
            let cut = delegation(&entry.records, host) == Some(host);
            let mut held: Vec<RecordType> = at
                .iter()
                .map(|r| r.record_type())
                .filter(|t| !cut || matches!(t, RecordType::NS | RecordType::DS))
                .collect();
            if has_derived {
                held.push(RecordType::TLSA);
            }
            self.negative(ResponseCode::NoError, tld, &target.name, Some(held), out)?;
        }
        if matches!(wanted, RecordType::MX | RecordType::SRV) {
            // The addresses of the mail exchanges and service hosts inside the chain, as
            // NSD gives those in its zone, so that the client need not ask for them.
            let mut targets: Vec<Target> = Vec::new();
            for record in &out.answers[before..] {
                let host = match &record.data {
                    RData::MX(mx) => &mx.exchange,
                    RData::SRV(srv) => &srv.target,
                    _ => continue,
                };
                let host = Target::new(host);
                if !targets.iter().any(|t| t.spelling == host.spelling) {
                    targets.push(host);
                }
            }
            let mut additionals = std::mem::take(&mut out.additionals);
            self.addresses(&entry, targets, &mut additionals)?;
            out.additionals = additionals;
        }
        Ok(None)
    }

    /// TLSA `3 1 1` (SPKI) and `3 0 1` (whole certificate) of every certificate of the name
    /// that speaks for `service` (relative to the name) now: not revoked, registered under the
    /// name's current owner, one of its names matching, inside its validity window.
    fn derived_tlsa(&mut self, entry: &NameEntry, service: &str) -> Result<Vec<RData>> {
        let full = if service.is_empty() {
            entry.name.clone()
        } else {
            format!("{service}.{}", entry.name)
        };
        let mut out = Vec::new();
        for cert in self.reader.active_certs(&entry.name)? {
            let facts = &cert.facts;
            // The answer changes when the certificate's window opens or closes.
            if self.now_secs < facts.not_before {
                self.until_secs = self.until_secs.min(facts.not_before);
            } else if self.now_secs <= facts.not_after {
                self.until_secs = self.until_secs.min(facts.not_after.saturating_add(1));
            }
            // The rule TLS clients apply; it also keeps out another name's entry for the same
            // hash, which says nothing here.
            let speaks = cert.speaks_for(
                &full,
                self.reader.tlds(),
                Some(entry),
                self.tip,
                self.now_secs,
            );
            if speaks.is_err() {
                continue;
            }
            for (selector, hash) in [
                (Selector::Spki, facts.spki_sha256),
                (Selector::Full, facts.cert_sha256),
            ] {
                out.push(RData::TLSA(TLSA::new(
                    CertUsage::DaneEe,
                    selector,
                    Matching::Sha256,
                    hash.0.to_vec(),
                )));
            }
        }
        Ok(out)
    }

    /// A referral to the name servers of the delegated `cut`: their NS records in the authority
    /// section and, for targets inside the chain's names, their addresses as glue.
    fn referral(&mut self, entry: &Rc<NameEntry>, cut: &str, out: &mut Answer) -> Result<()> {
        // AA belongs to the first owner name: an answer that reached the cut through our own
        // CNAME stays authoritative for that CNAME.
        if out.answers.is_empty() {
            out.authoritative = false;
        }
        let owner = host_name(cut, &entry.name)?;
        let mut targets: Vec<Target> = Vec::new();
        for r in entry
            .records
            .iter()
            .filter(|r| r.host == cut && r.record_type() == RecordType::NS)
        {
            let rdata = decode(&entry.name, r)?;
            if let RData::NS(ns) = &rdata {
                let target = Target::new(&ns.0);
                if !targets.iter().any(|t| t.spelling == target.spelling) {
                    targets.push(target);
                }
            }
            out.authority
                .push(Record::from_rdata(owner.clone(), r.ttl, rdata));
        }
        let mut ds = Vec::new();
        for r in entry
            .records
            .iter()
            .filter(|r| r.host == cut && r.record_type() == RecordType::DS)
        {
            ds.push(Record::from_rdata(
                owner.clone(),
                r.ttl,
                decode(&entry.name, r)?,
            ));
        }
        if let Some(dnssec) = &mut out.dnssec {
            dnssec.cut = Some((owner, ds));
        }
        let mut additionals = std::mem::take(&mut out.additionals);
        self.addresses(entry, targets, &mut additionals)?;
        out.additionals = additionals;
        Ok(())
    }

    /// The A and AAAA records of `targets` inside the chain's names, into `out`: from `entry`
    /// when they are under it, else from the ledger, reading at most `MAX_GLUE_NAMES` other
    /// names for one answer. Targets outside the chain are the client's to resolve.
    fn addresses(
        &mut self,
        entry: &Rc<NameEntry>,
        targets: Vec<Target>,
        out: &mut Vec<Record>,
    ) -> Result<()> {
        for target in targets {
            let Placement::Under { name, host, tld } = place(&target.spelling, self.reader.tlds())
            else {
                continue; // outside the chain (or a TLD): the resolver finds its address itself
            };
            if is_tld_name_server(name, tld) {
                continue; // answered by the node, with no address
            }
            let glue_entry = if name == entry.name {
                Some(entry.clone())
            } else if self.entries.contains_key(name) || self.glue_names_read < MAX_GLUE_NAMES {
                if !self.entries.contains_key(name) {
                    self.glue_names_read += 1;
                }
                self.entry(name)?
            } else {
                None
            };
            let Some(glue_entry) = glue_entry else {
                continue;
            };
            for r in glue_entry.records.iter().filter(|r| {
                r.host == host && matches!(r.record_type(), RecordType::A | RecordType::AAAA)
            }) {
                out.push(Record::from_rdata(
                    target.name.clone(),
                    r.ttl,
                    decode(name, r)?,
                ));
            }
        }
        Ok(())
    }

    /// NXDOMAIN or NODATA: the response code and the TLD's SOA in the authority section;
    /// `owner` is the name denied, with the types it holds (`None`: it does not exist).
    fn negative(
        &self,
        rcode: ResponseCode,
        tld: &str,
        owner: &Name,
        held: Option<Vec<RecordType>>,
        out: &mut Answer,
    ) -> Result<()> {
        out.rcode = rcode;
        out.authority.push(self.soa(tld)?);
        if let Some(dnssec) = &mut out.dnssec {
            dnssec.denial = Some(Denial {
                owner: owner.clone(),
                types: held,
            });
        }
        Ok(())
    }

    /// The synthesized SOA of a top-level domain; its serial is the tip height (wrapping, as
    /// serial numbers do, RFC 1982).
    fn soa(&self, tld: &str) -> Result<Record> {
        let soa = SOA::new(
            dns_name(&tld_name_server(tld))?,
            dns_name(&format!("hostmaster.{tld}"))?,
            self.tip as u32,
            SOA_REFRESH_SECS,
            SOA_RETRY_SECS,
            SOA_EXPIRE_SECS,
            NEGATIVE_TTL_SECS,
        );
        Ok(Record::from_rdata(
            dns_name(tld)?,
            NEGATIVE_TTL_SECS,
            RData::SOA(soa),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sigil_core::state::{CertEntry, CertFacts, Revocation, RevocationReason};
    use sigil_core::types::{Hash, PublicKey};

    use super::*;

    const TIP: Height = 50;

    /// The chain's names in memory, counting reads.
    struct Names {
        tlds: Vec<String>,
        entries: BTreeMap<String, NameEntry>,
        certs: BTreeMap<String, Vec<CertEntry>>,
        /// Identities bound to names.
        bound: BTreeMap<String, IdentityEntry>,
        reads: AtomicUsize,
    }

    impl NameReader for Names {
        fn tip_height(&self) -> Height {
            TIP
        }
        fn tlds(&self) -> &[String] {
            &self.tlds
        }
        fn name_entry(&self, name: &str) -> sigil_core::Result<Option<NameEntry>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.entries.get(name).cloned())
        }
        fn active_certs(&self, name: &str) -> sigil_core::Result<Vec<CertEntry>> {
            Ok(self.certs.get(name).cloned().unwrap_or_default())
        }

        fn bound_identity(&self, name: &str) -> sigil_core::Result<Option<IdentityEntry>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(self.bound.get(name).cloned())
        }
    }

    /// A certificate of `example.sigil` whose hashes are `seed` and `seed + 1`, valid from
    /// unix time 1000 to 2000.
    fn cert(seed: u8, sans: &[&str]) -> CertEntry {
        CertEntry {
            facts: CertFacts {
                name: "example.sigil".into(),
                cert_sha256: Hash([seed + 1; 32]),
                spki_sha256: Hash([seed; 32]),
                not_before: 1000,
                not_after: 2000,
                sans: sans.iter().map(|s| s.to_string()).collect(),
            },
            owner: PublicKey([7; 32]),
            registered_by: PublicKey([7; 32]),
            registered_at: 2,
            revoked: None,
        }
    }

    fn identity(id: &str, key: u8, revoked_at: Option<Height>) -> IdentityEntry {
        IdentityEntry {
            id: id.to_string(),
            online_key: PublicKey([key; 32]),
            offline_key: PublicKey([key + 1; 32]),
            registered_at: 1,
            updated_at: 1,
            revoked_at,
            suspended_at: None,
            keys: vec![],
        }
    }

    fn entry(name: &str, expires_at: Height, records: &[&str]) -> (String, NameEntry) {
        let records = records
            .iter()
            .map(|r| LedgerRecord::parse(r).unwrap())
            .collect();
        let entry = NameEntry {
            name: name.to_string(),
            owner: PublicKey([7; 32]),
            records,
            registered_at: 1,
            updated_at: 1,
            expires_at,
        };
        (name.to_string(), entry)
    }

    fn names() -> Names {
        let tlsa = format!("_443._tcp.www TLSA 3 1 1 {}", "ab".repeat(32));
        let entries = [
            entry(
                "example.sigil",
                100,
                &[
                    "@ A 192.0.2.1",
                    "@ AAAA 2001:db8::1",
                    r#"@ TXT "v=spf1 -all""#,
                    "@ MX 10 mail.example.sigil",
                    "www A 192.0.2.8",
                    "www A 192.0.2.9",
                    "mail A 192.0.2.25",
                    &tlsa,
                    "a.b A 192.0.2.10",
                    "alias CNAME hop.example.sigil",
                    "hop CNAME www.example.sigil",
                    "loop1 CNAME loop2.example.sigil",
                    "loop2 CNAME loop1.example.sigil",
                    "ext CNAME www.example.com",
                    "cross CNAME other.sigil",
                    "gone CNAME old.sigil",
                    "sub NS ns1.sub.example.sigil",
                    "sub NS ns.other.sigil",
                    "sub NS ns.example.net",
                    "ns1.sub A 192.0.2.53",
                    "ns1.sub AAAA 2001:db8::53",
                    "sub DS 12345 13 2 CDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCDCD",
                    "www.sub A 192.0.2.99",
                ],
            ),
            entry("other.sigil", 100, &["@ A 192.0.2.100", "ns A 192.0.2.54"]),
            entry("old.sigil", TIP, &["@ A 192.0.2.200"]),
            entry(
                "deleg.sigil",
                100,
                &["@ NS ns1.example.net", "www A 192.0.2.77"],
            ),
            entry("broken.sigil", 100, &[]),
        ];
        let mut entries: BTreeMap<String, NameEntry> = entries.into_iter().collect();
        // A record whose stored bytes no longer decode, as a damaged database would hold.
        let broken = entries.get_mut("broken.sigil").unwrap();
        broken.records.push(LedgerRecord {
            host: String::new(),
            ttl: 300,
            rtype: 1,
            rdata: vec![1, 2],
        });
        let active = cert(0xa0, &["example.sigil", "*.example.sigil"]);
        let mut revoked = cert(0xb0, &["example.sigil"]);
        revoked.revoked = Some(Revocation {
            height: 3,
            reason: RevocationReason::KeyCompromise,
            by: PublicKey([7; 32]),
        });
        let mut earlier_owner = cert(0xc0, &["example.sigil"]);
        earlier_owner.owner = PublicKey([8; 32]);
        let mut expired = cert(0xd0, &["example.sigil"]);
        expired.facts.not_after = 1200;
        // An entry of another name, as a reader that mixed names up would hand over.
        let mut foreign = cert(0xe0, &["example.sigil"]);
        foreign.facts.name = "other.sigil".into();
        let certs = [(
            "example.sigil".to_string(),
            vec![active, revoked, earlier_owner, expired, foreign],
        )]
        .into_iter()
        .collect();
        let bound = [
            ("example.sigil", identity("acme", 1, None)),
            ("alice.example.sigil", identity("alice", 3, None)),
            ("gone.example.sigil", identity("gone", 5, Some(10))),
        ]
        .into_iter()
        .map(|(name, identity)| (name.to_string(), identity))
        .collect();
        Names {
            tlds: vec!["sigil".to_string()],
            entries,
            certs,
            bound,
            reads: AtomicUsize::new(0),
        }
    }

    fn ask_at(names: &Names, qname: &str, qtype: RecordType, now_secs: i64) -> Answer {
        answer_at(names, &Name::from_ascii(qname).unwrap(), qtype, now_secs)
            .unwrap()
            .expect("a chain name")
            .0
    }

    #[test]
    fn tlsa_is_derived_from_the_certificates_that_speak_for_the_host() {
        let names = names();
        let tlsa = |seed: u8, selector: u8| format!("3 {selector} 1 {}", hex_of(seed));
        fn hex_of(seed: u8) -> String {
            format!("{seed:02x}").repeat(32).to_uppercase()
        }
        let apex = ask_at(&names, "_443._tcp.example.sigil.", RecordType::TLSA, 1500);
        assert_eq!(apex.rcode, ResponseCode::NoError);
        assert!(apex.answers.iter().all(|r| r.ttl == CERT_TLSA_TTL_SECS));
        let data: Vec<String> = apex
            .answers
            .iter()
            .map(|r| r.data.to_string().to_uppercase())
            .collect();
        // Only the active certificate, by its SPKI and by the whole certificate; not the
        // revoked one, the one of an earlier owner, the expired one, or another name's.
        assert_eq!(data, [tlsa(0xa0, 1), tlsa(0xa1, 0)]);

        // At a subname covered by the wildcard, beside the owner's own TLSA record.
        let www = ask_at(
            &names,
            "_443._tcp.www.example.sigil.",
            RecordType::TLSA,
            1500,
        );
        assert_eq!(www.answers.len(), 3, "{www:?}");
        // Any port and transport.
        let udp = ask_at(&names, "_853._udp.example.sigil.", RecordType::TLSA, 1500);
        assert_eq!(udp.answers.len(), 2);
        // The wildcard stands for one label only.
        let deep = ask_at(
            &names,
            "_443._tcp.a.b.example.sigil.",
            RecordType::TLSA,
            1500,
        );
        assert_eq!(deep.rcode, ResponseCode::NXDomain);
        // Another type at the TLSA name: it exists, with no data of that type.
        let a = ask_at(&names, "_443._tcp.example.sigil.", RecordType::A, 1500);
        assert_eq!(a.rcode, ResponseCode::NoError);
        assert!(a.answers.is_empty());
        // Outside the validity window nothing is derived.
        for now in [999, 2001] {
            let late = ask_at(&names, "_443._tcp.example.sigil.", RecordType::TLSA, now);
            assert_eq!(late.rcode, ResponseCode::NXDomain, "at {now}");
        }
        // Not a service name.
        let odd = ask_at(&names, "_x._tcp.example.sigil.", RecordType::TLSA, 1500);
        assert_eq!(odd.rcode, ResponseCode::NXDomain);
        // The transport node above the TLSA names is an empty non-terminal while a certificate
        // speaks for the host, and does not exist otherwise.
        for qname in ["_tcp.example.sigil.", "_udp.www.example.sigil."] {
            let ent = ask_at(&names, qname, RecordType::TLSA, 1500);
            assert_eq!(ent.rcode, ResponseCode::NoError, "{qname}");
            assert!(ent.answers.is_empty());
            let gone = ask_at(&names, qname, RecordType::TLSA, 2001);
            assert_eq!(gone.rcode, ResponseCode::NXDomain, "{qname}");
        }
        let nowhere = ask_at(&names, "_tcp.a.b.example.sigil.", RecordType::TLSA, 1500);
        assert_eq!(nowhere.rcode, ResponseCode::NXDomain);
    }

    #[test]
    fn tlsa_service_names_are_recognized() {
        assert_eq!(tlsa_service("_443._tcp"), Some(""));
        assert_eq!(tlsa_service("_443._tcp.www"), Some("www"));
        assert_eq!(tlsa_service("_25._udp.a.b"), Some("a.b"));
        assert_eq!(tlsa_service("_443"), None);
        assert_eq!(tlsa_service("_443._foo"), None);
        assert_eq!(tlsa_service("443._tcp"), None);
        assert_eq!(tlsa_service("_123456._tcp"), None);
        assert_eq!(tlsa_service("www"), None);
    }

    #[test]
    fn sigil_key_serves_the_bound_identity_key() {
        let n = names();
        let apex = ask(&n, "_sigil-key.example.sigil.", RecordType::TXT);
        let key = PublicKey([1; 32]);
        assert_eq!(
            show(&apex.answers),
            [format!(
                "_sigil-key.example.sigil. TXT v=sigil-key1; id=acme; k=ed25519; p={key}"
            )]
        );
        assert_eq!(apex.answers[0].ttl, IDENTITY_KEY_TTL_SECS);
        let sub = ask(&n, "_SIGIL-KEY.alice.example.sigil.", RecordType::TXT);
        assert_eq!(sub.answers.len(), 1);
        assert!(show(&sub.answers)[0].contains("id=alice"));
        // Another type at a bound key name: NODATA.
        let a = ask(&n, "_sigil-key.alice.example.sigil.", RecordType::A);
        assert_eq!((a.rcode, a.answers.len()), (ResponseCode::NoError, 0));
        // A revoked identity, or no binding: no key.
        for qname in [
            "_sigil-key.gone.example.sigil.",
            "_sigil-key.www.example.sigil.",
        ] {
            let none = ask(&n, qname, RecordType::TXT);
            assert_eq!(none.rcode, ResponseCode::NXDomain, "{qname}");
            assert!(none.answers.is_empty());
        }
    }

    fn ask(names: &Names, qname: &str, qtype: RecordType) -> Answer {
        answer(names, &Name::from_ascii(qname).unwrap(), qtype)
            .unwrap()
            .expect("a chain name")
    }

    /// Each record as `owner TYPE data`, for comparing sections.
    fn show(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| format!("{} {} {}", r.name, r.record_type(), r.data))
            .collect()
    }

    fn assert_soa(answer: &Answer) {
        assert_eq!(answer.authority.len(), 1, "{answer:?}");
        let soa = &answer.authority[0];
        assert_eq!(soa.name.to_string(), "sigil.");
        assert_eq!(soa.ttl, NEGATIVE_TTL_SECS);
        match &soa.data {
            RData::SOA(soa) => {
                assert_eq!(soa.mname.to_string(), "ns1.sigil.");
                assert_eq!(soa.rname.to_string(), "hostmaster.sigil.");
                assert_eq!(
                    (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum),
                    (TIP as u32, 3600, 600, 86400, 60)
                );
            }
            other => panic!("expected an SOA, got {other:?}"),
        }
    }

    #[test]
    fn answers_records_of_each_type() {
        let n = names();
        let a = ask(&n, "www.example.sigil.", RecordType::A);
        assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
        assert_eq!(
            show(&a.answers),
            [
                "www.example.sigil. A 192.0.2.8",
                "www.example.sigil. A 192.0.2.9"
            ]
        );
        assert!(a.authority.is_empty() && a.additionals.is_empty());
        assert_eq!(a.answers[0].ttl, 300);

        let aaaa = ask(&n, "example.sigil.", RecordType::AAAA);
        assert_eq!(show(&aaaa.answers), ["example.sigil. AAAA 2001:db8::1"]);
        let txt = ask(&n, "example.sigil.", RecordType::TXT);
        assert_eq!(show(&txt.answers), ["example.sigil. TXT v=spf1 -all"]);
        let mx = ask(&n, "example.sigil.", RecordType::MX);
        assert_eq!(
            show(&mx.answers),
            ["example.sigil. MX 10 mail.example.sigil."]
        );
        let tlsa = ask(&n, "_443._tcp.www.example.sigil.", RecordType::TLSA);
        assert_eq!(tlsa.answers.len(), 1);
        assert_eq!(tlsa.answers[0].record_type(), RecordType::TLSA);
        // ANY gets one RRset (RFC 8482): the first type at the name.
        let any = ask(&n, "example.sigil.", RecordType::ANY);
        assert_eq!(show(&any.answers), ["example.sigil. A 192.0.2.1"]);
    }

    #[test]
    fn names_are_case_insensitive() {
        let n = names();
        let a = ask(&n, "WwW.ExAmPlE.SiGiL", RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NoError);
        assert_eq!(
            show(&a.answers),
            [
                "www.example.sigil. A 192.0.2.8",
                "www.example.sigil. A 192.0.2.9"
            ]
        );
    }

    #[test]
    fn missing_and_expired_names_are_nxdomain_with_one_read() {
        let n = names();
        for qname in [
            "nope.sigil.",
            "www.nope.sigil.",
            "old.sigil.",
            "www.old.sigil.",
        ] {
            let before = n.reads.load(Ordering::SeqCst);
            let a = ask(&n, qname, RecordType::A);
            assert_eq!(
                (a.rcode, a.authoritative),
                (ResponseCode::NXDomain, true),
                "{qname}"
            );
            assert!(a.answers.is_empty());
            assert_soa(&a);
            assert_eq!(
                n.reads.load(Ordering::SeqCst) - before,
                1,
                "{qname} read more than one entry"
            );
        }
        // A missing host under a live name, and a label no name can have (no read at all).
        let a = ask(&n, "nohost.example.sigil.", RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NXDomain);
        assert_soa(&a);
        let before = n.reads.load(Ordering::SeqCst);
        let odd = answer(
            &n,
            &Name::from_labels(vec![&b"a*b"[..], b"sigil"]).unwrap(),
            RecordType::A,
        )
        .unwrap()
        .unwrap();
        assert_eq!(odd.rcode, ResponseCode::NXDomain);
        assert_eq!(n.reads.load(Ordering::SeqCst), before);
    }

    #[test]
    fn a_missing_type_is_nodata() {
        let n = names();
        for (qname, qtype) in [
            ("www.example.sigil.", RecordType::AAAA),
            ("example.sigil.", RecordType::SOA),
        ] {
            let a = ask(&n, qname, qtype);
            assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
            assert!(a.answers.is_empty());
            assert_soa(&a);
        }
    }

    #[test]
    fn an_empty_non_terminal_is_nodata() {
        let n = names();
        let ent = ask(&n, "b.example.sigil.", RecordType::A);
        assert_eq!(ent.rcode, ResponseCode::NoError);
        assert!(ent.answers.is_empty());
        assert_soa(&ent);
        let ent = ask(&n, "_tcp.www.example.sigil.", RecordType::TXT);
        assert_eq!(ent.rcode, ResponseCode::NoError);
        // `ab` is not an ancestor of `a.b`: only whole labels count.
        assert_eq!(
            ask(&n, "ab.example.sigil.", RecordType::A).rcode,
            ResponseCode::NXDomain
        );
        assert_eq!(
            ask(&n, "c.a.b.example.sigil.", RecordType::A).rcode,
            ResponseCode::NXDomain
        );
    }

    #[test]
    fn delegated_subnames_get_a_referral_with_glue() {
        let n = names();
        for qname in [
            "sub.example.sigil.",
            "www.sub.example.sigil.",
            "x.y.sub.example.sigil.",
        ] {
            let r = ask(&n, qname, RecordType::A);
            assert_eq!(
                (r.rcode, r.authoritative),
                (ResponseCode::NoError, false),
                "{qname}"
            );
            assert!(r.answers.is_empty(), "{qname}: {:?}", r.answers);
            assert_eq!(
                show(&r.authority),
                [
                    "sub.example.sigil. NS ns1.sub.example.sigil.",
                    "sub.example.sigil. NS ns.other.sigil.",
                    "sub.example.sigil. NS ns.example.net.",
                ]
            );
            assert_eq!(
                show(&r.additionals),
                [
                    "ns1.sub.example.sigil. A 192.0.2.53",
                    "ns1.sub.example.sigil. AAAA 2001:db8::53",
                    "ns.other.sigil. A 192.0.2.54",
                ]
            );
        }
        // The NS set itself is a referral too; the DS set at the cut is the parent's answer.
        assert!(!ask(&n, "sub.example.sigil.", RecordType::NS).authoritative);
        let ds = ask(&n, "sub.example.sigil.", RecordType::DS);
        assert_eq!((ds.rcode, ds.authoritative), (ResponseCode::NoError, true));
        assert_eq!(ds.answers.len(), 1);
        assert_eq!(ds.answers[0].record_type(), RecordType::DS);
        // DS below the cut is the child's business.
        assert!(!ask(&n, "www.sub.example.sigil.", RecordType::DS).authoritative);
    }

    #[test]
    fn ns_at_the_apex_delegates_the_whole_name() {
        let n = names();
        for qname in ["deleg.sigil.", "www.deleg.sigil."] {
            let r = ask(&n, qname, RecordType::A);
            assert_eq!((r.rcode, r.authoritative), (ResponseCode::NoError, false));
            assert!(r.answers.is_empty());
            assert_eq!(show(&r.authority), ["deleg.sigil. NS ns1.example.net."]);
            assert!(r.additionals.is_empty());
        }
        let ds = ask(&n, "deleg.sigil.", RecordType::DS);
        assert_eq!((ds.rcode, ds.authoritative), (ResponseCode::NoError, true));
        assert_soa(&ds);
    }

    #[test]
    fn cname_chains_are_followed_inside_the_chain() {
        let n = names();
        let a = ask(&n, "alias.example.sigil.", RecordType::A);
        assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
        assert_eq!(
            show(&a.answers),
            [
                "alias.example.sigil. CNAME hop.example.sigil.",
                "hop.example.sigil. CNAME www.example.sigil.",
                "www.example.sigil. A 192.0.2.8",
                "www.example.sigil. A 192.0.2.9",
            ]
        );
        // Asking for the CNAME itself does not follow it.
        assert_eq!(
            show(&ask(&n, "alias.example.sigil.", RecordType::CNAME).answers),
            ["alias.example.sigil. CNAME hop.example.sigil."]
        );
        // Into another chain name, and out of the chain (the client follows that one).
        assert_eq!(
            show(&ask(&n, "cross.example.sigil.", RecordType::A).answers),
            [
                "cross.example.sigil. CNAME other.sigil.",
                "other.sigil. A 192.0.2.100"
            ]
        );
        let ext = ask(&n, "ext.example.sigil.", RecordType::A);
        assert_eq!(
            show(&ext.answers),
            ["ext.example.sigil. CNAME www.example.com."]
        );
        assert!(ext.authority.is_empty());
        // A target that has expired: the chain ends in NXDOMAIN (RFC 6604).
        let gone = ask(&n, "gone.example.sigil.", RecordType::A);
        assert_eq!(gone.rcode, ResponseCode::NXDomain);
        assert_eq!(
            show(&gone.answers),
            ["gone.example.sigil. CNAME old.sigil."]
        );
        assert_soa(&gone);
        // A type the target lacks: NODATA after the chain.
        let nodata = ask(&n, "alias.example.sigil.", RecordType::AAAA);
        assert_eq!(
            (nodata.rcode, nodata.answers.len()),
            (ResponseCode::NoError, 2)
        );
        assert_soa(&nodata);
    }

    #[test]
    fn cname_loops_stop() {
        let n = names();
        let before = n.reads.load(Ordering::SeqCst);
        let a = ask(&n, "loop1.example.sigil.", RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NoError);
        assert_eq!(
            show(&a.answers),
            [
                "loop1.example.sigil. CNAME loop2.example.sigil.",
                "loop2.example.sigil. CNAME loop1.example.sigil."
            ]
        );
        // The entry is read once, however many hops stay inside it.
        assert_eq!(n.reads.load(Ordering::SeqCst) - before, 1);
    }

    #[test]
    fn long_cname_chains_stop_after_the_limit() {
        let hops: Vec<String> = (0..20)
            .map(|i| format!("h{i} CNAME h{}.chain.sigil", i + 1))
            .collect();
        let hops: Vec<&str> = hops.iter().map(String::as_str).collect();
        let names = Names {
            tlds: vec!["sigil".to_string()],
            entries: [entry("chain.sigil", 100, &hops)].into_iter().collect(),
            certs: BTreeMap::new(),
            bound: BTreeMap::new(),
            reads: AtomicUsize::new(0),
        };
        let a = ask(&names, "h0.chain.sigil.", RecordType::A);
        assert_eq!(a.answers.len(), MAX_CNAME_HOPS + 1);
    }

    #[test]
    fn the_tld_apex_has_soa_and_ns() {
        let n = names();
        let soa = ask(&n, "SIGIL.", RecordType::SOA);
        assert_eq!(
            (soa.rcode, soa.authoritative),
            (ResponseCode::NoError, true)
        );
        assert_eq!(soa.answers.len(), 1);
        let as_authority = Answer {
            authority: soa.answers.clone(),
            ..soa.clone()
        };
        assert_soa(&as_authority);
        let ns = ask(&n, "sigil.", RecordType::NS);
        assert_eq!(show(&ns.answers), ["sigil. NS ns1.sigil."]);
        let a = ask(&n, "sigil.", RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NoError);
        assert!(a.answers.is_empty());
        assert_soa(&a);
        assert_eq!(
            n.reads.load(Ordering::SeqCst),
            0,
            "the apex needs no ledger read"
        );
    }

    #[test]
    fn the_tld_name_server_has_the_node_address_when_it_serves_port_53() {
        let n = names();
        let ask_as = |qname: &str, qtype, own: Option<&str>| {
            let own = own.map(|ip| ip.parse().unwrap());
            answer_at_as(&n, &Name::from_ascii(qname).unwrap(), qtype, 1500, own)
                .unwrap()
                .unwrap()
                .0
        };
        // Without an address of its own: the name exists, with no data.
        let a = ask_as("ns1.sigil.", RecordType::A, None);
        assert_eq!((a.rcode, a.answers.len()), (ResponseCode::NoError, 0));
        assert_soa(&a);
        assert!(
            ask_as("sigil.", RecordType::NS, None)
                .additionals
                .is_empty()
        );
        // With one: its family's record, at the name and as the apex NS's glue.
        let a = ask_as("NS1.sigil.", RecordType::A, Some("192.0.2.53"));
        assert_eq!(show(&a.answers), ["ns1.sigil. A 192.0.2.53"]);
        assert!(a.authoritative);
        let aaaa = ask_as("ns1.sigil.", RecordType::AAAA, Some("192.0.2.53"));
        assert!(aaaa.answers.is_empty());
        let ns = ask_as("sigil.", RecordType::NS, Some("2001:db8::53"));
        assert_eq!(show(&ns.answers), ["sigil. NS ns1.sigil."]);
        assert_eq!(show(&ns.additionals), ["ns1.sigil. AAAA 2001:db8::53"]);
        // Below it, nothing.
        let below = ask_as("www.ns1.sigil.", RecordType::A, Some("192.0.2.53"));
        assert_eq!(below.rcode, ResponseCode::NXDomain);
    }

    #[test]
    fn names_outside_the_chain_are_not_ours() {
        let n = names();
        for qname in ["example.com.", "sigil.com.", "xsigil.", "."] {
            assert_eq!(
                answer(&n, &Name::from_ascii(qname).unwrap(), RecordType::A).unwrap(),
                None,
                "{qname}"
            );
        }
    }

    /// The types an answer's denial names (sorted), or `None` for a name that does not exist.
    fn denied(answer: &Answer, owner: &str) -> Option<Vec<RecordType>> {
        let denial = answer
            .dnssec
            .as_ref()
            .and_then(|d| d.denial.clone())
            .unwrap_or_else(|| panic!("no denial in {answer:?}"));
        assert_eq!(denial.owner.to_string(), owner);
        denial.types.map(|mut types| {
            types.sort();
            types.dedup();
            types
        })
    }

    #[test]
    fn negative_answers_say_what_the_name_holds_for_dnssec() {
        use RecordType::*;
        let n = names();
        let nx = ask(&n, "www.nope.sigil.", A);
        assert_eq!(denied(&nx, "www.nope.sigil."), None);
        let nx = ask(&n, "nohost.example.sigil.", A);
        assert_eq!(denied(&nx, "nohost.example.sigil."), None);
        let nodata = ask(&n, "example.sigil.", SOA);
        assert_eq!(
            denied(&nodata, "example.sigil."),
            Some(vec![A, MX, TXT, AAAA])
        );
        let ent = ask(&n, "b.example.sigil.", A);
        assert_eq!(denied(&ent, "b.example.sigil."), Some(vec![]));
        let apex = ask(&n, "sigil.", A);
        assert_eq!(denied(&apex, "sigil."), Some(vec![NS, SOA]));
        // At a cut, only the parent's side: the NS set (and a DS set, if any).
        let ds = ask(&n, "deleg.sigil.", DS);
        assert_eq!(denied(&ds, "deleg.sigil."), Some(vec![NS]));
        // After a CNAME chain, the name denied is the last target.
        let gone = ask(&n, "gone.example.sigil.", A);
        assert_eq!(denied(&gone, "old.sigil."), None);
        // Positive answers deny nothing; referrals name their cut and its DS set.
        let a = ask(&n, "www.example.sigil.", A);
        assert_eq!(a.dnssec, Some(Box::default()));
        let referral = ask(&n, "x.sub.example.sigil.", A);
        let (cut, ds) = referral.dnssec.unwrap().cut.unwrap();
        assert_eq!(cut.to_string(), "sub.example.sigil.");
        assert_eq!(show(&ds).len(), 1);
        assert_eq!(ds[0].record_type(), DS);
        let insecure = ask(&n, "www.deleg.sigil.", A);
        let (cut, ds) = insecure.dnssec.unwrap().cut.unwrap();
        assert_eq!((cut.to_string(), ds.len()), ("deleg.sigil.".to_string(), 0));
    }

    #[test]
    fn signed_answers_verify_and_deny_compactly() {
        use hickory_proto::dnssec::Verifier;
        use hickory_proto::dnssec::crypto::Ed25519SigningKey;
        use hickory_proto::dnssec::rdata::DNSSECRData;

        use crate::dnssec::{NXNAME, Signer, ZoneKey};

        let pkcs8 = Ed25519SigningKey::generate_pkcs8().unwrap();
        let key = std::sync::Arc::new(ZoneKey::from_pkcs8(pkcs8.secret_pkcs8_der()).unwrap());
        let signer = Signer::new(key.clone(), &["sigil".to_string()]);
        let now = 1_800_000_000;
        let n = names();
        // Every RRset but a referral's NS set is followed by its RRSIG, which verifies.
        let check = |signed: &Answer| {
            for section in [&signed.answers, &signed.authority] {
                for (i, record) in section.iter().enumerate() {
                    let RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) = &record.data else {
                        let next = section.get(i + 1).map(|r| r.record_type());
                        let same = section.get(i + 1).is_some_and(|r| {
                            r.record_type() == record.record_type() && r.name == record.name
                        });
                        assert!(
                            same || next == Some(RecordType::RRSIG)
                                || record.record_type() == RecordType::NS,
                            "{record} is not signed in {signed:?}"
                        );
                        continue;
                    };
                    assert_eq!(rrsig.input().signer_name.to_string(), "sigil.");
                    assert_eq!(rrsig.input().key_tag, key.key_tag());
                    assert!(rrsig.input().sig_inception.get() < now);
                    assert!(rrsig.input().sig_expiration.get() > now + 86400);
                    key.dnskey()
                        .verify_rrsig(&record.name, record.dns_class, rrsig, section.iter())
                        .unwrap_or_else(|e| panic!("{record}: {e}"));
                }
            }
        };
        let nsec = |signed: &Answer| -> (String, Vec<RecordType>) {
            signed
                .authority
                .iter()
                .find_map(|r| match &r.data {
                    RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some((
                        nsec.next_domain_name().to_string(),
                        nsec.type_bit_maps().collect(),
                    )),
                    _ => None,
                })
                .expect("an NSEC")
        };
        let a = signer
            .sign(&ask(&n, "www.example.sigil.", RecordType::A), now)
            .unwrap();
        assert_eq!(a.answers.len(), 3);
        check(&a);
        let cname = signer
            .sign(&ask(&n, "alias.example.sigil.", RecordType::A), now)
            .unwrap();
        assert_eq!(cname.answers.len(), 7);
        check(&cname);
        // NXDOMAIN becomes NOERROR with NXNAME in the NSEC's bitmap.
        let nx = signer
            .sign(&ask(&n, "nope.sigil.", RecordType::A), now)
            .unwrap();
        assert_eq!((nx.rcode, nx.authority.len()), (ResponseCode::NoError, 4));
        assert_eq!(
            nsec(&nx),
            (
                "\\000.nope.sigil.".to_string(),
                vec![RecordType::RRSIG, RecordType::NSEC, NXNAME]
            )
        );
        check(&nx);
        // NODATA at the apex lists the key too.
        let apex = signer.sign(&ask(&n, "sigil.", RecordType::A), now).unwrap();
        assert_eq!(apex.rcode, ResponseCode::NoError);
        assert_eq!(
            nsec(&apex).1,
            [
                RecordType::NS,
                RecordType::SOA,
                RecordType::RRSIG,
                RecordType::NSEC,
                RecordType::DNSKEY
            ]
        );
        check(&apex);
        // A referral: its NS set unsigned; its DS set signed, or an NSEC saying there is none.
        let secure = signer
            .sign(&ask(&n, "sub.example.sigil.", RecordType::A), now)
            .unwrap();
        assert_eq!(
            secure
                .authority
                .iter()
                .map(|r| r.record_type())
                .collect::<Vec<_>>(),
            [
                RecordType::NS,
                RecordType::NS,
                RecordType::NS,
                RecordType::DS,
                RecordType::RRSIG
            ]
        );
        check(&secure);
        let insecure = signer
            .sign(&ask(&n, "deleg.sigil.", RecordType::A), now)
            .unwrap();
        assert_eq!(
            nsec(&insecure),
            (
                "\\000.deleg.sigil.".to_string(),
                vec![RecordType::NS, RecordType::RRSIG, RecordType::NSEC]
            )
        );
        check(&insecure);
        // Forwarded and failed answers are left alone.
        let failed = Answer::empty(ResponseCode::ServFail);
        assert_eq!(signer.sign(&failed, now).unwrap(), failed);
        // The key at the apex, signed by itself.
        let keys = signer
            .sign(
                &signer.dnskey_answer(signer.apex(&Name::from_ascii("SIGIL.").unwrap()).unwrap()),
                now,
            )
            .unwrap();
        assert_eq!(keys.answers.len(), 2);
        check(&keys);
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_panic() {
        let n = names();
        let result = answer(
            &n,
            &Name::from_ascii("broken.sigil.").unwrap(),
            RecordType::A,
        );
        assert!(matches!(result, Err(Error::Record { .. })), "{result:?}");
    }
}
