//! convene's HTTP API (axum), under `/api/v1`.
//!
//! Handlers are thin: they extract the caller and input, call one operation of
//! `convene-domain`, and shape the answer (JSON, ETag, problem). The OpenAPI 3.1 document
//! is generated from the handlers' annotations and served at `/api/v1/openapi.json`, with
//! a Swagger UI at `/api/v1/docs/` whose assets are compiled into the binary.

#![allow(clippy::result_large_err)] // ApiError carries the whole problem body; rare path.

pub mod access;
pub mod extract;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod problem;
pub mod ratelimit;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use sea_orm::DatabaseConnection;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Every public URL (pages, e-mailed links, exports, iCalendar UIDs), from
    /// `http.public_base_url`.
    pub links: convene_domain::links::Links,
    /// Rendered schedule exports, keyed by forum and format, tagged by versions.
    pub exports: Arc<routes::schedule::ExportCache>,
    /// Registrations go through it (group commit per forum, idempotency keys in flight).
    pub registrar: Arc<convene_domain::registrations::batcher::Registrar>,
    /// Per-IP limits of the public registration endpoints.
    pub rate_limits: ratelimit::RateLimits,
    /// The public pages' CSRF key and rendered programme days.
    pub pages: Arc<pages::PagesState>,
    /// Health, readiness and metrics settings (see [`ops`]).
    pub ops: Arc<ops::Ops>,
}

impl AppState {
    /// State for a server on `db` reachable at `links`' base URL, with empty caches.
    pub fn new(
        db: DatabaseConnection,
        links: convene_domain::links::Links,
        registrar: Arc<convene_domain::registrations::batcher::Registrar>,
        rate_limits: ratelimit::RateLimits,
    ) -> Self {
        AppState {
            db,
            links,
            exports: Default::default(),
            registrar,
            rate_limits,
            pages: Arc::new(pages::PagesState::default()),
            ops: Default::default(),
        }
    }

    /// The same state with these operations settings (readiness checks, `/metrics`).
    pub fn with_ops(mut self, ops: ops::Ops) -> Self {
        self.ops = Arc::new(ops);
        self
    }

    /// Signs the pages' CSRF tokens with a key derived from `secret` (`http.page_secret`;
    /// every process serving pages must share it). Without it each process has its own
    /// random key.
    pub fn with_page_secret(mut self, secret: Option<&str>) -> Self {
        self.pages = Arc::new(pages::PagesState::new(secret));
        self
    }
}

/// The largest request body accepted anywhere (schedule files), bytes; each endpoint has
/// its own, smaller or equal, limit ([`limits`]).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "convene",
        description = "The backend that runs municipal forums: programme, registrations, declarations.\n\nErrors are RFC 9457 `application/problem+json`; `registration-closed` (409) carries `closed_at` or `opens_at`. Instants are RFC 3339; local times are given with the forum's IANA time zone. A session's `starts_at`/`ends_at` may be sent without an offset: local time in the forum's zone (a time that does not exist there, or happens twice, is 422). Registration closes at `registration_closes_at`, else when the forum ends (the end of its last programme day); a session takes sign-ups until it starts. Every PATCH body is a JSON Merge Patch (RFC 7396): absent members stay, `null` removes, objects (e.g. registration `answers`) merge. Writes need `Authorization: Bearer <API token>`.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/api/v1", description = "this server")),
    modifiers(&BearerAuth),
    tags(
        (name = "forums", description = "Forums and their lifecycle"),
        (name = "rooms", description = "Rooms of a forum"),
        (name = "speakers", description = "People on the programme"),
        (name = "sessions", description = "The programme"),
        (name = "schedule", description = "frab/c3voc schedule import and export, iCalendar"),
        (name = "declarations", description = "Declarations, their versions and translations"),
        (name = "signatures", description = "Signatures, the public list, counts and exports"),
        (name = "ledger", description = "The tamper-evident ledger of signatures and its verification"),
        (name = "notifications", description = "The forum's outgoing e-mail: pending, dead, retry"),
        (name = "registrations", description = "Registration, wait-list, sign-ups, check-in"),
        (name = "teams", description = "A forum's team and roles; the caller's API tokens"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

fn api(state: Option<AppState>) -> OpenApiRouter<AppState> {
    let public = routes::registrations::public_router();
    let public = match state {
        Some(st) => public.layer(axum::middleware::from_fn_with_state(st, ratelimit::limit)),
        None => public,
    };
    use limits::{body_limit, DECLARATION_BODY_BYTES, DEFAULT_BODY_BYTES};
    use limits::{IMPORT_BODY_BYTES, REGISTRATION_BODY_BYTES};
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(body_limit(routes::forums::router(), DEFAULT_BODY_BYTES))
        .merge(body_limit(routes::rooms::router(), DEFAULT_BODY_BYTES))
        .merge(body_limit(routes::speakers::router(), DEFAULT_BODY_BYTES))
        .merge(body_limit(routes::sessions::router(), DEFAULT_BODY_BYTES))
        .merge(body_limit(routes::schedule::router(), IMPORT_BODY_BYTES))
        .merge(body_limit(
            routes::registrations::router(),
            DEFAULT_BODY_BYTES,
        ))
        .merge(body_limit(public, REGISTRATION_BODY_BYTES))
        .merge(body_limit(
            routes::declarations::router(),
            DECLARATION_BODY_BYTES,
        ))
        .merge(body_limit(
            routes::notifications::router(),
            DEFAULT_BODY_BYTES,
        ))
        .merge(body_limit(routes::teams::router(), DEFAULT_BODY_BYTES))
}

/// Builds the whole router: `/healthz`, `/readyz`, `/metrics` ([`ops`]), `/api/v1/…`,
/// `/api/v1/openapi.json`, `/api/v1/docs/`, and the public pages (`/`, `/forums/…`,
/// `/assets/…`; see [`pages`]). An unknown path under `/api/` is a problem+json 404, any
/// other an HTML 404 page.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api(Some(state.clone())).split_for_parts();
    let openapi = openapi::finish(openapi);
    let links = state.links.clone();
    let ops_state = state.ops.clone();
    Router::new()
        .merge(ops::router(state.clone()))
        .nest(
            "/api/v1",
            api.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                access::gate,
            ))
            .with_state(state.clone()),
        )
        .merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", openapi))
        .merge(pages::router(state))
        .fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
                if uri.path().starts_with("/api/") {
                    axum::response::IntoResponse::into_response(problem::ApiError::new(
                        axum::http::StatusCode::NOT_FOUND,
                        "not-found",
                        "Not found",
                        "no such resource",
                    ))
                } else {
                    pages::not_found(&links, &uri, &headers)
                }
            },
        )
        .method_not_allowed_fallback(|| async {
            problem::ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this resource does not support that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(limits::problem_413))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(problem::ApiError::internal())
        }))
        // gzip and brotli (tower-http) for every answer the client accepts them for, at
        // quality 4 of both: most of the size gain at a small share of the CPU of the
        // maximum (brotli 11 would take tens of ms for a large schedule).
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Precise(4)),
        )
        .layer(axum::middleware::from_fn_with_state(
            ops_state,
            ops::observe,
        ))
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::finish(api(None).split_for_parts().1)
}
