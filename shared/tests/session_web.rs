//! Sessions in the browser (issue 17, items 7 and 8): a link never ends a session —
//! `GET /session/timeout` only shows a page, ending takes a POST with the CSRF token —
//! and the CSRF token changes with the session's privilege (password step, sign-in,
//! factor asked again, sign-out), so a token seen before is refused after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use support::{Answer, Browser, GOOD, sign_up_with_app, site_with_clock};
use tower::ServiceExt;

/// A request from `b`'s cookies as another site's link or form would send it.
async fn cross_site(b: &Browser<'_>, method: Method, path: &str, body: &str) -> Answer {
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("sec-fetch-site", "cross-site")
        .header(header::COOKIE, jar.join("; "));
    if !body.is_empty() {
        req = req
            .header(header::ORIGIN, "https://evil.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let response = b
        .site
        .router
        .clone()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn clears_session(a: &Answer) -> bool {
    a.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("__Host-session="))
}

#[tokio::test]
async fn a_link_to_the_timeout_page_ends_nothing_and_the_form_post_ends_the_session() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", "lou@example.gov").await;
    let account = b.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    // Given the idle warning, which posts a hidden form with the token at zero
    assert!(
        account
            .body
            .contains("<form method=\"post\" action=\"/session/timeout\" data-timeout hidden>"),
        "{}",
        account.body
    );
    assert!(!account.body.contains("data-timeout-url"));
    // When another site links to the timeout page
    let linked = cross_site(&b, Method::GET, "/session/timeout", "").await;
    // Then it only asks; the session is alive and its cookie untouched
    assert_eq!(linked.status, StatusCode::OK);
    assert!(linked.body.contains("Sign out of"), "{}", linked.body);
    assert!(
        linked.body.contains("action=\"/sign-out\""),
        "{}",
        linked.body
    );
    assert!(!clears_session(&linked));
    let linked = b.get("/fr/session/timeout").await;
    assert!(!clears_session(&linked));
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    // And a post without the token, or from another site, is refused
    let forged = cross_site(&b, Method::POST, "/session/timeout", "x=1").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let csrf = b.csrf.clone().unwrap();
    let forged = cross_site(
        &b,
        Method::POST,
        "/session/timeout",
        &format!("csrf_token={csrf}"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let refused = b
        .send(Method::POST, "/session/timeout", Some(b"x=1".to_vec()))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/account").await.status, StatusCode::OK);
    // When the warning's form is posted with the token
    let token = b.cookies["__Host-session"].clone();
    let ended = b.post("/session/timeout", &[]).await;
    // Then the session ends on the server, the cookie is cleared, and the page says why
    assert_eq!(ended.status, StatusCode::OK);
    assert!(
        ended.body.contains("Your session has ended"),
        "{}",
        ended.body
    );
    assert!(clears_session(&ended) && !b.has_session());
    b.cookies.insert("__Host-session".into(), token);
    assert_eq!(b.get("/account").await.location(), "/sign-in?ended=1");
    // And without a session the link shows the ended page
    let after = b.get("/session/timeout").await;
    assert!(
        after.body.contains("Your session has ended"),
        "{}",
        after.body
    );
}

/// Posts the language form with `token` as the CSRF field.
async fn language_with(b: &mut Browser<'_>, token: &str) -> StatusCode {
    let saved = b.csrf.replace(token.to_owned());
    let answer = b
        .post("/language", &[("lang", "en"), ("return_to", "/")])
        .await;
    b.csrf = saved;
    answer.status
}

#[tokio::test]
async fn a_csrf_token_from_before_a_privilege_change_is_refused_after_it() {
    let site = site_with_clock();
    let mut owner = Browser::new(&site);
    let secret = sign_up_with_app(&mut owner, "", "noa@example.gov").await;
    // Given a browser that saw the sign-in page's token
    let mut b = Browser::new(&site);
    b.get("/sign-in").await;
    let anonymous = b.csrf.clone().unwrap();
    assert_eq!(
        language_with(&mut b, &anonymous).await,
        StatusCode::SEE_OTHER
    );
    // When the password is accepted (a pending session), that token is refused
    let step = b
        .post(
            "/sign-in",
            &[("email", "noa@example.gov"), ("password", GOOD)],
        )
        .await;
    assert_eq!(step.location(), "/sign-in/factor");
    assert_eq!(
        language_with(&mut b, &anonymous).await,
        StatusCode::FORBIDDEN
    );
    // And the factor step's token is refused once the sign-in completes
    b.get("/sign-in/totp").await;
    let pending = b.csrf.clone().unwrap();
    let done = b
        .post(
            "/sign-in/totp",
            &[("code", &site.totp(&secret)), ("return_to", "")],
        )
        .await;
    assert_eq!(done.location(), "/account");
    assert_eq!(language_with(&mut b, &pending).await, StatusCode::FORBIDDEN);
    assert_eq!(
        language_with(&mut b, &anonymous).await,
        StatusCode::FORBIDDEN
    );
    // And the signed-in token is refused after the factor is asked again
    site.advance(30);
    b.get("/account").await;
    let signed_in = b.csrf.clone().unwrap();
    assert_eq!(
        language_with(&mut b, &signed_in).await,
        StatusCode::SEE_OTHER
    );
    b.get("/sign-in/totp").await;
    let before_step_up = b.csrf.clone().unwrap();
    let again = b
        .post(
            "/sign-in/totp",
            &[("code", &site.totp(&secret)), ("return_to", "/account")],
        )
        .await;
    assert_eq!(again.location(), "/account");
    assert_eq!(
        language_with(&mut b, &before_step_up).await,
        StatusCode::FORBIDDEN
    );
    // And the last signed-in token is refused after signing out
    let page = b.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    let last = b.csrf.clone().unwrap();
    let out = b.post("/sign-out", &[]).await;
    assert_eq!(out.location(), "/sign-in?signed_out=1");
    assert_eq!(language_with(&mut b, &last).await, StatusCode::FORBIDDEN);
    // Then the pages after each change carry the new token, which works
    b.get("/sign-in?signed_out=1").await;
    let fresh = b.csrf.clone().unwrap();
    assert_eq!(language_with(&mut b, &fresh).await, StatusCode::SEE_OTHER);
}
