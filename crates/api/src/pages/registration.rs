//! The participant's pages: the registration form (`/forums/{slug}/register`) and the
//! page the e-mailed manage link opens (`/forums/{slug}/registrations/{id}`).
//!
//! The form is built from the forum's registration form (its custom questions of every
//! kind) and sent to the same `registrations::prepare` and registrar as the JSON API: every
//! rule (and its message) is the domain's; a refused field is shown next to itself and in
//! a summary at the top. The form carries an idempotency key in a hidden field, so sending
//! it twice (a double click, a reload) replays the first registration instead of making a
//! second. A registration leads (303) to its manage page, with its token in the scoped
//! cookie, which shows the outcome (confirmed, wait-listed with position, pending).
//!
//! With `?token=cvn_reg_…` (the e-mailed link) it changes nothing: the token (checked by
//! the same `registrations::get` as the API) moves into a cookie scoped to this one
//! registration, and the browser is sent (303) to the URL without it. Without the token in
//! the URL, the page shows the registration to the cookie's holder. Editing, session
//! sign-ups and cancellation are added on this page by the registration pages.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use convene_domain::error::{ConflictKind, FieldError};
use convene_domain::links::Links;
use convene_domain::registrations::signups;
use convene_domain::registrations::{
    self, Actor, Category, NewRegistration, Outcome, Question, QuestionKind, RegistrationState,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::forum::ForumPage;
use super::{
    html, i18n, new_form_key, security, see_other, with_cookies, Form, PageResult, Pg, Req,
};
use crate::AppState;

/// The cookie holding a participant's manage token (Path: their registration's page).
pub const REG_COOKIE: &str = "convene_reg";

/// A participant's registration page being answered: the forum, the registration id and
/// the holder's token (from the scoped cookie), and the registration as its holder sees it.
struct RegPage {
    fp: ForumPage,
    id: Uuid,
    actor: Actor,
    r: registrations::RegistrationView,
}

impl RegPage {
    /// Loads it for `GET`/`POST …/registrations/{id}/…`: `Err(response)` is the page that
    /// reloads itself once when the cookie did not come (see [`Pg::token_cookie`]).
    async fn load(
        s: &AppState,
        req: &Req,
        slug: &str,
        id: &str,
    ) -> Result<Result<RegPage, axum::response::Response>, super::PageError> {
        let fp = ForumPage::load(s, req, slug).await?;
        let pg = &fp.pg;
        let id = Uuid::parse_str(id).map_err(|_| pg.not_found())?;
        let token = match pg.token_cookie(req, REG_COOKIE)? {
            Ok(t) => t,
            Err(res) => return Ok(Err(res)),
        };
        let actor = Actor::Participant(token);
        let r = registrations::get(&s.db, &actor, slug, id)
            .await
            .map_err(|_| pg.link_refused())?;
        Ok(Ok(RegPage { fp, id, actor, r }))
    }

    fn pg(&self) -> &Pg {
        &self.fp.pg
    }

    fn slug(&self) -> &str {
        &self.fp.access.forum.slug
    }

    /// `…/registrations/{id}` under the prefix.
    fn base(&self) -> String {
        self.pg()
            .href(&Links::registration_rel(self.slug(), self.id))
    }

    /// 303 back to the manage page with `done=<what>`.
    fn back(&self, what: &str) -> axum::response::Response {
        let mut res = see_other(&self.pg().with_query(&self.base(), &format!("done={what}")));
        security::private_headers(res.headers_mut());
        res
    }
}

/// Loads the page or answers with the reload page.
macro_rules! reg_page {
    ($s:expr, $req:expr, $slug:expr, $id:expr) => {
        match RegPage::load(&$s, &$req, &$slug, &$id).await? {
            Ok(p) => p,
            Err(res) => return Ok(res),
        }
    };
}

/// `GET /forums/{slug}/registrations/{id}[?token=…]`: with `?token=` (the e-mailed link)
/// the token moves into the scoped cookie and the browser is sent to the clean URL;
/// without, the holder's page: status, details and their form, session sign-ups with
/// seats left, the agenda, the check-in code as a QR code, a fresh link, cancellation.
pub async fn manage(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
) -> PageResult {
    if let Some(token) = req.param("token") {
        let fp = ForumPage::load(&s, &req, &slug).await?;
        let pg = &fp.pg;
        let id = Uuid::parse_str(&id).map_err(|_| pg.not_found())?;
        let scope = pg.href(&Links::registration_rel(&slug, id));
        registrations::get(&s.db, &Actor::Participant(token.clone()), &slug, id)
            .await
            .map_err(|_| pg.link_refused())?;
        let cookie = security::token_cookie(REG_COOKIE, &token, &scope, &s.links)
            .ok_or_else(|| pg.link_refused())?;
        let mut res = see_other(&format!("{scope}{}", pg.lq()));
        security::private_headers(res.headers_mut());
        return Ok(with_cookies(res, [cookie]));
    }
    let rp = reg_page!(s, req, slug, id);
    let notice = req.param("done").and_then(|d| {
        let key = match d.as_str() {
            "registered" => format!("registered-notice-{}", rp.r.status.as_str()),
            "details" => "manage-saved".into(),
            "joined" => "manage-joined".into(),
            "left" => "manage-left".into(),
            "link" => "manage-link-sent".into(),
            "cancelled" => "manage-cancelled".into(),
            _ => return None,
        };
        Some((rp.pg().t(&key), false))
    });
    render_manage(&s, &req, &rp, notice, &[], StatusCode::OK).await
}

async fn render_manage(
    s: &AppState,
    req: &Req,
    rp: &RegPage,
    notice: Option<(String, bool)>,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let pg = rp.pg();
    let r = &rp.r;
    let slug = rp.slug();
    let base = rp.base();
    let tz = rp.fp.access.tz();
    let confirmed = r.status == registrations::Status::Confirmed;
    let live = !matches!(
        r.status,
        registrations::Status::Cancelled | registrations::Status::Rejected
    );
    let mut sessions: Vec<Value> = vec![];
    if confirmed {
        let mine: std::collections::HashMap<Uuid, signups::SignupView> =
            signups::list(&s.db, &rp.actor, slug, rp.id)
                .await
                .map_err(|e| pg.fail(e))?
                .into_iter()
                .map(|v| (v.session_id, v))
                .collect();
        let seats = signups::availability(&s.db, rp.fp.access.forum.id)
            .await
            .map_err(|e| pg.fail(e))?;
        let mut cursor = None;
        loop {
            let (_, page) = convene_domain::sessions::list(
                &s.db,
                &convene_domain::accounts::Caller::Anonymous,
                slug,
                convene_domain::sessions::SessionQuery {
                    status: Some(convene_domain::sessions::SessionStatus::Scheduled),
                    cursor: cursor.take(),
                    limit: Some(convene_domain::util::MAX_LIMIT),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| pg.fail(e))?;
            for v in &page.items {
                let a = seats.get(&v.id).copied().unwrap_or_default();
                let own = mine
                    .get(&v.id)
                    .map(|m| m.status.as_str())
                    .filter(|st| matches!(*st, "confirmed" | "waitlisted"));
                let seats_text = match a.seats_left(v.capacity) {
                    None => pg.t("seats-unlimited"),
                    Some(n) => pg.lang.t("seats-left", &[("count", (n as i64).into())]),
                };
                sessions.push(json!({
                    "id": v.id,
                    "title": v.title,
                    "href": pg.href(&Links::session_rel(slug, v.id)),
                    "when": pg.lang.span(v.starts_at.with_timezone(&tz), v.ends_at.with_timezone(&tz)),
                    "room": v.room.as_ref().map(|r| r.name.clone()),
                    "seats": seats_text,
                    "gives_seat": a.gives_seat(v.capacity),
                    "own": own,
                    "position": mine.get(&v.id).and_then(|m| m.waitlist_position),
                    "join": format!("{base}/signups/{}{}", v.id, pg.lq()),
                    "leave": format!("{base}/signups/{}/leave{}", v.id, pg.lq()),
                }));
            }
            match page.next_cursor {
                Some(c) if sessions.len() < 5000 => cursor = Some(c),
                _ => break,
            }
        }
    }
    let qr = confirmed.then(|| qr_svg(&r.check_in_code)).flatten();
    let (by_field, list) = pg.field_errors(errors, |_| None);
    let categories: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| json!({"value": c.as_str(), "label": pg.t(&format!("category-{}", c.as_str()))}))
        .collect();
    let languages_form: Vec<Value> = i18n::LANGS
        .iter()
        .map(|l| json!({"code": l.code, "name": l.name, "selected": l.code == r.language}))
        .collect();
    let csrf = security::issue(&s.pages.csrf, &req.headers, &s.links);
    let body = pg.render(
        "registration.html",
        Some(&rp.fp.nav),
        json!({
            "notice": notice.as_ref().map(|n| n.0.clone()),
            "notice_bad": notice.as_ref().is_some_and(|n| n.1),
            "r": {
                "status": r.status.as_str(),
                "position": r.waitlist_position,
                "name": r.name,
                "email": r.email,
                "organization": r.organization,
                "position_title": r.position,
                "category": serde_json::to_value(r.category).unwrap_or(Value::Null),
                "category_label": pg.t(&format!("category-{}", r.category.as_str())),
                "city": r.city,
                "country": r.country,
                "accessibility_needs": r.accessibility_needs,
                "public_consent": r.public_consent,
                "check_in_code": confirmed.then_some(&r.check_in_code),
            },
            "live": live,
            "confirmed": confirmed,
            "qr": qr,
            "sessions": sessions,
            "csrf": csrf.token,
            "categories": categories,
            "languages_form": languages_form,
            "errors": list,
            "field_errors": by_field,
            "urls": {
                "details": format!("{base}/details{}", pg.lq()),
                "agenda": format!("{base}/agenda.ics"),
                "cancel": format!("{base}/cancel{}", pg.lq()),
                "link": format!("{base}/link{}", pg.lq()),
                "manage": format!("{base}{}", pg.lq()),
            },
        }),
    )?;
    let mut res = html(status, body);
    security::private_headers(res.headers_mut());
    Ok(with_cookies(res, csrf.set_cookie))
}

/// The check-in code as a QR code (ISO/IEC 18004, the `qrcode` crate), an inline SVG
/// drawn on the server (no script, no image request).
fn qr_svg(code: &str) -> Option<String> {
    let qr = qrcode::QrCode::new(code.as_bytes()).ok()?;
    let svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build();
    // Inline in HTML: without the XML declaration.
    let at = svg.find("<svg")?;
    Some(svg[at..].to_owned())
}

/// Renders a domain refusal on the manage page (409/422) with its words; anything else is
/// the error page.
async fn refused(
    s: &AppState,
    req: &Req,
    rp: &RegPage,
    e: convene_domain::Error,
    message: Option<String>,
) -> PageResult {
    match e {
        convene_domain::Error::Conflict { message: m, .. } => {
            let m = message.unwrap_or(m);
            render_manage(s, req, rp, Some((m, true)), &[], StatusCode::CONFLICT).await
        }
        convene_domain::Error::Validation(errs) => {
            let m = rp.pg().t("form-errors");
            render_manage(
                s,
                req,
                rp,
                Some((m, true)),
                &errs,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        e => Err(rp.pg().fail(e)),
    }
}

/// `POST …/registrations/{id}/details`: the holder's own details → the same
/// `registrations::update` as `PATCH` in the API.
pub async fn details(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let rp = reg_page!(s, req, slug, id);
    let f = rp.pg().posted(&s, &req, &body)?;
    let text = |k: &str| Some(f.get(k).unwrap_or_default().to_owned());
    let patch = registrations::RegistrationPatch {
        name: text("name"),
        organization: text("organization"),
        position: text("position"),
        category: f
            .opt("category")
            .and_then(|c| serde_json::from_value(json!(c)).ok()),
        city: text("city"),
        country: text("country"),
        language: f.opt("language"),
        accessibility_needs: text("accessibility_needs"),
        public_consent: Some(f.has("public_consent")),
        answers: None,
    };
    match registrations::update(&s.db, &rp.actor, &slug, rp.id, patch).await {
        Ok(_) => Ok(rp.back("details")),
        Err(e) => refused(&s, &req, &rp, e, None).await,
    }
}

/// `POST …/registrations/{id}/signups/{session}`: sign up → `signups::join`. A clash is
/// explained in words, naming the session it overlaps.
pub async fn join(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id, session)): Path<(String, String, String)>,
    body: Bytes,
) -> PageResult {
    let rp = reg_page!(s, req, slug, id);
    let pg = rp.pg();
    pg.posted(&s, &req, &body)?;
    let sid = Uuid::parse_str(&session).map_err(|_| pg.not_found())?;
    match signups::join(&s.db, &rp.actor, &slug, rp.id, sid).await {
        Ok(_) => Ok(rp.back("joined")),
        Err(convene_domain::Error::Conflict {
            kind: ConflictKind::SessionClash,
            session: Some(other),
            message,
            errors,
        }) => {
            let wanted = convene_domain::sessions::get(
                &s.db,
                &convene_domain::accounts::Caller::Anonymous,
                &slug,
                sid,
            )
            .await
            .map(|v| v.title)
            .unwrap_or_default();
            let tz = rp.fp.access.tz();
            let words = pg.lang.t(
                "signup-clash",
                &[
                    ("title", wanted.into()),
                    ("other", other.title.clone().into()),
                    (
                        "when",
                        pg.lang
                            .span(
                                other.starts_at.with_timezone(&tz),
                                other.ends_at.with_timezone(&tz),
                            )
                            .into(),
                    ),
                ],
            );
            let e = convene_domain::Error::Conflict {
                kind: ConflictKind::SessionClash,
                session: Some(other),
                message,
                errors,
            };
            refused(&s, &req, &rp, e, Some(words)).await
        }
        Err(e) => refused(&s, &req, &rp, e, None).await,
    }
}

/// `POST …/registrations/{id}/signups/{session}/leave`: cancel a sign-up →
/// `signups::leave`.
pub async fn leave(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id, session)): Path<(String, String, String)>,
    body: Bytes,
) -> PageResult {
    let rp = reg_page!(s, req, slug, id);
    let pg = rp.pg();
    pg.posted(&s, &req, &body)?;
    let sid = Uuid::parse_str(&session).map_err(|_| pg.not_found())?;
    match signups::leave(&s.db, &rp.actor, &slug, rp.id, sid).await {
        Ok(_) => Ok(rp.back("left")),
        Err(e) => refused(&s, &req, &rp, e, None).await,
    }
}

/// `GET …/registrations/{id}/agenda.ics`: the personal agenda (`signups::agenda`, as the
/// API's `agenda.ics`).
pub async fn agenda(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
) -> PageResult {
    let rp = reg_page!(s, req, slug, id);
    let (name, body) = signups::agenda(&s.db, &rp.actor, &slug, rp.id, &s.links)
        .await
        .map_err(|e| rp.pg().fail(e))?;
    let mut res = (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Ok(d) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, d);
    }
    security::private_headers(res.headers_mut());
    Ok(res)
}

/// `GET …/registrations/{id}/cancel`: asks whether to cancel (changes nothing).
pub async fn cancel_page(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
) -> PageResult {
    let rp = reg_page!(s, req, slug, id);
    let pg = rp.pg();
    let csrf = security::issue(&s.pages.csrf, &req.headers, &s.links);
    let body = pg.render(
        "cancel.html",
        Some(&rp.fp.nav),
        json!({
            "name": rp.r.name,
            "live": !matches!(rp.r.status, registrations::Status::Cancelled | registrations::Status::Rejected),
            "csrf": csrf.token,
            "post_to": format!("{}/cancel{}", rp.base(), pg.lq()),
            "back": format!("{}{}", rp.base(), pg.lq()),
        }),
    )?;
    let mut res = html(StatusCode::OK, body);
    security::private_headers(res.headers_mut());
    Ok(with_cookies(res, csrf.set_cookie))
}

/// `POST …/registrations/{id}/cancel`: the confirmed cancellation → `registrations::cancel`
/// (seat and session seats freed, the next in line promoted, all in its transaction).
pub async fn cancel(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let rp = reg_page!(s, req, slug, id);
    let f = rp.pg().posted(&s, &req, &body)?;
    let reason = registrations::Reason {
        reason: f.opt("reason"),
    };
    match registrations::cancel(&s.db, &rp.actor, &slug, rp.id, reason).await {
        Ok(_) => Ok(rp.back("cancelled")),
        Err(e) => refused(&s, &req, &rp, e, None).await,
    }
}

/// `POST …/registrations/{id}/link`: e-mails a fresh link (`registrations::send_fresh_link`,
/// through the outbox).
pub async fn fresh_link(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let rp = reg_page!(s, req, slug, id);
    rp.pg().posted(&s, &req, &body)?;
    match registrations::send_fresh_link(&s.db, &rp.actor, &slug, rp.id).await {
        Ok(()) => Ok(rp.back("link")),
        Err(e) => refused(&s, &req, &rp, e, None).await,
    }
}

// ---------------------------------------------------------------------------------------
// The registration form

/// The categories in the form's order (the domain's [`Category`]).
const CATEGORIES: [Category; 9] = [
    Category::Mayor,
    Category::MunicipalOfficial,
    Category::CivilSociety,
    Category::Ngo,
    Category::UnInternational,
    Category::Government,
    Category::Academia,
    Category::Media,
    Category::Other,
];

/// The standard fields in the form's order (the error summary follows it).
const FIELDS: [&str; 9] = [
    "name",
    "email",
    "organization",
    "position",
    "category",
    "city",
    "country",
    "language",
    "accessibility_needs",
];

/// The form field (and HTML id) of question `id`.
fn question_field(id: &str) -> String {
    format!("q-{id}")
}

/// `GET /forums/{slug}/register`: the form (or, when registration is closed, why not).
pub async fn form_page(
    State(s): State<AppState>,
    req: Req,
    Path(slug): Path<String>,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    render_form(&s, &req, &fp, &Form::parse(b""), &[], None, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn render_form(
    s: &AppState,
    req: &Req,
    fp: &ForumPage,
    sent: &Form,
    errors: &[FieldError],
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    let pg = &fp.pg;
    let f = &fp.access.forum;
    let state = registrations::public_state(&s.db, f, Utc::now())
        .await
        .map_err(|e| pg.fail(e))?;
    let form = registrations::questions_of(&s.db, f.id)
        .await
        .map_err(|e| pg.fail(e))?;
    let questions: Vec<Value> = form
        .questions
        .iter()
        .map(|q| question(pg, q, sent))
        .collect();
    let labels: BTreeMap<String, String> = form
        .questions
        .iter()
        .map(|q| (question_field(&q.id), q.label.clone()))
        .collect();
    let mut errors = errors.to_vec();
    let order = |field: &str| {
        let f = field.split(['.', '[']).next().unwrap_or(field);
        FIELDS
            .iter()
            .position(|x| *x == f)
            .or_else(|| {
                field.strip_prefix("answers.").and_then(|q| {
                    form.questions
                        .iter()
                        .position(|x| x.id == q)
                        .map(|i| FIELDS.len() + i)
                })
            })
            .unwrap_or(usize::MAX)
    };
    errors.sort_by_key(|e| order(&e.field));
    let (by_field, list) = pg.field_errors(&errors, |field| {
        labels.get(field).cloned().or_else(|| {
            let key = match field {
                "name" => "sign-full-name",
                "email" => "sign-email",
                "organization" => "registration-organization",
                "position" => "register-position",
                "category" => "register-category",
                "city" => "sign-city",
                "country" => "sign-country",
                "language" => "register-language",
                "accessibility_needs" => "register-accessibility",
                _ => return None,
            };
            Some(pg.t(key))
        })
    });
    let chosen_lang = sent
        .opt("language")
        .unwrap_or_else(|| pg.lang.code.to_owned());
    let languages_form: Vec<Value> = i18n::LANGS
        .iter()
        .map(|l| json!({"code": l.code, "name": l.name, "selected": l.code == chosen_lang}))
        .collect();
    let categories: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| json!({"value": c.as_str(), "label": pg.t(&format!("category-{}", c.as_str()))}))
        .collect();
    let values: serde_json::Map<String, Value> = FIELDS
        .iter()
        .filter_map(|k| sent.opt(k).map(|v| (k.to_string(), json!(v))))
        .chain([(
            "public_consent".to_owned(),
            json!(sent.has("public_consent")),
        )])
        .collect();
    let state_name = match state {
        RegistrationState::Open => "open",
        RegistrationState::Waitlist => "waitlist",
        RegistrationState::Approval => "approval",
        RegistrationState::Closed => "closed",
    };
    let csrf = security::issue(&s.pages.csrf, &req.headers, &s.links);
    let body = pg.render(
        "register.html",
        Some(&fp.nav),
        json!({
            "forum": {"title": f.title, "dates": pg.lang.date_range(f.first_day, f.last_day)},
            "state": state_name,
            "notice": notice,
            "action": format!("{}{}", pg.href(&Links::register_rel(&f.slug)), pg.lq()),
            "csrf": csrf.token,
            "idem": new_form_key(),
            "form": values,
            "questions": questions,
            "categories": categories,
            "languages_form": languages_form,
            "errors": list,
            "field_errors": by_field,
        }),
    )?;
    let mut res = html(status, body);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(with_cookies(res, csrf.set_cookie))
}

/// One question as the template shows it, with what was sent for it.
fn question(pg: &Pg, q: &Question, sent: &Form) -> Value {
    let field = question_field(&q.id);
    let chosen = sent.all(&field);
    let kind = serde_json::to_value(q.kind).unwrap_or(json!("text"));
    let options: Vec<(String, String)> = match q.kind {
        QuestionKind::YesNo => vec![("yes".into(), pg.t("yes")), ("no".into(), pg.t("no"))],
        QuestionKind::Text => vec![],
        _ => q.options.iter().map(|o| (o.clone(), o.clone())).collect(),
    };
    let options: Vec<Value> = options
        .into_iter()
        .enumerate()
        .map(|(i, (value, label))| {
            // The first option carries the field's id: the error summary links to it.
            let id = if i == 0 {
                field.clone()
            } else {
                format!("{field}-{i}")
            };
            json!({"id": id, "value": value, "label": label, "checked": chosen.contains(&value)})
        })
        .collect();
    json!({
        "id": field,
        "label": q.label,
        "kind": kind,
        "required": q.required,
        "options": options,
        "value": sent.get(&question_field(&q.id)),
    })
}

/// The answers of a sent form, in the API's shape: text and single choice as a string,
/// several choices as a list, yes/no as a boolean; nothing for an unanswered question
/// (the domain says whether it was required). A yes/no value other than `yes`/`no` is
/// passed on as sent, for the domain to refuse.
fn answers(questions: &[Question], sent: &Form) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for q in questions {
        let field = question_field(&q.id);
        let v = match q.kind {
            QuestionKind::MultipleChoice => {
                let xs: Vec<String> = sent
                    .all(&field)
                    .into_iter()
                    .filter(|v| !v.is_empty())
                    .collect();
                (!xs.is_empty()).then(|| json!(xs))
            }
            QuestionKind::YesNo => sent.opt(&field).map(|v| match v.as_str() {
                "yes" => json!(true),
                "no" => json!(false),
                _ => json!(v),
            }),
            _ => sent.opt(&field).map(|v| json!(v)),
        };
        if let Some(v) = v {
            out.insert(q.id.clone(), v);
        }
    }
    out
}

/// How often a page waits for the first of two identical submissions to commit (a double
/// click sends the second while the first is in flight), 100 ms apart.
const IN_FLIGHT_RETRIES: u32 = 50;

/// `POST /forums/{slug}/register`: CSRF-checked; the same `registrations::prepare` and
/// registrar as `POST /api/v1/forums/{slug}/registrations`, with the form's idempotency key.
/// Registered (or the same form again) → 303 to the manage page with the token cookie;
/// refused fields → the form again (422) with the messages; a conflict (already registered,
/// closed) → the form with the reason (409).
pub async fn submit(
    State(s): State<AppState>,
    req: Req,
    Path(slug): Path<String>,
    body: Bytes,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let sent = pg.posted(&s, &req, &body)?;
    let form = registrations::questions_of(&s.db, fp.access.forum.id)
        .await
        .map_err(|e| pg.fail(e))?;
    let category: Option<Category> = sent
        .opt("category")
        .and_then(|c| serde_json::from_value(json!(c)).ok());
    let input = NewRegistration {
        name: sent.opt("name").unwrap_or_default(),
        email: sent.opt("email").unwrap_or_default(),
        organization: sent.opt("organization"),
        position: sent.opt("position"),
        category: category.unwrap_or(Category::Other),
        city: sent.opt("city"),
        country: sent.opt("country"),
        language: sent.opt("language"),
        accessibility_needs: sent.opt("accessibility_needs"),
        public_consent: sent.has("public_consent"),
        answers: answers(&form.questions, &sent),
    };
    // The one field the API's JSON decoding refuses before the domain sees the body.
    let mut errors = vec![];
    if category.is_none() {
        errors.push(FieldError::new("category", "is required"));
    }
    let prepared = match registrations::prepare(&s.db, &slug, input, sent.opt("idem")).await {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => {
            return render_form(
                &s,
                &req,
                &fp,
                &sent,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(convene_domain::Error::Validation(e)) => {
            errors.extend(e);
            return render_form(
                &s,
                &req,
                &fp,
                &sent,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(pg.fail(e)),
    };
    let mut tries = 0;
    let outcome = loop {
        match s.registrar.register(prepared.clone()).await {
            Err(convene_domain::Error::Conflict {
                kind: ConflictKind::IdempotencyInFlight,
                ..
            }) if tries < IN_FLIGHT_RETRIES => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => break other,
        }
    };
    match outcome {
        Ok(Outcome::Created(c)) | Ok(Outcome::Replayed(c)) => {
            let scope = pg.href(&Links::registration_rel(&slug, c.registration.id));
            let cookie = security::token_cookie(REG_COOKIE, &c.manage_token, &scope, &s.links);
            let mut res = see_other(&pg.with_query(&scope, "done=registered"));
            security::private_headers(res.headers_mut());
            Ok(with_cookies(res, cookie))
        }
        Err(convene_domain::Error::Validation(e)) => {
            render_form(
                &s,
                &req,
                &fp,
                &sent,
                &e,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(convene_domain::Error::Conflict { kind, message, .. }) => {
            let notice = match kind {
                ConflictKind::AlreadyRegistered => pg.t("register-already"),
                ConflictKind::RegistrationClosed => pg.t("register-closed"),
                ConflictKind::IdempotencyInFlight => pg.t("register-in-flight"),
                _ => message,
            };
            render_form(
                &s,
                &req,
                &fp,
                &sent,
                &[],
                Some(notice),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(pg.fail(e)),
    }
}
