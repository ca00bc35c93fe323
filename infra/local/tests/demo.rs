//! The newcomer's journey of issue 5 over real HTTP: the local stack as `cargo run` serves
//! it, the demo agency's button, sign-up with an authentication app, consent, and the
//! claims page of the demo agency, which itself called the token, JWKS and userinfo
//! endpoints over the network and checked the ID token.

mod support;

use reqwest::StatusCode;
use support::{Stack, sign_up_with_app};

#[tokio::test]
async fn a_newcomer_signs_up_through_the_demo_agency_and_sees_their_claims() {
    // Given the local stack, demo agency included, on a real socket,
    let stack = Stack::start().await;
    let base = stack.base.clone();
    let mut person = stack.person();

    // when a newcomer presses the demo agency's button, they reach the sign-in page,
    let home = person.get("/demo/").await;
    assert!(home.body.contains("Sign in with Passerelle"));
    // (the sample ID for trying verification is served beside it,)
    for (path, magic) in [
        ("/demo/sample-id/front.jpg", &[0xff, 0xd8][..]),
        ("/demo/sample-id/back.png", &b"\x89PNG"[..]),
    ] {
        let image = person.http.get(person.url(path)).send().await.unwrap();
        assert_eq!(image.status(), StatusCode::OK, "{path}");
        let bytes = image.bytes().await.unwrap();
        assert!(bytes.starts_with(magic), "{path}");
        assert!(
            passerelle::idv::uploads::check_image(&bytes).is_ok(),
            "{path} passes the checks"
        );
    }
    let start = person.get("/demo/start").await;
    assert!(
        start.location.starts_with(&format!("{base}/authorize?")),
        "{}",
        start.location
    );
    let sign_in = person.open(&start.location).await;
    assert!(
        sign_in.body.contains("name=\"password\""),
        "{}",
        sign_in.body
    );

    // create an account with the emailed link (delivered by the in-process worker) and
    // add an authentication app,
    let (_, added) = sign_up_with_app(&stack, &mut person, "newcomer@example.com").await;
    assert_eq!(
        added.location, "/authorize/resume",
        "back to the agency's request"
    );

    // and consent,
    let consent = person.open(&added.location).await;
    assert!(
        consent
            .body
            .contains("Demo Agency asks for your information"),
        "{}",
        consent.body
    );
    let allowed = person
        .post("/authorize/consent", &[("decision", "allow")])
        .await;
    assert!(
        allowed
            .location
            .starts_with(&format!("{base}/demo/callback?code=")),
        "{}",
        allowed.location
    );

    // then the demo agency shows the claims it received.
    let claims = person.get(&allowed.location).await;
    assert_eq!(claims.status, StatusCode::OK, "{}", claims.body);
    assert!(claims.body.contains("You are signed in to the Demo Agency"));
    assert!(claims.body.contains("newcomer@example.com"));
    assert!(claims.body.contains("urn:acr.login.gov:auth-only"));

    stack.stop().await;
}
