//! What every page template needs — language, messages, CSP nonce, CSRF field, asset
//! paths, the current path for the language switcher — gathered by one extractor.
//!
//! A page template is a struct with a `page: Page` field whose template extends
//! `base.html`; the handler takes `page: Page` and returns `render(&template)`.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::response::{Html, IntoResponse, Response};
use fluent_bundle::FluentValue;
use http::request::Parts;
use http::{Extensions, Uri};

use super::assets;
use super::csrf::{CSRF_FIELD, CsrfToken};
use super::error::WebError;
use super::headers::CspNonce;
use super::i18n::Lang;
use super::language::local_path;
use super::locale::Locale;
use super::session::{SessionTimeout, token_of};

#[derive(Debug, Clone)]
pub struct Page {
    pub locale: Locale,
    /// The CSP nonce, for `<script nonce="{{ page.nonce }}">`.
    pub nonce: String,
    csrf: CsrfToken,
    /// Path and query without the language prefix, as [`local_path`] accepts it (else
    /// `/`): where the language switcher and the keep-alive form return.
    here: String,
    /// Whether the browser holds a session cookie: the header then offers the account
    /// and sign-out rather than sign-in. A hint for navigation only, never for access.
    has_session: bool,
    /// Set on signed-in pages: the idle-timeout warning's timings.
    timeout: Option<SessionTimeout>,
}

/// One entry of the language switcher.
#[derive(Debug, Clone)]
pub struct LanguageChoice {
    pub code: &'static str,
    pub name: &'static str,
    pub selected: bool,
}

impl Page {
    /// From a request's URI (already stripped of its language prefix) and the extensions
    /// the site router's middleware adds; `None` outside that router.
    pub fn from_head(uri: &Uri, extensions: &Extensions) -> Option<Self> {
        Some(Self {
            locale: extensions.get::<Locale>().copied()?,
            nonce: extensions.get::<CspNonce>()?.0.clone(),
            csrf: extensions.get::<CsrfToken>()?.clone(),
            // Rendered into the language and keep-alive forms' `return_to`: only ever a
            // local path (a 404 at `/fr/fr//evil.example` must not carry `/fr//evil…`).
            here: local_path(uri.path_and_query().map_or("/", |pq| pq.as_str())).to_owned(),
            has_session: false,
            timeout: None,
        })
    }

    /// The page of a signed-in person: shows the idle-timeout warning.
    pub fn signed_in(mut self, timeout: SessionTimeout) -> Self {
        self.has_session = true;
        self.timeout = Some(timeout);
        self
    }

    pub fn has_session(&self) -> bool {
        self.has_session
    }

    pub fn session_timeout(&self) -> Option<SessionTimeout> {
        self.timeout
    }

    /// Message `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.locale.t(id)
    }

    /// Message `id` with arguments; in a template:
    /// `{{ page.t_args("outbox-count", [("count", n.into())]) }}` (askama adds the `&`).
    pub fn t_args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        self.locale.t_args(id, args)
    }

    /// The language code, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    /// A site path in the page's language: `/sign-in` → `/fr/sign-in`.
    pub fn href(&self, path: &str) -> String {
        self.locale.href(path)
    }

    /// The hidden field's name.
    pub fn csrf_field(&self) -> &'static str {
        CSRF_FIELD
    }

    /// The hidden field's value (freshly masked each call). Every form must carry it:
    /// `<input type="hidden" name="{{ page.csrf_field() }}" value="{{ page.csrf_token() }}">`.
    pub fn csrf_token(&self) -> String {
        self.csrf.form_value()
    }

    /// A new CSRF token for this browser, before rendering a page whose request changed
    /// the session's privilege (the forms it renders then carry the new token).
    pub fn rotate_csrf(&self) {
        self.csrf.rotate();
    }

    /// The content-hashed URL of an embedded static file: `app.css` → `/static/app.1a2b….css`.
    pub fn asset(&self, name: &str) -> &'static str {
        assets::path(name)
    }

    /// The current path and query, without language prefix.
    pub fn here(&self) -> &str {
        &self.here
    }

    /// The language switcher's options, the current language selected.
    pub fn languages(&self) -> Vec<LanguageChoice> {
        Lang::ALL
            .into_iter()
            .map(|l| LanguageChoice {
                code: l.code(),
                name: l.native_name(),
                selected: l == self.locale.lang,
            })
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut page = Page::from_head(&parts.uri, &parts.extensions).ok_or_else(|| {
            WebError::Internal("a page was requested outside the site router".into())
        })?;
        page.has_session = token_of(&parts.headers).is_some();
        Ok(page)
    }
}

/// Renders a page template into an HTML response.
pub fn render(template: &impl Template) -> Result<Response, WebError> {
    Ok(Html(template.render()?).into_response())
}
