//! `GET /dev/outbox` (local development only): the mail and SMS the embedded outbox
//! kept instead of sending, newest first, with the links in their text clickable so a
//! developer can follow a confirmation link. Bodies are always escaped; the HTML version
//! is shown as source, never rendered.

use axum::Router;

use super::WebState;

/// Routes only when `dev_outbox` is on (and the outbox is built in): otherwise the path
/// is unknown, a plain 404.
pub fn routes(state: &WebState) -> Router<WebState> {
    #[cfg(feature = "embedded")]
    if state.dev_outbox {
        return Router::new().route("/dev/outbox", axum::routing::get(page::outbox));
    }
    let _ = state;
    Router::new()
}

/// A piece of a text body: plain text, or an http(s) URL to make a link of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Link(String),
}

#[cfg(feature = "embedded")]
mod page {
    use askama::Template;
    use axum::extract::State;
    use axum::response::Response;

    use super::{Segment, linkify, utc_timestamp};
    use crate::web::WebState;
    use crate::web::error::WebError;
    use crate::web::page::{Page, render};

    /// How many messages the page lists.
    const LIMIT: u32 = 100;

    struct Message {
        kind_id: &'static str,
        recipient: String,
        subject: String,
        at: String,
        text: Vec<Segment>,
        html: Option<String>,
    }

    #[derive(Template)]
    #[template(path = "outbox.html")]
    struct Outbox {
        page: Page,
        messages: Vec<Message>,
    }

    pub(super) async fn outbox(
        State(state): State<WebState>,
        page: Page,
    ) -> Result<Response, WebError> {
        // The AWS backend has no outbox: SES and SNS really send.
        let Some(local) = &state.services.local else {
            return Err(WebError::NotFound);
        };
        let messages = local
            .outbox
            .list(None, LIMIT)
            .await?
            .into_iter()
            .map(|e| Message {
                kind_id: match e.kind.as_str() {
                    "sms" => "outbox-kind-sms",
                    "voice" => "outbox-kind-voice",
                    _ => "outbox-kind-email",
                },
                recipient: e.recipient,
                subject: e.subject,
                at: utc_timestamp(e.created_ms),
                text: linkify(&e.text),
                html: e.html,
            })
            .collect();
        render(&Outbox { page, messages })
    }
}

/// Splits text into plain runs and http(s) URLs. A URL ends at whitespace or at a
/// character that cannot be in one unescaped (`<>"'`); trailing sentence punctuation is
/// left out of it.
pub fn linkify(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_url_start(rest) {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`'))
            .unwrap_or(candidate.len());
        let url = candidate[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
        let scheme_len = if url.starts_with("https://") { 8 } else { 7 };
        if url.len() <= scheme_len {
            // A bare `http://`: keep it as text and look further on.
            push_text(&mut out, &rest[..start + scheme_len]);
            rest = &rest[start + scheme_len..];
            continue;
        }
        push_text(&mut out, &rest[..start]);
        out.push(Segment::Link(url.to_owned()));
        rest = &rest[start + url.len()..];
    }
    push_text(&mut out, rest);
    out
}

fn find_url_start(text: &str) -> Option<usize> {
    match (text.find("http://"), text.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn push_text(out: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Segment::Text(last)) = out.last_mut() {
        last.push_str(text);
    } else {
        out.push(Segment::Text(text.to_owned()));
    }
}

/// `2026-11-05T14:03:07Z` from milliseconds since the epoch (days to a civil date by
/// Howard Hinnant's algorithm, to avoid a date crate for one development page).
pub fn utc_timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_links_and_punctuation_stays_text() {
        let parts = linkify("Confirm: https://x.gov/c?t=1&u=2. Or http://localhost:3000/a)");
        assert_eq!(
            parts,
            vec![
                Segment::Text("Confirm: ".into()),
                Segment::Link("https://x.gov/c?t=1&u=2".into()),
                Segment::Text(". Or ".into()),
                Segment::Link("http://localhost:3000/a".into()),
                Segment::Text(")".into()),
            ]
        );
        assert_eq!(linkify("no links"), vec![Segment::Text("no links".into())]);
        assert_eq!(
            linkify("http:// x"),
            vec![Segment::Text("http:// x".into())]
        );
        assert_eq!(
            linkify("javascript:alert(1) <https://a.b/\"x>"),
            vec![
                Segment::Text("javascript:alert(1) <".into()),
                Segment::Link("https://a.b/".into()),
                Segment::Text("\"x>".into()),
            ]
        );
    }

    #[test]
    fn timestamps_are_utc_iso() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(1_709_210_096_000), "2024-02-29T12:34:56Z");
    }
}
