//! The public pages: server-rendered HTML outside `/api/v1` for participants, signatories
//! and the public (DESIGN.md, "Public pages"; issue 12).
//!
//! - Templates: minijinja, `templates/*.html` compiled into the binary, auto-escaped; one
//!   base layout (`base.html`: `<html lang dir>`, skip link, landmarks, language switcher).
//! - Words: Fluent catalogs `locales/<lang>/pages.ftl` ([`i18n`]); templates call
//!   `t("key", name=value)`. Dates and times in the forum's zone, named, offset written.
//! - One stylesheet ([`assets`]), no script, no external resource; a strict CSP and the
//!   other headers of [`security`]; compressed answers (gzip, brotli).
//! - Handlers are thin: they call the same domain operations as the API (no rule lives
//!   here) and shape the answer. Every URL comes from [`convene_domain::links::Links`].
//! - GET never changes state. Forms carry CSRF protection ([`security`]); a token that
//!   arrives in a URL moves into a cookie scoped to its one object, then a 303 to the clean
//!   URL.
//!
//! A draft forum (or anything the public may not see) is the same rendered 404 as a
//! forum that does not exist.

mod assets;
mod declaration;
mod forum;
pub mod i18n;
mod registration;
pub mod security;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use minijinja::Environment;
use serde::Serialize;
use serde_json::{json, Value};

use crate::AppState;
use convene_domain::links::Links;
use i18n::Lang;

/// What the pages keep across requests: the CSRF key and rendered programme days.
pub struct PagesState {
    /// Signs the forms' CSRF tokens.
    pub csrf: security::CsrfKey,
    /// Rendered programme days: `(forum id, day, language, language from ?lang=)` →
    /// `(tag, HTML)`. The tag holds the forum's programme and row versions and its
    /// declarations' versions, so any change misses (as the schedule exports do).
    pub(crate) programme: quick_cache::sync::Cache<ProgrammeKey, (String, Bytes)>,
}

pub(crate) type ProgrammeKey = (uuid::Uuid, chrono::NaiveDate, &'static str, bool);

impl PagesState {
    /// Days kept rendered (e.g. 5 languages × 4 days × ~50 forums).
    pub const CAPACITY: usize = 1024;

    /// State with the CSRF key from `page_secret` (see [`security::CsrfKey::new`]).
    pub fn new(page_secret: Option<&str>) -> PagesState {
        PagesState {
            csrf: security::CsrfKey::new(page_secret),
            programme: quick_cache::sync::Cache::new(Self::CAPACITY),
        }
    }
}

impl Default for PagesState {
    fn default() -> Self {
        PagesState::new(None)
    }
}

/// The pages' routes (relative to the deployment), with their headers and compression.
pub fn router(state: AppState) -> Router {
    let d = "/forums/{slug}/declarations/{decl}";
    Router::new()
        .route("/", get(forum::index))
        .route(&assets::css_path(), get(assets::css))
        .route("/forums/{slug}", get(forum::home))
        .route("/forums/{slug}/programme", get(forum::programme_index))
        .route("/forums/{slug}/programme/{day}", get(forum::programme_day))
        .route("/forums/{slug}/sessions/{id}", get(forum::session))
        .route(
            "/forums/{slug}/sessions/{id}/calendar.ics",
            get(forum::session_ics),
        )
        .route("/forums/{slug}/speakers", get(forum::speakers))
        .route("/forums/{slug}/speakers/{id}", get(forum::speaker))
        .route(
            "/forums/{slug}/register",
            get(registration::form_page).post(registration::submit),
        )
        .route(
            "/forums/{slug}/registrations/{id}",
            get(registration::manage),
        )
        .route(
            "/forums/{slug}/registrations/{id}/details",
            post(registration::details),
        )
        .route(
            "/forums/{slug}/registrations/{id}/signups/{session}",
            post(registration::join),
        )
        .route(
            "/forums/{slug}/registrations/{id}/signups/{session}/leave",
            post(registration::leave),
        )
        .route(
            "/forums/{slug}/registrations/{id}/agenda.ics",
            get(registration::agenda),
        )
        .route(
            "/forums/{slug}/registrations/{id}/cancel",
            get(registration::cancel_page).post(registration::cancel),
        )
        .route(
            "/forums/{slug}/registrations/{id}/link",
            post(registration::fresh_link),
        )
        .route(d, get(declaration::show))
        .route(&format!("{d}/sign"), axum::routing::post(declaration::sign))
        .route(&format!("{d}/signatories"), get(declaration::signatories))
        .route(&format!("{d}/ledger"), get(declaration::ledger))
        .route(&format!("{d}/confirm"), get(declaration::confirm_entry))
        .route(&format!("{d}/withdraw"), get(declaration::withdraw_entry))
        .route(
            &format!("{d}/signatures/{{id}}"),
            get(declaration::signature),
        )
        .route(
            &format!("{d}/signatures/{{id}}/confirm"),
            get(declaration::confirm_page).post(declaration::confirm_post),
        )
        .route(
            &format!("{d}/signatures/{{id}}/withdraw"),
            get(declaration::withdraw_page).post(declaration::withdraw_post),
        )
        .with_state(state)
        .layer(axum::middleware::from_fn(security::headers_layer))
}

// ---------------------------------------------------------------------------------------
// Templates

static ENGINE: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, src) in TEMPLATES {
        env.add_template(name, src)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env.add_function("t", t_function);
    env
});

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("error.html", include_str!("templates/error.html")),
    ("index.html", include_str!("templates/index.html")),
    ("forum.html", include_str!("templates/forum.html")),
    ("programme.html", include_str!("templates/programme.html")),
    ("session.html", include_str!("templates/session.html")),
    ("speakers.html", include_str!("templates/speakers.html")),
    ("speaker.html", include_str!("templates/speaker.html")),
    (
        "declaration.html",
        include_str!("templates/declaration.html"),
    ),
    (
        "signatories.html",
        include_str!("templates/signatories.html"),
    ),
    ("ledger.html", include_str!("templates/ledger.html")),
    ("signature.html", include_str!("templates/signature.html")),
    ("continue.html", include_str!("templates/continue.html")),
    (
        "registration.html",
        include_str!("templates/registration.html"),
    ),
    ("register.html", include_str!("templates/register.html")),
    ("cancel.html", include_str!("templates/cancel.html")),
];

/// `t("key", name=value, …)` in templates: the catalog text of the page's language.
fn t_function(
    state: &minijinja::State,
    key: String,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    let code = state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "en".into());
    let lang = i18n::by_code(&code).unwrap_or(&i18n::LANGS[0]);
    let mut args: Vec<(
        String,
        fluent_templates::fluent_bundle::FluentValue<'static>,
    )> = vec![];
    for k in kwargs.args() {
        let v: minijinja::Value = kwargs.get(k)?;
        let fv = match v.as_i64() {
            Some(n) => n.into(),
            None => v.to_string().into(),
        };
        args.push((k.to_owned(), fv));
    }
    let refs: Vec<(&str, _)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok(lang.t(&key, &refs))
}

// ---------------------------------------------------------------------------------------
// One page being answered

/// What a page handler knows of its request: path, `?lang=`, headers.
pub struct Req {
    /// Path as received (under the deployment; the prefix is added to links).
    pub path: String,
    /// `?lang=` when given.
    pub lang: Option<String>,
    /// The raw query.
    pub query: Option<String>,
    /// Request headers.
    pub headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for Req {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Req::of(&parts.uri, &parts.headers))
    }
}

impl Req {
    fn of(uri: &Uri, headers: &HeaderMap) -> Req {
        let query = uri.query().map(str::to_owned);
        let lang = query.as_deref().and_then(|q| query_param(q, "lang"));
        Req {
            path: uri.path().to_owned(),
            lang,
            query,
            headers: headers.clone(),
        }
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.as_deref().and_then(|q| query_param(q, name))
    }
}

fn query_param(q: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The page's language, URL prefix and path: everything the layout needs besides the
/// page's own data.
#[derive(Clone)]
pub struct Pg {
    /// The reader's language.
    pub lang: &'static Lang,
    /// Whether it came from `?lang=` (then internal links carry it on).
    pub explicit: bool,
    /// The base URL's path prefix.
    pub prefix: String,
    /// The request's path (for the language switcher).
    pub path: String,
}

/// The forum part of the layout's navigation.
#[derive(Debug, Clone, Serialize)]
pub struct Nav {
    title: String,
    home: String,
    programme: String,
    speakers: String,
    declarations: Vec<NavLink>,
}

#[derive(Debug, Clone, Serialize)]
struct NavLink {
    href: String,
    title: String,
}

impl Pg {
    /// Chooses the language for `req` (`?lang=`, `Accept-Language`, `forum_default`).
    pub fn new(links: &Links, req: &Req, forum_default: Option<&str>) -> Pg {
        let accept = req
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let (lang, explicit) = i18n::negotiate(req.lang.as_deref(), accept, forum_default);
        Pg {
            lang,
            explicit,
            prefix: links.prefix().to_owned(),
            path: req.path.clone(),
        }
    }

    /// `?lang=xx` when the language came from the query, else empty.
    pub fn lq(&self) -> String {
        if self.explicit {
            format!("?lang={}", self.lang.code)
        } else {
            String::new()
        }
    }

    /// A path of the deployment under the prefix.
    pub fn href(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    /// Catalog text.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key, &[])
    }

    fn base(&self, nav: Option<&Nav>) -> serde_json::Map<String, Value> {
        let languages: Vec<Value> = i18n::LANGS
            .iter()
            .map(|l| {
                json!({
                    "code": l.code,
                    "name": l.name,
                    "current": std::ptr::eq(l, self.lang),
                    "href": format!("{}{}?lang={}", self.prefix, self.path, l.code),
                })
            })
            .collect();
        let mut m = serde_json::Map::new();
        m.insert("lang".into(), json!(self.lang.code));
        m.insert("dir".into(), json!(self.lang.dir()));
        m.insert("css".into(), json!(self.href(&assets::css_path())));
        m.insert("prefix".into(), json!(self.prefix));
        m.insert("lq".into(), json!(self.lq()));
        m.insert("languages".into(), Value::Array(languages));
        m.insert("nav".into(), json!(nav));
        m
    }

    /// Renders template `name` with the layout's data and `data` (an object).
    pub fn render(&self, name: &str, nav: Option<&Nav>, data: Value) -> Result<String, PageError> {
        let mut ctx = self.base(nav);
        if let Value::Object(m) = data {
            ctx.extend(m);
        }
        ENGINE
            .get_template(name)
            .and_then(|t| t.render(minijinja::Value::from_serialize(&ctx)))
            .map_err(|e| {
                tracing::error!(template = name, error = %e, "page template failed");
                self.error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-server-title",
                    self.t("error-server"),
                )
            })
    }

    /// A 200 HTML answer of template `name`.
    pub fn page(&self, name: &str, nav: Option<&Nav>, data: Value) -> Result<Response, PageError> {
        Ok(html(StatusCode::OK, self.render(name, nav, data)?))
    }

    /// An error page.
    pub fn error(&self, status: StatusCode, heading_key: &str, message: String) -> PageError {
        PageError {
            pg: self.clone(),
            status,
            heading: self.t(heading_key),
            message,
            detail: None,
            private: false,
        }
    }

    /// The rendered 404.
    pub fn not_found(&self) -> PageError {
        self.error(
            StatusCode::NOT_FOUND,
            "error-not-found-title",
            self.t("error-not-found"),
        )
    }

    /// The page for a domain error: 404 for anything not found or not visible, the
    /// rule's own words for a conflict, 500 (logged, never shown) for the rest.
    pub fn fail(&self, e: convene_domain::Error) -> PageError {
        use convene_domain::Error as E;
        match e {
            E::NotFound(_) | E::Forbidden(_) | E::Unauthenticated => self.not_found(),
            E::Conflict { message, .. } => {
                self.error(StatusCode::CONFLICT, "error-conflict-title", message)
            }
            E::Validation(errs) => self.error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "error-conflict-title",
                errs.iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            E::Db(ref db) => {
                tracing::error!(error = %db, "database error on a page");
                let unavailable = matches!(
                    db,
                    sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_)
                );
                let mut p = self.error(
                    if unavailable {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::INTERNAL_SERVER_ERROR
                    },
                    "error-server-title",
                    self.t("error-server"),
                );
                p.private = true;
                p
            }
            other => {
                tracing::error!(error = %other, "unexpected error on a page");
                self.error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-server-title",
                    self.t("error-server"),
                )
            }
        }
    }

    /// The forum part of the navigation.
    pub fn nav(&self, forum: &convene_domain::forums::Forum, decls: &[(String, String)]) -> Nav {
        let slug = &forum.slug;
        Nav {
            title: forum.acronym.clone().unwrap_or_else(|| forum.title.clone()),
            home: self.href(&Links::forum_rel(slug)),
            programme: self.href(&Links::programme_rel(slug)),
            speakers: self.href(&Links::speakers_rel(slug)),
            declarations: decls
                .iter()
                .map(|(dslug, title)| NavLink {
                    href: self.href(&Links::declaration_rel(slug, dslug)),
                    title: title.clone(),
                })
                .collect(),
        }
    }
}

/// `text/html; charset=utf-8` with `status`.
pub fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// A page that could not be shown: rendered as an HTML error page in the reader's
/// language.
pub struct PageError {
    pg: Pg,
    status: StatusCode,
    heading: String,
    message: String,
    detail: Option<String>,
    /// Answered with `Cache-Control: no-store`.
    private: bool,
}

impl PageError {
    /// Adds a second line under the message.
    pub fn with_detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    /// Marks the answer private (`no-store`, `no-referrer`): token pages.
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = ENGINE
            .get_template("error.html")
            .and_then(|t| {
                let mut ctx = self.pg.base(None);
                ctx.insert("heading".into(), json!(self.heading));
                ctx.insert("message".into(), json!(self.message));
                ctx.insert("detail".into(), json!(self.detail));
                t.render(minijinja::Value::from_serialize(&ctx))
            })
            .unwrap_or_else(|_| {
                format!("<!DOCTYPE html><title>{0}</title><h1>{0}</h1>", self.status)
            });
        let mut res = html(self.status, body);
        if self.private {
            security::private_headers(res.headers_mut());
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

/// The result of a page handler.
pub type PageResult = Result<Response, PageError>;

/// The HTML 404 for any path outside the API that no page answers (with the pages'
/// headers).
pub fn not_found(links: &Links, uri: &Uri, headers: &HeaderMap) -> Response {
    let req = Req::of(uri, headers);
    let pg = Pg::new(links, &req, None);
    let mut res = pg.not_found().into_response();
    security::page_headers(res.headers_mut());
    res
}

/// Adds `Set-Cookie` values to a response.
pub(crate) fn with_cookies(
    mut res: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// A 303 See Other to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The largest form body a page accepts, bytes.
pub(crate) const MAX_FORM_BYTES: usize = 64 * 1024;

/// A posted `application/x-www-form-urlencoded` form, its fields in order (a name repeats
/// for checkboxes).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Parses a body.
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether `name` was sent (a ticked checkbox).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value of `name` trimmed, `None` when absent or blank.
    pub(crate) fn opt(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

impl Pg {
    /// A form POST's fields once it passed the checks every form passes: at most
    /// [`MAX_FORM_BYTES`] (else 413) and CSRF ([`security::check`]; else 403, nothing
    /// done).
    pub(crate) fn posted(&self, s: &AppState, req: &Req, body: &[u8]) -> Result<Form, PageError> {
        if body.len() > MAX_FORM_BYTES {
            return Err(self.error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "error-conflict-title",
                self.t("error-too-large"),
            ));
        }
        let f = Form::parse(body);
        if security::check(&s.pages.csrf, &req.headers, &s.links, f.get("csrf")).is_err() {
            return Err(self
                .error(
                    StatusCode::FORBIDDEN,
                    "error-csrf-title",
                    self.t("error-csrf"),
                )
                .private());
        }
        Ok(f)
    }

    /// The page for a link whose token is unknown, revoked or for another object.
    pub(crate) fn link_refused(&self) -> PageError {
        self.error(
            StatusCode::NOT_FOUND,
            "error-link-title",
            self.t("error-link"),
        )
        .private()
    }

    /// The capability token in cookie `name`. Without it: once, a page that reloads
    /// itself (`Err(response)`: a browser withholds a `SameSite=Strict` cookie on the
    /// first request after arriving from another site, e.g. a webmail), then the refusal.
    pub(crate) fn token_cookie(
        &self,
        req: &Req,
        name: &str,
    ) -> Result<Result<String, Response>, PageError> {
        if let Some(t) = security::cookie(&req.headers, name) {
            return Ok(Ok(t));
        }
        if req.param("again").is_some() {
            return Err(self.link_refused());
        }
        let next = self.with_query(&self.href(&req.path), "again=1");
        let body = self.render("continue.html", None, json!({ "next": next }))?;
        let mut res = html(StatusCode::OK, body);
        security::private_headers(res.headers_mut());
        Ok(Err(res))
    }

    /// `url` with `pair` added to its query, after `?lang=` when the language came from
    /// the query.
    pub(crate) fn with_query(&self, url: &str, pair: &str) -> String {
        if self.explicit {
            format!("{url}{}&{pair}", self.lq())
        } else {
            format!("{url}?{pair}")
        }
    }

    /// Field errors as the form templates show them: `field → message` (next to the
    /// field) and the summary list (`{field, message}` with the field's label from
    /// `label`). A question's answer (`answers.<id>`) is the field `q-<id>`; every other
    /// path is its first segment. Messages are the domain's, in the reader's language
    /// where the catalog has them ([`i18n::field_message`]).
    pub(crate) fn field_errors(
        &self,
        errs: &[convene_domain::error::FieldError],
        label: impl Fn(&str) -> Option<String>,
    ) -> (BTreeMap<String, String>, Vec<Value>) {
        let mut by = BTreeMap::new();
        let mut list = vec![];
        for e in errs {
            let field = match e.field.strip_prefix("answers.") {
                Some(q) => format!("q-{q}"),
                None => e
                    .field
                    .split(['.', '['])
                    .next()
                    .unwrap_or(&e.field)
                    .to_owned(),
            };
            let message = i18n::field_message(self.lang, &e.message);
            let shown = match label(&field) {
                Some(l) => format!("{l}: {message}"),
                None => message.clone(),
            };
            by.entry(field.clone()).or_insert(message);
            list.push(json!({"field": field, "message": shown}));
        }
        (by, list)
    }
}

/// A random idempotency key for one rendering of a form: sending the same form twice (a
/// double click, a reload) replays the first answer instead of acting twice.
pub(crate) fn new_form_key() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut b = [0u8; 18];
    rand::rng().fill_bytes(&mut b);
    format!(
        "form-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("…")` key used by a template is in every catalog (no English left on an
    /// Arabic page because a key was forgotten).
    #[test]
    fn every_key_in_every_catalog() {
        let mut keys = std::collections::BTreeSet::new();
        for (_, src) in TEMPLATES {
            for part in src.split("t(\"").skip(1) {
                if let Some(end) = part.find('"') {
                    keys.insert(part[..end].to_owned());
                }
            }
            for part in src.split("t('").skip(1) {
                if let Some(end) = part.find('\'') {
                    keys.insert(part[..end].to_owned());
                }
            }
        }
        // Keys built in templates from a prefix and a value, and those used from Rust.
        let dynamic = [
            "registration-open",
            "registration-waitlist",
            "registration-approval",
            "registration-closed",
            "declaration-status-draft",
            "declaration-status-scheduled",
            "declaration-status-open",
            "declaration-status-closed",
            "kind-plenary",
            "kind-panel",
            "kind-workshop",
            "kind-talk",
            "kind-side_event",
            "kind-ceremony",
            "kind-break",
            "kind-other",
            "role-speaker",
            "role-moderator",
            "role-chair",
            "entity-city",
            "entity-region",
            "entity-organization",
            "entity-individual",
            "ledger-kind-confirm",
            "ledger-kind-withdraw",
            "signature-status-pending",
            "signature-status-confirmed",
            "signature-status-withdrawn",
            "signature-status-lapsed",
            "registration-status-pending",
            "registration-status-confirmed",
            "registration-status-waitlisted",
            "registration-status-rejected",
            "registration-status-cancelled",
            "error-not-found-title",
            "error-not-found",
            "error-link-title",
            "error-link",
            "error-conflict-title",
            "error-server-title",
            "error-server",
            "error-csrf-title",
            "error-csrf",
            "signature-heading",
            "signature-confirm-heading",
            "signature-withdraw-heading",
            "confirmed-notice",
            "withdrawn-notice",
            "signature-link-confirm",
            "signature-link-withdraw",
            "signature-link-list",
            "registration-opens",
            "registration-closes",
            "registration-full",
            "category-mayor",
            "category-municipal_official",
            "category-civil_society",
            "category-ngo",
            "category-un_international",
            "category-government",
            "category-academia",
            "category-media",
            "category-other",
            "register-already",
            "register-in-flight",
            "error-too-large",
            "field-required",
            "field-email",
            "field-yes-no",
            "field-one-line",
            "field-country",
            "field-choice",
            "field-choices",
            "field-too-long",
            "registered-notice-confirmed",
            "registered-notice-waitlisted",
            "registered-notice-pending",
            "manage-saved",
            "manage-joined",
            "manage-left",
            "manage-link-sent",
            "manage-cancelled",
            "seats-left",
            "seats-unlimited",
            "signup-clash",
            "registration-status-",
        ];
        keys.extend(dynamic.iter().map(|k| k.to_string()));
        keys.retain(|k| !k.ends_with('-'));
        let mut missing = vec![];
        for l in &i18n::LANGS {
            for k in &keys {
                if !l.has(k) {
                    missing.push(format!("{}: {k}", l.code));
                }
            }
        }
        assert!(missing.is_empty(), "missing catalog keys: {missing:#?}");
    }

    #[test]
    fn every_template_renders_and_the_stylesheet_is_named_by_its_hash() {
        for (name, _) in TEMPLATES {
            assert!(ENGINE.get_template(name).is_ok(), "{name}");
        }
        assert!(assets::css_path().starts_with("/assets/convene."));
        assert_eq!(assets::CSS_NAME.len(), "convene.".len() + 16 + ".css".len());
    }
}
