//! The authorization request (OIDC-2) and its ACR values (OIDC-7, MFA-7), validated in full
//! before anything else happens. A request whose client or redirect URI cannot be trusted
//! is answered with a page, never a redirect; every other error goes back to the agency.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::agency::Agency;
use super::claims::{Scope, parse_scopes};
use crate::session::Aal;

/// OIDC-2: state and nonce carry at least 22 characters (128 bits of base64url).
pub const MIN_STATE_CHARS: usize = 22;
const MAX_PARAM_CHARS: usize = 1024;

pub const ACR_AUTH_ONLY: &str = "urn:acr.login.gov:auth-only";
pub const ACR_VERIFIED: &str = "urn:acr.login.gov:verified";
pub const ACR_FACIAL_MATCH: &str = "urn:acr.login.gov:verified-facial-match-required";
pub const ACR_AAL_DEFAULT: &str = "urn:gov:gsa:ac:classes:sp:PasswordProtectedTransport:duo";
pub const ACR_AAL2: &str = "http://idmanagement.gov/ns/assurance/aal/2";
pub const ACR_PHISHING_RESISTANT: &str =
    "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true";

/// Every ACR value the provider accepts (and advertises).
pub const ACR_VALUES: [&str; 6] = [
    ACR_AUTH_ONLY,
    ACR_VERIFIED,
    ACR_FACIAL_MATCH,
    ACR_AAL_DEFAULT,
    ACR_AAL2,
    ACR_PHISHING_RESISTANT,
];

/// Identity assurance asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ial {
    AuthOnly,
    Verified,
    FacialMatch,
}

impl Ial {
    pub fn acr(self) -> &'static str {
        match self {
            Ial::AuthOnly => ACR_AUTH_ONLY,
            Ial::Verified => ACR_VERIFIED,
            Ial::FacialMatch => ACR_FACIAL_MATCH,
        }
    }
}

/// What the request asks of the sign-in and of the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acr {
    pub ial: Ial,
    pub aal: AalLevel,
}

impl Acr {
    /// The sign-in this request needs (MFA-7, ACC-4): what it asked, raised to `aal/2` for a
    /// verified identity, so that a factor used in this sign-in is required and a remembered
    /// browser never stands in. Computed here as well as in [`validate`] so that a request
    /// kept from before the rule holds to it too.
    pub fn required_aal(self) -> AalLevel {
        if self.ial > Ial::AuthOnly {
            self.aal.max(AalLevel::Aal2)
        } else {
            self.aal
        }
    }
}

/// [`Aal`] in a serialisable form, ordered weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AalLevel {
    Default,
    Aal2,
    PhishingResistant,
}

impl AalLevel {
    pub fn aal(self) -> Aal {
        match self {
            AalLevel::Default => Aal::Default,
            AalLevel::Aal2 => Aal::Aal2,
            AalLevel::PhishingResistant => Aal::PhishingResistant,
        }
    }

    pub fn of(aal: Aal) -> Self {
        match aal {
            Aal::Default => AalLevel::Default,
            Aal::Aal2 => AalLevel::Aal2,
            Aal::PhishingResistant => AalLevel::PhishingResistant,
        }
    }

    pub fn acr(self) -> &'static str {
        match self {
            AalLevel::Default => ACR_AAL_DEFAULT,
            AalLevel::Aal2 => ACR_AAL2,
            AalLevel::PhishingResistant => ACR_PHISHING_RESISTANT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    /// The default: an existing session is used.
    SelectAccount,
    /// Password and factor again, whatever the session.
    Login,
    /// No page at all: answer at once, `login_required` or `consent_required` if needed.
    None,
}

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Known scopes the agency may receive, `openid` first.
    pub scopes: Vec<String>,
    pub state: String,
    pub nonce: String,
    pub prompt: Prompt,
    pub acr: Acr,
    /// S256 challenge (RFC 7636), when the agency sent one.
    pub code_challenge: Option<String>,
    /// `en`, `fr` or `es` from `ui_locales`.
    pub locale: Option<String>,
}

impl AuthorizationRequest {
    pub fn scopes(&self) -> Vec<Scope> {
        parse_scopes(&self.scopes.join(" "))
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// No trustworthy place to send the person back: a page says so.
    Page(PageReason),
    /// Back to the agency with `error`, `error_description` and `state`.
    Redirect(ErrorRedirect),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageReason {
    MissingClient,
    UnknownClient,
    BadRedirectUri,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: &'static str,
    pub description: &'static str,
    pub state: Option<String>,
}

impl ErrorRedirect {
    /// The URL to send the person to.
    pub fn location(&self) -> String {
        let mut params = vec![
            ("error", self.error),
            ("error_description", self.description),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        with_query(&self.redirect_uri, &params)
    }
}

/// `uri` with `params` appended to its query, form-encoded.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(&form_encode(v));
        sep = '&';
    }
    out
}

fn form_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding of one name or value.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The request's parameters, each once: a repeated parameter is an error (RFC 6749 3.1).
#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut p = Params::default();
        for (k, v) in pairs {
            match p.values.entry(k) {
                std::collections::hash_map::Entry::Occupied(e) => p.repeated.push(e.key().clone()),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        p
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The parameters of a URL query (`None`: not a valid query string).
    pub fn from_query(query: Option<&str>) -> Option<Self> {
        let mut pairs = Vec::new();
        for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((form_decode(k)?, form_decode(v)?));
        }
        Some(Self::new(pairs))
    }

    /// Whether any parameter came more than once.
    pub fn has_repeats(&self) -> bool {
        !self.repeated.is_empty()
    }

    fn repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }
}

/// Validates `params` for `agency` (looked up by the caller from `client_id`; `None` when
/// unknown).
pub fn validate(
    params: &Params,
    agency: Option<&Agency>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let page = |r| Err(AuthorizeError::Page(r));
    if params.get("client_id").is_none() || params.repeated("client_id") {
        return page(PageReason::MissingClient);
    }
    let Some(agency) = agency else {
        return page(PageReason::UnknownClient);
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if !params.repeated("redirect_uri") && agency.redirects_to(uri) => uri,
        _ => return page(PageReason::BadRedirectUri),
    };
    let state = params.get("state").filter(|s| s.len() <= MAX_PARAM_CHARS);
    let fail = |error, description| {
        Err(AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.to_owned(),
            error,
            description,
            state: state.map(str::to_owned),
        }))
    };
    if !params.repeated.is_empty() {
        return fail("invalid_request", "a parameter was sent more than once");
    }
    if params.get("request").is_some() {
        return fail("request_not_supported", "request objects are not supported");
    }
    if params.get("request_uri").is_some() {
        return fail("request_uri_not_supported", "request_uri is not supported");
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return fail("invalid_request", "response_type is required"),
        Some(_) => {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return fail("invalid_request", "only response_mode=query is supported");
    }
    let requested = parse_scopes(params.get("scope").unwrap_or(""));
    if !requested.contains(&Scope::OpenId) {
        return fail("invalid_scope", "scope must include openid");
    }
    let scopes: Vec<String> = requested
        .into_iter()
        .filter(|s| agency.allows(*s))
        .map(|s| s.as_str().to_owned())
        .collect();
    let Some(state) = state.filter(|s| s.chars().count() >= MIN_STATE_CHARS) else {
        return fail("invalid_request", "state must be 22 to 1024 characters");
    };
    let nonce = match params.get("nonce") {
        Some(n) if n.chars().count() >= MIN_STATE_CHARS && n.len() <= MAX_PARAM_CHARS => n,
        _ => return fail("invalid_request", "nonce must be 22 to 1024 characters"),
    };
    let prompt = match params.get("prompt") {
        None | Some("select_account") => Prompt::SelectAccount,
        Some("login") => Prompt::Login,
        Some("none") => Prompt::None,
        Some(_) => {
            return fail(
                "invalid_request",
                "prompt must be select_account, login or none",
            );
        }
    };
    let acr = match parse_acr(params.get("acr_values"), agency) {
        Ok(acr) => acr,
        Err(description) => return fail("invalid_request", description),
    };
    let code_challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) if agency.keys.is_empty() => {
            return fail(
                "invalid_request",
                "this agency must send a PKCE code_challenge",
            );
        }
        (None, None) => None,
        (Some(c), Some("S256")) if is_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return fail(
                "invalid_request",
                "code_challenge must be 43 base64url characters",
            );
        }
        (_, _) => {
            return fail(
                "invalid_request",
                "code_challenge_method must be S256, with a code_challenge",
            );
        }
    };
    let locale = ui_locale(params).map(str::to_owned);
    Ok(AuthorizationRequest {
        client_id: agency.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: state.to_owned(),
        nonce: nonce.to_owned(),
        prompt,
        acr,
        code_challenge,
        locale,
    })
}

fn is_challenge(c: &str) -> bool {
    crate::random::is_token(c, 32)
}

/// OIDC-7 and MFA-7: the strongest identity and sign-in asked, never weaker than the
/// agency's default AAL. A verified identity only for agencies registered for IAL2, and
/// always with `aal/2` at least: a factor used in this sign-in ([`Acr::required_aal`]).
fn parse_acr(values: Option<&str>, agency: &Agency) -> Result<Acr, &'static str> {
    let mut ial = None;
    let mut aal = AalLevel::of(agency.default_aal.aal());
    let mut known = false;
    for value in values.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        let (i, a) = match value {
            ACR_AUTH_ONLY => (Some(Ial::AuthOnly), None),
            ACR_VERIFIED => (Some(Ial::Verified), None),
            ACR_FACIAL_MATCH => (Some(Ial::FacialMatch), None),
            ACR_AAL_DEFAULT => (None, Some(AalLevel::Default)),
            ACR_AAL2 => (None, Some(AalLevel::Aal2)),
            ACR_PHISHING_RESISTANT => (None, Some(AalLevel::PhishingResistant)),
            _ => continue,
        };
        known = true;
        if let Some(i) = i {
            ial = Some(ial.map_or(i, |old: Ial| old.max(i)));
        }
        if let Some(a) = a {
            aal = aal.max(a);
        }
    }
    if values.is_some() && !known {
        return Err("acr_values names no supported value");
    }
    let ial = ial.unwrap_or(Ial::AuthOnly);
    if ial > Ial::AuthOnly && agency.ial < 2 {
        return Err("this agency is not registered for verified identities");
    }
    Ok(Acr {
        ial,
        aal: Acr { ial, aal }.required_aal(),
    })
}

/// The language `ui_locales` asks for (OIDC Core 3.1.2.1, RP-Initiated Logout 1.0 §2):
/// the first tag whose primary subtag is one of the site's (`de fr-CA` → `fr`).
pub fn ui_locale(params: &Params) -> Option<&str> {
    params
        .get("ui_locales")?
        .split(' ')
        .map(|tag| tag.split('-').next().unwrap_or(tag))
        .find(|code| matches!(*code, "en" | "fr" | "es"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::agency::AalSetting;
    use crate::oidc::jose::Alg;

    fn agency() -> Agency {
        Agency {
            client_id: "urn:gov:demo".into(),
            name: "Demo".into(),
            agency_id: "demo".into(),
            ial: 1,
            default_aal: AalSetting::Default,
            keys: vec![],
            jwks_uri: None,
            redirect_uris: vec!["https://demo.gov/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec!["email".into()],
            pkce: true,
            id_token_alg: Alg::RS256,
            push_notification_url: None,
            failure_to_proof_url: None,
        }
    }

    fn params(extra: &[(&str, &str)]) -> Params {
        let mut base: Vec<(String, String)> = [
            ("client_id", "urn:gov:demo"),
            ("redirect_uri", "https://demo.gov/cb"),
            ("response_type", "code"),
            ("scope", "openid email social_security_number"),
            ("state", "abcdefghijklmnopqrstuvwxyz"),
            ("nonce", "0123456789012345678901"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            base.retain(|(bk, _)| bk != k);
            if !v.is_empty() {
                base.push((k.to_string(), v.to_string()));
            }
        }
        Params::new(base)
    }

    fn error_of(p: Params) -> AuthorizeError {
        validate(&p, Some(&agency())).unwrap_err()
    }

    #[test]
    fn a_good_request_keeps_only_allowed_scopes() {
        let r = validate(&params(&[("ui_locales", "de fr-CA")]), Some(&agency())).unwrap();
        assert_eq!(r.scopes, vec!["openid", "email"]);
        assert_eq!(r.locale.as_deref(), Some("fr"));
        assert_eq!(
            r.acr,
            Acr {
                ial: Ial::AuthOnly,
                aal: AalLevel::Default
            }
        );
    }

    #[test]
    fn untrusted_client_or_redirect_gets_a_page() {
        assert_eq!(
            validate(&params(&[]), None).unwrap_err(),
            AuthorizeError::Page(PageReason::UnknownClient)
        );
        assert_eq!(
            error_of(params(&[("redirect_uri", "https://demo.gov/cb/")])),
            AuthorizeError::Page(PageReason::BadRedirectUri)
        );
        assert_eq!(
            error_of(params(&[("client_id", "")])),
            AuthorizeError::Page(PageReason::MissingClient)
        );
    }

    fn redirect_error(p: Params) -> &'static str {
        match error_of(p) {
            AuthorizeError::Redirect(r) => r.error,
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[test]
    fn other_errors_go_back_to_the_agency() {
        assert_eq!(
            redirect_error(params(&[("state", "short")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(params(&[("nonce", "short")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(params(&[("response_type", "token")])),
            "unsupported_response_type"
        );
        assert_eq!(
            redirect_error(params(&[("scope", "email")])),
            "invalid_scope"
        );
        assert_eq!(
            redirect_error(params(&[("prompt", "consent")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(params(&[("acr_values", ACR_VERIFIED)])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(params(&[("acr_values", "urn:nothing")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(params(&[("code_challenge_method", "plain")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(params(&[("code_challenge", "")])),
            "invalid_request"
        );
        assert_eq!(
            redirect_error(params(&[("request", "x")])),
            "request_not_supported"
        );
    }

    #[test]
    fn the_strongest_acr_wins() {
        let r = validate(
            &params(&[(
                "acr_values",
                &format!("{ACR_AUTH_ONLY} {ACR_PHISHING_RESISTANT} {ACR_AAL2}"),
            )]),
            Some(&agency()),
        )
        .unwrap();
        assert_eq!(r.acr.aal, AalLevel::PhishingResistant);
    }

    #[test]
    fn a_verified_identity_always_needs_a_factor_of_this_sign_in() {
        let mut ial2 = agency();
        ial2.ial = 2;
        for (acr, aal) in [
            (ACR_VERIFIED.to_owned(), AalLevel::Aal2),
            (ACR_FACIAL_MATCH.to_owned(), AalLevel::Aal2),
            (format!("{ACR_VERIFIED} {ACR_AAL_DEFAULT}"), AalLevel::Aal2),
            (
                format!("{ACR_VERIFIED} {ACR_PHISHING_RESISTANT}"),
                AalLevel::PhishingResistant,
            ),
            (ACR_AUTH_ONLY.to_owned(), AalLevel::Default),
            (ACR_AAL2.to_owned(), AalLevel::Aal2),
        ] {
            let r = validate(&params(&[("acr_values", &acr)]), Some(&ial2)).unwrap();
            assert_eq!(r.acr.aal, aal, "{acr}");
            assert_eq!(r.acr.required_aal(), aal, "{acr}");
        }
        // A request kept from before the rule is raised when it is decided.
        let old = Acr {
            ial: Ial::Verified,
            aal: AalLevel::Default,
        };
        assert_eq!(old.required_aal(), AalLevel::Aal2);
    }

    #[test]
    fn error_locations_carry_state() {
        let e = ErrorRedirect {
            redirect_uri: "https://a.gov/cb?x=1".into(),
            error: "access_denied",
            description: "the person declined",
            state: Some("s t".into()),
        };
        assert_eq!(
            e.location(),
            "https://a.gov/cb?x=1&error=access_denied&error_description=the%20person%20declined&state=s%20t"
        );
    }
}
