//! Which address a request comes from, for the per-address rate limits.
//!
//! By default it is the TCP peer's address, and `X-Forwarded-For` is ignored: any client can
//! write that header. When the operator names the reverse proxies in front of the server
//! (`--trusted-proxy`, one or more addresses or CIDR blocks), a request whose peer is one of
//! them is attributed to the right-most address of `X-Forwarded-For` that is not a trusted
//! proxy: each proxy appends the address it received the request from, so the entries right
//! of that one were written by trusted proxies and the ones left of it by the client (and
//! are ignored, however they were spoofed). If every entry is a trusted proxy, the left-most
//! one is taken; if an entry does not parse as an address, the chain is broken there and the
//! nearest trusted hop right of it is taken.
//!
//! Limits key an IPv6 client by its /64 network (one subscriber's usual allocation, which an
//! attacker would otherwise walk through), and an IPv4-mapped IPv6 address as its IPv4.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// The header proxies append the client's address to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// An address block, `ADDRESS/PREFIX` or one address (`/32` or `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a block does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The address part is not an IPv4 or IPv6 address.
    #[error("trusted proxy {0:?} is not an ip address or ADDRESS/PREFIX block")]
    Address(String),
    /// The prefix is not a number within the address's length.
    #[error("trusted proxy prefix {0:?} is not a number from 0 to 32 (ipv4) or 128 (ipv6)")]
    Prefix(String),
}

impl Cidr {
    /// The block of `prefix` leading bits of `address`.
    #[must_use]
    pub fn new(address: IpAddr, prefix: u8) -> Option<Self> {
        let address = canonical(address);
        let max = if address.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then(|| Self { network: mask(address, prefix), prefix })
    }

    /// Whether `address` lies in the block.
    #[must_use]
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().map_err(|_| CidrError::Address(s.to_owned()))?;
        let full = if canonical(address).is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => {
                let bits = p.trim().parse::<u8>().map_err(|_| CidrError::Prefix(p.to_owned()))?;
                // An IPv4-mapped block counts its prefix in IPv6 bits.
                if address.is_ipv6() && full == 32 {
                    bits.checked_sub(96).ok_or_else(|| CidrError::Prefix(p.to_owned()))?
                } else {
                    bits
                }
            }
            None => full,
        };
        Self::new(address, prefix).ok_or_else(|| CidrError::Prefix(prefix.to_string()))
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 address; others as they are.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// `address` with all but its `prefix` leading bits cleared.
fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = if prefix == 0 { 0 } else { bits & (u32::MAX << (32 - u32::from(prefix.min(32)))) };
            IpAddr::V4(Ipv4Addr::from(kept))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = if prefix == 0 { 0 } else { bits & (u128::MAX << (128 - u32::from(prefix.min(128)))) };
            IpAddr::V6(Ipv6Addr::from(kept))
        }
    }
}

/// The key the per-address limits count `address` under: an IPv4 address itself, an IPv6
/// address's /64 network.
#[must_use]
pub fn limit_key(address: IpAddr) -> IpAddr {
    match canonical(address) {
        v4 @ IpAddr::V4(_) => v4,
        v6 @ IpAddr::V6(_) => mask(v6, 64),
    }
}

/// One `X-Forwarded-For` entry as an address: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
/// `[2001:db8::1]:443`.
fn entry_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).and_then(|e| e.parse().ok()))
        .map(canonical)
}

/// The client's address: `peer` unless `peer` is a trusted proxy, else the right-most
/// untrusted address of `X-Forwarded-For` (see the module doc).
#[must_use]
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |address: IpAddr| trusted.iter().any(|block| block.contains(address));
    if !is_trusted(peer) {
        return peer;
    }
    // Several headers are one list, in order.
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    let mut nearest = peer;
    for entry in entries.iter().rev() {
        let Some(address) = entry_address(entry) else { return nearest };
        if !is_trusted(address) {
            return address;
        }
        nearest = address;
    }
    nearest
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use axum::http::{HeaderMap, HeaderValue};

    use super::{Cidr, CidrError, client_ip, limit_key};

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).expect("a header value"));
        }
        headers
    }

    fn proxies(blocks: &[&str]) -> Vec<Cidr> {
        blocks.iter().map(|b| b.parse().expect("a block")).collect()
    }

    #[test]
    fn without_trusted_proxies_the_forwarded_header_is_ignored() {
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &headers, &[]), ip("198.51.100.1"));
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_forwards() {
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &headers, &proxies(&["10.0.0.0/8"])), ip("198.51.100.1"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_entry_is_the_client_and_spoofed_ones_are_ignored() {
        let trusted = proxies(&["10.0.0.0/8"]);
        // The client wrote "1.1.1.1, 2.2.2.2" itself; the proxy appended the real peer.
        let headers = forwarded(&["1.1.1.1, 2.2.2.2, 203.0.113.7"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &headers, &trusted), ip("203.0.113.7"));
        // Two trusted hops: the inner proxy's address is skipped too.
        let headers = forwarded(&["1.1.1.1, 203.0.113.7, 10.1.2.3"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &headers, &trusted), ip("203.0.113.7"));
        // Repeated headers are one list, in order.
        let headers = forwarded(&["1.1.1.1", "203.0.113.7:5555", "10.1.2.3"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &headers, &trusted), ip("203.0.113.7"));
    }

    #[test]
    fn a_chain_of_trusted_entries_only_gives_the_left_most_and_a_broken_entry_the_nearest_trusted_hop() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.1"]);
        let headers = forwarded(&["10.9.9.9, 192.0.2.1"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &headers, &trusted), ip("10.9.9.9"));
        let headers = forwarded(&["203.0.113.7, not-an-address, 10.1.2.3"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &headers, &trusted), ip("10.1.2.3"));
        assert_eq!(
            client_ip(ip("10.0.0.5"), &HeaderMap::new(), &trusted),
            ip("10.0.0.5"),
            "no header: the proxy"
        );
    }

    #[test]
    fn ipv6_entries_with_brackets_and_ports_are_read_and_mapped_ipv4_is_ipv4() {
        let trusted = proxies(&["::1", "127.0.0.1"]);
        let headers = forwarded(&["[2001:db8::7]:443"]);
        assert_eq!(client_ip(ip("::1"), &headers, &trusted), ip("2001:db8::7"));
        let headers = forwarded(&["2001:db8::8"]);
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &headers, &trusted), ip("2001:db8::8"));
    }

    #[test]
    fn blocks_parse_with_or_without_a_prefix_and_contain_their_addresses() {
        let block: Cidr = "10.1.0.0/16".parse().expect("a block");
        assert!(block.contains(ip("10.1.255.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(block.contains(ip("::ffff:10.1.0.9")));
        assert_eq!(block.to_string(), "10.1.0.0/16");
        let one: Cidr = "192.0.2.1".parse().expect("an address");
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        let v6: Cidr = "2001:db8::/32".parse().expect("a v6 block");
        assert!(v6.contains(ip("2001:db8:1::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.1.0.1")));
        assert_eq!("10.0.0.0/33".parse::<Cidr>(), Err(CidrError::Prefix("33".into())));
        assert!(matches!("proxy.local".parse::<Cidr>(), Err(CidrError::Address(_))));
    }

    #[test]
    fn an_ipv6_client_is_limited_by_its_64_network() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), limit_key(ip("2001:db8:1:2:bbbb::9")));
        assert_ne!(limit_key(ip("2001:db8:1:2::1")), limit_key(ip("2001:db8:1:3::1")));
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }
}
