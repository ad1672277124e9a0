//! A forum's team (`/forums/{slug}/members`) and the caller's API tokens (`/tokens`).
//! Who may call each is in [`crate::access::OPERATIONS`]; the rules are the domain's
//! (`teams::members`, `accounts::tokens`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use convene_domain::accounts::tokens::{self, IssuedToken, NewToken, TokenQuery, TokenView};
use convene_domain::teams::members::{self, Member, MemberPatch, MemberQuery, NewMember};
use convene_domain::util::Page;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::extract::{Auth, Json, Path, Query};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, add_member))
        .routes(routes!(update_member, remove_member))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// List the forum's team, ordered by account id (the team: `read`).
#[utoipa::path(get, path = "/forums/{slug}/members", tag = "teams", params(("slug" = String, Path), MemberQuery), security(("bearer" = [])),
    responses((status = 200, description = "one page of members", body = Page<Member>), (status = 401, description = "no or a bad credential", body = Problem), (status = 403, description = "the role does not allow it", body = Problem), (status = 404, description = "no such forum", body = Problem)))]
async fn list_members(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
    Query(q): Query<MemberQuery>,
) -> ApiResult<axum::Json<Page<Member>>> {
    Ok(axum::Json(members::list(&s.db, &caller, &slug, q).await?))
}

/// Add a person to the team by e-mail with a role; the account is created if there is
/// none (owners: `manage-team`). 409 when they are already a member.
#[utoipa::path(post, path = "/forums/{slug}/members", tag = "teams", params(("slug" = String, Path)), request_body = NewMember, security(("bearer" = [])),
    responses((status = 201, description = "the new member", body = Member), (status = 401, description = "no or a bad credential", body = Problem), (status = 403, description = "the role does not allow it", body = Problem), (status = 404, description = "no such forum", body = Problem), (status = 409, description = "already a member", body = Problem), (status = 422, description = "invalid input", body = Problem)))]
async fn add_member(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
    Json(input): Json<NewMember>,
) -> ApiResult<impl IntoResponse> {
    let m = members::add(&s.db, &caller, &slug, input).await?;
    Ok((StatusCode::CREATED, axum::Json(m)))
}

/// Change a member's role (owners). 409 when it would leave the forum without an owner.
#[utoipa::path(patch, path = "/forums/{slug}/members/{account}", tag = "teams", params(("slug" = String, Path), ("account" = Uuid, Path)), request_body = MemberPatch, security(("bearer" = [])),
    responses((status = 200, description = "the member", body = Member), (status = 401, description = "no or a bad credential", body = Problem), (status = 403, description = "the role does not allow it", body = Problem), (status = 404, description = "no such forum or member", body = Problem), (status = 409, description = "the last owner", body = Problem), (status = 422, description = "invalid input", body = Problem)))]
async fn update_member(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, account)): Path<(String, Uuid)>,
    Json(input): Json<MemberPatch>,
) -> ApiResult<axum::Json<Member>> {
    Ok(axum::Json(
        members::set_role(&s.db, &caller, &slug, account, input.role).await?,
    ))
}

/// Remove a member (owners). 409 for the last owner.
#[utoipa::path(delete, path = "/forums/{slug}/members/{account}", tag = "teams", params(("slug" = String, Path), ("account" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204, description = "removed"), (status = 401, description = "no or a bad credential", body = Problem), (status = 403, description = "the role does not allow it", body = Problem), (status = 404, description = "no such forum or member", body = Problem), (status = 409, description = "the last owner", body = Problem)))]
async fn remove_member(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, account)): Path<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    members::remove(&s.db, &caller, &slug, account).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the caller's live tokens: name, scope, forum, created, expires and last-used
/// times — never the secret.
#[utoipa::path(get, path = "/tokens", tag = "teams", params(TokenQuery), security(("bearer" = [])),
    responses((status = 200, description = "one page of tokens", body = Page<TokenView>), (status = 401, description = "no or a bad credential", body = Problem)))]
async fn list_tokens(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<TokenQuery>,
) -> ApiResult<axum::Json<Page<TokenView>>> {
    Ok(axum::Json(tokens::list(&s.db, &caller, q).await?))
}

/// Issue a named token, optionally expiring and narrower (`read`, `checkin`, one forum).
/// The secret is in this answer only.
#[utoipa::path(post, path = "/tokens", tag = "teams", request_body = NewToken, security(("bearer" = [])),
    responses((status = 201, description = "the token, with its secret shown once", body = IssuedToken), (status = 401, description = "no or a bad credential", body = Problem), (status = 403, description = "a scoped token cannot issue tokens", body = Problem), (status = 404, description = "no such forum (or not a member)", body = Problem), (status = 422, description = "invalid input", body = Problem)))]
async fn create_token(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Json(input): Json<NewToken>,
) -> ApiResult<impl IntoResponse> {
    let t = tokens::create(&s.db, &caller, input).await?;
    Ok((StatusCode::CREATED, axum::Json(t)))
}

/// Revoke one of the caller's tokens; it answers 401 from then on.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "teams", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204, description = "revoked"), (status = 401, description = "no or a bad credential", body = Problem), (status = 403, description = "a scoped token cannot revoke tokens", body = Problem), (status = 404, description = "no such token of this account", body = Problem)))]
async fn revoke_token(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&s.db, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
