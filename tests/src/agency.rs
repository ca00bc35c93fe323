//! The demo agency's side of the browser journeys: its sign-in buttons, Passerelle's
//! sign-in, factor and consent steps as an agency's request goes through them, the claims
//! page the agency shows at the end, the identity verification with the mock vendors, and
//! the checks that an error on a form is announced and linked to its field.
//!
//! Every Passerelle page is checked on arrival by [`Journey::arrive`] (axe-core, message
//! ids, language). The demo agency's own pages (`/demo/…`) are the agency's, always in
//! English: they are read, not checked.

use passerelle::clock::{Clock, SystemClock};
use passerelle::idv::pii::{Address, Pii};
use serde::Deserialize;

use crate::journey::{Journey, PASSWORD, Person};
use crate::stack::Stack;

/// The demo agency's name, as Passerelle shows it.
pub const AGENCY: &str = "Demo Agency";

/// The heading of the demo agency's claims page.
pub const CLAIMS_HEADING: &str = "You are signed in to the Demo Agency";

/// The demo agency's home page link that starts a sign-in in `lang`.
fn home_button(lang: &str) -> &'static str {
    match lang {
        "fr" => "Se connecter (en français)",
        "es" => "Iniciar sesión (en español)",
        _ => "Sign in with Passerelle",
    }
}

/// On the demo agency's home page, presses its sign-in button for the journey's language.
/// Passerelle's page comes next (checked by the caller's `arrive`).
pub async fn press_sign_in(j: &Journey<'_>) {
    j.browser.goto("/demo/").await;
    j.browser.click_link(home_button(j.m.lang())).await;
}

/// Starts the demo agency's sign-in at `level` (`verified`, `aal2`…) in the journey's
/// language, as its button for that level does (`/demo/start?level=…&lang=…`).
pub async fn start_at_level(j: &Journey<'_>, level: &str) {
    let mut path = format!("/demo/start?level={level}");
    if j.m.lang() != "en" {
        path.push_str(&format!("&lang={}", j.m.lang()));
    }
    j.browser.goto(&path).await;
}

/// On the sign-in page: the email and password, then the button.
pub async fn submit_password(j: &mut Journey<'_>, email: &str, password: &str) {
    let (b, m) = (j.browser, j.m);
    b.fill(m.t("field-email"), email).await;
    b.fill(m.t("field-password"), password).await;
    b.click_button(m.t("signin-submit")).await;
}

/// The factor step with an authentication app: a fresh code from the server's clock, and
/// "remember this browser" ticked when asked.
pub async fn enter_app_code(j: &mut Journey<'_>, person: &mut Person, remember: bool) {
    let (b, m) = (j.browser, j.m);
    j.arrive("/sign-in/totp").await;
    if remember {
        b.check(m.t("mfa-remember-label")).await;
        let ticked: bool = b.eval("document.getElementById('remember').checked").await;
        assert!(ticked, "“{}” is ticked", m.t("mfa-remember-label"));
    }
    b.fill(m.t("mfa-code-label"), &person.app.code(j.stack.now_secs()))
        .await;
    b.click_button(m.t("mfa-code-submit")).await;
}

/// From the sign-in page an agency's request led to: password, then the app's code.
pub async fn sign_in(j: &mut Journey<'_>, person: &mut Person, remember: bool) {
    j.arrive("/sign-in").await;
    submit_password(j, &person.email.clone(), &person.password.clone()).await;
    enter_app_code(j, person, remember).await;
}

/// The consent page for the demo agency: its name in the heading, then "Agree and
/// continue"; the agency's claims page follows. Saves the `consent` screenshot when
/// `screenshot` is set.
pub async fn consent(j: &mut Journey<'_>, screenshot: bool) {
    let (b, m) = (j.browser, j.m);
    j.arrive("/authorize/consent").await;
    let heading = b.text_of("h1").await.unwrap_or_default();
    assert_eq!(
        heading,
        m.t_args("consent-heading", &[("agency", AGENCY)]),
        "the consent page names the agency"
    );
    if screenshot {
        j.screenshot("consent").await;
    }
    b.click_button(m.t("consent-allow")).await;
}

/// The demo agency's claims page: it received `email` from userinfo. Returns the claims
/// as the page shows them.
pub async fn claims(j: &Journey<'_>, email: &str) -> String {
    let b = j.browser;
    b.assert_path("/demo/callback").await;
    let heading = b.text_of("h1").await.unwrap_or_default();
    assert_eq!(heading, CLAIMS_HEADING, "{}", b.main_text().await);
    let claims = b.text_of("#claims").await.unwrap_or_default();
    assert!(
        claims.contains(email),
        "the agency received {email}: {claims}"
    );
    claims
}

/// Moves a stack's manual clock forward to the machine's time (never back). The demo
/// agency signs its token request with the machine's clock and the token endpoint checks
/// it against the server's with 10 s of leeway, so a test with a manual clock calls this
/// just before the step that sends the person back to the agency.
pub fn catch_up_clock(stack: &Stack) {
    let behind = SystemClock.now_secs() - stack.now_secs();
    if behind > 0 {
        stack.advance(behind);
    }
}

/// Signs up `email` from Passerelle's home page with an authentication app, then signs
/// out: someone with an account, about to use an agency.
pub async fn person_with_account(j: &mut Journey<'_>, email: &str) -> Person {
    let person = j.sign_up_with_app(email).await;
    j.sign_out().await;
    person
}

/// An error on a form, as the error summary lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Announced {
    /// The id of the field the summary's link points to.
    pub field: String,
    /// The summary link's text.
    pub message: String,
    /// The text of the field's `aria-describedby` elements.
    pub described_by: String,
    /// The field's `aria-invalid`.
    pub invalid: String,
}

/// What the page does to make its errors known.
#[derive(Debug, Clone, Deserialize)]
struct Summary {
    present: bool,
    role: String,
    live: String,
    focused: bool,
    labelled: String,
    errors: Vec<Announced>,
}

const SUMMARY: &str = r##"(() => {
    const s = document.querySelector('.error-summary');
    if (!s) return {present: false, role: '', live: '', focused: false, labelled: '', errors: []};
    const norm = t => (t || '').replace(/\s+/g, ' ').trim();
    const labelled = (s.getAttribute('aria-labelledby') || '').split(/\s+/)
        .map(id => document.getElementById(id)).filter(Boolean).map(e => norm(e.innerText)).join(' ');
    const errors = [...s.querySelectorAll('a[href^="#"]')].map(a => {
        const id = a.getAttribute('href').slice(1);
        const field = document.getElementById(id);
        const described = field ? (field.getAttribute('aria-describedby') || '').split(/\s+/)
            .map(d => document.getElementById(d)).filter(Boolean).map(e => norm(e.innerText)).join(' | ') : '';
        return {
            field: field && field.matches('input, select, textarea') ? id : '',
            message: norm(a.innerText),
            described_by: described,
            invalid: field ? (field.getAttribute('aria-invalid') || '') : '',
        };
    });
    return {
        present: true,
        role: s.getAttribute('role') || '',
        live: s.getAttribute('aria-live') || '',
        focused: document.activeElement === s,
        labelled,
        errors,
    };
})()"##;

/// Asserts the page announces its errors and links each to its field, as WCAG 3.3.1 and
/// 4.1.3 ask: an error summary that is an alert (or live region) and has the focus, titled
/// "There is a problem", with one link per error to the field's id, the field marked
/// `aria-invalid` and described by the same message. `expected` is (field id, message).
/// Also runs axe-core on the page with its errors shown.
pub async fn assert_errors_announced(j: &Journey<'_>, expected: &[(&str, &str)]) {
    let b = j.browser;
    let s: Summary = b.eval(SUMMARY).await;
    let here = b.path().await;
    assert!(
        s.present,
        "{here}: no error summary; the page reads:\n{}",
        b.main_text().await
    );
    assert!(
        s.role == "alert" || matches!(s.live.as_str(), "assertive" | "polite"),
        "{here}: the error summary is neither an alert nor a live region ({s:?})"
    );
    assert!(
        s.focused,
        "{here}: the error summary does not have the focus ({s:?})"
    );
    assert_eq!(s.labelled, j.m.t("form-error-summary-title"), "{here}");
    let got: Vec<(&str, &str)> = s
        .errors
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        got, expected,
        "{here}: the summary's links (field, message)"
    );
    for e in &s.errors {
        assert_eq!(e.invalid, "true", "{here}: #{} is aria-invalid", e.field);
        assert!(
            e.described_by.contains(&e.message),
            "{here}: #{} is described by its error “{}” (aria-describedby reads “{}”)",
            e.field,
            e.message,
            e.described_by
        );
    }
    b.assert_accessible().await;
}

/// Reads the text of the element `selector`, trimmed; empty when absent.
pub async fn text(j: &Journey<'_>, selector: &str) -> String {
    j.browser
        .text_of(selector)
        .await
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The identity verification with the mock vendors, from the page that says the agency
/// needs a verified identity (`/authorize/resume`) to the personal key, acknowledged:
/// the sample ID's photos, the SSN, the review, a phone in the person's name and the
/// password. Returns the personal key as shown. The page after the key (consent) is the
/// caller's.
pub async fn verify_identity(j: &mut Journey<'_>, dir: &std::path::Path) -> String {
    let (b, m) = (j.browser, j.m);
    j.arrive("/authorize/resume").await;
    b.click_link(m.t("authorize-verify-now")).await;
    j.arrive("/verify").await;
    b.check(m.t("verify-consent-label")).await;
    b.click_button(m.t("verify-intro-start")).await;
    j.arrive("/verify/document").await;

    let person = grace_hopper();
    let front = dir.join("front.jpg");
    let back = dir.join("back.png");
    std::fs::write(&front, passerelle_local::vendors::sample_front()).expect("the front photo");
    std::fs::write(&back, passerelle_local::vendors::sample_back(&person)).expect("the back photo");
    b.choose_files("input[name=front]", &[&front]).await;
    b.choose_files("input[name=back]", &[&back]).await;
    b.click_button(m.t("verify-document-submit")).await;
    b.wait_for_path(&j.href("/verify/ssn"), "the document checks end")
        .await;
    j.arrive("/verify/ssn").await;

    b.fill(m.t("verify-ssn-label"), "900-12-0987").await;
    b.click_button(m.t("verify-continue")).await;
    j.arrive("/verify/review").await;
    b.click_button(m.t("verify-review-submit")).await;
    b.wait_for_path(&j.href("/verify/address"), "the identity checks end")
        .await;
    j.arrive("/verify/address").await;

    b.check(m.t("verify-address-by-phone")).await;
    b.fill(m.t("verify-address-phone-label"), "703-555-0188")
        .await;
    b.click_button(m.t("verify-continue")).await;
    b.wait_for_path(&j.href("/verify/password"), "the phone check ends")
        .await;
    j.arrive("/verify/password").await;

    b.fill(m.t("verify-password-label"), PASSWORD).await;
    b.click_button(m.t("verify-password-submit")).await;
    j.arrive("/verify/personal-key").await;
    let key = text(j, "#personal-key").await;
    assert_eq!(key.len(), 19, "a 16-character key in groups: {key}");
    b.check(m.t("verify-key-ack-label")).await;
    b.click_button(m.t("verify-continue")).await;
    key
}

/// The identity the journeys verify: what the mock document vendor reads back from the
/// ID photos they upload.
pub fn grace_hopper() -> Pii {
    Pii {
        given_name: "Grace".into(),
        family_name: "Hopper".into(),
        birthdate: "1986-12-09".into(),
        address: Address {
            line1: "1200 Navy Pier Road".into(),
            line2: String::new(),
            city: "Arlington".into(),
            state: "VA".into(),
            zip: "22202".into(),
        },
        id_number: "H1906120".into(),
        id_state: "VA".into(),
        ssn: String::new(),
        phone: String::new(),
        verified_ms: 0,
    }
}
