//! The client's address, for limits keyed by address (RL): the platform's word for it,
//! never a header the client can write.
//!
//! - On Lambda, API Gateway's `requestContext` (`http.sourceIp`, or `identity.sourceIp`
//!   for a REST API), which `lambda::http` copies into a [`PeerAddr`] extension.
//! - Locally, the socket's address (axum's `ConnectInfo`, from
//!   `into_make_service_with_connect_info`).
//! - `X-Forwarded-For` only when that address is a proxy the deployment trusts
//!   (`PASSERELLE_TRUSTED_PROXIES`, [`TrustedProxies::client_behind`]), and then the
//!   right-most hop that is not one of them.
//!
//! Without any of these (a router called in-process), every request shares the subject
//! `"unknown"`, which only makes a limit stricter.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use http::request::Parts;
use http::{Extensions, HeaderMap};

use super::WebState;
use crate::proxies::TrustedProxies;

/// The client's address as a rate-limit subject part ([`subject_of`] with the
/// deployment's trusted proxies): an extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSubject(pub String);

impl FromRequestParts<WebState> for ClientSubject {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(subject_of(
            &state.trusted_proxies,
            &parts.extensions,
            &parts.headers,
        )))
    }
}

/// The address the platform saw the request come from (API Gateway's `sourceIp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub IpAddr);

/// The client's address for a request with these extensions and headers.
pub fn client_of(
    proxies: &TrustedProxies,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = extensions.get::<PeerAddr>().map(|p| p.0).or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })?;
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    Some(proxies.client_behind(peer, hops.into_iter()))
}

/// The subject part for limits: the address, or `"unknown"`.
pub fn subject_of(
    proxies: &TrustedProxies,
    extensions: &Extensions,
    headers: &HeaderMap,
) -> String {
    client_of(proxies, extensions, headers)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request(peer: &str, forwarded: Option<&str>) -> (Extensions, HeaderMap) {
        let mut ext = Extensions::new();
        ext.insert(PeerAddr(peer.parse().unwrap()));
        let mut h = HeaderMap::new();
        if let Some(f) = forwarded {
            h.insert("x-forwarded-for", HeaderValue::from_str(f).unwrap());
        }
        (ext, h)
    }

    #[test]
    fn a_forwarded_header_from_an_untrusted_peer_is_ignored() {
        let none = TrustedProxies::none();
        let (ext, h) = request("203.0.113.9", Some("6.6.6.6"));
        assert_eq!(subject_of(&none, &ext, &h), "203.0.113.9");
        assert_eq!(subject_of(&none, &Extensions::new(), &h), "unknown");
        let mut ext = Extensions::new();
        ext.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 50000))));
        assert_eq!(subject_of(&none, &ext, &h), "127.0.0.1");
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.0.2.1").unwrap();
        let (ext, h) = request("10.1.2.3", Some("6.6.6.6, 198.51.100.4, 192.0.2.1"));
        assert_eq!(subject_of(&proxies, &ext, &h), "198.51.100.4");
        let (ext, h) = request("10.1.2.3", Some("garbage, 198.51.100.4"));
        assert_eq!(subject_of(&proxies, &ext, &h), "198.51.100.4");
        let (ext, h) = request("10.1.2.3", Some("not-an-ip"));
        assert_eq!(subject_of(&proxies, &ext, &h), "10.1.2.3");
        let (ext, h) = request("::ffff:10.1.2.3", Some("2001:db8::1"));
        assert_eq!(subject_of(&proxies, &ext, &h), "2001:db8::1");
    }
}
