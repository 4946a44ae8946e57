//! Which address a request comes from, believing forwarding headers only from trusted proxies.
//!
//! Rocket's own `ip_header` and `Request::client_ip()` believe `X-Real-IP` from anyone; this does
//! not. The peer (the TCP connection's address) is the client unless it is a trusted proxy; then
//! `X-Forwarded-For` (all such headers, joined) is read right to left, skipping trusted hops, and
//! the first untrusted entry is the client. An unparsable entry ends the walk: the last trusted hop
//! counts as the client. `X-Real-IP` is read only when there is no `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};

use super::networks::NetworkSet;

/// Parses one `X-Forwarded-For` entry: `ip`, `ip:port`, `[v6]` or `[v6]:port`.
pub(crate) fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = entry.parse::<SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .parse::<std::net::Ipv6Addr>()
        .ok()
        .map(|v6| IpAddr::V6(v6).to_canonical())
}

/// The client's address, given the peer, the values of every `X-Forwarded-For` header (in order),
/// the first `X-Real-IP` value and the trusted proxies.
pub(crate) fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    real_ip: Option<&str>,
    trusted: &NetworkSet,
) -> IpAddr {
    let peer = peer.to_canonical();
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    // Headers come first to last; the walk goes right to left.
    let headers: Vec<&str> = forwarded_for.collect();
    if headers.is_empty() {
        return real_ip.and_then(parse_forwarded_entry).unwrap_or(peer);
    }
    let mut client = peer;
    for header in headers.iter().rev() {
        for entry in header.rsplit(',') {
            match parse_forwarded_entry(entry) {
                Some(ip) if trusted.contains(ip) => client = ip,
                Some(ip) => return ip,
                None => return client,
            }
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::networks::parse_network;

    fn trusted(items: &[&str]) -> NetworkSet {
        NetworkSet::new(items.iter().map(|s| parse_network(s).unwrap()))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_claims() {
        let t = trusted(&["10.0.0.0/8"]);
        let got = client_ip(
            ip("203.0.113.9"),
            ["192.0.2.1"].into_iter(),
            Some("192.0.2.1"),
            &t,
        );
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_for_is_read_right_to_left_skipping_trusted_hops() {
        let t = trusted(&["10.0.0.0/8"]);
        let got = client_ip(
            ip("10.0.0.1"),
            ["192.0.2.66, 198.51.100.7, 10.0.0.2"].into_iter(),
            None,
            &t,
        );
        assert_eq!(
            got,
            ip("198.51.100.7"),
            "the spoofable leftmost entry is ignored"
        );
    }

    #[test]
    fn several_headers_are_joined_in_order() {
        let t = trusted(&["10.0.0.0/8"]);
        let got = client_ip(
            ip("10.0.0.1"),
            ["198.51.100.7", "10.0.0.3"].into_iter(),
            None,
            &t,
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn ports_and_brackets_are_understood() {
        assert_eq!(
            parse_forwarded_entry("192.0.2.1:4711"),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(
            parse_forwarded_entry("[2001:db8::1]"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            parse_forwarded_entry("[2001:db8::1]:80"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            parse_forwarded_entry(" 2001:db8::1 "),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            parse_forwarded_entry("::ffff:192.0.2.1"),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(parse_forwarded_entry("unknown"), None);
        assert_eq!(parse_forwarded_entry(""), None);
    }

    #[test]
    fn unparsable_entry_ends_the_walk_at_the_last_trusted_hop() {
        let t = trusted(&["10.0.0.0/8"]);
        let got = client_ip(
            ip("10.0.0.1"),
            ["192.0.2.66, garbage, 10.0.0.2"].into_iter(),
            None,
            &t,
        );
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn real_ip_only_without_forwarded_for() {
        let t = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), std::iter::empty(), Some("192.0.2.5"), &t),
            ip("192.0.2.5")
        );
        assert_eq!(
            client_ip(
                ip("10.0.0.1"),
                ["198.51.100.7"].into_iter(),
                Some("192.0.2.5"),
                &t
            ),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn all_hops_trusted_gives_the_leftmost() {
        let t = trusted(&["10.0.0.0/8"]);
        let got = client_ip(ip("10.0.0.1"), ["10.0.0.9, 10.0.0.8"].into_iter(), None, &t);
        assert_eq!(got, ip("10.0.0.9"));
    }

    #[test]
    fn hundreds_of_hops_are_fine() {
        let t = trusted(&["10.0.0.0/8"]);
        let long = vec!["10.1.1.1"; 500].join(",");
        let got = client_ip(ip("10.0.0.1"), [long.as_str()].into_iter(), None, &t);
        assert_eq!(got, ip("10.1.1.1"));
    }
}
