//! The site's Fluent messages (`shared/locales/<lang>/*.ftl`), read by the tests: the
//! journeys find buttons and links by the text a person reads in each language, and every
//! page is searched for a message id shown instead of its text.
//!
//! A deliberately small reader: `id = text` on one line, with `{ -term }` references
//! resolved. Multi-line messages (plurals, selectors) are known by id but have no text here;
//! the journeys do not click on those.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use crate::tools::workspace_root;

/// The site's languages, as their URL prefixes use them (`""` is English, the default).
pub const LANGUAGES: [&str; 3] = ["en", "fr", "es"];

/// One language's messages.
#[derive(Debug)]
pub struct Messages {
    lang: &'static str,
    /// Single-line messages, terms resolved.
    text: BTreeMap<String, String>,
    /// Every message id, single-line or not (terms excluded).
    ids: BTreeSet<String>,
}

impl Messages {
    fn load(lang: &'static str) -> Self {
        let dir = workspace_root().join("shared/locales").join(lang);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
            .collect();
        files.sort();
        let mut raw = BTreeMap::new();
        let mut terms = BTreeMap::new();
        let mut ids = BTreeSet::new();
        for file in files {
            let source = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for line in source.lines() {
                if line.starts_with([' ', '\t', '#']) || line.trim().is_empty() {
                    continue;
                }
                let Some((id, value)) = line.split_once('=') else {
                    continue;
                };
                let (id, value) = (id.trim(), value.trim());
                if let Some(term) = id.strip_prefix('-') {
                    terms.insert(term.to_owned(), value.to_owned());
                } else if is_id(id) {
                    ids.insert(id.to_owned());
                    if !value.is_empty() {
                        raw.insert(id.to_owned(), value.to_owned());
                    }
                }
            }
        }
        let text = raw
            .into_iter()
            .map(|(id, mut value)| {
                for (term, text) in &terms {
                    value = value.replace(&format!("{{ -{term} }}"), text);
                }
                (id, value)
            })
            .collect();
        Self { lang, text, ids }
    }

    /// The language's code (`en`, `fr`, `es`).
    pub fn lang(&self) -> &'static str {
        self.lang
    }

    /// The URL prefix of the language's pages: `""` for English, `/fr`, `/es`.
    pub fn prefix(&self) -> &'static str {
        match self.lang {
            "en" => "",
            "fr" => "/fr",
            "es" => "/es",
            other => panic!("no prefix known for {other}"),
        }
    }

    /// The text of a one-line message without variables, as the page shows it.
    pub fn t(&self, id: &str) -> &str {
        let text = self
            .text
            .get(id)
            .unwrap_or_else(|| panic!("no one-line message {id:?} in {}", self.lang));
        assert!(
            !text.contains('{'),
            "{id:?} in {} has variables: {text}",
            self.lang
        );
        text
    }

    /// The text of a one-line message with its variables given (`{ $agency }` →
    /// `Demo Agency`), as the page shows it.
    pub fn t_args(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut text = self
            .text
            .get(id)
            .unwrap_or_else(|| panic!("no one-line message {id:?} in {}", self.lang))
            .clone();
        for (name, value) in args {
            text = text.replace(&format!("{{ ${name} }}"), value);
        }
        assert!(
            !text.contains('{'),
            "{id:?} in {} still has variables: {text}",
            self.lang
        );
        text
    }

    /// Every message id of the language.
    pub fn ids(&self) -> &BTreeSet<String> {
        &self.ids
    }
}

/// The messages of `lang` (`en`, `fr` or `es`), read once per test binary.
pub fn messages(lang: &str) -> &'static Messages {
    static EN: OnceLock<Messages> = OnceLock::new();
    static FR: OnceLock<Messages> = OnceLock::new();
    static ES: OnceLock<Messages> = OnceLock::new();
    match lang {
        "en" => EN.get_or_init(|| Messages::load("en")),
        "fr" => FR.get_or_init(|| Messages::load("fr")),
        "es" => ES.get_or_init(|| Messages::load("es")),
        other => panic!("the site has no language {other:?}"),
    }
}

/// An id's shape: lower-case words joined by hyphens (`signin-title`).
fn is_id(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    let mut rest = 0;
    for p in parts {
        if p.is_empty()
            || !p
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return false;
        }
        rest += 1;
    }
    first_ok && rest > 0
}

/// The English message ids (the reference set) that appear verbatim in `text`: a page
/// showing one shows a message that failed to resolve.
pub fn raw_ids_in(text: &str) -> Vec<String> {
    let ids = messages("en").ids();
    let mut found: Vec<String> = text
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .map(|w| w.trim_matches('-'))
        .filter(|w| is_id(w) && ids.contains(*w))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_line_messages_with_terms() {
        let en = messages("en");
        assert_eq!(en.t("nav-sign-in"), "Sign in");
        assert_eq!(en.t("brand-name"), "Passerelle");
        assert!(en.ids().contains("error-rate-limited-body"));
        assert_eq!(messages("fr").prefix(), "/fr");
    }

    #[test]
    fn finds_ids_shown_as_text() {
        assert_eq!(
            raw_ids_in("Welcome. signin-title\nsign-in is a word; nav-sign-out."),
            vec!["nav-sign-out".to_owned(), "signin-title".to_owned()]
        );
        assert!(raw_ids_in("Créer un compte — e-mail").is_empty());
    }
}
