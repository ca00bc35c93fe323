//! The capacity model's inputs, counted rather than guessed: each flow a person or an
//! agency runs, request by request, through the real router over ports that count
//! (`support::counting`): DynamoDB requests and request units, KMS calls, queue messages,
//! and the partitions every person shares. The figures are written in
//! `docs/capacity.md`; this test fails when the code and the document disagree
//! (`PASSERELLE_BLESS=1` rewrites the counted section).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use passerelle::clock::Clock;
use passerelle::oidc::jose::SigningKey;
use serde_json::{Value, json};
use support::counting::{Meter, Tally};
use support::*;
use tower::ServiceExt;

const CLIENT: &str = "urn:gov:test:benefits";
const REDIRECT: &str = "https://benefits.example.gov/callback";
const STATE: &str = "state-of-the-agency-0123456789";
const NONCE: &str = "nonce-of-the-agency-0123456789";
const DOC: &str = "docs/capacity.md";
const BEGIN: &str = "<!-- counted: begin (shared/tests/capacity.rs writes this section) -->";
const END: &str = "<!-- counted: end -->";

/// Which function API Gateway sends a path to (as `template.yaml` routes them).
fn function_of(path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or(path);
    if path == "/token" || path == "/userinfo" {
        "token"
    } else if path.starts_with("/authorize")
        || path.starts_with("/end-session")
        || path.starts_with("/.well-known")
        || path == "/jwks"
    {
        "oidc"
    } else {
        "site"
    }
}

/// One request of a flow and what it cost.
struct Step {
    function: &'static str,
    request: String,
    tally: Tally,
}

/// The steps of one flow, in order.
#[derive(Default)]
struct Flow {
    steps: Vec<Step>,
}

impl Flow {
    fn total(&self) -> Tally {
        let mut total = Tally::default();
        for s in &self.steps {
            for (op, n) in &s.tally.requests {
                *total.requests.entry(op).or_default() += n;
            }
            total.read_halves += s.tally.read_halves;
            total.write_units += s.tally.write_units;
            for (op, n) in &s.tally.kms {
                *total.kms.entry(op.clone()).or_default() += n;
            }
            total.queue_sends += s.tally.queue_sends;
            total.partitions.extend(s.tally.partitions.iter().cloned());
            total.written.extend(s.tally.written.iter().cloned());
        }
        total
    }

    fn invocations(&self) -> BTreeMap<&'static str, u32> {
        let mut by = BTreeMap::new();
        for s in &self.steps {
            *by.entry(s.function).or_default() += 1;
        }
        by
    }
}

/// A browser whose every request is a counted step.
struct Person<'a> {
    b: Browser<'a>,
    meter: Meter,
    flow: Flow,
}

impl<'a> Person<'a> {
    fn new(site: &'a Site, meter: &Meter, ip: &'static str) -> Self {
        let mut b = Browser::new(site);
        b.ip = ip;
        meter.take();
        Self {
            b,
            meter: meter.clone(),
            flow: Flow::default(),
        }
    }

    fn record(&mut self, method: &str, path: &str) {
        let request = format!("{method} {}", path.split('?').next().unwrap_or(path));
        self.flow.steps.push(Step {
            function: function_of(path),
            request,
            tally: self.meter.take(),
        });
    }

    async fn get(&mut self, path: &str) -> Answer {
        let a = self.b.get(path).await;
        self.record("GET", path);
        a
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let a = self.b.post(path, fields).await;
        self.record("POST", path);
        a
    }

    /// Follows redirects within Passerelle; returns the last answer (a page, or a
    /// redirect to the agency).
    async fn follow(&mut self, mut a: Answer) -> Answer {
        while a.status.is_redirection() && a.location().starts_with('/') {
            let to = a.location().to_owned();
            a = self.get(&to).await;
        }
        a
    }

    /// What the notify worker's delivery of the queued mail cost, as its own step.
    async fn deliver_mail(&mut self, to: &str) -> Vec<(String, String)> {
        let mail = self.b.site.mail_to(to).await;
        self.flow.steps.push(Step {
            function: "notify-worker",
            request: "SQS batch (the mail)".into(),
            tally: self.meter.take(),
        });
        mail
    }

    /// The agency's back channel: code exchange and userinfo.
    async fn exchange(&mut self, agency: &SigningKey, code: &str) {
        let site = self.b.site;
        let now = site.services.clock.now_ms() / 1000;
        let assertion = agency
            .sign(
                "JWT",
                &json!({
                    "iss": CLIENT, "sub": CLIENT, "aud": format!("{PUBLIC_URL}/token"),
                    "jti": passerelle::random::RandomExt::token(&passerelle::random::OsRandom, 16),
                    "exp": now + 60, "iat": now,
                }),
            )
            .unwrap();
        let form = serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ])
        .unwrap();
        let req = Request::builder()
            .method(Method::POST)
            .uri("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let response = site.router.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        self.record("POST", "/token");
        let req = Request::builder()
            .uri("/userinfo")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", body["access_token"].as_str().unwrap()),
            )
            .body(Body::empty())
            .unwrap();
        let response = site.router.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        self.record("GET", "/userinfo");
    }

    fn take_flow(&mut self) -> Flow {
        std::mem::take(&mut self.flow)
    }
}

fn authorize_path() -> String {
    format!(
        "/authorize?{}",
        serde_urlencoded::to_string([
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("state", STATE),
            ("nonce", NONCE),
        ])
        .unwrap()
    )
}

fn code_in(location: &str) -> String {
    assert!(
        location.starts_with(REDIRECT),
        "back to the agency: {location}"
    );
    let query = location.split_once('?').unwrap().1;
    let params: BTreeMap<String, String> = serde_urlencoded::from_str(query).unwrap();
    assert_eq!(params["state"], STATE);
    params["code"].clone()
}

async fn register(site: &Site) -> SigningKey {
    support::register_benefits_agency(site, CLIENT, REDIRECT).await
}

/// The flows of one person, each counted.
struct Flows {
    sign_up: Flow,
    first_agency_sign_in: Flow,
    returning_sign_in: Flow,
    signed_in_agency_visit: Flow,
}

/// Sign-up and the first agency sign-in on `home`; the returning sign-in and the visit on
/// `elsewhere`, another process that has not served this person (with many Lambda
/// instances, a returning person almost never meets the process that cached their keys).
async fn one_person(
    home: &Site,
    elsewhere: &Site,
    meter: &Meter,
    agency: &SigningKey,
    n: u32,
) -> Flows {
    let site = home;
    let email = format!("person{n}@example.com");
    let ip = ["198.51.100.7", "203.0.113.9", "192.0.2.44"][n as usize];

    // Sign-up: the address, its confirmation, the password, an authentication app.
    let mut p = Person::new(site, meter, ip);
    p.get("/sign-up").await;
    let sent = p
        .post("/sign-up", &[("email", &email), ("accept_rules", "yes")])
        .await;
    assert_eq!(sent.status, StatusCode::OK);
    p.deliver_mail(&email).await;
    let link = site.link_in_mail(&email, "/sign-up/confirm").await;
    meter.take();
    p.get(&link).await;
    let token = link.split("t=").nth(1).unwrap().to_owned();
    let set = p
        .post("/sign-up/confirm", &[("t", &token), ("password", GOOD)])
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    let setup = p.get("/mfa/totp").await;
    let secret = base32_decode(between(&setup.body, "id=\"totp-secret\">", "<").unwrap());
    let enrollment = between(&setup.body, "name=\"enrollment\" value=\"", "\"")
        .unwrap()
        .to_owned();
    let code = site.totp(&secret);
    let added = p
        .post(
            "/mfa/totp",
            &[
                ("enrollment", &enrollment),
                ("name", "Phone"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    site.advance(30);
    let sign_up = p.take_flow();

    // An agency's first sign-in: password, app code, consent, code exchange, userinfo.
    let mut p = Person::new(site, meter, ip);
    let first = sign_in_from_agency(&mut p, &email, &secret).await;
    assert!(first.body.contains("Benefits Portal"), "the consent page");
    let allowed = p.post("/authorize/consent", &[("decision", "allow")]).await;
    p.exchange(agency, &code_in(allowed.location())).await;
    let first_agency_sign_in = p.take_flow();

    // The same agency another day, in a new browser: consent is remembered.
    let mut p = Person::new(elsewhere, meter, ip);
    let back = sign_in_from_agency(&mut p, &email, &secret).await;
    p.exchange(agency, &code_in(back.location())).await;
    let returning_sign_in = p.take_flow();

    // The agency again while signed in: no password, no code, straight back.
    let again = p.get(&authorize_path()).await;
    let again = p.follow(again).await;
    p.exchange(agency, &code_in(again.location())).await;
    let signed_in_agency_visit = p.take_flow();

    Flows {
        sign_up,
        first_agency_sign_in,
        returning_sign_in,
        signed_in_agency_visit,
    }
}

/// From the agency's button through password and app code; returns the answer after the
/// factor (the consent page, or the redirect to the agency with a code).
async fn sign_in_from_agency(p: &mut Person<'_>, email: &str, secret: &[u8]) -> Answer {
    let start = p.get(&authorize_path()).await;
    let page = p.follow(start).await;
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    let step = p
        .post("/sign-in", &[("email", email), ("password", GOOD)])
        .await;
    let factor = p.follow(step).await;
    assert!(factor.body.contains("name=\"code\""), "{}", factor.body);
    let code = p.b.site.totp(secret);
    let return_to = between(&factor.body, "name=\"return_to\" value=\"", "\"")
        .unwrap_or("")
        .to_owned();
    let done = p
        .post(
            "/sign-in/totp",
            &[("code", &code), ("return_to", &return_to)],
        )
        .await;
    p.b.site.advance(30);
    p.follow(done).await
}

fn ops(t: &Tally) -> String {
    if t.requests.is_empty() {
        return "–".into();
    }
    t.requests
        .iter()
        .map(|(op, n)| format!("{n} {op}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kms(t: &Tally) -> String {
    if t.kms.is_empty() {
        return "–".into();
    }
    t.kms
        .iter()
        .map(|(op, n)| format!("{n} {op}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn units(t: &Tally) -> String {
    format!("{} / {}", t.read_units(), t.write_units)
}

/// Partition keys with their per-person parts (ids, addresses, hashes) generalised, so
/// the table names kinds of partitions, not people.
fn shape(pk: &str) -> String {
    pk.split('#')
        .map(|part| {
            let opaque = part.len() >= 16
                || part.contains('@')
                || part.chars().any(|c| c.is_ascii_digit()) && part.len() > 6;
            if opaque { "…" } else { part }
        })
        .collect::<Vec<_>>()
        .join("#")
}

/// What one account leaves stored: items without an expiry, their bytes, and how many of
/// them are also copied into a secondary index.
struct Stored {
    items: usize,
    bytes: usize,
    indexed: usize,
}

async fn stored(site: &Site, meter: &Meter, written: &BTreeSet<passerelle::store::Key>) -> Stored {
    let mut out = Stored {
        items: 0,
        bytes: 0,
        indexed: 0,
    };
    for key in written {
        let Some(item) = site.services.store.get(key).await.unwrap() else {
            continue;
        };
        if item.expires_at.is_some() {
            continue;
        }
        out.items += 1;
        out.bytes += support::counting::item_bytes(&item);
        if item.str(passerelle::store::GSI1_PK).is_some()
            || item.str(passerelle::store::GSI2_PK).is_some()
        {
            out.indexed += 1;
        }
    }
    meter.take();
    out
}

fn render(
    flows: &[(&str, &Flow)],
    cold: &[(&str, Tally)],
    shared: &BTreeSet<String>,
    kept: &Stored,
) -> String {
    let mut out = String::new();
    writeln!(out, "{BEGIN}").unwrap();
    writeln!(out).unwrap();
    writeln!(out, "#### Per flow (a warm process)").unwrap();
    writeln!(out).unwrap();
    writeln!(
        out,
        "| Flow | Lambda invocations | DynamoDB requests | Read / write units | KMS requests | SQS messages |"
    )
    .unwrap();
    writeln!(out, "| --- | --- | --- | --- | --- | --- |").unwrap();
    for (name, flow) in flows {
        let t = flow.total();
        let inv = flow
            .invocations()
            .iter()
            .map(|(f, n)| format!("{n} {f}"))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            out,
            "| {name} | {inv} | {} ({}) | {} | {} ({}) | {} |",
            t.dynamo_requests(),
            ops(&t),
            units(&t),
            t.kms_requests(),
            kms(&t),
            t.queue_sends
        )
        .unwrap();
    }
    for (name, flow) in flows {
        writeln!(out).unwrap();
        writeln!(out, "#### {name}, request by request").unwrap();
        writeln!(out).unwrap();
        writeln!(
            out,
            "| Function | Request | DynamoDB requests | Read / write units | KMS | SQS |"
        )
        .unwrap();
        writeln!(out, "| --- | --- | --- | --- | --- | --- |").unwrap();
        for s in &flow.steps {
            writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                s.function,
                s.request,
                ops(&s.tally),
                units(&s.tally),
                kms(&s.tally),
                s.tally.queue_sends
            )
            .unwrap();
        }
    }
    writeln!(out).unwrap();
    writeln!(
        out,
        "#### What a cold process adds (the first person it serves)"
    )
    .unwrap();
    writeln!(out).unwrap();
    writeln!(out, "| Flow | DynamoDB requests | KMS requests |").unwrap();
    writeln!(out, "| --- | --- | --- |").unwrap();
    for (name, extra) in cold {
        writeln!(
            out,
            "| {name} | {} ({}) | {} ({}) |",
            extra.dynamo_requests(),
            ops(extra),
            extra.kms_requests(),
            kms(extra)
        )
        .unwrap();
    }
    writeln!(out).unwrap();
    writeln!(out, "#### What an account keeps stored").unwrap();
    writeln!(out).unwrap();
    writeln!(
        out,
        "After the flows above: {} items without an expiry, {} bytes, {} of them also in a \
         secondary index.",
        kept.items, kept.bytes, kept.indexed
    )
    .unwrap();
    writeln!(out).unwrap();
    writeln!(out, "#### Partitions every person's flows touch").unwrap();
    writeln!(out).unwrap();
    for pk in shared {
        writeln!(out, "- `{}`", shape(pk)).unwrap();
    }
    writeln!(out).unwrap();
    write!(out, "{END}").unwrap();
    out
}

/// `a - b`, operation by operation (what the cold run did beyond the warm one).
fn extra(a: &Tally, b: &Tally) -> Tally {
    let mut out = Tally::default();
    for (op, n) in &a.requests {
        let d = n.saturating_sub(b.requests.get(op).copied().unwrap_or(0));
        if d > 0 {
            out.requests.insert(op, d);
        }
    }
    for (op, n) in &a.kms {
        let d = n.saturating_sub(b.kms.get(op).copied().unwrap_or(0));
        if d > 0 {
            out.kms.insert(op.clone(), d);
        }
    }
    out
}

#[tokio::test]
async fn the_capacity_model_counts_match_the_code() {
    // Given a site over counting ports, with an agency registered and a first person
    // through every flow (the first run ever makes the signing keys),
    let (site, meter) = site_counted_at(passerelle::clock::SystemClock.now_ms());
    let agency = register(&site).await;
    let other = site.restarted();
    one_person(&site, &other, &meter, &agency, 0).await;

    // when a second person goes through the flows in those two warm processes, and a
    // third in two new ones (every in-process cache empty): each signs up, signs in at
    // the agency for the first time, comes back, and visits while signed in,
    let warm = one_person(&site, &other, &meter, &agency, 1).await;
    let cold = one_person(&site.restarted(), &site.restarted(), &meter, &agency, 2).await;

    // then every flow ends where it should (asserted on the way), and the counts are
    // those the capacity document states.
    fn named(f: &Flows) -> [(&'static str, &Flow); 4] {
        [
            ("Sign-up (email, password, app)", &f.sign_up),
            (
                "First sign-in at an agency (consent)",
                &f.first_agency_sign_in,
            ),
            ("Returning sign-in at an agency", &f.returning_sign_in),
            ("Agency visit while signed in", &f.signed_in_agency_visit),
        ]
    }
    let warm_flows = named(&warm);
    let cold_extra: Vec<(&str, Tally)> = named(&cold)
        .iter()
        .zip(warm_flows.iter())
        .map(|((name, c), (_, w))| (*name, extra(&c.total(), &w.total())))
        .collect();
    let touched = |f: &Flows| -> BTreeSet<String> {
        named(f)
            .iter()
            .flat_map(|(_, flow)| flow.total().partitions)
            .collect()
    };
    let shared: BTreeSet<String> = touched(&cold)
        .intersection(&touched(&warm))
        .cloned()
        .collect();
    let written: BTreeSet<passerelle::store::Key> = named(&warm)
        .iter()
        .flat_map(|(_, flow)| flow.total().written)
        .collect();
    let kept = stored(&site, &meter, &written).await;
    let counted = render(&warm_flows, &cold_extra, &shared, &kept);

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(DOC);
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let section = doc
        .find(BEGIN)
        .and_then(|i| doc[i..].find(END).map(|j| (i, i + j + END.len())));
    if std::env::var_os("PASSERELLE_BLESS").is_some() {
        let updated = match section {
            Some((i, j)) => format!("{}{counted}{}", &doc[..i], &doc[j..]),
            None => format!("{doc}\n{counted}\n"),
        };
        std::fs::write(&path, updated).unwrap();
        return;
    }
    let (i, j) = section.unwrap_or_else(|| panic!("{DOC} has no counted section:\n{counted}"));
    assert!(
        doc[i..j] == counted,
        "{DOC} no longer matches what the flows cost; review the change and rewrite it with \
         PASSERELLE_BLESS=1 cargo test -p passerelle --test capacity\n\nnow counted:\n{counted}"
    );
}

/// The purposes a function's Cargo.toml lets it open or seal (`kms-decrypt-purposes`,
/// `kms-generate-purposes`), which its policy in `template.yaml` grants (checked by
/// `infra/template-check`).
fn declared_purposes(function: &str, list: &str) -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../functions")
        .join(function)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(&format!("{list} = ["))
        .unwrap_or_else(|| panic!("{} declares no {list}", path.display()));
    let body = &text[start..];
    let body = &body[body.find('[').unwrap() + 1..body.find(']').unwrap()];
    body.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .flat_map(|l| l.split(','))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

#[tokio::test]
async fn every_key_a_flow_uses_is_granted_to_the_function_that_uses_it() {
    // Given two new processes (every data key uncached, so each use is a KMS call),
    let (site, meter) = site_counted_at(passerelle::clock::SystemClock.now_ms());
    let agency = register(&site).await;
    let elsewhere = site.restarted();

    // when a person signs up, signs in at the agency, comes back and visits,
    let flows = one_person(&site, &elsewhere, &meter, &agency, 0).await;

    // then every purpose each request opened or sealed is one its function declares, so
    // the deployed policy (conditioned on the purpose) allows it. A key another request
    // of the same process cached is not seen again: this can miss a use, never invent one.
    let mut refused = Vec::new();
    for flow in [
        &flows.sign_up,
        &flows.first_agency_sign_in,
        &flows.returning_sign_in,
        &flows.signed_in_agency_visit,
    ] {
        for step in &flow.steps {
            for label in step.tally.kms.keys() {
                let (op, purpose) = label.split_once(' ').unwrap();
                // MACs carry no encryption context: the grant is of the action itself.
                if op == "GenerateMac" {
                    if !declared_purposes(step.function, "aws-actions").contains("kms:GenerateMac")
                    {
                        refused.push(format!(
                            "{} `{}`: GenerateMac for {purpose} (functions/{}/Cargo.toml \
                             does not declare kms:GenerateMac)",
                            step.function, step.request, step.function
                        ));
                    }
                    continue;
                }
                let list = if op == "Decrypt" {
                    "kms-decrypt-purposes"
                } else {
                    "kms-generate-purposes"
                };
                if !declared_purposes(step.function, list).contains(purpose) {
                    refused.push(format!(
                        "{} `{}`: {op} for {purpose} (not in functions/{}/Cargo.toml {list})",
                        step.function, step.request, step.function
                    ));
                }
            }
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}
