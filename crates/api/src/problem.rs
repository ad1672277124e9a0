//! RFC 9457 `application/problem+json` responses.
//!
//! Every error leaves the API as a problem with a stable `type` (a relative URI
//! `/problems/<name>`), a `title`, the HTTP `status`, a `detail`, and where relevant
//! `errors` (per-field), `conflicting_session` (409) or `current_etag` (412). A 500 says
//! nothing about its cause; the cause is logged.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use convene_domain::error::{ConflictingSession, FieldError};
use convene_domain::Error;
use serde::Serialize;

/// The most field errors one problem lists; the rest are counted in `errors_truncated`.
pub const MAX_FIELD_ERRORS: usize = 50;

/// The body of every error response (RFC 9457 §3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the problem kind, e.g. `/problems/room-double-booked`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Per-field complaints (validation): at most [`MAX_FIELD_ERRORS`], in the order
    /// found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// How many further field errors were found but not listed (present only when
    /// `errors` was cut at [`MAX_FIELD_ERRORS`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_truncated: Option<usize>,
    /// The largest body the endpoint accepts, bytes (413 `payload-too-large` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
    /// The session a 409 collided with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicting_session: Option<ConflictingSession>,
    /// When registration or a sign-up closed, RFC 3339 UTC (409 `registration-closed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When registration opens, RFC 3339 UTC (409 `registration-closed` before the window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The current ETag, on 412.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_etag: Option<String>,
    /// The request's id (its `X-Request-Id`, given or made), to quote to an operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error on its way out as a problem response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    problem: Problem,
}

impl ApiError {
    /// A problem with the given status, type name (after `/problems/`), title and detail.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            problem: Problem {
                problem_type: format!("/problems/{kind}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: vec![],
                errors_truncated: None,
                max_body_bytes: None,
                conflicting_session: None,
                closed_at: None,
                opens_at: None,
                current_etag: None,
                request_id: None,
            },
        }
    }

    /// Adds field errors: the first [`MAX_FIELD_ERRORS`]; the number of the others goes
    /// to `errors_truncated`, so that no input can make an answer large.
    pub fn with_errors(mut self, mut errors: Vec<FieldError>) -> Self {
        if errors.len() > MAX_FIELD_ERRORS {
            self.problem.errors_truncated = Some(errors.len() - MAX_FIELD_ERRORS);
            errors.truncate(MAX_FIELD_ERRORS);
        }
        self.problem.errors = errors;
        self
    }

    /// 413 `payload-too-large`: the body is larger than `limit` bytes, the endpoint's
    /// maximum (named in `max_body_bytes`).
    pub fn payload_too_large(limit: usize) -> Self {
        let mut e = Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            format!("the body must be at most {limit} bytes"),
        );
        e.problem.max_body_bytes = Some(limit);
        e
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 400 for a body that is not what the endpoint reads (syntax, shape).
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            detail,
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("no such {what}"),
            ),
            Error::Validation(errors) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation-error",
                "Invalid input",
                validation_detail(&errors),
            )
            .with_errors(errors),
            Error::Conflict {
                kind,
                message,
                session,
                errors,
            } => {
                let mut p = ApiError::new(
                    StatusCode::CONFLICT,
                    kind.slug(),
                    conflict_title(kind.slug()),
                    message,
                )
                .with_errors(errors);
                p.problem.conflicting_session = session;
                p
            }
            Error::RegistrationClosed {
                message,
                closed_at,
                opens_at,
            } => {
                let mut p = ApiError::new(
                    StatusCode::CONFLICT,
                    "registration-closed",
                    conflict_title("registration-closed"),
                    message,
                );
                p.problem.closed_at = closed_at;
                p.problem.opens_at = opens_at;
                p
            }
            // Logged as an error where it is found (`declarations::ledger::append`).
            Error::LedgerBroken(message) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger-broken",
                "Ledger needs an operator",
                message,
            ),
            Error::PreconditionFailed { current_etag } => {
                let mut p = ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "precondition-failed",
                    "Precondition failed",
                    format!("If-Match does not match the current ETag {current_etag}; fetch the object again"),
                );
                p.problem.current_etag = Some(current_etag);
                p
            }
            Error::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                "send a valid API token as `Authorization: Bearer cvn_org_…`",
            ),
            Error::TokenRefused(detail) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                detail,
            ),
            Error::Forbidden(why) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why)
            }
            Error::InvalidSchedule(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-schedule",
                "Invalid schedule file",
                e.to_string(),
            )
            .with_errors(vec![FieldError::new(e.location, e.message)]),
            Error::Db(e) => {
                if convene_domain::db::is_unavailable(&e) {
                    tracing::warn!(error = %e, "database unavailable");
                    ApiError::unavailable()
                } else {
                    tracing::error!(error = %e, "database error");
                    ApiError::internal()
                }
            }
        }
    }
}

/// The `detail` of a validation problem: the first few field errors, then how many more.
fn validation_detail(errors: &[FieldError]) -> String {
    const SHOWN: usize = 5;
    let mut d = errors
        .iter()
        .take(SHOWN)
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    if errors.len() > SHOWN {
        d.push_str(&format!(" (and {} more)", errors.len() - SHOWN));
    }
    d
}

fn conflict_title(kind: &str) -> &'static str {
    match kind {
        "room-double-booked" => "Room already booked",
        "speaker-double-booked" => "Speaker already booked",
        "invalid-time-range" => "Session ends before it starts",
        "already-exists" => "Already exists",
        "already-signed" => "Already signed",
        "already-confirmed" => "Already confirmed",
        "link-expired" => "Confirmation link expired",
        "not-accepting-signatures" => "Not accepting signatures",
        "version-locked" => "Version under signature is locked",
        "invalid-state" => "Invalid state",
        "registration-closed" => "Registration closed",
        "already-registered" => "Already registered",
        "idempotency-key-in-flight" => "Request with this Idempotency-Key in progress",
        "registration-not-confirmed" => "Registration not confirmed",
        "seat-not-confirmed" => "No seat in this session",
        "session-clash" => "Overlapping session",
        "capacity-reached" => "No seat free",
        _ => "Conflict",
    }
}

/// `Retry-After` of a 503 (seconds): about the time a restarting PostgreSQL needs, and
/// at least the pool's acquire timeout is spent before a 503 anyway.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u32 = 5;

impl ApiError {
    /// 503 `/problems/unavailable` (the database cannot be reached right now), sent with
    /// `Retry-After` ([`RETRY_AFTER_UNAVAILABLE_SECS`]).
    pub fn unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            "the database is unavailable; try again shortly",
        )
    }

    /// The opaque 500.
    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if self.problem.request_id.is_none() {
            self.problem.request_id = crate::ops::current_request_id().map(|id| id.to_string());
        }
        let mut res = (self.status, axum::Json(self.problem)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            && !res.headers().contains_key(header::RETRY_AFTER)
        {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER_UNAVAILABLE_SECS),
            );
        }
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"convene\""),
            );
            // The body of a rejected write is not read; say that the connection ends here
            // so that clients do not reuse it (RFC 9110 §7.6.1).
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
