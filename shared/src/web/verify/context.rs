//! What every verification page starts with: a signed-in person with a recent factor
//! ([`Verifier`]), then where their verification stands ([`Ctx`]): the identity's state,
//! the flow item, the session's draft (checked against the flow's tag, and restored or
//! reset when it is missing or changed), and the step that results.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::flow::{Flow, Step, draft_tag};
use super::services::IdvServices;
use crate::idv::jobs::job_key::FlowKey;
use crate::idv::pii::Pii;
use crate::idv::profile::ProfileState;
use crate::oidc::request::Ial;
use crate::web::account::recent::recent_factor;
use crate::web::error::{KeepBody, WebError};
use crate::web::forms::MessagePage;
use crate::web::oidc::AUTHORIZE_COOKIE;
use crate::web::session::SignedIn;
use crate::web::{Page, WebState, cookies};

/// How often loading retries when another tab writes the flow at the same moment.
const ATTEMPTS: usize = 3;

/// A complete session whose factor is recent (ACC-3: verifying is a sensitive action).
/// Without one, the factor step first, then back to this page.
#[derive(Debug, Clone)]
pub struct Verifier(pub SignedIn);

impl FromRequestParts<WebState> for Verifier {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        // Back to the page after the factor: a form's own page for a stale POST.
        let back = |parts: &Parts| {
            if parts.method == Method::GET {
                parts
                    .uri
                    .path_and_query()
                    .map_or("/verify", |pq| pq.as_str())
                    .to_owned()
            } else {
                parts.uri.path().to_owned()
            }
        };
        recent_factor(parts, state, back).await.map(Verifier)
    }
}

/// Where one person's verification stands, as one request sees it.
#[derive(Debug)]
pub struct Ctx {
    pub signed_in: SignedIn,
    pub profile: Option<ProfileState>,
    pub flow: Flow,
    /// The session's draft, when it belongs to this flow (matches its tag).
    pub draft: Option<Pii>,
    pub step: Step,
}

impl Ctx {
    pub fn user(&self) -> &str {
        &self.signed_in.session.user_id
    }

    /// The key this session's proofing jobs are sealed under (from its cookie's token).
    pub fn flow_key(&self) -> FlowKey {
        FlowKey::of_session(&self.signed_in.token)
    }

    /// Reads the identity, the flow and the draft, and settles a draft that went missing
    /// (the session ended and a new one began: restored from the document check while
    /// its result is kept) or changed (another tab: its checks are forgotten).
    pub async fn load(state: &WebState, verifier: Verifier) -> Result<Ctx, WebError> {
        let idv = state.idv().await?;
        let signed_in = verifier.0;
        let user = signed_in.session.user_id.clone();
        let profile = idv.profiles.status(&user).await?;
        for _ in 0..ATTEMPTS {
            let flow = idv.flows.load(&user).await?;
            let draft = idv
                .session_pii
                .read(&signed_in.token, &signed_in.session)
                .await?;
            let settled = if flow.pending_key.is_some() {
                Some((flow, None, Step::PersonalKey))
            } else {
                match profile {
                    Some(ProfileState::Active { .. }) => Some((flow, None, Step::Verified)),
                    Some(ProfileState::PendingLetter { .. }) => Some((flow, None, Step::Letter)),
                    _ => settle(idv, &signed_in, flow, draft).await?,
                }
            };
            if let Some((flow, draft, step)) = settled {
                return Ok(Ctx {
                    signed_in,
                    profile,
                    flow,
                    draft,
                    step,
                });
            }
        }
        Err(WebError::Unavailable(
            "the verification flow kept changing".into(),
        ))
    }

    /// Whether `page` may be shown or submitted now: any step up to the current one (to
    /// go back and change something), a waiting page only while its check runs, the
    /// password only once everything before it passed.
    pub fn allows(&self, page: Step) -> bool {
        match self.step {
            Step::PersonalKey | Step::Verified | Step::Letter => page == self.step,
            current if page.is_wait() || page == Step::Password => page == current,
            current => page <= current,
        }
    }

    /// A 303 to the current step's page.
    pub fn to_step(&self, page: &Page) -> Response {
        Redirect::to(&page.href(self.step.path())).into_response()
    }

    /// `page` as this signed-in person's.
    pub fn page(&self, state: &WebState, page: Page) -> Page {
        self.signed_in.page(state, page)
    }

    /// Writes `flow` (over the version this request read) and then, if it did, keeps
    /// `draft` in the session. `false`: another tab changed the flow first; nothing was
    /// written.
    pub async fn commit(
        &self,
        idv: &IdvServices,
        flow: &mut Flow,
        draft: Option<&Pii>,
    ) -> Result<bool, WebError> {
        if !idv.flows.save(self.user(), flow).await? {
            return Ok(false);
        }
        if let Some(draft) = draft {
            // An ended session keeps nothing; the next page sends the person to sign in.
            idv.session_pii
                .keep(&self.signed_in.token, &self.signed_in.session, draft)
                .await?;
        }
        Ok(true)
    }

    /// The draft's tag in this session.
    pub fn tag(&self, draft: &Pii) -> String {
        draft_tag(&self.signed_in.token, draft)
    }
}

/// The flow steps for an identity that is absent or deactivated. `None`: the flow changed
/// while settling; read again.
async fn settle(
    idv: &IdvServices,
    signed_in: &SignedIn,
    mut flow: Flow,
    draft: Option<Pii>,
) -> Result<Option<(Flow, Option<Pii>, Step)>, WebError> {
    let user = &signed_in.session.user_id;
    if !flow.document_passed {
        // Whatever the session holds is not this flow's (an earlier attempt).
        let step = flow.step(None);
        return Ok(Some((flow, None, step)));
    }
    let tag = |d: &Pii| draft_tag(&signed_in.token, d);
    match draft {
        Some(d) if flow.draft_tag.as_deref() == Some(tag(&d).as_str()) => {
            let step = flow.step(Some(&d));
            Ok(Some((flow, Some(d), step)))
        }
        Some(d) => {
            // Changed in another tab after this flow last wrote it: its checks do not
            // vouch for it. Review it again.
            flow.reset_checks();
            flow.draft_tag = Some(tag(&d));
            flow.fail(Step::Review, "changed");
            if !idv.flows.save(user, &mut flow).await? {
                return Ok(None);
            }
            let step = flow.step(Some(&d));
            Ok(Some((flow, Some(d), step)))
        }
        None => {
            let restored = match &flow.document_job {
                Some(job) => {
                    let flow_key = FlowKey::of_session(&signed_in.token);
                    idv.jobs.document_result(job, user, &flow_key).await?
                }
                None => None,
            };
            match restored {
                Some(d) => {
                    flow.reset_checks();
                    flow.draft_tag = Some(tag(&d));
                    flow.fail(Step::Ssn, "restored");
                    if !idv.flows.save(user, &mut flow).await? {
                        return Ok(None);
                    }
                    idv.session_pii
                        .keep(&signed_in.token, &signed_in.session, &d)
                        .await?;
                    let step = flow.step(Some(&d));
                    Ok(Some((flow, Some(d), step)))
                }
                None => {
                    flow.reset_document();
                    flow.fail(Step::Document, "expired");
                    if !idv.flows.save(user, &mut flow).await? {
                        return Ok(None);
                    }
                    let step = flow.step(None);
                    Ok(Some((flow, None, step)))
                }
            }
        }
    }
}

/// A heading and a paragraph that say why the person is back on a step, and what to do.
#[derive(Debug, Clone)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

impl Notice {
    /// The notice for the failure that sent the person back to step `at`, if any.
    pub fn of(page: &Page, flow: &Flow, at: Step) -> Option<Notice> {
        let id = match flow.failure_at(at)? {
            "document_not_authentic" => "verify-fail-document",
            "document_unreadable" => "verify-fail-unreadable",
            "selfie_mismatch" => "verify-fail-selfie",
            "identity_not_found" => "verify-fail-identity",
            "state_id_mismatch" => "verify-fail-state-id",
            "phone_unverifiable" => "verify-fail-phone",
            "vendor_rejected" => "verify-fail-rejected",
            "unavailable" => "verify-fail-unavailable",
            "duplicate_ssn" => "verify-fail-duplicate-ssn",
            "duplicate_person" => "verify-fail-duplicate-person",
            "expired" => "verify-fail-expired",
            "changed" => "verify-fail-changed",
            "restored" => "verify-fail-restored",
            _ => return None,
        };
        Some(Notice {
            title: page.t(&format!("{id}-title")),
            body: page.t(&format!("{id}-body")),
        })
    }
}

/// Pages that show PII or a secret are never cached.
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A message page with an error status that keeps its own words (the error middleware
/// would put the generic page in its place).
pub fn message_with_status(
    page: Page,
    status: StatusCode,
    title_id: &str,
    body_ids: &[&str],
    link: Option<(&str, &str)>,
) -> Result<Response, WebError> {
    let paragraphs = body_ids.iter().map(|id| page.t(id)).collect();
    let mut response = MessagePage::render(page, title_id, paragraphs, link)?;
    *response.status_mut() = status;
    response.extensions_mut().insert(KeepBody);
    Ok(response)
}

/// Whether the agency request waiting for this browser asks for a facial match
/// (`urn:acr.login.gov:verified-facial-match-required`).
pub async fn facial_match_requested(
    state: &WebState,
    headers: &HeaderMap,
) -> Result<bool, WebError> {
    let Some(id) = cookies::get(headers, &format!("__Host-{AUTHORIZE_COOKIE}")) else {
        return Ok(false);
    };
    let pending = state.oidc().await?.provider.pending.get(id).await?;
    Ok(pending.is_some_and(|p| p.request.acr.ial == Ial::FacialMatch))
}

/// Where a finished verification goes: the agency's waiting request, else the account
/// page with a confirmation line (`done`, a fixed word).
pub fn finished(page: &Page, headers: &HeaderMap, done: &str) -> Response {
    let to = match crate::web::oidc::continuation(headers) {
        Some(path) => path.to_owned(),
        None => format!("/account?done={done}"),
    };
    Redirect::to(&page.href(&to)).into_response()
}
