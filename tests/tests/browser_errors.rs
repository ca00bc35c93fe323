//! Errors on forms, in a real browser, on the way from the demo agency's button to its
//! claims page, in English, French and Spanish: an empty sign-in form, an address that is
//! not one on "forgot your password", a wrong password and a wrong app code. Each time the
//! page is checked with axe-core with its errors shown, and each error must be announced
//! (an error summary with `role="alert"` that takes the focus, titled "There is a
//! problem") and linked to its field (the summary's link points at the field's id; the
//! field is `aria-invalid` and described by the same message).

use std::time::Instant;

use passerelle_e2e::agency;
use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{self, Journey};
use passerelle_e2e::stack::Stack;

async fn errors_are_announced_and_linked(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    let m = journey.m;
    let mut person = agency::person_with_account(&mut journey, "ada@example.gov").await;

    // The agency's button; the sign-in form sent empty: both fields are asked for.
    agency::press_sign_in(&journey).await;
    journey.arrive("/sign-in").await;
    browser.click_button(m.t("signin-submit")).await;
    journey.arrive("/sign-in").await;
    agency::assert_errors_announced(
        &journey,
        &[
            ("email", m.t("email-missing")),
            ("password", m.t("password-missing")),
        ],
    )
    .await;

    // "Forgot your password" with something that is not an address.
    browser.click_link(m.t("signin-forgot")).await;
    journey.arrive("/forgot-password").await;
    browser.fill(m.t("field-email"), "ada.example.gov").await;
    browser.click_button(m.t("forgot-submit")).await;
    journey.arrive("/forgot-password").await;
    agency::assert_errors_announced(&journey, &[("email", m.t("email-invalid"))]).await;

    // Back to sign-in: a wrong password, said without telling which part is wrong.
    journey.open("/sign-in").await;
    agency::submit_password(&mut journey, &person.email, "not the password at all").await;
    journey.arrive("/sign-in").await;
    agency::assert_errors_announced(&journey, &[("email", m.t("signin-failed"))]).await;
    let kept: String = browser.eval("document.getElementById('email').value").await;
    assert_eq!(kept, person.email, "the address is kept");

    // The right password, then a wrong app code.
    agency::submit_password(&mut journey, &person.email, &person.password).await;
    journey.arrive("/sign-in/totp").await;
    let wrong = person.app.wrong_code(stack.now_secs());
    browser.fill(m.t("mfa-code-label"), &wrong).await;
    browser.click_button(m.t("mfa-code-submit")).await;
    journey.arrive("/sign-in/totp").await;
    agency::assert_errors_announced(&journey, &[("code", m.t("mfa-code-wrong"))]).await;
    journey.screenshot("error-wrong-code").await;

    // The right code: on to consent and the agency.
    agency::enter_app_code(&mut journey, &mut person, false).await;
    agency::consent(&mut journey, false).await;
    agency::claims(&journey, &person.email).await;

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_announced_and_linked_in_english() {
    errors_are_announced_and_linked("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_announced_and_linked_in_french() {
    errors_are_announced_and_linked("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_announced_and_linked_in_spanish() {
    errors_are_announced_and_linked("es").await;
}
