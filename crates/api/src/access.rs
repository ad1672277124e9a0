//! The access gate: every `/api/v1` operation passes [`gate`] before its handler (and
//! before its body is read). [`OPERATIONS`] says what each operation needs; the rights of
//! roles and the narrowing by token scopes are the domain's one table
//! (`convene_domain::teams::RIGHTS`), applied by `forums::find_for_write` — the same
//! check the domain operations make, so the gate answers early and the domain stays
//! safe for the pages and the CLI.
//!
//! An operation without an entry is refused (403) and fails the access-matrix test
//! (`tests/teams.rs`), which reads this table and the OpenAPI document.

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use convene_domain::accounts::{self, Caller};
use convene_domain::registrations::MANAGE_TOKEN_PREFIX;
use convene_domain::teams::Permission;
use convene_domain::text::{self, Shape};
use convene_domain::{forums, Error};

use crate::problem::ApiError;
use crate::AppState;

/// What an operation needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone, without a credential (a credential sent must still be a valid organizer
    /// token; drafts stay hidden from non-members by the domain).
    Public,
    /// An authenticated account; `write`: one whose token may change the account (an
    /// unscoped token bound to no forum).
    Account {
        /// The operation changes the account (creates forums, issues or revokes tokens).
        write: bool,
    },
    /// A role on the forum of the path's `{slug}` that has the permission.
    Forum(Permission),
    /// The holder of the registration (its manage token, `cvn_reg_…`) or a team member
    /// with the permission.
    HolderOr(Permission),
}

use Need::*;
use Permission::*;

/// Every operation under `/api/v1`: (method, path as in the OpenAPI document, need).
pub const OPERATIONS: &[(&str, &str, Need)] = &[
    ("GET", "/forums", Public),
    ("POST", "/forums", Account { write: true }),
    ("POST", "/forums/import", Account { write: true }),
    ("GET", "/forums/{slug}", Public),
    ("GET", "/forums/{slug}/participants", Public),
    ("PATCH", "/forums/{slug}", Forum(Edit)),
    ("DELETE", "/forums/{slug}", Forum(ManageTeam)),
    ("POST", "/forums/{slug}/publish", Forum(Edit)),
    ("POST", "/forums/{slug}/close", Forum(Edit)),
    ("POST", "/forums/{slug}/archive", Forum(Edit)),
    ("GET", "/forums/{slug}/members", Forum(Read)),
    ("POST", "/forums/{slug}/members", Forum(ManageTeam)),
    (
        "PATCH",
        "/forums/{slug}/members/{account}",
        Forum(ManageTeam),
    ),
    (
        "DELETE",
        "/forums/{slug}/members/{account}",
        Forum(ManageTeam),
    ),
    ("GET", "/tokens", Account { write: false }),
    ("POST", "/tokens", Account { write: true }),
    ("DELETE", "/tokens/{id}", Account { write: true }),
    ("GET", "/forums/{slug}/rooms", Public),
    ("POST", "/forums/{slug}/rooms", Forum(Edit)),
    ("GET", "/forums/{slug}/rooms/{id}", Public),
    ("PATCH", "/forums/{slug}/rooms/{id}", Forum(Edit)),
    ("DELETE", "/forums/{slug}/rooms/{id}", Forum(Edit)),
    ("GET", "/forums/{slug}/speakers", Public),
    ("POST", "/forums/{slug}/speakers", Forum(Edit)),
    ("GET", "/forums/{slug}/speakers/{id}", Public),
    ("PATCH", "/forums/{slug}/speakers/{id}", Forum(Edit)),
    ("DELETE", "/forums/{slug}/speakers/{id}", Forum(Edit)),
    ("GET", "/forums/{slug}/sessions", Public),
    ("POST", "/forums/{slug}/sessions", Forum(Edit)),
    ("GET", "/forums/{slug}/sessions/{id}", Public),
    ("PATCH", "/forums/{slug}/sessions/{id}", Forum(Edit)),
    ("DELETE", "/forums/{slug}/sessions/{id}", Forum(Edit)),
    ("POST", "/forums/{slug}/sessions/{id}/cancel", Forum(Edit)),
    ("GET", "/forums/{slug}/schedule.json", Public),
    ("GET", "/forums/{slug}/schedule.xml", Public),
    ("GET", "/forums/{slug}/schedule.ics", Public),
    ("POST", "/forums/{slug}/schedule/import", Forum(Edit)),
    ("GET", "/forums/{slug}/declarations", Public),
    ("POST", "/forums/{slug}/declarations", Forum(Edit)),
    ("GET", "/forums/{slug}/declarations/{decl}", Public),
    ("PATCH", "/forums/{slug}/declarations/{decl}", Forum(Edit)),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/open",
        Forum(Edit),
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/close",
        Forum(Edit),
    ),
    ("GET", "/forums/{slug}/declarations/{decl}/versions", Public),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/versions",
        Forum(Edit),
    ),
    (
        "GET",
        "/forums/{slug}/declarations/{decl}/versions/{number}",
        Public,
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/versions/{number}/translations",
        Forum(Edit),
    ),
    (
        "GET",
        "/forums/{slug}/declarations/{decl}/signatures",
        Public,
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/signatures",
        Public,
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/signatures/in-person",
        Forum(Edit),
    ),
    (
        "GET",
        "/forums/{slug}/declarations/{decl}/signatures/confirm",
        Public,
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/signatures/confirm",
        Public,
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/signatures/resend",
        Public,
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/signatures/withdraw",
        Public,
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/signatures/{id}/withdraw",
        Forum(Edit),
    ),
    (
        "POST",
        "/forums/{slug}/declarations/{decl}/signatures/{id}/erase",
        Forum(Edit),
    ),
    (
        "GET",
        "/forums/{slug}/declarations/{decl}/signatures.csv",
        Public,
    ),
    (
        "GET",
        "/forums/{slug}/declarations/{decl}/signatures.json",
        Public,
    ),
    ("GET", "/forums/{slug}/declarations/{decl}/counts", Public),
    ("GET", "/forums/{slug}/declarations/{decl}/ledger", Public),
    (
        "GET",
        "/forums/{slug}/declarations/{decl}/ledger/verify",
        Public,
    ),
    ("GET", "/forums/{slug}/notifications", Forum(Read)),
    (
        "POST",
        "/forums/{slug}/notifications/{id}/retry",
        Forum(Edit),
    ),
    ("GET", "/forums/{slug}/registration-form", Public),
    ("PUT", "/forums/{slug}/registration-form", Forum(Edit)),
    ("GET", "/forums/{slug}/registration-stats", Forum(Read)),
    ("GET", "/forums/{slug}/registrations", Forum(Read)),
    ("POST", "/forums/{slug}/registrations", Public),
    ("GET", "/forums/{slug}/registrations.csv", Forum(Read)),
    ("POST", "/forums/{slug}/registrations/resend-link", Public),
    ("GET", "/forums/{slug}/registrations/{id}", HolderOr(Read)),
    ("PATCH", "/forums/{slug}/registrations/{id}", HolderOr(Edit)),
    (
        "POST",
        "/forums/{slug}/registrations/{id}/cancel",
        HolderOr(Edit),
    ),
    (
        "POST",
        "/forums/{slug}/registrations/{id}/approve",
        Forum(Edit),
    ),
    (
        "POST",
        "/forums/{slug}/registrations/{id}/reject",
        Forum(Edit),
    ),
    (
        "POST",
        "/forums/{slug}/registrations/{id}/promote",
        Forum(Edit),
    ),
    (
        "POST",
        "/forums/{slug}/registrations/{id}/manage-token",
        HolderOr(Edit),
    ),
    (
        "GET",
        "/forums/{slug}/registrations/{id}/agenda.ics",
        HolderOr(Read),
    ),
    (
        "GET",
        "/forums/{slug}/registrations/{id}/signups",
        HolderOr(Read),
    ),
    (
        "PUT",
        "/forums/{slug}/registrations/{id}/signups/{session_id}",
        HolderOr(Edit),
    ),
    (
        "DELETE",
        "/forums/{slug}/registrations/{id}/signups/{session_id}",
        HolderOr(Edit),
    ),
    ("POST", "/forums/{slug}/check-ins", Forum(CheckIn)),
];

/// The need of the operation `method path` (`path` relative to `/api/v1`), if listed.
pub fn need_of(method: &str, path: &str) -> Option<Need> {
    OPERATIONS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, n)| *n)
}

/// The caller the gate authenticated, for the handler's extractors (so a token is looked
/// up, and its last use recorded, once per request).
#[derive(Clone)]
pub struct Authenticated(pub Caller);

/// The bearer token of `Authorization`, if any; a header that is not `Bearer …` → 401.
fn bearer(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(h) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    h.to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| Some(t.trim().to_owned()))
        .ok_or_else(|| Error::Unauthenticated.into())
}

/// The middleware: authenticates the caller (a wrong, unknown, revoked or expired token →
/// 401; a participant's manage token only where the operation takes one), then checks
/// the operation's [`Need`] — for a forum, with `forums::find_for_write` (401, 403, or
/// 404 for a forum the caller may not see).
///
/// A refused request's body is never read, so the connection cannot carry another
/// request: the refusal says `Connection: close` (RFC 9112 §9.6) when the request had a
/// body, and the client opens a new connection instead of writing into a closed one.
pub async fn gate(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let has_body = req
        .headers()
        .contains_key(axum::http::header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    match check(&s, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => {
            let mut res = e.into_response();
            if has_body {
                res.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
            res
        }
    }
}

async fn check(s: &AppState, req: Request) -> Result<Request, ApiError> {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let path = path.strip_prefix("/api/v1").unwrap_or(&path).to_owned();
    let Some(need) = need_of(req.method().as_str(), &path) else {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "this operation has no access rule",
        ));
    };
    let token = bearer(&req)?;
    let mut holder = false;
    let caller = match token {
        None => Caller::Anonymous,
        Some(t) if t.starts_with(MANAGE_TOKEN_PREFIX) => {
            if !matches!(need, HolderOr(_)) {
                return Err(Error::Unauthenticated.into());
            }
            holder = true;
            Caller::Anonymous
        }
        Some(t) => accounts::authenticate(&s.db, &t).await?,
    };
    let (mut parts, body) = req.into_parts();
    // The path's segments pass the same edge rule as the `Path` extractor's (one line,
    // no NUL or control characters): anything else names no object — 404, before any
    // look-up.
    if let Ok(raw) = RawPathParams::from_request_parts(&mut parts, &()).await {
        if raw
            .iter()
            .any(|(_, v)| text::check(v, Shape::Line, text::PATH_SEGMENT).is_err())
        {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such object",
            ));
        }
    }
    match need {
        Public => {}
        Account { write } => {
            caller.account_id()?;
            if write && !caller.grant().may_change_account() {
                return Err(Error::Forbidden(
                    "this token's scope does not allow changing the account",
                )
                .into());
            }
        }
        Forum(p) | HolderOr(p) => {
            let anonymous = caller == Caller::Anonymous;
            if matches!(need, Forum(_)) || !(holder || anonymous) {
                let slug = slug_of(&mut parts).await;
                forums::find_for_write(&s.db, &caller, &slug, p).await?;
            }
        }
    }
    if caller != Caller::Anonymous {
        parts.extensions.insert(Authenticated(caller));
    }
    Ok(Request::from_parts(parts, body))
}

/// The path's `{slug}` (empty when absent: no forum has an empty slug, so 404).
async fn slug_of(parts: &mut axum::http::request::Parts) -> String {
    RawPathParams::from_request_parts(parts, &())
        .await
        .ok()
        .and_then(|p| {
            p.iter()
                .find(|(k, _)| *k == "slug")
                .map(|(_, v)| v.to_owned())
        })
        .unwrap_or_default()
}
