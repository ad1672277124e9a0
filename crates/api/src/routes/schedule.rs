//! Schedules in and out: frab XML, c3voc JSON, iCalendar.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use convene_domain::forums::{self, ForumView};
use convene_domain::schedule::{self, store, IcalOptions};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::extract::{Auth, Organizer, Path, Query};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(schedule_json))
        .routes(routes!(schedule_xml))
        .routes(routes!(schedule_ics))
        .routes(routes!(import_schedule))
        .routes(routes!(import_new_forum))
}

async fn programme(
    s: &AppState,
    caller: &convene_domain::accounts::Caller,
    slug: &str,
) -> ApiResult<(forums::ForumAccess, schedule::Programme, Vec<u32>)> {
    let access = forums::find_visible(&s.db, caller, slug).await?;
    let (p, seq) = store::load(&s.db, &access, &s.public_base_url).await?;
    Ok((access, p, seq))
}

/// The live programme as c3voc schedule JSON (v1; validates against
/// `schedule.schema.json`), as read by Giggity, EventFahrplan and the c3voc tools.
#[utoipa::path(get, path = "/forums/{slug}/schedule.json", tag = "schedule", params(("slug" = String, Path)),
    responses((status = 200, content_type = "application/json", body = String), (status = 404, body = Problem)))]
async fn schedule_json(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (a, p, _) = programme(&s, &caller, &slug).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        schedule::export_c3voc_json(&p, a.tz()),
    ))
}

/// The live programme as frab schedule XML (validates against `schedule.xml.xsd`).
#[utoipa::path(get, path = "/forums/{slug}/schedule.xml", tag = "schedule", params(("slug" = String, Path)),
    responses((status = 200, content_type = "application/xml", body = String), (status = 404, body = Problem)))]
async fn schedule_xml(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (a, p, _) = programme(&s, &caller, &slug).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        schedule::export_frab_xml(&p, a.tz()),
    ))
}

/// The live programme as an RFC 5545 calendar with the forum's VTIMEZONE; UIDs are
/// stable across exports and SEQUENCE rises with each change of a session.
#[utoipa::path(get, path = "/forums/{slug}/schedule.ics", tag = "schedule", params(("slug" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = Problem)))]
async fn schedule_ics(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (a, p, seq) = programme(&s, &caller, &slug).await?;
    let host = s
        .public_base_url
        .split("://")
        .nth(1)
        .unwrap_or("convene.local")
        .split(['/', ':'])
        .next()
        .unwrap_or("convene.local")
        .to_owned();
    let opts = IcalOptions {
        uid_domain: host,
        generated_at: a.forum.updated_at,
        calendar_name: a.forum.title.clone(),
        sequences: Some(seq),
        method: Some("PUBLISH".into()),
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.ics\"", a.forum.slug),
            ),
        ],
        schedule::export_ical(&p, a.tz(), &opts),
    ))
}

/// Import a frab XML or c3voc JSON file (the request body, any content type) into a
/// forum: sessions are matched by guid — created, updated, or cancelled when gone. One
/// transaction: a malformed file (422, with the location of the first problem) or a
/// double-booked room (409) writes nothing.
#[utoipa::path(post, path = "/forums/{slug}/schedule/import", tag = "schedule", params(("slug" = String, Path)),
    request_body(content = String, content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 200, body = store::ImportReport), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn import_schedule(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    body: Bytes,
) -> ApiResult<axum::Json<store::ImportReport>> {
    Ok(axum::Json(
        store::import_into(&s.db, &caller, &slug, &body).await?,
    ))
}

/// Query of `POST /forums/import`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct NewForumImportQuery {
    /// Slug of the new forum (default: from the file's acronym).
    slug: Option<String>,
    /// IANA time zone when the file names none (frab XML).
    time_zone: Option<String>,
}

/// A forum created from a schedule file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ImportedForum {
    forum: ForumView,
    report: store::ImportReport,
}

/// Create a new draft forum from a schedule file's conference header and import its
/// programme; the caller becomes owner.
#[utoipa::path(post, path = "/forums/import", tag = "schedule", params(NewForumImportQuery),
    request_body(content = String, content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 201, body = ImportedForum), (status = 401, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn import_new_forum(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Query(q): Query<NewForumImportQuery>,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    caller.account_id()?;
    let (forum, report) = store::import_new_forum(
        &s.db,
        Some(&caller),
        None,
        &body,
        store::NewForumOptions {
            slug: q.slug,
            time_zone: q.time_zone,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ImportedForum {
            forum: ForumView::from(&forum),
            report,
        }),
    ))
}
