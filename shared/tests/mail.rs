//! The transactional emails: every kind in every language, checked for translation,
//! escaping, links and the shape of the plain-text version.
#![cfg(feature = "web")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use passerelle::notify::Email;
use passerelle::web::i18n::Lang;
use passerelle::web::mail::{MailError, MailKind, render};

const TO: &str = "ada@example.gov";

/// A URL with a query of two parameters, so `&` must be escaped in the HTML version.
fn url(path: &str) -> String {
    format!("https://passerelle.example.gov/{path}?token=abc123&lang=x")
}

/// One of each kind, every link distinct so each can be found in the output.
fn every_kind() -> Vec<MailKind> {
    vec![
        MailKind::ConfirmSignup {
            confirm_url: url("sign-up/confirm"),
        },
        MailKind::AlreadyRegistered {
            sign_in_url: url("sign-in"),
            reset_url: url("reset"),
        },
        MailKind::PasswordReset {
            reset_url: url("reset/choose"),
        },
        MailKind::PasswordChanged {
            not_me_url: url("not-me/password"),
        },
        MailKind::NewDeviceSignIn {
            when: "5 November 2026, 14:03 UTC".into(),
            device: "Firefox on Windows".into(),
            place: Some("Lyon, France".into()),
            not_me_url: url("not-me/device"),
        },
        MailKind::EmailAdded {
            address_masked: "a***@example.gov".into(),
            not_me_url: url("not-me/address-added"),
        },
        MailKind::EmailRemoved {
            address_masked: "b***@example.gov".into(),
            not_me_url: url("not-me/address-removed"),
        },
        MailKind::ConfirmNewEmail {
            confirm_url: url("emails/confirm"),
        },
        MailKind::FactorAdded {
            factor: "Security key “Blue”".into(),
            not_me_url: url("not-me/factor-added"),
        },
        MailKind::FactorRemoved {
            factor: "Authentication app “Phone”".into(),
            not_me_url: url("not-me/factor-removed"),
        },
        MailKind::PersonalKeyUsed {
            not_me_url: url("not-me/personal-key"),
        },
        MailKind::AccountDeleted,
        MailKind::AccountResetRequested {
            cancel_url: url("account-reset/cancel"),
        },
        MailKind::AccountResetReady {
            delete_url: url("account-reset/delete"),
            cancel_url: url("account-reset/cancel-2"),
        },
        MailKind::LetterReminder {
            letter_url: url("verify/letter"),
            expires: "2027-02-14 08:00 UTC".into(),
        },
        MailKind::ResetNoAccount {
            sign_up_url: url("sign-up"),
            reset_url: url("forgot-password"),
        },
    ]
}

/// The links each kind carries, as the caller built them.
fn links(kind: &MailKind) -> Vec<&str> {
    match kind {
        MailKind::ConfirmSignup { confirm_url } | MailKind::ConfirmNewEmail { confirm_url } => {
            vec![confirm_url]
        }
        MailKind::AlreadyRegistered {
            sign_in_url,
            reset_url,
        } => vec![sign_in_url, reset_url],
        MailKind::PasswordReset { reset_url } => vec![reset_url],
        MailKind::ResetNoAccount {
            sign_up_url,
            reset_url,
        } => vec![sign_up_url, reset_url],
        MailKind::PasswordChanged { not_me_url }
        | MailKind::NewDeviceSignIn { not_me_url, .. }
        | MailKind::EmailAdded { not_me_url, .. }
        | MailKind::EmailRemoved { not_me_url, .. }
        | MailKind::FactorAdded { not_me_url, .. }
        | MailKind::FactorRemoved { not_me_url, .. }
        | MailKind::PersonalKeyUsed { not_me_url } => vec![not_me_url],
        MailKind::AccountDeleted => vec![],
        MailKind::AccountResetRequested { cancel_url } => vec![cancel_url],
        MailKind::AccountResetReady {
            delete_url,
            cancel_url,
        } => vec![delete_url, cancel_url],
        MailKind::LetterReminder { letter_url, .. } => vec![letter_url],
    }
}

fn is_not_me(kind: &MailKind) -> bool {
    links(kind).iter().any(|l| l.contains("/not-me/"))
}

/// Every kind rendered in every language.
fn all_rendered() -> Vec<(MailKind, Lang, Email)> {
    let mut out = Vec::new();
    for kind in every_kind() {
        for lang in Lang::ALL {
            let email = render(&kind, lang, TO)
                .unwrap_or_else(|e| panic!("{kind:?} in {}: {e}", lang.code()));
            out.push((kind.clone(), lang, email));
        }
    }
    out
}

/// The text version with its line breaks undone, to search for phrases.
fn unwrapped(text: &str) -> String {
    text.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[test]
fn every_kind_renders_in_every_language() {
    // Given every kind of email and every language
    // When each is rendered
    let all = all_rendered();
    // Then each has a recipient, a subject and both bodies
    assert_eq!(all.len(), 16 * 3);
    for (kind, lang, email) in &all {
        let at = format!("{kind:?} in {}", lang.code());
        assert_eq!(email.to, TO, "{at}");
        assert!(!email.subject.trim().is_empty(), "{at}");
        assert!(!email.text.trim().is_empty(), "{at}");
        assert!(!email.html.trim().is_empty(), "{at}");
        assert!(!email.subject.contains('\n'), "{at}: a subject is one line");
        assert!(
            email.subject.chars().count() <= 60,
            "{at}: subject too long: {}",
            email.subject
        );
    }
}

#[test]
fn the_html_is_labelled_with_its_language_and_is_self_contained() {
    for (kind, lang, email) in all_rendered() {
        let at = format!("{kind:?} in {}", lang.code());
        // Given an email in some language, when its HTML is read
        let html = &email.html;
        // Then it declares that language, has a real heading and the brand
        assert!(
            html.contains(&format!("<html lang=\"{}\"", lang.code())),
            "{at}"
        );
        assert!(html.starts_with("<!DOCTYPE html>"), "{at}");
        assert!(html.contains("<h1>"), "{at}");
        assert!(html.contains("Passerelle"), "{at}");
        // And it loads nothing: no script, no image, no external stylesheet
        for forbidden in ["<script", "<img", "<link", "<iframe", "url("] {
            assert!(!html.contains(forbidden), "{at}: {forbidden}");
        }
        // And its footer says it is automatic and where help is
        assert!(html.contains("class=\"footer\""), "{at}");
    }
    let french = render(&MailKind::AccountDeleted, Lang::Fr, TO).unwrap();
    assert!(french.html.contains("lang=\"fr\""));
}

#[test]
fn every_link_is_in_both_versions() {
    for (kind, lang, email) in all_rendered() {
        let at = format!("{kind:?} in {}", lang.code());
        for link in links(&kind) {
            // Given a link with `&` in its query
            assert!(link.contains('&'));
            // Then the text has it verbatim, alone on its line
            assert!(email.text.lines().any(|l| l == link), "{at}: {link}");
            // And the HTML has it escaped, as an href
            let escaped = html_escape(link);
            assert!(escaped.contains("&amp;"));
            assert!(
                email.html.contains(&format!("href=\"{escaped}\"")),
                "{at}: {escaped}"
            );
            assert!(!email.html.contains(link), "{at}: unescaped {link}");
        }
    }
}

#[test]
fn links_have_descriptive_text() {
    for (kind, lang, email) in all_rendered() {
        // Given an email's HTML, when each link is read
        for piece in email.html.split("<a href=\"").skip(1) {
            let text = piece
                .split_once("\">")
                .and_then(|(_, rest)| rest.split_once("</a>"))
                .map(|(text, _)| text)
                .unwrap();
            // Then its text says where it goes, rather than being the URL
            assert!(
                text.chars().count() >= 8 && !text.contains("http"),
                "{kind:?} in {}: {text:?}",
                lang.code()
            );
        }
    }
}

#[test]
fn values_are_escaped_in_html_and_left_alone_in_text() {
    // Given values carrying markup (a device name comes from a User-Agent header)
    let kind = MailKind::NewDeviceSignIn {
        when: "<b>now</b>".into(),
        device: "<script>alert(1)</script>".into(),
        place: Some("Ville \"A\" & 'B'".into()),
        not_me_url: url("not-me"),
    };
    let factor = MailKind::FactorAdded {
        factor: "<script>x</script>".into(),
        not_me_url: url("not-me"),
    };
    for lang in Lang::ALL {
        // When they are rendered
        let email = render(&kind, lang, TO).unwrap();
        // Then the HTML escapes them
        assert!(!email.html.contains("<script"), "{}", lang.code());
        assert!(email.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(email.html.contains("&lt;b&gt;now&lt;/b&gt;"));
        assert!(email.html.contains("Ville &quot;A&quot; &amp; &#39;B&#39;"));
        // And the text shows them as they are, unescaped
        assert!(email.text.contains("<script>alert(1)</script>"));
        assert!(email.text.contains("Ville \"A\" & 'B'"));
        assert!(!email.text.contains("&lt;") && !email.text.contains("&amp;"));

        let email = render(&factor, lang, TO).unwrap();
        assert!(!email.html.contains("<script"));
        assert!(email.text.contains("<script>x</script>"));
    }
}

#[test]
fn french_and_english_subjects_differ_for_every_kind() {
    for kind in every_kind() {
        // Given one kind, when rendered in English, French and Spanish
        let [en, fr, es] = Lang::ALL.map(|lang| render(&kind, lang, TO).unwrap());
        // Then no language fell back to English
        assert_ne!(en.subject, fr.subject, "{kind:?}");
        assert_ne!(en.subject, es.subject, "{kind:?}");
        assert_ne!(en.text, fr.text, "{kind:?}");
        assert_ne!(en.text, es.text, "{kind:?}");
    }
}

#[test]
fn no_placeholder_or_message_id_leaks() {
    for (kind, lang, email) in all_rendered() {
        let at = format!("{kind:?} in {}", lang.code());
        for (part, body) in [
            ("subject", &email.subject),
            ("text", &email.text),
            ("html", &email.html),
        ] {
            // Then no Fluent placeholder survived formatting
            assert!(!body.contains("{ $") && !body.contains("{$"), "{at} {part}");
            assert!(!body.contains("{ -") && !body.contains("{-"), "{at} {part}");
            // And no message id stands in for a missing message
            assert!(!body.contains("mail-"), "{at} {part}");
            // And no Unicode isolation marks from Fluent
            assert!(
                !body.contains('\u{2068}') && !body.contains('\u{2069}'),
                "{at} {part}"
            );
        }
    }
}

#[test]
fn text_lines_are_short_unless_a_url() {
    for (kind, lang, email) in all_rendered() {
        for line in email.text.lines() {
            // Given a line of the text version
            let is_url = line.starts_with("https://") && !line.contains(' ');
            // Then it fits in 78 columns, or is a single URL
            assert!(
                is_url || line.chars().count() <= 78,
                "{kind:?} in {}: {line:?}",
                lang.code()
            );
            assert!(!line.ends_with(' ') || line == "-- ", "{line:?}");
        }
    }
}

#[test]
fn long_values_are_wrapped_too() {
    // Given a device name with no spaces, longer than a line
    let kind = MailKind::NewDeviceSignIn {
        when: "now".into(),
        device: "Mozilla/5.0".repeat(20),
        place: None,
        not_me_url: url("not-me"),
    };
    // When rendered
    let email = render(&kind, Lang::En, TO).unwrap();
    // Then every line still fits, and a missing place is simply left out
    assert!(email.text.lines().all(|l| l.chars().count() <= 78));
    assert!(!email.text.contains("Approximate location"));
    assert!(email.text.contains("Device: Mozilla/5.0"));
}

#[test]
fn security_notifications_carry_the_not_me_link_and_its_terms() {
    let terms = [
        (Lang::En, "valid for 10 days", "new password"),
        (Lang::Fr, "valable 10 jours", "nouveau mot de passe"),
        (Lang::Es, "válido durante 10 días", "nueva contraseña"),
    ];
    for kind in every_kind().iter().filter(|k| is_not_me(k)) {
        for (lang, validity, password) in terms {
            // Given an ACC-8 notification, when rendered
            let email = render(kind, lang, TO).unwrap();
            // Then it says the link lasts 10 days and leads to a new password
            for body in [&unwrapped(&email.text), &email.html] {
                assert!(body.contains(validity), "{kind:?} {}", lang.code());
                assert!(body.contains(password), "{kind:?} {}", lang.code());
            }
        }
    }
}

#[test]
fn validity_periods_are_stated() {
    let cases = [
        (every_kind()[0].clone(), "24 hours"),
        (every_kind()[2].clone(), "30 minutes"),
        (every_kind()[7].clone(), "24 hours"),
        (every_kind()[13].clone(), "24 hours"),
    ];
    for (kind, period) in cases {
        let email = render(&kind, Lang::En, TO).unwrap();
        assert!(unwrapped(&email.text).contains(period), "{kind:?}");
    }
    // IDV-4: a letter reminder says until when its code works, and never the code itself.
    for lang in Lang::ALL {
        let email = render(&every_kind()[14], lang, TO).unwrap();
        assert!(
            unwrapped(&email.text).contains("2027-02-14 08:00 UTC"),
            "{}",
            lang.code()
        );
    }
    // ACC-5: a reset locks a verified identity until the personal key or re-verification.
    let reset = unwrapped(&render(&every_kind()[2], Lang::En, TO).unwrap().text);
    assert!(reset.contains("only once"));
    assert!(reset.contains("personal key"));
    assert!(reset.contains("verify your identity again"));
}

#[test]
fn the_text_version_has_the_brand_and_a_signature_footer() {
    let email = render(&every_kind()[0], Lang::Es, TO).unwrap();
    let lines: Vec<&str> = email.text.lines().collect();
    assert_eq!(lines[0], "Passerelle");
    assert!(lines.contains(&"-- "));
    assert!(email.text.contains("mensaje automático"));
    assert!(email.text.ends_with('\n') && !email.text.ends_with("\n\n"));
}

#[test]
fn bad_input_is_refused_without_echoing_it() {
    // Given a link that is not an absolute http(s) URL
    let kind = MailKind::PasswordReset {
        reset_url: "javascript:alert(1)".into(),
    };
    // Then rendering refuses it, naming the field but not the value
    let err = render(&kind, Lang::En, TO).unwrap_err();
    assert!(matches!(err, MailError::Link("reset_url")));
    assert!(!err.to_string().contains("javascript"));
    // Given a recipient that is not an address, then it is refused without being shown
    let err = render(&MailKind::AccountDeleted, Lang::En, "ada at example").unwrap_err();
    assert!(matches!(err, MailError::Recipient));
    assert!(!err.to_string().contains("ada"));
    // And the kind's Debug shows no token
    assert!(!format!("{:?}", every_kind()[0]).contains("token"));
}
