//! The site function driven as Lambda drives it: API Gateway events from `events/site/`
//! go through lambda_http's adapter into the same router `main` serves.

use std::sync::Arc;

use passerelle::config::EmbeddedConfig;
use passerelle::lambda::http::invoke;
use passerelle::services::Services;
use passerelle::web::{WebState, router};
use serde_json::Value;

struct Site {
    _dir: tempfile::TempDir,
    state: WebState,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_owned(),
        max_receives: 5,
    };
    let services = Services::embedded(
        &cfg,
        Arc::new(passerelle::clock::SystemClock),
        Arc::new(passerelle::random::OsRandom),
    )
    .unwrap();
    let state = WebState::new(Arc::new(services), "https://login.example.gov", false);
    Site { _dir: dir, state }
}

async fn call(site: &Site, event: &str) -> Value {
    let path = format!("{}/../../events/site/{event}", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    invoke(router(site.state.clone()), &json, "lambda-request-1234")
        .await
        .expect("the adapter answers")
}

fn header<'a>(response: &'a Value, name: &str) -> Option<&'a str> {
    response["headers"][name].as_str()
}

#[tokio::test]
async fn the_home_page_is_served_in_english_with_strict_headers() {
    // Given the site function, when API Gateway sends GET /
    let response = call(&site(), "get-home.json").await;
    // Then it answers an English page with a nonce-based CSP and the Lambda request id
    assert_eq!(response["statusCode"], 200);
    let body = response["body"].as_str().unwrap();
    assert!(body.contains("<html lang=\"en\""), "{body}");
    let csp = header(&response, "content-security-policy").expect("a CSP");
    assert!(
        csp.contains("'nonce-") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(
        header(&response, "x-request-id"),
        Some("lambda-request-1234")
    );
}

#[tokio::test]
async fn the_french_prefix_serves_french() {
    let response = call(&site(), "get-home-fr.json").await;
    assert_eq!(response["statusCode"], 200);
    assert!(
        response["body"]
            .as_str()
            .unwrap()
            .contains("<html lang=\"fr\"")
    );
}

#[tokio::test]
async fn health_reports_each_port_adapter() {
    let response = call(&site(), "get-health.json").await;
    assert_eq!(response["statusCode"], 200);
    let health: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["adapters"]["store"], "embedded-sqlite");
    assert_eq!(health["adapters"]["keys"], "local-key-file");
    assert_eq!(health["adapters"]["mail"], "outbox");
}

#[tokio::test]
async fn an_unknown_path_is_a_404_page() {
    let response = call(&site(), "get-unknown.json").await;
    assert_eq!(response["statusCode"], 404);
    assert!(
        response["body"]
            .as_str()
            .unwrap()
            .contains("<html lang=\"en\"")
    );
}
