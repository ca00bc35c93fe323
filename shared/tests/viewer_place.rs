//! The place in history and device lists (issue 17, item 5) comes only from a CDN the
//! deployment names (`PASSERELLE_CDN=cloudfront`): without one, CloudFront's viewer
//! headers sent by a client are dropped before anything reads them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use passerelle::config::Cdn;
use support::{Browser, GOOD, Site, sign_up_with_app, site_with_clock};

fn claims_springfield(b: &mut Browser<'_>) {
    b.extra_headers = vec![
        ("cloudfront-viewer-city", "Springfield".into()),
        ("cloudfront-viewer-country-name", "Freedonia".into()),
        ("cloudfront-viewer-country", "FD".into()),
    ];
}

/// Signs `email` up and in again from a browser that sends the viewer headers; returns
/// the account page, the history page and the mail sent.
async fn pages_after_sign_in(site: &Site, email: &str) -> (String, String, String) {
    let mut b = Browser::new(site);
    claims_springfield(&mut b);
    let secret = sign_up_with_app(&mut b, "", email).await;
    let mut c = Browser::new(site);
    claims_springfield(&mut c);
    c.get("/sign-in").await;
    c.post("/sign-in", &[("email", email), ("password", GOOD)])
        .await;
    c.get("/sign-in/totp").await;
    let done = c
        .post(
            "/sign-in/totp",
            &[("code", &site.totp(&secret)), ("return_to", "")],
        )
        .await;
    assert_eq!(done.location(), "/account");
    let account = c.get("/account").await.body;
    let history = c.get("/account/history").await.body;
    let mail: Vec<String> = site
        .mail_to(email)
        .await
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    (account, history, mail.join("\n"))
}

#[tokio::test]
async fn viewer_headers_a_client_sends_are_not_written_without_a_configured_cdn() {
    // Given a deployment that names no CDN (the default)
    let site = site_with_clock();
    assert_eq!(site.state.cdn, Cdn::None);
    // When a browser claims to be in Springfield, Freedonia
    let (account, history, mail) = pages_after_sign_in(&site, "sam@example.gov").await;
    // Then no page and no mail says so
    for (what, text) in [
        ("devices", &account),
        ("history", &history),
        ("mail", &mail),
    ] {
        assert!(!text.contains("Springfield"), "{what}: {text}");
        assert!(!text.contains("Freedonia"), "{what}: {text}");
    }
    assert!(history.contains("Firefox on Linux"), "{history}");
}

#[tokio::test]
async fn behind_cloudfront_its_viewer_headers_give_the_place() {
    // Given a deployment behind CloudFront (PASSERELLE_CDN=cloudfront)
    let mut site = site_with_clock();
    let mut state = site.state.clone();
    state.cdn = Cdn::CloudFront;
    site.router = passerelle::web::router(state.clone());
    site.state = state;
    // When the same sign-ins happen
    let (account, history, _) = pages_after_sign_in(&site, "sam@example.gov").await;
    // Then the place CloudFront gives is shown
    assert!(account.contains("Springfield, Freedonia"), "{account}");
    assert!(history.contains("Springfield, Freedonia"), "{history}");
}
