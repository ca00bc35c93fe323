//! Transactional emails — sign-up, password reset, security notifications (ACC-8),
//! account reset, letter reminders (IDV-4) — rendered in English, French or Spanish as an
//! [`Email`] with an HTML and a plain-text body, ready for the
//! [`Mailer`](crate::notify::Mailer) port.
//!
//! The wording lives in `locales/{en,fr,es}/mail.ftl`; [`content`] turns each
//! [`MailKind`] into a list of blocks (paragraphs, links, facts), and two templates lay
//! the blocks out: `templates/mail/layout.html` and `templates/mail/layout.txt`.

mod content;
mod wrap;

use askama::Template;

use crate::notify::{Email, is_email};

use super::i18n::{self, Lang};

/// One email Passerelle sends. Links are absolute `http(s)` URLs built by the caller
/// (tokens included); other values are shown as given, escaped in the HTML version.
#[derive(Clone, PartialEq, Eq)]
pub enum MailKind {
    /// ACC-1: the sign-up confirmation link, valid 24 hours.
    ConfirmSignup { confirm_url: String },
    /// ACC-1: someone tried to register an address that already has an account; the page
    /// said nothing, the owner learns it here.
    AlreadyRegistered {
        sign_in_url: String,
        reset_url: String,
    },
    /// ACC-5: the reset link, valid 30 minutes and single use.
    PasswordReset { reset_url: String },
    /// ACC-5: a reset was asked for an address no account uses. The page said the same as
    /// for an account (and took the same work); the address's holder learns it here.
    ResetNoAccount {
        sign_up_url: String,
        reset_url: String,
    },
    /// ACC-8.
    PasswordChanged { not_me_url: String },
    /// ACC-8: `when`, `device` and `place` are already formatted for the language.
    NewDeviceSignIn {
        when: String,
        device: String,
        place: Option<String>,
        not_me_url: String,
    },
    /// ACC-8: `address_masked` such as `a***@example.gov`.
    EmailAdded {
        address_masked: String,
        not_me_url: String,
    },
    /// ACC-8.
    EmailRemoved {
        address_masked: String,
        not_me_url: String,
    },
    /// Adding an address to an account: its confirmation link, valid 24 hours.
    ConfirmNewEmail { confirm_url: String },
    /// ACC-8: `factor` names the method in the language ("Security key “Blue”").
    FactorAdded { factor: String, not_me_url: String },
    /// ACC-8.
    FactorRemoved { factor: String, not_me_url: String },
    /// ACC-8 (IDV-8).
    PersonalKeyUsed { not_me_url: String },
    /// ACC-8: sent once the account is gone, so it has no "this wasn't me" link.
    AccountDeleted,
    /// ACC-7: the deletion link follows in 24 hours; this one cancels at any time.
    AccountResetRequested { cancel_url: String },
    /// ACC-7: the deletion link, valid 24 hours, and the cancel link.
    AccountResetReady {
        delete_url: String,
        cancel_url: String,
    },
    /// IDV-4: a letter's code was not entered 10 days after it was sent. `letter_url` is
    /// the page to enter it (no token: the person signs in), `expires` the code's end,
    /// already formatted. Neither the code nor the postal address appears.
    LetterReminder { letter_url: String, expires: String },
}

impl MailKind {
    /// A stable name for logs and metrics: the values (links carry tokens, addresses are
    /// personal data) never appear in them.
    pub fn name(&self) -> &'static str {
        match self {
            MailKind::ConfirmSignup { .. } => "confirm-signup",
            MailKind::AlreadyRegistered { .. } => "already-registered",
            MailKind::PasswordReset { .. } => "password-reset",
            MailKind::ResetNoAccount { .. } => "reset-no-account",
            MailKind::PasswordChanged { .. } => "password-changed",
            MailKind::NewDeviceSignIn { .. } => "new-device",
            MailKind::EmailAdded { .. } => "email-added",
            MailKind::EmailRemoved { .. } => "email-removed",
            MailKind::ConfirmNewEmail { .. } => "confirm-new-email",
            MailKind::FactorAdded { .. } => "factor-added",
            MailKind::FactorRemoved { .. } => "factor-removed",
            MailKind::PersonalKeyUsed { .. } => "personal-key-used",
            MailKind::AccountDeleted => "account-deleted",
            MailKind::AccountResetRequested { .. } => "account-reset-requested",
            MailKind::AccountResetReady { .. } => "account-reset-ready",
            MailKind::LetterReminder { .. } => "letter-reminder",
        }
    }

    /// Every link the email carries, with the field it came from.
    fn links(&self) -> Vec<(&'static str, &str)> {
        match self {
            MailKind::ConfirmSignup { confirm_url } | MailKind::ConfirmNewEmail { confirm_url } => {
                vec![("confirm_url", confirm_url)]
            }
            MailKind::AlreadyRegistered {
                sign_in_url,
                reset_url,
            } => vec![("sign_in_url", sign_in_url), ("reset_url", reset_url)],
            MailKind::PasswordReset { reset_url } => vec![("reset_url", reset_url)],
            MailKind::ResetNoAccount {
                sign_up_url,
                reset_url,
            } => vec![("sign_up_url", sign_up_url), ("reset_url", reset_url)],
            MailKind::PasswordChanged { not_me_url }
            | MailKind::NewDeviceSignIn { not_me_url, .. }
            | MailKind::EmailAdded { not_me_url, .. }
            | MailKind::EmailRemoved { not_me_url, .. }
            | MailKind::FactorAdded { not_me_url, .. }
            | MailKind::FactorRemoved { not_me_url, .. }
            | MailKind::PersonalKeyUsed { not_me_url } => vec![("not_me_url", not_me_url)],
            MailKind::AccountDeleted => Vec::new(),
            MailKind::AccountResetRequested { cancel_url } => vec![("cancel_url", cancel_url)],
            MailKind::AccountResetReady {
                delete_url,
                cancel_url,
            } => vec![("delete_url", delete_url), ("cancel_url", cancel_url)],
            MailKind::LetterReminder { letter_url, .. } => vec![("letter_url", letter_url)],
        }
    }
}

// Links hold single-use tokens and values hold personal data: only the kind is shown.
impl std::fmt::Debug for MailKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MailKind").field(&self.name()).finish()
    }
}

/// Why an email could not be rendered. No variant carries the address or a link.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the recipient is not an email address")]
    Recipient,
    /// A link that is not an absolute http(s) URL of printable ASCII: a `javascript:`
    /// href or a URL broken across lines in the text version must not go out.
    #[error("the {0} link is not an absolute http(s) URL")]
    Link(&'static str),
    #[error("a mail template failed: {0}")]
    Template(#[from] askama::Error),
}

/// Renders `kind` in `lang` for the address `to`: subject, HTML and plain text.
///
/// Refuses a `to` that is not an address and a link that is not an absolute http(s)
/// URL; the error names the field, never the value.
pub fn render(kind: &MailKind, lang: Lang, to: &str) -> Result<Email, MailError> {
    if !is_email(to) {
        return Err(MailError::Recipient);
    }
    for (field, url) in kind.links() {
        if !is_absolute_url(url) {
            return Err(MailError::Link(field));
        }
    }
    let content = content::build(kind, lang);
    let footer = vec![
        i18n::message(lang, "mail-footer-automatic", None),
        i18n::message(lang, "mail-footer-help", None),
    ];
    let view = View {
        lang: lang.code(),
        brand: i18n::message(lang, "brand-name", None),
        heading_text: wrap::heading(&content.subject),
        footer_text: footer
            .iter()
            .map(|p| wrap::wrap(p))
            .collect::<Vec<_>>()
            .join("\n\n"),
        subject: content.subject,
        blocks: content.blocks,
        footer,
    };
    let html = HtmlMail { m: &view }.render()?;
    let mut text = TextMail { m: &view }.render()?;
    // askama drops a template's last newline; a text body ends with one.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(Email {
        to: to.to_owned(),
        subject: view.subject,
        text,
        html,
    })
}

/// `http://` or `https://`, a host, and only printable ASCII (callers percent-encode).
fn is_absolute_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && url.bytes().all(|b| b.is_ascii_graphic())
}

/// A piece of an email's body, laid out by both templates.
#[derive(Debug, Clone)]
enum Block {
    Para(String),
    /// A second-level heading (the "this wasn't me" section).
    Subheading(String),
    /// Short "label: value" lines, a list in HTML.
    Facts(Vec<String>),
    Link(Link),
}

#[derive(Debug, Clone)]
struct Link {
    /// Descriptive link text ("Choose a new password").
    label: String,
    /// The text version's line above the URL ("Choose a new password:"), punctuated
    /// per language.
    lead: String,
    url: String,
}

impl Block {
    /// The block in the text version: wrapped, a link's URL alone on its line.
    fn plain(&self) -> String {
        match self {
            Block::Para(text) | Block::Subheading(text) => wrap::wrap(text),
            Block::Facts(facts) => facts
                .iter()
                .map(|f| wrap::wrap(f))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Link(link) => format!("{}\n{}", wrap::wrap(&link.lead), link.url),
        }
    }
}

/// What both templates show.
#[derive(Debug)]
struct View {
    lang: &'static str,
    brand: String,
    subject: String,
    /// The subject as the text version's heading: wrapped and underlined.
    heading_text: String,
    blocks: Vec<Block>,
    footer: Vec<String>,
    footer_text: String,
}

#[derive(Template)]
#[template(path = "mail/layout.html")]
struct HtmlMail<'a> {
    m: &'a View,
}

// A `.txt` template: askama's text escaper leaves values as they are.
#[derive(Template)]
#[template(path = "mail/layout.txt")]
struct TextMail<'a> {
    m: &'a View,
}

mod filters {
    use askama::filters::Safe;

    /// HTML escaping with the named entities (`&amp;`, `&lt;` …) rather than askama's
    /// numeric ones: the conventional form, and what older mail clients and
    /// HTML-to-text converters expect in `href`s.
    #[askama::filter_fn]
    pub fn esc(
        value: impl std::fmt::Display,
        _: &dyn askama::Values,
    ) -> askama::Result<Safe<String>> {
        let value = value.to_string();
        let mut out = String::with_capacity(value.len());
        for c in value.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                _ => out.push(c),
            }
        }
        Ok(Safe(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(is_absolute_url("https://x.example/a?b=1&c=2"));
        assert!(is_absolute_url("http://localhost:3000/x"));
        assert!(!is_absolute_url("javascript:alert(1)"));
        assert!(!is_absolute_url("https://"));
        assert!(!is_absolute_url("https:///path"));
        assert!(!is_absolute_url("/relative"));
        assert!(!is_absolute_url("https://x.example/a b"));
        assert!(!is_absolute_url("https://x.example/\n"));
    }

    #[test]
    fn debug_shows_only_the_kind() {
        let kind = MailKind::PasswordReset {
            reset_url: "https://x.example/reset?token=secret".into(),
        };
        assert_eq!(format!("{kind:?}"), "MailKind(\"password-reset\")");
    }
}
