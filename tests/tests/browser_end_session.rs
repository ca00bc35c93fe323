//! Signing out from the agency (RP-Initiated Logout): on the demo agency's claims page its
//! "Sign out" link leads to Passerelle's confirmation page, which names the agency; signing
//! out there sends the person back to the agency's registered address, and the agency's
//! next sign-in asks for the password again. In English, French and Spanish: the agency's
//! link names the language the sign-in was started in (`ui_locales`), so the confirmation
//! comes up in it, at its address (`/fr/end-session`). Every Passerelle page on the way is
//! checked with axe-core.

use std::time::Instant;

use passerelle_e2e::agency;
use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{self, Journey};
use passerelle_e2e::stack::{Stack, StackOptions};

async fn signing_out_from_the_agency_ends_the_passerelle_session(lang: &str) {
    let started = Instant::now();
    // The server's clock is the test's: a third app code needs the next 30-second step
    // (the site takes each step once), which the test moves to instead of waiting. It is
    // brought up to the machine's time before each return to the agency, whose token
    // request is signed with the machine's clock.
    let stack = Stack::start_with(StackOptions {
        manual_clock: true,
        ..StackOptions::default()
    })
    .await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    // The English consent, claims and end-session screenshots come from here (the French
    // consent and claims from `browser_remembered.rs`): each file is written by one test.
    let screenshots = lang == "en";
    let m = journey.m;
    let mut person = agency::person_with_account(&mut journey, "ada@example.gov").await;

    // Signed in to the agency through Passerelle,
    agency::press_sign_in(&journey).await;
    agency::sign_in(&mut journey, &mut person, false).await;
    agency::catch_up_clock(&stack);
    agency::consent(&mut journey, screenshots).await;
    agency::claims(&journey, &person.email).await;
    if screenshots {
        journey.screenshot("demo-claims").await;
    }

    // the agency's "Sign out" (its page is in English; the link names the journey's
    // language) leads to Passerelle's confirmation in that language, naming the agency,
    browser.click_link("Sign out").await;
    journey.arrive("/end-session").await;
    assert_eq!(agency::text(&journey, "h1").await, m.t("end-session-title"));
    assert_eq!(
        agency::text(&journey, "main .lead").await,
        m.t_args("end-session-lead-agency", &[("agency", agency::AGENCY)])
    );
    if screenshots {
        journey.screenshot("end-session").await;
    }

    // and signing out there returns to the agency's home, with the agency's state.
    browser.click_button(m.t("end-session-submit")).await;
    browser.assert_path("/demo/").await;
    let query: String = browser.eval("location.search").await;
    assert!(query.starts_with("?state="), "the agency's state: {query}");

    // Passerelle's session has ended: the agency's next sign-in asks for the password,
    // then the factor (consent was given already), 30 s later for the app's next code.
    agency::catch_up_clock(&stack);
    stack.advance(30);
    agency::press_sign_in(&journey).await;
    agency::sign_in(&mut journey, &mut person, false).await;
    agency::claims(&journey, &person.email).await;

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_from_the_agency_ends_the_passerelle_session_in_english() {
    signing_out_from_the_agency_ends_the_passerelle_session("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_from_the_agency_ends_the_passerelle_session_in_french() {
    signing_out_from_the_agency_ends_the_passerelle_session("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_from_the_agency_ends_the_passerelle_session_in_spanish() {
    signing_out_from_the_agency_ends_the_passerelle_session("es").await;
}
