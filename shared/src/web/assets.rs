//! Static files compiled into the binary and served at content-hashed paths
//! (`/static/app.<hash>.css`), so browsers may cache them forever: a change is a new URL.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

use super::error::WebError;

struct Asset {
    /// The name templates ask for: `app.css`.
    name: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
    /// `/static/app.<hash>.css`.
    path: String,
    etag: String,
}

/// Every embedded file. Add one here and reference it as `page.asset("name")`.
const FILES: &[(&str, &[u8], &str)] = &[
    (
        "app.css",
        include_bytes!("../../static/app.css"),
        "text/css; charset=utf-8",
    ),
    (
        "app.js",
        include_bytes!("../../static/app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "webauthn.js",
        include_bytes!("../../static/webauthn.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "verify_poll.js",
        include_bytes!("../../static/verify_poll.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "favicon.svg",
        include_bytes!("../../static/favicon.svg"),
        "image/svg+xml",
    ),
];

/// Hashed once per process (a few kilobytes of SHA-256).
static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, bytes, content_type)| {
            let digest = Sha256::digest(bytes);
            // 64 bits of the digest: collisions between versions of one file are not a concern.
            let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                bytes,
                content_type,
                path: format!("/static/{stem}.{hash}.{ext}"),
                etag: format!("\"{hash}\""),
            }
        })
        .collect()
});

/// The URL of embedded file `name`; an unknown name gives a path that 404s (and a test
/// renders every page, so a typo does not ship).
pub fn path(name: &str) -> &'static str {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => &asset.path,
        None => {
            tracing::warn!(name, "unknown static asset");
            "/static/missing"
        }
    }
}

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, WebError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.path.strip_prefix("/static/") == Some(file.as_str()))
        .ok_or(WebError::NotFound)?;
    let etag =
        HeaderValue::from_str(&asset.etag).map_err(|_| WebError::Internal("asset etag".into()))?;
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    let revalidating = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    if revalidating {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        asset.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_carry_a_content_hash() {
        let css = path("app.css");
        assert!(
            css.starts_with("/static/app.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/static/app..css".len() + 16);
        assert_eq!(path("nope.css"), "/static/missing");
    }
}
