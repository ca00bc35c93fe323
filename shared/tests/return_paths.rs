//! Return paths (issue 17, item 2): every `return_to` the site follows or renders is a
//! path on this site or `/`, for a corpus of hostile values — `//`, `/\`, `\\`, `%2f`,
//! `%5c`, tabs and newlines, doubled and tripled language prefixes, `https:`, mixed case,
//! unicode slashes — on every route that takes one: the factor steps (app, backup code,
//! phone code) completing a sign-in and asked again, `POST /language`, `POST
//! /session/keep-alive`, and the language form of any page (a 404 included).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use support::{
    Answer, Browser, GOOD, Site, between, sign_up_with_app, site_with_clock, texted_code,
};

/// What an attacker puts in `return_to`.
const HOSTILE: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "////evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "https:evil.example",
    "HTTPS://evil.example",
    "hTtP://evil.example",
    "/https://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/%2fevil.example",
    "/%2F%2Fevil.example",
    "%2f%2fevil.example",
    "/%5cevil.example",
    "/%5C%5Cevil.example",
    "/%252f%252fevil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/ /evil.example",
    "/\0/evil.example",
    "/%09/evil.example",
    "/%00//evil.example",
    "/fr//evil.example",
    "/fr/fr//evil.example",
    "/fr/fr/fr//evil.example",
    "/es/fr/zh//evil.example",
    "/fr/\\evil.example",
    "/fr/fr/\\evil.example",
    "/FR//evil.example",
    "/Fr/fr//evil.example",
    "/fr/%2f/evil.example",
    "/fr/fr/%5c/evil.example",
    "/fr/https://evil.example",
    "/fr/fr/https:\\\\evil.example",
    "/\u{2215}\u{2215}evil.example",
    "/\u{ff0f}\u{ff0f}evil.example",
    "\u{ff0f}\u{ff0f}evil.example",
    "/\u{2044}evil.example",
    "/\u{29f8}evil.example",
    "/%e2%88%95%e2%88%95evil.example",
    "/\u{200b}/evil.example",
    "/\u{85}/evil.example",
    "/.//evil.example",
    "/..//evil.example",
    "/./\\evil.example",
    "/fr/..//evil.example",
    "/a\r\nSet-Cookie: x=1",
];

/// Local paths that must still be followed, and where they lead from an English page.
const LOCAL: &[(&str, &str)] = &[
    ("/account/history", "/account/history"),
    ("/fr/account/history", "/account/history"),
    ("/fr/es/account/history", "/account/history"),
    ("/account/history?page=2", "/account/history?page=2"),
];

const HOST: &str = "id.example.gov";

/// Whether `target` (a `Location`, or a `return_to` the page renders) is a plain path of
/// this site: a browser resolves it to this host, it starts with one `/`, holds only
/// visible ASCII without `\`, and its path part has no `//` and no escapes (which a proxy
/// or a later step could decode into slashes).
fn on_site(target: &str) -> bool {
    let base = reqwest::Url::parse(&format!("https://{HOST}/account")).unwrap();
    let path = target.split(['?', '#']).next().unwrap_or_default();
    target.starts_with('/')
        && target.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !path.contains("//")
        && !path.contains('%')
        && base
            .join(target)
            .is_ok_and(|u| u.scheme() == "https" && u.host_str() == Some(HOST))
}

fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// Every `return_to` a page carries on: hidden fields, and the query of its links.
fn rendered_return_paths(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    for piece in body.split("name=\"return_to\" value=\"").skip(1) {
        found.push(unescape(&piece[..piece.find('"').unwrap()]));
    }
    for piece in body.split("href=\"").skip(1) {
        let href = unescape(&piece[..piece.find('"').unwrap()]);
        let Some((_, query)) = href.split_once('?') else {
            continue;
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        found.extend(
            pairs
                .into_iter()
                .filter(|(k, _)| k == "return_to")
                .map(|(_, v)| v),
        );
    }
    found
}

/// Collects every way a value escaped, to report them all at once.
#[derive(Default)]
struct Escapes(Vec<String>);

impl Escapes {
    fn location(&mut self, route: &str, value: &str, answer: &Answer) {
        if !answer.status.is_redirection() {
            self.0.push(format!(
                "{route} with {value:?}: {} instead of a redirect",
                answer.status
            ));
        } else if !on_site(answer.location()) {
            self.0.push(format!(
                "{route} with {value:?} → Location {:?}",
                answer.location()
            ));
        }
    }

    fn page(&mut self, route: &str, value: &str, answer: &Answer) {
        for carried in rendered_return_paths(&answer.body) {
            if !carried.is_empty() && !on_site(&carried) {
                self.0
                    .push(format!("{route} with {value:?} renders {carried:?}"));
            }
        }
    }

    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} escapes:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn query(value: &str) -> String {
    serde_urlencoded::to_string([("return_to", value)]).unwrap()
}

const EMAIL: &str = "rue@example.gov";

/// A password sign-in in a fresh browser: the session is pending, at the factor step.
async fn pending(site: &Site) -> Browser<'_> {
    let mut b = Browser::new(site);
    b.get("/sign-in").await;
    let step = b
        .post("/sign-in", &[("email", EMAIL), ("password", GOOD)])
        .await;
    assert_eq!(step.location(), "/sign-in/factor", "{}", step.body);
    b
}

/// The return path of `answer`'s code form (its hidden field).
fn carried_by(answer: &Answer) -> String {
    unescape(between(&answer.body, "name=\"return_to\" value=\"", "\"").expect("a code form"))
}

#[tokio::test]
async fn no_return_path_leaves_the_site_after_an_app_code() {
    let site = site_with_clock();
    let mut owner = Browser::new(&site);
    let secret = sign_up_with_app(&mut owner, "", EMAIL).await;
    let mut escapes = Escapes::default();
    for value in HOSTILE {
        // Given a link to the app step carrying the value, opened after the password
        let mut b = pending(&site).await;
        let form = b.get(&format!("/sign-in/totp?{}", query(value))).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        escapes.page("GET /sign-in/totp", value, &form);
        // When the right code is entered, the sign-in lands on this site
        let carried = carried_by(&form);
        let code = site.totp(&secret);
        let done = b
            .post("/sign-in/totp", &[("code", &code), ("return_to", &carried)])
            .await;
        escapes.location("POST /sign-in/totp (sign-in)", value, &done);
        site.advance(30);
        // And asked again once signed in, with the value posted as it is, too
        b.get("/sign-in/totp").await;
        let code = site.totp(&secret);
        let again = b
            .post("/sign-in/totp", &[("code", &code), ("return_to", value)])
            .await;
        escapes.location("POST /sign-in/totp (again)", value, &again);
        site.advance(30);
    }
    escapes.assert_none();
    // Then local paths are still followed
    for (value, to) in LOCAL {
        let mut b = pending(&site).await;
        let form = b.get(&format!("/sign-in/totp?{}", query(value))).await;
        let code = site.totp(&secret);
        let done = b
            .post(
                "/sign-in/totp",
                &[("code", &code), ("return_to", &carried_by(&form))],
            )
            .await;
        assert_eq!(done.location(), *to, "{value}");
        site.advance(30);
    }
}

/// Backup codes from a signed-in browser with a fresh factor.
async fn new_backup_codes(b: &mut Browser<'_>) -> Vec<String> {
    b.get("/mfa/backup-codes").await;
    let page = b.post("/mfa/backup-codes", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn no_return_path_leaves_the_site_after_a_backup_code() {
    let site = site_with_clock();
    let mut owner = Browser::new(&site);
    sign_up_with_app(&mut owner, "", EMAIL).await;
    let mut codes = new_backup_codes(&mut owner).await;
    let mut escapes = Escapes::default();
    let cases = HOSTILE.iter().map(|v| (*v, None)).chain(
        LOCAL
            .iter()
            .map(|(v, to)| (*v, Some(*to)))
            .collect::<Vec<_>>(),
    );
    for (value, local) in cases {
        // Given a link to the backup-code step carrying the value, after the password
        let mut b = pending(&site).await;
        let form = b
            .get(&format!("/sign-in/backup-code?{}", query(value)))
            .await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        escapes.page("GET /sign-in/backup-code", value, &form);
        // When a right code is entered (never the last: that one leads to new codes)
        let code = codes.pop().unwrap();
        let done = b
            .post(
                "/sign-in/backup-code",
                &[("code", &code), ("return_to", &carried_by(&form))],
            )
            .await;
        match local {
            None => escapes.location("POST /sign-in/backup-code (sign-in)", value, &done),
            Some(to) => assert_eq!(done.location(), to, "{value}"),
        }
        // And asked again once signed in, with the value posted as it is
        let code = codes.pop().unwrap();
        b.get("/sign-in/backup-code").await;
        let again = b
            .post(
                "/sign-in/backup-code",
                &[("code", &code), ("return_to", value)],
            )
            .await;
        if local.is_none() {
            escapes.location("POST /sign-in/backup-code (again)", value, &again);
        }
        if codes.len() < 3 {
            codes = new_backup_codes(&mut b).await;
        }
    }
    escapes.assert_none();
}

#[tokio::test]
async fn no_return_path_leaves_the_site_after_a_phone_code() {
    let site = site_with_clock();
    let mut owner = Browser::new(&site);
    sign_up_with_app(&mut owner, "", EMAIL).await;
    owner.get("/mfa/phone").await;
    let sent = owner
        .post(
            "/mfa/phone",
            &[("number", "(703) 555-0100"), ("delivery", "sms")],
        )
        .await;
    let confirm = owner.get(sent.location()).await;
    let challenge = between(&confirm.body, "name=\"c\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let code = texted_code(&site, "+17035550100").await;
    let added = owner
        .post("/mfa/phone/confirm", &[("c", &challenge), ("code", &code)])
        .await;
    assert_eq!(added.location(), "/mfa/setup?added=phone", "{}", added.body);
    let mut escapes = Escapes::default();
    let cases = HOSTILE.iter().map(|v| (*v, None)).chain(
        LOCAL
            .iter()
            .map(|(v, to)| (*v, Some(*to)))
            .collect::<Vec<_>>(),
    );
    for (value, local) in cases {
        // Sends are limited per phone (RL): one text every 40 s stays under them.
        site.advance(40);
        // Given a link to the method list carrying the value, after the password
        let mut b = pending(&site).await;
        let list = b
            .get(&format!("/sign-in/factor?choose=1&{}", query(value)))
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        escapes.page("GET /sign-in/factor", value, &list);
        let id = between(&list.body, "name=\"f\" value=\"", "\"")
            .unwrap()
            .to_owned();
        // When the phone is chosen, a text sent and its code entered
        let to_code = b
            .post(
                "/sign-in/phone",
                &[
                    ("f", &id),
                    ("return_to", &carried_by(&list)),
                    ("delivery", "sms"),
                ],
            )
            .await;
        escapes.location("POST /sign-in/phone", value, &to_code);
        let form = b.get(to_code.location()).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        escapes.page("GET /sign-in/phone/code", value, &form);
        let c = between(&form.body, "name=\"c\" value=\"", "\"")
            .unwrap()
            .to_owned();
        let code = texted_code(&site, "+17035550100").await;
        let done = b
            .post(
                "/sign-in/phone/code",
                &[
                    ("c", &c),
                    ("code", &code),
                    ("return_to", &carried_by(&form)),
                ],
            )
            .await;
        // Then the sign-in lands on this site
        match local {
            None => escapes.location("POST /sign-in/phone/code", value, &done),
            Some(to) => assert_eq!(done.location(), to, "{value}"),
        }
    }
    escapes.assert_none();
}

#[tokio::test]
async fn the_language_switcher_never_leaves_the_site() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    b.get("/").await;
    let mut escapes = Escapes::default();
    for value in HOSTILE {
        // When the footer's form is posted with the value, in English or French
        for lang in ["en", "fr", "es"] {
            let answer = b
                .post("/language", &[("lang", lang), ("return_to", value)])
                .await;
            escapes.location(&format!("POST /language ({lang})"), value, &answer);
        }
        // And any page whose own address holds the value (a 404) renders only a local
        // return path into its language form
        for path in [value.to_string(), format!("/fr{value}")] {
            let Ok(uri) = path.parse::<http::Uri>() else {
                continue;
            };
            if uri.host().is_some() || uri.path_and_query().map(|p| p.as_str()) != Some(&path) {
                continue;
            }
            let page = b.get(&path).await;
            escapes.page(&format!("GET {path}"), value, &page);
            for carried in rendered_return_paths(&page.body) {
                let answer = b
                    .post("/language", &[("lang", "en"), ("return_to", &carried)])
                    .await;
                escapes.location(&format!("POST /language from GET {path}"), value, &answer);
            }
        }
    }
    escapes.assert_none();
    // Then local paths are still followed, in the chosen language
    for (value, to) in LOCAL {
        let answer = b
            .post("/language", &[("lang", "fr"), ("return_to", value)])
            .await;
        assert_eq!(answer.location(), format!("/fr{to}"), "{value}");
    }
}

#[tokio::test]
async fn the_keep_alive_form_never_leaves_the_site() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up_with_app(&mut b, "", EMAIL).await;
    b.get("/account").await;
    let mut escapes = Escapes::default();
    for value in HOSTILE {
        // When the warning's form is posted without script (a navigation) with the value
        for prefix in ["", "/fr"] {
            let answer = b
                .post(
                    &format!("{prefix}/session/keep-alive"),
                    &[("return_to", value)],
                )
                .await;
            escapes.location(&format!("POST {prefix}/session/keep-alive"), value, &answer);
        }
    }
    escapes.assert_none();
    for (value, to) in LOCAL {
        let answer = b.post("/session/keep-alive", &[("return_to", value)]).await;
        assert_eq!(answer.location(), *to, "{value}");
    }
}
