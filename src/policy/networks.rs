//! Sets of IP networks with a lookup cost that does not grow with the number of networks.
//!
//! Networks are grouped by prefix length; a lookup masks the address once per length in use
//! (at most 33 for IPv4, 129 for IPv6) and asks a hash set. IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`, what a `[::]` listener reports) are looked up as IPv4.

use std::collections::HashSet as StdHashSet;
use std::net::IpAddr;

/// A set of masked addresses. Its keys come from the settings, not from requests, so a fast,
/// fixed hash is safe here (SipHash's flood resistance buys nothing).
type HashSet<T> = StdHashSet<T, rustc_hash::FxBuildHasher>;

use ipnet::IpNet;

/// An immutable set of networks.
#[derive(Debug, Default, Clone)]
pub(crate) struct NetworkSet {
    v4: Vec<(u8, HashSet<u32>)>,
    v6: Vec<(u8, HashSet<u128>)>,
}

/// Parses `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32` or `::ffff:10.0.0.1`.
pub(crate) fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    let net =
        match text.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => match text.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => return Err(
                    "not an IP address or CIDR network; write e.g. \"10.0.0.0/8\" or \"192.0.2.7\""
                        .into(),
                ),
            },
        };
    Ok(canonical_net(net))
}

/// An IPv4-mapped IPv6 network (`::ffff:0:0/96` and longer) as the IPv4 network it maps.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let Some(v4) = v6.addr().to_ipv4_mapped() {
            if v6.prefix_len() >= 96 {
                if let Ok(n) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96) {
                    return IpNet::V4(n.trunc());
                }
            }
        }
    }
    net.trunc()
}

fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

impl NetworkSet {
    /// Builds the set.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        let mut set = NetworkSet::default();
        for net in networks {
            match canonical_net(net) {
                IpNet::V4(n) => {
                    let len = n.prefix_len();
                    let bits = u32::from(n.network());
                    match set.v4.iter_mut().find(|(l, _)| *l == len) {
                        Some((_, s)) => {
                            s.insert(bits);
                        }
                        None => set.v4.push((len, HashSet::from_iter([bits]))),
                    }
                }
                IpNet::V6(n) => {
                    let len = n.prefix_len();
                    let bits = u128::from(n.network());
                    match set.v6.iter_mut().find(|(l, _)| *l == len) {
                        Some((_, s)) => {
                            s.insert(bits);
                        }
                        None => set.v6.push((len, HashSet::from_iter([bits]))),
                    }
                }
            }
        }
        set
    }

    /// Whether no network is in the set.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` lies in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4);
                self.v4
                    .iter()
                    .any(|(len, s)| s.contains(&(bits & mask32(*len))))
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                self.v6
                    .iter()
                    .any(|(len, s)| s.contains(&(bits & mask128(*len))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> NetworkSet {
        NetworkSet::new(items.iter().map(|s| parse_network(s).unwrap()))
    }

    #[test]
    fn cidr_and_single_addresses_match() {
        let s = set(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
        assert!(s.contains("10.1.2.3".parse().unwrap()));
        assert!(s.contains("192.0.2.7".parse().unwrap()));
        assert!(!s.contains("192.0.2.8".parse().unwrap()));
        assert!(s.contains("2001:db8::1".parse().unwrap()));
        assert!(!s.contains("2001:db9::1".parse().unwrap()));
    }

    #[test]
    fn ipv4_mapped_ipv6_compares_as_ipv4() {
        let s = set(&["192.0.2.0/24"]);
        assert!(s.contains("::ffff:192.0.2.9".parse().unwrap()));
        let mapped = set(&["::ffff:198.51.100.0/120"]);
        assert!(mapped.contains("198.51.100.4".parse().unwrap()));
    }

    #[test]
    fn zero_prefix_matches_everything_of_its_family() {
        let s = set(&["0.0.0.0/0"]);
        assert!(s.contains("8.8.8.8".parse().unwrap()));
        assert!(!s.contains("::1".parse().unwrap()));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("example.com").is_err());
        assert!(parse_network("").is_err());
    }
}
