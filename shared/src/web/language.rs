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

/// The page to return to, without language prefix, if it is a path on this site;
/// otherwise `/`. Refusing `//host` and backslashes keeps this from being an open
/// redirect; refusing control characters keeps the `Location` header clean.
pub(crate) fn local_path(return_to: &str) -> &str {
    let ok = return_to.starts_with('/')
        && !return_to.starts_with("//")
        && return_to.len() <= 2048
        && !return_to.contains('\\')
        && !return_to.chars().any(char::is_control);
    if !ok {
        return "/";
    }
    split_prefix(return_to).map_or(return_to, |(_, rest)| rest)
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
}
