//! Issue 6's "done when", over real HTTP on the local stack as `cargo run` serves it: the
//! demo agency asks for a verified identity, a newcomer signs up, goes through the whole
//! verification with the mock vendors (document by signed callback, identity, phone),
//! seals it with their password, consents, and the demo agency shows the verified claims
//! it read from userinfo. Then every byte the stack persisted (the database, its WAL, the
//! queue and outbox tables inside it, the key files) and every log line written during the
//! journey is searched for the person's details in their common encodings: none is found.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use passerelle::idv::pii::{Address, Pii};
use reqwest::StatusCode;
use support::{PASSWORD, Page, Person, Stack, between, sign_up_with_app};

/// Distinctive details, so a hit cannot be a coincidence.
fn person() -> Pii {
    Pii {
        given_name: "Xanthippa".into(),
        family_name: "Quillfeather".into(),
        birthdate: "1971-04-13".into(),
        address: Address {
            line1: "8123 Zephyrine Crescent".into(),
            line2: String::new(),
            city: "Arlington".into(),
            state: "VA".into(),
            zip: "22201".into(),
        },
        id_number: "Q7741290".into(),
        id_state: "VA".into(),
        ssn: String::new(),
        phone: String::new(),
        verified_ms: 0,
    }
}

const SSN: &str = "900-47-1129";

/// What must never be found at rest or in the logs.
fn secrets() -> Vec<&'static str> {
    vec![
        "Xanthippa",
        "Quillfeather",
        "1971-04-13",
        "Zephyrine",
        "Q7741290",
        "900471129",
        "900-47-1129",
    ]
}

/// A value's common encodings: as is, lower and upper case, hex, and base64 (standard
/// and URL-safe) at each of the three alignments inside a longer encoded text.
fn encodings(value: &str) -> Vec<Vec<u8>> {
    let mut out = vec![
        value.as_bytes().to_vec(),
        value.to_lowercase().into_bytes(),
        value.to_uppercase().into_bytes(),
        value
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes(),
    ];
    for pad in 0..3 {
        let mut bytes = vec![b'\0'; pad];
        bytes.extend_from_slice(value.as_bytes());
        for text in [STANDARD.encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes)] {
            // Drop the characters that also depend on the neighbouring bytes.
            let skip = if pad == 0 { 0 } else { (pad * 4).div_ceil(3) };
            let core = &text[skip..text.len().saturating_sub(4)];
            if core.len() >= 8 {
                out.push(core.as_bytes().to_vec());
            }
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Log lines the stack writes during the test, kept in memory to be searched.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A multipart body with the CSRF field first, then each image.
fn multipart(csrf: &str, images: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "passerelle-test-boundary-7f3a9c";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n"
        )
        .as_bytes(),
    );
    for (name, data) in images {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.img\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Polls the checks' status (as `verify_poll.js` does) until they are done, then opens
/// the waiting page, which sends on.
async fn wait_for(person: &mut Person, page: &str) -> Page {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = person.get("/verify/status").await;
        if status.body.contains("\"done\":true") {
            return person.get(page).await;
        }
        assert!(
            Instant::now() < deadline,
            "{page} finishes: {}",
            status.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_newcomer_verifies_through_the_demo_agency_and_nothing_readable_stays_behind() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    // Given the local stack with the demo agency and the mock vendors,
    let stack = Stack::start().await;
    let base = stack.base.clone();
    let mut p = stack.person();

    // when a newcomer asks the demo agency to sign in with a verified identity,
    let start = p.get("/demo/start?level=verified").await;
    assert!(
        start.location.contains("urn%3Aacr.login.gov%3Averified"),
        "{}",
        start.location
    );
    p.open(&start.location).await;
    let (_, added) = sign_up_with_app(&stack, &mut p, "verified@example.com").await;
    assert_eq!(added.location, "/authorize/resume");

    // Passerelle explains that the agency needs a verified identity and leads to it,
    let needs = p.get("/authorize/resume").await;
    assert_eq!(needs.status, StatusCode::OK, "{}", needs.body);
    assert!(
        needs.body.contains("Demo Agency needs to know who you are"),
        "{}",
        needs.body
    );
    let to_verify = between(&needs.body, "href=\"/verify", "\"").to_owned();
    let intro = p
        .get(&format!("/verify{}", to_verify.replace("&amp;", "&")))
        .await;
    assert_eq!(intro.status, StatusCode::OK, "{}", intro.body);
    let agreed = p.post("/verify", &[("consent", "yes")]).await;
    assert_eq!(agreed.location, "/verify/document", "{}", agreed.body);

    // the ID is photographed, checked by the document vendor (answering by callback),
    let pii = person();
    p.get("/verify/document").await;
    let (content_type, body) = multipart(
        &p.csrf.clone(),
        &[
            ("front", &passerelle_local::vendors::sample_front()),
            ("back", &passerelle_local::vendors::sample_back(&pii)),
        ],
    );
    let req = p
        .http
        .post(p.url("/verify/document"))
        .header("origin", &base)
        .header("content-type", content_type)
        .body(body);
    let sent = p.send(req).await;
    assert_eq!(sent.location, "/verify/document/wait", "{}", sent.body);
    let after_document = wait_for(&mut p, "/verify/document/wait").await;
    assert_eq!(
        after_document.location, "/verify/ssn",
        "{}",
        after_document.body
    );

    // the SSN and the reviewed details pass identity resolution,
    p.get("/verify/ssn").await;
    let entered = p.post("/verify/ssn", &[("ssn", SSN)]).await;
    assert_eq!(entered.location, "/verify/review", "{}", entered.body);
    let review = p.get("/verify/review").await;
    // (read from the document, shown but not editable: only the address is a field)
    assert!(review.body.contains("Xanthippa"), "the ID's data is shown");
    assert!(
        !review.body.contains("name=\"given_name\""),
        "the document's name is not a field"
    );
    let a = &pii.address;
    let reviewed = p
        .post(
            "/verify/review",
            &[
                ("line1", a.line1.as_str()),
                ("line2", a.line2.as_str()),
                ("city", a.city.as_str()),
                ("state", a.state.as_str()),
                ("zip", a.zip.as_str()),
            ],
        )
        .await;
    assert_eq!(reviewed.location, "/verify/checks", "{}", reviewed.body);
    let after_checks = wait_for(&mut p, "/verify/checks").await;
    assert_eq!(
        after_checks.location, "/verify/address",
        "{}",
        after_checks.body
    );

    // the phone confirms the address, the password seals it all, the key is acknowledged,
    p.get("/verify/address").await;
    let by_phone = p
        .post(
            "/verify/address",
            &[("method", "phone"), ("phone", "703-555-0142")],
        )
        .await;
    assert_eq!(
        by_phone.location, "/verify/address/wait",
        "{}",
        by_phone.body
    );
    let after_phone = wait_for(&mut p, "/verify/address/wait").await;
    assert_eq!(
        after_phone.location, "/verify/password",
        "{}",
        after_phone.body
    );
    p.get("/verify/password").await;
    let sealed = p.post("/verify/password", &[("password", PASSWORD)]).await;
    assert_eq!(sealed.location, "/verify/personal-key", "{}", sealed.body);
    let key_page = p.get("/verify/personal-key").await;
    let key = between(&key_page.body, "id=\"personal-key\">", "<").to_owned();
    assert_eq!(key.len(), 19, "{key}");
    let done = p
        .post("/verify/personal-key", &[("acknowledged", "yes")])
        .await;
    assert_eq!(
        done.location, "/authorize/resume",
        "back to the agency: {}",
        done.body
    );

    // then the consent page names the verified attributes,
    let consent = p.open(&done.location).await;
    assert!(
        consent
            .body
            .contains("Demo Agency asks for your information"),
        "{}",
        consent.body
    );
    let allowed = p.post("/authorize/consent", &[("decision", "allow")]).await;
    assert!(
        allowed
            .location
            .starts_with(&format!("{base}/demo/callback?code=")),
        "{}",
        allowed.location
    );

    // and the demo agency shows the verified claims it read from userinfo.
    let claims = p.get(&allowed.location).await;
    assert_eq!(claims.status, StatusCode::OK, "{}", claims.body);
    for shown in [
        "Xanthippa",
        "Quillfeather",
        "1971-04-13",
        "8123 Zephyrine Crescent",
        "900-47-1129",
        "+17035550142",
        "urn:acr.login.gov:verified",
    ] {
        assert!(claims.body.contains(shown), "{shown} in {}", claims.body);
    }
    assert!(
        !claims.body.contains("Q7741290"),
        "the ID number is never released"
    );

    // Nothing the stack keeps, and nothing it logged, holds those details readably.
    stack
        .services
        .local
        .as_ref()
        .unwrap()
        .store
        .purge_expired()
        .await
        .unwrap();
    let mut persisted: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(stack.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            persisted.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    assert!(
        persisted.iter().any(|(name, _)| name.ends_with("-wal")),
        "the WAL is among the files searched: {:?}",
        persisted.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let logged = logs.0.lock().unwrap().clone();
    assert!(!logged.is_empty(), "the stack logged during the journey");
    persisted.push(("the logs".into(), logged));
    let mut hits = Vec::new();
    for value in secrets() {
        for encoded in encodings(value) {
            for (name, bytes) in &persisted {
                if find(bytes, &encoded) {
                    hits.push(format!(
                        "{value} as {:?} in {name}",
                        String::from_utf8_lossy(&encoded)
                    ));
                }
            }
        }
    }
    assert_eq!(
        hits,
        Vec::<String>::new(),
        "plaintext PII at rest or in logs"
    );

    // (The search itself works: the person's email, which the outbox must hold, is found.)
    let all: Vec<u8> = persisted.iter().flat_map(|(_, b)| b.clone()).collect();
    assert!(find(&all, b"verified@example.com"));

    stack.stop().await;
}
