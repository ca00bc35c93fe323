//! Sign-in limits and the client's address (issue 17, item 4): the address is the
//! platform's — API Gateway's `sourceIp` on Lambda, the socket's locally — and
//! `X-Forwarded-For` counts only from a configured trusted proxy (its right-most
//! untrusted hop); a limit per email across addresses slows a distributed guesser, and a
//! browser remembered for the account still gets in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::StatusCode;
use serde_json::{Value, json};
use support::{Browser, GOOD, Site, between, sign_up_with_app, site_with_clock};

const EMAIL: &str = "ivy@example.gov";

/// One password try from `b`: the status of the answer.
async fn try_password(b: &mut Browser<'_>, password: &str) -> StatusCode {
    b.get("/sign-in").await;
    let answer = b
        .post("/sign-in", &[("email", EMAIL), ("password", password)])
        .await;
    answer.status
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[tokio::test]
async fn a_new_forwarded_for_on_each_guess_does_not_escape_the_lock() {
    let site = site_with_clock();
    sign_up_with_app(&mut Browser::new(&site), "", EMAIL).await;
    // Given a guesser on one address that claims another one on every try
    let mut guesser = Browser::new(&site);
    guesser.ip = "203.0.113.66";
    for i in 0..5 {
        guesser.extra_headers = vec![("x-forwarded-for", format!("6.6.6.{i}"))];
        assert_eq!(
            try_password(&mut guesser, "wrong guess").await,
            StatusCode::OK
        );
    }
    // When the sixth try, with yet another claim, has the right password
    guesser.extra_headers = vec![("x-forwarded-for", "6.6.6.99, 7.7.7.7".into())];
    // Then the lock on the email and the real address holds
    assert_eq!(
        try_password(&mut guesser, GOOD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // And the owner, from their own address, is not locked out
    let mut owner = Browser::new(&site);
    owner.ip = "198.51.100.20";
    assert_eq!(try_password(&mut owner, GOOD).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn behind_a_trusted_proxy_its_right_most_hop_is_the_client() {
    let mut site = site_with_clock();
    // Given a deployment behind a load balancer in 10.0.0.0/8
    let mut state = site.state.clone();
    state.trusted_proxies = passerelle::proxies::TrustedProxies::parse("10.0.0.0/8").unwrap();
    site.router = passerelle::web::router(state.clone());
    site.state = state;
    sign_up_with_app(&mut Browser::new(&site), "", EMAIL).await;
    // When one client guesses through it, writing a new address into the header each time
    let mut guesser = Browser::new(&site);
    guesser.ip = "10.0.0.2";
    for i in 0..5 {
        guesser.extra_headers = vec![(
            "x-forwarded-for",
            format!("6.6.6.{i}, 203.0.113.66, 10.0.0.9"),
        )];
        assert_eq!(
            try_password(&mut guesser, "wrong guess").await,
            StatusCode::OK
        );
    }
    guesser.extra_headers = vec![("x-forwarded-for", "6.6.6.99, 203.0.113.66".into())];
    // Then the proxy's word (203.0.113.66) is what is limited
    assert_eq!(
        try_password(&mut guesser, GOOD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // And another client behind the same proxy is another subject
    guesser.extra_headers = vec![("x-forwarded-for", "198.51.100.30".into())];
    assert_eq!(
        try_password(&mut guesser, GOOD).await,
        StatusCode::SEE_OTHER
    );
}

/// An API Gateway (HTTP API) event, as `events/site/` holds them.
fn event(
    method: &str,
    path: &str,
    source_ip: &str,
    forwarded: &str,
    cookies: &[String],
    body: &str,
) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "cookies": cookies,
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "host": "localhost:3000",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
            "x-forwarded-for": forwarded,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "k3x9q2w7ab",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "Mozilla/5.0",
            },
            "requestId": "test",
            "routeKey": "$default",
            "stage": "$default",
            "time": "07/Dec/2026:16:00:00 +0000",
            "timeEpoch": 1_796_659_200_000_i64,
        },
        "body": body,
        "isBase64Encoded": false,
    })
    .to_string()
}

/// A password try on Lambda from `source_ip`, claiming `forwarded`: the status.
async fn lambda_try(site: &Site, source_ip: &str, forwarded: &str, password: &str) -> i64 {
    let router = passerelle::web::router(site.state.clone());
    let form = passerelle::lambda::http::invoke(
        router.clone(),
        &event("GET", "/sign-in", source_ip, forwarded, &[], ""),
        "get",
    )
    .await
    .unwrap();
    let cookies: Vec<String> = form["cookies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let body = form["body"].as_str().unwrap();
    let csrf = between(body, "name=\"csrf_token\" value=\"", "\"").unwrap();
    let fields = serde_urlencoded::to_string([
        ("email", EMAIL),
        ("password", password),
        ("csrf_token", csrf),
    ])
    .unwrap();
    let answer: Value = passerelle::lambda::http::invoke(
        router,
        &event("POST", "/sign-in", source_ip, forwarded, &cookies, &fields),
        "post",
    )
    .await
    .unwrap();
    answer["statusCode"].as_i64().unwrap()
}

#[tokio::test]
async fn on_lambda_the_address_is_api_gateways_source_ip() {
    let site = site_with_clock();
    sign_up_with_app(&mut Browser::new(&site), "", EMAIL).await;
    // Given a guesser whose every request claims a new address
    for i in 0..5 {
        let claim = format!("6.6.6.{i}");
        assert_eq!(
            lambda_try(&site, "203.0.113.66", &claim, "wrong").await,
            200
        );
    }
    // Then the sixth, right password and all, meets the lock on API Gateway's sourceIp
    assert_eq!(
        lambda_try(&site, "203.0.113.66", "6.6.6.99", GOOD).await,
        429
    );
    // And the owner's own address gets through
    assert_eq!(
        lambda_try(&site, "198.51.100.20", "198.51.100.20", GOOD).await,
        303
    );
}

#[tokio::test]
async fn a_distributed_guesser_is_slowed_per_email_but_a_remembered_browser_gets_in() {
    let site = site_with_clock();
    let secret = sign_up_with_app(&mut Browser::new(&site), "", EMAIL).await;
    // Given the owner's browser, remembered after a sign-in with the app
    let mut mine = Browser::new(&site);
    mine.ip = "198.51.100.20";
    assert_eq!(try_password(&mut mine, GOOD).await, StatusCode::SEE_OTHER);
    mine.get("/sign-in/totp").await;
    let done = mine
        .post(
            "/sign-in/totp",
            &[
                ("code", &site.totp(&secret)),
                ("remember", "yes"),
                ("return_to", ""),
            ],
        )
        .await;
    assert_eq!(done.location(), "/account");
    mine.get("/account").await;
    mine.post("/sign-out", &[]).await;
    // When 20 wrong passwords come from 20 addresses within 15 minutes
    for i in 0..20 {
        let mut b = Browser::new(&site);
        b.ip = leak(format!("203.0.113.{}", 100 + i));
        assert_eq!(
            try_password(&mut b, "wrong guess").await,
            StatusCode::OK,
            "{i}"
        );
        site.advance(30);
    }
    // Then a 21st address is refused, even with the right password (nothing learnt)
    let mut fresh = Browser::new(&site);
    fresh.ip = "203.0.113.250";
    assert_eq!(
        try_password(&mut fresh, GOOD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        try_password(&mut fresh, "wrong again").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // And a wrong password from the remembered browser is refused the same way
    assert_eq!(
        try_password(&mut mine, "wrong guess").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // But the owner's remembered browser, with the right password, gets in
    mine.get("/sign-in").await;
    let back = mine
        .post("/sign-in", &[("email", EMAIL), ("password", GOOD)])
        .await;
    assert_eq!(back.location(), "/account", "{}", back.body);
    // And that lifts the lock for the others
    let mut later = Browser::new(&site);
    later.ip = "203.0.113.251";
    assert_eq!(try_password(&mut later, GOOD).await, StatusCode::SEE_OTHER);
}
