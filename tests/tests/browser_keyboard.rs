//! Keyboard only: setting up an authentication app and signing in with Tab, typing and
//! Enter. Tab reaches every control in reading order, each showing a visible focus
//! indicator (`:focus-visible`, at least 2 px, 3:1 against its surroundings), and Enter
//! follows links and submits forms; in English, French and Spanish.

use passerelle_e2e::browser::{Browser, Focused};
use passerelle_e2e::journey::Journey;
use passerelle_e2e::stack::Stack;

/// Tabs to the element `wanted` describes, failing if any stop on the way (the wanted
/// one included) had no visible focus indicator.
async fn tab_to(browser: &Browser, wanted: impl Fn(&Focused) -> bool, what: &str) -> Vec<Focused> {
    let stops = browser.tab_to(wanted, what).await;
    let invisible: Vec<String> = stops
        .iter()
        .filter(|f| !f.is_visible())
        .map(|f| format!("  {f}"))
        .collect();
    assert!(
        invisible.is_empty(),
        "no visible focus on the way to {what} at {}:\n{}",
        browser.url().await,
        invisible.join("\n")
    );
    stops
}

async fn app_set_up_and_sign_in_by_keyboard_only(lang: &str) {
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    journey.axe = false;
    let m = journey.m;
    let email = "alan@example.gov";
    journey.sign_up_to_factor_choice(email).await;

    // Factor set-up: the app's link, then its name and code, Enter to add it.
    tab_to(
        &browser,
        |f| f.tag == "a" && f.text == m.t("mfa-choice-totp-title"),
        "the app's link",
    )
    .await;
    browser.press_enter_and_wait().await;
    journey.arrive("/mfa/totp").await;
    let key = browser.text_of("#totp-secret").await.expect("the key");
    let mut app = passerelle_e2e::totp::App::from_base32(&key).unwrap();
    tab_to(&browser, |f| f.id == "name", "the app's name").await;
    browser.type_text("Phone").await;
    let next = tab_to(&browser, |f| f.id == "code", "the code").await;
    assert_eq!(next.len(), 1, "the code comes right after the name");
    browser.type_text(&app.code(stack.now_secs())).await;
    browser.press_enter_and_wait().await;
    journey.arrive("/mfa/setup").await;
    tab_to(
        &browser,
        |f| f.text == m.t("mfa-continue-to-account"),
        "on to the account",
    )
    .await;
    browser.press_enter_and_wait().await;
    journey.arrive("/account").await;

    // Sign out with the header's button.
    tab_to(&browser, |f| f.text == m.t("nav-sign-out"), "sign out").await;
    browser.press_enter_and_wait().await;
    journey.arrive("/sign-in").await;

    // Sign in: from the top of a fresh page, Tab reaches email, password and the button in
    // that order, with nothing between them.
    journey.open("/sign-in").await;
    let to_email = tab_to(&browser, |f| f.id == "email", "the email field").await;
    assert_eq!(
        to_email.first().map(|f| f.text.as_str()),
        Some(m.t("skip-to-content")),
        "the first stop is the skip link"
    );
    browser.type_text(email).await;
    let to_password = tab_to(&browser, |f| f.id == "password", "the password field").await;
    assert_eq!(
        to_password.len(),
        1,
        "the password comes right after the email"
    );
    browser.type_text(journey_password()).await;
    let to_submit = tab_to(&browser, |f| f.tag == "button", "the sign-in button").await;
    assert_eq!(
        to_submit.len(),
        1,
        "the button comes right after the password"
    );
    assert_eq!(to_submit[0].text, m.t("signin-submit"));
    browser.press_enter_and_wait().await;

    // The code, typed and submitted with Enter from its field.
    journey.arrive("/sign-in/totp").await;
    tab_to(&browser, |f| f.id == "code", "the code field").await;
    browser.type_text(&app.code(stack.now_secs())).await;
    browser.press_enter_and_wait().await;
    journey.arrive("/account").await;

    browser.close().await;
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_set_up_and_sign_in_by_keyboard_only_in_english() {
    app_set_up_and_sign_in_by_keyboard_only("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_set_up_and_sign_in_by_keyboard_only_in_french() {
    app_set_up_and_sign_in_by_keyboard_only("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_set_up_and_sign_in_by_keyboard_only_in_spanish() {
    app_set_up_and_sign_in_by_keyboard_only("es").await;
}

fn journey_password() -> &'static str {
    passerelle_e2e::journey::PASSWORD
}
