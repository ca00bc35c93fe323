//! The account pages as a person uses them: through the real router, with a cookie jar,
//! reading mail from the outbox after the notify worker delivered it. Sign-up, sign-in,
//! password reset, rate limits and bad input, in English, French and Spanish.
#![cfg(all(feature = "web", feature = "embedded"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::{Method, StatusCode, header};
use passerelle::account::password::FEEDBACK_IDS;
use passerelle::web::i18n::{Lang, message_ids};
use support::{Browser, GOOD, OTHER_GOOD, sign_up, site};

/// A page body without what differs on every response (the masked CSRF token, the
/// CSP nonce) and without the echoed address.
fn normalised(body: &str, email: &str) -> String {
    let body = body.replace(email, "EMAIL");
    let mut out = String::new();
    for (i, part) in body.split("value=\"").enumerate() {
        if i > 0 {
            out.push_str("value=\"");
            let end = part.find('"').unwrap();
            let value = &part[..end];
            if value.len() > 40 {
                out.push('…');
                out.push_str(&part[end..]);
                continue;
            }
        }
        out.push_str(part);
    }
    out.split("nonce=\"")
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                p.to_owned()
            } else {
                p[p.find('"').unwrap()..].to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("nonce=\"")
}

#[tokio::test]
async fn sign_up_in_french_then_sign_in_and_the_same_email_again() {
    let site = site();
    let mut b = Browser::new(&site);
    // Given the French sign-up page
    let page = b.get("/fr/sign-up").await;
    assert!(page.body.contains("autocomplete=\"email\""));
    assert!(page.body.contains("href=\"/fr/rules-of-use\""));
    // When Jeanne submits her address with the rules accepted
    let answer = b
        .post(
            "/fr/sign-up",
            &[("email", " Jeanne@Example.gov "), ("accept_rules", "yes")],
        )
        .await;
    // Then she is told to check her email, in French, and a French link arrives
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body.contains("Consultez vos e-mails"),
        "{}",
        answer.body
    );
    let link = site
        .link_in_mail("jeanne@example.gov", "/fr/sign-up/confirm?t=")
        .await;
    let form = b.get(&link).await;
    assert!(form.body.contains("jeanne@example.gov"));
    assert!(form.body.contains("autocomplete=\"new-password\""));
    let token = link.split("t=").nth(1).unwrap().to_owned();
    // When she picks a weak password, the form says why in French and nothing is stored
    let weak = b
        .post(
            "/fr/sign-up/confirm",
            &[("t", &token), ("password", "jeanne123456")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::OK);
    assert!(weak.body.contains("Il y a un problème"), "{}", weak.body);
    assert!(weak.body.contains("href=\"#password\""));
    // When she picks a good one, the account exists and she is taken, half signed in,
    // to set up her second factor, in French
    let done = b
        .post("/fr/sign-up/confirm", &[("t", &token), ("password", GOOD)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), "/fr/mfa/setup?new=1");
    assert!(b.has_session());
    // And the link is used up
    let reused = b.get(&link).await;
    assert!(reused.body.contains("Ce lien a expiré"), "{}", reused.body);

    // Signing up with the same address again: the same page, and the owner is told
    let mut other = Browser::new(&site);
    other.get("/fr/sign-up").await;
    let again = other
        .post(
            "/fr/sign-up",
            &[("email", "jeanne@example.gov"), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(
        normalised(&again.body, "jeanne@example.gov"),
        normalised(&answer.body, "jeanne@example.gov")
    );
    let mail = site.mail_to("jeanne@example.gov").await;
    assert_eq!(mail.len(), 2);
    assert!(!mail[0].1.contains("/sign-up/confirm"), "{}", mail[0].1);
    assert!(mail[0].1.contains("/fr/forgot-password"), "{}", mail[0].1);

    // Sign in: right password → on to the factor; wrong password and unknown
    // address → the same page body and status
    let mut c = Browser::new(&site);
    let form = c.get("/fr/sign-in").await;
    assert!(form.body.contains("autocomplete=\"current-password\""));
    let right = c
        .post(
            "/fr/sign-in",
            &[("email", "jeanne@example.gov"), ("password", GOOD)],
        )
        .await;
    // (her account has no factor yet, so the right password leads to factor set-up)
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location(), "/fr/mfa/setup");
    assert!(c.has_session());
    // (the pending session came with a new CSRF token: the form is opened again)
    c.get("/fr/sign-in").await;
    let wrong = c
        .post(
            "/fr/sign-in",
            &[("email", "jeanne@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    let unknown = c
        .post(
            "/fr/sign-in",
            &[("email", "nobody@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    let invalid = c
        .post(
            "/fr/sign-in",
            &[("email", "not an address"), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(invalid.status, wrong.status);
    assert!(wrong.body.contains("n’est pas correct"), "{}", wrong.body);
    let w = normalised(&wrong.body, "jeanne@example.gov");
    assert_eq!(w, normalised(&unknown.body, "nobody@example.gov"));
    assert_eq!(w, normalised(&invalid.body, "not an address"));
}

#[tokio::test]
async fn sign_up_in_english_and_spanish_leads_to_factor_setup() {
    let site = site();
    let mut en = Browser::new(&site);
    let done = sign_up(&mut en, "", "sam@example.gov", GOOD).await;
    assert_eq!(done.location(), "/mfa/setup?new=1");
    let mut es = Browser::new(&site);
    let done = sign_up(&mut es, "/es", "ana@example.gov", GOOD).await;
    assert_eq!(done.location(), "/es/mfa/setup?new=1");
    assert!(es.has_session());
}

#[tokio::test]
async fn password_reset_in_spanish_end_to_end() {
    let site = site();
    sign_up(&mut Browser::new(&site), "/es", "ana@example.gov", GOOD).await;
    let mut b = Browser::new(&site);
    b.get("/es/forgot-password").await;
    // An unknown address gets the same page, and a mail saying no account uses it
    let unknown = b
        .post("/es/forgot-password", &[("email", "nadie@example.gov")])
        .await;
    let known = b
        .post("/es/forgot-password", &[("email", "ana@example.gov")])
        .await;
    assert_eq!(
        normalised(&unknown.body, "nadie@example.gov"),
        normalised(&known.body, "ana@example.gov")
    );
    assert!(known.body.contains("Revise su correo"), "{}", known.body);
    let told = site.mail_to("nadie@example.gov").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].0, "Ninguna cuenta usa esta dirección");
    assert!(!told[0].1.contains("reset-password?t="), "{}", told[0].1);
    let link = site
        .link_in_mail("ana@example.gov", "/es/reset-password?t=")
        .await;
    let form = b.get(&link).await;
    assert!(
        form.body.contains("Elija una nueva contraseña"),
        "{}",
        form.body
    );
    let token = link.split("t=").nth(1).unwrap().to_owned();
    // A 129-character password is refused with a message; nothing changes
    let long = "a".repeat(129);
    let refused = b
        .post("/es/reset-password", &[("t", &token), ("password", &long)])
        .await;
    assert!(refused.body.contains("como máximo 128"), "{}", refused.body);
    let done = b
        .post(
            "/es/reset-password",
            &[("t", &token), ("password", OTHER_GOOD)],
        )
        .await;
    assert!(
        done.body.contains("Su contraseña se cambió"),
        "{}",
        done.body
    );
    // The owner is told, and the link is used up
    let mail = site.mail_to("ana@example.gov").await;
    assert!(mail[0].1.contains("/es/forgot-password"), "{}", mail[0].1);
    let reused = b
        .post("/es/reset-password", &[("t", &token), ("password", GOOD)])
        .await;
    assert!(
        reused.body.contains("caducó o ya se usó"),
        "{}",
        reused.body
    );
    // The new password works, the old one does not
    let mut c = Browser::new(&site);
    c.get("/es/sign-in").await;
    let old = c
        .post(
            "/es/sign-in",
            &[("email", "ana@example.gov"), ("password", GOOD)],
        )
        .await;
    assert!(old.body.contains("no son correctos"), "{}", old.body);
    let new = c
        .post(
            "/es/sign-in",
            &[("email", "ana@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(new.location(), "/es/mfa/setup");
}

#[tokio::test]
async fn bad_input_gets_a_clear_message_and_stores_nothing() {
    let site = site();
    let mut b = Browser::new(&site);
    b.get("/sign-up").await;
    // Missing fields
    let empty = b.post("/sign-up", &[]).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("Enter your email address."));
    assert!(empty.body.contains("Accept the rules of use"));
    assert!(
        empty.body.contains("href=\"#email\"") && empty.body.contains("href=\"#accept_rules\"")
    );
    assert!(empty.body.contains("role=\"alert\""));
    // The rules box unchecked
    let unchecked = b.post("/sign-up", &[("email", "a@example.gov")]).await;
    assert!(unchecked.body.contains("Accept the rules of use"));
    // A 10 KB address
    let huge = format!("{}@example.gov", "a".repeat(10 * 1024));
    let long = b
        .post("/sign-up", &[("email", &huge), ("accept_rules", "yes")])
        .await;
    assert_eq!(long.status, StatusCode::OK);
    assert!(long.body.contains("This email address is too long"));
    assert!(site.mail_to("a@example.gov").await.is_empty());
    // Invalid UTF-8 → 400 page
    let csrf = b.csrf.clone().unwrap();
    let mut body = format!("csrf_token={csrf}&accept_rules=yes&email=").into_bytes();
    body.extend_from_slice(b"%FF%FEx@example.gov");
    let bad = b.send(Method::POST, "/sign-up", Some(body)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("<html"));
    // A wrong CSRF token → 403
    b.csrf = Some("x".repeat(86));
    let forged = b
        .post(
            "/sign-up",
            &[("email", "a@example.gov"), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Forged and unknown links
    let mut c = Browser::new(&site);
    for path in [
        "/sign-up/confirm?t=../../etc",
        "/sign-up/confirm?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/sign-up/confirm",
        "/reset-password?t=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let page = c.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("This link has expired"), "{path}");
    }
    // A 129-character password at sign-up: a message, no account
    let mut d = Browser::new(&site);
    d.get("/sign-up").await;
    d.post(
        "/sign-up",
        &[("email", "long@example.gov"), ("accept_rules", "yes")],
    )
    .await;
    let link = site
        .link_in_mail("long@example.gov", "/sign-up/confirm")
        .await;
    let token = link.split("t=").nth(1).unwrap().to_owned();
    d.get(&link).await;
    let long_pw = "b".repeat(129);
    let refused = d
        .post("/sign-up/confirm", &[("t", &token), ("password", &long_pw)])
        .await;
    assert!(
        refused.body.contains("at most 128 characters"),
        "{}",
        refused.body
    );
    let mut e = Browser::new(&site);
    e.get("/sign-in").await;
    let no_account = e
        .post(
            "/sign-in",
            &[("email", "long@example.gov"), ("password", &long_pw)],
        )
        .await;
    assert!(no_account.body.contains("is not right"));
}

#[tokio::test]
async fn the_21st_registration_email_in_an_hour_is_429_with_retry_after() {
    let site = site();
    let mut b = Browser::new(&site);
    b.get("/sign-up").await;
    for _ in 0..20 {
        let ok = b
            .post(
                "/sign-up",
                &[("email", "busy@example.gov"), ("accept_rules", "yes")],
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    let blocked = b
        .post(
            "/sign-up",
            &[("email", "busy@example.gov"), ("accept_rules", "yes")],
        )
        .await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = blocked.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    assert!(blocked.body.contains("Try again in"), "{}", blocked.body);
}

#[tokio::test]
async fn sign_in_failures_lock_after_five_per_email_and_ip() {
    let site = site();
    let mut b = Browser::new(&site);
    b.get("/sign-in").await;
    for _ in 0..5 {
        let a = b
            .post(
                "/sign-in",
                &[("email", "x@example.gov"), ("password", OTHER_GOOD)],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let locked = b
        .post(
            "/sign-in",
            &[("email", "x@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers.contains_key(header::RETRY_AFTER));
    // Another client address is a different subject
    b.ip = "203.0.113.5";
    let elsewhere = b
        .post(
            "/sign-in",
            &[("email", "x@example.gov"), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK);
}

#[tokio::test]
async fn the_rules_of_use_exist_in_every_language() {
    let site = site();
    let mut b = Browser::new(&site);
    for (prefix, text) in [
        ("", "Rules of use"),
        ("/fr", "Règles d’utilisation"),
        ("/es", "Reglas de uso"),
    ] {
        let page = b.get(&format!("{prefix}/rules-of-use")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(text), "{prefix}");
    }
}

#[test]
fn every_password_feedback_id_is_translated() {
    for lang in Lang::ALL {
        let ids = message_ids(lang);
        let missing: Vec<_> = FEEDBACK_IDS
            .iter()
            .filter(|id| !ids.contains(**id))
            .collect();
        assert!(missing.is_empty(), "{}: {missing:?}", lang.code());
    }
}

#[tokio::test]
async fn a_password_reset_does_the_same_work_whether_or_not_the_address_has_an_account() {
    use passerelle::clock::{Clock, SystemClock};
    // Given an account, on a site whose store, key service and queues count their calls
    let (site, meter) = support::site_counted_at(SystemClock.now_ms());
    sign_up(&mut Browser::new(&site), "", "kim@example.gov", GOOD).await;
    let mut b = Browser::new(&site);
    b.get("/forgot-password").await;
    // (a first request of each fills the data-key caches)
    for email in ["kim@example.gov", "nobody@example.gov"] {
        b.post("/forgot-password", &[("email", email)]).await;
    }
    // When a reset is asked for it and for an address no account uses, in turn,
    let mut seen = Vec::new();
    for round in 0..3 {
        let order = if round % 2 == 0 {
            ["kim@example.gov", "nobody@example.gov"]
        } else {
            ["nobody@example.gov", "kim@example.gov"]
        };
        for email in order {
            meter.take();
            let answer = b.post("/forgot-password", &[("email", email)]).await;
            let tally = meter.take();
            seen.push((email, answer, tally));
        }
    }
    // then both get the same answer and cost the same calls: the same store requests,
    // read and write units, key-service calls and one queued mail each.
    let (_, first, reference) = &seen[0];
    for (email, answer, tally) in &seen {
        assert_eq!(answer.status, first.status);
        assert_eq!(
            normalised(&answer.body, email),
            normalised(&first.body, seen[0].0)
        );
        assert_eq!(tally.requests, reference.requests, "{email}");
        assert_eq!(tally.read_halves, reference.read_halves, "{email}");
        assert_eq!(tally.write_units, reference.write_units, "{email}");
        assert_eq!(tally.kms, reference.kms, "{email}");
        assert_eq!(tally.queue_sends, 1, "{email}: one mail");
        assert_eq!(tally.written.len(), reference.written.len(), "{email}");
    }
    assert!(
        reference.requests.get("PutItem").is_some_and(|n| *n >= 1),
        "{:?}",
        reference.requests
    );
    // And only the account's address gets a link that opens a reset.
    let link = site
        .link_in_mail("kim@example.gov", "/reset-password?t=")
        .await;
    assert_eq!(b.get(&link).await.status, StatusCode::OK);
    let told = site.mail_to("nobody@example.gov").await;
    assert!(
        told.iter()
            .all(|(subject, text)| subject == "No account uses this address"
                && !text.contains("reset-password?t="))
    );
}

#[tokio::test]
async fn a_lookalike_of_an_address_is_that_address_or_is_refused() {
    // Given Ada's account
    let site = site();
    sign_up(&mut Browser::new(&site), "", "ada@example.gov", GOOD).await;
    let mut b = Browser::new(&site);
    b.get("/sign-up").await;
    // When someone signs up with the fullwidth spelling of her address,
    let fullwidth = b
        .post(
            "/sign-up",
            &[
                ("email", "ａｄａ＠ｅｘａｍｐｌｅ．ｇｏｖ"),
                ("accept_rules", "yes"),
            ],
        )
        .await;
    // then it is her address: the owner is told, and no second account can start
    assert_eq!(fullwidth.status, StatusCode::OK);
    assert!(
        fullwidth.body.contains("ada@example.gov"),
        "{}",
        fullwidth.body
    );
    let mail = site.mail_to("ada@example.gov").await;
    assert_eq!(mail[0].0, "You already have an account", "{mail:?}");
    assert!(!mail[0].1.contains("/sign-up/confirm"));
    // and signing in with it opens her account.
    let mut c = Browser::new(&site);
    c.get("/sign-in").await;
    let signed_in = c
        .post(
            "/sign-in",
            &[("email", "ＡＤＡ@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(signed_in.location(), "/mfa/setup", "{}", signed_in.body);
    // When the twin swaps a letter for a Cyrillic one, in the name or in the domain,
    for twin in ["\u{430}da@example.gov", "ada@ex\u{430}mple.gov"] {
        let refused = b
            .post("/sign-up", &[("email", twin), ("accept_rules", "yes")])
            .await;
        // then the address is refused, saying why, and nothing is sent to it.
        assert_eq!(refused.status, StatusCode::OK);
        assert!(
            refused
                .body
                .contains("This address mixes letters of different alphabets"),
            "{twin}: {}",
            refused.body
        );
        assert!(site.mail_to(twin).await.is_empty(), "{twin}");
    }
}
