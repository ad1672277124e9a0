//! `/forums/{slug}/declarations`: declarations, their versions and translations,
//! signatures (online with an e-mailed confirmation link, in person), the public list,
//! counts and exports, and the tamper-evident ledger with its verification.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use convene_domain::declarations::ledger::VerifyReport;
use convene_domain::declarations::signatures::{
    self, Counts, Idempotency, LedgerPage, LedgerQuery, NewSignature, PublicQuery, PublicSignature,
    ResendBody, SignatureView, Signed, TokenBody, WithdrawBody,
};
use convene_domain::declarations::{
    self, DeclarationPatch, DeclarationView, NewDeclaration, NewText, OpenRequest, VersionView,
};
use convene_domain::util::Page;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::etag_headers;
use crate::extract::{Auth, IdempotencyKey, IfMatch, Json, Organizer, Path, Query};
use crate::problem::{ApiResult, Problem};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_declarations, create_declaration))
        .routes(routes!(get_declaration, update_declaration))
        .routes(routes!(open_declaration))
        .routes(routes!(close_declaration))
        .routes(routes!(list_versions, add_version))
        .routes(routes!(get_version))
        .routes(routes!(add_translation))
        .routes(routes!(public_list, sign_online))
        .routes(routes!(sign_in_person))
        .routes(routes!(confirm_get, confirm_post))
        .routes(routes!(resend))
        .routes(routes!(withdraw_by_signatory))
        .routes(routes!(withdraw_by_organizer))
        .routes(routes!(erase_signature))
        .routes(routes!(signatures_csv))
        .routes(routes!(export_json))
        .routes(routes!(counts))
        .routes(routes!(ledger))
        .routes(routes!(verify))
}

/// The declarations of a forum (drafts only for its members).
#[utoipa::path(get, path = "/forums/{slug}/declarations", tag = "declarations", params(("slug" = String, Path)),
    responses((status = 200, body = Page<DeclarationView>), (status = 404, body = Problem)))]
async fn list_declarations(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<Page<DeclarationView>>> {
    Ok(axum::Json(Page::whole(
        declarations::list(&s.db, &caller, &slug).await?,
    )))
}

/// Create a draft declaration (organizer).
#[utoipa::path(post, path = "/forums/{slug}/declarations", tag = "declarations", params(("slug" = String, Path)), request_body = NewDeclaration, security(("bearer" = [])),
    responses((status = 201, body = DeclarationView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_declaration(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path(slug): Path<String>,
    Json(input): Json<NewDeclaration>,
) -> ApiResult<impl IntoResponse> {
    let v = declarations::create(&s.db, &caller, &slug, input).await?;
    Ok((StatusCode::CREATED, etag_headers(v.version), axum::Json(v)))
}

/// Read a declaration: its effective status (the server closes it at `closes_at` by
/// itself), the version under signature, the ledger head.
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}", tag = "declarations", params(("slug" = String, Path), ("decl" = String, Path)),
    responses((status = 200, body = DeclarationView, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_declaration(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let v = declarations::get(&s.db, &caller, &slug, &decl).await?;
    Ok((etag_headers(v.version), axum::Json(v)))
}

/// Change the title or the signature window (`If-Match` honoured).
#[utoipa::path(patch, path = "/forums/{slug}/declarations/{decl}", tag = "declarations", params(("slug" = String, Path), ("decl" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = DeclarationPatch, security(("bearer" = [])),
    responses((status = 200, body = DeclarationView), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_declaration(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl)): Path<(String, String)>,
    im: IfMatch,
    Json(patch): Json<DeclarationPatch>,
) -> ApiResult<impl IntoResponse> {
    let v = declarations::update(&s.db, &caller, &slug, &decl, im.as_deref(), patch).await?;
    Ok((etag_headers(v.version), axum::Json(v)))
}

/// Open for signature with a version (default the latest): from draft, from closed (a
/// re-open), or from open to another version with `reopen: true`. Existing signatures
/// stay bound to the version they signed. Body optional.
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/open", tag = "declarations", params(("slug" = String, Path), ("decl" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = Option<OpenRequest>, security(("bearer" = [])),
    responses((status = 200, body = DeclarationView), (status = 409, body = Problem), (status = 412, body = Problem)))]
async fn open_declaration(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl)): Path<(String, String)>,
    im: IfMatch,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    let req: OpenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        OpenRequest::default()
    } else {
        crate::extract::parse_json(&body)?
    };
    let v = declarations::open(&s.db, &caller, &slug, &decl, im.as_deref(), req).await?;
    Ok((etag_headers(v.version), axum::Json(v)))
}

/// Close the declaration: no more signatures.
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/close", tag = "declarations", params(("slug" = String, Path), ("decl" = String, Path), ("If-Match" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, body = DeclarationView), (status = 409, body = Problem), (status = 412, body = Problem)))]
async fn close_declaration(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl)): Path<(String, String)>,
    im: IfMatch,
) -> ApiResult<impl IntoResponse> {
    let v = declarations::close(&s.db, &caller, &slug, &decl, im.as_deref()).await?;
    Ok((etag_headers(v.version), axum::Json(v)))
}

/// The versions of the text (without texts), with their SHA-256 and languages.
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/versions", tag = "declarations", params(("slug" = String, Path), ("decl" = String, Path)),
    responses((status = 200, body = Page<VersionView>), (status = 404, body = Problem)))]
async fn list_versions(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
) -> ApiResult<axum::Json<Page<VersionView>>> {
    Ok(axum::Json(Page::whole(
        declarations::versions(&s.db, &caller, &slug, &decl).await?,
    )))
}

/// Add a new immutable version (numbered n+1) in the authoritative language.
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/versions", tag = "declarations", params(("slug" = String, Path), ("decl" = String, Path)),
    request_body = NewText, security(("bearer" = [])),
    responses((status = 201, body = VersionView), (status = 422, body = Problem)))]
async fn add_version(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl)): Path<(String, String)>,
    Json(input): Json<NewText>,
) -> ApiResult<impl IntoResponse> {
    let v = declarations::add_version(&s.db, &caller, &slug, &decl, input).await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

/// `?lang=` of a version.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct LangQuery {
    /// Language of the text (default: the authoritative one).
    #[serde(
        default,
        deserialize_with = "convene_domain::text::line::<{ convene_domain::text::CODE }, _, _>"
    )]
    #[param(max_length = 100)]
    lang: Option<String>,
}

/// A version's text, in any of its languages.
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/versions/{number}", tag = "declarations",
    params(("slug" = String, Path), ("decl" = String, Path), ("number" = i32, Path), LangQuery),
    responses((status = 200, body = VersionView), (status = 404, body = Problem)))]
async fn get_version(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl, number)): Path<(String, String, i32)>,
    Query(q): Query<LangQuery>,
) -> ApiResult<axum::Json<VersionView>> {
    Ok(axum::Json(
        declarations::get_version(&s.db, &caller, &slug, &decl, number, q.lang.as_deref()).await?,
    ))
}

/// Add a translation of a version (immutable; one per language).
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/versions/{number}/translations", tag = "declarations",
    params(("slug" = String, Path), ("decl" = String, Path), ("number" = i32, Path)), request_body = NewText, security(("bearer" = [])),
    responses((status = 201, body = VersionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_translation(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl, number)): Path<(String, String, i32)>,
    Json(input): Json<NewText>,
) -> ApiResult<impl IntoResponse> {
    let v = declarations::add_translation(&s.db, &caller, &slug, &decl, number, input).await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

/// The public list: confirmed, consenting, live signatures, without e-mails; filter by
/// country and entity kind; cursor pagination.
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/signatures", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path), PublicQuery),
    responses((status = 200, body = Page<PublicSignature>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn public_list(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Query(q): Query<PublicQuery>,
) -> ApiResult<axum::Json<Page<PublicSignature>>> {
    Ok(axum::Json(
        signatures::public_list(&s.db, &caller, &slug, &decl, q).await?,
    ))
}

/// Sign online. The signature is pending until confirmed through the link e-mailed to
/// `email` (202). One live signature per entity and per e-mail: 409 `already-signed`.
/// `Idempotency-Key`: the same key and body again within 24 hours (the server's
/// `registration.idempotency_ttl_seconds`) → the first answer (200), nothing new written
/// and no second e-mail; another body → 422.
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/signatures", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe for 24 hours; 1–200 visible ASCII characters")),
    request_body = NewSignature,
    responses((status = 202, body = SignatureView), (status = 200, body = SignatureView, description = "idempotent replay"),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn sign_online(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    IdempotencyKey(key): IdempotencyKey,
    Json(input): Json<NewSignature>,
) -> ApiResult<impl IntoResponse> {
    let idem = idempotency(&s, key);
    let signed = signatures::sign_online(&s.db, &caller, &slug, &decl, input, idem).await?;
    Ok(answer(signed, StatusCode::ACCEPTED))
}

/// Record a signature made in person (organizer, kept as witness); confirmed at once.
/// `Idempotency-Key` as for online signatures (replay → 200).
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/signatures/in-person", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe for 24 hours; 1–200 visible ASCII characters")),
    request_body = NewSignature, security(("bearer" = [])),
    responses((status = 201, body = SignatureView), (status = 200, body = SignatureView, description = "idempotent replay"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn sign_in_person(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl)): Path<(String, String)>,
    IdempotencyKey(key): IdempotencyKey,
    Json(input): Json<NewSignature>,
) -> ApiResult<impl IntoResponse> {
    let idem = idempotency(&s, key);
    let signed = signatures::sign_in_person(&s.db, &caller, &slug, &decl, input, idem).await?;
    Ok(answer(signed, StatusCode::CREATED))
}

/// The key with the server's key lifetime (shared with registrations).
fn idempotency(s: &AppState, key: Option<String>) -> Option<Idempotency> {
    key.map(|key| Idempotency {
        key,
        ttl: s.registrar.idempotency_ttl(),
    })
}

/// `created` for a new signature, 200 for a replay.
fn answer(signed: Signed, created: StatusCode) -> (StatusCode, axum::Json<SignatureView>) {
    match signed {
        Signed::New(v) => (created, axum::Json(v)),
        Signed::Replayed(v) => (StatusCode::OK, axum::Json(v)),
    }
}

/// `?token=` of the confirmation link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct TokenQuery {
    /// The `cvn_sig_…` token of the e-mailed link.
    #[serde(
        deserialize_with = "convene_domain::text::line::<{ convene_domain::text::CODE }, _, _>"
    )]
    #[param(max_length = 100)]
    token: String,
}

/// What a signatory token would confirm, read-only: the pending signature it belongs to.
/// GET never changes state (mail scanners fetch every link), so this no longer confirms:
/// confirm with `POST …/signatures/confirm` (the e-mailed link opens the confirmation
/// page, whose button does that). 404 for an unknown token or one of another declaration.
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/signatures/confirm", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path), TokenQuery),
    responses((status = 200, body = SignatureView), (status = 404, body = Problem)))]
async fn confirm_get(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
) -> ApiResult<axum::Json<SignatureView>> {
    Ok(axum::Json(
        signatures::by_signatory_token(&s.db, &caller, &slug, &decl, &q.token).await?,
    ))
}

/// Confirm a signature with the token in the body (`{"token": "cvn_sig_…"}`).
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/signatures/confirm", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path)), request_body = TokenBody,
    responses((status = 200, body = SignatureView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn confirm_post(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Json(b): Json<TokenBody>,
) -> ApiResult<axum::Json<SignatureView>> {
    Ok(axum::Json(
        signatures::confirm(&s.db, &caller, &slug, &decl, &b.token).await?,
    ))
}

/// Ask for the confirmation e-mail again (new link; rate-limited). Always 202, whether
/// or not a pending signature has that e-mail.
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/signatures/resend", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path)), request_body = ResendBody,
    responses((status = 202), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn resend(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Json(b): Json<ResendBody>,
) -> ApiResult<impl IntoResponse> {
    signatures::resend(&s.db, &caller, &slug, &decl, &b.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({"status": "accepted"})),
    ))
}

/// The signatory withdraws (token of the e-mail), while the declaration is open.
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/signatures/withdraw", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path)), request_body = TokenBody,
    responses((status = 200, body = SignatureView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn withdraw_by_signatory(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Json(b): Json<TokenBody>,
) -> ApiResult<axum::Json<SignatureView>> {
    Ok(axum::Json(
        signatures::withdraw_by_signatory(&s.db, &caller, &slug, &decl, b).await?,
    ))
}

/// An organizer withdraws a signature, with a reason (kept on record).
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/signatures/{id}/withdraw", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path), ("id" = Uuid, Path)), request_body = WithdrawBody, security(("bearer" = [])),
    responses((status = 200, body = SignatureView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn withdraw_by_organizer(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl, id)): Path<(String, String, Uuid)>,
    Json(b): Json<WithdrawBody>,
) -> ApiResult<axum::Json<SignatureView>> {
    Ok(axum::Json(
        signatures::withdraw_by_organizer(&s.db, &caller, &slug, &decl, id, b).await?,
    ))
}

/// Erase a signatory's personal data (withdrawing a live signature first). The ledger
/// keeps verifying: it holds only salted hashes of those fields.
#[utoipa::path(post, path = "/forums/{slug}/declarations/{decl}/signatures/{id}/erase", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = SignatureView), (status = 404, body = Problem)))]
async fn erase_signature(
    State(s): State<AppState>,
    Organizer(caller): Organizer,
    Path((slug, decl, id)): Path<(String, String, Uuid)>,
) -> ApiResult<axum::Json<SignatureView>> {
    Ok(axum::Json(
        signatures::erase(&s.db, &caller, &slug, &decl, id).await?,
    ))
}

/// The whole public list as CSV (same filters, no pagination).
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/signatures.csv", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path), PublicQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = Problem)))]
async fn signatures_csv(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Query(q): Query<PublicQuery>,
) -> ApiResult<impl IntoResponse> {
    let items = signatures::public_export(&s.db, &caller, &slug, &decl, q).await?;
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        crate::ops::export_cache_control(&caller),
    );
    Ok((h, signatures::to_csv(&items)))
}

/// The whole public list as a JSON array (same filters, no pagination).
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/signatures.json", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path), PublicQuery),
    responses((status = 200, body = Vec<PublicSignature>), (status = 404, body = Problem)))]
async fn export_json(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Query(q): Query<PublicQuery>,
) -> ApiResult<impl IntoResponse> {
    let items = signatures::public_export(&s.db, &caller, &slug, &decl, q).await?;
    Ok((
        [(
            header::CACHE_CONTROL,
            crate::ops::export_cache_control(&caller),
        )],
        axum::Json(items),
    ))
}

/// Live counts of the public list by country and entity kind.
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/counts", tag = "signatures",
    params(("slug" = String, Path), ("decl" = String, Path)),
    responses((status = 200, body = Counts), (status = 404, body = Problem)))]
async fn counts(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
) -> ApiResult<axum::Json<Counts>> {
    Ok(axum::Json(
        signatures::counts(&s.db, &caller, &slug, &decl).await?,
    ))
}

/// The ledger: head hash and entries (format: LEDGER.md), paged by `after`.
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/ledger", tag = "ledger",
    params(("slug" = String, Path), ("decl" = String, Path), LedgerQuery),
    responses((status = 200, body = LedgerPage), (status = 404, body = Problem)))]
async fn ledger(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
    Query(q): Query<LedgerQuery>,
) -> ApiResult<axum::Json<LedgerPage>> {
    Ok(axum::Json(
        signatures::ledger_page(&s.db, &caller, &slug, &decl, q).await?,
    ))
}

/// Re-verify the whole ledger now; `ok: false` names the first entry that no longer
/// matches (200 either way: the answer is the verification's result).
#[utoipa::path(get, path = "/forums/{slug}/declarations/{decl}/ledger/verify", tag = "ledger",
    params(("slug" = String, Path), ("decl" = String, Path)),
    responses((status = 200, body = VerifyReport), (status = 404, body = Problem)))]
async fn verify(
    State(s): State<AppState>,
    Auth(caller): Auth,
    Path((slug, decl)): Path<(String, String)>,
) -> ApiResult<axum::Json<VerifyReport>> {
    Ok(axum::Json(
        signatures::verify(&s.db, &caller, &slug, &decl).await?,
    ))
}
