//! `POST /language`: the footer's language switcher. Remembers the choice in the
//! `__Host-lang` cookie and returns to the same page in the chosen language.

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use http::header;

use super::WebState;
use super::cookies::{self, Lifetime, SameSite};
use super::csrf::CsrfForm;
use super::error::WebError;
use super::i18n::Lang;
use super::locale::{LANG_COOKIE, split_prefix};

/// A year: the choice is a preference, not a secret.
const LANG_COOKIE_SECS: u64 = 365 * 24 * 3600;

#[derive(Debug, serde::Deserialize)]
struct LanguageForm {
    lang: String,
    #[serde(default)]
    return_to: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/language", post(choose))
}

async fn choose(CsrfForm(form): CsrfForm<LanguageForm>) -> Result<Response, WebError> {
    let lang = Lang::from_code(&form.lang).ok_or(WebError::BadRequest)?;
    let target = format!("{}{}", lang.prefix(), local_path(&form.return_to));
    // Lax, unlike the CSRF cookie: a link from an agency's site should open in the
    // language the person chose.
    let cookie = cookies::host_cookie(
        LANG_COOKIE,
        lang.code(),
        Lifetime::MaxAge(LANG_COOKIE_SECS),
        SameSite::Lax,
    )
    .ok_or_else(|| WebError::Internal("language cookie".into()))?;
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The longest return path followed; a longer one goes to `/`.
const MAX_RETURN_PATH: usize = 2048;

/// The page to return to, without language prefix, if it is a path on this site;
/// otherwise `/`. Every `return_to` the site follows or renders passes through here.
///
/// Every language prefix is stripped *before* the checks, however many there are, so
/// `/fr/fr//evil.example` cannot become `//evil.example` after one strip. What is left
/// must then be a plain absolute path: it starts with one `/`, its path part holds only
/// RFC 3986 path characters without percent-escapes (letters, digits, `-._~!$&'()*+,;=:@/`)
/// and never `//`, and the query (if any) only visible ASCII without `\`. That refuses
/// `//host`, `/\host`, `https:`, `%2f`, `%5c`, tabs and newlines, spaces, and every
/// non-ASCII character (unicode slashes included), whatever browsers would make of them.
/// No page of the site has a path outside that alphabet.
pub(crate) fn local_path(return_to: &str) -> &str {
    let mut path = return_to;
    while let Some((_, rest)) = split_prefix(path) {
        path = rest;
    }
    if is_plain_local_path(path) { path } else { "/" }
}

fn is_plain_local_path(path: &str) -> bool {
    let (route, query) = match path.find(['?', '#']) {
        Some(i) => path.split_at(i),
        None => (path, ""),
    };
    path.len() <= MAX_RETURN_PATH
        && route.starts_with('/')
        && !route.contains("//")
        && route.bytes().all(is_path_byte)
        && query.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// RFC 3986 `pchar` and `/`, without `%` (no escapes in the path part).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path("/sign-in?x=1"), "/sign-in?x=1");
        assert_eq!(local_path("/fr/sign-in"), "/sign-in");
        assert_eq!(local_path("//evil.example"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path("/a\r\nSet-Cookie: x"), "/");
        assert_eq!(local_path(""), "/");
    }

    #[test]
    fn every_language_prefix_is_stripped_before_the_checks() {
        assert_eq!(local_path("/fr/es/account?x=%2F"), "/account?x=%2F");
        assert_eq!(local_path("/fr/fr//evil.example"), "/");
        assert_eq!(local_path("/es/fr/zh/\\evil.example"), "/");
        assert_eq!(local_path("/fr/%2f%2fevil.example"), "/");
        assert_eq!(local_path("/\u{ff0f}\u{ff0f}evil.example"), "/");
    }
}
