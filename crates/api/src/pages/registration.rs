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
use chrono::Utc;
use convene_domain::error::{ConflictKind, FieldError};
use convene_domain::links::Links;
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

/// `GET /forums/{slug}/registrations/{id}[?token=…]`.
pub async fn manage(
    State(s): State<AppState>,
    req: Req,
    Path((slug, id)): Path<(String, String)>,
) -> PageResult {
    let fp = ForumPage::load(&s, &req, &slug).await?;
    let pg = &fp.pg;
    let id = Uuid::parse_str(&id).map_err(|_| pg.not_found())?;
    let scope = pg.href(&Links::registration_rel(&slug, id));
    if let Some(token) = req.param("token") {
        registrations::get(&s.db, &Actor::Participant(token.clone()), &slug, id)
            .await
            .map_err(|_| pg.link_refused())?;
        let cookie = security::token_cookie(REG_COOKIE, &token, &scope, &s.links)
            .ok_or_else(|| pg.link_refused())?;
        let mut res = see_other(&format!("{scope}{}", pg.lq()));
        security::private_headers(res.headers_mut());
        return Ok(with_cookies(res, [cookie]));
    }
    let token = match pg.token_cookie(&req, REG_COOKIE)? {
        Ok(t) => t,
        Err(res) => return Ok(res),
    };
    let r = registrations::get(&s.db, &Actor::Participant(token), &slug, id)
        .await
        .map_err(|_| pg.link_refused())?;
    let status = serde_json::to_value(r.status).unwrap_or(json!("pending"));
    let body = pg.render(
        "registration.html",
        Some(&fp.nav),
        json!({
            "done": req.param("done"),
            "r": {
                "status": status,
                "position": r.waitlist_position,
                "name": r.name,
                "organization": r.organization,
                "check_in_code": (r.status == registrations::Status::Confirmed).then_some(&r.check_in_code),
            },
        }),
    )?;
    let mut res = html(StatusCode::OK, body);
    security::private_headers(res.headers_mut());
    Ok(res)
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
