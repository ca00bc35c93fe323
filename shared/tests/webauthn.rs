//! Security keys and face or touch unlock (MFA-1) as a person uses them, through the real
//! router: software authenticators (webauthn-authenticator-rs's `SoftToken` and
//! `SoftPasskey`) answer the options the pages carry, as the browser script would, and
//! the answers go back through the forms — set-up as a first or another method, sign-in,
//! phishing resistance (another origin), cloned authenticators, single-use and expiring
//! ceremonies, the lockout, removal and the exclude list.
#![cfg(all(feature = "web", feature = "embedded"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use passerelle::session::{Aal, SessionToken};
use passerelle::store::Query;
use support::{Answer, Browser, GOOD, PUBLIC_URL, Site, between, sign_up, site_with_clock};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator};
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url,
};

fn origin() -> Url {
    Url::parse(PUBLIC_URL).unwrap()
}

/// A fresh security key (no PIN: user presence only, as most keys).
fn security_key() -> SoftToken {
    SoftToken::new(false).unwrap().0
}

/// Undoes the HTML escaping of an attribute value.
fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The options JSON a ceremony page holds for the script.
fn options_of(body: &str) -> String {
    unescape(between(body, "data-options=\"", "\"").expect("a ceremony page"))
}

fn ceremony_of(body: &str) -> String {
    between(body, "name=\"ceremony\" value=\"", "\"")
        .expect("a ceremony id")
        .to_owned()
}

/// The set-up page for `attachment`, then its form: the page that asks the
/// authenticator, with the options it was given.
async fn begin_registration(
    b: &mut Browser<'_>,
    name: &str,
    attachment: &str,
) -> (Answer, CreationChallengeResponse) {
    let form = b.get(&format!("/mfa/webauthn?type={attachment}")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let page = b
        .post(
            "/mfa/webauthn",
            &[("name", name), ("attachment", attachment)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("data-webauthn=\"create\""),
        "{}",
        page.body
    );
    let ccr = serde_json::from_str(&options_of(&page.body)).unwrap();
    (page, ccr)
}

/// What the soft authenticators can do: they are roaming devices and refuse a request
/// for a platform one, which a browser would route to the built-in authenticator.
fn as_roaming(mut ccr: CreationChallengeResponse) -> CreationChallengeResponse {
    if let Some(selection) = ccr.public_key.authenticator_selection.as_mut() {
        selection.authenticator_attachment = None;
    }
    ccr
}

async fn finish_registration(
    b: &mut Browser<'_>,
    ceremony: &str,
    answer: &RegisterPublicKeyCredential,
) -> Answer {
    let json = serde_json::to_string(answer).unwrap();
    b.post(
        "/mfa/webauthn/finish",
        &[("ceremony", ceremony), ("credential", &json)],
    )
    .await
}

/// Registers `authenticator` under `name` through the pages; returns the finish answer.
async fn register(
    b: &mut Browser<'_>,
    authenticator: &mut dyn AuthenticatorBackend,
    name: &str,
    attachment: &str,
) -> Answer {
    let (page, ccr) = begin_registration(b, name, attachment).await;
    let answer = authenticator
        .do_registration(origin(), as_roaming(ccr))
        .unwrap();
    finish_registration(b, &ceremony_of(&page.body), &answer).await
}

/// Signs up `email` with a security key as the first method; the browser ends signed in.
async fn sign_up_with_key<'a>(site: &'a Site, email: &str, key: &mut SoftToken) -> Browser<'a> {
    let mut b = Browser::new(site);
    let done = sign_up(&mut b, "", email, GOOD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let added = register(&mut b, key, "Blue key", "security_key").await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), "/mfa/setup?added=webauthn");
    b
}

/// A fresh browser past the password, on the ceremony page the factor step leads to.
async fn at_key_step<'a>(site: &'a Site, email: &str) -> (Browser<'a>, Answer) {
    let mut b = Browser::new(site);
    b.get("/sign-in").await;
    let step = b
        .post("/sign-in", &[("email", email), ("password", GOOD)])
        .await;
    assert_eq!(step.location(), "/sign-in/factor", "{}", step.body);
    let page = b.open("/sign-in/factor").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("data-webauthn=\"get\""), "{}", page.body);
    (b, page)
}

fn request_of(page: &Answer) -> RequestChallengeResponse {
    serde_json::from_str(&options_of(&page.body)).unwrap()
}

async fn answer_sign_in(
    b: &mut Browser<'_>,
    ceremony: &str,
    answer: &PublicKeyCredential,
) -> Answer {
    let json = serde_json::to_string(answer).unwrap();
    b.post(
        "/sign-in/webauthn/finish",
        &[
            ("ceremony", ceremony),
            ("credential", &json),
            ("return_to", ""),
        ],
    )
    .await
}

/// Signs in with password and `authenticator`: the answer to its ceremony.
async fn sign_in_with<'a>(
    site: &'a Site,
    email: &str,
    authenticator: &mut dyn AuthenticatorBackend,
) -> (Browser<'a>, Answer) {
    let (mut b, page) = at_key_step(site, email).await;
    let answer = authenticator
        .do_authentication(origin(), request_of(&page))
        .unwrap();
    let done = answer_sign_in(&mut b, &ceremony_of(&page.body), &answer).await;
    (b, done)
}

/// The session `b` holds, as the server sees it.
async fn session_of(site: &Site, b: &Browser<'_>) -> passerelle::session::Session {
    let token = SessionToken::parse(&b.cookies["__Host-session"]).unwrap();
    let services = site.state.account_services().await.unwrap();
    services.sessions.resume(&token).await.unwrap().unwrap()
}

/// How many credentials the account of `b`'s session has a claim on.
async fn claims(site: &Site, b: &Browser<'_>) -> usize {
    let user = session_of(site, b).await.user_id;
    let query = Query::partition(format!("USER#{user}")).prefix("WEBAUTHN_CRED#");
    site.services.store.query(&query).await.unwrap().items.len()
}

/// The account page's id of the method labelled `label`.
fn factor_id(account: &str, label: &str) -> String {
    let at = account.find(label).expect("the method on the account page");
    between(&account[at..], "name=\"id\" value=\"", "\"")
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_security_key_set_up_at_sign_up_signs_in_phishing_resistant() {
    let site = site_with_clock();
    let mut key = security_key();
    // Given Léa, who has just chosen her password, sees security keys offered first
    let mut b = Browser::new(&site);
    sign_up(&mut b, "", "lea@example.gov", GOOD).await;
    let setup = b.get("/mfa/setup").await;
    let key_choice = setup.body.find("/mfa/webauthn?type=security_key").unwrap();
    let app_choice = setup.body.find("/mfa/totp").unwrap();
    assert!(key_choice < app_choice, "{}", setup.body);
    assert!(setup.body.contains("/mfa/webauthn?type=platform"));
    // When she names her key and touches it
    let (page, ccr) = begin_registration(&mut b, "Blue key", "security_key").await;
    assert_eq!(ccr.public_key.rp.id, "localhost");
    assert!(page.body.contains("<noscript>"), "{}", page.body);
    let answer = key.do_registration(origin(), as_roaming(ccr)).unwrap();
    let added = finish_registration(&mut b, &ceremony_of(&page.body), &answer).await;
    // Then the key finishes her sign-up: she is signed in and offered a second method
    assert_eq!(
        added.location(),
        "/mfa/setup?added=webauthn",
        "{}",
        added.body
    );
    let next = b.follow(added).await;
    assert!(
        next.body.contains("Added: Security key “Blue key”"),
        "{}",
        next.body
    );
    let account = b.open("/account").await;
    assert!(
        account.body.contains("Security key “Blue key”"),
        "{}",
        account.body
    );

    // When she signs in again, the factor step goes straight to her key
    let (c, done) = sign_in_with(&site, "lea@example.gov", &mut key).await;
    // Then she is in, with a session agencies asking for phishing resistance accept
    assert_eq!(done.location(), "/account", "{}", done.body);
    let session = session_of(&site, &c).await;
    assert_eq!(session.factor_kind.as_deref(), Some("webauthn"));
    assert!(session.satisfies(Aal::PhishingResistant));
    assert!(session.satisfies(Aal::Aal2));
    // And her key shows when it was last used
    let services = site.state.account_services().await.unwrap();
    let methods = services.factors.list(&session.user_id).await.unwrap();
    assert_eq!(methods.len(), 1);
    assert!(methods[0].last_used_ms.is_some());
}

#[tokio::test]
async fn face_or_touch_unlock_is_another_method_and_is_announced() {
    let site = site_with_clock();
    let mut key = security_key();
    let mut b = sign_up_with_key(&site, "omar@example.gov", &mut key).await;
    site.mail_to("omar@example.gov").await;
    // When Omar adds face or touch unlock on his laptop
    let (page, ccr) = begin_registration(&mut b, "Laptop", "platform").await;
    // Then the browser is asked for the built-in authenticator, and his key is excluded
    let options = options_of(&page.body);
    assert!(
        options.contains("\"authenticatorAttachment\":\"platform\""),
        "{options}"
    );
    assert!(
        options.contains("\"hints\":[\"client-device\"]"),
        "{options}"
    );
    assert_eq!(
        ccr.public_key.exclude_credentials.as_ref().unwrap().len(),
        1
    );
    let mut laptop = SoftPasskey::new(true);
    let answer = laptop.do_registration(origin(), as_roaming(ccr)).unwrap();
    let added = finish_registration(&mut b, &ceremony_of(&page.body), &answer).await;
    assert_eq!(
        added.location(),
        "/mfa/setup?added=webauthn",
        "{}",
        added.body
    );
    // And the account page names both, and every address hears of the new method
    let account = b.open("/account").await;
    assert!(
        account.body.contains("Face or touch unlock “Laptop”"),
        "{}",
        account.body
    );
    assert!(account.body.contains("Security key “Blue key”"));
    let mail = site.mail_to("omar@example.gov").await;
    assert!(
        mail.iter()
            .any(|(s, t)| s == "Authentication method added" && t.contains("unlock “Laptop”")),
        "{mail:?}"
    );
    // And one sign-in ceremony offers both; either answers it
    let (mut c, page) = at_key_step(&site, "omar@example.gov").await;
    let request = request_of(&page);
    assert_eq!(request.public_key.allow_credentials.len(), 2);
    assert!(request.public_key.hints.is_none());
    let answer = laptop.do_authentication(origin(), request).unwrap();
    let done = answer_sign_in(&mut c, &ceremony_of(&page.body), &answer).await;
    assert_eq!(done.location(), "/account", "{}", done.body);
}

#[tokio::test]
async fn answers_made_for_another_origin_are_refused() {
    let site = site_with_clock();
    let mut key = security_key();
    let mut b = sign_up_with_key(&site, "ines@example.gov", &mut key).await;
    let phishing = Url::parse("https://passerelle-login.example").unwrap();
    // Given a look-alike site that relays our set-up to Inès's browser
    let (page, ccr) = begin_registration(&mut b, "Other key", "security_key").await;
    let mut other = security_key();
    let answer = AuthenticatorBackend::perform_register(
        &mut other,
        phishing.clone(),
        as_roaming(ccr).public_key,
        60_000,
    )
    .unwrap();
    // When the key's answer, made for that site, comes back to us
    let refused = finish_registration(&mut b, &ceremony_of(&page.body), &answer).await;
    // Then no method is added
    assert_eq!(refused.status, StatusCode::OK);
    assert!(refused.body.contains("could not check"), "{}", refused.body);
    let account = b.open("/account").await;
    assert!(!account.body.contains("Other key"));

    // Given the look-alike site relaying our sign-in challenge
    let (mut c, page) = at_key_step(&site, "ines@example.gov").await;
    let request = request_of(&page);
    let answer =
        AuthenticatorBackend::perform_auth(&mut key, phishing.clone(), request.public_key, 60_000)
            .unwrap();
    // When the answer the key gave there comes back to us
    let refused = answer_sign_in(&mut c, &ceremony_of(&page.body), &answer).await;
    // Then it is refused, the person is not signed in, and a new ceremony is offered
    assert_eq!(refused.status, StatusCode::OK);
    assert!(
        refused.body.contains("was not accepted"),
        "{}",
        refused.body
    );
    assert_ne!(ceremony_of(&refused.body), ceremony_of(&page.body));
    assert_eq!(c.get("/account").await.status, StatusCode::SEE_OTHER);
    // And the real site's answer still works
    let answer = key
        .do_authentication(origin(), request_of(&refused))
        .unwrap();
    let done = answer_sign_in(&mut c, &ceremony_of(&refused.body), &answer).await;
    assert_eq!(done.location(), "/account", "{}", done.body);
}

#[tokio::test]
async fn a_cloned_authenticator_whose_counter_falls_behind_is_refused() {
    let site = site_with_clock();
    let mut key = security_key();
    sign_up_with_key(&site, "noah@example.gov", &mut key).await;
    // Given a copy of Noah's key made after one use
    let (_, first) = sign_in_with(&site, "noah@example.gov", &mut key).await;
    assert_eq!(first.location(), "/account");
    let mut clone = SoftToken::from_cbor(&key.to_cbor().unwrap()).unwrap();
    // When Noah uses his own key again, its counter moves on
    let (_, second) = sign_in_with(&site, "noah@example.gov", &mut key).await;
    assert_eq!(second.location(), "/account");
    // Then the copy, whose counter is now behind, is refused
    let (mut c, refused) = sign_in_with(&site, "noah@example.gov", &mut clone).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(
        refused.body.contains("was not accepted"),
        "{}",
        refused.body
    );
    assert_eq!(c.get("/account").await.status, StatusCode::SEE_OTHER);

    // Given a copy of Zoé's key made before any use
    let mut fresh = security_key();
    sign_up_with_key(&site, "zoe@example.gov", &mut fresh).await;
    let mut stale = SoftToken::from_cbor(&fresh.to_cbor().unwrap()).unwrap();
    // When her own key is used three times, the copy cannot catch up in two
    for _ in 0..3 {
        let (_, ok) = sign_in_with(&site, "zoe@example.gov", &mut fresh).await;
        assert_eq!(ok.location(), "/account");
    }
    for _ in 0..2 {
        let (_, no) = sign_in_with(&site, "zoe@example.gov", &mut stale).await;
        assert!(no.body.contains("was not accepted"), "{}", no.body);
    }
    // While the real key keeps working
    let (_, ok) = sign_in_with(&site, "zoe@example.gov", &mut fresh).await;
    assert_eq!(ok.location(), "/account");
}

#[tokio::test]
async fn a_ceremony_is_used_once() {
    let site = site_with_clock();
    let mut key = security_key();
    // Given a registration answer posted twice (a double click, or a replay)
    let mut b = Browser::new(&site);
    sign_up(&mut b, "", "yara@example.gov", GOOD).await;
    let (page, ccr) = begin_registration(&mut b, "Blue key", "security_key").await;
    let answer = key.do_registration(origin(), as_roaming(ccr)).unwrap();
    let ceremony = ceremony_of(&page.body);
    let first = finish_registration(&mut b, &ceremony, &answer).await;
    assert_eq!(first.location(), "/mfa/setup?added=webauthn");
    let second = finish_registration(&mut b, &ceremony, &answer).await;
    // Then the second, with the CSRF token from before the sign-in completed, is refused
    assert_eq!(second.status, StatusCode::FORBIDDEN);
    // And a replay with the new token finds the ceremony gone and adds nothing
    b.get("/mfa/setup").await;
    let replay = finish_registration(&mut b, &ceremony, &answer).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    let account = b.open("/account").await;
    assert_eq!(account.body.matches("Security key “Blue key”").count(), 1);

    // When a sign-in answer is replayed, the second use is refused without counting
    let (mut c, page) = at_key_step(&site, "yara@example.gov").await;
    let answer = key.do_authentication(origin(), request_of(&page)).unwrap();
    let ceremony = ceremony_of(&page.body);
    let ok = answer_sign_in(&mut c, &ceremony, &answer).await;
    assert_eq!(ok.location(), "/account");
    let (mut d, _) = at_key_step(&site, "yara@example.gov").await;
    let replayed = answer_sign_in(&mut d, &ceremony, &answer).await;
    assert_eq!(replayed.status, StatusCode::OK);
    assert!(
        replayed.body.contains("longer than 5 minutes"),
        "{}",
        replayed.body
    );
    assert!(!replayed.body.contains("tries left"));
}

#[tokio::test]
async fn a_ceremony_expires_after_five_minutes() {
    let site = site_with_clock();
    let mut key = security_key();
    let mut b = Browser::new(&site);
    sign_up(&mut b, "", "ravi@example.gov", GOOD).await;
    // Given a registration begun, then left for more than 5 minutes
    let (page, ccr) = begin_registration(&mut b, "Blue key", "security_key").await;
    let answer = key.do_registration(origin(), as_roaming(ccr)).unwrap();
    site.advance(5 * 60 + 1);
    let late = finish_registration(&mut b, &ceremony_of(&page.body), &answer).await;
    // Then it must start again; within 5 minutes it works
    assert_eq!(late.status, StatusCode::OK);
    assert!(late.body.contains("longer than 5 minutes"), "{}", late.body);
    let added = register(&mut b, &mut key, "Blue key", "security_key").await;
    assert_eq!(added.location(), "/mfa/setup?added=webauthn");

    // And a sign-in ceremony left too long is refused, without counting as a failure
    let (mut c, page) = at_key_step(&site, "ravi@example.gov").await;
    let answer = key.do_authentication(origin(), request_of(&page)).unwrap();
    site.advance(5 * 60 + 1);
    let late = answer_sign_in(&mut c, &ceremony_of(&page.body), &answer).await;
    assert!(late.body.contains("longer than 5 minutes"), "{}", late.body);
    site.advance(4 * 60);
    let answer = key.do_authentication(origin(), request_of(&late)).unwrap();
    let done = answer_sign_in(&mut c, &ceremony_of(&late.body), &answer).await;
    assert_eq!(done.location(), "/account", "{}", done.body);
}

#[tokio::test]
async fn refused_answers_count_towards_the_lockout() {
    let site = site_with_clock();
    let mut key = security_key();
    sign_up_with_key(&site, "mia@example.gov", &mut key).await;
    // Given someone else's key, registered on another account
    let mut stranger = security_key();
    sign_up_with_key(&site, "sam@example.gov", &mut stranger).await;
    let (_, theirs) = at_key_step(&site, "sam@example.gov").await;
    let their_credentials = request_of(&theirs).public_key.allow_credentials;
    let (mut c, mut page) = at_key_step(&site, "mia@example.gov").await;
    // When ten answers are refused: not answers at all, or from that other key
    for i in 1..=10 {
        let json = if i % 2 == 0 {
            "{\"not\":\"a credential\"}".to_owned()
        } else {
            let mut request = request_of(&page);
            request.public_key.allow_credentials = their_credentials.clone();
            let answer = stranger.do_authentication(origin(), request).unwrap();
            serde_json::to_string(&answer).unwrap()
        };
        let answer = c
            .post(
                "/sign-in/webauthn/finish",
                &[
                    ("ceremony", &ceremony_of(&page.body)),
                    ("credential", &json),
                    ("return_to", ""),
                ],
            )
            .await;
        if i == 7 {
            assert!(answer.body.contains("3 tries left"), "{}", answer.body);
        }
        if i < 10 {
            assert_eq!(answer.status, StatusCode::OK, "{i}: {}", answer.body);
            assert!(answer.body.contains("was not accepted"), "{}", answer.body);
            page = answer;
        } else {
            // Then the tenth locks factor entry for 10 minutes
            assert_eq!(
                answer.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{}",
                answer.body
            );
        }
    }
    // And the ceremony page is refused meanwhile, in this browser and in a new one
    assert_eq!(
        c.get("/sign-in/webauthn").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let mut d = Browser::new(&site);
    d.get("/sign-in").await;
    d.post(
        "/sign-in",
        &[("email", "mia@example.gov"), ("password", GOOD)],
    )
    .await;
    assert_eq!(
        d.get("/sign-in/webauthn").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // While the other account is not locked
    let (_, theirs) = sign_in_with(&site, "sam@example.gov", &mut stranger).await;
    assert_eq!(theirs.location(), "/account", "{}", theirs.body);
    // And after 10 minutes the key works again
    site.advance(10 * 60);
    let (_, done) = sign_in_with(&site, "mia@example.gov", &mut key).await;
    assert_eq!(done.location(), "/account", "{}", done.body);
}

#[tokio::test]
async fn an_empty_answer_is_not_a_failure_and_the_pages_work_without_inline_script() {
    let site = site_with_clock();
    let mut key = security_key();
    sign_up_with_key(&site, "eva@example.gov", &mut key).await;
    let (mut c, page) = at_key_step(&site, "eva@example.gov").await;
    // The ceremony page loads its script from a static file, with the CSP nonce
    let script = between(&page.body, "src=\"/static/webauthn.", "\"").unwrap();
    let served = c.get(&format!("/static/webauthn.{script}")).await;
    assert_eq!(served.status, StatusCode::OK);
    assert!(
        served.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(served.body.contains("navigator.credentials"));
    for tag in page.body.split("<script").skip(1) {
        assert!(tag.contains(" src=\""), "inline script: {tag}");
    }
    assert!(page.body.contains("need JavaScript"), "{}", page.body);
    assert!(
        page.body.contains("/sign-in/factor?choose=1"),
        "{}",
        page.body
    );
    // When the form comes back without an answer (the script did not run)
    for _ in 0..12 {
        let empty = c
            .post(
                "/sign-in/webauthn/finish",
                &[
                    ("ceremony", &ceremony_of(&page.body)),
                    ("credential", ""),
                    ("return_to", ""),
                ],
            )
            .await;
        // Then it says nothing was received, and nothing counts towards the lockout
        assert_eq!(empty.status, StatusCode::OK);
        assert!(empty.body.contains("did not receive"), "{}", empty.body);
    }
    // And the list of methods offers the key first, then the others
    let list = c.get("/sign-in/factor?choose=1").await;
    assert!(
        list.body
            .contains("Use your security key or face or touch unlock")
    );
}

#[tokio::test]
async fn the_last_key_cannot_be_removed_and_a_removed_key_is_forgotten() {
    let site = site_with_clock();
    let mut key = security_key();
    sign_up_with_key(&site, "hugo@example.gov", &mut key).await;
    let (mut b, done) = sign_in_with(&site, "hugo@example.gov", &mut key).await;
    assert_eq!(done.location(), "/account");
    // When Hugo tries to remove his only method
    let account = b.get("/account").await;
    let id = factor_id(&account.body, "Security key “Blue key”");
    let refused = b.post("/account/factor/remove", &[("id", &id)]).await;
    // Then he is told an account needs one
    assert!(
        refused.body.contains("at least one method"),
        "{}",
        refused.body
    );
    // When he adds backup codes, he can remove the key
    b.get("/mfa/backup-codes").await;
    let codes = b.post("/mfa/backup-codes", &[]).await;
    assert_eq!(codes.status, StatusCode::OK, "{}", codes.body);
    assert_eq!(claims(&site, &b).await, 1);
    b.get("/account").await;
    let removed = b.post("/account/factor/remove", &[("id", &id)]).await;
    assert_eq!(
        removed.location(),
        "/account?done=factor-removed",
        "{}",
        removed.body
    );
    // And the account's claim on the key's credential goes with it
    assert_eq!(claims(&site, &b).await, 0);
    // And the factor step no longer asks for the key
    let mut c = Browser::new(&site);
    c.get("/sign-in").await;
    c.post(
        "/sign-in",
        &[("email", "hugo@example.gov"), ("password", GOOD)],
    )
    .await;
    let step = c.open("/sign-in/factor").await;
    assert!(!step.body.contains("data-webauthn"), "{}", step.body);
    assert_eq!(
        c.get("/sign-in/webauthn").await.location(),
        "/sign-in/factor?choose=1"
    );
}

#[tokio::test]
async fn the_same_authenticator_cannot_be_registered_twice() {
    let site = site_with_clock();
    let mut key = security_key();
    let mut b = sign_up_with_key(&site, "lina@example.gov", &mut key).await;
    // When Lina starts adding another key, her first one is in the exclude list
    let (page, ccr) = begin_registration(&mut b, "Spare key", "security_key").await;
    let excluded = ccr.public_key.exclude_credentials.clone().unwrap();
    assert_eq!(excluded.len(), 1);
    // (A browser then refuses the same key. A client that ignores the list and answers
    // with a credential the account already has is refused by the server.)
    let mut other = security_key();
    let mut answer = other.do_registration(origin(), as_roaming(ccr)).unwrap();
    answer.raw_id = excluded[0].id.clone();
    let refused = finish_registration(&mut b, &ceremony_of(&page.body), &answer).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert!(
        refused.body.contains("already one of your methods"),
        "{}",
        refused.body
    );
    // And a different key is added; both are now excluded
    let added = register(&mut b, &mut other, "Spare key", "security_key").await;
    assert_eq!(
        added.location(),
        "/mfa/setup?added=webauthn",
        "{}",
        added.body
    );
    let (_, ccr) = begin_registration(&mut b, "Third key", "security_key").await;
    assert_eq!(ccr.public_key.exclude_credentials.unwrap().len(), 2);
}

#[tokio::test]
async fn the_pages_speak_french_and_spanish() {
    let site = site_with_clock();
    let mut b = Browser::new(&site);
    sign_up(&mut b, "/fr", "jeanne@example.gov", GOOD).await;
    let setup = b.get("/fr/mfa/setup").await;
    assert!(setup.body.contains("Clé de sécurité"), "{}", setup.body);
    let form = b.get("/fr/mfa/webauthn?type=platform").await;
    assert!(
        form.body
            .contains("Le déverrouillage par visage ou empreinte de cet appareil"),
        "{}",
        form.body
    );
    let page = b
        .post(
            "/fr/mfa/webauthn",
            &[("name", ""), ("attachment", "platform")],
        )
        .await;
    assert!(
        page.body.contains("Saisissez un nom de 1 à 40 caractères."),
        "{}",
        page.body
    );
    let page = b
        .post(
            "/fr/mfa/webauthn",
            &[("name", "Portable"), ("attachment", "platform")],
        )
        .await;
    assert!(
        page.body.contains("Utiliser le visage ou l’empreinte"),
        "{}",
        page.body
    );
    assert!(page.body.contains("action=\"/fr/mfa/webauthn/finish\""));
    let es = b.get("/es/mfa/webauthn").await;
    assert!(es.body.contains("Una llave de seguridad"), "{}", es.body);
}
