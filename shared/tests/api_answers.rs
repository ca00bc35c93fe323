//! The JSON endpoints' answers (issue 17, item 6): every one — discovery, JWKS, token,
//! userinfo, health — carries `X-Content-Type-Options: nosniff` and HSTS, and the
//! framework's refusals (an oversize body, a wrong method) are RFC 6749 JSON errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use support::site;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

async fn call(router: &Router, method: Method, path: &str, form: Option<Vec<u8>>) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if form.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let req = req.body(form.map_or_else(Body::empty, Body::from)).unwrap();
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: body.to_vec(),
    }
}

fn assert_hardened(what: &str, r: &Reply) {
    assert_eq!(
        r.headers
            .get(header::X_CONTENT_TYPE_OPTIONS)
            .map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}: {:?}",
        r.headers
    );
    assert!(
        r.headers
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_some_and(|v| v.to_str().unwrap().starts_with("max-age=63072000")),
        "{what}: {:?}",
        r.headers
    );
    assert!(
        r.headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{what}: {:?}",
        r.headers
    );
}

fn json(r: &Reply) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// The routers the functions serve: the local stack's (everything), the `token`
/// function's, and the `oidc` function's (discovery and JWKS beside the pages).
fn routers(site: &support::Site) -> Vec<(&'static str, Router)> {
    let api = site.state.api.clone();
    vec![
        ("local stack", site.router.clone()),
        ("token function", passerelle::api::token_router(api.clone())),
        (
            "oidc function",
            passerelle::api::metadata_router(api)
                .merge(passerelle::web::router(site.state.clone())),
        ),
    ]
}

#[tokio::test]
async fn every_json_answer_is_nosniff_with_hsts() {
    // Given the site as each function serves it
    let site = site();
    for (name, router) in routers(&site) {
        let mut answers = Vec::new();
        if name != "token function" {
            // When agencies read the metadata and operators the health check
            answers.push((
                "discovery",
                call(
                    &router,
                    Method::GET,
                    "/.well-known/openid-configuration",
                    None,
                )
                .await,
            ));
            answers.push(("jwks", call(&router, Method::GET, "/jwks", None).await));
            answers.push((
                "health",
                call(&router, Method::GET, "/api/health", None).await,
            ));
        }
        if name != "oidc function" {
            // And call the token and userinfo endpoints, rightly or not
            answers.push((
                "token",
                call(
                    &router,
                    Method::POST,
                    "/token",
                    Some(b"grant_type=authorization_code&code=nope".to_vec()),
                )
                .await,
            ));
            answers.push((
                "userinfo GET",
                call(&router, Method::GET, "/userinfo", None).await,
            ));
            answers.push((
                "userinfo POST",
                call(
                    &router,
                    Method::POST,
                    "/userinfo",
                    Some(b"access_token=nope".to_vec()),
                )
                .await,
            ));
        }
        // Then every answer is JSON, nosniff, with HSTS
        for (what, reply) in &answers {
            assert_hardened(&format!("{name}: {what}"), reply);
        }
    }
}

#[tokio::test]
async fn an_oversize_or_misdirected_token_request_gets_an_rfc_6749_error() {
    let site = site();
    for (name, router) in routers(&site) {
        if name == "oidc function" {
            continue;
        }
        // When a 1 MB token request arrives
        let mut big = b"grant_type=authorization_code&code=".to_vec();
        big.resize(1024 * 1024, b'a');
        let reply = call(&router, Method::POST, "/token", Some(big.clone())).await;
        // Then it is an `invalid_request` in JSON, not the framework's plain-text 413
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
        assert_hardened(&format!("{name}: 1 MB token"), &reply);
        assert_eq!(json(&reply)["error"], "invalid_request", "{name}");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
        // And so is a 1 MB userinfo form, and a GET of the token endpoint
        let reply = call(&router, Method::POST, "/userinfo", Some(big)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
        assert_hardened(&format!("{name}: 1 MB userinfo"), &reply);
        assert_eq!(json(&reply)["error"], "invalid_request", "{name}");
        let reply = call(&router, Method::GET, "/token", None).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{name}");
        assert_hardened(&format!("{name}: GET token"), &reply);
        assert_eq!(json(&reply)["error"], "invalid_request", "{name}");
        assert!(reply.headers.contains_key(header::ALLOW), "{name}");
    }
}
