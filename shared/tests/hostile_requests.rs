//! Property tests through the real router: whatever query or form body arrives at the
//! endpoints strangers reach first, the answer is a defined one — an RFC 6749 JSON error
//! for the token endpoint, a page for people — and never a 5xx. Bounded cases; failures
//! proptest finds are kept in `shared/tests/regressions/hostile_requests.txt`,
//! which proptest replays first on every run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use http::{Method, Request, header};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use support::*;
use tower::ServiceExt;

/// Router calls cost more than parser calls: fewer cases per property.
const CASES: u32 = 64;

/// RFC 6749 5.2's error codes and RFC 6750's for userinfo.
const TOKEN_ERRORS: [&str; 6] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Form or query text as an attacker writes it: known names with odd values, repeats,
/// stray separators and bad escapes.
fn form_text() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("grant_type"),
        Just("code"),
        Just("redirect_uri"),
        Just("client_id"),
        Just("client_assertion"),
        Just("client_assertion_type"),
        Just("code_verifier"),
        Just("client_id"),
        Just("response_type"),
        Just("scope"),
        Just("state"),
        Just("nonce"),
        Just("prompt"),
        Just("acr_values"),
        Just("id_token_hint"),
        Just("post_logout_redirect_uri"),
        Just("email"),
        Just("password"),
        Just("csrf_token"),
    ];
    let value = prop_oneof![
        Just("authorization_code".to_owned()),
        Just("urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned()),
        Just("eyJhbGciOiJub25lIn0.e30.".to_owned()),
        Just("%ZZ".to_owned()),
        Just("%00".to_owned()),
        "[ -~]{0,60}",
        any::<String>(),
    ];
    prop_oneof![
        proptest::collection::vec((name, value), 0..10).prop_map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        }),
        any::<String>(),
    ]
}

async fn call(
    site: &Site,
    method: Method,
    uri: &str,
    body: Option<String>,
) -> (u16, String, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let response = site
        .router
        .clone()
        .oneshot(req.body(Body::from(body.unwrap_or_default())).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Puts arbitrary text into a URI's query, escaping what `http` would refuse to parse
/// (the router never sees those: hyper refuses them first).
fn with_query(path: &str, query: &str) -> String {
    let escaped: String = query
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{path}?{escaped}")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/regressions/hostile_requests.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_token_request_gets_an_rfc_6749_json_error(body in form_text()) {
        let site = site();
        let (status, content_type, text) = runtime().block_on(call(&site, Method::POST, "/token", Some(body)));
        prop_assert!(status == 400 || status == 401, "status {status}: {text}");
        prop_assert!(content_type.starts_with("application/json"), "{content_type}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let error = json["error"].as_str().unwrap_or_default();
        prop_assert!(TOKEN_ERRORS.contains(&error), "{error}");
    }

    #[test]
    fn any_authorize_or_end_session_query_gets_a_page_or_a_redirect(query in form_text()) {
        let site = site();
        let rt = runtime();
        for path in ["/authorize", "/end-session"] {
            let (status, _, text) = rt.block_on(call(&site, Method::GET, &with_query(path, &query), None));
            prop_assert!(status < 500, "{path}: status {status}: {text}");
        }
        let (status, _, text) = rt.block_on(call(&site, Method::POST, "/authorize", Some(query.clone())));
        prop_assert!(status < 500, "POST /authorize: status {status}: {text}");
    }

    #[test]
    fn any_form_posted_to_the_public_pages_gets_a_page(body in form_text()) {
        let site = site();
        let rt = runtime();
        for path in ["/sign-in", "/sign-up", "/forgot-password", "/language"] {
            let (status, _, text) = rt.block_on(call(&site, Method::POST, path, Some(body.clone())));
            prop_assert!(status < 500, "{path}: status {status}: {text}");
        }
    }
}
