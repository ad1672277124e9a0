//! The page the e-mailed manage link opens: `GET /forums/{slug}/registrations/{id}`.
//!
//! With `?token=cvn_reg_…` (the e-mailed link) it changes nothing: the token (checked by
//! the same `registrations::get` as the API) moves into a cookie scoped to this one
//! registration, and the browser is sent (303) to the URL without it. Without the token in
//! the URL, the page shows the registration to the cookie's holder. Editing, session
//! sign-ups and cancellation are added on this page by the registration pages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use convene_domain::links::Links;
use convene_domain::registrations::{self, Actor};
use serde_json::json;
use uuid::Uuid;

use super::forum::ForumPage;
use super::{html, security, see_other, with_cookies, PageResult, Pg, Req};
use crate::AppState;

/// The cookie holding a participant's manage token (Path: their registration's page).
pub const REG_COOKIE: &str = "convene_reg";

fn link_refused(pg: &Pg) -> super::PageError {
    pg.error(
        StatusCode::NOT_FOUND,
        "error-link-title",
        pg.t("error-link"),
    )
    .private()
}

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
            .map_err(|_| link_refused(pg))?;
        let cookie = security::token_cookie(REG_COOKIE, &token, &scope, &s.links)
            .ok_or_else(|| link_refused(pg))?;
        let mut res = see_other(&format!("{scope}{}", pg.lq()));
        security::private_headers(res.headers_mut());
        return Ok(with_cookies(res, [cookie]));
    }
    let Some(token) = security::cookie(&req.headers, REG_COOKIE) else {
        if req.param("again").is_none() {
            let next = format!(
                "{scope}{}again=1",
                if pg.explicit {
                    format!("{}&", pg.lq())
                } else {
                    "?".into()
                }
            );
            let body = pg.render("continue.html", None, json!({ "next": next }))?;
            let mut res = html(StatusCode::OK, body);
            security::private_headers(res.headers_mut());
            return Ok(res);
        }
        return Err(link_refused(pg));
    };
    let r = registrations::get(&s.db, &Actor::Participant(token), &slug, id)
        .await
        .map_err(|_| link_refused(pg))?;
    let status = serde_json::to_value(r.status).unwrap_or(json!("pending"));
    let body = pg.render(
        "registration.html",
        Some(&fp.nav),
        json!({
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
