//! In a real browser, in each of the site's languages: sign up with an authentication app
//! from the home page (the confirmation link from the outbox, the app's code computed from
//! the key the page shows), sign out, and sign in again with a fresh code. Every page on
//! the way is checked for WCAG 2.0/2.1 A and AA violations (axe-core) and for message ids
//! shown instead of text.

use std::time::Instant;

use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{self, Journey};
use passerelle_e2e::stack::Stack;

async fn sign_up_with_an_app_then_sign_in_again(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    journey.screenshots = true;

    let mut person = journey
        .sign_up_with_app(&format!("ada.{lang}@example.gov"))
        .await;
    let methods = browser
        .text_of("#factors-title + ul")
        .await
        .unwrap_or_default();
    assert!(
        methods.contains(journey.m.t("factor-kind-totp")),
        "the account page lists the app: {methods}"
    );
    journey.sign_out().await;
    journey.sign_in_with_app(&mut person).await;

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_english() {
    sign_up_with_an_app_then_sign_in_again("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_french() {
    sign_up_with_an_app_then_sign_in_again("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_spanish() {
    sign_up_with_an_app_then_sign_in_again("es").await;
}
