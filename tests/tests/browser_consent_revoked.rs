//! Consent revoked on the account page (OIDC-8), through the demo agency: after signing in
//! for the agency and agreeing to share, the person stops sharing with it on the account
//! page's connected agencies; the agency's next sign-in asks for consent again, and the
//! claims page follows. In English, French and Spanish; every Passerelle page on the way is
//! checked with axe-core.

use std::time::Instant;

use passerelle_e2e::agency;
use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{self, Journey};
use passerelle_e2e::stack::Stack;

async fn revoked_consent_is_asked_again(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    let m = journey.m;
    let mut person = agency::person_with_account(&mut journey, "ada@example.gov").await;

    // Signed in to the agency, sharing with it,
    agency::press_sign_in(&journey).await;
    agency::sign_in(&mut journey, &mut person, false).await;
    agency::consent(&mut journey, false).await;
    agency::claims(&journey, &person.email).await;

    // the account page lists the agency among the connected ones,
    journey.open("/account").await;
    browser.click_link(m.t("account-connected-link")).await;
    journey.arrive("/account/connected").await;
    assert_eq!(agency::text(&journey, "main h2").await, agency::AGENCY);

    // and the person stops sharing with it: the page says so and lists none.
    let revoke = m.t_args("connected-revoke", &[("agency", agency::AGENCY)]);
    browser.click_button(&revoke).await;
    journey.arrive("/account/connected").await;
    assert_eq!(
        agency::text(&journey, ".notice").await,
        m.t("connected-revoked")
    );
    let role: String = browser
        .eval("document.querySelector('.notice').getAttribute('role')")
        .await;
    assert_eq!(role, "status", "the notice is announced");
    assert!(
        browser.main_text().await.contains(m.t("connected-none")),
        "no agency is connected any more"
    );

    // The agency's button again: still signed in, so no password, but consent is asked
    // again before the agency gets anything.
    agency::press_sign_in(&journey).await;
    agency::consent(&mut journey, false).await;
    agency::claims(&journey, &person.email).await;

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_consent_is_asked_again_in_english() {
    revoked_consent_is_asked_again("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_consent_is_asked_again_in_french() {
    revoked_consent_is_asked_again("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_consent_is_asked_again_in_spanish() {
    revoked_consent_is_asked_again("es").await;
}
