//! The personal key (IDV-8): 16 Crockford characters (80 random bits) shown once, as
//! `XXXX-XXXX-XXXX-XXXX`, when an identity is sealed. A second copy of the identity is
//! sealed under it, which is what survives a password reset.

use std::fmt;

use zeroize::Zeroizing;

use crate::mfa::backup_codes::{crockford_code, crockford_normalise};
use crate::random::Random;

/// Characters in a key, hyphens aside.
pub const KEY_CHARS: usize = 16;

/// A personal key in canonical form (uppercase, no hyphens). Wiped on drop; `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonalKey(Zeroizing<String>);

impl fmt::Debug for PersonalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonalKey([redacted])")
    }
}

impl PersonalKey {
    pub fn generate(random: &dyn Random) -> Self {
        let shown = crockford_code(random, KEY_CHARS, 4);
        // A freshly drawn code is always canonical once its hyphens go.
        Self(Zeroizing::new(shown.replace('-', "")))
    }

    /// A key as typed: any case, with or without hyphens or spaces, I and L read as 1
    /// and O as 0. `None` when it cannot be a key.
    pub fn parse(typed: &str) -> Option<Self> {
        crockford_normalise(typed, KEY_CHARS).map(Self)
    }

    /// The key as shown to the person: four groups of four.
    pub fn display(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(KEY_CHARS + 3));
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// The canonical bytes the sealing key is derived from.
    pub(crate) fn secret(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa::backup_codes::CROCKFORD;
    use crate::random::SeededRandom;

    #[test]
    fn given_fresh_keys_when_shown_then_four_groups_of_four_crockford_characters() {
        let random = SeededRandom::new(3);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let key = PersonalKey::generate(&random);
            let shown = key.display();
            let groups: Vec<&str> = shown.split('-').collect();
            assert_eq!(groups.len(), 4, "{}", shown.as_str());
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(key.secret().iter().all(|b| CROCKFORD.contains(b)));
            assert_eq!(PersonalKey::parse(&shown), Some(key.clone()));
            assert!(seen.insert(key.secret().to_vec()));
        }
    }

    #[test]
    fn given_a_key_typed_loosely_when_parsed_then_it_is_the_same_key() {
        let key = PersonalKey::parse("ABCD-EFGH-JK01-MNPQ").unwrap();
        for typed in [
            "abcd efgh jk01 mnpq",
            " ABCD-EFGH-JKO1-MNPQ ",
            "abcdefghjkolmnpq",
            "ABCD-EFGH-JK0I-mnpq",
        ] {
            assert_eq!(PersonalKey::parse(typed).as_ref(), Some(&key), "{typed}");
        }
        assert_eq!(key.display().as_str(), "ABCD-EFGH-JK01-MNPQ");
        assert!(PersonalKey::parse("ABCD-EFGH-JK01-MNP").is_none());
        assert!(PersonalKey::parse("ABCD-EFGH-JK01-MNPQR").is_none());
        assert!(PersonalKey::parse("ABCD-EFGH-JK01-MNPU").is_none());
    }

    #[test]
    fn given_a_key_when_debug_printed_then_nothing_of_it_shows() {
        let key = PersonalKey::parse("ABCD-EFGH-JK01-MNPQ").unwrap();
        assert_eq!(format!("{key:?}"), "PersonalKey([redacted])");
    }
}
