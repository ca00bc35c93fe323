//! What a request says about where it comes from, for the account's history and device
//! list (ACC-6) and the new-device notice (ACC-8): a short browser-and-system name from
//! the User-Agent ("Firefox on Linux"), and an approximate place when a CDN the
//! deployment trusts adds one (CloudFront's viewer headers, `PASSERELLE_CDN=cloudfront`).
//! Without that setting, [`trusted_place_only`] drops those headers before any handler
//! reads them: a client that writes them itself writes nothing into a history. Nothing
//! else about the request is kept: no full user agent, no IP address.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, HeaderName};

use super::WebState;
use crate::account::events::EventContext;
use crate::config::Cdn;

/// The headers a CDN sets about the viewer.
const VIEWER_HEADER_PREFIX: &str = "cloudfront-viewer-";

/// Middleware, before every handler: unless the deployment names the CDN in front
/// (`PASSERELLE_CDN`), CloudFront's viewer headers are the client's own words and go.
pub async fn trusted_place_only(
    State(state): State<WebState>,
    mut req: Request,
    next: Next,
) -> Response {
    if state.cdn != Cdn::CloudFront {
        let claimed: Vec<HeaderName> = req
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with(VIEWER_HEADER_PREFIX))
            .cloned()
            .collect();
        for name in claimed {
            req.headers_mut().remove(name);
        }
    }
    next.run(req).await
}

/// Browsers, most specific first: Edge and Opera also say "Chrome", Chrome also says
/// "Safari".
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
];

/// Systems, most specific first: Android also says "Linux", iOS also says "Mac OS X".
const SYSTEMS: &[(&str, &str)] = &[
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
];

/// "Firefox on Linux", "Safari on iOS", "Chrome", or `None` when the header names
/// nothing known. Only names from the lists above come out, so nothing a client sends
/// can reach a page or an email verbatim.
pub fn describe(user_agent: &str) -> Option<String> {
    let browser = BROWSERS
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    let system = SYSTEMS
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => Some(format!("{b} on {s}")),
        (Some(b), None) => Some(b.to_owned()),
        (None, Some(s)) => Some(s.to_owned()),
        (None, None) => None,
    }
}

/// City and country from CloudFront's viewer headers, when present. The values are
/// limited to letters, spaces and a few punctuation marks, and to 60 characters.
pub fn place(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 60
                    && v.chars()
                        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '.' | '\''))
            })
    };
    match (
        get("cloudfront-viewer-city"),
        get("cloudfront-viewer-country-name").or_else(|| get("cloudfront-viewer-country")),
    ) {
        (Some(city), Some(country)) => Some(format!("{city}, {country}")),
        (None, Some(country)) => Some(country.to_owned()),
        (Some(city), None) => Some(city.to_owned()),
        (None, None) => None,
    }
}

/// The event context of a request.
pub fn event_context(headers: &HeaderMap) -> EventContext {
    EventContext {
        device: headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(describe),
        place: place(headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn common_browsers_get_short_names() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36 Edg/142.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
        ];
        for (ua, name) in cases {
            assert_eq!(describe(ua).as_deref(), Some(name), "{ua}");
        }
        assert_eq!(describe("<script>alert(1)</script>"), None);
    }

    #[test]
    fn the_place_comes_only_from_clean_viewer_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(place(&h), None);
        h.insert("cloudfront-viewer-city", HeaderValue::from_static("Lyon"));
        h.insert("cloudfront-viewer-country", HeaderValue::from_static("FR"));
        assert_eq!(place(&h).as_deref(), Some("Lyon, FR"));
        h.insert(
            "cloudfront-viewer-city",
            HeaderValue::from_static("<b>x</b>"),
        );
        assert_eq!(place(&h).as_deref(), Some("FR"));
    }
}
