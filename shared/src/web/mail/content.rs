//! What each email says: its subject and its blocks, from the `mail-*` Fluent messages.
//! The order of blocks is the reading order of both versions.

use fluent_bundle::FluentValue;

use super::{Block, Link, MailKind};
use crate::web::i18n::{self, Lang};

/// An email's words before layout.
pub(super) struct Content {
    /// Also the HTML heading: one line that says what happened or what to do.
    pub subject: String,
    pub blocks: Vec<Block>,
}

/// Builds the blocks of one email in one language.
struct Builder {
    lang: Lang,
    blocks: Vec<Block>,
}

impl Builder {
    fn t(&self, id: &str) -> String {
        i18n::message(self.lang, id, None)
    }

    fn t_with(&self, id: &str, args: &[(&str, &str)]) -> String {
        let args: Vec<(&str, FluentValue<'_>)> = args
            .iter()
            .map(|(name, value)| (*name, FluentValue::from(*value)))
            .collect();
        i18n::message_with(self.lang, id, &args)
    }

    fn para(mut self, id: &str) -> Self {
        self.blocks.push(Block::Para(self.t(id)));
        self
    }

    fn para_with(mut self, id: &str, args: &[(&str, &str)]) -> Self {
        self.blocks.push(Block::Para(self.t_with(id, args)));
        self
    }

    fn link(mut self, label_id: &str, url: &str) -> Self {
        let label = self.t(label_id);
        let lead = self.t_with("mail-link-lead", &[("label", &label)]);
        self.blocks.push(Block::Link(Link {
            label,
            lead,
            url: url.to_owned(),
        }));
        self
    }

    /// "When: …", "Device: …" lines; facts without a value are left out.
    fn facts(mut self, facts: &[(&str, Option<&str>)]) -> Self {
        let lines = facts
            .iter()
            .filter_map(|(label_id, value)| {
                let label = self.t(label_id);
                value.map(|v| self.t_with("mail-fact", &[("label", &label), ("value", v)]))
            })
            .collect();
        self.blocks.push(Block::Facts(lines));
        self
    }

    /// ACC-8: every security notification ends with the "this wasn't me" link, its
    /// 10-day validity and the forced password change it leads to.
    fn not_me(mut self, url: &str) -> Self {
        self.blocks
            .push(Block::Subheading(self.t("mail-not-me-heading")));
        self.para("mail-not-me-body")
            .link("mail-not-me-action", url)
    }
}

/// The subject and blocks of `kind` in `lang`. Message ids are `mail-{name}-…`, with
/// `name` from [`MailKind::name`].
pub(super) fn build(kind: &MailKind, lang: Lang) -> Content {
    let id = |suffix: &str| format!("mail-{}-{suffix}", kind.name());
    let b = Builder {
        lang,
        blocks: Vec::new(),
    };
    let subject = b.t(&id("subject"));
    let b = match kind {
        MailKind::ConfirmSignup { confirm_url } | MailKind::ConfirmNewEmail { confirm_url } => b
            .para(&id("body"))
            .link(&id("action"), confirm_url)
            .para("mail-link-valid-24-hours")
            .para(&id("ignore")),
        MailKind::AlreadyRegistered {
            sign_in_url,
            reset_url,
        } => b
            .para(&id("body"))
            .link(&id("sign-in"), sign_in_url)
            .link(&id("reset"), reset_url)
            .para(&id("ignore")),
        MailKind::PasswordReset { reset_url } => b
            .para(&id("body"))
            .link(&id("action"), reset_url)
            .para(&id("validity"))
            .para(&id("identity"))
            .para(&id("ignore")),
        MailKind::ResetNoAccount {
            sign_up_url,
            reset_url,
        } => b
            .para(&id("body"))
            .link(&id("other-address"), reset_url)
            .link(&id("sign-up"), sign_up_url)
            .para(&id("ignore")),
        MailKind::PasswordChanged { not_me_url } | MailKind::PersonalKeyUsed { not_me_url } => {
            b.para(&id("body")).para("mail-was-you").not_me(not_me_url)
        }
        MailKind::NewDeviceSignIn {
            when,
            device,
            place,
            not_me_url,
        } => b
            .para(&id("body"))
            .facts(&[
                ("mail-fact-when", Some(when)),
                ("mail-fact-device", Some(device)),
                ("mail-fact-place", place.as_deref()),
            ])
            .para("mail-was-you")
            .not_me(not_me_url),
        MailKind::EmailAdded {
            address_masked,
            not_me_url,
        }
        | MailKind::EmailRemoved {
            address_masked,
            not_me_url,
        } => b
            .para_with(&id("body"), &[("address", address_masked)])
            .para("mail-was-you")
            .not_me(not_me_url),
        MailKind::FactorAdded { factor, not_me_url }
        | MailKind::FactorRemoved { factor, not_me_url } => b
            .para_with(&id("body"), &[("factor", factor)])
            .para("mail-was-you")
            .not_me(not_me_url),
        MailKind::AccountDeleted => b
            .para(&id("body"))
            .para(&id("not-you"))
            .para(&id("new-account")),
        MailKind::AccountResetRequested { cancel_url } => b
            .para(&id("body"))
            .para(&id("wait"))
            .para("mail-account-reset-cancel-intro")
            .link("mail-account-reset-cancel", cancel_url),
        MailKind::AccountResetReady {
            delete_url,
            cancel_url,
        } => b
            .para(&id("body"))
            .link(&id("action"), delete_url)
            .para("mail-link-valid-24-hours")
            .para(&id("warning"))
            .para("mail-account-reset-cancel-intro")
            .link("mail-account-reset-cancel", cancel_url),
        MailKind::LetterReminder {
            letter_url,
            expires,
        } => b
            .para(&id("body"))
            .link(&id("action"), letter_url)
            .para_with(&id("expires"), &[("expires", expires)])
            .para(&id("not-arrived"))
            .para(&id("not-you")),
    };
    Content {
        subject,
        blocks: b.blocks,
    }
}
