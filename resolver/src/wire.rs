//! Just enough DNS wire format for the answer cache, without decoding whole messages: the
//! question of a plain query (one question, nothing else but an EDNS record), its cache key and
//! the registered name it falls under, the places of the SOA serials in an encoded response,
//! the NXDOMAIN response to a name that is not registered, and the fitting of a response into
//! a UDP datagram.

use sigil_core::name::TLD_NAME_SERVER_LABEL;

use crate::answer::{SOA_EXPIRE_SECS, SOA_REFRESH_SECS, SOA_RETRY_SECS};
use crate::limits::{MAX_UDP_PAYLOAD_BYTES, MIN_UDP_PAYLOAD_BYTES, NEGATIVE_TTL_SECS};

const HEADER_BYTES: usize = 12;
/// Longest name in wire form, its root label included (RFC 1035 section 2.3.4).
const MAX_NAME_BYTES: usize = 255;
const TYPE_OPT: u16 = 41;
const TYPE_SOA: u16 = 6;
const TYPE_AXFR: u16 = 252;
const TYPE_IXFR: u16 = 251;
const CLASS_IN: u16 = 1;
/// EDNS options a plain query may carry (they change nothing in our answers): COOKIE and
/// PADDING.
const HARMLESS_OPTIONS: [u16; 2] = [10, 12];

/// A query the cache can answer: opcode QUERY, one question with an uncompressed name, no
/// answer or authority records, and at most an EDNS version 0 record with harmless options.
/// Anything else takes the full path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainQuery<'a> {
    /// The first four bytes: ID and flags.
    pub header: &'a [u8],
    /// The question section as sent: name, type, class.
    pub question: &'a [u8],
    /// The UDP payload size our answer allows: 512 without EDNS, else the client's within
    /// our bounds.
    pub payload: u16,
    /// Whether the query carries an EDNS record (then so does the answer).
    pub edns: bool,
    /// Whether its EDNS record sets the DO bit (then so does the answer's, RFC 3225).
    pub dnssec_ok: bool,
}

impl PlainQuery<'_> {
    /// The cache key: the question with the name's ASCII letters in lowercase, then the
    /// payload size, whether there is an EDNS record, its DO bit and whether the answer goes
    /// over a stream (`stream`: TCP or TLS, never fitted to the payload size). The answer does
    /// not depend on anything else in the query but the header bits copied into it.
    pub fn key_into(&self, key: &mut Vec<u8>, stream: bool) {
        key.clear();
        key.extend(self.question.iter().map(u8::to_ascii_lowercase));
        // Type and class are numbers: put them back as sent.
        let n = self.question.len();
        key[n - 4..n].copy_from_slice(&self.question[n - 4..]);
        key.extend_from_slice(&self.payload.to_be_bytes());
        key.push(u8::from(self.edns) | u8::from(self.dnssec_ok) << 1 | u8::from(stream) << 2);
    }

    /// The question's type and class.
    fn type_and_class(&self) -> (u16, u16) {
        let n = self.question.len();
        let at = |i: usize| u16::from_be_bytes([self.question[i], self.question[i + 1]]);
        (at(n - 4), at(n - 2))
    }

    /// Where the question's name falls under the chain's top-level domains `tlds`, when the
    /// answer to it is NXDOMAIN unless the registered name it falls under exists: a name
    /// below a TLD (not the TLD itself), class IN, any type but a zone transfer. The
    /// registered name, in the ledger's spelling (`example.sigil`), is written into `name`. The
    /// TLD's own name server name (`ns1.<tld>`) and names below it are left to the full path.
    pub fn under_tld<'t>(&self, tlds: &'t [String], name: &mut Vec<u8>) -> Option<Under<'t>> {
        let (qtype, class) = self.type_and_class();
        if class != CLASS_IN || matches!(qtype, TYPE_AXFR | TYPE_IXFR) {
            return None;
        }
        // The last two labels: the registered name's and the TLD's.
        let (mut before, mut last) = (None, None);
        let mut at = 0;
        loop {
            let len = usize::from(self.question[at]);
            if len == 0 {
                break;
            }
            (before, last) = (last, Some(&self.question[at + 1..at + 1 + len]));
            at += 1 + len;
        }
        let (label, tld_label) = (before?, last?);
        let tld = tlds
            .iter()
            .find(|tld| tld_label.eq_ignore_ascii_case(tld.as_bytes()))?;
        // The TLD's own name server name is the node's to answer, whatever the ledger holds.
        if label.eq_ignore_ascii_case(TLD_NAME_SERVER_LABEL.as_bytes()) {
            return None;
        }
        // The ledger spells a label with any other byte in a way no stored name has.
        if !label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return Some(Under::Unregistrable { tld });
        }
        name.clear();
        name.extend(label.iter().map(u8::to_ascii_lowercase));
        name.push(b'.');
        name.extend_from_slice(tld.as_bytes());
        Some(Under::Name { tld })
    }

    /// The NXDOMAIN response to this query from the zone of `tld` at tip serial `serial`,
    /// exactly as the full path encodes it: the header (ID, RD and CD echoed, AA set, RA when
    /// names outside the chain are forwarded), the question as sent, the TLD's SOA in the
    /// authority section, and an EDNS record when the query had one.
    pub fn write_nxdomain(
        &self,
        tld: &str,
        serial: u32,
        recursion_available: bool,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        out.extend_from_slice(&self.header[..2]);
        // QR, opcode QUERY, AA, RD as asked; RA, CD as asked, RCODE 3 (NXDOMAIN).
        out.push(0x84 | (self.header[2] & 0x01));
        out.push(if recursion_available { 0x80 } else { 0 } | (self.header[3] & 0x10) | 3);
        out.extend_from_slice(&[0, 1, 0, 0, 0, 1, 0, u8::from(self.edns)]);
        out.extend_from_slice(self.question);
        // The SOA's owner, the TLD, written out; its two names point back to it.
        let owner = out.len() as u16 | 0xc000;
        out.push(tld.len() as u8);
        out.extend_from_slice(tld.as_bytes());
        out.push(0);
        out.extend_from_slice(&TYPE_SOA.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&NEGATIVE_TTL_SECS.to_be_bytes());
        let rdlen_at = out.len();
        out.extend_from_slice(&[0, 0]);
        out.push(TLD_NAME_SERVER_LABEL.len() as u8);
        out.extend_from_slice(TLD_NAME_SERVER_LABEL.as_bytes());
        out.extend_from_slice(&owner.to_be_bytes());
        out.extend_from_slice(b"\x0ahostmaster");
        out.extend_from_slice(&owner.to_be_bytes());
        out.extend_from_slice(&serial.to_be_bytes());
        for timer in [SOA_REFRESH_SECS, SOA_RETRY_SECS, SOA_EXPIRE_SECS] {
            out.extend_from_slice(&timer.to_be_bytes());
        }
        out.extend_from_slice(&NEGATIVE_TTL_SECS.to_be_bytes());
        let rdlen = (out.len() - rdlen_at - 2) as u16;
        out[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        if self.edns {
            // Root owner, OPT, our payload size, extended RCODE 0, version 0, the DO bit as
            // asked, no options.
            out.push(0);
            out.extend_from_slice(&TYPE_OPT.to_be_bytes());
            out.extend_from_slice(&self.payload.to_be_bytes());
            let do_bit = if self.dnssec_ok { 0x80 } else { 0 };
            out.extend_from_slice(&[0, 0, do_bit, 0, 0, 0]);
        }
    }
}

/// Where a question's name falls, by [`PlainQuery::under_tld`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under<'t> {
    /// Below `tld`, under the registered name written out (which may or may not exist).
    Name { tld: &'t str },
    /// Below `tld`, under a label no registered name can have.
    Unregistrable { tld: &'t str },
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Reads `packet` as a plain query, or `None` if it is anything else.
pub fn plain_query(packet: &[u8]) -> Option<PlainQuery<'_>> {
    if packet.len() < HEADER_BYTES {
        return None;
    }
    let (flags, low) = (packet[2], packet[3]);
    // QR clear (a query), opcode 0 (QUERY), response code bits clear.
    if flags & 0xf8 != 0 || low & 0x0f != 0 {
        return None;
    }
    let counts = [
        u16_at(packet, 4)?,
        u16_at(packet, 6)?,
        u16_at(packet, 8)?,
        u16_at(packet, 10)?,
    ];
    if counts[..3] != [1, 0, 0] || counts[3] > 1 {
        return None;
    }
    let mut at = HEADER_BYTES;
    loop {
        let len = usize::from(*packet.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // a compression pointer or a reserved label type
        }
        at += len;
        // With the root label still to come, a name is at most 255 bytes (found by cargo-fuzz:
        // a 256-byte name was answered with an NXDOMAIN no client could read).
        if at - HEADER_BYTES + 1 > MAX_NAME_BYTES {
            return None;
        }
    }
    let question_end = at + 4;
    if packet.len() < question_end {
        return None;
    }
    let question = &packet[HEADER_BYTES..question_end];
    let mut payload = MIN_UDP_PAYLOAD_BYTES;
    let mut end = question_end;
    let edns = counts[3] == 1;
    let mut dnssec_ok = false;
    if edns {
        // The OPT record: root name, type, payload size, extended RCODE, version, flags,
        // options.
        if packet.get(end) != Some(&0) || u16_at(packet, end + 1)? != TYPE_OPT {
            return None;
        }
        let client = u16_at(packet, end + 3)?;
        let (extended_rcode, version) = (*packet.get(end + 5)?, *packet.get(end + 6)?);
        if extended_rcode != 0 || version != 0 {
            return None;
        }
        dnssec_ok = *packet.get(end + 7)? & 0x80 != 0;
        let rdlen = usize::from(u16_at(packet, end + 9)?);
        let mut option = end + 11;
        end = option + rdlen;
        while option < end {
            let code = u16_at(packet, option)?;
            let len = usize::from(u16_at(packet, option + 2)?);
            if !HARMLESS_OPTIONS.contains(&code) {
                return None;
            }
            option += 4 + len;
        }
        if option != end {
            return None;
        }
        payload = client.clamp(MIN_UDP_PAYLOAD_BYTES, MAX_UDP_PAYLOAD_BYTES);
    }
    if packet.len() != end {
        return None;
    }
    Some(PlainQuery {
        header: &packet[..4],
        question,
        payload,
        edns,
        dnssec_ok,
    })
}

/// Skips an encoded name (labels, ending in a root label or a compression pointer) at `at`.
pub(crate) fn skip_name(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(at)?;
        match len {
            0 => return Some(at + 1),
            1..=63 => at += 1 + usize::from(len),
            0xc0..=0xff => return Some(at + 2),
            _ => return None,
        }
    }
}

/// The offsets of the serials of the SOA records in the encoded response `bytes`; `None` if
/// it cannot be read.
pub fn soa_serials(bytes: &[u8]) -> Option<Vec<u16>> {
    let questions = u16_at(bytes, 4)?;
    let records: usize = [6, 8, 10]
        .into_iter()
        .map(|at| u16_at(bytes, at).map(usize::from))
        .sum::<Option<usize>>()?;
    let mut at = HEADER_BYTES;
    for _ in 0..questions {
        at = skip_name(bytes, at)? + 4;
    }
    let mut serials = Vec::new();
    for _ in 0..records {
        at = skip_name(bytes, at)?;
        let rtype = u16_at(bytes, at)?;
        let rdlen = usize::from(u16_at(bytes, at + 8)?);
        let rdata = at + 10;
        if rtype == TYPE_SOA {
            let serial = skip_name(bytes, skip_name(bytes, rdata)?)?;
            if serial + 4 > rdata + rdlen {
                return None;
            }
            serials.push(u16::try_from(serial).ok()?);
        }
        at = rdata + rdlen;
    }
    (at == bytes.len()).then_some(serials)
}

/// Fits an encoded response larger than `limit` bytes into it, as NSD does: the longest
/// prefix of whole RRsets that fits with the OPT record (which stays whenever the response has
/// one), the section counts set to what is kept, and TC set when a record the client needs was
/// left out. `set_ends[i]` tells whether record `i` (answer, authority and additional sections
/// in order, the OPT record aside) is the last of its RRset; the first `required` records are
/// the ones whose loss sets TC (the answer and authority sections, and referral glue).
/// Compression pointers only point backwards, so the prefix stays a well-formed message.
/// Returns `None`, leaving `bytes` alone, if the response cannot be read.
pub fn fit(bytes: &mut Vec<u8>, limit: usize, set_ends: &[bool], required: usize) -> Option<()> {
    if bytes.len() <= limit {
        return Some(());
    }
    let questions = u16_at(bytes, 4)?;
    let counts = [
        usize::from(u16_at(bytes, 6)?),
        usize::from(u16_at(bytes, 8)?),
        usize::from(u16_at(bytes, 10)?),
    ];
    let mut at = HEADER_BYTES;
    for _ in 0..questions {
        at = skip_name(bytes, at)? + 4;
    }
    let question_end = at;
    // Where each record ends, and where the last one (the OPT record, if any) starts.
    let total = counts.iter().sum::<usize>();
    let mut ends = Vec::with_capacity(total);
    let mut last_start = at;
    for _ in 0..total {
        last_start = at;
        at = skip_name(bytes, at)?;
        let rdlen = usize::from(u16_at(bytes, at + 8)?);
        at += 10 + rdlen;
        ends.push(at);
    }
    if at != bytes.len() {
        return None;
    }
    let has_opt = counts[2] > 0
        && skip_name(bytes, last_start).and_then(|t| u16_at(bytes, t)) == Some(TYPE_OPT);
    let records = total - usize::from(has_opt);
    if set_ends.len() != records {
        return None;
    }
    let opt = if has_opt {
        last_start..bytes.len()
    } else {
        0..0
    };
    let room = limit.checked_sub(opt.len())?;
    // The whole RRsets that fit, in order, up to the first that does not.
    let mut kept = 0;
    for (i, &end) in ends[..records].iter().enumerate() {
        if end > room {
            break;
        }
        if set_ends[i] {
            kept = i + 1;
        }
    }
    let cut = if kept == 0 {
        question_end
    } else {
        ends[kept - 1]
    };
    if cut > room {
        return None; // not even the question fits
    }
    bytes.copy_within(opt.clone(), cut);
    bytes.truncate(cut + opt.len());
    let answers = kept.min(counts[0]);
    let authority = (kept - answers).min(counts[1]);
    let additional = kept - answers - authority + usize::from(has_opt);
    for (at, count) in [(6, answers), (8, authority), (10, additional)] {
        bytes[at..at + 2].copy_from_slice(&(count as u16).to_be_bytes());
    }
    if kept < required {
        bytes[2] |= 0x02; // TC
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Message, OpCode, Query};
    use hickory_proto::rr::rdata::SOA;
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    use super::*;

    fn query(name: &str, edns: Option<u16>) -> Vec<u8> {
        let mut message = Message::query();
        message.metadata.id = 0x1234;
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        if let Some(payload) = edns {
            let mut e = Edns::new();
            e.set_max_payload(payload);
            message.set_edns(e);
        }
        message.to_vec().unwrap()
    }

    #[test]
    fn a_name_is_plain_up_to_255_bytes_with_its_root_label() {
        let raw = |last_label: usize| {
            let mut packet = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            for len in [63, 63, 63, last_label] {
                packet.push(len as u8);
                packet.extend(std::iter::repeat_n(b'a', len));
            }
            packet.extend([0, 0, 1, 0, 1]);
            packet
        };
        // Three labels of 63 and one of 61: 254 bytes, and the root label makes 255.
        assert!(plain_query(&raw(61)).is_some());
        assert!(plain_query(&raw(62)).is_none());
    }

    #[test]
    fn plain_queries_are_read_and_keyed_without_regard_to_case() {
        let bytes = query("WwW.Example.sigil.", None);
        let q = plain_query(&bytes).unwrap();
        assert_eq!(q.payload, 512);
        assert_eq!(&q.header[..2], &[0x12, 0x34]);
        assert_eq!(q.question.len(), "WwW.Example.sigil.".len() + 1 + 4);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        q.key_into(&mut a, false);
        plain_query(&query("www.example.SIGIL.", None))
            .unwrap()
            .key_into(&mut b, false);
        assert_eq!(a, b);
        // A stream's answer (never fitted to a datagram) is kept apart.
        q.key_into(&mut b, true);
        assert_ne!(a, b);
        // The EDNS buffer is part of the key, within our bounds.
        let edns = query("www.example.sigil.", Some(4096));
        let q = plain_query(&edns).unwrap();
        assert_eq!(q.payload, 1232);
        q.key_into(&mut b, false);
        assert_ne!(a, b);
        assert_eq!(
            plain_query(&query("a.sigil.", Some(100))).unwrap().payload,
            512
        );
    }

    #[test]
    fn anything_but_a_plain_query_is_left_to_the_full_path() {
        let good = query("www.example.sigil.", Some(1232));
        assert!(plain_query(&good).is_some());
        // Short, trailing bytes, a response, another opcode.
        assert!(plain_query(&good[..good.len() - 1]).is_none());
        assert!(plain_query(&[good.as_slice(), &[0]].concat()).is_none());
        let mut response = good.clone();
        response[2] |= 0x80;
        assert!(plain_query(&response).is_none());
        let mut message = Message::from_vec(&good).unwrap();
        message.metadata.op_code = OpCode::Status;
        assert!(plain_query(&message.to_vec().unwrap()).is_none());
        // EDNS version 1 is answered BADVERS by the full path.
        let mut future = Message::from_vec(&good).unwrap();
        future.edns.as_mut().unwrap().set_version(1);
        assert!(plain_query(&future.to_vec().unwrap()).is_none());
        // Two questions.
        let mut two = Message::from_vec(&good).unwrap();
        two.add_query(Query::query(
            Name::from_ascii("a.sigil.").unwrap(),
            RecordType::A,
        ));
        assert!(plain_query(&two.to_vec().unwrap()).is_none());
        // A compression pointer in the question.
        let mut pointer = good[..12].to_vec();
        pointer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        pointer[11] = 0;
        assert!(plain_query(&pointer).is_none());
    }

    #[test]
    fn the_registered_name_a_question_falls_under_is_read_from_the_wire() {
        let tlds = vec!["sigil".to_string(), "test".to_string()];
        let under = |name: &str, rtype: RecordType| {
            let mut message = Message::query();
            message.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
            let bytes = message.to_vec().unwrap();
            let mut out = Vec::new();
            let under = plain_query(&bytes).unwrap().under_tld(&tlds, &mut out);
            (under, String::from_utf8(out).unwrap())
        };
        let name = |tld| Some(Under::Name { tld });
        assert_eq!(
            under("Example.SIGIL.", RecordType::A),
            (name("sigil"), "example.sigil".into())
        );
        assert_eq!(
            under("_443._tcp.www.Ex-1_a.test.", RecordType::TLSA),
            (name("test"), "ex-1_a.test".into())
        );
        assert_eq!(
            under("a\\.b.sigil.", RecordType::A).0,
            Some(Under::Unregistrable { tld: "sigil" })
        );
        // The TLD itself, other names, zone transfers: not for the index.
        assert_eq!(under("sigil.", RecordType::SOA).0, None);
        assert_eq!(under("example.com.", RecordType::A).0, None);
        assert_eq!(under("example.sigil.com.", RecordType::A).0, None);
        assert_eq!(under("example.sigil.", RecordType::AXFR).0, None);
        assert_eq!(under("example.sigil.", RecordType::IXFR).0, None);
        // The TLD's own name server name, and below it: the node's to answer.
        assert_eq!(under("NS1.sigil.", RecordType::A).0, None);
        assert_eq!(under("www.ns1.test.", RecordType::A).0, None);
        assert_eq!(under("ns10.sigil.", RecordType::A).0, name("sigil"));
    }

    #[test]
    fn a_response_is_fitted_to_whole_rrsets_and_keeps_its_opt() {
        use hickory_proto::rr::rdata::{A, NS};
        use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
        let name = |n: &str| Name::from_ascii(n).unwrap();
        let mut message = Message::query();
        message.add_query(Query::query(name("www.sub.example.sigil."), RecordType::A));
        for i in 0..2 {
            message.add_authority(Record::from_rdata(
                name("sub.example.sigil."),
                300,
                RData::NS(NS(name(&format!("ns{i}.sub.example.sigil.")))),
            ));
        }
        for i in 0..20 {
            message.add_additional(Record::from_rdata(
                name(&format!("ns{}.sub.example.sigil.", i % 2)),
                300,
                RData::A(A::new(192, 0, 2, i)),
            ));
        }
        message.set_edns(Edns::new());
        let full = message.to_vec().unwrap();
        // NS set, then glue: ns0's addresses alternate with ns1's, so each is its own set.
        let ends = vec![false, true]
            .into_iter()
            .chain([true; 20])
            .collect::<Vec<_>>();
        for (required, tc) in [(22, true), (2, false)] {
            let mut bytes = full.clone();
            fit(&mut bytes, 200, &ends, required).unwrap();
            assert!(bytes.len() <= 200);
            let mut decoder = BinDecoder::new(&bytes);
            let fitted = Message::read(&mut decoder).unwrap();
            assert!(decoder.is_empty(), "trailing bytes");
            assert_eq!(fitted.metadata.truncation, tc, "required {required}");
            assert_eq!(fitted.authorities.len(), 2);
            assert!(!fitted.additionals.is_empty() && fitted.additionals.len() < 20);
            assert!(fitted.edns.is_some(), "the OPT record stays");
        }
        // Too small for the NS set: nothing but the question and the OPT record.
        let mut bytes = full.clone();
        fit(&mut bytes, 80, &ends, 2).unwrap();
        let fitted = Message::from_vec(&bytes).unwrap();
        assert!(fitted.metadata.truncation && fitted.authorities.is_empty());
        assert!(fitted.additionals.is_empty() && fitted.edns.is_some());
        // A response that fits is left alone; one that cannot be read is refused.
        let mut same = full.clone();
        fit(&mut same, 4096, &ends, 2).unwrap();
        assert_eq!(same, full);
        let mut damaged = full[..full.len() - 1].to_vec();
        assert_eq!(fit(&mut damaged, 200, &ends, 2), None);
        assert_eq!(damaged.len(), full.len() - 1);
    }

    #[test]
    fn soa_serials_are_found_in_a_response() {
        let mut message = Message::query();
        message.add_query(Query::query(
            Name::from_ascii("x.sigil.").unwrap(),
            RecordType::A,
        ));
        let soa = SOA::new(
            Name::from_ascii("ns1.sigil.").unwrap(),
            Name::from_ascii("hostmaster.sigil.").unwrap(),
            0xdead_beef,
            3600,
            600,
            86400,
            60,
        );
        message.add_authority(Record::from_rdata(
            Name::from_ascii("sigil.").unwrap(),
            60,
            RData::SOA(soa),
        ));
        message.set_edns(Edns::new());
        let bytes = message.to_vec().unwrap();
        let serials = soa_serials(&bytes).unwrap();
        assert_eq!(serials.len(), 1);
        let at = usize::from(serials[0]);
        assert_eq!(&bytes[at..at + 4], &0xdead_beef_u32.to_be_bytes());
        assert_eq!(soa_serials(&bytes[..bytes.len() - 1]), None);
    }
}
