//! Lockout after 10 wrong codes (MFA-6), through the demo agency: at the factor step,
//! each wrong app code is announced and linked to the field; with 3 tries left the page
//! warns; the 10th wrong code leads to the lock page (429, "please wait", checked with
//! axe-core), and even the right code is refused while the lock lasts. Once the lock is
//! over (the server's clock moved on 10 minutes), signing in works and the agency's
//! claims page follows. In English, French and Spanish.
//!
//! The server's clock is the test's, started 11 minutes in the past and brought back to
//! the machine's time after the lock: the demo agency signs its token request with the
//! machine's clock, which the token endpoint compares with the server's.

use std::time::Instant;

use chromiumoxide::cdp::browser_protocol::network::EventResponseReceived;
use chromiumoxide::listeners::EventStream;
use futures::StreamExt;
use passerelle::clock::{Clock, SystemClock};
use passerelle_e2e::agency;
use passerelle_e2e::browser::{Browser, TIMEOUT};
use passerelle_e2e::journey::{self, Journey};
use passerelle_e2e::stack::{Stack, StackOptions};

/// MFA-6: the 10th wrong code within 10 minutes locks factor entry for 10 minutes.
const TRIES: usize = 10;
const LOCK_SECS: i64 = 10 * 60;

/// How the tries-left warning and the lock page say "10 minutes" in `lang` (the lock
/// page's message chooses its plural, which `Messages::t_args` does not).
fn ten_minutes(lang: &str) -> (&'static str, &'static str) {
    match lang {
        "fr" => ("10 minutes", "Réessayez dans 10 minutes"),
        "es" => ("10 minutos", "Vuelva a intentarlo en 10 minutos"),
        _ => ("10 minutes", "Try again in 10 minutes"),
    }
}

/// The status of the next response whose URL ends with `path`.
async fn status_of(responses: &mut EventStream<EventResponseReceived>, path: &str) -> i64 {
    let wait = async {
        while let Some(event) = responses.next().await {
            if event.response.url.ends_with(path) {
                return event.response.status;
            }
        }
        panic!("the browser went away before {path} answered");
    };
    tokio::time::timeout(TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| panic!("no answer to {path} within {TIMEOUT:?}"))
}

async fn ten_wrong_codes_lock_the_factor_step_until_the_lock_ends(lang: &str) {
    let started = Instant::now();
    let stack = Stack::start_with(StackOptions {
        manual_clock: true,
        ..StackOptions::default()
    })
    .await;
    stack.advance(-(LOCK_SECS + 60));
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    let m = journey.m;
    let (minutes, try_again) = ten_minutes(lang);
    let mut person = agency::person_with_account(&mut journey, "ada@example.gov").await;

    // The agency's button, the right password, then wrong codes at the factor step.
    agency::press_sign_in(&journey).await;
    journey.arrive("/sign-in").await;
    agency::submit_password(&mut journey, &person.email, &person.password).await;
    journey.arrive("/sign-in/totp").await;
    let totp = journey.href("/sign-in/totp");
    for n in 1..TRIES {
        let wrong = person.app.wrong_code(stack.now_secs());
        browser.fill(m.t("mfa-code-label"), &wrong).await;
        browser.click_button(m.t("mfa-code-submit")).await;
        // Each is announced, linked to the field (and the page checked by axe-core with
        // its error shown, the first time and when the warning appears).
        journey.axe = n == 1 || n == TRIES - 3;
        journey.arrive("/sign-in/totp").await;
        agency::assert_errors_announced(&journey, &[("code", m.t("mfa-code-wrong"))]).await;
        let warning = agency::text(&journey, ".notice--warning").await;
        if n >= TRIES - 3 {
            // 3 tries left, then 2, then 1: said in a status message.
            let left = (TRIES - n).to_string();
            assert!(
                warning.contains(&left) && warning.contains(minutes),
                "after {n} wrong codes, the warning says {left} tries are left: {warning:?}"
            );
            let role: String = browser
                .eval("document.querySelector('.notice--warning').getAttribute('role')")
                .await;
            assert_eq!(role, "status");
        } else {
            assert!(warning.is_empty(), "no warning yet after {n}: {warning}");
        }
    }
    journey.axe = true;

    // The 10th wrong code: the lock page, a 429 saying to wait 10 minutes.
    let mut responses = browser.responses().await;
    let wrong = person.app.wrong_code(stack.now_secs());
    browser.fill(m.t("mfa-code-label"), &wrong).await;
    browser.click_button(m.t("mfa-code-submit")).await;
    assert_eq!(status_of(&mut responses, &totp).await, 429);
    journey.arrive("/sign-in/totp").await;
    let title = m.t("error-rate-limited-title");
    assert_eq!(agency::text(&journey, "h1").await, title);
    assert!(
        browser.title().await.starts_with(title),
        "the page's title, read first, says it: {}",
        browser.title().await
    );
    let body = browser.main_text().await;
    assert!(
        body.contains(try_again),
        "the lock page says how long: {body}"
    );
    if lang == "fr" {
        // The one lock screenshot (`lockout-fr.png`).
        journey.screenshot("lockout").await;
    }

    // While locked, even the right code is refused.
    browser.goto(&totp).await;
    journey.arrive("/sign-in/totp").await;
    let mut responses = browser.responses().await;
    browser
        .fill(m.t("mfa-code-label"), &person.app.code(stack.now_secs()))
        .await;
    browser.click_button(m.t("mfa-code-submit")).await;
    assert_eq!(status_of(&mut responses, &totp).await, 429);
    assert_eq!(agency::text(&journey, "h1").await, title);

    // Once the lock is over (the server's clock back at the machine's time, 11 minutes
    // on), the agency's button, the password and a code lead to the agency.
    let later = SystemClock.now_secs() - stack.now_secs();
    assert!(later > LOCK_SECS, "the clock moves past the lock: {later}");
    stack.advance(later);
    agency::press_sign_in(&journey).await;
    agency::sign_in(&mut journey, &mut person, false).await;
    agency::catch_up_clock(&stack);
    agency::consent(&mut journey, false).await;
    agency::claims(&journey, &person.email).await;

    let visited = std::mem::take(&mut journey.visited);
    journey::finish(lang, started, visited, browser, stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_wrong_codes_lock_the_factor_step_until_the_lock_ends_in_english() {
    ten_wrong_codes_lock_the_factor_step_until_the_lock_ends("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_wrong_codes_lock_the_factor_step_until_the_lock_ends_in_french() {
    ten_wrong_codes_lock_the_factor_step_until_the_lock_ends("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_wrong_codes_lock_the_factor_step_until_the_lock_ends_in_spanish() {
    ten_wrong_codes_lock_the_factor_step_until_the_lock_ends("es").await;
}
