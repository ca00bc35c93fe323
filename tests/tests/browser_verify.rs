//! In a real browser: the demo agency asks for a verified identity, and a newcomer goes
//! through the whole verification with the mock vendors — the ID photos chosen in the file
//! inputs, the checks-in-progress pages moved on by `verify_poll.js`, the SSN, the review,
//! the phone, the password, the personal key — then consents and sees the verified claims
//! on the agency's page. In English, French and Spanish (the agency's button for the
//! language); every Passerelle page on the way is checked with axe-core and for message ids
//! shown instead of text.

use std::time::Instant;

use passerelle_e2e::agency;
use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{self, Journey, PASSWORD};
use passerelle_e2e::stack::Stack;

/// Waits for the checks-in-progress page's script to move on to `path` (in the journey's
/// language; or for the page itself to send there, when the checks ended before it
/// loaded), then checks that page.
async fn moved_on_to(journey: &mut Journey<'_>, path: &str) {
    journey
        .browser
        .wait_for_path(&journey.href(path), "the checks end and the page moves on")
        .await;
    journey.arrive(path).await;
}

async fn a_newcomer_verifies_their_identity_for_the_demo_agency(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    let m = journey.m;
    // The verification screenshots are English only (`verify-*-en.png`,
    // `demo-verified-claims-en.png`).
    let screenshots = lang == "en";

    // Given a newcomer with an account and an app, whom the demo agency asks for a
    // verified identity,
    journey.sign_up_with_app("grace@example.gov").await;
    agency::start_at_level(&journey, "verified").await;
    journey.arrive("/authorize/resume").await;
    let needs = m.t_args(
        "authorize-needs-verification",
        &[("agency", agency::AGENCY)],
    );
    let shown = browser.main_text().await;
    assert!(shown.contains(&needs), "{needs:?} in {shown}");

    // when they agree to the checks,
    browser.click_link(m.t("authorize-verify-now")).await;
    journey.arrive("/verify").await;
    browser.check(m.t("verify-consent-label")).await;
    browser.click_button(m.t("verify-intro-start")).await;
    journey.arrive("/verify/document").await;

    // choose the two photos of their ID (the back's barcode carries the details),
    let dir = tempfile::tempdir().unwrap();
    let front = dir.path().join("front.jpg");
    let back = dir.path().join("back.png");
    std::fs::write(&front, passerelle_local::vendors::sample_front()).unwrap();
    std::fs::write(
        &back,
        passerelle_local::vendors::sample_back(&agency::grace_hopper()),
    )
    .unwrap();
    browser.choose_files("input[name=front]", &[&front]).await;
    browser.choose_files("input[name=back]", &[&back]).await;
    browser.click_button(m.t("verify-document-submit")).await;
    moved_on_to(&mut journey, "/verify/ssn").await;

    // give their SSN, confirm what the ID says,
    browser.fill(m.t("verify-ssn-label"), "900-12-0987").await;
    browser.click_button(m.t("verify-continue")).await;
    journey.arrive("/verify/review").await;
    let review: String = browser
        .eval("document.querySelector('.summary-list strong').textContent")
        .await;
    assert_eq!(review, "Grace", "the ID's details, shown as read");
    let editable: bool = browser
        .eval("document.querySelector('input[name=given_name]') !== null")
        .await;
    assert!(!editable, "what the ID says cannot be changed here");
    browser.click_button(m.t("verify-review-submit")).await;
    moved_on_to(&mut journey, "/verify/address").await;

    // confirm their address with a phone in their name,
    browser.check(m.t("verify-address-by-phone")).await;
    browser
        .fill(m.t("verify-address-phone-label"), "703-555-0188")
        .await;
    browser.click_button(m.t("verify-continue")).await;
    moved_on_to(&mut journey, "/verify/password").await;

    // and seal it all with their password, keeping the personal key,
    browser.fill(m.t("verify-password-label"), PASSWORD).await;
    browser.click_button(m.t("verify-password-submit")).await;
    journey.arrive("/verify/personal-key").await;
    let key = browser.text_of("#personal-key").await.unwrap_or_default();
    assert_eq!(key.trim().len(), 19, "a 16-character key in groups: {key}");
    if screenshots {
        journey.screenshot("verify-personal-key").await;
    }
    browser.check(m.t("verify-key-ack-label")).await;
    browser.click_button(m.t("verify-continue")).await;

    // then the agency's request goes on to consent,
    journey.arrive("/authorize/consent").await;
    let consent = browser.main_text().await;
    assert!(consent.contains("Demo Agency"), "{consent}");
    if screenshots {
        journey.screenshot("verify-consent").await;
    }
    browser.click_button(m.t("consent-allow")).await;

    // and the agency shows the verified claims it received.
    browser.assert_path("/demo/callback").await;
    let claims = browser.text_of("#claims").await.unwrap_or_default();
    for shown in [
        "Grace",
        "Hopper",
        "1986-12-09",
        "1200 Navy Pier Road",
        "900-12-0987",
        "+17035550188",
    ] {
        assert!(claims.contains(shown), "{shown} in {claims}");
    }
    if screenshots {
        journey.screenshot("demo-verified-claims").await;
    }

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_verifies_their_identity_for_the_demo_agency_in_english() {
    a_newcomer_verifies_their_identity_for_the_demo_agency("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_verifies_their_identity_for_the_demo_agency_in_french() {
    a_newcomer_verifies_their_identity_for_the_demo_agency("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_verifies_their_identity_for_the_demo_agency_in_spanish() {
    a_newcomer_verifies_their_identity_for_the_demo_agency("es").await;
}
