//! Email addresses as accounts use them (ACC-1): normalised (trimmed, lowercased) before
//! anything else, so that one person's address always names one account.

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
}

impl EmailProblem {
    pub fn message_id(self) -> &'static str {
        match self {
            EmailProblem::Missing => "email-missing",
            EmailProblem::TooLong => "email-too-long",
            EmailProblem::Invalid => "email-invalid",
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
        let address = trimmed.to_lowercase();
        let (local, domain) = address.split_once('@').ok_or(EmailProblem::Invalid)?;
        let domain_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
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
        if local_ok && domain_ok {
            Ok(Self(address))
        } else {
            Err(EmailProblem::Invalid)
        }
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
    }
}
