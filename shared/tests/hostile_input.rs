//! Property tests for every parser of outside input: whatever arrives, each one answers
//! with a value or a defined refusal and never panics; normalising twice is normalising
//! once; what is sealed or signed opens or verifies unchanged, and never once altered.
//! Case counts are bounded (`CASES`) so the suite stays a few seconds in the test command;
//! failures proptest finds are kept in `shared/tests/regressions/hostile_input.txt`,
//! which proptest replays first on every run.

use axum::http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use passerelle::account::email::EmailAddress;
use passerelle::fingerprint::Fingerprints;
use passerelle::idv::callback::{self, CallbackSecrets};
use passerelle::idv::personal_key::PersonalKey;
use passerelle::idv::pii;
use passerelle::idv::uploads;
use passerelle::keys::SecretKey;
use passerelle::mfa::backup_codes;
use passerelle::mfa::phone::PhoneNumber;
use passerelle::oidc::agency::Agency;
use passerelle::oidc::claims::parse_scopes;
use passerelle::oidc::codes::{self, Grant};
use passerelle::oidc::jose::{Alg, Jws, SigningKey};
use passerelle::oidc::request::{self, AalLevel, Acr, Ial, Params};
use passerelle::session::SessionToken;
use passerelle::web::{cookies, locale};

const CASES: u32 = 256;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/regressions/hostile_input.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// Text as an attacker sends it: mostly printable, with separators, escapes, controls and
/// non-ASCII look-alikes mixed in.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        "[a-zA-Z0-9@.+%&=;,:/\\\\ \t\r\n\"'<>_-]{0,80}",
        "[\u{0400}-\u{04ff}\u{ff01}-\u{ff5e}\u{2215}\u{2044}a-z@.]{0,40}",
    ]
}

fn grant() -> impl Strategy<Value = Grant> {
    (
        "[a-z0-9]{1,20}",
        "[ -~]{1,40}",
        "[ -~]{0,40}",
        proptest::collection::vec("[a-z:]{1,12}", 0..4),
        0i64..4_000_000_000_000,
        proptest::option::of("[A-Za-z0-9_-]{43}"),
    )
        .prop_map(
            |(user, client, nonce, scopes, auth_time_ms, challenge)| Grant {
                user_id: user,
                client_id: client,
                agency_id: "agency".into(),
                redirect_uri: "https://agency.example/callback".into(),
                scopes,
                nonce,
                acr: Acr {
                    ial: Ial::AuthOnly,
                    aal: AalLevel::Default,
                },
                aal: AalLevel::Aal2,
                auth_time_ms,
                code_challenge: challenge,
                verified_at: None,
                claims: None,
                sealed_by_key_service: None,
            },
        )
}

fn agency() -> Agency {
    serde_json::from_value(serde_json::json!({
        "client_id": "urn:gov:demo",
        "name": "Demo",
        "agency_id": "demo",
        "redirect_uris": ["https://agency.example/callback"],
        "scopes": ["openid", "email"],
        "pkce": true,
    }))
    .expect("a valid registration")
}

/// Replaces the character at `at` (modulo the length) by another of the base64url
/// alphabet or a separator.
fn mutate(text: &str, at: usize, with: char) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return None;
    }
    let i = at % chars.len();
    if chars[i] == with {
        return None;
    }
    chars[i] = with;
    Some(chars.into_iter().collect())
}

fn alphabet() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        Just('-'),
        Just('_'),
        Just('.'),
    ]
}

proptest! {
    #![proptest_config(config())]

    // Email and phone normalisation

    #[test]
    fn an_email_address_parses_or_is_refused_and_normalising_twice_is_once(raw in hostile()) {
        if let Ok(address) = EmailAddress::parse(&raw) {
            let again = EmailAddress::parse(address.as_str());
            prop_assert!(again.is_ok(), "a normalised address must parse again");
            let again = again.unwrap();
            prop_assert_eq!(again.as_str(), address.as_str());
        }
    }

    #[test]
    fn a_phone_number_parses_or_is_refused_and_its_e164_form_parses_to_itself(
        raw in prop_oneof![hostile(), "[+0-9 ().-]{0,24}"],
        region in prop_oneof![Just("US".to_owned()), Just("FR".to_owned()), "[A-Za-z]{0,3}"],
    ) {
        if let Ok(number) = PhoneNumber::parse(&raw, &region) {
            let again = PhoneNumber::parse(number.as_str(), "US");
            prop_assert!(again.is_ok(), "an E.164 number must parse again");
            let again = again.unwrap();
            prop_assert_eq!(again.as_str(), number.as_str());
        }
    }

    // Codes people type

    #[test]
    fn a_backup_code_or_personal_key_normalises_to_a_fixed_point(raw in hostile()) {
        if let Some(code) = backup_codes::normalise(&raw) {
            let again = backup_codes::normalise(&code);
            prop_assert_eq!(again.as_deref().map(String::as_str), Some(code.as_str()));
        }
        if let Some(key) = PersonalKey::parse(&raw) {
            let shown = key.display();
            let again = PersonalKey::parse(&shown).map(|k| k.display());
            prop_assert_eq!(again.as_deref().map(String::as_str), Some(shown.as_str()));
        }
    }

    // What the verification pages read

    #[test]
    fn a_date_or_ssn_parses_or_is_refused(raw in prop_oneof![hostile(), "[0-9 -]{0,14}"]) {
        if let Some((y, m, d)) = pii::parse_date(&raw) {
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            let again = pii::parse_date(&format!("{y:04}-{m:02}-{d:02}"));
            prop_assert_eq!(again, Some((y, m, d)));
        }
        if let Some(ssn) = pii::normalise_ssn(&raw) {
            prop_assert_eq!(ssn.len(), 9);
            prop_assert_eq!(pii::normalise_ssn(&ssn), Some(ssn.clone()));
        }
    }

    #[test]
    fn an_upload_is_an_image_or_refused(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            proptest::collection::vec(any::<u8>(), 0..256)
                .prop_map(|tail| [&[0xFF, 0xD8, 0xFF][..], &tail].concat()),
            proptest::collection::vec(any::<u8>(), 0..256)
                .prop_map(|tail| [&b"\x89PNG\r\n\x1a\n"[..], &tail].concat()),
        ],
    ) {
        let _ = uploads::check_image(&bytes);
    }

    // Cookies, languages and query strings

    #[test]
    fn cookies_and_languages_parse_or_are_ignored(raw in hostile(), name in "[a-zA-Z_-]{1,12}") {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&raw) {
            headers.insert("cookie", value.clone());
            headers.insert("accept-language", value);
        }
        let _ = cookies::get(&headers, &name);
        let _ = cookies::get(&headers, &format!("__Host-{name}"));
        let _ = locale::from_accept_language(&raw);
        let _ = locale::negotiate(None, &headers);
        let _ = SessionToken::parse(&raw);
    }

    #[test]
    fn an_authorize_request_is_valid_or_refused_with_a_defined_error(
        query in prop_oneof![
            hostile(),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("client_id"), Just("redirect_uri"), Just("response_type"),
                        Just("scope"), Just("state"), Just("nonce"), Just("acr_values"),
                        Just("prompt"), Just("code_challenge"), Just("code_challenge_method"),
                        Just("ui_locales"), Just("max_age"), Just("request"),
                    ],
                    prop_oneof![
                        Just("urn:gov:demo".to_owned()),
                        Just("https://agency.example/callback".to_owned()),
                        Just("code".to_owned()),
                        Just("openid email".to_owned()),
                        Just("S256".to_owned()),
                        "[ -~]{0,60}",
                    ],
                ),
                0..12,
            )
            .prop_map(|pairs| {
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.replace('%', "%25").replace('&', "%26")))
                    .collect::<Vec<_>>()
                    .join("&")
            }),
        ],
    ) {
        let agency = agency();
        if let Some(params) = Params::from_query(Some(&query)) {
            let _ = request::validate(&params, Some(&agency));
            let _ = request::validate(&params, None);
            let _ = request::ui_locale(&params);
            if let Some(scope) = params.get("scope") {
                let scopes = parse_scopes(scope);
                let mut sorted = scopes.clone();
                sorted.sort();
                sorted.dedup();
                prop_assert_eq!(scopes, sorted);
            }
        }
    }

    #[test]
    fn an_agency_registration_file_is_read_and_checked_or_refused(raw in hostile()) {
        if let Ok(agency) = serde_json::from_str::<Agency>(&raw) {
            let _ = agency.validate();
        }
        let mut doc = serde_json::to_value(agency()).expect("an agency serialises");
        doc["name"] = serde_json::Value::String(raw.clone());
        doc["redirect_uris"] = serde_json::json!([raw]);
        if let Ok(agency) = serde_json::from_value::<Agency>(doc) {
            let _ = agency.validate();
        }
    }

    // Sealed and signed values

    #[test]
    fn a_sealed_code_opens_unchanged_and_never_once_altered(
        grant in grant(),
        root in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        now_ms in 1_000_000_000_000i64..4_000_000_000_000,
        at in any::<usize>(),
        with in alphabet(),
        garbage in hostile(),
    ) {
        let root = Fingerprints::from_key(SecretKey::from_bytes(root));
        let code = codes::seal(&root, &grant, now_ms, nonce);
        let opened = codes::open(&root, &code, now_ms + 1_000);
        prop_assert!(opened.is_ok());
        prop_assert_eq!(&opened.unwrap().grant, &grant);
        if let Some(altered) = mutate(&code, at, with) {
            prop_assert!(codes::open(&root, &altered, now_ms + 1_000).is_err());
        }
        prop_assert!(codes::open(&root, &garbage, now_ms).is_err());
    }

    #[test]
    fn a_signed_token_verifies_unchanged_and_never_once_altered(
        sub in "[ -~]{0,40}",
        at in any::<usize>(),
        with in alphabet(),
        garbage in hostile(),
    ) {
        let (key, _) = SigningKey::generate(Alg::ES256, "k1".into()).expect("a P-256 key");
        let jwks = [key.public_jwk()];
        let token = key
            .sign("JWT", &serde_json::json!({"sub": sub, "iss": "urn:gov:demo"}))
            .expect("it signs");
        let parsed = Jws::parse(&token);
        prop_assert!(parsed.as_ref().is_some_and(|jws| jws.verified_by(&jwks)));
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.str_claim("sub"), Some(sub.as_str()));
        if let Some(altered) = mutate(&token, at, with) {
            prop_assert!(!Jws::parse(&altered).is_some_and(|jws| jws.verified_by(&jwks)));
        }
        prop_assert!(!Jws::parse(&garbage).is_some_and(|jws| jws.verified_by(&jwks)));
    }

    #[test]
    fn a_vendor_callback_verifies_unchanged_and_never_once_altered(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        now in 1_700_000_000i64..2_000_000_000,
        flip in any::<usize>(),
        header in hostile(),
    ) {
        let secrets = CallbackSecrets::new(&["a-shared-secret-of-enough-length-0001"])
            .expect("a valid secret");
        let signature = secrets.sign(now, &body);
        prop_assert!(callback::verify(&secrets, Some(&signature), &body, now).is_ok());
        if !body.is_empty() {
            let mut altered = body.clone();
            let i = flip % altered.len();
            altered[i] ^= 0x01;
            prop_assert!(callback::verify(&secrets, Some(&signature), &altered, now).is_err());
        }
        prop_assert!(callback::verify(&secrets, Some(&signature), &body, now + 3_600).is_err());
        let _ = callback::verify(&secrets, Some(&header), &body, now);
    }
}
