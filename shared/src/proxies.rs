//! The proxies a deployment trusts to say who the client is (`PASSERELLE_TRUSTED_PROXIES`):
//! addresses and CIDR ranges, and the right-hop rule for `X-Forwarded-For`. The web
//! layer's `client` module applies it to requests.

use std::net::IpAddr;

/// One trusted proxy: an address, or a CIDR range of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange {
    network: IpAddr,
    prefix: u8,
}

impl ProxyRange {
    /// `10.0.0.7`, `10.0.0.0/8`, `2001:db8::/32`.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            let shift = width - prefix;
            if shift >= 128 { 0 } else { bits >> shift }
        }
        match (self.network, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n).into(), self.prefix, 32)
                    == masked(u32::from(a).into(), self.prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), self.prefix, 128) == masked(u128::from(a), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`PASSERELLE_TRUSTED_PROXIES`); none
/// by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ProxyRange>);

impl TrustedProxies {
    pub fn none() -> Self {
        Self::default()
    }

    /// A comma-separated list of addresses and CIDR ranges; `None` if any is malformed.
    pub fn parse(list: &str) -> Option<Self> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(ProxyRange::parse)
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|r| r.contains(ip))
    }

    /// The client behind `peer` (the address the platform saw), given the
    /// `X-Forwarded-For` hops in order: `peer` itself unless it is trusted; then, from the
    /// right, each hop a trusted proxy appended, up to the first one not trusted
    /// (everything to its left was written by the client). A malformed hop stops the walk.
    pub fn client_behind<'a>(
        &self,
        peer: IpAddr,
        hops: impl DoubleEndedIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in hops.rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>().map(canonical) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// `::ffff:1.2.3.4` is `1.2.3.4`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_lists_parse_or_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/8,2001:db8::/32,192.0.2.1").is_some());
        assert_eq!(TrustedProxies::parse(""), Some(TrustedProxies::none()));
        assert_eq!(TrustedProxies::parse("10.0.0.0/33"), None);
        assert_eq!(TrustedProxies::parse("proxy.internal"), None);
        let r = ProxyRange::parse("2001:db8::/32").unwrap();
        assert!(r.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!r.contains("2001:db9::1".parse().unwrap()));
        assert!(
            ProxyRange::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
    }
}
