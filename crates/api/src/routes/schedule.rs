//! Schedules in and out: frab XML, c3voc JSON, iCalendar.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use convene_domain::accounts::Caller;
use convene_domain::effects;
use convene_domain::forums::{self, ForumView};
use convene_domain::schedule::{self, store, IcalOptions};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::extract::{Auth, Organizer, Path, Query, RawBody};
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

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// c3voc schedule JSON v1.
    Json,
    /// frab schedule XML.
    Xml,
    /// RFC 5545 iCalendar.
    Ics,
}

/// Rendered exports: `(forum id, format)` → `(ETag, body)`. The ETag is
/// `"p<programme_version>-f<forum version>"`, so any change to the forum or its programme
/// misses the cache; at most [`ExportCache::CAPACITY`] entries are kept.
pub struct ExportCache(quick_cache::sync::Cache<(uuid::Uuid, ExportFormat), (String, Bytes)>);

impl ExportCache {
    /// Entries kept (three formats of ~85 forums).
    pub const CAPACITY: usize = 256;
}

impl Default for ExportCache {
    fn default() -> Self {
        ExportCache(quick_cache::sync::Cache::new(Self::CAPACITY))
    }
}

/// Answers an export: 304 when `If-None-Match` has the current tag, the cached body when
/// it is current, otherwise renders (one read of the programme) and caches it.
async fn export(
    s: &AppState,
    caller: &Caller,
    slug: &str,
    headers: &HeaderMap,
    format: ExportFormat,
) -> ApiResult<Response> {
    let access = forums::find_visible(&s.db, caller, slug).await?;
    let tag = format!(
        "\"p{}-f{}\"",
        access.forum.programme_version, access.forum.version
    );
    let (content_type, extra) = match format {
        ExportFormat::Json => ("application/json", None),
        ExportFormat::Xml => ("application/xml; charset=utf-8", None),
        ExportFormat::Ics => (
            "text/calendar; charset=utf-8",
            Some(format!(
                "attachment; filename=\"{}.ics\"",
                access.forum.slug
            )),
        ),
    };
    let mut h = HeaderMap::new();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("ascii tag"),
    );
    h.insert(
        header::CACHE_CONTROL,
        crate::ops::export_cache_control(caller),
    );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(d) = extra.and_then(|d| HeaderValue::from_str(&d).ok()) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    let key = (access.forum.id, format);
    if let Some((cached_tag, body)) = s.exports.0.get(&key) {
        if cached_tag == tag {
            return Ok((h, body).into_response());
        }
    }
    let (p, seq) = store::load(&s.db, &access, &s.links).await?;
    let tz = access.tz();
    let body = Bytes::from(match format {
        ExportFormat::Json => schedule::export_c3voc_json(&p, tz),
        ExportFormat::Xml => schedule::export_frab_xml(&p, tz),
        ExportFormat::Ics => {
            let host = s.links.host().to_owned();
            let opts = IcalOptions {
                uid_domain: host,
                generated_at: access.forum.updated_at,
                calendar_name: access.forum.title.clone(),
                sequences: Some(seq),
                method: Some("PUBLISH".into()),
            };
            schedule::export_ical(&p, tz, &opts)
        }
    });
    s.exports.0.insert(key, (tag, body.clone()));
    Ok((h, body).into_response())
}

/// The live programme as c3voc schedule JSON (v1; validates against
/// `schedule.schema.json`), as read by Giggity, EventFahrplan and the c3voc tools.
/// Carries an ETag; `If-None-Match` → 304.
#[utoipa::path(get, path = "/forums/{slug}/schedule.json", tag = "schedule", params(("slug" = String, Path)),
    responses((status = 200, content_type = "application/json", body = serde_json::Value, description = "The c3voc schedule JSON (v1, `schedule.schema.json`)"), (status = 304), (status = 404, body = Problem)))]
async fn schedule_json(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(&s, &caller, &slug, &headers, ExportFormat::Json).await
}

/// The live programme as frab schedule XML (validates against `schedule.xml.xsd`).
/// Carries an ETag; `If-None-Match` → 304.
#[utoipa::path(get, path = "/forums/{slug}/schedule.xml", tag = "schedule", params(("slug" = String, Path)),
    responses((status = 200, content_type = "application/xml", body = String), (status = 304), (status = 404, body = Problem)))]
async fn schedule_xml(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(&s, &caller, &slug, &headers, ExportFormat::Xml).await
}

/// The live programme as an RFC 5545 calendar with the forum's VTIMEZONE; UIDs are
/// stable across exports and SEQUENCE rises with each change of a session.
/// Carries an ETag; `If-None-Match` → 304.
#[utoipa::path(get, path = "/forums/{slug}/schedule.ics", tag = "schedule", params(("slug" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 304), (status = 404, body = Problem)))]
async fn schedule_ics(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    export(&s, &caller, &slug, &headers, ExportFormat::Ics).await
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
    RawBody(body): RawBody,
) -> ApiResult<axum::Json<store::ImportReport>> {
    Ok(axum::Json(
        effects::schedule::import_into(&s.db, &caller, &slug, &body).await?,
    ))
}

/// Query of `POST /forums/import`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct NewForumImportQuery {
    /// Slug of the new forum (default: from the file's acronym).
    #[serde(
        default,
        deserialize_with = "convene_domain::text::line::<{ convene_domain::text::CODE }, _, _>"
    )]
    #[param(max_length = 100)]
    slug: Option<String>,
    /// IANA time zone when the file names none (frab XML).
    #[serde(
        default,
        deserialize_with = "convene_domain::text::line::<{ convene_domain::text::CODE }, _, _>"
    )]
    #[param(max_length = 100)]
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
    RawBody(body): RawBody,
) -> ApiResult<impl IntoResponse> {
    caller.account_id()?;
    let (forum, report) = effects::schedule::import_new_forum(
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
