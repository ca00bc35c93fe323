//! What the account pages share: per-field error messages for the error summary, the
//! event context, emailed links and mail jobs.

use askama::Template;
use axum::response::Response;
use http::HeaderMap;

use super::WebState;
use super::error::WebError;
use super::i18n::Lang;
use super::mail::{self, MailKind};
use super::page::{Page, render};
use crate::account::events::EventContext;
use crate::account::password::{MAX_CHARS, MIN_CHARS, PasswordProblem};
use crate::notify::job::{self, Outgoing};

/// One problem with one field: the summary links to `#field`, the field points to its
/// message with `aria-describedby`.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// The problems of a submitted form, in the order of its fields.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn add(&mut self, field: &'static str, message: String) {
        self.0.push(FieldError { field, message });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for `field`, for the line under it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn all(&self) -> &[FieldError] {
        &self.0
    }
}

/// A page that only says something: "check your email", "link expired" …, with at most
/// one way on.
#[derive(Debug, Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub page: Page,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub link_href: String,
    pub link_text: String,
}

impl MessagePage {
    /// Title and paragraphs from message ids; `link` is (site path, message id).
    pub fn render(
        page: Page,
        title_id: &str,
        paragraphs: Vec<String>,
        link: Option<(&str, &str)>,
    ) -> Result<Response, WebError> {
        let (link_href, link_text) = link.map_or((String::new(), String::new()), |(path, id)| {
            (page.href(path), page.t(id))
        });
        render(&MessagePage {
            title: page.t(title_id),
            paragraphs,
            link_href,
            link_text,
            page,
        })
    }
}

/// A refused password in the page's language: the refusal, then zxcvbn's warning and
/// suggestions, each its own line.
pub fn password_messages(page: &Page, problem: &PasswordProblem) -> (String, Vec<String>) {
    let id = problem.message_id();
    let main = match problem {
        PasswordProblem::TooShort { .. } => page.t_args(id.as_str(), &[("min", MIN_CHARS.into())]),
        PasswordProblem::TooLong { .. } => page.t_args(id.as_str(), &[("max", MAX_CHARS.into())]),
        _ => page.t(id.as_str()),
    };
    let feedback = match problem {
        PasswordProblem::TooWeak {
            warning,
            suggestions,
            ..
        } => warning
            .iter()
            .chain(suggestions)
            .map(|f| page.t(f.as_str()))
            .collect(),
        _ => Vec::new(),
    };
    (main, feedback)
}

/// Where an event happened, as far as the request says (see [`super::device`]).
pub fn event_context(headers: &HeaderMap) -> EventContext {
    super::device::event_context(headers)
}

/// An absolute link into the site in `lang`, with a token: `{public_url}/fr/path?t=…`.
pub fn link(state: &WebState, lang: Lang, path: &str, token: Option<&str>) -> String {
    let base = format!("{}{}{}", state.public_url, lang.prefix(), path);
    match token {
        Some(t) => format!("{base}?t={t}"),
        None => base,
    }
}

/// Renders `kind` for `to` in `lang` and queues it, sealed, for the notify worker.
pub async fn send_mail(
    state: &WebState,
    kind: &MailKind,
    lang: Lang,
    to: &str,
) -> Result<(), WebError> {
    let email = mail::render(kind, lang, to)?;
    let services = &state.services;
    job::enqueue(
        services.notify_queue.as_ref(),
        &services.envelope,
        services.random.as_ref(),
        &Outgoing::from(email),
    )
    .await?;
    tracing::info!(mail = kind.name(), "mail queued");
    Ok(())
}
