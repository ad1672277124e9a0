//! The pages' one stylesheet, compiled into the binary and served under a name carrying
//! the first 16 hex digits of its SHA-256 (`/assets/convene.<hash>.css`), so it can be
//! cached for a year (`immutable`, RFC 8246): a changed stylesheet gets a new name.

use std::sync::LazyLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The stylesheet's text.
pub const CSS: &str = include_str!("assets/convene.css");

/// `convene.<16 hex digits of SHA-256>.css`.
pub static CSS_NAME: LazyLock<String> = LazyLock::new(|| {
    let d = Sha256::digest(CSS.as_bytes());
    let hex: String = d.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("convene.{hex}.css")
});

/// The route of the stylesheet, relative to the deployment (`/assets/convene.<hash>.css`).
pub fn css_path() -> String {
    format!("/assets/{}", CSS_NAME.as_str())
}

/// `GET /assets/convene.<hash>.css`: the stylesheet, cacheable for a year.
pub async fn css() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        CSS,
    )
        .into_response()
}
