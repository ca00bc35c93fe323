//! Passkeys and security keys in a real browser (MFA-1), through CDP's virtual
//! authenticator (CTAP 2.1, resident keys, user verification that succeeds): sign up
//! registering a face-or-touch-unlock passkey (an internal authenticator) or a security key
//! (a USB one), sign out, and sign in with it. The pages are at `http://localhost:<port>`,
//! the only plain-HTTP origin where browsers allow WebAuthn; every page passes axe-core.

use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::{Journey, PASSWORD};
use passerelle_e2e::stack::Stack;

async fn sign_up_with_a_passkey_then_sign_in_with_it(lang: &str, platform: bool) {
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let authenticator = browser.add_virtual_authenticator(platform).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    let m = journey.m;
    let email = format!("katherine.{lang}@example.gov");

    journey.sign_up_to_factor_choice(&email).await;
    let (choice, start) = if platform {
        (
            "mfa-choice-webauthn-platform-title",
            "mfa-webauthn-start-platform",
        )
    } else {
        ("mfa-choice-webauthn-key-title", "mfa-webauthn-start-key")
    };
    browser.click_link(m.t(choice)).await;
    journey.arrive("/mfa/webauthn").await;
    journey.screenshot("passkey-setup").await;
    browser.fill(m.t("mfa-webauthn-name-label"), "Laptop").await;
    browser.click_button(m.t("mfa-webauthn-continue")).await;
    journey.arrive("/mfa/webauthn").await;
    // The page's script asks the authenticator, then posts its answer.
    browser.click_button(m.t(start)).await;
    journey.arrive("/mfa/setup").await;
    let credentials = browser.authenticator_credentials(&authenticator).await;
    assert_eq!(
        credentials.len(),
        1,
        "one credential registered: {credentials:?}"
    );
    assert_eq!(
        credentials[0].1, "localhost",
        "for the site's relying-party id"
    );
    journey.continue_to_account().await;

    journey.sign_out().await;
    browser.fill(m.t("field-email"), &email).await;
    browser.fill(m.t("field-password"), PASSWORD).await;
    browser.click_button(m.t("signin-submit")).await;
    // The phishing-resistant method is offered first.
    journey.arrive("/sign-in/webauthn").await;
    browser.click_button(m.t("signin-webauthn-start")).await;
    journey.arrive("/account").await;

    browser.close().await;
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn face_or_touch_unlock_in_english() {
    sign_up_with_a_passkey_then_sign_in_with_it("en", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn face_or_touch_unlock_in_french() {
    sign_up_with_a_passkey_then_sign_in_with_it("fr", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_key_in_spanish() {
    sign_up_with_a_passkey_then_sign_in_with_it("es", false).await;
}
