//! `/forums/{slug}/speakers`.

use axum::extract::State;
use axum::http::StatusCode;
use convene_domain::speakers::{self, SpeakerInput, SpeakerView};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::extract::{Auth, Json, Organizer, Path};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_speakers, create_speaker))
        .routes(routes!(get_speaker, update_speaker, delete_speaker))
}

/// List the people on a forum's programme, by name.
#[utoipa::path(get, path = "/forums/{slug}/speakers", tag = "speakers", params(("slug" = String, Path)),
    responses((status = 200, body = convene_domain::util::Page<SpeakerView>), (status = 404, body = Problem)))]
async fn list_speakers(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<convene_domain::util::Page<SpeakerView>>> {
    Ok(axum::Json(convene_domain::util::Page::whole(
        speakers::list(&s.db, &caller, &slug).await?,
    )))
}

/// Add a person to the programme.
#[utoipa::path(post, path = "/forums/{slug}/speakers", tag = "speakers", params(("slug" = String, Path)), request_body = SpeakerInput, security(("bearer" = [])),
    responses((status = 201, body = SpeakerView), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn create_speaker(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Json(input): Json<SpeakerInput>,
) -> ApiResult<(StatusCode, axum::Json<SpeakerView>)> {
    let sp = speakers::create(&s.db, &caller, &slug, input).await?;
    Ok((StatusCode::CREATED, axum::Json(SpeakerView::from(&sp))))
}

/// Read a person.
#[utoipa::path(get, path = "/forums/{slug}/speakers/{id}", tag = "speakers", params(("slug" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = SpeakerView), (status = 404, body = Problem)))]
async fn get_speaker(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<axum::Json<SpeakerView>> {
    Ok(axum::Json(speakers::get(&s.db, &caller, &slug, id).await?))
}

/// Change a person.
#[utoipa::path(patch, path = "/forums/{slug}/speakers/{id}", tag = "speakers", params(("slug" = String, Path), ("id" = Uuid, Path)), request_body = SpeakerInput, security(("bearer" = [])),
    responses((status = 200, body = SpeakerView), (status = 422, body = Problem)))]
async fn update_speaker(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
    Json(input): Json<SpeakerInput>,
) -> ApiResult<axum::Json<SpeakerView>> {
    Ok(axum::Json(SpeakerView::from(
        &speakers::update(&s.db, &caller, &slug, id, input).await?,
    )))
}

/// Remove a person and their roles on sessions.
#[utoipa::path(delete, path = "/forums/{slug}/speakers/{id}", tag = "speakers", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_speaker(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    speakers::delete(&s.db, &caller, &slug, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
