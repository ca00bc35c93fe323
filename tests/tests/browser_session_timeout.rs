//! The idle-session warning in a real browser (ACC-3): with a 40-second idle timeout and the
//! warning due 39 seconds before the end, the dialog appears a second after a signed-in page
//! loads, takes the focus, passes axe-core, and "Stay signed in" keeps the session alive
//! (the keep-alive request answers 204 and the session outlives its first deadline). The
//! server's clock is moved by the test, so nothing waits 40 seconds. In English, French and
//! Spanish.

use chromiumoxide::cdp::browser_protocol::network::EventResponseReceived;
use chromiumoxide::listeners::EventStream;
use futures::StreamExt;
use passerelle::session::SessionPolicy;
use passerelle_e2e::browser::{Browser, TIMEOUT};
use passerelle_e2e::journey::Journey;
use passerelle_e2e::stack::{Stack, StackOptions};

const DIALOG_SHOWN: &str = "!document.getElementById('session-timeout').hidden";

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

async fn the_warning_appears_and_staying_signed_in_extends_the_session(lang: &str) {
    let policy = SessionPolicy {
        warn_before_secs: 39,
        ..SessionPolicy::with_idle_secs(40)
    };
    let stack = Stack::start_with(StackOptions {
        manual_clock: true,
        session_policy: Some(policy),
    })
    .await;
    let browser = Browser::launch(stack.base()).await;
    let mut journey = Journey::new(&stack, &browser, lang);
    // Only the dialog is checked here; the sign-up journey's pages are in browser_sign_up.
    journey.axe = false;
    journey.sign_up_with_app("grace@example.gov").await;
    let m = journey.m;

    // The account page was served at the server's time T: the warning is due after 1 s.
    browser
        .wait_until(DIALOG_SHOWN, "the idle-session warning appears")
        .await;
    let title = browser.text_of("#session-timeout-title").await;
    assert_eq!(title.as_deref(), Some(m.t("session-warning-title")));
    let focused: String = browser
        .eval("document.activeElement.innerText.trim()")
        .await;
    assert_eq!(
        focused,
        m.t("session-warning-stay"),
        "the dialog takes the focus"
    );
    browser.assert_accessible().await;
    journey.screenshot("session-warning").await;

    // 30 s of inactivity later (server time), the person stays signed in.
    stack.advance(30);
    let mut responses = browser.responses().await;
    browser
        .click_button_in_place(m.t("session-warning-stay"))
        .await;
    assert_eq!(status_of(&mut responses, "/session/keep-alive").await, 204);

    // T+60: past the first deadline (T+40), within the one the keep-alive set (T+70).
    stack.advance(30);
    journey.open("/account").await;

    // Control: with no activity past the idle timeout, the session ends.
    stack.advance(41);
    browser.goto(&journey.href("/account")).await;
    journey.arrive("/sign-in").await;
    let notice = browser.text_of(".notice").await;
    assert_eq!(notice.as_deref(), Some(m.t("session-ended-notice")));

    browser.close().await;
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warning_appears_and_staying_signed_in_extends_the_session_in_english() {
    the_warning_appears_and_staying_signed_in_extends_the_session("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warning_appears_and_staying_signed_in_extends_the_session_in_french() {
    the_warning_appears_and_staying_signed_in_extends_the_session("fr").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warning_appears_and_staying_signed_in_extends_the_session_in_spanish() {
    the_warning_appears_and_staying_signed_in_extends_the_session("es").await;
}
