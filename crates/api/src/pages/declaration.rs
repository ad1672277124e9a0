//! Declaration pages: the text (in the reader's language when a translation exists, else
//! the original) with its SHA-256, the online signing form, the public list of
//! signatories with counts, the ledger with the server's verification, and the
//! signatory's own pages reached from the e-mailed link.
//!
//! The e-mailed link (`…/{decl}/confirm?token=`) never confirms anything: it moves the
//! token into a cookie scoped to that signature, redirects to `…/signatures/{id}/confirm`,
//! which shows what would be confirmed, and only the button's POST (with its CSRF token)
//! calls the same `signatures::confirm` as the API. Withdrawal likewise.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use convene_domain::accounts::Caller;
use convene_domain::declarations::signatures::{
    self, EntityKind, Idempotency, LedgerQuery, NewSignature, PublicQuery, SignatureView, Signed,
    TokenBody,
};
use convene_domain::declarations::{self, DeclarationView, VersionView};
use convene_domain::links::Links;
use serde_json::{json, Value};
use uuid::Uuid;

use super::forum::ForumPage;
use super::{html, i18n, new_form_key, security, see_other, with_cookies, PageResult, Pg, Req};
use crate::AppState;

/// The cookie holding a signatory's token (Path: their signature's pages).
const SIG_COOKIE: &str = "convene_sig";

struct DeclPage {
    fp: ForumPage,
    d: DeclarationView,
}

impl DeclPage {
    async fn load(
        s: &AppState,
        req: &Req,
        slug: &str,
        decl: &str,
    ) -> Result<DeclPage, super::PageError> {
        let fp = ForumPage::load(s, req, slug).await?;
        let d = declarations::get(&s.db, &Caller::Anonymous, slug, decl)
            .await
            .map_err(|e| fp.pg.fail(e))?;
        Ok(DeclPage { fp, d })
    }

    fn pg(&self) -> &Pg {
        &self.fp.pg
    }

    fn slug(&self) -> &str {
        &self.fp.access.forum.slug
    }

    fn common(&self) -> Value {
        let pg = self.pg();
        let (f, d) = (self.slug(), &self.d.slug);
        json!({
            "title": self.d.title,
            "status": serde_json::to_value(self.d.status).unwrap_or(Value::Null),
            "accepting": self.d.accepting_signatures,
            "closes": self.d.closes_at.map(|c| pg.lang.instant(c.with_timezone(&self.fp.access.tz()))),
            "href": pg.href(&Links::declaration_rel(f, d)),
            "sign": pg.href(&Links::sign_rel(f, d)),
            "signatories": pg.href(&Links::signatories_rel(f, d)),
            "ledger": pg.href(&Links::ledger_rel(f, d)),
        })
    }

    /// The version under signature in the reader's language (`?lang=` when the version
    /// has it, else the page's language, else the original).
    async fn version(
        &self,
        s: &AppState,
        req: &Req,
    ) -> Result<Option<(VersionView, bool)>, super::PageError> {
        let Some(n) = self.d.current_version else {
            return Ok(None);
        };
        let pg = self.pg();
        let get = |lang: Option<String>| {
            let (db, slug, decl) = (s.db.clone(), self.slug().to_owned(), self.d.slug.clone());
            async move {
                declarations::get_version(&db, &Caller::Anonymous, &slug, &decl, n, lang.as_deref())
                    .await
            }
        };
        let original = get(None).await.map_err(|e| pg.fail(e))?;
        let wanted = req
            .lang
            .as_deref()
            .and_then(|l| {
                original
                    .languages
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(l))
            })
            .or_else(|| {
                original
                    .languages
                    .iter()
                    .find(|v| i18n::by_code(v).is_some_and(|l| std::ptr::eq(l, pg.lang)))
            })
            .cloned();
        match wanted {
            Some(l) if l != original.language => {
                let v = get(Some(l)).await.map_err(|e| pg.fail(e))?;
                Ok(Some((v, false)))
            }
            Some(_) => Ok(Some((original, false))),
            None => Ok(Some((original, true))),
        }
    }
}

/// `GET /forums/{slug}/declarations/{decl}`: the text, its hashes, the signing form.
pub async fn show(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl)): Path<(String, String)>,
) -> PageResult {
    let dp = DeclPage::load(&s, &req, &slug, &decl).await?;
    let sent = req.param("sent").is_some();
    render_show(&s, &req, &dp, json!({}), &[], sent, StatusCode::OK).await
}

async fn render_show(
    s: &AppState,
    req: &Req,
    dp: &DeclPage,
    form_values: Value,
    errors: &[convene_domain::error::FieldError],
    sent: bool,
    status: StatusCode,
) -> PageResult {
    let pg = dp.pg();
    let version = dp.version(s, req).await?;
    let v = version.as_ref().map(|(v, fallback)| {
        let languages: Vec<Value> = v
            .languages
            .iter()
            .map(|l| json!({"code": l, "name": i18n::by_code(l).map(|x| x.name).unwrap_or(l)}))
            .collect();
        json!({
            "number": v.number,
            "language": v.language,
            "dir": i18n::by_code(&v.language).map(|l| l.dir()).unwrap_or("auto"),
            "title": v.title,
            "text": v.text,
            "text_sha256": v.text_sha256,
            "version_sha256": v.version_sha256,
            "languages": languages,
            "fallback": fallback,
        })
    });
    let csrf = security::issue(&s.pages.csrf, &req.headers, &s.links);
    let (by_field, list) = pg.field_errors(errors, |f| {
        let key = match f {
            "full_name" => "sign-full-name",
            "title" => "sign-title-field",
            "entity_kind" => "sign-entity-kind",
            "entity_name" => "sign-entity-name",
            "city" => "sign-city",
            "country" => "sign-country",
            "email" => "sign-email",
            _ => return None,
        };
        Some(pg.t(key))
    });
    let body = pg.render(
        "declaration.html",
        Some(&dp.fp.nav),
        json!({
            "d": dp.common(),
            "v": v,
            "sent": sent,
            "csrf": csrf.token,
            "idem": new_form_key(),
            "form": form_values,
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

/// `POST /forums/{slug}/declarations/{decl}/sign`: the online signing form → the same
/// `signatures::sign_online` as the API; then 303 to the declaration with a notice (the
/// confirmation link is e-mailed). Field errors are shown next to their fields (422).
pub async fn sign(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let dp = DeclPage::load(&s, &req, &slug, &decl).await?;
    let pg = dp.pg();
    let f = pg.posted(&s, &req, &body)?;
    let opt = |k: &str| f.opt(k);
    let kind = match opt("entity_kind").as_deref() {
        Some("city") => Some(EntityKind::City),
        Some("region") => Some(EntityKind::Region),
        Some("organization") => Some(EntityKind::Organization),
        Some("individual") => Some(EntityKind::Individual),
        _ => None,
    };
    let values = json!({
        "full_name": opt("full_name"), "title": opt("title"), "entity_kind": opt("entity_kind"),
        "entity_name": opt("entity_name"), "city": opt("city"), "country": opt("country"),
        "email": opt("email"), "consent_publish": f.has("consent_publish"),
    });
    let Some(entity_kind) = kind else {
        let e = convene_domain::error::FieldError::new(
            "entity_kind",
            "must be city, region, organization or individual",
        );
        return render_show(
            &s,
            &req,
            &dp,
            values,
            &[e],
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = NewSignature {
        full_name: opt("full_name").unwrap_or_default(),
        title: opt("title"),
        entity_kind,
        entity_name: opt("entity_name"),
        city: opt("city"),
        country: opt("country").unwrap_or_default(),
        email: Some(opt("email").unwrap_or_default()),
        consent_publish: f.has("consent_publish"),
        language: Some(pg.lang.code.to_owned()),
        version: opt("version").and_then(|v| v.parse().ok()),
    };
    let idem = opt("idem").map(|key| Idempotency {
        key,
        ttl: s.registrar.idempotency_ttl(),
    });
    match signatures::sign_online(&s.db, &Caller::Anonymous, &slug, &decl, input, idem).await {
        Ok(Signed::New(_)) | Ok(Signed::Replayed(_)) => Ok(see_other(
            &pg.with_query(&pg.href(&Links::declaration_rel(&slug, &decl)), "sent=1"),
        )),
        Err(convene_domain::Error::Validation(errs)) => {
            render_show(
                &s,
                &req,
                &dp,
                values,
                &errs,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(convene_domain::Error::Conflict { message, .. }) => {
            let e = convene_domain::error::FieldError::new("sign", message);
            render_show(&s, &req, &dp, values, &[e], false, StatusCode::CONFLICT).await
        }
        Err(e) => Err(pg.fail(e)),
    }
}

/// `GET …/signatories`: the public list (confirmed, consenting, live) and the counts.
pub async fn signatories(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl)): Path<(String, String)>,
) -> PageResult {
    let dp = DeclPage::load(&s, &req, &slug, &decl).await?;
    let pg = dp.pg();
    let q = PublicQuery {
        country: req.param("country"),
        entity_kind: req
            .param("entity_kind")
            .and_then(|k| serde_json::from_value(json!(k)).ok()),
        cursor: req.param("cursor"),
        limit: Some(100),
    };
    let page = signatures::public_list(&s.db, &Caller::Anonymous, &slug, &decl, q)
        .await
        .map_err(|e| pg.fail(e))?;
    let counts = signatures::counts(&s.db, &Caller::Anonymous, &slug, &decl)
        .await
        .map_err(|e| pg.fail(e))?;
    let tz = dp.fp.access.tz();
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|p| {
            json!({
                "full_name": p.full_name, "title": p.title, "entity_kind": p.entity_kind,
                "entity_name": p.entity_name, "country": p.country,
                "signed_at": pg.lang.date(p.signed_at.with_timezone(&tz).date_naive()),
            })
        })
        .collect();
    let next = page.next_cursor.map(|c| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("cursor", &c);
        if pg.explicit {
            q.append_pair("lang", pg.lang.code);
        }
        format!(
            "{}?{}",
            pg.href(&Links::signatories_rel(&slug, &decl)),
            q.finish()
        )
    });
    let by_country: Vec<Value> = counts
        .by_country
        .iter()
        .map(|(k, n)| json!({"name": k, "count": n}))
        .collect();
    let by_kind: Vec<Value> = counts
        .by_entity_kind
        .iter()
        .map(|(k, n)| json!({"kind": k, "count": n}))
        .collect();
    pg.page(
        "signatories.html",
        Some(&dp.fp.nav),
        json!({
            "d": dp.common(),
            "counts": {"confirmed_total": counts.confirmed_total, "total": counts.total},
            "by_country": by_country,
            "by_kind": by_kind,
            "items": items,
            "next": next,
        }),
    )
}

/// `GET …/ledger`: head hash, entries, the server's verification now, and how to verify
/// it yourself (LEDGER.md).
pub async fn ledger(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl)): Path<(String, String)>,
) -> PageResult {
    let dp = DeclPage::load(&s, &req, &slug, &decl).await?;
    let pg = dp.pg();
    let after = req.param("after").and_then(|a| a.parse().ok());
    let page = signatures::ledger_page(
        &s.db,
        &Caller::Anonymous,
        &slug,
        &decl,
        LedgerQuery {
            after,
            limit: Some(100),
        },
    )
    .await
    .map_err(|e| pg.fail(e))?;
    let report = signatures::verify(&s.db, &Caller::Anonymous, &slug, &decl)
        .await
        .map_err(|e| pg.fail(e))?;
    let next = page.next_after.map(|a| {
        format!(
            "{}?after={a}{}",
            pg.href(&Links::ledger_rel(&slug, &decl)),
            if pg.explicit {
                format!("&lang={}", pg.lang.code)
            } else {
                String::new()
            }
        )
    });
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|e| json!({"seq": e.seq, "kind": e.kind, "hash": e.hash}))
        .collect();
    pg.page(
        "ledger.html",
        Some(&dp.fp.nav),
        json!({
            "d": dp.common(),
            "page": {"length": page.length, "head": page.head, "entries": entries},
            "report": {
                "ok": report.ok,
                "entries": report.entries,
                "bad_seq": report.first_bad.as_ref().and_then(|b| b.seq),
                "bad_reason": report.first_bad.as_ref().map(|b| b.reason.clone()),
            },
            "api_ledger": s.links.url(&Links::ledger_api_rel(&slug, &decl)),
            "next": next,
        }),
    )
}

// ---------------------------------------------------------------------------------------
// The signatory's pages (token in a cookie)

/// `GET …/{decl}/confirm?token=`: the e-mailed link. Changes nothing: moves the token into
/// a cookie for that one signature and redirects (303) to its confirmation page.
pub async fn confirm_entry(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl)): Path<(String, String)>,
) -> PageResult {
    entry(&s, &req, &slug, &decl, "confirm").await
}

/// `GET …/{decl}/withdraw?token=`: as [`confirm_entry`], to the withdrawal page.
pub async fn withdraw_entry(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl)): Path<(String, String)>,
) -> PageResult {
    entry(&s, &req, &slug, &decl, "withdraw").await
}

async fn entry(s: &AppState, req: &Req, slug: &str, decl: &str, then: &str) -> PageResult {
    let fp = ForumPage::load(s, req, slug).await?;
    let pg = &fp.pg;
    let token = req.param("token").ok_or_else(|| pg.link_refused())?;
    let v = signatures::by_signatory_token(&s.db, &Caller::Anonymous, slug, decl, &token)
        .await
        .map_err(|_| pg.link_refused())?;
    let scope = pg.href(&Links::signature_rel(slug, decl, v.id));
    let cookie = security::token_cookie(SIG_COOKIE, &token, &scope, &s.links)
        .ok_or_else(|| pg.link_refused())?;
    let mut res = see_other(&format!("{scope}/{then}{}", pg.lq()));
    security::private_headers(res.headers_mut());
    Ok(with_cookies(res, [cookie]))
}

/// The signatory's signature `id` from the token cookie; without the cookie, the page
/// that reloads itself once (a browser withholds a `SameSite=Strict` cookie on the first
/// request after arriving from another site, e.g. a webmail).
async fn signature_of(
    s: &AppState,
    req: &Req,
    dp: &DeclPage,
    id: &str,
) -> Result<Result<(String, SignatureView), Response>, super::PageError> {
    let pg = dp.pg();
    let id = Uuid::parse_str(id).map_err(|_| pg.not_found())?;
    let token = match pg.token_cookie(req, SIG_COOKIE)? {
        Ok(t) => t,
        Err(res) => return Ok(Err(res)),
    };
    let v =
        signatures::by_signatory_token(&s.db, &Caller::Anonymous, dp.slug(), &dp.d.slug, &token)
            .await
            .map_err(|_| pg.link_refused())?;
    if v.id != id {
        return Err(pg.link_refused());
    }
    Ok(Ok((token, v)))
}

#[derive(Clone, Copy, PartialEq)]
enum Action {
    None,
    Confirm,
    Withdraw,
}

#[allow(clippy::too_many_arguments)]
async fn render_signature(
    s: &AppState,
    req: &Req,
    dp: &DeclPage,
    v: &SignatureView,
    action: Action,
    notice: Option<(String, bool)>,
    status: StatusCode,
) -> PageResult {
    let pg = dp.pg();
    let (slug, decl) = (dp.slug(), dp.d.slug.as_str());
    let version_sha256 =
        declarations::get_version(&s.db, &Caller::Anonymous, slug, decl, v.version, None)
            .await
            .ok()
            .map(|x| x.version_sha256);
    let base = pg.href(&Links::signature_rel(slug, decl, v.id));
    let live = v.withdrawn_at.is_none();
    let mut links = vec![];
    if v.status == "pending" && action != Action::Confirm {
        links.push(json!({"href": format!("{base}/confirm{}", pg.lq()), "label": pg.t("signature-link-confirm")}));
    }
    if live && dp.d.accepting_signatures && action != Action::Withdraw {
        links.push(json!({"href": format!("{base}/withdraw{}", pg.lq()), "label": pg.t("signature-link-withdraw")}));
    }
    links.push(json!({"href": format!("{}{}", pg.href(&Links::signatories_rel(slug, decl)), pg.lq()), "label": pg.t("signature-link-list")}));
    let (heading, action_name) = match action {
        Action::Confirm => ("signature-confirm-heading", "confirm"),
        Action::Withdraw => ("signature-withdraw-heading", "withdraw"),
        Action::None => ("signature-heading", ""),
    };
    let csrf = security::issue(&s.pages.csrf, &req.headers, &s.links);
    let post_to = format!("{base}/{action_name}{}", pg.lq());
    let body = pg.render(
        "signature.html",
        Some(&dp.fp.nav),
        json!({
            "d": dp.common(),
            "heading": pg.t(heading),
            "sig": v,
            "version_sha256": version_sha256,
            "action": action_name,
            "post_to": post_to,
            "csrf": csrf.token,
            "notice": notice.as_ref().map(|n| n.0.clone()),
            "notice_bad": notice.as_ref().is_some_and(|n| n.1),
            "links": links,
        }),
    )?;
    let mut res = html(status, body);
    security::private_headers(res.headers_mut());
    Ok(with_cookies(res, csrf.set_cookie))
}

/// `GET …/signatures/{id}`: the signatory's signature and what they can do with it.
pub async fn signature(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl, id)): Path<(String, String, String)>,
) -> PageResult {
    let dp = DeclPage::load(&s, &req, &slug, &decl).await?;
    let (_, v) = match signature_of(&s, &req, &dp, &id).await? {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let notice = match req.param("done").as_deref() {
        Some("confirmed") => Some((dp.pg().t("confirmed-notice"), false)),
        Some("withdrawn") => Some((dp.pg().t("withdrawn-notice"), false)),
        _ => None,
    };
    render_signature(&s, &req, &dp, &v, Action::None, notice, StatusCode::OK).await
}

/// `GET …/signatures/{id}/confirm`: shows what will be confirmed and a button. Read-only.
pub async fn confirm_page(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl, id)): Path<(String, String, String)>,
) -> PageResult {
    let dp = DeclPage::load(&s, &req, &slug, &decl).await?;
    let (_, v) = match signature_of(&s, &req, &dp, &id).await? {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let action = if v.status == "pending" {
        Action::Confirm
    } else {
        Action::None
    };
    render_signature(&s, &req, &dp, &v, action, None, StatusCode::OK).await
}

/// `GET …/signatures/{id}/withdraw`: shows the signature and the withdrawal form.
pub async fn withdraw_page(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl, id)): Path<(String, String, String)>,
) -> PageResult {
    let dp = DeclPage::load(&s, &req, &slug, &decl).await?;
    let (_, v) = match signature_of(&s, &req, &dp, &id).await? {
        Ok(x) => x,
        Err(res) => return Ok(res),
    };
    let action = if v.withdrawn_at.is_none() && dp.d.accepting_signatures {
        Action::Withdraw
    } else {
        Action::None
    };
    render_signature(&s, &req, &dp, &v, action, None, StatusCode::OK).await
}

/// `POST …/signatures/{id}/confirm`: the button. CSRF-checked; the same
/// `signatures::confirm` as the API; then 303 to the signature's page.
pub async fn confirm_post(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl, id)): Path<(String, String, String)>,
    body: Bytes,
) -> PageResult {
    post_action(&s, &req, &slug, &decl, &id, &body, Action::Confirm).await
}

/// `POST …/signatures/{id}/withdraw`: the withdrawal button (optional reason).
pub async fn withdraw_post(
    State(s): State<AppState>,
    req: Req,
    Path((slug, decl, id)): Path<(String, String, String)>,
    body: Bytes,
) -> PageResult {
    post_action(&s, &req, &slug, &decl, &id, &body, Action::Withdraw).await
}

async fn post_action(
    s: &AppState,
    req: &Req,
    slug: &str,
    decl: &str,
    id: &str,
    body: &Bytes,
    action: Action,
) -> PageResult {
    let dp = DeclPage::load(s, req, slug, decl).await?;
    let pg = dp.pg();
    let f = pg.posted(s, req, body)?;
    let (token, v) = match signature_of(s, req, &dp, id).await? {
        Ok(x) => x,
        Err(_) => return Err(pg.link_refused()),
    };
    let result = match action {
        Action::Confirm => signatures::confirm(&s.db, &Caller::Anonymous, slug, decl, &token).await,
        _ => {
            let reason = f.opt("reason");
            signatures::withdraw_by_signatory(
                &s.db,
                &Caller::Anonymous,
                slug,
                decl,
                TokenBody { token, reason },
            )
            .await
        }
    };
    match result {
        Ok(done) => {
            let what = if action == Action::Confirm {
                "confirmed"
            } else {
                "withdrawn"
            };
            let mut res = see_other(&pg.with_query(
                &pg.href(&Links::signature_rel(slug, decl, done.id)),
                &format!("done={what}"),
            ));
            security::private_headers(res.headers_mut());
            Ok(res)
        }
        Err(convene_domain::Error::Conflict { message, .. }) => {
            render_signature(
                s,
                req,
                &dp,
                &v,
                Action::None,
                Some((message, true)),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(convene_domain::Error::Validation(errs)) => {
            let msg = errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ");
            render_signature(
                s,
                req,
                &dp,
                &v,
                action,
                Some((msg, true)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(pg.fail(e)),
    }
}
