//! Request extractors: the caller (bearer token), `If-Match`, and JSON bodies whose errors
//! become problems naming the offending field.
//!
//! They are the edge where text enters: JSON bodies pass [`crate::limits::check_json_shape`]
//! (every string, every member name, sizes of objects and arrays), query parameters and
//! path segments pass [`convene_domain::text`]'s one-line rule, and bodies their
//! endpoint's byte limit.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use convene_domain::accounts::{self, Caller};
use convene_domain::text::{self, Shape};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;
use crate::AppState;

/// The caller: the one the access gate authenticated ([`crate::access::gate`]), else
/// anonymous without an `Authorization` header, an organizer with a valid
/// `Bearer cvn_org_…` token. A header with a wrong, unknown or revoked token → 401 (a bad
/// credential is never silently downgraded to anonymous).
pub struct Auth(pub Caller);

impl<S> FromRequestParts<S> for Auth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(crate::access::Authenticated(c)) = parts.extensions.get() {
            return Ok(Auth(c.clone()));
        }
        let Some(h) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Auth(Caller::Anonymous));
        };
        let token = h
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(convene_domain::Error::Unauthenticated)?;
        let state = AppState::from_ref(state);
        Ok(Auth(accounts::authenticate(&state.db, token).await?))
    }
}

/// The `If-Match` header, if sent (RFC 9110 §13.1.1).
pub struct IfMatch(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(header::IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(v) => v
                .to_str()
                .map(|s| IfMatch(Some(s.to_owned())))
                .map_err(|_| ApiError::malformed("If-Match is not ASCII")),
        }
    }
}

impl IfMatch {
    /// The header value as `&str`.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

/// The `Idempotency-Key` header, trimmed, if sent (IETF httpapi Idempotency-Key draft);
/// its format is checked by the domain (422). Not ASCII → 422.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => v
                .to_str()
                .map(|s| IdempotencyKey(Some(s.trim().to_owned())))
                .map_err(|_| {
                    convene_domain::Error::field("Idempotency-Key", "must be ASCII").into()
                }),
        }
    }
}

/// A JSON body. Wrong `Content-Type` → 415; bad syntax → 400 with line and column; a
/// field of the wrong type, missing or unknown → 422 naming the field's path.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            ));
        }
        let bytes = RawBody::from_request(req, state).await?.0;
        parse_json(&bytes).map(Json)
    }
}

/// The raw request body (schedule files), within the endpoint's body limit
/// ([`crate::limits::body_limit`]): larger → 413 `payload-too-large` naming the limit.
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<crate::limits::BodyLimit>()
            .map_or(crate::MAX_BODY_BYTES, |l| l.0);
        axum::body::Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large(limit)
                } else {
                    ApiError::malformed(e.body_text())
                }
            })
    }
}

/// Parses a JSON object with the problem mapping described on [`Json`]. Only an object
/// is accepted at the top (serde would otherwise read an array as a positional struct).
/// Before that, the body's shape passes [`crate::limits::check_json_shape`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    crate::limits::check_json_shape(bytes)?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde_json::Value>(bytes).is_ok()
    {
        return Err(convene_domain::Error::field("body", "must be a JSON object").into());
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::malformed(format!(
                    "the body is not valid JSON: {inner}"
                )))
            } else {
                let msg = inner.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                Err(convene_domain::Error::field(field_name(&path, &msg), msg).into())
            }
        }
    }
}

/// The path of the field an error is about: serde reports a missing field at the
/// enclosing object, so its name is taken from the message (`missing field `name``).
fn field_name(path: &str, msg: &str) -> String {
    let missing = msg
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(f)) => f.to_owned(),
        (".", None) => "body".to_owned(),
        (p, Some(f)) => format!("{p}.{f}"),
        (p, None) => p.to_owned(),
    }
}

/// Query parameters. A parameter of the wrong type → 422 naming it (never a plain-text 400).
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        check_query(q)?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let msg = e.into_inner().to_string();
                convene_domain::Error::field(field_name(&path, &msg), msg).into()
            })
    }
}

/// The most parameters one query string may carry.
pub const MAX_QUERY_PARAMS: usize = 32;

/// Every query parameter's name and value is one line of at most [`text::PARAM`]
/// characters ([`convene_domain::text`]); at most [`MAX_QUERY_PARAMS`] of them. Errors:
/// 422 naming the parameter.
fn check_query(q: &str) -> Result<(), ApiError> {
    for (i, (k, v)) in form_urlencoded::parse(q.as_bytes()).enumerate() {
        if i == MAX_QUERY_PARAMS {
            return Err(convene_domain::Error::field(
                "query",
                format!("at most {MAX_QUERY_PARAMS} parameters"),
            )
            .into());
        }
        let name_ok = text::check(&k, Shape::Line, text::CODE);
        let value_ok = text::check(&v, Shape::Line, text::PARAM);
        if let Err(f) = name_ok.and(value_ok) {
            let field = if text::check(&k, Shape::Line, text::CODE).is_ok() {
                k.into_owned()
            } else {
                "query".to_owned()
            };
            return Err(convene_domain::Error::field(field, f.to_string()).into());
        }
    }
    Ok(())
}

/// Path parameters. One that cannot be parsed (e.g. an id that is not a UUID) names no
/// object: 404, as for an object that does not exist.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let not_found = || {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such object",
            )
        };
        // Every segment is one line of at most `text::PATH_SEGMENT` characters (no NUL,
        // no control characters): anything else names no object.
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        if raw
            .iter()
            .any(|(_, v)| text::check(v, Shape::Line, text::PATH_SEGMENT).is_err())
        {
            return Err(not_found());
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| not_found())
    }
}

/// A caller who must be an authenticated organizer: anonymous → 401 before the body is
/// even read, so an unauthenticated write never learns anything about its input.
pub struct Organizer(pub Caller);

impl<S> FromRequestParts<S> for Organizer
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Auth::from_request_parts(parts, state).await?.0 {
            Caller::Anonymous => Err(convene_domain::Error::Unauthenticated.into()),
            c => Ok(Organizer(c)),
        }
    }
}
