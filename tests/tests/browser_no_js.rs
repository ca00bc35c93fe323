//! With JavaScript turned off in the browser, the site still works: sign-up, setting up an
//! authentication app, the account page, sign-out and sign-in are plain HTML forms and
//! links. Each page is checked to have really run without the site's script. In English,
//! French and Spanish.

use passerelle_e2e::browser::Browser;
use passerelle_e2e::journey::Journey;
use passerelle_e2e::stack::Stack;

async fn sign_up_app_set_up_account_and_sign_in_work_without_javascript(lang: &str) {
    let stack = Stack::start().await;
    let browser = Browser::launch(stack.base()).await;
    browser.disable_javascript().await;
    let mut journey = Journey::new(&stack, &browser, lang);
    // axe-core itself needs scripts; the pages are checked with them in browser_sign_up.
    journey.axe = false;

    let mut person = journey.sign_up_with_app("hedy@example.gov").await;
    assert!(!browser.script_ran().await, "the page's script was off");
    // A form on the account page works too: rename the app.
    let m = journey.m;
    browser
        .fill(m.t("account-factor-new-name"), "Work phone")
        .await;
    browser.click_button(m.t("account-factor-rename")).await;
    journey.arrive("/account").await;
    let methods = browser
        .text_of("#factors-title + ul")
        .await
        .unwrap_or_default();
    assert!(methods.contains("Work phone"), "renamed: {methods}");
    journey.sign_out().await;
    journey.sign_in_with_app(&mut person).await;
    assert!(!browser.script_ran().await, "the page's script was off");
    let account = journey.href("/account");
    assert_eq!(
        journey
            .visited
            .iter()
            .filter(|p| p.starts_with(&account))
            .count(),
        3,
        "{:?}",
        journey.visited
    );

    browser.close().await;
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_app_set_up_account_and_sign_in_work_without_javascript_in_english() {
    sign_up_app_set_up_account_and_sign_in_work_without_javascript("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_app_set_up_account_and_sign_in_work_without_javascript_in_french() {
    sign_up_app_set_up_account_and_sign_in_work_without_javascript("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_app_set_up_account_and_sign_in_work_without_javascript_in_spanish() {
    sign_up_app_set_up_account_and_sign_in_work_without_javascript("es").await;
}
