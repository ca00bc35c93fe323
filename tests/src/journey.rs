//! The steps browser tests share, through the real pages in one of the site's languages:
//! sign up with an authentication app, sign out, sign in with a fresh code. Every page
//! reached is checked on arrival: its path, no message id shown instead of text, and
//! (unless turned off) zero axe-core violations of WCAG 2.0/2.1 A and AA.

use std::path::PathBuf;

use crate::browser::Browser;
use crate::messages::{Messages, messages, raw_ids_in};
use crate::stack::Stack;
use crate::tools;
use crate::totp::App;

/// A password strong enough for the site's policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// Someone with an account: the address, the password and the authentication app.
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub password: String,
    pub app: App,
}

/// A journey through the site in one language.
#[derive(Debug)]
pub struct Journey<'a> {
    pub stack: &'a Stack,
    pub browser: &'a Browser,
    /// The language's messages (`m.t("signin-submit")`).
    pub m: &'static Messages,
    /// Run axe-core on every page reached (on by default; off where a test checks
    /// something else on pages already checked, or where scripts are off, which axe needs).
    pub axe: bool,
    /// The pages reached, in order (paths with their query).
    pub visited: Vec<String>,
    /// Whether the shared steps save their screenshots (sign-in, factor choice,
    /// authentication app, account) when `PASSERELLE_SCREENSHOTS` is set: on in one
    /// journey only, so two tests never write the same file.
    pub screenshots: bool,
}

impl<'a> Journey<'a> {
    pub fn new(stack: &'a Stack, browser: &'a Browser, lang: &str) -> Self {
        Self {
            stack,
            browser,
            m: messages(lang),
            axe: true,
            visited: Vec::new(),
            screenshots: false,
        }
    }

    /// `path` in the journey's language (`/sign-in` → `/fr/sign-in`).
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.m.prefix())
    }

    /// Opens `path` (in the journey's language) and checks the page.
    pub async fn open(&mut self, path: &str) {
        let href = self.href(path);
        self.browser.goto(&href).await;
        self.arrive(path).await;
    }

    /// Checks the page the browser has just reached: it is `path` (in the journey's
    /// language), it is in that language (`<html lang>`), it shows no message id, and
    /// axe-core finds nothing.
    pub async fn arrive(&mut self, path: &str) {
        let b = self.browser;
        b.assert_path(&self.href(path)).await;
        let here = b.path().await;
        let lang: String = b.eval("document.documentElement.lang").await;
        assert_eq!(lang, self.m.lang(), "the language of {here}");
        let texts: String = b
            .eval(
                "[document.title, document.body.textContent,
                  ...[...document.querySelectorAll('[aria-label], [title], [placeholder], [alt], input[type=submit]')]
                     .flatMap(e => ['aria-label', 'title', 'placeholder', 'alt', 'value']
                         .map(a => e.getAttribute(a)).filter(Boolean))
                 ].join('\\n')",
            )
            .await;
        let raw = raw_ids_in(&texts);
        assert!(
            raw.is_empty(),
            "{here} shows message ids instead of their text: {raw:?}"
        );
        if self.axe {
            b.assert_accessible().await;
        }
        self.visited.push(here);
    }

    /// A shared step's screenshot: saved only in the journey that has `screenshots` on.
    async fn step_screenshot(&self, name: &str) {
        if self.screenshots {
            self.screenshot(name).await;
        }
    }

    /// Saves a screenshot named `name` (`sign-in` → `sign-in-fr.png`) when
    /// `PASSERELLE_SCREENSHOTS` names a folder, for English and French.
    pub async fn screenshot(&self, name: &str) {
        if !matches!(self.m.lang(), "en" | "fr") {
            return;
        }
        if let Some(dir) = tools::screenshots_dir() {
            let path: PathBuf = dir.join(format!("{name}-{}.png", self.m.lang()));
            self.browser.screenshot(&path).await;
        }
    }

    /// Signs up `email` from the home page: create an account, the confirmation link from
    /// the outbox, a password, then an authentication app as the first method (the code
    /// computed from the key the page shows), ending on the account page.
    pub async fn sign_up_with_app(&mut self, email: &str) -> Person {
        self.sign_up_to_factor_choice(email).await;
        let app = self.add_app().await;
        self.continue_to_account().await;
        Person {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            app,
        }
    }

    /// Signs up `email` from the home page up to the choice of a first method: create an
    /// account, the confirmation link from the outbox, a password.
    pub async fn sign_up_to_factor_choice(&mut self, email: &str) {
        let (b, m) = (self.browser, self.m);
        self.open("/").await;
        b.click_link(m.t("home-create-account")).await;
        self.arrive("/sign-up").await;

        b.fill(m.t("field-email"), email).await;
        b.check(m.t("signup-accept-rules")).await;
        b.click_button(m.t("signup-submit")).await;
        self.arrive("/sign-up").await;
        let heading = b.text_of("h1").await.unwrap_or_default();
        assert_eq!(heading, m.t("check-email-title"));

        let link = self.stack.link_in_mail(email, "/sign-up/confirm").await;
        assert!(
            link.starts_with(&self.stack.url(&self.href("/sign-up/confirm"))),
            "the mail links to this site, in this language: {link}"
        );
        b.goto(&link).await;
        self.arrive("/sign-up/confirm").await;
        b.fill(m.t("field-new-password"), PASSWORD).await;
        b.click_button(m.t("signup-password-submit")).await;

        self.arrive("/mfa/setup").await;
        self.step_screenshot("factor-choice").await;
    }

    /// From the factor choice, after adding a method: on to the account page.
    pub async fn continue_to_account(&mut self) {
        self.browser
            .click_link(self.m.t("mfa-continue-to-account"))
            .await;
        self.arrive("/account").await;
        self.step_screenshot("account").await;
    }

    /// From the factor choice: the authentication app, its key read off the page, named,
    /// confirmed with its first code; back on the factor choice.
    pub async fn add_app(&mut self) -> App {
        let (b, m) = (self.browser, self.m);
        b.click_link(m.t("mfa-choice-totp-title")).await;
        self.arrive("/mfa/totp").await;
        self.step_screenshot("authentication-app").await;
        let key = b
            .text_of("#totp-secret")
            .await
            .expect("the key shown as text");
        let mut app = App::from_base32(&key).expect("a base32 key");
        b.fill(m.t("mfa-totp-name-label"), "Phone").await;
        b.fill(m.t("mfa-code-label"), &app.code(self.stack.now_secs()))
            .await;
        b.click_button(m.t("mfa-totp-submit")).await;
        self.arrive("/mfa/setup").await;
        app
    }

    /// Signs out with the header's button; ends on the sign-in page.
    pub async fn sign_out(&mut self) {
        self.browser.click_button(self.m.t("nav-sign-out")).await;
        self.arrive("/sign-in").await;
        let notice = self.browser.text_of(".notice").await.unwrap_or_default();
        assert_eq!(notice, self.m.t("signed-out-notice"));
    }

    /// Signs in from the sign-in page with the password and a fresh code from the app;
    /// ends on the account page.
    pub async fn sign_in_with_app(&mut self, person: &mut Person) {
        let (b, m) = (self.browser, self.m);
        self.step_screenshot("sign-in").await;
        b.fill(m.t("field-email"), &person.email).await;
        b.fill(m.t("field-password"), &person.password).await;
        b.click_button(m.t("signin-submit")).await;
        // One method, an app: the factor step goes straight to its code.
        self.arrive("/sign-in/totp").await;
        b.fill(
            m.t("mfa-code-label"),
            &person.app.code(self.stack.now_secs()),
        )
        .await;
        b.click_button(m.t("mfa-code-submit")).await;
        self.arrive("/account").await;
    }
}

/// Ends a journey: logs the pages it visited and its time (`cargo test -- --nocapture`
/// shows them), then closes the browser and stops the stack.
pub async fn finish(
    lang: &str,
    started: std::time::Instant,
    visited: Vec<String>,
    browser: Browser,
    stack: Stack,
) {
    eprintln!(
        "{lang}: {} pages in {:.1}s: {visited:?}",
        visited.len(),
        started.elapsed().as_secs_f64(),
    );
    browser.close().await;
    stack.shutdown().await;
}
