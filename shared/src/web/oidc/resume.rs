//! `GET /authorize/resume`: where a waiting request goes after each step (sign-in,
//! sign-up, factor, consent) until it can be answered with a code.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, header};

use super::AUTHORIZE_COOKIE;
use super::RESUME_PATH;
use crate::oidc::agency::Agency;
use crate::oidc::claims::Scope;
use crate::oidc::codes::Grant;
use crate::oidc::pending::Pending;
use crate::oidc::request::{AalLevel, AuthorizationRequest, Ial, Prompt, with_query};
use crate::oidc::verified::VerifiedClaims;
use crate::session::{Aal, Session, SessionToken};
use crate::web::cookies;
use crate::web::error::WebError;
use crate::web::forms::MessagePage;
use crate::web::mfa::access::urlencode;
use crate::web::session::token_of;
use crate::web::{Page, WebState};

pub fn routes() -> Router<WebState> {
    Router::new().route(RESUME_PATH, get(resume))
}

/// What a request still needs before it can be answered.
#[derive(Debug)]
pub(super) enum Decision {
    NeedsSignIn,
    /// Signed in, but with less than the request's AAL (a remembered browser for aal2 and
    /// for every verified-identity request, anything but WebAuthn for phishing-resistant).
    NeedsFactor(AalLevel),
    /// A verified identity was asked and the account has none in use: where to go.
    NeedsVerification(VerifyStep),
    /// The agency requires a facial match and the identity was verified without one.
    NeedsFacialMatch,
    /// Verified, but this session holds no opened copy of the identity (a remembered
    /// browser, or a sign-in without the password): the password opens it again.
    NeedsPassword,
    NeedsConsent,
    Ready {
        user_id: String,
        session: Session,
    },
}

/// The verification page a request that needs a verified identity leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VerifyStep {
    /// Never verified (or verified without the selfie a facial match needs).
    Start,
    /// Waiting for the letter's code.
    Letter,
    /// Deactivated by a password reset: the personal key restores it.
    Reactivate,
}

impl VerifyStep {
    fn path(self) -> &'static str {
        match self {
            VerifyStep::Start => "/verify",
            VerifyStep::Letter => "/verify/letter",
            VerifyStep::Reactivate => "/verify/reactivate",
        }
    }
}

/// When the account's identity was verified, or the step that stands in the way.
async fn verified_ms(state: &WebState, user_id: &str) -> Result<Result<i64, VerifyStep>, WebError> {
    use crate::idv::profile::ProfileState;
    let idv = state.idv.get(state).await?;
    Ok(match idv.profiles.status(user_id).await? {
        Some(ProfileState::Active { verified_ms }) => Ok(verified_ms),
        Some(ProfileState::PendingLetter { .. }) => Err(VerifyStep::Letter),
        Some(ProfileState::Deactivated { .. }) => Err(VerifyStep::Reactivate),
        None => Err(VerifyStep::Start),
    })
}

/// The strongest AAL the session satisfies: what the code will say was achieved.
fn achieved(session: &Session) -> AalLevel {
    [AalLevel::PhishingResistant, AalLevel::Aal2]
        .into_iter()
        .find(|l| session.satisfies(l.aal()))
        .unwrap_or(AalLevel::Default)
}

/// Decides the next step. `since_ms`: for `prompt=login`, the sign-in must be newer.
/// `headers` carry the session cookie, whose token opens the session's copy of a verified
/// identity (IDV-9).
pub(super) async fn decide(
    state: &WebState,
    agency: &Agency,
    request: &AuthorizationRequest,
    session: Option<&Session>,
    since_ms: Option<i64>,
    headers: &HeaderMap,
) -> Result<Decision, WebError> {
    let Some(session) = session.filter(|s| s.is_complete()) else {
        return Ok(Decision::NeedsSignIn);
    };
    if since_ms.is_some_and(|t| session.created_ms < t) {
        return Ok(Decision::NeedsSignIn);
    }
    // A verified identity needs a factor used in this sign-in, whatever the request
    // says of the AAL (MFA-7, ACC-4): a remembered browser never stands in for it.
    let required = request.acr.required_aal();
    if !session.satisfies(required.aal()) {
        return Ok(Decision::NeedsFactor(required));
    }
    let mut verified = None;
    if request.acr.ial > Ial::AuthOnly {
        let verified_ms = match verified_ms(state, &session.user_id).await? {
            Ok(ms) => ms,
            Err(step) => return Ok(Decision::NeedsVerification(step)),
        };
        let idv = state.idv.get(state).await?;
        if request.acr.ial == Ial::FacialMatch
            && !idv.profiles.facial_match(&session.user_id).await?
        {
            return Ok(Decision::NeedsFacialMatch);
        }
        let opened = match token_of(headers) {
            Some(token) => idv.session_pii.read(&token, session).await?,
            None => None,
        };
        if opened.is_none() {
            return Ok(Decision::NeedsPassword);
        }
        verified = Some(verified_ms);
    }
    let consents = &state.oidc().await?.provider.consents;
    // Consent is asked again after a re-verification (OIDC-8).
    if consents
        .needed(
            &session.user_id,
            &agency.client_id,
            &request.scopes,
            verified,
        )
        .await?
    {
        return Ok(Decision::NeedsConsent);
    }
    Ok(Decision::Ready {
        user_id: session.user_id.clone(),
        session: session.clone(),
    })
}

/// The cookie that forgets the waiting request.
pub(super) fn clear_authorize_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-authorize=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// `verified_at` (seconds) when the request may release it, and the verified claims the
/// request's scopes release (IAL2 requests only; [`decide`] made sure the session holds
/// the opened identity). The claims go into the grant in clear, with no key-service call:
/// the grant is the code, sealed and never stored, and `/token` seals them under the
/// access token ([`crate::oidc::verified`]).
async fn verified_claims(
    state: &WebState,
    request: &AuthorizationRequest,
    session: &Session,
    headers: &HeaderMap,
) -> Result<(Option<i64>, Option<VerifiedClaims>), WebError> {
    let scopes = request.scopes();
    let wants_date = scopes
        .iter()
        .any(|s| matches!(s, Scope::ProfileVerifiedAt | Scope::Profile));
    if request.acr.ial == Ial::AuthOnly && !wants_date {
        return Ok((None, None));
    }
    let verified_at = verified_ms(state, &session.user_id)
        .await?
        .ok()
        .map(|ms| ms.div_euclid(1000));
    if request.acr.ial == Ial::AuthOnly {
        return Ok((verified_at, None));
    }
    let idv = state.idv.get(state).await?;
    let Some(token) = token_of(headers) else {
        return Err(WebError::Forbidden);
    };
    let Some(pii) = idv.session_pii.read(&token, session).await? else {
        return Err(WebError::Forbidden);
    };
    let claims = crate::oidc::verified::claims_for(&scopes, &pii);
    Ok((verified_at, Some(claims)))
}

/// Issues the code and sends the person back to the agency.
pub(super) async fn finish_with_code(
    state: &WebState,
    agency: &Agency,
    request: &AuthorizationRequest,
    user_id: &str,
    session: &Session,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let (verified_at, claims) = verified_claims(state, request, session, headers).await?;
    let grant = Grant {
        user_id: user_id.to_owned(),
        client_id: agency.client_id.clone(),
        agency_id: agency.agency_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scopes: request.scopes.clone(),
        nonce: request.nonce.clone(),
        acr: request.acr,
        aal: achieved(session),
        auth_time_ms: session.created_ms,
        code_challenge: request.code_challenge.clone(),
        verified_at,
        claims,
        sealed_by_key_service: None,
    };
    let code = state.oidc().await?.provider.issue_code(&grant);
    let to = with_query(
        &request.redirect_uri,
        &[("code", &code), ("state", &request.state)],
    );
    let mut response = Redirect::to(&to).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_authorize_cookie());
    Ok(response)
}

/// The waiting request of this browser, with its agency.
pub(super) async fn waiting(
    state: &WebState,
    headers: &HeaderMap,
) -> Result<Option<(Pending, Agency)>, WebError> {
    let Some(id) = cookies::get(headers, &format!("__Host-{AUTHORIZE_COOKIE}")) else {
        return Ok(None);
    };
    let provider = &state.oidc().await?.provider;
    let Some(pending) = provider.pending.get(id).await? else {
        return Ok(None);
    };
    let Some(agency) = provider.agencies.get(&pending.request.client_id).await? else {
        return Ok(None);
    };
    Ok(Some((pending, agency)))
}

/// "This request has ended": the page for a missing, expired or already answered one.
pub(super) fn ended(page: Page) -> Result<Response, WebError> {
    let body = page.t("authorize-ended");
    let mut response = MessagePage::render(
        page,
        "authorize-ended-title",
        vec![body],
        Some(("/account", "authorize-ended-account")),
    )?;
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_authorize_cookie());
    Ok(response)
}

/// The session behind the browser's cookie (pending or complete), with its token.
pub(super) async fn signed_in(
    state: &WebState,
    headers: &HeaderMap,
) -> Result<Option<(SessionToken, Session)>, WebError> {
    let Some(token) = token_of(headers) else {
        return Ok(None);
    };
    let sessions = &state.account_services().await?.sessions;
    Ok(sessions.resume(&token).await?.map(|s| (token, s)))
}

/// The session behind the browser's cookie, pending or complete.
pub(super) async fn current_session(
    state: &WebState,
    headers: &HeaderMap,
) -> Result<Option<Session>, WebError> {
    Ok(signed_in(state, headers).await?.map(|(_, s)| s))
}

async fn resume(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((pending, agency)) = waiting(&state, &headers).await? else {
        return ended(page);
    };
    let session = current_session(&state, &headers).await?;
    let since = (pending.request.prompt == Prompt::Login).then_some(pending.created_ms);
    match decide(
        &state,
        &agency,
        &pending.request,
        session.as_ref(),
        since,
        &headers,
    )
    .await?
    {
        Decision::NeedsSignIn => Ok(Redirect::to(&page.href("/sign-in")).into_response()),
        Decision::NeedsFactor(level) => {
            let factor = format!("/sign-in/factor?return_to={}", urlencode(RESUME_PATH));
            if level.aal() == Aal::PhishingResistant {
                // Only a key or face/touch unlock will do: straight to that ceremony.
                let key = format!("/sign-in/webauthn?return_to={}", urlencode(RESUME_PATH));
                let body = vec![page.t("authorize-needs-phishing-resistant")];
                return MessagePage::render(
                    page,
                    "authorize-needs-factor-title",
                    body,
                    Some((&key, "authorize-use-security-key")),
                );
            }
            Ok(Redirect::to(&page.href(&factor)).into_response())
        }
        Decision::NeedsVerification(step) => {
            let body = vec![page.t_args(
                "authorize-needs-verification",
                &[("agency", agency.name.as_str().into())],
            )];
            let to = format!("{}?return_to={}", step.path(), urlencode(RESUME_PATH));
            MessagePage::render(
                page,
                "authorize-needs-verification-title",
                body,
                Some((&to, "authorize-verify-now")),
            )
        }
        Decision::NeedsFacialMatch => {
            let body = vec![page.t_args(
                "authorize-needs-facial-match",
                &[("agency", agency.name.as_str().into())],
            )];
            MessagePage::render(
                page,
                "authorize-needs-facial-match-title",
                body,
                Some((
                    super::not_verified::NOT_VERIFIED_PATH,
                    "authorize-back-to-agency",
                )),
            )
        }
        Decision::NeedsPassword => {
            Ok(Redirect::to(&page.href(super::unlock::UNLOCK_PATH)).into_response())
        }
        Decision::NeedsConsent => {
            Ok(Redirect::to(&page.href("/authorize/consent")).into_response())
        }
        Decision::Ready { user_id, session } => {
            if !state
                .oidc()
                .await?
                .provider
                .pending
                .finish(&pending.id)
                .await?
            {
                return ended(page);
            }
            finish_with_code(
                &state,
                &agency,
                &pending.request,
                &user_id,
                &session,
                &headers,
            )
            .await
        }
    }
}
