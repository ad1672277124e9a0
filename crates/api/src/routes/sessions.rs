//! `/forums/{slug}/sessions`: the programme.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use convene_domain::effects;
use convene_domain::sessions::{self, NewSession, SessionPatch, SessionQuery, SessionView};
use convene_domain::util::Page;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::etag_headers;
use crate::extract::{Auth, IfMatch, Json, Organizer, Path, Query};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions, create_session))
        .routes(routes!(get_session, update_session, delete_session))
        .routes(routes!(cancel_session))
}

/// List sessions by start time; filter by programme day (local date in the forum's zone),
/// room, track, kind, status; cursor pagination.
#[utoipa::path(get, path = "/forums/{slug}/sessions", tag = "sessions", params(("slug" = String, Path), SessionQuery),
    responses((status = 200, body = Page<SessionView>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_sessions(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
    Query(q): Query<SessionQuery>,
) -> ApiResult<axum::Json<Page<SessionView>>> {
    Ok(axum::Json(
        sessions::list(&s.db, &caller, &slug, q).await?.1,
    ))
}

/// Create a session. 409 when it ends before it starts, its room is booked, or one of its
/// people is in an overlapping session; the problem names the other session.
#[utoipa::path(post, path = "/forums/{slug}/sessions", tag = "sessions", params(("slug" = String, Path)), request_body = NewSession, security(("bearer" = [])),
    responses((status = 201, body = SessionView), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_session(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Json(input): Json<NewSession>,
) -> ApiResult<impl IntoResponse> {
    let v = effects::sessions::create(&s.db, &caller, &slug, input).await?;
    Ok((StatusCode::CREATED, etag_headers(v.version), axum::Json(v)))
}

/// Read a session, with its local times.
#[utoipa::path(get, path = "/forums/{slug}/sessions/{id}", tag = "sessions", params(("slug" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = SessionView, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_session(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    let v = sessions::get(&s.db, &caller, &slug, id).await?;
    Ok((etag_headers(v.version), axum::Json(v)))
}

/// Change a session (`If-Match` honoured; same conflict rules as create).
#[utoipa::path(patch, path = "/forums/{slug}/sessions/{id}", tag = "sessions", params(("slug" = String, Path), ("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    request_body = SessionPatch, security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_session(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
    im: IfMatch,
    Json(patch): Json<SessionPatch>,
) -> ApiResult<impl IntoResponse> {
    let v = effects::sessions::update(&s.db, &caller, &slug, id, im.as_deref(), patch).await?;
    Ok((etag_headers(v.version), axum::Json(v)))
}

/// Cancel a session (kept on record; frees its room and people).
#[utoipa::path(post, path = "/forums/{slug}/sessions/{id}/cancel", tag = "sessions", params(("slug" = String, Path), ("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 412, body = Problem)))]
async fn cancel_session(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
    im: IfMatch,
) -> ApiResult<impl IntoResponse> {
    let v = effects::sessions::cancel(&s.db, &caller, &slug, id, im.as_deref()).await?;
    Ok((etag_headers(v.version), axum::Json(v)))
}

/// Delete a session for good (prefer cancel on a published programme).
#[utoipa::path(delete, path = "/forums/{slug}/sessions/{id}", tag = "sessions", params(("slug" = String, Path), ("id" = Uuid, Path), ("If-Match" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem), (status = 412, body = Problem)))]
async fn delete_session(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
    im: IfMatch,
) -> ApiResult<StatusCode> {
    effects::sessions::delete(&s.db, &caller, &slug, id, im.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
