//! The demo agency: a relying party served beside the local stack at `/demo/`, so a
//! newcomer can see the whole agency journey — the agency's button, sign-up or sign-in,
//! consent, and the claims the agency receives — with `cargo run` alone.
//!
//! It behaves like a real agency: it is registered in the agency registry with its own
//! RSA key, authenticates to the token endpoint with `private_key_jwt`, checks the ID
//! token's signature against the published JWKS, its issuer, audience and nonce, and
//! calls userinfo over HTTP. It keeps its flows in memory (one process, a demo).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, StatusCode, header};
use passerelle::oidc::agency::{AalSetting, Agency};
use passerelle::oidc::jose::{Alg, PublicJwk, SigningKey, verify};
use passerelle::oidc::request::{
    ACR_AAL2, ACR_AUTH_ONLY, ACR_PHISHING_RESISTANT, ACR_VERIFIED, with_query,
};
use passerelle::random::{OsRandom, RandomExt};
use passerelle::web::WebState;
use serde::Deserialize;
use serde_json::Value;

/// The demo agency's client id.
pub const CLIENT_ID: &str = "urn:gov:passerelle:demo-agency";

const KEY_FILE: &str = "demo-agency.key";

/// A sign-in the demo started and waits to hear back about.
struct Flow {
    nonce: String,
    /// The language the sign-in was started in (`fr`, `es`), sent as `ui_locales` to
    /// `/authorize` and again on the claims page's sign-out link.
    ui_locales: Option<String>,
}

/// The demo agency's state.
pub struct Demo {
    public_url: String,
    key: SigningKey,
    flows: Mutex<HashMap<String, Flow>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("client_id", &CLIENT_ID)
            .finish_non_exhaustive()
    }
}

/// The demo's key, kept in the data directory so a restart keeps its registration.
fn load_or_make_key(dir: &Path) -> Result<SigningKey, String> {
    let path = dir.join(KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let der = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        return SigningKey::from_pkcs8(Alg::RS256, "demo-1".into(), &der)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    let (key, der) =
        SigningKey::generate(Alg::RS256, "demo-1".into()).map_err(|e| e.to_string())?;
    // Written whole to a file of its own, synced, then linked into place: a stack killed
    // mid-write (kill -9, a power cut) leaves no half key that would stop every later
    // start, and of two processes starting at once the first link wins and both use it.
    let fresh = dir.join(format!("{KEY_FILE}.{}.new", std::process::id()));
    let written = std::fs::File::create(&fresh).and_then(|mut file| {
        use std::io::Write;
        file.write_all(STANDARD.encode(&*der).as_bytes())
            .and_then(|()| file.sync_all())
    });
    let linked = written.and_then(|()| std::fs::hard_link(&fresh, &path));
    let _ = std::fs::remove_file(&fresh);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_make_key(dir),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Registers the demo agency (its key made on first run) and returns it.
pub async fn register(state: &WebState, data_dir: &Path) -> Result<Arc<Demo>, String> {
    let key = load_or_make_key(data_dir)?;
    let base = &state.public_url;
    let agency = Agency {
        client_id: CLIENT_ID.into(),
        name: "Demo Agency".into(),
        agency_id: "demo-agency".into(),
        ial: 2,
        default_aal: AalSetting::Default,
        keys: vec![key.public_jwk()],
        jwks_uri: None,
        redirect_uris: vec![format!("{base}/demo/callback")],
        post_logout_redirect_uris: vec![format!("{base}/demo/")],
        scopes: [
            "email",
            "all_emails",
            "locale",
            "profile:verified_at",
            "profile",
            "address",
            "phone",
            "social_security_number",
        ]
        .map(String::from)
        .to_vec(),
        pkce: false,
        id_token_alg: Alg::RS256,
        push_notification_url: None,
        failure_to_proof_url: Some(format!("{base}/demo/not-verified")),
    };
    let oidc = state.oidc().await.map_err(|e| e.to_string())?;
    oidc.provider
        .agencies
        .put(&agency)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(Demo {
        public_url: base.clone(),
        key,
        flows: Mutex::new(HashMap::new()),
        http: reqwest::Client::new(),
    }))
}

pub fn routes(demo: Arc<Demo>) -> Router {
    Router::new()
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route("/demo/", get(home))
        .route("/demo/start", get(start))
        .route("/demo/callback", get(callback))
        .route("/demo/not-verified", get(not_verified))
        .route("/demo/sample-id/front.jpg", get(sample_front))
        .route("/demo/sample-id/back.png", get(sample_back))
        .with_state(demo)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · Demo Agency</title><link rel=\"stylesheet\" href=\"{css}\"></head>\
         <body><header class=\"site-header\"><p><strong>Demo Agency</strong> — a relying party for trying Passerelle</p></header>\
         <main id=\"main\" class=\"container\"><h1>{t}</h1>{body}</main></body></html>",
        t = escape(title),
        css = passerelle::web::assets::path("app.css"),
    );
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

/// The sample identity the demo's ID photos carry (the mock document vendor reads it from
/// the back's barcode).
fn sample_person() -> passerelle::idv::pii::Pii {
    use passerelle::idv::pii::{Address, Pii};
    Pii {
        given_name: "Ada".into(),
        family_name: "Lovelace".into(),
        birthdate: "1990-02-28".into(),
        address: Address {
            line1: "1 Analytical Engine Way".into(),
            line2: String::new(),
            city: "Arlington".into(),
            state: "VA".into(),
            zip: "22201".into(),
        },
        id_number: "L1815121".into(),
        id_state: "VA".into(),
        ssn: String::new(),
        phone: String::new(),
        verified_ms: 0,
    }
}

fn image(content_type: &'static str, bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

async fn sample_front() -> Response {
    image("image/jpeg", crate::vendors::sample_front())
}

async fn sample_back() -> Response {
    image("image/png", crate::vendors::sample_back(&sample_person()))
}

/// Where Passerelle sends people whose identity could not be verified (the agency's
/// registered failure-to-proof URL): the agency offers its other channels.
async fn not_verified() -> Response {
    page(
        "We could not verify your identity online",
        "<p>Passerelle could not verify your identity. You can still use this agency's \
         services in person or by phone.</p><p><a href=\"/demo/\">Back to the agency's home</a></p>",
    )
}

async fn home() -> Response {
    page(
        "Welcome to the Demo Agency",
        "<p>This agency signs people in with Passerelle. Choose how strongly it should ask you to sign in:</p>\
         <p><a class=\"button\" href=\"/demo/start\">Sign in with Passerelle</a></p>\
         <p><a href=\"/demo/start?level=aal2\">Sign in, and ask for a second factor even on a remembered browser</a></p>\
         <p><a href=\"/demo/start?level=phishing_resistant\">Sign in with a security key or face or touch unlock only</a></p>\
         <p><a class=\"button\" href=\"/demo/start?level=verified\">Sign in with a verified identity</a> \
         (the agency receives your verified name, date of birth, address, phone and SSN)</p>\
         <p>To try it, save this sample ID — <a href=\"/demo/sample-id/front.jpg\" download>front</a> and \
         <a href=\"/demo/sample-id/back.png\" download>back</a> — for Ada Lovelace, born 1990-02-28; \
         the mock vendors accept any SSN starting 900 or 666 and any phone but 703-555-5555.</p>\
         <p><a href=\"/demo/start?lang=fr\">Se connecter (en français)</a> · <a href=\"/demo/start?lang=es\">Iniciar sesión (en español)</a></p>",
    )
}

#[derive(Debug, Deserialize)]
struct Start {
    #[serde(default)]
    level: String,
    #[serde(default)]
    lang: String,
}

async fn start(State(demo): State<Arc<Demo>>, Query(q): Query<Start>) -> Response {
    let state = OsRandom.token(24);
    let nonce = OsRandom.token(24);
    let acr = match q.level.as_str() {
        "aal2" => format!("{ACR_AUTH_ONLY} {ACR_AAL2}"),
        "phishing_resistant" => format!("{ACR_AUTH_ONLY} {ACR_PHISHING_RESISTANT}"),
        "verified" => ACR_VERIFIED.to_owned(),
        _ => ACR_AUTH_ONLY.to_owned(),
    };
    let scope = if q.level == "verified" {
        "openid email profile address phone social_security_number"
    } else {
        "openid email all_emails locale"
    };
    let ui_locales = matches!(q.lang.as_str(), "fr" | "es").then(|| q.lang.clone());
    if let Ok(mut flows) = demo.flows.lock() {
        // A demo: forget old flows rather than grow without bound.
        if flows.len() > 1000 {
            flows.clear();
        }
        flows.insert(
            state.clone(),
            Flow {
                nonce: nonce.clone(),
                ui_locales: ui_locales.clone(),
            },
        );
    }
    let redirect = format!("{}/demo/callback", demo.public_url);
    let mut params = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", redirect.as_str()),
        ("response_type", "code"),
        ("scope", scope),
        ("acr_values", acr.as_str()),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
    ];
    if let Some(lang) = &ui_locales {
        params.push(("ui_locales", lang.as_str()));
    }
    Redirect::to(&with_query(
        &format!("{}/authorize", demo.public_url),
        &params,
    ))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

fn failure(what: &str) -> Response {
    let mut r = page(
        "The sign-in did not complete",
        &format!(
            "<p>{}</p><p><a class=\"button\" href=\"/demo/\">Start again</a></p>",
            escape(what)
        ),
    );
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r
}

async fn callback(State(demo): State<Arc<Demo>>, Query(q): Query<Callback>) -> Response {
    if !q.error.is_empty() {
        return failure(&format!(
            "Passerelle answered {}: {}",
            q.error, q.error_description
        ));
    }
    let flow = demo.flows.lock().ok().and_then(|mut f| f.remove(&q.state));
    let Some(flow) = flow else {
        return failure("This answer does not match a sign-in the agency started (state).");
    };
    match finish(&demo, &q.code, &flow).await {
        Ok(body) => page("You are signed in to the Demo Agency", &body),
        Err(e) => failure(&e),
    }
}

/// Code → tokens → checked ID token → userinfo, as an agency's back end does it.
async fn finish(demo: &Demo, code: &str, flow: &Flow) -> Result<String, String> {
    let base = &demo.public_url;
    let now = passerelle::clock::Clock::now_secs(&passerelle::clock::SystemClock);
    let assertion = demo
        .key
        .sign(
            "JWT",
            &serde_json::json!({
                "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": format!("{base}/token"),
                "jti": OsRandom.token(16), "iat": now, "exp": now + 60,
            }),
        )
        .map_err(|e| e.to_string())?;
    let redirect = format!("{base}/demo/callback");
    let response = demo
        .http
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .map_err(|e| format!("token endpoint: {e}"))?;
    let tokens: Value = response
        .json()
        .await
        .map_err(|e| format!("token endpoint: {e}"))?;
    let (Some(id_token), Some(access)) =
        (tokens["id_token"].as_str(), tokens["access_token"].as_str())
    else {
        return Err(format!("the token endpoint refused: {tokens}"));
    };
    let jwks: Value = demo
        .http
        .get(format!("{base}/jwks"))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("JWKS: {e}"))?
        .json()
        .await
        .map_err(|e| format!("JWKS: {e}"))?;
    let keys: Vec<PublicJwk> =
        serde_json::from_value(jwks["keys"].clone()).map_err(|e| format!("JWKS: {e}"))?;
    let checked = verify(id_token, &keys).ok_or("the ID token's signature does not verify")?;
    if checked.str_claim("iss") != Some(base.as_str())
        || checked.str_claim("aud") != Some(CLIENT_ID)
        || checked.str_claim("nonce") != Some(flow.nonce.as_str())
        || checked.int_claim("exp").is_none_or(|exp| exp <= now)
    {
        return Err("the ID token's issuer, audience, nonce or expiry is wrong".into());
    }
    let claims: Value = demo
        .http
        .get(format!("{base}/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("userinfo: {e}"))?
        .json()
        .await
        .map_err(|e| format!("userinfo: {e}"))?;
    let mut rows = String::new();
    for (k, v) in claims.as_object().into_iter().flatten() {
        let shown = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(k),
            escape(&shown)
        ));
    }
    // RP-Initiated Logout: the ID token as hint, where to come back, a state, and the
    // language the person signed in with, so the confirmation is in it too.
    let back = format!("{base}/demo/");
    let logout_state = OsRandom.token(16);
    let mut logout_params = vec![
        ("id_token_hint", id_token),
        ("post_logout_redirect_uri", back.as_str()),
        ("state", logout_state.as_str()),
    ];
    if let Some(lang) = &flow.ui_locales {
        logout_params.push(("ui_locales", lang.as_str()));
    }
    let logout = with_query(&format!("{base}/end-session"), &logout_params);
    Ok(format!(
        "<p>Passerelle vouched for you. These are the claims the agency received:</p>\
         <table id=\"claims\"><caption>Claims from userinfo</caption><tbody>{rows}</tbody></table>\
         <p>Authentication context (acr) in the ID token: <code>{acr}</code></p>\
         <p><a class=\"button\" href=\"{logout}\">Sign out</a> <a href=\"/demo/\">Back to the agency's home</a></p>",
        acr = escape(checked.str_claim("acr").unwrap_or("")),
        logout = escape(&logout),
    ))
}
