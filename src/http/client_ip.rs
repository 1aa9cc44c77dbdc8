//! The client's address: the TCP peer, or, when the peer is a trusted proxy,
//! the address that proxy reports in `Forwarded` (RFC 7239) or `X-Forwarded-For`.
//!
//! The forwarding headers are read right to left: each proxy appends the
//! address it received the request from, so the rightmost entry that is not
//! itself a trusted proxy is the first address nobody we trust vouches for:
//! the client. Entries left of it may be forged by the client and are ignored.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The `trusted_proxies` setting.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        TrustedProxies(networks)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request that arrived from `peer`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if self.0.is_empty() || !self.contains(peer) {
            return peer;
        }
        let chain = forwarded_for(headers);
        let mut client = peer;
        for hop in chain.iter().rev() {
            match hop {
                Some(ip) => {
                    client = *ip;
                    if !self.contains(*ip) {
                        break;
                    }
                }
                // `unknown` or an obfuscated name: nothing further left can be trusted.
                None => break,
            }
        }
        client
    }
}

/// `::ffff:192.0.2.1` is `192.0.2.1`, so that IPv4 rules match on dual-stack sockets.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The hop list, leftmost first: `Forwarded` `for=` parameters when present,
/// else `X-Forwarded-For`. An entry that is not an address is `None`.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<Option<IpAddr>> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_forwarded_node(value.trim()))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse_forwarded_node(hop.trim()))
        .collect()
}

/// `192.0.2.1`, `"192.0.2.1:8080"`, `"[2001:db8::1]:443"`, `2001:db8::1`.
fn parse_forwarded_node(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse().ok().map(canonical);
    }
    let (ip, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = headers("x-forwarded-for", "203.0.113.9");
        assert_eq!(
            trusted.client_ip(ip("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
        assert_eq!(
            TrustedProxies::default().client_ip(ip("10.0.0.1"), &h),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client_and_forged_entries_are_skipped() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = headers("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.7");
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_header_wins_and_handles_ports_and_ipv6() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let mut h = headers("forwarded", "for=\"[2001:db8::1]:4711\";proto=https");
        h.insert("x-forwarded-for", HeaderValue::from_static("9.9.9.9"));
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &h), ip("2001:db8::1"));
        let h = headers("forwarded", "for=192.0.2.60;proto=http, for=10.1.1.1");
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &h), ip("192.0.2.60"));
    }

    #[test]
    fn unknown_hop_stops_the_walk_at_the_last_trusted_address() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = headers("forwarded", "for=192.0.2.60, for=unknown");
        assert_eq!(trusted.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_networks() {
        let trusted = proxies(&["127.0.0.0/8"]);
        assert!(trusted.contains(ip("::ffff:127.0.0.1")));
    }
}
