//! Which language a request is answered in: the URL prefix (`/fr/…`, `/es/…`), then the
//! `__Host-lang` cookie, then Accept-Language, then English. The middleware strips the
//! prefix before routing, so every page is routed once and exists in every language.

use axum::extract::{FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::FluentValue;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Uri, header};

use super::cookies;
use super::i18n::{self, Lang};

/// The language cookie's name without its `__Host-` prefix.
pub const LANG_COOKIE: &str = "lang";

/// The language this request is answered in; an extension every request carries, and
/// an extractor for handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locale {
    pub lang: Lang,
}

impl Locale {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    /// The BCP 47 code, for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// Message `id` in this language.
    pub fn t(&self, id: &str) -> String {
        i18n::message(self.lang, id, None)
    }

    /// Message `id` with arguments: `t_args("outbox-count", &[("count", n.into())])`.
    pub fn t_args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        i18n::message_with(self.lang, id, args)
    }

    /// A site path in this language: `/sign-in` → `/fr/sign-in`; `/` → `/fr/`.
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.lang.prefix())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Locale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Outside the site router (a handler tested alone) negotiate from the headers.
        Ok(parts
            .extensions
            .get::<Locale>()
            .copied()
            .unwrap_or_else(|| Locale::new(negotiate(None, &parts.headers))))
    }
}

/// Splits a language prefix off a path: `/fr/x` → (French, `/x`); `/fr` alone is not a
/// page (it redirects), and `/francais` is not a prefix.
pub fn split_prefix(path: &str) -> Option<(Lang, &str)> {
    Lang::ALL.into_iter().find_map(|lang| {
        let rest = path
            .strip_prefix(lang.prefix())
            .filter(|_| lang != Lang::En)?;
        rest.starts_with('/').then_some((lang, rest))
    })
}

/// The language for a request without a URL prefix: cookie, then Accept-Language.
pub fn negotiate(prefix: Option<Lang>, headers: &HeaderMap) -> Lang {
    prefix
        .or_else(|| {
            cookies::get(headers, &format!("__Host-{LANG_COOKIE}")).and_then(Lang::from_code)
        })
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(from_accept_language)
        })
        .unwrap_or(Lang::En)
}

/// The supported language with the highest q-value (the first listed wins a tie);
/// `q=0` means "not this one".
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(Lang, u16)> = None;
    for item in value.split(',') {
        let mut fields = item.split(';');
        let Some(lang) = fields.next().and_then(|tag| Lang::from_tag(tag.trim())) else {
            continue;
        };
        let mut q = 1000;
        for param in fields {
            if let Some(v) = param.trim().strip_prefix("q=") {
                // A malformed q-value counts as "not acceptable".
                q = parse_qvalue(v.trim()).unwrap_or_default();
            }
        }
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((lang, q));
        }
    }
    best.map(|(lang, _)| lang)
}

/// RFC 9110 qvalue in thousandths: `0`, `0.5`, `1`, `1.000`.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// Middleware, before routing: redirects `/fr` to `/fr/`, strips a language prefix,
/// records the [`Locale`], and labels HTML answers with `Content-Language`.
pub async fn route_by_language(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if let Some(lang) = Lang::ALL
        .into_iter()
        .find(|l| *l != Lang::En && path == l.prefix())
    {
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        return Redirect::permanent(&format!("{}/{query}", lang.prefix())).into_response();
    }
    let prefix = match split_prefix(path) {
        Some((lang, rest)) => {
            let rest = match req.uri().query() {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_owned(),
            };
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = rest.parse().ok();
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
            Some(lang)
        }
        None => None,
    };
    let locale = Locale::new(negotiate(prefix, req.headers()));
    req.extensions_mut().insert(locale);
    let mut response = next.run(req).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html && !response.headers().contains_key(header::CONTENT_LANGUAGE) {
        response.headers_mut().insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(locale.code()),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_choose_the_language() {
        assert_eq!(
            from_accept_language("de-DE, es;q=0.8, fr;q=0.5"),
            Some(Lang::Es)
        );
        assert_eq!(
            from_accept_language("fr;q=0.4, es-MX;q=0.9"),
            Some(Lang::Es)
        );
        assert_eq!(
            from_accept_language("fr-CA,fr;q=0.9,en;q=0.8"),
            Some(Lang::Fr)
        );
        assert_eq!(from_accept_language("es;q=0, fr;q=0.1"), Some(Lang::Fr));
        assert_eq!(from_accept_language("de, *;q=0.5"), None);
        assert_eq!(from_accept_language("fr;q=2"), None);
        assert_eq!(from_accept_language(""), None);
    }

    #[test]
    fn prefixes_are_whole_path_segments() {
        assert_eq!(split_prefix("/fr/"), Some((Lang::Fr, "/")));
        assert_eq!(split_prefix("/es/sign-in"), Some((Lang::Es, "/sign-in")));
        assert_eq!(split_prefix("/fr"), None);
        assert_eq!(split_prefix("/francais"), None);
        assert_eq!(split_prefix("/"), None);
    }

    #[test]
    fn the_cookie_wins_over_accept_language() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("es"));
        headers.insert(header::COOKIE, HeaderValue::from_static("__Host-lang=fr"));
        assert_eq!(negotiate(None, &headers), Lang::Fr);
        assert_eq!(negotiate(Some(Lang::En), &headers), Lang::En);
        headers.insert(header::COOKIE, HeaderValue::from_static("__Host-lang=xx"));
        assert_eq!(negotiate(None, &headers), Lang::Es);
    }
}
