//! Signs chain answers online for clients that set the DO bit: an RRSIG for every RRset of
//! the answer section and the authority section's SOA, DS and NSEC sets; one NSEC at the name
//! denied for NXDOMAIN and NODATA (RFC 9824, compact denial of existence: next name
//! `\000.<name>`, NXNAME in the bitmap of a name that does not exist, and NOERROR for it);
//! at a referral the DS set, or the NSEC that proves there is none. Referral NS records and
//! additional-section addresses are not signed (RFC 4035 section 3.1.4: the parent is not
//! authoritative for them).

use std::sync::Arc;

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, RRSIG, SigInput};
use hickory_proto::dnssec::{Algorithm, TBS};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType, SerialNumber};

use crate::answer::{Answer, Denial};
use crate::dnssec::ZoneKey;
use crate::error::{Error, Result};
use crate::limits::{
    DNSKEY_TTL_SECS, NEGATIVE_TTL_SECS, SIGNATURE_INCEPTION_SKEW_SECS, SIGNATURE_VALIDITY_SECS,
};

/// NXNAME, the meta type that marks a name as nonexistent in a compact denial (RFC 9824).
pub const NXNAME: RecordType = RecordType::Unknown(128);

/// Signs answers from the zones of the chain's top-level domains with one zone key.
pub struct Signer {
    key: Arc<ZoneKey>,
    /// The zones' apexes (`sigil.`), lowercase.
    zones: Vec<Name>,
}

impl Signer {
    /// A signer for the top-level domains `tlds`.
    pub fn new(key: Arc<ZoneKey>, tlds: &[String]) -> Signer {
        let zones = tlds
            .iter()
            .filter_map(|tld| Name::from_ascii(format!("{tld}.")).ok())
            .map(|name| name.to_lowercase())
            .collect();
        Signer { key, zones }
    }

    /// The zone apex `qname` is, if it is one.
    pub fn apex(&self, qname: &Name) -> Option<&Name> {
        let mut qname = qname.to_lowercase();
        qname.set_fqdn(true);
        self.zones.iter().find(|zone| **zone == qname)
    }

    /// The answer to DNSKEY at the apex `zone`: the key.
    pub fn dnskey_answer(&self, zone: &Name) -> Answer {
        Answer {
            authoritative: true,
            answers: vec![Record::from_rdata(
                zone.clone(),
                DNSKEY_TTL_SECS,
                RData::DNSSEC(DNSSECRData::DNSKEY(self.key.dnskey().clone())),
            )],
            dnssec: Some(Default::default()),
            ..Answer::empty(ResponseCode::NoError)
        }
    }

    /// `reply` (a chain answer) signed at unix time `now`.
    pub fn sign(&self, reply: &Answer, now: u32) -> Result<Answer> {
        let Some(facts) = &reply.dnssec else {
            return Ok(reply.clone());
        };
        let mut out = Answer {
            answers: Vec::with_capacity(reply.answers.len() * 2),
            authority: Vec::with_capacity(reply.authority.len() * 2 + 2),
            dnssec: None,
            ..reply.clone()
        };
        for set in rrsets(&reply.answers) {
            self.push_signed(set, now, &mut out.answers)?;
        }
        // The authority section: a referral's NS set as it is, then its DS set or the NSEC
        // saying there is none; the SOA of a negative answer, then its NSEC.
        for set in rrsets(&reply.authority) {
            if set[0].record_type() == RecordType::NS {
                out.authority.extend_from_slice(set);
            } else {
                self.push_signed(set, now, &mut out.authority)?;
            }
        }
        if let Some((cut, ds)) = &facts.cut {
            if ds.is_empty() {
                let nsec = nsec(cut, &[RecordType::NS], NEGATIVE_TTL_SECS)?;
                self.push_signed(&[nsec], now, &mut out.authority)?;
            } else {
                self.push_signed(ds, now, &mut out.authority)?;
            }
        }
        if let Some(denial) = &facts.denial {
            let nsec = self.denial_nsec(denial)?;
            self.push_signed(&[nsec], now, &mut out.authority)?;
            if reply.rcode == ResponseCode::NXDomain {
                // RFC 9824 section 3.1: the compact answer for a name that does not exist.
                out.rcode = ResponseCode::NoError;
            }
        }
        Ok(out)
    }

    /// The compact denial NSEC of `denial`: the types the name holds (NXNAME if none
    /// exists), with RRSIG and NSEC, and DNSKEY at an apex.
    fn denial_nsec(&self, denial: &Denial) -> Result<Record> {
        let mut types = match &denial.types {
            Some(types) => types.clone(),
            None => vec![NXNAME],
        };
        if self.apex(&denial.owner).is_some() {
            types.push(RecordType::DNSKEY);
        }
        nsec(&denial.owner, &types, NEGATIVE_TTL_SECS)
    }

    /// Pushes `set` (one RRset, all TTLs set to its lowest) and its RRSIG onto `out`.
    fn push_signed(&self, set: &[Record], now: u32, out: &mut Vec<Record>) -> Result<()> {
        let ttl = set.iter().map(|r| r.ttl).min().unwrap_or(0);
        let start = out.len();
        out.extend(set.iter().cloned().map(|mut r| {
            r.ttl = ttl;
            r
        }));
        let rrsig = self.rrsig(&out[start..], ttl, now)?;
        out.push(rrsig);
        Ok(())
    }

    /// The RRSIG of `set` (records of one owner and type), valid from a little before `now`
    /// for `SIGNATURE_VALIDITY_SECS`.
    fn rrsig(&self, set: &[Record], ttl: u32, now: u32) -> Result<Record> {
        let first = &set[0];
        let zone = self
            .zones
            .iter()
            .find(|zone| zone.zone_of(&first.name))
            .ok_or_else(|| Error::Sign(format!("{} is in no zone of the chain", first.name)))?;
        let input = SigInput {
            type_covered: first.record_type(),
            algorithm: Algorithm::ED25519,
            num_labels: first.name.num_labels(),
            original_ttl: ttl,
            sig_expiration: SerialNumber::new(now.wrapping_add(SIGNATURE_VALIDITY_SECS)),
            sig_inception: SerialNumber::new(now.wrapping_sub(SIGNATURE_INCEPTION_SKEW_SECS)),
            key_tag: self.key.key_tag(),
            signer_name: zone.clone(),
        };
        let tbs = TBS::from_input(&first.name, first.dns_class, &input, set.iter())
            .map_err(|e| Error::Sign(e.to_string()))?;
        let signature = self.key.sign(&tbs)?;
        Ok(Record::from_rdata(
            first.name.clone(),
            ttl,
            RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, signature))),
        ))
    }
}

/// The NSEC at `owner` whose next name is `\000.<owner>` (the name right after it: the
/// record covers `owner` alone), listing `types` with RRSIG and NSEC.
fn nsec(owner: &Name, types: &[RecordType], ttl: u32) -> Result<Record> {
    let next = owner
        .prepend_label(&[0u8][..])
        .map_err(|e| Error::Sign(format!("no next name after {owner}: {e}")))?;
    let nsec = NSEC::new_cover_self(next, types.iter().copied());
    Ok(Record::from_rdata(
        owner.clone(),
        ttl,
        RData::DNSSEC(DNSSECRData::NSEC(nsec)),
    ))
}

/// The RRsets of a section, in order: runs of records of one owner, type and class.
fn rrsets(records: &[Record]) -> impl Iterator<Item = &[Record]> {
    records.chunk_by(|a, b| {
        a.record_type() == b.record_type() && a.dns_class == b.dns_class && a.name == b.name
    })
}
