//! Signed in, as a person lives it: the first factor at sign-up, signing in with it,
//! the account page and its changes, security notices and "this wasn't me", account
//! reset by the scheduled job, session timeouts — through the real router, with a
//! cookie jar, the outbox, and a clock the test moves.
#![cfg(all(feature = "web", feature = "embedded"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use passerelle::web::account_reset::run_due_resets;
use support::{
    Browser, GOOD, OTHER_GOOD, between, sign_in_with_app, sign_up, sign_up_with_app,
    site_with_clock, texted_code,
};

#[tokio::test]
async fn changing_the_password_keeps_only_this_browser_signed_in() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    let secret = sign_up_with_app(&mut b, "", "ray@example.gov").await;
    // A wrong current password is refused with a message
    b.get("/account/password").await;
    let wrong = b
        .post(
            "/account/password",
            &[("current", OTHER_GOOD), ("password", OTHER_GOOD)],
        )
        .await;
    assert!(
        wrong.body.contains("The password is not right"),
        "{}",
        wrong.body
    );
    // A right one changes it; this browser stays signed in under a new token
    let before = b.cookies["__Host-session"].clone();
    let done = b
        .post(
            "/account/password",
            &[("current", GOOD), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(
        done.location(),
        "/account?done=password",
        "{} {}",
        done.status,
        done.body
    );
    assert_ne!(b.cookies["__Host-session"], before);
    let page = b.open("/account?done=password").await;
    assert!(page.body.contains("Your password is changed"));
    // The old password no longer signs in, the new one does
    let mut c = Browser::new(&site);
    c.get("/sign-in").await;
    let old = c
        .post(
            "/sign-in",
            &[("email", "ray@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(old.status, StatusCode::OK);
    sign_in_with_app(&site, "ray@example.gov", OTHER_GOOD, &secret).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_racing_password_changes_leave_one_password_and_one_session() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    let secret = sign_up_with_app(&mut b, "", "zoe@example.gov").await;
    b.get("/account/password").await;
    let csrf = b.csrf.clone().unwrap();
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let jar = jar.join("; ");
    // Given two changes sent at once from the same session (two tabs)
    let passwords = [
        "violet lantern orbit meadow",
        "amber canyon drifting slowly",
    ];
    let mut tasks = Vec::new();
    for pw in passwords {
        let router = site.router.clone();
        let body = serde_urlencoded::to_string([
            ("current", GOOD),
            ("password", pw),
            ("csrf_token", csrf.as_str()),
        ])
        .unwrap();
        let jar = jar.clone();
        tasks.push(tokio::spawn(async move {
            let req = http::Request::builder()
                .method(http::Method::POST)
                .uri("/account/password")
                .header(http::header::COOKIE, jar)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(axum::body::Body::from(body))
                .unwrap();
            let r = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let cookie = r
                .headers()
                .get(http::header::SET_COOKIE)
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
            (r.status(), cookie)
        }));
    }
    let mut sessions = Vec::new();
    for t in tasks {
        let (status, cookie) = t.await.unwrap();
        if status == StatusCode::SEE_OTHER {
            sessions.push(cookie.unwrap());
        }
    }
    assert!(!sessions.is_empty(), "at least one change went through");
    // Then exactly one session is alive, and exactly one of the passwords signs in
    let mut alive = 0;
    for cookie in &sessions {
        let (k, v) = cookie.split_once('=').unwrap();
        let mut probe = Browser::new(&site);
        probe.cookies.insert(k.to_owned(), v.to_owned());
        if probe.get("/account").await.status == StatusCode::OK {
            alive += 1;
        }
    }
    assert_eq!(alive, 1, "one session survives");
    assert_eq!(
        b.get("/account").await.status,
        StatusCode::SEE_OTHER,
        "the old token is gone"
    );
    let mut working = 0;
    for pw in passwords.into_iter().chain([GOOD]) {
        let mut c = Browser::new(&site);
        c.get("/sign-in").await;
        let tried = c
            .post(
                "/sign-in",
                &[("email", "zoe@example.gov"), ("password", pw)],
            )
            .await;
        if tried.status == StatusCode::SEE_OTHER {
            working += 1;
        }
    }
    assert_eq!(working, 1, "one password works");
    let _ = secret;
}

#[tokio::test]
async fn deleting_the_account_takes_the_password_and_tells_every_address() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "/fr", "ines@example.gov").await;
    let form = b.get("/fr/account/delete").await;
    assert!(
        form.body.contains("Supprimer votre compte"),
        "{}",
        form.body
    );
    // Without the box ticked, or with a wrong password, nothing happens
    let unticked = b.post("/fr/account/delete", &[("password", GOOD)]).await;
    assert!(
        unticked.body.contains("Cochez la case"),
        "{}",
        unticked.body
    );
    let wrong = b
        .post(
            "/fr/account/delete",
            &[("password", OTHER_GOOD), ("confirm", "yes")],
        )
        .await;
    assert!(wrong.body.contains("n’est pas correct"), "{}", wrong.body);
    // With both, the account is deleted, the cookie cleared and the address told
    let done = b
        .post(
            "/fr/account/delete",
            &[("password", GOOD), ("confirm", "yes")],
        )
        .await;
    assert!(
        done.body.contains("Votre compte est supprimé"),
        "{}",
        done.body
    );
    assert!(!b.has_session());
    let mail = site.mail_to("ines@example.gov").await;
    assert!(mail[0].0.contains("supprimé"), "{:?}", mail[0]);
    // And the address is free again; the old password signs nothing in
    let mut c = Browser::new(&site);
    c.get("/sign-in").await;
    let gone = c
        .post(
            "/sign-in",
            &[("email", "ines@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK);
    let again = sign_up(&mut Browser::new(&site), "", "ines@example.gov", GOOD).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_history_pages_back_through_every_sign_in() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    let secret = sign_up_with_app(&mut b, "", "hal@example.gov").await;
    // Given 24 more sign-ins
    let mut last = b;
    for _ in 0..24 {
        last = sign_in_with_app(&site, "hal@example.gov", GOOD, &secret).await;
    }
    // Then the history shows 20, newest first, and the rest on the next page
    let first = last.get("/account/history").await;
    assert_eq!(first.body.matches("<tr><td>").count(), 20, "{}", first.body);
    let older = between(&first.body, "href=\"/account/history?after=", "\"")
        .unwrap()
        .to_owned();
    let second = last.get(&format!("/account/history?after={older}")).await;
    // (27 events: created, method added, 25 sign-ins)
    assert_eq!(
        second.body.matches("<tr><td>").count(),
        7,
        "{}",
        second.body
    );
    assert!(second.body.contains("Account created"));
    // And a cursor edited by hand is a clear 400, not a crash
    let forged = last
        .get("/account/history?after=eyJwayI6IlVTRVIjb3RoZXIiLCJzayI6IngifQ")
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_up_with_an_app_in_french_then_sign_in_with_it_on_a_new_device() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    // Given Jeanne who confirmed her address and chose a password
    let done = sign_up(&mut b, "/fr", "jeanne@example.gov", GOOD).await;
    // Then she is asked, in French, for her first method; the account page is not hers yet
    let setup = b.open(done.location()).await;
    assert!(
        setup.body.contains("Choisissez comment confirmer"),
        "{}",
        setup.body
    );
    let early = b.get("/fr/account").await;
    assert_eq!(early.location(), "/fr/sign-in/factor");
    // When she adds an app, a wrong first code is refused with a message
    let page = b.get("/fr/mfa/totp").await;
    assert!(
        page.body.contains("<svg"),
        "the QR code is drawn in the page"
    );
    assert!(!page.body.contains("<script>"), "no inline script");
    let enrollment = between(&page.body, "name=\"enrollment\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let wrong = b
        .post(
            "/fr/mfa/totp",
            &[
                ("enrollment", &enrollment),
                ("name", "Téléphone"),
                ("code", "000000"),
            ],
        )
        .await;
    assert!(
        wrong.body.contains("Ce code n’est pas correct"),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains(&enrollment),
        "the same key is shown again"
    );
    let secret_text = between(&wrong.body, "id=\"totp-secret\">", "<").unwrap();
    let secret = support::base32_decode(secret_text);
    let right = b
        .post(
            "/fr/mfa/totp",
            &[
                ("enrollment", &enrollment),
                ("name", "Téléphone"),
                ("code", &site.totp(&secret)),
            ],
        )
        .await;
    // Then she is signed in, and a second method is suggested
    assert_eq!(right.location(), "/fr/mfa/setup?added=totp");
    let next = b.open("/fr/mfa/setup?added=totp").await;
    assert!(
        next.body
            .contains("Ajouté : Application d’authentification “Téléphone”"),
        "{}",
        next.body
    );
    assert!(next.body.contains("Codes de secours"));
    // And her account page shows her address, her app, her browser and her history
    let account = b.open("/fr/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("jeanne@example.gov"));
    assert!(
        account
            .body
            .contains("Application d’authentification “Téléphone”")
    );
    assert!(account.body.contains("Firefox on Linux"));
    assert!(account.body.contains("Compte créé"));
    assert!(account.body.contains("Connexion"));
    assert!(
        account.body.contains("data-expires-after=\"900\""),
        "the idle warning is set"
    );

    // When she signs in from another browser, the same app code works once
    site.advance(30);
    let mut phone = Browser::new(&site);
    phone.user_agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1";
    phone.get("/fr/sign-in").await;
    let step = phone
        .post(
            "/fr/sign-in",
            &[("email", "jeanne@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(step.location(), "/fr/sign-in/factor");
    let to_app = phone.get("/fr/sign-in/factor").await;
    assert_eq!(to_app.location(), "/fr/sign-in/totp");
    phone.get("/fr/sign-in/totp").await;
    let code = site.totp(&secret);
    let signed_in = phone
        .post("/fr/sign-in/totp", &[("code", &code), ("return_to", "")])
        .await;
    assert_eq!(signed_in.location(), "/fr/account");
    // Then the first browser's session is over: one active session per account
    let old = b.get("/fr/account").await;
    assert_eq!(old.location(), "/fr/sign-in?ended=1");
    // And a replayed code is refused on a third browser
    let mut third = Browser::new(&site);
    third.get("/sign-in").await;
    third
        .post(
            "/sign-in",
            &[("email", "jeanne@example.gov"), ("password", GOOD)],
        )
        .await;
    third.get("/sign-in/totp").await;
    let replay = third
        .post("/sign-in/totp", &[("code", &code), ("return_to", "")])
        .await;
    assert!(
        replay.body.contains("That code is not right"),
        "{}",
        replay.body
    );
    // And Jeanne is told, in French, of the sign-in from a new device, with a not-me link
    let mail = site.mail_to("jeanne@example.gov").await;
    let notice = mail
        .iter()
        .find(|(_, text)| text.contains("Safari on iOS"))
        .expect("a new-device notice");
    assert!(notice.1.contains("/fr/not-me?t="), "{}", notice.1);
}

#[tokio::test]
async fn a_password_alone_cannot_add_a_method_or_open_the_account() {
    let site = site_with_clock();
    let mut owner = Browser::new(&site);
    sign_up_with_app(&mut owner, "", "sam@example.gov").await;
    // Given someone who knows only Sam's password
    let mut thief = Browser::new(&site);
    thief.get("/sign-in").await;
    thief
        .post(
            "/sign-in",
            &[("email", "sam@example.gov"), ("password", GOOD)],
        )
        .await;
    // Then adding a method, the account page and its actions all send them to the factor step
    for path in [
        "/mfa/totp",
        "/mfa/phone",
        "/mfa/backup-codes",
        "/account",
        "/account/password",
    ] {
        let answer = thief.get(path).await;
        assert_eq!(answer.location(), "/sign-in/factor", "{path}");
    }
    // And Sam's own session lives on
    assert_eq!(owner.get("/account").await.status, StatusCode::OK);
}

#[tokio::test]
async fn backup_codes_work_once_and_ten_wrong_codes_lock_for_ten_minutes() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    // Given Ana who chose backup codes as her first method, in Spanish
    sign_up(&mut b, "/es", "ana@example.gov", GOOD).await;
    b.get("/es/mfa/backup-codes").await;
    let codes_page = b.post("/es/mfa/backup-codes", &[]).await;
    assert_eq!(codes_page.status, StatusCode::OK);
    assert_eq!(codes_page.headers["cache-control"], "no-store");
    assert!(codes_page.body.contains("Sus códigos de respaldo"));
    let codes: Vec<String> = codes_page
        .body
        .split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(codes_page.body.contains("download=\"backup-codes.txt\""));
    assert!(b.has_session());
    assert_eq!(b.get("/es/account").await.status, StatusCode::OK);

    // When she signs in with a code, lower case and without dashes, it works once
    let sign_in = |site| async move {
        let mut c = Browser::new(site);
        c.get("/es/sign-in").await;
        c.post(
            "/es/sign-in",
            &[("email", "ana@example.gov"), ("password", GOOD)],
        )
        .await;
        c.get("/es/sign-in/backup-code").await;
        c
    };
    let mut c = sign_in(&site).await;
    let typed = codes[0].replace('-', "").to_lowercase();
    let ok = c
        .post(
            "/es/sign-in/backup-code",
            &[("code", &typed), ("return_to", "")],
        )
        .await;
    assert_eq!(ok.location(), "/es/account");
    let mut d = sign_in(&site).await;
    let again = d
        .post(
            "/es/sign-in/backup-code",
            &[("code", &codes[0]), ("return_to", "")],
        )
        .await;
    assert!(again.body.contains("ya se usó"), "{}", again.body);

    // When nine more wrong codes follow, she is warned as 3 tries remain, then locked
    let mut last = again;
    for i in 1..10 {
        last = d
            .post(
                "/es/sign-in/backup-code",
                &[("code", "AAAA-BBBB-CCCC"), ("return_to", "")],
            )
            .await;
        if i == 6 {
            assert!(last.body.contains("Le quedan 3 intentos"), "{}", last.body);
        }
    }
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    // Then even a right code is refused for 10 minutes, and accepted after
    let locked = d
        .post(
            "/es/sign-in/backup-code",
            &[("code", &codes[1]), ("return_to", "")],
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    site.advance(10 * 60);
    let mut e = sign_in(&site).await;
    let after = e
        .post(
            "/es/sign-in/backup-code",
            &[("code", &codes[1]), ("return_to", "")],
        )
        .await;
    assert_eq!(after.location(), "/es/account", "{}", after.body);
}

#[tokio::test]
async fn adding_and_removing_an_address_tells_every_address() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    let secret = sign_up_with_app(&mut b, "", "lee@example.gov").await;
    // When Lee adds a second address, a link goes to it
    b.get("/account/email/add").await;
    let sent = b
        .post("/account/email/add", &[("email", "Lee@Work.example")])
        .await;
    assert!(sent.body.contains("Check your email"), "{}", sent.body);
    let link = site
        .link_in_mail("lee@work.example", "/account/email/confirm?t=")
        .await;
    // And opening it shows the address and a button; pressing it adds the address
    let confirm = b.get(&link).await;
    assert!(confirm.body.contains("lee@work.example"));
    let token = link.split("t=").nth(1).unwrap().to_owned();
    let added = b.post("/account/email/confirm", &[("t", &token)]).await;
    assert!(added.body.contains("Email address added"), "{}", added.body);
    // Then both addresses hear of it, masked, with a not-me link
    for to in ["lee@example.gov", "lee@work.example"] {
        let mail = site.mail_to(to).await;
        assert!(
            mail[0].1.contains("l***@work.example"),
            "{to}: {}",
            mail[0].1
        );
        assert!(mail[0].1.contains("/not-me?t="));
    }
    // And the link works once
    let reused = b.post("/account/email/confirm", &[("t", &token)]).await;
    assert!(reused.body.contains("expired or was already used"));
    let account = b.open("/account").await;
    assert!(account.body.contains("lee@work.example"));
    let fps: Vec<String> = account
        .body
        .split("name=\"fp\" value=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect();
    assert_eq!(fps.len(), 2);

    // When 21 minutes pass (with some activity), removing an address asks for a factor
    site.advance(11 * 60);
    b.get("/account").await;
    site.advance(10 * 60);
    b.get("/account").await;
    let stale = b.post("/account/email/remove", &[("fp", &fps[0])]).await;
    assert_eq!(stale.location(), "/sign-in/factor?return_to=%2Faccount");
    // Then a fresh code brings Lee back, and the removal goes through
    let to_app = b.get(stale.location()).await;
    assert_eq!(to_app.location(), "/sign-in/totp?return_to=%2Faccount");
    b.get(to_app.location()).await;
    let back = b
        .post(
            "/sign-in/totp",
            &[("code", &site.totp(&secret)), ("return_to", "/account")],
        )
        .await;
    assert_eq!(back.location(), "/account");
    b.get("/account").await;
    let removed = b.post("/account/email/remove", &[("fp", &fps[0])]).await;
    assert_eq!(removed.location(), "/account?done=email-removed");
    // And the removed address is told too; the last address cannot go
    let mail = site.mail_to("lee@example.gov").await;
    assert!(mail[0].1.contains("l***@example.gov"), "{}", mail[0].1);
    let page = b.open("/account").await;
    assert!(
        !page.body.contains("name=\"fp\""),
        "no remove button for the last address"
    );
    let last = b.post("/account/email/remove", &[("fp", &fps[1])]).await;
    assert!(
        last.body.contains("at least one email address"),
        "{}",
        last.body
    );
}

#[tokio::test]
async fn an_idle_session_ends_after_fifteen_minutes_and_the_page_says_so() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", "kim@example.gov").await;
    // Activity keeps the session: 14 minutes, a page, 14 more minutes
    site.advance(14 * 60);
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    site.advance(14 * 60);
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    // 15 idle minutes end it; the sign-in page says the session ended
    site.advance(15 * 60 + 1);
    let gone = b.get("/account").await;
    assert_eq!(gone.location(), "/sign-in?ended=1");
    assert!(!b.has_session(), "the cookie is cleared");
    let page = b.get("/sign-in?ended=1").await;
    assert!(
        page.body.contains("Your session has ended"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_idle_warning_keep_alive_extends_the_session() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", "eve@example.gov").await;
    // Given the warning showing, 13 minutes into idleness
    site.advance(13 * 60);
    b.get("/account").await;
    site.advance(13 * 60);
    // When the script presses "stay signed in" (a background fetch), it gets 204
    let csrf = b.csrf.clone().unwrap();
    let body = format!("csrf_token={csrf}&return_to=%2Faccount");
    let mut req = http::Request::builder()
        .method(http::Method::POST)
        .uri("/session/keep-alive")
        .header("sec-fetch-mode", "cors")
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    req = req.header(http::header::COOKIE, jar.join("; "));
    let response = tower::ServiceExt::oneshot(
        site.router.clone(),
        req.body(axum::body::Body::from(body)).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Then 13 more minutes later the session is still there
    site.advance(13 * 60);
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    // And without script the same form goes back to the page
    site.advance(13 * 60);
    let back = b
        .post("/session/keep-alive", &[("return_to", "/account/history")])
        .await;
    assert_eq!(back.location(), "/account/history");
    // And the warning's timeout form (posted with the token at zero) ends it for good
    let ended = b.post("/session/timeout", &[]).await;
    assert!(
        ended.body.contains("Your session has ended"),
        "{}",
        ended.body
    );
    assert_eq!(b.get("/account").await.location(), "/sign-in");
}

#[tokio::test]
async fn not_me_disables_the_password_and_mails_reset_links() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", "max@example.gov").await;
    // Given a password change Max did not make (someone at his unlocked computer)
    b.get("/account/password").await;
    let changed = b
        .post(
            "/account/password",
            &[("current", GOOD), ("password", OTHER_GOOD)],
        )
        .await;
    assert_eq!(changed.location(), "/account?done=password");
    let link = site.link_in_mail("max@example.gov", "/not-me?t=").await;
    // When Max follows "this wasn't me" and confirms
    let page = b.get(&link).await;
    assert!(page.body.contains("Secure your account"));
    let token = link.split("t=").nth(1).unwrap().to_owned();
    let done = b.post("/not-me", &[("t", &token)]).await;
    assert!(
        done.body.contains("Your account is secured"),
        "{}",
        done.body
    );
    // Then every session is over and neither password signs in
    assert_eq!(b.get("/account").await.location(), "/sign-in?ended=1");
    let mut c = Browser::new(&site);
    c.get("/sign-in").await;
    for pw in [GOOD, OTHER_GOOD] {
        let tried = c
            .post(
                "/sign-in",
                &[("email", "max@example.gov"), ("password", pw)],
            )
            .await;
        assert_eq!(tried.status, StatusCode::OK, "{pw}");
        assert!(tried.body.contains("is not right"));
    }
    // And a reset link arrived; the not-me link works once
    site.link_in_mail("max@example.gov", "/reset-password?t=")
        .await;
    // (the ended session's page took a new CSRF token: the link is opened again first)
    b.get(&link).await;
    let again = b.post("/not-me", &[("t", &token)]).await;
    assert!(again.body.contains("expired or was already used"));
}

#[tokio::test]
async fn account_reset_waits_24_hours_then_mails_a_deletion_link() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", "ola@example.gov").await;
    // Given Ola, who lost her phone, signs in with her password
    let mut c = Browser::new(&site);
    c.get("/sign-in").await;
    c.post(
        "/sign-in",
        &[("email", "ola@example.gov"), ("password", GOOD)],
    )
    .await;
    let choose = c.get("/sign-in/factor?choose=1").await;
    assert!(choose.body.contains("/account-reset"), "{}", choose.body);
    // When she asks for an account reset
    c.get("/account-reset").await;
    let asked = c.post("/account-reset", &[]).await;
    assert!(
        asked.body.contains("We received your request"),
        "{}",
        asked.body
    );
    assert!(
        site.link_in_mail("ola@example.gov", "/account-reset/cancel?t=")
            .await
            .contains("t=")
    );
    // Then nothing is mailed before 24 hours
    site.advance(24 * 3600 - 60);
    assert_eq!(run_due_resets(&site.state).await.unwrap(), 0);
    // And at 24 hours the job mails a deletion link, once
    site.advance(60);
    assert_eq!(run_due_resets(&site.state).await.unwrap(), 1);
    assert_eq!(run_due_resets(&site.state).await.unwrap(), 0);
    let delete = site
        .link_in_mail("ola@example.gov", "/account-reset/delete?t=")
        .await;
    // When she follows it and confirms, the account is gone and she is told
    let page = c.get(&delete).await;
    assert!(page.body.contains("Delete your account?"));
    let token = delete.split("t=").nth(1).unwrap().to_owned();
    let gone = c.post("/account-reset/delete", &[("t", &token)]).await;
    assert!(
        gone.body.contains("Your account is deleted"),
        "{}",
        gone.body
    );
    let mail = site.mail_to("ola@example.gov").await;
    assert!(
        mail[0].0.to_lowercase().contains("deleted"),
        "{:?}",
        mail[0]
    );
    // And the address can sign up again
    let mut d = Browser::new(&site);
    let again = sign_up(&mut d, "", "ola@example.gov", GOOD).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_phone_gets_codes_by_text_and_sends_are_limited() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up(&mut b, "", "pat@example.gov", GOOD).await;
    // Given Pat adds a phone typed the local way
    b.get("/mfa/phone").await;
    let bad = b
        .post("/mfa/phone", &[("number", "12"), ("delivery", "sms")])
        .await;
    assert!(
        bad.body.contains("Enter a phone number that can receive"),
        "{}",
        bad.body
    );
    let sent = b
        .post(
            "/mfa/phone",
            &[("number", "(703) 555-0100"), ("delivery", "sms")],
        )
        .await;
    assert!(
        sent.location().starts_with("/mfa/phone/confirm?c="),
        "{}",
        sent.body
    );
    let confirm = b.get(sent.location()).await;
    let challenge = between(&confirm.body, "name=\"c\" value=\"", "\"")
        .unwrap()
        .to_owned();
    // When the code texted to +17035550100 comes back, the phone is added and Pat signed in
    let code = texted_code(&site, "+17035550100").await;
    let added = b
        .post("/mfa/phone/confirm", &[("c", &challenge), ("code", &code)])
        .await;
    assert_eq!(added.location(), "/mfa/setup?added=phone", "{}", added.body);
    let account = b.open("/account").await;
    assert!(
        account.body.contains("••"),
        "the number is shown masked: {}",
        account.body
    );
    assert!(!account.body.contains("5550100"));

    // When Pat signs in elsewhere, the factor step offers a code by text or call
    site.advance(60);
    let mut c = Browser::new(&site);
    c.get("/sign-in").await;
    c.post(
        "/sign-in",
        &[("email", "pat@example.gov"), ("password", GOOD)],
    )
    .await;
    let choose = c.open("/sign-in/factor").await;
    let id = between(&choose.body, "name=\"f\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let to_code = c
        .post(
            "/sign-in/phone",
            &[("f", &id), ("return_to", ""), ("delivery", "sms")],
        )
        .await;
    assert!(
        to_code.location().starts_with("/sign-in/phone/code?c="),
        "{}",
        to_code.body
    );
    let form = c.get(to_code.location()).await;
    let challenge = between(&form.body, "name=\"c\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let code = texted_code(&site, "+17035550100").await;
    let done = c
        .post(
            "/sign-in/phone/code",
            &[("c", &challenge), ("code", &code), ("return_to", "")],
        )
        .await;
    assert_eq!(done.location(), "/account");
    // And the same code does not work twice
    let mut d = Browser::new(&site);
    d.get("/sign-in").await;
    d.post(
        "/sign-in",
        &[("email", "pat@example.gov"), ("password", GOOD)],
    )
    .await;
    d.get(&format!("/sign-in/phone/code?c={challenge}")).await;
    let replay = d
        .post(
            "/sign-in/phone/code",
            &[("c", &challenge), ("code", &code), ("return_to", "")],
        )
        .await;
    assert!(replay.body.contains("expired"), "{}", replay.body);
    // And a third text within 10 seconds is refused with a time to wait
    d.get("/sign-in/factor?choose=1").await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let r = d
            .post(
                "/sign-in/phone",
                &[("f", &id), ("return_to", ""), ("delivery", "sms")],
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(
        statuses,
        [StatusCode::SEE_OTHER, StatusCode::TOO_MANY_REQUESTS]
    );
}

#[tokio::test]
async fn an_account_texts_at_most_five_numbers_a_day() {
    // Given Quinn, signing up, who asks for codes on one number after another
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up(&mut b, "", "quinn@example.gov", GOOD).await;
    b.get("/mfa/phone").await;
    let ask = |i: u32| format!("(703) 555-{:04}", 200 + i);
    for i in 0..5 {
        let sent = b
            .post("/mfa/phone", &[("number", &ask(i)), ("delivery", "sms")])
            .await;
        assert!(
            sent.location().starts_with("/mfa/phone/confirm?c="),
            "{i}: {}",
            sent.body
        );
        site.advance(60);
        b.get("/mfa/phone").await;
    }
    // When a sixth number is asked for the same day
    let sixth = b
        .post("/mfa/phone", &[("number", &ask(5)), ("delivery", "sms")])
        .await;
    // Then it is refused with a wait, and nothing is texted to it
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        sixth.body
    );
    assert!(sixth.headers.contains_key(http::header::RETRY_AFTER));
    assert!(site.mail_to("+17035550205").await.is_empty());
    // And one of the five still gets its code
    let again = b
        .post("/mfa/phone", &[("number", &ask(0)), ("delivery", "sms")])
        .await;
    assert!(again.location().starts_with("/mfa/phone/confirm?c="));
}

#[tokio::test]
async fn the_operators_hourly_sms_ceiling_holds_across_accounts() {
    // Given a deployment whose operator allows 2 texts an hour
    let mut site = site_with_clock();
    let state = site.state.clone().with_sms_per_hour(2);
    site.router = passerelle::api::router(state.api.clone()).merge(passerelle::web::router(state));
    // When two people each ask for codes on their own number
    let mut sent = Vec::new();
    for (i, email) in ["r1@example.gov", "r2@example.gov"].into_iter().enumerate() {
        let mut b = Browser::new(&site);
        sign_up(&mut b, "", email, GOOD).await;
        for j in 0..2 {
            b.get("/mfa/phone").await;
            let number = format!("(703) 555-{:04}", 300 + 2 * i + j);
            let answer = b
                .post("/mfa/phone", &[("number", &number), ("delivery", "sms")])
                .await;
            sent.push(answer.status);
            site.advance(60);
        }
    }
    // Then only the first two go out, whoever asks next
    assert_eq!(
        sent,
        [
            StatusCode::SEE_OTHER,
            StatusCode::SEE_OTHER,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert!(site.mail_to("+17035550302").await.is_empty());
}

#[tokio::test]
async fn a_remembered_browser_skips_the_factor_for_30_days_until_forgotten() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    let secret = sign_up_with_app(&mut b, "", "ben@example.gov").await;
    // Given Ben signs in and ticks "remember this browser"
    b.post("/sign-out", &[]).await;
    b.get("/sign-in").await;
    b.post(
        "/sign-in",
        &[("email", "ben@example.gov"), ("password", GOOD)],
    )
    .await;
    let form = b.get("/sign-in/totp").await;
    assert!(
        form.body.contains("Remember this browser for 30 days"),
        "{}",
        form.body
    );
    let done = b
        .post(
            "/sign-in/totp",
            &[
                ("code", &site.totp(&secret)),
                ("return_to", ""),
                ("remember", "yes"),
            ],
        )
        .await;
    assert_eq!(done.location(), "/account");
    assert!(b.cookies.contains_key("__Host-remember"));
    // When he signs in again from this browser, the password is enough
    site.advance(24 * 3600);
    b.get("/sign-in").await;
    let again = b
        .post(
            "/sign-in",
            &[("email", "ben@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(again.location(), "/account", "{}", again.body);
    // But a sensitive action still asks for his app
    assert_eq!(
        b.get("/account/password").await.location(),
        "/sign-in/factor?return_to=%2Faccount%2Fpassword"
    );
    // And another browser with the cookie copied for another account gets nothing
    let remember = b.cookies["__Host-remember"].clone();
    let mut other = Browser::new(&site);
    let other_secret = sign_up_with_app(&mut other, "", "amy@example.gov").await;
    let _ = other_secret;
    let mut thief = Browser::new(&site);
    thief
        .cookies
        .insert("__Host-remember".into(), remember.clone());
    thief.get("/sign-in").await;
    let refused = thief
        .post(
            "/sign-in",
            &[("email", "amy@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(refused.location(), "/sign-in/factor");
    // When Ben forgets all browsers, the next sign-in asks for the factor again
    let fresh = b.open("/account").await;
    assert!(fresh.body.contains("Forget all browsers"));
    b.post("/account/forget-browsers", &[]).await;
    b.post("/sign-out", &[]).await;
    b.get("/sign-in").await;
    let asked = b
        .post(
            "/sign-in",
            &[("email", "ben@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(asked.location(), "/sign-in/factor");
    // And a remembered cookie older than 30 days is not enough either
    let mut late = Browser::new(&site);
    late.cookies.insert("__Host-remember".into(), remember);
    site.advance(30 * 24 * 3600);
    late.get("/sign-in").await;
    let expired = late
        .post(
            "/sign-in",
            &[("email", "ben@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(expired.location(), "/sign-in/factor");
}
