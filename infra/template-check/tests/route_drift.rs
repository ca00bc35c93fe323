//! No drift between the HTTP API in `template.yaml` and the functions' routers: every
//! route of the template reaches a handler of the router its function serves, and every
//! route of those routers is a route of the template (in each language's prefix, for the
//! site's pages).
//!
//! Where the routes come from:
//! - the template's: its `HttpApi` events;
//! - the routers': each `.route(PATH, METHODS)` call in the router modules of
//!   `shared/src` (a path is a literal or a `const` of the crate). The scan refuses what it
//!   cannot read (a `.nest`, a computed path, a route in an unknown file), so a new route
//!   cannot hide from it, and every route it finds is then asked of the live router, built
//!   as the function's `main.rs` builds it: a route the scan misreads fails there.
//!
//! "Reaches a handler" is checked on the live router, over the embedded adapters: the
//! answer must carry the route pattern axum matched (`MatchedRoute`, which the site's
//! access log uses) and must not be a 405. The fallback's 404 page carries none.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{Next, from_fn};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{StatusCode, header};
use passerelle::api::{ApiState, metadata_router, token_router};
use passerelle::clock::SystemClock;
use passerelle::config::EmbeddedConfig;
use passerelle::idv::callback::{self, CallbackSecrets, Callbacks};
use passerelle::random::OsRandom;
use passerelle::services::Services;
use passerelle::web::locale::split_prefix;
use passerelle::web::request_id::MatchedRoute;
use passerelle::web::{Lang, WebState, router};
use passerelle_template_check::{
    HttpRoute, Value, http_routes, parse_template, read, rust_files, template, without_comments,
    without_tests,
};
use regex::Regex;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://login.example.gov";

/// The routers the functions serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `passerelle::web::router`: the pages, behind the language prefixes.
    Site,
    /// `passerelle::api::metadata_router`: discovery and JWKS.
    Metadata,
    /// `passerelle::api::token_router`: token and userinfo.
    Token,
    /// `passerelle::idv::callback::router`: the document vendor's callbacks.
    Callback,
}

/// Which routers each HTTP function serves; `main_rs_builds_the_routers_listed_here` holds
/// this to each `functions/<name>/src/main.rs`.
const HTTP_FUNCTIONS: &[(&str, &[Kind])] = &[
    ("site", &[Kind::Site]),
    ("idv", &[Kind::Site]),
    ("oidc", &[Kind::Metadata, Kind::Site]),
    ("token", &[Kind::Token]),
    ("proofing-callback", &[Kind::Callback]),
];

/// Where each router's routes are declared.
fn kind_of_file(file: &str) -> Option<Kind> {
    match file {
        f if f.starts_with("shared/src/web/") => Some(Kind::Site),
        "shared/src/api/discovery.rs" => Some(Kind::Metadata),
        "shared/src/api/token.rs" | "shared/src/api/userinfo.rs" => Some(Kind::Token),
        "shared/src/idv/callback.rs" => Some(Kind::Callback),
        _ => None,
    }
}

/// Site routes the template gives no language prefix: (path, why).
const UNLOCALIZED: &[(&str, &str)] = &[
    (
        "/api/health",
        "JSON for load balancers and probes: no language",
    ),
    (
        "/static/{file}",
        "content-hashed assets, the same in every language",
    ),
    (
        "/language",
        "the language switch's form: it sets the language, whatever the prefix",
    ),
];

/// Routes only the local stack serves: (path, why). The Lambda functions build the site
/// with `dev_outbox: false`, and the test insists their router does not answer these.
const LOCAL_ONLY: &[(&str, &str)] = &[(
    "/dev/outbox",
    "the local stack's mail outbox (`WebState::dev_outbox`); never deployed",
)];

/// One `.route(…)` of a router module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RouterRoute {
    kind: Kind,
    method: String,
    path: String,
    at: String,
}

/// The routers' routes, from the sources `files` (relative path, text).
fn scan_routes(files: &[(String, String)]) -> (Vec<RouterRoute>, Vec<String>) {
    let mut problems = Vec::new();
    let consts = string_consts(files);
    let mut out = Vec::new();
    let method =
        Regex::new(r"(?:^|[^A-Za-z0-9_])(get|post|put|patch|delete|head|options|trace|any)\s*\(")
            .expect("a valid regex");
    for (file, source) in files {
        let code = without_comments(without_tests(source));
        for unread in [".nest(", ".nest_service(", ".route_service("] {
            if code.contains(unread) && kind_of_file(file).is_some() {
                problems.push(format!(
                    "{file}: uses {unread}…, which the route scan does not read: extend it"
                ));
            }
        }
        let mut from = 0;
        while let Some(found) = code[from..].find(".route(") {
            let start = from + found + ".route(".len();
            from = start;
            let line = code[..start].lines().count();
            let at = format!("{file}:{line}");
            let Some(kind) = kind_of_file(file) else {
                problems.push(format!(
                    "{at}: a route outside the known router modules: say in kind_of_file \
                     which function's router this file belongs to"
                ));
                continue;
            };
            let Some((path_arg, methods_arg)) = arguments(&code[start..]) else {
                problems.push(format!("{at}: a .route( call the scan cannot split"));
                continue;
            };
            let path = if let Some(literal) = path_arg.strip_prefix('"') {
                literal.trim_end_matches('"').to_owned()
            } else {
                let name = path_arg.rsplit("::").next().unwrap_or_default().trim();
                match consts.get(name) {
                    Some(values) if values.len() == 1 => {
                        values.iter().next().cloned().unwrap_or_default()
                    }
                    other => {
                        problems.push(format!(
                            "{at}: route path {path_arg} is not a literal nor one string \
                             const (found {other:?})"
                        ));
                        continue;
                    }
                }
            };
            let methods: BTreeSet<String> = method
                .captures_iter(methods_arg)
                .map(|c| c[1].to_ascii_uppercase())
                .collect();
            if methods.is_empty() {
                problems.push(format!("{at}: no method router in {methods_arg:?}"));
            }
            for m in methods {
                out.push(RouterRoute {
                    kind,
                    method: m,
                    path: path.clone(),
                    at: at.clone(),
                });
            }
        }
    }
    out.sort();
    (out, problems)
}

/// The two arguments of a call whose text starts right after its `(`.
fn arguments(text: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut comma = None;
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                let comma = comma?;
                return Some((text[..comma].trim(), text[comma + 1..i].trim()));
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 && comma.is_none() => comma = Some(i),
            _ => {}
        }
    }
    None
}

/// Every `const NAME: &str = "…";` of the crate: name → values.
fn string_consts(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let re =
        Regex::new(r#"const\s+([A-Z][A-Z0-9_]*)\s*:\s*&(?:'static\s+)?str\s*=\s*"([^"]*)"\s*;"#)
            .expect("a valid regex");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, source) in files {
        for c in re.captures_iter(source) {
            out.entry(c[1].to_owned())
                .or_default()
                .insert(c[2].to_owned());
        }
    }
    out
}

/// `/a/{id}/b` → `/a/{}/b`: parameters compare by position, not name.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "{}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether template path `template` (API Gateway syntax: `{param}`, a last `{proxy+}`)
/// matches router path `route` (axum syntax: `{param}`).
fn covers(template: &str, route: &str) -> bool {
    match template.rsplit_once('/') {
        Some((prefix, last)) if last.starts_with('{') && last.ends_with("+}") => route
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/')),
        _ => shape(template) == shape(route),
    }
}

fn method_covers(template: &str, route: &str) -> bool {
    template.eq_ignore_ascii_case("ANY") || route == "ANY" || template.eq_ignore_ascii_case(route)
}

/// A concrete path for a pattern: each parameter becomes `x`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn kinds_of(binary: &str) -> &'static [Kind] {
    HTTP_FUNCTIONS
        .iter()
        .find(|(b, _)| *b == binary)
        .map_or(&[], |(_, k)| *k)
}

/// Each HTTP function's router, built as its `main.rs` builds it, over the embedded
/// adapters.
struct Apps {
    _dir: tempfile::TempDir,
    by_function: BTreeMap<&'static str, Router>,
}

/// Copies the pattern axum matched onto the answer, as the site's own layer does.
async fn record(req: Request, next: Next) -> Response {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| MatchedRoute(p.as_str().to_owned()));
    let mut response = next.run(req).await;
    if let Some(m) = matched
        && response.extensions().get::<MatchedRoute>().is_none()
    {
        response.extensions_mut().insert(m);
    }
    response
}

fn apps() -> Apps {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cfg = EmbeddedConfig {
        data_dir: dir.path().to_path_buf(),
        max_receives: 5,
    };
    let services = Arc::new(
        Services::embedded(&cfg, Arc::new(SystemClock), Arc::new(OsRandom))
            .expect("embedded services"),
    );
    // As the functions: no local outbox.
    let state = WebState::new(Arc::clone(&services), PUBLIC_URL, false);
    let secrets =
        CallbackSecrets::new(&["a-callback-secret-of-at-least-32-bytes!"]).expect("a valid secret");
    let mut by_function = BTreeMap::new();
    by_function.insert("site", router(state.clone()));
    by_function.insert("idv", router(state.clone()));
    by_function.insert(
        "oidc",
        metadata_router(state.api.clone())
            .merge(router(state.clone()))
            .layer(from_fn(record)),
    );
    by_function.insert(
        "token",
        token_router(ApiState::new(Arc::clone(&services), PUBLIC_URL)).layer(from_fn(record)),
    );
    by_function.insert(
        "proofing-callback",
        callback::router(Callbacks::new(services.proofing(), secrets)).layer(from_fn(record)),
    );
    Apps {
        _dir: dir,
        by_function,
    }
}

/// What a router answers `method path`: the status, the route it matched and the
/// redirect target. Unsafe requests carry a valid CSRF cookie and token and our origin, so
/// that the site's guard lets them reach routing.
async fn ask(
    app: &Router,
    method: &str,
    path: &str,
) -> (StatusCode, Option<String>, Option<String>) {
    let secret = [7u8; 32];
    let mut masked = vec![0u8; 32];
    masked.extend_from_slice(&secret);
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header(header::ORIGIN, PUBLIC_URL)
        .header(
            header::COOKIE,
            format!("__Host-csrf={}", URL_SAFE_NO_PAD.encode(secret)),
        )
        .header("x-csrf-token", URL_SAFE_NO_PAD.encode(&masked))
        .body(Body::empty())
        .expect("a request");
    let response = app
        .clone()
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let matched = response
        .extensions()
        .get::<MatchedRoute>()
        .map(|m| m.0.clone());
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status(), matched, location)
}

/// Every drift between `template` and `routes`, asking the live routers.
async fn drift(template: &Value, routes: &[RouterRoute], apps: &Apps) -> Vec<String> {
    let mut problems = Vec::new();
    let template_routes = http_routes(template);
    let mut keys = BTreeMap::new();
    for t in &template_routes {
        if let Some(other) = keys.insert(t.key(), t.function.clone()) {
            problems.push(format!(
                "{}: route {} is also on {other}: API Gateway keeps one",
                t.function,
                t.key()
            ));
        }
    }
    for t in &template_routes {
        problems.extend(forward(t, routes, apps).await);
    }
    problems.extend(reverse(&template_routes, routes, apps).await);
    problems
}

/// A template route reaches a handler of its function's router.
async fn forward(t: &HttpRoute, routes: &[RouterRoute], apps: &Apps) -> Vec<String> {
    let mut problems = Vec::new();
    let name = format!("{}/{} ({})", t.function, t.event, t.key());
    let kinds = kinds_of(&t.binary);
    let Some(app) = apps.by_function.get(t.binary.as_str()) else {
        return vec![format!(
            "{name}: an HTTP route on {}, which HTTP_FUNCTIONS does not list",
            t.binary
        )];
    };
    let (Some(method), Some(path)) = (&t.method, &t.path) else {
        // `$default`: any other path. Only the site answers anything with its own page.
        if kinds != [Kind::Site] {
            problems.push(format!(
                "{name}: $default on a function that is not the site"
            ));
        }
        return problems;
    };
    // The language prefixes are the site router's: `/fr/sign-in` is its `/sign-in`.
    let serves_site = kinds.contains(&Kind::Site);
    let bare_prefix = Lang::ALL
        .into_iter()
        .any(|l| l != Lang::En && l.prefix() == path.as_str());
    if serves_site && bare_prefix {
        let (status, _, location) = ask(app, method, path).await;
        let wanted = format!("{path}/");
        if status != StatusCode::PERMANENT_REDIRECT || location.as_deref() != Some(&wanted) {
            problems.push(format!(
                "{name}: expected the language middleware's redirect to {wanted}, got \
                 {status} {location:?}"
            ));
        }
        return problems;
    }
    let (localized, inner) = match split_prefix(path).filter(|_| serves_site) {
        Some((_, rest)) => (true, rest.to_owned()),
        None => (false, path.clone()),
    };
    let candidates: Vec<&RouterRoute> = routes
        .iter()
        .filter(|r| kinds.contains(&r.kind) && (!localized || r.kind == Kind::Site))
        .filter(|r| method_covers(method, &r.method) && covers(&inner, &r.path))
        .collect();
    if candidates.is_empty() {
        problems.push(format!(
            "{name}: no route of {}'s router ({kinds:?}) answers it",
            t.binary
        ));
        return problems;
    }
    let lang_prefix = &path[..path.len() - inner.len()];
    for r in candidates {
        let url = format!("{lang_prefix}{}", concrete(&r.path));
        let (status, matched, _) = ask(app, &r.method_for_request(), &url).await;
        if status == StatusCode::METHOD_NOT_ALLOWED || matched.as_deref() != Some(&r.path) {
            problems.push(format!(
                "{name}: {} {url} on {}'s router answered {status} from {matched:?}, not from \
                 its route {} ({})",
                r.method_for_request(),
                t.binary,
                r.path,
                r.at
            ));
        }
    }
    problems
}

impl RouterRoute {
    /// The method to ask it with (`any` routes: GET).
    fn method_for_request(&self) -> String {
        if self.method == "ANY" {
            "GET".into()
        } else {
            self.method.clone()
        }
    }
}

/// Every router route is in the template, on a function serving that router, and the
/// router really answers it.
async fn reverse(
    template_routes: &[HttpRoute],
    routes: &[RouterRoute],
    apps: &Apps,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, _) in UNLOCALIZED.iter().chain(LOCAL_ONLY) {
        if !routes.iter().any(|r| r.path == *path) {
            problems.push(format!(
                "UNLOCALIZED/LOCAL_ONLY list {path}, which no router has"
            ));
        }
    }
    for r in routes {
        let serving: Vec<&str> = HTTP_FUNCTIONS
            .iter()
            .filter(|(_, kinds)| kinds.contains(&r.kind))
            .map(|(b, _)| *b)
            .collect();
        let Some(app) = serving.first().and_then(|b| apps.by_function.get(b)) else {
            problems.push(format!(
                "{} {} ({}): no function serves its router",
                r.method, r.path, r.at
            ));
            continue;
        };
        let url = concrete(&r.path);
        let (status, matched, _) = ask(app, &r.method_for_request(), &url).await;
        let answered =
            status != StatusCode::METHOD_NOT_ALLOWED && matched.as_deref() == Some(&r.path);
        if LOCAL_ONLY.iter().any(|(p, _)| *p == r.path) {
            if answered {
                problems.push(format!(
                    "{} {} ({}): LOCAL_ONLY, yet the functions' router answers it",
                    r.method, r.path, r.at
                ));
            }
            continue;
        }
        if !answered {
            problems.push(format!(
                "{} {} ({}): the scan found this route but the router answered {status} from \
                 {matched:?}",
                r.method, r.path, r.at
            ));
        }
        let mut wanted = vec![r.path.clone()];
        if r.kind == Kind::Site && !UNLOCALIZED.iter().any(|(p, _)| *p == r.path) {
            for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
                wanted.push(format!("{}{}", lang.prefix(), r.path));
            }
        }
        for path in wanted {
            let found = template_routes.iter().any(|t| {
                serving.contains(&t.binary.as_str())
                    && t.method
                        .as_deref()
                        .is_some_and(|m| method_covers(m, &r.method))
                    && t.path.as_deref().is_some_and(|p| covers(p, &path))
            });
            if !found {
                problems.push(format!(
                    "{} {path} ({}) is not a route of the template on a function serving \
                     its router ({serving:?})",
                    r.method, r.at
                ));
            }
        }
    }
    problems
}

fn router_sources() -> Vec<(String, String)> {
    rust_files("shared/src")
}

#[tokio::test]
async fn template_routes_and_router_routes_agree() {
    let (routes, mut problems) = scan_routes(&router_sources());
    for kind in [Kind::Site, Kind::Metadata, Kind::Token, Kind::Callback] {
        assert!(
            routes.iter().any(|r| r.kind == kind),
            "the scan found no route of {kind:?}: it is broken"
        );
    }
    let apps = apps();
    let t = template();
    eprintln!(
        "checking {} template routes against {} router routes",
        http_routes(&t).len(),
        routes.len()
    );
    problems.extend(drift(&t, &routes, &apps).await);
    assert!(
        problems.is_empty(),
        "route drift:\n  {}",
        problems.join("\n  ")
    );
}

/// The check can fail: a route taken out of the template, a template route no handler
/// answers, and a route added to a router module are each reported.
#[tokio::test]
async fn the_drift_check_catches_missing_unanswered_and_extra_routes() {
    let sources = router_sources();
    let (routes, _) = scan_routes(&sources);
    let apps = apps();

    let text = read("template.yaml");
    let event = "        SignInFrPost:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            Method: POST\n            Path: /fr/sign-in\n";
    assert!(
        text.contains(event),
        "the template no longer holds {event:?}"
    );
    let without = parse_template(&text.replacen(event, "", 1));
    let problems = drift(&without, &routes, &apps).await;
    assert!(
        problems.iter().any(|p| p.starts_with("POST /fr/sign-in ")),
        "a missing template route went unnoticed: {problems:#?}"
    );

    let renamed = parse_template(&text.replacen(
        "            Path: /token\n",
        "            Path: /tokens\n",
        1,
    ));
    let problems = drift(&renamed, &routes, &apps).await;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("(POST /tokens): no route of token's router")),
        "a template route without a handler went unnoticed: {problems:#?}"
    );

    let mut edited = sources.clone();
    let home = edited
        .iter_mut()
        .find(|(f, _)| f == "shared/src/web/home.rs")
        .expect("shared/src/web/home.rs");
    assert!(home.1.contains("Router::new()"), "home.rs builds no Router");
    home.1 = home.1.replacen(
        "Router::new()",
        "Router::new().route(\"/an-extra-page\", get(x))",
        1,
    );
    let (more, scan_problems) = scan_routes(&edited);
    assert!(scan_problems.is_empty(), "{scan_problems:#?}");
    let problems = drift(&template(), &more, &apps).await;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("GET /an-extra-page ")
                && p.contains("not a route of the template")),
        "an extra router route went unnoticed: {problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("GET /fr/an-extra-page ")),
        "its French route went unnoticed: {problems:#?}"
    );
}

/// `HTTP_FUNCTIONS` is what the functions' `main.rs` build: the routers each one imports
/// and calls, and which functions serve HTTP at all.
#[test]
fn main_rs_builds_the_routers_listed_here() {
    let constructors: &[(&str, &str, &[Kind])] = &[
        ("web", "router", &[Kind::Site]),
        ("api", "metadata_router", &[Kind::Metadata]),
        ("api", "token_router", &[Kind::Token]),
        ("api", "router", &[Kind::Metadata, Kind::Token]),
        ("idv::callback", "router", &[Kind::Callback]),
    ];
    let import = Regex::new(r"use\s+passerelle::([a-z_:]+?)::(?:\{([^}]*)\}|([a-z_]+))\s*;")
        .expect("a valid regex");
    let template_http: BTreeSet<String> = http_routes(&template())
        .into_iter()
        .map(|r| r.binary)
        .collect();
    let dirs = rust_files("functions");
    let mains: Vec<&(String, String)> = dirs
        .iter()
        .filter(|(f, _)| f.ends_with("/src/main.rs"))
        .collect();
    assert!(!mains.is_empty(), "no functions/*/src/main.rs");
    for (file, source) in mains {
        let binary = file
            .trim_start_matches("functions/")
            .trim_end_matches("/src/main.rs");
        let code = without_comments(source);
        let mut kinds = BTreeSet::new();
        for c in import.captures_iter(&code) {
            let module = &c[1];
            let names = c.get(2).or(c.get(3)).map_or("", |m| m.as_str());
            for name in names.split(',').map(str::trim) {
                let called = Regex::new(&format!(r"(?:^|[^A-Za-z0-9_:]){name}\s*\("))
                    .expect("a valid regex")
                    .is_match(&code);
                if let Some((_, _, k)) = constructors
                    .iter()
                    .find(|(m, n, _)| *m == module && *n == name)
                    && called
                {
                    kinds.extend(k.iter().copied());
                }
            }
        }
        for (module, name, k) in constructors {
            if code.contains(&format!("passerelle::{module}::{name}(")) {
                kinds.extend(k.iter().copied());
            }
        }
        let serves_http = code.contains("lambda::http::serve(");
        let listed: BTreeSet<Kind> = kinds_of(binary).iter().copied().collect();
        assert_eq!(
            kinds, listed,
            "{file}: the routers it builds, against HTTP_FUNCTIONS"
        );
        assert_eq!(serves_http, !listed.is_empty(), "{file}: serves HTTP?");
        assert_eq!(
            template_http.contains(binary),
            serves_http,
            "{file}: HTTP routes in the template iff it serves HTTP"
        );
    }
}
