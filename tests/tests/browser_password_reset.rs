//! Password reset (ACC-5) through the demo agency: from the sign-in page the agency's
//! button led to, "forgot your password", the link from the mail, a new password, then
//! the old password is refused (the error announced and linked to its field), the new one
//! and the app's code lead on to consent and the agency's claims page.
//!
//! For an account with a verified identity: the reset turns the identity off
//! (IDV-8), so the agency's request for a verified identity leads, after sign-in, to the
//! page that turns it back on with the personal key kept at verification and the new
//! password — a wrong key is refused first — then a new personal key, and the agency
//! receives the verified claims again.
//!
//! Both in English, French and Spanish; every Passerelle page on the way is checked with
//! axe-core.

use std::time::Instant;

use passerelle_e2e::agency;
use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{self, Journey, Person};
use passerelle_e2e::stack::Stack;

const NEW_PASSWORD: &str = "purple elephant tangerine umbrella";

/// From the sign-in page: "forgot your password", the mail's link, the new password; ends
/// back on the sign-in page. The person's password is the new one.
async fn reset_password(journey: &mut Journey<'_>, person: &mut Person) {
    let (b, m) = (journey.browser, journey.m);
    b.click_link(m.t("signin-forgot")).await;
    journey.arrive("/forgot-password").await;
    b.fill(m.t("field-email"), &person.email).await;
    b.click_button(m.t("forgot-submit")).await;
    journey.arrive("/forgot-password").await;
    assert_eq!(agency::text(journey, "h1").await, m.t("check-email-title"));

    let link = journey
        .stack
        .link_in_mail(&person.email, "/reset-password")
        .await;
    assert!(
        link.starts_with(&journey.stack.url(&journey.href("/reset-password"))),
        "the mail links to the reset page, in this language: {link}"
    );
    b.goto(&link).await;
    journey.arrive("/reset-password").await;
    assert_eq!(agency::text(journey, "h1").await, m.t("reset-title"));
    b.fill(m.t("field-new-password"), NEW_PASSWORD).await;
    b.click_button(m.t("reset-submit")).await;
    journey.arrive("/reset-password").await;
    assert_eq!(
        agency::text(journey, "h1").await,
        m.t("password-changed-title")
    );
    b.click_link(m.t("nav-sign-in")).await;
    journey.arrive("/sign-in").await;
    person.password = NEW_PASSWORD.to_owned();
}

async fn a_forgotten_password_is_reset_on_the_way_to_the_agency(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    let m = journey.m;
    let mut person = agency::person_with_account(&mut journey, "ada@example.gov").await;
    let old_password = person.password.clone();

    // The agency's button, then "forgot your password" on the sign-in page,
    agency::press_sign_in(&journey).await;
    journey.arrive("/sign-in").await;
    reset_password(&mut journey, &mut person).await;

    // the old password no longer opens the account,
    agency::submit_password(&mut journey, &person.email, &old_password).await;
    journey.arrive("/sign-in").await;
    agency::assert_errors_announced(&journey, &[("email", m.t("signin-failed"))]).await;

    // the new one and the app's code lead on to the agency.
    agency::sign_in(&mut journey, &mut person, false).await;
    agency::consent(&mut journey, false).await;
    agency::claims(&journey, &person.email).await;

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

async fn after_a_reset_the_personal_key_turns_the_verified_identity_back_on(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    let m = journey.m;
    let dir = tempfile::tempdir().expect("a folder for the ID's photos");

    // Someone who verified their identity for the agency, and signed out,
    let mut person = journey.sign_up_with_app("grace@example.gov").await;
    agency::start_at_level(&journey, "verified").await;
    let first_key = agency::verify_identity(&mut journey, dir.path()).await;
    agency::consent(&mut journey, false).await;
    assert!(
        agency::claims(&journey, &person.email)
            .await
            .contains("Hopper")
    );
    journey.open("/account").await;
    journey.sign_out().await;

    // resets their password on the way back to the agency, and signs in with it;
    agency::start_at_level(&journey, "verified").await;
    journey.arrive("/sign-in").await;
    reset_password(&mut journey, &mut person).await;
    agency::sign_in(&mut journey, &mut person, false).await;

    // their identity is off: the agency's request leads to turning it back on,
    journey.arrive("/authorize/resume").await;
    browser.click_link(m.t("authorize-verify-now")).await;
    journey.arrive("/verify/reactivate").await;
    assert_eq!(
        agency::text(&journey, "h1").await,
        m.t("verify-reactivate-title")
    );

    // where a wrong personal key is refused, the error announced and linked to its field,
    browser
        .fill(m.t("verify-reactivate-key-label"), "ABCD-EFGH-JK01-MNPQ")
        .await;
    browser
        .fill(m.t("verify-password-label"), &person.password)
        .await;
    browser.click_button(m.t("verify-reactivate-submit")).await;
    journey.arrive("/verify/reactivate").await;
    agency::assert_errors_announced(
        &journey,
        &[("personal_key", m.t("verify-reactivate-key-wrong"))],
    )
    .await;

    // and the right one, with the new password, turns it back on with a new key;
    browser
        .fill(m.t("verify-reactivate-key-label"), &first_key)
        .await;
    browser
        .fill(m.t("verify-password-label"), &person.password)
        .await;
    browser.click_button(m.t("verify-reactivate-submit")).await;
    journey.arrive("/verify/personal-key").await;
    let second_key = agency::text(&journey, "#personal-key").await;
    assert_eq!(second_key.len(), 19, "a new key: {second_key}");
    assert_ne!(second_key, first_key, "the old key opens nothing any more");
    browser.check(m.t("verify-key-ack-label")).await;
    browser.click_button(m.t("verify-continue")).await;

    // the agency receives the verified claims again (the same verification, already
    // consented to: no consent page).
    let claims = agency::claims(&journey, &person.email).await;
    assert!(claims.contains("Hopper"), "{claims}");

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_on_the_way_to_the_agency_in_english() {
    a_forgotten_password_is_reset_on_the_way_to_the_agency("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_on_the_way_to_the_agency_in_french() {
    a_forgotten_password_is_reset_on_the_way_to_the_agency("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_on_the_way_to_the_agency_in_spanish() {
    a_forgotten_password_is_reset_on_the_way_to_the_agency("es").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reset_the_personal_key_turns_the_verified_identity_back_on_in_english() {
    after_a_reset_the_personal_key_turns_the_verified_identity_back_on("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reset_the_personal_key_turns_the_verified_identity_back_on_in_french() {
    after_a_reset_the_personal_key_turns_the_verified_identity_back_on("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reset_the_personal_key_turns_the_verified_identity_back_on_in_spanish() {
    after_a_reset_the_personal_key_turns_the_verified_identity_back_on("es").await;
}
