//! The languages Passerelle speaks and their Fluent messages: the `.ftl` files are
//! compiled into the binary and parsed once per process.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::{LanguageIdentifier, langid};

/// A language with complete translations. English is the fallback and has no URL prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    En,
    Fr,
    Es,
}

impl Lang {
    /// Every language, in the order the language switcher lists them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Es];

    /// The BCP 47 tag: `<html lang>`, `Content-Language`, the cookie value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// The URL prefix pages in this language live under: `""`, `"/fr"`, `"/es"`.
    pub fn prefix(self) -> &'static str {
        match self {
            Lang::En => "",
            Lang::Fr => "/fr",
            Lang::Es => "/es",
        }
    }

    /// The language's name in itself, as a switcher must show it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Es => "Español",
        }
    }

    /// A supported language from an exact code (`fr`), as cookies and forms carry it.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// A supported language from any BCP 47 tag by its primary subtag: `fr-CA` → French.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim();
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    fn index(self) -> usize {
        self as usize
    }

    fn langid(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::Fr => langid!("fr"),
            Lang::Es => langid!("es"),
        }
    }

    /// Every `.ftl` file of the language, by name, in load order, compiled into the
    /// binary. One file per area of the site so areas can be edited apart; they share
    /// one bundle (so `-brand` from `main.ftl` is usable everywhere, and an id defined in
    /// two files is a load error).
    pub fn files(self) -> [(&'static str, &'static str); FILES] {
        macro_rules! files {
            ($code:literal) => {
                [
                    (
                        "main.ftl",
                        include_str!(concat!("../../locales/", $code, "/main.ftl")),
                    ),
                    (
                        "mail.ftl",
                        include_str!(concat!("../../locales/", $code, "/mail.ftl")),
                    ),
                    (
                        "session.ftl",
                        include_str!(concat!("../../locales/", $code, "/session.ftl")),
                    ),
                    (
                        "account.ftl",
                        include_str!(concat!("../../locales/", $code, "/account.ftl")),
                    ),
                    (
                        "mfa.ftl",
                        include_str!(concat!("../../locales/", $code, "/mfa.ftl")),
                    ),
                    (
                        "oidc.ftl",
                        include_str!(concat!("../../locales/", $code, "/oidc.ftl")),
                    ),
                    (
                        "verify.ftl",
                        include_str!(concat!("../../locales/", $code, "/verify.ftl")),
                    ),
                ]
            };
        }
        match self {
            Lang::En => files!("en"),
            Lang::Fr => files!("fr"),
            Lang::Es => files!("es"),
        }
    }

    /// Every `.ftl` source of the language, in load order.
    pub fn sources(self) -> impl Iterator<Item = &'static str> {
        self.files().into_iter().map(|(_, source)| source)
    }
}

/// How many `.ftl` files each language has.
const FILES: usize = 7;

type Bundle = FluentBundle<FluentResource>;

/// One bundle per language, indexed by `Lang as usize`, built at first use.
static BUNDLES: LazyLock<[Bundle; 3]> = LazyLock::new(|| {
    Lang::ALL.map(|lang| {
        let (bundle, problems) = build_bundle(lang);
        // Keep what loaded: one broken message must not take every page down. The
        // `locale_files_load_cleanly` test keeps this branch unreachable in practice.
        if !problems.is_empty() {
            tracing::error!(
                lang = lang.code(),
                problems = problems.len(),
                "locale file has errors"
            );
        }
        bundle
    })
});

/// The language's bundle and what went wrong loading it: syntax errors, and ids defined
/// twice (terms and messages share one namespace in fluent-bundle: `-brand` and
/// `brand` collide).
fn build_bundle(lang: Lang) -> (Bundle, Vec<String>) {
    let mut problems = Vec::new();
    let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
    // Unicode isolation marks around placeables only matter when mixing writing
    // directions; every language here is left-to-right, and the marks end up in
    // copied text, form values and test assertions.
    bundle.set_use_isolating(false);
    for source in lang.sources() {
        let resource = match FluentResource::try_new(source.to_owned()) {
            Ok(r) => r,
            Err((r, errors)) => {
                problems.extend(errors.iter().map(|e| format!("{e:?}")));
                r
            }
        };
        // An id defined in two files is reported here, like one defined twice in a file.
        if let Err(errors) = bundle.add_resource(resource) {
            problems.extend(errors.iter().map(|e| format!("{e:?}")));
        }
    }
    (bundle, problems)
}

/// Formats message `id` in `lang`, falling back to English, then to the id itself so a
/// missing translation shows up on the page rather than failing the request.
pub fn message(lang: Lang, id: &str, args: Option<&FluentArgs<'_>>) -> String {
    for candidate in [lang, Lang::En] {
        let bundle = &BUNDLES[candidate.index()];
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            continue;
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(lang = candidate.code(), id, "message formatted with errors");
        }
        return text.into_owned();
    }
    tracing::warn!(lang = lang.code(), id, "missing message");
    id.to_owned()
}

/// Formats message `id` with named arguments: `&[("count", 3.into())]`.
pub fn message_with(lang: Lang, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fluent_args = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    message(lang, id, Some(&fluent_args))
}

/// The ids a language's locale files define: messages, `-terms`, and
/// `message.attribute`s. Read from the source text (every entry starts at column 0,
/// attributes are indented and start with `.`), which is what the parity test compares
/// across languages.
pub fn message_ids(lang: Lang) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    for source in lang.sources() {
        ids.extend(source_ids(source));
    }
    ids
}

/// The ids one `.ftl` source defines (see [`message_ids`]).
pub fn source_ids(source: &str) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        let starts_entry = line
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '-');
        if starts_entry {
            current = line.split_once('=').map(|(id, _)| id.trim().to_owned());
            if let Some(id) = &current {
                ids.insert(id.clone());
            }
        } else if let (Some(id), Some(attr)) = (&current, line.trim_start().strip_prefix('.')) {
            if let Some((name, _)) = attr.split_once('=') {
                ids.insert(format!("{id}.{}", name.trim()));
            }
        } else if line.starts_with('#') {
            current = None;
        }
    }
    ids
}

/// What went wrong loading a locale file: syntax errors and duplicate ids (empty when
/// it is well formed).
pub fn load_errors(lang: Lang) -> Vec<String> {
    build_bundle(lang).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_files_load_cleanly() {
        for lang in Lang::ALL {
            assert_eq!(load_errors(lang), Vec::<String>::new(), "{}", lang.code());
        }
    }

    #[test]
    fn every_language_defines_the_same_ids() {
        let english = message_ids(Lang::En);
        assert!(
            english.len() > 20,
            "the scanner found too few ids: {english:?}"
        );
        for lang in [Lang::Fr, Lang::Es] {
            let other = message_ids(lang);
            let missing: Vec<_> = english.difference(&other).collect();
            let extra: Vec<_> = other.difference(&english).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, not in English {extra:?}",
                lang.code()
            );
        }
        // File by file too: each file matches its English counterpart, so a message
        // cannot drift from one file to another in a single language.
        for (i, (file, source)) in Lang::En.files().into_iter().enumerate() {
            let english = source_ids(source);
            assert!(!english.is_empty(), "{file}: no ids");
            for lang in [Lang::Fr, Lang::Es] {
                assert_eq!(
                    source_ids(lang.files()[i].1),
                    english,
                    "{}/{file}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn the_scanner_agrees_with_the_parser() {
        for lang in Lang::ALL {
            let bundle = &BUNDLES[lang.index()];
            for id in message_ids(lang) {
                if id.starts_with('-') || id.contains('.') {
                    continue;
                }
                assert!(bundle.has_message(&id), "{}: {id}", lang.code());
            }
        }
    }

    #[test]
    fn tags_match_by_primary_subtag() {
        assert_eq!(Lang::from_tag("fr-CA"), Some(Lang::Fr));
        assert_eq!(Lang::from_tag("ES"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("de"), None);
        assert_eq!(Lang::from_code("fr-CA"), None);
    }

    #[test]
    fn a_missing_message_falls_back_to_its_id() {
        assert_eq!(
            message(Lang::Fr, "no-such-message", None),
            "no-such-message"
        );
    }

    #[test]
    fn arguments_are_substituted_without_isolation_marks() {
        let text = message_with(Lang::En, "outbox-count", &[("count", 2.into())]);
        assert_eq!(text, "2 messages");
    }
}
