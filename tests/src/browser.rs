//! Headless Chromium driven over the DevTools protocol (chromiumoxide), the way a person
//! uses the site: fields found by their label, buttons and links by their text, real mouse
//! clicks and key presses, and every navigation awaited through the page's load event
//! (subscribed to before the action that navigates). Nothing here sleeps to synchronise:
//! what is not an event is polled for, with a deadline.
//!
//! Each [`Browser`] has its own temporary profile. [`Browser::close`] ends it through
//! the protocol; a test that fails before that still ends it, when the `Browser` is dropped,
//! by its own process handle.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::cdp::browser_protocol::emulation::SetScriptExecutionDisabledParams;
use chromiumoxide::cdp::browser_protocol::input::{
    DispatchKeyEventParams, DispatchKeyEventType, InsertTextParams,
};
use chromiumoxide::cdp::browser_protocol::network::EventResponseReceived;
use chromiumoxide::cdp::browser_protocol::page::{CaptureScreenshotFormat, EventLoadEventFired};
use chromiumoxide::cdp::browser_protocol::web_authn::{
    self, AddVirtualAuthenticatorParams, AuthenticatorId, AuthenticatorProtocol,
    AuthenticatorTransport, Ctap2Version, VirtualAuthenticatorOptions,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::layout::Point;
use chromiumoxide::listeners::EventStream;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{BrowserConfig, Page};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::tools;

/// How long a navigation, or a condition polled for, may take before the test fails: long
/// enough for a loaded two-core machine, short enough to fail before cargo's own timeout.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The WCAG 2.0 and 2.1 levels A and AA rules axe-core runs on every page.
pub const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// A browser with one tab.
#[derive(Debug)]
pub struct Browser {
    cdp: chromiumoxide::Browser,
    handler: JoinHandle<()>,
    page: Page,
    base: String,
    scripts_off: AtomicBool,
    closed: bool,
    _profile: tempfile::TempDir,
}

/// What a button or link click is expected to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// Wait for the next page to load.
    Navigate,
    /// Nothing to wait for (script on the page handles it).
    Stay,
}

impl Browser {
    /// Chromium, headless, with a fresh profile, one 1280×900 tab on `about:blank`; `base`
    /// (`http://localhost:<port>`) is what [`Browser::goto`] paths are relative to.
    pub async fn launch(base: &str) -> Self {
        let profile = tempfile::Builder::new()
            .prefix("passerelle-chromium-")
            .tempdir()
            .expect("a temporary profile directory");
        let config = BrowserConfig::builder()
            .chrome_executable(tools::chromium())
            .user_data_dir(profile.path())
            // Root in a container: Chromium's sandbox needs user namespaces it may not get.
            .no_sandbox()
            .viewport(Viewport {
                width: 1280,
                height: 900,
                ..Viewport::default()
            })
            .window_size(1280, 900)
            .launch_timeout(TIMEOUT)
            .request_timeout(TIMEOUT)
            // With chromiumoxide's defaults (no background networking, no first run, no
            // sync): nothing reaches outside this machine.
            .args([
                "--disable-gpu",
                "--disable-quic",
                "--disable-component-update",
                "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
            ])
            .build()
            .expect("a Chromium configuration");
        let (mut cdp, mut events) =
            chromiumoxide::Browser::launch(config)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "could not start {}: {e} (run `cargo xtask test` to install it)",
                        tools::chromium().display()
                    )
                });
        let handler = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if event.is_err() {
                    break;
                }
            }
        });
        let page = match cdp.new_page("about:blank").await {
            Ok(page) => page,
            Err(e) => {
                let _ = cdp.kill().await;
                panic!("no tab in Chromium: {e}");
            }
        };
        Self {
            cdp,
            handler,
            page,
            base: base.trim_end_matches('/').to_owned(),
            scripts_off: AtomicBool::new(false),
            closed: false,
            _profile: profile,
        }
    }

    /// Ends the browser through the protocol and waits for its process.
    pub async fn close(mut self) {
        self.closed = true;
        if self.cdp.close().await.is_err() {
            let _ = self.cdp.kill().await;
        }
        let _ = self.cdp.wait().await;
        self.handler.abort();
    }

    /// The tab, for what this module does not wrap.
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// `http://localhost:<port>`.
    pub fn base(&self) -> &str {
        &self.base
    }

    // ---- Navigation ------------------------------------------------------------------

    async fn load_events(&self) -> EventStream<EventLoadEventFired> {
        self.page
            .event_listener::<EventLoadEventFired>()
            .await
            .expect("a load-event subscription")
    }

    async fn loaded(&self, mut loads: EventStream<EventLoadEventFired>, what: &str) {
        match tokio::time::timeout(TIMEOUT, loads.next()).await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the browser went away while {what}"),
            Err(_) => panic!(
                "no page loaded within {TIMEOUT:?} after {what} (at {}); the page reads:\n{}",
                self.url().await,
                self.main_text().await
            ),
        }
    }

    /// Opens `path` on the site (`/fr/sign-in`), or an absolute URL (a link from a mail),
    /// and waits for it to load.
    pub async fn goto(&self, path_or_url: &str) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let loads = self.load_events().await;
        self.page
            .goto(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("could not open {url}: {e}"));
        self.loaded(loads, &format!("opening {url}")).await;
    }

    /// The address shown in the address bar.
    pub async fn url(&self) -> String {
        self.eval("location.href").await
    }

    /// The path and query of the current page (`/fr/account`).
    pub async fn path(&self) -> String {
        self.eval("location.pathname + location.search").await
    }

    /// Asserts the current page's path (without its query).
    pub async fn assert_path(&self, expected: &str) {
        let path: String = self.eval("location.pathname").await;
        assert_eq!(
            path,
            expected,
            "expected to be on {expected}, but the browser is at {}: {}",
            self.url().await,
            self.main_text().await
        );
    }

    // ---- Reading the page ---------------------------------------------------------------

    /// Evaluates a JavaScript expression (awaiting a promise) and returns its value. This
    /// goes through the DevTools protocol, so it also works on a page whose own scripts
    /// are disabled.
    pub async fn eval<T: DeserializeOwned>(&self, expression: &str) -> T {
        let result = tokio::time::timeout(TIMEOUT, self.page.evaluate_expression(expression))
            .await
            .unwrap_or_else(|_| panic!("no result within {TIMEOUT:?} from {expression}"))
            .unwrap_or_else(|e| panic!("evaluating {expression}: {e}"));
        // `null` and `undefined` come without a value.
        let value = result.value().cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).unwrap_or_else(|e| panic!("the value of {expression}: {e}"))
    }

    /// Calls `function` (JavaScript source) with `args`, returning its value.
    pub async fn call<T: DeserializeOwned>(&self, function: &str, args: &[Value]) -> T {
        let args = serde_json::to_string(args).expect("JSON arguments");
        self.eval(&format!("({function})(...{args})")).await
    }

    /// The document's title.
    pub async fn title(&self) -> String {
        self.eval("document.title").await
    }

    /// The text of the page as rendered (what a person reads), header and footer included.
    pub async fn body_text(&self) -> String {
        self.eval("document.body.innerText").await
    }

    /// The text of `<main>`.
    pub async fn main_text(&self) -> String {
        self.eval("(document.querySelector('main') || document.body).innerText")
            .await
    }

    /// The text of the first element matching `selector`, or `None`.
    pub async fn text_of(&self, selector: &str) -> Option<String> {
        self.call(
            "s => { const e = document.querySelector(s); return e ? e.innerText : null; }",
            &[selector.into()],
        )
        .await
    }

    /// Waits until the page's own scripts have moved the browser to `path` and that page
    /// has loaded. Evaluations that race the navigation (the old page's context gone) are
    /// simply tried again.
    pub async fn wait_for_path(&self, path: &str, what: &str) {
        let deadline = Instant::now() + TIMEOUT;
        let check = format!(
            "location.pathname === {} && document.readyState === 'complete'",
            Value::from(path)
        );
        loop {
            let done = matches!(
                tokio::time::timeout(TIMEOUT, self.page.evaluate_expression(check.as_str())).await,
                Ok(Ok(r)) if r.value() == Some(&Value::Bool(true))
            );
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not at {path} after {TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls `expression` until it is true, failing after [`TIMEOUT`] with `what`.
    pub async fn wait_until(&self, expression: &str, what: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.eval::<bool>(&format!("!!({expression})")).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: still not the case after {TIMEOUT:?} ({expression})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // ---- Acting -------------------------------------------------------------------------

    /// Scrolls the visible element that `finder` (a JavaScript function of `args`
    /// returning an element or null) finds into view, and returns its centre.
    async fn locate(&self, finder: &str, args: &[Value], what: &str) -> Point {
        let function = format!(
            "(...args) => {{
                const e = ({finder})(...args);
                if (!e) return null;
                e.scrollIntoView({{block: 'center', inline: 'center'}});
                const r = e.getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2];
            }}"
        );
        let centre: Option<(f64, f64)> = self.call(&function, args).await;
        match centre {
            Some((x, y)) => Point { x, y },
            None => panic!(
                "no {what} on {}; the page reads:\n{}",
                self.url().await,
                self.main_text().await
            ),
        }
    }

    async fn click_at(&self, point: Point, then: Then, what: &str) {
        let loads = match then {
            Then::Navigate => Some(self.load_events().await),
            Then::Stay => None,
        };
        self.page
            .click(point)
            .await
            .unwrap_or_else(|e| panic!("clicking {what}: {e}"));
        if let Some(loads) = loads {
            self.loaded(loads, &format!("clicking {what}")).await;
        }
    }

    /// A visible button (or submit input) whose text is exactly `text` (spaces
    /// normalised), preferring one in `<main>`.
    const FIND_BUTTON: &str = "(text, kind) => {
        const norm = s => (s || '').replace(/\\s+/g, ' ').trim();
        const sel = kind === 'link' ? 'a[href]' : 'button, input[type=submit], input[type=button]';
        const all = [...document.querySelectorAll(sel)].filter(e =>
            e.getClientRects().length > 0 && norm(e.innerText || e.value) === text);
        return all.find(e => e.closest('main')) || all[0] || null;
    }";

    /// Clicks the button labelled `text` and waits for the next page.
    pub async fn click_button(&self, text: &str) {
        let what = format!("the button “{text}”");
        let at = self
            .locate(Self::FIND_BUTTON, &[text.into(), "button".into()], &what)
            .await;
        self.click_at(at, Then::Navigate, &what).await;
    }

    /// Clicks the button labelled `text`, expecting no navigation (script handles it).
    pub async fn click_button_in_place(&self, text: &str) {
        let what = format!("the button “{text}”");
        let at = self
            .locate(Self::FIND_BUTTON, &[text.into(), "button".into()], &what)
            .await;
        self.click_at(at, Then::Stay, &what).await;
    }

    /// Follows the link whose text is `text` and waits for the next page.
    pub async fn click_link(&self, text: &str) {
        let what = format!("the link “{text}”");
        let at = self
            .locate(Self::FIND_BUTTON, &[text.into(), "link".into()], &what)
            .await;
        self.click_at(at, Then::Navigate, &what).await;
    }

    /// The form control labelled `label` (its `<label>` text, exactly, spaces
    /// normalised).
    const FIND_FIELD: &str = "(text) => {
        const norm = s => (s || '').replace(/\\s+/g, ' ').trim();
        const label = [...document.querySelectorAll('label')]
            .find(l => norm(l.innerText) === text && l.control && l.control.getClientRects().length > 0);
        return label ? label.control : null;
    }";

    /// Types `value` into the field labelled `label`, replacing what it held: a click
    /// into the field, then the text inserted as typing would.
    pub async fn fill(&self, label: &str, value: &str) {
        let what = format!("a field labelled “{label}”");
        let at = self.locate(Self::FIND_FIELD, &[label.into()], &what).await;
        self.click_at(at, Then::Stay, &what).await;
        let _: Value = self
            .call(
                &format!(
                    "(t) => {{ const e = ({})(t); e.select(); return null; }}",
                    Self::FIND_FIELD
                ),
                &[label.into()],
            )
            .await;
        self.type_text(value).await;
    }

    /// Puts the files at `paths` into the file input matching `selector`, as a person
    /// choosing them in the file dialog would.
    pub async fn choose_files(&self, selector: &str, paths: &[&Path]) {
        let element = self
            .page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("no file input {selector}: {e}"));
        let params = SetFileInputFilesParams::builder()
            .files(paths.iter().map(|p| p.display().to_string()))
            .backend_node_id(element.backend_node_id)
            .build()
            .unwrap_or_else(|e| panic!("file input parameters: {e}"));
        self.page
            .execute(params)
            .await
            .unwrap_or_else(|e| panic!("choosing files for {selector}: {e}"));
    }

    /// Ticks (or unticks) the checkbox labelled `label` with a click.
    pub async fn check(&self, label: &str) {
        let what = format!("a checkbox labelled “{label}”");
        let at = self.locate(Self::FIND_FIELD, &[label.into()], &what).await;
        self.click_at(at, Then::Stay, &what).await;
    }

    /// Types `text` where the focus is.
    pub async fn type_text(&self, text: &str) {
        self.page
            .execute(InsertTextParams::new(text))
            .await
            .unwrap_or_else(|e| panic!("typing: {e}"));
    }

    async fn key(&self, key: &str, code: &str, key_code: i64, text: Option<&str>) {
        let mut down = DispatchKeyEventParams::builder()
            .key(key)
            .code(code)
            .windows_virtual_key_code(key_code)
            .native_virtual_key_code(key_code);
        if let Some(t) = text {
            down = down.text(t);
        }
        let up = down.clone().r#type(DispatchKeyEventType::KeyUp);
        let down = down.r#type(if text.is_some() {
            DispatchKeyEventType::KeyDown
        } else {
            DispatchKeyEventType::RawKeyDown
        });
        for event in [down, up] {
            self.page
                .execute(event.build().expect("a key event"))
                .await
                .unwrap_or_else(|e| panic!("pressing {key}: {e}"));
        }
    }

    /// Presses Tab.
    pub async fn press_tab(&self) {
        self.key("Tab", "Tab", 9, None).await;
    }

    /// What has the keyboard focus, and how its focus indicator looks.
    pub async fn focused(&self) -> Focused {
        self.eval(FOCUSED).await
    }

    /// Presses Tab until `wanted` has the focus (at most 40 times), returning every
    /// element the focus stopped on, the wanted one last.
    pub async fn tab_to(&self, wanted: impl Fn(&Focused) -> bool, what: &str) -> Vec<Focused> {
        let mut stops = Vec::new();
        for _ in 0..40 {
            self.press_tab().await;
            let here = self.focused().await;
            let found = wanted(&here);
            stops.push(here);
            if found {
                return stops;
            }
        }
        panic!(
            "Tab never reached {what} on {}; it went through:\n{}",
            self.url().await,
            stops
                .iter()
                .map(|f| format!("  {f}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Presses Enter and waits for the next page.
    pub async fn press_enter_and_wait(&self) {
        let loads = self.load_events().await;
        self.key("Enter", "Enter", 13, Some("\r")).await;
        self.loaded(loads, "pressing Enter").await;
    }

    /// Turns the page's own JavaScript off (CDP `Emulation.setScriptExecutionDisabled`),
    /// for this tab, from the next page on.
    pub async fn disable_javascript(&self) {
        self.page
            .execute(SetScriptExecutionDisabledParams::new(true))
            .await
            .expect("scripts disabled");
        self.scripts_off.store(true, Ordering::Relaxed);
    }

    /// Whether the site's script ran on this page (it marks `<html>` with `js`).
    pub async fn script_ran(&self) -> bool {
        self.eval("document.documentElement.classList.contains('js')")
            .await
    }

    /// Network responses from now on, to watch a background request.
    pub async fn responses(&self) -> EventStream<EventResponseReceived> {
        self.page
            .event_listener::<EventResponseReceived>()
            .await
            .expect("a response subscription")
    }

    // ---- Accessibility, screenshots -----------------------------------------------------

    /// Runs axe-core on the page (injected if it is not there yet) with the WCAG 2.0/2.1
    /// A and AA rules, and fails listing every violation, readably, if there is any.
    pub async fn assert_accessible(&self) {
        let violations = self.axe_violations().await;
        if !violations.is_empty() {
            panic!(
                "axe-core found {} accessibility violation(s) on {}:\n{}",
                violations.len(),
                self.url().await,
                format_violations(&violations)
            );
        }
    }

    /// axe-core's violations on the page, as it reports them.
    pub async fn axe_violations(&self) -> Vec<Value> {
        assert!(
            !self.scripts_off.load(Ordering::Relaxed),
            "axe-core cannot run in a tab with JavaScript disabled (its checks wait on timers)"
        );
        let present: bool = self.eval("typeof window.axe === 'object'").await;
        if !present {
            tokio::time::timeout(TIMEOUT, self.page.evaluate_expression(tools::axe_source()))
                .await
                .expect("axe-core injected in time")
                .expect("axe-core injected");
        }
        let tags = serde_json::to_string(&AXE_TAGS).expect("JSON");
        self.eval(&format!(
            "axe.run(document, {{runOnly: {{type: 'tag', values: {tags}}}, resultTypes: ['violations']}})
                .then(r => r.violations.map(v => ({{
                    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                    nodes: v.nodes.map(n => ({{target: n.target, html: n.html, summary: n.failureSummary}}))
                }})))"
        ))
        .await
    }

    /// Saves a PNG of the whole page at `path` (its folder is created).
    pub async fn screenshot(&self, path: &Path) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        self.page
            .save_screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .full_page(true)
                    .build(),
                path,
            )
            .await
            .unwrap_or_else(|e| panic!("screenshot to {}: {e}", path.display()));
    }

    // ---- WebAuthn -------------------------------------------------------------------------

    /// Enables CDP's WebAuthn domain and adds a virtual authenticator: a platform one
    /// (internal transport: face or fingerprint unlock holding passkeys) or a roaming one
    /// (USB security key), CTAP 2.1, with resident keys and user verification that
    /// always succeeds.
    pub async fn add_virtual_authenticator(&self, platform: bool) -> AuthenticatorId {
        self.page
            .execute(web_authn::EnableParams::default())
            .await
            .expect("the WebAuthn domain");
        let transport = if platform {
            AuthenticatorTransport::Internal
        } else {
            AuthenticatorTransport::Usb
        };
        let mut options = VirtualAuthenticatorOptions::new(AuthenticatorProtocol::Ctap2, transport);
        options.ctap2_version = Some(Ctap2Version::Ctap21);
        options.has_resident_key = Some(true);
        options.has_user_verification = Some(true);
        options.is_user_verified = Some(true);
        options.automatic_presence_simulation = Some(true);
        self.page
            .execute(AddVirtualAuthenticatorParams::new(options))
            .await
            .expect("a virtual authenticator")
            .result
            .authenticator_id
    }

    /// The credentials the virtual authenticator holds, as (credential id, relying party).
    pub async fn authenticator_credentials(&self, id: &AuthenticatorId) -> Vec<(String, String)> {
        self.page
            .execute(web_authn::GetCredentialsParams::new(id.clone()))
            .await
            .expect("the authenticator's credentials")
            .result
            .credentials
            .into_iter()
            .map(|c| (String::from(c.credential_id), c.rp_id.unwrap_or_default()))
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // A test failed before `close`: end the browser by its own process handle
            // (SIGKILL to that pid only; its helpers exit when it does).
            if let Some(child) = self.cdp.get_mut_child() {
                let _ = child.inner.start_kill();
            }
            self.handler.abort();
        }
    }
}

/// The element with the keyboard focus and its focus indicator.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Focused {
    /// `input`, `a`, `button`… (`body` when nothing has the focus).
    pub tag: String,
    pub id: String,
    /// Its text (a link's or button's), or its label's for a form field.
    pub text: String,
    /// Whether it matches `:focus-visible` (the browser shows keyboard focus).
    pub focus_visible: bool,
    /// The indicator: outline (or box-shadow) colour, as CSS gives it, and its width.
    pub indicator: String,
    pub indicator_px: f64,
    /// Contrast of the indicator's colour against the background around the element
    /// (WCAG 1.4.11 asks 3:1 of what shows a component's state).
    pub indicator_contrast: f64,
}

impl Focused {
    /// Shown to a keyboard user: `:focus-visible` with an indicator at least 2 px wide
    /// and 3:1 against its surroundings.
    pub fn is_visible(&self) -> bool {
        self.focus_visible && self.indicator_px >= 2.0 && self.indicator_contrast >= 3.0
    }
}

impl std::fmt::Display for Focused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<{}{}> “{}” (focus indicator: {} {}px, {:.2}:1{})",
            self.tag,
            if self.id.is_empty() {
                String::new()
            } else {
                format!(" id={}", self.id)
            },
            self.text,
            self.indicator,
            self.indicator_px,
            self.indicator_contrast,
            if self.focus_visible {
                ""
            } else {
                ", not :focus-visible"
            }
        )
    }
}

/// Describes `document.activeElement` as a [`Focused`].
const FOCUSED: &str = r#"(() => {
    const e = document.activeElement || document.body;
    const s = getComputedStyle(e);
    const rgba = c => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    let around = [255, 255, 255];
    for (let p = e.parentElement; p; p = p.parentElement) {
        const c = rgba(getComputedStyle(p).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) { around = c.slice(0, 3); break; }
    }
    let colour = '', width = 0;
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) {
        colour = s.outlineColor; width = parseFloat(s.outlineWidth);
    } else if (s.boxShadow && s.boxShadow !== 'none') {
        colour = (s.boxShadow.match(/rgba?\([^)]*\)/) || [''])[0];
        width = Math.max(...(s.boxShadow.replace(/rgba?\([^)]*\)/g, '').match(/[\d.]+px/g) || ['0px']).map(parseFloat));
    }
    const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
    return {
        tag: e.tagName.toLowerCase(),
        id: e.id || '',
        text: (label || e.innerText || e.value || '').replace(/\s+/g, ' ').trim().slice(0, 80),
        focus_visible: e.matches(':focus-visible'),
        indicator: colour,
        indicator_px: width,
        indicator_contrast: colour ? contrast(rgba(colour).slice(0, 3), around) : 1,
    };
})()"#;

/// axe's violations, one block per rule: the rule, its impact and help, and each failing
/// element with its selector, markup and what to fix.
pub fn format_violations(violations: &[Value]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "- [{}] {} ({})\n  {}\n",
            v["impact"].as_str().unwrap_or("?"),
            v["id"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or(""),
            v["helpUrl"].as_str().unwrap_or("")
        ));
        for n in v["nodes"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "    at {}\n      {}\n      {}\n",
                n["target"],
                n["html"].as_str().unwrap_or(""),
                n["summary"]
                    .as_str()
                    .unwrap_or("")
                    .replace('\n', "\n      ")
            ));
        }
    }
    out
}
