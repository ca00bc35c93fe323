//! The operator's agency commands (OIDC-9) as an operator types them: registration from
//! flags with PEM certificates, public keys or a JWKS URL, from a JSON file; updates,
//! listing, removal; and each bad input refused with a message that says what to fix.

use std::collections::HashMap;
use std::sync::Arc;

use passerelle::clock::{Clock, ManualClock};
use passerelle::oidc::Agencies;
use passerelle::sqlite::Db;
use passerelle::store::embedded::EmbeddedStore;
use passerelle_local::admin::agency::{Io, run};

/// 2026-11-23.
const NOW_SECS: i64 = 1_795_392_000;

struct FakeIo {
    files: HashMap<String, String>,
    urls: HashMap<String, String>,
    now_secs: i64,
}

impl FakeIo {
    fn new() -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let mut files = HashMap::new();
        for name in [
            "agency-cert.pem",
            "agency-rsa-pub.pem",
            "agency-ec.pem",
            "p384.pem",
            "rsa1024.pem",
        ] {
            files.insert(
                name.to_owned(),
                std::fs::read_to_string(format!("{dir}/{name}")).unwrap(),
            );
        }
        Self {
            files,
            urls: HashMap::new(),
            now_secs: NOW_SECS,
        }
    }
}

impl Io for FakeIo {
    fn read(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| format!("{path}: No such file or directory"))
    }

    async fn fetch_jwks(&self, url: &str) -> Result<String, String> {
        self.urls
            .get(url)
            .cloned()
            .ok_or_else(|| format!("{url} could not be read: connection refused"))
    }

    fn now_secs(&self) -> i64 {
        self.now_secs
    }
}

fn registry() -> (Agencies, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_ms(NOW_SECS * 1000));
    let store = EmbeddedStore::new(Db::in_dir(dir.path()).unwrap(), Arc::clone(&clock));
    (Agencies::new(Arc::new(store), clock), dir)
}

fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

const ADD: &str = "add --client-id urn:gov:benefits --name Benefits --agency-id benefits \
                   --redirect-uri https://benefits.example.gov/callback --scope email,locale";

#[tokio::test]
async fn given_a_pem_certificate_when_an_agency_is_added_then_it_is_listed_with_its_key() {
    let (agencies, _dir) = registry();
    let io = FakeIo::new();
    let out = run(
        &args(&format!("{ADD} --key agency-cert.pem")),
        &agencies,
        &io,
    )
    .await;
    assert_eq!(out.as_deref(), Ok("agency urn:gov:benefits registered"));

    let agency = agencies.get("urn:gov:benefits").await.unwrap().unwrap();
    assert_eq!(agency.keys.len(), 1);
    let key = &agency.keys[0];
    assert_eq!(
        (key.kty.as_str(), key.alg.as_deref(), key.kid.as_deref()),
        ("RSA", Some("RS256"), Some("agency-cert"))
    );
    assert_eq!(agency.scopes, ["email", "locale"]);

    // The same key as a bare public key gives the same JWK.
    let (other, _dir2) = registry();
    run(
        &args(&format!("{ADD} --key agency-rsa-pub.pem")),
        &other,
        &io,
    )
    .await
    .unwrap();
    let same = &other.get("urn:gov:benefits").await.unwrap().unwrap().keys[0];
    assert_eq!((&same.n, &same.e), (&key.n, &key.e));

    let listed = run(&args("list"), &agencies, &io).await.unwrap();
    assert!(listed.starts_with("urn:gov:benefits\tBenefits\tagency benefits\tIAL1\t1 key(s)"));
}

#[tokio::test]
async fn given_a_registered_client_id_when_it_is_added_again_then_it_is_refused_and_kept() {
    let (agencies, _dir) = registry();
    let io = FakeIo::new();
    run(&args(&format!("{ADD} --key agency-ec.pem")), &agencies, &io)
        .await
        .unwrap();
    let again = run(
        &args(&format!("{ADD} --key agency-cert.pem")),
        &agencies,
        &io,
    )
    .await;
    let error = again.unwrap_err();
    assert!(
        error.contains("already registered: use `agency update`"),
        "{error}"
    );
    let kept = agencies.get("urn:gov:benefits").await.unwrap().unwrap();
    assert_eq!(
        kept.keys[0].kty, "EC",
        "the first registration is untouched"
    );
}

#[tokio::test]
async fn given_bad_keys_and_uris_when_an_agency_is_added_then_each_is_refused_clearly() {
    let (agencies, _dir) = registry();
    let io = FakeIo::new();
    let cases = [
        (format!("{ADD} --key rsa1024.pem"), "2048 bits or more"),
        (format!("{ADD} --key p384.pem"), "only P-256"),
        (format!("{ADD} --key missing.pem"), "missing.pem: No such file"),
        (
            "add --client-id urn:gov:x --name X --agency-id x --redirect-uri http://x.example.gov/cb --pkce true".into(),
            "http only on localhost",
        ),
        (
            "add --client-id urn:gov:x --name X --agency-id x --redirect-uri https://x.example.gov/cb".into(),
            "needs keys (private_key_jwt) or pkce = true",
        ),
        (format!("{ADD} --key agency-cert.pem --ial 3"), "--ial is 1"),
        (format!("{ADD} --pkce true --scope social_security_number"), "need ial = 2"),
        (format!("{ADD} --key agency-cert.pem --colour blue"), "unknown option --colour"),
        (format!("{ADD} --jwks-url https://benefits.example.gov/jwks"), "could not be read"),
    ];
    for (line, expected) in cases {
        let error = run(&args(&line), &agencies, &io).await.unwrap_err();
        assert!(error.contains(expected), "{line}: {error}");
    }
    assert!(
        agencies.list().await.unwrap().is_empty(),
        "nothing was stored"
    );

    // An expired certificate: the same file, a century later.
    let mut later = FakeIo::new();
    later.now_secs = NOW_SECS + 200 * 365 * 86_400;
    let error = run(
        &args(&format!("{ADD} --key agency-cert.pem")),
        &agencies,
        &later,
    )
    .await
    .unwrap_err();
    assert!(error.contains("the certificate has expired"), "{error}");
}

#[tokio::test]
async fn given_a_private_key_file_when_it_is_given_as_a_key_then_it_is_refused() {
    let (agencies, _dir) = registry();
    let mut io = FakeIo::new();
    io.files.insert(
        "mine.pem".into(),
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n".into(),
    );
    let error = run(&args(&format!("{ADD} --key mine.pem")), &agencies, &io)
        .await
        .unwrap_err();
    assert!(error.contains("this is a private key"), "{error}");
}

#[tokio::test]
async fn given_a_jwks_url_when_the_agency_rotates_then_refresh_keys_reads_the_new_set() {
    let (agencies, _dir) = registry();
    let mut io = FakeIo::new();
    let url = "https://benefits.example.gov/jwks";
    let (first, _) = passerelle::oidc::jose::SigningKey::generate(
        passerelle::oidc::jose::Alg::ES256,
        "k1".into(),
    )
    .unwrap();
    let set = |keys: Vec<serde_json::Value>| serde_json::json!({ "keys": keys }).to_string();
    let encryption_key = serde_json::json!({"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"});
    io.urls.insert(
        url.into(),
        set(vec![
            serde_json::to_value(first.public_jwk()).unwrap(),
            encryption_key,
        ]),
    );
    run(&args(&format!("{ADD} --jwks-url {url}")), &agencies, &io)
        .await
        .unwrap();
    let keys = agencies
        .get("urn:gov:benefits")
        .await
        .unwrap()
        .unwrap()
        .keys;
    assert_eq!(
        keys,
        vec![first.public_jwk()],
        "only the signing key is kept"
    );

    let (second, _) = passerelle::oidc::jose::SigningKey::generate(
        passerelle::oidc::jose::Alg::RS256,
        "k2".into(),
    )
    .unwrap();
    io.urls.insert(
        url.into(),
        set(vec![serde_json::to_value(second.public_jwk()).unwrap()]),
    );
    let out = run(&args("refresh-keys urn:gov:benefits"), &agencies, &io)
        .await
        .unwrap();
    assert!(out.contains("1 key(s) read from"), "{out}");
    // The registry's per-process cache was dropped by the update.
    let keys = agencies
        .get("urn:gov:benefits")
        .await
        .unwrap()
        .unwrap()
        .keys;
    assert_eq!(keys, vec![second.public_jwk()]);
}

#[tokio::test]
async fn given_an_agency_when_it_is_updated_shown_and_removed_then_each_step_shows() {
    let (agencies, _dir) = registry();
    let io = FakeIo::new();
    run(
        &args(&format!("{ADD} --key agency-cert.pem")),
        &agencies,
        &io,
    )
    .await
    .unwrap();
    let out = run(
        &args(
            "update urn:gov:benefits --redirect-uri https://benefits.example.gov/a \
             --redirect-uri https://benefits.example.gov/b --aal phishing_resistant",
        ),
        &agencies,
        &io,
    )
    .await;
    assert_eq!(out.as_deref(), Ok("agency urn:gov:benefits updated"));
    let agency = agencies.get("urn:gov:benefits").await.unwrap().unwrap();
    assert_eq!(
        agency.redirect_uris,
        [
            "https://benefits.example.gov/a",
            "https://benefits.example.gov/b"
        ],
        "the list given replaces the old one"
    );
    assert_eq!(agency.keys.len(), 1, "fields not given are kept");

    let shown = run(&args("show urn:gov:benefits"), &agencies, &io)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(json["default_aal"], "phishing_resistant");

    let error = run(&args("update urn:gov:nobody --name X"), &agencies, &io)
        .await
        .unwrap_err();
    assert!(error.contains("no agency urn:gov:nobody"), "{error}");

    assert_eq!(
        run(&args("remove urn:gov:benefits"), &agencies, &io)
            .await
            .as_deref(),
        Ok("agency urn:gov:benefits removed")
    );
    assert!(
        run(&args("remove urn:gov:benefits"), &agencies, &io)
            .await
            .is_err()
    );
    assert_eq!(
        run(&args("list"), &agencies, &io).await.as_deref(),
        Ok("no agency registered")
    );
}
