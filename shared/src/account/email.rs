//! Email addresses as accounts use them (ACC-1): normalised before anything else, so that
//! one person's address always names one account, and lookalikes of an address are either
//! that address or refused.
//!
//! The rule, in order:
//!
//! 1. **Trim, NFKC, lowercase** (then NFKC again, as lowercasing can undo it): fullwidth
//!    and other compatibility forms are the plain letters they stand for, so
//!    `ｊａｎｅ＠ｅｘａｍｐｌｅ．ｇｏｖ` *is* `jane@example.gov`, and ligatures, superscripts and
//!    the like fold the same way.
//! 2. **The domain through IDNA** (UTS #46, as browsers and mail servers map it): it must be
//!    a valid domain name; its `xn--` (punycode) and Unicode spellings are the same domain,
//!    kept in the Unicode form (an ASCII domain is unchanged).
//! 3. **One script per part**: the local part, and each label of the domain, take their
//!    letters from one script (Latin, Cyrillic, Greek, Arabic …), digits and punctuation
//!    aside; Latin may also go with Han and Japanese kana, with Han and Bopomofo, or with
//!    Han and Hangul (UTS #39's "highly restrictive" level). `jаne@example.gov` with a
//!    Cyrillic `а` is refused, `иван@пример.рф` is not.
//! 4. **No whole-script lookalikes**: a local part or label written entirely in Cyrillic
//!    or Greek letters that each look like a Latin one (`аре`, `сосо`, `ορο`) is refused:
//!    it would read as a Latin word.
//!
//! A refused address gets [`EmailProblem::Lookalike`]. The rule holds wherever an address
//! is parsed (sign-up, sign-in, reset, adding an address), so a lookalike never reaches
//! the store, and the fingerprints that key accounts are taken of the normalised form.

use icu_properties::CodePointMapData;
use icu_properties::props::Script;
use unicode_normalization::UnicodeNormalization;

/// RFC 5321's limits: 254 characters in all, 64 before the `@`.
pub const MAX_LEN: usize = 254;
pub const MAX_LOCAL_LEN: usize = 64;

/// Why an address is refused; each has a message id the pages translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailProblem {
    #[error("enter an email address")]
    Missing,
    #[error("the email address is too long")]
    TooLong,
    #[error("the email address is not valid")]
    Invalid,
    /// Letters of different scripts mixed in one part, or a part that only looks Latin.
    #[error("the email address mixes lookalike letters")]
    Lookalike,
}

impl EmailProblem {
    pub fn message_id(self) -> &'static str {
        match self {
            EmailProblem::Missing => "email-missing",
            EmailProblem::TooLong => "email-too-long",
            EmailProblem::Invalid => "email-invalid",
            EmailProblem::Lookalike => "email-lookalike",
        }
    }
}

/// A normalised, plausible address. Delivery is what proves it (the confirmation link).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

// Addresses are personal data: keep them out of logs.
impl std::fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailAddress(..)")
    }
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailProblem> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailProblem::Missing);
        }
        if trimmed.chars().count() > MAX_LEN {
            return Err(EmailProblem::TooLong);
        }
        let folded: String = trimmed.nfkc().collect::<String>().to_lowercase();
        let address: String = folded.nfkc().collect();
        let (local, domain) = address.split_once('@').ok_or(EmailProblem::Invalid)?;
        let domain = canonical_domain(domain).ok_or(EmailProblem::Invalid)?;
        let domain_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL_LEN
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        if !(local_ok && domain_ok) {
            return Err(EmailProblem::Invalid);
        }
        if !std::iter::once(local)
            .chain(domain.split('.'))
            .all(is_one_script_and_not_lookalike)
        {
            return Err(EmailProblem::Lookalike);
        }
        let address = format!("{local}@{domain}");
        if address.chars().count() > MAX_LEN {
            return Err(EmailProblem::TooLong);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `j•••@example.gov`: enough for a person to recognise their address in a message
    /// sent elsewhere, not enough to learn it.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}•••@{domain}")
    }
}

/// The domain as IDNA (UTS #46) maps it, in its Unicode form; `None` if it is not a valid
/// domain name (or too long once in ASCII: 253 characters, 63 per label).
fn canonical_domain(domain: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii_strict(domain).ok()?;
    if ascii.is_empty() || ascii.len() > 253 || ascii.split('.').any(|l| l.len() > 63) {
        return None;
    }
    let (unicode, checked) = idna::domain_to_unicode(&ascii);
    checked.ok()?;
    Some(unicode)
}

/// Rules 3 and 4 of the module for one part of an address (local part or domain label).
fn is_one_script_and_not_lookalike(part: &str) -> bool {
    let scripts = CodePointMapData::<Script>::new();
    let mut seen: Vec<Script> = Vec::new();
    for c in part.chars() {
        let script = scripts.get(c);
        if script != Script::Common && script != Script::Inherited && !seen.contains(&script) {
            seen.push(script);
        }
    }
    let allowed = match seen.as_slice() {
        [] | [_] => true,
        _ => [
            &[
                Script::Latin,
                Script::Han,
                Script::Hiragana,
                Script::Katakana,
            ][..],
            &[Script::Latin, Script::Han, Script::Bopomofo][..],
            &[Script::Latin, Script::Han, Script::Hangul][..],
        ]
        .iter()
        .any(|set| seen.iter().all(|s| set.contains(s))),
    };
    let lookalike = matches!(seen.as_slice(), [Script::Cyrillic] | [Script::Greek])
        && part
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(|c| LATIN_LOOKALIKES.contains(c));
    allowed && !lookalike
}

/// Lowercase Cyrillic and Greek letters that look like Latin ones in common typefaces
/// (from Unicode's confusables list, UTS #39): a part made only of these reads as Latin.
const LATIN_LOOKALIKES: &str = "аеорсухіјѕԁһӏԛԝькοαρυνικχ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let a = EmailAddress::parse("  Jane.Doe@Example.GOV \n").unwrap();
        assert_eq!(a.as_str(), "jane.doe@example.gov");
        assert_eq!(a.masked(), "j•••@example.gov");
        assert!(!format!("{a:?}").contains("jane"));
    }

    #[test]
    fn bad_addresses_are_refused_with_a_reason() {
        assert_eq!(EmailAddress::parse("   "), Err(EmailProblem::Missing));
        for bad in [
            "jane",
            "jane@",
            "@example.gov",
            "jane@example",
            "ja ne@example.gov",
            "jane@@example.gov",
            ".jane@example.gov",
            "jane..doe@example.gov",
            "jane@-example.gov",
            "jane@example..gov",
            "<script>@x.gov",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(EmailProblem::Invalid),
                "{bad}"
            );
        }
        let long = format!("{}@example.gov", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailProblem::TooLong));
        assert_eq!(
            EmailAddress::parse(&"a".repeat(10_000)),
            Err(EmailProblem::TooLong)
        );
        let long_local = format!("{}@example.gov", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&long_local), Err(EmailProblem::Invalid));
    }

    #[test]
    fn international_addresses_are_accepted() {
        assert!(EmailAddress::parse("amélie@exemple.fr").is_ok());
        assert!(EmailAddress::parse("josé+tag@correo.es").is_ok());
        for good in [
            "иван@пример.рф",
            "δοκιμή@παράδειγμα.ελ",
            "山田太郎@example.jp",
            "tanakaたなか@example.jp",
            "user@bücher.de",
        ] {
            assert_eq!(
                EmailAddress::parse(good).map(|a| a.as_str().to_owned()),
                Ok(good.to_owned()),
                "{good}"
            );
        }
    }

    fn parsed(raw: &str) -> Result<String, EmailProblem> {
        EmailAddress::parse(raw).map(|a| a.as_str().to_owned())
    }

    #[test]
    fn fullwidth_and_compatibility_forms_are_the_plain_address() {
        for twin in [
            "ｊａｎｅ@example.gov",
            "ＪＡＮＥ＠ＥＸＡＭＰＬＥ．ＧＯＶ",
            "jane@ｅｘａｍｐｌｅ.gov",
            "ja\u{FF4E}e@example.gov",
        ] {
            assert_eq!(parsed(twin), Ok("jane@example.gov".into()), "{twin}");
        }
        assert_eq!(parsed("ﬁona@example.gov"), Ok("fiona@example.gov".into()));
        // A decomposed é is the composed one.
        assert_eq!(
            parsed("ame\u{301}lie@exemple.fr"),
            parsed("amélie@exemple.fr")
        );
    }

    #[test]
    fn a_domain_is_the_same_in_punycode_and_unicode() {
        assert_eq!(parsed("user@xn--bcher-kva.de"), Ok("user@bücher.de".into()));
        assert_eq!(parsed("user@BÜCHER.de"), Ok("user@bücher.de".into()));
        assert_eq!(parsed("user@xn--.de"), Err(EmailProblem::Invalid));
        assert_eq!(parsed("user@exa_mple.gov"), Err(EmailProblem::Invalid));
    }

    #[test]
    fn mixed_scripts_and_whole_script_lookalikes_are_refused() {
        for lookalike in [
            "j\u{430}ne@example.gov",                // Cyrillic а among Latin letters
            "jane@ex\u{430}mple.gov",                // … in the domain
            "jane@example.g\u{43E}v",                // … in the top-level domain
            "\u{3C1}aul@example.gov",                // Greek ρ
            "\u{430}\u{440}\u{435}@example.gov",     // "аре", all Cyrillic, reads as "ape"
            "jane@\u{430}\u{440}\u{440}\u{435}.gov", // a domain label "арре"
        ] {
            assert_eq!(
                parsed(lookalike),
                Err(EmailProblem::Lookalike),
                "{lookalike}"
            );
        }
        assert_eq!(
            EmailProblem::Lookalike.message_id(),
            "email-lookalike",
            "the pages say why"
        );
    }
}
