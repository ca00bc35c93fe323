//! Agencies signing people in through OpenID Connect (OIDC-1 … OIDC-8), driven the way an
//! agency would: the `openidconnect` crate as relying party for discovery, the code flow,
//! ID token checks and userinfo, with a browser through the pages in between; and raw
//! requests for every rule a library would never break on its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::future::Future;
use std::pin::Pin;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthType, AuthenticationContextClass, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use passerelle::clock::Clock;
use passerelle::oidc::agency::{AalSetting, Agency};
use passerelle::oidc::jose::{Alg, SigningKey};
use serde_json::{Value, json};
use support::*;
use tower::ServiceExt;

const CLIENT: &str = "urn:gov:test:benefits";
const REDIRECT: &str = "https://benefits.example.gov/callback";
const LOGGED_OUT: &str = "https://benefits.example.gov/signed-out";

/// The agency's own key.
struct TestAgency {
    key: SigningKey,
}

fn real_now_ms() -> i64 {
    passerelle::clock::SystemClock.now_ms()
}

/// A site on a clock the test moves, starting at the real time (the relying-party
/// library checks token times against the real clock).
fn site_now() -> Site {
    site_with_clock_at(real_now_ms())
}

async fn register(site: &Site, pkce: bool) -> TestAgency {
    let key = SigningKey::generate(Alg::RS256, "agency-key-1".into())
        .unwrap()
        .0;
    let agency = Agency {
        client_id: CLIENT.into(),
        name: "Benefits Portal".into(),
        agency_id: "benefits".into(),
        ial: 1,
        default_aal: AalSetting::Default,
        keys: if pkce { vec![] } else { vec![key.public_jwk()] },
        jwks_uri: None,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![LOGGED_OUT.into()],
        scopes: vec!["email".into(), "all_emails".into(), "locale".into()],
        pkce,
        id_token_alg: Alg::RS256,
        push_notification_url: None,
        failure_to_proof_url: None,
    };
    let oidc = site.state.oidc().await.unwrap();
    oidc.provider.agencies.put(&agency).await.unwrap();
    TestAgency { key }
}

fn now_secs(site: &Site) -> i64 {
    site.services.clock.now_ms() / 1000
}

/// A `private_key_jwt` assertion with these claims over the defaults.
fn assertion(site: &Site, agency: &TestAgency, overrides: Value) -> String {
    let mut claims = json!({
        "iss": CLIENT, "sub": CLIENT, "aud": format!("{PUBLIC_URL}/token"),
        "jti": passerelle::random::RandomExt::token(&passerelle::random::OsRandom, 16),
        "exp": now_secs(site) + 60, "iat": now_secs(site),
    });
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    agency.key.sign("JWT", &claims).unwrap()
}

type HttpFuture =
    Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, std::io::Error>>>>;

/// The relying party's HTTP client: requests go straight into the site's router.
fn http_client(site: &Site) -> impl Fn(openidconnect::HttpRequest) -> HttpFuture + use<> {
    let router = site.router.clone();
    move |req: openidconnect::HttpRequest| {
        let router = router.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default();
            let mut builder = Request::builder().method(parts.method).uri(path);
            for (k, v) in &parts.headers {
                builder = builder.header(k, v);
            }
            let response = router
                .oneshot(builder.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes().to_vec();
            Ok(http::Response::from_parts(parts, bytes))
        })
    }
}

/// A raw form post to the token endpoint: (status, JSON body, headers).
async fn token_request(site: &Site, form: &[(&str, &str)]) -> (StatusCode, Value, http::HeaderMap) {
    let body = serde_urlencoded::to_string(form).unwrap();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let response = site.router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap(), headers)
}

async fn userinfo_status(site: &Site, access_token: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .uri("/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .unwrap();
    let response = site.router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The query parameters of an absolute redirect to the agency.
fn agency_params(location: &str) -> std::collections::HashMap<String, String> {
    assert!(
        location.starts_with(REDIRECT) || location.starts_with(LOGGED_OUT),
        "{location}"
    );
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str(query).unwrap()
}

const STATE: &str = "state-of-the-agency-0123456789";
const NONCE: &str = "nonce-of-the-agency-0123456789";

/// An authorize URL (local path) with these parameters over a valid default.
fn authorize_path(extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", STATE),
        ("nonce", NONCE),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string(&params).unwrap()
    )
}

/// Signs up from the agency's request with an app and lands on the consent page.
async fn sign_up_from_agency(b: &mut Browser<'_>, path: &str, email: &str) -> (Vec<u8>, Answer) {
    let start = b.open(path).await;
    assert!(
        start.body.contains("name=\"password\""),
        "the sign-in page: {}",
        start.body
    );
    let confirmed = sign_up(b, "", email, GOOD).await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let setup = b.get("/mfa/totp").await;
    let secret = base32_decode(between(&setup.body, "id=\"totp-secret\">", "<").unwrap());
    let enrollment = between(&setup.body, "name=\"enrollment\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let code = b.site.totp(&secret);
    let added = b
        .post(
            "/mfa/totp",
            &[
                ("enrollment", &enrollment),
                ("name", "Phone"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(
        added.location(),
        "/authorize/resume",
        "back to the agency's request"
    );
    b.site.advance(30);
    let consent = b.follow(added).await;
    (secret, consent)
}

/// Allows on the consent page; returns the agency's code.
async fn allow(b: &mut Browser<'_>) -> String {
    let answer = b.post("/authorize/consent", &[("decision", "allow")]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let params = agency_params(answer.location());
    assert_eq!(params["state"], STATE);
    params["code"].clone()
}

#[tokio::test]
async fn an_agency_signs_a_new_person_up_and_in_with_private_key_jwt_end_to_end() {
    // Given an agency registered with its key, using a certified relying-party library,
    let site = site_now();
    let agency = register(&site, false).await;
    let http = http_client(&site);
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(PUBLIC_URL.into()).unwrap(), &http)
            .await
            .expect("discovery and JWKS");
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(CLIENT.into()), None)
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
        .set_auth_type(AuthType::RequestBody);
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("all_emails".into()))
        .add_auth_context_value(AuthenticationContextClass::new(
            "urn:acr.login.gov:auth-only".into(),
        ))
        .url();

    // when a person with no account follows the agency's button, signs up, adds an app,
    let mut b = Browser::new(&site);
    let path = &url.as_str()[PUBLIC_URL.len()..];
    let (_secret, consent) = sign_up_from_agency(&mut b, path, "ada@example.com").await;

    // then the consent page names the agency and each attribute,
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(consent.body.contains("Benefits Portal"));
    assert!(consent.body.contains("Your email address"));
    assert!(
        consent
            .body
            .contains("All the email addresses on your account")
    );
    let answer = b.post("/authorize/consent", &[("decision", "allow")]).await;
    let params = agency_params(answer.location());
    assert_eq!(params["state"], *csrf.secret());

    // and the agency exchanges the code with a signed assertion for tokens that verify,
    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .add_extra_param(
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        .add_extra_param("client_assertion", assertion(&site, &agency, json!({})))
        .request_async(&http)
        .await
        .expect("token response");
    let id_token = token.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:acr.login.gov:auth-only")
    );
    let at_hash = claims.access_token_hash().expect("at_hash").clone();
    assert_eq!(
        at_hash.as_str(),
        passerelle::oidc::claims::at_hash(token.access_token().secret())
    );
    let sub = claims.subject().clone();
    assert_eq!(sub.as_str().len(), 36, "a pairwise UUID-shaped subject");

    // and userinfo releases exactly the consented claims.
    let info: openidconnect::UserInfoClaims<
        openidconnect::EmptyAdditionalClaims,
        openidconnect::core::CoreGenderClaim,
    > = client
        .user_info(token.access_token().clone(), Some(sub.clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(info.email_verified(), Some(true));
    let (_, raw) = userinfo_status(&site, token.access_token().secret()).await;
    assert_eq!(raw["all_emails"], json!(["ada@example.com"]));
    assert_eq!(raw["ial"], "urn:acr.login.gov:auth-only");
    assert!(raw.get("locale").is_none(), "locale was not asked for");

    // When the agency asks again, the signed-in person goes straight back with a code,
    // from /authorize itself: no consent asked twice, no request kept, no detour.
    let again = b.get(&authorize_path(&[])).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let params = agency_params(again.location());
    assert!(params.contains_key("code"), "{}", again.location());
    assert!(params.contains_key("state"));
    assert!(
        !b.cookies.contains_key("__Host-authorize"),
        "no waiting request was kept"
    );

    // and the agency's logout asks for confirmation, ends the session and returns with state.
    let hint = id_token.to_string();
    let logout = format!(
        "/end-session?{}",
        serde_urlencoded::to_string([
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "logout-state"),
        ])
        .unwrap()
    );
    let confirm = b.open(&logout).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm
            .body
            .contains("Benefits Portal asks to sign you out")
    );
    assert!(b.has_session(), "a link alone signs nobody out");
    let done = b
        .post(
            "/end-session",
            &[
                ("client_id", CLIENT),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "logout-state"),
            ],
        )
        .await;
    assert_eq!(done.location(), format!("{LOGGED_OUT}?state=logout-state"));
    assert!(!b.has_session());
    let after = b.get("/account").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "{}", after.body);
}

/// An RP-Initiated Logout request (local path) from `CLIENT`, with these parameters over
/// `post_logout_redirect_uri` and `state`.
fn end_session_path(prefix: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("client_id", CLIENT),
        ("post_logout_redirect_uri", LOGGED_OUT),
        ("state", "logout-state"),
    ];
    params.extend_from_slice(extra);
    format!(
        "{prefix}/end-session?{}",
        serde_urlencoded::to_string(&params).unwrap()
    )
}

#[tokio::test]
async fn end_session_confirms_in_the_language_the_agency_names_in_ui_locales() {
    // Given a person signed in through the agency,
    let site = site_now();
    register(&site, false).await;
    let (mut b, _code) = signed_in_with_code(&site, &[]).await;

    // when the agency's logout names French (after a language the site lacks), the same
    // request moves to the French address, whose confirmation is in French;
    let asked = end_session_path("", &[("ui_locales", "de fr-CA")]);
    let moved = b.get(&asked).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(moved.location(), format!("/fr{asked}"));
    let confirm = b.follow(moved).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains("<html lang=\"fr\">"));
    assert_eq!(confirm.headers[header::CONTENT_LANGUAGE], "fr");
    assert!(
        confirm
            .body
            .contains("Benefits Portal demande à vous déconnecter"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("action=\"/fr/end-session\""));

    // Spanish likewise, by its primary subtag;
    let confirm = b
        .open(&end_session_path("", &[("ui_locales", "es-MX")]))
        .await;
    assert!(confirm.body.contains("<html lang=\"es\">"));
    assert!(
        confirm
            .body
            .contains("Benefits Portal pide cerrar su sesión")
    );

    // English, asked at the French address by a browser whose cookie says French, is
    // English at the English address;
    b.cookies.insert("__Host-lang".into(), "fr".into());
    let asked = end_session_path("/fr", &[("ui_locales", "en")]);
    let moved = b.get(&asked).await;
    assert_eq!(moved.location(), &asked["/fr".len()..]);
    let confirm = b.follow(moved).await;
    assert!(confirm.body.contains("<html lang=\"en\">"));
    assert_eq!(confirm.headers[header::CONTENT_LANGUAGE], "en");
    assert!(
        confirm
            .body
            .contains("Benefits Portal asks to sign you out")
    );

    // no language the site has leaves the browser's (the cookie's);
    let confirm = b
        .get(&end_session_path("", &[("ui_locales", "de it")]))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("<html lang=\"fr\">"));
    b.cookies.remove("__Host-lang");

    // a refused request is refused in the language asked for;
    let refused = b
        .open("/end-session?client_id=urn:gov:test:unknown&ui_locales=es")
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("<html lang=\"es\">"));

    // signing out from the French page still returns to the agency with its state;
    b.open(&end_session_path("", &[("ui_locales", "fr")])).await;
    assert!(b.has_session(), "a link alone signs nobody out");
    let done = b
        .post(
            "/fr/end-session",
            &[
                ("client_id", CLIENT),
                ("post_logout_redirect_uri", LOGGED_OUT),
                ("state", "logout-state"),
            ],
        )
        .await;
    assert_eq!(done.location(), format!("{LOGGED_OUT}?state=logout-state"));
    assert!(!b.has_session());

    // and, signed out already, a logout without a return address lands on the sign-in
    // page in the language asked for.
    let gone = b
        .get(&format!("/fr/end-session?client_id={CLIENT}&ui_locales=fr"))
        .await;
    assert_eq!(gone.location(), "/fr/sign-in?signed_out=1");
}

/// A signed-in browser (TOTP) for an account that already consented to `CLIENT`, and a code.
async fn signed_in_with_code<'a>(site: &'a Site, extra: &[(&str, &str)]) -> (Browser<'a>, String) {
    let mut b = Browser::new(site);
    let (_, consent) =
        sign_up_from_agency(&mut b, &authorize_path(extra), "grace@example.com").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let code = allow(&mut b).await;
    (b, code)
}

fn jwt_form<'a>(code: &'a str, assertion: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ]
}

#[tokio::test]
async fn a_reused_code_fails_and_revokes_what_it_issued() {
    let site = site_now();
    let agency = register(&site, false).await;
    let (_b, code) = signed_in_with_code(&site, &[]).await;
    let first = assertion(&site, &agency, json!({}));
    let (status, body, headers) = token_request(&site, &jwt_form(&code, &first)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&site, &access).await.0, StatusCode::OK);

    // When the same code comes again (with a fresh assertion),
    let second = assertion(&site, &agency, json!({}));
    let (status, body, _) = token_request(&site, &jwt_form(&code, &second)).await;

    // then it is refused and the first token no longer works.
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = userinfo_status(&site, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn a_code_is_refused_once_expired_altered_or_made_up() {
    // Given a code the agency received,
    let site = site_now();
    let agency = register(&site, false).await;
    let (_b, code) = signed_in_with_code(&site, &[]).await;
    let refused = |form_code: String| {
        let site = &site;
        let agency = &agency;
        async move {
            let a = assertion(site, agency, json!({}));
            let (status, body, _) = token_request(site, &jwt_form(&form_code, &a)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
            assert_eq!(
                body["error_description"], "the code is unknown or has expired",
                "{body}"
            );
        }
    };

    // when one character of it changes, or a code is made up, they are refused;
    let mut flipped: Vec<char> = code.chars().collect();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == 'A' { 'B' } else { 'A' };
    refused(flipped.into_iter().collect()).await;
    refused("x".repeat(43)).await;
    refused(format!("{code}{code}")).await;

    // and the code itself, 5 minutes later, is refused too.
    site.advance(300);
    refused(code).await;
}

#[tokio::test]
async fn client_assertions_are_checked_rule_by_rule() {
    let site = site_now();
    let agency = register(&site, false).await;
    let (_b, code) = signed_in_with_code(&site, &[]).await;
    let now = now_secs(&site);
    let pem_like_secret = serde_json::to_string(&agency.key.public_jwk()).unwrap();
    let hs256 = {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use hmac::{Hmac, KeyInit, Mac};
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let c = URL_SAFE_NO_PAD.encode(
            json!({"iss": CLIENT, "sub": CLIENT, "aud": format!("{PUBLIC_URL}/token"), "jti": "hs", "exp": now + 60}).to_string(),
        );
        let mut mac =
            <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(pem_like_secret.as_bytes()).unwrap();
        mac.update(format!("{h}.{c}").as_bytes());
        format!(
            "{h}.{c}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    let alg_none = {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let c = URL_SAFE_NO_PAD.encode(
            json!({"iss": CLIENT, "sub": CLIENT, "aud": format!("{PUBLIC_URL}/token"), "jti": "none", "exp": now + 60}).to_string(),
        );
        format!("{h}.{c}.")
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong aud",
            assertion(
                &site,
                &agency,
                json!({"aud": "https://elsewhere.example.gov"}),
            ),
        ),
        (
            "expired",
            assertion(&site, &agency, json!({"exp": now - 11})),
        ),
        ("alg none", alg_none),
        ("HS256 with the public key as secret", hs256),
        (
            "sub is not the client",
            assertion(&site, &agency, json!({"sub": "urn:gov:other"})),
        ),
    ];
    for (what, bad) in &cases {
        let (status, body, _) = token_request(&site, &jwt_form(&code, bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
    }

    // The issuer alone is an accepted audience too; a jti is never accepted twice.
    let good = assertion(
        &site,
        &agency,
        json!({"aud": PUBLIC_URL, "jti": "once-only"}),
    );
    let (status, body, _) = token_request(&site, &jwt_form(&code, &good)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = token_request(&site, &jwt_form("another-code", &good)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(
        body["error_description"],
        "the client assertion was already used (jti)"
    );

    // Header authentication is answered 401 with a challenge; a non-form body is invalid.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/token")
        .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=authorization_code"))
        .unwrap();
    let response = site.router.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    let (status, body, _) = token_request(&site, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn pkce_agencies_prove_the_verifier() {
    // Given an agency registered for PKCE only, and a request with an S256 challenge,
    let site = site_now();
    register(&site, true).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let missing = Browser::new(&site).get(&authorize_path(&[])).await;
    assert_eq!(
        agency_params(missing.location())["error"],
        "invalid_request",
        "PKCE is required"
    );
    let (_b, code) = signed_in_with_code(
        &site,
        &[
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let form = |v: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
            ("code_verifier", v),
        ]
    };

    // a wrong verifier is refused, and the right one gets the tokens.
    let wrong: &'static str = "wrong-verifier-wrong-verifier-wrong-verifier-00";
    let (status, body, _) = token_request(&site, &form(wrong)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let right: &'static str = Box::leak(verifier.secret().clone().into_boxed_str());
    let (status, body, _) = token_request(&site, &form(right)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn a_pkce_agency_signs_in_through_the_relying_party_library() {
    // Given an app registered for PKCE alone, using a certified relying-party library
    // with no client secret or key,
    let site = site_now();
    register(&site, true).await;
    let http = http_client(&site);
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(PUBLIC_URL.into()).unwrap(), &http)
            .await
            .expect("discovery and JWKS");
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(CLIENT.into()), None)
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
        .set_auth_type(AuthType::RequestBody);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    // when a person signs up from its button and consents,
    let mut b = Browser::new(&site);
    let path = &url.as_str()[PUBLIC_URL.len()..];
    let (_secret, consent) = sign_up_from_agency(&mut b, path, "pkce@example.com").await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let answer = b.post("/authorize/consent", &[("decision", "allow")]).await;
    let params = agency_params(answer.location());
    assert_eq!(params["state"], *csrf.secret());

    // then the library's exchange with the verifier gets tokens that it verifies,
    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token response");
    let claims = token
        .id_token()
        .expect("an ID token")
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    let info: openidconnect::UserInfoClaims<
        openidconnect::EmptyAdditionalClaims,
        openidconnect::core::CoreGenderClaim,
    > = client
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("pkce@example.com"));

    // and the same code with the library again is refused (single use).
    let again = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(openidconnect::PkceCodeVerifier::new("x".repeat(43)))
        .request_async(&http)
        .await;
    assert!(again.is_err(), "a used code with another verifier");
}

#[tokio::test]
async fn ten_concurrent_redemptions_of_one_code_get_one_token() {
    let site = site_now();
    let agency = register(&site, false).await;
    let (_b, code) = signed_in_with_code(&site, &[]).await;
    let assertions: Vec<String> = (0..10)
        .map(|_| assertion(&site, &agency, json!({})))
        .collect();
    let answers = futures_join(&site, &code, &assertions).await;
    let ok = answers.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{answers:?}");
}

async fn futures_join(site: &Site, code: &str, assertions: &[String]) -> Vec<StatusCode> {
    let mut set = tokio::task::JoinSet::new();
    for a in assertions {
        let router = site.router.clone();
        let body = serde_urlencoded::to_string(jwt_form(code, a)).unwrap();
        set.spawn(async move {
            let req = Request::builder()
                .method(Method::POST)
                .uri("/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        });
    }
    set.join_all().await
}

#[tokio::test]
async fn untrusted_requests_get_a_page_and_others_go_back_with_the_exact_error() {
    let site = site_now();
    register(&site, false).await;
    let mut b = Browser::new(&site);

    // An unregistered redirect URI or client: a page, never a redirect.
    for path in [
        authorize_path(&[("redirect_uri", "https://evil.example.com/callback")]),
        authorize_path(&[("client_id", "urn:gov:unknown")]),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.location().is_empty());
    }

    // Everything else: back to the agency with the error and its state.
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("state", "too-short")], "invalid_request"),
        (&[("nonce", "too-short")], "invalid_request"),
        (
            &[("acr_values", "urn:acr.login.gov:verified")],
            "invalid_request",
        ),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("scope", "email")], "invalid_scope"),
        (&[("prompt", "none")], "login_required"),
    ];
    for (extra, error) in cases {
        let answer = b.get(&authorize_path(extra)).await;
        let params = agency_params(answer.location());
        assert_eq!(params["error"], error, "{extra:?}");
        if extra[0].0 != "state" {
            assert_eq!(params["state"], STATE);
        }
    }
}

#[tokio::test]
async fn declined_or_revoked_consent_is_respected() {
    let site = site_now();
    register(&site, false).await;
    let mut b = Browser::new(&site);
    let (_, consent) = sign_up_from_agency(&mut b, &authorize_path(&[]), "linus@example.com").await;
    assert_eq!(consent.status, StatusCode::OK);

    // Declining sends the agency access_denied with its state.
    let denied = b.post("/authorize/consent", &[("decision", "deny")]).await;
    let params = agency_params(denied.location());
    assert_eq!(
        (params["error"].as_str(), params["state"].as_str()),
        ("access_denied", STATE)
    );

    // Allowed once, then revoked on the account page: the next request asks again.
    let ask = b.open(&authorize_path(&[])).await;
    assert!(
        ask.body.contains("Benefits Portal"),
        "consent asked: {}",
        ask.body
    );
    allow(&mut b).await;
    let listed = b.open("/account/connected").await;
    assert!(listed.body.contains("Benefits Portal"));
    let revoked = b
        .submit("/account/connected/revoke", &[("client_id", CLIENT)])
        .await;
    assert!(!revoked.body.contains("Stop sharing with Benefits Portal"));
    let again = b.open(&authorize_path(&[])).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("consent") || again.body.contains("Agree and continue"));

    // prompt=none with consent missing answers consent_required.
    let none = b.get(&authorize_path(&[("prompt", "none")])).await;
    assert_eq!(agency_params(none.location())["error"], "consent_required");
}

#[tokio::test]
async fn prompt_login_forces_password_and_factor_again() {
    let site = site_now();
    register(&site, false).await;
    let (mut b, _) = signed_in_with_code(&site, &[]).await;
    let old = b.cookies["__Host-session"].clone();
    let answer = b.get(&authorize_path(&[("prompt", "login")])).await;
    let next = b.follow(answer).await;
    assert!(
        next.body.contains("name=\"password\""),
        "back to the password: {}",
        next.body
    );
    // A link (any site can build this one) does not sign the person out…
    assert!(b.has_session(), "the request alone ends nothing");
    let mut other = Browser::new(&site);
    other.cookies.insert("__Host-session".into(), old.clone());
    assert_eq!(other.get("/account").await.status, StatusCode::OK);
    // …the new sign-in replaces the old session
    let step = b
        .post(
            "/sign-in",
            &[("email", "grace@example.com"), ("password", GOOD)],
        )
        .await;
    assert_eq!(step.location(), "/sign-in/factor", "{}", step.body);
    assert_ne!(b.cookies["__Host-session"], old);
    assert_eq!(other.get("/account").await.location(), "/sign-in?ended=1");
}

#[tokio::test]
async fn discovery_advertises_only_what_is_supported_and_jwks_publishes_current_and_next() {
    let site = site_now();
    let mut b = Browser::new(&site);
    let doc: Value =
        serde_json::from_str(&b.get("/.well-known/openid-configuration").await.body).unwrap();
    assert_eq!(doc["issuer"], PUBLIC_URL);
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt", "none"])
    );
    assert_eq!(
        doc["end_session_endpoint"],
        format!("{PUBLIC_URL}/end-session")
    );
    let jwks: Value = serde_json::from_str(&b.get("/jwks").await.body).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4, "current and next, RS256 and ES256");
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k.get("p").is_none()),
        "public parts only"
    );
}

#[tokio::test]
async fn a_remembered_browser_is_honoured_by_default_and_refused_for_aal2_and_phishing_resistance()
{
    // Given a person who consented, then signed in with "remember this browser",
    let site = site_now();
    register(&site, false).await;
    let mut b = Browser::new(&site);
    let (secret, consent) =
        sign_up_from_agency(&mut b, &authorize_path(&[]), "rosa@example.com").await;
    assert_eq!(consent.status, StatusCode::OK);
    allow(&mut b).await;
    b.post("/sign-out", &[]).await;
    b.get("/sign-in").await;
    b.post(
        "/sign-in",
        &[("email", "rosa@example.com"), ("password", GOOD)],
    )
    .await;
    b.get("/sign-in/totp").await;
    let code = site.totp(&secret);
    b.post(
        "/sign-in/totp",
        &[("code", &code), ("return_to", ""), ("remember", "yes")],
    )
    .await;
    site.advance(30);
    // (the sign-in came with a new CSRF token: a page first, then its sign-out form)
    b.get("/account").await;
    b.post("/sign-out", &[]).await;

    // When an agency asks with the default AAL, the password on this browser is enough;
    let start = b.get(&authorize_path(&[])).await;
    b.follow(start).await;
    let signed_in = b
        .post(
            "/sign-in",
            &[("email", "rosa@example.com"), ("password", GOOD)],
        )
        .await;
    assert_eq!(
        signed_in.location(),
        "/authorize/resume",
        "the remembered browser stood in"
    );
    let back = b.get("/authorize/resume").await;
    assert!(agency_params(back.location()).contains_key("code"));

    // when it asks for aal2, the remembered browser is not enough: the factor step, then the code;
    let aal2 = b
        .get(&authorize_path(&[(
            "acr_values",
            "http://idmanagement.gov/ns/assurance/aal/2",
        )]))
        .await;
    let asked = b.get(aal2.location()).await;
    assert_eq!(
        asked.location(),
        "/sign-in/factor?return_to=%2Fauthorize%2Fresume"
    );
    b.open(asked.location()).await;
    let code = site.totp(&secret);
    let done = b
        .post(
            "/sign-in/totp",
            &[("code", &code), ("return_to", "/authorize/resume")],
        )
        .await;
    assert_eq!(done.location(), "/authorize/resume");
    let answered = b.get("/authorize/resume").await;
    assert!(agency_params(answered.location()).contains_key("code"));

    // and a phishing-resistant request without a security key gets the page saying so.
    let pr = b
        .get(&authorize_path(&[(
            "acr_values",
            "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true",
        )]))
        .await;
    let page = b.get(pr.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("security key or face or touch unlock"),
        "{}",
        page.body
    );
}
