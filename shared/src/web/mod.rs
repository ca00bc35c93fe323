//! The web layer: the site router every HTTP function and the local stack mount, with
//! language routing, security headers, CSRF protection, error pages and access logs.
//!
//! Adding a page:
//! 1. a module with `pub fn routes() -> Router<WebState>` and a handler taking
//!    [`Page`] (plus [`CsrfForm<T>`] for a form post) returning [`render`]`(&template)`;
//! 2. a template in `shared/templates/` that `{% extends "base.html" %}`, held in a struct
//!    with a `page: Page` field, using `{{ page.t("id") }}` and `page.href("/path")`;
//! 3. its messages in `shared/locales/{en,fr,es}/main.ftl` (a test insists on all three);
//! 4. one `.merge(module::routes())` in [`routes`]. The page then exists at `/path`,
//!    `/fr/path` and `/es/path`.

pub mod account;
pub mod account_reset;
pub mod account_state;
pub mod assets;
pub mod client;
pub mod cookies;
pub mod csrf;
pub mod device;
pub mod error;
pub mod forms;
pub mod headers;
pub mod health;
pub mod home;
pub mod i18n;
pub mod language;
pub mod letter_reminders;
pub mod locale;
pub mod mail;
pub mod mfa;
pub mod not_me;
pub mod notices;
pub mod oidc;
pub mod outbox;
pub mod page;
pub mod request_id;
pub mod reset;
pub mod rules;
pub mod session;
pub mod signin;
pub mod signup;
pub mod verify;
pub mod when;

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tower::ServiceBuilder;

use crate::account::password_hash::HashParams;
use crate::services::Services;
use crate::session::SessionPolicy;

use account_state::{AccountCell, AccountServices};

pub use csrf::{CsrfForm, CsrfToken};
pub use error::WebError;
pub use headers::CspNonce;
pub use i18n::Lang;
pub use locale::Locale;
pub use page::{Page, render};
pub use request_id::RequestId;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct WebState {
    pub services: Arc<Services>,
    /// The absolute URL people reach, without trailing slash: the origin form posts must
    /// come from, and the base of links in mail.
    pub public_url: String,
    /// Serve `/dev/outbox` (local stack only).
    pub dev_outbox: bool,
    /// Argon2 cost and session timings the account services are built with.
    pub hash: HashParams,
    pub session_policy: SessionPolicy,
    /// Accounts, rate limiter and sessions, built on first use (see [`account_state`]).
    pub accounts: Arc<AccountCell>,
    /// The OpenID provider the authorize pages share with the JSON endpoints.
    pub api: crate::api::ApiState,
    /// Identity verification, built on first use (see [`verify::services`]).
    pub idv: Arc<verify::IdvCell>,
    /// The deployment's ceiling on texts and calls per hour (`PASSERELLE_SMS_PER_HOUR`).
    pub sms_per_hour: u32,
    /// Proxies whose `X-Forwarded-For` names the client (`PASSERELLE_TRUSTED_PROXIES`,
    /// [`client`]); none by default.
    pub trusted_proxies: crate::proxies::TrustedProxies,
    /// The CDN whose headers give the viewer's place (`PASSERELLE_CDN`, [`device`]);
    /// none by default, and then no place is recorded.
    pub cdn: crate::config::Cdn,
}

impl WebState {
    /// The state over `services`, hashing passwords at production cost
    /// (`HashParams::default()`).
    pub fn new(services: Arc<Services>, public_url: impl Into<String>, dev_outbox: bool) -> Self {
        let public_url = public_url.into();
        Self {
            api: crate::api::ApiState::new(Arc::clone(&services), public_url.clone()),
            services,
            public_url,
            dev_outbox,
            hash: HashParams::default(),
            session_policy: SessionPolicy::default(),
            accounts: Arc::new(AccountCell::new(
                HashParams::default(),
                SessionPolicy::default(),
            )),
            idv: Arc::new(verify::IdvCell::default()),
            trusted_proxies: crate::proxies::TrustedProxies::none(),
            cdn: crate::config::Cdn::None,
            sms_per_hour: crate::ratelimit::DEFAULT_SMS_PER_HOUR,
        }
    }

    /// The state a function or the local stack serves from its configuration: the public
    /// URL, the session timings (`PASSERELLE_SESSION_IDLE_SECS`), the trusted proxies
    /// (`PASSERELLE_TRUSTED_PROXIES`), the CDN (`PASSERELLE_CDN`) and the SMS ceiling
    /// (`PASSERELLE_SMS_PER_HOUR`).
    pub fn from_config(
        services: Arc<Services>,
        config: &crate::config::Config,
        dev_outbox: bool,
    ) -> Self {
        let mut state = Self::new(services, config.public_url.clone(), dev_outbox)
            .with_session_policy(SessionPolicy::with_idle_secs(config.session_idle_secs))
            .with_sms_per_hour(config.sms_per_hour);
        state.trusted_proxies = config.trusted_proxies.clone();
        state.cdn = config.cdn;
        state
    }

    /// The same state with another ceiling on texts and calls per hour.
    pub fn with_sms_per_hour(mut self, per_hour: u32) -> Self {
        self.sms_per_hour = per_hour;
        self
    }

    /// The same state with another argon2 cost: tests use a cheap one.
    pub fn with_hash_params(mut self, hash: HashParams) -> Self {
        self.hash = hash;
        self.accounts = Arc::new(AccountCell::new(hash, self.session_policy));
        self.idv = Arc::new(verify::IdvCell::default());
        self
    }

    /// The same state with other session timings (a short idle timeout for browser
    /// tests of the warning; `PASSERELLE_SESSION_IDLE_SECS`).
    pub fn with_session_policy(mut self, policy: SessionPolicy) -> Self {
        self.session_policy = policy;
        self.accounts = Arc::new(AccountCell::new(self.hash, policy));
        self
    }

    /// Accounts, rate limiter and sessions (built on the first call).
    pub async fn account_services(&self) -> Result<&AccountServices, WebError> {
        self.accounts.get(&self.services, &self.public_url).await
    }

    /// The OpenID provider (built on the first call).
    pub async fn oidc(&self) -> Result<&crate::api::OidcServices, WebError> {
        Ok(self.api.oidc().await?)
    }
}

/// Every route of the site, as seen after the language prefix is stripped: `/` here
/// answers `/`, `/fr/` and `/es/`. Later pages add one `.merge(…)` line.
fn routes(state: &WebState) -> Router<WebState> {
    Router::new()
        .merge(home::routes())
        .merge(language::routes())
        .merge(health::routes())
        .merge(outbox::routes(state))
        .merge(signup::routes())
        .merge(rules::routes())
        .merge(signin::routes())
        .merge(reset::routes())
        .merge(session::routes())
        .merge(mfa::routes())
        .merge(account::routes())
        .merge(not_me::routes())
        .merge(account_reset::routes())
        .merge(oidc::routes())
        .merge(verify::routes())
        .route("/static/{file}", get(assets::serve))
}

/// The site. Middleware, outermost first:
/// request id and access log → security headers and CSP nonce → CDN viewer headers
/// dropped unless that CDN is trusted → language (strips the URL prefix, so it runs
/// before routing) → CSRF token → error pages → CSRF guard → routes.
pub fn router(state: WebState) -> Router {
    let inner = routes(&state)
        .fallback(error::not_found)
        .layer(from_fn(request_id::record_route))
        .with_state(state.clone());
    let site = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), request_id::request_id))
        .layer(from_fn_with_state(state.clone(), headers::security_headers))
        .layer(from_fn_with_state(
            state.clone(),
            device::trusted_place_only,
        ))
        .layer(from_fn(locale::route_by_language))
        .layer(from_fn_with_state(state.clone(), csrf::issue))
        .layer(from_fn(error::render_errors))
        .layer(from_fn_with_state(state, csrf::guard))
        .service(inner);
    // Wrapping the routed service, rather than `Router::layer`, is what lets the language
    // middleware rewrite the path before routing happens.
    Router::new().fallback_service(site)
}
