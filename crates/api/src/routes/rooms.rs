//! `/forums/{slug}/rooms`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use convene_domain::effects;
use convene_domain::rooms::{self, NewRoom, RoomPatch, RoomView};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::etag_headers;
use crate::extract::{Auth, IfMatch, Json, Organizer, Path};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rooms, create_room))
        .routes(routes!(get_room, update_room, delete_room))
}

/// List a forum's rooms in display order.
#[utoipa::path(get, path = "/forums/{slug}/rooms", tag = "rooms", params(("slug" = String, Path)),
    responses((status = 200, body = convene_domain::util::Page<RoomView>), (status = 404, body = Problem)))]
async fn list_rooms(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<convene_domain::util::Page<RoomView>>> {
    Ok(axum::Json(convene_domain::util::Page::whole(
        rooms::list(&s.db, &caller, &slug)
            .await?
            .iter()
            .map(RoomView::from)
            .collect(),
    )))
}

/// Create a room; its name must be unique in the forum (409 otherwise).
#[utoipa::path(post, path = "/forums/{slug}/rooms", tag = "rooms", params(("slug" = String, Path)), request_body = NewRoom, security(("bearer" = [])),
    responses((status = 201, body = RoomView), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_room(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Json(input): Json<NewRoom>,
) -> ApiResult<impl IntoResponse> {
    let r = rooms::create(&s.db, &caller, &slug, input).await?;
    Ok((
        StatusCode::CREATED,
        etag_headers(r.version),
        axum::Json(RoomView::from(&r)),
    ))
}

/// Read a room.
#[utoipa::path(get, path = "/forums/{slug}/rooms/{id}", tag = "rooms", params(("slug" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = RoomView), (status = 404, body = Problem)))]
async fn get_room(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    let r = rooms::get(&s.db, &caller, &slug, id).await?;
    Ok((etag_headers(r.version), axum::Json(RoomView::from(&r))))
}

/// Change a room (`If-Match` honoured).
#[utoipa::path(patch, path = "/forums/{slug}/rooms/{id}", tag = "rooms", params(("slug" = String, Path), ("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    request_body = RoomPatch, security(("bearer" = [])),
    responses((status = 200, body = RoomView), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_room(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
    im: IfMatch,
    Json(patch): Json<RoomPatch>,
) -> ApiResult<impl IntoResponse> {
    let r = effects::rooms::update(&s.db, &caller, &slug, id, im.as_deref(), patch).await?;
    Ok((etag_headers(r.version), axum::Json(RoomView::from(&r))))
}

/// Delete a room no session uses.
#[utoipa::path(delete, path = "/forums/{slug}/rooms/{id}", tag = "rooms", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 409, body = Problem)))]
async fn delete_room(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    rooms::delete(&s.db, &caller, &slug, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
