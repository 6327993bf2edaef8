//! Which clients may have names outside the chain forwarded to the upstream resolvers
//! (`--forward-allow`): an open forwarder is an amplifier for anyone who can spoof an address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use ipnet::IpNet;

/// The networks whose clients may use the upstream resolvers through us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardAllow(Vec<IpNet>);

impl ForwardAllow {
    /// Clients in `nets` (none: nobody).
    pub fn new(nets: Vec<IpNet>) -> ForwardAllow {
        ForwardAllow(nets.into_iter().map(|net| net.trunc()).collect())
    }

    /// Loopback only (127.0.0.0/8 and ::1): the default, for a system resolver on the same
    /// machine.
    pub fn loopback() -> ForwardAllow {
        ForwardAllow(vec![
            IpNet::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8).expect("a valid prefix"),
            IpNet::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 128).expect("a valid prefix"),
        ])
    }

    /// Whether questions from `client` may be forwarded (an IPv4 address mapped into IPv6,
    /// as a dual-stack socket reports it, counts as the IPv4 address).
    pub fn allows(&self, client: IpAddr) -> bool {
        let client = client.to_canonical();
        self.0.iter().any(|net| net.contains(&client))
    }

    /// The networks, for logs.
    pub fn nets(&self) -> &[IpNet] {
        &self.0
    }
}

impl Default for ForwardAllow {
    fn default() -> Self {
        ForwardAllow::loopback()
    }
}

/// Reads a `--forward-allow` value: a CIDR block (`192.0.2.0/24`, `2001:db8::/32`) or one
/// address (`192.0.2.7`, as a /32 or /128).
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok(IpNet::from(ip)),
        Err(_) => Err(format!(
            "`{text}` is neither a CIDR block (e.g. 192.0.2.0/24, 2001:db8::/32) nor an IP address"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_allowed_by_default_and_nothing_else() {
        let allow = ForwardAllow::default();
        for ok in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
            assert!(allow.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["192.0.2.1", "10.0.0.1", "2001:db8::1", "::ffff:192.0.2.1"] {
            assert!(!allow.allows(no.parse().unwrap()), "{no}");
        }
    }

    #[test]
    fn blocks_and_single_addresses_are_read() {
        let allow = ForwardAllow::new(vec![
            parse_net("127.0.0.1").unwrap(),
            parse_net("192.0.2.77/24").unwrap(),
            parse_net("2001:db8::/32").unwrap(),
        ]);
        assert!(allow.allows("127.0.0.1".parse().unwrap()));
        assert!(!allow.allows("127.0.0.2".parse().unwrap()));
        assert!(allow.allows("192.0.2.200".parse().unwrap()));
        assert!(allow.allows("2001:db8:1::5".parse().unwrap()));
        assert!(!allow.allows("2001:db9::5".parse().unwrap()));
        assert!(parse_net("example.com").is_err());
        assert!(parse_net("192.0.2.0/33").is_err());
    }
}
