//! The password policy (ACC-2): 12 to 128 characters, not a common or breached password,
//! free of the email's parts, and strong enough by zxcvbn's estimate (score 3 or more).
//!
//! Characters are Unicode scalar values (`char`s) and the password is taken as typed: it is
//! not NFC-normalised, so "é" typed as one code point counts 1 and as "e" + combining accent
//! counts 2. Hashing uses the same bytes, so what passes here is exactly what is stored;
//! browsers send what the keyboard produced, which is NFC on every common platform.
//!
//! Every refusal and every piece of zxcvbn feedback is a stable message id (see
//! [`FEEDBACK_IDS`]) that the web layer translates; no English text leaves this module.
//! The password itself is never stored, logged or printed: it is borrowed as `&str`, and the
//! one lowercase copy made for comparisons is wiped when dropped.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use zeroize::Zeroizing;
use zxcvbn::feedback::{Suggestion, Warning};

/// Fewest characters accepted.
pub const MIN_CHARS: usize = 12;
/// Most characters accepted (also bounds the work zxcvbn and argon2 do per attempt).
pub const MAX_CHARS: usize = 128;
/// Lowest zxcvbn score accepted: 3 means about 10^10 guesses, zxcvbn's own "safe" line.
pub const MIN_SCORE: u8 = 3;
/// Email parts shorter than this ("jo", "fr") say too little about the person to refuse.
const MIN_EMAIL_PART_CHARS: usize = 3;

/// The blocklist: lowercase, one per line, `#` lines are notes. Loaded once, on first use.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// A stable, translatable message id such as `password-suggestion-add-words`. Only this
/// module makes them, so every one is listed in [`FEEDBACK_IDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedbackId(&'static str);

impl FeedbackId {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for FeedbackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Every message id this module can produce: the refusals ([`PasswordProblem::message_id`];
/// `password-too-short` takes `$min`, `password-too-long` takes `$max`), then zxcvbn's
/// warnings and suggestions. The web layer's tests check each has a translation.
pub const FEEDBACK_IDS: &[&str] = &[
    "password-too-short",
    "password-too-long",
    "password-common",
    "password-contains-email",
    "password-too-weak",
    "password-warning-straight-rows",
    "password-warning-short-keyboard-patterns",
    "password-warning-repeats",
    "password-warning-repeated-patterns",
    "password-warning-top-10",
    "password-warning-top-100",
    "password-warning-common",
    "password-warning-similar-to-common",
    "password-warning-sequences",
    "password-warning-recent-years",
    "password-warning-single-word",
    "password-warning-dates",
    "password-warning-names-alone",
    "password-warning-common-names",
    "password-suggestion-use-few-words",
    "password-suggestion-no-need-for-symbols",
    "password-suggestion-add-words",
    "password-suggestion-capitalization",
    "password-suggestion-all-uppercase",
    "password-suggestion-reversed-words",
    "password-suggestion-substitutions",
    "password-suggestion-longer-keyboard-pattern",
    "password-suggestion-avoid-repeats",
    "password-suggestion-avoid-sequences",
    "password-suggestion-avoid-recent-years",
    "password-suggestion-avoid-personal-years",
    "password-suggestion-avoid-personal-dates",
];

/// Why a password was refused. Holds no part of the password, so it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// On the built-in list of common and breached passwords.
    Common,
    /// Contains the email's local part or one of its domain labels.
    ContainsEmail,
    /// zxcvbn scores it below [`MIN_SCORE`]; its feedback, as message ids, says why.
    TooWeak {
        score: u8,
        warning: Option<FeedbackId>,
        suggestions: Vec<FeedbackId>,
    },
}

impl PasswordProblem {
    /// The message id of the refusal itself (feedback ids come with `TooWeak`).
    pub fn message_id(&self) -> FeedbackId {
        FeedbackId(match self {
            Self::TooShort { .. } => "password-too-short",
            Self::TooLong { .. } => "password-too-long",
            Self::Common => "password-common",
            Self::ContainsEmail => "password-contains-email",
            Self::TooWeak { .. } => "password-too-weak",
        })
    }
}

impl fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_id().as_str())
    }
}

impl std::error::Error for PasswordProblem {}

/// An accepted password's strength, for the page's meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strength {
    /// zxcvbn's score, [`MIN_SCORE`] to 4.
    pub score: u8,
    /// zxcvbn's estimate of the guesses needed, as a power of ten.
    pub guesses_log10: f64,
}

/// Applies ACC-2 to `password` for the account whose (normalised or not) email is `email`.
///
/// The checks run cheapest first, and the length bound comes before zxcvbn so an attacker
/// cannot make it work on megabytes. zxcvbn itself copies the password internally (it reads
/// at most the first 100 characters); that copy is outside our control and is not wiped.
pub fn check(password: &str, email: &str) -> Result<Strength, PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordProblem::TooShort { min: MIN_CHARS });
    }
    if chars > MAX_CHARS {
        return Err(PasswordProblem::TooLong { max: MAX_CHARS });
    }

    let lowered = Zeroizing::new(password.to_lowercase());
    if COMMON_PASSWORDS.contains(lowered.as_str()) {
        return Err(PasswordProblem::Common);
    }

    let parts = email_parts(email);
    if parts.iter().any(|part| lowered.contains(part.as_str())) {
        return Err(PasswordProblem::ContainsEmail);
    }

    // The email's parts also count as "user inputs": a password built around a variant of
    // them (reversed, l33t) scores low even where the plain substring test above passes.
    let mut inputs: Vec<&str> = parts.iter().map(String::as_str).collect();
    inputs.push(email);
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    let score = u8::from(entropy.score());
    if score < MIN_SCORE {
        let (warning, suggestions) = match entropy.feedback() {
            Some(feedback) => (
                feedback.warning().map(warning_id),
                feedback
                    .suggestions()
                    .iter()
                    .copied()
                    .map(suggestion_id)
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        return Err(PasswordProblem::TooWeak {
            score,
            warning,
            suggestions,
        });
    }
    Ok(Strength {
        score,
        guesses_log10: entropy.guesses_log10(),
    })
}

/// The parts of an email a password must not contain, lowercase, each of at least
/// [`MIN_EMAIL_PART_CHARS`] characters: the local part whole, its pieces split at
/// punctuation ("jane.doe+news" gives "jane", "doe", "news") and joined ("janedoe"), and
/// the domain's labels and their hyphen-separated pieces.
///
/// The last domain label (the top-level domain: "com", "gov", "fr") is left out on purpose:
/// millions of addresses share it, so it says nothing about the person, and refusing every
/// password that contains "com" would refuse "welcome" and "community" for most people.
fn email_parts(email: &str) -> Vec<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@').unwrap_or((email.as_str(), ""));

    let mut parts = vec![local.to_owned()];
    let pieces: Vec<&str> = local
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    parts.extend(pieces.iter().map(|p| (*p).to_owned()));
    parts.push(pieces.concat());

    let labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    if let Some((_top_level, named)) = labels.split_last() {
        for label in named {
            parts.push((*label).to_owned());
            parts.extend(label.split('-').map(str::to_owned));
        }
    }

    parts.retain(|p| p.chars().count() >= MIN_EMAIL_PART_CHARS);
    parts.sort();
    parts.dedup();
    parts
}

/// zxcvbn's warnings as message ids. The match is exhaustive on purpose: a new variant in
/// a zxcvbn upgrade fails the build here instead of reaching the page untranslated.
fn warning_id(warning: Warning) -> FeedbackId {
    FeedbackId(match warning {
        Warning::StraightRowsOfKeysAreEasyToGuess => "password-warning-straight-rows",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "password-warning-short-keyboard-patterns",
        Warning::RepeatsLikeAaaAreEasyToGuess => "password-warning-repeats",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => {
            "password-warning-repeated-patterns"
        }
        Warning::ThisIsATop10Password => "password-warning-top-10",
        Warning::ThisIsATop100Password => "password-warning-top-100",
        Warning::ThisIsACommonPassword => "password-warning-common",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "password-warning-similar-to-common",
        Warning::SequencesLikeAbcAreEasyToGuess => "password-warning-sequences",
        Warning::RecentYearsAreEasyToGuess => "password-warning-recent-years",
        Warning::AWordByItselfIsEasyToGuess => "password-warning-single-word",
        Warning::DatesAreOftenEasyToGuess => "password-warning-dates",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "password-warning-names-alone",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "password-warning-common-names",
    })
}

/// zxcvbn's suggestions as message ids (exhaustive for the same reason as [`warning_id`]).
fn suggestion_id(suggestion: Suggestion) -> FeedbackId {
    FeedbackId(match suggestion {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "password-suggestion-use-few-words",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => {
            "password-suggestion-no-need-for-symbols"
        }
        Suggestion::AddAnotherWordOrTwo => "password-suggestion-add-words",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "password-suggestion-capitalization",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
            "password-suggestion-all-uppercase"
        }
        Suggestion::ReversedWordsArentMuchHarderToGuess => "password-suggestion-reversed-words",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => "password-suggestion-substitutions",
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => {
            "password-suggestion-longer-keyboard-pattern"
        }
        Suggestion::AvoidRepeatedWordsAndCharacters => "password-suggestion-avoid-repeats",
        Suggestion::AvoidSequences => "password-suggestion-avoid-sequences",
        Suggestion::AvoidRecentYears => "password-suggestion-avoid-recent-years",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => {
            "password-suggestion-avoid-personal-years"
        }
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => {
            "password-suggestion-avoid-personal-dates"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "jane.doe@example.gov";
    /// Twelve characters from four classes with no pattern: zxcvbn can only brute-force it.
    const STRONG_12: &str = "kV9#qT2!mZ7&";

    /// `n` characters with no dictionary words or patterns, cycled from a fixed alphabet.
    fn random_chars(n: usize) -> String {
        "Xq7!vB2@kR9#wL4$zN6%tH8^pJ3&yF5*"
            .chars()
            .cycle()
            .take(n)
            .collect()
    }

    fn assert_ids_listed(warning: Option<FeedbackId>, suggestions: &[FeedbackId]) {
        for id in warning.iter().chain(suggestions) {
            assert!(FEEDBACK_IDS.contains(&id.as_str()), "{id} is not listed");
        }
    }

    #[test]
    fn given_11_characters_when_checked_then_too_short() {
        assert_eq!(
            check(&STRONG_12[..11], EMAIL),
            Err(PasswordProblem::TooShort { min: 12 })
        );
    }

    #[test]
    fn given_12_strong_characters_when_checked_then_accepted() {
        let strength = check(STRONG_12, EMAIL).expect("accepted");
        assert!(strength.score >= MIN_SCORE);
    }

    #[test]
    fn given_128_characters_when_checked_then_accepted() {
        let password = random_chars(128);
        assert!(check(&password, EMAIL).is_ok());
    }

    #[test]
    fn given_129_characters_when_checked_then_too_long() {
        assert_eq!(
            check(&random_chars(129), EMAIL),
            Err(PasswordProblem::TooLong { max: 128 })
        );
    }

    #[test]
    fn given_multibyte_characters_when_checked_then_characters_not_bytes_are_counted() {
        // 11 characters but 27 bytes: still too short.
        let eleven = "日本語ñø€漢字ß√π";
        assert_eq!(eleven.chars().count(), 11);
        assert!(eleven.len() > 12);
        assert_eq!(
            check(eleven, EMAIL),
            Err(PasswordProblem::TooShort { min: 12 })
        );
        // 12 characters: long enough, and strong (no dictionary knows them).
        let twelve = "日本語ñø€漢字ß√π♞";
        assert!(check(twelve, EMAIL).is_ok());
        // 128 two-byte characters (256 bytes) are not too long; 129 are.
        let e128 = "é".repeat(128);
        assert!(!matches!(
            check(&e128, EMAIL),
            Err(PasswordProblem::TooLong { .. })
        ));
        assert_eq!(
            check(&"é".repeat(129), EMAIL),
            Err(PasswordProblem::TooLong { max: 128 })
        );
    }

    #[test]
    fn given_a_blocklisted_password_in_any_case_when_checked_then_common() {
        for password in [
            "password1234",
            "PassWord1234",
            "LeaveMeAlone",
            "QWERTY123456",
        ] {
            assert_eq!(
                check(password, EMAIL),
                Err(PasswordProblem::Common),
                "{password}"
            );
        }
    }

    #[test]
    fn given_the_blocklist_when_loaded_then_it_is_large_lowercase_and_clean() {
        assert!(
            COMMON_PASSWORDS.len() >= 1_000,
            "{}",
            COMMON_PASSWORDS.len()
        );
        for entry in COMMON_PASSWORDS.iter() {
            assert_eq!(*entry, entry.to_lowercase());
            assert_eq!(*entry, entry.trim());
        }
    }

    #[test]
    fn given_the_local_part_when_checked_then_contains_email() {
        assert_eq!(
            check("JaneDoeSecret2024!", EMAIL),
            Err(PasswordProblem::ContainsEmail)
        );
        assert_eq!(
            check("my-jane.doe-is-great", EMAIL),
            Err(PasswordProblem::ContainsEmail)
        );
    }

    #[test]
    fn given_a_domain_label_when_checked_then_contains_email() {
        assert_eq!(
            check("Orbit-EXAMPLE-tulip-97", EMAIL),
            Err(PasswordProblem::ContainsEmail)
        );
    }

    #[test]
    fn given_the_top_level_domain_when_contained_then_not_refused_for_it() {
        assert!(check("governor maple quartz ferry", EMAIL).is_ok());
    }

    #[test]
    fn given_an_email_when_split_then_parts_are_lowercase_and_long_enough() {
        assert_eq!(
            email_parts(" Jane.Doe+news@My-Agency.Example.GOV "),
            vec![
                "agency",
                "doe",
                "example",
                "jane",
                "jane.doe+news",
                "janedoenews",
                "my-agency",
                "news"
            ]
        );
        assert_eq!(email_parts("jo@x.fr"), Vec::<String>::new());
    }

    #[test]
    fn given_a_long_random_passphrase_when_checked_then_accepted_with_score_3_or_more() {
        let strength = check("glacier umbrella tractor whisper lantern 47", EMAIL)
            .expect("a long passphrase is accepted");
        assert!(strength.score >= 3, "{strength:?}");
        assert!(strength.guesses_log10 >= 10.0, "{strength:?}");
    }

    #[test]
    fn given_weak_but_uncommon_passwords_when_checked_then_too_weak_with_listed_ids() {
        for password in [
            "aaaaaaaaaaaaaa",
            "abcdefghijklmnop",
            "qwertyqwertyqwerty",
            "Superman2024",
            "iloveyou2024",
        ] {
            match check(password, EMAIL) {
                Err(PasswordProblem::TooWeak {
                    score,
                    warning,
                    suggestions,
                }) => {
                    assert!(score < MIN_SCORE);
                    assert!(!suggestions.is_empty(), "{password}");
                    assert_ids_listed(warning, &suggestions);
                }
                other => panic!("{password}: {other:?}"),
            }
        }
    }

    #[test]
    fn given_every_zxcvbn_variant_when_mapped_then_its_id_is_listed() {
        let warnings = [
            Warning::StraightRowsOfKeysAreEasyToGuess,
            Warning::ShortKeyboardPatternsAreEasyToGuess,
            Warning::RepeatsLikeAaaAreEasyToGuess,
            Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
            Warning::ThisIsATop10Password,
            Warning::ThisIsATop100Password,
            Warning::ThisIsACommonPassword,
            Warning::ThisIsSimilarToACommonlyUsedPassword,
            Warning::SequencesLikeAbcAreEasyToGuess,
            Warning::RecentYearsAreEasyToGuess,
            Warning::AWordByItselfIsEasyToGuess,
            Warning::DatesAreOftenEasyToGuess,
            Warning::NamesAndSurnamesByThemselvesAreEasyToGuess,
            Warning::CommonNamesAndSurnamesAreEasyToGuess,
        ];
        let suggestions = [
            Suggestion::UseAFewWordsAvoidCommonPhrases,
            Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters,
            Suggestion::AddAnotherWordOrTwo,
            Suggestion::CapitalizationDoesntHelpVeryMuch,
            Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase,
            Suggestion::ReversedWordsArentMuchHarderToGuess,
            Suggestion::PredictableSubstitutionsDontHelpVeryMuch,
            Suggestion::UseALongerKeyboardPatternWithMoreTurns,
            Suggestion::AvoidRepeatedWordsAndCharacters,
            Suggestion::AvoidSequences,
            Suggestion::AvoidRecentYears,
            Suggestion::AvoidYearsThatAreAssociatedWithYou,
            Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou,
        ];
        let mut mapped: Vec<FeedbackId> = warnings.into_iter().map(warning_id).collect();
        mapped.extend(suggestions.into_iter().map(suggestion_id));
        mapped.extend(
            [
                PasswordProblem::TooShort { min: 12 },
                PasswordProblem::TooLong { max: 128 },
                PasswordProblem::Common,
                PasswordProblem::ContainsEmail,
                PasswordProblem::TooWeak {
                    score: 0,
                    warning: None,
                    suggestions: Vec::new(),
                },
            ]
            .iter()
            .map(PasswordProblem::message_id),
        );
        // Every id is listed, and the list has nothing else and no duplicates.
        assert_ids_listed(None, &mapped);
        let listed: HashSet<&str> = FEEDBACK_IDS.iter().copied().collect();
        let produced: HashSet<&str> = mapped.iter().map(|id| id.as_str()).collect();
        assert_eq!(listed.len(), FEEDBACK_IDS.len(), "duplicate ids");
        assert_eq!(listed, produced);
    }
}
