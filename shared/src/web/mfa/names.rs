//! How a method is named to people: "Authentication app “Work phone”", "Security key
//! “Blue key”".

use crate::mfa::{FactorKind, FactorSummary};
use crate::web::i18n::{self, Lang};

/// The method's kind and name in `lang`, for pages and notices.
pub fn factor_label(lang: Lang, factor: &FactorSummary) -> String {
    let id = match factor.kind {
        FactorKind::Totp => "factor-kind-totp",
        FactorKind::Phone => "factor-kind-phone",
        FactorKind::BackupCodes => "factor-kind-backup-codes",
        FactorKind::WebAuthn => match factor.detail.as_deref() {
            Some("security_key") => "factor-kind-webauthn-key",
            Some("platform") => "factor-kind-webauthn-platform",
            _ => "factor-kind-webauthn",
        },
    };
    let kind = i18n::message(lang, id, None);
    if factor.name.is_empty() || factor.kind == FactorKind::BackupCodes {
        kind
    } else {
        format!("{kind} “{}”", factor.name)
    }
}
