//! One person's browser as the load sees it: a cookie jar, the last page's CSRF field,
//! redirects not followed (each hop is a step of its own), and every failure an error
//! kind rather than a panic, so that a run counts what went wrong instead of stopping.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A page as the person got it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: String,
    pub body: String,
    pub took: Duration,
}

/// Why a step failed: the report counts these by kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// No answer at all: refused, reset or timed out.
    NoAnswer(&'static str),
    /// A 5xx.
    ServerError(&'static str, u16),
    /// An answer, but not the page this step leads to.
    Unexpected(&'static str, String),
    /// A mail the step waits for never reached the outbox.
    MailMissing,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NoAnswer(step) => write!(f, "{step}: no answer"),
            Failure::ServerError(step, status) => write!(f, "{step}: {status}"),
            Failure::Unexpected(step, what) => write!(f, "{step}: {what}"),
            Failure::MailMissing => f.write_str("sign-up: the confirmation mail never arrived"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub csrf: String,
}

impl Browser {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    pub async fn get(&mut self, step: &'static str, path: &str) -> Result<Page, Failure> {
        let req = self.http.get(self.url(path));
        self.send(step, req).await
    }

    pub async fn post(
        &mut self,
        step: &'static str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Page, Failure> {
        let mut all = fields.to_vec();
        let csrf = self.csrf.clone();
        all.push(("csrf_token", &csrf));
        let req = self
            .http
            .post(self.url(path))
            .header("origin", &self.base)
            .form(&all);
        self.send(step, req).await
    }

    async fn send(
        &mut self,
        step: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<Page, Failure> {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let started = Instant::now();
        let response = req
            .header(COOKIE, jar.join("; "))
            .send()
            .await
            .map_err(|_| Failure::NoAnswer(step))?;
        for v in response.headers().get_all(SET_COOKIE) {
            let Ok(text) = v.to_str() else { continue };
            let Some((k, v)) = text.split(';').next().and_then(|kv| kv.split_once('=')) else {
                continue;
            };
            if text.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.map_err(|_| Failure::NoAnswer(step))?;
        let took = started.elapsed();
        if status >= 500 {
            return Err(Failure::ServerError(step, status));
        }
        if let Some(token) = field(&body, "csrf_token") {
            self.csrf = token.to_owned();
        }
        Ok(Page {
            status,
            location,
            body,
            took,
        })
    }
}

/// The value of the hidden field `name` on a page.
pub fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let start = format!("name=\"{name}\" value=\"");
    let i = body.find(&start)? + start.len();
    let rest = &body[i..];
    Some(&rest[..rest.find('"')?])
}

/// The text between `start` and `end`, for values a page shows (the app's key).
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let rest = &text[i..];
    Some(&rest[..rest.find(end)?])
}
