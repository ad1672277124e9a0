//! `/forums/{slug}/notifications`: the forum's outbox, for organizers — what is still to
//! be sent, what failed for good (`dead`, with the last error), and retrying a dead one.

use axum::extract::State;
use convene_domain::notifications::{self, NotificationQuery, NotificationView};
use convene_domain::util::Page;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::extract::{Organizer, Path, Query};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(retry_notification))
}

/// List the forum's notifications, oldest first: by default the pending and the dead
/// ones (`?status=` picks one status). Organizers only. The template data is not shown.
#[utoipa::path(get, path = "/forums/{slug}/notifications", tag = "notifications", params(("slug" = String, Path), NotificationQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<NotificationView>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn list_notifications(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Query(q): Query<NotificationQuery>,
) -> ApiResult<axum::Json<Page<NotificationView>>> {
    Ok(axum::Json(
        notifications::list(&s.db, &caller, &slug, q).await?,
    ))
}

/// Put a dead notification back in the queue: attempts start again from zero and the
/// worker sends it at once. 409 `invalid-state` unless it is dead.
#[utoipa::path(post, path = "/forums/{slug}/notifications/{id}/retry", tag = "notifications", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = NotificationView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn retry_notification(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<axum::Json<NotificationView>> {
    Ok(axum::Json(
        notifications::retry(&s.db, &caller, &slug, id).await?,
    ))
}
