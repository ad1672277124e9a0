//! One module per resource; each returns its part of the OpenAPI router.

pub mod declarations;
pub mod forums;
pub mod notifications;
pub mod registrations;
pub mod rooms;
pub mod schedule;
pub mod sessions;
pub mod speakers;
pub mod teams;

use axum::http::{header, HeaderMap, HeaderValue};
use convene_domain::util::etag;

/// Headers carrying the ETag of a row version.
pub fn etag_headers(version: i32) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        h.insert(header::ETAG, v);
    }
    h
}
