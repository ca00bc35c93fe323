//! What the people under load do, through the site's own pages and the demo agency: sign
//! up with an authentication app, sign in (from a remembered browser, or with a code,
//! directly or from the agency's button through consent to the agency's claims page),
//! and the failed attempts (a wrong password, a wrong code).

use std::time::{Duration, Instant};

use passerelle::clock::{Clock, SystemClock};
use passerelle::mfa::totp;

use crate::browser::{Browser, Failure, Page, between, field};
use crate::report::Recorder;
use crate::stack::Stack;

pub const PASSWORD: &str = "correct horse battery staple";

/// An account of the pool, with the two browsers its owner uses.
#[derive(Debug)]
pub struct Account {
    pub email: String,
    pub secret: Vec<u8>,
    /// A browser that chose "remember this browser": password only.
    pub remembered: Browser,
    /// A known device that did not: password and a code.
    pub known: Browser,
    /// The last TOTP step used: a code is never accepted twice.
    pub last_step: i64,
}

impl Account {
    pub fn step_free(&self) -> bool {
        totp::step_at(SystemClock.now_secs()) > self.last_step
    }
}

fn expect(page: &Page, step: &'static str, status: u16) -> Result<(), Failure> {
    if page.status == status {
        Ok(())
    } else {
        Err(Failure::Unexpected(
            step,
            format!("{} instead of {status} ({})", page.status, page.location),
        ))
    }
}

fn expect_redirect(page: &Page, step: &'static str, to: &str) -> Result<(), Failure> {
    if page.status == 303 && page.location.starts_with(to) {
        Ok(())
    } else {
        Err(Failure::Unexpected(
            step,
            format!("{} → {:?} instead of → {to}", page.status, page.location),
        ))
    }
}

/// A timed step: its latency goes to the recorder under `step`.
async fn timed<F>(rec: &Recorder, step: &'static str, f: F) -> Result<Page, Failure>
where
    F: std::future::Future<Output = Result<Page, Failure>>,
{
    let page = f.await?;
    rec.latency(step, page.took);
    Ok(page)
}

/// A newcomer: the sign-up form, the emailed link, a password, an authentication app;
/// then signs out. The browser is left knowing the device.
pub async fn sign_up(
    stack: &Stack,
    b: &mut Browser,
    email: &str,
    rec: &Recorder,
) -> Result<Account, Failure> {
    timed(rec, "sign-up: form", b.get("sign-up: form", "/sign-up")).await?;
    let asked = timed(
        rec,
        "sign-up: email",
        b.post(
            "sign-up: email",
            "/sign-up",
            &[("email", email), ("accept_rules", "yes")],
        ),
    )
    .await?;
    expect(&asked, "sign-up: email", 200)?;
    let started = Instant::now();
    let link = confirmation_link(stack, email).await?;
    rec.latency("sign-up: mail delivered", started.elapsed());
    let confirm = timed(rec, "sign-up: link", b.get("sign-up: link", &link)).await?;
    expect(&confirm, "sign-up: link", 200)?;
    let token = link.split("t=").nth(1).unwrap_or_default().to_owned();
    let set = timed(
        rec,
        "sign-up: password",
        b.post(
            "sign-up: password",
            "/sign-up/confirm",
            &[("t", &token), ("password", PASSWORD)],
        ),
    )
    .await?;
    expect(&set, "sign-up: password", 303)?;
    let form = timed(
        rec,
        "sign-up: app form",
        b.get("sign-up: app form", "/mfa/totp"),
    )
    .await?;
    let secret = between(&form.body, "id=\"totp-secret\">", "<")
        .map(base32_decode)
        .ok_or_else(|| Failure::Unexpected("sign-up: app form", "no key shown".into()))?;
    let enrollment = field(&form.body, "enrollment")
        .ok_or_else(|| Failure::Unexpected("sign-up: app form", "no enrollment".into()))?
        .to_owned();
    let step = totp::step_at(SystemClock.now_secs());
    let code = totp::code_at_step(&secret, step).to_string();
    let added = timed(
        rec,
        "sign-up: add app",
        b.post(
            "sign-up: add app",
            "/mfa/totp",
            &[
                ("enrollment", &enrollment),
                ("name", "Phone"),
                ("code", &code),
            ],
        ),
    )
    .await?;
    expect(&added, "sign-up: add app", 303)?;
    // As a browser would: the page the set-up leads to (its forms carry the token the
    // completed sign-in rotated).
    let done = timed(
        rec,
        "sign-up: done",
        b.get("sign-up: done", &added.location),
    )
    .await?;
    expect(&done, "sign-up: done", 200)?;
    sign_out(b, rec).await?;
    Ok(Account {
        email: email.to_owned(),
        secret,
        remembered: b.clone(),
        known: b.clone(),
        last_step: step,
    })
}

async fn confirmation_link(stack: &Stack, email: &str) -> Result<String, Failure> {
    let Some(local) = stack.services.local.as_ref() else {
        return Err(Failure::MailMissing);
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mail) = local.outbox.list(Some(email), 1).await
            && let Some(m) = mail.first()
            && let Some(link) = between(&m.text, &stack.base, "\n")
        {
            return Ok(format!("{}{}", stack.base, link.trim()));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(Failure::MailMissing)
}

/// Where a sign-in starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The site's own sign-in page.
    Site,
    /// The demo agency's button: authorize, sign-in, consent, the agency's claims page
    /// (the agency itself calls token, JWKS and userinfo).
    Agency,
}

/// A sign-in that succeeds, then signs out. `remembered` uses the browser that chose
/// "remember this browser"; otherwise a code from the app.
pub async fn sign_in(
    acc: &mut Account,
    remembered: bool,
    entry: Entry,
    rec: &Recorder,
    choose_remember: bool,
) -> Result<(), Failure> {
    let email = acc.email.clone();
    let secret = acc.secret.clone();
    let b = if remembered {
        &mut acc.remembered
    } else {
        &mut acc.known
    };
    open_sign_in(b, entry, rec).await?;
    let after = timed(
        rec,
        "sign-in: password",
        b.post(
            "sign-in: password",
            "/sign-in",
            &[("email", &email), ("password", PASSWORD)],
        ),
    )
    .await?;
    let next = if remembered {
        after.location.clone()
    } else {
        expect_redirect(&after, "sign-in: password", "/sign-in/factor")?;
        let step = totp::step_at(SystemClock.now_secs());
        let code = totp::code_at_step(&secret, step).to_string();
        timed(
            rec,
            "sign-in: code form",
            b.get("sign-in: code form", "/sign-in/totp"),
        )
        .await?;
        let mut fields = vec![("code", code.as_str()), ("return_to", "")];
        if choose_remember {
            fields.push(("remember", "yes"));
        }
        let done = timed(
            rec,
            "sign-in: code",
            b.post("sign-in: code", "/sign-in/totp", &fields),
        )
        .await?;
        acc.last_step = step;
        done.location.clone()
    };
    let b = if remembered {
        &mut acc.remembered
    } else {
        &mut acc.known
    };
    match entry {
        Entry::Site => {
            if !next.ends_with("/account") {
                return Err(Failure::Unexpected(
                    "sign-in: done",
                    format!("went to {next:?} instead of the account page"),
                ));
            }
            let account = timed(rec, "account page", b.get("account page", "/account")).await?;
            expect(&account, "account page", 200)?;
        }
        Entry::Agency => {
            finish_at_agency(b, &next, rec).await?;
            // Back on our site to sign out: the account page, whose form carries the
            // token this sign-in rotated.
            let account = timed(rec, "account page", b.get("account page", "/account")).await?;
            expect(&account, "account page", 200)?;
        }
    }
    sign_out(b, rec).await
}

async fn open_sign_in(b: &mut Browser, entry: Entry, rec: &Recorder) -> Result<(), Failure> {
    if entry == Entry::Agency {
        let start = timed(
            rec,
            "agency: button",
            b.get("agency: button", "/demo/start"),
        )
        .await?;
        let authorize = start.location.clone();
        if !authorize.contains("/authorize?") {
            return Err(Failure::Unexpected(
                "agency: button",
                format!("→ {authorize:?}"),
            ));
        }
        // Authorize keeps the request and sends the person on (through the resume page)
        // to the sign-in form: each hop is a step.
        let mut page = timed(
            rec,
            "agency: authorize",
            b.get("agency: authorize", &authorize),
        )
        .await?;
        for _ in 0..3 {
            if page.status != 303 {
                break;
            }
            let to = page.location.clone();
            page = timed(rec, "agency: to sign-in", b.get("agency: to sign-in", &to)).await?;
        }
        expect(&page, "agency: to sign-in", 200)?;
        if !page.body.contains("name=\"password\"") {
            return Err(Failure::Unexpected(
                "agency: to sign-in",
                "the agency's request did not lead to the sign-in form".into(),
            ));
        }
        return Ok(());
    }
    let form = timed(rec, "sign-in: form", b.get("sign-in: form", "/sign-in")).await?;
    expect(&form, "sign-in: form", 200)
}

/// From `/authorize/resume`: consent when asked, then the agency's claims page.
async fn finish_at_agency(b: &mut Browser, next: &str, rec: &Recorder) -> Result<(), Failure> {
    if !next.ends_with("/authorize/resume") {
        return Err(Failure::Unexpected(
            "agency: resume",
            format!("went to {next:?} instead of the agency's request"),
        ));
    }
    let resumed = timed(
        rec,
        "agency: resume",
        b.get("agency: resume", "/authorize/resume"),
    )
    .await?;
    // The first time, resume sends the person to the consent page; afterwards the
    // recorded consent lets it answer the agency at once.
    let consent = if resumed.status == 303 && resumed.location.ends_with("/authorize/consent") {
        let page = timed(
            rec,
            "agency: consent page",
            b.get("agency: consent page", "/authorize/consent"),
        )
        .await?;
        expect(&page, "agency: consent page", 200)?;
        true
    } else {
        resumed.status == 200
    };
    let callback = if consent {
        let allowed = timed(
            rec,
            "agency: consent",
            b.post(
                "agency: consent",
                "/authorize/consent",
                &[("decision", "allow")],
            ),
        )
        .await?;
        allowed.location
    } else {
        resumed.location
    };
    if !callback.contains("/demo/callback?code=") {
        return Err(Failure::Unexpected(
            "agency: code",
            format!("→ {callback:?} instead of the agency's callback"),
        ));
    }
    let claims = timed(
        rec,
        "agency: claims (token, userinfo)",
        b.get("agency: claims (token, userinfo)", &callback),
    )
    .await?;
    expect(&claims, "agency: claims (token, userinfo)", 200)?;
    if !claims.body.contains("You are signed in to the Demo Agency") {
        return Err(Failure::Unexpected(
            "agency: claims (token, userinfo)",
            "the agency did not sign the person in".into(),
        ));
    }
    Ok(())
}

async fn sign_out(b: &mut Browser, rec: &Recorder) -> Result<(), Failure> {
    let out = timed(rec, "sign out", b.post("sign out", "/sign-out", &[])).await?;
    expect(&out, "sign out", 303)
}

/// How a failed attempt ended: refused with the form again, or held back by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Refused,
    Limited,
}

/// A wrong password for an existing account: the form again with an error, or a 429
/// once the limit holds.
pub async fn wrong_password(acc: &mut Account, rec: &Recorder) -> Result<Refusal, Failure> {
    let email = acc.email.clone();
    let b = &mut acc.known;
    open_sign_in(b, Entry::Site, rec).await?;
    let refused = timed(
        rec,
        "failed: wrong password",
        b.post(
            "failed: wrong password",
            "/sign-in",
            &[("email", &email), ("password", "not the password at all")],
        ),
    )
    .await?;
    refusal(&refused, "failed: wrong password")
}

/// The right password, then a wrong code; the half-finished session is signed out.
pub async fn wrong_code(acc: &mut Account, rec: &Recorder) -> Result<Refusal, Failure> {
    let email = acc.email.clone();
    let secret = acc.secret.clone();
    let b = &mut acc.known;
    open_sign_in(b, Entry::Site, rec).await?;
    let after = timed(
        rec,
        "sign-in: password",
        b.post(
            "sign-in: password",
            "/sign-in",
            &[("email", &email), ("password", PASSWORD)],
        ),
    )
    .await?;
    expect_redirect(&after, "sign-in: password", "/sign-in/factor")?;
    timed(
        rec,
        "sign-in: code form",
        b.get("sign-in: code form", "/sign-in/totp"),
    )
    .await?;
    // A code of the wrong step, so it can never be right by chance.
    let step = totp::step_at(SystemClock.now_secs());
    let wrong = totp::code_at_step(&secret, step + 1000).to_string();
    let refused = timed(
        rec,
        "failed: wrong code",
        b.post(
            "failed: wrong code",
            "/sign-in/totp",
            &[("code", &wrong), ("return_to", "")],
        ),
    )
    .await?;
    let how = refusal(&refused, "failed: wrong code")?;
    sign_out(b, rec).await?;
    Ok(how)
}

fn refusal(page: &Page, step: &'static str) -> Result<Refusal, Failure> {
    match page.status {
        200 | 400 | 401 | 422 => Ok(Refusal::Refused),
        429 => Ok(Refusal::Limited),
        other => Err(Failure::Unexpected(
            step,
            format!("{other} ({}) for a wrong value", page.location),
        )),
    }
}

fn base32_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = vec![];
    for c in text.chars().filter(char::is_ascii_alphanumeric) {
        let Some(v) = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".find(c.to_ascii_uppercase()) else {
            continue;
        };
        bits = (bits << 5) | v as u64;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}
