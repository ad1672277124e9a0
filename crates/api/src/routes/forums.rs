//! `/forums`: create, list, read, update, publish / close / archive, delete drafts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use convene_domain::accounts::Caller;
use convene_domain::effects;
use convene_domain::forums::{self, ForumPatch, ForumQuery, ForumStatus, ForumView, NewForum};
use convene_domain::util::Page;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::etag_headers;
use crate::extract::{Auth, IfMatch, Json, Organizer, Path, Query};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_forums, create_forum))
        .routes(routes!(get_forum, update_forum, delete_forum))
        .routes(routes!(publish_forum))
        .routes(routes!(close_forum))
        .routes(routes!(archive_forum))
}

/// List the forums the caller may see (published, closed and archived ones; drafts of
/// forums the caller is a member of), ordered by slug.
#[utoipa::path(get, path = "/forums", tag = "forums", params(ForumQuery),
    responses((status = 200, body = Page<ForumView>), (status = 422, body = Problem)))]
async fn list_forums(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<ForumQuery>,
) -> ApiResult<axum::Json<Page<ForumView>>> {
    Ok(axum::Json(forums::list(&s.db, &caller, q).await?))
}

/// Create a forum (status `draft`); the caller becomes its owner.
#[utoipa::path(post, path = "/forums", tag = "forums", request_body = NewForum, security(("bearer" = [])),
    responses((status = 201, body = ForumView), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_forum(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Json(input): Json<NewForum>,
) -> ApiResult<impl IntoResponse> {
    let f = forums::create(&s.db, &caller, input).await?;
    Ok((
        StatusCode::CREATED,
        etag_headers(f.version),
        axum::Json(ForumView::from(&f)),
    ))
}

/// Read one forum. A draft is 404 to anyone but its members.
#[utoipa::path(get, path = "/forums/{slug}", tag = "forums", params(("slug" = String, Path)),
    responses((status = 200, body = ForumView, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_forum(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let a = forums::find_visible(&s.db, &caller, &slug).await?;
    Ok((
        etag_headers(a.forum.version),
        axum::Json(ForumView::from(&a.forum)),
    ))
}

/// Change a forum. Send `If-Match` with the ETag you read: 412 if it changed since.
#[utoipa::path(patch, path = "/forums/{slug}", tag = "forums", params(("slug" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = ForumPatch, security(("bearer" = [])),
    responses((status = 200, body = ForumView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_forum(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    im: IfMatch,
    Json(patch): Json<ForumPatch>,
) -> ApiResult<impl IntoResponse> {
    let f = effects::forums::update(&s.db, &caller, &slug, im.as_deref(), patch).await?;
    Ok((etag_headers(f.version), axum::Json(ForumView::from(&f))))
}

/// Delete a draft forum and all it holds (owner only).
#[utoipa::path(delete, path = "/forums/{slug}", tag = "forums", params(("slug" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_forum(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    forums::delete(&s.db, &caller, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn transition(
    s: AppState,
    caller: Caller,
    slug: String,
    im: IfMatch,
    to: ForumStatus,
) -> ApiResult<impl IntoResponse> {
    let f = effects::forums::transition(&s.db, &caller, &slug, im.as_deref(), to).await?;
    Ok((etag_headers(f.version), axum::Json(ForumView::from(&f))))
}

/// Publish a draft (or re-open a closed forum): it becomes public.
#[utoipa::path(post, path = "/forums/{slug}/publish", tag = "forums", params(("slug" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ForumView), (status = 409, body = Problem)))]
async fn publish_forum(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    im: IfMatch,
) -> ApiResult<impl IntoResponse> {
    transition(s, caller, slug, im, ForumStatus::Published).await
}

/// Close a published forum.
#[utoipa::path(post, path = "/forums/{slug}/close", tag = "forums", params(("slug" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ForumView), (status = 409, body = Problem)))]
async fn close_forum(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    im: IfMatch,
) -> ApiResult<impl IntoResponse> {
    transition(s, caller, slug, im, ForumStatus::Closed).await
}

/// Archive a closed forum.
#[utoipa::path(post, path = "/forums/{slug}/archive", tag = "forums", params(("slug" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ForumView), (status = 409, body = Problem)))]
async fn archive_forum(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    im: IfMatch,
) -> ApiResult<impl IntoResponse> {
    transition(s, caller, slug, im, ForumStatus::Archived).await
}
