//! Reading request cookies and writing `__Host-` cookies: the few lines a cookie crate
//! would add, without adding one to every function binary.

use http::{HeaderMap, HeaderValue, header};

/// The value of the first cookie called `name`, across every `Cookie` header (HTTP/2
/// clients may split them).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// How long a cookie lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Until the browser closes.
    Session,
    /// This many seconds.
    MaxAge(u64),
}

/// Which cross-site requests carry the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    Lax,
}

/// A `Set-Cookie` value for a `__Host-` cookie: Secure, Path=/ and no Domain, which the
/// prefix makes the browser enforce, so a sibling subdomain cannot plant or shadow it.
/// `name` is given without the prefix; the value must already be cookie-safe (base64url,
/// a language code).
pub fn host_cookie(
    name: &str,
    value: &str,
    lifetime: Lifetime,
    same_site: SameSite,
) -> Option<HeaderValue> {
    let same_site = match same_site {
        SameSite::Strict => "Strict",
        SameSite::Lax => "Lax",
    };
    let max_age = match lifetime {
        Lifetime::Session => String::new(),
        Lifetime::MaxAge(secs) => format!("; Max-Age={secs}"),
    };
    HeaderValue::from_str(&format!(
        "__Host-{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}{max_age}"
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-lang=fr"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(get(&headers, "__Host-lang"), Some("fr"));
        assert_eq!(get(&headers, "b"), Some("2"));
        assert_eq!(get(&headers, "lang"), None);
    }

    #[test]
    fn host_cookies_carry_the_prefix_rules() {
        let v = host_cookie("csrf", "abc", Lifetime::Session, SameSite::Strict);
        assert_eq!(
            v.as_ref().and_then(|v| v.to_str().ok()),
            Some("__Host-csrf=abc; Path=/; Secure; HttpOnly; SameSite=Strict")
        );
    }
}
