//! `/forums/{slug}/registrations…`: the form, public registration, the participant's own
//! registration (manage token), organizer decisions and views, sign-ups, check-in.

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::IntoResponse;
use convene_domain::accounts::Caller;
use convene_domain::registrations::admin::{self, RegistrationQuery, RegistrationStats};
use convene_domain::registrations::checkin::{self, CheckIn, CheckInResult};
use convene_domain::registrations::signups::{self, SignupView};
use convene_domain::registrations::{
    self, Actor, NewRegistration, Outcome, PromoteOptions, Question, Reason, RegistrationCreated,
    RegistrationForm, RegistrationPatch, RegistrationView, MANAGE_TOKEN_PREFIX,
};
use convene_domain::util::Page;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::extract::{Auth, IdempotencyKey, Json, Organizer, Path, Query};
use crate::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

/// The public endpoints that are rate-limited per IP.
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_registrations, register))
        .routes(routes!(resend_link))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_form, put_form))
        .routes(routes!(get_registration, update_registration))
        .routes(routes!(cancel_registration))
        .routes(routes!(approve_registration))
        .routes(routes!(reject_registration))
        .routes(routes!(promote_registration))
        .routes(routes!(rotate_token))
        .routes(routes!(agenda))
        .routes(routes!(list_signups))
        .routes(routes!(join_session, leave_session))
        .routes(routes!(stats))
        .routes(routes!(registrations_csv))
        .routes(routes!(check_in))
        .routes(routes!(public_participants))
}

/// The public list of participants: confirmed participants who consented, with name,
/// organization, city and country only, by arrival; 404 unless the forum turned
/// `public_participant_list` on.
#[utoipa::path(get, path = "/forums/{slug}/participants", tag = "registrations", params(("slug" = String, Path), admin::PublicListQuery),
    responses((status = 200, body = Page<admin::PublicParticipant>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn public_participants(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
    Query(q): Query<admin::PublicListQuery>,
) -> ApiResult<axum::Json<Page<admin::PublicParticipant>>> {
    Ok(axum::Json(
        admin::public_list(&s.db, &caller, &slug, q).await?,
    ))
}

/// Who calls a registration endpoint: a manage token (`Authorization: Bearer cvn_reg_…`
/// or `?token=cvn_reg_…`), else the organizer caller of [`Auth`].
pub struct RegActor(pub Actor);

impl<S> FromRequestParts<S> for RegActor
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        let query = parts.uri.query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        });
        if let Some(t) = bearer.clone().or(query) {
            if t.starts_with(MANAGE_TOKEN_PREFIX) {
                return Ok(RegActor(Actor::Participant(t)));
            }
            if bearer.is_none() {
                return Err(convene_domain::Error::Unauthenticated.into());
            }
        }
        let Auth(c) = Auth::from_request_parts(parts, state).await?;
        Ok(RegActor(Actor::Staff(c)))
    }
}

fn require_actor(a: &Actor) -> ApiResult<()> {
    if matches!(a, Actor::Staff(Caller::Anonymous)) {
        return Err(convene_domain::Error::Unauthenticated.into());
    }
    Ok(())
}

/// Read the forum's registration form: its custom questions (the standard fields are
/// always asked; see `NewRegistration`).
#[utoipa::path(get, path = "/forums/{slug}/registration-form", tag = "registrations", params(("slug" = String, Path)),
    responses((status = 200, body = RegistrationForm), (status = 404, body = Problem)))]
async fn get_form(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<RegistrationForm>> {
    Ok(axum::Json(
        registrations::get_form(&s.db, &caller, &slug).await?,
    ))
}

/// Body of `PUT /forums/{slug}/registration-form`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormInput {
    /// The questions, replacing the current ones.
    pub questions: Vec<Question>,
}

/// Replace the forum's custom questions (organizer).
#[utoipa::path(put, path = "/forums/{slug}/registration-form", tag = "registrations", params(("slug" = String, Path)), request_body = FormInput, security(("bearer" = [])),
    responses((status = 200, body = RegistrationForm), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_form(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Json(input): Json<FormInput>,
) -> ApiResult<axum::Json<RegistrationForm>> {
    Ok(axum::Json(
        registrations::put_form(&s.db, &caller, &slug, input.questions).await?,
    ))
}

/// Register for a published forum inside its registration window (public; rate-limited
/// per IP).
///
/// Open mode: `confirmed` while seats remain, else `waitlisted`; approval mode:
/// `pending`. Answers 201 with the registration and its manage token (shown once).
/// `Idempotency-Key` (IETF httpapi Idempotency-Key draft): the same key and body again →
/// the same registration (200, with a fresh manage token); another body → 422; while the
/// first is in flight → 409 `idempotency-key-in-flight`. Keys expire 24 hours after their
/// first use (server setting `registration.idempotency_ttl_seconds`): after that the same
/// key is a new request, and expired keys are deleted. An e-mail with a live registration
/// (pending, confirmed, wait-listed or rejected) → 409 `already-registered` (nothing of
/// the existing registration is shown; its manage link is e-mailed). After a
/// cancellation the person may register again: a new registration (new id, place at the
/// end of the queue, manage token and check-in code); the cancelled one stays. Window
/// closed or forum not published → 409 `registration-closed`. Too many requests → 429.
#[utoipa::path(post, path = "/forums/{slug}/registrations", tag = "registrations",
    params(("slug" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe for 24 hours (then the key is a new request); 1–200 visible ASCII characters")),
    request_body = NewRegistration,
    responses((status = 201, body = RegistrationCreated), (status = 200, body = RegistrationCreated, description = "idempotent replay"),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn register(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    Json(input): Json<NewRegistration>,
) -> ApiResult<impl IntoResponse> {
    let prepared = registrations::prepare(&s.db, &slug, input, key).await?;
    Ok(match s.registrar.register(prepared).await? {
        Outcome::Created(c) => (StatusCode::CREATED, axum::Json(absolute(&s, *c))),
        Outcome::Replayed(c) => (StatusCode::OK, axum::Json(absolute(&s, *c))),
    })
}

/// The manage link of an answer, placed under `http.public_base_url` (the domain gives a
/// path; see `convene_domain::links`).
fn absolute(s: &AppState, mut c: RegistrationCreated) -> RegistrationCreated {
    c.manage_url = s.links.absolute(&c.manage_url);
    c
}

/// Body of `POST /forums/{slug}/registrations/resend-link`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendInput {
    /// The e-mail registered.
    #[serde(
        deserialize_with = "convene_domain::text::line::<{ convene_domain::text::EMAIL }, _, _>"
    )]
    #[schema(max_length = 254)]
    pub email: String,
}

/// E-mail the manage link again (public; rate-limited per IP, at most one mail per
/// registration per minute). Always 202: the answer does not tell whether the e-mail is
/// registered.
#[utoipa::path(post, path = "/forums/{slug}/registrations/resend-link", tag = "registrations", params(("slug" = String, Path)), request_body = ResendInput,
    responses((status = 202), (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn resend_link(
    State(s): State<AppState>,
    Path(slug): Path<String>,
    Json(input): Json<ResendInput>,
) -> ApiResult<StatusCode> {
    registrations::resend_link(&s.db, &slug, &input.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// List and search the forum's registrations by arrival (check-in staff and up).
#[utoipa::path(get, path = "/forums/{slug}/registrations", tag = "registrations", params(("slug" = String, Path), RegistrationQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<RegistrationView>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_registrations(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Query(q): Query<RegistrationQuery>,
) -> ApiResult<axum::Json<Page<RegistrationView>>> {
    Ok(axum::Json(admin::list(&s.db, &caller, &slug, q).await?))
}

/// Read one registration: its holder (manage token) or check-in staff and up. Another
/// participant's token → 404; a wrong or revoked token → 401.
#[utoipa::path(get, path = "/forums/{slug}/registrations/{id}", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RegistrationView), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_registration(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<axum::Json<RegistrationView>> {
    require_actor(&actor)?;
    Ok(axum::Json(
        registrations::get(&s.db, &actor, &slug, id).await?,
    ))
}

/// Change one's details (holder or organizer); the e-mail cannot change.
#[utoipa::path(patch, path = "/forums/{slug}/registrations/{id}", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), request_body = RegistrationPatch, security(("bearer" = [])),
    responses((status = 200, body = RegistrationView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_registration(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id)): Path<(String, Uuid)>,
    Json(p): Json<RegistrationPatch>,
) -> ApiResult<axum::Json<RegistrationView>> {
    require_actor(&actor)?;
    Ok(axum::Json(
        registrations::update(&s.db, &actor, &slug, id, p).await?,
    ))
}

/// Cancel a registration (holder or organizer; optional reason). Frees its seat and
/// session seats; the longest-waiting person is promoted in the same transaction.
#[utoipa::path(post, path = "/forums/{slug}/registrations/{id}/cancel", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), request_body(content = Option<Reason>), security(("bearer" = [])),
    responses((status = 200, body = RegistrationView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_registration(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id)): Path<(String, Uuid)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<RegistrationView>> {
    require_actor(&actor)?;
    let reason = optional_body::<Reason>(&body)?;
    Ok(axum::Json(
        registrations::cancel(&s.db, &actor, &slug, id, reason).await?,
    ))
}

fn optional_body<T: serde::de::DeserializeOwned + Default>(b: &[u8]) -> ApiResult<T> {
    if b.iter().all(|c| c.is_ascii_whitespace()) {
        Ok(T::default())
    } else {
        crate::extract::parse_json(b)
    }
}

/// Approve a pending registration (organizer): confirmed if a seat is free, else
/// wait-listed.
#[utoipa::path(post, path = "/forums/{slug}/registrations/{id}/approve", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RegistrationView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn approve_registration(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<axum::Json<RegistrationView>> {
    Ok(axum::Json(
        registrations::approve(&s.db, &caller, &slug, id).await?,
    ))
}

/// Reject a registration (organizer; optional reason). A confirmed one frees its seat.
#[utoipa::path(post, path = "/forums/{slug}/registrations/{id}/reject", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), request_body(content = Option<Reason>), security(("bearer" = [])),
    responses((status = 200, body = RegistrationView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn reject_registration(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<RegistrationView>> {
    let reason = optional_body::<Reason>(&body)?;
    Ok(axum::Json(
        registrations::reject(&s.db, &caller, &slug, id, reason).await?,
    ))
}

/// Move a wait-listed person to confirmed by hand (organizer), ahead of the queue. Needs
/// a free seat, or `raise_capacity: true` (capacity + 1); else 409 `capacity-reached`.
#[utoipa::path(post, path = "/forums/{slug}/registrations/{id}/promote", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), request_body(content = Option<PromoteOptions>), security(("bearer" = [])),
    responses((status = 200, body = RegistrationView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn promote_registration(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, id)): Path<(String, Uuid)>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<RegistrationView>> {
    let opts = optional_body::<PromoteOptions>(&body)?;
    Ok(axum::Json(
        registrations::promote(&s.db, &caller, &slug, id, opts).await?,
    ))
}

/// Revoke every manage token of the registration and issue a new one (holder or
/// organizer). Old tokens answer 401 afterwards.
#[utoipa::path(post, path = "/forums/{slug}/registrations/{id}/manage-token", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RegistrationCreated), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn rotate_token(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<axum::Json<RegistrationCreated>> {
    require_actor(&actor)?;
    Ok(axum::Json(absolute(
        &s,
        registrations::rotate_token(&s.db, &actor, &slug, id).await?,
    )))
}

/// The participant's personal agenda: the sessions where they hold a seat, as RFC 5545
/// with the forum's VTIMEZONE (same UIDs as `schedule.ics`).
#[utoipa::path(get, path = "/forums/{slug}/registrations/{id}/agenda.ics", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn agenda(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    require_actor(&actor)?;
    let (_, body) = signups::agenda(&s.db, &actor, &slug, id, &s.links).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    ))
}

/// The registration's session sign-ups (holder or check-in staff and up).
#[utoipa::path(get, path = "/forums/{slug}/registrations/{id}/signups", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Page<SignupView>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn list_signups(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id)): Path<(String, Uuid)>,
) -> ApiResult<axum::Json<Page<SignupView>>> {
    require_actor(&actor)?;
    Ok(axum::Json(Page::whole(
        signups::list(&s.db, &actor, &slug, id).await?,
    )))
}

/// Take a seat in a session (or its wait-list) — confirmed participants only (holder or
/// organizer). 409 `session-clash` names an overlapping session already signed up for.
#[utoipa::path(put, path = "/forums/{slug}/registrations/{id}/signups/{session_id}", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path), ("session_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = SignupView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn join_session(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id, session_id)): Path<(String, Uuid, Uuid)>,
) -> ApiResult<axum::Json<SignupView>> {
    require_actor(&actor)?;
    Ok(axum::Json(
        signups::join(&s.db, &actor, &slug, id, session_id).await?,
    ))
}

/// Leave a session (holder or organizer); the seat goes to the next in line.
#[utoipa::path(delete, path = "/forums/{slug}/registrations/{id}/signups/{session_id}", tag = "registrations", params(("slug" = String, Path), ("id" = Uuid, Path), ("session_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = SignupView), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn leave_session(
    State(s): State<AppState>,
    RegActor(actor): RegActor,
    Path((slug, id, session_id)): Path<(String, Uuid, Uuid)>,
) -> ApiResult<axum::Json<SignupView>> {
    require_actor(&actor)?;
    Ok(axum::Json(
        signups::leave(&s.db, &actor, &slug, id, session_id).await?,
    ))
}

/// Counts by status, category and country; attendance per forum and session (check-in
/// staff and up).
#[utoipa::path(get, path = "/forums/{slug}/registration-stats", tag = "registrations", params(("slug" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = RegistrationStats), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn stats(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<RegistrationStats>> {
    Ok(axum::Json(admin::stats(&s.db, &caller, &slug).await?))
}

/// The participants as CSV (organizers), filtered like the list. Cells that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) get a leading `'`.
#[utoipa::path(get, path = "/forums/{slug}/registrations.csv", tag = "registrations", params(("slug" = String, Path), RegistrationQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn registrations_csv(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Query(q): Query<RegistrationQuery>,
) -> ApiResult<impl IntoResponse> {
    let body = admin::export_csv(&s.db, &caller, &slug, q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{slug}-participants.csv\""),
            ),
        ],
        body,
    ))
}

/// Mark a participant present, by registration id or badge code, at the forum or at a
/// session (check-in staff and up). Idempotent (`already_checked_in`). Cancelled,
/// rejected, pending or wait-listed → 409 `registration-not-confirmed`.
#[utoipa::path(post, path = "/forums/{slug}/check-ins", tag = "registrations", params(("slug" = String, Path)), request_body = CheckIn, security(("bearer" = [])),
    responses((status = 200, body = CheckInResult), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn check_in(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Json(input): Json<CheckIn>,
) -> ApiResult<axum::Json<CheckInResult>> {
    Ok(axum::Json(
        checkin::check_in(&s.db, &caller, &slug, input).await?,
    ))
}
