//! Extended DNS Errors (RFC 8914): the EDNS option that tells a client why a response failed.

use std::borrow::Cow;

use hickory_proto::op::Edns;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};

/// The EDNS option code of an Extended DNS Error.
pub const OPTION_CODE: u16 = 15;

/// Info code 0, "Other": a reason no other code names (the text says it).
pub const OTHER: u16 = 0;

/// Info code 6, "DNSSEC Bogus": what a peer served does not verify (the light resolver's
/// proofs: a bad signature or tree proof, an untrusted validator set, another key or header).
pub const BOGUS: u16 = 6;

/// Info code 14, "Not Ready": no verified header yet to check answers against.
pub const NOT_READY: u16 = 14;

/// Info code 18, "Prohibited": the client may not ask this server (names outside the chain
/// are forwarded only for the clients of `--forward-allow`).
pub const PROHIBITED: u16 = 18;

/// Info code 22, "No Reachable Authority": no upstream server (or peer) answered in time.
pub const NO_REACHABLE_AUTHORITY: u16 = 22;

/// Info code 23, "Network Error": talking to an upstream server failed.
pub const NETWORK_ERROR: u16 = 23;

/// An Extended DNS Error to put in a response: its info code and a short text for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ede {
    pub info_code: u16,
    pub text: Cow<'static, str>,
}

/// Adds an Extended DNS Error with `info_code` and `text` (UTF-8, not NUL-terminated) to the
/// EDNS record of a response. A response to a query without EDNS cannot carry one.
pub fn add(edns: &mut Edns, info_code: u16, text: &str) {
    let mut data = Vec::with_capacity(2 + text.len());
    data.extend_from_slice(&info_code.to_be_bytes());
    data.extend_from_slice(text.as_bytes());
    edns.options_mut()
        .insert(EdnsOption::Unknown(OPTION_CODE, data));
}

/// The Extended DNS Errors in `edns`: each info code and its text.
pub fn read(edns: &Edns) -> Vec<(u16, String)> {
    edns.options()
        .get_all(EdnsCode::Unknown(OPTION_CODE))
        .into_iter()
        .filter_map(|option| match option {
            EdnsOption::Unknown(_, data) if data.len() >= 2 => Some((
                u16::from_be_bytes([data[0], data[1]]),
                String::from_utf8_lossy(&data[2..]).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Message;

    use super::*;

    #[test]
    fn an_ede_survives_the_wire() {
        let mut edns = Edns::new();
        add(&mut edns, NO_REACHABLE_AUTHORITY, "upstream did not answer");
        let mut message = Message::query();
        message.set_edns(edns);
        let bytes = message.to_vec().unwrap();
        // The option as RFC 8914 lays it out: code 15, length, info code, text.
        let text = b"upstream did not answer";
        let mut option = vec![0, 15, 0, 2 + text.len() as u8, 0, 22];
        option.extend_from_slice(text);
        assert!(bytes.ends_with(&option), "{bytes:?}");
        let back = Message::from_vec(&bytes).unwrap();
        assert_eq!(
            read(back.edns.as_ref().unwrap()),
            [(22, "upstream did not answer".to_string())]
        );
    }
}
