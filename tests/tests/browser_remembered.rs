//! A remembered browser (ACC-4), through the demo agency: signing in for the agency with
//! "remember this browser" ticked at the factor step, signing out, then signing in again
//! through the agency asks for the password only — no factor — and reaches the agency's
//! claims page. In English, French and Spanish; every Passerelle page on the way is checked
//! with axe-core.

use std::time::Instant;

use passerelle_e2e::agency;
use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{self, Journey};
use passerelle_e2e::stack::Stack;

async fn a_remembered_browser_is_not_asked_for_a_factor_again(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    // The consent and claims screenshots in French come from here (English ones from
    // `browser_end_session.rs`): each file is written by one test only.
    let screenshots = lang == "fr";
    let mut person = agency::person_with_account(&mut journey, "ada@example.gov").await;

    // The agency's button, the password, the app's code with "remember this browser"
    // ticked, consent: the agency's claims page.
    agency::press_sign_in(&journey).await;
    agency::sign_in(&mut journey, &mut person, true).await;
    agency::consent(&mut journey, screenshots).await;
    agency::claims(&journey, &person.email).await;
    if screenshots {
        journey.screenshot("demo-claims").await;
    }

    // Signed out of Passerelle (the header's button on the account page),
    journey.open("/account").await;
    journey.sign_out().await;

    // the agency's button again: the password alone leads back to the agency, without
    // the factor step (and without consent, already given).
    agency::press_sign_in(&journey).await;
    journey.arrive("/sign-in").await;
    agency::submit_password(&mut journey, &person.email, &person.password).await;
    // The one navigation after the password button ends on the agency's page: no
    // factor page came between.
    agency::claims(&journey, &person.email).await;

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_browser_is_not_asked_for_a_factor_again_in_english() {
    a_remembered_browser_is_not_asked_for_a_factor_again("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_browser_is_not_asked_for_a_factor_again_in_french() {
    a_remembered_browser_is_not_asked_for_a_factor_again("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_browser_is_not_asked_for_a_factor_again_in_spanish() {
    a_remembered_browser_is_not_asked_for_a_factor_again("es").await;
}
